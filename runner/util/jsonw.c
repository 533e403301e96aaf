/*
 * jsonw.c - JSON text without a JSON library: a string written escaped,
 * and one member read from a compact line without parsing it (jsonw.h).
 * Every writer of JSON lines in the runner (history.jsonl, the isolation
 * logs, summary pieces) and every fast reader of them uses these.
 */
#include "jsonw.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (1..4), 0 if it is not
 * one (overlong forms, surrogates and stray bytes included). */
static int jw_utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80                    ? 1
            : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
            : (s[0] & 0xf0) == 0xe0        ? 3
            : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                           : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) ||
        (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))))
        return 0;
    return n;
}

/* Bytes that are not UTF-8 (a server message in another encoding) become
 * U+FFFD, so every line stays readable by a JSON parser. */
void jw_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80) {
            int n = jw_utf8_len((const unsigned char *)s);
            if (!n) {
                fputs("\\ufffd", f);
                continue;
            }
            fwrite(s, 1, (size_t)n, f);
            s += n - 1;
            continue;
        }
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

int jw_peek_i64(const char *line, const char *quoted_key, int64_t *v)
{
    const char *k = strstr(line, quoted_key);
    char *end;
    if (!k || k[strlen(quoted_key)] != ':')
        return 0;
    *v = strtoll(k + strlen(quoted_key) + 1, &end, 10);
    return end != k + strlen(quoted_key) + 1;
}

int jw_peek_str(const char *line, const char *quoted_key, char *out, size_t len)
{
    const char *k = strstr(line, quoted_key), *v, *end;
    if (!k || k[strlen(quoted_key)] != ':' || k[strlen(quoted_key) + 1] != '"')
        return 0;
    v = k + strlen(quoted_key) + 2;
    end = strpbrk(v, "\\\"");
    if (!end || *end != '"' || (size_t)(end - v) >= len)
        return 0;
    memcpy(out, v, (size_t)(end - v));
    out[end - v] = '\0';
    return 1;
}

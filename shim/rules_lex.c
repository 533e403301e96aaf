/*
 * rules_lex.c - the rule language's tokens: the lexer, numbers,
 * durations and names, and "did you mean" suggestions (rules_int.h).
 */
#include "rules_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rules_err(struct rules_lex *lx, int line, int col, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!lx->err || lx->errlen == 0)
        return;
    n = snprintf(lx->err, lx->errlen, "%s:%d:%d: ", lx->origin, line, col);
    if (n < 0 || (size_t)n >= lx->errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(lx->err + n, lx->errlen - n, fmt, ap);
    va_end(ap);
}

void rules_adv(struct rules_lex *lx)
{
    if (*lx->p == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->p++;
}

static int rules_is_word_char(char c)
{
    return c && !strchr(" \t\r\n\v\f;#\",=~!", c);
}

/* Read the next token into lx->tok.  -1 (with the message) on a lexical
 * error: an unterminated or over-long string, a stray '!'. */
int rules_next(struct rules_lex *lx)
{
    struct rules_tok *t = &lx->tok;

    for (;;) {
        char c = *lx->p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
            rules_adv(lx);
        } else if (c == '#') {
            while (*lx->p && *lx->p != '\n')
                rules_adv(lx);
        } else {
            break;
        }
    }
    t->s = lx->p;
    t->line = lx->line;
    t->col = lx->col;
    t->len = 0;

    char c = *lx->p;
    if (c == '\0' || c == '\n' || c == ';') {
        t->type = TOK_END;
        return 0;
    }
    if (c == ',') {
        t->type = TOK_COMMA;
        t->len = 1;
        rules_adv(lx);
        return 0;
    }
    if (c == '=' || c == '~') {
        t->type = TOK_OP;
        t->len = 1;
        rules_adv(lx);
        return 0;
    }
    if (c == '!') {
        if (lx->p[1] == '=' || lx->p[1] == '~') {
            t->type = TOK_OP;
            t->len = 2;
            rules_adv(lx);
            rules_adv(lx);
            return 0;
        }
        rules_err(lx, t->line, t->col, "unexpected '!'; expected '!=' or '!~'");
        return -1;
    }
    if (c == '"') {
        size_t n = 0;
        rules_adv(lx);
        for (;;) {
            c = *lx->p;
            if (c == '\0' || c == '\n') {
                rules_err(lx, t->line, t->col, "unterminated string; expected a closing '\"'");
                return -1;
            }
            if (c == '"')
                break;
            if (c == '\\' && (lx->p[1] == '"' || lx->p[1] == '\\')) {
                rules_adv(lx);
                c = *lx->p;
            }
            if (n + 1 >= sizeof(lx->str)) {
                rules_err(lx, t->line, t->col, "string longer than %d bytes", RULES_STR_MAX - 1);
                return -1;
            }
            lx->str[n++] = c;
            rules_adv(lx);
        }
        lx->str[n] = '\0';
        rules_adv(lx); /* closing quote */
        t->type = TOK_STRING;
        t->len = (size_t)(lx->p - t->s);
        return 0;
    }
    while (rules_is_word_char(*lx->p))
        rules_adv(lx);
    t->type = TOK_WORD;
    t->len = (size_t)(lx->p - t->s);
    return 0;
}

int rules_tok_is(const struct rules_tok *t, const char *word)
{
    return t->type == TOK_WORD && strlen(word) == t->len && memcmp(t->s, word, t->len) == 0;
}

/* Printable form of a token for messages: 'word', "string", or end of rule. */
const char *rules_tok_desc(const struct rules_tok *t, char *buf, size_t len)
{
    if (t->type == TOK_END) {
        snprintf(buf, len, "end of rule");
    } else {
        int n = t->len > 60 ? 60 : (int)t->len;
        snprintf(buf, len, "'%.*s%s'", n, t->s, t->len > 60 ? "..." : "");
    }
    return buf;
}

/* Copy a word token to buf (NUL-terminated); -1 when it does not fit. */
int rules_tok_copy(const struct rules_tok *t, char *buf, size_t len)
{
    if (t->len + 1 > len)
        return -1;
    memcpy(buf, t->s, t->len);
    buf[t->len] = '\0';
    return 0;
}

/* ---------------------------------------------------------------
 * "Did you mean": optimal string alignment distance <= 2.
 * ------------------------------------------------------------ */
int rules_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    int d[24][24];

    if (la > 22 || lb > 22)
        return 99;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

/* The nearest candidate within distance 2, or NULL. */
static const char *rules_suggest(const struct rules_tok *t, const char *const *cands, size_t n)
{
    const char *best = NULL;
    int bestd = 3;

    for (size_t i = 0; i < n && cands[i]; i++) {
        int d = rules_distance(t->s, t->len, cands[i]);
        /* a candidate as short as the distance is no hint ('p' for 'xy') */
        if (d < bestd && d < (int)strlen(cands[i])) {
            bestd = d;
            best = cands[i];
        }
    }
    return best;
}

/* " (did you mean 'x'?)" or "" into buf. */
const char *rules_hint(const struct rules_tok *t, const char *const *cands, size_t n, char *buf,
                       size_t len)
{
    const char *s = t->type == TOK_WORD ? rules_suggest(t, cands, n) : NULL;

    if (s)
        snprintf(buf, len, " (did you mean '%s'?)", s);
    else
        buf[0] = '\0';
    return buf;
}

/* ---------------------------------------------------------------
 * Numbers, durations, names.
 * ------------------------------------------------------------ */

/* Decimal unsigned integer filling exactly [s, s+len). */
int rules_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "20ms", "1.5s", "0ms" -> ns.  -1 when malformed or too long. */
int rules_parse_duration(const char *s, size_t len, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
    size_t i = 0, ni, nf = 0;
    uint64_t ip = 0, fp = 0, scale = 1;

    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    ni = i;
    if (ni == 0 || rules_parse_u64(s, ni, &ip) < 0)
        return -1;
    if (i < len && s[i] == '.') {
        size_t f0 = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        nf = i - f0;
        if (nf == 0 || nf > 9)
            return -1;
        rules_parse_u64(s + f0, nf, &fp);
        for (size_t k = 0; k < nf; k++)
            scale *= 10;
    }
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (len - i == strlen(units[u].unit) && memcmp(s + i, units[u].unit, len - i) == 0) {
            uint64_t m = units[u].ns;
            if (ip > UINT64_MAX / m)
                return -1;
            *out = ip * m + fp * m / scale;
            return 0;
        }
    }
    return -1;
}

int rules_name_ok(const char *s, size_t len, int allow_dot)
{
    if (len == 0 || len >= WG_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || (allow_dot && c == '.')))
            return 0;
    }
    return 1;
}

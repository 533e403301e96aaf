/*
 * iso_scan.c - the lexer of isolation spec files (iso_scan.h says why it
 * has two modes).  Every error names PATH:LINE and what was expected.
 */
#include "iso_scan.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int iso_scan_fail(struct iso_scan *sc, int line, const char *fmt, ...)
{
    char msg[384];
    va_list ap;

    if (sc->err_line)
        return -1; /* keep the first cause */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(sc->err, sc->errlen, "%s:%d: %s", sc->path, line, msg);
    sc->err_line = line;
    return -1;
}

/* The isolation tester's identifier characters ([A-Za-z0-9_$] and every
 * byte above 0x7f) and wedge's '-' (read-committed).  A leading digit
 * makes the tester's INTEGER, which the parser reads from the word. */
static int is_word_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c == '-' || c >= 0x80;
}

/* The tester's {space}: blanks that a block's edges lose (not newlines). */
static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f';
}

static void skip_space(struct iso_scan *sc)
{
    for (;;) {
        if (*sc->p == '\n') {
            sc->line++;
            sc->p++;
        } else if (isspace((unsigned char)*sc->p)) {
            sc->p++;
        } else if (*sc->p == '#') {
            while (*sc->p && *sc->p != '\n')
                sc->p++;
        } else {
            return;
        }
    }
}

static char *copy_text(const char *s, size_t n)
{
    char *out = malloc(n + 1);

    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

static int lines_in(const char *s, const char *end)
{
    int n = 0;

    for (; s < end; s++)
        n += *s == '\n';
    return n;
}

/* Fill t as the block [s, e) whose '}' is at close; the scanner moves past it. */
static int sql_token(struct iso_scan *sc, struct tok *t, const char *s, const char *e,
                     const char *close)
{
    const char *q = s;

    while (q < e && isspace((unsigned char)*q))
        q++;
    t->text_line = t->line + lines_in(sc->p, q);
    sc->line += lines_in(sc->p, close);
    sc->p = close + 1;
    t->text = copy_text(s, (size_t)(e - s));
    if (!t->text)
        return iso_scan_fail(sc, t->line, "out of memory");
    t->kind = TOK_SQL;
    return 0;
}

static int unterminated_sql(struct iso_scan *sc, int line)
{
    return iso_scan_fail(sc, line,
                         "unterminated SQL block: expected '}' to close the '{' opened here");
}

/* pg mode: specscanner.l's block, up to the first '}' whatever it is in. */
static int lex_sql_pg(struct iso_scan *sc, struct tok *t)
{
    const char *s = sc->p + 1, *close, *e;

    while (is_blank((unsigned char)*s))
        s++;
    close = strchr(s, '}');
    if (!close)
        return unterminated_sql(sc, t->line);
    for (e = close; e > s && is_blank((unsigned char)e[-1]);)
        e--;
    return sql_token(sc, t, s, e, close);
}

/* Length of the dollar-quote tag at p ("$$", "$body$"), or 0 ($1, ${x}). */
static size_t dollar_tag(const char *p)
{
    size_t i = 1;

    if (p[0] != '$')
        return 0;
    if (p[1] == '$')
        return 2;
    if (!isalpha((unsigned char)p[1]) && p[1] != '_')
        return 0;
    while (isalnum((unsigned char)p[i]) || p[i] == '_')
        i++;
    return p[i] == '$' ? i + 1 : 0;
}

/* Past the quoted text, comment or dollar quote that starts at p: the
 * position of its last character, or NULL when it does not end. */
static const char *skip_quoted(const char *p)
{
    size_t n;

    if (*p == '\'' || *p == '"')
        return strchr(p + 1, *p);
    if (p[0] == '-' && p[1] == '-') {
        const char *nl = strchr(p, '\n');
        return nl ? nl - 1 : p + strlen(p) - 1;
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *q = strstr(p + 2, "*/");
        return q ? q + 1 : NULL;
    }
    n = dollar_tag(p);
    if (n > 0) {
        const char *q = p + n;
        while (*q && strncmp(q, p, n) != 0)
            q++;
        return *q ? q + n - 1 : NULL;
    }
    return p;
}

/* wedge mode: braces nest; quotes, dollar quotes and comments are skipped
 * so that a '}' inside them does not end the block; trimmed whole. */
static int lex_sql_wedge(struct iso_scan *sc, struct tok *t)
{
    const char *s = sc->p + 1, *q, *e;
    int depth = 1;

    for (q = s; *q; q++) {
        const char *end = skip_quoted(q);
        if (!end)
            break;
        if (end != q) {
            q = end;
            continue;
        }
        if (*q == '{') {
            depth++;
        } else if (*q == '}' && --depth == 0) {
            while (s < q && isspace((unsigned char)*s))
                s++;
            for (e = q; e > s && isspace((unsigned char)e[-1]);)
                e--;
            return sql_token(sc, t, s, e, q);
        }
    }
    return unterminated_sql(sc, t->line);
}

/* A "quoted name": "" stands for one quote in both modes (the tester's
 * quoted identifier), \" and \\ too in wedge mode; no newline inside. */
static int lex_string(struct iso_scan *sc, struct tok *t)
{
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);

    if (!buf)
        return iso_scan_fail(sc, t->line, "out of memory");
    for (sc->p++;; sc->p++) {
        char c = *sc->p;
        if (c == '\0' || c == '\n') {
            free(buf);
            return iso_scan_fail(sc, t->line,
                                 "unterminated string: expected '\"' before the end of line");
        }
        if (c == '"' && sc->p[1] != '"')
            break;
        if (c == '"' || (!sc->pg && c == '\\' && (sc->p[1] == '"' || sc->p[1] == '\\')))
            c = *++sc->p;
        if (n + 2 > cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return iso_scan_fail(sc, t->line, "out of memory");
            }
            buf = nb;
        }
        buf[n++] = c;
    }
    sc->p++;
    buf[n] = '\0';
    t->kind = TOK_STRING;
    t->text = buf;
    return 0;
}

int iso_scan_next(struct iso_scan *sc)
{
    struct tok *t = &sc->la;
    unsigned char c;

    free(t->text);
    memset(t, 0, sizeof *t);
    skip_space(sc);
    t->line = sc->line;
    c = (unsigned char)*sc->p;
    if (!c)
        return 0; /* TOK_EOF */
    if (c == '{')
        return sc->pg ? lex_sql_pg(sc, t) : lex_sql_wedge(sc, t);
    if (c == '"')
        return lex_string(sc, t);
    t->start = sc->p;
    if (is_word_char(c)) {
        t->kind = TOK_WORD;
        while (is_word_char((unsigned char)*sc->p))
            sc->p++;
        t->len = (size_t)(sc->p - t->start);
        return 0;
    }
    if (c == '(' || c == ')' || c == ',' || c == '*') {
        t->kind = TOK_PUNCT;
        t->len = 1;
        sc->p++;
        return 0;
    }
    if (c == '}')
        return iso_scan_fail(sc, t->line, "unexpected '}': no '{' block is open");
    if (isprint(c))
        return iso_scan_fail(sc, t->line,
                             "unexpected character '%c': expected a keyword, a name, "
                             "a \"string\" or a { SQL } block",
                             c);
    return iso_scan_fail(sc, t->line, "unexpected byte 0x%02x: expected a keyword", c);
}

int iso_tok_is(const struct tok *t, const char *w)
{
    return (t->kind == TOK_WORD || t->kind == TOK_PUNCT) && t->len == strlen(w) &&
           memcmp(t->start, w, t->len) == 0;
}

const char *iso_tok_desc(const struct tok *t, char *buf, size_t len)
{
    switch (t->kind) {
    case TOK_EOF:
        return "end of file";
    case TOK_WORD:
    case TOK_PUNCT:
        snprintf(buf, len, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->start);
        return buf;
    case TOK_STRING:
        return "a string";
    case TOK_SQL:
        return "a { SQL } block";
    }
    return "?";
}

/*
 * rules_lex.c - the rule language's tokens: the lexer, numbers and names,
 * and "did you mean" hints (rules_int.h).  Durations and the suggester are
 * common/ (duration.c, suggest.c), shared with the runner.
 */
#include "rules_int.h"

#include "duration.h"

#include "suggest.h"

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

/* " (did you mean 'x'?)" or "" into buf: common/suggest.c, for a word. */
const char *rules_hint(const struct rules_tok *t, const char *const *cands, size_t n, char *buf,
                       size_t len)
{
    if (t->type == TOK_WORD)
        return suggest_hint(t->s, t->len, cands, n, buf, len);
    buf[0] = '\0';
    return buf;
}

/* ---------------------------------------------------------------
 * Numbers and names.
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

/* ---------------------------------------------------------------
 * What the current token must be.
 * ------------------------------------------------------------ */

/* Expect a word token after `what`; error "expected X after 'what', found Y". */
int rules_want_word(struct rules_ctx *c, const char *expected, const char *after)
{
    char d[80];

    if (TOK->type == TOK_WORD)
        return 0;
    rules_err(LX, TOK->line, TOK->col, "expected %s after '%s', found %s", expected, after,
              rules_tok_desc(TOK, d, sizeof d));
    return -1;
}

/* The current word as a number in [lo, hi]; else the message `bad`, whose
 * one %s is the word. */
int rules_number(struct rules_ctx *c, uint64_t lo, uint64_t hi, const char *bad, uint64_t *v)
{
    char d[80];

    if (TOK->type == TOK_WORD && rules_parse_u64(TOK->s, TOK->len, v) == 0 && *v >= lo && *v <= hi)
        return 0;
    rules_err(LX, TOK->line, TOK->col, bad, rules_tok_desc(TOK, d, sizeof d));
    return -1;
}

int rules_duration_tok(struct rules_ctx *c, const char *after, uint64_t *out)
{
    char d[80];
    enum duration_rc rc;

    if (rules_want_word(c, "a duration such as 20ms", after) < 0)
        return -1;
    rc = duration_parse(TOK->s, TOK->len, out);
    if (rc == DURATION_RANGE) {
        rules_err(LX, TOK->line, TOK->col, "duration %s out of range; expected at most %s",
                  rules_tok_desc(TOK, d, sizeof d), DURATION_MAX_TEXT);
        return -1;
    }
    if (rc != DURATION_OK) {
        rules_err(LX, TOK->line, TOK->col,
                  "bad duration %s; expected a number with a unit (%s), e.g. 20ms",
                  rules_tok_desc(TOK, d, sizeof d), DURATION_UNITS);
        return -1;
    }
    return 0;
}

/* The entry of `table` the current word names, else NULL after "expected
 * a KIND [after 'X'], found ..." or "unknown KIND 'w' (did you mean ...);
 * expected one of LIST", LIST being the table's names in order. */
const struct rules_kw *rules_keyword(struct rules_ctx *c, const struct rules_kw *table,
                                     const char *kind, const char *after)
{
    const char *names[RULES_KW_MAX + 1];
    char d[80], h[64], a[48] = "", list[256] = "";
    size_t n = 0, used = 0;

    for (; table[n].name && n < RULES_KW_MAX; n++) {
        if (rules_tok_is(TOK, table[n].name))
            return &table[n];
        names[n] = table[n].name;
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%s", n ? ", " : "", table[n].name);
        if (used >= sizeof list)
            used = sizeof list - 1;
    }
    names[n] = NULL;
    if (TOK->type != TOK_WORD) {
        if (after)
            snprintf(a, sizeof a, " after '%s'", after);
        rules_err(LX, TOK->line, TOK->col, "expected a%s %s%s, found %s; expected one of %s",
                  kind[0] == 'a' ? "n" : "", kind, a, rules_tok_desc(TOK, d, sizeof d), list);
        return NULL;
    }
    rules_err(LX, TOK->line, TOK->col, "unknown %s %s%s; expected one of %s", kind,
              rules_tok_desc(TOK, d, sizeof d), rules_hint(TOK, names, n, h, sizeof h), list);
    return NULL;
}

/*
 * hunt_sql.c - what a statement reads, writes, locks and guards, read from
 * its text as the shim traced it (parameters are $N, never values), and
 * the regexes that aim a rule at it.
 *
 * This is not a SQL parser: it tokenises, follows parentheses, and looks
 * for the few shapes a check-then-act window is made of.  What it cannot
 * read is HV_OTHER, which no candidate is built on: a miss, never a wrong
 * rule.
 */
#include "hunt.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SQL_MAX_TOKENS 512
#define SQL_RE_PREFIX  72 /* characters of a statement its regex spells out */

enum tok_kind { T_WORD, T_QIDENT, T_STRING, T_PARAM, T_NUMBER, T_OP };

struct tok {
    enum tok_kind kind;
    const char *p; /* in the statement */
    size_t len;
    int depth; /* parentheses around it */
};

struct toks {
    struct tok t[SQL_MAX_TOKENS];
    int n;
};

/* ---------------------------------------------------------------
 * Tokens.
 * ------------------------------------------------------------ */
static const char *sql_skip_blank(const char *s)
{
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (s[0] == '-' && s[1] == '-') {
            s += strcspn(s, "\n");
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
        } else {
            return s;
        }
    }
}

/* The length of the token at s and its kind. */
static size_t sql_token(const char *s, enum tok_kind *kind)
{
    const char *e = s + 1;
    if (isalpha((unsigned char)*s) || *s == '_') {
        while (isalnum((unsigned char)*e) || *e == '_' || *e == '$' || *e == '.')
            e++;
        *kind = T_WORD;
    } else if (*s == '"' || *s == '\'') {
        while (*e && (*e != *s || e[1] == *s))
            e += *e == *s ? 2 : 1;
        e += *e ? 1 : 0;
        *kind = *s == '"' ? T_QIDENT : T_STRING;
    } else if (*s == '$' && isdigit((unsigned char)s[1])) {
        while (isdigit((unsigned char)*e))
            e++;
        *kind = T_PARAM;
    } else if (isdigit((unsigned char)*s)) {
        while (isalnum((unsigned char)*e) || *e == '.')
            e++;
        *kind = T_NUMBER;
    } else {
        /* two-character operators stay one token: >= <= <> != :: */
        if (strchr("<>!:", *s) && strchr("=>:", s[1]))
            e++;
        *kind = T_OP;
    }
    return (size_t)(e - s);
}

static void sql_tokenise(const char *sql, struct toks *tk)
{
    int depth = 0;
    const char *s = sql_skip_blank(sql);
    tk->n = 0;
    while (*s && tk->n < SQL_MAX_TOKENS) {
        struct tok *t = &tk->t[tk->n++];
        t->p = s;
        t->len = sql_token(s, &t->kind);
        if (t->kind == T_OP && *s == ')' && depth > 0)
            depth--;
        t->depth = depth;
        if (t->kind == T_OP && *s == '(')
            depth++;
        s = sql_skip_blank(s + t->len);
    }
}

static int tok_is(const struct tok *t, const char *word)
{
    size_t n = strlen(word);
    return t->kind == (isalpha((unsigned char)word[0]) ? T_WORD : T_OP) && t->len == n &&
           !strncasecmp(t->p, word, n);
}

/* Token i of tk is word, at depth 0. */
static int at(const struct toks *tk, int i, const char *word)
{
    return i >= 0 && i < tk->n && tk->t[i].depth == 0 && tok_is(&tk->t[i], word);
}

/* An identifier: lowercased unless quoted, "alias.col" keeps "col". */
static void tok_ident(const struct tok *t, char *out, size_t len, int last_part)
{
    const char *p = t->p;
    size_t n = t->len;
    if (t->kind == T_QIDENT) {
        p++;
        n = n >= 2 ? n - 2 : 0;
    } else if (last_part) {
        const char *dot = memchr(p, '.', n);
        while (dot) {
            n -= (size_t)(dot + 1 - p);
            p = dot + 1;
            dot = memchr(p, '.', n);
        }
    }
    if (n >= len)
        n = len - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = t->kind == T_QIDENT ? p[i] : (char)tolower((unsigned char)p[i]);
    out[n] = '\0';
}

static void tok_text(const struct tok *t, char *out, size_t len)
{
    size_t n = t->len < len ? t->len : len - 1;
    memcpy(out, t->p, n);
    out[n] = '\0';
}

/* ---------------------------------------------------------------
 * Shapes.
 * ------------------------------------------------------------ */
static int sql_find(const struct toks *tk, int from, const char *word)
{
    for (int i = from; i < tk->n; i++)
        if (at(tk, i, word))
            return i;
    return -1;
}

/* The table named at token i (a word or quoted identifier, not a
 * subquery); 0 when it is one. */
static int sql_table_at(const struct toks *tk, int i, struct hunt_stmt *st)
{
    if (i >= tk->n || (tk->t[i].kind != T_WORD && tk->t[i].kind != T_QIDENT))
        return -1;
    tok_ident(&tk->t[i], st->table, sizeof st->table, 0);
    tok_text(&tk->t[i], st->table_text, sizeof st->table_text);
    if (i > 1 && tk->t[i - 1].kind == T_WORD) /* FROM, INTO, ONLY as written */
        tok_text(&tk->t[i - 1], st->kw_text, sizeof st->kw_text);
    return 0;
}

static int sql_clause_end(const struct tok *t)
{
    static const char *const ends[] = {"returning", "order",  "group", "limit", "for",
                                       "having",    "offset", "union", ";"};
    if (t->depth != 0)
        return 0;
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        if (tok_is(t, ends[i]))
            return 1;
    return 0;
}

/* Read the WHERE clause starting after token w: the columns compared with
 * "=" to a parameter or literal (or = ANY(...), IN (...)), and whether any
 * predicate is something else.  Returns the number of predicates. */
static int sql_where(const struct toks *tk, int w, struct hunt_stmt *st, int *other)
{
    int npred = 0, i = w + 1;
    *other = 0;
    while (i < tk->n && !sql_clause_end(&tk->t[i])) {
        int start = i, key = 0;
        while (i < tk->n && !sql_clause_end(&tk->t[i]) && !at(tk, i, "and") && !at(tk, i, "or"))
            i++;
        npred++;
        if (i - start >= 3 && (tk->t[start].kind == T_WORD || tk->t[start].kind == T_QIDENT)) {
            const struct tok *op = &tk->t[start + 1], *v = &tk->t[start + 2];
            key = (tok_is(op, "=") && (v->kind == T_PARAM || v->kind == T_STRING ||
                                       v->kind == T_NUMBER || tok_is(v, "any"))) ||
                  tok_is(op, "in");
        }
        if (key && st->ncols < HUNT_COLS)
            tok_ident(&tk->t[start], st->cols[st->ncols++], HUNT_IDENT, 1);
        else if (!key)
            *other = 1;
        if (i < tk->n && (at(tk, i, "and") || at(tk, i, "or")))
            i++;
    }
    return npred;
}

/* BEGIN ... ISOLATION LEVEL X, SET [SESSION CHARACTERISTICS AS]
 * TRANSACTION ISOLATION LEVEL X, SET default_transaction_isolation = 'X'. */
static void sql_isolation(const struct toks *tk, struct hunt_stmt *st)
{
    int i = sql_find(tk, 0, "level");
    if (i < 0)
        i = sql_find(tk, 0, "default_transaction_isolation");
    if (i < 0)
        i = sql_find(tk, 0, "transaction_isolation");
    for (int k = i + 1; i >= 0 && k < tk->n && k <= i + 3; k++) {
        const struct tok *t = &tk->t[k];
        const char *p = t->kind == T_STRING ? t->p + 1 : t->p;
        if (!strncasecmp(p, "serializable", 12) || !strncasecmp(p, "repeatable", 10))
            st->strong = 1;
    }
}

static void sql_select(const struct toks *tk, struct hunt_stmt *st)
{
    int from = sql_find(tk, 1, "from"), w, other;
    if (from < 0 || sql_table_at(tk, from + 1, st) < 0)
        return;
    for (int i = sql_find(tk, from, "for"); i >= 0 && i + 1 < tk->n; i = sql_find(tk, i + 1, "for"))
        if (tok_is(&tk->t[i + 1], "update") || tok_is(&tk->t[i + 1], "share") ||
            tok_is(&tk->t[i + 1], "no") || tok_is(&tk->t[i + 1], "key"))
            st->locking = 1;
    w = sql_find(tk, from, "where");
    if (w >= 0)
        sql_where(tk, w, st, &other);
}

static void sql_insert(const struct toks *tk, struct hunt_stmt *st)
{
    int i = sql_find(tk, 1, "into");
    if (i < 0 || sql_table_at(tk, i + 1, st) < 0)
        return;
    i += 2;
    if (i < tk->n && tok_is(&tk->t[i], "("))
        for (i++; i < tk->n && tk->t[i].depth == 1 && st->ncols < HUNT_COLS; i++)
            if (tk->t[i].kind == T_WORD || tk->t[i].kind == T_QIDENT)
                tok_ident(&tk->t[i], st->cols[st->ncols++], HUNT_IDENT, 1);
}

/* UPDATE t ... / DELETE FROM t ...: guarded when the WHERE checks more
 * than one key equality (AND version = $3, AND stock >= $2, IS NULL). */
static void sql_write(const struct toks *tk, struct hunt_stmt *st)
{
    int t = st->verb == HV_UPDATE ? 1 : sql_find(tk, 1, "from") + 1, w, other = 0, n = 0;
    if (t <= 0 || at(tk, t, "only"))
        t++;
    if (sql_table_at(tk, t, st) < 0)
        return;
    w = sql_find(tk, t, "where");
    if (w >= 0)
        n = sql_where(tk, w, st, &other);
    st->guarded = n > 1 || other;
    st->ncols = 0;
}

void hunt_stmt_parse(const char *sql, struct hunt_stmt *st)
{
    static const struct {
        const char *word;
        enum hunt_verb verb;
    } verbs[] = {{"select", HV_SELECT},  {"insert", HV_INSERT}, {"update", HV_UPDATE},
                 {"delete", HV_DELETE},  {"begin", HV_BEGIN},   {"start", HV_BEGIN},
                 {"commit", HV_COMMIT},  {"end", HV_COMMIT},    {"rollback", HV_ROLLBACK},
                 {"abort", HV_ROLLBACK}, {"set", HV_SET}};
    struct toks *tk = malloc(sizeof *tk);
    if (!tk)
        abort();
    memset(st, 0, sizeof *st);
    sql_tokenise(sql ? sql : "", tk);
    for (size_t i = 0; tk->n && i < sizeof verbs / sizeof verbs[0]; i++)
        if (tok_is(&tk->t[0], verbs[i].word))
            st->verb = verbs[i].verb;
    if (tk->n)
        tok_text(&tk->t[0], st->verb_text, sizeof st->verb_text);
    switch (st->verb) {
    case HV_SELECT:
        sql_select(tk, st);
        break;
    case HV_INSERT:
        sql_insert(tk, st);
        break;
    case HV_UPDATE:
    case HV_DELETE:
        sql_write(tk, st);
        break;
    case HV_BEGIN:
    case HV_SET:
        sql_isolation(tk, st);
        break;
    default:
        break;
    }
    free(tk);
}

int hunt_stmt_is_read(const struct hunt_stmt *st)
{
    return st->verb == HV_SELECT && st->table[0];
}

int hunt_stmt_is_write(const struct hunt_stmt *st)
{
    return (st->verb == HV_INSERT || st->verb == HV_UPDATE || st->verb == HV_DELETE) &&
           st->table[0];
}

/* ---------------------------------------------------------------
 * Regexes for rules.  A rule's string is "..." with \" and \\ as its
 * only escapes, every other backslash reaching regcomp as written.
 * ------------------------------------------------------------ */
static void re_put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *out = realloc(*out, *cap);
        if (!*out)
            abort();
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

static void re_escaped(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr(".[](){}*+?|^$\"", s[i]))
            re_put(out, len, cap, "\\", 1);
        re_put(out, len, cap, s + i, 1);
    }
}

char *hunt_re_statement(const char *sql)
{
    char *out = NULL;
    size_t len = 0, cap = 0, i = 0;
    re_put(&out, &len, &cap, "^", 1);
    while (sql[i] && i < SQL_RE_PREFIX && sql[i] != '\\' && sql[i] != ';' && sql[i] != '#') {
        size_t run = strspn(sql + i, " \t\r\n\f\v");
        if (run == 0) {
            re_escaped(&out, &len, &cap, sql + i, 1);
            i++;
            continue;
        }
        if (!sql[i + run])
            break; /* trailing blanks: the prefix is enough */
        if (run == 1 && sql[i] == ' ')
            re_put(&out, &len, &cap, " ", 1);
        else
            re_put(&out, &len, &cap, "[[:space:]]+", 12);
        i += run;
    }
    return out;
}

char *hunt_re_verb_table(const struct hunt_stmt *st)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    if (!st->table_text[0] || !st->verb_text[0])
        return NULL;
    /* the keywords as the statement spells them: select ... from works too */
    re_put(&out, &len, &cap, "^", 1);
    re_escaped(&out, &len, &cap, st->verb_text, strlen(st->verb_text));
    re_put(&out, &len, &cap, st->verb == HV_SELECT ? " .*" : " +", st->verb == HV_SELECT ? 3 : 2);
    if (st->kw_text[0]) {
        re_escaped(&out, &len, &cap, st->kw_text, strlen(st->kw_text));
        re_put(&out, &len, &cap, " +", 2);
    }
    re_escaped(&out, &len, &cap, st->table_text, strlen(st->table_text));
    re_put(&out, &len, &cap, "\\b", 2);
    return out;
}

char *hunt_re_exact(const char *name)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    re_put(&out, &len, &cap, "^", 1);
    re_escaped(&out, &len, &cap, name, strlen(name));
    re_put(&out, &len, &cap, "$", 1);
    return out;
}

char *hunt_re_either(const char *a, const char *b)
{
    char *ea = hunt_re_exact(a), *eb = hunt_re_exact(b), *out;
    ea[strlen(ea) - 1] = '\0';
    eb[strlen(eb) - 1] = '\0';
    out = util_fmt("^(%s|%s)$", ea + 1, eb + 1);
    free(ea);
    free(eb);
    return out;
}

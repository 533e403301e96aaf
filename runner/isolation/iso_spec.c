/*
 * iso_spec.c - the isolation spec parser (format: iso_spec.h, docs/isolation.md).
 *
 * A hand-written lexer (words, "strings", { SQL } blocks) and a parser over
 * one token of lookahead.  Every error names PATH:LINE and what was expected.
 */
#include "iso_spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------
 * Levels and outcomes.
 * ------------------------------------------------------------ */

static const char *const level_names[ISO_NLEVELS] = {"read-committed", "repeatable-read",
                                                     "serializable"};
static const char *const level_sql[ISO_NLEVELS] = {"READ COMMITTED", "REPEATABLE READ",
                                                   "SERIALIZABLE"};

const char *iso_level_name(enum iso_level l)
{
    return (unsigned)l < ISO_NLEVELS ? level_names[l] : "?";
}

const char *iso_level_sql(enum iso_level l)
{
    return (unsigned)l < ISO_NLEVELS ? level_sql[l] : "?";
}

int iso_level_parse(const char *text, size_t len, enum iso_level *out)
{
    static const struct {
        const char *name;
        enum iso_level level;
    } aliases[] = {
        {"read-committed", ISO_READ_COMMITTED},   {"rc", ISO_READ_COMMITTED},
        {"repeatable-read", ISO_REPEATABLE_READ}, {"rr", ISO_REPEATABLE_READ},
        {"serializable", ISO_SERIALIZABLE},       {"ser", ISO_SERIALIZABLE},
    };
    char buf[32];
    size_t i;

    if (len == 0 || len >= sizeof buf)
        return -1;
    for (i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)text[i]);
        buf[i] = (c == '_' || c == ' ') ? '-' : c;
    }
    buf[len] = '\0';
    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(buf, aliases[i].name) == 0) {
            *out = aliases[i].level;
            return 0;
        }
    }
    return -1;
}

const char *iso_outcome_name(enum iso_outcome o)
{
    switch (o) {
    case ISO_OCCURS:
        return "occurs";
    case ISO_PREVENTED:
        return "prevented";
    case ISO_ERROR:
        return "error";
    default:
        return "?";
    }
}

/* ---------------------------------------------------------------
 * Lexer.
 * ------------------------------------------------------------ */

enum tok_kind { TOK_EOF, TOK_WORD, TOK_STRING, TOK_SQL };

struct tok {
    enum tok_kind kind;
    const char *start; /* TOK_WORD: into the text */
    size_t len;
    char *text; /* TOK_STRING, TOK_SQL: malloc'd, owned by the token */
    int line;
    int text_line; /* TOK_SQL: the line of the first character of text */
};

struct parser {
    const char *path;
    const char *p; /* next character */
    int line;
    struct tok la; /* lookahead */
    char *err;
    size_t errlen;
    struct iso_spec *spec;
};

static int fail(struct parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, int line, const char *fmt, ...)
{
    char msg[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->path, line, msg);
    return -1;
}

static int is_word_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

static void skip_space(struct parser *ps)
{
    for (;;) {
        if (*ps->p == '\n') {
            ps->line++;
            ps->p++;
        } else if (isspace((unsigned char)*ps->p)) {
            ps->p++;
        } else if (*ps->p == '#') {
            while (*ps->p && *ps->p != '\n')
                ps->p++;
        } else {
            return;
        }
    }
}

static char *trimmed_copy(const char *s, size_t n)
{
    char *out;

    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
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

/* A { SQL } block: braces nest; quotes, dollar quotes and comments are
 * skipped so that a '}' inside them does not end the block. */
static int lex_sql(struct parser *ps, struct tok *t)
{
    const char *start = ++ps->p;
    int depth = 1;

    while (*ps->p) {
        char c = *ps->p;
        if (c == '\n') {
            ps->line++;
        } else if (c == '\'' || c == '"') {
            const char *q = ps->p + 1;
            while (*q && *q != c) {
                if (*q == '\n')
                    ps->line++;
                q++;
            }
            if (!*q)
                break;
            ps->p = q;
        } else if (c == '$' && dollar_tag(ps->p) > 0) {
            size_t n = dollar_tag(ps->p);
            const char *q = ps->p + n;
            while (*q && strncmp(q, ps->p, n) != 0)
                ps->line += *q++ == '\n';
            if (!*q)
                break;
            ps->p = q + n - 1;
        } else if (c == '-' && ps->p[1] == '-') {
            while (ps->p[1] && ps->p[1] != '\n')
                ps->p++;
        } else if (c == '/' && ps->p[1] == '*') {
            const char *q = strstr(ps->p + 2, "*/");
            if (!q)
                break;
            for (; ps->p < q; ps->p++)
                if (*ps->p == '\n')
                    ps->line++;
            ps->p++;
        } else if (c == '{') {
            depth++;
        } else if (c == '}' && --depth == 0) {
            const char *q;
            t->text_line = t->line;
            for (q = start; q < ps->p && isspace((unsigned char)*q); q++)
                t->text_line += *q == '\n';
            t->text = trimmed_copy(start, (size_t)(ps->p - start));
            ps->p++;
            if (!t->text)
                return fail(ps, t->line, "out of memory");
            if (!t->text[0])
                return fail(ps, t->line, "empty SQL block: expected a statement between { and }");
            t->kind = TOK_SQL;
            return 0;
        }
        ps->p++;
    }
    return fail(ps, t->line, "unterminated SQL block: expected '}' to close the '{' opened here");
}

static int lex_string(struct parser *ps, struct tok *t)
{
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);

    if (!buf)
        return fail(ps, t->line, "out of memory");
    ps->p++;
    while (*ps->p != '"') {
        char c = *ps->p;
        if (c == '\0' || c == '\n') {
            free(buf);
            return fail(ps, t->line, "unterminated string: expected '\"' before the end of line");
        }
        if (c == '\\' && (ps->p[1] == '"' || ps->p[1] == '\\'))
            c = *++ps->p;
        if (n + 2 > cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return fail(ps, t->line, "out of memory");
            }
            buf = nb;
        }
        buf[n++] = c;
        ps->p++;
    }
    ps->p++;
    buf[n] = '\0';
    t->kind = TOK_STRING;
    t->text = buf;
    return 0;
}

/* Read the next token into ps->la (the previous one must be consumed). */
static int lex(struct parser *ps)
{
    struct tok *t = &ps->la;

    memset(t, 0, sizeof *t);
    skip_space(ps);
    t->line = ps->line;
    if (!*ps->p) {
        t->kind = TOK_EOF;
        return 0;
    }
    if (*ps->p == '{')
        return lex_sql(ps, t);
    if (*ps->p == '"')
        return lex_string(ps, t);
    if (is_word_char((unsigned char)*ps->p)) {
        t->kind = TOK_WORD;
        t->start = ps->p;
        while (is_word_char((unsigned char)*ps->p))
            ps->p++;
        t->len = (size_t)(ps->p - t->start);
        return 0;
    }
    if (*ps->p == '}')
        return fail(ps, t->line, "unexpected '}': no '{' block is open");
    if (isprint((unsigned char)*ps->p))
        return fail(ps, t->line,
                    "unexpected character '%c': expected a keyword, a name, "
                    "a \"string\" or a { SQL } block",
                    *ps->p);
    return fail(ps, t->line, "unexpected byte 0x%02x: expected a keyword", (unsigned char)*ps->p);
}

static int word_is(const struct tok *t, const char *w)
{
    return t->kind == TOK_WORD && t->len == strlen(w) && memcmp(t->start, w, t->len) == 0;
}

/* A printable description of a token for "found ..." messages. */
static const char *tok_desc(const struct tok *t, char *buf, size_t len)
{
    switch (t->kind) {
    case TOK_EOF:
        return "end of file";
    case TOK_WORD:
        snprintf(buf, len, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->start);
        return buf;
    case TOK_STRING:
        return "a string";
    case TOK_SQL:
        return "a { SQL } block";
    }
    return "?";
}

static const char *const keywords[] = {"setup",   "teardown",    "session", "step", "permutation",
                                       "anomaly", "description", "expect",  "check"};

static int is_keyword(const struct tok *t)
{
    size_t i;

    for (i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (word_is(t, keywords[i]))
            return 1;
    return 0;
}

/* Consume the lookahead and read the next one. */
static int advance(struct parser *ps)
{
    free(ps->la.text);
    ps->la.text = NULL;
    return lex(ps);
}

/* Take the lookahead's malloc'd text (STRING / SQL) and advance. */
static int take_text(struct parser *ps, char **out)
{
    *out = ps->la.text;
    ps->la.text = NULL;
    return advance(ps);
}

static int expect_sql(struct parser *ps, const char *after, char **out)
{
    char buf[64];

    if (ps->la.kind != TOK_SQL)
        return fail(ps, ps->la.line, "expected a { SQL } block after '%s', found %s", after,
                    tok_desc(&ps->la, buf, sizeof buf));
    return take_text(ps, out);
}

static int expect_name(struct parser *ps, const char *what, char **out, int *line)
{
    char buf[64];

    if (ps->la.kind != TOK_WORD || is_keyword(&ps->la))
        return fail(ps, ps->la.line, "expected a %s name, found %s", what,
                    tok_desc(&ps->la, buf, sizeof buf));
    *line = ps->la.line;
    *out = strndup(ps->la.start, ps->la.len);
    if (!*out)
        return fail(ps, ps->la.line, "out of memory");
    return advance(ps);
}

/* ---------------------------------------------------------------
 * Items.
 * ------------------------------------------------------------ */

int iso_spec_find_step(const struct iso_spec *s, const char *name, size_t len)
{
    int i;

    for (i = 0; i < s->nsteps; i++)
        if (strlen(s->steps[i].name) == len && memcmp(s->steps[i].name, name, len) == 0)
            return i;
    return -1;
}

int iso_spec_ref(const struct iso_spec *s, const char *p, int *step, enum iso_ref *field,
                 size_t *consumed)
{
    const char *end, *dot;
    size_t nlen;

    if (p[0] != '$' || p[1] != '{')
        return -1;
    end = strchr(p + 2, '}');
    if (!end)
        return -1;
    dot = memchr(p + 2, '.', (size_t)(end - (p + 2)));
    nlen = (size_t)((dot ? dot : end) - (p + 2));
    *field = ISO_REF_VALUE;
    if (dot) {
        size_t flen = (size_t)(end - dot - 1);
        if (flen == 4 && memcmp(dot + 1, "rows", 4) == 0)
            *field = ISO_REF_ROWS;
        else if (flen == 8 && memcmp(dot + 1, "sqlstate", 8) == 0)
            *field = ISO_REF_SQLSTATE;
        else
            return -1;
    }
    *step = iso_spec_find_step(s, p + 2, nlen);
    if (*step < 0)
        return -1;
    *consumed = (size_t)(end - p) + 1;
    return 0;
}

/* Every ${...} in check must name a declared step and a known field. */
static int check_refs(struct parser *ps)
{
    const struct iso_spec *s = ps->spec;
    const char *p = s->check;
    int line = s->check_line;

    for (; *p; p++) {
        int step;
        enum iso_ref field;
        size_t n;

        if (*p == '\n')
            line++;
        if (p[0] != '$' || p[1] != '{')
            continue;
        if (iso_spec_ref(s, p, &step, &field, &n) < 0) {
            const char *end = strchr(p, '}');
            int len = end ? (int)(end - p) + 1 : (int)strlen(p);
            return fail(ps, line,
                        "bad reference '%.*s' in check: expected ${STEP}, ${STEP.rows} or "
                        "${STEP.sqlstate} naming a declared step",
                        len > 60 ? 60 : len, p);
        }
        p += n - 1;
    }
    return 0;
}

/* Grow an array by one zeroed element: the new base, or NULL. */
static void *grow_array(void *arr, int n, size_t size)
{
    char *g = realloc(arr, size * (size_t)(n + 1));

    if (g)
        memset(g + size * (size_t)n, 0, size);
    return g;
}

static int oom(struct parser *ps)
{
    return fail(ps, ps->la.line, "out of memory");
}

static int parse_session(struct parser *ps, int *cur)
{
    struct iso_spec *s = ps->spec;
    struct iso_session *g;
    char *name = NULL;
    int line, i;

    if (advance(ps) < 0 || expect_name(ps, "session", &name, &line) < 0)
        goto fail;
    for (i = 0; i < s->nsessions; i++) {
        if (strcmp(s->sessions[i].name, name) == 0) {
            fail(ps, line, "duplicate session '%s' (first declared at line %d)", name,
                 s->sessions[i].line);
            goto fail;
        }
    }
    g = grow_array(s->sessions, s->nsessions, sizeof *s->sessions);
    if (!g) {
        oom(ps);
        goto fail;
    }
    s->sessions = g;
    g[s->nsessions].name = name;
    g[s->nsessions].line = line;
    *cur = s->nsessions++;
    return 0;
fail:
    free(name);
    return -1;
}

static int parse_step(struct parser *ps, int cur)
{
    struct iso_spec *s = ps->spec;
    struct iso_step *g;
    char *name = NULL, *sql = NULL;
    int line, i;

    if (cur < 0)
        return fail(ps, ps->la.line, "'step' outside a session: expected 'session NAME' before it");
    if (advance(ps) < 0 || expect_name(ps, "step", &name, &line) < 0)
        goto fail;
    i = iso_spec_find_step(s, name, strlen(name));
    if (i >= 0) {
        fail(ps, line,
             "duplicate step '%s' (first declared at line %d): step names are unique "
             "across sessions",
             name, s->steps[i].line);
        goto fail;
    }
    if (expect_sql(ps, "step", &sql) < 0)
        goto fail;
    g = grow_array(s->steps, s->nsteps, sizeof *s->steps);
    if (!g) {
        oom(ps);
        goto fail;
    }
    s->steps = g;
    g[s->nsteps].name = name;
    g[s->nsteps].sql = sql;
    g[s->nsteps].session = cur;
    g[s->nsteps].line = line;
    s->nsteps++;
    return 0;
fail:
    free(name);
    free(sql);
    return -1;
}

static int parse_permutation(struct parser *ps)
{
    struct iso_spec *s = ps->spec;
    struct iso_perm *g, *perm;
    int line = ps->la.line;
    char buf[64];

    g = grow_array(s->perms, s->nperms, sizeof *s->perms);
    if (!g)
        return oom(ps);
    s->perms = g;
    perm = &s->perms[s->nperms++];
    perm->line = line;
    if (advance(ps) < 0)
        return -1;
    while (ps->la.kind == TOK_WORD && !is_keyword(&ps->la)) {
        int step = iso_spec_find_step(s, ps->la.start, ps->la.len);
        int *ns;
        if (step < 0)
            return fail(ps, ps->la.line,
                        "unknown step '%.*s' in permutation: expected a step declared above "
                        "with 'step NAME { SQL }'",
                        (int)ps->la.len, ps->la.start);
        ns = realloc(perm->steps, sizeof *ns * (size_t)(perm->nsteps + 1));
        if (!ns)
            return oom(ps);
        perm->steps = ns;
        perm->steps[perm->nsteps++] = step;
        if (advance(ps) < 0)
            return -1;
    }
    if (perm->nsteps == 0)
        return fail(ps, ps->la.line, "expected step names after 'permutation', found %s",
                    tok_desc(&ps->la, buf, sizeof buf));
    return 0;
}

static int parse_expect(struct parser *ps)
{
    struct iso_spec *s = ps->spec;
    enum iso_level level;
    enum iso_outcome outcome;
    char buf[64];
    int line;

    if (advance(ps) < 0)
        return -1;
    line = ps->la.line;
    if (ps->la.kind != TOK_WORD || iso_level_parse(ps->la.start, ps->la.len, &level) < 0)
        return fail(ps, line,
                    "expected a level after 'expect' (read-committed, repeatable-read or "
                    "serializable), found %s",
                    tok_desc(&ps->la, buf, sizeof buf));
    if (advance(ps) < 0)
        return -1;
    if (word_is(&ps->la, "occurs"))
        outcome = ISO_OCCURS;
    else if (word_is(&ps->la, "prevented"))
        outcome = ISO_PREVENTED;
    else
        return fail(ps, ps->la.line, "expected 'occurs' or 'prevented' after 'expect %s', found %s",
                    iso_level_name(level), tok_desc(&ps->la, buf, sizeof buf));
    if (s->expect[level] != ISO_UNSET)
        return fail(ps, line, "duplicate 'expect %s': one expectation per level",
                    iso_level_name(level));
    s->expect[level] = outcome;
    return advance(ps);
}

/* anomaly "X" / description "X": a string, once. */
static int parse_string_item(struct parser *ps, const char *kw, char **slot)
{
    char buf[64];
    int line = ps->la.line;

    if (*slot)
        return fail(ps, line, "duplicate '%s': it may appear once", kw);
    if (advance(ps) < 0)
        return -1;
    if (ps->la.kind != TOK_STRING)
        return fail(ps, ps->la.line, "expected a \"string\" after '%s', found %s", kw,
                    tok_desc(&ps->la, buf, sizeof buf));
    if (!ps->la.text[0])
        return fail(ps, ps->la.line, "empty string after '%s'", kw);
    return take_text(ps, slot);
}

/* A setup or teardown, global or of the current session. */
static int parse_setup_teardown(struct parser *ps, int cur)
{
    struct iso_spec *s = ps->spec;
    int setup = word_is(&ps->la, "setup");
    int line = ps->la.line;
    const char *kw = setup ? "setup" : "teardown";
    char *sql = NULL;

    if (cur >= 0) {
        struct iso_session *se = &s->sessions[cur];
        int has_steps = 0, i;
        char **slot = setup ? &se->setup : &se->teardown;
        for (i = 0; i < s->nsteps; i++)
            has_steps |= s->steps[i].session == cur;
        if (setup && has_steps)
            return fail(ps, line,
                        "'setup' after the steps of session '%s': a session's setup comes "
                        "before its steps, a global setup before the first session",
                        se->name);
        if (!setup && !has_steps)
            return fail(ps, line,
                        "'teardown' in session '%s' before any step: expected "
                        "'step NAME { SQL }'",
                        se->name);
        if (*slot)
            return fail(ps, line, "duplicate '%s' in session '%s'", kw, se->name);
        if (advance(ps) < 0)
            return -1;
        return expect_sql(ps, kw, slot);
    }
    if (!setup && s->teardown)
        return fail(ps, line, "duplicate 'teardown': a spec has one global teardown");
    if (advance(ps) < 0 || expect_sql(ps, kw, &sql) < 0)
        return -1;
    if (!setup) {
        s->teardown = sql;
        s->teardown_line = line;
        return 0;
    }
    {
        char **g = realloc(s->setup, sizeof *g * (size_t)(s->nsetup + 1));
        int *gl = g ? realloc(s->setup_line, sizeof *gl * (size_t)(s->nsetup + 1)) : NULL;
        if (g)
            s->setup = g;
        if (!gl) {
            free(sql);
            return oom(ps);
        }
        s->setup_line = gl;
        s->setup_line[s->nsetup] = line;
        s->setup[s->nsetup++] = sql;
    }
    return 0;
}

static int parse_item(struct parser *ps, int *cur)
{
    struct iso_spec *s = ps->spec;
    char buf[64];

    if (word_is(&ps->la, "setup") || word_is(&ps->la, "teardown"))
        return parse_setup_teardown(ps, *cur);
    if (word_is(&ps->la, "session"))
        return parse_session(ps, cur);
    if (word_is(&ps->la, "step"))
        return parse_step(ps, *cur);
    *cur = -1; /* anything else ends the session */
    if (word_is(&ps->la, "permutation"))
        return parse_permutation(ps);
    if (word_is(&ps->la, "expect"))
        return parse_expect(ps);
    if (word_is(&ps->la, "anomaly"))
        return parse_string_item(ps, "anomaly", &s->anomaly);
    if (word_is(&ps->la, "description"))
        return parse_string_item(ps, "description", &s->description);
    if (word_is(&ps->la, "check")) {
        if (s->check)
            return fail(ps, ps->la.line, "duplicate 'check': a spec has one check");
        s->check_line = ps->la.line;
        if (advance(ps) < 0)
            return -1;
        if (ps->la.kind == TOK_SQL)
            s->check_line = ps->la.text_line;
        return expect_sql(ps, "check", &s->check);
    }
    if (ps->la.kind == TOK_WORD)
        return fail(ps, ps->la.line,
                    "unknown keyword %s: expected setup, teardown, session, step, "
                    "permutation, anomaly, description, expect or check",
                    tok_desc(&ps->la, buf, sizeof buf));
    return fail(ps, ps->la.line, "expected a keyword, found %s",
                tok_desc(&ps->la, buf, sizeof buf));
}

/* What a complete spec must have, checked after the last item. */
static int validate(struct parser *ps)
{
    struct iso_spec *s = ps->spec;
    int eof = ps->la.line, i, j;

    if (!s->anomaly)
        return fail(ps, eof, "missing 'anomaly \"NAME\"': the spec's row in the matrix");
    if (s->nsessions == 0)
        return fail(ps, eof, "no session: expected 'session NAME' with at least one step");
    for (i = 0; i < s->nsessions; i++) {
        int n = 0;
        for (j = 0; j < s->nsteps; j++)
            n += s->steps[j].session == i;
        if (n == 0)
            return fail(ps, s->sessions[i].line,
                        "session '%s' has no step: expected 'step NAME { SQL }'",
                        s->sessions[i].name);
    }
    if (s->nperms == 0)
        return fail(ps, eof,
                    "no permutation: expected 'permutation STEP STEP ...' stating "
                    "the interleaving to run");
    for (i = 0; i < ISO_NLEVELS; i++)
        if (s->expect[i] == ISO_UNSET)
            return fail(ps, eof,
                        "missing 'expect %s occurs|prevented': every level needs "
                        "an expectation",
                        iso_level_name((enum iso_level)i));
    if (s->check)
        return check_refs(ps);
    return 0;
}

static char *spec_name(const char *path)
{
    const char *base = strrchr(path, '/');
    size_t n;

    base = base ? base + 1 : path;
    n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".spec") == 0)
        n -= 5;
    return strndup(base, n);
}

int iso_spec_parse(const char *text, const char *path, struct iso_spec *out, char *err,
                   size_t errlen)
{
    struct parser ps = {
        .path = path, .p = text, .line = 1, .err = err, .errlen = errlen, .spec = out};
    int cur = -1, rc = -1;

    memset(out, 0, sizeof *out);
    out->path = strdup(path);
    out->name = spec_name(path);
    if (!out->path || !out->name) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (lex(&ps) < 0)
        goto out;
    while (ps.la.kind != TOK_EOF)
        if (parse_item(&ps, &cur) < 0)
            goto out;
    rc = validate(&ps);
out:
    free(ps.la.text);
    if (rc < 0)
        iso_spec_free(out);
    return rc;
}

int iso_spec_load(const char *path, struct iso_spec *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    {
        FILE *m = open_memstream(&text, &len);
        char buf[4096];
        size_t n;
        if (!m) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, m);
        fclose(m);
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto out;
    }
    if (strlen(text) != len) {
        snprintf(err, errlen, "%s:1: the file contains a NUL byte: expected text", path);
        goto out;
    }
    rc = iso_spec_parse(text, path, out, err, errlen);
out:
    if (f)
        fclose(f);
    free(text);
    return rc;
}

void iso_spec_free(struct iso_spec *s)
{
    int i;

    if (!s)
        return;
    free(s->path);
    free(s->name);
    free(s->anomaly);
    free(s->description);
    for (i = 0; i < s->nsetup; i++)
        free(s->setup[i]);
    free(s->setup);
    free(s->setup_line);
    free(s->teardown);
    for (i = 0; i < s->nsessions; i++) {
        free(s->sessions[i].name);
        free(s->sessions[i].setup);
        free(s->sessions[i].teardown);
    }
    free(s->sessions);
    for (i = 0; i < s->nsteps; i++) {
        free(s->steps[i].name);
        free(s->steps[i].sql);
    }
    free(s->steps);
    for (i = 0; i < s->nperms; i++)
        free(s->perms[i].steps);
    free(s->perms);
    free(s->check);
    memset(s, 0, sizeof *s);
}

/*
 * iso_spec.c - the isolation spec parser (format: iso_spec.h, docs/isolation.md).
 *
 * A parser over one token of lookahead from iso_scan.c.  A spec is read in
 * the isolation tester's lexing first and in wedge's when that fails
 * (iso_scan.h says why); every error names PATH:LINE and what was expected.
 * Reading a spec file is here too; what the driver asks of a parsed spec
 * (and freeing it) is iso_spec_use.c's, below.
 */
#include "iso_scan.h"
#include "iso_spec.h"

#include "textfile.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------
 * Tokens.
 * ------------------------------------------------------------ */

struct parser {
    struct iso_scan sc;
    struct iso_spec *spec;
};

/* The isolation tester's keywords: the only reserved words. */
static const char *const reserved[] = {"setup", "teardown",    "session",
                                       "step",  "permutation", "notices"};
/* wedge's items; names like any other where a name is expected. */
static const char *const extensions[] = {"anomaly", "description", "expect", "check"};

static int word_in(const struct tok *t, const char *const *list, size_t n)
{
    size_t i;

    if (t->kind != TOK_WORD)
        return 0;
    for (i = 0; i < n; i++)
        if (iso_tok_is(t, list[i]))
            return 1;
    return 0;
}

static int is_reserved(const struct tok *t)
{
    return word_in(t, reserved, sizeof reserved / sizeof reserved[0]);
}

static int is_extension(const struct tok *t)
{
    return word_in(t, extensions, sizeof extensions / sizeof extensions[0]);
}

#define LA(ps) (&(ps)->sc.la)

static int advance(struct parser *ps)
{
    return iso_scan_next(&ps->sc);
}

static int oom(struct parser *ps)
{
    return iso_scan_fail(&ps->sc, LA(ps)->line, "out of memory");
}

/* The lookahead's SQL block, taken (the caller stores it, then advances,
 * so that nothing leaks when the next token is bad). */
static int expect_sql(struct parser *ps, const char *after, char **out)
{
    char buf[64];

    if (LA(ps)->kind != TOK_SQL)
        return iso_scan_fail(&ps->sc, LA(ps)->line, "expected a { SQL } block after '%s', found %s",
                             after, iso_tok_desc(LA(ps), buf, sizeof buf));
    *out = LA(ps)->text;
    LA(ps)->text = NULL;
    return 0;
}

/* A name: a word that is not reserved, or a "quoted name". */
static int is_name(const struct tok *t)
{
    return t->kind == TOK_STRING || (t->kind == TOK_WORD && !is_reserved(t));
}

/* The lookahead's name, malloc'd (not consumed). */
static char *name_of(const struct tok *t)
{
    return t->kind == TOK_STRING ? strdup(t->text) : strndup(t->start, t->len);
}

static int expect_name(struct parser *ps, const char *what, char **out, int *line)
{
    char buf[64];

    if (!is_name(LA(ps)))
        return iso_scan_fail(&ps->sc, LA(ps)->line, "expected a %s name, found %s", what,
                             iso_tok_desc(LA(ps), buf, sizeof buf));
    *line = LA(ps)->line;
    *out = name_of(LA(ps));
    if (!*out)
        return oom(ps);
    return advance(ps);
}

/* Grow an array by one zeroed element: the new base, or NULL. */
static void *grow_array(void *arr, int n, size_t size)
{
    char *g = realloc(arr, size * (size_t)(n + 1));

    if (g)
        memset(g + size * (size_t)n, 0, size);
    return g;
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
            return iso_scan_fail(&ps->sc, line,
                                 "bad reference '%.*s' in check: expected ${STEP}, ${STEP.rows} or "
                                 "${STEP.sqlstate} naming a declared step",
                                 len > 60 ? 60 : len, p);
        }
        p += n - 1;
    }
    return 0;
}

/* ---------------------------------------------------------------
 * Items.
 * ------------------------------------------------------------ */

static int parse_session(struct parser *ps, int *cur)
{
    struct iso_spec *s = ps->spec;
    struct iso_session *g;
    char *name = NULL;
    int line;

    if (advance(ps) < 0 || expect_name(ps, "session", &name, &line) < 0)
        goto fail;
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
    char *name = NULL;
    int line, i;

    if (cur < 0)
        return iso_scan_fail(&ps->sc, LA(ps)->line,
                             "'step' outside a session: expected 'session NAME' before it");
    if (advance(ps) < 0 || expect_name(ps, "step", &name, &line) < 0)
        goto fail;
    i = iso_spec_find_step(s, name, strlen(name));
    if (i >= 0) {
        iso_scan_fail(&ps->sc, line,
                      "duplicate step '%s' (first declared at line %d): step names are unique "
                      "across sessions",
                      name, s->steps[i].line);
        goto fail;
    }
    g = grow_array(s->steps, s->nsteps, sizeof *s->steps);
    if (!g) {
        oom(ps);
        goto fail;
    }
    s->steps = g;
    g[s->nsteps].name = name;
    g[s->nsteps].session = cur;
    g[s->nsteps].line = line;
    name = NULL;
    if (expect_sql(ps, "step", &g[s->nsteps].sql) < 0) {
        free(g[s->nsteps].name);
        goto fail;
    }
    s->nsteps++;
    return advance(ps);
fail:
    free(name);
    return -1;
}

/* One blocker inside STEP( ... ): '*', OTHER or OTHER notices N. */
static int parse_blocker(struct parser *ps, struct iso_blocker *b)
{
    struct iso_spec *s = ps->spec;
    const struct tok *t = LA(ps);
    char buf[64];

    b->line = t->line;
    if (iso_tok_is(t, "*")) {
        b->kind = ISO_BLOCK_ONCE;
        return advance(ps);
    }
    if (!is_name(t))
        return iso_scan_fail(&ps->sc, t->line,
                             "expected a step name or '*' in a blocker annotation, found %s",
                             iso_tok_desc(t, buf, sizeof buf));
    b->kind = ISO_BLOCK_STEP;
    b->step = t->kind == TOK_STRING ? iso_spec_find_step(s, t->text, strlen(t->text))
                                    : iso_spec_find_step(s, t->start, t->len);
    if (b->step < 0)
        return iso_scan_fail(&ps->sc, t->line,
                             "undefined blocking step %s: expected a step of this permutation",
                             iso_tok_desc(t, buf, sizeof buf));
    if (advance(ps) < 0 || !iso_tok_is(t, "notices"))
        return ps->sc.err_line ? -1 : 0;
    if (advance(ps) < 0)
        return -1;
    if (t->kind != TOK_WORD || t->len > 9 || strspn(t->start, "0123456789") < t->len)
        return iso_scan_fail(&ps->sc, t->line, "expected a number after 'notices', found %s",
                             iso_tok_desc(t, buf, sizeof buf));
    b->kind = ISO_BLOCK_NOTICES;
    b->notices = atoi(t->start);
    return advance(ps);
}

/* STEP( BLOCKER [, BLOCKER]... ), the '(' being the lookahead. */
static int parse_blockers(struct parser *ps, struct iso_pstep *p)
{
    char buf[64];

    do {
        struct iso_blocker *g = grow_array(p->blockers, p->nblockers, sizeof *g);
        if (!g)
            return oom(ps);
        p->blockers = g;
        p->nblockers++;
        if (advance(ps) < 0 || parse_blocker(ps, &g[p->nblockers - 1]) < 0)
            return -1;
    } while (iso_tok_is(LA(ps), ","));
    if (!iso_tok_is(LA(ps), ")"))
        return iso_scan_fail(&ps->sc, LA(ps)->line,
                             "expected ',' or ')' in the blocker annotation of step '%s', found %s",
                             ps->spec->steps[p->step].name, iso_tok_desc(LA(ps), buf, sizeof buf));
    return advance(ps);
}

/* A blocker names a step of its own permutation, of another session. */
static int check_blockers(struct parser *ps, const struct iso_perm *perm)
{
    const struct iso_spec *s = ps->spec;
    int i, j, k;

    for (i = 0; i < perm->nsteps; i++) {
        const struct iso_pstep *p = &perm->steps[i];
        for (k = 0; k < p->nblockers; k++) {
            const struct iso_blocker *b = &p->blockers[k];
            if (b->kind == ISO_BLOCK_ONCE)
                continue;
            for (j = 0; j < perm->nsteps && perm->steps[j].step != b->step; j++)
                ;
            if (j == perm->nsteps)
                return iso_scan_fail(&ps->sc, b->line,
                                     "undefined blocking step '%s' referenced in permutation "
                                     "step '%s': expected a step of this permutation",
                                     s->steps[b->step].name, s->steps[p->step].name);
            if (s->steps[b->step].session == s->steps[p->step].session)
                return iso_scan_fail(&ps->sc, b->line,
                                     "permutation step '%s' cannot block on its own session",
                                     s->steps[p->step].name);
        }
    }
    return 0;
}

/* The lookahead names a step of the permutation: a declared step's name
 * always does (a step may be called check); an extension keyword that
 * names none ends the permutation. */
static int perm_step_at(struct parser *ps, int *step)
{
    const struct tok *t = LA(ps);

    if (!is_name(t))
        return 0;
    *step = t->kind == TOK_STRING ? iso_spec_find_step(ps->spec, t->text, strlen(t->text))
                                  : iso_spec_find_step(ps->spec, t->start, t->len);
    if (*step < 0 && is_extension(t))
        return 0;
    if (*step < 0)
        return iso_scan_fail(&ps->sc, t->line,
                             "unknown step '%.*s' in permutation: expected a step declared above "
                             "with 'step NAME { SQL }'",
                             t->kind == TOK_STRING ? (int)strlen(t->text) : (int)t->len,
                             t->kind == TOK_STRING ? t->text : t->start);
    return 1;
}

static int parse_permutation(struct parser *ps)
{
    struct iso_spec *s = ps->spec;
    struct iso_perm *g, *perm;
    int step, at;
    char buf[64];

    g = grow_array(s->perms, s->nperms, sizeof *s->perms);
    if (!g)
        return oom(ps);
    s->perms = g;
    perm = &s->perms[s->nperms++];
    perm->line = LA(ps)->line;
    if (advance(ps) < 0)
        return -1;
    while ((at = perm_step_at(ps, &step)) == 1) {
        struct iso_pstep *ns = grow_array(perm->steps, perm->nsteps, sizeof *ns);
        if (!ns)
            return oom(ps);
        perm->steps = ns;
        ns[perm->nsteps++].step = step;
        if (advance(ps) < 0)
            return -1;
        if (iso_tok_is(LA(ps), "(") && parse_blockers(ps, &ns[perm->nsteps - 1]) < 0)
            return -1;
    }
    if (at < 0)
        return -1;
    if (perm->nsteps == 0)
        return iso_scan_fail(&ps->sc, LA(ps)->line,
                             "expected step names after 'permutation', found %s",
                             iso_tok_desc(LA(ps), buf, sizeof buf));
    return check_blockers(ps, perm);
}

static int parse_expect(struct parser *ps)
{
    struct iso_spec *s = ps->spec;
    enum iso_level level;
    enum iso_outcome outcome;
    const struct tok *t = LA(ps);
    char buf[64];
    int line;

    if (advance(ps) < 0)
        return -1;
    line = t->line;
    if (t->kind != TOK_WORD || iso_level_parse(t->start, t->len, &level) < 0)
        return iso_scan_fail(&ps->sc, line,
                             "expected a level after 'expect' (read-committed, repeatable-read "
                             "or serializable), found %s",
                             iso_tok_desc(t, buf, sizeof buf));
    if (advance(ps) < 0)
        return -1;
    if (iso_tok_is(t, "occurs"))
        outcome = ISO_OCCURS;
    else if (iso_tok_is(t, "prevented"))
        outcome = ISO_PREVENTED;
    else
        return iso_scan_fail(&ps->sc, t->line,
                             "expected 'occurs' or 'prevented' after 'expect %s', found %s",
                             iso_level_name(level), iso_tok_desc(t, buf, sizeof buf));
    if (s->expect[level] != ISO_UNSET)
        return iso_scan_fail(&ps->sc, line, "duplicate 'expect %s': one expectation per level",
                             iso_level_name(level));
    s->expect[level] = outcome;
    return advance(ps);
}

/* anomaly "X" / description "X": a string, once. */
static int parse_string_item(struct parser *ps, const char *kw, char **slot)
{
    char buf[64];
    int line = LA(ps)->line;

    if (*slot)
        return iso_scan_fail(&ps->sc, line, "duplicate '%s': it may appear once", kw);
    if (advance(ps) < 0)
        return -1;
    if (LA(ps)->kind != TOK_STRING)
        return iso_scan_fail(&ps->sc, LA(ps)->line, "expected a \"string\" after '%s', found %s",
                             kw, iso_tok_desc(LA(ps), buf, sizeof buf));
    if (!LA(ps)->text[0])
        return iso_scan_fail(&ps->sc, LA(ps)->line, "empty string after '%s'", kw);
    *slot = LA(ps)->text;
    LA(ps)->text = NULL;
    return advance(ps);
}

/* A session's setup or teardown. */
static int parse_session_block(struct parser *ps, int cur, int setup)
{
    struct iso_spec *s = ps->spec;
    struct iso_session *se = &s->sessions[cur];
    const char *kw = setup ? "setup" : "teardown";
    char **slot = setup ? &se->setup : &se->teardown;
    int line = LA(ps)->line, has_steps = 0, i;

    for (i = 0; i < s->nsteps; i++)
        has_steps |= s->steps[i].session == cur;
    if (setup && has_steps)
        return iso_scan_fail(&ps->sc, line,
                             "'setup' after the steps of session '%s': a session's setup comes "
                             "before its steps, a global setup before the first session",
                             se->name);
    if (!setup && !has_steps)
        return iso_scan_fail(&ps->sc, line,
                             "'teardown' in session '%s' before any step: expected "
                             "'step NAME { SQL }'",
                             se->name);
    if (*slot)
        return iso_scan_fail(&ps->sc, line, "duplicate '%s' in session '%s'", kw, se->name);
    if (advance(ps) < 0 || expect_sql(ps, kw, slot) < 0)
        return -1;
    return advance(ps);
}

/* A setup or teardown, global or of the current session. */
static int parse_setup_teardown(struct parser *ps, int cur)
{
    struct iso_spec *s = ps->spec;
    int setup = iso_tok_is(LA(ps), "setup");
    int line = LA(ps)->line;
    char **g;
    int *gl;

    if (cur >= 0)
        return parse_session_block(ps, cur, setup);
    if (!setup) {
        if (s->teardown)
            return iso_scan_fail(&ps->sc, line,
                                 "duplicate 'teardown': a spec has one global teardown");
        s->teardown_line = line;
        if (advance(ps) < 0 || expect_sql(ps, "teardown", &s->teardown) < 0)
            return -1;
        return advance(ps);
    }
    g = realloc(s->setup, sizeof *g * (size_t)(s->nsetup + 1));
    if (g)
        s->setup = g;
    gl = g ? realloc(s->setup_line, sizeof *gl * (size_t)(s->nsetup + 1)) : NULL;
    if (!gl)
        return oom(ps);
    s->setup_line = gl;
    if (advance(ps) < 0 || expect_sql(ps, "setup", &s->setup[s->nsetup]) < 0)
        return -1;
    s->setup_line[s->nsetup++] = line;
    return advance(ps);
}

static int parse_check(struct parser *ps)
{
    struct iso_spec *s = ps->spec;

    if (s->check)
        return iso_scan_fail(&ps->sc, LA(ps)->line, "duplicate 'check': a spec has one check");
    s->check_line = LA(ps)->line;
    if (advance(ps) < 0)
        return -1;
    if (LA(ps)->kind == TOK_SQL)
        s->check_line = LA(ps)->text_line;
    if (expect_sql(ps, "check", &s->check) < 0)
        return -1;
    return advance(ps);
}

static int parse_item(struct parser *ps, int *cur)
{
    struct iso_spec *s = ps->spec;
    const struct tok *t = LA(ps);
    char buf[64];

    if (iso_tok_is(t, "setup") || iso_tok_is(t, "teardown"))
        return parse_setup_teardown(ps, *cur);
    if (iso_tok_is(t, "session"))
        return parse_session(ps, cur);
    if (iso_tok_is(t, "step"))
        return parse_step(ps, *cur);
    *cur = -1; /* anything else ends the session */
    if (iso_tok_is(t, "permutation"))
        return parse_permutation(ps);
    if (iso_tok_is(t, "expect"))
        return parse_expect(ps);
    if (iso_tok_is(t, "anomaly"))
        return parse_string_item(ps, "anomaly", &s->anomaly);
    if (iso_tok_is(t, "description"))
        return parse_string_item(ps, "description", &s->description);
    if (iso_tok_is(t, "check"))
        return parse_check(ps);
    if (t->kind == TOK_WORD)
        return iso_scan_fail(&ps->sc, t->line,
                             "unknown keyword %s: expected setup, teardown, session, step, "
                             "permutation, anomaly, description, expect or check",
                             iso_tok_desc(t, buf, sizeof buf));
    return iso_scan_fail(&ps->sc, t->line, "expected a keyword, found %s",
                         iso_tok_desc(t, buf, sizeof buf));
}

/* ---------------------------------------------------------------
 * The whole spec.
 * ------------------------------------------------------------ */

int iso_spec_is_anomaly(const struct iso_spec *s)
{
    int l;

    for (l = 0; l < ISO_NLEVELS; l++)
        if (s->expect[l] != ISO_UNSET)
            return 1;
    return s->anomaly != NULL;
}

/* What an anomaly spec must have besides a plain one. */
static int validate_anomaly(struct parser *ps)
{
    struct iso_spec *s = ps->spec;
    int eof = LA(ps)->line, i, j;

    if (!s->anomaly)
        return iso_scan_fail(&ps->sc, eof,
                             "missing 'anomaly \"NAME\"': the spec's row in the matrix");
    for (i = 0; i < ISO_NLEVELS; i++)
        if (s->expect[i] == ISO_UNSET)
            return iso_scan_fail(&ps->sc, eof,
                                 "missing 'expect %s occurs|prevented': every level needs "
                                 "an expectation",
                                 iso_level_name((enum iso_level)i));
    /* The matrix's reports name sessions; the tester does not mind twins. */
    for (i = 0; i < s->nsessions; i++)
        for (j = 0; j < i; j++)
            if (strcmp(s->sessions[i].name, s->sessions[j].name) == 0)
                return iso_scan_fail(&ps->sc, s->sessions[i].line,
                                     "duplicate session '%s' (first declared at line %d)",
                                     s->sessions[i].name, s->sessions[j].line);
    return s->check ? check_refs(ps) : 0;
}

/* What a complete spec must have, checked after the last item. */
static int validate(struct parser *ps)
{
    struct iso_spec *s = ps->spec;
    int eof = LA(ps)->line, i, j;

    if (s->nsessions == 0)
        return iso_scan_fail(&ps->sc, eof,
                             "no session: expected 'session NAME' with at least one step");
    for (i = 0; i < s->nsessions; i++) {
        int n = 0;
        for (j = 0; j < s->nsteps; j++)
            n += s->steps[j].session == i;
        if (n == 0)
            return iso_scan_fail(&ps->sc, s->sessions[i].line,
                                 "session '%s' has no step: expected 'step NAME { SQL }'",
                                 s->sessions[i].name);
    }
    if (iso_spec_is_anomaly(s))
        return validate_anomaly(ps);
    if (s->check || s->description)
        return iso_scan_fail(&ps->sc, s->check ? s->check_line : eof,
                             "'%s' without 'anomaly \"NAME\"' and expect lines: it belongs to "
                             "an anomaly spec",
                             s->check ? "check" : "description");
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

/* One reading of text, in the tester's lexing (pg) or wedge's. */
static int parse_mode(const char *text, const char *path, int pg, struct iso_spec *out, char *err,
                      size_t errlen, int *err_line)
{
    struct parser ps = {
        .sc = {.path = path, .p = text, .line = 1, .pg = pg, .err = err, .errlen = errlen},
        .spec = out};
    int cur = -1, rc = -1;

    memset(out, 0, sizeof *out);
    out->path = strdup(path);
    out->name = spec_name(path);
    if (!out->path || !out->name) {
        iso_scan_fail(&ps.sc, 1, "out of memory");
        goto out;
    }
    if (iso_scan_next(&ps.sc) < 0)
        goto out;
    while (ps.sc.la.kind != TOK_EOF)
        if (parse_item(&ps, &cur) < 0)
            goto out;
    rc = validate(&ps);
    ps.sc.err_line = INT_MAX; /* the whole spec was read */
out:
    free(ps.sc.la.text);
    *err_line = ps.sc.err_line;
    if (rc < 0)
        iso_spec_free(out);
    return rc;
}

int iso_spec_parse(const char *text, const char *path, struct iso_spec *out, char *err,
                   size_t errlen)
{
    char pg_err[512] = "";
    int pg_line = 0, line = 0;

    if (parse_mode(text, path, 1, out, pg_err, sizeof pg_err, &pg_line) == 0)
        return 0;
    if (parse_mode(text, path, 0, out, err, errlen, &line) == 0)
        return 0;
    /* Both failed: the reading that got further tells the real mistake;
     * wedge's when the tester's read it all (its messages say more). */
    if (pg_line != INT_MAX && pg_line > line)
        snprintf(err, errlen, "%s", pg_err);
    return -1;
}

int iso_spec_load(const char *path, struct iso_spec *out, char *err, size_t errlen)
{
    char *text = NULL, why[256];
    int rc;

    memset(out, 0, sizeof *out);
    /* A device or FIFO (--spec /dev/zero) was read until memory ran out. */
    if (textfile_read(path, ISO_SPEC_MAX, &text, NULL, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s:%s%s", path, isdigit((unsigned char)why[0]) ? "" : " ", why);
        return -1;
    }
    rc = iso_spec_parse(text, path, out, err, errlen);
    free(text);
    return rc;
}

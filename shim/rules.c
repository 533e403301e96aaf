/*
 * rules.c - the rule language: text -> struct wg_ruleset.
 *
 *   [NAME:] ACTION on|before|after HOOK[,HOOK...] [where COND [and COND...]]
 *           [FREQUENCY...] [before|after]
 *
 * One rule a line or ';' between rules, '#' to the end of the line is a
 * comment; both are literal inside a "quoted string" (\" is a quote, \\ a
 * backslash, any other backslash is kept for the regex).  Every error names
 * origin:LINE:COL and says what was found and what was expected.  The
 * reference, with every message, is docs/rules.md.
 *
 * Runs from the constructor or a test: it allocates, never from a hook.
 */
#include "rules_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------
 * Keyword tables (also the candidates for "did you mean").
 * ------------------------------------------------------------ */
static const char *const rules_clauses[] = {"where", "and",   "p",     "nth",    "every",
                                            "first", "after", "times", "before", NULL};
#define RULES_CLAUSES_LIST                                                                     \
    "'where', 'and', a frequency (p=, nth, every, first, after, times), 'before', 'after' or " \
    "the end of the rule"

static const char *const rules_whens[] = {"on", "before", "after", NULL};

/* ---------------------------------------------------------------
 * The grammar, one rule at a time (the context is in rules_int.h).
 * ------------------------------------------------------------ */

/* One hook name or pattern: sets r->hooks bits. */
static int rules_hook(struct rules_ctx *c)
{
    struct wg_rule *r = c->r;
    uint64_t bits = 0;
    char d[80], h[64];
    const char *s = TOK->s;
    size_t len = TOK->len;

    if (TOK->type != TOK_WORD) {
        rules_err(LX, TOK->line, TOK->col,
                  "expected a hook (e.g. pq.query, sock.send, mutex.lock, pq.*, *), found %s",
                  rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    if (len == 1 && s[0] == '*') {
        bits = (WG_HOOK_COUNT >= 64) ? ~0ull : ((1ull << WG_HOOK_COUNT) - 1);
    } else if (len > 2 && s[len - 2] == '.' && s[len - 1] == '*') {
        size_t pl = len - 1; /* "pq." */
        for (int i = 0; i < WG_HOOK_COUNT; i++)
            if (strncmp(rules_hook_names[i], s, pl) == 0)
                bits |= 1ull << i;
        for (int f = 0; f < 3; f++)
            if (strlen(rules_fam_names[f]) == pl - 1 && memcmp(rules_fam_names[f], s, pl - 1) == 0)
                for (int i = 0; i < WG_HOOK_COUNT; i++)
                    if ((int)rules_hook_fams[i] == f)
                        bits |= 1ull << i;
        if (!bits) {
            rules_err(LX, TOK->line, TOK->col,
                      "unknown hook family %s; expected sock.*, pq.*, mutex.*, rwlock.*, cond.*, "
                      "thread.*, pthread.* or *",
                      rules_tok_desc(TOK, d, sizeof d));
            return -1;
        }
    } else {
        for (int i = 0; i < WG_HOOK_COUNT; i++)
            if (rules_tok_is(TOK, rules_hook_names[i]))
                bits = 1ull << i;
        if (!bits) {
            rules_err(LX, TOK->line, TOK->col,
                      "unknown hook %s%s; expected a hook such as pq.query, sock.send, "
                      "mutex.lock, or a family such as pq.* (see docs/rules.md)",
                      rules_tok_desc(TOK, d, sizeof d),
                      rules_hint(TOK, rules_hook_names, WG_HOOK_COUNT, h, sizeof h));
            return -1;
        }
    }
    for (int i = 0; i < WG_HOOK_COUNT; i++) {
        if ((bits & (1ull << i)) && !(r->hooks & (1ull << i))) {
            c->hook_col[i] = TOK->col;
            c->hook_tok[i] = s;
            c->hook_toklen[i] = (int)len;
        }
    }
    r->hooks |= bits;
    return rules_next(LX);
}

/* nth / every / first / after / times N. */
static int rules_count(struct rules_ctx *c, const char *kw, int slot, uint64_t *dst,
                       const struct rules_tok *kwtok)
{
    char d[80];
    uint64_t v;

    if (c->freq_seen[slot]) {
        rules_err(LX, kwtok->line, kwtok->col, "'%s' given twice", kw);
        return -1;
    }
    c->freq_seen[slot] = 1;
    if (TOK->type != TOK_WORD || rules_parse_u64(TOK->s, TOK->len, &v) < 0 || v < 1) {
        rules_err(LX, TOK->line, TOK->col, "expected a count >= 1 after '%s', found %s", kw,
                  rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    *dst = v;
    return rules_next(LX);
}

static int rules_set_when(struct rules_ctx *c, enum wg_when w, const struct rules_tok *t)
{
    if (c->when_set && c->r->when != w) {
        rules_err(LX, t->line, t->col, "'%s' conflicts with '%s' given at column %d",
                  w == WG_BEFORE ? "before" : "after", w == WG_BEFORE ? "after" : "before",
                  c->when_col);
        return -1;
    }
    c->when_set = 1;
    c->when_col = t->col;
    c->r->when = w;
    return 0;
}

/* p=P, the current token being the 'p' (kw). */
static int rules_prob(struct rules_ctx *c, const struct rules_tok *kw)
{
    char buf[64], *end, d[80];
    double p;

    if (c->freq_seen[5]) {
        rules_err(LX, kw->line, kw->col, "'p' given twice");
        return -1;
    }
    c->freq_seen[5] = 1;
    if (rules_next(LX) < 0)
        return -1;
    if (!(TOK->type == TOK_OP && TOK->len == 1 && TOK->s[0] == '=')) {
        rules_err(LX, TOK->line, TOK->col, "expected '=' after 'p' (as in p=0.2), found %s",
                  rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    if (rules_next(LX) < 0)
        return -1;
    errno = 0;
    if (TOK->type != TOK_WORD || rules_tok_copy(TOK, buf, sizeof buf) < 0 ||
        (p = strtod(buf, &end), *end != '\0') || errno || !(p >= 0.0 && p <= 1.0) ||
        !(buf[0] == '.' || (buf[0] >= '0' && buf[0] <= '9'))) {
        rules_err(LX, TOK->line, TOK->col,
                  "expected a probability from 0 to 1 after 'p=', found %s",
                  rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    c->r->has_p = 1;
    c->r->p = p;
    return rules_next(LX);
}

/* Everything after the hooks. */
static int rules_clauses_parse(struct rules_ctx *c)
{
    struct wg_rule *r = c->r;
    char d[80], h[64];

    while (TOK->type != TOK_END) {
        struct rules_tok kw = *TOK;

        if (rules_tok_is(&kw, "where") || rules_tok_is(&kw, "and")) {
            int is_where = kw.s[0] == 'w';
            if (is_where && c->seen_where) {
                rules_err(LX, kw.line, kw.col, "'where' given twice; join conditions with 'and'");
                return -1;
            }
            if (!is_where && !c->seen_where) {
                rules_err(LX, kw.line, kw.col, "'and' without 'where'; expected 'where' first");
                return -1;
            }
            c->seen_where = 1;
            if (rules_next(LX) < 0 || rules_cond(c, is_where ? "where" : "and") < 0)
                return -1;
        } else if (rules_tok_is(&kw, "p")) {
            if (rules_prob(c, &kw) < 0)
                return -1;
        } else if (rules_tok_is(&kw, "nth") || rules_tok_is(&kw, "every") ||
                   rules_tok_is(&kw, "first") || rules_tok_is(&kw, "times")) {
            char name[8];
            int slot;
            uint64_t *dst;
            rules_tok_copy(&kw, name, sizeof name);
            slot = name[0] == 'n' ? 0 : name[0] == 'e' ? 1 : name[0] == 'f' ? 2 : 4;
            dst = slot == 0 ? &r->nth : slot == 1 ? &r->every : slot == 2 ? &r->first : &r->times;
            if (rules_next(LX) < 0 || rules_count(c, name, slot, dst, &kw) < 0)
                return -1;
        } else if (rules_tok_is(&kw, "after")) {
            if (rules_next(LX) < 0)
                return -1;
            if (TOK->type == TOK_WORD && TOK->s[0] >= '0' && TOK->s[0] <= '9') {
                if (rules_count(c, "after", 3, &r->after, &kw) < 0)
                    return -1;
            } else if (rules_set_when(c, WG_AFTER, &kw) < 0) {
                return -1;
            }
        } else if (rules_tok_is(&kw, "before")) {
            if (rules_set_when(c, WG_BEFORE, &kw) < 0 || rules_next(LX) < 0)
                return -1;
        } else {
            rules_err(LX, kw.line, kw.col, "unexpected %s%s; expected " RULES_CLAUSES_LIST,
                      rules_tok_desc(&kw, d, sizeof d),
                      rules_hint(&kw, rules_clauses, 99, h, sizeof h));
            return -1;
        }
    }
    return 0;
}

/* "NAME:" as a word of its own, or glued to the action ("a:log"), when
 * the rule has one: into c->r->name, the token after it current. */
static int rules_name_prefix(struct rules_ctx *c)
{
    const char *colon = TOK->type == TOK_WORD ? memchr(TOK->s, ':', TOK->len) : NULL;
    size_t nl;

    if (!colon || colon == TOK->s)
        return 0;
    nl = (size_t)(colon - TOK->s);
    if (!rules_name_ok(TOK->s, nl, 0)) {
        rules_err(LX, TOK->line, TOK->col,
                  "bad rule name '%.*s'; expected letters, digits, '-' or '_' (at most %d)",
                  (int)(nl > 60 ? 60 : nl), TOK->s, WG_NAME_MAX - 1);
        return -1;
    }
    memcpy(c->r->name, TOK->s, nl);
    c->r->name[nl] = '\0';
    if (nl + 1 == TOK->len)
        return rules_next(LX);
    TOK->s += nl + 1;
    TOK->len -= nl + 1;
    TOK->col += (int)(nl + 1);
    return 0;
}

/* Parse one rule starting at the current token into c->r.  Returns 1 when
 * a rule was parsed, 0 for an empty one, -1 on error. */
static int rules_one(struct rules_ctx *c, int number)
{
    struct wg_rule *r = c->r;
    char d[80], h[64];

    memset(r, 0, sizeof *r);
    r->line = TOK->line;
    r->col = TOK->col;
    r->src_off = (int)(TOK->s - c->lx.text);
    r->when = WG_BEFORE;
    r->timeout_ns = WG_DEFAULT_TIMEOUT_NS;
    snprintf(r->name, sizeof r->name, "rule%d", number);
    if (TOK->type == TOK_END)
        return 0;

    if (rules_name_prefix(c) < 0 || rules_action(c) < 0)
        return -1;

    /* on | before | after, then hooks */
    if (TOK->type != TOK_WORD ||
        !(rules_tok_is(TOK, "on") || rules_tok_is(TOK, "before") || rules_tok_is(TOK, "after"))) {
        rules_err(LX, TOK->line, TOK->col,
                  "expected 'on', 'before' or 'after' and a hook, "
                  "found %s%s",
                  rules_tok_desc(TOK, d, sizeof d), rules_hint(TOK, rules_whens, 99, h, sizeof h));
        return -1;
    }
    if (!rules_tok_is(TOK, "on")) {
        struct rules_tok kw = *TOK;
        if (rules_set_when(c, kw.s[0] == 'a' ? WG_AFTER : WG_BEFORE, &kw) < 0)
            return -1;
    }
    if (rules_next(LX) < 0 || rules_hook(c) < 0)
        return -1;
    while (TOK->type == TOK_COMMA) {
        if (rules_next(LX) < 0 || rules_hook(c) < 0)
            return -1;
    }
    if (rules_clauses_parse(c) < 0)
        return -1;
    if (rules_check(c) < 0)
        return -1;
    return 1;
}

/* ---------------------------------------------------------------
 * Duplicate names, found by sorting: O(n log n) (comparing each rule
 * with every earlier one took 87 s for 70,000 rules, at every start).
 * ------------------------------------------------------------ */
static int rules_by_name(const void *a, const void *b, void *arg)
{
    const struct wg_rule *rs = arg;
    int x = *(const int *)a, y = *(const int *)b, d = strcmp(rs[x].name, rs[y].name);

    return d ? d : (x > y) - (x < y);
}

/* The first rule of rules[0..n) whose name an earlier one has, as the
 * text reads: its message, and -1; 0 when the names are distinct. */
static int rules_dup_check(struct rules_ctx *c, const struct wg_rule *rules, int n)
{
    int *ix, dup = -1, first = -1;

    if (n < 2)
        return 0;
    ix = malloc((size_t)n * sizeof *ix);
    if (!ix) {
        rules_err(LX, rules[0].line, rules[0].col, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        ix[i] = i;
    qsort_r(ix, (size_t)n, sizeof *ix, rules_by_name, (void *)rules);
    /* equal names sort by position: each run's head is the first use */
    for (int k = 1, head = ix[0]; k < n; k++) {
        if (strcmp(rules[ix[k]].name, rules[head].name) != 0)
            head = ix[k];
        else if (dup < 0 || ix[k] < dup)
            dup = ix[k], first = head;
    }
    free(ix);
    if (dup < 0)
        return 0;
    rules_err(LX, rules[dup].line, rules[dup].col, "duplicate rule name '%s' (first used at %d:%d)",
              rules[dup].name, rules[first].line, rules[first].col);
    return -1;
}

static void rules_free_rule(struct wg_rule *r)
{
    for (int i = 0; i < r->ncond; i++) {
        if (r->conds[i].cmp == WG_CMP_MATCH || r->conds[i].cmp == WG_CMP_NOMATCH)
            regfree(&r->conds[i].re);
        free(r->conds[i].text);
    }
    r->ncond = 0;
}

int rules_parse(const char *text, const char *origin, struct wg_ruleset *out, char *err,
                size_t errlen)
{
    struct rules_ctx *c = NULL;
    struct wg_rule *rules = NULL;
    int n = 0, cap = 0, rc = -1;

    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!text)
        text = "";
    c = calloc(1, sizeof *c);
    if (!c) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", origin ? origin : "rules");
        goto out;
    }
    c->lx.text = c->lx.p = text;
    c->lx.line = c->lx.col = 1;
    c->lx.origin = origin ? origin : "rules";
    c->lx.err = err;
    c->lx.errlen = errlen;

    for (;;) {
        int got;
        if (rules_next(&c->lx) < 0)
            goto out;
        if (n == cap) {
            int ncap = cap ? cap * 2 : 8;
            struct wg_rule *nr = realloc(rules, (size_t)ncap * sizeof *nr);
            if (!nr) {
                rules_err(&c->lx, c->lx.tok.line, c->lx.tok.col, "out of memory");
                goto out;
            }
            rules = nr;
            cap = ncap;
        }
        memset(c->hook_col, 0, sizeof c->hook_col);
        c->when_set = c->seen_where = 0;
        memset(c->freq_seen, 0, sizeof c->freq_seen);
        c->r = &rules[n];
        got = rules_one(c, n + 1);
        if (got < 0) {
            rules_free_rule(&rules[n]);
            /* a duplicate name earlier in the text is the first error */
            rules_dup_check(c, rules, n);
            goto out;
        }
        if (got > 0 && n == WG_MAX_RULES) {
            rules_free_rule(&rules[n]);
            if (rules_dup_check(c, rules, n) == 0)
                rules_err(&c->lx, rules[n].line, rules[n].col, "too many rules; at most %d",
                          WG_MAX_RULES);
            goto out;
        }
        if (got > 0) {
            rules[n].index = n;
            rules[n].src_len = (int)(c->lx.p - c->lx.text) - rules[n].src_off;
            out->hooks |= rules[n].hooks;
            n++;
        }
        /* current token is END: step over ';' / newline, stop at the end */
        if (*c->lx.p == '\0')
            break;
        rules_adv(&c->lx);
    }
    if (rules_dup_check(c, rules, n) < 0)
        goto out;
    if (n > 0) { /* an empty set holds no array */
        out->rules = rules;
        rules = NULL;
    }
    out->n = n;
    rc = 0;
out:
    if (rc < 0) {
        for (int i = 0; i < n; i++)
            rules_free_rule(&rules[i]);
        memset(out, 0, sizeof *out);
    }
    free(rules);
    free(c);
    return rc;
}

void rules_free(struct wg_ruleset *rs)
{
    if (!rs)
        return;
    for (int i = 0; i < rs->n; i++)
        rules_free_rule(&rs->rules[i]);
    free(rs->rules);
    rs->rules = NULL;
    rs->n = 0;
    rs->hooks = 0;
}

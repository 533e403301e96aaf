/*
 * scn_check.c - every ${...} a request will expand, expanded once with
 * stand-in values before anything runs (`wedge check`, and `wedge run`
 * before the load): an unknown variable, a variable of the environment
 * that is not set, a captured variable used before a request of its flow
 * captured it, a JSON value that is none once expanded.  A request whose
 * expansion fails at run time would be an `info` of the scenario's own
 * making; this makes it an error with FILE:LINE:COL instead.
 */
#include "scn.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stand-in of a captured variable: a JSON number, so that it also
 * reads as a JSON value in an expect. */
#define SCN_CHECK_VAR "1"

struct scn_chk {
    const struct scenario *s;
    struct exp_ctx e;
    const char **vals; /* [s->nvars]: the stand-in, or NULL when not captured yet */
    char *err;
    size_t errlen;
};

/* Expand tmpl (at line:col) with the stand-ins; json: it must then be a
 * JSON value.  0, or -1 with the message. */
static int scn_chk(struct scn_chk *c, const char *what, const char *tmpl, int line, int col,
                   int json)
{
    char msg[768], where[512];
    size_t at = 0;
    char *v;
    json_t *j;

    if (!tmpl)
        return 0;
    v = exp_expand_at(tmpl, &c->e, msg, sizeof(msg), &at);
    if (v && json) {
        json_error_t je;
        j = json_loads(v, JSON_DECODE_ANY, &je);
        if (!j)
            snprintf(msg, sizeof(msg), "%s '%s' is no JSON value once expanded ('%s'): %s", what,
                     tmpl, v, je.text);
        json_decref(j);
        at = 0;
        if (!j) {
            free(v);
            v = NULL;
        }
    }
    if (v) {
        free(v);
        return 0;
    }
    snprintf(c->err, c->errlen, "%s:%d: %s", scn_where(c->s, line, where, sizeof(where)),
             col + (int)at, msg);
    /* "--set X:COL:" reads badly: an override's message names it alone */
    if (line > c->s->nlines_file && line - c->s->nlines_file <= c->s->noverrides)
        snprintf(c->err, c->errlen, "%s: %s", where, msg);
    return -1;
}

static int scn_chk_headers(struct scn_chk *c, const struct scn_header *h, int n)
{
    for (int i = 0; i < n; i++)
        if (scn_chk(c, "header", h[i].text, h[i].line, h[i].col, 0) < 0)
            return -1;
    return 0;
}

static int scn_chk_request(struct scn_chk *c, const struct scn_request *r)
{
    if (r->kind == SCN_REQ_SQL)
        return scn_chk(c, "sql", r->sql, r->line, r->path_col, 0);
    if (scn_chk(c, "path", r->path, r->line, r->path_col, 0) < 0 ||
        scn_chk(c, "body", r->body, r->line, r->body_col, 0) < 0 ||
        scn_chk_headers(c, r->headers, r->nheaders) < 0)
        return -1;
    for (int i = 0; i < r->nexpects; i++) {
        const struct scn_expect *x = &r->expects[i];
        if (scn_chk(c, "value", x->value, x->line, x->value_col, x->kind == SCN_EXP_JSON) < 0)
            return -1;
    }
    return 0;
}

/* The mix's requests see no captured variable; a flow's step sees what
 * the steps before it captured. */
static int scn_chk_requests(struct scn_chk *c)
{
    const struct scenario *s = c->s;
    for (int i = 0; i < s->nrequests; i++) {
        const struct scn_request *r = &s->requests[i];
        for (int k = 0; k < s->nvars; k++)
            c->vals[k] = NULL;
        if (r->flow >= 0)
            for (int k = s->flows[r->flow].first; k < i; k++)
                for (int j = 0; j < s->requests[k].ncaptures; j++)
                    c->vals[s->requests[k].captures[j].var] = SCN_CHECK_VAR;
        if (scn_chk_request(c, r) < 0)
            return -1;
    }
    for (int k = 0; k < s->nvars; k++)
        c->vals[k] = NULL;
    for (int i = 0; i < s->nflows; i++)
        if (scn_chk_headers(c, s->flows[i].headers, s->flows[i].nheaders) < 0)
            return -1;
    if (scn_chk_headers(c, s->headers, s->nheaders) < 0)
        return -1;
    for (int i = 0; i < s->ninvariants; i++)
        if (s->invariants[i].kind == SCN_INV_HTTP && scn_chk_request(c, s->invariants[i].http) < 0)
            return -1;
    return 0;
}

int scn_check_requests(const struct scenario *s, const struct exp_standin *st, char *err,
                       size_t errlen)
{
    struct scn_chk c = {s, st->e, NULL, err, errlen};
    int rc;

    c.vals = calloc((size_t)s->nvars + 1, sizeof(*c.vals));
    if (!c.vals) {
        snprintf(err, errlen, "%s: out of memory", s->path);
        return -1;
    }
    c.e.user = 0; /* ${user} and ${iter} are a request's */
    c.e.iter = 0;
    c.e.var_names = (const char *const *)s->vars;
    c.e.var_values = c.vals;
    c.e.nvars = s->nvars;
    rc = s->target_is_url ? scn_chk(&c, "target", s->target, s->target_line, s->target_col, 0) : 0;
    if (rc == 0)
        rc = scn_chk_requests(&c);
    free(c.vals);
    return rc;
}

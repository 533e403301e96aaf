/*
 * reqflow.c - which request a virtual user sends next, and that request
 * built from its template (reqflow.h).  The response's side is
 * reqjudge.c.
 */
#include "reqflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------
 * The user and its place in the mix or in a flow.
 * ------------------------------------------------------------ */
int rf_user_init(struct rf_user *u, const struct scenario *s, uint64_t rng, long id)
{
    memset(u, 0, sizeof(*u));
    u->id = id;
    u->rng = rng;
    u->flow = -1;
    if (s->nvars && !(u->vals = calloc((size_t)s->nvars, sizeof(*u->vals))))
        return -1;
    return 0;
}

void rf_user_free(struct rf_user *u, const struct scenario *s)
{
    for (int i = 0; u->vals && i < s->nvars; i++)
        free(u->vals[i]);
    free(u->vals);
    u->vals = NULL;
}

int rf_in_flow(const struct rf_user *u)
{
    return u->flow >= 0;
}

/* The mix: request lines of [workload] and flows, each by its weight. */
static unsigned rf_wsum(const struct scenario *s)
{
    unsigned w = 0;
    for (int i = 0; i < s->nrequests; i++)
        w += s->requests[i].flow < 0 ? s->requests[i].weight : 0;
    for (int i = 0; i < s->nflows; i++)
        w += s->flows[i].weight;
    return w ? w : 1;
}

int rf_next(struct rf_user *u, const struct scenario *s)
{
    uint64_t x;
    if (u->flow >= 0)
        return s->flows[u->flow].first + u->step;
    u->iter++;
    x = exp_rng_next(&u->rng) % rf_wsum(s);
    for (int i = 0; i < s->nrequests; i++) {
        if (s->requests[i].flow >= 0)
            continue;
        if (x < s->requests[i].weight)
            return i;
        x -= s->requests[i].weight;
    }
    for (int i = 0; i < s->nflows; i++) {
        if (x < s->flows[i].weight) {
            u->flow = i;
            u->step = 0;
            return s->flows[i].first;
        }
        x -= s->flows[i].weight;
    }
    return s->nrequests - 1;
}

void rf_advance(struct rf_user *u, const struct scenario *s, enum rf_outcome o)
{
    if (u->flow < 0)
        return;
    if (o != RF_OK || ++u->step >= s->flows[u->flow].n)
        u->flow = -1, u->step = 0;
}

/* ---------------------------------------------------------------
 * Building a request.
 * ------------------------------------------------------------ */
struct exp_ctx rf_exp(const struct rf_ctx *c, struct rf_user *u)
{
    struct exp_ctx e = c->exp;
    e.user = u->id;
    e.iter = u->iter ? u->iter - 1 : 0;
    e.rng = &u->rng;
    e.var_names = (const char *const *)c->s->vars;
    e.var_values = (const char *const *)u->vals;
    e.nvars = u->vals ? c->s->nvars : 0;
    return e;
}

/* Does header h ("Name: v") have the name of header g? */
static int rf_same_name(const char *h, const char *g)
{
    size_t n = strcspn(h, ":");
    return strcspn(g, ":") == n && strncasecmp(h, g, n) == 0;
}

/* Append h unless a later source gives the same name (they come in
 * order: workload, flow, request; the last of a name wins). */
static int rf_add_header(struct rf_req *q, char *h)
{
    char **nh;
    for (int i = 0; i < q->nheaders; i++)
        if (rf_same_name(q->headers[i], h)) {
            free(q->headers[i]);
            q->headers[i] = h;
            return 0;
        }
    nh = realloc(q->headers, (size_t)(q->nheaders + 2) * sizeof(*nh));
    if (!nh) {
        free(h);
        return -1;
    }
    q->headers = nh;
    nh[q->nheaders++] = h;
    nh[q->nheaders] = NULL;
    return 0;
}

static int rf_headers(struct rf_req *q, const struct scn_header *hs, int n, const struct exp_ctx *e,
                      char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        char *h = exp_expand(hs[i].text, e, err, errlen);
        if (!h || rf_add_header(q, h) < 0) {
            if (h)
                snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* The URL: a full one as it is, a path after the target's base. */
static int rf_url(const struct rf_ctx *c, struct rf_req *q, const char *path, char *err,
                  size_t errlen)
{
    if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))
        q->url = strdup(path);
    else if (path[0] != '/') {
        snprintf(err, errlen, "expected a path starting with '/' or a URL, got '%s'", path);
        return -1;
    } else if (!c->base_url) {
        snprintf(err, errlen, "no target to send '%s' to", path);
        return -1;
    } else if (asprintf(&q->url, "%s%s", c->base_url, path) < 0)
        q->url = NULL;
    if (!q->url)
        snprintf(err, errlen, "out of memory");
    return q->url ? 0 : -1;
}

static int rf_wants(const struct scn_request *r, int body)
{
    for (int i = 0; i < r->nexpects; i++)
        if (r->expects[i].kind == (body ? SCN_EXP_JSON : SCN_EXP_HEADER))
            return 1;
    for (int i = 0; i < r->ncaptures; i++)
        if (r->captures[i].kind == (body ? SCN_CAP_JSON : SCN_CAP_HEADER))
            return 1;
    return 0;
}

int rf_build_req(const struct rf_ctx *c, struct rf_user *u, const struct scn_request *r,
                 struct rf_req *out, char *err, size_t errlen)
{
    struct exp_ctx e = rf_exp(c, u);
    char *path = NULL, *ct = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->method = r->method;
    out->want_body = rf_wants(r, 1);
    out->want_headers = rf_wants(r, 0);
    if (!(path = exp_expand(r->path, &e, err, errlen)) || rf_url(c, out, path, err, errlen) < 0)
        goto out;
    if (r->body && !(out->body = exp_expand(r->body, &e, err, errlen)))
        goto out;
    if (rf_headers(out, c->s->headers, c->s->nheaders, &e, err, errlen) < 0 ||
        (r->flow >= 0 && rf_headers(out, c->s->flows[r->flow].headers,
                                    c->s->flows[r->flow].nheaders, &e, err, errlen) < 0) ||
        rf_headers(out, r->headers, r->nheaders, &e, err, errlen) < 0)
        goto out;
    if (out->body) {
        out->body_len = strlen(out->body);
        ct = strdup(out->body[0] == '{' || out->body[0] == '[' ? "Content-Type: application/json"
                                                               : "Content-Type: text/plain");
        for (int i = 0; ct && i < out->nheaders; i++)
            if (rf_same_name(out->headers[i], ct))
                free(ct), ct = NULL, i = out->nheaders;
        if (ct && rf_add_header(out, ct) < 0)
            goto out;
    }
    rc = 0;
out:
    free(path);
    if (rc)
        rf_req_free(out);
    return rc;
}

int rf_build(const struct rf_ctx *c, struct rf_user *u, int k, struct rf_req *out, char *err,
             size_t errlen)
{
    return rf_build_req(c, u, &c->s->requests[k], out, err, errlen);
}

void rf_req_free(struct rf_req *q)
{
    for (int i = 0; i < q->nheaders; i++)
        free(q->headers[i]);
    free(q->headers);
    free(q->url);
    free(q->body);
    memset(q, 0, sizeof(*q));
}

char *rf_sql(const struct rf_ctx *c, struct rf_user *u, int k, char *err, size_t errlen)
{
    struct exp_ctx e = rf_exp(c, u);
    return exp_expand(c->s->requests[k].sql, &e, err, errlen);
}

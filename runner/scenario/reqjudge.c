/*
 * reqjudge.c - a response judged against its request (reqflow.h): status,
 * then the json and header expects, then the captures into the user's
 * variables.  The first check that does not hold gives the outcome and
 * the reason; a response that arrived but breaks an expect is `fail`,
 * unless its status says the outcome is unknown (5xx: `info`).
 */
#include "jsonpath.h"
#include "reqflow.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int rf_compare(double a, enum scn_op op, double b)
{
    switch (op) {
    case SCN_LT:
        return a < b;
    case SCN_LE:
        return a <= b;
    case SCN_EQ:
        return a == b;
    case SCN_NE:
        return a != b;
    case SCN_GE:
        return a >= b;
    case SCN_GT:
        return a > b;
    case SCN_EXISTS:
        return 1;
    }
    return 0;
}

static void rf_set(struct rf_result *out, enum rf_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rf_set(struct rf_result *out, enum rf_outcome o, const char *fmt, ...)
{
    va_list ap;
    out->outcome = o;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

void rf_fault(struct rf_result *out, const char *err)
{
    memset(out, 0, sizeof(*out));
    rf_set(out, RF_INFO, "%s", err);
    out->scenario_fault = 1;
}

/* ---------------------------------------------------------------
 * Status.
 * ------------------------------------------------------------ */
static int rf_status_in(const struct scn_expect *x, long status)
{
    for (int i = 0; i < x->nstatus; i++)
        if (status >= x->status_lo[i] && status <= x->status_hi[i])
            return 1;
    return 0;
}

/* 0 when the status is as expected (else out is set). */
static int rf_judge_status(const struct scn_request *r, long status, struct rf_result *out)
{
    int expected = 0;
    for (int i = 0; i < r->nexpects; i++) {
        const struct scn_expect *x = &r->expects[i];
        if (x->kind != SCN_EXP_STATUS)
            continue;
        expected = 1;
        if (!rf_status_in(x, status)) {
            rf_set(out, status >= 500 || status < 100 ? RF_INFO : RF_FAIL, "expect %s: got %ld",
                   x->text, status);
            return -1;
        }
    }
    if (expected || (status >= 200 && status < 300))
        return 0;
    rf_set(out, status >= 400 && status < 500 ? RF_FAIL : RF_INFO, "HTTP %ld", status);
    return -1;
}

/* ---------------------------------------------------------------
 * Values: json and header expects.
 * ------------------------------------------------------------ */
/* The value of header name in the block, trimmed, into buf; NULL when absent. */
static const char *rf_header(const struct rf_resp *resp, const char *name, char *buf, size_t len)
{
    const char *s = resp->headers, *end = s ? s + resp->headers_len : NULL;
    size_t n = strlen(name);
    while (s && s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s)), *v;
        size_t vl;
        if (!eol)
            eol = end;
        if ((size_t)(eol - s) > n && s[n] == ':' && strncasecmp(s, name, n) == 0) {
            for (v = s + n + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
                ;
            for (vl = (size_t)(eol - v); vl && (v[vl - 1] == '\r' || v[vl - 1] == ' ');)
                vl--;
            snprintf(buf, len, "%.*s", (int)vl, v);
            return buf;
        }
        s = eol + 1;
    }
    return NULL;
}

/* got OP want, both JSON: numbers by value, others equal or not. */
static int rf_json_cmp(const json_t *got, enum scn_op op, const json_t *want)
{
    if (json_is_number(got) && json_is_number(want))
        return rf_compare(json_number_value(got), op, json_number_value(want));
    if (op == SCN_EQ)
        return json_equal(got, want);
    if (op == SCN_NE)
        return !json_equal(got, want);
    return 0; /* an order between values that are not numbers */
}

static int rf_expect_json(const struct exp_ctx *e, const struct scn_expect *x, json_t *root,
                          struct rf_result *out, FILE *seen)
{
    json_t *got = root ? jp_get(root, x->path) : NULL, *want = NULL;
    char *want_text = NULL, *got_text = got ? jp_text(got) : NULL, err[256];
    int ok = 0;

    if (seen)
        fprintf(seen, "%s%s = %s", ftell(seen) ? ", " : "", x->path, got ? got_text : "absent");
    if (x->op == SCN_EXISTS) {
        ok = got != NULL;
    } else if (!(want_text = exp_expand(x->value, e, err, sizeof(err)))) {
        rf_fault(out, err);
        goto out;
    } else if (!(want = json_loads(want_text, JSON_DECODE_ANY, NULL))) {
        rf_fault(out, "expect: the value is no JSON value once expanded");
        snprintf(out->reason, sizeof(out->reason), "expect %s: '%s' is no JSON value", x->text,
                 want_text);
        goto out;
    } else {
        ok = got && rf_json_cmp(got, x->op, want);
    }
    if (!ok) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        rf_set(out, RF_FAIL, "expect %s: got %s", x->text, g ? g : "nothing (absent)");
        free(g);
    }
out:
    json_decref(want);
    free(want_text);
    free(got_text);
    return ok ? 0 : -1;
}

static int rf_expect_header(const struct exp_ctx *e, const struct scn_expect *x,
                            const struct rf_resp *resp, struct rf_result *out, FILE *seen)
{
    char buf[512], err[256], *want = NULL, *end1, *end2;
    const char *got = rf_header(resp, x->path, buf, sizeof(buf)), *w;
    int ok;

    if (seen)
        fprintf(seen, "%s%s: %s", ftell(seen) ? ", " : "", x->path, got ? got : "absent");
    if (x->op == SCN_EXISTS) {
        ok = got != NULL;
    } else if (!(want = exp_expand(x->value, e, err, sizeof(err)))) {
        rf_fault(out, err);
        return -1;
    } else {
        size_t n = strlen(want);
        w = want;
        if (n >= 2 && want[0] == '"' && want[n - 1] == '"') /* "text" is text */
            want[n - 1] = '\0', w = want + 1;
        double a = got ? strtod(got, &end1) : 0, b = strtod(w, &end2);
        if (got && *got && *w && !*end1 && !*end2)
            ok = rf_compare(a, x->op, b);
        else
            ok = got &&
                 ((x->op == SCN_EQ && !strcmp(got, w)) || (x->op == SCN_NE && strcmp(got, w)));
    }
    if (!ok)
        rf_set(out, RF_FAIL, "expect %s: got %s", x->text, got ? got : "no such header");
    free(want);
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------
 * Captures.
 * ------------------------------------------------------------ */
static int rf_capture(const struct scenario *s, struct rf_user *u, const struct scn_capture *c,
                      json_t *root, const struct rf_resp *resp, struct rf_result *out)
{
    char buf[512], *v = NULL;
    if (c->kind == SCN_CAP_JSON) {
        json_t *got = root ? jp_get(root, c->path) : NULL;
        v = got ? jp_text(got) : NULL;
    } else if (rf_header(resp, c->path, buf, sizeof(buf))) {
        v = strdup(buf);
    }
    if (!v) {
        rf_set(out, RF_FAIL, "capture %s: %s%s not in the response", s->vars[c->var],
               c->kind == SCN_CAP_HEADER ? "header " : "", c->path);
        return -1;
    }
    if (u->vals) {
        free(u->vals[c->var]);
        u->vals[c->var] = v;
    } else {
        free(v);
    }
    return 0;
}

/* ---------------------------------------------------------------
 * The whole judgement.
 * ------------------------------------------------------------ */
static int rf_needs_json(const struct scn_request *r)
{
    for (int i = 0; i < r->nexpects; i++)
        if (r->expects[i].kind == SCN_EXP_JSON)
            return 1;
    for (int i = 0; i < r->ncaptures; i++)
        if (r->captures[i].kind == SCN_CAP_JSON)
            return 1;
    return 0;
}

/* The body as JSON, when the request reads it: 0, or -1 with out set. */
static int rf_body_json(const struct scn_request *r, const struct rf_resp *resp, json_t **root,
                        struct rf_result *out)
{
    json_error_t je;
    *root = NULL;
    if (!rf_needs_json(r))
        return 0;
    *root = resp->body ? json_loadb(resp->body, resp->body_len, JSON_DECODE_ANY, &je) : NULL;
    if (*root)
        return 0;
    rf_set(out, RF_FAIL, "the response is not JSON (%s): %.60s", resp->body ? je.text : "no body",
           resp->body ? resp->body : "");
    return -1;
}

void rf_judge_req(const struct rf_ctx *c, struct rf_user *u, const struct scn_request *r,
                  const struct rf_resp *resp, struct rf_result *out, FILE *seen)
{
    struct exp_ctx e = rf_exp(c, u);
    json_t *root = NULL;

    memset(out, 0, sizeof(*out));
    if (resp->error) {
        rf_set(out, RF_INFO, "%s", resp->error);
        return;
    }
    if (rf_judge_status(r, resp->status, out) < 0 || rf_body_json(r, resp, &root, out) < 0)
        goto out;
    for (int i = 0; i < r->nexpects; i++) {
        const struct scn_expect *x = &r->expects[i];
        if ((x->kind == SCN_EXP_JSON && rf_expect_json(&e, x, root, out, seen) < 0) ||
            (x->kind == SCN_EXP_HEADER && rf_expect_header(&e, x, resp, out, seen) < 0))
            goto out;
    }
    for (int i = 0; i < r->ncaptures; i++)
        if (rf_capture(c->s, u, &r->captures[i], root, resp, out) < 0)
            goto out;
    out->outcome = RF_OK;
out:
    json_decref(root);
}

void rf_judge(const struct rf_ctx *c, struct rf_user *u, int k, const struct rf_resp *resp,
              struct rf_result *out, FILE *seen)
{
    rf_judge_req(c, u, &c->s->requests[k], resp, out, seen);
}

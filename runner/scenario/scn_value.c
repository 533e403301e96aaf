/*
 * scn_value.c - values of a scenario file: durations (common/duration.c), the
 * workload's requests and the invariants (SQL, and history checks with
 * their small grammar).  Errors go through scn_error with file:line:col.
 */
#include "scn.h"
#include "scn_int.h"
#include "scn_limit.h"

#include "duration.h"

#include <errno.h>
#include <inttypes.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * Requests and history invariants.
 * ------------------------------------------------------------ */
static const char *const scn_methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                          "PATCH", "DELETE", "OPTIONS", NULL};

/* Take a leading "WEIGHT " off *v; 1 when there is none. */
static int scn_weight(struct scn_parse *p, const char **v, unsigned *weight)
{
    const char *s = *v, *e = s;
    uint64_t w;
    char tok[32];
    *weight = 1;
    if (!(*s >= '0' && *s <= '9'))
        return 0;
    while (*e && !scn_is_space(*e))
        e++;
    snprintf(tok, sizeof(tok), "%.*s", (int)(e - s), s);
    if (scn_parse_u64(tok, &w) || w < scn_limits[SCN_LIM_WEIGHT].min ||
        w > scn_limits[SCN_LIM_WEIGHT].max) {
        scn_error(p, p->cur_line,
                  "bad weight '%s': expected a whole number from %" PRIu64 " to %" PRIu64, tok,
                  scn_limits[SCN_LIM_WEIGHT].min, scn_limits[SCN_LIM_WEIGHT].max);
        return -1;
    }
    while (scn_is_space(*e))
        e++;
    *weight = (unsigned)w;
    *v = e;
    return 0;
}

static struct scn_request *scn_new_request(struct scn_parse *p)
{
    struct scenario *s = p->s;
    struct scn_request *nr = realloc(s->requests, (size_t)(s->nrequests + 1) * sizeof(*nr));
    if (!nr) {
        p->oom = 1;
        return NULL;
    }
    s->requests = nr;
    memset(&nr[s->nrequests], 0, sizeof(*nr));
    nr[s->nrequests].line = p->cur_line;
    nr[s->nrequests].flow = -1;
    return &nr[s->nrequests++];
}

/* Where a request goes: a path on the target, a full URL, or a ${...}
 * that expands to either (checked when it is expanded). */
static int scn_is_target(const char *path)
{
    return path[0] == '/' || !strncmp(path, "http://", 7) || !strncmp(path, "https://", 8) ||
           !strncmp(path, "${", 2);
}

const char *scn_url_userinfo(const char *url)
{
    const char *a = strstr(url, "://");
    if (!a || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return NULL;
    for (a += 3; *a && *a != '/' && *a != '?' && *a != '#' && !scn_is_space(*a); a++)
        if (*a == '@')
            return a;
    return NULL;
}

int scn_request_parse(struct scn_parse *p, const char *v, size_t off, struct scn_request *r)
{
    const char *m = v, *me, *path, *pe;
    int known = 0;
    char method[16];

    for (me = m; *me && !scn_is_space(*me); me++)
        ;
    snprintf(method, sizeof(method), "%.*s", (int)(me - m), m);
    for (int i = 0; scn_methods[i]; i++)
        known |= (size_t)(me - m) == strlen(scn_methods[i]) && strcmp(method, scn_methods[i]) == 0;
    if (!known) {
        scn_error_at(p, off,
                     "expected [WEIGHT] METHOD PATH [BODY] with METHOD one of GET, HEAD, POST, "
                     "PUT, PATCH, DELETE, OPTIONS (got '%.*s')",
                     (int)(me - m), m);
        return -1;
    }
    for (path = me; scn_is_space(*path); path++)
        ;
    if (!scn_is_target(path)) {
        scn_error_at(p, off + (size_t)(path - v),
                     "expected a PATH starting with '/' or a URL (http://HOST:PORT/PATH) after "
                     "'%s'",
                     method);
        return -1;
    }
    if (scn_url_userinfo(path)) {
        scn_error_at(p, off + (size_t)(scn_url_userinfo(path) - v), SCN_USERINFO_MSG);
        return -1;
    }
    for (pe = path; *pe && !scn_is_space(*pe); pe++)
        ;
    r->kind = SCN_REQ_HTTP;
    r->method = scn_strdup(p, method);
    r->path = strndup(path, (size_t)(pe - path));
    r->path_col = scn_col(p, off + (size_t)(path - v));
    while (scn_is_space(*pe))
        pe++;
    r->body = *pe ? scn_strdup(p, pe) : NULL;
    r->body_col = scn_col(p, off + (size_t)(pe - v));
    if (asprintf(&r->label, "%s %s", method, r->path ? r->path : "") < 0)
        r->label = NULL;
    if (!r->path || !r->label)
        p->oom = 1;
    return 0;
}

void scn_http_request(struct scn_parse *p, const char *v)
{
    const char *v0 = v;
    struct scn_request tmp = {0}, *r;
    unsigned weight;

    if (scn_weight(p, &v, &weight))
        return;
    tmp.line = p->cur_line;
    if (scn_request_parse(p, v, (size_t)(v - v0), &tmp) < 0) {
        scn_request_free(&tmp);
        return;
    }
    r = scn_new_request(p);
    if (!r) {
        scn_request_free(&tmp);
        return;
    }
    tmp.weight = weight;
    tmp.flow = -1;
    *r = tmp;
}

void scn_request_free(struct scn_request *r)
{
    free(r->method), free(r->path), free(r->body), free(r->sql), free(r->label);
    for (int i = 0; i < r->nheaders; i++)
        free(r->headers[i].text);
    free(r->headers);
    for (int i = 0; i < r->nexpects; i++)
        free(r->expects[i].path), free(r->expects[i].value), free(r->expects[i].text);
    free(r->expects);
    for (int i = 0; i < r->ncaptures; i++)
        free(r->captures[i].path);
    free(r->captures);
    memset(r, 0, sizeof(*r));
}

void scn_sql_request(struct scn_parse *p, const char *v)
{
    const char *v0 = v;
    struct scn_request *r;
    unsigned weight;
    if (scn_weight(p, &v, &weight))
        return;
    if (!*v) {
        scn_error(p, p->cur_line, "expected [WEIGHT] STATEMENT[; STATEMENT...] after 'sql ='");
        return;
    }
    r = scn_new_request(p);
    if (!r)
        return;
    r->kind = SCN_REQ_SQL;
    r->weight = weight;
    r->sql = scn_strdup(p, v);
    r->path_col = scn_col(p, (size_t)(v - v0));
    if (asprintf(&r->label, "sql:%.40s", v) < 0) {
        r->label = NULL;
        p->oom = 1;
    }
}

struct scn_tok {
    const char *s;
    size_t n;
};

/* Next token of a history invariant: an operator, or a run up to a
 * space or an operator character. */
static struct scn_tok scn_lex(const char **pos)
{
    const char *s = *pos;
    struct scn_tok t;
    while (scn_is_space(*s))
        s++;
    t.s = s;
    if (strchr("<>=!", *s) && *s) {
        s += (s[1] == '=') ? 2 : 1;
    } else {
        while (*s && !scn_is_space(*s) && !strchr("<>=!", *s))
            s++;
    }
    t.n = (size_t)(s - t.s);
    *pos = s;
    return t;
}

static int scn_tok_is(struct scn_tok t, const char *w)
{
    return t.n == strlen(w) && strncmp(t.s, w, t.n) == 0;
}

static int scn_is_method(struct scn_tok t)
{
    if (!t.n)
        return 0;
    for (size_t i = 0; i < t.n; i++)
        if (!(t.s[i] >= 'A' && t.s[i] <= 'Z'))
            return 0;
    return 1;
}

void scn_history(struct scn_parse *p, struct scn_invariant *inv, const char *value)
{
    static const char *const outcomes[] = {"ok", "fail", "info", "all"};
    static const char *const ops[] = {"<", "<=", "==", "!=", ">=", ">"};
    const char *pos = value + strlen("history:");
    struct scn_tok t = scn_lex(&pos);
    int found = -1;
    char num[64];
    char *end;

    inv->kind = SCN_INV_HISTORY;
    for (int i = 0; i < 4; i++)
        if (scn_tok_is(t, outcomes[i]))
            found = i;
    if (found < 0) {
        if (t.n)
            scn_error_at(p, (size_t)(t.s - value), "expected ok, fail, info or all (got '%.*s')",
                         (int)t.n, t.s);
        else
            scn_error_at(p, (size_t)(t.s - value),
                         "expected ok, fail, info or all after 'history:'");
        return;
    }
    inv->outcome = (enum scn_outcome)found;
    t = scn_lex(&pos);
    if (scn_is_method(t)) {
        inv->method = strndup(t.s, t.n);
        t = scn_lex(&pos);
    }
    if (t.n && t.s[0] == '/') {
        inv->path = strndup(t.s, t.n);
        t = scn_lex(&pos);
    }
    found = -1;
    for (int i = 0; i < 6; i++)
        if (scn_tok_is(t, ops[i]))
            found = i;
    if (found < 0) {
        scn_error_at(p, (size_t)(t.s - value),
                     "expected %san operator (< <= == != >= >), got '%.*s'%s",
                     inv->path     ? ""
                     : inv->method ? "a PATH or "
                                   : "METHOD, PATH or ",
                     (int)t.n, t.s, scn_tok_is(t, "=") ? " (did you mean '=='?)" : "");
        return;
    }
    inv->op = (enum scn_op)found;
    t = scn_lex(&pos);
    snprintf(num, sizeof(num), "%.*s", (int)t.n, t.s);
    errno = 0;
    inv->number = strtod(num, &end);
    if (!t.n || *end || errno || !isfinite(inv->number)) {
        scn_error_at(p, (size_t)(t.s - value), "expected a number after '%s', got '%s'", ops[found],
                     num);
        return;
    }
    t = scn_lex(&pos);
    if (t.n)
        scn_error_at(p, (size_t)(t.s - value), "unexpected '%.*s' after the number", (int)t.n, t.s);
}

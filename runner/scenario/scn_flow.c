/*
 * scn_flow.c - the requests of [workload] and of [flow NAME] sections:
 * where each request, header, expect and capture line belongs, and the
 * checks over the whole file that concern requests (flows that send
 * nothing, where HTTP requests go, what thresholds are about).
 *
 * A line's place gives it its meaning: a `header` before a section's
 * first request is every request's of that section (the workload's also
 * reach the flows); after a request, and so are `expect` and `capture`,
 * it belongs to the request above it.
 */
#include "scn.h"
#include "scn_int.h"
#include "scn_limit.h"

#include "suggest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The current section's last request, or NULL before its first. */
static struct scn_request *scn_last_request(struct scn_parse *p)
{
    if (p->last_req < 0 || p->last_req_sec != p->cur_sec)
        return NULL;
    return &p->s->requests[p->last_req];
}

static void scn_add_request(struct scn_parse *p, struct scn_sec *sec, const char *name,
                            const char *v)
{
    struct scenario *s = p->s;
    int before = s->nrequests, in_flow = sec->kind == SEC_FLOW;

    if (in_flow && name[0] == 's') {
        scn_error(p, p->cur_line, "a [flow] sends HTTP requests: 'sql' lines belong in [workload]");
        return;
    }
    if (in_flow && v[0] >= '0' && v[0] <= '9') {
        scn_error(p, p->cur_line,
                  "a flow's requests run in order, so they take no weight (give the flow one: "
                  "weight = N)");
        return;
    }
    if (name[0] == 'r')
        scn_http_request(p, v);
    else
        scn_sql_request(p, v);
    if (s->nrequests == before)
        return;
    p->last_req = before;
    p->last_req_sec = p->cur_sec;
    if (in_flow) {
        struct scn_flow *f = &s->flows[sec->index];
        s->requests[before].flow = sec->index;
        if (f->first < 0)
            f->first = before;
        f->n++;
    }
}

void scn_request_key(struct scn_parse *p, const char *name, const char *v)
{
    struct scn_sec *sec = &p->secs[p->cur_sec];
    struct scn_request *last = scn_last_request(p);

    if (!strcmp(name, "request") || !strcmp(name, "sql")) {
        scn_add_request(p, sec, name, v);
    } else if (!strcmp(name, "header")) {
        if (last)
            scn_header_add(p, &last->headers, &last->nheaders, v, 0);
        else if (sec->kind == SEC_FLOW)
            scn_header_add(p, &p->s->flows[sec->index].headers, &p->s->flows[sec->index].nheaders,
                           v, 0);
        else
            scn_header_add(p, &p->s->headers, &p->s->nheaders, v, 0);
    } else if (!last) {
        scn_error(p, p->cur_line,
                  "'%s' belongs to a request: put it after the 'request =' line whose response it "
                  "%s",
                  name, name[0] == 'e' ? "checks" : "reads");
    } else if (last->kind == SCN_REQ_SQL) {
        scn_error(p, p->cur_line, "'%s' reads HTTP responses: the request above is 'sql ='", name);
    } else if (!strcmp(name, "expect")) {
        scn_expect_add(p, last, v, 0);
    } else {
        scn_capture_add(p, last, v);
    }
}

void scn_key_flow(struct scn_parse *p, struct scn_sec *sec, const char *name, const char *v)
{
    uint64_t w;
    char msg[256];
    if (strcmp(name, "weight") != 0) {
        scn_request_key(p, name, v);
        return;
    }
    if (scn_limit_parse(SCN_LIM_WEIGHT, v, &w, msg, sizeof(msg)) != 0)
        scn_error(p, p->cur_line,
                  "bad weight '%s': expected a whole number from %" PRIu64 " to %" PRIu64, v,
                  scn_limits[SCN_LIM_WEIGHT].min, scn_limits[SCN_LIM_WEIGHT].max);
    else
        p->s->flows[sec->index].weight = (unsigned)w;
}

/* ---------------------------------------------------------------
 * Checks over the whole file.
 * ------------------------------------------------------------ */
static int scn_is_url(const char *t)
{
    return !strncmp(t, "http://", 7) || !strncmp(t, "https://", 8) || !strncmp(t, "${", 2);
}

/* target = a service, or a URL of a service wedge did not start. */
static void scn_finish_target(struct scn_parse *p)
{
    struct scenario *s = p->s;
    const char *host;
    if (!s->target) { /* the first [service]: a [proxy] is not a target by default */
        for (int i = 0; i < s->nservices && !s->target; i++)
            if (!s->services[i].is_proxy)
                s->target = scn_strdup(p, s->services[i].name);
        return;
    }
    if (scn_is_url(s->target)) {
        s->target_is_url = 1;
        host = strstr(s->target, "://");
        if (host && (!host[3] || host[3] == '/' || host[3] == ':'))
            scn_error(p, p->target_line, "expected target = http://HOST[:PORT] (got '%s')",
                      s->target);
        else if (scn_url_userinfo(s->target))
            scn_error(p, p->target_line, "target: " SCN_USERINFO_MSG);
        return;
    }
    for (int i = 0; i < s->nservices; i++)
        if (strcmp(s->services[i].name, s->target) == 0)
            return;
    scn_error(p, p->target_line,
              "target '%s' is not a [service NAME] of this scenario (or a URL: "
              "target = http://HOST:PORT)",
              s->target);
}

/* A request with a path (not a URL) needs somewhere to go. */
static void scn_finish_paths(struct scn_parse *p)
{
    struct scenario *s = p->s;
    if (s->target)
        return;
    for (int i = 0; i < s->nrequests; i++)
        if (s->requests[i].kind == SCN_REQ_HTTP && s->requests[i].path[0] == '/') {
            scn_error(p, s->requests[i].line,
                      "an HTTP request needs a [service NAME] or target = http://HOST:PORT to "
                      "send it to (or a full URL)");
            return;
        }
    for (int i = 0; i < s->ninvariants; i++)
        if (s->invariants[i].kind == SCN_INV_HTTP && s->invariants[i].http->path[0] == '/') {
            scn_error(p, s->invariants[i].line,
                      "an HTTP invariant needs a [service NAME] or target = http://HOST:PORT to "
                      "send it to (or a full URL)");
            return;
        }
}

/* of "LABEL" names the requests with that label. */
static void scn_finish_labels(struct scn_parse *p)
{
    struct scenario *s = p->s;
    const char *labels[SCN_MAX_REQUESTS + 1] = {0};
    char hint[256];
    int n = s->nrequests < SCN_MAX_REQUESTS ? s->nrequests : SCN_MAX_REQUESTS;

    for (int i = 0; i < n; i++)
        labels[i] = s->requests[i].label;
    for (int i = 0; i < s->ninvariants; i++) {
        const struct scn_invariant *v = &s->invariants[i];
        int found = 0;
        if (v->kind != SCN_INV_THRESHOLD)
            continue;
        if (!s->nrequests) {
            scn_error(p, v->line, "threshold '%s' needs requests: the workload sends none",
                      v->name);
            continue;
        }
        for (int k = 0; v->label && k < s->nrequests; k++)
            found |= !strcmp(s->requests[k].label, v->label);
        if (v->label && !found)
            scn_error(
                p, v->line,
                "no request is labelled \"%s\"%s (a label is METHOD PATH as "
                "written, or sql: and its first 40 characters)",
                v->label,
                suggest_hint(v->label, strlen(v->label), labels, (size_t)n, hint, sizeof(hint)));
    }
}

void scn_finish_requests(struct scn_parse *p)
{
    struct scenario *s = p->s;
    for (int i = 0; i < s->nflows; i++)
        if (s->flows[i].n == 0)
            scn_error(p, s->flows[i].line, "[flow %s] needs 'request = ...' lines",
                      s->flows[i].name);
    scn_finish_target(p);
    scn_finish_paths(p);
    scn_finish_labels(p);
}

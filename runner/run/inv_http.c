/*
 * inv_http.c - HTTP invariants: a request sent once the load (and its
 * jobs) are over but before the services stop, its response judged by
 * the same expects as a workload request (reqflow.h), and reported with
 * the values it read ("status 200, $.sold = 19").
 */
#include "httpc.h"
#include "inv.h"
#include "reqflow.h"
#include "timeunit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One invariant's request, sent and judged into r. */
static void inv_http_one(const struct rf_ctx *c, struct httpc *h, const struct scn_invariant *inv,
                         struct inv_result *r)
{
    struct rf_user u = {.id = -1, .flow = -1}; /* no ${user}, no captures */
    struct rf_req q;
    struct rf_resp resp;
    struct rf_result res;
    char err[512], *seen = NULL;
    size_t seen_len = 0;
    FILE *f;
    int ours = 0;

    r->expected = strdup(inv->text + strlen("http:") + strspn(inv->text + 5, " \t"));
    r->measured = 1;
    if (rf_build_req(c, &u, inv->http, &q, err, sizeof(err)) < 0) {
        r->status = INV_ERROR;
        r->actual = strdup("error");
        r->detail = strdup(err);
        return;
    }
    if (httpc_do(h, &q, &resp, &ours) < 0) {
        r->status = INV_ERROR;
        r->actual = strdup("no response");
        r->detail = strdup(resp.error);
        rf_req_free(&q);
        return;
    }
    f = open_memstream(&seen, &seen_len);
    if (f)
        fprintf(f, "status %ld", resp.status);
    rf_judge_req(c, &u, inv->http, &resp, &res, f);
    if (f)
        fclose(f);
    r->status = res.outcome == RF_OK ? INV_PASSED : res.scenario_fault ? INV_ERROR : INV_FAILED;
    r->actual = seen ? seen : strdup("?");
    r->detail = res.outcome == RF_OK ? NULL : strdup(res.reason);
    rf_req_free(&q);
}

void inv_http_eval(const struct scenario *s, const struct rf_ctx *c, struct inv_result *results)
{
    struct httpc h;
    int ready = 0;

    for (int i = 0; i < s->ninvariants; i++) {
        const struct scn_invariant *inv = &s->invariants[i];
        if (inv->kind != SCN_INV_HTTP)
            continue;
        if (!ready && httpc_init(&h, (long)(s->request_timeout_ns / NS_PER_MS)) < 0) {
            results[i].status = INV_ERROR;
            results[i].actual = strdup("error");
            results[i].detail = strdup("curl_easy_init failed");
            continue;
        }
        ready = 1;
        inv_http_one(c, &h, inv, &results[i]);
    }
    if (ready)
        httpc_free(&h);
}

/*
 * inv_thresh.c - thresholds as invariants: latency, failed, throughput and
 * retries of the whole load or of the requests with one label, measured
 * from the load's totals (the merged HDR histograms and the counts) and
 * reported like any invariant, with the value measured.
 */
#include "inv.h"
#include "reqflow.h"
#include "timeunit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The figures a threshold reads: the whole load, or one label's requests. */
struct inv_fig {
    uint64_t requests, ok, fail, info, retries;
    struct hist *lat; /* owned when own */
    int own;
};

static int inv_fig_of(const struct load_totals *t, const char *label, struct inv_fig *f)
{
    memset(f, 0, sizeof(*f));
    if (!label) {
        f->requests = t->requests, f->ok = t->ok, f->fail = t->fail, f->info = t->info;
        f->retries = t->retries;
        f->lat = t->latency;
        return f->lat ? 0 : -1;
    }
    if (!(f->lat = hist_new()))
        return -1;
    f->own = 1;
    for (int i = 0; i < t->nper_req; i++) {
        const struct req_stats *q = &t->per_req[i];
        if (!q->label || strcmp(q->label, label) != 0)
            continue;
        f->ok += q->ok, f->fail += q->fail, f->info += q->info, f->retries += q->retries;
        if (q->latency)
            hist_merge(f->lat, q->latency);
    }
    f->requests = f->ok + f->fail + f->info;
    return 0;
}

/* "12.3ms", "1.20s", "850us": a latency for people. */
static void inv_fmt_ns(double ns, char *buf, size_t len)
{
    if (ns >= (double)NS_PER_S)
        snprintf(buf, len, "%.3gs", ns / (double)NS_PER_S);
    else if (ns >= (double)NS_PER_MS)
        snprintf(buf, len, "%.3gms", ns / (double)NS_PER_MS);
    else
        snprintf(buf, len, "%.3gus", ns / 1000.0);
}

static const char *inv_stat_name(double pct, char *buf, size_t len)
{
    if (pct == 0)
        return "mean";
    if (pct == 100)
        return "max";
    snprintf(buf, len, "p%g", pct);
    return buf;
}

/* The measured value and its text; -1 when there is nothing to measure. */
static int inv_measure(const struct scn_invariant *inv, const struct inv_fig *f, double dur_s,
                       double *v, char *actual, size_t len)
{
    char a[32], b[32];
    uint64_t part = inv->metric == SCN_M_RETRIES ? f->retries : f->fail + f->info;

    if (inv->metric == SCN_M_THROUGHPUT) {
        if (dur_s <= 0)
            return -1;
        *v = (double)f->requests / dur_s;
        snprintf(actual, len, "%.1f/s (%llu requests in %.1fs)", *v,
                 (unsigned long long)f->requests, dur_s);
        return 0;
    }
    if (!f->requests)
        return -1;
    if (inv->metric == SCN_M_LATENCY) {
        *v = inv->pct == 0 ? hist_mean(f->lat) : (double)hist_percentile(f->lat, inv->pct);
        inv_fmt_ns(*v, a, sizeof(a));
        snprintf(actual, len, "%s = %s (%llu requests)", inv_stat_name(inv->pct, b, sizeof(b)), a,
                 (unsigned long long)hist_count(f->lat));
        return 0;
    }
    *v = inv->percent ? (double)part / (double)f->requests : (double)part;
    snprintf(actual, len, "%.2f%% (%llu of %llu requests%s)",
             100.0 * (double)part / (double)f->requests, (unsigned long long)part,
             (unsigned long long)f->requests,
             inv->metric == SCN_M_RETRIES ? ": retries" : " not ok");
    return 0;
}

void inv_threshold(const struct scn_invariant *inv, const struct load_totals *t,
                   struct inv_result *r)
{
    struct inv_fig f;
    char actual[160];
    double v = 0;

    r->expected = strdup(inv->text);
    r->measured = 1;
    if (!t || inv_fig_of(t, inv->label, &f) < 0) {
        r->status = INV_ERROR;
        r->actual = strdup("error");
        r->detail = strdup("no load ran: there is nothing to measure");
        return;
    }
    if (inv_measure(inv, &f, t->duration_s, &v, actual, sizeof(actual)) < 0) {
        r->status = INV_ERROR;
        r->actual = strdup("no requests");
        r->detail = strdup(inv->label ? "no request with that label was sent"
                                      : "no request was sent: there is nothing to measure");
    } else {
        r->status = rf_compare(v, inv->op, inv->number) ? INV_PASSED : INV_FAILED;
        r->actual = strdup(actual);
    }
    if (f.own)
        hist_free(f.lat);
}

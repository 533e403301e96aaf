/*
 * verdict.c - from what happened in a run to its exit code (verdict.h).
 * Kept apart from run.c, whose clean-up it used to sit inside, so that
 * every rule of the verdict has its own test.
 */
#include "verdict.h"

#include "wedge_exit.h"

#include <stdio.h>

struct run_verdict run_verdict(const struct run_facts *f)
{
    struct run_verdict v = {WEDGE_PASS, "every invariant held"};

    for (int i = 0; i < f->ninv; i++) {
        if (f->inv[i].status == INV_FAILED) {
            v = (struct run_verdict){WEDGE_VIOLATED, "an invariant was violated"};
        } else if (f->inv[i].status == INV_ERROR && v.code == WEDGE_PASS) {
            v = (struct run_verdict){WEDGE_INCONCLUSIVE, "an invariant could not be evaluated"};
        }
    }
    /* Interrupted: what was checked is reported, but only a failure seen
     * before the signal (a service that died) is a verdict. */
    if (f->interrupted && !f->died_early)
        v = (struct run_verdict){WEDGE_INCONCLUSIVE, "the run was interrupted"};
    if (v.code != WEDGE_VIOLATED && f->has_error) {
        v.code = f->error_code ? f->error_code : WEDGE_INCONCLUSIVE;
        v.reason = v.code == WEDGE_USAGE ? "the scenario or its set-up is at fault"
                                         : "the run could not complete";
    }
    if (f->shim_fatal)
        v = (struct run_verdict){WEDGE_INCONCLUSIVE, "the shim stopped a process"};
    return v;
}

int run_verdict_combine(int acc, int code)
{
    if (code == WEDGE_VIOLATED || (code > acc && acc != WEDGE_VIOLATED))
        return code;
    return acc;
}

/* The request class with the most requests that were not ok, for the
 * reason's example; NULL when there is none. */
static const struct req_stats *run_worst_class(const struct load_totals *t)
{
    const struct req_stats *w = NULL;
    for (int i = 0; i < t->nper_req; i++) {
        const struct req_stats *q = &t->per_req[i];
        if (q->fail + q->info > 0 && (!w || q->fail + q->info > w->fail + w->info))
            w = q;
    }
    return w;
}

int run_load_unusable(const struct load_totals *t, int nrequests, double max_info, char *why,
                      size_t len)
{
    const struct req_stats *w = run_worst_class(t);
    const char *first = w && w->first_error ? w->first_error : "";
    const char *label = w && w->label ? w->label : "";

    if (!nrequests)
        return 0;
    if (!t->requests) {
        snprintf(why, len, "no request was sent: the load did not happen");
        return 1;
    }
    if (t->scenario_info) {
        snprintf(why, len,
                 "%llu request(s) could not be sent by the scenario's own fault (first: %s on %s)",
                 (unsigned long long)t->scenario_info, first, label);
        return 1;
    }
    if (!t->ok) {
        snprintf(why, len, "no request succeeded: %llu of %llu failed (first: %s on %s)",
                 (unsigned long long)(t->fail + t->info), (unsigned long long)t->requests, first,
                 label);
        return 1;
    }
    if (max_info >= 0 && (double)t->info > max_info * (double)t->requests) {
        snprintf(why, len,
                 "%.1f%% of requests had no known outcome (info), above max_info = %g%% "
                 "(first: %s on %s)",
                 100.0 * (double)t->info / (double)t->requests, 100.0 * max_info, first, label);
        return 1;
    }
    return 0;
}

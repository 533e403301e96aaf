/*
 * inv.h - the scenario's invariants, evaluated after the load: SQL ones on
 * the database and history ones on history.jsonl (its format is in
 * report.h) in inv.c, thresholds on the load's totals in inv_thresh.c,
 * HTTP ones (sent while the services still run) in inv_http.c.
 */
#ifndef WEDGE_INV_H
#define WEDGE_INV_H

#include <stddef.h>

#include "load.h"
#include "reqflow.h"
#include "report.h"
#include "scn.h"

/* What the invariants are judged on. */
struct inv_inputs {
    const char *dsn;                  /* SQL ones; NULL: no database */
    const char *history_path;         /* history ones */
    const struct load_totals *totals; /* thresholds; NULL: no load ran */
    struct inv_result *http;          /* HTTP ones, already judged by
                                       * inv_http_eval ([ninvariants], their
                                       * entries moved from); NULL: none sent */
};

/*
 * Evaluate the scenario's invariants after the load.  Fills *out
 * (n = ninvariants), in the scenario's order.  An invariant that cannot
 * be evaluated gets INV_ERROR, not INV_FAILED.
 */
int inv_eval_all(const struct scenario *s, const struct inv_inputs *in, struct inv_result **out,
                 int *nout, char *err, size_t errlen);
void inv_results_free(struct inv_result *r, int n);

/* A threshold (SCN_INV_THRESHOLD) judged on the load's totals into r
 * (inv_thresh.c); t NULL: no load ran (INV_ERROR). */
void inv_threshold(const struct scn_invariant *inv, const struct load_totals *t,
                   struct inv_result *r);

/* Send every HTTP invariant of s now, while its services run, and judge
 * each into results[i] (the other entries untouched), with c's target and
 * the workload's headers (inv_http.c).  Not thread-safe. */
void inv_http_eval(const struct scenario *s, const struct rf_ctx *c, struct inv_result *results);

#endif

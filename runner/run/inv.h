/*
 * inv.h - the scenario's invariants, evaluated after the load (inv.c):
 * SQL ones on the database, history ones on history.jsonl (its format is
 * in report.h).
 */
#ifndef WEDGE_INV_H
#define WEDGE_INV_H

#include <stddef.h>

#include "report.h"
#include "scn.h"

/*
 * Evaluate the scenario's invariants after the load: SQL ones on
 * dsn, history ones on history.jsonl.  Fills *out (n = ninvariants).
 * An invariant that cannot be evaluated gets INV_ERROR, not INV_FAILED.
 */
int inv_eval_all(const struct scenario *s, const char *dsn, const char *history_path,
                 struct inv_result **out, int *nout, char *err, size_t errlen);
void inv_results_free(struct inv_result *r, int n);

#endif

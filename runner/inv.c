/*
 * inv.c - invariant evaluation (first compiling version).
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>

int inv_eval_all(const struct scenario *s, const char *dsn, const char *history_path,
                 struct inv_result **out, int *nout, char *err, size_t errlen)
{
    *out = NULL;
    *nout = 0;
    snprintf(err, errlen, "invariants are not evaluated yet");
    return -1;
}

void inv_results_free(struct inv_result *r, int n)
{
    for (int i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].expected);
        free(r[i].actual);
        free(r[i].detail);
    }
    free(r);
}

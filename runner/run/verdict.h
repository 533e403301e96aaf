/*
 * verdict.h - the exit code of a run, and of a set of runs, decided from
 * what happened (verdict.c).  Pure functions: no I/O, no allocation,
 * thread-safe; tests/unit/runner/test_verdict.c checks every rule.
 */
#ifndef WEDGE_VERDICT_H
#define WEDGE_VERDICT_H

#include <stddef.h>

#include "report.h"

/* What a run's verdict depends on. */
struct run_facts {
    const struct inv_result *inv; /* the invariants, built-in ones included */
    int ninv;
    int has_error;   /* something went wrong (a message was given) */
    int error_code;  /* the exit code that error asked for (0: none said) */
    int interrupted; /* a signal stopped the run */
    int died_early;  /* a service died before any signal */
    int shim_fatal;  /* the shim stopped a process itself */
};

struct run_verdict {
    int code;           /* enum wedge_exit */
    const char *reason; /* one phrase for messages ("an invariant was violated") */
};

/* The exit code of one run:
 *   - an invariant that failed: WEDGE_VIOLATED (a race was found), unless
 *     the run was interrupted before a service died, or the shim stopped a
 *     process (then the failure says nothing: WEDGE_INCONCLUSIVE);
 *   - else an error: its own code (WEDGE_USAGE for the scenario's fault),
 *     WEDGE_INCONCLUSIVE when it named none;
 *   - else an invariant that could not be evaluated, or an interrupt:
 *     WEDGE_INCONCLUSIVE;
 *   - else WEDGE_PASS. */
struct run_verdict run_verdict(const struct run_facts *f);

/* Whether a load that ran is evidence at all (issue 15: a CI gate must
 * not pass on a load that did not happen).  0 when it is; 1 with the
 * reason in why (the run's error: inconclusive, unless an invariant
 * broke) when
 *   - the scenario sends requests and none was ok (or none was sent);
 *   - a request failed by the scenario's own fault (t->scenario_info);
 *   - max_info >= 0 and more than that share of requests ended info.
 * nrequests: the scenario's request lines (0: a load of jobs only). */
int run_load_unusable(const struct load_totals *t, int nrequests, double max_info, char *why,
                      size_t len);

/* The exit code of a set of runs so far (acc, WEDGE_PASS at first) after
 * one more run ended with code: a violation wins over everything, else the
 * higher number (inconclusive 3 over usage 2 over pass 0). */
int run_verdict_combine(int acc, int code);

#endif

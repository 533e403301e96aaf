/*
 * verdict.c - from what happened in a run to its exit code (verdict.h).
 * Kept apart from run.c, whose clean-up it used to sit inside, so that
 * every rule of the verdict has its own test.
 */
#include "verdict.h"

#include "wedge_exit.h"

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

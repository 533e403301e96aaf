/*
 * run.h - one run of a scenario (run.c), for the command that repeats it
 * (cli/run_repeat.c): the options, the state of a set of repetitions, one
 * run, and the command that replays it.
 */
#ifndef WEDGE_RUN_H
#define WEDGE_RUN_H

#include <limits.h>
#include <stdint.h>

#include "pg.h"
#include "scn.h"
#include "timeunit.h"

#define RUN_READY_NS_DEFAULT (10 * NS_PER_S)
#define RUN_UNTIL_FAIL_MAX   10000u
#define RUN_MASKED_NOTE \
    "the password in --dsn is masked as ***: put it back, or drop it and set PGPASSWORD"

#define RUN_MAX_SETS      256 /* --set given at most */
#define RUN_MAX_SCENARIOS 256 /* scenario files in one wedge run */

struct run_opts {
    const char *path;                     /* the scenario of the runs in progress */
    const char *paths[RUN_MAX_SCENARIOS]; /* every scenario given */
    int npaths;
    const char *sets[RUN_MAX_SETS]; /* --set SECTION.KEY=VALUE, in order */
    int nsets;
    int json; /* --json: the summary.json document on stdout */
    uint64_t seed;
    int has_seed;
    unsigned repeat;
    int until_fail;
    const char *duration, *users, *rate, *iterations, *max_tries; /* as given */
    /* --rules TEXT / --no-rules: every process runs with rules (NULL: none)
     * instead of the scenario's own */
    int replace_rules;
    const char *rules;
    const char *dsn;
    const char *out;
    int quiet;
    uint64_t ready_ns;
};

/* What a run owns while it runs: released on every exit path. */
struct run_state {
    const struct run_opts *o;
    struct scenario *scn;
    struct pg_cluster cluster;
    const char *admin_dsn;
    char preload[3 * PATH_MAX];
    unsigned passed, failed; /* invariants, over every repetition */
};

/* One run of st->scn with seed into out_dir (index: 0-based repetition,
 * -1 when not repeating): database, services, load, invariants, report,
 * a verdict on stdout.  Adds its invariants to st->passed / st->failed.
 * Returns the run's exit code (0 / 1 / 2 / 3). */
int run_once(struct run_state *st, uint64_t seed, int index, const char *out_dir);
/* The command that replays a run with seed; malloc'd.  Its --dsn (when
 * the run had one) has the password masked as *** (see run_dsn_masked). */
char *run_reproduce(const struct run_opts *o, uint64_t seed);
/* 1 when o->dsn holds a password that run_reproduce masks (RUN_MASKED_NOTE
 * then goes with the command). */
int run_dsn_masked(const struct run_opts *o);

#endif

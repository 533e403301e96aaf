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
    /* --shard I/N (shard_count 0: the whole run): the I-th share of the
     * users against services and a database it does not start or prepare
     * (run_shard.c); wedge merge judges the shards together. */
    unsigned shard_index, shard_count;
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

/* The invariants' lines of a verdict on stdout ("  PASS  name", "  FAIL
 * name: expected E, got A"). */
struct inv_result;
void run_print_inv(const struct inv_result *inv, int n);

/* ---------------------------------------------------------------
 * wedge merge (run_merge.c): the shards of one run judged as one.
 * ------------------------------------------------------------ */
struct json_t;
struct merge_plan {
    const char *const *dirs; /* the shards' output directories */
    int n;
    struct json_t **shard; /* each one's shard.json */
    /* the run, from the shards (every one the same): its scenario, --set
     * lines and the values given on its command line */
    const char *scenario;
    const char **sets;
    int nsets;
    const char *given[5]; /* duration, users, rate, iterations, max_tries */
    uint64_t seed;
};
/* Read the shards' shard.json: one run's, each shard once, all of them.
 * 0, or -1 with the message in err. */
int run_merge_plan(const char *const *dirs, int n, struct merge_plan *pl, char *err, size_t len);
void run_merge_plan_free(struct merge_plan *pl);
/* Merge the shards into out (st->scn loaded as pl says; st->o->dsn the
 * shared database) and judge the whole once: the exit code. */
int run_merge(struct run_state *st, const struct merge_plan *pl, const char *out);

#endif

/*
 * run_int.h - what the files of one run share (internal to the run room):
 * the repetition's state and the calls between them.  The calls go one
 * way: run.c -> run_load.c, run_judge.c -> run_proc.c.
 *
 *   run.c        one repetition from start to verdict, the database
 *   run_proc.c   services and jobs, errors of the run
 *   run_load.c   the load phase and its time series
 *   run_judge.c  invariants (built-in ones too) and the lines on stdout
 *   run_shard.c  a shard of a run (--shard I/N) and its files for merge
 */
#ifndef WEDGE_RUN_INT_H
#define WEDGE_RUN_INT_H

#include <stdint.h>

#include "load.h"
#include "reqflow.h"
#include "report.h"
#include "run.h"
#include "scn.h"
#include "svc.h"
#include "timeunit.h"

#define RUN_TICK_NS (100 * NS_PER_MS)

/* One repetition. */
struct run_one {
    struct run_state *st;
    uint64_t seed;
    int index; /* 0-based; -1 when not repeating */
    char *out_dir;
    char dsn[1024];
    struct svc_proc *svcs;
    struct svc_proc *jobs;
    int *ports;
    struct load *load;
    struct run_result r;
    int interrupted, timed_out;
    int load_started;        /* invariants judge a run only once its load began */
    char *died;              /* "counter: killed by signal 9" lines */
    int died_early;          /* a service died before any interrupt */
    int shim_fatal;          /* the shim stopped a process itself: no verdict */
    struct inv_result *http; /* HTTP invariants, asked before the services
                              * stop ([ninvariants]); NULL: not asked */
};

/* run_proc.c */
/* Record the run's first error (and the exit code it asks for) and print
 * every one as "wedge: message". */
void run_err(struct run_one *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The services' context: scenario, shim, database, ports. */
void run_ctx(struct run_one *p, struct svc_ctx *ctx);
/* The requests' context (the load's and the HTTP invariants'): the
 * target's base URL into *url (malloc'd; NULL without one) and the run's
 * expansion context.  -1 after run_err when a target URL cannot expand. */
int run_req_ctx(struct run_one *p, const struct svc_ctx *ctx, struct rf_ctx *c, char **url);
/* Start every service and wait until it is ready; 0, or its error. */
int run_services(struct run_one *p, const struct svc_ctx *ctx);
uint64_t run_job_timeout(const struct run_one *p, int i);
/* Start the jobs of one phase; -1 after run_err. */
int run_jobs_start(struct run_one *p, const struct svc_ctx *ctx, enum scn_when when);
/* Wait (bounded) for the jobs of a phase; -1 after run_err. */
int run_jobs_wait(struct run_one *p, enum scn_when when);
/* A service that exited on its own: noted in p->died, the load stopped. */
void run_check_alive(struct run_one *p);
/* Stop jobs, then services in reverse order (bounded). */
void run_stop_all(struct run_one *p);

/* run_load.c: the load phase; -1 when it could not start (after run_err). */
int run_load(struct run_one *p, const struct svc_ctx *ctx, uint64_t run_deadline);

/* run_shard.c: a shard of a run (--shard I/N).  Its database (--dsn, as
 * it is) and target checked; -1 after run_err. */
int run_shard_setup(struct run_one *p);
/* The invariants its own share can judge: history ones and thresholds. */
void run_shard_judge(struct run_one *p);
/* shard.json and latency.hist for wedge merge. */
void run_shard_write(struct run_one *p);

/* run_judge.c */
/* Ask the HTTP invariants now, while the services run (into p->http). */
void run_http_invariants(struct run_one *p, const struct svc_ctx *ctx);
/* The scenario's invariants and the built-in ones into p->r. */
void run_invariants(struct run_one *p);
/* The verdict on stdout; adds the invariants to the repetitions' tally. */
void run_summary(struct run_one *p);

#endif

/*
 * load.h - virtual users firing the scenario's request mix, driven by a
 * few worker threads, each an event loop over many users (load_int.h has
 * the engine's parts; docs/performance.md its figures).
 *
 * Closed model (rate == 0): `users` users, each sends its next request
 * when the previous one has answered, after a think time if the scenario
 * sets one.  Open model (rate > 0): request k is due at start + k/rate; a
 * pool of `users` users takes them in order and latency counts from the
 * due time, so a stalled service shows as latency instead of hiding
 * behind fewer requests (coordinated omission).
 *
 * Both stop at the duration or the iteration count, whichever comes first
 * (at least one is set), or when load_stop is called.  An iteration is one
 * request of the mix, or one run of a [flow] (its requests in order, each
 * judged and captured by reqflow.h).  Each user draws from its own PRNG
 * seeded from the run seed and its number, so a seed replays the same
 * sequence of requests.  Every request appends an "invoke" and an outcome
 * line to history.jsonl (format in report.h).
 *
 * load_start / load_stop / load_join / load_collect / load_free are called
 * by one supervising thread; load_interval and load_done may be called by
 * it while the users run.
 */
#ifndef WEDGE_LOAD_H
#define WEDGE_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "reqflow.h"
#include "scn.h"

struct load_cfg {
    const struct scenario *scn; /* requests, max_tries, request timeout */
    const char *base_url;       /* "http://127.0.0.1:PORT" of the target; NULL: none */
    const char *dsn;            /* SQL requests */
    struct exp_ctx exp;         /* template; user, iter, rng are set per user */
    uint64_t seed;
    unsigned users;                    /* of the whole run: a shard runs its share */
    double rate;                       /* of the whole run */
    uint64_t duration_ns, iterations;  /* iterations: of the whole run */
    uint64_t think_lo_ns, think_hi_ns; /* think time; 0: none */
    /* Shard I of N (count 0 or 1: the whole): users
     * [U*I/N, U*(I+1)/N) with their global numbers, the iterations'
     * share, and the arrivals I, I+N, I+2N... of the open model. */
    unsigned shard_index, shard_count;
    unsigned workers; /* threads; 0: one per CPU (at most one per user) */
    const char *history_path;
};

/* One request class in the mix. */
struct req_stats {
    char *label;
    uint64_t ok, fail, info, retries;
    uint64_t scenario_info; /* info of the scenario's own making (rf_fault) */
    char *first_error;      /* the first reason a request was not ok, or NULL */
    struct hist *latency;
};

/* What the load did, for the report (load_collect). */
struct load_totals {
    uint64_t requests, ok, fail, info, retries;
    uint64_t scenario_info; /* info of the scenario's own making */
    struct hist *latency;   /* all requests */
    struct req_stats *per_req;
    int nper_req;
    double duration_s; /* load phase */
    /* Wall clock when the load started, the t_ns = 0 of history.jsonl;
     * the report converts the traces' CLOCK_REALTIME ts_ns with it.  0: no
     * load began (the report then takes the run's start). */
    double load_start_unix;
};

/* Counters since the previous call (and the totals so far). */
struct load_progress {
    uint64_t requests, errors; /* in the interval; errors = fail + info */
    uint64_t p50_ns, p99_ns;   /* of the interval */
    uint64_t total, total_errors;
};

struct load;

int load_start(struct load **out, const struct load_cfg *cfg, char *err, size_t errlen);
/* 1 once every user has finished. */
int load_done(struct load *l);
/* Ask the users to stop after their request in flight. */
void load_stop(struct load *l);
/* Wait for the users, at most timeout_ns; 0 when all finished, -1 when
 * some did not (they are left detached and counted as they are). */
int load_join(struct load *l, uint64_t timeout_ns);
void load_interval(struct load *l, struct load_progress *p);
/* Move the totals into t (t owns latency and per_req afterwards).  After
 * load_join. */
void load_collect(struct load *l, struct load_totals *t);
void load_free(struct load *l);

#endif

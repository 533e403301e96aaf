/*
 * load.c - the supervisor's side of the load engine (load.h): the users
 * split over a few worker threads (worker.c), stopped, joined, and their
 * per-thread counters and histograms merged when sampled or collected.
 */
#include "load_int.h"
#include "jsonw.h"
#include "timeunit.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Descriptors kept for everything else the runner holds open (history,
 * traces, pipes to services, the database). */
#define LOAD_FD_RESERVE 256

/* ---------------------------------------------------------------
 * Sizing: workers, users per worker, descriptors.
 * ------------------------------------------------------------ */
static unsigned load_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* The first of the n parts of total that part i starts at. */
static uint64_t load_share(uint64_t total, unsigned i, unsigned n)
{
    return (uint64_t)((unsigned __int128)total * i / n);
}

/* Raise the descriptor limit to its hard limit; the connections a worker
 * may hold open at once. */
static unsigned load_conn_cap(const struct load *l, unsigned users)
{
    struct rlimit r;
    uint64_t cap = 1024;

    if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
        if (r.rlim_cur < r.rlim_max) {
            r.rlim_cur = r.rlim_max;
            setrlimit(RLIMIT_NOFILE, &r);
            getrlimit(RLIMIT_NOFILE, &r);
        }
        cap = r.rlim_cur == RLIM_INFINITY ? 1u << 20 : (uint64_t)r.rlim_cur;
    }
    cap = cap > 2 * LOAD_FD_RESERVE ? cap - LOAD_FD_RESERVE : cap / 2;
    /* Users without think time may all be in flight at once: say so when
     * they cannot all have a connection (they wait for one instead). */
    if (!l->think_hi && users > cap)
        fprintf(stderr,
                "wedge: load: %u users may need %u connections at once, but the descriptor "
                "limit (ulimit -Hn %" PRIu64 ") allows %" PRIu64
                ": the others wait for a connection\n",
                users, users, cap + LOAD_FD_RESERVE, cap);
    cap /= l->nworkers;
    return cap ? (unsigned)cap : 1;
}

/* Each request's label as a JSON string, once (history lines copy it). */
static void load_labels(struct load *l)
{
    int n = l->scn->nrequests;
    l->labels = calloc((size_t)(n ? n : 1), sizeof(*l->labels));
    if (!l->labels)
        abort();
    for (int k = 0; k < n; k++) {
        size_t len = 0;
        FILE *f = open_memstream(&l->labels[k], &len);
        if (!f)
            abort();
        jw_string(f, l->scn->requests[k].label);
        fclose(f);
        if (len > l->label_max)
            l->label_max = len;
    }
}

/* The shard's users, iterations, workers and descriptor budget. */
static void load_plan(struct load *l, uint64_t *first, uint64_t *n)
{
    unsigned sn = l->cfg.shard_count ? l->cfg.shard_count : 1, si = l->cfg.shard_index;
    uint64_t users = l->cfg.users ? l->cfg.users : 1;
    unsigned workers = l->cfg.workers ? l->cfg.workers : load_cpus();
    const char *http = getenv("WEDGE_LOAD_HTTP");

    *first = load_share(users, si, sn);
    *n = load_share(users, si + 1, sn) - *first;
    if (l->cfg.iterations)
        l->cfg.iterations =
            load_share(l->cfg.iterations, si + 1, sn) - load_share(l->cfg.iterations, si, sn);
    l->cfg.shard_count = sn;
    l->nworkers = *n < workers ? (unsigned)(*n ? *n : 1) : workers;
    l->think_lo = l->cfg.think_lo_ns;
    l->think_hi = l->cfg.think_hi_ns;
    l->conn_cap = load_conn_cap(l, (unsigned)*n);
    l->use_curl = http && !strcmp(http, "curl");
}

/* ---------------------------------------------------------------
 * The supervisor's side.
 * ------------------------------------------------------------ */
static int load_workers(struct load *l, uint64_t first, uint64_t n, char *err, size_t errlen)
{
    l->workers = calloc(l->nworkers, sizeof(*l->workers));
    if (!l->workers)
        abort();
    for (unsigned i = 0; i < l->nworkers; i++) {
        uint64_t a = load_share(n, i, l->nworkers), b = load_share(n, i + 1, l->nworkers);
        if (worker_init(&l->workers[i], l, i, (long)(first + a), (uint32_t)(b - a), err, errlen) <
            0) {
            /* stop, collect and free touch only the workers set up (the
             * failed one is whole: its descriptors are -1) */
            l->nworkers = i + 1;
            return -1;
        }
    }
    for (unsigned i = 0; i < l->nworkers; i++) {
        int rc = pthread_create(&l->workers[i].th, NULL, worker_main, &l->workers[i]);
        if (rc) {
            snprintf(err, errlen, "cannot start worker %u: %s", i, strerror(rc));
            load_stop(l);
            return -1;
        }
        l->workers[i].started = 1;
    }
    return 0;
}

int load_start(struct load **out, const struct load_cfg *cfg, char *err, size_t errlen)
{
    struct load *l = calloc(1, sizeof(*l));
    uint64_t first = 0, n = 0;

    if (!l)
        abort();
    *out = l;
    l->cfg = *cfg;
    l->scn = cfg->scn;
    l->rf.s = cfg->scn;
    l->rf.base_url = cfg->base_url;
    l->rf.exp = cfg->exp;
    pthread_mutex_init(&l->hist_mu, NULL);
    load_labels(l);
    l->history = fopen(cfg->history_path, "ae");
    if (!l->history) {
        snprintf(err, errlen, "%s: %s", cfg->history_path, strerror(errno));
        return -1;
    }
    /* t_ns = 0 of history.jsonl, on both clocks: the report places the
     * shim's CLOCK_REALTIME trace times on the load's timeline with it. */
    l->t0_unix = util_wall_s();
    l->t0 = util_now_ns();
    l->deadline = cfg->duration_ns ? l->t0 + cfg->duration_ns : 0;
    if (!cfg->scn->nrequests)
        return 0;
    load_plan(l, &first, &n);
    return load_workers(l, first, n, err, errlen);
}

int load_done(struct load *l)
{
    for (unsigned i = 0; i < l->nworkers; i++)
        if (l->workers[i].started && !atomic_load(&l->workers[i].done))
            return 0;
    return 1;
}

void load_stop(struct load *l)
{
    uint64_t one = 1;
    atomic_store(&l->stop, 1);
    for (unsigned i = 0; i < l->nworkers; i++)
        if (l->workers[i].wake >= 0 && write(l->workers[i].wake, &one, sizeof(one)) < 0)
            continue; /* full (already rung) */
}

int load_join(struct load *l, uint64_t timeout_ns)
{
    uint64_t deadline = util_now_ns() + timeout_ns;
    int rc = 0;
    while (!load_done(l) && util_now_ns() < deadline)
        util_sleep_ns(10 * NS_PER_MS);
    for (unsigned i = 0; i < l->nworkers; i++) {
        struct worker *w = &l->workers[i];
        if (w->started <= 0)
            continue;
        if (atomic_load(&w->done)) {
            pthread_join(w->th, NULL);
            w->started = 0;
        } else {
            /* Stuck past every timeout: leave it, never hang the run. */
            pthread_detach(w->th);
            w->started = -1;
            rc = -1;
        }
    }
    if (l->history)
        fflush(l->history);
    return rc;
}

void load_interval(struct load *l, struct load_progress *p)
{
    struct hist *h = hist_new();
    if (!h)
        abort();
    memset(p, 0, sizeof(*p));
    for (unsigned i = 0; i < l->nworkers; i++) {
        struct worker *w = &l->workers[i];
        pthread_mutex_lock(&w->mu);
        hist_merge(h, w->interval);
        hist_reset(w->interval);
        p->requests += w->i_requests;
        p->errors += w->i_errors;
        w->i_requests = w->i_errors = 0;
        pthread_mutex_unlock(&w->mu);
    }
    l->total += p->requests;
    l->total_errors += p->errors;
    p->total = l->total;
    p->total_errors = l->total_errors;
    p->p50_ns = hist_percentile(h, 50);
    p->p99_ns = hist_percentile(h, 99);
    hist_free(h);
}

/* Request class k summed over the workers. */
static void load_collect_one(struct load *l, int k, struct req_stats *q)
{
    q->label = util_fmt("%s", l->scn->requests[k].label);
    q->latency = hist_new();
    if (!q->latency)
        abort();
    for (unsigned i = 0; i < l->nworkers; i++) {
        struct worker *w = &l->workers[i];
        struct load_cls *c = &w->cls[k];
        if (w->started < 0)
            continue; /* still running somewhere: its numbers are not final */
        pthread_mutex_lock(&w->mu);
        q->ok += c->ok;
        q->fail += c->fail;
        q->info += c->info;
        q->retries += c->retries;
        q->scenario_info += c->scenario_info;
        if (!q->first_error && c->first_error[0])
            q->first_error = util_fmt("%s", c->first_error);
        hist_merge(q->latency, c->lat);
        pthread_mutex_unlock(&w->mu);
    }
}

void load_collect(struct load *l, struct load_totals *r)
{
    int nreq = l->scn->nrequests;
    r->latency = hist_new();
    r->nper_req = nreq;
    r->per_req = calloc((size_t)(nreq ? nreq : 1), sizeof(*r->per_req));
    if (!r->per_req || !r->latency)
        abort();
    for (int k = 0; k < nreq; k++) {
        struct req_stats *q = &r->per_req[k];
        load_collect_one(l, k, q);
        r->ok += q->ok;
        r->fail += q->fail;
        r->info += q->info;
        r->retries += q->retries;
        r->scenario_info += q->scenario_info;
        hist_merge(r->latency, q->latency);
    }
    r->requests = r->ok + r->fail + r->info;
    r->duration_s = (double)(util_now_ns() - l->t0) / (double)NS_PER_S;
    r->load_start_unix = l->t0_unix;
}

void load_free(struct load *l)
{
    if (!l)
        return;
    for (unsigned i = 0; i < l->nworkers; i++)
        if (l->workers[i].started < 0)
            return; /* a worker is stuck and may still touch l: leak it all */
    for (unsigned i = 0; l->workers && i < l->nworkers; i++)
        worker_free(&l->workers[i]);
    free(l->workers);
    for (int k = 0; l->labels && k < l->scn->nrequests; k++)
        free(l->labels[k]);
    free(l->labels);
    if (l->history)
        fclose(l->history);
    pthread_mutex_destroy(&l->hist_mu);
    free(l);
}

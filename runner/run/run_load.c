/*
 * run_load.c - the load phase of one run: the users fire the workload
 * while with-load jobs run; every tick the run checks the services, the
 * jobs, the deadline, and takes a sample of the time series and a progress
 * line.
 */
#include "run_int.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long run_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = 0;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}
static void run_progress(struct run_one *p, const struct load_progress *lp, uint64_t t0,
                         uint64_t fires)
{
    double el = (double)(util_now_ns() - t0) / (double)NS_PER_S;
    int tty = isatty(2);
    if (p->st->o->quiet)
        return;
    fprintf(stderr,
            "%swedge: %5.1fs %7.1f req/s  p50 %.1fms p99 %.1fms  errors %" PRIu64
            "  injections %" PRIu64 "%s",
            tty ? "\r" : "", el, el > 0 ? (double)lp->total / el : 0.0,
            (double)lp->p50_ns / (double)NS_PER_MS, (double)lp->p99_ns / (double)NS_PER_MS,
            lp->total_errors, fires, tty ? "\033[K" : "\n");
}
static void run_sample(struct run_one *p, const struct load_progress *lp, double t_s, double dt,
                       uint64_t fires, uint64_t *last_fires)
{
    struct sample *sm;
    long rss = 0;
    p->r.series = realloc(p->r.series, (size_t)(p->r.nseries + 1) * sizeof(*p->r.series));
    if (!p->r.series)
        abort();
    for (int i = 0; i < p->st->scn->nservices; i++)
        if (p->svcs[i].pid > 0 && !p->svcs[i].exited)
            rss += run_rss_kb(p->svcs[i].pid);
    sm = &p->r.series[p->r.nseries++];
    sm->t_s = t_s;
    sm->throughput = dt > 0 ? (double)lp->requests / dt : 0;
    sm->p50_ns = lp->p50_ns;
    sm->p99_ns = lp->p99_ns;
    sm->errors = lp->errors;
    sm->injections = fires - *last_fires;
    sm->rss_kb = rss;
    *last_fires = fires;
}
/* The load's configuration: the scenario's workload aimed at its target. */
static void run_load_cfg(struct run_one *p, const struct rf_ctx *c, struct load_cfg *cfg,
                         const char *history)
{
    const struct scenario *s = p->st->scn;

    memset(cfg, 0, sizeof(*cfg));
    cfg->scn = s;
    cfg->base_url = c->base_url;
    cfg->dsn = p->dsn;
    cfg->exp = c->exp;
    cfg->seed = p->seed;
    cfg->users = s->users;
    cfg->rate = s->rate;
    cfg->duration_ns = s->duration_ns;
    cfg->iterations = s->iterations;
    cfg->think_lo_ns = s->think_lo_ns;
    cfg->think_hi_ns = s->think_hi_ns;
    cfg->shard_index = p->st->o->shard_index;
    cfg->shard_count = p->st->o->shard_count;
    cfg->history_path = history;
}
/* Jobs that run with the load: kill those past their timeout.  1 while
 * one still runs. */
static int run_jobs_tick(struct run_one *p, uint64_t now)
{
    const struct scenario *s = p->st->scn;
    int running = 0;

    for (int i = 0; i < s->njobs; i++) {
        struct svc_proc *j = &p->jobs[i];
        if (s->jobs[i].when != SCN_JOB_WITH_LOAD || j->pid <= 0 || svc_poll(j) || j->exited)
            continue;
        if (now - j->started_ns >= run_job_timeout(p, i)) {
            fprintf(stderr, "wedge: job %s timed out; killing it\n", j->name);
            svc_stop(j, NS_PER_S);
            continue;
        }
        running = 1;
    }
    return running;
}
/* The clocks of the load phase: a sample for the time series every
 * sample_ns, a progress line every second. */
struct run_clock {
    uint64_t t0, sample_ns, next_sample, next_progress, last_sample;
    uint64_t fires, last_fires;
    struct load_progress lp;
    const char *traces;
};
static void run_clock_tick(struct run_one *p, struct run_clock *k, uint64_t now)
{
    if (now < k->next_sample && now < k->next_progress)
        return;
    k->fires = report_count_fires(k->traces);
    if (now >= k->next_sample) {
        load_interval(p->load, &k->lp);
        run_sample(p, &k->lp, (double)(now - k->t0) / (double)NS_PER_S,
                   (double)(now - k->last_sample) / (double)NS_PER_S, k->fires, &k->last_fires);
        k->last_sample = now;
        k->next_sample += k->sample_ns;
    }
    if (now >= k->next_progress) {
        if (p->r.nseries == 0)
            memset(&k->lp, 0, sizeof(k->lp));
        run_progress(p, &k->lp, k->t0, k->fires);
        k->next_progress += NS_PER_S;
    }
}
/* Supervise the running load every tick until it is done, the run's
 * deadline passes or a signal comes. */
static void run_load_loop(struct run_one *p, struct run_clock *k, uint64_t run_deadline)
{
    const struct scenario *s = p->st->scn;

    for (;;) {
        uint64_t now;
        int jobs_running;
        util_sleep_ns(RUN_TICK_NS);
        now = util_now_ns();
        if (util_stop) {
            p->interrupted = 1;
            return;
        }
        run_check_alive(p);
        jobs_running = run_jobs_tick(p, now);
        run_clock_tick(p, k, now);
        if (now >= run_deadline) {
            p->timed_out = 1;
            run_err(p, WEDGE_INCONCLUSIVE, "the run exceeded its timeout (%.0f s)",
                    (double)s->timeout_ns / (double)NS_PER_S);
            return;
        }
        /* Done when the users are (or, with no requests, the duration is
         * over) and no with-load job still runs. */
        if (jobs_running)
            continue;
        if (s->nrequests ? load_done(p->load) : (!s->duration_ns || now - k->t0 >= s->duration_ns))
            return;
    }
}
/* Stop the users (bounded) and take their totals into the result. */
static void run_load_end(struct run_one *p)
{
    uint64_t quiesce = p->st->scn->request_timeout_ns + 5 * NS_PER_S;

    load_stop(p->load);
    if (load_join(p->load, quiesce) < 0)
        fprintf(stderr, "wedge: some virtual users did not finish within %.0f s\n",
                (double)quiesce / (double)NS_PER_S);
    load_collect(p->load, &p->r.load);
    if (!p->st->o->quiet && isatty(2))
        fputc('\n', stderr);
}
/* The load phase: users and with-load jobs, supervised every tick. */
int run_load(struct run_one *p, const struct svc_ctx *ctx, uint64_t run_deadline)
{
    const struct scenario *s = p->st->scn;
    struct load_cfg cfg;
    struct rf_ctx c;
    struct run_clock k = {0};
    char err[1024], *url = NULL, *traces = util_fmt("%s/traces", p->out_dir);
    char *history = util_fmt("%s/history.jsonl", p->out_dir);
    int rc = 0;

    if (run_req_ctx(p, ctx, &c, &url) < 0) {
        rc = -1;
        goto out;
    }
    run_load_cfg(p, &c, &cfg, history);
    p->load_started = 1;
    if (load_start(&p->load, &cfg, err, sizeof(err)) < 0) {
        run_err(p, WEDGE_INCONCLUSIVE, "load: %s", err);
        rc = -1;
        goto out;
    }
    if (!p->st->o->shard_count && run_jobs_start(p, ctx, SCN_JOB_WITH_LOAD) < 0) {
        rc = -1;
        goto out;
    }
    k.traces = traces;
    k.sample_ns = s->sample_ns ? s->sample_ns : NS_PER_S;
    k.t0 = k.last_sample = util_now_ns();
    k.next_sample = k.t0 + k.sample_ns;
    k.next_progress = k.t0 + NS_PER_S;
    run_load_loop(p, &k, run_deadline);
out:
    if (p->load)
        run_load_end(p);
    free(url);
    free(traces);
    free(history);
    return rc;
}

/*
 * run.c - one run of `wedge run`: a fresh database, the services and jobs
 * under the shim, the load, the invariants, the report and the verdict.
 * The options and repetitions are in run_repeat.c, `wedge check` in
 * check.c.
 */
#include "inv.h"
#include "load.h"
#include "pg.h"
#include "redact.h"
#include "report.h"
#include "run.h"
#include "scn.h"
#include "scn_limit.h"
#include "svc.h"
#include "textfile.h"
#include "timeunit.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    int load_started; /* invariants judge a run only once its load began */
    char *died;       /* "counter: killed by signal 9" lines */
    int died_early;   /* a service died before any interrupt */
    int shim_fatal;   /* the shim stopped a process itself: no verdict */
};

/* ---------------------------------------------------------------
 * Small pieces.
 * ------------------------------------------------------------ */
static void run_err(struct run_one *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void run_err(struct run_one *p, int code, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    for (size_t n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ');)
        msg[--n] = '\0';
    fprintf(stderr, "wedge: %s\n", msg);
    if (!p->r.error) {
        p->r.error = msg;
        p->r.exit_code = code;
    } else {
        free(msg);
    }
}

int run_dsn_masked(const struct run_opts *o)
{
    char *r = o->dsn ? redact_conninfo_dup(o->dsn) : NULL;
    int masked = r && strcmp(r, o->dsn) != 0;
    free(r);
    return masked;
}

char *run_reproduce(const struct run_opts *o, uint64_t seed)
{
    char *path = util_shell_word(o->path);
    char *s = util_fmt("wedge run %s --seed %" PRIu64, path, seed), *t;
    free(path);
    if (o->dsn) {
        char *dsn = redact_conninfo_dup(o->dsn), *w = util_shell_word(dsn);
        t = util_fmt("%s --dsn %s", s, w);
        free(dsn);
        free(w);
        free(s);
        s = t;
    }
    const char *flags[] = {"--duration",  o->duration, "--users",      o->users,
                           "--rate",      o->rate,     "--iterations", o->iterations,
                           "--max-tries", o->max_tries};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i += 2) {
        if (!flags[i + 1])
            continue;
        t = util_fmt("%s %s %s", s, flags[i], flags[i + 1]);
        free(s);
        s = t;
    }
    return s;
}

/* wedge_<name>_<pid>_<k>: unique per run on a shared server, and clearly ours. */
static void run_db_name(const char *scn_name, int k, char *out, size_t len)
{
    int n = snprintf(out, len, "wedge_");
    for (const char *c = scn_name; *c && n < 36; c++)
        out[n++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '_';
    snprintf(out + n, len - (size_t)n, "_%ld_%d", (long)getpid(), k < 0 ? 0 : k);
}

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

/* ---------------------------------------------------------------
 * Database.
 * ------------------------------------------------------------ */
static int run_sql(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
    if (!ok)
        snprintf(err, errlen, "%s: %s", what, PQerrorMessage(c));
    PQclear(res);
    return ok ? 0 : -1;
}

static int run_database(struct run_one *p)
{
    const struct scenario *s = p->st->scn;
    char name[64], err[2048];
    PGconn *c = NULL;
    int rc = 3;

    run_db_name(s->name, p->index, name, sizeof(name));
    if (pg_fresh_db(p->st->admin_dsn, name, p->dsn, sizeof(p->dsn), err, sizeof(err)) < 0) {
        run_err(p, 3, "database unavailable: %s", err);
        return 3;
    }
    c = PQconnectdb(p->dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        run_err(p, 3, "database unavailable: %s", PQerrorMessage(c));
        goto out;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    /* A schema or fixture the server rejects is the scenario's fault: name
     * the line that gave it. */
    for (int i = 0; s->schema && s->schema[i]; i++) {
        char *text = NULL;
        if (textfile_read(s->schema[i], SCN_MAX_SCHEMA, &text, NULL, err, sizeof(err)) < 0) {
            run_err(p, 2, "%s:%d: schema %s: %s", s->path, s->schema_lines[i], s->schema[i], err);
            rc = 2;
            goto out;
        }
        if (run_sql(c, text, s->schema[i], err, sizeof(err)) < 0) {
            free(text);
            run_err(p, 2, "%s:%d: schema %s", s->path, s->schema_lines[i], err);
            rc = 2;
            goto out;
        }
        free(text);
    }
    for (int i = 0; s->fixtures && s->fixtures[i]; i++) {
        if (run_sql(c, s->fixtures[i], "fixture", err, sizeof(err)) < 0) {
            run_err(p, 2, "%s:%d: %s", s->path, s->fixture_lines[i], err);
            rc = 2;
            goto out;
        }
    }
    rc = 0;
out:
    PQfinish(c);
    return rc;
}

/* ---------------------------------------------------------------
 * Processes.
 * ------------------------------------------------------------ */
static void run_ctx(struct run_one *p, struct svc_ctx *ctx)
{
    const struct scenario *s = p->st->scn;
    static const char *names[256];
    for (int i = 0; i < s->nservices && i < 256; i++)
        names[i] = s->services[i].name;
    memset(ctx, 0, sizeof(*ctx));
    ctx->scn = s;
    ctx->preload = p->st->preload;
    ctx->dsn = p->dsn;
    ctx->out_dir = p->out_dir;
    ctx->build = util_build_dir();
    ctx->seed = p->seed;
    ctx->port_names = names;
    ctx->ports = p->ports;
    ctx->nports = s->nservices < 256 ? s->nservices : 256;
}

static int run_services(struct run_one *p, const struct svc_ctx *ctx)
{
    const struct scenario *s = p->st->scn;
    char err[4096];
    for (int i = 0; i < s->nservices; i++) {
        int rc = svc_ready_precheck(ctx, i, p->ports[i], err, sizeof(err));
        if (rc == SVC_OK)
            rc = svc_start(ctx, i, &p->svcs[i], err, sizeof(err));
        if (rc == SVC_OK)
            rc = svc_wait_ready(ctx, &p->svcs[i], p->st->o->ready_ns, err, sizeof(err));
        if (rc != SVC_OK) {
            if (rc == SVC_CONFIG)
                run_err(p, 2, "%s:%d: %s", s->path, s->services[i].line, err);
            else
                run_err(p, p->interrupted || util_stop ? 3 : rc, "%s", err);
            return rc;
        }
        if (!p->st->o->quiet)
            fprintf(stderr, "wedge: service %s ready (pid %ld, port %d)\n", p->svcs[i].name,
                    (long)p->svcs[i].pid, p->svcs[i].port);
    }
    return 0;
}

static uint64_t run_job_timeout(const struct run_one *p, int i)
{
    const struct scenario *s = p->st->scn;
    return s->jobs[i].timeout_ns ? s->jobs[i].timeout_ns : s->timeout_ns;
}

/* Start the jobs of one phase. */
static int run_jobs_start(struct run_one *p, const struct svc_ctx *ctx, enum scn_when when)
{
    const struct scenario *s = p->st->scn;
    char err[2048];
    for (int i = 0; i < s->njobs; i++) {
        if (s->jobs[i].when != when)
            continue;
        if (job_start(ctx, i, &p->jobs[i], err, sizeof(err)) != SVC_OK) {
            run_err(p, 2, "%s:%d: job %s: %s", s->path, s->jobs[i].line, s->jobs[i].name, err);
            return -1;
        }
    }
    return 0;
}

/* Wait (bounded) for the started jobs of a phase; kill those past their
 * timeout.  A job the shim refused is a configuration error. */
static int run_jobs_wait(struct run_one *p, enum scn_when when)
{
    const struct scenario *s = p->st->scn;
    char msg[1024];
    for (int i = 0; i < s->njobs; i++) {
        struct svc_proc *j = &p->jobs[i];
        if (s->jobs[i].when != when || j->pid <= 0)
            continue;
        for (;;) {
            if (svc_wait(j, RUN_TICK_NS))
                break;
            if (util_stop || util_now_ns() - j->started_ns >= run_job_timeout(p, i)) {
                if (!util_stop)
                    fprintf(stderr, "wedge: job %s timed out; killing it\n", j->name);
                else
                    p->interrupted = 1;
                svc_stop(j, NS_PER_S);
                break;
            }
        }
        svc_stop(j, 0); /* backstop: nothing of it keeps running */
        if (svc_rules_rejected(j, msg, sizeof(msg))) {
            run_err(p, 2, "%s:%d: %s", s->path, s->jobs[i].line, msg);
            return -1;
        }
    }
    return 0;
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

/* A service exited on its own during the run: service_alive breaks. */
static void run_check_alive(struct run_one *p)
{
    for (int i = 0; i < p->st->scn->nservices; i++) {
        struct svc_proc *sv = &p->svcs[i];
        if (!svc_poll(sv))
            continue;
        char *tail = svc_log_tail(sv);
        char *line = util_fmt("%s%s (pid %ld) exited with status %d during the run\n"
                              "--- last lines of %s ---\n%s\n",
                              p->died ? p->died : "", sv->name, (long)sv->pid,
                              util_exit_code(sv->status), sv->log_path, tail);
        free(tail);
        free(p->died);
        p->died = line;
        if (!util_stop)
            p->died_early = 1;
        fprintf(stderr, "%swedge: service %s died (status %d)\n", isatty(2) ? "\n" : "", sv->name,
                util_exit_code(sv->status));
        /* The rest of the load would only measure a dead service. */
        if (p->load)
            load_stop(p->load);
    }
}

/* The load phase: users and with-load jobs, supervised every tick. */
static int run_load(struct run_one *p, const struct svc_ctx *ctx, uint64_t run_deadline)
{
    const struct scenario *s = p->st->scn;
    struct load_cfg cfg;
    struct load_progress lp = {0};
    char err[1024], *url = NULL, *traces = util_fmt("%s/traces", p->out_dir);
    char *history = util_fmt("%s/history.jsonl", p->out_dir);
    uint64_t t0, next_sample, next_progress, fires = 0, last_fires = 0, last_sample;
    uint64_t sample_ns = s->sample_ns ? s->sample_ns : NS_PER_S;
    int target = 0, rc = 0;

    memset(&cfg, 0, sizeof(cfg));
    if (s->target)
        for (int i = 0; i < s->nservices; i++)
            if (!strcmp(s->services[i].name, s->target))
                target = i;
    if (s->nservices)
        url = util_fmt("http://127.0.0.1:%d", p->ports[target]);
    cfg.scn = s;
    cfg.base_url = url;
    cfg.dsn = p->dsn;
    cfg.exp.build = ctx->build;
    cfg.exp.dsn = p->dsn;
    cfg.exp.out = p->out_dir;
    cfg.exp.scenario_dir = s->dir;
    cfg.exp.service = s->nservices ? s->services[target].name : NULL;
    cfg.exp.port_names = ctx->port_names;
    cfg.exp.ports = ctx->ports;
    cfg.exp.nports = ctx->nports;
    cfg.exp.seed = p->seed;
    cfg.seed = p->seed;
    cfg.users = s->users;
    cfg.rate = s->rate;
    cfg.duration_ns = s->duration_ns;
    cfg.iterations = s->iterations;
    cfg.history_path = history;

    p->load_started = 1;
    if (load_start(&p->load, &cfg, err, sizeof(err)) < 0) {
        run_err(p, 3, "load: %s", err);
        rc = -1;
        goto out;
    }
    if (run_jobs_start(p, ctx, SCN_JOB_WITH_LOAD) < 0) {
        rc = -1;
        goto out;
    }
    t0 = last_sample = util_now_ns();
    next_sample = t0 + sample_ns;
    next_progress = t0 + NS_PER_S;
    for (;;) {
        uint64_t now;
        int jobs_running = 0;
        util_sleep_ns(RUN_TICK_NS);
        now = util_now_ns();
        if (util_stop) {
            p->interrupted = 1;
            break;
        }
        run_check_alive(p);
        for (int i = 0; i < s->njobs; i++) {
            struct svc_proc *j = &p->jobs[i];
            if (s->jobs[i].when != SCN_JOB_WITH_LOAD || j->pid <= 0 || svc_poll(j) || j->exited)
                continue;
            if (now - j->started_ns >= run_job_timeout(p, i)) {
                fprintf(stderr, "wedge: job %s timed out; killing it\n", j->name);
                svc_stop(j, NS_PER_S);
                continue;
            }
            jobs_running = 1;
        }
        if (now >= next_sample || now >= next_progress) {
            fires = report_count_fires(traces);
            if (now >= next_sample) {
                load_interval(p->load, &lp);
                run_sample(p, &lp, (double)(now - t0) / (double)NS_PER_S,
                           (double)(now - last_sample) / (double)NS_PER_S, fires, &last_fires);
                last_sample = now;
                next_sample += sample_ns;
            }
            if (now >= next_progress) {
                if (p->r.nseries == 0)
                    memset(&lp, 0, sizeof(lp));
                run_progress(p, &lp, t0, fires);
                next_progress += NS_PER_S;
            }
        }
        if (now >= run_deadline) {
            p->timed_out = 1;
            run_err(p, 3, "the run exceeded its timeout (%.0f s)",
                    (double)s->timeout_ns / (double)NS_PER_S);
            break;
        }
        /* Done when the users are (or, with no requests, the duration is
         * over) and no with-load job still runs. */
        if (jobs_running)
            continue;
        if (s->nrequests ? load_done(p->load) : (!s->duration_ns || now - t0 >= s->duration_ns))
            break;
    }
out:
    if (p->load) {
        uint64_t quiesce = s->request_timeout_ns + 5 * NS_PER_S;
        load_stop(p->load);
        if (load_join(p->load, quiesce) < 0)
            fprintf(stderr, "wedge: some virtual users did not finish within %.0f s\n",
                    (double)quiesce / (double)NS_PER_S);
        load_collect(p->load, &p->r.load);
        if (!p->st->o->quiet && isatty(2))
            fputc('\n', stderr);
    }
    free(url);
    free(traces);
    free(history);
    return rc;
}

/* ---------------------------------------------------------------
 * Invariants, built-in ones included.
 * ------------------------------------------------------------ */
static void run_builtin(struct run_one *p, const char *name, int ok, const char *expected,
                        const char *actual, char *detail)
{
    struct inv_result *v;
    p->r.inv = realloc(p->r.inv, (size_t)(p->r.ninv + 1) * sizeof(*p->r.inv));
    if (!p->r.inv)
        abort();
    v = &p->r.inv[p->r.ninv++];
    memset(v, 0, sizeof(*v));
    v->name = util_fmt("%s", name);
    v->status = ok ? INV_PASSED : INV_FAILED;
    v->expected = util_fmt("%s", expected);
    v->actual = util_fmt("%s", actual);
    v->detail = detail;
}

/* Jobs that were stopped (by the interrupt) rather than finishing. */
static int run_jobs_interrupted(const struct run_one *p)
{
    int n = 0;
    for (int i = 0; i < p->st->scn->njobs; i++)
        n += p->jobs[i].stopped || (p->jobs[i].pid <= 0);
    return n;
}

/* A process the shim stopped itself (a symbol it could not resolve, a
 * configuration it refused: its fatal record, shim/fatal.c) tells nothing
 * about the service: no invariant is judged failed and the run is
 * inconclusive, never "race found". */
static void run_shim_blame(struct run_one *p)
{
    struct svc_fatal f;
    char *traces = util_fmt("%s/traces", p->out_dir);
    int found = svc_shim_fatal(traces, 0, &f);

    free(traces);
    if (!found)
        return;
    p->shim_fatal = 1;
    run_err(p, 3, "the shim stopped %s (pid %ld), so this run says nothing about a race: %s",
            f.proc, f.pid, f.msg);
    for (int i = 0; i < p->r.ninv; i++)
        if (p->r.inv[i].status == INV_FAILED)
            p->r.inv[i].status = INV_ERROR;
}

static void run_invariants(struct run_one *p)
{
    const struct scenario *s = p->st->scn;
    char err[2048], *history = util_fmt("%s/history.jsonl", p->out_dir);
    if (inv_eval_all(s, p->dsn[0] ? p->dsn : NULL, history, &p->r.inv, &p->r.ninv, err,
                     sizeof(err)) < 0) {
        run_err(p, 3, "invariants: %s", err);
    }
    free(history);
    if (s->nservices) {
        run_builtin(p, "service_alive", !p->died, "every service ran until it was stopped",
                    p->died ? "a service exited during the run" : "all alive",
                    p->died ? util_fmt("%s", p->died) : NULL);
    }
    if (s->njobs) {
        char *detail = NULL;
        int bad = 0;
        for (int i = 0; i < s->njobs; i++) {
            struct svc_proc *j = &p->jobs[i];
            int code = j->exited ? util_exit_code(j->status) : -1;
            if (j->pid > 0 && code == 0)
                continue;
            char *tail = j->pid > 0 ? svc_log_tail(j) : util_fmt("%s", "");
            char *d = util_fmt("%s%s: %s\n--- last lines of its output ---\n%s\n",
                               detail ? detail : "", j->name,
                               j->pid <= 0  ? "never ran"
                               : j->stopped ? "stopped (timeout or interrupt)"
                                            : "failed",
                               tail);
            if (j->exited && !j->stopped) {
                char *t = util_fmt("%s(exit status %d)\n", d, code);
                free(d);
                d = t;
            }
            free(tail);
            free(detail);
            detail = d;
            bad++;
        }
        char *actual = util_fmt("%d of %d failed", bad, s->njobs);
        run_builtin(p, "jobs_succeeded", !bad, "every job exits 0", actual, detail);
        free(actual);
        /* Jobs stopped by the interrupt did not fail: they were not judged. */
        if (bad && p->interrupted && bad == run_jobs_interrupted(p)) {
            p->r.inv[p->r.ninv - 1].status = INV_ERROR;
            free(p->r.inv[p->r.ninv - 1].actual);
            p->r.inv[p->r.ninv - 1].actual = util_fmt("interrupted before every job finished");
        }
    }
    run_shim_blame(p);
}

/* ---------------------------------------------------------------
 * One repetition.
 * ------------------------------------------------------------ */
/* The verdict on stdout: in full for a single run, one line per run when
 * repeating (the table at the end lists every seed). */
static void run_summary(struct run_one *p)
{
    int brief = p->index >= 0;
    unsigned passed = 0, failed = 0;
    const char *why = p->r.error ? p->r.error : "";
    int whylen = (int)strcspn(why, "\n");

    for (int i = 0; i < p->r.ninv; i++) {
        passed += p->r.inv[i].status == INV_PASSED;
        failed += p->r.inv[i].status == INV_FAILED;
    }
    p->st->passed += passed;
    p->st->failed += failed;
    if (brief) {
        printf("wedge: run %d seed %" PRIu64 ": %s", p->index + 1, p->seed,
               failed           ? "FAILED"
               : p->r.exit_code ? "inconclusive"
                                : "passed");
        for (int i = 0, n = 0; i < p->r.ninv; i++)
            if (p->r.inv[i].status == INV_FAILED)
                printf("%s%s", n++ ? ", " : " (", p->r.inv[i].name);
        printf("%s", failed ? ")" : "");
        if (!failed && p->r.error)
            printf(" (%.*s)", whylen, why);
        printf("  %s/report.md\n", p->out_dir);
        fflush(stdout);
        return;
    }
    printf("wedge: %s  seed %" PRIu64 "  %.1fs  %" PRIu64 " requests (%" PRIu64 " ok, %" PRIu64
           " fail, %" PRIu64 " info, %" PRIu64 " retries)\n",
           p->st->scn->name, p->seed, p->r.load.duration_s, p->r.load.requests, p->r.load.ok,
           p->r.load.fail, p->r.load.info, p->r.load.retries);
    for (int i = 0; i < p->r.ninv; i++) {
        const struct inv_result *v = &p->r.inv[i];
        if (v->status == INV_PASSED)
            printf("  PASS  %s\n", v->name);
        else
            printf("  %-5s %s: expected %s, got %s\n", v->status == INV_FAILED ? "FAIL" : "ERROR",
                   v->name, v->expected ? v->expected : "?", v->actual ? v->actual : "?");
    }
    if (p->r.error)
        printf("  inconclusive: %.*s\n", whylen, why);
    printf("wedge: report: %s/report.md\n", p->out_dir);
    printf("wedge: reproduce: %s\n", p->r.reproduce);
    if (p->r.reproduce_note)
        printf("wedge: (%s)\n", p->r.reproduce_note);
    fflush(stdout);
}

static void run_stop_all(struct run_one *p)
{
    const struct scenario *s = p->st->scn;
    for (int i = 0; p->jobs && i < s->njobs; i++)
        svc_stop(&p->jobs[i], NS_PER_S);
    /* In reverse: a service started later may depend on an earlier one. */
    for (int i = s->nservices - 1; p->svcs && i >= 0; i--) {
        uint64_t grace = s->services[i].stop_grace_ns ? s->services[i].stop_grace_ns : 2 * NS_PER_S;
        run_check_alive(p);
        svc_stop(&p->svcs[i], grace);
    }
}

int run_once(struct run_state *st, uint64_t seed, int index, const char *out_dir)
{
    const struct scenario *s = st->scn;
    struct run_one rp, *p = &rp;
    struct svc_ctx ctx;
    char err[1024], *dir;
    uint64_t start = util_now_ns(), deadline = start + s->timeout_ns;
    int code;

    memset(p, 0, sizeof(*p));
    p->st = st;
    p->seed = seed;
    p->index = index;
    p->out_dir = util_fmt("%s", out_dir);
    p->r.scn = s;
    p->r.out_dir = p->out_dir;
    p->r.seed = seed;
    p->r.reproduce = run_reproduce(st->o, seed);
    if (run_dsn_masked(st->o))
        p->r.reproduce_note = RUN_MASKED_NOTE;
    p->r.embedded_pg = !st->o->dsn && s->uses_db;
    p->r.started_unix = util_wall_s();
    p->svcs = calloc((size_t)s->nservices + 1, sizeof(*p->svcs));
    p->jobs = calloc((size_t)s->njobs + 1, sizeof(*p->jobs));
    p->ports = calloc((size_t)s->nservices + 1, sizeof(*p->ports));
    if (!p->svcs || !p->jobs || !p->ports)
        abort();

    if (!st->o->quiet)
        fprintf(stderr, "wedge: %s: seed %" PRIu64 ", output in %s\n", s->name, seed, out_dir);
    /* Traces left by an earlier run into the same --out would be counted
     * as this run's injections: start from an empty traces/. */
    dir = util_fmt("%s/traces", out_dir);
    util_rm_rf(dir);
    if (util_mkdir_p(dir, 0755) < 0) {
        run_err(p, 2, "--out %s: %s", out_dir, strerror(errno));
        free(dir);
        goto report;
    }
    free(dir);
    dir = util_fmt("%s/logs", out_dir);
    util_mkdir_p(dir, 0755);
    free(dir);
    /* A fresh control file and history for this run. */
    dir = util_fmt("%s/ctl", out_dir);
    unlink(dir);
    free(dir);
    dir = util_fmt("%s/history.jsonl", out_dir);
    unlink(dir);
    free(dir);

    if (s->uses_db) {
        if (run_database(p) != 0)
            goto report;
        p->r.dsn_redacted = redact_conninfo_dup(p->dsn);
    }
    for (int i = 0; i < s->nservices; i++) {
        p->ports[i] = util_free_port(err, sizeof(err));
        if (p->ports[i] < 0) {
            run_err(p, 3, "%s", err);
            goto report;
        }
        p->svcs[i].port = p->ports[i];
    }
    run_ctx(p, &ctx);
    if (run_services(p, &ctx) != 0)
        goto stop;
    if (run_jobs_start(p, &ctx, SCN_JOB_BEFORE) < 0 || run_jobs_wait(p, SCN_JOB_BEFORE) < 0)
        goto stop;
    if (util_stop) {
        p->interrupted = 1;
        goto stop;
    }
    if (run_load(p, &ctx, deadline) < 0)
        goto stop;
    if (run_jobs_wait(p, SCN_JOB_WITH_LOAD) < 0)
        goto stop;
    if (!p->interrupted && !util_stop &&
        (run_jobs_start(p, &ctx, SCN_JOB_AFTER) < 0 || run_jobs_wait(p, SCN_JOB_AFTER) < 0))
        goto stop;
stop:
    run_stop_all(p);
    if (util_stop)
        p->interrupted = 1;
    if (p->load_started && p->r.exit_code != 2)
        run_invariants(p);
report:
    if (p->interrupted && !p->r.error) {
        p->r.error = util_fmt("interrupted by signal %d", (int)util_stop);
        p->r.exit_code = 3;
    }
    code = 0;
    for (int i = 0; i < p->r.ninv; i++) {
        if (p->r.inv[i].status == INV_FAILED)
            code = 1;
        else if (p->r.inv[i].status == INV_ERROR && code == 0)
            code = 3;
    }
    /* Interrupted: what was checked is reported, but only a failure seen
     * before the signal (a service that died) is a verdict. */
    if (p->interrupted && !p->died_early)
        code = 3;
    if (code != 1 && p->r.error)
        code = p->r.exit_code ? p->r.exit_code : 3;
    if (p->shim_fatal)
        code = 3;
    p->r.exit_code = code;
    if (code != 2) {
        if (!p->r.load.latency)
            p->r.load.latency = hist_new();
        if (report_write(&p->r, err, sizeof(err)) < 0)
            fprintf(stderr, "wedge: report: %s\n", err);
        run_summary(p);
    }

    for (int i = 0; i < s->nservices; i++)
        svc_proc_free(&p->svcs[i]);
    for (int i = 0; i < s->njobs; i++)
        svc_proc_free(&p->jobs[i]);
    load_free(p->load);
    inv_results_free(p->r.inv, p->r.ninv);
    for (int i = 0; i < p->r.load.nper_req; i++) {
        free(p->r.load.per_req[i].label);
        hist_free(p->r.load.per_req[i].latency);
    }
    free(p->r.load.per_req);
    hist_free(p->r.load.latency);
    free(p->r.series);
    free(p->r.reproduce);
    free(p->r.dsn_redacted);
    free(p->r.error);
    free(p->died);
    free(p->svcs);
    free(p->jobs);
    free(p->ports);
    free(p->out_dir);
    return code;
}

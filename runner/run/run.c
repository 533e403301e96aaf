/*
 * run.c - one run of `wedge run`: a fresh database, the services and jobs
 * under the shim, the load, the invariants and the report.  The verdict is
 * verdict.c's; the options and repetitions are cli/run_repeat.c's.
 */
#include "inv.h"
#include "pg.h"
#include "redact.h"
#include "report.h"
#include "run_int.h"
#include "scn.h"
#include "scn_limit.h"
#include "svc.h"
#include "textfile.h"
#include "timeunit.h"
#include "util.h"
#include "verdict.h"
#include "wedge_exit.h"

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

/* ---------------------------------------------------------------
 * The command that replays a run.
 * ------------------------------------------------------------ */
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
    if (o->replace_rules) {
        char *w = o->rules ? util_shell_word(o->rules) : NULL;
        t = w ? util_fmt("%s --rules %s", s, w) : util_fmt("%s --no-rules", s);
        free(w);
        free(s);
        s = t;
    }
    if (o->shard_count) {
        t = util_fmt("%s --shard %u/%u", s, o->shard_index, o->shard_count);
        free(s);
        s = t;
    }
    for (int i = 0; i < o->nsets; i++) {
        char *w = util_shell_word(o->sets[i]);
        t = util_fmt("%s --set %s", s, w);
        free(w);
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
    int rc = WEDGE_INCONCLUSIVE;

    run_db_name(s->name, p->index, name, sizeof(name));
    if (pg_fresh_db(p->st->admin_dsn, name, p->dsn, sizeof(p->dsn), err, sizeof(err)) < 0) {
        run_err(p, WEDGE_INCONCLUSIVE, "database unavailable: %s", err);
        return WEDGE_INCONCLUSIVE;
    }
    c = PQconnectdb(p->dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        run_err(p, WEDGE_INCONCLUSIVE, "database unavailable: %s", PQerrorMessage(c));
        goto out;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    /* A schema or fixture the server rejects is the scenario's fault: name
     * the line that gave it. */
    for (int i = 0; s->schema && s->schema[i]; i++) {
        char *text = NULL;
        if (textfile_read(s->schema[i], SCN_MAX_SCHEMA, &text, NULL, err, sizeof(err)) < 0) {
            run_err(p, WEDGE_USAGE, "%s:%d: schema %s: %s", s->path, s->schema_lines[i],
                    s->schema[i], err);
            rc = WEDGE_USAGE;
            goto out;
        }
        if (run_sql(c, text, s->schema[i], err, sizeof(err)) < 0) {
            free(text);
            run_err(p, WEDGE_USAGE, "%s:%d: schema %s", s->path, s->schema_lines[i], err);
            rc = WEDGE_USAGE;
            goto out;
        }
        free(text);
    }
    for (int i = 0; s->fixtures && s->fixtures[i]; i++) {
        if (run_sql(c, s->fixtures[i], "fixture", err, sizeof(err)) < 0) {
            run_err(p, WEDGE_USAGE, "%s:%d: %s", s->path, s->fixture_lines[i], err);
            rc = WEDGE_USAGE;
            goto out;
        }
    }
    rc = 0;
out:
    PQfinish(c);
    return rc;
}

/* The repetition's state and result, before anything runs. */
static void run_one_init(struct run_one *p, struct run_state *st, uint64_t seed, int index,
                         const char *out_dir)
{
    const struct scenario *s = st->scn;

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
}

/* The output directory, as this run needs it: an empty traces/ (traces
 * left by an earlier run into the same --out would be counted as this
 * run's injections), logs/, no control file or history of an earlier run.
 * -1 after run_err when it cannot be made. */
static int run_out_dir(struct run_one *p)
{
    static const char *const stale[] = {"ctl", "history.jsonl"};
    char *dir = util_fmt("%s/traces", p->out_dir);
    int rc = 0;

    util_rm_rf(dir);
    if (util_mkdir_p(dir, 0755) < 0) {
        run_err(p, WEDGE_USAGE, "--out %s: %s", p->out_dir, strerror(errno));
        rc = -1;
    }
    free(dir);
    if (rc < 0)
        return rc;
    dir = util_fmt("%s/logs", p->out_dir);
    util_mkdir_p(dir, 0755);
    free(dir);
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        dir = util_fmt("%s/%s", p->out_dir, stale[i]);
        unlink(dir);
        free(dir);
    }
    return 0;
}

/* A free loopback port for each service; -1 after run_err. */
static int run_ports(struct run_one *p)
{
    char err[1024];

    for (int i = 0; i < p->st->scn->nservices; i++) {
        p->ports[i] = util_free_port(err, sizeof(err));
        if (p->ports[i] < 0) {
            run_err(p, WEDGE_INCONCLUSIVE, "%s", err);
            return -1;
        }
        p->svcs[i].port = p->ports[i];
    }
    return 0;
}

/* Services, jobs before the load, the load with its jobs, jobs after it:
 * each phase only when the one before went well and no signal came. */
static void run_phases(struct run_one *p, const struct svc_ctx *ctx, uint64_t deadline)
{
    if (run_services(p, ctx) != 0)
        return;
    if (run_jobs_start(p, ctx, SCN_JOB_BEFORE) < 0 || run_jobs_wait(p, SCN_JOB_BEFORE) < 0)
        return;
    if (util_stop) {
        p->interrupted = 1;
        return;
    }
    if (run_load(p, ctx, deadline) < 0)
        return;
    if (run_jobs_wait(p, SCN_JOB_WITH_LOAD) < 0)
        return;
    if (!p->interrupted && !util_stop && run_jobs_start(p, ctx, SCN_JOB_AFTER) == 0 &&
        run_jobs_wait(p, SCN_JOB_AFTER) == 0 && !util_stop)
        run_http_invariants(p, ctx);
}

/* The verdict (verdict.c), then the report and the lines on stdout. */
static int run_conclude(struct run_one *p)
{
    const struct scenario *s = p->st->scn;
    struct run_facts f;
    char err[1024];

    /* A load that did not happen is no evidence: never a pass.  A shard's
     * share alone may have no ok request (the others sold the stock): the
     * merge judges the whole load. */
    if (p->load_started && !p->interrupted && !p->r.error && p->r.load.latency &&
        !p->st->o->shard_count &&
        run_load_unusable(&p->r.load, s->nrequests, s->max_info, err, sizeof(err)))
        run_err(p, WEDGE_INCONCLUSIVE, "%s", err);
    if (p->interrupted && !p->r.error) {
        p->r.error = util_fmt("interrupted by signal %d", (int)util_stop);
        p->r.exit_code = WEDGE_INCONCLUSIVE;
    }
    f = (struct run_facts){.inv = p->r.inv,
                           .ninv = p->r.ninv,
                           .has_error = p->r.error != NULL,
                           .error_code = p->r.exit_code,
                           .interrupted = p->interrupted,
                           .died_early = p->died_early,
                           .shim_fatal = p->shim_fatal};
    p->r.exit_code = run_verdict(&f).code;
    if (p->r.exit_code != WEDGE_USAGE) {
        if (!p->r.load.latency)
            p->r.load.latency = hist_new();
        if (report_write(&p->r, err, sizeof(err)) < 0)
            fprintf(stderr, "wedge: report: %s\n", err);
        run_summary(p);
    }
    return p->r.exit_code;
}

static void run_one_free(struct run_one *p)
{
    const struct scenario *s = p->st->scn;

    for (int i = 0; i < s->nservices; i++)
        svc_proc_free(&p->svcs[i]);
    for (int i = 0; i < s->njobs; i++)
        svc_proc_free(&p->jobs[i]);
    load_free(p->load);
    inv_results_free(p->r.inv, p->r.ninv);
    inv_results_free(p->http, p->http ? s->ninvariants : 0);
    for (int i = 0; i < p->r.load.nper_req; i++) {
        free(p->r.load.per_req[i].label);
        free(p->r.load.per_req[i].first_error);
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
}

/* A shard (--shard I/N): its share of the load against the shared
 * services and database, judged on its own share, its files for wedge
 * merge (run_shard.c). */
static void run_shard(struct run_one *p, uint64_t deadline)
{
    struct svc_ctx ctx;

    if (run_shard_setup(p) < 0)
        return;
    if (p->dsn[0])
        p->r.dsn_redacted = redact_conninfo_dup(p->dsn);
    run_ctx(p, &ctx);
    if (!util_stop)
        run_load(p, &ctx, deadline);
    if (util_stop)
        p->interrupted = 1;
    if (p->load_started && p->r.exit_code != WEDGE_USAGE) {
        run_shard_judge(p);
        run_shard_write(p);
    }
}

int run_once(struct run_state *st, uint64_t seed, int index, const char *out_dir)
{
    const struct scenario *s = st->scn;
    struct run_one rp, *p = &rp;
    struct svc_ctx ctx;
    uint64_t deadline = util_now_ns() + s->timeout_ns;
    int code;

    run_one_init(p, st, seed, index, out_dir);
    if (!st->o->quiet)
        fprintf(stderr, "wedge: %s: seed %" PRIu64 ", output in %s\n", s->name, seed, out_dir);
    if (run_out_dir(p) < 0)
        goto conclude;
    if (st->o->shard_count) {
        run_shard(p, deadline);
        goto conclude;
    }
    if (s->uses_db) {
        if (run_database(p) != 0)
            goto conclude;
        p->r.dsn_redacted = redact_conninfo_dup(p->dsn);
    }
    if (run_ports(p) < 0)
        goto conclude;
    run_ctx(p, &ctx);
    run_phases(p, &ctx, deadline);
    run_stop_all(p);
    if (util_stop)
        p->interrupted = 1;
    if (p->load_started && p->r.exit_code != WEDGE_USAGE)
        run_invariants(p);
conclude:
    code = run_conclude(p);
    run_one_free(p);
    return code;
}

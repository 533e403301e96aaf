/*
 * run_merge.c - wedge merge: the shards of one run (run_shard.c) judged as
 * one run.  Their histories are merged on one clock (each shard's t_ns
 * shifted by how much later its load began, the offsets recorded in
 * merge.json), their histograms exactly (hist_load_merge), their series
 * point by point; then every invariant is judged ONCE on the whole: SQL
 * ones on the shared database, history ones on the merged history,
 * thresholds on the merged figures, HTTP ones asked of the shared services
 * now.  One summary.json, junit.xml and report.md, as a run's.
 */
#include "inv.h"
#include "report.h"
#include "redact.h"
#include "run.h"
#include "util.h"
#include "timeunit.h"
#include "verdict.h"
#include "wedge_exit.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------
 * The shards given: one run's, each once.
 * ------------------------------------------------------------ */
static json_t *merge_read(const char *dir, char *err, size_t len)
{
    char *path = util_fmt("%s/shard.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);

    if (!j)
        snprintf(err, len, "%s: %s (not the output of wedge run --shard I/N?)", path, je.text);
    else if (json_integer_value(json_object_get(j, "wedge_shard")) != 1) {
        snprintf(err, len, "%s: not a shard's file", path);
        json_decref(j);
        j = NULL;
    }
    free(path);
    return j;
}

void run_merge_plan_free(struct merge_plan *pl)
{
    for (int i = 0; i < pl->n; i++)
        json_decref(pl->shard[i]);
    free(pl->shard);
    free(pl->sets);
    memset(pl, 0, sizeof(*pl));
}

/* The scenario and the command line's values of the run, from shard 0. */
static void merge_opts(struct merge_plan *pl)
{
    json_t *run = json_object_get(pl->shard[0], "run"), *sets = json_object_get(run, "sets");
    const char *keys[] = {"duration", "users", "rate", "iterations", "max_tries"};

    pl->scenario = json_string_value(json_object_get(run, "scenario"));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        pl->given[i] = json_string_value(json_object_get(run, keys[i]));
    pl->nsets = (int)json_array_size(sets);
    pl->sets = calloc((size_t)pl->nsets + 1, sizeof(*pl->sets));
    if (!pl->sets)
        abort();
    for (int i = 0; i < pl->nsets; i++)
        pl->sets[i] = json_string_value(json_array_get(sets, (size_t)i));
    pl->seed = (uint64_t)json_integer_value(json_object_get(pl->shard[0], "seed"));
}

int run_merge_plan(const char *const *dirs, int n, struct merge_plan *pl, char *err, size_t len)
{
    json_t *run0;
    unsigned count;

    memset(pl, 0, sizeof(*pl));
    pl->dirs = dirs;
    pl->shard = calloc((size_t)n, sizeof(*pl->shard));
    if (!pl->shard)
        abort();
    for (; pl->n < n; pl->n++)
        if (!(pl->shard[pl->n] = merge_read(dirs[pl->n], err, len)))
            goto bad;
    run0 = json_object_get(pl->shard[0], "run");
    count = (unsigned)json_integer_value(json_object_get(pl->shard[0], "shards"));
    if (count != (unsigned)n) {
        snprintf(err, len, "%s is one of %u shards, and %d were given: give each shard once",
                 dirs[0], count, n);
        goto bad;
    }
    for (int i = 0; i < n; i++) {
        json_t *s = pl->shard[i];
        int k = (int)json_integer_value(json_object_get(s, "shard"));
        if (!json_equal(json_object_get(s, "run"), run0) ||
            json_integer_value(json_object_get(s, "seed")) !=
                json_integer_value(json_object_get(pl->shard[0], "seed")) ||
            (unsigned)json_integer_value(json_object_get(s, "shards")) != count) {
            snprintf(err, len,
                     "%s and %s are shards of different runs (scenario, --set, values, seed or "
                     "shard count differ)",
                     dirs[0], dirs[i]);
            goto bad;
        }
        for (int j = 0; j < i; j++)
            if (json_integer_value(json_object_get(pl->shard[j], "shard")) == k) {
                snprintf(err, len, "%s and %s are both shard %d/%u", dirs[j], dirs[i], k, count);
                goto bad;
            }
    }
    merge_opts(pl);
    return 0;
bad:
    run_merge_plan_free(pl);
    return -1;
}

/* ---------------------------------------------------------------
 * The histories on one clock.
 * ------------------------------------------------------------ */
struct merge_line {
    uint64_t t;
    size_t order; /* ties keep the shards' own order */
    char *text;   /* from after the t_ns value */
};

static int merge_line_cmp(const void *a, const void *b)
{
    const struct merge_line *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Shard dir's history, each t_ns + off, appended to *v. */
static int merge_history_read(const char *dir, uint64_t off, struct merge_line **v, size_t *n,
                              size_t *cap, char *err, size_t len)
{
    char *path = util_fmt("%s/history.jsonl", dir), *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    FILE *f = fopen(path, "re");
    int rc = 0;

    if (!f) {
        snprintf(err, len, "%s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    while ((got = getline(&line, &lcap, f)) > 0) {
        char *end;
        if (strncmp(line, "{\"t_ns\":", 8) != 0) {
            snprintf(err, len, "%s: a line that is no history line: %.60s", path, line);
            rc = -1;
            break;
        }
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 4096;
            if (!(*v = realloc(*v, *cap * sizeof(**v))))
                abort();
        }
        (*v)[*n].t = strtoull(line + 8, &end, 10) + off;
        (*v)[*n].order = *n;
        (*v)[*n].text = util_fmt("%s", end);
        (*n)++;
    }
    free(line);
    fclose(f);
    free(path);
    return rc;
}

static int merge_history(const struct merge_plan *pl, const uint64_t *off, const char *out,
                         char *err, size_t len)
{
    struct merge_line *v = NULL;
    size_t n = 0, cap = 0;
    FILE *f = NULL;
    int rc = -1;

    for (int i = 0; i < pl->n; i++)
        if (merge_history_read(pl->dirs[i], off[i], &v, &n, &cap, err, len) < 0)
            goto out;
    qsort(v, n, sizeof(*v), merge_line_cmp);
    if (!(f = fopen(out, "we"))) {
        snprintf(err, len, "%s: %s", out, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "{\"t_ns\":%" PRIu64 "%s", v[i].t, v[i].text);
    rc = fclose(f) ? -1 : 0;
    if (rc < 0)
        snprintf(err, len, "%s: %s", out, strerror(errno));
out:
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
    return rc;
}

/* ---------------------------------------------------------------
 * The figures: counters summed, histograms merged exactly, series
 * summed point by point (percentiles: the highest shard's).
 * ------------------------------------------------------------ */
static void merge_counts(struct req_stats *q, json_t *r)
{
    const char *e = json_string_value(json_object_get(r, "first_error"));
    q->ok += (uint64_t)json_integer_value(json_object_get(r, "ok"));
    q->fail += (uint64_t)json_integer_value(json_object_get(r, "fail"));
    q->info += (uint64_t)json_integer_value(json_object_get(r, "info"));
    q->retries += (uint64_t)json_integer_value(json_object_get(r, "retries"));
    q->scenario_info += (uint64_t)json_integer_value(json_object_get(r, "scenario_info"));
    if (e && !q->first_error)
        q->first_error = util_fmt("%s", e);
}

static int merge_hists(const char *dir, struct load_totals *t, char *err, size_t len)
{
    char *path = util_fmt("%s/latency.hist", dir), *line = NULL;
    size_t cap = 0;
    FILE *f = fopen(path, "re");
    int k = 0, rc = 0;

    if (!f) {
        snprintf(err, len, "%s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    for (; k < t->nper_req && getline(&line, &cap, f) > 0; k++)
        if (hist_load_merge(t->per_req[k].latency, line) < 0)
            break;
    if (k < t->nper_req) {
        snprintf(err, len, "%s: line %d is no histogram of wedge run --shard", path, k + 1);
        rc = -1;
    }
    free(line);
    fclose(f);
    free(path);
    return rc;
}

static void merge_series(struct run_result *r, json_t *series)
{
    size_t n = json_array_size(series);
    if ((int)n > r->nseries) {
        r->series = realloc(r->series, n * sizeof(*r->series));
        if (!r->series)
            abort();
        memset(r->series + r->nseries, 0, (n - (size_t)r->nseries) * sizeof(*r->series));
        for (size_t i = (size_t)r->nseries; i < n; i++)
            r->series[i].t_s = json_real_value(json_object_get(json_array_get(series, i), "t_s"));
        r->nseries = (int)n;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(series, i);
        struct sample *s = &r->series[i];
        uint64_t p50 = (uint64_t)json_integer_value(json_object_get(m, "p50_ns"));
        uint64_t p99 = (uint64_t)json_integer_value(json_object_get(m, "p99_ns"));
        s->throughput += json_real_value(json_object_get(m, "throughput"));
        s->errors += (uint64_t)json_integer_value(json_object_get(m, "errors"));
        s->p50_ns = p50 > s->p50_ns ? p50 : s->p50_ns;
        s->p99_ns = p99 > s->p99_ns ? p99 : s->p99_ns;
    }
}

/* The load's figures of every shard, as one load's. */
static int merge_totals(const struct scenario *s, const struct merge_plan *pl, const uint64_t *off,
                        struct run_result *r, char *err, size_t len)
{
    struct load_totals *t = &r->load;

    t->nper_req = s->nrequests;
    t->per_req = calloc((size_t)s->nrequests + 1, sizeof(*t->per_req));
    t->latency = hist_new();
    if (!t->per_req || !t->latency)
        abort();
    for (int k = 0; k < s->nrequests; k++) {
        t->per_req[k].label = util_fmt("%s", s->requests[k].label);
        if (!(t->per_req[k].latency = hist_new()))
            abort();
    }
    for (int i = 0; i < pl->n; i++) {
        json_t *load = json_object_get(pl->shard[i], "load");
        json_t *reqs = json_object_get(load, "requests");
        double end = (double)off[i] / (double)NS_PER_S +
                     json_real_value(json_object_get(load, "duration_s"));
        if ((int)json_array_size(reqs) != s->nrequests) {
            snprintf(err, len, "%s/shard.json: %zu request lines, the scenario has %d", pl->dirs[i],
                     json_array_size(reqs), s->nrequests);
            return -1;
        }
        for (int k = 0; k < s->nrequests; k++)
            merge_counts(&t->per_req[k], json_array_get(reqs, (size_t)k));
        if (merge_hists(pl->dirs[i], t, err, len) < 0)
            return -1;
        merge_series(r, json_object_get(load, "series"));
        t->duration_s = end > t->duration_s ? end : t->duration_s;
    }
    for (int k = 0; k < s->nrequests; k++) {
        const struct req_stats *q = &t->per_req[k];
        t->ok += q->ok, t->fail += q->fail, t->info += q->info;
        t->retries += q->retries, t->scenario_info += q->scenario_info;
        hist_merge(t->latency, q->latency);
    }
    t->requests = t->ok + t->fail + t->info;
    return 0;
}

/* Each shard's clock offset: how much later than the first its load
 * began (wall clock; the shards' clocks are taken as synchronised). */
static uint64_t *merge_offsets(const struct merge_plan *pl, double *base)
{
    uint64_t *off = calloc((size_t)pl->n, sizeof(*off));
    if (!off)
        abort();
    *base = 0;
    for (int i = 0; i < pl->n; i++) {
        double t = json_real_value(
            json_object_get(json_object_get(pl->shard[i], "load"), "load_start_unix"));
        if (i == 0 || t < *base)
            *base = t;
    }
    for (int i = 0; i < pl->n; i++) {
        double t = json_real_value(
            json_object_get(json_object_get(pl->shard[i], "load"), "load_start_unix"));
        off[i] = (uint64_t)((t - *base) * (double)NS_PER_S + 0.5);
    }
    return off;
}

/* merge.json: which shards, and the clock offsets applied to their history. */
static void merge_record(const struct merge_plan *pl, const uint64_t *off, double base,
                         const char *out)
{
    json_t *shards = json_array();
    char *path = util_fmt("%s/merge.json", out);
    for (int i = 0; i < pl->n; i++)
        json_array_append_new(shards, json_pack("{s:s, s:O, s:I}", "dir", pl->dirs[i], "shard",
                                                json_object_get(pl->shard[i], "shard"), "offset_ns",
                                                (json_int_t)off[i]));
    json_t *j = json_pack("{s:s, s:I, s:f, s:o}", "scenario", pl->scenario, "seed",
                          (json_int_t)pl->seed, "load_start_unix", base, "shards", shards);
    if (!j || json_dump_file(j, path, JSON_INDENT(1)) < 0)
        fprintf(stderr, "wedge: merge: cannot write %s\n", path);
    json_decref(j);
    free(path);
}

/* HTTP invariants: asked of the shared services now. */
static struct inv_result *merge_http(const struct scenario *s, const struct run_opts *o,
                                     const char *out)
{
    struct rf_ctx c = {.s = s};
    struct inv_result *res;
    char err[1024], *url = NULL;
    int any = 0;

    for (int i = 0; i < s->ninvariants; i++)
        any |= s->invariants[i].kind == SCN_INV_HTTP;
    if (!any || !s->target_is_url)
        return NULL;
    c.exp = (struct exp_ctx){
        .build = util_build_dir(), .dsn = o->dsn, .out = out, .scenario_dir = s->dir, .user = -1};
    if (!(url = exp_expand(s->target, &c.exp, err, sizeof(err)))) {
        fprintf(stderr, "wedge: merge: target: %s\n", err);
        return NULL;
    }
    for (size_t n = strlen(url); n && url[n - 1] == '/';)
        url[--n] = '\0';
    c.base_url = url;
    if (!(res = calloc((size_t)s->ninvariants, sizeof(*res))))
        abort();
    inv_http_eval(s, &c, res);
    free(url);
    return res;
}

static void merge_free(struct run_result *r, struct inv_result *http, int ninv)
{
    for (int k = 0; k < r->load.nper_req; k++) {
        free(r->load.per_req[k].label);
        free(r->load.per_req[k].first_error);
        hist_free(r->load.per_req[k].latency);
    }
    free(r->load.per_req);
    hist_free(r->load.latency);
    inv_results_free(r->inv, r->ninv);
    inv_results_free(http, http ? ninv : 0);
    free(r->series);
    free(r->reproduce);
    free(r->dsn_redacted);
    free(r->error);
}

/* The verdict of the whole: the load's evidence, then verdict.c's rule. */
static void merge_verdict(struct run_result *r, int nrequests, double max_info)
{
    char why[1024];
    struct run_facts f;

    if (!r->error && run_load_unusable(&r->load, nrequests, max_info, why, sizeof(why))) {
        r->error = util_fmt("%s", why);
        r->exit_code = WEDGE_INCONCLUSIVE;
    }
    f = (struct run_facts){
        .inv = r->inv, .ninv = r->ninv, .has_error = r->error != NULL, .error_code = r->exit_code};
    r->exit_code = run_verdict(&f).code;
}

/* The command that merges again: the directories, --dsn (its password
 * masked), --out. */
static char *merge_command(const struct merge_plan *pl, const char *dsn, const char *out)
{
    char *s = util_fmt("wedge merge"), *t, *w;
    for (int i = 0; i <= pl->n + 1; i++) {
        const char *arg = i < pl->n ? pl->dirs[i] : i == pl->n ? dsn : out;
        if (!arg)
            continue;
        w = util_shell_word(arg);
        t = util_fmt("%s%s %s", s, i < pl->n ? "" : i == pl->n ? " --dsn" : " --out", w);
        free(w);
        free(s);
        s = t;
    }
    return s;
}

int run_merge(struct run_state *st, const struct merge_plan *pl, const char *out)
{
    const struct scenario *s = st->scn;
    struct run_result r = {.scn = s, .seed = pl->seed, .started_unix = util_wall_s()};
    char err[2048], *history = util_fmt("%s/history.jsonl", out);
    struct inv_result *http = NULL;
    double base;
    uint64_t *off = merge_offsets(pl, &base);

    r.out_dir = (char *)out;
    r.dsn_redacted = st->o->dsn ? redact_conninfo_dup(st->o->dsn) : NULL;
    r.reproduce = merge_command(pl, r.dsn_redacted, out);
    if (util_mkdir_p(out, 0755) < 0 || merge_history(pl, off, history, err, sizeof(err)) < 0 ||
        merge_totals(s, pl, off, &r, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: merge: %s\n", err);
        r.exit_code = WEDGE_USAGE;
        goto out;
    }
    r.load.load_start_unix = base;
    merge_record(pl, off, base, out);
    http = merge_http(s, st->o, out);
    {
        struct inv_inputs in = {st->o->dsn, history, &r.load, http};
        if (inv_eval_all(s, &in, &r.inv, &r.ninv, err, sizeof(err)) < 0) {
            r.error = util_fmt("invariants: %s", err);
            r.exit_code = WEDGE_INCONCLUSIVE;
        }
    }
    merge_verdict(&r, s->nrequests, s->max_info);
    if (report_write(&r, err, sizeof(err)) < 0)
        fprintf(stderr, "wedge: report: %s\n", err);
    printf("wedge: merge: %s  seed %" PRIu64 "  %d shards  %.1fs  %" PRIu64 " requests (%" PRIu64
           " ok, %" PRIu64 " fail, %" PRIu64 " info, %" PRIu64 " retries)\n",
           s->name, pl->seed, pl->n, r.load.duration_s, r.load.requests, r.load.ok, r.load.fail,
           r.load.info, r.load.retries);
    run_print_inv(r.inv, r.ninv);
    if (r.error)
        printf("  inconclusive: %.*s\n", (int)strcspn(r.error, "\n"), r.error);
    printf("wedge: report: %s/report.md\n", out);
    fflush(stdout);
out:
    merge_free(&r, http, s->ninvariants);
    free(off);
    free(history);
    return r.exit_code;
}

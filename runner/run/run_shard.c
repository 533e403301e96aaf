/*
 * run_shard.c - one shard of a run (wedge run --shard I/N): the I-th share
 * of the users (load.h: their global numbers, the iterations' share, the
 * open model's arrivals I, I+N...) against services and a database the
 * shards share and none of them starts or prepares.  A shard judges only
 * what its own share can tell (history invariants and thresholds, as
 * every sharded load tool does), and leaves in its directory what wedge
 * merge needs to judge the whole once (run_merge.c):
 *
 *   shard.json    the scenario, overrides, seed, I/N, the load's start on
 *                 the wall clock, each request line's counters, the series
 *   latency.hist  each request line's exact histogram (hist_save), a line each
 *   history.jsonl as any run's
 */
#include "inv.h"
#include "run_int.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int run_shard_setup(struct run_one *p)
{
    const struct run_opts *o = p->st->o;
    const struct scenario *s = p->st->scn;

    if (s->uses_db && !o->dsn) {
        run_err(p, WEDGE_USAGE,
                "--shard: the shards share one database: give it with --dsn (prepared once "
                "with the scenario's schema and fixtures; no shard changes it)");
        return -1;
    }
    if (s->nrequests && !s->target_is_url) {
        run_err(p, WEDGE_USAGE,
                "--shard: the shards send to services none of them starts: give the target's "
                "URL (--set workload.target=http://HOST:PORT)");
        return -1;
    }
    if (o->dsn)
        snprintf(p->dsn, sizeof(p->dsn), "%s", o->dsn);
    return 0;
}

void run_shard_judge(struct run_one *p)
{
    struct scenario own = *p->st->scn;
    char err[2048], *history = util_fmt("%s/history.jsonl", p->out_dir);
    struct inv_inputs in = {NULL, history, p->r.load.latency ? &p->r.load : NULL, NULL};

    /* SQL and HTTP invariants are about the shared state, which the other
     * shards still change: wedge merge asks them once, at the end. */
    own.invariants = calloc((size_t)own.ninvariants + 1, sizeof(*own.invariants));
    if (!own.invariants)
        abort();
    own.ninvariants = 0;
    for (int i = 0; i < p->st->scn->ninvariants; i++) {
        const struct scn_invariant *v = &p->st->scn->invariants[i];
        if (v->kind == SCN_INV_HISTORY || v->kind == SCN_INV_THRESHOLD)
            own.invariants[own.ninvariants++] = *v;
    }
    if (inv_eval_all(&own, &in, &p->r.inv, &p->r.ninv, err, sizeof(err)) < 0)
        run_err(p, WEDGE_INCONCLUSIVE, "invariants: %s", err);
    free(own.invariants);
    free(history);
}

/* The command line's values, as given, for wedge merge to load the same
 * scenario. */
static json_t *run_shard_opts(const struct run_opts *o)
{
    json_t *j = json_object(), *sets = json_array();
    const char *given[][2] = {{"duration", o->duration},
                              {"users", o->users},
                              {"rate", o->rate},
                              {"iterations", o->iterations},
                              {"max_tries", o->max_tries}};
    char path[PATH_MAX];

    json_object_set_new(j, "scenario", json_string(realpath(o->path, path) ? path : o->path));
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
        if (given[i][1])
            json_object_set_new(j, given[i][0], json_string(given[i][1]));
    for (int i = 0; i < o->nsets; i++)
        json_array_append_new(sets, json_string(o->sets[i]));
    json_object_set_new(j, "sets", sets);
    return j;
}

static json_t *run_shard_load(const struct run_one *p)
{
    const struct load_totals *t = &p->r.load;
    json_t *reqs = json_array(), *series = json_array();

    for (int k = 0; k < t->nper_req; k++) {
        const struct req_stats *q = &t->per_req[k];
        json_array_append_new(
            reqs, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s?}", "label", q->label, "ok",
                            (json_int_t)q->ok, "fail", (json_int_t)q->fail, "info",
                            (json_int_t)q->info, "retries", (json_int_t)q->retries, "scenario_info",
                            (json_int_t)q->scenario_info, "first_error", q->first_error));
    }
    for (int i = 0; i < p->r.nseries; i++) {
        const struct sample *m = &p->r.series[i];
        json_array_append_new(series,
                              json_pack("{s:f, s:f, s:I, s:I, s:I}", "t_s", m->t_s, "throughput",
                                        m->throughput, "p50_ns", (json_int_t)m->p50_ns, "p99_ns",
                                        (json_int_t)m->p99_ns, "errors", (json_int_t)m->errors));
    }
    return json_pack("{s:f, s:f, s:o, s:o}", "load_start_unix", t->load_start_unix, "duration_s",
                     t->duration_s, "requests", reqs, "series", series);
}

/* latency.hist: request line k's histogram on line k + 1. */
static int run_shard_hists(const struct run_one *p, const char *path)
{
    FILE *f = fopen(path, "we");
    int rc = 0;
    if (!f)
        return -1;
    for (int k = 0; k < p->r.load.nper_req; k++)
        rc |= hist_save(p->r.load.per_req[k].latency, f);
    return fclose(f) || rc ? -1 : 0;
}

void run_shard_write(struct run_one *p)
{
    const struct run_opts *o = p->st->o;
    char *path = util_fmt("%s/shard.json", p->out_dir);
    char *hists = util_fmt("%s/latency.hist", p->out_dir);
    json_t *j = json_pack("{s:i, s:I, s:i, s:i, s:o, s:o}", "wedge_shard", 1, "seed",
                          (json_int_t)p->seed, "shard", (int)o->shard_index, "shards",
                          (int)o->shard_count, "run", run_shard_opts(o), "load", run_shard_load(p));

    if (!j)
        abort();
    if (run_shard_hists(p, hists) < 0 || json_dump_file(j, path, JSON_INDENT(1)) < 0)
        run_err(p, WEDGE_INCONCLUSIVE, "--shard: cannot write %s: %s", path, strerror(errno));
    json_decref(j);
    free(path);
    free(hists);
}

/*
 * report.c - the files of a run: summary.json, junit.xml, report.md,
 * report.html and latency.hgrm, written from a struct run_result plus
 * what the run left in its directory (history.jsonl, traces/).  Here:
 * summary.json, junit.xml, latency.hgrm and report_write; report_trace.c
 * reads the traces, report_md.c writes report.md, html_*.c report.html
 * (from the files written before it), report_base.c holds the atomic
 * files and figures they all use.
 *
 * Each file is written to NAME.tmp and renamed into place, so a reader
 * (CI, a person, a second wedge) never sees half a report.  The traces and
 * the history can be large: they are streamed, never loaded whole.
 */
#include "report.h"
#include "report_int.h"
#include "timeunit.h"
#include "util.h"
#include "wedge_exit.h"
#include "xmlw.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * summary.json
 * ------------------------------------------------------------ */
static const char *rep_status_name(enum inv_status s)
{
    return s == INV_PASSED ? "passed" : s == INV_FAILED ? "failed" : "error";
}

static json_t *rep_jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *rep_latency_json(const struct hist *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer(h ? (json_int_t)hist_count(h) : 0));
    json_object_set_new(o, "mean", json_real(h ? hist_mean(h) / (double)NS_PER_MS : 0));
    json_object_set_new(o, "p50", json_real(h ? hist_percentile(h, 50) / (double)NS_PER_MS : 0));
    json_object_set_new(o, "p90", json_real(h ? hist_percentile(h, 90) / (double)NS_PER_MS : 0));
    json_object_set_new(o, "p99", json_real(h ? hist_percentile(h, 99) / (double)NS_PER_MS : 0));
    json_object_set_new(o, "p99.9",
                        json_real(h ? hist_percentile(h, 99.9) / (double)NS_PER_MS : 0));
    json_object_set_new(o, "max", json_real(h ? hist_max(h) / (double)NS_PER_MS : 0));
    return o;
}

/* The run's identity, verdict, clocks and totals (summary.json's head). */
static void rep_summary_head(json_t *o, const struct run_result *r)
{
    json_t *totals = json_object();
    char seed[32], started[64];

    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)r->seed);
    rep_iso_time(r->started_unix, started, sizeof(started));
    json_object_set_new(o, "scenario", rep_jstr(r->scn ? r->scn->name : NULL));
    json_object_set_new(o, "scenario_file", rep_jstr(r->scn ? r->scn->path : NULL));
    json_object_set_new(o, "description", rep_jstr(r->scn ? r->scn->description : NULL));
    json_object_set_new(o, "seed", json_string(seed)); /* 64 bits: exact as a string */
    json_object_set_new(o, "reproduce", rep_jstr(r->reproduce));
    json_object_set_new(o, "database", rep_jstr(r->dsn_redacted));
    json_object_set_new(o, "embedded_pg", json_boolean(r->embedded_pg));
    json_object_set_new(o, "exit_code", json_integer(r->exit_code));
    json_object_set_new(o, "verdict", json_string(rep_verdict(r->exit_code)));
    json_object_set_new(o, "error", rep_jstr(r->error));
    json_object_set_new(o, "started", json_string(started));
    json_object_set_new(o, "started_unix", json_real(r->started_unix));
    json_object_set_new(o, "load_start_unix", json_real(rep_load_start(r)));
    json_object_set_new(o, "duration_s", json_real(r->load.duration_s));
    json_object_set_new(totals, "requests", json_integer((json_int_t)r->load.requests));
    json_object_set_new(totals, "ok", json_integer((json_int_t)r->load.ok));
    json_object_set_new(totals, "fail", json_integer((json_int_t)r->load.fail));
    json_object_set_new(totals, "info", json_integer((json_int_t)r->load.info));
    json_object_set_new(totals, "retries", json_integer((json_int_t)r->load.retries));
    json_object_set_new(o, "totals", totals);
    json_object_set_new(o, "throughput", json_real(rep_throughput(r, r->load.requests)));
    json_object_set_new(o, "latency_ms", rep_latency_json(r->load.latency));
}

/* "requests": one entry per request class of the mix. */
static json_t *rep_requests_json(const struct run_result *r)
{
    json_t *a = json_array();

    for (int i = 0; i < r->load.nper_req; i++) {
        const struct req_stats *q = &r->load.per_req[i];
        json_t *e = json_object();
        json_object_set_new(e, "label", rep_jstr(q->label));
        json_object_set_new(e, "ok", json_integer((json_int_t)q->ok));
        json_object_set_new(e, "fail", json_integer((json_int_t)q->fail));
        json_object_set_new(e, "info", json_integer((json_int_t)q->info));
        json_object_set_new(e, "retries", json_integer((json_int_t)q->retries));
        json_object_set_new(e, "throughput",
                            json_real(rep_throughput(r, q->ok + q->fail + q->info)));
        json_object_set_new(e, "latency_ms", rep_latency_json(q->latency));
        json_array_append_new(a, e);
    }
    return a;
}

/* "series": the time series, one sample per interval. */
static json_t *rep_series_json(const struct run_result *r)
{
    json_t *a = json_array();

    for (int i = 0; i < r->nseries; i++) {
        const struct sample *s = &r->series[i];
        json_t *e = json_object();
        json_object_set_new(e, "t_s", json_real(s->t_s));
        json_object_set_new(e, "throughput", json_real(s->throughput));
        json_object_set_new(e, "p50_ms", json_real(s->p50_ns / (double)NS_PER_MS));
        json_object_set_new(e, "p99_ms", json_real(s->p99_ns / (double)NS_PER_MS));
        json_object_set_new(e, "errors", json_integer((json_int_t)s->errors));
        json_object_set_new(e, "injections", json_integer((json_int_t)s->injections));
        json_object_set_new(e, "rss_kb", json_integer(s->rss_kb));
        json_array_append_new(a, e);
    }
    return a;
}

/* "invariants": each with its status, expected and actual values. */
static json_t *rep_invariants_json(const struct run_result *r)
{
    json_t *a = json_array();

    for (int i = 0; i < r->ninv; i++) {
        const struct inv_result *v = &r->inv[i];
        json_t *e = json_object();
        json_object_set_new(e, "name", rep_jstr(v->name));
        json_object_set_new(e, "status", json_string(rep_status_name(v->status)));
        json_object_set_new(e, "expected", rep_jstr(v->expected));
        json_object_set_new(e, "actual", rep_jstr(v->actual));
        json_object_set_new(e, "detail", rep_jstr(v->detail));
        if (v->has_at) /* the request that broke it: its t_ns in history.jsonl */
            json_object_set_new(e, "at_t_ns", json_integer((json_int_t)v->at_t_ns));
        json_array_append_new(a, e);
    }
    return a;
}

/* One process's rules as the scenario wrote them (a rules file's text
 * read back, at most REP_RULES_MAX bytes), for report.html's interleaving. */
#define REP_RULES_MAX 65536
static void rep_rules_entry(json_t *a, const char *process, const char *rules, const char *file)
{
    json_t *e;
    char *text = NULL;
    size_t len = 0;
    if (!rules && !file)
        return;
    if (file)
        text = util_read_file(file, &len);
    e = json_pack("{s:s,s:s%}", "process", process, "rules",
                  rules  ? rules
                  : text ? text
                         : "",
                  rules                 ? strlen(rules)
                  : len < REP_RULES_MAX ? len
                                        : REP_RULES_MAX);
    if (e && file)
        json_object_set_new(e, "rules_file", json_string(file));
    if (e)
        json_array_append_new(a, e);
    free(text);
}

/* "rules": every process's rules, the scenario's first. */
static json_t *rep_rules_json(const struct run_result *r)
{
    json_t *a = json_array();
    const struct scenario *s = r->scn;
    char name[256];
    if (!s)
        return a;
    rep_rules_entry(a, "every process", s->rules, NULL);
    for (int i = 0; i < s->nservices; i++) {
        snprintf(name, sizeof(name), "service %s", s->services[i].name);
        rep_rules_entry(a, name, s->services[i].rules, s->services[i].rules_file);
    }
    for (int i = 0; i < s->njobs; i++) {
        snprintf(name, sizeof(name), "job %s", s->jobs[i].name);
        rep_rules_entry(a, name, s->jobs[i].rules, s->jobs[i].rules_file);
    }
    return a;
}

/* "injections": the total and one entry per rule, from the traces. */
static json_t *rep_injections_json(const struct rep_inj *inj)
{
    json_t *o = json_object(), *a = json_array();

    json_object_set_new(o, "total", json_integer((json_int_t)inj->total));
    for (int i = 0; i < inj->nrules; i++) {
        const struct rep_rule *q = &inj->rules[i];
        json_t *e = json_object(), *ex = json_array();
        json_object_set_new(e, "rule", json_string(q->name));
        json_object_set_new(e, "action", json_string(q->action));
        json_object_set_new(e, "hooks", json_string(q->hook));
        json_object_set_new(e, "fires", json_integer((json_int_t)q->fires));
        json_object_set_new(e, "released", json_integer((json_int_t)q->released));
        json_object_set_new(e, "timeout", json_integer((json_int_t)q->timeout));
        json_object_set_new(e, "error", json_integer((json_int_t)q->error));
        json_object_set_new(e, "waited_ms", json_real(q->waited_ns / (double)NS_PER_MS));
        for (int j = 0; j < q->nexamples; j++)
            json_array_append_new(ex, json_string(q->examples[j]));
        json_object_set_new(e, "examples", ex);
        json_array_append_new(a, e);
    }
    json_object_set_new(o, "rules", a);
    return o;
}

/* summary.json (docs/cli.md lists its members), in this order. */
static json_t *rep_summary_json(const struct run_result *r, const struct rep_inj *inj)
{
    json_t *o = json_object();
    int passed, failed, errors;

    rep_counts(r, &passed, &failed, &errors);
    rep_summary_head(o, r);
    json_object_set_new(o, "requests", rep_requests_json(r));
    json_object_set_new(o, "series", rep_series_json(r));
    json_object_set_new(o, "invariants", rep_invariants_json(r));
    json_object_set_new(o, "passed", json_integer(passed));
    json_object_set_new(o, "failed", json_integer(failed + errors));
    json_object_set_new(o, "injections", rep_injections_json(inj));
    json_object_set_new(o, "rules", rep_rules_json(r));
    return o;
}

static int rep_write_summary(const struct run_result *r, const struct rep_inj *inj, char *err,
                             size_t errlen)
{
    struct rep_file rf;
    json_t *o = rep_summary_json(r, inj);
    char *text = NULL;
    int rc = -1;
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (!text) {
        snprintf(err, errlen, "cannot encode summary.json");
    } else if (rep_open(&rf, r->out_dir, "summary.json", err, errlen) == 0) {
        fputs(text, rf.f);
        fputc('\n', rf.f);
        rc = rep_close(&rf, err, errlen);
    }
    free(text);
    json_decref(o);
    return rc;
}

/* ---------------------------------------------------------------
 * junit.xml
 * ------------------------------------------------------------ */
static int rep_write_junit(const struct run_result *r, char *err, size_t errlen)
{
    struct rep_file rf;
    const char *name = r->scn && r->scn->name ? r->scn->name : "wedge";
    char started[64], *classname = NULL;
    struct rep_suite s;

    if (rep_open(&rf, r->out_dir, "junit.xml", err, errlen))
        return -1;
    rep_iso_time(r->started_unix, started, sizeof(started));
    started[19] = '\0'; /* JUnit timestamps carry no zone or fraction */
    if (asprintf(&classname, "wedge.%s", name) < 0)
        classname = NULL;
    s = (struct rep_suite){name,
                           classname ? classname : "wedge",
                           (unsigned long long)r->seed,
                           r->reproduce,
                           r->error,
                           r->load.duration_s,
                           started,
                           r->inv,
                           r->ninv};
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", rf.f);
    rep_junit_suite(rf.f, &s);
    fputs("</testsuites>\n", rf.f);
    free(classname);
    return rep_close(&rf, err, errlen);
}

static int rep_write_hgrm(const struct run_result *r, char *err, size_t errlen)
{
    struct rep_file rf;
    struct hist *empty = NULL;
    if (rep_open(&rf, r->out_dir, "latency.hgrm", err, errlen))
        return -1;
    if (!r->load.latency)
        empty = hist_new();
    if (r->load.latency || empty)
        hist_write_hgrm(r->load.latency ? r->load.latency : empty, rf.f);
    hist_free(empty);
    return rep_close(&rf, err, errlen);
}

int report_write(const struct run_result *r, char *err, size_t errlen)
{
    struct rep_inj *inj = calloc(1, sizeof(*inj));
    int rc = -1;
    if (!inj) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rep_each_event(r->out_dir, rep_inj_event, rep_inj_wanted, inj);
    if (rep_write_summary(r, inj, err, errlen) || rep_write_junit(r, err, errlen) ||
        rep_write_md(r, inj, err, errlen) || rep_write_hgrm(r, err, errlen) ||
        report_html_write(r->out_dir, err, errlen))
        goto out;
    rc = 0;
out:
    rep_inj_free(inj);
    free(inj);
    return rc;
}

/*
 * report_runs.c - the combined files of a set of runs (--repeat N, or
 * several scenarios): one junit.xml with a testsuite per run, named by
 * scenario and seed, and a testcase per invariant; one summary.json with
 * each run's outcome and each invariant's counts over the runs.  Both are
 * made from what each run wrote (its summary.json), so they say exactly
 * what the runs' own files say.
 */
#include "report.h"
#include "report_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *rep_s(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : NULL;
}

/* A run's summary.json, or a stand-in for a run that wrote none. */
static json_t *rep_run_doc(const struct report_run *r)
{
    char *path = NULL;
    json_t *doc = NULL;
    if (asprintf(&path, "%s/summary.json", r->dir) >= 0)
        doc = json_load_file(path, 0, NULL);
    free(path);
    if (json_is_object(doc))
        return doc;
    json_decref(doc);
    return json_pack("{s:s,s:s,s:[],s:s}", "scenario", r->scenario, "scenario_file", r->path,
                     "invariants", "error",
                     r->exit_code == 2 ? "the scenario or its set-up is at fault (exit 2): see "
                                         "the messages of the run"
                                       : "the run wrote no summary.json");
}

/* The invariants of a run's summary as inv_results (strings borrowed). */
static struct inv_result *rep_run_invs(json_t *doc, int *n)
{
    json_t *a = json_object_get(doc, "invariants"), *e;
    struct inv_result *v = calloc(json_array_size(a) + 1, sizeof(*v));
    size_t i;
    *n = 0;
    if (!v)
        return NULL;
    json_array_foreach(a, i, e)
    {
        const char *st = rep_s(e, "status");
        v[*n].name = (char *)rep_s(e, "name");
        v[*n].status = !st                     ? INV_ERROR
                       : !strcmp(st, "passed") ? INV_PASSED
                       : !strcmp(st, "failed") ? INV_FAILED
                                               : INV_ERROR;
        v[*n].expected = (char *)rep_s(e, "expected");
        v[*n].actual = (char *)rep_s(e, "actual");
        v[*n].detail = (char *)rep_s(e, "detail");
        (*n)++;
    }
    return v;
}

/* ---------------------------------------------------------------
 * junit.xml
 * ------------------------------------------------------------ */
static void rep_runs_suite(FILE *f, const struct report_run *r, json_t *doc, int *t, int *fl,
                           int *er)
{
    char name[512], cls[512], stamp[64];
    const char *started = rep_s(doc, "started"), *error = rep_s(doc, "error");
    struct inv_result *inv;
    struct rep_suite s;
    int n, tests, failures, errors;

    snprintf(name, sizeof(name), "%s seed %llu", r->scenario, (unsigned long long)r->seed);
    snprintf(cls, sizeof(cls), "wedge.%s.seed-%llu", r->scenario, (unsigned long long)r->seed);
    snprintf(stamp, sizeof(stamp), "%.19s", started ? started : "1970-01-01T00:00:00");
    inv = rep_run_invs(doc, &n);
    s = (struct rep_suite){name,
                           cls,
                           (unsigned long long)r->seed,
                           rep_s(doc, "reproduce"),
                           error              ? error
                           : r->exit_code > 1 ? "the run could not conclude"
                                              : NULL,
                           json_number_value(json_object_get(doc, "duration_s")),
                           stamp,
                           inv,
                           inv ? n : 0};
    rep_junit_suite(f, &s);
    rep_junit_counts(&s, &tests, &failures, &errors);
    *t += tests, *fl += failures, *er += errors;
    free(inv);
}

static int rep_runs_junit(const char *out, const struct report_run *runs, json_t **docs, int n,
                          char *err, size_t errlen)
{
    struct rep_file rf;
    char *body = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&body, &len);
    int tests = 0, failures = 0, errors = 0;

    if (!mem) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        rep_runs_suite(mem, &runs[i], docs[i], &tests, &failures, &errors);
    fclose(mem);
    if (rep_open(&rf, out, "junit.xml", err, errlen)) {
        free(body);
        return -1;
    }
    fprintf(rf.f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"wedge\" tests=\"%d\" "
            "failures=\"%d\" errors=\"%d\">\n%s</testsuites>\n",
            tests, failures, errors, body ? body : "");
    free(body);
    return rep_close(&rf, err, errlen);
}

/* ---------------------------------------------------------------
 * summary.json
 * ------------------------------------------------------------ */
static json_t *rep_runs_entry(const char *out, const struct report_run *r, json_t *doc)
{
    json_t *e = json_object(), *invs = json_array(), *v;
    size_t i, len = strlen(out);
    char seed[32];

    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)r->seed);
    json_object_set_new(e, "scenario", json_string(r->scenario));
    json_object_set_new(e, "scenario_file", json_string(r->path));
    json_object_set_new(e, "seed", json_string(seed));
    json_object_set_new(e, "dir", json_string(r->dir));
    /* relative to the set's directory too, so its report still finds the
     * run after the directory is copied or moved (CI artifacts) */
    if (!strncmp(r->dir, out, len) && r->dir[len] == '/' && r->dir[len + 1])
        json_object_set_new(e, "subdir", json_string(r->dir + len + 1));
    json_object_set_new(e, "exit_code", json_integer(r->exit_code));
    json_object_set_new(e, "verdict", json_string(rep_verdict(r->exit_code)));
    json_object_set(e, "error", json_object_get(doc, "error") ?: json_null());
    json_object_set(e, "reproduce", json_object_get(doc, "reproduce") ?: json_null());
    json_object_set(e, "duration_s", json_object_get(doc, "duration_s") ?: json_real(0));
    json_object_set(e, "totals", json_object_get(doc, "totals") ?: json_object());
    json_array_foreach(json_object_get(doc, "invariants"), i, v)
    {
        json_array_append_new(invs,
                              json_pack("{s:O?,s:O?,s:O?,s:O?}", "name", json_object_get(v, "name"),
                                        "status", json_object_get(v, "status"), "expected",
                                        json_object_get(v, "expected"), "actual",
                                        json_object_get(v, "actual")));
    }
    json_object_set_new(e, "invariants", invs);
    return e;
}

/* Count invariant v of run r into the per-invariant table. */
static void rep_runs_count(json_t *table, const struct report_run *r, json_t *v)
{
    const char *name = rep_s(v, "name"), *st = rep_s(v, "status");
    json_t *row = NULL, *e;
    size_t i;
    char seed[32];

    json_array_foreach(table, i, e)
    {
        if (!strcmp(rep_s(e, "scenario"), r->scenario) && name && !strcmp(rep_s(e, "name"), name))
            row = e;
    }
    if (!row) {
        row = json_pack("{s:s,s:s,s:i,s:i,s:i,s:[]}", "scenario", r->scenario, "name",
                        name ? name : "", "passed", 0, "failed", 0, "error", 0, "failed_seeds");
        json_array_append_new(table, row);
    }
    st = st && (!strcmp(st, "passed") || !strcmp(st, "failed")) ? st : "error";
    json_object_set_new(row, st, json_integer(json_integer_value(json_object_get(row, st)) + 1));
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)r->seed);
    if (!strcmp(st, "failed"))
        json_array_append_new(json_object_get(row, "failed_seeds"), json_string(seed));
}

static int rep_runs_summary(const char *out, const struct report_run *runs, json_t **docs, int n,
                            int exit_code, char *err, size_t errlen)
{
    json_t *o = json_object(), *list = json_array(), *table = json_array(), *v;
    struct rep_file rf;
    int passed = 0, failed = 0, rc = -1;
    char *text;
    size_t k;

    for (int i = 0; i < n; i++) {
        json_array_append_new(list, rep_runs_entry(out, &runs[i], docs[i]));
        json_array_foreach(json_object_get(docs[i], "invariants"), k, v)
        {
            rep_runs_count(table, &runs[i], v);
            passed += !strcmp(rep_s(v, "status") ?: "", "passed");
            failed += strcmp(rep_s(v, "status") ?: "", "passed") != 0;
        }
    }
    json_object_set_new(o, "kind", json_string("runs"));
    json_object_set_new(o, "exit_code", json_integer(exit_code));
    json_object_set_new(o, "verdict", json_string(rep_verdict(exit_code)));
    json_object_set_new(o, "runs", list);
    json_object_set_new(o, "invariants", table);
    json_object_set_new(o, "passed", json_integer(passed));
    json_object_set_new(o, "failed", json_integer(failed));
    text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (text && rep_open(&rf, out, "summary.json", err, errlen) == 0) {
        fprintf(rf.f, "%s\n", text);
        rc = rep_close(&rf, err, errlen);
    } else if (!text) {
        snprintf(err, errlen, "cannot encode summary.json");
    }
    free(text);
    json_decref(o);
    return rc;
}

int report_combined(const char *out_dir, const struct report_run *runs, int n, int exit_code,
                    char *err, size_t errlen)
{
    json_t **docs = calloc((size_t)n + 1, sizeof(*docs));
    int rc = -1;

    if (!docs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        docs[i] = rep_run_doc(&runs[i]);
    if (rep_runs_junit(out_dir, runs, docs, n, err, errlen) == 0 &&
        rep_runs_summary(out_dir, runs, docs, n, exit_code, err, errlen) == 0)
        rc = 0;
    for (int i = 0; i < n; i++)
        json_decref(docs[i]);
    free(docs);
    return rc;
}

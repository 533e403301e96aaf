/*
 * report_int.h - what the writers of a run's files share (internal to
 * report.c, report_trace.c and report_md.c): limits, atomic files, the
 * merged shim traces and the injection table.
 */
#ifndef WEDGE_REPORT_INT_H
#define WEDGE_REPORT_INT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

#define REP_MAX_RULES    64  /* rules in the injection table */
#define REP_MAX_EXAMPLES 3   /* example details per rule */
#define REP_MAX_CLASSES  32  /* error classes in report.md */
#define REP_BEFORE       20  /* timeline events up to the anchor */
#define REP_AFTER        10  /* and after it */
#define REP_TEXT         200 /* characters of one timeline line */

struct rep_file {
    FILE *f;
    char tmp[4096], path[4096];
};

/* The injection table: one row per rule. */
struct rep_rule {
    char name[64], action[32], hook[64];
    uint64_t fires, released, timeout, error, waited_ns;
    char *examples[REP_MAX_EXAMPLES];
    int nexamples;
};

struct rep_inj {
    struct rep_rule rules[REP_MAX_RULES];
    int nrules;
    uint64_t total;
    uint64_t last_ts_ns; /* realtime of the last fire */
};

/* Atomic files: write DIR/.NAME.tmp, rename it to DIR/NAME on close;
 * -1 with err (the temporary removed). */
int rep_open(struct rep_file *rf, const char *dir, const char *name, char *err, size_t errlen);
int rep_close(struct rep_file *rf, char *err, size_t errlen);
/* Wall clock of t_ns = 0 in history.jsonl (r->load_start_unix), else
 * the start of the run. */
double rep_load_start(const struct run_result *r);
/* Summary figures shared by summary.json and report.md. */
void rep_iso_time(double unix_s, char *buf, size_t len);
double rep_throughput(const struct run_result *r, uint64_t n);
int rep_counts(const struct run_result *r, int *passed, int *failed, int *errors);
/* summary.json's "verdict" of exit code code, a run's or several runs':
 * passed (0), failed (1), error (2: could not run), inconclusive (3). */
const char *rep_verdict(int code);
/* Traces (report_trace.c): fn(event, arg) for every injection line of
 * OUT/traces/trace.*.jsonl, in file order; want (may be NULL) looks at the
 * raw line first and 0 skips parsing it. */
void rep_each_event(const char *out_dir, void (*fn)(json_t *ev, void *arg),
                    int (*want)(const char *line, void *arg), void *arg);
/* A member of a trace event: "" / 0 when missing. */
const char *rep_str(json_t *o, const char *key);
uint64_t rep_u64(json_t *o, const char *key);
/* The injection table: rep_each_event(out, rep_inj_event, rep_inj_wanted,
 * inj) fills it; rep_inj_free releases its examples. */
void rep_inj_event(json_t *e, void *arg);
int rep_inj_wanted(const char *line, void *arg);
void rep_inj_free(struct rep_inj *inj);
/* One JUnit <testsuite> (report_junit.c): a run's invariants. */
struct rep_suite {
    const char *name;      /* the testsuite's: "oversell", "oversell seed 42" */
    const char *classname; /* the testcases': "wedge.oversell" */
    unsigned long long seed;
    const char *reproduce;
    const char *error; /* why the run was inconclusive, or NULL */
    double duration_s;
    const char *timestamp; /* YYYY-mm-ddTHH:MM:SS (UTC, as JUnit has it) */
    const struct inv_result *inv;
    int ninv;
};
void rep_junit_suite(FILE *f, const struct rep_suite *s);
void rep_junit_counts(const struct rep_suite *s, int *tests, int *failures, int *errors);

/* report.md (report_md.c). */
int rep_write_md(const struct run_result *r, const struct rep_inj *inj, char *err, size_t errlen);

#endif

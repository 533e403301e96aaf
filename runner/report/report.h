/*
 * report.h - the outcome of one run and the files written from it.
 *
 * Outputs (an interface, design: "Outputs") in the run's directory:
 * summary.json, junit.xml, report.md, report.html, latency.hgrm; history.jsonl and the
 * shim traces (trace.PID.jsonl, under traces/) are written during the run
 * and read back here for the report's injections and timeline.
 */
#ifndef WEDGE_REPORT_H
#define WEDGE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "hist.h"
#include "load.h"
#include "scn.h"

enum inv_status { INV_PASSED, INV_FAILED, INV_ERROR /* could not evaluate */ };

struct inv_result {
    char *name;
    enum inv_status status;
    char *expected; /* "true", "no rows", "ok POST /orders <= 10" */
    char *actual;   /* "false", "3 rows", "12" */
    char *detail;   /* offending rows / service log tail / job output; may be NULL */
    /* When one request broke it (history invariants with an upper bound):
     * has_at = 1 and at_t_ns = that request's t_ns in history.jsonl; the
     * report centres its timeline there.  0: no single request. */
    int has_at;
    uint64_t at_t_ns;
    /* A measurement (thresholds, HTTP invariants): actual is worth showing
     * when it passed too. */
    int measured;
};

/* A point of the time series (one per sample interval). */
struct sample {
    double t_s;        /* since load start */
    double throughput; /* requests/s in the interval */
    uint64_t p50_ns, p99_ns;
    uint64_t errors;     /* failed requests in the interval */
    uint64_t injections; /* shim fires in the interval (from traces) */
    long rss_kb;         /* sum of the services' resident memory */
};

struct run_result {
    const struct scenario *scn;
    char *out_dir;
    uint64_t seed;
    char *reproduce;            /* the exact command that replays this run */
    const char *reproduce_note; /* NULL, or what to fill in (a masked password) */
    char *dsn_redacted;
    int embedded_pg; /* 1 on the throwaway cluster */
    int exit_code;   /* 0 / 1 / 3 (2 never gets this far) */
    char *error;     /* why inconclusive, or NULL */

    double started_unix;     /* wall clock at start */
    struct load_totals load; /* what the load did (load_collect) */
    struct sample *series;
    int nseries;

    struct inv_result *inv;
    int ninv;
};

/* Write summary.json, junit.xml, report.md and latency.hgrm into
 * r->out_dir.  Reads history.jsonl and traces/ from there for the injection
 * table and the timeline around the first violation.  -1 with err on an I/O
 * error. */
int report_write(const struct run_result *r, char *err, size_t errlen);

/* One run of a set (--repeat N, several scenarios), for the combined files. */
struct report_run {
    const char *dir;      /* its output directory (its summary.json, if it got that far) */
    const char *scenario; /* the scenario's name */
    const char *path;     /* its file */
    uint64_t seed;
    int exit_code;
};

/* The combined files of a set of runs, written into out_dir from what each
 * run wrote: junit.xml (a testsuite per run, named "SCENARIO seed N", a
 * testcase per invariant, an error testcase "run" for a run that could
 * not conclude) and summary.json ({"kind":"runs", exit_code, verdict,
 * runs: [...], invariants: [{scenario, name, passed, failed, error,
 * failed_seeds}], passed, failed}).  exit_code: the set's.  -1 with err on
 * an I/O error. */
int report_combined(const char *out_dir, const struct report_run *runs, int n, int exit_code,
                    char *err, size_t errlen);

/* report.html in dir, drawn from the files there (report_html.h): the page
 * of a run (summary.json of `wedge run`), of a set of runs (outcomes.tsv,
 * or a summary.json with "runs"), of a hunt ("command": "hunt") or of the
 * isolation matrix ("specs").  Written atomically; -1 with err when dir
 * holds none of these or on an I/O error.  Not thread-safe (one page at a
 * time per process). */
int report_html_write(const char *dir, char *err, size_t errlen);

/* `wedge report --svg KIND IN`: one figure as a standalone SVG file, drawn
 * by the code that draws report.html's (svg.h).  KIND: "series" (IN a
 * run's summary.json: throughput, p99 and RSS panels) or "bars" (IN a
 * figure document: {"title", "panels": [{"title", "unit", "percent",
 * "max", "groups": [...], "keys": [...], "values": [[...]...]}]}).  -1
 * with err naming IN and what is wrong. */
int report_svg(const char *kind, const char *in, FILE *out, char *err, size_t errlen);

/* Merge the shim traces under dir: number of fires in total and per rule
 * (a small JSON-able summary), used by the progress line too. */
uint64_t report_count_fires(const char *trace_dir);

/*
 * history.jsonl, one JSON object per line, two per request:
 *   {"t_ns":T,"user":U,"seq":S,"type":"invoke","req":"POST /orders"}
 *   {"t_ns":T,"user":U,"seq":S,"type":"ok","req":"POST /orders","status":201,
 *    "latency_ns":L,"tries":1,"error":null}
 * t_ns counts from the start of the load.  type: ok (2xx, SQL committed),
 * fail (4xx, SQL error that definitely did not apply), info (5xx, timeout,
 * transport error: the outcome is unknown).  inv.h evaluates the
 * history invariants on it.
 */

#endif

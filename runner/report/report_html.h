/*
 * report_html.h - what the writers of report.html share (internal to the
 * html_*.c files of runner/report): the page's frame, the requests and
 * injections read for the timeline and the sequence diagram, and the caps
 * that keep a page of a long run small.
 *
 * Every page is made from the files of one output directory (summary.json
 * first), never from the writer's memory, so `wedge report DIR` draws the
 * same page again and a page kind only needs the files to exist.
 */
#ifndef WEDGE_REPORT_HTML_H
#define WEDGE_REPORT_HTML_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* Caps: what a page draws at most (the page states each cap it hit). */
#define HTML_MAX_BARS   2000  /* requests on the timeline */
#define HTML_MAX_LANES  40    /* virtual users on the timeline */
#define HTML_MAX_MARKS  2000  /* injections on the timeline */
#define HTML_MAX_PROCS  12    /* service processes on the timeline */
#define HTML_MAX_LABELS 64    /* request classes named in tooltips */
#define HTML_BINS       120   /* time bins when the series is too short */
#define HTML_SEQ_LINES  20000 /* trace lines looked at for the interleaving */
#define HTML_SEQ_PARTS  6     /* threads in the sequence diagram */
#define HTML_SEQ_EVENTS 40    /* events in the sequence diagram */
#define HTML_TEXT       160   /* characters of a tooltip's detail */

/* ---------------------------------------------------------------
 * The page frame (html_page.c).
 * ------------------------------------------------------------ */

/* <!doctype html> to <body>: the title, a Content-Security-Policy that
 * forbids every fetch (the page is one file), the style, and the first
 * script, which records script errors on <html data-errors>. */
void html_begin(FILE *f, const char *title, const char *kind);
/* The page's script (zoom, hover) and </html>. */
void html_end(FILE *f);
/* Text or attribute value, escaped; NULL writes nothing. */
void html_esc(FILE *f, const char *s);
/* The verdict banner: cls "passed", "failed", "error" or "inconclusive". */
void html_verdict(FILE *f, const char *cls, const char *text);
/* An exit code's word as report.md says it (PASSED, FAILED, ERROR,
 * INCONCLUSIVE): 2, a usage or configuration error, means the run could
 * not run, which is not 3, a run that could not conclude (docs/cli.md,
 * "Exit codes").  Its CSS class is summary.json's verdict (rep_verdict). */
const char *html_code_word(int code);
/* A member of a JSON object: "" / 0 when missing. */
const char *html_str(json_t *o, const char *key);
double html_num(json_t *o, const char *key);
/* dir/name as a JSON document, NULL when absent or unreadable. */
json_t *html_load(const char *dir, const char *name);
/* A two-column table of the run's identity (seed, reproduce...). */
void html_kv(FILE *f, const char *key, const char *value, int code);
/* The invariants of a run's summary: table, then the details of those
 * that did not hold. */
void html_invariants(FILE *f, json_t *sum);

/* ---------------------------------------------------------------
 * Requests from history.jsonl (html_hist.c).
 * ------------------------------------------------------------ */
enum html_outcome { HO_OK, HO_FAIL, HO_INFO };

struct html_bar {
    int64_t t0, t1; /* ns since the load started */
    int user;
    int64_t seq;
    int status;
    int label; /* index into labels, -1: not named */
    enum html_outcome outcome;
    char *error; /* NULL or a short text */
};

struct html_hist {
    uint64_t n;            /* requests with an outcome */
    int users;             /* highest user + 1 */
    int64_t tmax;          /* last outcome */
    int64_t lo, hi;        /* the drawn window */
    struct html_bar *bars; /* drawn, in file order */
    int nbars;
    int lanes[HTML_MAX_LANES]; /* users drawn, in order */
    int nlanes;
    char labels[HTML_MAX_LABELS][80];
    int nlabels;
    int has_anchor;         /* a request to centre on */
    struct html_bar anchor; /* copy (error not owned) */
    int anchor_violates;    /* 1: it broke an invariant; 0: the slowest */
    /* Time bins over the whole run (when summary.json's series is short). */
    int nbins;
    double bin_s;
    double bin_rps[HTML_BINS], bin_err[HTML_BINS], bin_p50[HTML_BINS], bin_p99[HTML_BINS];
};

/* Read dir/history.jsonl: bins over the whole run, then the window of at
 * most HTML_MAX_BARS requests around the request completed at at_t_ns
 * (has_at), else around the slowest.  0, -1 when there is no history. */
int html_hist_read(const char *dir, int has_at, int64_t at_t_ns, struct html_hist *h);
void html_hist_free(struct html_hist *h);
const char *html_bar_label(const struct html_hist *h, const struct html_bar *b);

/* ---------------------------------------------------------------
 * Injections from traces/ (html_trace.c).
 * ------------------------------------------------------------ */
struct html_mark {
    int64_t t0, t1; /* held or delayed from t0 to t1; a point: t0 == t1 */
    int64_t ts;     /* when the line was written */
    int pid, tid;
    int proc;    /* lane index, -1: not drawn */
    int waiting; /* a "waiting" line (sequence diagram only) */
    uint64_t hit;
    char rule[48], action[16], hook[24], outcome[12], obj[24];
    char *detail; /* NULL or a copy, at most HTML_TEXT */
};

struct html_marks {
    struct html_mark *m;
    int n, cap;
    uint64_t seen; /* lines in the window, before the cap */
    int procs[HTML_MAX_PROCS];
    char proc_names[HTML_MAX_PROCS][32];
    int nprocs;
};

/* The injection lines of dir/traces with t (ns since load start) in
 * [lo, hi], times converted with start_unix; at most cap, those nearest
 * anchor kept.  waiting: keep "waiting" lines too. */
void html_marks_read(const char *dir, double start_unix, int64_t lo, int64_t hi, int64_t anchor,
                     int cap, int waiting, struct html_marks *mk);
void html_marks_free(struct html_marks *mk);
/* The mark's class on the page: held, timeout, waiting, delay, fail,
 * point (log, mark, yield). */
const char *html_mark_kind(const struct html_mark *m);
/* "shopd" for a pid, from its trace's summary line, else "pid N". */
void html_proc_name(const char *dir, int pid, char *buf, size_t len);

/* ---------------------------------------------------------------
 * The drawings of a run page.
 * ------------------------------------------------------------ */
/* The swimlanes (html_timeline.c). */
void html_timeline(FILE *f, const struct html_hist *h, const struct html_marks *mk,
                   const char *violated);
/* The violating interleaving (html_seq.c): from the trace lines around
 * the anchor; rules is summary.json's "rules" (may be NULL). */
void html_sequence(FILE *f, const char *dir, json_t *sum, const struct html_hist *h,
                   double start_unix, int64_t anchor, const char *violated);
/* Latency, throughput and errors over time, the percentile plot, RSS
 * (html_plots.c). */
void html_plots(FILE *f, const char *dir, json_t *sum, const struct html_hist *h);

/* ---------------------------------------------------------------
 * Pages (html_run.c: a run; html_sets.c: --repeat, hunt, isolation).
 * ------------------------------------------------------------ */
int html_run_page(FILE *f, const char *dir, json_t *sum);
int html_repeat_page(FILE *f, const char *dir, json_t *sum);
int html_hunt_page(FILE *f, const char *dir, json_t *sum);
int html_iso_page(FILE *f, const char *dir, json_t *sum);

#endif

/*
 * scn_int.h - what the parts of the scenario parser share (internal to
 * scn.c, scn_value.c and scn_scan.c): the sections and their keys, the
 * parser's state, and the helpers each part calls.  The calls go one way:
 * scn.c -> scn_value.c -> scn_limit.c -> scn_scan.c.  Not thread-safe: one
 * parser per scn_load call.
 */
#ifndef WEDGE_SCN_INT_H
#define WEDGE_SCN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "scn.h"

#define SCN_MAX_LINE    65536 /* longest line, bytes (a sanity bound) */
#define SCN_MAX_SECTION 49    /* inih keeps 50 bytes of a section name */
#define SCN_NKEYS       16

enum scn_sec_kind {
    SEC_SCENARIO,
    SEC_DATABASE,
    SEC_SERVICE,
    SEC_JOB,
    SEC_WORKLOAD,
    SEC_INVARIANTS
};

struct scn_sec {
    enum scn_sec_kind kind;
    char *name; /* service / job name */
    int line;
    int index;               /* into services / jobs */
    int key_line[SCN_NKEYS]; /* first line of each single key */
};

struct scn_parse {
    const char *path;
    struct scenario *s;
    char **lines;
    int nlines;
    int next;     /* next line the reader hands to inih (0-based) */
    int cur_line; /* 1-based line inih is on */
    struct scn_sec *secs;
    int nsecs;
    int cur_sec; /* -1: before any section */
    int err_line;
    char msg[768];
    int users_line, target_line, workload_line, scenario_line;
    char *long_value; /* the value of the current over-long line */
    int oom;
};

/* Names of the sections, by kind (scn_scan.c); their keys ('*':
 * repeatable, scn.c). */
extern const char *const scn_sec_names[];
extern const char *const scn_keys[][SCN_NKEYS];

/* Helpers (scn_scan.c).  scn_error keeps the error on the earliest line. */
void scn_error(struct scn_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
char *scn_strdup(struct scn_parse *p, const char *s);
int scn_is_name(const char *s);
int scn_is_space(char c);
const char *scn_skip_space(const char *s);
/* A whole number (decimal, or 0x hex) / a finite decimal filling text;
 * -1 otherwise. */
int scn_parse_u64(const char *text, uint64_t *out);
int scn_parse_double(const char *text, double *out);

/* Values (scn_value.c): numbers, durations, requests, invariants.  Each
 * reports its own errors through scn_error; -1 / nothing set on error. */
void scn_http_request(struct scn_parse *p, const char *v);
void scn_sql_request(struct scn_parse *p, const char *v);
void scn_invariant(struct scn_parse *p, const char *name, const char *value);

/* The pre-scan (scn_scan.c): the file's lines, its opening comment, the
 * section headers. */
int scn_split_lines(struct scn_parse *p, char *text);
void scn_description(struct scn_parse *p);
int scn_scan_headers(struct scn_parse *p);

#endif

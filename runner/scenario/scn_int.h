/*
 * scn_int.h - what the parts of the scenario parser share (internal to
 * the files of the scenario parser): the sections and their keys, the
 * parser's state, and the helpers each part calls.  The calls go one way:
 * scn.c -> scn_keys.c -> scn_flow.c -> scn_thresh.c -> scn_resp.c ->
 * scn_value.c -> scn_limit.c -> scn_scan.c (scn_set.c: the --set
 * overrides, below scn.c).  Not thread-safe: one parser per scn_load call.
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
    SEC_INVARIANTS,
    SEC_FLOW,
    SEC_PROXY, /* a service whose command is `wedge proxy` (scn_finish) */
};
#define SCN_NSECS 8

struct scn_sec {
    enum scn_sec_kind kind;
    char *name; /* service / job / flow name */
    int line;
    int index;               /* into services (proxies too) / jobs / flows */
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
    int cur_sec;           /* -1: before any section */
    int err_line, err_col; /* err_col 0: none */
    char msg[768];
    int users_line, target_line, workload_line, scenario_line;
    char *long_value; /* the value of the current over-long line */
    int oom;
    int last_req; /* the current section's last request, -1: none yet */
    int last_req_sec;
    /* --set overrides (scn_set.c): the reader hands inih the lines in
     * order[], skipping the file lines an override replaces. */
    int *order;
    int norder;
};

/* Names of the sections, by kind, and their keys ('*': repeatable)
 * (scn_scan.c). */
extern const char *const scn_sec_names[];
extern const char *const scn_keys[][SCN_NKEYS];

/* Helpers (scn_scan.c).  scn_error keeps the error on the earliest line;
 * scn_error_at adds the column of offset off of the current line's value
 * ("LINE:COL: message"). */
void scn_error(struct scn_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void scn_error_at(struct scn_parse *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Column (1-based) of value offset off on the current raw line. */
int scn_col(struct scn_parse *p, size_t off);
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
/* METHOD PATH|URL [BODY] at value offset off into r (an HTTP request);
 * -1 after the error. */
int scn_request_parse(struct scn_parse *p, const char *v, size_t off, struct scn_request *r);
/* The '@' of a URL's user:password@, or NULL: refused (SCN_USERINFO_MSG),
 * since the load would not send them. */
const char *scn_url_userinfo(const char *url);
#define SCN_USERINFO_MSG                                                   \
    "a user:password@ in a URL is not sent; give it as a header instead: " \
    "header = Authorization: Basic BASE64(user:password)"
void scn_history(struct scn_parse *p, struct scn_invariant *inv, const char *value);
void scn_request_free(struct scn_request *r);

/* Responses (scn_resp.c): header, expect and capture lines, value offset
 * off (an HTTP invariant's pieces sit inside its value). */
int scn_header_add(struct scn_parse *p, struct scn_header **v, int *n, const char *text,
                   size_t off);
int scn_expect_add(struct scn_parse *p, struct scn_request *r, const char *text, size_t off);
void scn_capture_add(struct scn_parse *p, struct scn_request *r, const char *text);
int scn_var_index(const struct scenario *s, const char *name);

/* Invariants (scn_thresh.c): every kind, thresholds and HTTP ones here. */
void scn_invariant(struct scn_parse *p, const char *name, const char *value);

/* The keys of the other sections (scn_keys.c), one handler each. */
void scn_key_scenario(struct scn_parse *p, const char *name, const char *v);
void scn_key_database(struct scn_parse *p, const char *name, const char *v);
void scn_key_service(struct scn_parse *p, struct scn_service *svc, const char *name, const char *v);
void scn_key_job(struct scn_parse *p, struct scn_job *job, const char *name, const char *v);
void scn_key_workload(struct scn_parse *p, const char *name, const char *v);

/* Workload and flow keys that concern requests (scn_flow.c), and the
 * checks over the whole file that concern them (called by scn_finish). */
void scn_request_key(struct scn_parse *p, const char *name, const char *v);
void scn_key_flow(struct scn_parse *p, struct scn_sec *sec, const char *name, const char *v);
void scn_finish_requests(struct scn_parse *p);

/* --set overrides (scn_set.c): p->order and the overrides' lines, before
 * the headers are scanned.  0; -1 with p->err_line -1 and the whole
 * message in p->msg; -2 out of memory. */
int scn_apply_sets(struct scn_parse *p, const char *const *sets, int nsets);

/* The pre-scan (scn_scan.c): the file's lines, its opening comment, the
 * section headers. */
int scn_split_lines(struct scn_parse *p, char *text);
void scn_description(struct scn_parse *p);
int scn_scan_headers(struct scn_parse *p);

#endif

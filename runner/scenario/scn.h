/*
 * scn.h - scenario files (INI, parsed with libinih) and ${...} expansion.
 *
 * The format is an interface (design: "Scenario files"); docs/scenarios.md
 * is its reference.  Sections and keys:
 *
 *   ; first comment lines: what race the scenario hunts (-> description)
 *   [scenario]   name, description, seed, rules (applied to every service
 *                and job), timeout (whole run, default 120s)
 *   [database]   schema = FILE (repeatable, relative to the scenario file),
 *                fixture = SQL (repeatable, run in order)
 *   [service NAME]  command, ready (http://... URL or tcp:PORT), rules,
 *                rules_file, env (KEY=VALUE, repeatable), stop_grace (2s)
 *   [proxy NAME] to = HOST:PORT, rules, rules_file, env, stop_grace: `wedge
 *                proxy` from 127.0.0.1:${port:NAME} to there, under the shim
 *   [job NAME]   command, rules, rules_file, env, when = with-load|before|after,
 *                timeout (default: the run's)
 *   [workload]   users, rate (requests/s: open model), duration, iterations,
 *                target (a service's name, or http://HOST:PORT: a service
 *                wedge did not start; default: the first service),
 *                request = [WEIGHT] METHOD PATH|URL [BODY]   (repeatable)
 *                sql = [WEIGHT] STATEMENT[; STATEMENT...]  (repeatable; one
 *                      transaction, retried on 40001/40P01 up to max_tries)
 *                header = NAME: VALUE (repeatable: before the first request
 *                      every request's, after one that request's own),
 *                expect = status N|json PATH OP VALUE|... (repeatable, of
 *                      the request above), capture = NAME = json PATH|header
 *                      NAME (repeatable, of the request above),
 *                max_tries (default 1), timeout (per request, default 5s),
 *                sample (time-series interval, default 1s),
 *                think = D or D1..D2 (a user's pause after each request),
 *                max_info (share of requests of unknown outcome above
 *                      which the run is inconclusive)
 *   [flow NAME]  weight, header, request, expect, capture: an ordered
 *                request list one virtual user runs as one iteration of the
 *                mix, its captures feeding its later requests
 *   [invariants] NAME = SQL          a boolean, or rows that are violations
 *                NAME = history: ok|fail|info|all [METHOD [PATH]] OP NUMBER
 *                       OP one of < <= == != >= >
 *                NAME = latency pNN|mean|max [of "LABEL"] OP DURATION,
 *                       failed|retries [of "LABEL"] OP N% or N,
 *                       throughput [of "LABEL"] OP N/s   (thresholds)
 *                NAME = http: METHOD PATH [BODY] | EXPECT [| EXPECT...]
 *
 * Expansion (exp_expand): ${build} ${port} ${port:SVC} ${dsn} ${dsn_uri}
 * ${dsn:NAME} ${dsn_uri:NAME} ${db_host} ${db_port} ${uuid} ${rand:A:B}
 * ${user} ${seed} ${out} ${scenario_dir} ${iter} ${env:NAME[:-DEFAULT]} and
 * the variables a flow captured; rules are expanded too (svc_rules_text).
 */
#ifndef WEDGE_SCN_H
#define WEDGE_SCN_H

#include <stdint.h>
#include <stddef.h>

struct scn_kv {
    char *key, *value;
    int line;
};

struct scn_service {
    char *name;
    char *command; /* unexpanded */
    char *ready;   /* unexpanded; NULL: ready once started */
    char *rules;   /* NULL: none (the scenario's rules still apply) */
    char *rules_file;
    char **env; /* "KEY=VALUE", NULL-terminated */
    uint64_t stop_grace_ns;
    int line;                     /* of the section header */
    int command_line, ready_line; /* of those keys, for their messages */
    int rules_line;               /* of rules or rules_file; 0: neither */
    /* [proxy NAME]: `wedge proxy` from 127.0.0.1:${port:NAME} to proxy_to
     * (unexpanded); command is then "wedge proxy --serve ..." and ready
     * tcp:${port} (scn_finish), and it starts before the services. */
    int is_proxy;
    char *proxy_to;
};

enum scn_when { SCN_JOB_WITH_LOAD, SCN_JOB_BEFORE, SCN_JOB_AFTER };

struct scn_job {
    char *name;
    char *command;
    char *rules;
    char *rules_file;
    char **env;
    enum scn_when when;
    uint64_t timeout_ns; /* 0: the run's timeout */
    int line, command_line, rules_line;
};

enum scn_req_kind { SCN_REQ_HTTP, SCN_REQ_SQL };
enum scn_op { SCN_LT, SCN_LE, SCN_EQ, SCN_NE, SCN_GE, SCN_GT, SCN_EXISTS };

/* "NAME: VALUE", unexpanded; col: the value's first column on its line. */
struct scn_header {
    char *text;
    int line, col;
};

/* expect = status 201[,200|2xx...] | json PATH OP VALUE | json PATH exists
 *        | header NAME OP VALUE | header NAME exists
 * (reqflow.c judges them). */
enum scn_exp_kind { SCN_EXP_STATUS, SCN_EXP_JSON, SCN_EXP_HEADER };
#define SCN_MAX_STATUS 8
struct scn_expect {
    enum scn_exp_kind kind;
    unsigned short status_lo[SCN_MAX_STATUS], status_hi[SCN_MAX_STATUS];
    int nstatus;
    char *path; /* json: the JSONPath (jsonpath.h); header: its name */
    enum scn_op op;
    char *value; /* json: a JSON value, unexpanded; header: the text */
    char *text;  /* as written, for messages */
    int line, col, value_col;
};

/* capture = NAME = json PATH | header NAME: into the user's variable
 * s->vars[var], for the later requests of its flow. */
enum scn_cap_kind { SCN_CAP_JSON, SCN_CAP_HEADER };
struct scn_capture {
    int var;
    enum scn_cap_kind kind;
    char *path; /* JSONPath, or the header's name */
    int line;
};

struct scn_request {
    enum scn_req_kind kind;
    unsigned weight; /* >= 1 */
    char *method;    /* HTTP */
    char *path;      /* HTTP, unexpanded: "/..." or a full URL */
    char *body;      /* HTTP, unexpanded, may be NULL */
    char *sql;       /* SQL, unexpanded */
    char *label;     /* "POST /orders" or "sql:<first 40 chars>" */
    int line;
    int path_col, body_col;     /* columns of path and body on the line */
    int flow;                   /* index into s->flows, -1: the workload's mix */
    struct scn_header *headers; /* this request's own */
    int nheaders;
    struct scn_expect *expects;
    int nexpects;
    struct scn_capture *captures;
    int ncaptures;
};

/* [flow NAME]: s->requests[first .. first + n) in order. */
struct scn_flow {
    char *name;
    unsigned weight;
    int first, n;
    struct scn_header *headers; /* every request's of the flow */
    int nheaders;
    int line;
};

enum scn_inv_kind { SCN_INV_SQL, SCN_INV_HISTORY, SCN_INV_THRESHOLD, SCN_INV_HTTP };
enum scn_outcome { SCN_OK, SCN_FAIL, SCN_INFO, SCN_ALL };
enum scn_metric { SCN_M_LATENCY, SCN_M_FAILED, SCN_M_THROUGHPUT, SCN_M_RETRIES };

struct scn_invariant {
    char *name;
    enum scn_inv_kind kind;
    char *sql;                /* SQL */
    enum scn_outcome outcome; /* history */
    char *method, *path;      /* history filter; NULL matches all */
    enum scn_op op;
    double number; /* history: a count; latency: ns; failed, retries: a
                    * share (0.01 for 1%) when percent, else a count;
                    * throughput: requests/s */
    /* threshold */
    enum scn_metric metric;
    double pct;  /* latency: the percentile (50, 99.9), 0 mean, 100 max */
    int percent; /* failed, retries: number is a share */
    char *label; /* of "LABEL": the requests with that label; NULL: all */
    char *text;  /* the threshold as written after the name */
    /* http: one request (not in the mix) and its expects */
    struct scn_request *http;
    int line;
};

struct scenario {
    char *path; /* as given */
    char *dir;  /* directory of the file */
    char *name;
    char *description; /* the opening comment, or description = */
    uint64_t seed;     /* 0: not set */
    int has_seed;
    char *rules; /* applied to every service and job */
    int rules_line;
    uint64_t timeout_ns;

    char **schema;                     /* absolute paths, NULL-terminated */
    char **fixtures;                   /* SQL, NULL-terminated */
    int *schema_lines, *fixture_lines; /* the line of each, for messages */

    struct scn_service *services;
    int nservices;
    struct scn_job *jobs;
    int njobs;

    /* workload */
    unsigned users;                    /* closed model; default 1 */
    double rate;                       /* open model when > 0 */
    uint64_t duration_ns;              /* 0: iterations only */
    uint64_t think_lo_ns, think_hi_ns; /* a user's pause after a request; 0: none */
    uint64_t iterations;               /* per run, all users together; 0: duration only */
    char *target;                      /* service name, or an http:// URL (unexpanded) */
    int target_is_url;
    int target_line, target_col;
    struct scn_request *requests; /* the mix's, then each flow's */
    int nrequests;
    struct scn_flow *flows;
    int nflows;
    struct scn_header *headers; /* every request's (the workload's) */
    int nheaders;
    char **vars; /* names of the captured variables */
    int nvars;
    double max_info; /* a share; < 0: not set (only the scenario's own) */
    unsigned max_tries;
    uint64_t request_timeout_ns;
    uint64_t sample_ns;

    struct scn_invariant *invariants;
    int ninvariants;

    /* A [database] section, an sql request, an SQL invariant or ${dsn}
     * anywhere: the run needs PostgreSQL (else it starts none). */
    int uses_db;

    /* --set overrides (scn_load_set): lines past nlines_file are theirs,
     * override[line - nlines_file - 1] names one in messages (scn_where). */
    int nlines_file;
    char **overrides;
    int noverrides;
};

/*
 * Load and validate a scenario file.  On error returns -1 and writes
 * "FILE:LINE: message" into err, the message saying what was expected
 * (with "did you mean 'users'?" for a near miss of a known key).
 * Not thread-safe: it sets libinih's options, which are process globals
 * (restored before it returns).
 */
int scn_load(const char *path, struct scenario *out, char *err, size_t errlen);
/* The same with --set overrides: each "SECTION.KEY=VALUE" (or
 * "service.NAME.KEY=VALUE", "job.", "flow."), replacing the file's line of a
 * single key, adding a line of a repeatable one; an error on an override
 * names it ("--set workload.users=0: ...") instead of a file line. */
int scn_load_set(const char *path, const char *const *sets, int nsets, struct scenario *out,
                 char *err, size_t errlen);
void scn_free(struct scenario *s);

/* Where line of s is, for a message: "FILE:LINE", or "--set TEXT" for a
 * line an override added.  Into buf; returns buf. */
const char *scn_where(const struct scenario *s, int line, char *buf, size_t len);

/* Every ${...} of the requests, headers, expects, target and HTTP
 * invariants expanded with the stand-ins of st (and each captured
 * variable available only to the later requests of its flow): 0, or -1
 * with "FILE:LINE:COL: message" in err (the first problem). */
struct exp_standin;
int scn_check_requests(const struct scenario *s, const struct exp_standin *st, char *err,
                       size_t errlen);

/* ---------------------------------------------------------------
 * ${...} expansion (expand.c).
 * ------------------------------------------------------------ */
struct exp_ctx {
    const char *build; /* directory of the built binaries */
    const char *dsn;
    const char *out;
    const char *scenario_dir;
    const char *service;           /* the service whose ${port} is meant, or NULL */
    const char *const *port_names; /* parallel arrays: service -> port */
    const int *ports;
    int nports;
    long user; /* virtual user, -1 outside the workload */
    uint64_t iter;
    uint64_t seed;
    uint64_t *rng; /* state for ${rand} / ${uuid}; may be NULL */
    /* A user's captured variables: names (the scenario's vars) and values
     * (NULL: not captured yet); nvars 0 outside a flow's requests. */
    const char *const *var_names;
    const char *const *var_values;
    int nvars;
};

/* What a run knows only once it runs (ports, the database), stood in for
 * by `wedge check` and by the rule check before a run: every ${...} is
 * checked before anything starts.  exp_standin fills st (e.service NULL;
 * set it for a service's own ${port}). */
struct exp_standin {
    const char *names[256];
    int ports[256];
    struct exp_ctx e;
};
void exp_standin(const struct scenario *s, struct exp_standin *st);

/* Expand tmpl; returns a malloc'd string, or NULL with "message" in err
 * (unknown variable, unterminated ${, bad rand bounds, an environment
 * variable that is not set). */
char *exp_expand(const char *tmpl, const struct exp_ctx *ctx, char *err, size_t errlen);
/* The same, with *at set on error to the offset in tmpl of the '${' at
 * fault (for a FILE:LINE:COL). */
char *exp_expand_at(const char *tmpl, const struct exp_ctx *ctx, char *err, size_t errlen,
                    size_t *at);

/* The runner's PRNG (xoshiro/splitmix): deterministic from a seed. */
uint64_t exp_rng_next(uint64_t *state);

#endif

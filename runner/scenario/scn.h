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
 *   [job NAME]   command, rules, rules_file, env, when = with-load|before|after,
 *                timeout (default: the run's)
 *   [workload]   users, rate (requests/s: open model), duration, iterations,
 *                target (service receiving HTTP requests; default: first),
 *                request = [WEIGHT] METHOD PATH [BODY]   (repeatable)
 *                sql = [WEIGHT] STATEMENT[; STATEMENT...]  (repeatable; one
 *                      transaction, retried on 40001/40P01 up to max_tries)
 *                max_tries (default 1), timeout (per request, default 5s),
 *                sample (time-series interval, default 1s)
 *   [invariants] NAME = SQL          a boolean, or rows that are violations
 *                NAME = history: ok|fail|info|all [METHOD [PATH]] OP NUMBER
 *                       OP one of < <= == != >= >
 *
 * Expansion (exp_expand): ${build} ${port} ${port:SVC} ${dsn} ${dsn_uri}
 * ${dsn:NAME} ${dsn_uri:NAME} ${db_host} ${db_port} ${uuid} ${rand:A:B}
 * ${user} ${seed} ${out} ${scenario_dir} ${iter}; rules are expanded too
 * (svc_rules_text).
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
    int line; /* of the section header */
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
    int line;
};

enum scn_req_kind { SCN_REQ_HTTP, SCN_REQ_SQL };

struct scn_request {
    enum scn_req_kind kind;
    unsigned weight; /* >= 1 */
    char *method;    /* HTTP */
    char *path;      /* HTTP, unexpanded */
    char *body;      /* HTTP, unexpanded, may be NULL */
    char *sql;       /* SQL, unexpanded */
    char *label;     /* "POST /orders" or "sql:<first 40 chars>" */
    int line;
};

enum scn_inv_kind { SCN_INV_SQL, SCN_INV_HISTORY };
enum scn_outcome { SCN_OK, SCN_FAIL, SCN_INFO, SCN_ALL };
enum scn_op { SCN_LT, SCN_LE, SCN_EQ, SCN_NE, SCN_GE, SCN_GT };

struct scn_invariant {
    char *name;
    enum scn_inv_kind kind;
    char *sql;                /* SQL */
    enum scn_outcome outcome; /* history */
    char *method, *path;      /* history filter; NULL matches all */
    enum scn_op op;
    double number;
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
    uint64_t timeout_ns;

    char **schema;                     /* absolute paths, NULL-terminated */
    char **fixtures;                   /* SQL, NULL-terminated */
    int *schema_lines, *fixture_lines; /* the line of each, for messages */

    struct scn_service *services;
    int nservices;
    struct scn_job *jobs;
    int njobs;

    /* workload */
    unsigned users;       /* closed model; default 1 */
    double rate;          /* open model when > 0 */
    uint64_t duration_ns; /* 0: iterations only */
    uint64_t iterations;  /* per run, all users together; 0: duration only */
    char *target;         /* service name */
    struct scn_request *requests;
    int nrequests;
    unsigned max_tries;
    uint64_t request_timeout_ns;
    uint64_t sample_ns;

    struct scn_invariant *invariants;
    int ninvariants;

    /* A [database] section, an sql request, an SQL invariant or ${dsn}
     * anywhere: the run needs PostgreSQL (else it starts none). */
    int uses_db;
};

/*
 * Load and validate a scenario file.  On error returns -1 and writes
 * "FILE:LINE: message" into err, the message saying what was expected
 * (with "did you mean 'users'?" for a near miss of a known key).
 * Not thread-safe: it sets libinih's options, which are process globals
 * (restored before it returns).
 */
int scn_load(const char *path, struct scenario *out, char *err, size_t errlen);
void scn_free(struct scenario *s);

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
 * (unknown variable, unterminated ${, bad rand bounds). */
char *exp_expand(const char *tmpl, const struct exp_ctx *ctx, char *err, size_t errlen);

/* The runner's PRNG (xoshiro/splitmix): deterministic from a seed. */
uint64_t exp_rng_next(uint64_t *state);

#endif

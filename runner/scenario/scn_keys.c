/*
 * scn_keys.c - the keys of the [scenario], [database], [service NAME],
 * [job NAME] and [workload] sections, one handler per section (the
 * workload's request lines are scn_flow.c's), with the helpers they
 * share: strings, repeated values, paths relative to the scenario file,
 * ranges.  Below scn.c, which dispatches to them.
 */
#include "scn.h"
#include "scn_int.h"
#include "scn_limit.h"
#include "timeunit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * Small helpers (the lexical ones are in scn_scan.c).
 * ------------------------------------------------------------ */
static int scn_strv_push(struct scn_parse *p, char ***v, const char *s)
{
    int n = 0;
    char **nv;
    while (*v && (*v)[n])
        n++;
    nv = realloc(*v, (size_t)(n + 2) * sizeof(char *));
    if (!nv) {
        p->oom = 1;
        return -1;
    }
    nv[n] = scn_strdup(p, s);
    nv[n + 1] = NULL;
    *v = nv;
    return nv[n] ? 0 : -1;
}

/* ---------------------------------------------------------------
 * Paths relative to the scenario file.
 * ------------------------------------------------------------ */
static char *scn_resolve(struct scn_parse *p, const char *what, const char *v)
{
    struct stat st = {0};
    char *full = NULL;
    if (v[0] == '/')
        full = scn_strdup(p, v);
    else if (asprintf(&full, "%s/%s", p->s->dir, v) < 0)
        full = NULL, p->oom = 1;
    if (full && access(full, R_OK) != 0) {
        scn_error(p, p->cur_line, "%s '%s' not found (looked for %s)", what, v, full);
        free(full);
        return NULL;
    }
    /* A directory would be read as nothing (the run injects nothing), a
     * device or FIFO forever. */
    if (full && (stat(full, &st) != 0 || !S_ISREG(st.st_mode))) {
        scn_error(p, p->cur_line, "%s '%s' is not a regular file (%s)", what, v,
                  S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
        free(full);
        return NULL;
    }
    return full;
}

static void scn_set_str(struct scn_parse *p, char **dst, const char *v)
{
    free(*dst);
    *dst = scn_strdup(p, v);
}

/* A value with one of the ranges of scn_limit.c; -1 after the error. */
static int scn_limit_key(struct scn_parse *p, enum scn_limit_id id, const char *key, const char *v,
                         uint64_t *out)
{
    char msg[512];
    int rc = scn_limit_parse(id, v, out, msg, sizeof(msg));
    if (rc == -1)
        scn_error(p, p->cur_line, "bad %s '%s' for '%s': %s",
                  scn_limits[id].unit == SCN_UNIT_DURATION ? "duration" : "number", v, key, msg);
    else if (rc == -2)
        scn_error(p, p->cur_line, "'%s' %s", key, msg);
    return rc ? -1 : 0;
}

static void scn_env(struct scn_parse *p, char ***env, const char *v)
{
    size_t k = strcspn(v, "=");
    if (!v[k] || k == 0) {
        scn_error(p, p->cur_line, "expected env = KEY=VALUE (got '%s')", v);
        return;
    }
    scn_strv_push(p, env, v);
}

void scn_key_scenario(struct scn_parse *p, const char *name, const char *v)
{
    struct scenario *s = p->s;
    if (strcmp(name, "name") == 0) {
        scn_set_str(p, &s->name, v);
    } else if (strcmp(name, "description") == 0) {
        scn_set_str(p, &s->description, v);
    } else if (strcmp(name, "seed") == 0) {
        if (scn_parse_u64(v, &s->seed))
            scn_error(p, p->cur_line, "bad number '%s' for '%s': expected a whole number", v, name);
        else
            s->has_seed = 1;
    } else if (strcmp(name, "rules") == 0) {
        scn_set_str(p, &s->rules, v);
        s->rules_line = p->cur_line;
    } else if (strcmp(name, "timeout") == 0) {
        scn_limit_key(p, SCN_LIM_RUN_TIMEOUT, name, v, &s->timeout_ns);
    }
}

/* Record the current line for the element just pushed onto v. */
static void scn_line_push(struct scn_parse *p, int **lines, char **v)
{
    int n = 0, *nl;
    while (v && v[n])
        n++;
    nl = realloc(*lines, (size_t)(n ? n : 1) * sizeof(int));
    if (!nl) {
        p->oom = 1;
        return;
    }
    nl[n - 1] = p->cur_line;
    *lines = nl;
}

void scn_key_database(struct scn_parse *p, const char *name, const char *v)
{
    if (strcmp(name, "schema") == 0) {
        char *full = scn_resolve(p, "schema file", v);
        if (full && scn_strv_push(p, &p->s->schema, full) == 0)
            scn_line_push(p, &p->s->schema_lines, p->s->schema);
        free(full);
    } else if (scn_strv_push(p, &p->s->fixtures, v) == 0) {
        scn_line_push(p, &p->s->fixture_lines, p->s->fixtures);
    }
}

void scn_key_service(struct scn_parse *p, struct scn_service *svc, const char *name, const char *v)
{
    if (strcmp(name, "command") == 0) {
        scn_set_str(p, &svc->command, v);
        svc->command_line = p->cur_line;
    } else if (strcmp(name, "ready") == 0) {
        svc->ready_line = p->cur_line;
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0 &&
            strncmp(v, "tcp:", 4) != 0)
            scn_error(p, p->cur_line,
                      "expected ready = http://HOST:PORT/PATH or tcp:PORT (got '%s')", v);
        else
            scn_set_str(p, &svc->ready, v);
    } else if (strcmp(name, "rules") == 0) {
        scn_set_str(p, &svc->rules, v);
        svc->rules_line = p->cur_line;
    } else if (strcmp(name, "rules_file") == 0) {
        free(svc->rules_file);
        svc->rules_file = scn_resolve(p, "rules file", v);
        svc->rules_line = p->cur_line;
    } else if (strcmp(name, "to") == 0) { /* [proxy NAME]: its command is made of it */
        scn_set_str(p, &svc->proxy_to, v);
        svc->command_line = p->cur_line;
    } else if (strcmp(name, "env") == 0)
        scn_env(p, &svc->env, v);
    else if (strcmp(name, "stop_grace") == 0)
        scn_limit_key(p, SCN_LIM_STOP_GRACE, name, v, &svc->stop_grace_ns);
}

void scn_key_job(struct scn_parse *p, struct scn_job *job, const char *name, const char *v)
{
    if (strcmp(name, "command") == 0) {
        scn_set_str(p, &job->command, v);
        job->command_line = p->cur_line;
    } else if (strcmp(name, "rules") == 0)
        scn_set_str(p, &job->rules, v);
    else if (strcmp(name, "rules_file") == 0) {
        free(job->rules_file);
        job->rules_file = scn_resolve(p, "rules file", v);
    } else if (strcmp(name, "env") == 0)
        scn_env(p, &job->env, v);
    else if (strcmp(name, "timeout") == 0)
        scn_limit_key(p, SCN_LIM_JOB_TIMEOUT, name, v, &job->timeout_ns);
    else if (strcmp(v, "with-load") == 0)
        job->when = SCN_JOB_WITH_LOAD;
    else if (strcmp(v, "before") == 0)
        job->when = SCN_JOB_BEFORE;
    else if (strcmp(v, "after") == 0)
        job->when = SCN_JOB_AFTER;
    else
        scn_error(p, p->cur_line, "expected when = with-load, before or after (got '%s')", v);
}

/* max_info = N%: the share of requests of unknown outcome (info) above
 * which a run is inconclusive. */
static void scn_max_info(struct scn_parse *p, const char *v)
{
    size_t n = strlen(v);
    char *end;
    double x = n > 1 && v[n - 1] == '%' ? strtod(v, &end) : -1;
    if (x < 0 || x > 100 || end != v + n - 1 || !(v[0] >= '0' && v[0] <= '9')) {
        scn_error(p, p->cur_line, "expected max_info = N%% with N from 0 to 100 (got '%s')", v);
        return;
    }
    p->s->max_info = x / 100.0;
}

/* think = D or D1..D2: a user's pause after each request, uniform in the
 * range (each end in think's range). */
static void scn_think(struct scn_parse *p, const char *v)
{
    struct scenario *s = p->s;
    const char *dots = strstr(v, "..");
    uint64_t lo, hi;
    char *a;

    if (!dots) {
        if (scn_limit_key(p, SCN_LIM_THINK, "think", v, &lo) == 0)
            s->think_lo_ns = s->think_hi_ns = lo;
        return;
    }
    a = scn_strdup(p, v);
    a[dots - v] = '\0';
    if (scn_limit_key(p, SCN_LIM_THINK, "think", a, &lo) == 0 &&
        scn_limit_key(p, SCN_LIM_THINK, "think", dots + 2, &hi) == 0) {
        if (lo > hi)
            scn_error(p, p->cur_line, "think = %s: the shortest comes first (think = %s..%s)", v,
                      dots + 2, a);
        else
            s->think_lo_ns = lo, s->think_hi_ns = hi;
    }
    free(a);
}

void scn_key_workload(struct scn_parse *p, const char *name, const char *v)
{
    struct scenario *s = p->s;
    uint64_t u;
    if (strcmp(name, "users") == 0) {
        p->users_line = p->cur_line;
        if (scn_limit_key(p, SCN_LIM_USERS, name, v, &u) == 0)
            s->users = (unsigned)u;
    } else if (strcmp(name, "rate") == 0) {
        if (scn_limit_key(p, SCN_LIM_RATE, name, v, &u) == 0)
            s->rate = (double)u / 1000.0; /* thousandths: the resolution of the range */
    } else if (strcmp(name, "duration") == 0) {
        scn_limit_key(p, SCN_LIM_DURATION, name, v, &s->duration_ns);
    } else if (strcmp(name, "iterations") == 0) {
        scn_limit_key(p, SCN_LIM_ITERATIONS, name, v, &s->iterations);
    } else if (strcmp(name, "target") == 0) {
        p->target_line = s->target_line = p->cur_line;
        s->target_col = scn_col(p, 0);
        scn_set_str(p, &s->target, v);
    } else if (strcmp(name, "max_info") == 0) {
        scn_max_info(p, v);
    } else if (strcmp(name, "think") == 0) {
        scn_think(p, v);
    } else if (strcmp(name, "max_tries") == 0) {
        if (scn_limit_key(p, SCN_LIM_MAX_TRIES, name, v, &u) == 0)
            s->max_tries = (unsigned)u;
    } else if (strcmp(name, "timeout") == 0) {
        scn_limit_key(p, SCN_LIM_REQ_TIMEOUT, name, v, &s->request_timeout_ns);
    } else if (strcmp(name, "sample") == 0) {
        scn_limit_key(p, SCN_LIM_SAMPLE, name, v, &s->sample_ns);
    } else {
        scn_request_key(p, name, v); /* request, sql, header, expect, capture */
    }
}

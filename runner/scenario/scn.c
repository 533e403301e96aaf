/*
 * scn.c - scenario files: INI parsed with libinih, validated into a
 * struct scenario (scn.h; docs/scenarios.md is the reference).
 *
 * inih reads the file through our own line reader so that every handler
 * call knows its line number (the packaged inih is built without
 * INI_HANDLER_LINENO) and the raw line is at hand for columns.  The same
 * lines are scanned once beforehand for the opening comment and for the
 * section headers, so that an empty or unknown section is still reported.
 * Of several errors the one on the earliest line is reported.
 *
 * Here: the helpers, the handler and the whole-file checks; values are
 * parsed in scn_value.c, the pre-scan is scn_scan.c.
 */
#include "scn.h"
#include "scn_int.h"
#include "scn_limit.h"
#include "timeunit.h"

#include "suggest.h"
#include "textfile.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keys of each section; a trailing '*' marks a repeatable key. */
const char *const scn_keys[][SCN_NKEYS] = {
    [SEC_SCENARIO] = {"name", "description", "seed", "rules", "timeout", NULL},
    [SEC_DATABASE] = {"schema*", "fixture*", NULL},
    [SEC_SERVICE] = {"command", "ready", "rules", "rules_file", "env*", "stop_grace", NULL},
    [SEC_JOB] = {"command", "rules", "rules_file", "env*", "when", "timeout", NULL},
    [SEC_WORKLOAD] = {"users", "rate", "duration", "iterations", "target", "request*", "sql*",
                      "max_tries", "timeout", "sample", NULL},
    [SEC_INVARIANTS] = {NULL},
};

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

static void scn_strv_free(char **v)
{
    for (int i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
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

/* ---------------------------------------------------------------
 * The line reader inih calls.
 * ------------------------------------------------------------ */
/* fgets-like reader: one whole line per call, tracking the line number
 * and the section it belongs to.  The packaged inih reads lines into a
 * fixed 200-byte buffer whatever its run-time options say; a longer line
 * goes to it as "KEY = \x01" and the handler takes the value from the
 * raw line instead (scn_long_value). */
static char *scn_reader(char *str, int num, void *stream)
{
    struct scn_parse *p = stream;
    const char *line;
    size_t n, d;
    if (p->next >= p->nlines || num < 8)
        return NULL;
    line = p->lines[p->next++];
    p->cur_line = p->next;
    for (int i = 0; i < p->nsecs; i++)
        if (p->secs[i].line == p->cur_line)
            p->cur_sec = i;
    n = strlen(line);
    d = strcspn(line, "=:");
    if (n > (size_t)num - 3 && line[d] && d + 6 < (size_t)num &&
        !strchr(";#[", *scn_skip_space(line))) {
        snprintf(str, (size_t)num, "%.*s= \x01\n", (int)d, line);
        return str;
    }
    if (n > (size_t)num - 3)
        n = (size_t)num - 3; /* a long comment or header: its tail is not needed */
    memcpy(str, line, n);
    str[n] = '\n';
    str[n + 1] = '\0';
    return str;
}

/* The value of a line too long for inih, trimmed as inih trims. */
static const char *scn_long_value(struct scn_parse *p)
{
    const char *raw = p->lines[p->cur_line - 1];
    const char *v = scn_skip_space(raw + strcspn(raw, "=:") + 1);
    size_t n = strlen(v);
    while (n && scn_is_space(v[n - 1]))
        n--;
    free(p->long_value);
    p->long_value = strndup(v, n);
    if (!p->long_value)
        p->oom = 1;
    return p->long_value ? p->long_value : "";
}

/* ---------------------------------------------------------------
 * The inih handler, one call per key = value.
 * ------------------------------------------------------------ */
static int scn_key_index(enum scn_sec_kind k, const char *name, int *repeat)
{
    for (int i = 0; scn_keys[k][i]; i++) {
        size_t n = strcspn(scn_keys[k][i], "*");
        if (strlen(name) == n && strncmp(name, scn_keys[k][i], n) == 0) {
            *repeat = scn_keys[k][i][n] == '*';
            return i;
        }
    }
    return -1;
}

static void scn_unknown_key(struct scn_parse *p, struct scn_sec *sec, const char *name)
{
    char known[256] = "";
    const char *hint = suggest(name, strlen(name), scn_keys[sec->kind], SCN_NKEYS);
    if (hint) {
        scn_error(p, p->cur_line, "unknown key '%s' (did you mean '%.*s'?)", name,
                  (int)strcspn(hint, "*"), hint);
        return;
    }
    for (int i = 0; scn_keys[sec->kind][i]; i++) {
        size_t len = strlen(known);
        snprintf(known + len, sizeof(known) - len, "%s%.*s", i ? ", " : "",
                 (int)strcspn(scn_keys[sec->kind][i], "*"), scn_keys[sec->kind][i]);
    }
    scn_error(p, p->cur_line, "unknown key '%s' in [%s] (known: %s)", name,
              scn_sec_names[sec->kind], known);
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

static void scn_key_scenario(struct scn_parse *p, const char *name, const char *v)
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

static void scn_key_database(struct scn_parse *p, const char *name, const char *v)
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

static void scn_key_service(struct scn_parse *p, struct scn_service *svc, const char *name,
                            const char *v)
{
    if (strcmp(name, "command") == 0)
        scn_set_str(p, &svc->command, v);
    else if (strcmp(name, "ready") == 0) {
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0 &&
            strncmp(v, "tcp:", 4) != 0)
            scn_error(p, p->cur_line,
                      "expected ready = http://HOST:PORT/PATH or tcp:PORT (got '%s')", v);
        else
            scn_set_str(p, &svc->ready, v);
    } else if (strcmp(name, "rules") == 0)
        scn_set_str(p, &svc->rules, v);
    else if (strcmp(name, "rules_file") == 0) {
        free(svc->rules_file);
        svc->rules_file = scn_resolve(p, "rules file", v);
    } else if (strcmp(name, "env") == 0)
        scn_env(p, &svc->env, v);
    else if (strcmp(name, "stop_grace") == 0)
        scn_limit_key(p, SCN_LIM_STOP_GRACE, name, v, &svc->stop_grace_ns);
}

static void scn_key_job(struct scn_parse *p, struct scn_job *job, const char *name, const char *v)
{
    if (strcmp(name, "command") == 0)
        scn_set_str(p, &job->command, v);
    else if (strcmp(name, "rules") == 0)
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

static void scn_key_workload(struct scn_parse *p, const char *name, const char *v)
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
        p->target_line = p->cur_line;
        scn_set_str(p, &s->target, v);
    } else if (strcmp(name, "request") == 0) {
        scn_http_request(p, v);
    } else if (strcmp(name, "sql") == 0) {
        scn_sql_request(p, v);
    } else if (strcmp(name, "max_tries") == 0) {
        if (scn_limit_key(p, SCN_LIM_MAX_TRIES, name, v, &u) == 0)
            s->max_tries = (unsigned)u;
    } else if (strcmp(name, "timeout") == 0) {
        scn_limit_key(p, SCN_LIM_REQ_TIMEOUT, name, v, &s->request_timeout_ns);
    } else if (strcmp(name, "sample") == 0) {
        scn_limit_key(p, SCN_LIM_SAMPLE, name, v, &s->sample_ns);
    }
}

static int scn_handler(void *user, const char *section, const char *name, const char *value)
{
    struct scn_parse *p = user;
    struct scn_sec *sec;
    int idx, repeat = 0;
    (void)section; /* the reader knows the section and its line */
    if (value[0] == '\x01' && value[1] == '\0')
        value = scn_long_value(p);

    if (p->cur_sec < 0) {
        scn_error(p, p->cur_line, "key '%s' outside any section (expected a [section] first)",
                  name);
        return 1;
    }
    sec = &p->secs[p->cur_sec];
    if (!*name) {
        scn_error(p, p->cur_line, "expected 'key = value' (the key is missing)");
        return 1;
    }
    if (sec->kind == SEC_INVARIANTS) {
        scn_invariant(p, name, value);
        return 1;
    }
    idx = scn_key_index(sec->kind, name, &repeat);
    if (idx < 0) {
        scn_unknown_key(p, sec, name);
        return 1;
    }
    if (!repeat) {
        if (sec->key_line[idx]) {
            scn_error(p, p->cur_line, "duplicate key '%s' (first at line %d)", name,
                      sec->key_line[idx]);
            return 1;
        }
        sec->key_line[idx] = p->cur_line;
    }
    switch (sec->kind) {
    case SEC_SCENARIO:
        scn_key_scenario(p, name, value);
        break;
    case SEC_DATABASE:
        scn_key_database(p, name, value);
        break;
    case SEC_SERVICE:
        scn_key_service(p, &p->s->services[sec->index], name, value);
        break;
    case SEC_JOB:
        scn_key_job(p, &p->s->jobs[sec->index], name, value);
        break;
    case SEC_WORKLOAD:
        scn_key_workload(p, name, value);
        break;
    case SEC_INVARIANTS:
        break;
    }
    return 1;
}

/* ---------------------------------------------------------------
 * Checks that need the whole file, and defaults.
 * ------------------------------------------------------------ */
/* The line of KEY in the first section of kind, or 0 when it is not set. */
static int scn_key_line(struct scn_parse *p, enum scn_sec_kind kind, const char *key)
{
    for (int i = 0; i < p->nsecs; i++) {
        int repeat;
        int k = p->secs[i].kind == kind ? scn_key_index(kind, key, &repeat) : -1;
        if (k >= 0)
            return p->secs[i].key_line[k];
    }
    return 0;
}

/* The bounds that join several values (scn_limits_joint), on the line of
 * the key they are about (else of what the default depends on). */
static void scn_finish_limits(struct scn_parse *p)
{
    struct scenario *s = p->s;
    const char *what = NULL;
    char msg[512];
    int line;
    if (s->nservices > SCN_MAX_PROCESSES || s->njobs > SCN_MAX_PROCESSES) {
        int many = s->nservices > SCN_MAX_PROCESSES;
        scn_error(p, many ? s->services[SCN_MAX_PROCESSES].line : s->jobs[SCN_MAX_PROCESSES].line,
                  "more than %d [%s NAME] sections", SCN_MAX_PROCESSES, many ? "service" : "job");
        return;
    }
    if (scn_limits_joint(s, msg, sizeof(msg), &what) == 0)
        return;
    if (!strcmp(what, "request"))
        line = s->requests[SCN_MAX_REQUESTS].line;
    else
        line = scn_key_line(p, SEC_WORKLOAD, what);
    if (!line && (!strcmp(what, "sample") || !strcmp(what, "duration")))
        line = scn_key_line(p, SEC_SCENARIO, "timeout");
    scn_error(p, line ? line : p->workload_line ? p->workload_line : 1, "%s", msg);
}

static int scn_says_dsn(const char *text)
{
    /* ${dsn}, ${dsn_uri}, ${dsn:NAME}, ${db_host}, ${db_port} */
    return text && (strstr(text, "${dsn") || strstr(text, "${db_"));
}

static int scn_strv_says_dsn(char **v)
{
    for (int i = 0; v && v[i]; i++)
        if (scn_says_dsn(v[i]))
            return 1;
    return 0;
}

/* Does anything in s need the database?  Without it a run starts no
 * cluster (an initdb costs seconds and needs PostgreSQL installed). */
static int scn_uses_db(struct scn_parse *p)
{
    const struct scenario *s = p->s;
    int use = 0;
    for (int i = 0; i < p->nsecs; i++)
        use |= p->secs[i].kind == SEC_DATABASE;
    for (int i = 0; i < s->nrequests; i++) {
        const struct scn_request *r = &s->requests[i];
        use |= r->kind == SCN_REQ_SQL || scn_says_dsn(r->path) || scn_says_dsn(r->body);
    }
    for (int i = 0; i < s->ninvariants; i++)
        use |= s->invariants[i].kind == SCN_INV_SQL;
    for (int i = 0; i < s->nservices; i++) {
        const struct scn_service *v = &s->services[i];
        use |= scn_says_dsn(v->command) || scn_says_dsn(v->ready) || scn_says_dsn(v->rules) ||
               scn_strv_says_dsn(v->env);
    }
    for (int i = 0; i < s->njobs; i++) {
        const struct scn_job *j = &s->jobs[i];
        use |= scn_says_dsn(j->command) || scn_says_dsn(j->rules) || scn_strv_says_dsn(j->env);
    }
    return use || scn_says_dsn(s->rules);
}

static void scn_finish(struct scn_parse *p)
{
    struct scenario *s = p->s;
    int first_http = 0;

    for (int i = 0; i < s->nservices; i++)
        if (!s->services[i].command)
            scn_error(p, s->services[i].line, "[service %s] needs a 'command = ...' line",
                      s->services[i].name);
    for (int i = 0; i < s->njobs; i++)
        if (!s->jobs[i].command)
            scn_error(p, s->jobs[i].line, "[job %s] needs a 'command = ...' line", s->jobs[i].name);
    for (int i = 0; i < s->nrequests && !first_http; i++)
        if (s->requests[i].kind == SCN_REQ_HTTP)
            first_http = s->requests[i].line;
    if (s->target) {
        int found = 0;
        for (int i = 0; i < s->nservices; i++)
            found |= strcmp(s->services[i].name, s->target) == 0;
        if (!found)
            scn_error(p, p->target_line, "target '%s' is not a [service NAME] of this scenario",
                      s->target);
    } else if (s->nservices > 0) {
        s->target = scn_strdup(p, s->services[0].name);
    } else if (first_http) {
        scn_error(p, first_http, "an HTTP request needs a [service NAME] to send it to");
    }
    if (s->nrequests == 0 && s->njobs == 0)
        scn_error(p,
                  p->workload_line   ? p->workload_line
                  : p->scenario_line ? p->scenario_line
                                     : 1,
                  "nothing to run: expected 'request =' or 'sql =' lines in [workload], or a "
                  "[job NAME]");
    if (s->nrequests > 0 && !s->duration_ns && !s->iterations)
        s->duration_ns = 10 * NS_PER_S;
    s->uses_db = scn_uses_db(p);
    scn_finish_limits(p);
}

static void scn_defaults(struct scenario *s)
{
    s->timeout_ns = 120 * NS_PER_S;
    s->users = 1;
    s->max_tries = 1;
    s->request_timeout_ns = 5 * NS_PER_S;
    s->sample_ns = NS_PER_S;
}

/* Absolute directory of path and the default name (file name without
 * its extension). */
static int scn_names(struct scn_parse *p, const char *path)
{
    struct scenario *s = p->s;
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    char *dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup(".");
    char *real;
    if (!dir)
        return -1;
    real = realpath(dir, NULL);
    s->dir = real ? real : dir;
    if (real)
        free(dir);
    s->name = strndup(base, strcspn(base, "."));
    s->path = strdup(path);
    return (s->name && s->path) ? 0 : -1;
}

/* inih over the pre-scanned lines: multi-line values off (one entry a
 * line), inline ';' comments off (SQL and rules use ';').  inih's options
 * are process globals in the packaged library: restored after.  -1 out of
 * memory. */
static int scn_ini(struct scn_parse *p)
{
    bool old_multi = ini_allow_multiline, old_inline = ini_allow_inline_comments,
         old_stop = ini_stop_on_first_error;
    int ini;

    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
    ini_stop_on_first_error = false;
    ini = ini_parse_stream(scn_reader, p, scn_handler, p);
    ini_allow_multiline = old_multi;
    ini_allow_inline_comments = old_inline;
    ini_stop_on_first_error = old_stop;
    if (ini == -2)
        return -1;
    if (ini > 0 && ini <= p->nlines)
        scn_error(p, ini, "expected '[section]' or 'key = value' (got '%.60s')",
                  scn_skip_space(p->lines[ini - 1]));
    return 0;
}

/* The first error as "PATH:LINE: message" into err. */
static void scn_report(const struct scn_parse *p, const char *path, char *err, size_t errlen)
{
    /* history errors carry their own "FILE:LINE:COL" */
    if (strncmp(p->msg, path, strlen(path)) == 0 && p->msg[strlen(path)] == ':')
        snprintf(err, errlen, "%s:%d:%s", path, p->err_line, p->msg + strlen(path) + 1);
    else
        snprintf(err, errlen, "%s:%d: %s", path, p->err_line, p->msg);
}

int scn_load(const char *path, struct scenario *out, char *err, size_t errlen)
{
    struct scn_parse p = {0};
    char *text = NULL, why[256];
    int rc = -1;

    memset(out, 0, sizeof(*out));
    scn_defaults(out);
    p.path = path;
    p.s = out;
    p.cur_sec = -1;
    /* A directory, a device or a FIFO is no scenario: said as much instead
     * of "Cannot allocate memory" (a directory's size) or reading forever. */
    if (textfile_read(path, SCN_MAX_FILE, &text, NULL, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s:%s%s%s", path, isdigit((unsigned char)why[0]) ? "" : " ", why,
                 errno == EINVAL && !isdigit((unsigned char)why[0]) ? ": expected a scenario file"
                                                                    : "");
        goto out;
    }
    /* a UTF-8 byte order mark is not part of the first line */
    if (scn_names(&p, path) ||
        scn_split_lines(&p, text + (strncmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0)))
        goto oom;
    scn_description(&p);
    if (scn_scan_headers(&p) || scn_ini(&p) < 0)
        goto oom;
    if (!p.err_line)
        scn_finish(&p);
    if (p.oom)
        goto oom;
    if (p.err_line) {
        scn_report(&p, path, err, errlen);
        goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
out:
    for (int i = 0; i < p.nsecs; i++)
        free(p.secs[i].name);
    free(p.secs);
    free(p.lines);
    free(p.long_value);
    free(text);
    if (rc)
        scn_free(out);
    return rc;
}

void scn_free(struct scenario *s)
{
    if (!s)
        return;
    free(s->path);
    free(s->dir);
    free(s->name);
    free(s->description);
    free(s->rules);
    scn_strv_free(s->schema);
    scn_strv_free(s->fixtures);
    free(s->schema_lines);
    free(s->fixture_lines);
    for (int i = 0; i < s->nservices; i++) {
        struct scn_service *v = &s->services[i];
        free(v->name), free(v->command), free(v->ready), free(v->rules), free(v->rules_file);
        scn_strv_free(v->env);
    }
    free(s->services);
    for (int i = 0; i < s->njobs; i++) {
        struct scn_job *j = &s->jobs[i];
        free(j->name), free(j->command), free(j->rules), free(j->rules_file);
        scn_strv_free(j->env);
    }
    free(s->jobs);
    free(s->target);
    for (int i = 0; i < s->nrequests; i++) {
        struct scn_request *r = &s->requests[i];
        free(r->method), free(r->path), free(r->body), free(r->sql), free(r->label);
    }
    free(s->requests);
    for (int i = 0; i < s->ninvariants; i++) {
        struct scn_invariant *v = &s->invariants[i];
        free(v->name), free(v->sql), free(v->method), free(v->path);
    }
    free(s->invariants);
    memset(s, 0, sizeof(*s));
}

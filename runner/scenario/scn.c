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
 * --set overrides are lines of their own that the reader hands over in
 * their place (scn_set.c).
 *
 * Here: the reader, the handler and the whole-file checks, loading and
 * freeing; the sections' keys are scn_keys.c's and scn_flow.c's, values
 * are parsed in scn_value.c, scn_resp.c and scn_thresh.c, the pre-scan is
 * scn_scan.c.
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

static void scn_strv_free(char **v)
{
    for (int i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void scn_strv_free_n(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
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
    if (p->next >= p->norder || num < 8)
        return NULL;
    p->cur_line = p->order[p->next++] + 1;
    line = p->lines[p->cur_line - 1];
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
    case SEC_PROXY:
        scn_key_service(p, &p->s->services[sec->index], name, value);
        break;
    case SEC_JOB:
        scn_key_job(p, &p->s->jobs[sec->index], name, value);
        break;
    case SEC_WORKLOAD:
        scn_key_workload(p, name, value);
        break;
    case SEC_FLOW:
        scn_key_flow(p, sec, name, value);
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
               scn_says_dsn(v->proxy_to) || scn_strv_says_dsn(v->env);
    }
    for (int i = 0; i < s->njobs; i++) {
        const struct scn_job *j = &s->jobs[i];
        use |= scn_says_dsn(j->command) || scn_says_dsn(j->rules) || scn_strv_says_dsn(j->env);
    }
    return use || scn_says_dsn(s->rules);
}

/* A [service] needs its command; a [proxy] its upstream, and gets the
 * command and readiness of `wedge proxy` (the runner puts the running
 * wedge's path in place of "wedge": svc.c). */
static void scn_finish_process(struct scn_parse *p, struct scn_service *v)
{
    if (!v->is_proxy) {
        if (!v->command)
            scn_error(p, v->line, "[service %s] needs a 'command = ...' line", v->name);
        return;
    }
    if (!v->proxy_to) {
        scn_error(p, v->line,
                  "[proxy %s] needs a 'to = HOST:PORT' line (e.g. to = ${db_host}:${db_port})",
                  v->name);
        return;
    }
    if (asprintf(&v->command, "wedge proxy --serve --quiet --listen 127.0.0.1:${port} --to %s",
                 v->proxy_to) < 0)
        v->command = NULL, p->oom = 1;
    if (!v->ready)
        v->ready = scn_strdup(p, "tcp:${port}");
}

static void scn_finish(struct scn_parse *p)
{
    struct scenario *s = p->s;

    for (int i = 0; i < s->nservices; i++)
        scn_finish_process(p, &s->services[i]);
    for (int i = 0; i < s->njobs; i++)
        if (!s->jobs[i].command)
            scn_error(p, s->jobs[i].line, "[job %s] needs a 'command = ...' line", s->jobs[i].name);
    scn_finish_requests(p);
    if (s->nrequests == 0 && s->njobs == 0)
        scn_error(p,
                  p->workload_line   ? p->workload_line
                  : p->scenario_line ? p->scenario_line
                                     : 1,
                  "nothing to run: expected 'request =' or 'sql =' lines in [workload] or a "
                  "[flow NAME], or a [job NAME]");
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
    s->max_info = -1;
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

/* inih over the lines in order; its error line mapped back. */
static int scn_parse_lines(struct scn_parse *p)
{
    /* inih's options are process globals in the packaged library */
    bool old_multi = ini_allow_multiline, old_inline = ini_allow_inline_comments,
         old_stop = ini_stop_on_first_error;
    int ini;

    /* multi-line values off (one entry a line), inline ';' comments off
     * (SQL and rules use ';') */
    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
    ini_stop_on_first_error = false;
    ini = ini_parse_stream(scn_reader, p, scn_handler, p);
    ini_allow_multiline = old_multi;
    ini_allow_inline_comments = old_inline;
    ini_stop_on_first_error = old_stop;
    if (ini == -2)
        return -1;
    if (ini > 0 && ini <= p->norder) {
        int line = p->order[ini - 1] + 1;
        scn_error(p, line, "expected '[section]' or 'key = value' (got '%.60s')",
                  scn_skip_space(p->lines[line - 1]));
    }
    return 0;
}

/* The error as the user reads it: FILE:LINE[:COL]: message, or the
 * override's own "--set TEXT: message". */
static void scn_format_error(struct scn_parse *p, char *err, size_t errlen)
{
    const struct scenario *s = p->s;
    if (p->err_line < 0)
        snprintf(err, errlen, "%s", p->msg);
    else if (p->err_line > s->nlines_file && p->err_line - s->nlines_file <= s->noverrides)
        snprintf(err, errlen, "--set %s: %s", s->overrides[p->err_line - s->nlines_file - 1],
                 p->msg);
    else if (p->err_col)
        snprintf(err, errlen, "%s:%d:%d: %s", p->path, p->err_line, p->err_col, p->msg);
    else
        snprintf(err, errlen, "%s:%d: %s", p->path, p->err_line, p->msg);
}

/* Read path into lines; -1 with err. */
static int scn_read(struct scn_parse *p, const char *path, char **text, char *err, size_t errlen)
{
    char why[256];
    /* A directory, a device or a FIFO is no scenario: said as much instead
     * of "Cannot allocate memory" (a directory's size) or reading forever. */
    if (textfile_read(path, SCN_MAX_FILE, text, NULL, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s:%s%s%s", path, isdigit((unsigned char)why[0]) ? "" : " ", why,
                 errno == EINVAL && !isdigit((unsigned char)why[0]) ? ": expected a scenario file"
                                                                    : "");
        return -1;
    }
    /* a UTF-8 byte order mark is not part of the first line */
    if (scn_names(p, path) ||
        scn_split_lines(p, *text + (strncmp(*text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0))) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    return 0;
}

int scn_load_set(const char *path, const char *const *sets, int nsets, struct scenario *out,
                 char *err, size_t errlen)
{
    struct scn_parse p = {0};
    char *text = NULL;
    int rc = -1, set;

    memset(out, 0, sizeof(*out));
    scn_defaults(out);
    p.path = path;
    p.s = out;
    p.cur_sec = -1;
    p.last_req = -1;
    if (scn_read(&p, path, &text, err, errlen) < 0)
        goto out;
    scn_description(&p);
    set = scn_apply_sets(&p, sets, nsets);
    if (set == -2 || (set == 0 && scn_scan_headers(&p)) || (set == 0 && scn_parse_lines(&p)))
        goto oom;
    if (!p.err_line)
        scn_finish(&p);
    if (p.oom)
        goto oom;
    if (p.err_line) {
        scn_format_error(&p, err, errlen);
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
    for (int i = out->nlines_file; i < p.nlines; i++)
        free(p.lines[i]);
    free(p.lines);
    free(p.order);
    free(p.long_value);
    free(text);
    if (rc)
        scn_free(out);
    return rc;
}

int scn_load(const char *path, struct scenario *out, char *err, size_t errlen)
{
    return scn_load_set(path, NULL, 0, out, err, errlen);
}

const char *scn_where(const struct scenario *s, int line, char *buf, size_t len)
{
    if (line > s->nlines_file && line - s->nlines_file <= s->noverrides)
        snprintf(buf, len, "--set %s", s->overrides[line - s->nlines_file - 1]);
    else
        snprintf(buf, len, "%s:%d", s->path, line);
    return buf;
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
        free(v->proxy_to);
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
    for (int i = 0; i < s->nrequests; i++)
        scn_request_free(&s->requests[i]);
    free(s->requests);
    for (int i = 0; i < s->nflows; i++) {
        free(s->flows[i].name);
        for (int k = 0; k < s->flows[i].nheaders; k++)
            free(s->flows[i].headers[k].text);
        free(s->flows[i].headers);
    }
    free(s->flows);
    for (int k = 0; k < s->nheaders; k++)
        free(s->headers[k].text);
    free(s->headers);
    scn_strv_free_n(s->vars, s->nvars);
    for (int i = 0; i < s->ninvariants; i++) {
        struct scn_invariant *v = &s->invariants[i];
        free(v->name), free(v->sql), free(v->method), free(v->path), free(v->label);
        free(v->text);
        if (v->http)
            scn_request_free(v->http);
        free(v->http);
    }
    free(s->invariants);
    scn_strv_free_n(s->overrides, s->noverrides);
    memset(s, 0, sizeof(*s));
}

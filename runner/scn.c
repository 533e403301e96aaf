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
 */
#include "scn.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static const char *const scn_sec_names[] = {"scenario", "database", "service",
                                            "job",      "workload", "invariants"};

/* Keys of each section; a trailing '*' marks a repeatable key. */
static const char *const scn_keys[][SCN_NKEYS] = {
    [SEC_SCENARIO] = {"name", "description", "seed", "rules", "timeout", NULL},
    [SEC_DATABASE] = {"schema*", "fixture*", NULL},
    [SEC_SERVICE] = {"command", "ready", "rules", "rules_file", "env*", "stop_grace", NULL},
    [SEC_JOB] = {"command", "rules", "rules_file", "env*", "when", "timeout", NULL},
    [SEC_WORKLOAD] = {"users", "rate", "duration", "iterations", "target", "request*", "sql*",
                      "max_tries", "timeout", "sample", NULL},
    [SEC_INVARIANTS] = {NULL},
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

/* ---------------------------------------------------------------
 * Small helpers.
 * ------------------------------------------------------------ */
static void scn_error(struct scn_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keep the error on the earliest line. */
static void scn_error(struct scn_parse *p, int line, const char *fmt, ...)
{
    va_list ap;
    if (p->err_line && p->err_line <= line)
        return;
    p->err_line = line;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
    va_end(ap);
}

static char *scn_strdup(struct scn_parse *p, const char *s)
{
    char *d = strdup(s);
    if (!d)
        p->oom = 1;
    return d;
}

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

static size_t scn_min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Levenshtein distance, for "did you mean"; strings are short keys. */
static size_t scn_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;
    if (la >= 63 || lb >= 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            tmp = row[j];
            row[j] = scn_min3(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]));
            prev = tmp;
        }
    }
    return row[lb];
}

/* The closest of words (each perhaps ending in '*') to w, or NULL. */
static const char *scn_suggest(const char *w, const char *const *words, int n, char *buf,
                               size_t len)
{
    size_t best = 3; /* at most 2 edits */
    const char *hit = NULL;
    for (int i = 0; i < n && words[i]; i++) {
        size_t d, wl = strcspn(words[i], "*");
        snprintf(buf, len, "%.*s", (int)wl, words[i]);
        d = scn_distance(w, buf);
        if (d < best && d < strlen(buf)) {
            best = d;
            hit = words[i];
        }
    }
    if (!hit)
        return NULL;
    snprintf(buf, len, "%.*s", (int)strcspn(hit, "*"), hit);
    return buf;
}

static int scn_is_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || *s == '.' || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

static int scn_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static const char *scn_skip_space(const char *s)
{
    while (scn_is_space(*s))
        s++;
    return s;
}

/* ---------------------------------------------------------------
 * Numbers and durations.
 * ------------------------------------------------------------ */
int scn_parse_duration(const char *text, uint64_t *ns)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    const char *s = text;
    char num[64];
    size_t n = 0;
    int dots = 0;
    double v;

    if (!text)
        return -1;
    while ((*s >= '0' && *s <= '9') || *s == '.') {
        dots += *s == '.';
        s++;
    }
    n = (size_t)(s - text);
    if (n == 0 || n >= sizeof(num) || dots > 1 || (n == 1 && dots))
        return -1;
    memcpy(num, text, n);
    num[n] = '\0';
    v = strtod(num, NULL);
    if (*s == '\0') { /* a bare number: only 0 needs no unit */
        if (v != 0)
            return -1;
        *ns = 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(s, units[i].unit) == 0) {
            v *= units[i].mult;
            if (!(v < 1.8e19))
                return -1;
            *ns = (uint64_t)llround(v);
            return 0;
        }
    return -1;
}

static int scn_parse_u64(const char *text, uint64_t *out)
{
    char *end;
    int base = 10;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        base = 16;
    if (!(*text >= '0' && *text <= '9'))
        return -1;
    errno = 0;
    *out = strtoull(text, &end, base);
    return (*end || errno) ? -1 : 0;
}

static int scn_parse_double(const char *text, double *out)
{
    char *end;
    if (!(*text >= '0' && *text <= '9') && *text != '.' && *text != '-' && *text != '+')
        return -1;
    errno = 0;
    *out = strtod(text, &end);
    return (*end || errno || !isfinite(*out)) ? -1 : 0;
}

static void scn_bad_duration(struct scn_parse *p, const char *key, const char *v)
{
    scn_error(p, p->cur_line,
              "bad duration '%s' for '%s': expected a number and a unit (ns, us, ms, s, m, h), "
              "e.g. 250ms",
              v, key);
}

static int scn_duration(struct scn_parse *p, const char *key, const char *v, uint64_t *ns)
{
    if (scn_parse_duration(v, ns) == 0)
        return 0;
    scn_bad_duration(p, key, v);
    return -1;
}

/* A whole number in [min, max]. */
static int scn_whole(struct scn_parse *p, const char *key, const char *v, uint64_t min,
                     uint64_t max, uint64_t *out)
{
    if (scn_parse_u64(v, out)) {
        scn_error(p, p->cur_line, "bad number '%s' for '%s': expected a whole number", v, key);
        return -1;
    }
    if (*out < min || *out > max) {
        scn_error(p, p->cur_line, "'%s' must be between %llu and %llu (got %s)", key,
                  (unsigned long long)min, (unsigned long long)max, v);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------
 * Requests and history invariants.
 * ------------------------------------------------------------ */
static const char *const scn_methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                          "PATCH", "DELETE", "OPTIONS", NULL};

/* Take a leading "WEIGHT " off *v; 1 when there is none. */
static int scn_weight(struct scn_parse *p, const char **v, unsigned *weight)
{
    const char *s = *v, *e = s;
    uint64_t w;
    char tok[32];
    *weight = 1;
    if (!(*s >= '0' && *s <= '9'))
        return 0;
    while (*e && !scn_is_space(*e))
        e++;
    snprintf(tok, sizeof(tok), "%.*s", (int)(e - s), s);
    if (scn_parse_u64(tok, &w) || w < 1 || w > 1000000) {
        scn_error(p, p->cur_line, "bad weight '%s': expected a whole number from 1 to 1000000",
                  tok);
        return -1;
    }
    while (scn_is_space(*e))
        e++;
    *weight = (unsigned)w;
    *v = e;
    return 0;
}

static struct scn_request *scn_new_request(struct scn_parse *p)
{
    struct scenario *s = p->s;
    struct scn_request *nr = realloc(s->requests, (size_t)(s->nrequests + 1) * sizeof(*nr));
    if (!nr) {
        p->oom = 1;
        return NULL;
    }
    s->requests = nr;
    memset(&nr[s->nrequests], 0, sizeof(*nr));
    nr[s->nrequests].line = p->cur_line;
    return &nr[s->nrequests++];
}

static void scn_http_request(struct scn_parse *p, const char *v)
{
    const char *m, *me, *path, *pe;
    struct scn_request *r;
    unsigned weight;
    int known = 0;
    char method[16];

    if (scn_weight(p, &v, &weight))
        return;
    m = v;
    for (me = m; *me && !scn_is_space(*me); me++)
        ;
    snprintf(method, sizeof(method), "%.*s", (int)(me - m), m);
    for (int i = 0; scn_methods[i]; i++)
        known |= (size_t)(me - m) == strlen(scn_methods[i]) && strcmp(method, scn_methods[i]) == 0;
    if (!known) {
        scn_error(p, p->cur_line,
                  "expected [WEIGHT] METHOD PATH [BODY] with METHOD one of GET, HEAD, POST, PUT, "
                  "PATCH, DELETE, OPTIONS (got '%.*s')",
                  (int)(me - m), m);
        return;
    }
    for (path = me; scn_is_space(*path); path++)
        ;
    if (*path != '/') {
        scn_error(p, p->cur_line, "expected a PATH starting with '/' after '%s'", method);
        return;
    }
    for (pe = path; *pe && !scn_is_space(*pe); pe++)
        ;
    r = scn_new_request(p);
    if (!r)
        return;
    r->kind = SCN_REQ_HTTP;
    r->weight = weight;
    r->method = scn_strdup(p, method);
    r->path = strndup(path, (size_t)(pe - path));
    while (scn_is_space(*pe))
        pe++;
    r->body = *pe ? scn_strdup(p, pe) : NULL;
    if (asprintf(&r->label, "%s %s", method, r->path ? r->path : "") < 0)
        r->label = NULL;
    if (!r->path || !r->label)
        p->oom = 1;
}

static void scn_sql_request(struct scn_parse *p, const char *v)
{
    struct scn_request *r;
    unsigned weight;
    if (scn_weight(p, &v, &weight))
        return;
    if (!*v) {
        scn_error(p, p->cur_line, "expected [WEIGHT] STATEMENT[; STATEMENT...] after 'sql ='");
        return;
    }
    r = scn_new_request(p);
    if (!r)
        return;
    r->kind = SCN_REQ_SQL;
    r->weight = weight;
    r->sql = scn_strdup(p, v);
    if (asprintf(&r->label, "sql:%.40s", v) < 0) {
        r->label = NULL;
        p->oom = 1;
    }
}

/* Column (1-based) of value offset off on the current raw line. */
static int scn_col(struct scn_parse *p, size_t off)
{
    const char *raw = p->lines[p->cur_line - 1];
    size_t d = strcspn(raw, "=:");
    if (raw[d])
        d++;
    while (raw[d] == ' ' || raw[d] == '\t')
        d++;
    return (int)(d + off) + 1;
}

struct scn_tok {
    const char *s;
    size_t n;
};

/* Next token of a history invariant: an operator, or a run up to a
 * space or an operator character. */
static struct scn_tok scn_lex(const char **pos)
{
    const char *s = *pos;
    struct scn_tok t;
    while (scn_is_space(*s))
        s++;
    t.s = s;
    if (strchr("<>=!", *s) && *s) {
        s += (s[1] == '=') ? 2 : 1;
    } else {
        while (*s && !scn_is_space(*s) && !strchr("<>=!", *s))
            s++;
    }
    t.n = (size_t)(s - t.s);
    *pos = s;
    return t;
}

static int scn_tok_is(struct scn_tok t, const char *w)
{
    return t.n == strlen(w) && strncmp(t.s, w, t.n) == 0;
}

static int scn_is_method(struct scn_tok t)
{
    if (!t.n)
        return 0;
    for (size_t i = 0; i < t.n; i++)
        if (!(t.s[i] >= 'A' && t.s[i] <= 'Z'))
            return 0;
    return 1;
}

static void scn_history(struct scn_parse *p, struct scn_invariant *inv, const char *value)
{
    static const char *const outcomes[] = {"ok", "fail", "info", "all"};
    static const char *const ops[] = {"<", "<=", "==", "!=", ">=", ">"};
    const char *pos = value + strlen("history:");
    struct scn_tok t = scn_lex(&pos);
    int found = -1;
    char num[64];
    char *end;

    inv->kind = SCN_INV_HISTORY;
    for (int i = 0; i < 4; i++)
        if (scn_tok_is(t, outcomes[i]))
            found = i;
    if (found < 0) {
        if (t.n)
            scn_error(p, p->cur_line, "%s:%d: expected ok, fail, info or all (got '%.*s')", p->path,
                      scn_col(p, (size_t)(t.s - value)), (int)t.n, t.s);
        else
            scn_error(p, p->cur_line, "%s:%d: expected ok, fail, info or all after 'history:'",
                      p->path, scn_col(p, (size_t)(t.s - value)));
        return;
    }
    inv->outcome = (enum scn_outcome)found;
    t = scn_lex(&pos);
    if (scn_is_method(t)) {
        inv->method = strndup(t.s, t.n);
        t = scn_lex(&pos);
    }
    if (t.n && t.s[0] == '/') {
        inv->path = strndup(t.s, t.n);
        t = scn_lex(&pos);
    }
    found = -1;
    for (int i = 0; i < 6; i++)
        if (scn_tok_is(t, ops[i]))
            found = i;
    if (found < 0) {
        scn_error(p, p->cur_line, "%s:%d: expected %san operator (< <= == != >= >), got '%.*s'%s",
                  p->path, scn_col(p, (size_t)(t.s - value)),
                  inv->path     ? ""
                  : inv->method ? "a PATH or "
                                : "METHOD, PATH or ",
                  (int)t.n, t.s, scn_tok_is(t, "=") ? " (did you mean '=='?)" : "");
        return;
    }
    inv->op = (enum scn_op)found;
    t = scn_lex(&pos);
    snprintf(num, sizeof(num), "%.*s", (int)t.n, t.s);
    errno = 0;
    inv->number = strtod(num, &end);
    if (!t.n || *end || errno || !isfinite(inv->number)) {
        scn_error(p, p->cur_line, "%s:%d: expected a number after '%s', got '%s'", p->path,
                  scn_col(p, (size_t)(t.s - value)), ops[found], num);
        return;
    }
    t = scn_lex(&pos);
    if (t.n)
        scn_error(p, p->cur_line, "%s:%d: unexpected '%.*s' after the number", p->path,
                  scn_col(p, (size_t)(t.s - value)), (int)t.n, t.s);
}

static void scn_invariant(struct scn_parse *p, const char *name, const char *value)
{
    struct scenario *s = p->s;
    struct scn_invariant *ni, *inv;

    if (!scn_is_name(name)) {
        scn_error(p, p->cur_line,
                  "invariant name '%s' may hold only letters, digits, '_', '-' and '.'", name);
        return;
    }
    if (strcmp(name, "service_alive") == 0 || strcmp(name, "jobs_succeeded") == 0) {
        scn_error(p, p->cur_line, "invariant '%s' is built in: choose another name", name);
        return;
    }
    for (int i = 0; i < s->ninvariants; i++)
        if (strcmp(s->invariants[i].name, name) == 0) {
            scn_error(p, p->cur_line, "duplicate invariant '%s' (first at line %d)", name,
                      s->invariants[i].line);
            return;
        }
    if (!*value) {
        scn_error(p, p->cur_line, "invariant '%s' needs an SQL query or 'history: ...'", name);
        return;
    }
    ni = realloc(s->invariants, (size_t)(s->ninvariants + 1) * sizeof(*ni));
    if (!ni) {
        p->oom = 1;
        return;
    }
    s->invariants = ni;
    inv = &ni[s->ninvariants++];
    memset(inv, 0, sizeof(*inv));
    inv->line = p->cur_line;
    inv->name = scn_strdup(p, name);
    if (strncmp(value, "history:", 8) == 0) {
        scn_history(p, inv, value);
    } else {
        inv->kind = SCN_INV_SQL;
        inv->sql = scn_strdup(p, value);
    }
}

/* ---------------------------------------------------------------
 * Paths relative to the scenario file.
 * ------------------------------------------------------------ */
static char *scn_resolve(struct scn_parse *p, const char *what, const char *v)
{
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
    char buf[64], known[256] = "";
    const char *hint = scn_suggest(name, scn_keys[sec->kind], SCN_NKEYS, buf, sizeof(buf));
    if (hint) {
        scn_error(p, p->cur_line, "unknown key '%s' (did you mean '%s'?)", name, hint);
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
        if (scn_duration(p, name, v, &s->timeout_ns) == 0 && !s->timeout_ns)
            scn_error(p, p->cur_line, "'timeout' must be more than 0");
    }
}

static void scn_key_database(struct scn_parse *p, const char *name, const char *v)
{
    if (strcmp(name, "schema") == 0) {
        char *full = scn_resolve(p, "schema file", v);
        if (full)
            scn_strv_push(p, &p->s->schema, full);
        free(full);
    } else {
        scn_strv_push(p, &p->s->fixtures, v);
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
        scn_duration(p, name, v, &svc->stop_grace_ns);
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
        scn_duration(p, name, v, &job->timeout_ns);
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
        if (scn_whole(p, name, v, 1, 100000, &u) == 0)
            s->users = (unsigned)u;
    } else if (strcmp(name, "rate") == 0) {
        if (scn_parse_double(v, &s->rate) || !(s->rate > 0))
            scn_error(p, p->cur_line,
                      "bad number '%s' for 'rate': expected requests per second (a number > 0)", v);
    } else if (strcmp(name, "duration") == 0) {
        scn_duration(p, name, v, &s->duration_ns);
    } else if (strcmp(name, "iterations") == 0) {
        scn_whole(p, name, v, 0, UINT64_MAX, &s->iterations);
    } else if (strcmp(name, "target") == 0) {
        p->target_line = p->cur_line;
        scn_set_str(p, &s->target, v);
    } else if (strcmp(name, "request") == 0) {
        scn_http_request(p, v);
    } else if (strcmp(name, "sql") == 0) {
        scn_sql_request(p, v);
    } else if (strcmp(name, "max_tries") == 0) {
        if (scn_whole(p, name, v, 1, 1000, &u) == 0)
            s->max_tries = (unsigned)u;
    } else if (strcmp(name, "timeout") == 0) {
        if (scn_duration(p, name, v, &s->request_timeout_ns) == 0 && !s->request_timeout_ns)
            scn_error(p, p->cur_line, "'timeout' must be more than 0");
    } else if (strcmp(name, "sample") == 0) {
        if (scn_duration(p, name, v, &s->sample_ns) == 0 && s->sample_ns < 1000000)
            scn_error(p, p->cur_line, "'sample' must be at least 1ms (got '%s')", v);
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
 * The pre-scan: lines, the opening comment, section headers.
 * ------------------------------------------------------------ */
static int scn_split_lines(struct scn_parse *p, char *text)
{
    char *s = text;
    while (*s) {
        char *nl = strchr(s, '\n'), **nv;
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        if (n && s[n - 1] == '\r')
            s[n - 1] = '\0';
        if (nl)
            *nl = '\0';
        nv = realloc(p->lines, (size_t)(p->nlines + 1) * sizeof(char *));
        if (!nv)
            return -1;
        p->lines = nv;
        p->lines[p->nlines++] = s;
        if (n > SCN_MAX_LINE)
            scn_error(p, p->nlines, "line longer than %d characters", SCN_MAX_LINE);
        if (!nl)
            break;
        s = nl + 1;
    }
    return 0;
}

/* The opening ';' / '#' comment lines, markers stripped, joined by '\n'. */
static void scn_description(struct scn_parse *p)
{
    size_t len = 0;
    char *d = NULL;
    for (int i = 0; i < p->nlines; i++) {
        const char *l = scn_skip_space(p->lines[i]);
        size_t n;
        char *nd;
        if (!*l && !d)
            continue; /* blank lines before the comment */
        if (*l != ';' && *l != '#')
            break;
        while (*l == ';' || *l == '#')
            l++;
        if (*l == ' ')
            l++;
        n = strlen(l);
        while (n && scn_is_space(l[n - 1]))
            n--;
        nd = realloc(d, len + n + 2);
        if (!nd) {
            p->oom = 1;
            break;
        }
        d = nd;
        if (len)
            d[len++] = '\n';
        memcpy(d + len, l, n);
        len += n;
        d[len] = '\0';
    }
    if (d && !*d)
        free(d), d = NULL;
    p->s->description = d;
}

static int scn_find_sec(struct scn_parse *p, enum scn_sec_kind k, const char *name)
{
    for (int i = 0; i < p->nsecs; i++)
        if (p->secs[i].kind == k && (!name || strcmp(p->secs[i].name, name) == 0))
            return i;
    return -1;
}

static void scn_unknown_section(struct scn_parse *p, int line, const char *word, const char *hdr)
{
    char buf[64];
    const char *hint = scn_suggest(word, scn_sec_names, 6, buf, sizeof(buf));
    if (hint)
        scn_error(p, line, "unknown section '[%s]' (did you mean '[%s%s]'?)", hdr, hint,
                  hdr + strlen(word));
    else
        scn_error(p, line,
                  "unknown section '[%s]' (expected [scenario], [database], [service NAME], "
                  "[job NAME], [workload] or [invariants])",
                  hdr);
}

/* A section header: check it and add it to p->secs (and services/jobs). */
static int scn_header(struct scn_parse *p, int line, const char *hdr)
{
    struct scenario *s = p->s;
    char word[SCN_MAX_SECTION + 1];
    const char *rest;
    int kind = -1, other;
    struct scn_sec *sec, *ns;

    if (strlen(hdr) > SCN_MAX_SECTION) {
        scn_error(p, line, "section name longer than %d characters", SCN_MAX_SECTION);
        return 0;
    }
    snprintf(word, sizeof(word), "%.*s", (int)strcspn(hdr, " \t"), hdr);
    rest = scn_skip_space(hdr + strlen(word));
    for (int i = 0; i < 6; i++)
        if (strcmp(word, scn_sec_names[i]) == 0)
            kind = i;
    if (kind < 0) {
        scn_unknown_section(p, line, word, hdr);
        return 0;
    }
    if ((kind == SEC_SERVICE || kind == SEC_JOB) && !scn_is_name(rest)) {
        scn_error(p, line,
                  "section [%s] needs a name of letters, digits, '_', '-' or '.': [%s NAME]", hdr,
                  word);
        return 0;
    }
    if (kind != SEC_SERVICE && kind != SEC_JOB && *rest) {
        scn_error(p, line, "section [%s] takes no name (got '%s')", word, rest);
        return 0;
    }
    other = scn_find_sec(p, SEC_SERVICE, *rest ? rest : NULL);
    if (other < 0)
        other = scn_find_sec(p, SEC_JOB, *rest ? rest : NULL);
    if (!*rest)
        other = scn_find_sec(p, (enum scn_sec_kind)kind, NULL);
    if (other >= 0) {
        if (*rest)
            scn_error(p, line, "duplicate name '%s' (first at line %d)", rest, p->secs[other].line);
        else
            scn_error(p, line, "duplicate section [%s] (first at line %d)", word,
                      p->secs[other].line);
        return 0;
    }
    ns = realloc(p->secs, (size_t)(p->nsecs + 1) * sizeof(*ns));
    if (!ns)
        return -1;
    p->secs = ns;
    sec = &ns[p->nsecs++];
    memset(sec, 0, sizeof(*sec));
    sec->kind = (enum scn_sec_kind)kind;
    sec->line = line;
    sec->name = scn_strdup(p, rest);
    if (kind == SEC_SERVICE) {
        struct scn_service *nv = realloc(s->services, (size_t)(s->nservices + 1) * sizeof(*nv));
        if (!nv)
            return -1;
        s->services = nv;
        memset(&nv[s->nservices], 0, sizeof(*nv));
        nv[s->nservices].name = scn_strdup(p, rest);
        nv[s->nservices].line = line;
        nv[s->nservices].stop_grace_ns = 2000000000ull;
        sec->index = s->nservices++;
    } else if (kind == SEC_JOB) {
        struct scn_job *nv = realloc(s->jobs, (size_t)(s->njobs + 1) * sizeof(*nv));
        if (!nv)
            return -1;
        s->jobs = nv;
        memset(&nv[s->njobs], 0, sizeof(*nv));
        nv[s->njobs].name = scn_strdup(p, rest);
        nv[s->njobs].line = line;
        sec->index = s->njobs++;
    } else if (kind == SEC_WORKLOAD) {
        p->workload_line = line;
    } else if (kind == SEC_SCENARIO) {
        p->scenario_line = line;
    }
    return 0;
}

/* Mirror inih: a line whose first non-blank is '[' is a header. */
static int scn_scan_headers(struct scn_parse *p)
{
    char hdr[256]; /* longer names are refused in scn_header */
    for (int i = 0; i < p->nlines; i++) {
        const char *l = scn_skip_space(p->lines[i]), *end;
        if (*l != '[')
            continue;
        end = strchr(l, ']');
        if (!end) {
            scn_error(p, i + 1, "expected ']' to close the section header");
            continue;
        }
        snprintf(hdr, sizeof(hdr), "%.*s", (int)(end - l - 1), l + 1);
        if (scn_header(p, i + 1, hdr))
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------
 * Checks that need the whole file, and defaults.
 * ------------------------------------------------------------ */
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
        s->duration_ns = 10000000000ull;
}

static void scn_defaults(struct scenario *s)
{
    s->timeout_ns = 120000000000ull;
    s->users = 1;
    s->max_tries = 1;
    s->request_timeout_ns = 5000000000ull;
    s->sample_ns = 1000000000ull;
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

int scn_load(const char *path, struct scenario *out, char *err, size_t errlen)
{
    struct scn_parse p = {0};
    char *text = NULL;
    FILE *f = NULL;
    long size;
    int rc = -1, ini;
    /* inih's options are process globals in the packaged library */
    bool old_multi = ini_allow_multiline, old_inline = ini_allow_inline_comments,
         old_stop = ini_stop_on_first_error;

    memset(out, 0, sizeof(*out));
    scn_defaults(out);
    p.path = path;
    p.s = out;
    p.cur_sec = -1;
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
        !(text = calloc(1, (size_t)size + 1)) ||
        (size && fread(text, 1, (size_t)size, f) != (size_t)size)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
        goto out;
    }
    /* a UTF-8 byte order mark is not part of the first line */
    if (scn_names(&p, path) ||
        scn_split_lines(&p, text + (strncmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0)))
        goto oom;
    scn_description(&p);
    if (scn_scan_headers(&p))
        goto oom;

    /* multi-line values off (one entry a line), inline ';' comments off
     * (SQL and rules use ';') */
    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
    ini_stop_on_first_error = false;
    ini = ini_parse_stream(scn_reader, &p, scn_handler, &p);
    ini_allow_multiline = old_multi;
    ini_allow_inline_comments = old_inline;
    ini_stop_on_first_error = old_stop;
    if (ini == -2)
        goto oom;
    if (ini > 0 && ini <= p.nlines)
        scn_error(&p, ini, "expected '[section]' or 'key = value' (got '%.60s')",
                  scn_skip_space(p.lines[ini - 1]));
    if (!p.err_line)
        scn_finish(&p);
    if (p.oom)
        goto oom;
    if (p.err_line) {
        /* history errors carry their own "FILE:LINE:COL" */
        if (strncmp(p.msg, path, strlen(path)) == 0 && p.msg[strlen(path)] == ':')
            snprintf(err, errlen, "%s:%d:%s", path, p.err_line, p.msg + strlen(path) + 1);
        else
            snprintf(err, errlen, "%s:%d: %s", path, p.err_line, p.msg);
        goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
out:
    if (f)
        fclose(f);
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

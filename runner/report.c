/*
 * report.c - the files of a run: summary.json, junit.xml, report.md and
 * latency.hgrm, written from a struct run_result plus what the run left in
 * its directory (history.jsonl, traces/trace.PID.jsonl).
 *
 * Each file is written to NAME.tmp and renamed into place, so a reader
 * (CI, a person, a second wedge) never sees half a report.  The traces and
 * the history can be large: they are streamed, never loaded whole.
 */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REP_MAX_RULES    64  /* rules in the injection table */
#define REP_MAX_EXAMPLES 3   /* example details per rule */
#define REP_MAX_CLASSES  32  /* error classes in report.md */
#define REP_BEFORE       20  /* timeline events up to the anchor */
#define REP_AFTER        10  /* and after it */
#define REP_TEXT         200 /* characters of one timeline line */

/* ---------------------------------------------------------------
 * JSON and XML text.
 * ------------------------------------------------------------ */
/* Length of the well-formed UTF-8 sequence at s (1..4), 0 if it is not
 * one (overlong forms, surrogates and stray bytes included). */
static int rep_utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80                    ? 1
            : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
            : (s[0] & 0xf0) == 0xe0        ? 3
            : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                           : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) ||
        (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))))
        return 0;
    return n;
}

/* Bytes that are not UTF-8 (a server message in another encoding) become
 * U+FFFD, so every line stays readable by a JSON parser. */
void json_put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80) {
            int n = rep_utf8_len((const unsigned char *)s);
            if (!n) {
                fputs("\\ufffd", f);
                continue;
            }
            fwrite(s, 1, (size_t)n, f);
            s += n - 1;
            continue;
        }
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

int json_peek_i64(const char *line, const char *quoted_key, int64_t *v)
{
    const char *k = strstr(line, quoted_key);
    char *end;
    if (!k || k[strlen(quoted_key)] != ':')
        return 0;
    *v = strtoll(k + strlen(quoted_key) + 1, &end, 10);
    return end != k + strlen(quoted_key) + 1;
}

int json_peek_str(const char *line, const char *quoted_key, char *out, size_t len)
{
    const char *k = strstr(line, quoted_key), *v, *end;
    if (!k || k[strlen(quoted_key)] != ':' || k[strlen(quoted_key) + 1] != '"')
        return 0;
    v = k + strlen(quoted_key) + 2;
    end = strpbrk(v, "\\\"");
    if (!end || *end != '"' || (size_t)(end - v) >= len)
        return 0;
    memcpy(out, v, (size_t)(end - v));
    out[end - v] = '\0';
    return 1;
}

void xml_put_string(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            fputc((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f ? '?' : c, f);
        }
    }
}

/* Markdown table cell: '|' escaped, newlines as spaces, cut at max. */
static void rep_md_cell(FILE *f, const char *s, size_t max)
{
    size_t n = 0;
    for (; s && *s && n < max; s++, n++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
    if (s && *s)
        fputs("...", f);
}

/* ---------------------------------------------------------------
 * Atomic files: NAME.tmp, then rename.
 * ------------------------------------------------------------ */
struct rep_file {
    FILE *f;
    char tmp[4096], path[4096];
};

static int rep_open(struct rep_file *rf, const char *dir, const char *name, char *err,
                    size_t errlen)
{
    snprintf(rf->path, sizeof(rf->path), "%s/%s", dir, name);
    snprintf(rf->tmp, sizeof(rf->tmp), "%s/.%s.tmp", dir, name);
    rf->f = fopen(rf->tmp, "w");
    if (!rf->f) {
        snprintf(err, errlen, "cannot write %s: %s", rf->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static int rep_close(struct rep_file *rf, char *err, size_t errlen)
{
    int bad = ferror(rf->f);
    if (fclose(rf->f) != 0 || bad) {
        snprintf(err, errlen, "cannot write %s: %s", rf->tmp, strerror(errno ? errno : EIO));
        unlink(rf->tmp);
        return -1;
    }
    if (rename(rf->tmp, rf->path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", rf->tmp, rf->path, strerror(errno));
        unlink(rf->tmp);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------
 * Trace files.
 * ------------------------------------------------------------ */

/* Call fn(path, arg) for every trace.*.jsonl under dir, in name order. */
static void rep_each_trace(const char *dir, void (*fn)(const char *path, void *arg), void *arg)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    char path[4096];
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t len = strlen(nm);
        if (strncmp(nm, "trace.", 6) == 0 && len > 6 && strcmp(nm + len - 6, ".jsonl") == 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, nm);
            fn(path, arg);
        }
        free(names[i]);
    }
    free(names);
}

/* Call fn(event, arg) for every injection line (not the summary). */
struct rep_lines {
    void (*fn)(json_t *ev, void *arg);
    void *arg;
    /* cheap look at the raw line first: 0 skips parsing it; NULL: parse all */
    int (*want)(const char *line, void *arg);
};

static void rep_trace_lines(const char *path, void *arg)
{
    struct rep_lines *rl = arg;
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    if (!f)
        return;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *e;
        if (!strstr(line, "\"outcome\"") || (rl->want && !rl->want(line, rl->arg)))
            continue;
        e = json_loadb(line, (size_t)n, JSON_DISABLE_EOF_CHECK, NULL);
        if (json_is_object(e))
            rl->fn(e, rl->arg);
        json_decref(e);
    }
    free(line);
    fclose(f);
}

static void rep_each_event(const char *out_dir, void (*fn)(json_t *ev, void *arg),
                           int (*want)(const char *line, void *arg), void *arg)
{
    struct rep_lines rl = {fn, arg, want};
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/traces", out_dir);
    rep_each_trace(dir, rep_trace_lines, &rl);
}

static const char *rep_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static uint64_t rep_u64(json_t *o, const char *key)
{
    return (uint64_t)json_integer_value(json_object_get(o, key));
}

/* The injection table: one row per rule. */
struct rep_rule {
    char name[64], action[32], hook[64];
    uint64_t fires, released, timeout, error, waited_ns;
    char *examples[REP_MAX_EXAMPLES];
    int nexamples;
};

struct rep_inj {
    struct rep_rule rules[REP_MAX_RULES];
    int nrules;
    uint64_t total;
    uint64_t last_ts_ns; /* realtime of the last fire */
};

/* The row of a rule, added when new; NULL when the table is full. */
static struct rep_rule *rep_inj_rule(struct rep_inj *inj, const char *rule, const char *action)
{
    struct rep_rule *r;
    for (int i = 0; i < inj->nrules; i++)
        if (strcmp(inj->rules[i].name, rule) == 0)
            return &inj->rules[i];
    if (inj->nrules == REP_MAX_RULES)
        return NULL;
    r = &inj->rules[inj->nrules++];
    snprintf(r->name, sizeof(r->name), "%s", rule);
    snprintf(r->action, sizeof(r->action), "%s", action);
    return r;
}

/* Count one fire; detail NULL: not looked at (the rule has its examples). */
static void rep_inj_add(struct rep_inj *inj, const char *rule, const char *action, const char *hook,
                        const char *outcome, uint64_t waited_ns, uint64_t ts, const char *detail)
{
    struct rep_rule *r;
    inj->total++;
    if (ts > inj->last_ts_ns)
        inj->last_ts_ns = ts;
    r = rep_inj_rule(inj, rule, action);
    if (!r)
        return;
    if (!strstr(r->hook, hook) && strlen(r->hook) < 40)
        snprintf(r->hook + strlen(r->hook), sizeof(r->hook) - strlen(r->hook), "%s%s",
                 r->hook[0] ? "," : "", hook);
    r->fires++;
    r->released += strcmp(outcome, "released") == 0;
    r->timeout += strcmp(outcome, "timeout") == 0;
    r->error += strcmp(outcome, "error") == 0;
    r->waited_ns += waited_ns;
    if (detail && *detail && r->nexamples < REP_MAX_EXAMPLES) {
        for (int i = 0; i < r->nexamples; i++)
            if (strcmp(r->examples[i], detail) == 0)
                return;
        r->examples[r->nexamples] = strndup(detail, 120);
        if (r->examples[r->nexamples])
            r->nexamples++;
    }
}

static void rep_inj_event(json_t *e, void *arg)
{
    rep_inj_add(arg, rep_str(e, "rule"), rep_str(e, "action"), rep_str(e, "hook"),
                rep_str(e, "outcome"), rep_u64(e, "waited_ns"), rep_u64(e, "ts_ns"),
                rep_str(e, "detail"));
}

/* Most trace lines are counted from the raw text (a trace can hold
 * 10^5 fires); a line is parsed only for an example detail, or when it
 * is not in the shim's compact form. */
static int rep_inj_wanted(const char *line, void *arg)
{
    struct rep_inj *inj = arg;
    char rule[64], action[32], hook[64], outcome[32];
    int64_t waited, ts;
    struct rep_rule *r;
    if (!json_peek_str(line, "\"rule\"", rule, sizeof(rule)) ||
        !json_peek_str(line, "\"action\"", action, sizeof(action)) ||
        !json_peek_str(line, "\"hook\"", hook, sizeof(hook)) ||
        !json_peek_str(line, "\"outcome\"", outcome, sizeof(outcome)) ||
        !json_peek_i64(line, "\"waited_ns\"", &waited) || !json_peek_i64(line, "\"ts_ns\"", &ts))
        return 1;
    r = rep_inj_rule(inj, rule, action);
    /* examples come from the first fires of a rule */
    if (r && r->nexamples < REP_MAX_EXAMPLES && r->fires < 1000 && !strstr(line, "\"detail\":null"))
        return 1;
    rep_inj_add(inj, rule, action, hook, outcome, (uint64_t)waited, (uint64_t)ts, NULL);
    return 0;
}

static void rep_inj_free(struct rep_inj *inj)
{
    for (int i = 0; i < inj->nrules; i++)
        for (int j = 0; j < inj->rules[i].nexamples; j++)
            free(inj->rules[i].examples[j]);
}

/* ---------------------------------------------------------------
 * report_count_fires: cheap enough for the progress line.  Only the
 * bytes appended since the last call are read (per file, by inode).
 * ------------------------------------------------------------ */
#define REP_CACHE 256
static struct {
    char dir[1024];
    struct {
        ino_t ino;
        off_t off;
        uint64_t fires;
    } f[REP_CACHE];
    int n;
} rep_cache;
static pthread_mutex_t rep_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Fires in whole lines of fd from *off on; *off moves past them. */
static uint64_t rep_count_new(int fd, off_t *off)
{
    char buf[65536];
    uint64_t n = 0;
    ssize_t got;
    while ((got = pread(fd, buf, sizeof(buf) - 1, *off)) > 0) {
        char *end = memrchr(buf, '\n', (size_t)got), *p = buf;
        if (!end && (size_t)got < sizeof(buf) - 1)
            break; /* a line still being written */
        if (!end) {
            *off += got; /* part of an over-long line (the exit summary): no fire */
            continue;
        }
        end[1] = '\0';
        while ((p = strstr(p, "\"outcome\"")) != NULL)
            n++, p += 9;
        *off += end + 1 - buf;
    }
    return n;
}

static void rep_count_file(const char *path, void *arg)
{
    uint64_t *total = arg;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC), i;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0) {
        for (i = 0; i < rep_cache.n && rep_cache.f[i].ino != st.st_ino; i++)
            ;
        if (i == rep_cache.n && rep_cache.n < REP_CACHE) {
            rep_cache.f[i].ino = st.st_ino;
            rep_cache.f[i].off = 0;
            rep_cache.f[i].fires = 0;
            rep_cache.n++;
        }
        if (i < rep_cache.n) {
            if (st.st_size < rep_cache.f[i].off) /* replaced: count again */
                rep_cache.f[i].off = 0, rep_cache.f[i].fires = 0;
            rep_cache.f[i].fires += rep_count_new(fd, &rep_cache.f[i].off);
            *total += rep_cache.f[i].fires;
        }
    }
    close(fd);
}

uint64_t report_count_fires(const char *trace_dir)
{
    uint64_t total = 0;
    if (!trace_dir)
        return 0;
    pthread_mutex_lock(&rep_cache_lock);
    if (strcmp(rep_cache.dir, trace_dir) != 0) {
        memset(&rep_cache, 0, sizeof(rep_cache));
        snprintf(rep_cache.dir, sizeof(rep_cache.dir), "%s", trace_dir);
    }
    rep_each_trace(trace_dir, rep_count_file, &total);
    pthread_mutex_unlock(&rep_cache_lock);
    return total;
}

/* ---------------------------------------------------------------
 * The history: errors by class, timeline events.
 * ------------------------------------------------------------ */
struct rep_class {
    char text[160];
    uint64_t n;
};

/* One line of the timeline, on the load's clock. */
struct rep_event {
    int64_t t_ns;
    char text[REP_TEXT];
};

/* The REP_BEFORE latest events at or before the anchor and the REP_AFTER
 * earliest after it, kept sorted by time. */
struct rep_window {
    int64_t anchor;
    struct rep_event before[REP_BEFORE], after[REP_AFTER];
    int nbefore, nafter;
};

/* Would an event at t enter the window? */
static int rep_window_wants(const struct rep_window *w, int64_t t)
{
    if (t <= w->anchor)
        return w->nbefore < REP_BEFORE || t > w->before[0].t_ns;
    return w->nafter < REP_AFTER || t < w->after[REP_AFTER - 1].t_ns;
}

static void rep_window_add(struct rep_window *w, int64_t t, const char *text)
{
    struct rep_event *arr = t <= w->anchor ? w->before : w->after;
    int *n = t <= w->anchor ? &w->nbefore : &w->nafter;
    int cap = t <= w->anchor ? REP_BEFORE : REP_AFTER, pos;

    if (*n == cap) {
        /* full: drop the event farthest from the anchor, if this one is nearer */
        if (t <= w->anchor ? t <= arr[0].t_ns : t >= arr[cap - 1].t_ns)
            return;
        if (t <= w->anchor)
            memmove(arr, arr + 1, (size_t)(cap - 1) * sizeof(*arr));
        (*n)--;
    }
    for (pos = *n; pos > 0 && arr[pos - 1].t_ns > t; pos--)
        ;
    memmove(arr + pos + 1, arr + pos, (size_t)(*n - pos) * sizeof(*arr));
    arr[pos].t_ns = t;
    snprintf(arr[pos].text, sizeof(arr[pos].text), "%s", text);
    (*n)++;
}

struct rep_hist_scan {
    struct rep_class classes[REP_MAX_CLASSES];
    int nclasses;
    uint64_t other;
    struct rep_window *win; /* NULL: no timeline wanted */
};

static void rep_class_add(struct rep_hist_scan *hs, json_t *e, const char *type)
{
    const char *error = json_string_value(json_object_get(e, "error"));
    long status = (long)json_integer_value(json_object_get(e, "status"));
    char text[160];
    int i;
    if (error) /* the runner's message names the status when there is one */
        snprintf(text, sizeof(text), "%s %s: %.80s", type, rep_str(e, "req"), error);
    else if (status)
        snprintf(text, sizeof(text), "%s %s: HTTP %ld", type, rep_str(e, "req"), status);
    else
        snprintf(text, sizeof(text), "%s %s: (no message)", type, rep_str(e, "req"));
    for (i = 0; i < hs->nclasses && strcmp(hs->classes[i].text, text) != 0; i++)
        ;
    if (i == hs->nclasses) {
        if (i == REP_MAX_CLASSES) {
            hs->other++;
            return;
        }
        snprintf(hs->classes[i].text, sizeof(hs->classes[i].text), "%s", text);
        hs->nclasses++;
    }
    hs->classes[i].n++;
}

static void rep_hist_line(struct rep_hist_scan *hs, json_t *e)
{
    const char *type = rep_str(e, "type");
    char text[REP_TEXT];
    int invoke = strcmp(type, "invoke") == 0;

    if (strcmp(type, "fail") == 0 || strcmp(type, "info") == 0)
        rep_class_add(hs, e, type);
    if (!hs->win)
        return;
    if (invoke)
        snprintf(text, sizeof(text), "user %-3lld seq %-5lld invoke %s",
                 (long long)json_integer_value(json_object_get(e, "user")),
                 (long long)json_integer_value(json_object_get(e, "seq")), rep_str(e, "req"));
    else
        snprintf(text, sizeof(text), "user %-3lld seq %-5lld %-6s %s status %lld %.3f ms%s%s",
                 (long long)json_integer_value(json_object_get(e, "user")),
                 (long long)json_integer_value(json_object_get(e, "seq")), type, rep_str(e, "req"),
                 (long long)json_integer_value(json_object_get(e, "status")),
                 rep_u64(e, "latency_ns") / 1e6, *rep_str(e, "error") ? " " : "",
                 rep_str(e, "error"));
    rep_window_add(hs->win, (int64_t)rep_u64(e, "t_ns"), text);
}

static void rep_scan_history(const char *out_dir, struct rep_hist_scan *hs)
{
    char path[4096], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;
    snprintf(path, sizeof(path), "%s/history.jsonl", out_dir);
    f = fopen(path, "r");
    if (!f)
        return;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *e;
        int64_t t;
        /* parse only the errors and the lines the timeline would take */
        if (!strstr(line, "\"type\":\"fail\"") && !strstr(line, "\"type\":\"info\"") &&
            (!hs->win || (json_peek_i64(line, "\"t_ns\"", &t) && !rep_window_wants(hs->win, t))))
            continue;
        e = json_loadb(line, (size_t)n, JSON_DISABLE_EOF_CHECK, NULL);
        if (json_is_object(e))
            rep_hist_line(hs, e);
        json_decref(e);
    }
    free(line);
    fclose(f);
}

/* Wall clock of t_ns = 0 in history.jsonl, as the load took it; the
 * start of the run when no load began. */
static double rep_load_start(const struct run_result *r)
{
    return r->load_start_unix > 0 ? r->load_start_unix : r->started_unix;
}

/* Trace events into the window: realtime ts_ns onto the load's clock. */
struct rep_trace_win {
    struct rep_window *win;
    double start_unix;
};

static int64_t rep_trace_t(const struct rep_trace_win *tw, int64_t ts_ns)
{
    return ts_ns - (int64_t)llround(tw->start_unix * 1e9);
}

static int rep_trace_wanted(const char *line, void *arg)
{
    struct rep_trace_win *tw = arg;
    int64_t ts;
    return !json_peek_i64(line, "\"ts_ns\"", &ts) || rep_window_wants(tw->win, rep_trace_t(tw, ts));
}

static void rep_trace_window(json_t *e, void *arg)
{
    struct rep_trace_win *tw = arg;
    char text[REP_TEXT];
    int64_t t = rep_trace_t(tw, (int64_t)rep_u64(e, "ts_ns"));
    snprintf(text, sizeof(text), "pid %-6lld %s %s on %s: %s (%.3f ms) %.80s",
             (long long)json_integer_value(json_object_get(e, "pid")), rep_str(e, "action"),
             rep_str(e, "rule"), rep_str(e, "hook"), rep_str(e, "outcome"),
             rep_u64(e, "waited_ns") / 1e6, rep_str(e, "detail"));
    rep_window_add(tw->win, t, text);
}

/* ---------------------------------------------------------------
 * summary.json
 * ------------------------------------------------------------ */
static const char *rep_status_name(enum inv_status s)
{
    return s == INV_PASSED ? "passed" : s == INV_FAILED ? "failed" : "error";
}

static json_t *rep_jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *rep_latency_json(const struct hist *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer(h ? (json_int_t)hist_count(h) : 0));
    json_object_set_new(o, "mean", json_real(h ? hist_mean(h) / 1e6 : 0));
    json_object_set_new(o, "p50", json_real(h ? hist_percentile(h, 50) / 1e6 : 0));
    json_object_set_new(o, "p90", json_real(h ? hist_percentile(h, 90) / 1e6 : 0));
    json_object_set_new(o, "p99", json_real(h ? hist_percentile(h, 99) / 1e6 : 0));
    json_object_set_new(o, "p99.9", json_real(h ? hist_percentile(h, 99.9) / 1e6 : 0));
    json_object_set_new(o, "max", json_real(h ? hist_max(h) / 1e6 : 0));
    return o;
}

static void rep_iso_time(double unix_s, char *buf, size_t len)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%06.3fZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec + (unix_s - floor(unix_s)));
}

static double rep_throughput(const struct run_result *r, uint64_t n)
{
    return r->duration_s > 0 ? (double)n / r->duration_s : 0;
}

static int rep_counts(const struct run_result *r, int *passed, int *failed, int *errors)
{
    *passed = *failed = *errors = 0;
    for (int i = 0; i < r->ninv; i++)
        *(r->inv[i].status == INV_PASSED   ? passed
          : r->inv[i].status == INV_FAILED ? failed
                                           : errors) += 1;
    return r->ninv;
}

static json_t *rep_summary_json(const struct run_result *r, const struct rep_inj *inj)
{
    json_t *o = json_object(), *a, *totals = json_object(), *injo = json_object();
    char seed[32], started[64];
    int passed, failed, errors;

    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)r->seed);
    rep_iso_time(r->started_unix, started, sizeof(started));
    rep_counts(r, &passed, &failed, &errors);
    json_object_set_new(o, "scenario", rep_jstr(r->scn ? r->scn->name : NULL));
    json_object_set_new(o, "scenario_file", rep_jstr(r->scn ? r->scn->path : NULL));
    json_object_set_new(o, "description", rep_jstr(r->scn ? r->scn->description : NULL));
    json_object_set_new(o, "seed", json_string(seed)); /* 64 bits: exact as a string */
    json_object_set_new(o, "reproduce", rep_jstr(r->reproduce));
    json_object_set_new(o, "database", rep_jstr(r->dsn_redacted));
    json_object_set_new(o, "embedded_pg", json_boolean(r->embedded_pg));
    json_object_set_new(o, "exit_code", json_integer(r->exit_code));
    json_object_set_new(o, "verdict",
                        json_string(r->exit_code == 0   ? "passed"
                                    : r->exit_code == 1 ? "failed"
                                                        : "inconclusive"));
    json_object_set_new(o, "error", rep_jstr(r->error));
    json_object_set_new(o, "started", json_string(started));
    json_object_set_new(o, "started_unix", json_real(r->started_unix));
    json_object_set_new(o, "load_start_unix", json_real(rep_load_start(r)));
    json_object_set_new(o, "duration_s", json_real(r->duration_s));
    json_object_set_new(totals, "requests", json_integer((json_int_t)r->requests));
    json_object_set_new(totals, "ok", json_integer((json_int_t)r->ok));
    json_object_set_new(totals, "fail", json_integer((json_int_t)r->fail));
    json_object_set_new(totals, "info", json_integer((json_int_t)r->info));
    json_object_set_new(totals, "retries", json_integer((json_int_t)r->retries));
    json_object_set_new(o, "totals", totals);
    json_object_set_new(o, "throughput", json_real(rep_throughput(r, r->requests)));
    json_object_set_new(o, "latency_ms", rep_latency_json(r->latency));

    a = json_array();
    for (int i = 0; i < r->nper_req; i++) {
        const struct req_stats *q = &r->per_req[i];
        json_t *e = json_object();
        json_object_set_new(e, "label", rep_jstr(q->label));
        json_object_set_new(e, "ok", json_integer((json_int_t)q->ok));
        json_object_set_new(e, "fail", json_integer((json_int_t)q->fail));
        json_object_set_new(e, "info", json_integer((json_int_t)q->info));
        json_object_set_new(e, "retries", json_integer((json_int_t)q->retries));
        json_object_set_new(e, "throughput",
                            json_real(rep_throughput(r, q->ok + q->fail + q->info)));
        json_object_set_new(e, "latency_ms", rep_latency_json(q->latency));
        json_array_append_new(a, e);
    }
    json_object_set_new(o, "requests", a);

    a = json_array();
    for (int i = 0; i < r->nseries; i++) {
        const struct sample *s = &r->series[i];
        json_t *e = json_object();
        json_object_set_new(e, "t_s", json_real(s->t_s));
        json_object_set_new(e, "throughput", json_real(s->throughput));
        json_object_set_new(e, "p50_ms", json_real(s->p50_ns / 1e6));
        json_object_set_new(e, "p99_ms", json_real(s->p99_ns / 1e6));
        json_object_set_new(e, "errors", json_integer((json_int_t)s->errors));
        json_object_set_new(e, "injections", json_integer((json_int_t)s->injections));
        json_object_set_new(e, "rss_kb", json_integer(s->rss_kb));
        json_array_append_new(a, e);
    }
    json_object_set_new(o, "series", a);

    a = json_array();
    for (int i = 0; i < r->ninv; i++) {
        const struct inv_result *v = &r->inv[i];
        json_t *e = json_object();
        json_object_set_new(e, "name", rep_jstr(v->name));
        json_object_set_new(e, "status", json_string(rep_status_name(v->status)));
        json_object_set_new(e, "expected", rep_jstr(v->expected));
        json_object_set_new(e, "actual", rep_jstr(v->actual));
        json_object_set_new(e, "detail", rep_jstr(v->detail));
        json_array_append_new(a, e);
    }
    json_object_set_new(o, "invariants", a);
    json_object_set_new(o, "passed", json_integer(passed));
    json_object_set_new(o, "failed", json_integer(failed + errors));

    json_object_set_new(injo, "total", json_integer((json_int_t)inj->total));
    a = json_array();
    for (int i = 0; i < inj->nrules; i++) {
        const struct rep_rule *q = &inj->rules[i];
        json_t *e = json_object(), *ex = json_array();
        json_object_set_new(e, "rule", json_string(q->name));
        json_object_set_new(e, "action", json_string(q->action));
        json_object_set_new(e, "hooks", json_string(q->hook));
        json_object_set_new(e, "fires", json_integer((json_int_t)q->fires));
        json_object_set_new(e, "released", json_integer((json_int_t)q->released));
        json_object_set_new(e, "timeout", json_integer((json_int_t)q->timeout));
        json_object_set_new(e, "error", json_integer((json_int_t)q->error));
        json_object_set_new(e, "waited_ms", json_real(q->waited_ns / 1e6));
        for (int j = 0; j < q->nexamples; j++)
            json_array_append_new(ex, json_string(q->examples[j]));
        json_object_set_new(e, "examples", ex);
        json_array_append_new(a, e);
    }
    json_object_set_new(injo, "rules", a);
    json_object_set_new(o, "injections", injo);
    return o;
}

static int rep_write_summary(const struct run_result *r, const struct rep_inj *inj, char *err,
                             size_t errlen)
{
    struct rep_file rf;
    json_t *o = rep_summary_json(r, inj);
    char *text = NULL;
    int rc = -1;
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (!text) {
        snprintf(err, errlen, "cannot encode summary.json");
    } else if (rep_open(&rf, r->out_dir, "summary.json", err, errlen) == 0) {
        fputs(text, rf.f);
        fputc('\n', rf.f);
        rc = rep_close(&rf, err, errlen);
    }
    free(text);
    json_decref(o);
    return rc;
}

/* ---------------------------------------------------------------
 * junit.xml
 * ------------------------------------------------------------ */
static void rep_junit_body(FILE *f, const struct run_result *r, const struct inv_result *v)
{
    fputs("expected: ", f);
    xml_put_string(f, v->expected ? v->expected : "");
    fputs("\nactual: ", f);
    xml_put_string(f, v->actual ? v->actual : "");
    fputc('\n', f);
    if (v->detail) {
        xml_put_string(f, v->detail);
        if (v->detail[0] && v->detail[strlen(v->detail) - 1] != '\n')
            fputc('\n', f);
    }
    fprintf(f, "seed: %llu\nreproduce: ", (unsigned long long)r->seed);
    xml_put_string(f, r->reproduce ? r->reproduce : "");
    fputc('\n', f);
}

static int rep_write_junit(const struct run_result *r, char *err, size_t errlen)
{
    struct rep_file rf;
    int passed, failed, errors, tests;
    const char *name = r->scn && r->scn->name ? r->scn->name : "wedge";
    char started[64];

    if (rep_open(&rf, r->out_dir, "junit.xml", err, errlen))
        return -1;
    rep_counts(r, &passed, &failed, &errors);
    /* an inconclusive run is an error testcase of its own: never a green suite */
    tests = r->ninv + (r->error != NULL);
    errors += r->error != NULL;
    rep_iso_time(r->started_unix, started, sizeof(started));
    started[19] = '\0'; /* JUnit timestamps carry no zone or fraction */
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", rf.f);
    fputs("  <testsuite name=\"", rf.f);
    xml_put_string(rf.f, name);
    fprintf(rf.f, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" time=\"%.3f\" timestamp=\"%s\">\n",
            tests, failed, errors, r->duration_s, started);
    fprintf(rf.f, "    <properties>\n      <property name=\"seed\" value=\"%llu\"/>\n",
            (unsigned long long)r->seed);
    fputs("      <property name=\"reproduce\" value=\"", rf.f);
    xml_put_string(rf.f, r->reproduce ? r->reproduce : "");
    fputs("\"/>\n    </properties>\n", rf.f);
    for (int i = 0; i < r->ninv; i++) {
        const struct inv_result *v = &r->inv[i];
        fputs("    <testcase classname=\"wedge.", rf.f);
        xml_put_string(rf.f, name);
        fputs("\" name=\"", rf.f);
        xml_put_string(rf.f, v->name ? v->name : "");
        if (v->status == INV_PASSED) {
            fputs("\"/>\n", rf.f);
            continue;
        }
        fprintf(rf.f, "\">\n      <%s message=\"", v->status == INV_FAILED ? "failure" : "error");
        if (v->status == INV_FAILED) {
            fputs("expected ", rf.f);
            xml_put_string(rf.f, v->expected ? v->expected : "");
            fputs(", got ", rf.f);
            xml_put_string(rf.f, v->actual ? v->actual : "");
        } else {
            fputs("could not evaluate: ", rf.f);
            xml_put_string(rf.f, v->detail ? v->detail : "unknown error");
        }
        fprintf(rf.f, "\" type=\"%s\">", v->status == INV_FAILED ? "invariant" : "error");
        rep_junit_body(rf.f, r, v);
        fprintf(rf.f, "</%s>\n    </testcase>\n", v->status == INV_FAILED ? "failure" : "error");
    }
    if (r->error) {
        fputs("    <testcase classname=\"wedge.", rf.f);
        xml_put_string(rf.f, name);
        fputs("\" name=\"run\">\n      <error message=\"", rf.f);
        xml_put_string(rf.f, r->error);
        fprintf(rf.f,
                "\" type=\"inconclusive\">seed: %llu\nreproduce: ", (unsigned long long)r->seed);
        xml_put_string(rf.f, r->reproduce ? r->reproduce : "");
        fputs("\n</error>\n    </testcase>\n", rf.f);
    }
    fputs("  </testsuite>\n</testsuites>\n", rf.f);
    return rep_close(&rf, err, errlen);
}

/* ---------------------------------------------------------------
 * report.md
 * ------------------------------------------------------------ */
static void rep_md_latency_row(FILE *f, const char *label, uint64_t n, uint64_t ok, uint64_t fail,
                               uint64_t info, uint64_t retries, double tput, const struct hist *h)
{
    fputs("| ", f);
    rep_md_cell(f, label, 60);
    fprintf(f, " | %llu | %llu | %llu | %llu | %llu | %.1f |", (unsigned long long)n,
            (unsigned long long)ok, (unsigned long long)fail, (unsigned long long)info,
            (unsigned long long)retries, tput);
    if (h && hist_count(h))
        fprintf(f, " %.3f | %.3f | %.3f | %.3f | %.3f |\n", hist_percentile(h, 50) / 1e6,
                hist_percentile(h, 90) / 1e6, hist_percentile(h, 99) / 1e6,
                hist_percentile(h, 99.9) / 1e6, hist_max(h) / 1e6);
    else
        fputs(" - | - | - | - | - |\n", f);
}

static void rep_md_head(FILE *f, const struct run_result *r)
{
    int passed, failed, errors;
    char started[64];
    rep_counts(r, &passed, &failed, &errors);
    rep_iso_time(r->started_unix, started, sizeof(started));
    fprintf(f, "# wedge report: %s\n\n", r->scn && r->scn->name ? r->scn->name : "(scenario)");
    if (r->scn && r->scn->description) {
        const char *d = r->scn->description;
        fputs("> ", f);
        for (; *d; d++) {
            fputc(*d, f);
            if (*d == '\n')
                fputs("> ", f);
        }
        fputs("\n\n", f);
    }
    if (r->exit_code == 0)
        fprintf(f, "**Verdict: PASSED**: all %d invariants held.\n\n", passed);
    else if (r->exit_code == 1)
        fprintf(f, "**Verdict: FAILED**: %d of %d invariants broke: a race was found.\n\n",
                failed + errors, r->ninv);
    else
        fprintf(f, "**Verdict: INCONCLUSIVE**: %s\n\n",
                r->error ? r->error : "the run did not complete");
    fputs("| | |\n|---|---|\n", f);
    fprintf(f, "| scenario file | `%s` |\n", r->scn && r->scn->path ? r->scn->path : "-");
    fprintf(f, "| seed | %llu |\n", (unsigned long long)r->seed);
    fprintf(f, "| reproduce | `%s` |\n", r->reproduce ? r->reproduce : "-");
    if (r->reproduce_note)
        fprintf(f, "| | %s |\n", r->reproduce_note);
    fprintf(f, "| database | %s%s |\n", r->embedded_pg ? "throwaway cluster " : "",
            r->dsn_redacted ? r->dsn_redacted : "");
    fprintf(f, "| started | %s |\n| load | %.2f s |\n\n", started, r->duration_s);
}

/* A code fence longer than any run of backticks in text (a service's log
 * may hold Markdown), at least three. */
#define REP_TICKS "````````````````"
static int rep_fence(const char *text)
{
    int run = 0, longest = 0;
    for (; *text; text++) {
        run = *text == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    longest = longest < 3 ? 3 : longest + 1;
    return longest > (int)strlen(REP_TICKS) ? (int)strlen(REP_TICKS) : longest;
}

static void rep_md_invariants(FILE *f, const struct run_result *r)
{
    fputs("## Invariants\n\n| invariant | status | expected | actual |\n|---|---|---|---|\n", f);
    for (int i = 0; i < r->ninv; i++) {
        const struct inv_result *v = &r->inv[i];
        fputs("| ", f);
        rep_md_cell(f, v->name, 80);
        fprintf(f, " | %s | ",
                v->status == INV_PASSED   ? "passed"
                : v->status == INV_FAILED ? "**FAILED**"
                                          : "**ERROR**");
        rep_md_cell(f, v->expected, 80);
        fputs(" | ", f);
        rep_md_cell(f, v->actual, 80);
        fputs(" |\n", f);
    }
    if (!r->ninv)
        fputs("| (none evaluated) | | | |\n", f);
    fputc('\n', f);
    for (int i = 0; i < r->ninv; i++) {
        const struct inv_result *v = &r->inv[i];
        if (v->status == INV_PASSED || !v->detail || !*v->detail)
            continue;
        int fence = rep_fence(v->detail);
        fprintf(f, "### %s\n\n%.*s\n%s%s%.*s\n\n", v->name ? v->name : "", fence, REP_TICKS,
                v->detail, v->detail[strlen(v->detail) - 1] == '\n' ? "" : "\n", fence, REP_TICKS);
    }
}

static void rep_md_latency(FILE *f, const struct run_result *r)
{
    fputs("## Latency and throughput\n\n", f);
    fputs("| request | requests | ok | fail | info | retries | req/s | p50 ms | p90 ms | p99 ms "
          "| p99.9 ms | max ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
          f);
    rep_md_latency_row(f, "**all**", r->requests, r->ok, r->fail, r->info, r->retries,
                       rep_throughput(r, r->requests), r->latency);
    for (int i = 0; i < r->nper_req; i++) {
        const struct req_stats *q = &r->per_req[i];
        uint64_t n = q->ok + q->fail + q->info;
        rep_md_latency_row(f, q->label, n, q->ok, q->fail, q->info, q->retries,
                           rep_throughput(r, n), q->latency);
    }
    fputc('\n', f);
}

static int rep_class_cmp(const void *a, const void *b)
{
    const struct rep_class *x = a, *y = b;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->text, y->text);
}

static void rep_md_errors(FILE *f, struct rep_hist_scan *hs)
{
    fputs("## Errors\n\n", f);
    if (!hs->nclasses) {
        fputs("No request failed or ended with an unknown outcome.\n\n", f);
        return;
    }
    qsort(hs->classes, (size_t)hs->nclasses, sizeof(hs->classes[0]), rep_class_cmp);
    fputs("| outcome, request and error | count |\n|---|---|\n", f);
    for (int i = 0; i < hs->nclasses; i++) {
        fputs("| ", f);
        rep_md_cell(f, hs->classes[i].text, 160);
        fprintf(f, " | %llu |\n", (unsigned long long)hs->classes[i].n);
    }
    if (hs->other)
        fprintf(f, "| (other classes) | %llu |\n", (unsigned long long)hs->other);
    fputs("\n(fail: the request definitely did not apply; info: its outcome is unknown.)\n\n", f);
}

static void rep_md_injections(FILE *f, const struct rep_inj *inj)
{
    fputs("## Injections\n\n", f);
    if (!inj->total) {
        fputs("No injection fired (no trace line under traces/).\n\n", f);
        return;
    }
    fprintf(f, "%llu injections fired.\n\n", (unsigned long long)inj->total);
    fputs("| rule | action | hooks | fired | released | timeout | error | waited ms | examples "
          "|\n|---|---|---|---|---|---|---|---|---|\n",
          f);
    for (int i = 0; i < inj->nrules; i++) {
        const struct rep_rule *q = &inj->rules[i];
        fputs("| ", f);
        rep_md_cell(f, q->name, 64);
        fprintf(f, " | %s | %s | %llu | %llu | %llu | %llu | %.1f | ", q->action, q->hook,
                (unsigned long long)q->fires, (unsigned long long)q->released,
                (unsigned long long)q->timeout, (unsigned long long)q->error, q->waited_ns / 1e6);
        for (int j = 0; j < q->nexamples; j++) {
            fputs(j ? "; `" : "`", f);
            rep_md_cell(f, q->examples[j], 80);
            fputc('`', f);
        }
        fputs(" |\n", f);
    }
    fputc('\n', f);
}

static void rep_md_timeline(FILE *f, const struct run_result *r, struct rep_window *w,
                            const char *why)
{
    fputs("## Timeline around the first violation\n\n", f);
    if (!why) {
        int passed, failed, errors;
        rep_counts(r, &passed, &failed, &errors);
        if (errors)
            fprintf(f, "No invariant broke; %d could not be evaluated (see above).\n\n", errors);
        else
            fputs("No invariant broke.\n\n", f);
        return;
    }
    fprintf(f,
            "Centred on %s, at %.3f ms into the load (`>>` marks it). Times are ms since the "
            "load started; trace times are converted from the shim's wall clock.\n\n```\n",
            why, w->anchor / 1e6);
    for (int i = 0; i < w->nbefore; i++)
        fprintf(f, "%s%12.3f  %s\n", i == w->nbefore - 1 ? ">>" : "  ", w->before[i].t_ns / 1e6,
                w->before[i].text);
    if (!w->nbefore)
        fprintf(f, ">>%12.3f  (no event before this point)\n", w->anchor / 1e6);
    for (int i = 0; i < w->nafter; i++)
        fprintf(f, "  %12.3f  %s\n", w->after[i].t_ns / 1e6, w->after[i].text);
    fputs("```\n\n", f);
}

/* t_ns of the first "info" outcome in the history (a service that died
 * shows there first); 0 when there is none. */
static int rep_first_info(const char *out_dir, int64_t *t)
{
    char path[4096], *line = NULL;
    size_t cap = 0;
    int found = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/history.jsonl", out_dir);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (!found && getline(&line, &cap, f) > 0) {
        json_t *e;
        if (!strstr(line, "\"info\""))
            continue;
        e = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
        if (json_is_object(e) && strcmp(rep_str(e, "type"), "info") == 0) {
            *t = (int64_t)rep_u64(e, "t_ns");
            found = 1;
        }
        json_decref(e);
    }
    free(line);
    fclose(f);
    return found;
}

/* Where the timeline looks: the request that broke the first failed
 * invariant, else the last injection, else the end of the load.  NULL
 * when nothing broke. */
static const char *rep_anchor(const struct run_result *r, const struct rep_inj *inj,
                              int64_t *anchor, char *buf, size_t len)
{
    const struct inv_result *first = NULL;
    for (int i = 0; i < r->ninv && !first; i++)
        if (r->inv[i].status == INV_FAILED)
            first = &r->inv[i];
    if (!first)
        return NULL;
    for (int i = 0; i < r->ninv; i++)
        if (r->inv[i].status == INV_FAILED && r->inv[i].has_at) {
            *anchor = (int64_t)r->inv[i].at_t_ns;
            snprintf(buf, len, "the request that broke '%s'", r->inv[i].name);
            return buf;
        }
    if (inj->total) {
        *anchor = (int64_t)inj->last_ts_ns - (int64_t)llround(rep_load_start(r) * 1e9);
        snprintf(buf, len, "the last injection (no single request broke '%s')", first->name);
        return buf;
    }
    if (rep_first_info(r->out_dir, anchor)) {
        snprintf(buf, len,
                 "the first request whose outcome is unknown (no single request broke '%s', "
                 "no injection fired)",
                 first->name);
        return buf;
    }
    *anchor = (int64_t)llround(r->duration_s * 1e9);
    snprintf(buf, len, "the end of the load (no single request broke '%s')", first->name);
    return buf;
}

static int rep_write_md(const struct run_result *r, const struct rep_inj *inj, char *err,
                        size_t errlen)
{
    struct rep_file rf;
    struct rep_hist_scan *hs = calloc(1, sizeof(*hs));
    struct rep_window *win = calloc(1, sizeof(*win));
    char whybuf[256];
    const char *why = NULL;
    int rc = -1;

    if (!hs || !win) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    why = rep_anchor(r, inj, &win->anchor, whybuf, sizeof(whybuf));
    hs->win = why ? win : NULL;
    rep_scan_history(r->out_dir, hs);
    if (why) {
        struct rep_trace_win tw = {win, rep_load_start(r)};
        rep_each_event(r->out_dir, rep_trace_window, rep_trace_wanted, &tw);
    }
    if (rep_open(&rf, r->out_dir, "report.md", err, errlen))
        goto out;
    rep_md_head(rf.f, r);
    rep_md_invariants(rf.f, r);
    rep_md_latency(rf.f, r);
    rep_md_errors(rf.f, hs);
    rep_md_injections(rf.f, inj);
    rep_md_timeline(rf.f, r, win, why);
    fputs("Files beside this report: summary.json, junit.xml, history.jsonl, latency.hgrm, "
          "traces/.\n",
          rf.f);
    rc = rep_close(&rf, err, errlen);
out:
    free(hs);
    free(win);
    return rc;
}

static int rep_write_hgrm(const struct run_result *r, char *err, size_t errlen)
{
    struct rep_file rf;
    struct hist *empty = NULL;
    if (rep_open(&rf, r->out_dir, "latency.hgrm", err, errlen))
        return -1;
    if (!r->latency)
        empty = hist_new();
    if (r->latency || empty)
        hist_write_hgrm(r->latency ? r->latency : empty, rf.f);
    hist_free(empty);
    return rep_close(&rf, err, errlen);
}

int report_write(const struct run_result *r, char *err, size_t errlen)
{
    struct rep_inj *inj = calloc(1, sizeof(*inj));
    int rc = -1;
    if (!inj) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rep_each_event(r->out_dir, rep_inj_event, rep_inj_wanted, inj);
    if (rep_write_summary(r, inj, err, errlen) || rep_write_junit(r, err, errlen) ||
        rep_write_md(r, inj, err, errlen) || rep_write_hgrm(r, err, errlen))
        goto out;
    rc = 0;
out:
    rep_inj_free(inj);
    free(inj);
    return rc;
}

/*
 * report_trace.c - the shim traces of a run (traces/trace.PID.jsonl),
 * streamed: the injection table of the report, and the count of fires the
 * progress line shows while the run goes on.
 */
#include "jsonw.h"
#include "report.h"
#include "report_int.h"

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

void rep_each_event(const char *out_dir, void (*fn)(json_t *ev, void *arg),
                    int (*want)(const char *line, void *arg), void *arg)
{
    struct rep_lines rl = {fn, arg, want};
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/traces", out_dir);
    rep_each_trace(dir, rep_trace_lines, &rl);
}

const char *rep_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

uint64_t rep_u64(json_t *o, const char *key)
{
    return (uint64_t)json_integer_value(json_object_get(o, key));
}

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

/* Lines that are not injections, as the shim's own summary counts them:
 * a barrier or wait is traced twice, "waiting" before it holds the call
 * (so that a killed process leaves a line) and its outcome after; a rule
 * that cannot be carried out where it matched is traced "skipped"; the
 * wire decoder's notes (an encrypted session "hidden", a session it
 * stopped following "lost") have no rule at all. */
static const char *const rep_not_fires[] = {"waiting", "skipped", "hidden", "lost"};

static int rep_not_fire(const char *outcome)
{
    for (size_t i = 0; i < sizeof(rep_not_fires) / sizeof(rep_not_fires[0]); i++)
        if (strcmp(outcome, rep_not_fires[i]) == 0)
            return 1;
    return 0;
}

void rep_inj_event(json_t *e, void *arg)
{
    if (rep_not_fire(rep_str(e, "outcome")))
        return;
    rep_inj_add(arg, rep_str(e, "rule"), rep_str(e, "action"), rep_str(e, "hook"),
                rep_str(e, "outcome"), rep_u64(e, "waited_ns"), rep_u64(e, "ts_ns"),
                rep_str(e, "detail"));
}

/* Most trace lines are counted from the raw text (a trace can hold
 * 10^5 fires); a line is parsed only for an example detail, or when it
 * is not in the shim's compact form. */
int rep_inj_wanted(const char *line, void *arg)
{
    struct rep_inj *inj = arg;
    char rule[64], action[32], hook[64], outcome[32];
    int64_t waited, ts;
    struct rep_rule *r;
    if (!jw_peek_str(line, "\"rule\"", rule, sizeof(rule)) ||
        !jw_peek_str(line, "\"action\"", action, sizeof(action)) ||
        !jw_peek_str(line, "\"hook\"", hook, sizeof(hook)) ||
        !jw_peek_str(line, "\"outcome\"", outcome, sizeof(outcome)) ||
        !jw_peek_i64(line, "\"waited_ns\"", &waited) || !jw_peek_i64(line, "\"ts_ns\"", &ts))
        return 1;
    if (rep_not_fire(outcome))
        return 0;
    r = rep_inj_rule(inj, rule, action);
    /* examples come from the first fires of a rule */
    if (r && r->nexamples < REP_MAX_EXAMPLES && r->fires < 1000 && !strstr(line, "\"detail\":null"))
        return 1;
    rep_inj_add(inj, rule, action, hook, outcome, (uint64_t)waited, (uint64_t)ts, NULL);
    return 0;
}

void rep_inj_free(struct rep_inj *inj)
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

/* p follows a key "outcome": is its value one that is not a fire? */
static int rep_is_not_fire(const char *p)
{
    p += strspn(p, " \t");
    if (*p++ != ':')
        return 0;
    p += strspn(p, " \t");
    for (size_t i = 0; i < sizeof(rep_not_fires) / sizeof(rep_not_fires[0]); i++) {
        size_t n = strlen(rep_not_fires[i]);
        if (*p == '"' && strncmp(p + 1, rep_not_fires[i], n) == 0 && p[n + 1] == '"')
            return 1;
    }
    return 0;
}

/* Fires in whole lines of fd from *off on (not "waiting" or "skipped");
 * *off moves past them. */
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
        while ((p = strstr(p, "\"outcome\"")) != NULL) {
            p += 9;
            n += !rep_is_not_fire(p);
        }
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

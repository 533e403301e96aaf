/*
 * report_md.c - report.md, for people: the verdict, the invariants, the
 * latency table, errors by class, the injections, and a timeline of the
 * requests (history.jsonl) and injections (traces) around the first
 * violation.
 */
#include "jsonw.h"
#include "report.h"
#include "report_int.h"
#include "timeunit.h"

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
                 rep_u64(e, "latency_ns") / (double)NS_PER_MS, *rep_str(e, "error") ? " " : "",
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
            (!hs->win || (jw_peek_i64(line, "\"t_ns\"", &t) && !rep_window_wants(hs->win, t))))
            continue;
        e = json_loadb(line, (size_t)n, JSON_DISABLE_EOF_CHECK, NULL);
        if (json_is_object(e))
            rep_hist_line(hs, e);
        json_decref(e);
    }
    free(line);
    fclose(f);
}

struct rep_trace_win {
    struct rep_window *win;
    double start_unix;
};

static int64_t rep_trace_t(const struct rep_trace_win *tw, int64_t ts_ns)
{
    return ts_ns - (int64_t)llround(tw->start_unix * (double)NS_PER_S);
}

static int rep_trace_wanted(const char *line, void *arg)
{
    struct rep_trace_win *tw = arg;
    int64_t ts;
    return !jw_peek_i64(line, "\"ts_ns\"", &ts) || rep_window_wants(tw->win, rep_trace_t(tw, ts));
}

static void rep_trace_window(json_t *e, void *arg)
{
    struct rep_trace_win *tw = arg;
    char text[REP_TEXT];
    int64_t t = rep_trace_t(tw, (int64_t)rep_u64(e, "ts_ns"));
    snprintf(text, sizeof(text), "pid %-6lld %s %s on %s: %s (%.3f ms) %.80s",
             (long long)json_integer_value(json_object_get(e, "pid")), rep_str(e, "action"),
             rep_str(e, "rule"), rep_str(e, "hook"), rep_str(e, "outcome"),
             rep_u64(e, "waited_ns") / (double)NS_PER_MS, rep_str(e, "detail"));
    rep_window_add(tw->win, t, text);
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
        fprintf(
            f, " %.3f | %.3f | %.3f | %.3f | %.3f |\n", hist_percentile(h, 50) / (double)NS_PER_MS,
            hist_percentile(h, 90) / (double)NS_PER_MS, hist_percentile(h, 99) / (double)NS_PER_MS,
            hist_percentile(h, 99.9) / (double)NS_PER_MS, hist_max(h) / (double)NS_PER_MS);
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
    else if (r->exit_code == 2) /* a usage or configuration error, not 3 */
        fprintf(f, "**Verdict: ERROR**: could not run: %s\n\n",
                r->error ? r->error : "a usage or configuration error");
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
            r->dsn_redacted ? r->dsn_redacted : "none (the scenario uses no database)");
    fprintf(f, "| started | %s |\n| load | %.2f s |\n\n", started, r->load.duration_s);
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
    rep_md_latency_row(f, "**all**", r->load.requests, r->load.ok, r->load.fail, r->load.info,
                       r->load.retries, rep_throughput(r, r->load.requests), r->load.latency);
    for (int i = 0; i < r->load.nper_req; i++) {
        const struct req_stats *q = &r->load.per_req[i];
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
                (unsigned long long)q->timeout, (unsigned long long)q->error,
                q->waited_ns / (double)NS_PER_MS);
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
            why, w->anchor / (double)NS_PER_MS);
    for (int i = 0; i < w->nbefore; i++)
        fprintf(f, "%s%12.3f  %s\n", i == w->nbefore - 1 ? ">>" : "  ",
                w->before[i].t_ns / (double)NS_PER_MS, w->before[i].text);
    if (!w->nbefore)
        fprintf(f, ">>%12.3f  (no event before this point)\n", w->anchor / (double)NS_PER_MS);
    for (int i = 0; i < w->nafter; i++)
        fprintf(f, "  %12.3f  %s\n", w->after[i].t_ns / (double)NS_PER_MS, w->after[i].text);
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
        *anchor = (int64_t)inj->last_ts_ns - (int64_t)llround(rep_load_start(r) * (double)NS_PER_S);
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
    *anchor = (int64_t)llround(r->load.duration_s * (double)NS_PER_S);
    snprintf(buf, len, "the end of the load (no single request broke '%s')", first->name);
    return buf;
}

int rep_write_md(const struct run_result *r, const struct rep_inj *inj, char *err, size_t errlen)
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

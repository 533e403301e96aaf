/*
 * html_trace.c - the injections of a run (traces/trace.PID.jsonl) for
 * report.html: the lines of a time window, at most a cap of them (those
 * nearest the anchor), each with the span it held or delayed a call, and
 * the name of each traced process.
 *
 * The lines come through rep_each_event (report_trace.c), which already
 * streams every trace file; a cheap look at the raw line's ts_ns skips
 * those outside the window before they are parsed.
 */
#include "jsonw.h"
#include "report_html.h"
#include "report_int.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct html_scan {
    struct html_marks *mk;
    int64_t base; /* realtime ns of the load's start */
    int64_t lo, hi, anchor;
    int waiting;
};

static int html_mark_wanted(const char *line, void *arg)
{
    struct html_scan *s = arg;
    int64_t ts, waited = 0;
    if (!jw_peek_i64(line, "\"ts_ns\"", &ts))
        return 1;
    jw_peek_i64(line, "\"waited_ns\"", &waited);
    ts -= s->base;
    /* a span [ts - waited, ts] (held) or [ts, ts + waited] (a delay) */
    return ts + waited >= s->lo && ts - waited <= s->hi;
}

/* The marks are a max-heap on the distance from the anchor while they
 * are read, so a full table gives up its farthest line in O(log cap). */
static int64_t html_far(const struct html_scan *s, int i)
{
    return llabs(s->mk->m[i].ts - s->anchor);
}

static void html_swap(struct html_mark *m, int a, int b)
{
    struct html_mark t = m[a];
    m[a] = m[b];
    m[b] = t;
}

static void html_sift_up(struct html_scan *s, int i)
{
    while (i > 0 && html_far(s, (i - 1) / 2) < html_far(s, i)) {
        html_swap(s->mk->m, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void html_sift_down(struct html_scan *s, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, big = i;
        if (l < s->mk->n && html_far(s, l) > html_far(s, big))
            big = l;
        if (r < s->mk->n && html_far(s, r) > html_far(s, big))
            big = r;
        if (big == i)
            return;
        html_swap(s->mk->m, i, big);
        i = big;
    }
}

/* Keep m (filled by the caller) if there is room or it is nearer the
 * anchor than the farthest kept. */
static void html_keep(struct html_scan *s, const struct html_mark *m)
{
    struct html_marks *mk = s->mk;
    mk->seen++;
    if (mk->n < mk->cap) {
        mk->m[mk->n++] = *m;
        html_sift_up(s, mk->n - 1);
        return;
    }
    if (mk->n == 0 || llabs(m->ts - s->anchor) >= html_far(s, 0)) {
        free(m->detail);
        return;
    }
    free(mk->m[0].detail);
    mk->m[0] = *m;
    html_sift_down(s, 0);
}

static int html_proc_lane(struct html_marks *mk, int pid)
{
    for (int i = 0; i < mk->nprocs; i++)
        if (mk->procs[i] == pid)
            return i;
    if (mk->nprocs == HTML_MAX_PROCS)
        return -1;
    mk->procs[mk->nprocs] = pid;
    return mk->nprocs++;
}

/* The span of a line: held before it was written (barrier, wait: the
 * waited time), or a delay that starts when it is written. */
static void html_span(struct html_mark *m, uint64_t waited)
{
    int held =
        !strcmp(m->action, "barrier") || !strcmp(m->action, "wait") || !strcmp(m->action, "hold");
    m->t0 = m->t1 = m->ts;
    if (m->waiting)
        return;
    if (held)
        m->t0 = m->ts - (int64_t)waited;
    else if (!strcmp(m->action, "delay"))
        m->t1 = m->ts + (int64_t)waited;
}

static void html_mark_event(json_t *e, void *arg)
{
    struct html_scan *s = arg;
    const char *outcome = rep_str(e, "outcome"), *detail = rep_str(e, "detail");
    int waiting = !strcmp(outcome, "waiting");
    struct html_mark m;

    if (!strcmp(outcome, "skipped") || (waiting && !s->waiting))
        return;
    memset(&m, 0, sizeof(m));
    m.ts = (int64_t)rep_u64(e, "ts_ns") - s->base;
    m.pid = (int)rep_u64(e, "pid");
    m.tid = (int)rep_u64(e, "tid");
    m.hit = rep_u64(e, "hit");
    m.waiting = waiting;
    m.proc = html_proc_lane(s->mk, m.pid);
    snprintf(m.rule, sizeof(m.rule), "%s", rep_str(e, "rule"));
    snprintf(m.action, sizeof(m.action), "%s", rep_str(e, "action"));
    snprintf(m.hook, sizeof(m.hook), "%s", rep_str(e, "hook"));
    snprintf(m.outcome, sizeof(m.outcome), "%s", outcome);
    snprintf(m.obj, sizeof(m.obj), "%s", rep_str(e, "obj"));
    m.detail = *detail ? strndup(detail, HTML_TEXT) : NULL;
    html_span(&m, rep_u64(e, "waited_ns"));
    html_keep(s, &m);
}

const char *html_mark_kind(const struct html_mark *m)
{
    if (m->waiting)
        return "waiting";
    if (!strcmp(m->action, "barrier") || !strcmp(m->action, "wait") || !strcmp(m->action, "hold"))
        return !strcmp(m->outcome, "released") ? "held" : "timeout";
    if (!strcmp(m->action, "delay"))
        return "delay";
    if (!strncmp(m->action, "fail", 4) || !strcmp(m->action, "short") ||
        !strcmp(m->action, "spurious"))
        return "fail";
    return "point";
}

static int html_ts_cmp(const void *x, const void *y)
{
    const struct html_mark *a = x, *b = y;
    return a->ts < b->ts ? -1 : a->ts > b->ts ? 1 : a->tid - b->tid;
}

void html_marks_read(const char *dir, double start_unix, int64_t lo, int64_t hi, int64_t anchor,
                     int cap, int waiting, struct html_marks *mk)
{
    struct html_scan s = {mk, (int64_t)llround(start_unix * 1e9), lo, hi, anchor, waiting};
    memset(mk, 0, sizeof(*mk));
    mk->m = calloc((size_t)cap, sizeof(mk->m[0]));
    if (!mk->m)
        return;
    mk->cap = cap;
    rep_each_event(dir, html_mark_event, html_mark_wanted, &s);
    qsort(mk->m, (size_t)mk->n, sizeof(mk->m[0]), html_ts_cmp);
    for (int i = 0; i < mk->nprocs; i++)
        html_proc_name(dir, mk->procs[i], mk->proc_names[i], sizeof(mk->proc_names[0]));
}

void html_marks_free(struct html_marks *mk)
{
    for (int i = 0; i < mk->n; i++)
        free(mk->m[i].detail);
    free(mk->m);
    memset(mk, 0, sizeof(*mk));
}

/* The process name from the summary line at the end of its trace. */
void html_proc_name(const char *dir, int pid, char *buf, size_t len)
{
    char path[4096], name[64];
    char *tail, *p;
    snprintf(buf, len, "pid %d", pid);
    snprintf(path, sizeof(path), "%s/traces/trace.%d.jsonl", dir, pid);
    tail = util_file_tail(path, 65536);
    p = tail ? strstr(tail, "\"summary\":true") : NULL;
    if (p && jw_peek_str(p, "\"proc\"", name, sizeof(name)))
        snprintf(buf, len, "%s %d", name, pid);
    free(tail);
}

/*
 * html_hist.c - the requests of a run (history.jsonl) for report.html:
 * time bins over the whole run (throughput, errors, p50/p99), and the
 * requests of a window around the first violation for the timeline.
 *
 * The history of a long run holds millions of lines, so it is streamed,
 * three times: the extent, then the bins and a fine count per bucket (to
 * choose the window), then the requests of the window.  Only those are
 * parsed as JSON; the rest is read with jw_peek.
 */
#include "hist.h"
#include "jsonw.h"
#include "report_html.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HTML_BUCKETS   1024    /* resolution of the window's choice */
#define HTML_MAX_USERS 1000000 /* users ranked for a lane (else: the window's) */

/* The members of an outcome line the passes need. */
struct html_line {
    int64_t t, user, seq, lat;
};

/* Peek the compact form; 0 when the line is not an outcome. */
static int html_peek(const char *line, size_t n, struct html_line *l)
{
    char type[16];
    if (!jw_peek_str(line, "\"type\"", type, sizeof(type))) {
        json_t *e = json_loadb(line, n, JSON_DISABLE_EOF_CHECK, NULL);
        const char *ty = json_string_value(json_object_get(e, "type"));
        int ok = ty && strcmp(ty, "invoke") != 0;
        if (ok) {
            l->t = json_integer_value(json_object_get(e, "t_ns"));
            l->user = json_integer_value(json_object_get(e, "user"));
            l->seq = json_integer_value(json_object_get(e, "seq"));
            l->lat = json_integer_value(json_object_get(e, "latency_ns"));
        }
        json_decref(e);
        return ok;
    }
    if (!strcmp(type, "invoke") || !jw_peek_i64(line, "\"t_ns\"", &l->t))
        return 0;
    if (!jw_peek_i64(line, "\"user\"", &l->user))
        l->user = 0;
    if (!jw_peek_i64(line, "\"seq\"", &l->seq))
        l->seq = 0;
    if (!jw_peek_i64(line, "\"latency_ns\"", &l->lat))
        l->lat = 0;
    return 1;
}

/* fn(line, length, peeked, arg) for every outcome line; -1: no history. */
static int html_each(const char *dir, void (*fn)(const char *, size_t, struct html_line *, void *),
                     void *arg)
{
    char path[4096], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;
    snprintf(path, sizeof(path), "%s/history.jsonl", dir);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while ((n = getline(&line, &cap, f)) > 0) {
        struct html_line l;
        if (html_peek(line, (size_t)n, &l))
            fn(line, (size_t)n, &l, arg);
    }
    free(line);
    fclose(f);
    return 0;
}

/* ---------------------------------------------------------------
 * Pass 1: extent and anchor.
 * ------------------------------------------------------------ */
struct html_p1 {
    struct html_hist *h;
    int has_at;
    int64_t at, slow_lat;
};

static void html_pass1(const char *line, size_t n, struct html_line *l, void *arg)
{
    struct html_p1 *p = arg;
    struct html_hist *h = p->h;
    h->n++;
    h->tmax = l->t > h->tmax ? l->t : h->tmax;
    h->users = l->user + 1 > h->users ? (int)l->user + 1 : h->users;
    if (h->anchor_violates)
        return;
    if (p->has_at && l->t == p->at) {
        h->anchor_violates = 1;
    } else if (l->lat <= p->slow_lat) {
        return;
    }
    p->slow_lat = l->lat;
    h->has_anchor = 1;
    h->anchor.t0 = l->t - l->lat;
    h->anchor.t1 = l->t;
    h->anchor.user = (int)l->user;
    h->anchor.seq = l->seq;
}

/* ---------------------------------------------------------------
 * Pass 2: bins and buckets.
 * ------------------------------------------------------------ */
struct html_p2 {
    struct html_hist *h;
    struct hist *lat[HTML_BINS];
    uint64_t count[HTML_BINS], errors[HTML_BINS];
    uint64_t bucket[HTML_BUCKETS];
    int64_t *near;       /* per user: its request nearest the anchor (ns away) */
    unsigned char *lane; /* per user: drawn; NULL: every user is */
};

/* How far a request is from the anchor (0 when it covers the anchor). */
static int64_t html_away(const struct html_hist *h, int64_t t0, int64_t t1)
{
    int64_t a = (h->anchor.t0 + h->anchor.t1) / 2;
    return t1 < a ? a - t1 : t0 > a ? t0 - a : 0;
}

static int html_index(int64_t t, int64_t tmax, int n)
{
    int i = tmax > 0 ? (int)((double)t / (double)tmax * n) : 0;
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

static void html_pass2(const char *line, size_t n, struct html_line *l, void *arg)
{
    struct html_p2 *p = arg;
    int b = html_index(l->t, p->h->tmax, p->h->nbins);
    p->count[b]++;
    p->errors[b] += !strstr(line, "\"type\":\"ok\"");
    if (p->lat[b] && l->lat > 0)
        hist_record(p->lat[b], (uint64_t)l->lat);
    p->bucket[html_index(l->t, p->h->tmax, HTML_BUCKETS)]++;
    if (p->near && l->user >= 0 && l->user < p->h->users) {
        int64_t d = html_away(p->h, l->t - l->lat, l->t);
        if (d < p->near[l->user])
            p->near[l->user] = d;
    }
}

/* With more users than lanes: the lanes of the users nearest the anchor
 * (the anchor's own first), and the buckets counted again over those
 * users only, so the window holds as many of their requests as the cap. */
static void html_pick_lanes(struct html_p2 *p)
{
    struct html_hist *h = p->h;
    for (int k = 0; k < HTML_MAX_LANES; k++) {
        int best = -1;
        for (int u = 0; u < h->users; u++)
            if (!p->lane[u] && (best < 0 || p->near[u] < p->near[best] ||
                                (u == h->anchor.user && p->near[u] <= p->near[best])))
                best = u;
        if (best < 0)
            break;
        p->lane[best] = 1;
    }
}

static void html_lane_buckets(const char *line, size_t n, struct html_line *l, void *arg)
{
    struct html_p2 *p = arg;
    if (l->user >= 0 && l->user < p->h->users && p->lane[l->user])
        p->bucket[html_index(l->t, p->h->tmax, HTML_BUCKETS)]++;
}

static void html_bins(struct html_hist *h, struct html_p2 *p)
{
    for (int i = 0; i < h->nbins; i++) {
        h->bin_rps[i] = h->bin_s > 0 ? (double)p->count[i] / h->bin_s : 0;
        h->bin_err[i] = (double)p->errors[i];
        h->bin_p50[i] = p->lat[i] && p->count[i] ? hist_percentile(p->lat[i], 50) / 1e6 : -1;
        h->bin_p99[i] = p->lat[i] && p->count[i] ? hist_percentile(p->lat[i], 99) / 1e6 : -1;
        hist_free(p->lat[i]);
        p->lat[i] = NULL;
    }
}

/* The window: buckets around the anchor, as many as hold HTML_MAX_BARS
 * completions; the whole run when it fits. */
static void html_window(struct html_hist *h, const uint64_t *bucket)
{
    int lo, hi;
    uint64_t total = 0;
    double width = (double)h->tmax / HTML_BUCKETS;
    for (int i = 0; i < HTML_BUCKETS; i++)
        total += bucket[i];
    if (total <= HTML_MAX_BARS || !h->has_anchor) {
        h->lo = 0, h->hi = h->tmax;
        return;
    }
    lo = html_index(h->anchor.t0, h->tmax, HTML_BUCKETS);
    hi = html_index(h->anchor.t1, h->tmax, HTML_BUCKETS);
    total = 0;
    for (int i = lo; i <= hi; i++)
        total += bucket[i];
    for (int grew = 1; grew;) {
        grew = 0;
        if (lo > 0 && total + bucket[lo - 1] <= HTML_MAX_BARS)
            total += bucket[--lo], grew = 1;
        if (hi < HTML_BUCKETS - 1 && total + bucket[hi + 1] <= HTML_MAX_BARS)
            total += bucket[++hi], grew = 1;
    }
    h->lo = (int64_t)(lo * width);
    h->hi = hi == HTML_BUCKETS - 1 ? h->tmax : (int64_t)((hi + 1) * width);
}

/* ---------------------------------------------------------------
 * Pass 3: the requests of the window.
 * ------------------------------------------------------------ */
static int html_label(struct html_hist *h, const char *req)
{
    for (int i = 0; i < h->nlabels; i++)
        if (!strcmp(h->labels[i], req))
            return i;
    if (h->nlabels == HTML_MAX_LABELS)
        return -1;
    snprintf(h->labels[h->nlabels], sizeof(h->labels[0]), "%s", req);
    return h->nlabels++;
}

static void html_pass3(const char *line, size_t n, struct html_line *l, void *arg)
{
    struct html_p2 *p = arg;
    struct html_hist *h = p->h;
    struct html_bar *b;
    json_t *e;
    const char *type, *err;
    if (l->t < h->lo || l->t - l->lat > h->hi)
        return;
    if (h->nbars >= 2 * HTML_MAX_BARS ||
        (p->lane && (l->user < 0 || l->user >= h->users || !p->lane[l->user])))
        return;
    e = json_loadb(line, n, JSON_DISABLE_EOF_CHECK, NULL);
    if (!json_is_object(e)) {
        json_decref(e);
        return;
    }
    b = &h->bars[h->nbars++];
    memset(b, 0, sizeof(*b));
    b->t0 = l->t - l->lat, b->t1 = l->t;
    b->user = (int)l->user, b->seq = l->seq;
    b->status = (int)json_integer_value(json_object_get(e, "status"));
    b->label = html_label(h, html_str(e, "req"));
    type = html_str(e, "type");
    b->outcome = !strcmp(type, "ok") ? HO_OK : !strcmp(type, "fail") ? HO_FAIL : HO_INFO;
    err = json_string_value(json_object_get(e, "error"));
    b->error = err && *err ? strndup(err, HTML_TEXT) : NULL;
    json_decref(e);
}

static const struct html_hist *html_sort_h;
static int html_near_cmp(const void *x, const void *y)
{
    const struct html_bar *p = x, *q = y;
    int64_t a = html_away(html_sort_h, p->t0, p->t1), b = html_away(html_sort_h, q->t0, q->t1);
    return a < b ? -1 : a > b;
}

static int html_int_cmp(const void *x, const void *y)
{
    return *(const int *)x - *(const int *)y;
}

/* The lanes: every user when they fit, else those nearest the anchor;
 * then at most HTML_MAX_BARS bars of those lanes, the nearest kept. */
static void html_lanes(struct html_hist *h)
{
    int keep = 0;
    html_sort_h = h;
    qsort(h->bars, (size_t)h->nbars, sizeof(h->bars[0]), html_near_cmp);
    h->nlanes = 0;
    for (int i = 0; i < h->nbars; i++) {
        int j, u = h->bars[i].user;
        for (j = 0; j < h->nlanes && h->lanes[j] != u; j++)
            ;
        if (j == h->nlanes && h->nlanes < HTML_MAX_LANES)
            h->lanes[h->nlanes++] = u;
        if (j == h->nlanes || keep >= HTML_MAX_BARS) {
            free(h->bars[i].error);
            continue;
        }
        h->bars[keep++] = h->bars[i];
    }
    h->nbars = keep;
    qsort(h->lanes, (size_t)h->nlanes, sizeof(int), html_int_cmp);
}

int html_hist_read(const char *dir, int has_at, int64_t at_t_ns, struct html_hist *h)
{
    struct html_p1 p1 = {h, has_at, at_t_ns, -1};
    struct html_p2 *p2 = NULL;
    int rc = -1;

    memset(h, 0, sizeof(*h));
    if (html_each(dir, html_pass1, &p1) < 0 || !h->n)
        return -1;
    h->nbins = h->n < HTML_BINS * 4 ? (int)(h->n / 4 > 10 ? h->n / 4 : 10) : HTML_BINS;
    h->bin_s = (double)h->tmax / 1e9 / h->nbins;
    p2 = calloc(1, sizeof(*p2));
    h->bars = calloc(2 * HTML_MAX_BARS, sizeof(h->bars[0]));
    if (!p2 || !h->bars)
        goto out;
    p2->h = h;
    if (h->users > HTML_MAX_LANES && h->users <= HTML_MAX_USERS) {
        p2->near = malloc(sizeof(int64_t) * (size_t)h->users);
        p2->lane = calloc((size_t)h->users, 1);
        if (!p2->near || !p2->lane)
            goto out;
        for (int u = 0; u < h->users; u++)
            p2->near[u] = INT64_MAX;
    }
    for (int i = 0; i < h->nbins; i++)
        p2->lat[i] = hist_new();
    html_each(dir, html_pass2, p2);
    html_bins(h, p2);
    if (p2->lane) {
        html_pick_lanes(p2);
        memset(p2->bucket, 0, sizeof(p2->bucket));
        html_each(dir, html_lane_buckets, p2);
    }
    html_window(h, p2->bucket);
    html_each(dir, html_pass3, p2);
    html_lanes(h);
    rc = 0;
out:
    if (p2) {
        free(p2->near);
        free(p2->lane);
    }
    free(p2);
    return rc;
}

void html_hist_free(struct html_hist *h)
{
    for (int i = 0; i < h->nbars; i++)
        free(h->bars[i].error);
    free(h->bars);
    h->bars = NULL;
    h->nbars = 0;
}

const char *html_bar_label(const struct html_hist *h, const struct html_bar *b)
{
    return b->label >= 0 && b->label < h->nlabels ? h->labels[b->label] : "request";
}

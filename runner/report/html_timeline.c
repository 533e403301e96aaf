/*
 * html_timeline.c - the swimlanes of report.html: a lane per virtual user
 * with a bar per request from invoke to completion, coloured by outcome,
 * and a lane per service process with its injections (a barrier or wait
 * as the span it held the call, a delay as the span it added, a fail or
 * a mark as a tick); the first violating request is outlined and a line
 * runs through every lane at its completion.
 *
 * Every timed element carries data-a / data-b (ms since the load started)
 * so the page's script can zoom and pan by moving them; without script
 * the drawing is complete at the window's own scale.
 */
#include "report_html.h"
#include "svg.h"

#include <math.h>
#include <string.h>

#define TL_W     1100.0
#define TL_LEFT  130.0
#define TL_RIGHT 12.0
#define TL_TOP   38.0
#define TL_LANE  12.0 /* a user's lane */
#define TL_ROW   11.0 /* a row of a process's lane */
#define TL_ROWS  6    /* rows per process lane at most */
#define TL_GAP   18.0 /* between the users and the processes */

struct tl {
    FILE *f;
    int64_t lo, hi;
    double y_users, y_procs, h;
    int rows[HTML_MAX_PROCS]; /* rows of each process lane */
    double y_proc[HTML_MAX_PROCS];
};

static double tl_x(const struct tl *t, int64_t ns)
{
    double span = t->hi > t->lo ? (double)(t->hi - t->lo) : 1;
    return TL_LEFT + (TL_W - TL_LEFT - TL_RIGHT) * (double)(ns - t->lo) / span;
}

/* A timed rectangle; the caller writes its <title> and closes it. */
static void tl_rect(struct tl *t, const char *cls, int64_t a, int64_t b, double y, double h)
{
    double x0 = tl_x(t, a), x1 = tl_x(t, b);
    fprintf(t->f,
            "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "data-a=\"%.3f\" data-b=\"%.3f\"><title>",
            cls, x0, y, x1 - x0 < 1 ? 1 : x1 - x0, h, a / 1e6, b / 1e6);
}

static int tl_lane_of(const struct html_hist *h, int user)
{
    for (int i = 0; i < h->nlanes; i++)
        if (h->lanes[i] == user)
            return i;
    return -1;
}

static void tl_bar(struct tl *t, const struct html_hist *h, const struct html_bar *b, int viol)
{
    static const char *const cls[] = {"rq ok", "rq fail", "rq info"};
    static const char *const word[] = {"ok", "fail", "info (outcome unknown)"};
    int lane = tl_lane_of(h, b->user);
    char c[48];
    if (lane < 0)
        return;
    snprintf(c, sizeof(c), "%s%s", cls[b->outcome], viol ? " viol" : "");
    tl_rect(t, c, b->t0, b->t1, t->y_users + lane * TL_LANE + 1.5, TL_LANE - 3);
    fprintf(t->f, "user %d seq %lld ", b->user, (long long)b->seq);
    html_esc(t->f, html_bar_label(h, b));
    fprintf(t->f, ": %s, status %d, %.3f ms (%.3f to %.3f ms)", word[b->outcome], b->status,
            (b->t1 - b->t0) / 1e6, b->t0 / 1e6, b->t1 / 1e6);
    if (b->error) {
        fputs(", ", t->f);
        html_esc(t->f, b->error);
    }
    if (viol)
        fputs(" - the first violating request", t->f);
    fputs("</title></rect>\n", t->f);
}

/* Rows of a process lane: the first row whose last mark ended before. */
static int tl_row(int64_t *row_end, int *nrows, const struct html_mark *m)
{
    int r;
    for (r = 0; r < *nrows && row_end[r] > m->t0; r++)
        ;
    if (r == *nrows && *nrows < TL_ROWS)
        (*nrows)++;
    if (r == TL_ROWS)
        r = TL_ROWS - 1;
    row_end[r] = m->t1 > m->t0 ? m->t1 : m->t0 + 1;
    return r;
}

static void tl_mark(struct tl *t, const struct html_mark *m, int row)
{
    double y = t->y_proc[m->proc] + row * TL_ROW + 1.5;
    char cls[32];
    snprintf(cls, sizeof(cls), "mk %s", html_mark_kind(m));
    tl_rect(t, cls, m->t0, m->t1, y, TL_ROW - 3);
    fprintf(t->f, "thread %d: ", m->tid);
    html_esc(t->f, m->action);
    fputs(" ", t->f);
    html_esc(t->f, m->rule);
    fputs(" on ", t->f);
    html_esc(t->f, m->hook);
    fprintf(t->f, ": %s", m->outcome);
    if (m->t1 > m->t0)
        fprintf(t->f, " (%.3f ms, %.3f to %.3f ms)", (m->t1 - m->t0) / 1e6, m->t0 / 1e6,
                m->t1 / 1e6);
    else
        fprintf(t->f, " at %.3f ms", m->t0 / 1e6);
    if (m->detail) {
        fputs(": ", t->f);
        html_esc(t->f, m->detail);
    }
    fputs("</title></rect>\n", t->f);
}

/* How many rows each process lane needs (a first pass over the marks). */
static void tl_layout(struct tl *t, const struct html_hist *h, const struct html_marks *mk)
{
    int64_t ends[HTML_MAX_PROCS][TL_ROWS];
    memset(ends, 0, sizeof(ends));
    memset(t->rows, 0, sizeof(t->rows));
    for (int i = 0; i < mk->n; i++)
        if (mk->m[i].proc >= 0)
            tl_row(ends[mk->m[i].proc], &t->rows[mk->m[i].proc], &mk->m[i]);
    t->y_users = TL_TOP;
    t->y_procs = TL_TOP + h->nlanes * TL_LANE + (mk->nprocs ? TL_GAP : 0);
    t->h = t->y_procs;
    for (int p = 0; p < mk->nprocs; p++) {
        t->y_proc[p] = t->h;
        t->h += (t->rows[p] ? t->rows[p] : 1) * TL_ROW + 4;
    }
    t->h += 8;
}

static void tl_labels(struct tl *t, const struct html_hist *h, const struct html_marks *mk)
{
    char buf[64];
    for (int i = 0; i < h->nlanes; i++) {
        snprintf(buf, sizeof(buf), "user %d", h->lanes[i]);
        svg_text(t->f, TL_LEFT - 6, t->y_users + i * TL_LANE + TL_LANE - 2.5, "end", "lane", buf);
        if (i % 2)
            fprintf(t->f,
                    "<rect class=\"stripe\" x=\"%.0f\" y=\"%.1f\" width=\"%.0f\" "
                    "height=\"%.0f\"/>\n",
                    TL_LEFT, t->y_users + i * TL_LANE, TL_W - TL_LEFT - TL_RIGHT, TL_LANE);
    }
    if (mk->nprocs)
        svg_text(t->f, 4, t->y_procs - 5, "start", "lanehead", "injections");
    for (int p = 0; p < mk->nprocs; p++) {
        svg_text(t->f, TL_LEFT - 6, t->y_proc[p] + TL_ROW - 2.5, "end", "lane", mk->proc_names[p]);
        fprintf(t->f, "<line class=\"sep\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>\n",
                4.0, t->y_proc[p] - 2, TL_W - TL_RIGHT, t->y_proc[p] - 2);
    }
}

/* Ticks in ms along the top (the script draws them again on zoom). */
static void tl_axis(struct tl *t)
{
    int n;
    double lo = t->lo / 1e6, hi = t->hi / 1e6;
    double step = svg_nice_step(hi - lo, 8, &n);
    char buf[64], lab[80];
    fputs("<g class=\"axis\">\n", t->f);
    for (double v = ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
        double x = tl_x(t, (int64_t)(v * 1e6));
        svg_num(buf, sizeof(buf), v);
        snprintf(lab, sizeof(lab), "%s ms", buf);
        fprintf(t->f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, TL_TOP - 3, x,
                t->h);
        svg_text(t->f, x, TL_TOP - 8, "middle", NULL, lab);
    }
    fputs("</g>\n", t->f);
}

/* The line through every lane at the violation, with its caption. */
static void tl_violation(struct tl *t, const struct html_hist *h, const char *violated)
{
    double x = tl_x(t, h->anchor.t1);
    fprintf(t->f,
            "<line class=\"vline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "data-a=\"%.3f\" data-b=\"%.3f\"/>\n",
            x, 16.0, x, t->h, h->anchor.t1 / 1e6, h->anchor.t1 / 1e6);
    /* near the right edge the caption goes to the left of the line */
    fprintf(t->f,
            "<text class=\"vlabel\" x=\"%.1f\" y=\"12\" text-anchor=\"%s\" data-a=\"%.3f\" "
            "data-b=\"%.3f\">",
            x > TL_W * 0.75 ? x - 3 : x + 3, x > TL_W * 0.75 ? "end" : "start", h->anchor.t1 / 1e6,
            h->anchor.t1 / 1e6);
    fputs("broke ", t->f);
    html_esc(t->f, violated);
    fputs("</text>\n", t->f);
}

void html_timeline(FILE *f, const struct html_hist *h, const struct html_marks *mk,
                   const char *violated)
{
    struct tl t = {f, h->lo, h->hi > h->lo ? h->hi : h->lo + 1, 0, 0, 0, {0}, {0}};
    int64_t ends[HTML_MAX_PROCS][TL_ROWS];
    int nrows[HTML_MAX_PROCS] = {0};
    int viol = -1;

    tl_layout(&t, h, mk);
    fprintf(f,
            "<svg class=\"timeline zoomable\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
            "%.0f %.0f\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
            "font-size=\"10\" data-lo=\"%.3f\" data-hi=\"%.3f\" data-x0=\"%.0f\" "
            "data-x1=\"%.0f\" data-top=\"%.0f\" data-bottom=\"%.1f\">\n",
            TL_W, t.h, TL_W, t.h, t.lo / 1e6, t.hi / 1e6, TL_LEFT, TL_W - TL_RIGHT, TL_TOP, t.h);
    fprintf(f,
            "<clipPath id=\"tlclip\"><rect x=\"%.0f\" y=\"0\" width=\"%.0f\" height=\"%.1f\"/>"
            "</clipPath>\n",
            TL_LEFT, TL_W - TL_LEFT - TL_RIGHT, t.h);
    tl_labels(&t, h, mk);
    tl_axis(&t);
    fputs("<g clip-path=\"url(#tlclip)\" class=\"plot\">\n", f);
    for (int i = 0; i < h->nbars; i++) {
        const struct html_bar *b = &h->bars[i];
        int v = h->anchor_violates && b->user == h->anchor.user && b->seq == h->anchor.seq &&
                b->t1 == h->anchor.t1;
        if (v)
            viol = i; /* drawn last, on top */
        else
            tl_bar(&t, h, b, 0);
    }
    memset(ends, 0, sizeof(ends));
    for (int i = 0; i < mk->n; i++)
        if (mk->m[i].proc >= 0)
            tl_mark(&t, &mk->m[i], tl_row(ends[mk->m[i].proc], &nrows[mk->m[i].proc], &mk->m[i]));
    if (viol >= 0)
        tl_bar(&t, h, &h->bars[viol], 1);
    if (h->anchor_violates)
        tl_violation(&t, h, violated);
    fputs("</g>\n</svg>\n", f);
}

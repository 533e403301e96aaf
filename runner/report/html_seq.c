/*
 * html_seq.c - the violating interleaving as a sequence diagram: the
 * threads that the last coordinating injection before the first violation
 * held together (a barrier's callers, a wait and the mark that let it go),
 * each a lifeline, their traced calls (statement, hook, what the rule did)
 * in the order the shim wrote them, and the rule that forced it.
 *
 * The shim sees threads, not requests: a lifeline is a service thread
 * carrying one request, and the requests then in flight are listed under
 * the diagram.  What a lifeline shows is what was traced: a rule's own
 * lines, and every call a `log` rule names (docs/reports.md).
 */
#include "report_html.h"
#include "svg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEQ_BEFORE_NS (2000 * 1000000LL) /* trace looked at before the anchor */
#define SEQ_AFTER_NS  (300 * 1000000LL)  /* and after it */
#define SEQ_SLACK_NS  (2 * 1000000LL)    /* finals of one release lie this close */
#define SEQ_PRE_NS    (20 * 1000000LL)   /* events shown before the episode */
#define SEQ_POST_NS   (100 * 1000000LL)  /* and after it */
#define SEQ_TIME_W    96.0
#define SEQ_COL_W     300.0
#define SEQ_RULE_W    170.0
#define SEQ_HEAD      58.0
#define SEQ_ROW       30.0

struct seq {
    const struct html_marks *mk;
    int part_pid[HTML_SEQ_PARTS], part_tid[HTML_SEQ_PARTS], nparts;
    int ev[HTML_SEQ_EVENTS], nev;
    const struct html_mark *e; /* the injection that forced it */
    int64_t from, to;          /* the events' span */
    int coord;                 /* a barrier/wait/hold: the rule has a column */
};

static int seq_is_held(const struct html_mark *m)
{
    return !strcmp(m->action, "barrier") || !strcmp(m->action, "wait") ||
           !strcmp(m->action, "hold");
}

/* The last final line at or before the anchor: a barrier, wait or hold
 * that was released (it ordered threads), else one that timed out or hit
 * its ceiling (it only delayed one: on a loaded machine a barrier's
 * partner may come too late), else any action but log and mark, else
 * anything. */
static const struct html_mark *seq_pick(const struct html_marks *mk, int64_t anchor)
{
    const struct html_mark *best[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < mk->n; i++) {
        const struct html_mark *m = &mk->m[i];
        int cls;
        if (m->waiting || m->ts > anchor + SEQ_SLACK_NS)
            continue;
        if (seq_is_held(m))
            cls = strcmp(m->outcome, "timeout") && strcmp(m->outcome, "ceiling") ? 0 : 1;
        else
            cls = strcmp(m->action, "log") && strcmp(m->action, "mark") ? 2 : 3;
        best[cls] = m; /* sorted by time: the last wins */
    }
    for (int cls = 0; cls < 4; cls++)
        if (best[cls])
            return best[cls];
    return NULL;
}

static int seq_part(struct seq *s, int pid, int tid)
{
    for (int i = 0; i < s->nparts; i++)
        if (s->part_pid[i] == pid && s->part_tid[i] == tid)
            return i;
    if (s->nparts == HTML_SEQ_PARTS)
        return -1;
    s->part_pid[s->nparts] = pid;
    s->part_tid[s->nparts] = tid;
    return s->nparts++;
}

/* The episode: lines of e's rule held at the same time and released
 * together (a barrier's callers), and marks made while they were held. */
static void seq_episode(struct seq *s)
{
    const struct html_mark *e = s->e;
    s->from = e->t0, s->to = e->t1;
    seq_part(s, e->pid, e->tid);
    if (!s->coord)
        return;
    for (int i = 0; i < s->mk->n; i++) {
        const struct html_mark *m = &s->mk->m[i];
        int same = !m->waiting && !strcmp(m->rule, e->rule) && m->t0 <= e->t1 && m->t1 >= e->t0 &&
                   llabs(m->t1 - e->t1) <= SEQ_SLACK_NS;
        int marker = !m->waiting && !strcmp(m->action, "mark") && m->ts >= e->t0 && m->ts <= e->t1;
        if (!same && !marker)
            continue;
        seq_part(s, m->pid, m->tid);
        s->from = m->t0 < s->from ? m->t0 : s->from;
        s->to = m->t1 > s->to ? m->t1 : s->to;
    }
}

/* The lifeline a line belongs to, -1: none. */
static int seq_part_of(const struct seq *s, const struct html_mark *m)
{
    for (int p = 0; p < s->nparts; p++)
        if (s->part_pid[p] == m->pid && s->part_tid[p] == m->tid)
            return p;
    return -1;
}

/* A statement that ends a transaction: the edge of a request's lines. */
static int seq_ends_tx(const struct html_mark *m)
{
    static const char *const words[] = {"COMMIT", "ROLLBACK", "END", "ABORT"};
    const char *d = m->detail ? m->detail : "";
    d += strspn(d, " \t\n");
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);
        if (!strncasecmp(d, words[i], n) && (!d[n] || strchr(" ;\n", d[n])))
            return 1;
    }
    return 0;
}

/* Within its bounds a SQL lifeline shows one transaction: from after the
 * COMMIT before its arrival to the COMMIT after its release. */
static void seq_tx_bounds(const struct seq *s, int p, int64_t arrive, int64_t leave, int64_t *lo,
                          int64_t *hi)
{
    int64_t end_after = *hi;
    for (int i = 0; i < s->mk->n; i++) {
        const struct html_mark *m = &s->mk->m[i];
        if (seq_part_of(s, m) != p || m->waiting || !seq_ends_tx(m))
            continue;
        if (m->ts < arrive && m->ts >= *lo)
            *lo = m->ts + 1;
        if (m->ts > leave && m->ts <= end_after) {
            end_after = m->ts;
            if (m->ts < *hi)
                *hi = m->ts;
        }
    }
}

/* What a lifeline shows: its lines from a little before the episode to a
 * little after it, but only its current pass through the rule: not past
 * its previous release nor its next arrival, which belong to the requests
 * the thread carried before and after. */
static void seq_bounds(const struct seq *s, int p, int64_t *lo, int64_t *hi)
{
    int64_t arrive = s->to, leave = s->from;
    *lo = s->from - SEQ_PRE_NS, *hi = s->to + SEQ_POST_NS;
    for (int i = 0; i < s->mk->n; i++) {
        const struct html_mark *m = &s->mk->m[i];
        if (seq_part_of(s, m) != p || strcmp(m->rule, s->e->rule))
            continue;
        if (m->t0 >= s->from && m->t1 <= s->to) { /* this pass */
            arrive = m->t0 < arrive ? m->t0 : arrive;
            leave = m->t1 > leave ? m->t1 : leave;
        }
    }
    for (int i = 0; i < s->mk->n; i++) {
        const struct html_mark *m = &s->mk->m[i];
        if (seq_part_of(s, m) != p || strcmp(m->rule, s->e->rule))
            continue;
        if (!m->waiting && m->ts < arrive && m->ts >= *lo)
            *lo = m->ts + 1; /* its previous release */
        if (m->waiting && m->ts > leave && m->ts <= *hi)
            *hi = m->ts - 1; /* its next arrival */
    }
    seq_tx_bounds(s, p, arrive, leave, lo, hi);
}

static const struct seq *seq_sort_s;
static int seq_near_cmp(const void *x, const void *y)
{
    const struct html_mark *m = seq_sort_s->mk->m;
    int64_t a = llabs(m[*(const int *)x].ts - seq_sort_s->to);
    int64_t b = llabs(m[*(const int *)y].ts - seq_sort_s->to);
    return a < b ? -1 : a > b;
}

static int seq_idx_cmp(const void *x, const void *y)
{
    return *(const int *)x - *(const int *)y;
}

/* The events: each lifeline's lines within its bounds, at most
 * HTML_SEQ_EVENTS (those nearest the release), in the order traced. */
static void seq_events(struct seq *s)
{
    int64_t lo[HTML_SEQ_PARTS], hi[HTML_SEQ_PARTS];
    int *all = calloc((size_t)s->mk->n + 1, sizeof(int)), n = 0;
    if (!all)
        return;
    for (int p = 0; p < s->nparts; p++)
        seq_bounds(s, p, &lo[p], &hi[p]);
    for (int i = 0; i < s->mk->n; i++) {
        int p = seq_part_of(s, &s->mk->m[i]);
        if (p >= 0 && s->mk->m[i].ts >= lo[p] && s->mk->m[i].ts <= hi[p])
            all[n++] = i;
    }
    if (n > HTML_SEQ_EVENTS) {
        seq_sort_s = s;
        qsort(all, (size_t)n, sizeof(int), seq_near_cmp);
        n = HTML_SEQ_EVENTS;
    }
    qsort(all, (size_t)n, sizeof(int), seq_idx_cmp);
    memcpy(s->ev, all, sizeof(int) * (size_t)n);
    s->nev = n;
    free(all);
}

/* ---------------------------------------------------------------
 * Drawing.
 * ------------------------------------------------------------ */
static double seq_col(const struct seq *s, int p)
{
    return SEQ_TIME_W + SEQ_COL_W * (p + 0.5);
}

static double seq_rule_x(const struct seq *s)
{
    return SEQ_TIME_W + SEQ_COL_W * s->nparts + SEQ_RULE_W / 2;
}

static void seq_heads(FILE *f, const struct seq *s, const char *dir)
{
    char name[64], line2[64];
    for (int p = 0; p < s->nparts; p++) {
        double x = seq_col(s, p);
        html_proc_name(dir, s->part_pid[p], name, sizeof(name));
        snprintf(line2, sizeof(line2), "thread %d", s->part_tid[p]);
        fprintf(f,
                "<g class=\"part\"><rect x=\"%.1f\" y=\"6\" width=\"%.1f\" height=\"36\" "
                "rx=\"4\"/>\n",
                x - SEQ_COL_W / 2 + 10, SEQ_COL_W - 20);
        svg_text(f, x, 21, "middle", "ph", name);
        svg_text(f, x, 35, "middle", NULL, line2);
        fputs("</g>\n", f);
    }
    if (s->coord) {
        char r[80];
        snprintf(r, sizeof(r), "%s %s", s->e->action, s->e->rule);
        fprintf(f,
                "<g class=\"rulehead\"><rect x=\"%.1f\" y=\"6\" width=\"%.1f\" height=\"36\" "
                "rx=\"4\"/>\n",
                seq_rule_x(s) - SEQ_RULE_W / 2 + 8, SEQ_RULE_W - 16);
        svg_text(f, seq_rule_x(s), 21, "middle", "ph", "rule");
        svg_text(f, seq_rule_x(s), 35, "middle", NULL, r);
        fputs("</g>\n", f);
    }
}

/* The text of an event in its box, cut to fit; the whole in <title>. */
static void seq_box(FILE *f, double x, double y, const char *cls, const char *text,
                    const char *title)
{
    char cut[64];
    size_t n = strlen(text);
    snprintf(cut, sizeof(cut), "%.*s%s", n > 44 ? 42 : (int)n, text, n > 44 ? ".." : "");
    fprintf(f,
            "<g class=\"ev %s\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"22\" "
            "rx=\"3\"/><title>",
            cls, x - SEQ_COL_W / 2 + 14, y - 15, SEQ_COL_W - 28);
    html_esc(f, title);
    fputs("</title>\n", f);
    svg_text(f, x, y, "middle", NULL, cut);
    fputs("</g>\n", f);
}

/* One event's row: its box on the lifeline and, for a held call, the
 * arrow to the rule (arrives) or from it (released, timed out). */
static void seq_event(FILE *f, const struct seq *s, const struct html_mark *m, double y)
{
    int p = seq_part_of(s, m);
    double x = seq_col(s, p), rx = seq_rule_x(s);
    char t[64], title[HTML_TEXT + 160], what[96];
    const char *detail = m->detail ? m->detail : m->hook;
    int to_rule = s->coord && seq_is_held(m) && !strcmp(m->rule, s->e->rule);

    snprintf(t, sizeof(t), "%.3f ms", m->ts / 1e6);
    svg_text(f, SEQ_TIME_W - 8, y, "end", "tm", t);
    if (m->waiting)
        snprintf(what, sizeof(what), "arrives, held");
    else if (seq_is_held(m))
        snprintf(what, sizeof(what), "%s after %.3f ms", m->outcome, (m->t1 - m->t0) / 1e6);
    else if (m->t1 > m->t0)
        snprintf(what, sizeof(what), "%s %s: %.3f ms", m->action, m->rule, (m->t1 - m->t0) / 1e6);
    else
        snprintf(what, sizeof(what), "%s %s: %s", m->action, m->rule, m->outcome);
    snprintf(title, sizeof(title), "%s on %s (%s): %s", m->hook, detail, m->obj, what);
    seq_box(f, x, y, html_mark_kind(m), detail, title);
    if (to_rule) {
        double edge = x + SEQ_COL_W / 2 - 14;
        double x0 = m->waiting ? edge : rx, x1 = m->waiting ? rx : edge;
        fprintf(f,
                "<line class=\"arrow%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "marker-end=\"url(#seqarrow)\"/>\n",
                m->waiting ? " in" : " out", x0, y - 4, x1, y - 4);
        svg_text(f, (x0 + x1) / 2, y - 8, "middle", "al", what);
    } else if (!m->waiting && strcmp(m->action, "log") != 0) {
        svg_text(f, x + SEQ_COL_W / 2 - 12, y + 12, "end", "al", what);
    }
}

static void seq_svg(FILE *f, const struct seq *s, const char *dir)
{
    double w = SEQ_TIME_W + SEQ_COL_W * s->nparts + (s->coord ? SEQ_RULE_W : 0) + 10;
    double h = SEQ_HEAD + SEQ_ROW * s->nev + 12;

    fprintf(f,
            "<svg class=\"sequence\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
            "%.0f\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"11\" "
            "data-parts=\"%d\" data-events=\"%d\">\n"
            "<defs><marker id=\"seqarrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
            "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" "
            "fill=\"#444\"/></marker></defs>\n",
            w, h, w, h, s->nparts, s->nev);
    for (int p = 0; p < s->nparts; p++)
        fprintf(f, "<line class=\"life\" x1=\"%.1f\" y1=\"42\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                seq_col(s, p), seq_col(s, p), h - 4);
    if (s->coord)
        fprintf(f, "<line class=\"life rule\" x1=\"%.1f\" y1=\"42\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                seq_rule_x(s), seq_rule_x(s), h - 4);
    seq_heads(f, s, dir);
    for (int i = 0; i < s->nev; i++)
        seq_event(f, s, &s->mk->m[s->ev[i]], SEQ_HEAD + SEQ_ROW * i + 16);
    fputs("</svg>\n", f);
}

/* The rule's text as the scenario has it: summary.json's "rules" lists
 * each process's rules; the line that names rule ("NAME: ...") is shown. */
static void seq_rule_text(FILE *f, json_t *sum, const char *rule)
{
    json_t *a = json_object_get(sum, "rules"), *r;
    size_t i, n = strlen(rule);
    json_array_foreach(a, i, r)
    {
        const char *text = html_str(r, "rules"), *p = text;
        while (n && (p = strstr(p, rule)) != NULL) {
            const char *q = p + n;
            char *line;
            while (*q == ' ')
                q++;
            if (*q != ':' || (p != text && !strchr("\n; \t", p[-1]))) {
                p += n;
                continue;
            }
            line = strndup(p, strcspn(p, "\n"));
            fputs("<p>The rule that forced it (", f);
            html_esc(f, html_str(r, "process"));
            fputs("):</p>\n<pre class=\"rule\">", f);
            html_esc(f, line);
            fputs("</pre>\n", f);
            free(line);
            return;
        }
    }
}

/* The requests in flight while the episode held its callers. */
static void seq_in_flight(FILE *f, const struct html_hist *h, const struct seq *s)
{
    int n = 0;
    for (int i = 0; h && i < h->nbars; i++) {
        const struct html_bar *b = &h->bars[i];
        if (b->t0 > s->to || b->t1 < s->from)
            continue;
        if (n == 12) {
            fputs(", ...", f);
            break;
        }
        fprintf(f, "%suser %d seq %lld (",
                n++ ? ", "
                    : "<p class=\"note\">The shim sees threads, "
                      "not requests. Requests in flight while the rule held the calls: ",
                b->user, (long long)b->seq);
        html_esc(f, html_bar_label(h, b));
        fputs(")", f);
    }
    if (n)
        fputs(".</p>\n", f);
}

/* What the reader is looking at, in one sentence. */
static void seq_caption(FILE *f, const struct seq *s, const struct html_hist *h,
                        const char *violated)
{
    fputs("<p>", f);
    if (s->coord && s->nparts > 1)
        fprintf(f, "The last time the %s <code>", s->e->action);
    else
        fprintf(f, "The last injection (%s <code>", s->e->action);
    html_esc(f, s->e->rule);
    if (s->coord && s->nparts > 1)
        fprintf(f,
                "</code> held %d threads together before the first violation, and what "
                "they ran around it, in the order the shim traced it.",
                s->nparts);
    else
        fputs("</code>) before the first violation, and what its thread ran around it.", f);
    if (h && h->anchor_violates) {
        fprintf(f, " Then user %d seq %lld (", h->anchor.user, (long long)h->anchor.seq);
        html_esc(f, html_bar_label(h, &h->anchor));
        fprintf(f, ") completed at %.3f ms and broke <b>", h->anchor.t1 / 1e6);
        html_esc(f, violated);
        fputs("</b>.", f);
    }
    fputs("</p>\n", f);
}

void html_sequence(FILE *f, const char *dir, json_t *sum, const struct html_hist *h,
                   double start_unix, int64_t anchor, const char *violated)
{
    struct html_marks mk;
    struct seq s;

    memset(&s, 0, sizeof(s));
    html_marks_read(dir, start_unix, anchor - SEQ_BEFORE_NS, anchor + SEQ_AFTER_NS, anchor,
                    HTML_SEQ_LINES, 1, &mk);
    s.mk = &mk;
    s.e = seq_pick(&mk, anchor);
    if (!s.e) {
        fputs("<p class=\"empty\">No injection fired in the 2 s before the first violation: "
              "the race happened under the load alone. A <code>log</code> rule on the calls "
              "of interest (<code>log on pq.query</code>) puts them here next time.</p>\n",
              f);
        goto out;
    }
    s.coord = seq_is_held(s.e);
    seq_episode(&s);
    seq_events(&s);
    seq_caption(f, &s, h, violated);
    fputs("<div class=\"scroll\">\n", f);
    seq_svg(f, &s, dir);
    fputs("</div>\n", f);
    seq_rule_text(f, sum, s.e->rule);
    seq_in_flight(f, h, &s);
out:
    html_marks_free(&mk);
}

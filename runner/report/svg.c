/*
 * svg.c - line panels, the percentile plot and grouped bars as SVG text
 * (svg.h).  Axes use round ticks; every number printed goes through
 * svg_num so a figure and its page agree on how a value reads.
 */
#include "svg.h"
#include "xmlw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Margins of a panel: room for the y labels, the title, the x labels. */
#define SVG_LEFT   56.0
#define SVG_RIGHT  14.0
#define SVG_TOP    24.0
#define SVG_BOTTOM 22.0
#define SVG_TICKS  5

static const char *const svg_palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                          "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

const char *svg_colour(int i)
{
    int n = (int)(sizeof(svg_palette) / sizeof(svg_palette[0]));
    return svg_palette[((i % n) + n) % n];
}

void svg_begin(FILE *f, double w, double h, const char *label)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
            "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\" "
            "aria-label=\"",
            w, h, w, h);
    xw_string(f, label ? label : "");
    fputs("\"><title>", f);
    xw_string(f, label ? label : "");
    fprintf(f, "</title><rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", w, h);
}

void svg_end(FILE *f)
{
    fputs("</svg>\n", f);
}

void svg_text(FILE *f, double x, double y, const char *anchor, const char *cls, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
    if (anchor && strcmp(anchor, "start") != 0)
        fprintf(f, " text-anchor=\"%s\"", anchor);
    /* a figure's own styles as attributes: a file of its own has no CSS */
    if (cls && !strcmp(cls, "ttl"))
        fputs(" font-size=\"12\" font-weight=\"600\"", f);
    else if (cls && !strcmp(cls, "val"))
        fputs(" font-size=\"10\" fill=\"#333\"", f);
    else if (cls)
        fprintf(f, " class=\"%s\"", cls);
    fputc('>', f);
    xw_string(f, text);
    fputs("</text>\n", f);
}

void svg_num(char *buf, size_t len, double v)
{
    double a = fabs(v);
    if (a >= 1e6)
        snprintf(buf, len, "%.3gM", v / 1e6);
    else if (a >= 1e4 || a == floor(a))
        snprintf(buf, len, "%.0f", v);
    else if (a >= 100)
        snprintf(buf, len, "%.0f", v);
    else if (a >= 10)
        snprintf(buf, len, "%.1f", v);
    else if (a >= 1)
        snprintf(buf, len, "%.2f", v);
    else
        snprintf(buf, len, "%.3g", v);
}

double svg_nice_step(double max, int want, int *nsteps)
{
    double raw, mag, step;
    if (!(max > 0) || !isfinite(max))
        max = 1;
    raw = max / (want > 0 ? want : 1);
    mag = pow(10, floor(log10(raw)));
    step = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
    *nsteps = (int)ceil(max / step - 1e-9);
    if (*nsteps < 1)
        *nsteps = 1;
    return step;
}

/* ---------------------------------------------------------------
 * Axes and frames shared by the panels.
 * ------------------------------------------------------------ */
struct svg_frame {
    double x, y, w, h; /* the plotting area */
};

static void svg_frame_of(struct svg_frame *fr, double x0, double y0, double w, double h)
{
    fr->x = x0 + SVG_LEFT;
    fr->y = y0 + SVG_TOP;
    fr->w = w - SVG_LEFT - SVG_RIGHT;
    fr->h = h - SVG_TOP - SVG_BOTTOM;
}

/* The title (with the unit), the frame and the y axis from 0 to the top
 * tick; returns the top (the value at the top of the frame). */
static double svg_yaxis(FILE *f, const struct svg_frame *fr, const char *title, const char *unit,
                        double max, double fixed_top, int percent)
{
    int n;
    double step = fixed_top > 0 ? fixed_top / 4 : svg_nice_step(max, SVG_TICKS, &n);
    char buf[64], head[256];
    if (fixed_top > 0)
        n = 4;
    if (title) {
        snprintf(head, sizeof(head), "%s%s%s%s", title, unit && !percent ? " (" : "",
                 unit && !percent ? unit : "", unit && !percent ? ")" : "");
        svg_text(f, fr->x, fr->y - 10, "start", "ttl", head);
    }
    for (int i = 0; i <= n; i++) {
        double y = fr->y + fr->h - fr->h * i / n;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n",
                fr->x, y, fr->x + fr->w, y);
        if (percent)
            snprintf(buf, sizeof(buf), "%.0f%%", step * i * 100);
        else
            svg_num(buf, sizeof(buf), step * i);
        svg_text(f, fr->x - 4, y + 4, "end", NULL, buf);
    }
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#999\"/>\n",
            fr->x, fr->y, fr->w, fr->h);
    return step * n;
}

/* Width of text in the figures' 11px sans-serif, near enough to place it. */
static double svg_width(const char *text)
{
    return 6.5 * (double)strlen(text ? text : "");
}

/* x ticks of a linear axis from lo to hi, labelled with unit. */
static void svg_xaxis(FILE *f, const struct svg_frame *fr, double lo, double hi, const char *unit)
{
    int n;
    double step = svg_nice_step(hi - lo, 6, &n), first = ceil(lo / step) * step;
    char buf[64], lab[80];
    for (double v = first; v <= hi + step * 1e-9; v += step) {
        double x = fr->x + fr->w * (v - lo) / (hi - lo);
        svg_num(buf, sizeof(buf), fabs(v) < step * 1e-9 ? 0 : v);
        snprintf(lab, sizeof(lab), "%s%s%s", buf, unit ? " " : "", unit ? unit : "");
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>\n", x,
                fr->y + fr->h, x, fr->y + fr->h + 3);
        svg_text(f, x, fr->y + fr->h + 14, "middle", NULL, lab);
    }
}

/* Series names in their colours, right-aligned above the frame, but
 * never over the panel's title (from min_x on). */
static void svg_legend(FILE *f, const struct svg_frame *fr, const char *const *names, int n,
                       double min_x)
{
    double total = 0, x;
    for (int i = 0; i < n; i++)
        total += svg_width(names[i]) + 18;
    x = fr->x + fr->w - total;
    svg_keys(f, x < min_x ? min_x : x, fr->y - 10, names, n);
}

void svg_keys(FILE *f, double x, double y, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", x,
                y - 9, svg_colour(i));
        svg_text(f, x + 13, y, "start", NULL, names[i] ? names[i] : "");
        x += svg_width(names[i]) + 18;
    }
}

/* Where a legend may start: after the title and its unit. */
static double svg_after_title(const struct svg_frame *fr, const char *title, const char *unit)
{
    return fr->x + svg_width(title) * 1.1 + (unit ? svg_width(unit) + 12 : 0) + 16;
}

/* ---------------------------------------------------------------
 * Lines.
 * ------------------------------------------------------------ */
static void svg_series_range(const struct svg_lines *p, double *xlo, double *xhi, double *ymax)
{
    *xlo = INFINITY, *xhi = -INFINITY, *ymax = 0;
    for (int s = 0; s < p->ns; s++)
        for (int i = 0; i < p->s[s].n; i++) {
            *xlo = fmin(*xlo, p->s[s].x[i]);
            *xhi = fmax(*xhi, p->s[s].x[i]);
            if (p->s[s].y[i] >= 0)
                *ymax = fmax(*ymax, p->s[s].y[i]);
        }
    if (p->xmax > p->xmin)
        *xlo = p->xmin, *xhi = p->xmax;
    if (!isfinite(*xlo) || *xhi <= *xlo)
        *xlo = 0, *xhi = *xlo + 1;
}

/* One series as polylines, broken at gaps (y < 0). */
static void svg_series_path(FILE *f, const struct svg_frame *fr, const struct svg_series *s,
                            double xlo, double xhi, double top, const char *colour, int dots)
{
    int open = 0;
    for (int i = 0; i < s->n; i++) {
        double x = fr->x + fr->w * (s->x[i] - xlo) / (xhi - xlo);
        double y = fr->y + fr->h - fr->h * (s->y[i] / top);
        if (s->y[i] < 0 || s->x[i] < xlo || s->x[i] > xhi) {
            if (open)
                fputs("\"/>\n", f);
            open = 0;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
                    colour);
        fprintf(f, "%s%.1f,%.1f", open ? " " : "", x, y);
        open = 1;
    }
    if (open)
        fputs("\"/>\n", f);
    for (int i = 0; dots && i < s->n; i++)
        if (s->y[i] >= 0 && s->x[i] >= xlo && s->x[i] <= xhi)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>\n",
                    fr->x + fr->w * (s->x[i] - xlo) / (xhi - xlo),
                    fr->y + fr->h - fr->h * (s->y[i] / top), colour);
}

void svg_plot_lines(FILE *f, double x0, double y0, double w, double h, const struct svg_lines *p)
{
    struct svg_frame fr;
    double xlo, xhi, ymax, top;
    const char *names[8];
    int nn = p->ns < 8 ? p->ns : 8;

    svg_frame_of(&fr, x0, y0, w, h);
    svg_series_range(p, &xlo, &xhi, &ymax);
    top = svg_yaxis(f, &fr, p->title, p->yunit, ymax * 1.05, 0, 0);
    svg_xaxis(f, &fr, xlo, xhi, p->xunit);
    for (int s = 0; s < p->ns; s++)
        svg_series_path(f, &fr, &p->s[s], xlo, xhi, top, svg_colour(s), p->points);
    for (int i = 0; i < nn; i++)
        names[i] = p->s[i].name;
    if (nn > 1)
        svg_legend(f, &fr, names, nn, svg_after_title(&fr, p->title, p->yunit));
}

/* ---------------------------------------------------------------
 * The percentile plot.
 * ------------------------------------------------------------ */

/* x of percentile p on the log scale: log10(1/(1-p)), p = 1 at the edge. */
static double svg_pctl_x(double p, double edge)
{
    return p >= 1 ? edge : fmin(edge, log10(1.0 / (1.0 - p)));
}

void svg_plot_pctl(FILE *f, double x0, double y0, double w, double h, const struct svg_pctl *p)
{
    static const char *const labels[] = {"0%",     "90%",     "99%",     "99.9%",
                                         "99.99%", "99.999%", "99.9999%"};
    struct svg_frame fr;
    double ymax = 0, edge = 2, top;
    int open = 0;

    svg_frame_of(&fr, x0, y0, w, h);
    for (int i = 0; i < p->n; i++) {
        ymax = fmax(ymax, p->ms[i]);
        if (p->p[i] < 1)
            edge = fmax(edge, ceil(log10(1.0 / (1.0 - p->p[i])) - 1e-9));
    }
    edge = fmin(edge, 6);
    top = svg_yaxis(f, &fr, p->title, "ms", ymax * 1.05, 0, 0);
    for (int k = 0; k <= (int)edge; k++) {
        double x = fr.x + fr.w * k / edge;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n",
                x, fr.y, x, fr.y + fr.h);
        svg_text(f, x, fr.y + fr.h + 14, "middle", NULL, labels[k]);
    }
    for (int i = 0; i < p->n; i++) {
        double x = fr.x + fr.w * svg_pctl_x(p->p[i], edge) / edge;
        double y = fr.y + fr.h - fr.h * p->ms[i] / top;
        if (!open)
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
                    svg_colour(0));
        fprintf(f, "%s%.1f,%.1f", open ? " " : "", x, y);
        open = 1;
    }
    if (open)
        fputs("\"/>\n", f);
}

/* ---------------------------------------------------------------
 * Grouped bars.
 * ------------------------------------------------------------ */
static double svg_bars_max(const struct svg_bars *b)
{
    double m = 0;
    for (int i = 0; i < b->ngroups * b->nkeys; i++)
        m = fmax(m, b->v[i]);
    return m;
}

/* Bar k of group g with its value above it. */
static void svg_bar(FILE *f, const struct svg_frame *fr, const struct svg_bars *b, int g, int k,
                    double top)
{
    double gw = fr->w / b->ngroups, bw = gw * 0.8 / b->nkeys;
    double v = b->v[g * b->nkeys + k], x = fr->x + gw * g + gw * 0.1 + bw * k;
    double bh = fr->h * fmin(v, top) / top;
    char buf[64];
    if (v < 0)
        return;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
            x + 1, fr->y + fr->h - bh, bw - 2, bh, svg_colour(k));
    xw_string(f, b->groups[g]);
    fputs(", ", f);
    xw_string(f, b->keys[k]);
    if (b->percent)
        snprintf(buf, sizeof(buf), "%.0f%%", v * 100);
    else
        svg_num(buf, sizeof(buf), v);
    fprintf(f, ": %s</title></rect>\n", buf);
    if (bw >= svg_width(buf) + 4) /* only where it fits */
        svg_text(f, x + bw / 2, fr->y + fr->h - bh - 3, "middle", "val", buf);
}

void svg_plot_bars(FILE *f, double x0, double y0, double w, double h, const struct svg_bars *b)
{
    struct svg_frame fr;
    double top;

    svg_frame_of(&fr, x0, y0, w, h);
    if (b->ngroups < 1 || b->nkeys < 1)
        return;
    top = svg_yaxis(f, &fr, b->title, b->yunit, b->ymax > 0 ? b->ymax : svg_bars_max(b) * 1.12,
                    b->ymax, b->percent);
    for (int g = 0; g < b->ngroups; g++) {
        for (int k = 0; k < b->nkeys; k++)
            svg_bar(f, &fr, b, g, k, top);
        svg_text(f, fr.x + fr.w / b->ngroups * (g + 0.5), fr.y + fr.h + 14, "middle", NULL,
                 b->groups[g]);
    }
    if (!b->no_legend)
        svg_legend(f, &fr, b->keys, b->nkeys, svg_after_title(&fr, b->title, b->yunit));
}

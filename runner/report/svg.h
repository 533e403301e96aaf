/*
 * svg.h - the one plotting code of wedge: line panels, grouped bars and
 * the percentile plot, as SVG text.  report.html draws its figures with
 * it inline, and `wedge report --svg` writes them as files for the docs
 * (scripts/results), so no figure is drawn by two programs.
 *
 * Colours are attributes, not classes, so a figure reads the same as a
 * file of its own and inside a page.  Everything is a pure function of
 * its arguments writing to f; nothing is kept between calls.  Thread-safe.
 */
#ifndef WEDGE_SVG_H
#define WEDGE_SVG_H

#include <stdio.h>

/* The palette: a series or a bar key takes svg_colour(i). */
const char *svg_colour(int i);

/* <svg> of w x h user units, scaled to the width of its container; label
 * becomes its aria-label and <title>.  svg_end closes it. */
void svg_begin(FILE *f, double w, double h, const char *label);
void svg_end(FILE *f);
/* Text at (x, y); anchor "start", "middle" or "end"; escaped.  cls
 * "ttl" (a panel's title) and "val" (a bar's value) are drawn with
 * attributes, any other as a class for the page's style. */
void svg_text(FILE *f, double x, double y, const char *anchor, const char *cls, const char *text);

/* The colours' key: a swatch and a name each, from (x, y) rightwards. */
void svg_keys(FILE *f, double x, double y, const char *const *names, int n);
/* A number as a tick or bar label: 1200 -> "1200", 0.25 -> "0.25",
 * 2500000 -> "2.5M". */
void svg_num(char *buf, size_t len, double v);
/* Round ticks ("nice numbers": 1, 2, 5 x 10^k) covering [0, max]: the step
 * and how many steps up to the top tick (at least 1). */
double svg_nice_step(double max, int want, int *nsteps);

/* One series of a line panel: n points; y < 0 is a gap. */
struct svg_series {
    const char *name;
    const double *x, *y;
    int n;
};

/* A panel of lines over a shared x axis, at (x0, y0) inside the current
 * <svg>, w x h including its axes and labels. */
struct svg_lines {
    const char *title; /* above the panel */
    const char *xunit; /* "s", "ms" */
    const char *yunit; /* "ms", "req/s", "MiB" */
    double xmin, xmax; /* the x range; xmax <= xmin: from the data */
    const struct svg_series *s;
    int ns;
    int points; /* 1: a dot per point too (few samples) */
};
void svg_plot_lines(FILE *f, double x0, double y0, double w, double h, const struct svg_lines *p);

/* The latency histogram as HdrHistogram users know it: value against
 * percentile, x on a log scale of 1/(1 - p) with ticks 0%, 90%, 99%,
 * 99.9%...  p in [0, 1]; p = 1 (the max) sits at the right edge. */
struct svg_pctl {
    const char *title;
    const double *p, *ms;
    int n;
};
void svg_plot_pctl(FILE *f, double x0, double y0, double w, double h, const struct svg_pctl *p);

/* Grouped bars: for each group (a mix, a race) one bar per key (a
 * strategy, a mode), its value printed on it. v[g * nkeys + k]; a value
 * < 0 is "no bar". */
struct svg_bars {
    const char *title;
    const char *yunit;
    const char *const *groups;
    int ngroups;
    const char *const *keys;
    int nkeys;
    const double *v;
    double ymax;   /* > 0: a fixed top (fractions: 1) */
    int percent;   /* labels as percentages of 1 */
    int no_legend; /* the keys are named elsewhere (svg_keys) */
};
void svg_plot_bars(FILE *f, double x0, double y0, double w, double h, const struct svg_bars *b);

#endif

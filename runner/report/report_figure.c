/*
 * report_figure.c - `wedge report --svg KIND IN`: one figure as a file of
 * its own, for documents (scripts/results draws the figures of
 * docs/concurrent_testing_results.md with it).  The panels are svg.c's,
 * the same that report.html draws, so a figure has one drawing code.
 *
 *   series  IN is a run's summary.json: throughput, p99 and RSS panels
 *           over its time series, stacked
 *   bars    IN is a figure document: panels of grouped bars
 *           {"title": T, "panels": [{"title", "unit", "percent": bool,
 *            "max": N, "groups": [G...], "keys": [K...],
 *            "values": [[v per key] per group]}]}  (null: no bar); the
 *           first panel's keys are named once, under the title
 */
#include "report.h"
#include "svg.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define FIG_W      760.0
#define FIG_PANEL  190.0
#define FIG_TITLE  30.0
#define FIG_KEYS   22.0 /* the row of a bar figure's keys */
#define FIG_MAXBAR 64   /* groups x keys of one panel */

static void fig_title(FILE *f, const char *title)
{
    svg_text(f, 12, 20, "start", NULL, title);
}

/* ---------------------------------------------------------------
 * series
 * ------------------------------------------------------------ */
static int fig_series(json_t *doc, const char *title, FILE *out, char *err, size_t errlen)
{
    static const char *const keys[] = {"throughput", "p99_ms", "rss_kb"};
    static const char *const names[] = {"Throughput", "p99 latency", "Services' RSS"};
    static const char *const units[] = {"req/s", "ms", "MiB"};
    json_t *series = json_object_get(doc, "series"), *e;
    size_t n = json_array_size(series), i;
    double *t = calloc(n + 1, sizeof(double)), *v = calloc(3 * (n + 1), sizeof(double));
    int rc = -1;

    if (!t || !v) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (n < 2) {
        snprintf(err, errlen, "no time series (\"series\" needs 2 samples or more)");
        goto out;
    }
    json_array_foreach(series, i, e)
    {
        t[i] = json_number_value(json_object_get(e, "t_s"));
        for (int k = 0; k < 3; k++)
            v[k * n + i] = json_number_value(json_object_get(e, keys[k])) / (k == 2 ? 1024 : 1);
    }
    svg_begin(out, FIG_W, FIG_TITLE + 3 * FIG_PANEL, title);
    fig_title(out, title);
    for (int k = 0; k < 3; k++) {
        struct svg_series s = {names[k], t, v + k * n, (int)n};
        struct svg_lines l = {names[k], "s", units[k], 0, 0, &s, 1, n < 30};
        svg_plot_lines(out, 0, FIG_TITLE + k * FIG_PANEL, FIG_W, FIG_PANEL, &l);
    }
    svg_end(out);
    rc = 0;
out:
    free(t);
    free(v);
    return rc;
}

/* ---------------------------------------------------------------
 * bars
 * ------------------------------------------------------------ */
/* Strings of a JSON array into out (borrowed), at most max; the count. */
static int fig_strings(json_t *a, const char **out, int max)
{
    json_t *s;
    size_t i;
    int n = 0;
    json_array_foreach(a, i, s)
    {
        if (n < max && json_is_string(s))
            out[n++] = json_string_value(s);
    }
    return n;
}

static int fig_bar_panel(json_t *p, struct svg_bars *b, const char **groups, const char **keys,
                         double *v, char *err, size_t errlen)
{
    json_t *rows = json_object_get(p, "values");
    memset(b, 0, sizeof(*b));
    b->title = json_string_value(json_object_get(p, "title"));
    b->yunit = json_string_value(json_object_get(p, "unit"));
    b->percent = json_is_true(json_object_get(p, "percent"));
    b->ymax = json_number_value(json_object_get(p, "max"));
    b->ngroups = fig_strings(json_object_get(p, "groups"), groups, FIG_MAXBAR);
    b->nkeys = fig_strings(json_object_get(p, "keys"), keys, FIG_MAXBAR);
    if (!b->ngroups || !b->nkeys || b->ngroups * b->nkeys > FIG_MAXBAR ||
        json_array_size(rows) != (size_t)b->ngroups) {
        snprintf(err, errlen,
                 "panel '%s': needs groups, keys and a row of values per group "
                 "(at most %d bars)",
                 b->title ? b->title : "", FIG_MAXBAR);
        return -1;
    }
    for (int g = 0; g < b->ngroups; g++)
        for (int k = 0; k < b->nkeys; k++) {
            json_t *x = json_array_get(json_array_get(rows, (size_t)g), (size_t)k);
            v[g * b->nkeys + k] = json_is_number(x) ? json_number_value(x) : -1;
        }
    b->groups = groups, b->keys = keys, b->v = v;
    return 0;
}

static int fig_bars(json_t *doc, const char *title, FILE *out, char *err, size_t errlen)
{
    json_t *panels = json_object_get(doc, "panels"), *p;
    size_t n = json_array_size(panels), i;
    const char *groups[FIG_MAXBAR], *keys[FIG_MAXBAR];
    double v[FIG_MAXBAR];
    struct svg_bars b;

    if (!n) {
        snprintf(err, errlen, "no \"panels\"");
        return -1;
    }
    json_array_foreach(panels, i, p)
    {
        if (fig_bar_panel(p, &b, groups, keys, v, err, errlen) < 0)
            return -1;
    }
    svg_begin(out, FIG_W, FIG_TITLE + FIG_KEYS + (double)n * FIG_PANEL, title);
    fig_title(out, title);
    json_array_foreach(panels, i, p)
    {
        fig_bar_panel(p, &b, groups, keys, v, err, errlen);
        if (i == 0) /* one key for every panel, under the title */
            svg_keys(out, 12, FIG_TITLE + 10, b.keys, b.nkeys);
        b.no_legend = 1;
        svg_plot_bars(out, 0, FIG_TITLE + FIG_KEYS + (double)i * FIG_PANEL, FIG_W, FIG_PANEL, &b);
    }
    svg_end(out);
    return 0;
}

int report_svg(const char *kind, const char *in, FILE *out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_load_file(in, 0, &je);
    const char *title;
    char buf[256];
    int rc = -1;

    if (!json_is_object(doc)) {
        snprintf(err, errlen, "%s:%d:%d: %s", in, je.line, je.column,
                 doc ? "expected a JSON object" : je.text);
        json_decref(doc);
        return -1;
    }
    title = json_string_value(json_object_get(doc, "title"));
    if (!title) {
        snprintf(buf, sizeof(buf), "%s: throughput, p99 and RSS per sample",
                 json_string_value(json_object_get(doc, "scenario")) ?: "run");
        title = buf;
    }
    if (!strcmp(kind, "series"))
        rc = fig_series(doc, title, out, err, errlen);
    else if (!strcmp(kind, "bars"))
        rc = fig_bars(doc, title, out, err, errlen);
    else
        snprintf(err, errlen, "unknown figure '%s': expected series or bars", kind);
    if (rc < 0 && strncmp(err, "unknown figure", 14) != 0) {
        char inner[512];
        snprintf(inner, sizeof(inner), "%s", err);
        snprintf(err, errlen, "%s: %s", in, inner);
    }
    json_decref(doc);
    return rc;
}

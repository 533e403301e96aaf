/*
 * html_plots.c - the run page's plots over time and the latency
 * histogram: p50/p99 per sample, throughput with errors and injections
 * per second, the percentile plot of latency.hgrm, the services' RSS.
 *
 * The samples are summary.json's series (one per `sample` interval of the
 * scenario); a run shorter than a few samples is binned from its history
 * instead (html_hist.c), and the caption says which.
 */
#include "report_html.h"
#include "svg.h"

#include <stdlib.h>
#include <string.h>

#define PLOT_W       540.0
#define PLOT_H       210.0
#define PLOT_SAMPLES 5   /* fewer samples than this: bin the history */
#define PLOT_HGRM    512 /* rows of latency.hgrm read at most */

struct plot_data {
    int n;
    double *t, *p50, *p99, *rps, *err, *inj, *rss;
    int has_rss, has_inj;
    const char *source;
};

static void plot_free(struct plot_data *d)
{
    free(d->t);
    free(d->p50);
    free(d->p99);
    free(d->rps);
    free(d->err);
    free(d->inj);
    free(d->rss);
}

static int plot_alloc(struct plot_data *d, int n)
{
    double **all[] = {&d->t, &d->p50, &d->p99, &d->rps, &d->err, &d->inj, &d->rss};
    d->n = n;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (!(*all[i] = calloc((size_t)n + 1, sizeof(double))))
            return -1;
    return 0;
}

/* From summary.json's series: errors and injections per second. */
static int plot_from_series(struct plot_data *d, json_t *series)
{
    json_t *e;
    size_t i;
    if (plot_alloc(d, (int)json_array_size(series)) < 0)
        return -1;
    json_array_foreach(series, i, e)
    {
        double t = html_num(e, "t_s");
        double dt = i ? t - d->t[i - 1] : t;
        d->t[i] = t;
        d->p50[i] = html_num(e, "p50_ms");
        d->p99[i] = html_num(e, "p99_ms");
        d->rps[i] = html_num(e, "throughput");
        d->err[i] = dt > 0 ? html_num(e, "errors") / dt : 0;
        d->inj[i] = dt > 0 ? html_num(e, "injections") / dt : 0;
        d->rss[i] = html_num(e, "rss_kb") / 1024.0;
        d->has_rss |= d->rss[i] > 0;
        d->has_inj |= d->inj[i] > 0;
    }
    d->source = "one point per sample of the run's time series (summary.json)";
    return 0;
}

static int plot_from_bins(struct plot_data *d, const struct html_hist *h)
{
    if (plot_alloc(d, h->nbins) < 0)
        return -1;
    for (int i = 0; i < h->nbins; i++) {
        d->t[i] = (i + 0.5) * h->bin_s;
        d->p50[i] = h->bin_p50[i];
        d->p99[i] = h->bin_p99[i];
        d->rps[i] = h->bin_rps[i];
        d->err[i] = h->bin_s > 0 ? h->bin_err[i] / h->bin_s : 0;
    }
    d->source = "the run was shorter than a few samples: the points are bins of its requests "
                "(history.jsonl)";
    return 0;
}

static void plot_fig(FILE *f, const char *id, const char *label)
{
    fprintf(f, "<figure class=\"plot\" id=\"%s\">\n", id);
    svg_begin(f, PLOT_W, PLOT_H, label);
}

static void plot_fig_end(FILE *f)
{
    svg_end(f);
    fputs("</figure>\n", f);
}

static void plot_over_time(FILE *f, const struct plot_data *d)
{
    struct svg_series lat[2] = {{"p50", d->t, d->p50, d->n}, {"p99", d->t, d->p99, d->n}};
    struct svg_series tp[3] = {{"requests/s", d->t, d->rps, d->n},
                               {"errors/s", d->t, d->err, d->n},
                               {"injections/s", d->t, d->inj, d->n}};
    struct svg_lines l = {"Latency over time", "s", "ms", 0, 0, lat, 2, d->n < 30};
    struct svg_lines t = {
        "Throughput and errors over time", "s", "/s", 0, 0, tp, d->has_inj ? 3 : 2, d->n < 30};
    plot_fig(f, "latency-time", "latency p50 and p99 over time");
    svg_plot_lines(f, 0, 0, PLOT_W, PLOT_H, &l);
    plot_fig_end(f);
    plot_fig(f, "throughput-time", "throughput and errors over time");
    svg_plot_lines(f, 0, 0, PLOT_W, PLOT_H, &t);
    plot_fig_end(f);
    if (d->has_rss) {
        struct svg_series rs = {"RSS", d->t, d->rss, d->n};
        struct svg_lines r = {
            "Services' resident memory (RSS)", "s", "MiB", 0, 0, &rs, 1, d->n < 30};
        plot_fig(f, "rss-time", "the services' resident memory over time");
        svg_plot_lines(f, 0, 0, PLOT_W, PLOT_H, &r);
        plot_fig_end(f);
    }
}

/* latency.hgrm's rows: value (ms) and percentile. */
static int plot_hgrm(const char *dir, double *ms, double *p)
{
    char path[4096], line[256];
    int n = 0;
    FILE *in;
    snprintf(path, sizeof(path), "%s/latency.hgrm", dir);
    in = fopen(path, "r");
    if (!in)
        return 0;
    while (n < PLOT_HGRM && fgets(line, sizeof(line), in))
        if (line[0] != '#' && sscanf(line, "%lf %lf", &ms[n], &p[n]) == 2)
            n++;
    fclose(in);
    return n;
}

static void plot_percentiles(FILE *f, const char *dir)
{
    double ms[PLOT_HGRM], p[PLOT_HGRM];
    int n = plot_hgrm(dir, ms, p);
    struct svg_pctl pc = {"Latency by percentile (latency.hgrm)", p, ms, n};
    if (n < 2)
        return;
    plot_fig(f, "percentiles", "latency by percentile");
    svg_plot_pctl(f, 0, 0, PLOT_W, PLOT_H, &pc);
    plot_fig_end(f);
}

void html_plots(FILE *f, const char *dir, json_t *sum, const struct html_hist *h)
{
    json_t *series = json_object_get(sum, "series");
    struct plot_data d;
    int ok;

    memset(&d, 0, sizeof(d));
    fputs("<section id=\"plots\"><h2>Latency and throughput over time</h2>\n", f);
    if (json_array_size(series) >= PLOT_SAMPLES)
        ok = plot_from_series(&d, series) == 0;
    else
        ok = h && h->n && plot_from_bins(&d, h) == 0;
    if (ok) {
        fputs("<p class=\"note\">", f);
        html_esc(f, d.source);
        fputs(".</p>\n<div class=\"plots\">\n", f);
        plot_over_time(f, &d);
    } else {
        fputs("<p class=\"empty\">No request completed: nothing to plot.</p>\n<div "
              "class=\"plots\">\n",
              f);
    }
    plot_percentiles(f, dir);
    fputs("</div>\n</section>\n", f);
    plot_free(&d);
}

/*
 * html_run.c - report.html of one run, and report_html_write, which picks
 * the page a directory calls for from its summary.json: a run, a set of
 * runs (--repeat), a hunt or an isolation matrix.
 *
 * A run's page: the verdict and invariants (as report.md), the swimlane
 * timeline around the first violation, the violating interleaving as a
 * sequence diagram, the latency table, the plots over time, the
 * injections.
 */
#include "report.h"
#include "report_html.h"
#include "report_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run_head(FILE *f, json_t *sum)
{
    int code = (int)json_integer_value(json_object_get(sum, "exit_code"));
    int passed = (int)json_integer_value(json_object_get(sum, "passed"));
    int failed = (int)json_integer_value(json_object_get(sum, "failed"));
    char verdict[512], dur[64];

    fputs("<header><h1>wedge report: ", f);
    html_esc(f, html_str(sum, "scenario"));
    fputs("</h1>\n", f);
    if (*html_str(sum, "description")) {
        fputs("<blockquote>", f);
        html_esc(f, html_str(sum, "description"));
        fputs("</blockquote>\n", f);
    }
    fputs("</header>\n", f);
    if (code == 0)
        snprintf(verdict, sizeof(verdict), "PASSED: all %d invariants held.", passed);
    else if (code == 1)
        snprintf(verdict, sizeof(verdict), "FAILED: %d of %d invariants broke: a race was found.",
                 failed, passed + failed);
    else if (code == 2)
        snprintf(verdict, sizeof(verdict), "ERROR: could not run: %s",
                 *html_str(sum, "error") ? html_str(sum, "error")
                                         : "a usage or configuration error");
    else
        snprintf(verdict, sizeof(verdict), "INCONCLUSIVE: %s",
                 *html_str(sum, "error") ? html_str(sum, "error") : "the run did not complete");
    html_verdict(f, rep_verdict(code), verdict);
    snprintf(dur, sizeof(dur), "%.2f s", html_num(sum, "duration_s"));
    fputs("<table class=\"kv\">\n", f);
    html_kv(f, "scenario file", html_str(sum, "scenario_file"), 1);
    html_kv(f, "seed", html_str(sum, "seed"), 0);
    html_kv(f, "reproduce", html_str(sum, "reproduce"), 1);
    html_kv(f, "database", html_str(sum, "database"), 0);
    html_kv(f, "started", html_str(sum, "started"), 0);
    html_kv(f, "load", dur, 0);
    fputs("</table>\n", f);
}

/* The first failed invariant, and the request that broke it if one did. */
static const char *run_violated(json_t *sum, int *has_at, int64_t *at)
{
    json_t *a = json_object_get(sum, "invariants"), *v;
    const char *first = NULL;
    size_t i;
    *has_at = 0;
    json_array_foreach(a, i, v)
    {
        if (strcmp(html_str(v, "status"), "failed"))
            continue;
        if (!first)
            first = html_str(v, "name");
        if (json_is_integer(json_object_get(v, "at_t_ns"))) {
            *has_at = 1;
            *at = json_integer_value(json_object_get(v, "at_t_ns"));
            return html_str(v, "name");
        }
    }
    return first;
}

static void run_caps(FILE *f, const struct html_hist *h, const struct html_marks *mk)
{
    fputs("<p class=\"note caps\">", f);
    if ((uint64_t)h->nbars == h->n)
        fprintf(f, "All %llu requests of %d users", (unsigned long long)h->n, h->users);
    else
        fprintf(f,
                "Drawn: %d of %llu requests (cap %d): those from %.3f to %.3f ms, around the %s; "
                "%d of %d users",
                h->nbars, (unsigned long long)h->n, HTML_MAX_BARS, h->lo / 1e6, h->hi / 1e6,
                h->anchor_violates ? "first violation" : "slowest request", h->nlanes, h->users);
    if (mk->seen > (uint64_t)mk->n)
        fprintf(f, "; %d of the %llu injections in that window (cap %d, those nearest it)", mk->n,
                (unsigned long long)mk->seen, HTML_MAX_MARKS);
    else
        fprintf(f, "; %d injections", mk->n);
    if (mk->nprocs == HTML_MAX_PROCS)
        fprintf(f, " (the first %d processes have a lane)", HTML_MAX_PROCS);
    fputs(". The plots below cover the whole run.</p>\n", f);
}

static void run_timeline(FILE *f, const char *dir, const struct html_hist *h, double start,
                         const char *violated)
{
    struct html_marks mk;
    int64_t a = (h->anchor.t0 + h->anchor.t1) / 2;
    html_marks_read(dir, start, h->lo, h->hi, a, HTML_MAX_MARKS, 0, &mk);
    fputs("<section id=\"timeline\"><h2>Timeline</h2>\n", f);
    run_caps(f, h, &mk);
    fputs("<div class=\"legend\"><span class=\"k ok\"></span>ok <span class=\"k fail\"></span>"
          "fail <span class=\"k info\"></span>info (outcome unknown) <span class=\"k viol\">"
          "</span>first violating request <span class=\"k held\"></span>held at a barrier or "
          "wait <span class=\"k timeout\"></span>timed out there <span class=\"k delay\"></span>"
          "delay <span class=\"k failmk\"></span>fail, short, spurious <span class=\"k point\">"
          "</span>mark, log</div>\n<div class=\"tools\" data-for=\"timeline\"></div>\n"
          "<div class=\"scroll\">\n",
          f);
    html_timeline(f, h, &mk, violated);
    fputs("</div></section>\n", f);
    html_marks_free(&mk);
}

static void run_interleaving(FILE *f, const char *dir, json_t *sum, const struct html_hist *h,
                             double start, const char *violated)
{
    int64_t anchor;
    fputs("<section id=\"interleaving\"><h2>The violating interleaving</h2>\n", f);
    if (!violated) {
        fputs("<p class=\"empty\">No invariant broke: there is no violating interleaving to "
              "show.</p>\n</section>\n",
              f);
        return;
    }
    if (h->anchor_violates)
        anchor = h->anchor.t1;
    else
        anchor = (int64_t)llround((html_num(sum, "duration_s") + 0.05) * 1e9);
    if (!h->anchor_violates) {
        fputs("<p class=\"note\">No single request broke <b>", f);
        html_esc(f, violated);
        fputs("</b>: shown is the last coordinated injection before the end of the load.</p>\n", f);
    }
    html_sequence(f, dir, sum, h, start, anchor, violated);
    fputs("</section>\n", f);
}

static void run_latency_row(FILE *f, const char *label, json_t *q, double n)
{
    json_t *l = json_object_get(q, "latency_ms");
    fputs("<tr><td>", f);
    html_esc(f, label);
    fprintf(f, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.1f</td>", n,
            html_num(q, "ok"), html_num(q, "fail"), html_num(q, "info"), html_num(q, "throughput"));
    if (html_num(l, "count") > 0)
        fprintf(f, "<td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>\n",
                html_num(l, "p50"), html_num(l, "p90"), html_num(l, "p99"), html_num(l, "max"));
    else
        fputs("<td>-</td><td>-</td><td>-</td><td>-</td></tr>\n", f);
}

static void run_latency(FILE *f, json_t *sum)
{
    json_t *t = json_object_get(sum, "totals"), *a = json_object_get(sum, "requests"), *q;
    json_t *all = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?}", "ok", json_object_get(t, "ok"), "fail",
                            json_object_get(t, "fail"), "info", json_object_get(t, "info"),
                            "throughput", json_object_get(sum, "throughput"), "latency_ms",
                            json_object_get(sum, "latency_ms"));
    size_t i;
    fputs("<section id=\"latency\"><h2>Latency and throughput</h2>\n<table class=\"grid num\">"
          "<tr><th>request</th><th>requests</th><th>ok</th><th>fail</th><th>info</th>"
          "<th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>\n",
          f);
    run_latency_row(f, "all", all, html_num(t, "requests"));
    json_array_foreach(a, i, q)
    {
        run_latency_row(f, html_str(q, "label"), q,
                        html_num(q, "ok") + html_num(q, "fail") + html_num(q, "info"));
    }
    fputs("</table>\n</section>\n", f);
    json_decref(all);
}

static void run_injections(FILE *f, json_t *sum)
{
    json_t *inj = json_object_get(sum, "injections"), *a = json_object_get(inj, "rules"), *r;
    size_t i;
    fputs("<section id=\"injections\"><h2>Injections</h2>\n", f);
    if (!json_array_size(a)) {
        fputs("<p class=\"empty\">No injection fired.</p>\n</section>\n", f);
        return;
    }
    fprintf(f,
            "<p>%.0f injections fired.</p>\n<table class=\"grid\"><tr><th>rule</th>"
            "<th>action</th><th>hooks</th><th>fired</th><th>released</th><th>timeout</th>"
            "<th>error</th><th>waited ms</th><th>example</th></tr>\n",
            html_num(inj, "total"));
    json_array_foreach(a, i, r)
    {
        json_t *ex = json_array_get(json_object_get(r, "examples"), 0);
        fputs("<tr><td>", f);
        html_esc(f, html_str(r, "rule"));
        fputs("</td><td>", f);
        html_esc(f, html_str(r, "action"));
        fputs("</td><td>", f);
        html_esc(f, html_str(r, "hooks"));
        fprintf(f,
                "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.1f</td><td>"
                "<code>",
                html_num(r, "fires"), html_num(r, "released"), html_num(r, "timeout"),
                html_num(r, "error"), html_num(r, "waited_ms"));
        html_esc(f, json_string_value(ex));
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
}

int html_run_page(FILE *f, const char *dir, json_t *sum)
{
    struct html_hist h;
    int has_at = 0;
    int64_t at = 0;
    const char *violated = run_violated(sum, &has_at, &at);
    double start = html_num(sum, "load_start_unix");
    char title[256];

    snprintf(title, sizeof(title), "wedge report: %s", html_str(sum, "scenario"));
    html_begin(f, title, "run");
    run_head(f, sum);
    html_invariants(f, sum);
    if (html_hist_read(dir, has_at, at, &h) == 0) {
        run_timeline(f, dir, &h, start, violated ? violated : "");
    } else {
        fputs("<section id=\"timeline\"><h2>Timeline</h2><p class=\"empty\">No request "
              "completed (no history.jsonl line): nothing to draw.</p></section>\n",
              f);
    }
    run_interleaving(f, dir, sum, &h, start, violated);
    run_latency(f, sum);
    html_plots(f, dir, sum, h.n ? &h : NULL);
    run_injections(f, sum);
    fputs("<p class=\"files\">Files beside this page: report.md, summary.json, junit.xml, "
          "history.jsonl, latency.hgrm, traces/, logs/.</p>\n",
          f);
    html_end(f);
    html_hist_free(&h);
    return 0;
}

/* ---------------------------------------------------------------
 * report_html_write: the page a directory calls for.
 * ------------------------------------------------------------ */
typedef int (*html_page_fn)(FILE *, const char *, json_t *);

static html_page_fn html_page_of(const char *dir, json_t *sum)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/outcomes.tsv", dir);
    if (!strcmp(html_str(sum, "command"), "hunt"))
        return html_hunt_page;
    if (json_object_get(sum, "specs") || json_object_get(sum, "plain_specs"))
        return html_iso_page;
    if (!strcmp(html_str(sum, "kind"), "runs") || access(path, F_OK) == 0)
        return html_repeat_page;
    return html_run_page;
}

int report_html_write(const char *dir, char *err, size_t errlen)
{
    struct rep_file rf;
    json_t *sum = html_load(dir, "summary.json");
    int rc = -1;

    if (!sum) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/outcomes.tsv", dir);
        if (access(path, F_OK) != 0) {
            snprintf(err, errlen, "%s/summary.json: missing or not a JSON object", dir);
            return -1;
        }
        sum = json_object(); /* a set of runs before the combined summary */
    }
    if (rep_open(&rf, dir, "report.html", err, errlen) == 0) {
        html_page_of(dir, sum)(rf.f, dir, sum);
        rc = rep_close(&rf, err, errlen);
    }
    json_decref(sum);
    return rc;
}

/*
 * html_sets.c - the pages of what is more than one run: a --repeat set
 * (outcomes per seed, each invariant over the runs, a link to each run's
 * own page), a hunt (what was found, every candidate and its outcome) and
 * the isolation matrix (coloured by outcome, the shop's workload per
 * level, the plain specs).  Each reads the summary.json its command wrote.
 */
#include "report_html.h"
#include "report_int.h"
#include "svg.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SET_MAX_CELLS 2000 /* runs with a cell of their own */
#define SET_MAX_ROWS  200  /* runs with a row of their own */

static const char *set_outcome_word(int code)
{
    return code == 0 ? "passed" : code == 1 ? "FAILED" : code == 2 ? "error" : "inconclusive";
}

/* A relative link to sub/report.html when that page exists. */
static int set_link(FILE *f, const char *dir, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/report.html", dir, sub);
    if (access(path, F_OK) != 0)
        return 0;
    fputs("<a href=\"", f);
    html_esc(f, sub);
    fputs("/report.html\">", f);
    return 1;
}

/* ---------------------------------------------------------------
 * --repeat: the runs from summary.json's "runs" (the combined summary)
 * or outcomes.tsv.
 * ------------------------------------------------------------ */
struct set_run {
    char sub[256], seed[32]; /* its directory, relative to the page's */
    int code;
    json_t *sum; /* the run's own summary.json, NULL when it wrote none */
};

static int set_runs_tsv(const char *dir, struct set_run **out)
{
    char path[4096], line[256];
    struct set_run *r = NULL;
    int n = 0, cap = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/outcomes.tsv", dir);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned run;
        int code;
        char seed[32];
        if (sscanf(line, "%u\t%31s\t%d", &run, seed, &code) != 3)
            continue; /* the header */
        if (n == cap) {
            struct set_run *g = realloc(r, sizeof(*r) * (size_t)(cap = cap ? 2 * cap : 64));
            if (!g)
                break;
            r = g;
        }
        memset(&r[n], 0, sizeof(r[n]));
        snprintf(r[n].sub, sizeof(r[n].sub), "run-%u", run);
        snprintf(r[n].seed, sizeof(r[n].seed), "%s", seed);
        r[n++].code = code;
    }
    fclose(f);
    *out = r;
    return n;
}

/* What names a run on the page: its seed in a --repeat set of one
 * scenario; its directory (the scenario's name) when the set holds
 * several scenarios, whose runs may share a seed. */
static const char *set_who(const struct set_run *r, int multi)
{
    return multi ? r->sub : r->seed;
}

static void set_cells(FILE *f, const char *dir, struct set_run *r, int n, int multi)
{
    fprintf(f, "<section id=\"outcomes\"><h2>Outcomes per %s</h2>\n<div class=\"cells\">\n",
            multi ? "run" : "seed");
    for (int i = 0; i < n && i < SET_MAX_CELLS; i++) {
        int linked = set_link(f, dir, r[i].sub);
        fprintf(f, "<span class=\"cell %s\" title=\"", rep_verdict(r[i].code));
        html_esc(f, r[i].sub);
        fprintf(f, ", seed %s: %s\">%d</span>", r[i].seed, set_outcome_word(r[i].code), i + 1);
        fputs(linked ? "</a>\n" : "\n", f);
    }
    fputs("</div>\n", f);
    if (n > SET_MAX_CELLS)
        fprintf(f,
                "<p class=\"note caps\">The first %d of %d runs have a cell; outcomes.tsv "
                "lists them all.</p>\n",
                SET_MAX_CELLS, n);
    fputs("</section>\n", f);
}

/* Each invariant: in how many runs it broke, and the first seeds (the
 * first runs, multi). */
static void set_invariants(FILE *f, struct set_run *r, int n, int multi)
{
    json_t *names = json_object(), *row;
    const char *name;
    fprintf(f,
            "<section id=\"invariants\"><h2>Invariants over the runs</h2>\n<table class=\"grid\">"
            "<tr><th>invariant</th><th>held</th><th>broke</th><th>%s that broke it</th></tr>\n",
            multi ? "runs" : "seeds");
    for (int i = 0; i < n && i < SET_MAX_CELLS; i++) {
        json_t *v;
        size_t k;
        json_array_foreach(json_object_get(r[i].sum, "invariants"), k, v)
        {
            const char *nm = html_str(v, "name");
            json_t *e = json_object_get(names, nm);
            int bad = strcmp(html_str(v, "status"), "passed") != 0;
            if (!e)
                json_object_set_new(
                    names, nm, e = json_pack("{s:i,s:i,s:[]}", "held", 0, "broke", 0, "seeds"));
            json_object_set_new(
                e, bad ? "broke" : "held",
                json_integer(json_integer_value(json_object_get(e, bad ? "broke" : "held")) + 1));
            if (bad && json_array_size(json_object_get(e, "seeds")) < 10)
                json_array_append_new(json_object_get(e, "seeds"),
                                      json_string(set_who(&r[i], multi)));
        }
    }
    json_object_foreach(names, name, row)
    {
        json_t *s;
        size_t k;
        fprintf(f, "<tr class=\"inv %s\"><td>", html_num(row, "broke") > 0 ? "failed" : "passed");
        html_esc(f, name);
        fprintf(f, "</td><td>%.0f</td><td>%.0f</td><td>", html_num(row, "held"),
                html_num(row, "broke"));
        json_array_foreach(json_object_get(row, "seeds"), k, s)
        {
            fputs(k ? ", " : "", f);
            html_esc(f, json_string_value(s));
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
    json_decref(names);
}

static void set_table(FILE *f, const char *dir, struct set_run *r, int n)
{
    fputs("<section id=\"runs\"><h2>The runs</h2>\n<table class=\"grid num\"><tr><th>run</th>"
          "<th>seed</th><th>outcome</th><th>invariants broken</th><th>requests</th><th>req/s</th>"
          "<th>p99 ms</th></tr>\n",
          f);
    for (int i = 0; i < n && i < SET_MAX_ROWS; i++) {
        json_t *s = r[i].sum, *v;
        size_t k;
        int nb = 0, linked;
        fputs("<tr><td>", f);
        linked = set_link(f, dir, r[i].sub);
        html_esc(f, r[i].sub);
        fprintf(f, "%s</td><td>%s</td><td class=\"%s\">%s</td><td>", linked ? "</a>" : "",
                r[i].seed, rep_verdict(r[i].code), set_outcome_word(r[i].code));
        json_array_foreach(json_object_get(s, "invariants"), k, v)
        {
            if (!strcmp(html_str(v, "status"), "passed"))
                continue;
            fputs(nb++ ? ", " : "", f);
            html_esc(f, html_str(v, "name"));
        }
        fprintf(f, "</td><td>%.0f</td><td>%.1f</td><td>%.3f</td></tr>\n",
                html_num(json_object_get(s, "totals"), "requests"), html_num(s, "throughput"),
                html_num(json_object_get(s, "latency_ms"), "p99"));
    }
    fputs("</table>\n", f);
    if (n > SET_MAX_ROWS)
        fprintf(f, "<p class=\"note caps\">The first %d of %d runs have a row.</p>\n", SET_MAX_ROWS,
                n);
    fputs("</section>\n", f);
}

/* How many scenarios the runs are of (the combined summary of several). */
static int set_scenarios(struct set_run *r, int n)
{
    int k = 0;
    for (int i = 0; i < n && i < SET_MAX_CELLS; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = r[j].sum && r[i].sum &&
                   !strcmp(html_str(r[j].sum, "scenario"), html_str(r[i].sum, "scenario"));
        k += !seen && r[i].sum;
    }
    return k;
}

/* A relative path that stays under the page's directory. */
static int set_inside(const char *sub)
{
    const char *p = sub;
    if (!*sub || *sub == '/')
        return 0;
    for (; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
        if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2]))
            return 0;
    return 1;
}

/* Whether dir/sub is a directory of this set. */
static int set_found(const char *dir, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    return set_inside(sub) && access(path, F_OK) == 0;
}

/* Run e's directory relative to the set's dir, wherever the set was
 * written: "subdir" (written since the set's directory could move), else
 * "dir" under dir as spelled now, else its last two components (NAME/run-K
 * of several scenarios), else its last one (run-K, or NAME). */
static void set_run_sub(const char *dir, json_t *e, char *sub, size_t size)
{
    const char *d = html_str(e, "dir"), *last = strrchr(d, '/'), *two = last;
    size_t len = strlen(dir);

    snprintf(sub, size, "%s", html_str(e, "subdir"));
    if (set_found(dir, sub))
        return;
    if (!strncmp(d, dir, len) && d[len] == '/' && set_inside(d + len + 1)) {
        snprintf(sub, size, "%s", d + len + 1);
        return;
    }
    while (two && two > d && *--two != '/')
        ;
    if (two && two != last) {
        snprintf(sub, size, "%s", two + (*two == '/'));
        if (set_found(dir, sub))
            return;
    }
    snprintf(sub, size, "%s", last ? last + 1 : d);
}

/* The runs of a set: the combined summary's "runs", else outcomes.tsv. */
static int set_runs(const char *dir, json_t *sum, struct set_run **out)
{
    json_t *a = json_object_get(sum, "runs"), *e;
    struct set_run *r;
    size_t i;
    int n;

    if (!json_array_size(a))
        n = set_runs_tsv(dir, out);
    else if ((*out = r = calloc(json_array_size(a), sizeof(*r))) != NULL) {
        json_array_foreach(a, i, e)
        {
            set_run_sub(dir, e, r[i].sub, sizeof(r[i].sub));
            snprintf(r[i].seed, sizeof(r[i].seed), "%s", html_str(e, "seed"));
            r[i].code = (int)json_integer_value(json_object_get(e, "exit_code"));
        }
        n = (int)json_array_size(a);
    } else {
        n = 0;
    }
    for (int k = 0; k < n && k < SET_MAX_CELLS; k++) {
        char sub[4096];
        snprintf(sub, sizeof(sub), "%s/%s", dir, (*out)[k].sub);
        (*out)[k].sum = html_load(sub, "summary.json");
    }
    return n;
}

int html_repeat_page(FILE *f, const char *dir, json_t *sum)
{
    struct set_run *r = NULL;
    int n = set_runs(dir, sum, &r), failed = 0, errors = 0, other = 0, first = -1;
    const char *name = n && r[0].sum ? html_str(r[0].sum, "scenario") : "";
    char title[256], verdict[256];
    int code;
    int scenarios = set_scenarios(r, n);

    for (int i = 0; i < n; i++) {
        failed += r[i].code == 1;
        errors += r[i].code == 2;
        other += r[i].code > 2;
        if (r[i].code == 1 && first < 0)
            first = i;
    }
    if (scenarios > 1)
        snprintf(title, sizeof(title), "wedge report: %d runs of %d scenarios", n, scenarios);
    else
        snprintf(title, sizeof(title), "wedge report: %s, %d runs", name, n);
    html_begin(f, title, "repeat");
    fputs("<header><h1>", f);
    html_esc(f, title);
    fputs("</h1></header>\n", f);
    /* the worst outcome first, in the order the combined exit code takes */
    code = failed ? 1 : other ? 3 : errors ? 2 : 0;
    snprintf(verdict, sizeof(verdict), "%s: %d of %d runs broke an invariant%s%s.",
             html_code_word(code), failed, n, errors ? ", some could not run" : "",
             other ? ", some could not conclude" : "");
    html_verdict(f, rep_verdict(code), verdict);
    fputs("<table class=\"kv\">\n", f);
    if (n && r[0].sum && scenarios == 1)
        html_kv(f, "scenario file", html_str(r[0].sum, "scenario_file"), 1);
    if (first >= 0 && r[first].sum)
        html_kv(f, "reproduce the first violation", html_str(r[first].sum, "reproduce"), 1);
    fputs("</table>\n", f);
    set_cells(f, dir, r, n, scenarios > 1);
    set_invariants(f, r, n, scenarios > 1);
    set_table(f, dir, r, n);
    if (scenarios > 1)
        fputs("<p class=\"files\">Files beside this page: summary.json, junit.xml, and each "
              "scenario's own directory NAME/ with its report.html (with --repeat, "
              "NAME/run-K/).</p>\n",
              f);
    else
        fputs("<p class=\"files\">Files beside this page: outcomes.tsv, summary.json, junit.xml, "
              "and each run's own directory run-K/ with its report.html.</p>\n",
              f);
    html_end(f);
    for (int i = 0; i < n; i++)
        json_decref(r[i].sum);
    free(r);
    return 0;
}

/* ---------------------------------------------------------------
 * wedge hunt.
 * ------------------------------------------------------------ */

/* Links to the pages of sub's runs (sub/NAME/report.html), in name
 * order; how many. */
static int set_sub_links(FILE *f, const char *dir, const char *sub)
{
    char path[4096], rel[512];
    struct dirent **names = NULL;
    int n, links = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        snprintf(rel, sizeof(rel), "%s/%s", sub, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && set_link(f, dir, rel)) {
            html_esc(f, names[i]->d_name);
            fputs("</a> ", f);
            links++;
        }
        free(names[i]);
    }
    free(names);
    return links;
}

static void set_hunt_found(FILE *f, const char *dir, json_t *sum)
{
    json_t *a = json_object_get(sum, "found"), *e;
    size_t i;
    json_array_foreach(a, i, e)
    {
        char sub[64];
        snprintf(sub, sizeof(sub), "cand-%.0f", html_num(e, "candidate"));
        fputs("<section class=\"found\"><h2>Found: ", f);
        html_esc(f, html_str(e, "title"));
        fputs("</h2>\n<table class=\"kv\">\n", f);
        html_kv(f, "scenario written", html_str(e, "file"), 1);
        html_kv(f, "rule", html_str(e, "rule"), 1);
        html_kv(f, "invariants broken", html_str(e, "broken"), 0);
        html_kv(f, "without the rule", html_str(e, "without_rule"), 0);
        html_kv(f, "reproduce", html_str(e, "reproduce"), 1);
        fputs("</table>\n<p>The runs that confirmed it: ", f);
        if (!set_sub_links(f, dir, sub))
            fputs("(no page)", f);
        fputs("</p>\n</section>\n", f);
    }
}

static void set_hunt_cands(FILE *f, const char *dir, json_t *sum)
{
    json_t *a = json_object_get(sum, "candidates"), *c;
    size_t i;
    fputs("<section id=\"candidates\"><h2>Candidates</h2>\n<table class=\"grid\"><tr><th>#</th>"
          "<th>kind</th><th>window</th><th>service</th><th>outcome</th><th>runs</th>"
          "<th>broke</th><th>note</th></tr>\n",
          f);
    json_array_foreach(a, i, c)
    {
        const char *out = html_str(c, "outcome");
        char sub[64];
        int linked;
        snprintf(sub, sizeof(sub), "cand-%.0f/confirm-seed-1", html_num(c, "rank"));
        fprintf(f, "<tr class=\"cand %s\"><td>",
                !strcmp(out, "FOUND")  ? "failed"
                : !strcmp(out, "held") ? "passed"
                                       : "other");
        linked = set_link(f, dir, sub);
        fprintf(f, "%.0f%s</td><td>", html_num(c, "rank"), linked ? "</a>" : "");
        html_esc(f, html_str(c, "kind"));
        fputs("</td><td>", f);
        html_esc(f, html_str(c, "title"));
        fputs("</td><td>", f);
        html_esc(f, html_str(c, "service"));
        fputs("</td><td class=\"st\">", f);
        html_esc(f, out);
        fprintf(f, "</td><td>%.0f</td><td>%.0f</td><td>", html_num(c, "runs"),
                html_num(c, "broke"));
        html_esc(f, html_str(c, "note"));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
}

int html_hunt_page(FILE *f, const char *dir, json_t *sum)
{
    const char *v = html_str(sum, "verdict");
    json_t *obs = json_object_get(sum, "observed");
    char title[256], verdict[256], seen[256];
    int observe;

    snprintf(title, sizeof(title), "wedge hunt: %s", html_str(sum, "scenario"));
    html_begin(f, title, "hunt");
    fputs("<header><h1>", f);
    html_esc(f, title);
    fputs("</h1></header>\n", f);
    snprintf(verdict, sizeof(verdict), "%s after %.0f runs, %.0f s.",
             !strcmp(v, "found")  ? "FOUND: a race, confirmed"
             : !strcmp(v, "held") ? "HELD: every candidate tried held"
                                  : "INCONCLUSIVE",
             html_num(sum, "runs"), html_num(sum, "seconds"));
    html_verdict(f,
                 !strcmp(v, "found")  ? "failed"
                 : !strcmp(v, "held") ? "passed"
                                      : "inconclusive",
                 verdict);
    snprintf(seen, sizeof(seen), "%.0f requests, %.0f statements, %.0f lock calls, %.0f threads",
             html_num(obs, "requests"), html_num(obs, "statements"), html_num(obs, "lock_calls"),
             html_num(obs, "threads"));
    fputs("<table class=\"kv\">\n", f);
    html_kv(f, "scenario file", html_str(sum, "scenario_file"), 1);
    html_kv(f, "observed", seen, 0);
    fputs("</table>\n", f);
    fputs("<p>", f);
    observe = set_link(f, dir, "observe");
    fputs(observe ? "The observing run's page</a>: every statement, lock and send it logged.</p>\n"
                  : "</p>\n",
          f);
    set_hunt_found(f, dir, sum);
    set_hunt_cands(f, dir, sum);
    fputs("<p class=\"files\">Files beside this page: report.md, summary.json, found-N.scn, the "
          "derived scenarios and each run's directory.</p>\n",
          f);
    html_end(f);
    return 0;
}

/* ---------------------------------------------------------------
 * wedge isolation: the matrix coloured.
 * ------------------------------------------------------------ */
static void set_iso_cell(FILE *f, json_t *c)
{
    const char *obs = html_str(c, "observed");
    int as = json_is_true(json_object_get(c, "as_expected"));
    if (!c) {
        fputs("<td class=\"cell none\">-</td>", f);
        return;
    }
    fprintf(f, "<td class=\"cell %s%s\" title=\"expected %s", obs, as ? "" : " unexpected",
            html_str(c, "expected"));
    if (*html_str(c, "why")) {
        fputs(": ", f);
        html_esc(f, html_str(c, "why"));
    }
    if (*html_str(c, "error")) {
        fputs(": ", f);
        html_esc(f, html_str(c, "error"));
    }
    fputs("\">", f);
    html_esc(f, obs);
    if (!as) {
        fputs(" (expected ", f);
        html_esc(f, html_str(c, "expected"));
        fputs(")", f);
    }
    fputs("</td>", f);
}

static void set_iso_matrix(FILE *f, json_t *sum)
{
    json_t *levels = json_object_get(sum, "levels"), *specs = json_object_get(sum, "specs");
    json_t *shop = json_object_get(sum, "shop"), *l, *s;
    size_t i, k;
    const char *strat[] = {"naive", "atomic"};

    fputs("<section id=\"matrix\"><h2>The matrix</h2>\n<p>Each cell: whether the anomaly "
          "occurred at that level; an outlined cell differs from the spec's expectation.</p>\n"
          "<table class=\"grid matrix\"><tr><th>anomaly</th><th>spec</th>",
          f);
    json_array_foreach(levels, k, l)
    {
        fputs("<th>", f);
        html_esc(f, json_string_value(l));
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    json_array_foreach(specs, i, s)
    {
        fputs("<tr><td>", f);
        html_esc(f, html_str(s, "anomaly"));
        fputs("</td><td title=\"", f);
        html_esc(f, html_str(s, "description"));
        fputs("\">", f);
        html_esc(f, html_str(s, "name"));
        fputs("</td>", f);
        json_array_foreach(levels, k, l)
            set_iso_cell(f, json_object_get(json_object_get(s, "cells"), json_string_value(l)));
        fputs("</tr>\n", f);
    }
    for (size_t t = 0; t < 2; t++) {
        json_t *row = json_object_get(shop, strat[t]);
        if (!json_object_size(row))
            continue;
        fprintf(f, "<tr><td>shop %s stock</td><td>(workload)</td>", strat[t]);
        json_array_foreach(levels, k, l)
            set_iso_cell(f, json_object_get(row, json_string_value(l)));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
}

/* The shop's workload per level: lost updates and throughput as bars. */
static void set_iso_shop(FILE *f, json_t *sum)
{
    json_t *levels = json_object_get(sum, "levels"), *shop = json_object_get(sum, "shop"), *l;
    const char *keys[] = {"naive", "atomic"}, *groups[8];
    double lost[16], rate[16];
    size_t k;
    int ng = 0;

    json_array_foreach(levels, k, l)
    {
        if (ng == 8)
            break;
        groups[ng] = json_string_value(l);
        for (int s = 0; s < 2; s++) {
            json_t *c = json_object_get(json_object_get(shop, keys[s]), groups[ng]);
            lost[ng * 2 + s] = c ? html_num(c, "lost_updates") : -1;
            rate[ng * 2 + s] = c ? html_num(c, "throughput_per_s") : -1;
        }
        ng++;
    }
    if (!json_object_size(json_object_get(shop, "naive")) &&
        !json_object_size(json_object_get(shop, "atomic")))
        return;
    fprintf(f,
            "<section id=\"shop\"><h2>The shop's stock update under each level</h2>\n<p>%.0f "
            "sessions each place %.0f orders on one SKU; lost updates = committed orders - "
            "stock taken.</p>\n<div class=\"plots\">\n<figure class=\"plot\">\n",
            html_num(shop, "users"), html_num(shop, "orders_per_user"));
    {
        struct svg_bars b1 = {"Lost updates", NULL, groups, ng, keys, 2, lost, 0, 0, 0};
        struct svg_bars b2 = {"Orders per second", NULL, groups, ng, keys, 2, rate, 0, 0, 0};
        svg_begin(f, 540, 220, "lost updates per isolation level");
        svg_plot_bars(f, 0, 0, 540, 220, &b1);
        svg_end(f);
        fputs("</figure>\n<figure class=\"plot\">\n", f);
        svg_begin(f, 540, 220, "orders per second per isolation level");
        svg_plot_bars(f, 0, 0, 540, 220, &b2);
        svg_end(f);
    }
    fputs("</figure>\n</div>\n</section>\n", f);
}

static void set_iso_plain(FILE *f, json_t *sum)
{
    json_t *a = json_object_get(sum, "plain_specs"), *p;
    size_t i;
    if (!json_array_size(a))
        return;
    fputs("<section id=\"plain\"><h2>Plain specs</h2>\n<table class=\"grid\"><tr><th>spec</th>"
          "<th>result</th><th>ms</th></tr>\n",
          f);
    json_array_foreach(a, i, p)
    {
        int ok = json_is_true(json_object_get(p, "passed"));
        fprintf(f, "<tr class=\"inv %s\"><td><code>", ok ? "passed" : "failed");
        html_esc(f, html_str(p, "file"));
        fprintf(f, "</code></td><td class=\"st\">%s</td><td>%.0f</td></tr>\n",
                ok                                            ? "passed"
                : json_is_true(json_object_get(p, "stopped")) ? "stopped"
                                                              : "differs",
                html_num(p, "ms"));
    }
    fputs("</table>\n</section>\n", f);
}

int html_iso_page(FILE *f, const char *dir, json_t *sum)
{
    int code = (int)json_integer_value(json_object_get(sum, "exit_code"));
    char verdict[256], server[256];

    html_begin(f, "wedge isolation", "isolation");
    fputs("<header><h1>wedge isolation</h1></header>\n", f);
    snprintf(verdict, sizeof(verdict), "%s: %.0f cells as expected, %.0f not (%.0f errors).",
             html_code_word(code), html_num(sum, "passed"), html_num(sum, "failed"),
             html_num(sum, "errors"));
    html_verdict(f, rep_verdict(code), verdict);
    snprintf(server, sizeof(server), "PostgreSQL %s (%s)", html_str(sum, "server_version"),
             json_is_true(json_object_get(sum, "embedded_pg")) ? "throwaway cluster" : "--dsn");
    fputs("<table class=\"kv\">\n", f);
    html_kv(f, "command", html_str(sum, "command"), 1);
    html_kv(f, "server", server, 0);
    fputs("</table>\n", f);
    if (json_array_size(json_object_get(sum, "specs")))
        set_iso_matrix(f, sum);
    set_iso_shop(f, sum);
    set_iso_plain(f, sum);
    fputs("<p class=\"files\">Files beside this page: report.md (with every cell's step log), "
          "summary.json, junit.xml, steps/.</p>\n",
          f);
    html_end(f);
    (void)dir;
    return 0;
}

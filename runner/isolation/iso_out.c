/*
 * iso_out.c - the anomaly matrix of `wedge isolation`: the table printed,
 * summary.json, report.md, junit.xml, the step logs and report.html
 * (drawn from summary.json).
 */
#include "hist.h"
#include "iso_int.h"
#include "iso_spec.h"
#include "report.h"
#include "timeunit.h"
#include "util.h"
#include "xmlw.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * The matrix: rows in the catalogue's order, printing and outputs.
 * ------------------------------------------------------------ */

/* The shop rows' expectations: the naive update loses orders only at read
 * committed, the atomic one never. */
const enum iso_outcome iso_shop_expect[SHOP_NSTRATEGIES][ISO_NLEVELS] = {
    {ISO_OCCURS, ISO_PREVENTED, ISO_PREVENTED},
    {ISO_PREVENTED, ISO_PREVENTED, ISO_PREVENTED},
};
static const char *const shop_row_name[SHOP_NSTRATEGIES] = {"shop naive stock (P4)",
                                                            "shop atomic stock"};

static int anomaly_rank(const char *a)
{
    static const char *const order[] = {"G0",  "G1a", "G1b",      "G1c",     "OTV",
                                        "PMP", "P4",  "G-single", "G2-item", "G2"};
    size_t i, best_len = 0;
    int best = 100;

    for (i = 0; i < sizeof order / sizeof order[0]; i++) {
        size_t n = strlen(order[i]);
        if (strncmp(a, order[i], n) == 0 && n > best_len) {
            best = (int)i;
            best_len = n;
        }
    }
    return best;
}

int iso_row_cmp(const void *a, const void *b)
{
    const struct iso_spec *x = &((const struct row *)a)->spec;
    const struct iso_spec *y = &((const struct row *)b)->spec;
    int rx = anomaly_rank(x->anomaly), ry = anomaly_rank(y->anomaly), c;

    if (rx != ry)
        return rx - ry;
    c = strcmp(x->anomaly, y->anomaly);
    return c ? c : strcmp(x->name, y->name);
}

static const char *cell_text(enum iso_outcome observed, enum iso_outcome expected, char *buf,
                             size_t len)
{
    snprintf(buf, len, "%s%s", iso_outcome_name(observed),
             observed != expected && observed != ISO_ERROR ? "*" : "");
    return buf;
}

/* Retries per committed order, and committed orders per second. */
static double shop_retry_rate(const struct shop_stats *s)
{
    return s->committed ? (double)(s->failures + s->deadlocks) / (double)s->committed : 0.0;
}

static double shop_throughput(const struct shop_stats *s)
{
    return s->elapsed_s > 0 ? (double)s->committed / s->elapsed_s : 0.0;
}

/* The matrix's rows: one per anomaly spec, one per shop strategy that ran;
 * 1 when a shop row was printed. */
static int print_rows(FILE *f, const struct matrix *m, const struct iso_opts *o)
{
    int width = (int)strlen(shop_row_name[SHOP_NAIVE]) + 2, i, l, k, any_shop = 0;
    char buf[32];

    for (i = 0; i < m->nrows; i++)
        if ((int)strlen(m->rows[i].spec.anomaly) + 2 > width)
            width = (int)strlen(m->rows[i].spec.anomaly) + 2;
    fprintf(f, "\n%-*s", width, "anomaly");
    for (l = 0; l < ISO_NLEVELS; l++)
        if (o->level[l])
            fprintf(f, " %-16s", iso_level_name((enum iso_level)l));
    fprintf(f, "\n");
    for (i = 0; i < m->nrows; i++) {
        const struct row *r = &m->rows[i];
        fprintf(f, "%-*s", width, r->spec.anomaly);
        for (l = 0; l < ISO_NLEVELS; l++)
            if (o->level[l])
                fprintf(f, " %-16s",
                        r->ran[l]
                            ? cell_text(r->cell[l].observed, r->spec.expect[l], buf, sizeof buf)
                            : "-");
        fprintf(f, "\n");
    }
    for (k = 0; k < SHOP_NSTRATEGIES; k++) {
        int ran = 0;
        for (l = 0; l < ISO_NLEVELS; l++)
            ran |= m->shop_ran[k][l];
        if (!ran)
            continue;
        any_shop = 1;
        fprintf(f, "%-*s", width, shop_row_name[k]);
        for (l = 0; l < ISO_NLEVELS; l++)
            if (o->level[l])
                fprintf(f, " %-16s",
                        m->shop_ran[k][l] ? cell_text(m->shop[k][l].observed, iso_shop_expect[k][l],
                                                      buf, sizeof buf)
                                          : "-");
        fprintf(f, "\n");
    }
    return any_shop;
}

/* A line for every cell that differs from its expectation. */
static void print_differences(FILE *f, const struct matrix *m)
{
    int i, l;

    for (i = 0; i < m->nrows; i++) {
        const struct row *r = &m->rows[i];
        for (l = 0; l < ISO_NLEVELS; l++) {
            if (!r->ran[l] || r->cell[l].observed == r->spec.expect[l])
                continue;
            if (r->cell[l].observed == ISO_ERROR)
                fprintf(f, "error: %s\n", r->cell[l].why);
            else
                fprintf(f, "* differs: %s at %s: expected %s, observed %s: %s\n", r->spec.path,
                        iso_level_name((enum iso_level)l), iso_outcome_name(r->spec.expect[l]),
                        iso_outcome_name(r->cell[l].observed), r->cell[l].why);
        }
    }
}

static void print_shop(FILE *f, const struct matrix *m, const struct iso_opts *o)
{
    int k, l;

    fprintf(f,
            "\nshop: %d sessions x %d orders on one SKU, retried on 40001/40P01; naive: SELECT "
            "stock, then UPDATE to the value read - 1; atomic: UPDATE stock = stock - 1\n",
            o->shop.users, o->shop.orders);
    fprintf(f, "%-8s%-17s%10s%6s%7s%7s%7s%10s%8s%8s\n", "stock", "level", "committed", "lost",
            "40001", "40P01", "retry", "orders/s", "p50 ms", "p99 ms");
    for (k = 0; k < SHOP_NSTRATEGIES; k++) {
        for (l = 0; l < ISO_NLEVELS; l++) {
            const struct shop_stats *s = &m->shop[k][l];
            if (!m->shop_ran[k][l])
                continue;
            fprintf(f, "%-8s%-17s%10ld%6ld%7ld%7ld%7.2f%10.0f%8.2f%8.2f\n",
                    iso_shop_strategy_name[k], iso_level_name((enum iso_level)l), s->committed,
                    s->lost, s->failures, s->deadlocks, shop_retry_rate(s), shop_throughput(s),
                    (double)s->p50_ns / (double)NS_PER_MS, (double)s->p99_ns / (double)NS_PER_MS);
            if (s->observed != iso_shop_expect[k][l])
                fprintf(
                    f, "%s shop %s stock at %s: expected %s, observed %s%s%s\n",
                    s->observed == ISO_ERROR ? "error:" : "* differs:", iso_shop_strategy_name[k],
                    iso_level_name((enum iso_level)l), iso_outcome_name(iso_shop_expect[k][l]),
                    iso_outcome_name(s->observed), s->error[0] ? ": " : "", s->error);
        }
    }
}

void iso_print_matrix(FILE *f, const struct matrix *m, const struct iso_opts *o)
{
    int any_shop = print_rows(f, m, o);

    print_differences(f, m);
    if (any_shop)
        print_shop(f, m, o);
}

static json_t *shop_json(const struct shop_stats *s, enum iso_outcome expect)
{
    return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
                     "s:f, s:f, s:f, s:f, s:s?}",
                     "expected", iso_outcome_name(expect), "observed",
                     iso_outcome_name(s->observed), "as_expected", s->observed == expect, "planned",
                     (json_int_t)s->planned, "committed", (json_int_t)s->committed, "attempts",
                     (json_int_t)s->attempts, "serialization_failures", (json_int_t)s->failures,
                     "deadlocks", (json_int_t)s->deadlocks, "gave_up", (json_int_t)s->gave_up,
                     "errors", (json_int_t)s->errors, "initial_stock", (json_int_t)s->initial,
                     "final_stock", (json_int_t)s->final, "lost_updates", (json_int_t)s->lost,
                     "elapsed_s", s->elapsed_s, "retry_rate", shop_retry_rate(s),
                     "throughput_per_s", shop_throughput(s), "latency_p50_ms",
                     (double)s->p50_ns / (double)NS_PER_MS, "latency_p99_ms",
                     (double)s->p99_ns / (double)NS_PER_MS, "error", s->error[0] ? s->error : NULL);
}

/* summary.json's plain_specs: name, file, passed, stopped, expected, ms. */
static json_t *plain_json(const struct matrix *m)
{
    json_t *a = json_array();
    int i;

    for (i = 0; i < m->nplain; i++) {
        const struct plain *p = &m->plain[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:b, s:s?, s:f}", "name", p->spec.name,
                                           "file", p->spec.path, "passed", p->passed, "stopped",
                                           p->status != 0, "expected", p->expected, "ms", p->ms));
    }
    return a;
}

static int write_summary(const char *path, const struct matrix *m, const struct iso_opts *o,
                         int exit_code)
{
    json_t *root = json_object(), *specs = json_array(), *levels = json_array();
    json_t *shop = json_object();
    int i, l, k, rc;

    for (l = 0; l < ISO_NLEVELS; l++)
        if (o->level[l])
            json_array_append_new(levels, json_string(iso_level_name((enum iso_level)l)));
    for (i = 0; i < m->nrows; i++) {
        const struct row *r = &m->rows[i];
        json_t *cells = json_object();
        for (l = 0; l < ISO_NLEVELS; l++) {
            if (!r->ran[l])
                continue;
            json_object_set_new(cells, iso_level_name((enum iso_level)l),
                                json_pack("{s:s, s:s, s:b, s:i, s:s, s:f}", "expected",
                                          iso_outcome_name(r->spec.expect[l]), "observed",
                                          iso_outcome_name(r->cell[l].observed), "as_expected",
                                          r->cell[l].observed == r->spec.expect[l], "aborted_steps",
                                          r->cell[l].aborts, "why",
                                          r->cell[l].why ? r->cell[l].why : "", "ms",
                                          r->cell[l].ms));
        }
        json_array_append_new(specs, json_pack("{s:s, s:s, s:s, s:s?, s:o}", "name", r->spec.name,
                                               "file", r->spec.path, "anomaly", r->spec.anomaly,
                                               "description", r->spec.description, "cells", cells));
    }
    json_object_set_new(shop, "users", json_integer(o->shop.users));
    json_object_set_new(shop, "orders_per_user", json_integer(o->shop.orders));
    json_object_set_new(shop, "think_ms", json_real((double)o->shop.think_ns / (double)NS_PER_MS));
    for (k = 0; k < SHOP_NSTRATEGIES; k++) {
        json_t *levels_k = json_object();
        for (l = 0; l < ISO_NLEVELS; l++)
            if (m->shop_ran[k][l])
                json_object_set_new(levels_k, iso_level_name((enum iso_level)l),
                                    shop_json(&m->shop[k][l], iso_shop_expect[k][l]));
        json_object_set_new(shop, iso_shop_strategy_name[k], levels_k);
    }
    json_object_set_new(root, "command", json_string(m->command));
    json_object_set_new(root, "server_version", json_string(m->server));
    json_object_set_new(root, "embedded_pg", json_boolean(m->embedded));
    json_object_set_new(root, "levels", levels);
    json_object_set_new(root, "specs", specs);
    json_object_set_new(root, "plain_specs", plain_json(m));
    json_object_set_new(root, "shop", shop);
    json_object_set_new(root, "passed", json_integer(m->passed));
    json_object_set_new(root, "failed", json_integer(m->failed));
    json_object_set_new(root, "errors", json_integer(m->errors));
    json_object_set_new(root, "elapsed_s", json_real(m->elapsed_s));
    json_object_set_new(root, "exit_code", json_integer(exit_code));
    rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return rc;
}

/* One markdown cell: the outcome, bold with the expectation when it differs. */
static void md_cell(FILE *f, int ran, enum iso_outcome observed, enum iso_outcome expected)
{
    if (!ran)
        fprintf(f, " - |");
    else if (observed == expected)
        fprintf(f, " %s |", iso_outcome_name(observed));
    else
        fprintf(f, " **%s** (expected %s) |", iso_outcome_name(observed),
                iso_outcome_name(expected));
}

static void report_matrix(FILE *f, const struct matrix *m, const struct iso_opts *o)
{
    int i, l, k;

    fprintf(f, "## The matrix\n\nEach cell: whether the anomaly occurred at that level. "
               "**Bold** marks a cell that differs from the spec's expectation.\n\n");
    fprintf(f, "| anomaly | spec |");
    for (l = 0; l < ISO_NLEVELS; l++)
        if (o->level[l])
            fprintf(f, " %s |", iso_level_name((enum iso_level)l));
    fprintf(f, "\n|---|---|");
    for (l = 0; l < ISO_NLEVELS; l++)
        if (o->level[l])
            fprintf(f, "---|");
    fprintf(f, "\n");
    for (i = 0; i < m->nrows; i++) {
        const struct row *r = &m->rows[i];
        fprintf(f, "| %s | %s.spec |", r->spec.anomaly, r->spec.name);
        for (l = 0; l < ISO_NLEVELS; l++)
            if (o->level[l])
                md_cell(f, r->ran[l], r->cell[l].observed, r->spec.expect[l]);
        fprintf(f, "\n");
    }
    for (k = 0; k < SHOP_NSTRATEGIES && o->shop.orders > 0; k++) {
        fprintf(f, "| %s | (workload) |", shop_row_name[k]);
        for (l = 0; l < ISO_NLEVELS; l++)
            if (o->level[l])
                md_cell(f, m->shop_ran[k][l], m->shop[k][l].observed, iso_shop_expect[k][l]);
        fprintf(f, "\n");
    }
}

static void report_shop(FILE *f, const struct matrix *m, const struct iso_opts *o)
{
    int l, k;

    fprintf(f, "\n## The shop's stock update under each level\n\n");
    fprintf(f,
            "%d sessions each place %d orders on one SKU. naive: `SELECT stock`, think %.1f ms, "
            "`UPDATE ... SET stock = <read - 1>`, `COMMIT`; atomic: think, `UPDATE ... SET stock "
            "= stock - 1 WHERE stock > 0`, `COMMIT`. Retried on 40001/40P01 (at most %d tries). "
            "Lost updates = committed orders - stock taken.\n\n",
            o->shop.users, o->shop.orders, (double)o->shop.think_ns / (double)NS_PER_MS,
            SHOP_MAX_TRIES);
    fprintf(f, "| stock | level | committed | lost updates | 40001 | 40P01 | retries per order | "
               "orders/s | p50 / p99 ms per order | outcome |\n"
               "|---|---|---|---|---|---|---|---|---|---|\n");
    for (k = 0; k < SHOP_NSTRATEGIES; k++) {
        for (l = 0; l < ISO_NLEVELS; l++) {
            const struct shop_stats *s = &m->shop[k][l];
            if (!m->shop_ran[k][l])
                continue;
            fprintf(f,
                    "| %s | %s | %ld / %ld | %ld | %ld | %ld | %.2f | %.0f | %.2f / %.2f | %s%s%s "
                    "|\n",
                    iso_shop_strategy_name[k], iso_level_name((enum iso_level)l), s->committed,
                    s->planned, s->lost, s->failures, s->deadlocks, shop_retry_rate(s),
                    shop_throughput(s), (double)s->p50_ns / (double)NS_PER_MS,
                    (double)s->p99_ns / (double)NS_PER_MS, iso_outcome_name(s->observed),
                    s->error[0] ? ": " : "", s->error);
        }
    }
}

static void report_logs(FILE *f, const struct matrix *m)
{
    int i, l;

    fprintf(f, "\n## Step logs\n");
    for (i = 0; i < m->nrows; i++) {
        const struct row *r = &m->rows[i];
        fprintf(f, "\n### %s: %s\n\n`%s`\n", r->spec.anomaly,
                r->spec.description ? r->spec.description : "", r->spec.path);
        for (l = 0; l < ISO_NLEVELS; l++) {
            if (!r->ran[l])
                continue;
            fprintf(f, "\n%s: **%s** (expected %s; %s)\n\n```\n%s```\n",
                    iso_level_name((enum iso_level)l), iso_outcome_name(r->cell[l].observed),
                    iso_outcome_name(r->spec.expect[l]), r->cell[l].why ? r->cell[l].why : "",
                    r->cell[l].log ? r->cell[l].log : "");
        }
    }
}

/* Plain specs: each one's verdict; their outputs are results/NAME.out. */
static void report_plain(FILE *f, const struct matrix *m, const struct iso_opts *o)
{
    int i;

    fprintf(f,
            "\n## Plain specs\n\nRun as PostgreSQL's isolation tester runs them; each "
            "output is `results/NAME.out`%s.\n\n| spec | result | ms |\n|---|---|---|\n",
            o->expected ? ", compared with the expected files" : "");
    for (i = 0; i < m->nplain; i++) {
        const struct plain *p = &m->plain[i];
        fprintf(f, "| `%s` | %s | %.0f |\n", p->spec.path,
                p->passed ? (o->expected ? "matches its expected file" : "ran to its end")
                          : (o->expected ? "**differs**" : "**stopped**"),
                p->ms);
    }
}

static int write_report(const char *path, const struct matrix *m, const struct iso_opts *o)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f, "# wedge isolation\n\n");
    fprintf(f, "Command: `%s`  \nServer: PostgreSQL %s (%s)  \nResult: %d passed, %d failed\n\n",
            m->command, m->server, m->embedded ? "embedded throwaway cluster" : "--dsn", m->passed,
            m->failed);
    if (m->nrows > 0) {
        report_matrix(f, m, o);
        report_shop(f, m, o);
        report_logs(f, m);
    }
    if (m->nplain > 0)
        report_plain(f, m, o);
    return fclose(f);
}

/* ---------------------------------------------------------------
 * junit.xml: one testcase per cell, so a CI shows which cell changed.
 * ------------------------------------------------------------ */

/* One testcase; body (the why and the step log) only when it differs. */
static void junit_case(FILE *f, const char *classname, const char *name, double ms,
                       enum iso_outcome observed, enum iso_outcome expected, const char *why,
                       const char *log)
{
    fputs("    <testcase classname=\"", f);
    xw_string(f, classname);
    fputs("\" name=\"", f);
    xw_string(f, name);
    fprintf(f, "\" time=\"%.3f\"", ms / 1000.0);
    if (observed == expected) {
        fputs("/>\n", f);
        return;
    }
    fprintf(f, ">\n      <%s message=\"expected %s, observed %s\" type=\"isolation\">",
            observed == ISO_ERROR ? "error" : "failure", iso_outcome_name(expected),
            iso_outcome_name(observed));
    xw_string(f, why);
    fputs("\n", f);
    xw_string(f, log);
    fprintf(f, "</%s>\n    </testcase>\n", observed == ISO_ERROR ? "error" : "failure");
}

/* A plain spec's testcase: a failure when it stopped or its output
 * matched no expected file (the body holds the output). */
static void junit_plain(FILE *f, const struct plain *p)
{
    fputs("    <testcase classname=\"wedge.isolation.plain\" name=\"", f);
    xw_string(f, p->spec.name);
    fprintf(f, "\" time=\"%.3f\"", p->ms / 1000.0);
    if (p->passed) {
        fputs("/>\n", f);
        return;
    }
    fprintf(f, ">\n      <failure message=\"%s\" type=\"isolation\">",
            p->status ? "the spec stopped before its end"
                      : "the output differs from the expected file");
    xw_string(f, p->out ? p->out : "");
    fputs("</failure>\n    </testcase>\n", f);
}

static int write_junit(const char *path, const struct matrix *m)
{
    FILE *f = fopen(path, "w");
    int i, l, k, errors = 0;

    if (!f)
        return -1;
    for (i = 0; i < m->nrows; i++)
        for (l = 0; l < ISO_NLEVELS; l++)
            errors += m->rows[i].ran[l] && m->rows[i].cell[l].observed == ISO_ERROR;
    for (k = 0; k < SHOP_NSTRATEGIES; k++)
        for (l = 0; l < ISO_NLEVELS; l++)
            errors += m->shop_ran[k][l] && m->shop[k][l].observed == ISO_ERROR;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
            "  <testsuite name=\"wedge.isolation\" tests=\"%d\" failures=\"%d\" "
            "errors=\"%d\" time=\"%.3f\">\n",
            m->passed + m->failed, m->failed - errors, errors, m->elapsed_s);
    for (i = 0; i < m->nrows; i++) {
        const struct row *r = &m->rows[i];
        char *classname = util_fmt("wedge.isolation.%s", r->spec.name);
        for (l = 0; l < ISO_NLEVELS; l++)
            if (r->ran[l])
                junit_case(f, classname, iso_level_name((enum iso_level)l), r->cell[l].ms,
                           r->cell[l].observed, r->spec.expect[l], r->cell[l].why, r->cell[l].log);
        free(classname);
    }
    for (k = 0; k < SHOP_NSTRATEGIES; k++) {
        char *classname = util_fmt("wedge.isolation.shop.%s", iso_shop_strategy_name[k]);
        for (l = 0; l < ISO_NLEVELS; l++) {
            const struct shop_stats *s = &m->shop[k][l];
            char *why;
            if (!m->shop_ran[k][l])
                continue;
            why = util_fmt("%ld of %ld orders committed, %ld lost updates, %ld serialization "
                           "failures, %ld deadlocks%s%s",
                           s->committed, s->planned, s->lost, s->failures, s->deadlocks,
                           s->error[0] ? "; " : "", s->error);
            junit_case(f, classname, iso_level_name((enum iso_level)l), s->elapsed_s * 1000.0,
                       s->observed, iso_shop_expect[k][l], why, "");
            free(why);
        }
        free(classname);
    }
    for (k = 0; k < m->nplain; k++)
        junit_plain(f, &m->plain[k]);
    fputs("  </testsuite>\n</testsuites>\n", f);
    return fclose(f);
}

/* steps/NAME.LEVEL.log: each cell's step log alone, deterministic for a
 * given server version, so it can be compared with an expected file as
 * PostgreSQL's isolation tester does. */
static int write_step_logs(const struct matrix *m, const char *out)
{
    char *dir = util_fmt("%s/steps", out);
    int i, l, rc = 0;

    if (util_mkdir_p(dir, 0755) < 0) {
        fprintf(stderr, "wedge: isolation: %s: %s\n", dir, strerror(errno));
        free(dir);
        return -1;
    }
    for (i = 0; i < m->nrows && rc == 0; i++) {
        for (l = 0; l < ISO_NLEVELS && rc == 0; l++) {
            const struct row *r = &m->rows[i];
            char *path;
            FILE *f;
            if (!r->ran[l])
                continue;
            path = util_fmt("%s/%s.%s.log", dir, r->spec.name, iso_level_name((enum iso_level)l));
            f = fopen(path, "w");
            if (f) {
                int bad = fputs(r->cell[l].log ? r->cell[l].log : "", f) < 0;
                if (fclose(f) != 0 || bad)
                    f = NULL;
            }
            if (!f) {
                fprintf(stderr, "wedge: isolation: cannot write %s: %s\n", path, strerror(errno));
                rc = -1;
            }
            free(path);
        }
    }
    free(dir);
    return rc;
}

int iso_write_outputs(const struct matrix *m, const struct iso_opts *o, int code)
{
    char *path, err[1024];
    int rc = 0;

    if (util_mkdir_p(o->out, 0755) < 0) {
        fprintf(stderr, "wedge: isolation: --out %s: %s\n", o->out, strerror(errno));
        return -1;
    }
    path = util_fmt("%s/summary.json", o->out);
    if (write_summary(path, m, o, code) < 0) {
        fprintf(stderr, "wedge: isolation: cannot write %s\n", path);
        rc = -1;
    }
    free(path);
    path = util_fmt("%s/report.md", o->out);
    if (write_report(path, m, o) != 0) {
        fprintf(stderr, "wedge: isolation: cannot write %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    free(path);
    path = util_fmt("%s/junit.xml", o->out);
    if (write_junit(path, m) != 0) {
        fprintf(stderr, "wedge: isolation: cannot write %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    free(path);
    if (write_step_logs(m, o->out) < 0)
        rc = -1;
    if (report_html_write(o->out, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: isolation: %s\n", err);
        rc = -1;
    }
    return rc;
}

/*
 * iso_suite.c - the plain specs of a run, one after the other, each as
 * PostgreSQL's isolation tester runs it; with --expected DIR each output is
 * compared with DIR/NAME.out or an alternative DIR/NAME_N.out (N = 1..9),
 * as pg_isolation_regress compares them, and the diff of a spec that
 * matches none is printed.
 */
#include "iso_int.h"
#include "timeunit.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 when the file at path holds exactly the n bytes of text. */
static int same_as_file(const char *path, const char *text, size_t n)
{
    size_t len = 0;
    char *want = util_read_file(path, &len);
    int same = want && len == n && memcmp(want, text, n) == 0;

    free(want);
    return same;
}

/* Which expected file p's output equals: p->expected is that one, or the
 * base NAME.out when none does (the one a diff is shown against). */
static int match_expected(struct plain *p, const char *dir)
{
    int n;

    for (n = 0; n <= 9; n++) {
        char *path = n ? util_fmt("%s/%s_%d.out", dir, p->spec.name, n)
                       : util_fmt("%s/%s.out", dir, p->spec.name);
        if (same_as_file(path, p->out ? p->out : "", p->outlen)) {
            free(p->expected);
            p->expected = path;
            return 1;
        }
        if (n == 0)
            p->expected = path;
        else
            free(path);
    }
    return 0;
}

static int write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "w");
    int bad;

    if (!f)
        return -1;
    bad = n && fwrite(text, 1, n, f) != n;
    return fclose(f) != 0 || bad ? -1 : 0;
}

/* The output as results/NAME.out under dir (made when missing); the path. */
static char *save_result(const struct plain *p, const char *dir)
{
    char *sub = util_fmt("%s/results", dir), *path = util_fmt("%s/%s.out", sub, p->spec.name);

    if (util_mkdir_p(sub, 0755) < 0 || write_file(path, p->out ? p->out : "", p->outlen) < 0) {
        fprintf(stderr, "wedge: isolation: cannot write %s: %s\n", path, strerror(errno));
        free(path);
        path = NULL;
    }
    free(sub);
    return path;
}

/* diff -u of the expected file and the output, on stdout. */
static void show_diff(const struct plain *p, const char *result)
{
    char *a = util_shell_word(p->expected), *b = util_shell_word(result);
    char *cmd = util_fmt("diff -u %s %s", a, b);

    printf("\n=== %s: the output differs from %s\n", p->spec.path, p->expected);
    fflush(stdout);
    if (access(p->expected, R_OK) != 0)
        printf("(cannot read %s: %s)\n", p->expected, strerror(errno));
    else if (system(cmd) == -1)
        printf("(cannot run diff)\n");
    fflush(stdout);
    free(cmd);
    free(b);
    free(a);
}

/* Each failed spec's diff, its output saved under out (or a scratch dir). */
static void show_diffs(const struct matrix *m, const struct iso_opts *o)
{
    char scratch[] = "/tmp/wedge-iso-XXXXXX";
    const char *dir = o->out;
    int i;

    if (!dir && !(dir = mkdtemp(scratch))) {
        fprintf(stderr, "wedge: isolation: mkdtemp: %s\n", strerror(errno));
        return;
    }
    for (i = 0; i < m->nplain; i++) {
        const struct plain *p = &m->plain[i];
        char *result;
        if (p->passed || !(result = save_result(p, dir)))
            continue;
        show_diff(p, result);
        free(result);
    }
    if (!o->out)
        util_rm_rf(scratch);
}

/* Run plain spec p; 0, or WEDGE_INCONCLUSIVE when the server is unavailable. */
static int run_one(struct plain *p, const struct iso_opts *o, const char *dsn)
{
    struct iso_plain_opts po = {.dsn = dsn, .timeout_ns = o->timeout_ns};
    char err[1024], *app = util_fmt("isolation/%s", p->spec.name);
    uint64_t t0 = util_now_ns();

    po.appname = app;
    po.fmt = o->fmt == ISO_FMT_DEFAULT ? ISO_FMT_PG : o->fmt;
    p->status = iso_run_plain(&p->spec, &po, &p->out, &p->outlen, err, sizeof err);
    p->ms = (double)(util_now_ns() - t0) / (double)NS_PER_MS;
    free(app);
    if (p->status == WEDGE_INCONCLUSIVE || util_stop) {
        fprintf(stderr, "wedge: isolation: %s: %s\n", p->spec.path,
                util_stop ? "interrupted" : err);
        return WEDGE_INCONCLUSIVE;
    }
    if (p->status != 0)
        fprintf(stderr, "wedge: isolation: %s: stopped: %s\n", p->spec.path, err);
    if (o->verbose)
        fprintf(stderr, "== %s\n%.*s", p->spec.path, (int)p->outlen, p->out ? p->out : "");
    return 0;
}

int iso_run_plains(struct matrix *m, const struct iso_opts *o, const char *dsn)
{
    int i, failed = 0;

    for (i = 0; i < m->nplain; i++) {
        struct plain *p = &m->plain[i];
        if (run_one(p, o, dsn) != 0)
            return WEDGE_INCONCLUSIVE;
        if (o->expected) {
            p->passed = match_expected(p, o->expected);
            printf("%-6s %-44s %8.0f ms\n", p->passed ? "ok" : "FAILED", p->spec.name, p->ms);
        } else {
            p->passed = p->status == 0;
            fwrite(p->out ? p->out : "", 1, p->outlen, stdout);
        }
        fflush(stdout);
        if (o->out) {
            char *path = save_result(p, o->out);
            free(path);
        }
        failed += !p->passed;
        m->passed += p->passed;
        m->failed += !p->passed;
    }
    if (o->expected && failed)
        show_diffs(m, o);
    return 0;
}

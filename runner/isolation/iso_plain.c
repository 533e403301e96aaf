/*
 * iso_plain.c - a plain spec (one without wedge's anomaly and expect lines)
 * run as PostgreSQL's isolation tester runs it: one connection per session
 * for the whole spec, kept across permutations; the isolation level is the
 * spec's business; a step's error is printed and the permutation goes on;
 * setup and teardown rows are printed; what makes the tester give up
 * (a failing setup, a step timing out, mutually blocking steps) ends the
 * spec with the tester's message in its output.
 */
#include "iso_run.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tester warns of steps no permutation uses, in name order. */
static void log_unused(struct run *r)
{
    const struct iso_spec *sp = r->spec;
    const char **unused;
    int i, j, k, n = 0;

    if (sp->nperms == 0 || !(unused = calloc((size_t)sp->nsteps, sizeof *unused)))
        return;
    for (i = 0; i < sp->nsteps; i++) {
        int used = 0;
        for (j = 0; j < sp->nperms && !used; j++)
            for (k = 0; k < sp->perms[j].nsteps && !used; k++)
                used = sp->perms[j].steps[k].step == i;
        if (!used)
            unused[n++] = sp->steps[i].name;
    }
    qsort(unused, (size_t)n, sizeof *unused, by_name);
    for (i = 0; i < n; i++)
        fprintf(r->log, "unused step name: %s\n", unused[i]);
    free(unused);
}

/* A setup or teardown block on c: rows printed; -1 when it failed, with
 * the tester's message ("WHAT failed: server message") logged. */
static int run_block(struct run *r, PGconn *c, const char *sql, const char *what)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st == PGRES_TUPLES_OK) {
        log_rows(r, res);
    } else if (st != PGRES_COMMAND_OK) {
        fprintf(r->log, "%s failed: %s", what, PQerrorMessage(c));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Setups, steps, teardowns of one permutation; -1 when the spec must stop. */
static int plain_perm(void *arg, const struct iso_pstep *steps, int n)
{
    struct run *r = arg;
    const struct iso_spec *sp = r->spec;
    char *what;
    int i, rc;

    r->perm = steps;
    r->nperm = n;
    log_perm_start(r);
    for (i = 0; i < sp->nsetup; i++)
        if (run_block(r, r->ctl, sp->setup[i], "setup") < 0)
            return run_fail(r, WEDGE_USAGE, "%s:%d: setup failed", sp->path, sp->setup_line[i]);
    for (i = 0; i < sp->nsessions; i++) {
        if (!sp->sessions[i].setup)
            continue;
        what = util_fmt("setup of session %s", sp->sessions[i].name);
        rc = run_block(r, r->sess[i].conn, sp->sessions[i].setup, what);
        free(what);
        if (rc < 0)
            return run_fail(r, WEDGE_USAGE, "%s:%d: setup of session %s failed", sp->path,
                            sp->sessions[i].line, sp->sessions[i].name);
    }
    if (iso_drive_steps(r) < 0)
        return -1;
    /* A failing teardown is reported and the spec goes on, as the tester's. */
    for (i = 0; i < sp->nsessions; i++) {
        if (!sp->sessions[i].teardown)
            continue;
        what = util_fmt("teardown of session %s", sp->sessions[i].name);
        run_block(r, r->sess[i].conn, sp->sessions[i].teardown, what);
        free(what);
    }
    if (sp->teardown)
        run_block(r, r->ctl, sp->teardown, "teardown");
    if (r->fmt != ISO_FMT_PG)
        fputc('\n', r->log); /* wedge's format ends a permutation with a blank line */
    return 0;
}

/* The control connection and one per session, named as the tester names
 * them (application_name APPNAME/SESSION). */
static int plain_connect(struct run *r)
{
    char err[512], *app = util_fmt("%s/control connection", r->appname);
    int s;

    r->ctl = iso_db_connect_app(r->dsn, app, err, sizeof err);
    free(app);
    if (!r->ctl) {
        fprintf(r->log, "Connection 0 failed: %s\n", err);
        return run_fail(r, WEDGE_INCONCLUSIVE, "%s", err);
    }
    for (s = 0; s < r->spec->nsessions; s++) {
        if (iso_sess_open(r, s) < 0) {
            fprintf(r->log, "Connection %d failed: %s\n", s + 1, r->err);
            return -1;
        }
    }
    return 0;
}

int iso_run_plain(const struct iso_spec *sp, const struct iso_plain_opts *o, char **out,
                  size_t *outlen, char *err, size_t errlen)
{
    struct run r = {.spec = sp, .dsn = o->dsn, .appname = o->appname, .fmt = o->fmt};
    int i;

    *out = NULL;
    *outlen = 0;
    r.cancel_ns = o->timeout_ns;
    r.die_ns = 2 * o->timeout_ns;
    r.sess = calloc((size_t)sp->nsessions, sizeof *r.sess);
    r.res = calloc((size_t)sp->nsteps, sizeof *r.res);
    r.log = open_memstream(out, outlen);
    if (!r.sess || !r.res || !r.log) {
        run_fail(&r, WEDGE_INCONCLUSIVE, "out of memory");
        goto out;
    }
    log_unused(&r);
    fprintf(r.log, "Parsed test spec with %d sessions\n", sp->nsessions);
    if (plain_connect(&r) < 0)
        goto out;
    for (i = 0; i < sp->nperms && !r.fatal; i++)
        plain_perm(&r, sp->perms[i].steps, sp->perms[i].nsteps);
    if (sp->nperms == 0 && iso_spec_each_perm(sp, plain_perm, &r) < 0 && !r.fatal)
        run_fail(&r, WEDGE_INCONCLUSIVE, "out of memory");
out:
    if (r.log)
        fclose(r.log);
    for (i = 0; r.sess && i < sp->nsessions; i++)
        PQfinish(r.sess[i].conn);
    PQfinish(r.ctl);
    for (i = 0; r.res && i < sp->nsteps; i++)
        step_res_clear(&r.res[i]);
    free(r.res);
    free(r.sess);
    snprintf(err, errlen, "%s", r.err);
    iso_one_line(err);
    return r.fatal;
}

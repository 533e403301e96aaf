/*
 * iso_cell.c - one cell of the anomaly matrix: an anomaly spec at one
 * level.  Each permutation gets fresh sessions at that level (SET SESSION
 * CHARACTERISTICS), its steps are driven by iso_driver.c, the sessions are
 * closed (rolling back what was left open) and the spec's check judges
 * what committed; a serialization failure or deadlock means "prevented".
 */
#include "iso_run.h"
#include "timeunit.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a step may run or wait before the cell fails. */
#define ISO_CELL_STEP_TIMEOUT_NS (10 * NS_PER_S)

/* The check with ${...} replaced by literals; malloc'd, NULL on OOM. */
static char *check_sql(struct run *r)
{
    const struct iso_spec *sp = r->spec;
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    const char *p;

    if (!m)
        return NULL;
    for (p = sp->check; *p; p++) {
        int step;
        enum iso_ref field;
        size_t n;
        const struct step_res *sr;
        if (p[0] != '$' || p[1] != '{' || iso_spec_ref(sp, p, &step, &field, &n) < 0) {
            fputc(*p, m);
            continue;
        }
        sr = &r->res[step];
        if (field == ISO_REF_ROWS && sr->ran && sr->rows >= 0) {
            fprintf(m, "%ld", sr->rows);
        } else if (field == ISO_REF_SQLSTATE && sr->sqlstate[0]) {
            fprintf(m, "'%s'", sr->sqlstate);
        } else if (field == ISO_REF_VALUE && sr->value) {
            char *lit = PQescapeLiteral(r->ctl, sr->value, strlen(sr->value));
            fputs(lit ? lit : "NULL", m);
            PQfreemem(lit);
        } else {
            fputs("NULL", m);
        }
        p += n - 1;
    }
    fclose(m);
    return out;
}

/* Run the check: 1 occurred, 0 not, -1 error (r->fatal). */
static int run_check(struct run *r)
{
    char *sql = check_sql(r);
    PGresult *res = NULL;
    int rc = -1;

    if (!sql)
        return run_fail(r, WEDGE_INCONCLUSIVE, "out of memory");
    fprintf(r->log, "check: ");
    log_sql(r->log, sql);
    fprintf(r->log, "\n");
    res = PQexec(r->ctl, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        run_fail(r, iso_conn_lost(r->ctl) ? WEDGE_INCONCLUSIVE : WEDGE_USAGE,
                 "%s:%d: check failed: %s", r->spec->path, r->spec->check_line,
                 PQerrorMessage(r->ctl));
        goto out;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0) ||
        (strcmp(PQgetvalue(res, 0, 0), "t") && strcmp(PQgetvalue(res, 0, 0), "f"))) {
        run_fail(r, WEDGE_USAGE,
                 "%s:%d: check returned %d row(s) of %d column(s)%s: expected one boolean "
                 "(true: the anomaly occurred)",
                 r->spec->path, r->spec->check_line, PQntuples(res), PQnfields(res),
                 PQntuples(res) == 1 && PQnfields(res) == 1 && PQgetisnull(res, 0, 0) ? ", NULL"
                                                                                      : "");
        goto out;
    }
    rc = PQgetvalue(res, 0, 0)[0] == 't';
    fprintf(r->log, "  %s\n", rc ? "true: occurred" : "false: prevented");
out:
    PQclear(res);
    free(sql);
    return rc;
}

static void close_sessions(struct run *r)
{
    int s;

    for (s = 0; s < r->spec->nsessions; s++) {
        PQfinish(r->sess[s].conn);
        r->sess[s].conn = NULL;
    }
}

/* A session setup that picks its own level (BEGIN ISOLATION LEVEL ...)
 * would put a false cell in the matrix.  SHOW takes no snapshot, so asking
 * does not move the start of a repeatable-read transaction. */
static int check_level(struct run *r, int s)
{
    static const char *const shown[ISO_NLEVELS] = {"read committed", "repeatable read",
                                                   "serializable"};
    const struct iso_session *se = &r->spec->sessions[s];
    PGconn *c = r->sess[s].conn;
    PGresult *res = PQexec(c, "SHOW transaction_isolation");
    int rc = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = run_fail(r, iso_conn_lost(c) ? WEDGE_INCONCLUSIVE : WEDGE_USAGE,
                      "%s:%d: session %s: SHOW transaction_isolation failed: %s", r->spec->path,
                      se->line, se->name, PQerrorMessage(c));
    else if (strcmp(PQgetvalue(res, 0, 0), shown[r->level]) != 0)
        rc = run_fail(r, WEDGE_USAGE,
                      "%s:%d: session %s runs at %s, not %s: its setup must not choose an "
                      "isolation level (wedge isolation sets each level itself)",
                      r->spec->path, se->line, se->name, PQgetvalue(res, 0, 0), shown[r->level]);
    PQclear(res);
    return rc;
}

/* Open the sessions at r->level and run their setups. */
static int open_sessions(struct run *r)
{
    const struct iso_spec *sp = r->spec;
    char err[512], sql[128];
    int s;

    snprintf(sql, sizeof sql, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL %s",
             iso_level_sql(r->level));
    for (s = 0; s < sp->nsessions; s++) {
        if (iso_sess_open(r, s) < 0)
            return -1;
        if (iso_db_exec(r->sess[s].conn, sql, err, sizeof err) < 0)
            return run_fail(r, WEDGE_INCONCLUSIVE, "session %s: %s", sp->sessions[s].name, err);
    }
    for (s = 0; s < sp->nsessions; s++) {
        if (sp->sessions[s].setup &&
            iso_db_exec(r->sess[s].conn, sp->sessions[s].setup, err, sizeof err))
            return run_fail(r, WEDGE_USAGE, "%s:%d: setup of session %s failed: %s", sp->path,
                            sp->sessions[s].line, sp->sessions[s].name, err);
        if (check_level(r, s) < 0)
            return -1;
    }
    return 0;
}

/* The verdict of a permutation whose steps all ran: prevented when the
 * server aborted a transaction, else what the check says. */
static enum iso_outcome verdict(struct run *r)
{
    const struct iso_spec *sp = r->spec;
    int i, c;

    for (i = 0; i < sp->nsteps; i++) {
        const char *st = r->res[i].sqlstate;
        if (st[0] && strcmp(st, "40001") && strcmp(st, "40P01") && strcmp(st, "25P02")) {
            run_fail(r, WEDGE_USAGE, "%s:%d: step %s failed at %s with %s: %s", sp->path,
                     sp->steps[i].line, sp->steps[i].name, iso_level_name(r->level),
                     r->res[i].sqlstate, r->res[i].errmsg);
            return ISO_ERROR;
        }
    }
    if (r->aborts > 0) {
        /* The server aborted a transaction rather than let the schedule
         * through: prevented, whatever the data shows. */
        fprintf(r->log, "the server aborted a transaction (40001/40P01): prevented\n");
        return ISO_PREVENTED;
    }
    if (!sp->check) {
        fprintf(r->log, "no serialization failure and no check: occurred\n");
        return ISO_OCCURS;
    }
    c = run_check(r);
    return c < 0 ? ISO_ERROR : c ? ISO_OCCURS : ISO_PREVENTED;
}

/* Setup, sessions, steps, session teardowns; 0 or -1 with r->fatal
 * (*setup_ok says whether the global teardown is due). */
static int run_steps(struct run *r)
{
    const struct iso_spec *sp = r->spec;
    char err[512];
    int i, s;

    for (i = 0; i < sp->nsetup; i++)
        if (iso_db_exec(r->ctl, sp->setup[i], err, sizeof err) < 0)
            return run_fail(r, iso_conn_lost(r->ctl) ? WEDGE_INCONCLUSIVE : WEDGE_USAGE,
                            "%s:%d: setup failed: %s", sp->path, sp->setup_line[i], err);
    if (open_sessions(r) < 0 || iso_drive_steps(r) < 0)
        return -1;
    for (s = 0; s < sp->nsessions; s++)
        if (sp->sessions[s].teardown &&
            iso_db_exec(r->sess[s].conn, sp->sessions[s].teardown, err, sizeof err) < 0)
            return run_fail(r, WEDGE_USAGE, "%s:%d: teardown of session %s failed: %s", sp->path,
                            sp->sessions[s].line, sp->sessions[s].name, err);
    return 0;
}

/*
 * Run one permutation: setup, sessions, steps, check, teardown.  Returns
 * the outcome, or ISO_ERROR with r->fatal set.
 */
static enum iso_outcome run_permutation(struct run *r, const struct iso_pstep *steps, int n)
{
    const struct iso_spec *sp = r->spec;
    enum iso_outcome out = ISO_ERROR;
    char err[512];
    int i;

    for (i = 0; i < sp->nsteps; i++)
        step_res_clear(&r->res[i]);
    r->aborts = 0;
    r->perm = steps;
    r->nperm = n;
    log_perm_start(r);
    if (run_steps(r) == 0) {
        /* Closing the sessions rolls back whatever a spec left open, so
         * the check sees only what committed. */
        close_sessions(r);
        out = verdict(r);
    }
    close_sessions(r);
    if (sp->teardown && iso_db_exec(r->ctl, sp->teardown, err, sizeof err) < 0) {
        run_fail(r, iso_conn_lost(r->ctl) ? WEDGE_INCONCLUSIVE : WEDGE_USAGE,
                 "%s:%d: teardown failed: %s", sp->path, sp->teardown_line, err);
        out = ISO_ERROR;
    }
    fprintf(r->log, "\n");
    return r->fatal ? ISO_ERROR : out;
}

struct cell_walk {
    struct run *r;
    int occurred;
    int aborts;
};

static int cell_perm(void *arg, const struct iso_pstep *steps, int n)
{
    struct cell_walk *w = arg;

    w->occurred += run_permutation(w->r, steps, n) == ISO_OCCURS;
    w->aborts += w->r->aborts;
    return w->r->fatal ? -1 : 0;
}

static const char *cell_why(const struct run *r, const struct cell_walk *w)
{
    if (r->fatal)
        return r->err;
    if (w->occurred)
        return r->spec->check ? "the check found the anomaly"
                              : "no check, and no transaction was aborted";
    return w->aborts ? "the server aborted a transaction (40001/40P01)"
                     : "the check found no anomaly";
}

/* Run every permutation of spec at level into c.  The anomaly occurred if it
 * occurred in any permutation.  Returns r.fatal (0 when the cell ran). */
int iso_run_cell(const struct iso_spec *sp, enum iso_level level, const struct iso_cell_opts *o,
                 struct cell *c, char *err, size_t errlen)
{
    struct run r = {.spec = sp, .level = level, .dsn = o->dsn, .anomaly = 1, .fmt = o->fmt};
    struct cell_walk w = {.r = &r};
    size_t loglen = 0;
    uint64_t t0 = util_now_ns();
    int i;

    memset(c, 0, sizeof *c);
    r.cancel_ns = r.die_ns = ISO_CELL_STEP_TIMEOUT_NS;
    r.appname = o->appname;
    r.sess = calloc((size_t)sp->nsessions, sizeof *r.sess);
    r.res = calloc((size_t)sp->nsteps, sizeof *r.res);
    r.log = open_memstream(&c->log, &loglen);
    if (!r.sess || !r.res || !r.log) {
        run_fail(&r, WEDGE_INCONCLUSIVE, "out of memory");
        goto out;
    }
    r.ctl = iso_db_connect(o->dsn, r.err, sizeof r.err);
    if (!r.ctl) {
        r.fatal = WEDGE_INCONCLUSIVE;
        goto out;
    }
    /* A teardown must not wait forever behind a session's lock. */
    iso_db_exec(r.ctl, "SET lock_timeout = '10s'", err, errlen);
    for (i = 0; i < sp->nperms && !r.fatal; i++)
        cell_perm(&w, sp->perms[i].steps, sp->perms[i].nsteps);
    if (sp->nperms == 0 && iso_spec_each_perm(sp, cell_perm, &w) < 0 && !r.fatal)
        run_fail(&r, WEDGE_INCONCLUSIVE, "out of memory");
    c->aborts = w.aborts;
    c->observed = r.fatal ? ISO_ERROR : w.occurred ? ISO_OCCURS : ISO_PREVENTED;
out:
    c->why = util_fmt("%s", cell_why(&r, &w));
    iso_one_line(c->why);
    c->observed = r.fatal ? ISO_ERROR : c->observed;
    if (r.log)
        fclose(r.log);
    if (r.sess)
        close_sessions(&r);
    PQfinish(r.ctl);
    for (i = 0; r.res && i < sp->nsteps; i++)
        step_res_clear(&r.res[i]);
    free(r.res);
    free(r.sess);
    c->ms = (double)(util_now_ns() - t0) / (double)NS_PER_MS;
    snprintf(err, errlen, "%s", r.err);
    return r.fatal;
}

/*
 * iso_driver.c - the step-wise driver of `wedge isolation`: one libpq
 * session per spec session and a control connection; each permutation's
 * steps sent in order, a step that waits on a lock detected and passed
 * over, results logged and checked (see iso.c).
 */
#include "hist.h"
#include "iso_int.h"
#include "iso_spec.h"
#include "util.h"

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

/* How long a step may run or wait before the permutation fails. */
#define ISO_STEP_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)
/* Poll interval while a step has no result yet. */
#define ISO_POLL_MS 2

/* ---------------------------------------------------------------
 * Results of one cell (a spec at one level).
 * ------------------------------------------------------------ */

struct step_res {
    int ran;
    char sqlstate[6]; /* "" when the step succeeded */
    char *errmsg;
    char *value; /* first field of the first row, or the command tag; NULL */
    long rows;   /* rows returned or affected; -1 unknown */
};

/* A fatal condition aborts the whole command with this exit code. */
struct run {
    const struct iso_spec *spec;
    enum iso_level level;
    const char *dsn;
    PGconn *ctl;
    PGconn **conn; /* per session */
    int *pid;
    int *waiting; /* per session: blocked step, or -1 */
    struct step_res *res;
    FILE *log;
    int aborts;
    int fatal; /* 0, ISO_EXIT_USAGE (the spec is at fault) or ISO_EXIT_NODB */
    char err[1024];
};

static int run_fail(struct run *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int run_fail(struct run *r, int code, const char *fmt, ...)
{
    va_list ap;

    if (r->fatal)
        return -1; /* keep the first cause */
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->fatal = code;
    return -1;
}

static void step_res_clear(struct step_res *s)
{
    free(s->errmsg);
    free(s->value);
    memset(s, 0, sizeof *s);
    s->rows = -1;
}

/* One line of SQL for the log: whitespace runs become one space. */
static void log_sql(FILE *f, const char *sql)
{
    int space = 0;

    for (; *sql; sql++) {
        if (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '\r') {
            space = 1;
            continue;
        }
        if (space)
            fputc(' ', f);
        space = 0;
        fputc(*sql, f);
    }
}

/* Server messages span lines ("...failed: Connection refused\n\tIs the
 * server running"): one line for a wedge: message. */
char *iso_one_line(char *s)
{
    char *p;
    size_t n;

    if (!s)
        return s;
    for (p = s; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* ---------------------------------------------------------------
 * Connections.
 * ------------------------------------------------------------ */

/* Server notices ("there is no transaction in progress") are not results. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *iso_db_connect(const char *dsn, char *err, size_t errlen)
{
    /* Defaults first: the DSN, expanded last, overrides them. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", "wedge isolation", dsn, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);

    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect: %s", c ? PQerrorMessage(c) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    return c;
}

/* Run sql; 0 when it succeeded.  On failure err gets the server message. */
int iso_db_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(err, errlen, "%s%s%s", state ? state : "", state ? ": " : "", PQerrorMessage(c));
        err[strcspn(err, "\n")] = '\0';
        rc = -1;
    }
    PQclear(res);
    return rc;
}

int iso_conn_lost(PGconn *c)
{
    return PQstatus(c) != CONNECTION_OK;
}

/* ---------------------------------------------------------------
 * Steps: send, wait (detecting a lock wait), collect.
 * ------------------------------------------------------------ */

/* 1 if session s waits on a lock held by another session of the spec. */
static int is_blocked(struct run *r, int s)
{
    char pid[16], others[512];
    const char *params[2] = {pid, others};
    PGresult *res;
    size_t n = 0;
    int i, rc = -1;

    snprintf(pid, sizeof pid, "%d", r->pid[s]);
    n += (size_t)snprintf(others, sizeof others, "{");
    for (i = 0; i < r->spec->nsessions && n < sizeof others; i++)
        if (i != s)
            n += (size_t)snprintf(others + n, sizeof others - n, "%s%d", n > 1 ? "," : "",
                                  r->pid[i]);
    if (n < sizeof others)
        snprintf(others + n, sizeof others - n, "}");
    res = PQexecParams(r->ctl, "SELECT pg_catalog.pg_isolation_test_session_is_blocked($1, $2)", 2,
                       NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        rc = PQgetvalue(res, 0, 0)[0] == 't';
    else
        run_fail(r, iso_conn_lost(r->ctl) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
                 "lock-wait check failed: %s", PQerrorMessage(r->ctl));
    PQclear(res);
    return rc;
}

/*
 * Wait for session s's pending statement.  0 when its result is ready, 1
 * when it is blocked on a lock (only when may_block), -1 on a timeout or a
 * lost connection (r->fatal set).
 */
static int await_step(struct run *r, int s, int may_block, int step)
{
    const char *name = r->spec->steps[step].name;
    PGconn *c = r->conn[s];
    uint64_t deadline = util_now_ns() + ISO_STEP_TIMEOUT_NS;

    for (;;) {
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        if (!PQconsumeInput(c))
            return run_fail(r, ISO_EXIT_NODB, "step %s: connection lost: %s", name,
                            PQerrorMessage(c));
        if (!PQisBusy(c))
            return 0;
        if (poll(&pfd, 1, ISO_POLL_MS) > 0)
            continue;
        if (may_block) {
            int b = is_blocked(r, s);
            if (b < 0)
                return -1;
            if (b == 1)
                return 1;
        }
        if (util_stop)
            return run_fail(r, ISO_EXIT_NODB, "interrupted");
        if (util_now_ns() > deadline) {
            PGcancel *cancel = PQgetCancel(c);
            char buf[256];
            if (cancel) {
                PQcancel(cancel, buf, sizeof buf);
                PQfreeCancel(cancel);
            }
            return run_fail(r, ISO_EXIT_USAGE,
                            "%s:%d: step %s %s for 10 s at %s: the permutation cannot proceed",
                            r->spec->path, r->spec->steps[step].line, name,
                            may_block ? "ran" : "stayed blocked", iso_level_name(r->level));
        }
    }
}

/* Read every result of step's statement(s) into r->res and the log. */
static void collect(struct run *r, int s, int step)
{
    struct step_res *out = &r->res[step];
    PGresult *res;
    FILE *f = r->log;

    step_res_clear(out);
    out->ran = 1;
    while ((res = PQgetResult(r->conn[s])) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK) {
            int nt = PQntuples(res), nf = PQnfields(res), i, j;
            free(out->value);
            out->value =
                nt > 0 && nf > 0 && !PQgetisnull(res, 0, 0) ? strdup(PQgetvalue(res, 0, 0)) : NULL;
            out->rows = nt;
            if (nt == 0)
                fprintf(f, "  (no rows)\n");
            for (i = 0; i < nt; i++) {
                fprintf(f, " ");
                for (j = 0; j < nf; j++)
                    fprintf(f, " %s=%s", PQfname(res, j),
                            PQgetisnull(res, i, j) ? "NULL" : PQgetvalue(res, i, j));
                fprintf(f, "\n");
            }
        } else if (st == PGRES_COMMAND_OK) {
            const char *tuples = PQcmdTuples(res);
            free(out->value);
            out->value = strdup(PQcmdStatus(res));
            out->rows = tuples[0] ? atol(tuples) : -1;
            fprintf(f, "  %s\n", PQcmdStatus(res));
        } else if (!out->sqlstate[0]) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            snprintf(out->sqlstate, sizeof out->sqlstate, "%s", state ? state : "?????");
            out->errmsg = strdup(msg ? msg : PQresultErrorMessage(res));
            free(out->value);
            out->value = NULL;
            out->rows = -1;
            fprintf(f, "  ERROR %s: %s\n", out->sqlstate, out->errmsg ? out->errmsg : "");
            if (!strcmp(out->sqlstate, "40001") || !strcmp(out->sqlstate, "40P01"))
                r->aborts++;
            if (!state && iso_conn_lost(r->conn[s]))
                run_fail(r, ISO_EXIT_NODB, "step %s: connection lost: %s",
                         r->spec->steps[step].name, out->errmsg ? out->errmsg : "");
        }
        PQclear(res);
    }
}

/* Collect every waiting step that has completed; repeat while one does,
 * since a completion can release another. */
static int settle_waiting(struct run *r)
{
    int changed = 1, s;

    while (changed) {
        changed = 0;
        for (s = 0; s < r->spec->nsessions; s++) {
            int step = r->waiting[s], rc;
            if (step < 0)
                continue;
            rc = await_step(r, s, 1, step);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                fprintf(r->log, "step %s: <... completed>\n", r->spec->steps[step].name);
                collect(r, s, step);
                r->waiting[s] = -1;
                changed = 1;
            }
        }
    }
    return 0;
}

/* Finish session s's blocked step, however long it takes (bounded). */
static int finish_waiting(struct run *r, int s)
{
    int step = r->waiting[s];

    if (step < 0)
        return 0;
    if (await_step(r, s, 0, step) < 0)
        return -1;
    fprintf(r->log, "step %s: <... completed>\n", r->spec->steps[step].name);
    collect(r, s, step);
    r->waiting[s] = -1;
    return settle_waiting(r);
}

static int run_step(struct run *r, int step)
{
    const struct iso_step *st = &r->spec->steps[step];
    int s = st->session, rc;

    if (finish_waiting(r, s) < 0)
        return -1;
    fprintf(r->log, "step %s: ", st->name);
    log_sql(r->log, st->sql);
    if (!PQsendQuery(r->conn[s], st->sql))
        return run_fail(r, ISO_EXIT_NODB, "step %s: %s", st->name, PQerrorMessage(r->conn[s]));
    rc = await_step(r, s, 1, step);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        fprintf(r->log, " <waiting ...>\n");
        r->waiting[s] = step;
    } else {
        fprintf(r->log, "\n");
        collect(r, s, step);
    }
    return settle_waiting(r);
}

/* ---------------------------------------------------------------
 * One permutation and its verdict.
 * ------------------------------------------------------------ */

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
        return run_fail(r, ISO_EXIT_NODB, "out of memory");
    fprintf(r->log, "check: ");
    log_sql(r->log, sql);
    fprintf(r->log, "\n");
    res = PQexec(r->ctl, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        run_fail(r, iso_conn_lost(r->ctl) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
                 "%s:%d: check failed: %s", r->spec->path, r->spec->check_line,
                 PQerrorMessage(r->ctl));
        goto out;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0) ||
        (strcmp(PQgetvalue(res, 0, 0), "t") && strcmp(PQgetvalue(res, 0, 0), "f"))) {
        run_fail(r, ISO_EXIT_USAGE,
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
        PQfinish(r->conn[s]);
        r->conn[s] = NULL;
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
    PGresult *res = PQexec(r->conn[s], "SHOW transaction_isolation");
    int rc = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = run_fail(r, iso_conn_lost(r->conn[s]) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
                      "%s:%d: session %s: SHOW transaction_isolation failed: %s", r->spec->path,
                      se->line, se->name, PQerrorMessage(r->conn[s]));
    else if (strcmp(PQgetvalue(res, 0, 0), shown[r->level]) != 0)
        rc = run_fail(r, ISO_EXIT_USAGE,
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
        r->conn[s] = iso_db_connect(r->dsn, err, sizeof err);
        if (!r->conn[s])
            return run_fail(r, ISO_EXIT_NODB, "session %s: %s", sp->sessions[s].name, err);
        r->pid[s] = PQbackendPID(r->conn[s]);
        r->waiting[s] = -1;
        if (iso_db_exec(r->conn[s], sql, err, sizeof err) < 0)
            return run_fail(r, ISO_EXIT_NODB, "session %s: %s", sp->sessions[s].name, err);
    }
    for (s = 0; s < sp->nsessions; s++) {
        if (sp->sessions[s].setup &&
            iso_db_exec(r->conn[s], sp->sessions[s].setup, err, sizeof err))
            return run_fail(r, ISO_EXIT_USAGE, "%s:%d: setup of session %s failed: %s", sp->path,
                            sp->sessions[s].line, sp->sessions[s].name, err);
        if (check_level(r, s) < 0)
            return -1;
    }
    return 0;
}

/*
 * Run permutation p: setup, sessions, steps, check, teardown.  Returns the
 * outcome, or ISO_ERROR with r->fatal set.
 */
static enum iso_outcome run_permutation(struct run *r, const struct iso_perm *p)
{
    const struct iso_spec *sp = r->spec;
    enum iso_outcome out = ISO_ERROR;
    char err[512];
    int i, s, unexpected = -1;

    for (i = 0; i < sp->nsteps; i++)
        step_res_clear(&r->res[i]);
    r->aborts = 0;
    fprintf(r->log, "starting permutation:");
    for (i = 0; i < p->nsteps; i++)
        fprintf(r->log, " %s", sp->steps[p->steps[i]].name);
    fprintf(r->log, "\n");
    for (i = 0; i < sp->nsetup; i++) {
        if (iso_db_exec(r->ctl, sp->setup[i], err, sizeof err) < 0) {
            run_fail(r, iso_conn_lost(r->ctl) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
                     "%s:%d: setup failed: %s", sp->path, sp->setup_line[i], err);
            goto teardown;
        }
    }
    if (open_sessions(r) < 0)
        goto out;
    for (i = 0; i < p->nsteps; i++)
        if (run_step(r, p->steps[i]) < 0)
            goto out;
    for (s = 0; s < sp->nsessions; s++)
        if (finish_waiting(r, s) < 0)
            goto out;
    for (s = 0; s < sp->nsessions; s++) {
        if (sp->sessions[s].teardown &&
            iso_db_exec(r->conn[s], sp->sessions[s].teardown, err, sizeof err) < 0) {
            run_fail(r, ISO_EXIT_USAGE, "%s:%d: teardown of session %s failed: %s", sp->path,
                     sp->sessions[s].line, sp->sessions[s].name, err);
            goto out;
        }
    }
    /* Closing the sessions rolls back whatever a spec left open, so the
     * check sees only what committed. */
    close_sessions(r);
    for (i = 0; i < sp->nsteps; i++) {
        const char *st = r->res[i].sqlstate;
        if (st[0] && strcmp(st, "40001") && strcmp(st, "40P01") && strcmp(st, "25P02")) {
            unexpected = i;
            break;
        }
    }
    if (unexpected >= 0) {
        run_fail(r, ISO_EXIT_USAGE, "%s:%d: step %s failed at %s with %s: %s", sp->path,
                 sp->steps[unexpected].line, sp->steps[unexpected].name, iso_level_name(r->level),
                 r->res[unexpected].sqlstate, r->res[unexpected].errmsg);
    } else if (r->aborts > 0) {
        /* The server aborted a transaction rather than let the schedule
         * through: prevented, whatever the data shows. */
        fprintf(r->log, "the server aborted a transaction (40001/40P01): prevented\n");
        out = ISO_PREVENTED;
    } else if (sp->check) {
        int c = run_check(r);
        if (c >= 0)
            out = c ? ISO_OCCURS : ISO_PREVENTED;
    } else {
        fprintf(r->log, "no serialization failure and no check: occurred\n");
        out = ISO_OCCURS;
    }
out:
    close_sessions(r);
teardown:
    if (sp->teardown && iso_db_exec(r->ctl, sp->teardown, err, sizeof err) < 0) {
        run_fail(r, iso_conn_lost(r->ctl) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
                 "%s:%d: teardown failed: %s", sp->path, sp->teardown_line, err);
        out = ISO_ERROR;
    }
    fprintf(r->log, "\n");
    return r->fatal ? ISO_ERROR : out;
}

/* Run every permutation of spec at level into c.  The anomaly occurred if it
 * occurred in any permutation.  Returns r.fatal (0 when the cell ran). */
int iso_run_cell(const struct iso_spec *sp, enum iso_level level, const char *dsn, struct cell *c,
                 char *err, size_t errlen)
{
    struct run r = {.spec = sp, .level = level, .dsn = dsn};
    size_t loglen = 0;
    uint64_t t0 = util_now_ns();
    int i, occurred = 0;

    memset(c, 0, sizeof *c);
    r.conn = calloc((size_t)sp->nsessions, sizeof *r.conn);
    r.pid = calloc((size_t)sp->nsessions, sizeof *r.pid);
    r.waiting = calloc((size_t)sp->nsessions, sizeof *r.waiting);
    r.res = calloc((size_t)sp->nsteps, sizeof *r.res);
    r.log = open_memstream(&c->log, &loglen);
    if (!r.conn || !r.pid || !r.waiting || !r.res || !r.log) {
        run_fail(&r, ISO_EXIT_NODB, "out of memory");
        goto out;
    }
    r.ctl = iso_db_connect(dsn, r.err, sizeof r.err);
    if (!r.ctl) {
        r.fatal = ISO_EXIT_NODB;
        goto out;
    }
    /* A teardown must not wait forever behind a session's lock. */
    iso_db_exec(r.ctl, "SET lock_timeout = '10s'", err, errlen);
    for (i = 0; i < sp->nperms && !r.fatal; i++) {
        enum iso_outcome o = run_permutation(&r, &sp->perms[i]);
        occurred += o == ISO_OCCURS;
        c->aborts += r.aborts;
    }
    c->observed = r.fatal ? ISO_ERROR : occurred ? ISO_OCCURS : ISO_PREVENTED;
    c->why = util_fmt("%s", r.fatal     ? r.err
                            : occurred  ? (sp->check ? "the check found the anomaly"
                                                     : "no check, and no transaction was aborted")
                            : c->aborts ? "the server aborted a transaction (40001/40P01)"
                                        : "the check found no anomaly");
out:
    if (r.fatal && !c->why)
        c->why = util_fmt("%s", r.err);
    iso_one_line(c->why);
    c->observed = r.fatal ? ISO_ERROR : c->observed;
    if (r.log)
        fclose(r.log);
    if (r.conn)
        close_sessions(&r);
    PQfinish(r.ctl);
    for (i = 0; r.res && i < sp->nsteps; i++)
        step_res_clear(&r.res[i]);
    free(r.res);
    free(r.waiting);
    free(r.pid);
    free(r.conn);
    c->ms = (double)(util_now_ns() - t0) / 1e6;
    snprintf(err, errlen, "%s", r.err);
    return r.fatal;
}

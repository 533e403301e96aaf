/*
 * iso.c - `wedge isolation`: run isolation specs (iso_spec.h) at each level
 * on a real PostgreSQL, print the anomaly matrix, and race the shop's naive
 * stock update (and its atomic twin) under each level.
 *
 * The driver keeps one libpq connection per session and a control
 * connection.  A step is sent with PQsendQuery; while it has no result the
 * control connection asks pg_isolation_test_session_is_blocked() whether the
 * session waits on a lock held by another session of the spec (every 2 ms,
 * bounded): then the step is "waiting" and the permutation moves on, and its
 * result is collected once it completes.  Step results (rows as text, or
 * SQLSTATE and message) go into a log in the manner of PostgreSQL's
 * isolation tester, and into the spec's check.
 */
#include "iso.h"
#include "hist.h"
#include "iso_spec.h"
#include "pg.h"
#include "report.h"
#include "scn.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
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

#define ISO_EXIT_OK      0
#define ISO_EXIT_DIFFERS 1
#define ISO_EXIT_USAGE   2
#define ISO_EXIT_NODB    3

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

struct cell {
    enum iso_outcome observed;
    int aborts; /* steps that failed with 40001 / 40P01 */
    char *log;  /* the step log of every permutation */
    char *why;  /* what decided the outcome */
    double ms;
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
static char *one_line(char *s)
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

static PGconn *db_connect(const char *dsn, char *err, size_t errlen)
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
static int db_exec(PGconn *c, const char *sql, char *err, size_t errlen)
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

static int conn_lost(PGconn *c)
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
        run_fail(r, conn_lost(r->ctl) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
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
            if (!state && conn_lost(r->conn[s]))
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
        run_fail(r, conn_lost(r->ctl) ? ISO_EXIT_NODB : ISO_EXIT_USAGE, "%s:%d: check failed: %s",
                 r->spec->path, r->spec->check_line, PQerrorMessage(r->ctl));
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
        rc = run_fail(r, conn_lost(r->conn[s]) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
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
        r->conn[s] = db_connect(r->dsn, err, sizeof err);
        if (!r->conn[s])
            return run_fail(r, ISO_EXIT_NODB, "session %s: %s", sp->sessions[s].name, err);
        r->pid[s] = PQbackendPID(r->conn[s]);
        r->waiting[s] = -1;
        if (db_exec(r->conn[s], sql, err, sizeof err) < 0)
            return run_fail(r, ISO_EXIT_NODB, "session %s: %s", sp->sessions[s].name, err);
    }
    for (s = 0; s < sp->nsessions; s++) {
        if (sp->sessions[s].setup && db_exec(r->conn[s], sp->sessions[s].setup, err, sizeof err))
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
        if (db_exec(r->ctl, sp->setup[i], err, sizeof err) < 0) {
            run_fail(r, conn_lost(r->ctl) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
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
            db_exec(r->conn[s], sp->sessions[s].teardown, err, sizeof err) < 0) {
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
    if (sp->teardown && db_exec(r->ctl, sp->teardown, err, sizeof err) < 0) {
        run_fail(r, conn_lost(r->ctl) ? ISO_EXIT_NODB : ISO_EXIT_USAGE,
                 "%s:%d: teardown failed: %s", sp->path, sp->teardown_line, err);
        out = ISO_ERROR;
    }
    fprintf(r->log, "\n");
    return r->fatal ? ISO_ERROR : out;
}

/* Run every permutation of spec at level into c.  The anomaly occurred if it
 * occurred in any permutation.  Returns r.fatal (0 when the cell ran). */
static int run_cell(const struct iso_spec *sp, enum iso_level level, const char *dsn,
                    struct cell *c, char *err, size_t errlen)
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
    r.ctl = db_connect(dsn, r.err, sizeof r.err);
    if (!r.ctl) {
        r.fatal = ISO_EXIT_NODB;
        goto out;
    }
    /* A teardown must not wait forever behind a session's lock. */
    db_exec(r.ctl, "SET lock_timeout = '10s'", err, errlen);
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
    one_line(c->why);
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

/* ---------------------------------------------------------------
 * The shop's stock update under each level.
 *
 * N sessions each place a bounded number of orders with the naive strategy
 * of the shop (read the stock, write back the computed value), retrying on
 * 40001 / 40P01 like a correct client must.  Lost updates are committed
 * orders minus the stock actually taken.  The atomic strategy (UPDATE ...
 * SET stock = stock - 1) is the twin that must lose nothing at any level,
 * so a count that found losses everywhere would show itself.
 * ------------------------------------------------------------ */

enum shop_strategy { SHOP_NAIVE, SHOP_ATOMIC, SHOP_NSTRATEGIES };

static const char *const shop_strategy_name[SHOP_NSTRATEGIES] = {"naive", "atomic"};

#define SHOP_MAX_TRIES  100
#define SHOP_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)

struct shop_opts {
    int users;
    int orders; /* per user; 0 skips the workload */
    uint64_t think_ns;
};

struct shop_stats {
    long planned, committed, attempts, failures, deadlocks, gave_up, errors;
    long initial, final, lost;
    double elapsed_s;
    uint64_t p50_ns, p99_ns; /* per committed order, retries included */
    enum iso_outcome observed;
    char error[320];
};

/* Every worker starts when the gate opens, so the sessions really race. */
struct shop_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open, abort;
};

struct shop_worker {
    const struct shop_opts *opts;
    enum shop_strategy strategy;
    struct shop_gate *gate;
    uint64_t deadline;
    PGconn *conn;
    struct hist *latency;
    long committed, attempts, failures, deadlocks, gave_up, errors;
    char err[256];
};

/* Run sql in the worker's transaction: its result, or NULL with the
 * SQLSTATE in state (08006 when the connection is gone). */
static PGresult *shop_exec(PGconn *c, const char *sql, char state[6])
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    snprintf(state, 6, "%s",
             PQresultErrorField(res, PG_DIAG_SQLSTATE) ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                                                       : "08006");
    PQclear(res);
    return NULL;
}

/* One order: 0 committed, 1 retry (40001 / 40P01), -1 another error. */
static int shop_order(struct shop_worker *w, char state[6])
{
    PGresult *res = NULL;
    char sql[128];
    long stock;
    int rc = -1;

    state[0] = '\0';
    if (!(res = shop_exec(w->conn, "BEGIN", state)))
        goto out;
    PQclear(res);
    if (w->strategy == SHOP_ATOMIC) {
        util_sleep_ns(w->opts->think_ns);
        res = shop_exec(w->conn,
                        "UPDATE iso_inventory SET stock = stock - 1 WHERE sku = 'sku-1' "
                        "AND stock > 0",
                        state);
        if (!res)
            goto out;
        stock = atol(PQcmdTuples(res));
        PQclear(res);
        if (stock != 1) {
            snprintf(state, 6, "P0001");
            goto out;
        }
        goto commit;
    }
    if (!(res = shop_exec(w->conn, "SELECT stock FROM iso_inventory WHERE sku = 'sku-1'", state)))
        goto out;
    stock = PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (stock <= 0) {
        snprintf(state, 6, "P0001");
        goto out;
    }
    /* The application thinks: this is the window the race needs. */
    util_sleep_ns(w->opts->think_ns);
    snprintf(sql, sizeof sql, "UPDATE iso_inventory SET stock = %ld WHERE sku = 'sku-1'",
             stock - 1);
    if (!(res = shop_exec(w->conn, sql, state)))
        goto out;
    PQclear(res);
commit:
    if (!(res = shop_exec(w->conn, "COMMIT", state)))
        goto out;
    PQclear(res);
    rc = 0;
out:
    if (rc < 0) {
        PQclear(shop_exec(w->conn, "ROLLBACK", (char[6]){0}));
        if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
            rc = 1;
    }
    return rc;
}

static void *shop_worker_main(void *arg)
{
    struct shop_worker *w = arg;
    struct timespec until;
    int i, tries, go;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&w->gate->mu);
    while (!w->gate->open)
        if (pthread_cond_timedwait(&w->gate->cv, &w->gate->mu, &until) == ETIMEDOUT)
            break;
    go = w->gate->open && !w->gate->abort;
    pthread_mutex_unlock(&w->gate->mu);
    if (!go) {
        snprintf(w->err, sizeof w->err, "start aborted");
        return NULL;
    }
    for (i = 0; i < w->opts->orders && !w->err[0]; i++) {
        uint64_t t0 = util_now_ns();
        for (tries = 0; tries < SHOP_MAX_TRIES; tries++) {
            char state[6];
            int rc;
            if (util_stop || util_now_ns() > w->deadline) {
                snprintf(w->err, sizeof w->err, "%s", util_stop ? "interrupted" : "timed out");
                return NULL;
            }
            w->attempts++;
            rc = shop_order(w, state);
            if (rc == 0) {
                w->committed++;
                hist_record(w->latency, util_now_ns() - t0);
                break;
            }
            if (rc < 0) {
                w->errors++;
                if (conn_lost(w->conn) || !strcmp(state, "P0001"))
                    snprintf(w->err, sizeof w->err, "order failed: %s%s", state,
                             conn_lost(w->conn) ? " (connection lost)" : " (out of stock)");
                break;
            }
            if (!strcmp(state, "40P01"))
                w->deadlocks++;
            else
                w->failures++;
        }
        if (tries == SHOP_MAX_TRIES)
            w->gave_up++;
    }
    return NULL;
}

static long shop_stock(PGconn *c)
{
    PGresult *res = PQexec(c, "SELECT stock FROM iso_inventory WHERE sku = 'sku-1'");
    long v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* Run the workload at one level.  Returns 0, or ISO_EXIT_NODB with err. */
static int shop_run(const char *dsn, enum shop_strategy strategy, enum iso_level level,
                    const struct shop_opts *o, struct shop_stats *st, char *err, size_t errlen)
{
    struct shop_worker *w = calloc((size_t)o->users, sizeof *w);
    pthread_t *tids = calloc((size_t)o->users, sizeof *tids);
    struct shop_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    char sql[256], level_sql[128];
    PGconn *ctl = NULL;
    uint64_t t0;
    int i, started = 0, rc = ISO_EXIT_NODB;

    memset(st, 0, sizeof *st);
    st->planned = (long)o->users * o->orders;
    st->initial = st->planned + 1000;
    if (!w || !tids) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    ctl = db_connect(dsn, err, errlen);
    if (!ctl)
        goto out;
    snprintf(sql, sizeof sql,
             "CREATE TABLE iso_inventory (sku text PRIMARY KEY, stock int NOT NULL); "
             "INSERT INTO iso_inventory VALUES ('sku-1', %ld)",
             st->initial);
    if (db_exec(ctl, sql, err, errlen) < 0)
        goto out;
    snprintf(level_sql, sizeof level_sql,
             "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL %s", iso_level_sql(level));
    for (i = 0; i < o->users; i++) {
        w[i].latency = hist_new();
        if (!w[i].latency) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        w[i].conn = db_connect(dsn, err, errlen);
        if (!w[i].conn || db_exec(w[i].conn, level_sql, err, errlen) < 0)
            goto out;
    }
    t0 = util_now_ns();
    for (i = 0; i < o->users; i++) {
        w[i].opts = o;
        w[i].strategy = strategy;
        w[i].gate = &gate;
        w[i].deadline = t0 + SHOP_TIMEOUT_NS;
        if (pthread_create(&tids[i], NULL, shop_worker_main, &w[i]) != 0) {
            snprintf(w[i].err, sizeof w[i].err, "pthread_create failed");
            break;
        }
        started++;
    }
    pthread_mutex_lock(&gate.mu);
    gate.open = 1;
    gate.abort = started < o->users;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    t0 = util_now_ns();
    for (i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    st->elapsed_s = (double)(util_now_ns() - t0) / 1e9;
    for (i = 0; i < o->users; i++) {
        st->committed += w[i].committed;
        st->attempts += w[i].attempts;
        st->failures += w[i].failures;
        st->deadlocks += w[i].deadlocks;
        st->gave_up += w[i].gave_up;
        st->errors += w[i].errors;
        if (i > 0)
            hist_merge(w[0].latency, w[i].latency);
        if (w[i].err[0] && !st->error[0])
            snprintf(st->error, sizeof st->error, "session %d: %s", i + 1, w[i].err);
    }
    st->p50_ns = hist_percentile(w[0].latency, 50);
    st->p99_ns = hist_percentile(w[0].latency, 99);
    st->final = shop_stock(ctl);
    if (st->final < 0) {
        snprintf(err, errlen, "cannot read the final stock: %s", PQerrorMessage(ctl));
        goto out;
    }
    st->lost = st->committed - (st->initial - st->final);
    if (st->error[0] || st->errors || st->gave_up || st->committed != st->planned)
        st->observed = ISO_ERROR;
    else
        st->observed = st->lost > 0 ? ISO_OCCURS : ISO_PREVENTED;
    if (st->observed == ISO_ERROR && !st->error[0])
        snprintf(st->error, sizeof st->error,
                 "%ld of %ld orders committed (%ld gave up, %ld errors)", st->committed,
                 st->planned, st->gave_up, st->errors);
    db_exec(ctl, "DROP TABLE iso_inventory", err, errlen);
    err[0] = '\0';
    rc = 0;
out:
    for (i = 0; w && i < o->users; i++) {
        PQfinish(w[i].conn);
        hist_free(w[i].latency);
    }
    PQfinish(ctl);
    free(w);
    free(tids);
    return rc;
}

/* ---------------------------------------------------------------
 * The matrix: rows in the catalogue's order, printing and outputs.
 * ------------------------------------------------------------ */

struct row {
    struct iso_spec spec;
    struct cell cell[ISO_NLEVELS];
    int ran[ISO_NLEVELS];
};

struct iso_opts {
    const char *dsn;
    int level[ISO_NLEVELS]; /* 1: run this level */
    const char **specs;
    int nspecs;
    const char *out;
    int verbose;
    int check_only;          /* --check: parse the specs, run nothing */
    const char *permutation; /* --permutation: replaces the spec's own */
    struct shop_opts shop;
};

struct matrix {
    struct row *rows;
    int nrows;
    struct shop_stats shop[SHOP_NSTRATEGIES][ISO_NLEVELS];
    int shop_ran[SHOP_NSTRATEGIES][ISO_NLEVELS];
    char server[64];
    int embedded;
    char *command;
    int passed, failed, errors;
    double elapsed_s;
};

/* The shop rows' expectations: the naive update loses orders only at read
 * committed, the atomic one never. */
static const enum iso_outcome shop_expect[SHOP_NSTRATEGIES][ISO_NLEVELS] = {
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

static int row_cmp(const void *a, const void *b)
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

static void print_matrix(FILE *f, const struct matrix *m, const struct iso_opts *o)
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
                        m->shop_ran[k][l]
                            ? cell_text(m->shop[k][l].observed, shop_expect[k][l], buf, sizeof buf)
                            : "-");
        fprintf(f, "\n");
    }
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
    if (!any_shop)
        return;
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
            fprintf(f, "%-8s%-17s%10ld%6ld%7ld%7ld%7.2f%10.0f%8.2f%8.2f\n", shop_strategy_name[k],
                    iso_level_name((enum iso_level)l), s->committed, s->lost, s->failures,
                    s->deadlocks, shop_retry_rate(s), shop_throughput(s), (double)s->p50_ns / 1e6,
                    (double)s->p99_ns / 1e6);
            if (s->observed != shop_expect[k][l])
                fprintf(f, "%s shop %s stock at %s: expected %s, observed %s%s%s\n",
                        s->observed == ISO_ERROR ? "error:" : "* differs:", shop_strategy_name[k],
                        iso_level_name((enum iso_level)l), iso_outcome_name(shop_expect[k][l]),
                        iso_outcome_name(s->observed), s->error[0] ? ": " : "", s->error);
        }
    }
}

static json_t *shop_json(const struct shop_stats *s, enum iso_outcome expect)
{
    return json_pack(
        "{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
        "s:f, s:f, s:f, s:f, s:s?}",
        "expected", iso_outcome_name(expect), "observed", iso_outcome_name(s->observed),
        "as_expected", s->observed == expect, "planned", (json_int_t)s->planned, "committed",
        (json_int_t)s->committed, "attempts", (json_int_t)s->attempts, "serialization_failures",
        (json_int_t)s->failures, "deadlocks", (json_int_t)s->deadlocks, "gave_up",
        (json_int_t)s->gave_up, "errors", (json_int_t)s->errors, "initial_stock",
        (json_int_t)s->initial, "final_stock", (json_int_t)s->final, "lost_updates",
        (json_int_t)s->lost, "elapsed_s", s->elapsed_s, "retry_rate", shop_retry_rate(s),
        "throughput_per_s", shop_throughput(s), "latency_p50_ms", (double)s->p50_ns / 1e6,
        "latency_p99_ms", (double)s->p99_ns / 1e6, "error", s->error[0] ? s->error : NULL);
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
    json_object_set_new(shop, "think_ms", json_real((double)o->shop.think_ns / 1e6));
    for (k = 0; k < SHOP_NSTRATEGIES; k++) {
        json_t *levels_k = json_object();
        for (l = 0; l < ISO_NLEVELS; l++)
            if (m->shop_ran[k][l])
                json_object_set_new(levels_k, iso_level_name((enum iso_level)l),
                                    shop_json(&m->shop[k][l], shop_expect[k][l]));
        json_object_set_new(shop, shop_strategy_name[k], levels_k);
    }
    json_object_set_new(root, "command", json_string(m->command));
    json_object_set_new(root, "server_version", json_string(m->server));
    json_object_set_new(root, "embedded_pg", json_boolean(m->embedded));
    json_object_set_new(root, "levels", levels);
    json_object_set_new(root, "specs", specs);
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

static int write_report(const char *path, const struct matrix *m, const struct iso_opts *o)
{
    FILE *f = fopen(path, "w");
    int i, l, k;

    if (!f)
        return -1;
    fprintf(f, "# wedge isolation\n\n");
    fprintf(f, "Command: `%s`  \nServer: PostgreSQL %s (%s)  \nResult: %d passed, %d failed\n\n",
            m->command, m->server, m->embedded ? "embedded throwaway cluster" : "--dsn", m->passed,
            m->failed);
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
                md_cell(f, m->shop_ran[k][l], m->shop[k][l].observed, shop_expect[k][l]);
        fprintf(f, "\n");
    }
    fprintf(f, "\n## The shop's stock update under each level\n\n");
    fprintf(f,
            "%d sessions each place %d orders on one SKU. naive: `SELECT stock`, think %.1f ms, "
            "`UPDATE ... SET stock = <read - 1>`, `COMMIT`; atomic: think, `UPDATE ... SET stock "
            "= stock - 1 WHERE stock > 0`, `COMMIT`. Retried on 40001/40P01 (at most %d tries). "
            "Lost updates = committed orders - stock taken.\n\n",
            o->shop.users, o->shop.orders, (double)o->shop.think_ns / 1e6, SHOP_MAX_TRIES);
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
                    shop_strategy_name[k], iso_level_name((enum iso_level)l), s->committed,
                    s->planned, s->lost, s->failures, s->deadlocks, shop_retry_rate(s),
                    shop_throughput(s), (double)s->p50_ns / 1e6, (double)s->p99_ns / 1e6,
                    iso_outcome_name(s->observed), s->error[0] ? ": " : "", s->error);
        }
    }
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
    return fclose(f);
}

/* ---------------------------------------------------------------
 * The command.
 * ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wedge isolation [--dsn DSN] [--level L,...] [--spec FILE|DIR]... [--out DIR]\n"
            "                       [--shop-users N] [--shop-orders N] [--shop-think D] "
            "[--verbose] [--check]\n"
            "                       [--permutation \"STEP STEP ...\"]\n"
            "\n"
            "Run each isolation spec's interleaving at each level on a real PostgreSQL and\n"
            "print the anomaly matrix (anomaly x level: occurs / prevented, '*' where it\n"
            "differs from the spec's expectation); then race the shop's stock update, naive\n"
            "and atomic, from several sessions at each level (lost updates, serialization\n"
            "failures, retry rate, throughput, latency).  See docs/isolation.md.\n"
            "\n"
            "  --dsn DSN         an existing server (default: a throwaway embedded cluster);\n"
            "                    the run uses a fresh database on it and drops it after\n"
            "  --level L,...     read-committed, repeatable-read, serializable (default all)\n"
            "  --spec FILE|DIR   spec files, or directories of *.spec (repeatable; default\n"
            "                    $WEDGE_ISOLATION_DIR, else scenarios/isolation of the source\n"
            "                    tree, or DATADIR/wedge/scenarios/isolation when installed)\n"
            "  --out DIR         write summary.json and report.md there\n"
            "  --shop-users N    concurrent sessions of the shop workload (default 4, at most 64)\n"
            "  --shop-orders N   orders per session (default 50; 0 skips the workload)\n"
            "  --shop-think D    time between reading and writing the stock (default 1ms)\n"
            "  --permutation \"S1 S2 ...\"  with one --spec: run this interleaving of its steps\n"
            "                    instead of the spec's own\n"
            "  --check           parse the specs and print their expectations; run nothing\n"
            "  -v, --verbose     print every step log on stderr\n"
            "  -h, --help        this text\n"
            "\n"
            "Exit: 0 the matrix is as expected, 1 a cell differs, 2 usage or spec error,\n"
            "3 the database is unavailable or the run was interrupted.\n");
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* $WEDGE_ISOLATION_DIR; the source tree's specs when this wedge is the
 * build tree's; else the installed ones: DATADIR/wedge next to the binary
 * (a relocated install), then the configured one. */
static const char *default_spec_dir(char *buf, size_t len)
{
    const char *env = getenv("WEDGE_ISOLATION_DIR");
    char self[PATH_MAX], build[PATH_MAX];

    if (env && *env)
        return env;
    if (realpath(util_self_dir(), self) && realpath(WEDGE_BUILD_BIN, build) &&
        !strcmp(self, build)) {
        snprintf(buf, len, "%s/scenarios/isolation", WEDGE_SOURCE_DIR);
        if (is_dir(buf))
            return buf;
    }
    snprintf(buf, len, "%s/../share/wedge/scenarios/isolation", util_self_dir());
    if (is_dir(buf))
        return buf;
    snprintf(buf, len, "%s/scenarios/isolation", WEDGE_INSTALL_DATADIR);
    return buf;
}

static int spec_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".spec") == 0;
}

/* Load one spec file into a new row. */
static int add_spec(struct matrix *m, const char *path, char *err, size_t errlen)
{
    struct row *g = realloc(m->rows, sizeof *g * (size_t)(m->nrows + 1));

    if (!g) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->rows = g;
    memset(&g[m->nrows], 0, sizeof *g);
    if (iso_spec_load(path, &g[m->nrows].spec, err, errlen) < 0)
        return -1;
    m->nrows++;
    return 0;
}

/* A file, or every *.spec of a directory in name order. */
static int add_specs(struct matrix *m, const char *path, char *err, size_t errlen)
{
    struct dirent **list = NULL;
    int n, i, rc = 0;

    if (!is_dir(path))
        return add_spec(m, path, err, errlen);
    n = scandir(path, &list, spec_filter, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s: no *.spec file in this directory", path);
        rc = -1;
    }
    for (i = 0; i < n; i++) {
        char *file = util_fmt("%s/%s", path, list[i]->d_name);
        if (rc == 0)
            rc = add_spec(m, file, err, errlen);
        free(file);
        free(list[i]);
    }
    free(list);
    return rc;
}

static int parse_levels(const char *text, int level[ISO_NLEVELS])
{
    const char *p = text;

    memset(level, 0, sizeof(int) * ISO_NLEVELS);
    while (*p) {
        size_t n = strcspn(p, ",");
        enum iso_level l;
        if (iso_level_parse(p, n, &l) < 0) {
            fprintf(stderr,
                    "wedge: isolation: unknown level '%.*s' in --level: expected "
                    "read-committed, repeatable-read or serializable\n",
                    (int)n, p);
            return -1;
        }
        level[l] = 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int parse_count(const char *opt, const char *text, int min, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < min || v > max) {
        fprintf(stderr, "wedge: isolation: %s '%s': expected a whole number from %d to %d\n", opt,
                text, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* --permutation "S1 S2 ...": run this interleaving of the one spec instead of
 * its own, to explore another window or to show that its check can fire. */
static int override_permutation(struct iso_spec *sp, const char *text)
{
    struct iso_perm perm = {0};
    const char *p = text;
    int i;

    while (*p) {
        size_t n;
        int step, *g;
        p += strspn(p, " \t,");
        n = strcspn(p, " \t,");
        if (n == 0)
            break;
        step = iso_spec_find_step(sp, p, n);
        if (step < 0) {
            fprintf(stderr, "wedge: isolation: --permutation: no step '%.*s' in %s\n", (int)n, p,
                    sp->path);
            free(perm.steps);
            return -1;
        }
        g = realloc(perm.steps, sizeof *g * (size_t)(perm.nsteps + 1));
        if (!g) {
            free(perm.steps);
            return -1;
        }
        perm.steps = g;
        perm.steps[perm.nsteps++] = step;
        p += n;
    }
    if (perm.nsteps == 0) {
        fprintf(stderr, "wedge: isolation: --permutation: expected step names\n");
        return -1;
    }
    for (i = 0; i < sp->nperms; i++)
        free(sp->perms[i].steps);
    sp->perms[0] = perm;
    sp->nperms = 1;
    return 0;
}

/* Parse the command line into o; ISO_EXIT_OK, or the exit code to return
 * (-1 for --help). */
static int parse_args(int argc, char **argv, struct iso_opts *o)
{
    static const struct option longopts[] = {{"dsn", required_argument, NULL, 'd'},
                                             {"level", required_argument, NULL, 'l'},
                                             {"spec", required_argument, NULL, 's'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"check", no_argument, NULL, 'c'},
                                             {"permutation", required_argument, NULL, 'p'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"shop-users", required_argument, NULL, 'U'},
                                             {"shop-orders", required_argument, NULL, 'O'},
                                             {"shop-think", required_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
    int c, l;

    for (l = 0; l < ISO_NLEVELS; l++)
        o->level[l] = 1;
    o->shop.users = 4;
    o->shop.orders = 50;
    o->shop.think_ns = 1000 * 1000;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dsn = optarg;
            break;
        case 'l':
            if (parse_levels(optarg, o->level) < 0)
                return ISO_EXIT_USAGE;
            break;
        case 's': {
            const char **g = realloc(o->specs, sizeof *g * (size_t)(o->nspecs + 1));
            if (!g)
                return ISO_EXIT_USAGE;
            o->specs = g;
            o->specs[o->nspecs++] = optarg;
            break;
        }
        case 'o':
            o->out = optarg;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'c':
            o->check_only = 1;
            break;
        case 'p':
            o->permutation = optarg;
            break;
        case 'U':
            if (parse_count("--shop-users", optarg, 1, 64, &o->shop.users) < 0)
                return ISO_EXIT_USAGE;
            break;
        case 'O':
            if (parse_count("--shop-orders", optarg, 0, 100000, &o->shop.orders) < 0)
                return ISO_EXIT_USAGE;
            break;
        case 'T':
            if (scn_parse_duration(optarg, &o->shop.think_ns) < 0) {
                fprintf(stderr,
                        "wedge: isolation: --shop-think '%s': expected a duration "
                        "such as 500us or 1ms\n",
                        optarg);
                return ISO_EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            fprintf(stderr, "wedge: isolation: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return ISO_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wedge: isolation: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return ISO_EXIT_USAGE;
    }
    return ISO_EXIT_OK;
}

/* The command line as typed, for reports (passwords masked). */
static char *join_command(int argc, char **argv)
{
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    int i;

    if (!m)
        return NULL;
    fprintf(m, "wedge");
    for (i = 0; i < argc; i++) {
        char *a = util_redact_dsn(argv[i]), *w = util_shell_word(a);
        fprintf(m, " %s", w);
        free(w);
        free(a);
    }
    fclose(m);
    return out;
}

/* Run every row at every chosen level, then the shop; the exit code. */
static int run_all(struct matrix *m, const struct iso_opts *o, const char *dsn)
{
    char err[1024];
    int i, l, k;

    for (i = 0; i < m->nrows; i++) {
        struct row *r = &m->rows[i];
        for (l = 0; l < ISO_NLEVELS; l++) {
            int fatal;
            if (!o->level[l])
                continue;
            if (util_stop)
                return ISO_EXIT_NODB;
            fatal = run_cell(&r->spec, (enum iso_level)l, dsn, &r->cell[l], err, sizeof err);
            r->ran[l] = 1;
            if (o->verbose)
                fprintf(stderr, "== %s at %s: %s\n%s", r->spec.path,
                        iso_level_name((enum iso_level)l), iso_outcome_name(r->cell[l].observed),
                        r->cell[l].log ? r->cell[l].log : "");
            if (fatal == ISO_EXIT_NODB) {
                fprintf(stderr, "wedge: isolation: %s at %s: %s\n", r->spec.path,
                        iso_level_name((enum iso_level)l), one_line(err));
                return ISO_EXIT_NODB;
            }
            if (r->cell[l].observed == r->spec.expect[l])
                m->passed++;
            else
                m->failed++;
            m->errors += r->cell[l].observed == ISO_ERROR;
        }
    }
    for (k = 0; k < SHOP_NSTRATEGIES && o->shop.orders > 0; k++) {
        for (l = 0; l < ISO_NLEVELS; l++) {
            struct shop_stats *st = &m->shop[k][l];
            if (!o->level[l])
                continue;
            if (util_stop)
                return ISO_EXIT_NODB;
            if (shop_run(dsn, (enum shop_strategy)k, (enum iso_level)l, &o->shop, st, err,
                         sizeof err) != 0) {
                fprintf(stderr, "wedge: isolation: shop %s stock at %s: %s\n",
                        shop_strategy_name[k], iso_level_name((enum iso_level)l), one_line(err));
                return ISO_EXIT_NODB;
            }
            m->shop_ran[k][l] = 1;
            if (st->observed == shop_expect[k][l])
                m->passed++;
            else
                m->failed++;
        }
    }
    if (util_stop)
        return ISO_EXIT_NODB;
    return m->errors ? ISO_EXIT_USAGE : m->failed ? ISO_EXIT_DIFFERS : ISO_EXIT_OK;
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
    xml_put_string(f, classname);
    fputs("\" name=\"", f);
    xml_put_string(f, name);
    fprintf(f, "\" time=\"%.3f\"", ms / 1000.0);
    if (observed == expected) {
        fputs("/>\n", f);
        return;
    }
    fprintf(f, ">\n      <%s message=\"expected %s, observed %s\" type=\"isolation\">",
            observed == ISO_ERROR ? "error" : "failure", iso_outcome_name(expected),
            iso_outcome_name(observed));
    xml_put_string(f, why);
    fputs("\n", f);
    xml_put_string(f, log);
    fprintf(f, "</%s>\n    </testcase>\n", observed == ISO_ERROR ? "error" : "failure");
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
        char *classname = util_fmt("wedge.isolation.shop.%s", shop_strategy_name[k]);
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
                       s->observed, shop_expect[k][l], why, "");
            free(why);
        }
        free(classname);
    }
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

static int write_outputs(const struct matrix *m, const struct iso_opts *o, int code)
{
    char *path;
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
    return rc;
}

static void drop_db(const char *admin_dsn, const char *name)
{
    char err[512], *sql;
    PGconn *c = db_connect(admin_dsn, err, sizeof err);

    if (!c)
        return;
    sql = util_fmt("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    if (db_exec(c, sql, err, sizeof err) < 0)
        fprintf(stderr, "wedge: isolation: %s\n", err);
    free(sql);
    PQfinish(c);
}

int iso_main(int argc, char **argv)
{
    struct iso_opts o = {0};
    struct matrix m = {0};
    struct pg_cluster cluster = {0};
    char err[1024], dirbuf[PATH_MAX], dsn[1024], db[64] = "";
    const char *admin = NULL;
    uint64_t t0 = util_now_ns();
    int code, i, l;

    code = parse_args(argc, argv, &o);
    if (code != ISO_EXIT_OK) {
        code = code < 0 ? ISO_EXIT_OK : code;
        goto out;
    }
    m.command = join_command(argc, argv);
    if (o.nspecs == 0) {
        if (add_specs(&m, default_spec_dir(dirbuf, sizeof dirbuf), err, sizeof err) < 0)
            goto spec_error;
    }
    for (i = 0; i < o.nspecs; i++)
        if (add_specs(&m, o.specs[i], err, sizeof err) < 0)
            goto spec_error;
    qsort(m.rows, (size_t)m.nrows, sizeof *m.rows, row_cmp);
    if (o.permutation) {
        if (m.nrows != 1) {
            fprintf(stderr,
                    "wedge: isolation: --permutation needs exactly one spec (--spec FILE), "
                    "not %d\n",
                    m.nrows);
            code = ISO_EXIT_USAGE;
            goto out;
        }
        if (override_permutation(&m.rows[0].spec, o.permutation) < 0) {
            code = ISO_EXIT_USAGE;
            goto out;
        }
    }
    if (o.check_only) {
        printf("%-24s %-16s %-16s %-16s %s\n", "anomaly (expected)", "read-committed",
               "repeatable-read", "serializable", "file");
        for (i = 0; i < m.nrows; i++)
            printf("%-24s %-16s %-16s %-16s %s\n", m.rows[i].spec.anomaly,
                   iso_outcome_name(m.rows[i].spec.expect[ISO_READ_COMMITTED]),
                   iso_outcome_name(m.rows[i].spec.expect[ISO_REPEATABLE_READ]),
                   iso_outcome_name(m.rows[i].spec.expect[ISO_SERIALIZABLE]), m.rows[i].spec.path);
        printf("%d specs parse\n", m.nrows);
        code = ISO_EXIT_OK;
        goto out;
    }

    util_install_signals();
    if (o.dsn) {
        admin = o.dsn;
    } else {
        if (pg_cluster_start(&cluster, o.verbose, err, sizeof err) < 0) {
            fprintf(stderr, "wedge: isolation: cannot start the embedded PostgreSQL: %s\n",
                    one_line(err));
            code = ISO_EXIT_NODB;
            goto out;
        }
        admin = cluster.dsn;
        m.embedded = 1;
    }
    snprintf(db, sizeof db, "wedge_iso_%d", (int)getpid());
    if (pg_fresh_db(admin, db, dsn, sizeof dsn, err, sizeof err) < 0) {
        /* The specs create and drop tables: they never run in a database
         * of the user's, so a role that may not CREATE DATABASE stops here. */
        fprintf(stderr, "wedge: isolation: cannot create database %s: %s%s\n", db, one_line(err),
                strstr(err, "permission denied") ? " (the run needs a role with CREATEDB)" : "");
        db[0] = '\0';
        code = ISO_EXIT_NODB;
        goto out;
    }
    {
        PGconn *c = db_connect(dsn, err, sizeof err);
        if (!c) {
            fprintf(stderr, "wedge: isolation: %s\n", err);
            code = ISO_EXIT_NODB;
            goto out;
        }
        snprintf(m.server, sizeof m.server, "%s",
                 PQparameterStatus(c, "server_version") ? PQparameterStatus(c, "server_version")
                                                        : "?");
        PQfinish(c);
    }
    fprintf(stderr, "wedge: isolation: %d specs at", m.nrows);
    for (l = 0; l < ISO_NLEVELS; l++)
        if (o.level[l])
            fprintf(stderr, " %s", iso_level_name((enum iso_level)l));
    fprintf(stderr, " on PostgreSQL %s%s\n", m.server, m.embedded ? " (embedded)" : "");
    code = run_all(&m, &o, dsn);
    m.elapsed_s = (double)(util_now_ns() - t0) / 1e9;
    if (util_stop)
        fprintf(stderr, "wedge: isolation: interrupted by signal %d\n", (int)util_stop);
    if (code == ISO_EXIT_NODB)
        goto out;
    {
        /* The table pads its columns: strip the trailing blanks of each line. */
        char *text = NULL, *line;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (mem) {
            print_matrix(mem, &m, &o);
            fclose(mem);
            for (line = text; *line;) {
                size_t n = strcspn(line, "\n"), k = n;
                while (k > 0 && line[k - 1] == ' ')
                    k--;
                printf("%.*s\n", (int)k, line);
                line += n + (line[n] == '\n');
            }
            free(text);
        }
    }
    if (o.out && write_outputs(&m, &o, code) < 0 && code == ISO_EXIT_OK)
        code = ISO_EXIT_USAGE;
    printf("\n%d passed, %d failed\n", m.passed, m.failed);
    goto out;
spec_error:
    fprintf(stderr, "wedge: %s\n", err);
    code = ISO_EXIT_USAGE;
out:
    fflush(stdout);
    if (db[0])
        drop_db(admin, db);
    if (m.embedded)
        pg_cluster_stop(&cluster);
    for (i = 0; i < m.nrows; i++) {
        for (l = 0; l < ISO_NLEVELS; l++) {
            free(m.rows[i].cell[l].log);
            free(m.rows[i].cell[l].why);
        }
        iso_spec_free(&m.rows[i].spec);
    }
    free(m.rows);
    free(m.command);
    free(o.specs);
    return code;
}

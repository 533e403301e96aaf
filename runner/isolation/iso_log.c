/*
 * iso_log.c - a run's log in its two formats: wedge's step log (one line
 * per step, rows as name=value; the anomaly matrix's expected logs) and
 * PostgreSQL's isolation tester's output, byte for byte, so that its
 * expected files are the check (aligned tables by libpq's PQprint,
 * "ERROR:  message", notices and NOTIFY lines prefixed by the session).
 */
#include "iso_run.h"

#include <stdlib.h>
#include <string.h>

static int pg(const struct run *r)
{
    return r->fmt == ISO_FMT_PG;
}

void log_sql(FILE *f, const char *sql)
{
    int space = 0, started = 0;

    for (; *sql; sql++) {
        if (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '\r') {
            space = started;
            continue;
        }
        if (space)
            fputc(' ', f);
        space = 0;
        started = 1;
        fputc(*sql, f);
    }
}

void log_perm_start(struct run *r)
{
    int i;

    fprintf(r->log, "%sstarting permutation:", pg(r) ? "\n" : "");
    for (i = 0; i < r->nperm; i++)
        fprintf(r->log, " %s", r->spec->steps[r->perm[i].step].name);
    fprintf(r->log, "\n");
}

void log_step(struct run *r, int step, int waiting)
{
    const struct iso_step *st = &r->spec->steps[step];

    fprintf(r->log, "step %s: ", st->name);
    if (pg(r))
        fputs(st->sql, r->log);
    else
        log_sql(r->log, st->sql);
    fputs(waiting ? " <waiting ...>\n" : "\n", r->log);
}

void log_completed(struct run *r, int step)
{
    fprintf(r->log, "step %s: <... completed>\n", r->spec->steps[step].name);
}

/* The tester prints rows with PQprint: aligned, '|' between fields. */
static void print_rows(FILE *f, PGresult *res)
{
    PQprintOpt popt;

    memset(&popt, 0, sizeof popt);
    popt.header = 1;
    popt.align = 1;
    popt.fieldSep = "|";
    PQprint(f, res, &popt);
}

void log_rows(struct run *r, PGresult *res)
{
    if (pg(r) && PQresultStatus(res) == PGRES_TUPLES_OK)
        print_rows(r->log, res);
}

static void wedge_rows(FILE *f, PGresult *res)
{
    int nt = PQntuples(res), nf = PQnfields(res), i, j;

    if (nt == 0)
        fprintf(f, "  (no rows)\n");
    for (i = 0; i < nt; i++) {
        fprintf(f, " ");
        for (j = 0; j < nf; j++)
            fprintf(f, " %s=%s", PQfname(res, j),
                    PQgetisnull(res, i, j) ? "NULL" : PQgetvalue(res, i, j));
        fprintf(f, "\n");
    }
}

/* An error result: the primary message only (a detail may hold XIDs). */
static void log_error(struct run *r, PGresult *res, const struct step_res *out)
{
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (!pg(r))
        fprintf(r->log, "  ERROR %s: %s\n", out->sqlstate, out->errmsg ? out->errmsg : "");
    else if (sev && msg)
        fprintf(r->log, "%s:  %s\n", sev, msg);
    else
        fprintf(r->log, "%s\n", PQresultErrorMessage(res));
}

static void record_error(struct run *r, PGresult *res, struct step_res *out)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (out->sqlstate[0])
        return; /* the first error of the step is the one judged */
    snprintf(out->sqlstate, sizeof out->sqlstate, "%s", state ? state : "?????");
    out->errmsg = strdup(msg ? msg : PQresultErrorMessage(res));
    free(out->value);
    out->value = NULL;
    out->rows = -1;
    if (!strcmp(out->sqlstate, "40001") || !strcmp(out->sqlstate, "40P01"))
        r->aborts++;
}

/* One result of step: into out and the log. */
static void log_result(struct run *r, PGresult *res, struct step_res *out)
{
    const char *tuples;

    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
        free(out->value);
        out->value = PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)
                         ? strdup(PQgetvalue(res, 0, 0))
                         : NULL;
        out->rows = PQntuples(res);
        if (pg(r))
            print_rows(r->log, res);
        else
            wedge_rows(r->log, res);
        break;
    case PGRES_COMMAND_OK:
        tuples = PQcmdTuples(res);
        free(out->value);
        out->value = strdup(PQcmdStatus(res));
        out->rows = tuples[0] ? atol(tuples) : -1;
        if (!pg(r))
            fprintf(r->log, "  %s\n", PQcmdStatus(res));
        break;
    case PGRES_EMPTY_QUERY:
        break;
    case PGRES_FATAL_ERROR:
        if (!out->sqlstate[0] || pg(r)) {
            record_error(r, res, out);
            log_error(r, res, out);
        }
        break;
    default:
        fprintf(r->log, "unexpected result status: %s\n", PQresStatus(PQresultStatus(res)));
    }
}

void log_results(struct run *r, int s, int step)
{
    struct step_res *out = &r->res[step];
    PGresult *res;

    step_res_clear(out);
    out->ran = 1;
    while ((res = PQgetResult(r->sess[s].conn)) != NULL) {
        log_result(r, res, out);
        PQclear(res);
    }
    if (r->anomaly && out->sqlstate[0] == '?' && PQstatus(r->sess[s].conn) != CONNECTION_OK)
        run_fail(r, WEDGE_INCONCLUSIVE, "step %s: connection lost: %s", r->spec->steps[step].name,
                 out->errmsg ? out->errmsg : "");
}

void log_notice(struct run *r, int s, const char *message)
{
    r->sess[s].notices++;
    r->new_notice = 1;
    if (!r->anomaly || pg(r))
        fprintf(r->log, "%s: %s", r->sess[s].name, message);
}

void log_notifies(struct run *r, int s)
{
    PGconn *c = r->sess[s].conn;
    PGnotify *n;

    PQconsumeInput(c);
    while ((n = PQnotifies(c)) != NULL) {
        const char *from = NULL;
        char pid[32];
        int i;
        for (i = 0; i < r->spec->nsessions && !from; i++)
            if (n->be_pid == r->sess[i].pid)
                from = r->sess[i].name;
        if (!from) {
            snprintf(pid, sizeof pid, "PID %d", n->be_pid);
            from = pid;
        }
        fprintf(r->log, "%s: NOTIFY \"%s\" with payload \"%s\" from %s\n", r->sess[s].name,
                n->relname, n->extra, from);
        PQfreemem(n);
        PQconsumeInput(c);
    }
}

/*
 * iso_run.h - one spec's run in progress (internal): its connections, the
 * permutation being driven, the step results, the log.  Shared by the step
 * engine (iso_driver.c), the log formats (iso_log.c), an anomaly spec's
 * cells (iso_cell.c) and a plain spec's run (iso_plain.c); what they all
 * record into is iso_run.c's.  A run belongs to one thread.
 */
#ifndef WEDGE_ISO_RUN_H
#define WEDGE_ISO_RUN_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

#include "iso_int.h"
#include "iso_spec.h"
#include "timeunit.h"

/* What a step left behind, for an anomaly spec's check and verdict. */
struct step_res {
    int ran;
    char sqlstate[6]; /* "" when the step succeeded */
    char *errmsg;
    char *value; /* first field of the first row, or the command tag; NULL */
    long rows;   /* rows returned or affected; -1 unknown */
};

/* One session's connection. */
struct iso_sess {
    PGconn *conn;
    int pid;
    int active;  /* index into the permutation of its running step, or -1 */
    int notices; /* notices received so far (blocker annotations count them) */
    const char *name;
    struct run *run;
};

struct run {
    const struct iso_spec *spec;
    enum iso_format fmt;
    int anomaly; /* an anomaly spec's cell: errors judged, notices quiet */
    enum iso_level level;
    const char *dsn;
    const char *appname; /* application_name prefix: "isolation/SPEC" */
    PGconn *ctl;
    int prepared;          /* the lock-wait check is prepared on ctl */
    struct iso_sess *sess; /* per session */
    char pids[512];        /* "{pid,pid,...}" of every session */
    /* the permutation being driven */
    const struct iso_pstep *perm;
    int nperm;
    int *waiting; /* indexes into perm, in the order the steps began to wait */
    int nwaiting;
    int **target; /* per perm step, per blocker: notices it waits for */
    int new_notice;
    struct step_res *res; /* per step */
    FILE *log;
    int aborts;         /* steps failed with 40001 / 40P01 in this permutation */
    uint64_t cancel_ns; /* a step still running after this is cancelled */
    uint64_t die_ns;    /* and after this the run gives up */
    int fatal;          /* 0, WEDGE_USAGE (the spec is at fault) or WEDGE_INCONCLUSIVE */
    char err[1024];
};

/* ---------------------------------------------------------------
 * The run's state (iso_run.c), below every other part.
 * ------------------------------------------------------------ */
/* Record the first fatal condition (code and message); returns -1. */
int run_fail(struct run *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Free a step's result and mark it not run (rows -1). */
void step_res_clear(struct step_res *s);

/* ---------------------------------------------------------------
 * The step engine (iso_driver.c).
 * ------------------------------------------------------------ */
/* Connect session s (application_name APPNAME/NAME), notices to the log. */
int iso_sess_open(struct run *r, int s);
/* Drive r->perm's steps as isolationtester does: a step that waits on a
 * lock (or on its blocker annotation) is passed over and completes later,
 * reported in the order steps began to wait.  0, or -1 with r->fatal. */
int iso_drive_steps(struct run *r);

/* ---------------------------------------------------------------
 * The log formats (iso_log.c).
 * ------------------------------------------------------------ */
void log_perm_start(struct run *r);
/* "step NAME: SQL" and, when it waits, " <waiting ...>". */
void log_step(struct run *r, int step, int waiting);
void log_completed(struct run *r, int step);
/* Every result of a finished step: recorded into r->res[step] and logged. */
void log_results(struct run *r, int s, int step);
/* Rows from a setup or teardown block (the tester prints them). */
void log_rows(struct run *r, PGresult *res);
/* A notice of session s, already prefixed by the server ("NOTICE:  ..."). */
void log_notice(struct run *r, int s, const char *message);
/* NOTIFY messages that arrived on session s. */
void log_notifies(struct run *r, int s);
/* One SQL text on one line (wedge's format). */
void log_sql(FILE *f, const char *sql);

#endif

/*
 * iso_int.h - what the parts of `wedge isolation` share (internal): the
 * exit codes, one cell's result, the shop workload's options and figures,
 * the matrix; and the entry points of the driver (iso_driver.c), the shop
 * workload (iso_shop.c) and the outputs (iso_out.c).  Not thread-safe
 * unless a function says so.
 */
#ifndef WEDGE_ISO_INT_H
#define WEDGE_ISO_INT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iso_spec.h"
#include "wedge_exit.h" /* a cell that differs: WEDGE_VIOLATED */

/* The step log's format: wedge's (one line per step, rows as name=value)
 * or PostgreSQL's isolation tester's output, byte for byte.  The default
 * is wedge's for anomaly specs and the tester's for plain ones. */
enum iso_format { ISO_FMT_DEFAULT, ISO_FMT_WEDGE, ISO_FMT_PG };

/* The result of one cell: a spec at one level. */
struct cell {
    enum iso_outcome observed;
    int aborts; /* steps that failed with 40001 / 40P01 */
    char *log;  /* the step log of every permutation */
    char *why;  /* what decided the outcome */
    double ms;
};

/* ---------------------------------------------------------------
 * The driver (iso_driver.c).
 * ------------------------------------------------------------ */
/* s on one line for a wedge: message: newlines and tabs become spaces,
 * trailing blanks go; in place, returns s. */
char *iso_one_line(char *s);
/* A connection with notices silenced, application_name app (or "wedge
 * isolation"); NULL with err. */
PGconn *iso_db_connect_app(const char *dsn, const char *app, char *err, size_t errlen);
PGconn *iso_db_connect(const char *dsn, char *err, size_t errlen);
/* Run sql, expecting no error; -1 with err. */
int iso_db_exec(PGconn *c, const char *sql, char *err, size_t errlen);
/* 1 when the connection is gone. */
int iso_conn_lost(PGconn *c);
struct iso_cell_opts {
    const char *dsn;
    const char *appname; /* application_name prefix: "isolation/SPEC" */
    enum iso_format fmt;
};
/* Run every permutation of anomaly spec sp at level into c (the anomaly
 * occurred if it occurred in any; iso_cell.c).  0 when the cell ran; else
 * WEDGE_USAGE (the spec is at fault) or WEDGE_INCONCLUSIVE, with err. */
int iso_run_cell(const struct iso_spec *sp, enum iso_level level, const struct iso_cell_opts *o,
                 struct cell *c, char *err, size_t errlen);

struct iso_plain_opts {
    const char *dsn;
    const char *appname; /* application_name prefix: "isolation/SPEC" */
    enum iso_format fmt;
    uint64_t timeout_ns; /* a step is cancelled after it, given up after twice it */
};
/* Run plain spec sp as PostgreSQL's isolation tester runs it (iso_plain.c);
 * its output into *out (malloc'd, *outlen bytes).  0 when it ran to its
 * end; WEDGE_USAGE when it stopped as the tester stops (the output ends
 * with why), WEDGE_INCONCLUSIVE when the server is unavailable; err says it on
 * one line. */
int iso_run_plain(const struct iso_spec *sp, const struct iso_plain_opts *o, char **out,
                  size_t *outlen, char *err, size_t errlen);

/* ---------------------------------------------------------------
 * The shop's stock update under each level (iso_shop.c).
 * ------------------------------------------------------------ */
enum shop_strategy { SHOP_NAIVE, SHOP_ATOMIC, SHOP_NSTRATEGIES };

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

extern const char *const iso_shop_strategy_name[SHOP_NSTRATEGIES];
/* o->users sessions race o->orders orders each with strategy at level;
 * figures in st.  0, or WEDGE_INCONCLUSIVE with err. */
int iso_shop_run(const char *dsn, enum shop_strategy strategy, enum iso_level level,
                 const struct shop_opts *o, struct shop_stats *st, char *err, size_t errlen);
/* Tries of one order on 40001 / 40P01 before it gives up. */
#define SHOP_MAX_TRIES 100
/* What each shop row must show at each level. */
extern const enum iso_outcome iso_shop_expect[SHOP_NSTRATEGIES][ISO_NLEVELS];

/* ---------------------------------------------------------------
 * The matrix and its outputs (iso_out.c).
 * ------------------------------------------------------------ */
struct row {
    struct iso_spec spec;
    struct cell cell[ISO_NLEVELS];
    int ran[ISO_NLEVELS];
};

/* A plain spec of the run: its output and, with --expected, its verdict. */
struct plain {
    struct iso_spec spec;
    char *out; /* the run's output */
    size_t outlen;
    int status;     /* iso_run_plain's: 0 it ran to its end */
    int passed;     /* it ran to its end, and matched an expected file if any */
    char *expected; /* --expected: the file it matched, or the base one */
    double ms;
};

struct iso_opts {
    const char *dsn;
    const char *dbname;     /* --dbname: the run's database (default wedge_iso_PID) */
    int level[ISO_NLEVELS]; /* 1: run this level */
    const char **specs;
    int nspecs;
    const char *out;
    const char *expected; /* --expected DIR: compare plain specs' outputs */
    enum iso_format fmt;
    int verbose;
    int check_only;          /* --check: parse the specs, run nothing */
    const char *permutation; /* --permutation: replaces the spec's own */
    uint64_t timeout_ns;     /* PGISOLATIONTIMEOUT */
    struct shop_opts shop;
};

/* Parse the command line into o (iso_cli.c): WEDGE_PASS, the exit code to
 * return, or -1 after --help. */
int iso_parse_args(int argc, char **argv, struct iso_opts *o);
/* The default spec directory (see docs/isolation.md), in buf. */
const char *iso_default_spec_dir(char *buf, size_t len);
/* --permutation "S1 S2 ...": replace sp's permutations by this one; -1
 * with a wedge: message on stderr. */
int iso_override_permutation(struct iso_spec *sp, const char *text);
/* The command line as typed, for reports (passwords masked); malloc'd. */
char *iso_join_command(int argc, char **argv);

struct matrix {
    struct row *rows; /* the anomaly specs */
    int nrows;
    struct plain *plain; /* the plain specs, in the order given */
    int nplain;
    struct shop_stats shop[SHOP_NSTRATEGIES][ISO_NLEVELS];
    int shop_ran[SHOP_NSTRATEGIES][ISO_NLEVELS];
    char server[64];
    int embedded;
    char *command;
    int passed, failed, errors;
    double elapsed_s;
};

/* qsort order of rows: the catalogue's order of anomalies, then file. */
int iso_row_cmp(const void *a, const void *b);
/* The matrix as a table on f. */
void iso_print_matrix(FILE *f, const struct matrix *m, const struct iso_opts *o);
/* summary.json, report.md, junit.xml and the step logs into o->out;
 * -1 when one could not be written. */
int iso_write_outputs(const struct matrix *m, const struct iso_opts *o, int code);

/* ---------------------------------------------------------------
 * Plain specs (iso_suite.c).
 * ------------------------------------------------------------ */
/* Run every plain spec of m on dsn; with o->expected compare each output
 * with NAME.out or NAME_N.out there.  Prints the outputs (or, with
 * --expected, a line per spec and the diffs of those that differ) on
 * stdout, counts into m->passed / m->failed.  0, or WEDGE_INCONCLUSIVE. */
int iso_run_plains(struct matrix *m, const struct iso_opts *o, const char *dsn);

#endif

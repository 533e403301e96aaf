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

#define ISO_EXIT_OK      0
#define ISO_EXIT_DIFFERS 1
#define ISO_EXIT_USAGE   2
#define ISO_EXIT_NODB    3

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
/* A session: connected with notices silenced; NULL with err. */
PGconn *iso_db_connect(const char *dsn, char *err, size_t errlen);
/* Run sql, expecting no error; -1 with err. */
int iso_db_exec(PGconn *c, const char *sql, char *err, size_t errlen);
/* 1 when the connection is gone. */
int iso_conn_lost(PGconn *c);
/* Run every permutation of sp at level into c (the anomaly occurred if
 * it occurred in any).  0 when the cell ran; else ISO_EXIT_USAGE (the
 * spec is at fault) or ISO_EXIT_NODB, with err. */
int iso_run_cell(const struct iso_spec *sp, enum iso_level level, const char *dsn, struct cell *c,
                 char *err, size_t errlen);

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
 * figures in st.  0, or ISO_EXIT_NODB with err. */
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

/* qsort order of rows: the catalogue's order of anomalies, then file. */
int iso_row_cmp(const void *a, const void *b);
/* The matrix as a table on f. */
void iso_print_matrix(FILE *f, const struct matrix *m, const struct iso_opts *o);
/* summary.json, report.md, junit.xml and the step logs into o->out;
 * -1 when one could not be written. */
int iso_write_outputs(const struct matrix *m, const struct iso_opts *o, int code);

#endif

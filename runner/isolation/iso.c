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
 *
 * Here: the command (options, specs, the run over every cell); the driver
 * is iso_driver.c, the shop workload iso_shop.c, the matrix and its files
 * iso_out.c, what they share iso_int.h.
 */
#include "iso.h"
#include "hist.h"
#include "iso_int.h"
#include "iso_spec.h"
#include "pg.h"
#include "redact.h"
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

/* How long a step may run or wait before the permutation fails. */
#define ISO_STEP_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)
/* Poll interval while a step has no result yet. */
#define ISO_POLL_MS 2

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
            if (util_duration_arg("isolation", "--shop-think", optarg, &o->shop.think_ns) < 0)
                return ISO_EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            util_bad_option("isolation", argv, "vh", longopts);
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
        char *a = redact_conninfo_dup(argv[i]), *w = util_shell_word(a);
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
            fatal = iso_run_cell(&r->spec, (enum iso_level)l, dsn, &r->cell[l], err, sizeof err);
            r->ran[l] = 1;
            if (o->verbose)
                fprintf(stderr, "== %s at %s: %s\n%s", r->spec.path,
                        iso_level_name((enum iso_level)l), iso_outcome_name(r->cell[l].observed),
                        r->cell[l].log ? r->cell[l].log : "");
            if (fatal == ISO_EXIT_NODB) {
                fprintf(stderr, "wedge: isolation: %s at %s: %s\n", r->spec.path,
                        iso_level_name((enum iso_level)l), iso_one_line(err));
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
            if (iso_shop_run(dsn, (enum shop_strategy)k, (enum iso_level)l, &o->shop, st, err,
                             sizeof err) != 0) {
                fprintf(stderr, "wedge: isolation: shop %s stock at %s: %s\n",
                        iso_shop_strategy_name[k], iso_level_name((enum iso_level)l),
                        iso_one_line(err));
                return ISO_EXIT_NODB;
            }
            m->shop_ran[k][l] = 1;
            if (st->observed == iso_shop_expect[k][l])
                m->passed++;
            else
                m->failed++;
        }
    }
    if (util_stop)
        return ISO_EXIT_NODB;
    return m->errors ? ISO_EXIT_USAGE : m->failed ? ISO_EXIT_DIFFERS : ISO_EXIT_OK;
}

static void drop_db(const char *admin_dsn, const char *name)
{
    char err[512], *sql;
    PGconn *c = iso_db_connect(admin_dsn, err, sizeof err);

    if (!c)
        return;
    sql = util_fmt("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    if (iso_db_exec(c, sql, err, sizeof err) < 0)
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
    int code, i, l, counted = 0;

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
    qsort(m.rows, (size_t)m.nrows, sizeof *m.rows, iso_row_cmp);
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
    counted = 1;
    if (o.dsn) {
        admin = o.dsn;
    } else {
        if (pg_cluster_start(&cluster, o.verbose, err, sizeof err) < 0) {
            fprintf(stderr, "wedge: isolation: cannot start the embedded PostgreSQL: %s\n",
                    iso_one_line(err));
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
        fprintf(stderr, "wedge: isolation: cannot create database %s: %s%s\n", db,
                iso_one_line(err),
                strstr(err, "permission denied") ? " (the run needs a role with CREATEDB)" : "");
        db[0] = '\0';
        code = ISO_EXIT_NODB;
        goto out;
    }
    {
        PGconn *c = iso_db_connect(dsn, err, sizeof err);
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
            iso_print_matrix(mem, &m, &o);
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
    if (o.out && iso_write_outputs(&m, &o, code) < 0 && code == ISO_EXIT_OK)
        code = ISO_EXIT_USAGE;
    goto out;
spec_error:
    fprintf(stderr, "wedge: %s\n", err);
    code = ISO_EXIT_USAGE;
out:
    /* The last line, once the matrix was to run: also when the server was
     * unavailable or the run was interrupted (3). */
    if (counted)
        printf("\n%d passed, %d failed\n", m.passed, m.failed);
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

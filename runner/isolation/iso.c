/*
 * iso.c - `wedge isolation`: run isolation specs (iso_spec.h) on a real
 * PostgreSQL.  Anomaly specs run at each level into the anomaly matrix,
 * and the shop's naive stock update (and its atomic twin) is raced under
 * each level; plain specs (PostgreSQL's own suite) run as its isolation
 * tester runs them, their output printed or compared with expected files.
 *
 * Here: the command's flow (specs, database, the run, the last line).  The
 * options are iso_cli.c; the step engine iso_driver.c with its log formats
 * iso_log.c; an anomaly cell iso_cell.c, a plain spec iso_plain.c and the
 * plain specs of a run iso_suite.c; the shop workload iso_shop.c; the
 * matrix and its files iso_out.c; what they share iso_int.h.
 */
#include "iso.h"
#include "iso_int.h"
#include "iso_spec.h"
#include "pg.h"
#include "timeunit.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * Specs.
 * ------------------------------------------------------------ */

static int spec_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".spec") == 0;
}

/* Load one spec file: an anomaly spec becomes a row of the matrix, a plain
 * one joins the plain specs. */
static int add_spec(struct matrix *m, const char *path, char *err, size_t errlen)
{
    struct iso_spec spec;

    if (iso_spec_load(path, &spec, err, errlen) < 0)
        return -1;
    if (iso_spec_is_anomaly(&spec)) {
        struct row *g = realloc(m->rows, sizeof *g * (size_t)(m->nrows + 1));
        if (!g)
            goto oom;
        m->rows = g;
        memset(&g[m->nrows], 0, sizeof *g);
        g[m->nrows++].spec = spec;
    } else {
        struct plain *g = realloc(m->plain, sizeof *g * (size_t)(m->nplain + 1));
        if (!g)
            goto oom;
        m->plain = g;
        memset(&g[m->nplain], 0, sizeof *g);
        g[m->nplain++].spec = spec;
    }
    return 0;
oom:
    iso_spec_free(&spec);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* A file, or every *.spec of a directory in name order. */
static int add_specs(struct matrix *m, const char *path, char *err, size_t errlen)
{
    struct dirent **list = NULL;
    struct stat st;
    int n, i, rc = 0;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
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

/* Every spec of the command line (or the default directory), and the
 * --permutation; 0 or WEDGE_USAGE with a message on stderr. */
static int load_specs(struct matrix *m, const struct iso_opts *o)
{
    char err[1024], dirbuf[PATH_MAX];
    int i;

    if (o->nspecs == 0 &&
        add_specs(m, iso_default_spec_dir(dirbuf, sizeof dirbuf), err, sizeof err) < 0)
        goto bad;
    for (i = 0; i < o->nspecs; i++)
        if (add_specs(m, o->specs[i], err, sizeof err) < 0)
            goto bad;
    if (m->nrows > 1)
        qsort(m->rows, (size_t)m->nrows, sizeof *m->rows, iso_row_cmp);
    if (!o->permutation)
        return 0;
    if (m->nrows + m->nplain != 1) {
        fprintf(stderr,
                "wedge: isolation: --permutation needs exactly one spec (--spec FILE), not %d\n",
                m->nrows + m->nplain);
        return WEDGE_USAGE;
    }
    if (iso_override_permutation(m->nrows ? &m->rows[0].spec : &m->plain[0].spec, o->permutation) <
        0)
        return WEDGE_USAGE;
    return 0;
bad:
    fprintf(stderr, "wedge: %s\n", err);
    return WEDGE_USAGE;
}

/* --check: what each spec is, nothing run. */
static void print_check(const struct matrix *m)
{
    int i;

    if (m->nrows)
        printf("%-24s %-16s %-16s %-16s %s\n", "anomaly (expected)", "read-committed",
               "repeatable-read", "serializable", "file");
    for (i = 0; i < m->nrows; i++)
        printf("%-24s %-16s %-16s %-16s %s\n", m->rows[i].spec.anomaly,
               iso_outcome_name(m->rows[i].spec.expect[ISO_READ_COMMITTED]),
               iso_outcome_name(m->rows[i].spec.expect[ISO_REPEATABLE_READ]),
               iso_outcome_name(m->rows[i].spec.expect[ISO_SERIALIZABLE]), m->rows[i].spec.path);
    for (i = 0; i < m->nplain; i++) {
        const struct iso_spec *s = &m->plain[i].spec;
        printf("plain spec: %d sessions, %d steps, ", s->nsessions, s->nsteps);
        if (s->nperms)
            printf("%d permutations", s->nperms);
        else
            printf("every permutation");
        printf(" %s\n", s->path);
    }
    printf("%d specs parse\n", m->nrows + m->nplain);
}

/* ---------------------------------------------------------------
 * The run.
 * ------------------------------------------------------------ */

static int run_cell(struct row *r, enum iso_level l, const struct iso_opts *o, const char *dsn,
                    char *err, size_t errlen)
{
    char *app = util_fmt("isolation/%s", r->spec.name);
    struct iso_cell_opts co = {.dsn = dsn, .appname = app, .fmt = o->fmt};
    int rc;

    if (co.fmt == ISO_FMT_DEFAULT)
        co.fmt = ISO_FMT_WEDGE;
    rc = iso_run_cell(&r->spec, l, &co, &r->cell[l], err, errlen);
    free(app);
    return rc;
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
                return WEDGE_INCONCLUSIVE;
            fatal = run_cell(r, (enum iso_level)l, o, dsn, err, sizeof err);
            r->ran[l] = 1;
            if (o->verbose)
                fprintf(stderr, "== %s at %s: %s\n%s", r->spec.path,
                        iso_level_name((enum iso_level)l), iso_outcome_name(r->cell[l].observed),
                        r->cell[l].log ? r->cell[l].log : "");
            if (fatal == WEDGE_INCONCLUSIVE) {
                fprintf(stderr, "wedge: isolation: %s at %s: %s\n", r->spec.path,
                        iso_level_name((enum iso_level)l), iso_one_line(err));
                return WEDGE_INCONCLUSIVE;
            }
            if (r->cell[l].observed == r->spec.expect[l])
                m->passed++;
            else
                m->failed++;
            m->errors += r->cell[l].observed == ISO_ERROR;
        }
    }
    for (k = 0; k < SHOP_NSTRATEGIES && o->shop.orders > 0 && m->nrows > 0; k++) {
        for (l = 0; l < ISO_NLEVELS; l++) {
            struct shop_stats *st = &m->shop[k][l];
            if (!o->level[l])
                continue;
            if (util_stop)
                return WEDGE_INCONCLUSIVE;
            if (iso_shop_run(dsn, (enum shop_strategy)k, (enum iso_level)l, &o->shop, st, err,
                             sizeof err) != 0) {
                fprintf(stderr, "wedge: isolation: shop %s stock at %s: %s\n",
                        iso_shop_strategy_name[k], iso_level_name((enum iso_level)l),
                        iso_one_line(err));
                return WEDGE_INCONCLUSIVE;
            }
            m->shop_ran[k][l] = 1;
            if (st->observed == iso_shop_expect[k][l])
                m->passed++;
            else
                m->failed++;
        }
    }
    if (util_stop || iso_run_plains(m, o, dsn) != 0)
        return WEDGE_INCONCLUSIVE;
    return m->errors ? WEDGE_USAGE : m->failed ? WEDGE_VIOLATED : WEDGE_PASS;
}

/* ---------------------------------------------------------------
 * The database.
 * ------------------------------------------------------------ */

static void drop_db(const char *admin_dsn, const char *name)
{
    char err[512], *sql, *q;
    PGconn *c = iso_db_connect(admin_dsn, err, sizeof err);

    if (!c)
        return;
    q = PQescapeIdentifier(c, name, strlen(name));
    sql = util_fmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", q ? q : "?");
    if (iso_db_exec(c, sql, err, sizeof err) < 0)
        fprintf(stderr, "wedge: isolation: %s\n", err);
    PQfreemem(q);
    free(sql);
    PQfinish(c);
}

/* The settings pg_regress gives its database (and PGTZ, PGDATESTYLE), so
 * that plain specs print what their expected files hold. */
static void regress_settings(PGconn *c, const char *db)
{
    static const char *const set[] = {"lc_messages TO 'C'",
                                      "lc_monetary TO 'C'",
                                      "lc_numeric TO 'C'",
                                      "lc_time TO 'C'",
                                      "bytea_output TO 'hex'",
                                      "timezone_abbreviations TO 'Default'",
                                      "timezone TO 'America/Los_Angeles'",
                                      "datestyle TO 'Postgres, MDY'"};
    char err[512], *q = PQescapeIdentifier(c, db, strlen(db));
    size_t i;

    for (i = 0; q && i < sizeof set / sizeof set[0]; i++) {
        char *sql = util_fmt("ALTER DATABASE %s SET %s", q, set[i]);
        if (iso_db_exec(c, sql, err, sizeof err) < 0)
            fprintf(stderr, "wedge: isolation: %s: %s (outputs may differ from the expected)\n",
                    sql, err);
        free(sql);
    }
    PQfreemem(q);
}

/* The server (embedded unless --dsn) and a fresh database on it: its DSN
 * in dsn, its name in db.  0, or the exit code with a message printed. */
static int open_db(struct matrix *m, const struct iso_opts *o, struct pg_cluster *cluster,
                   const char **admin, char *dsn, size_t dsnlen, char *db, size_t dblen)
{
    char err[1024];
    PGconn *c;

    *admin = o->dsn;
    if (!o->dsn) {
        if (pg_cluster_start(cluster, o->verbose, err, sizeof err) < 0) {
            fprintf(stderr, "wedge: isolation: cannot start the embedded PostgreSQL: %s\n",
                    iso_one_line(err));
            return WEDGE_INCONCLUSIVE;
        }
        *admin = cluster->dsn;
        m->embedded = 1;
    }
    snprintf(db, dblen, "%s", o->dbname ? o->dbname : "");
    if (!o->dbname)
        snprintf(db, dblen, "wedge_iso_%d", (int)getpid());
    if (pg_fresh_db(*admin, db, dsn, dsnlen, err, sizeof err) < 0) {
        /* The specs create and drop tables: they never run in a database
         * of the user's, so a role that may not CREATE DATABASE stops here. */
        fprintf(stderr, "wedge: isolation: cannot create database %s: %s%s\n", db,
                iso_one_line(err),
                strstr(err, "permission denied") ? " (the run needs a role with CREATEDB)" : "");
        db[0] = '\0';
        return WEDGE_INCONCLUSIVE;
    }
    c = iso_db_connect(dsn, err, sizeof err);
    if (!c) {
        fprintf(stderr, "wedge: isolation: %s\n", err);
        return WEDGE_INCONCLUSIVE;
    }
    snprintf(m->server, sizeof m->server, "%s",
             PQparameterStatus(c, "server_version") ? PQparameterStatus(c, "server_version") : "?");
    if (m->nplain > 0)
        regress_settings(c, db);
    PQfinish(c);
    return 0;
}

/* ---------------------------------------------------------------
 * The command.
 * ------------------------------------------------------------ */

/* The matrix on stdout, each line without the blanks that pad it. */
static void print_matrix(const struct matrix *m, const struct iso_opts *o)
{
    char *text = NULL, *line;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (!mem)
        return;
    iso_print_matrix(mem, m, o);
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

static void announce(const struct matrix *m, const struct iso_opts *o)
{
    int l;

    fprintf(stderr, "wedge: isolation: %d specs", m->nrows + m->nplain);
    if (m->nrows) {
        fprintf(stderr, " at");
        for (l = 0; l < ISO_NLEVELS; l++)
            if (o->level[l])
                fprintf(stderr, " %s", iso_level_name((enum iso_level)l));
    }
    fprintf(stderr, " on PostgreSQL %s%s\n", m->server, m->embedded ? " (embedded)" : "");
}

static void free_matrix(struct matrix *m)
{
    int i, l;

    for (i = 0; i < m->nrows; i++) {
        for (l = 0; l < ISO_NLEVELS; l++) {
            free(m->rows[i].cell[l].log);
            free(m->rows[i].cell[l].why);
        }
        iso_spec_free(&m->rows[i].spec);
    }
    for (i = 0; i < m->nplain; i++) {
        free(m->plain[i].out);
        free(m->plain[i].expected);
        iso_spec_free(&m->plain[i].spec);
    }
    free(m->rows);
    free(m->plain);
    free(m->command);
}

/* The run proper, once the specs are loaded: database, cells, outputs. */
static int run_command(struct matrix *m, const struct iso_opts *o, struct pg_cluster *cluster,
                       const char **admin, char *db, size_t dblen)
{
    char dsn[1024];
    uint64_t t0 = util_now_ns();
    int code;

    code = open_db(m, o, cluster, admin, dsn, sizeof dsn, db, dblen);
    if (code != 0)
        return code;
    announce(m, o);
    code = run_all(m, o, dsn);
    m->elapsed_s = (double)(util_now_ns() - t0) / (double)NS_PER_S;
    if (util_stop)
        fprintf(stderr, "wedge: isolation: interrupted by signal %d\n", (int)util_stop);
    if (code == WEDGE_INCONCLUSIVE)
        return code;
    if (m->nrows > 0)
        print_matrix(m, o);
    if (o->out && iso_write_outputs(m, o, code) < 0 && code == WEDGE_PASS)
        code = WEDGE_USAGE;
    return code;
}

int iso_main(int argc, char **argv)
{
    struct iso_opts o = {0};
    struct matrix m = {0};
    struct pg_cluster cluster = {0};
    char db[128] = "";
    const char *admin = NULL;
    int code;

    code = iso_parse_args(argc, argv, &o);
    if (code != WEDGE_PASS) {
        free(o.specs);
        return code < 0 ? WEDGE_PASS : code;
    }
    m.command = iso_join_command(argc, argv);
    code = load_specs(&m, &o);
    if (code == 0 && o.check_only)
        print_check(&m);
    if (code == 0 && !o.check_only) {
        util_install_signals();
        code = run_command(&m, &o, &cluster, &admin, db, sizeof db);
        /* The last line, once the run started: also when the server was
         * unavailable or the run was interrupted (3).  With plain specs
         * alone and no --expected, stdout is the tester's output only. */
        fprintf(m.nrows > 0 || o.expected ? stdout : stderr, "\n%d passed, %d failed\n", m.passed,
                m.failed);
    }
    fflush(stdout);
    if (db[0])
        drop_db(admin, db);
    if (m.embedded)
        pg_cluster_stop(&cluster);
    free_matrix(&m);
    free(o.specs);
    return code;
}

/*
 * pg_cmd.c - `wedge pg start|stop|env`: a throwaway cluster that outlives
 * the command, for a shell or CI.  The cluster is pg.c's; where it is
 * recorded and what is checked before the record is believed, pg_state.c.
 */
#include "cli.h"
#include "pg.h"
#include "pg_state.h"
#include "util.h"
#include "wedge_exit.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void pg_usage(FILE *f)
{
    fprintf(f, "usage: wedge pg start|stop|env [--state FILE] [--quiet]\n"
               "\n"
               "A throwaway PostgreSQL cluster that outlives the command, for a shell or CI.\n"
               "  start    initdb into a temporary directory, start postgres on a free\n"
               "           127.0.0.1 port (fsync off, user wedge with a random password in\n"
               "           a 0600 password file), print 'export WEDGE_DSN=...' lines;\n"
               "           eval \"$(wedge pg start)\" sets them\n"
               "  env      print the export lines of the running cluster\n"
               "  stop     stop it (fast, then immediate, then SIGKILL) and remove its directory\n"
               "\n"
               "  --state FILE  where start records the cluster (default\n"
               "                $XDG_RUNTIME_DIR/wedge-pg.state when that directory is private,\n"
               "                else /tmp/wedge-UID/wedge-pg.state); the password goes to\n"
               "                FILE.pgpass\n"
               "  -q, --quiet   no progress lines on stderr\n"
               "  -h, --help    this text\n"
               "\n"
               "Environment: WEDGE_PG_BINDIR (initdb, postgres; default the one the build\n"
               "found, else the newest /usr/lib/postgresql/N/bin), TMPDIR (where the\n"
               "cluster directory wedge-pg-XXXXXX goes; default /tmp).\n"
               "Exit: 0 done, 2 usage or a state file wedge does not trust, 3 the cluster\n"
               "could not start or none is running.\n");
}

/* The export lines, every value quoted for the shell that evaluates them. */
static void pg_print_env(const struct pg_cluster *c, const char *state)
{
    char passfile[PATH_MAX + 8], dsn[PATH_MAX * 2 + 128];
    char *w_dsn, *w_pass;
    size_t n;
    pgs_passfile(state, passfile, sizeof(passfile));
    n = (size_t)snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d user=wedge dbname=postgres",
                         c->port);
    pg_conninfo_add(dsn, sizeof(dsn), &n, "passfile", passfile);
    w_dsn = util_shell_word(dsn);
    w_pass = util_shell_word(passfile);
    printf("export WEDGE_DSN=%s\n", w_dsn);
    printf("export PGHOST=127.0.0.1 PGPORT=%d PGUSER=wedge PGDATABASE=postgres PGPASSFILE=%s\n",
           c->port, w_pass);
    free(w_dsn);
    free(w_pass);
}

/* The recorded cluster: *verdict and c, and WEDGE_PASS; WEDGE_USAGE after
 * the message when the record is not trusted or names what is not ours. */
static int pg_recorded(const char *state, struct pg_cluster *c, int *verdict)
{
    char err[1024];
    int r = pgs_read(state, c, err, sizeof(err));
    *verdict = PGS_GONE;
    if (r < 0) {
        fprintf(stderr, "wedge: pg: %s\n", err);
        return WEDGE_USAGE;
    }
    if (r == 0)
        return WEDGE_PASS;
    *verdict = pgs_check(c, NULL, err, sizeof(err));
    if (*verdict == PGS_NOT_OURS) {
        fprintf(stderr, "wedge: pg: %s: %s\n", state, err);
        return WEDGE_USAGE;
    }
    return WEDGE_PASS;
}

static int pg_start(const char *state, int quiet)
{
    struct pg_cluster c;
    char err[4096];
    int verdict, rc = pg_recorded(state, &c, &verdict);
    if (rc)
        return rc;
    if (verdict == PGS_RUNNING) {
        if (!quiet)
            fprintf(stderr, "wedge: pg: already running (%s)\n", state);
        pg_print_env(&c, state);
        return WEDGE_PASS;
    }
    if (verdict == PGS_STOPPED)
        util_rm_rf(c.dir); /* ours (its marker says so), and no server runs in it */
    util_install_signals();
    if (pg_cluster_start(&c, !quiet, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: pg: %s\n", err);
        return WEDGE_INCONCLUSIVE;
    }
    if (pgs_write(state, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: pg: %s\n", err);
        pg_cluster_stop(&c);
        return WEDGE_INCONCLUSIVE;
    }
    if (util_stop) {
        char passfile[PATH_MAX + 8];
        pgs_passfile(state, passfile, sizeof(passfile));
        pg_cluster_stop(&c);
        unlink(passfile);
        unlink(state);
        return WEDGE_INCONCLUSIVE;
    }
    /* It stays up: forget it so no exit path removes it. */
    pg_cluster_keep(&c);
    pg_print_env(&c, state);
    if (!quiet)
        fprintf(stderr, "wedge: pg: running; 'wedge pg stop' removes it\n");
    return WEDGE_PASS;
}

static int pg_stop(const char *state, int quiet)
{
    struct pg_cluster c;
    char err[1024], passfile[PATH_MAX + 8];
    int pidfd = -1, r = pgs_read(state, &c, err, sizeof(err));
    enum pgs_verdict v;
    if (r < 0) {
        fprintf(stderr, "wedge: pg: %s\n", err);
        return WEDGE_USAGE;
    }
    if (r == 0) {
        if (!quiet)
            fprintf(stderr, "wedge: pg: no cluster recorded in %s\n", state);
        return WEDGE_PASS;
    }
    v = pgs_check(&c, &pidfd, err, sizeof(err));
    if (v == PGS_NOT_OURS) {
        fprintf(stderr, "wedge: pg: %s: %s: not touching it\n", state, err);
        return WEDGE_USAGE;
    }
    if (v == PGS_RUNNING && pgs_stop_postmaster(&c, pidfd) < 0) {
        fprintf(stderr, "wedge: pg: postmaster %ld of %s would not stop\n", (long)c.postmaster,
                c.dir);
        close(pidfd);
        return WEDGE_INCONCLUSIVE;
    }
    if (pidfd >= 0)
        close(pidfd);
    if (v != PGS_GONE)
        util_rm_rf(c.dir);
    pgs_passfile(state, passfile, sizeof(passfile));
    unlink(passfile);
    unlink(state);
    if (!quiet)
        fprintf(stderr, "wedge: pg: %s\n",
                v == PGS_GONE ? "the recorded cluster was already gone: forgot it"
                              : "stopped and removed");
    return WEDGE_PASS;
}

int pg_main(int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char state[PATH_MAX], err[1024];
    const char *given = NULL, *cmd;
    int quiet = 0, opt, verdict, rc;
    struct pg_cluster c;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "s:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            given = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            pg_usage(stdout);
            return WEDGE_PASS;
        default:
            return util_bad_option("pg", argv, "s:qh", opts);
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "wedge: pg: expected one of start, stop, env\n");
        pg_usage(stderr);
        return WEDGE_USAGE;
    }
    cmd = argv[optind];
    if (strcmp(cmd, "start") && strcmp(cmd, "stop") && strcmp(cmd, "env")) {
        fprintf(stderr, "wedge: pg: unknown command '%s' (expected start, stop or env)\n", cmd);
        return WEDGE_USAGE;
    }
    if (given && strlen(given) + 16 >= sizeof(state)) {
        fprintf(stderr, "wedge: pg: --state: path too long\n");
        return WEDGE_USAGE;
    }
    if (given) {
        snprintf(state, sizeof(state), "%s", given);
    } else if (pgs_private_dir(state, sizeof(state) - 16, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: pg: %s\n", err);
        return WEDGE_USAGE;
    } else {
        strcat(state, "/wedge-pg.state");
    }
    if (!strcmp(cmd, "start"))
        return pg_start(state, quiet);
    if (!strcmp(cmd, "stop"))
        return pg_stop(state, quiet);
    rc = pg_recorded(state, &c, &verdict);
    if (rc)
        return rc;
    if (verdict != PGS_RUNNING) {
        fprintf(stderr, "wedge: pg: no cluster running (%s); 'wedge pg start' starts one\n", state);
        return WEDGE_INCONCLUSIVE;
    }
    pg_print_env(&c, state);
    return WEDGE_PASS;
}

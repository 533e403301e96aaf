/*
 * pg.h - the embedded default: a throwaway PostgreSQL cluster.
 *
 * initdb into a fresh temporary directory, a free loopback port, fsync=off,
 * trust authentication for the superuser "wedge" on 127.0.0.1 only.  When
 * wedge runs as root the cluster runs as an unprivileged user (postgres if
 * it exists, else nobody).  Binaries come from $WEDGE_PG_BINDIR, else the
 * build's WEDGE_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin.
 */
#ifndef WEDGE_PG_H
#define WEDGE_PG_H

#include <stddef.h>
#include <sys/types.h>

struct pg_cluster {
    char dir[256]; /* the temporary directory (data in dir/data) */
    char dsn[512]; /* "host=127.0.0.1 port=N user=wedge dbname=postgres" */
    int port;
    pid_t postmaster;
    int owned; /* 1 if this process started it (and must remove it) */
};

/* Start a cluster; progress lines go to stderr when verbose.  On error -1
 * and a message in err (naming the binary or step that failed and its log). */
int pg_cluster_start(struct pg_cluster *c, int verbose, char *err, size_t errlen);
/* Stop the postmaster (fast, then immediate, then SIGKILL; bounded) and
 * remove the directory.  Safe to call twice and from an atexit path. */
void pg_cluster_stop(struct pg_cluster *c);
/* Stop every cluster this process started (signal / atexit cleanup). */
void pg_cluster_stop_all(void);

/* Create a fresh database NAME on the cluster / server (DROP IF EXISTS
 * first) and write its DSN into dsn_out. */
int pg_fresh_db(const char *admin_dsn, const char *name, char *dsn_out, size_t dsnlen, char *err,
                size_t errlen);

/* wedge pg start|stop|env: the subcommand keeping one cluster for a shell
 * (design, "Embedded default"); argv as cli.h's commands take it. */
int pg_main(int argc, char **argv);

#endif

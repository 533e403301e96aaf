/*
 * pg.h - the embedded default: a throwaway PostgreSQL cluster.
 *
 * initdb into a fresh temporary directory, a free loopback port, fsync=off,
 * TCP on 127.0.0.1 only, and SCRAM-SHA-256 password authentication for the
 * superuser "wedge" with a random password: other local users cannot use
 * the cluster (trust authentication would let any of them run programs as
 * its owner through COPY ... TO PROGRAM).  The directory holds a marker
 * file (PG_MARKER) with the cluster's random id, so that `wedge pg stop`
 * removes only what wedge created.  When wedge runs as root the cluster
 * runs as an unprivileged user (postgres if it exists, else nobody).
 * Binaries come from $WEDGE_PG_BINDIR, else the build's WEDGE_PG_BINDIR,
 * else the newest /usr/lib/postgresql/N/bin.
 */
#ifndef WEDGE_PG_H
#define WEDGE_PG_H

#include <stddef.h>
#include <sys/types.h>

/* The marker file in a cluster's directory: "wedge-cluster ID\n". */
#define PG_MARKER "wedge-cluster"
/* Hex digits of a password and of a cluster id (128 random bits each). */
#define PG_SECRET_HEX 32

struct pg_cluster {
    char dir[256];                    /* the temporary directory (data in dir/data) */
    char dsn[512];                    /* "host=127.0.0.1 port=N user=wedge dbname=postgres
                                        *  password=HEX": hand it on, never print it */
    char password[PG_SECRET_HEX + 1]; /* of the superuser wedge */
    char id[PG_SECRET_HEX + 1];       /* the marker's id */
    int port;
    pid_t postmaster;
    int owned; /* 1 if this process started it (and must remove it) */
};

/* Start a cluster; progress lines go to stderr when verbose.  On error -1
 * and a message in err (naming the binary or step that failed and its log). */
int pg_cluster_start(struct pg_cluster *c, int verbose, char *err, size_t errlen);
/* Stop the postmaster (fast, then immediate, then SIGKILL; bounded) and
 * remove the directory.  Safe to call twice and from an atexit path.  For
 * a cluster this process did not start (wedge pg stop), check it first
 * with pgs_check (pg_state.h). */
void pg_cluster_stop(struct pg_cluster *c);
/* Stop every cluster this process started (signal / atexit cleanup). */
void pg_cluster_stop_all(void);

/* Create a fresh database NAME on the cluster / server (DROP IF EXISTS
 * first) and write its DSN into dsn_out. */
int pg_fresh_db(const char *admin_dsn, const char *name, char *dsn_out, size_t dsnlen, char *err,
                size_t errlen);

/* Append " KEY=VALUE" (no blank first when *n is 0) to the conninfo out,
 * VALUE single-quoted as libpq reads it (a backslash before ' and \) unless
 * it is one plain word; *n counts what would have been written, as
 * snprintf does: >= len means it did not fit. */
void pg_conninfo_add(char *out, size_t len, size_t *n, const char *key, const char *val);

/* Forget c: no pg_cluster_stop_all removes it (wedge pg start keeps it). */
void pg_cluster_keep(struct pg_cluster *c);

#endif

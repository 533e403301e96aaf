/*
 * pg_state.h - where `wedge pg` records the cluster it keeps running, and
 * the checks that keep that record from being turned against its user.
 *
 * `wedge pg stop` signals a process and removes a directory tree, and
 * `wedge pg start|env` print lines a shell evaluates: whoever can write the
 * record could aim both.  So the record lives in a private directory, is
 * written 0600 through a new file renamed into place, is read only when its
 * user owns it and nobody else may write it, and even then `stop` acts only
 * on a canonical directory holding wedge's marker with the recorded id, and
 * signals only the pid that directory's postmaster.pid names, when that
 * process is postgres running in that directory.
 *
 * Not thread-safe (the `wedge pg` command owns the process).
 */
#ifndef WEDGE_PG_STATE_H
#define WEDGE_PG_STATE_H

#include <stddef.h>

#include "pg.h"

/* The private directory: $XDG_RUNTIME_DIR when it is a directory the user
 * owns with no group or other access, else /tmp/wedge-UID, created 0700 if
 * missing and refused when it is not a directory of the user's own with no
 * group or other access (a symlink included).  0, or -1 with err. */
int pgs_private_dir(char *out, size_t len, char *err, size_t errlen);

/* The password file that goes with a state file: STATE.pgpass. */
void pgs_passfile(const char *state, char *out, size_t len);

/* Record c in state (and its password in STATE.pgpass, the format of
 * libpq's PGPASSFILE), each 0600 through util_write_private.  0, or -1
 * with err. */
int pgs_write(const char *state, const struct pg_cluster *c, char *err, size_t errlen);

/* Read state into c (dir, id, port, postmaster; not the password).
 * 1 read; 0 there is none; -1 refused (not a regular file, owned by someone
 * else, writable by group or other, or not what pgs_write writes), err
 * says why. */
int pgs_read(const char *state, struct pg_cluster *c, char *err, size_t errlen);

enum pgs_verdict {
    PGS_NOT_OURS = -1, /* c->dir is not this wedge cluster: touch nothing */
    PGS_GONE = 0,      /* its directory no longer exists */
    PGS_STOPPED = 1,   /* ours, and no postmaster of it runs */
    PGS_RUNNING = 2,   /* ours, and c->postmaster is its running postmaster */
};

/* Check what c (from pgs_read) names.  PGS_RUNNING only when the
 * directory is canonical, holds the marker with c->id, its postmaster.pid
 * names c->postmaster and that process runs postgres in c->dir/data; then
 * *pidfd (when not NULL) holds a pidfd of it, so the process checked is the
 * one signalled (-1 where the kernel has no pidfd_open).  err says why
 * for PGS_NOT_OURS. */
enum pgs_verdict pgs_check(const struct pg_cluster *c, int *pidfd, char *err, size_t errlen);

/* Stop the postmaster pgs_check found running (SIGINT, SIGQUIT, SIGKILL,
 * each bounded) through pidfd; 0 once it is gone, -1 if it would not go. */
int pgs_stop_postmaster(const struct pg_cluster *c, int pidfd);

#endif

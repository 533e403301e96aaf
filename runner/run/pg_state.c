/*
 * pg_state.c - the record of a cluster `wedge pg` keeps running, and the
 * checks made before anything in it is believed (pg_state.h says why).
 */
#include "pg_state.h"
#include "timeunit.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Larger than anything pgs_write writes: a bigger file is not ours. */
#define PGS_MAX_STATE 4096

/* ---------------------------------------------------------------
 * The private directory.
 * ------------------------------------------------------------ */
/* Is path a directory of ours with no group or other access?  Checked on
 * an O_NOFOLLOW descriptor, so a symlink planted there is refused, not
 * followed.  0, or -1 with why. */
static int pgs_dir_private(const char *path, char *why, size_t whylen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s",
                 errno == ELOOP || errno == ENOTDIR ? "it is a symlink or not a directory"
                                                    : strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    if (st.st_uid != geteuid()) {
        snprintf(why, whylen, "it is owned by uid %u, not by you (uid %u)", (unsigned)st.st_uid,
                 (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(why, whylen, "it has group or other access (mode %04o, expected 0700)",
                 (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

int pgs_private_dir(char *out, size_t len, char *err, size_t errlen)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    char why[256];
    /* $XDG_RUNTIME_DIR only when it is private: under sudo it is often the
     * invoking user's. */
    if (rt && rt[0] == '/' && pgs_dir_private(rt, why, sizeof(why)) == 0) {
        snprintf(out, len, "%s", rt);
        return 0;
    }
    snprintf(out, len, "/tmp/wedge-%u", (unsigned)geteuid());
    if (mkdir(out, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create it: %s", out, strerror(errno));
        return -1;
    }
    if (pgs_dir_private(out, why, sizeof(why)) < 0) {
        snprintf(err, errlen,
                 "%s: %s; it must be a directory of yours with mode 0700: remove it, or set "
                 "XDG_RUNTIME_DIR to such a directory, or give --state FILE",
                 out, why);
        return -1;
    }
    return 0;
}

void pgs_passfile(const char *state, char *out, size_t len)
{
    snprintf(out, len, "%s.pgpass", state);
}

/* ---------------------------------------------------------------
 * Writing and reading the record.
 * ------------------------------------------------------------ */
int pgs_write(const char *state, const struct pg_cluster *c, char *err, size_t errlen)
{
    char passfile[PATH_MAX + 8];
    char *pass = util_fmt("127.0.0.1:%d:*:wedge:%s\n", c->port, c->password);
    char *text =
        util_fmt("dir=%s\nid=%s\nport=%d\npid=%ld\n", c->dir, c->id, c->port, (long)c->postmaster);
    int rc;
    pgs_passfile(state, passfile, sizeof(passfile));
    rc = util_write_private(passfile, pass, err, errlen);
    if (rc == 0)
        rc = util_write_private(state, text, err, errlen);
    free(pass);
    free(text);
    return rc;
}

static int pgs_is_hex_id(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n == PG_SECRET_HEX && !s[n];
}

/* A whole decimal number in [lo, hi]; -1 when it is not. */
static long pgs_number(const char *s, long lo, long hi)
{
    char *end;
    long v;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno || *end || v < lo || v > hi ? -1 : v;
}

/* One "key=value" line into c; -1 when it is not one pgs_write writes. */
static int pgs_line(char *line, struct pg_cluster *c, unsigned *seen)
{
    static const char *const keys[] = {"dir=", "id=", "port=", "pid="};
    for (unsigned k = 0; k < 4; k++) {
        size_t n = strlen(keys[k]);
        const char *v = line + n;
        if (strncmp(line, keys[k], n) != 0)
            continue;
        if (*seen & (1u << k))
            return -1;
        *seen |= 1u << k;
        if (k == 0 && v[0] == '/' && strlen(v) < sizeof(c->dir))
            snprintf(c->dir, sizeof(c->dir), "%s", v);
        else if (k == 1 && pgs_is_hex_id(v))
            snprintf(c->id, sizeof(c->id), "%s", v);
        else if (k == 2 && (c->port = (int)pgs_number(v, 1, 65535)) > 0)
            ;
        else if (k == 3 && (c->postmaster = (pid_t)pgs_number(v, 2, INT32_MAX)) > 0)
            ;
        else
            return -1;
        return 0;
    }
    return -1;
}

/* The state file's text, from a descriptor that never followed a symlink,
 * when its owner is us and nobody else may write it. */
static int pgs_read_trusted(const char *state, char *buf, size_t size, size_t *len, char *err,
                            size_t errlen)
{
    struct stat st;
    ssize_t n = -1;
    int fd = open(state, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", state,
                 errno == ELOOP ? "a symlink, not trusted" : strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0)
        snprintf(err, errlen, "%s: %s", state, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "%s: not a regular file, not trusted", state);
    else if (st.st_uid != geteuid())
        snprintf(err, errlen, "%s: owned by uid %u, not by you (uid %u): not trusted", state,
                 (unsigned)st.st_uid, (unsigned)geteuid());
    else if (st.st_mode & 022)
        snprintf(err, errlen, "%s: writable by group or others (mode %04o): not trusted", state,
                 (unsigned)(st.st_mode & 07777));
    else if ((n = read(fd, buf, size - 1)) < 0)
        snprintf(err, errlen, "%s: %s", state, strerror(errno));
    else if ((size_t)n == size - 1)
        snprintf(err, errlen, "%s: larger than a wedge state file: not trusted", state), n = -1;
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    *len = (size_t)n;
    return 1;
}

int pgs_read(const char *state, struct pg_cluster *c, char *err, size_t errlen)
{
    char buf[PGS_MAX_STATE], *save = NULL;
    unsigned seen = 0;
    size_t len = 0;
    int rc, lineno = 0;
    memset(c, 0, sizeof(*c));
    rc = pgs_read_trusted(state, buf, sizeof(buf), &len, err, errlen);
    if (rc <= 0)
        return rc;
    if (!len || strlen(buf) != len || buf[len - 1] != '\n') {
        snprintf(err, errlen, "%s: not a wedge state file (incomplete)", state);
        return -1;
    }
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (pgs_line(l, c, &seen) < 0) {
            snprintf(err, errlen, "%s:%d: not a line wedge pg writes ('%.40s'): not trusted", state,
                     lineno, l);
            return -1;
        }
    }
    if (seen != 0xf) {
        snprintf(err, errlen, "%s: not a wedge state file (expected dir=, id=, port=, pid=)",
                 state);
        return -1;
    }
    return 1;
}

/* ---------------------------------------------------------------
 * Is it ours?
 * ------------------------------------------------------------ */
/* The marker: a regular file of ours in the directory, "wedge-cluster ID". */
static int pgs_marker_ok(int dfd, const char *id)
{
    char want[sizeof(PG_MARKER) + PG_SECRET_HEX + 3], got[sizeof(want) + 1];
    struct stat st;
    ssize_t n = -1;
    int fd = openat(dfd, PG_MARKER, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    snprintf(want, sizeof(want), "%s %s\n", PG_MARKER, id);
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
        n = read(fd, got, sizeof(got) - 1);
    close(fd);
    if (n < 0)
        return 0;
    got[n] = '\0';
    return strcmp(got, want) == 0;
}

/* The pid on the first line of data/postmaster.pid; 0 when there is none
 * (a stopped server removes it), -1 when it is unreadable. */
static long pgs_postmaster_pid(int dfd)
{
    char buf[32];
    ssize_t n;
    int fd = openat(dfd, "data/postmaster.pid", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return pgs_number(buf, 2, INT32_MAX);
}

/* Does pid run postgres with its working directory in dir/data (where
 * the postmaster changes to)?  A pid reused by any other program is not. */
static int pgs_is_postmaster_of(pid_t pid, const char *dir)
{
    char path[64], exe[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX];
    const char *base;
    ssize_t n;
    snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
    n = readlink(path, exe, sizeof(exe) - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
    /* " (deleted)": the package was upgraded under a running server */
    if (strcmp(base, "postgres") != 0 && strcmp(base, "postgres (deleted)") != 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%ld/cwd", (long)pid);
    n = readlink(path, cwd, sizeof(cwd) - 1);
    if (n <= 0)
        return 0;
    cwd[n] = '\0';
    snprintf(want, sizeof(want), "%s/data", dir);
    return strcmp(cwd, want) == 0;
}

static int pgs_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

/* 1 when the process behind pidfd (or pid, without one) has exited. */
static int pgs_exited(int pidfd, pid_t pid)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    if (pidfd >= 0)
        return poll(&p, 1, 0) == 1;
    return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Is c->dir the canonical path of a wedge cluster directory with c->id?
 * Its descriptor, or -1 with err (errno ENOENT: it is gone). */
static int pgs_open_dir(const struct pg_cluster *c, char *err, size_t errlen)
{
    const char *base = strrchr(c->dir, '/');
    char *real = realpath(c->dir, NULL);
    int dfd = -1;
    if (!real) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", c->dir, strerror(e));
        errno = e;
        return -1;
    }
    if (strcmp(real, c->dir) != 0 || !base || strncmp(base, "/wedge-pg-", 10) != 0)
        snprintf(err, errlen, "'%s' is not the canonical path of a wedge-pg-* directory", c->dir);
    else if ((dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        snprintf(err, errlen, "%s: %s", c->dir, strerror(errno));
    else if (!pgs_marker_ok(dfd, c->id)) {
        snprintf(err, errlen, "%s holds no wedge marker with the recorded id", c->dir);
        close(dfd);
        dfd = -1;
    }
    free(real);
    errno = 0;
    return dfd;
}

enum pgs_verdict pgs_check(const struct pg_cluster *c, int *pidfd, char *err, size_t errlen)
{
    enum pgs_verdict v = PGS_NOT_OURS;
    int dfd = pgs_open_dir(c, err, errlen), fd = -1;
    long pid;
    if (pidfd)
        *pidfd = -1;
    if (dfd < 0)
        return errno == ENOENT ? PGS_GONE : PGS_NOT_OURS;
    pid = pgs_postmaster_pid(dfd);
    close(dfd);
    if (pid < 0) {
        snprintf(err, errlen, "%s/data/postmaster.pid: unreadable", c->dir);
        return PGS_NOT_OURS;
    }
    if (pid == 0)
        return PGS_STOPPED;
    if (pid != (long)c->postmaster) {
        snprintf(err, errlen,
                 "%s/data/postmaster.pid names pid %ld, the state file pid %ld: signalling "
                 "neither (pg_ctl -D %s/data stop stops it)",
                 c->dir, pid, (long)c->postmaster, c->dir);
        return PGS_NOT_OURS;
    }
    /* Open first, check second, then see it is still the same process:
     * what was checked is what a signal through fd reaches. */
    fd = pgs_pidfd_open((pid_t)pid);
    if (fd < 0 && errno == ESRCH)
        return PGS_STOPPED;
    if (pgs_is_postmaster_of((pid_t)pid, c->dir) && !pgs_exited(fd, (pid_t)pid)) {
        v = PGS_RUNNING;
        if (pidfd) {
            *pidfd = fd;
            fd = -1;
        }
    } else {
        v = PGS_STOPPED; /* a stale postmaster.pid: that pid is someone else's now */
    }
    if (fd >= 0)
        close(fd);
    return v;
}

/* Signal and wait up to ns for the process to be gone. */
static int pgs_signal_wait(int pidfd, pid_t pid, int sig, uint64_t ns)
{
    uint64_t deadline = util_now_ns() + ns;
#ifdef SYS_pidfd_send_signal
    int rc = pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) : kill(pid, sig);
#else
    int rc = kill(pid, sig);
#endif
    if (rc < 0 && errno == ESRCH)
        return 1;
    while (!pgs_exited(pidfd, pid)) {
        if (util_now_ns() >= deadline)
            return 0;
        util_sleep_ns(20 * NS_PER_MS);
    }
    return 1;
}

int pgs_stop_postmaster(const struct pg_cluster *c, int pidfd)
{
    /* fast shutdown, then immediate, then kill: each bounded */
    if (pgs_signal_wait(pidfd, c->postmaster, SIGINT, 10 * NS_PER_S) ||
        pgs_signal_wait(pidfd, c->postmaster, SIGQUIT, 5 * NS_PER_S) ||
        pgs_signal_wait(pidfd, c->postmaster, SIGKILL, 5 * NS_PER_S))
        return 0;
    return -1;
}

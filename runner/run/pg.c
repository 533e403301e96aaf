/*
 * pg.c - the embedded default: a throwaway PostgreSQL cluster (the
 * `wedge pg` subcommand that keeps one running is pg_cmd.c, its state file
 * pg_state.c).
 */
#include "pg.h"
#include "timeunit.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef WEDGE_PG_BINDIR_DEFAULT
#define WEDGE_PG_BINDIR_DEFAULT ""
#endif

#define PG_MAX_CLUSTERS 8
#define PG_READY_NS     (30 * NS_PER_S)
#define PG_INITDB_NS    (120 * NS_PER_S)

/* Clusters this process started, for pg_cluster_stop_all. */
static struct pg_cluster *pg_started[PG_MAX_CLUSTERS];

/* ---------------------------------------------------------------
 * Binaries and the unprivileged user.
 * ------------------------------------------------------------ */
static const char *pg_bindir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("WEDGE_PG_BINDIR");
    glob_t g;
    if (env && *env)
        return env;
    if (WEDGE_PG_BINDIR_DEFAULT[0]) {
        snprintf(dir, sizeof(dir), "%s/initdb", WEDGE_PG_BINDIR_DEFAULT);
        if (access(dir, X_OK) == 0)
            return WEDGE_PG_BINDIR_DEFAULT;
    }
    dir[0] = '\0';
    if (glob("/usr/lib/postgresql/*/bin", 0, NULL, &g) == 0) {
        /* Newest major version: compare numerically, "9" < "15". */
        long best = -1;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
            if (v > best) {
                best = v;
                snprintf(dir, sizeof(dir), "%s", g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
    return dir[0] ? dir : "/usr/lib/postgresql/15/bin";
}

/* PostgreSQL refuses to run as root: find who it runs as instead. */
static int pg_user(uid_t *uid, gid_t *gid)
{
    struct passwd *pw;
    if (geteuid() != 0)
        return 0;
    pw = getpwnam("postgres");
    if (!pw)
        pw = getpwnam("nobody");
    if (!pw)
        return -1;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 1;
}

/* fork + exec argv as the cluster's user, output to logpath, in its own
 * session (a Ctrl-C on the terminal reaches wedge, which stops it). */
static pid_t pg_spawn(char *const argv[], const char *logpath, char *err, size_t errlen)
{
    uid_t uid = 0;
    gid_t gid = 0;
    int drop = pg_user(&uid, &gid);
    pid_t pid;
    if (drop < 0) {
        snprintf(err, errlen, "running as root and neither user postgres nor nobody exists");
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int nul = open("/dev/null", O_RDONLY);
        setsid();
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        unsetenv("LD_PRELOAD");
        if (drop == 1) {
            if (fd >= 0 && fchown(fd, uid, gid) < 0) {
                /* the log stays root's; the server still writes through fd */
            }
            if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
                dprintf(2, "wedge: cannot drop privileges: %s\n", strerror(errno));
                _exit(126);
            }
        }
        execv(argv[0], argv);
        dprintf(2, "wedge: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static void pg_log_tail(const char *path, char *err, size_t errlen)
{
    char *tail = util_file_tail(path, 1500);
    size_t n = strlen(err);
    if (n < errlen)
        snprintf(err + n, errlen - n, "\n--- %s ---\n%s", path, tail);
    free(tail);
}

static int pg_write_conf(const struct pg_cluster *c, char *err, size_t errlen)
{
    char path[PATH_MAX];
    FILE *f;
    snprintf(path, sizeof(path), "%s/data/postgresql.conf", c->dir);
    f = fopen(path, "ae");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* No unix socket: wedge connects over TCP, and a socket path under a
     * long $TMPDIR would pass sun_path's 107 bytes and stop the server. */
    fprintf(f,
            "\n# wedge: a throwaway cluster\n"
            "listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = ''\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "max_connections = 200\nmax_prepared_transactions = 10\n"
            "log_min_messages = warning\n",
            c->port);
    fclose(f);
    return 0;
}

static void pg_register(struct pg_cluster *c, int add)
{
    for (int i = 0; i < PG_MAX_CLUSTERS; i++) {
        if (add && !pg_started[i]) {
            pg_started[i] = c;
            return;
        }
        if (!add && pg_started[i] == c)
            pg_started[i] = NULL;
    }
}

/* Wait until the server accepts connections.  1 ready, 0 the postmaster
 * exited (retry another port when it could not bind), -1 timeout. */
static int pg_wait_ready(struct pg_cluster *c)
{
    uint64_t deadline = util_now_ns() + PG_READY_NS;
    char dsn[600];
    snprintf(dsn, sizeof(dsn), "%s connect_timeout=2", c->dsn);
    while (util_now_ns() < deadline && !util_stop) {
        int status;
        if (PQping(dsn) == PQPING_OK)
            return 1;
        if (util_wait_pid(c->postmaster, 0, &status) == 1) {
            c->postmaster = 0;
            return 0;
        }
        util_sleep_ns(50 * NS_PER_MS);
    }
    return -1;
}

/* A new file in the cluster's directory, mode 0600, never through a
 * symlink; owned by the cluster's user when chown_to is set. */
static int pg_new_file(const struct pg_cluster *c, const char *name, const char *text, int chown_to,
                       char *err, size_t errlen)
{
    char path[PATH_MAX];
    uid_t uid = 0;
    gid_t gid = 0;
    size_t len = strlen(text);
    int fd, rc = 0;
    snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len ||
        (chown_to && pg_user(&uid, &gid) == 1 && fchown(fd, uid, gid) < 0))
        rc = -1;
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (fd >= 0 && close(fd) < 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* The temporary directory, canonical (wedge pg stop compares it with its
 * realpath), owned by the cluster's user, with the marker and a password. */
static int pg_make_dir(struct pg_cluster *c, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char made[sizeof(c->dir)], *real, *marker;
    uid_t uid = 0;
    gid_t gid = 0;
    int rc;

    snprintf(made, sizeof(made), "%s/wedge-pg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(made)) {
        snprintf(err, errlen, "mkdtemp %s: %s", made, strerror(errno));
        return -1;
    }
    real = realpath(made, NULL);
    if (!real || strlen(real) >= sizeof(c->dir)) {
        snprintf(err, errlen, "%s: %s", made, real ? "path too long" : strerror(errno));
        free(real);
        rmdir(made);
        return -1;
    }
    snprintf(c->dir, sizeof(c->dir), "%s", real);
    free(real);
    c->owned = 1;
    pg_register(c, 1);
    if (util_random_hex(c->password, PG_SECRET_HEX / 2) < 0 ||
        util_random_hex(c->id, PG_SECRET_HEX / 2) < 0) {
        snprintf(err, errlen, "getrandom: %s", strerror(errno));
        return -1;
    }
    if (pg_user(&uid, &gid) == 1 && chown(c->dir, uid, gid) < 0) {
        snprintf(err, errlen, "chown %s: %s", c->dir, strerror(errno));
        return -1;
    }
    marker = util_fmt("%s %s\n", PG_MARKER, c->id);
    rc = pg_new_file(c, PG_MARKER, marker, 0, err, errlen);
    free(marker);
    return rc;
}

/* initdb with a random password for the superuser "wedge", given through
 * a file the server's user can read and that is removed right after. */
static int pg_initdb(struct pg_cluster *c, const char *bindir, int verbose, char *err,
                     size_t errlen)
{
    char exe[PATH_MAX], data[PATH_MAX], log[PATH_MAX], pwfile[PATH_MAX], pwopt[PATH_MAX + 16];
    char *pw = util_fmt("%s\n", c->password);
    char *argv[] = {exe,   "-D", data,   "-U",        "wedge", "--auth=scram-sha-256",
                    pwopt, "-E", "UTF8", "--no-sync", NULL};
    uint64_t deadline = util_now_ns() + PG_INITDB_NS;
    int rc = -1, w, status;
    pid_t pid;

    snprintf(exe, sizeof(exe), "%s/initdb", bindir);
    snprintf(data, sizeof(data), "%s/data", c->dir);
    snprintf(log, sizeof(log), "%s/initdb.log", c->dir);
    snprintf(pwfile, sizeof(pwfile), "%s/pwfile", c->dir);
    snprintf(pwopt, sizeof(pwopt), "--pwfile=%s", pwfile);
    if (pg_new_file(c, "pwfile", pw, 1, err, errlen) < 0)
        goto out;
    if (verbose)
        fprintf(stderr, "wedge: postgres: initdb %s\n", data);
    pid = pg_spawn(argv, log, err, errlen);
    if (pid < 0)
        goto out;
    /* In slices, so a Ctrl-C during initdb is not kept waiting. */
    while ((w = util_wait_pid(pid, 100 * NS_PER_MS, &status)) == 0 && !util_stop &&
           util_now_ns() < deadline)
        ;
    if (w == 1 && util_exit_code(status) == 0) {
        rc = 0;
        goto out;
    }
    if (w == 0) {
        kill(-pid, SIGKILL); /* its session: initdb and the postgres it runs */
        util_wait_pid(pid, 5 * NS_PER_S, &status);
        snprintf(err, errlen, "%s %s", exe, util_stop ? "interrupted" : "timed out");
    } else {
        snprintf(err, errlen, "%s failed (exit %d)", exe, w == 1 ? util_exit_code(status) : -1);
    }
    pg_log_tail(log, err, errlen);
out:
    unlink(pwfile);
    free(pw);
    return rc;
}

int pg_cluster_start(struct pg_cluster *c, int verbose, char *err, size_t errlen)
{
    const char *bindir = pg_bindir();
    char exe[PATH_MAX], data[PATH_MAX], log[PATH_MAX];
    int rc = -1;

    memset(c, 0, sizeof(*c));
    if (pg_make_dir(c, err, errlen) < 0 || pg_initdb(c, bindir, verbose, err, errlen) < 0)
        goto out;
    snprintf(exe, sizeof(exe), "%s/postgres", bindir);
    snprintf(data, sizeof(data), "%s/data", c->dir);
    snprintf(log, sizeof(log), "%s/server.log", c->dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        char *argv[] = {exe, "-D", data, NULL};
        int r;
        c->port = util_free_port(err, errlen);
        if (c->port < 0)
            goto out;
        /* Appended again on a retry: the last setting of a name wins. */
        if (pg_write_conf(c, err, errlen) < 0)
            goto out;
        snprintf(c->dsn, sizeof(c->dsn),
                 "host=127.0.0.1 port=%d user=wedge dbname=postgres password=%s", c->port,
                 c->password);
        c->postmaster = pg_spawn(argv, log, err, errlen);
        if (c->postmaster < 0) {
            c->postmaster = 0;
            goto out;
        }
        r = pg_wait_ready(c);
        if (r == 1) {
            if (verbose)
                fprintf(stderr, "wedge: postgres: ready on 127.0.0.1:%d (%s)\n", c->port, c->dir);
            rc = 0;
            goto out;
        }
        if (r < 0) {
            snprintf(err, errlen, "postgres did not accept connections within 30 s%s",
                     util_stop ? " (interrupted)" : "");
            pg_log_tail(log, err, errlen);
            goto out;
        }
        if (!util_file_contains(log, "could not bind") &&
            !util_file_contains(log, "could not create any TCP/IP sockets")) {
            snprintf(err, errlen, "postgres exited during start-up");
            pg_log_tail(log, err, errlen);
            goto out;
        }
        /* Someone took the port between our probe and the server's bind. */
    }
    snprintf(err, errlen, "postgres could not bind a free port in 5 attempts");
    pg_log_tail(log, err, errlen);
out:
    if (rc < 0)
        pg_cluster_stop(c);
    return rc;
}

/* Signal the postmaster and wait up to ns for it to go. */
static int pg_signal_wait(pid_t pid, int sig, uint64_t ns)
{
    uint64_t deadline = util_now_ns() + ns;
    int status;
    if (kill(pid, sig) < 0 && errno == ESRCH)
        return 1;
    for (;;) {
        int w = util_wait_pid(pid, 0, &status);
        if (w == 1)
            return 1;
        /* Not our child (wedge pg stop): poll whether it still exists. */
        if (w < 0 && kill(pid, 0) < 0 && errno == ESRCH)
            return 1;
        if (util_now_ns() >= deadline)
            return 0;
        struct timespec ts = {0, (long)(20 * NS_PER_MS)};
        nanosleep(&ts, NULL);
    }
}

void pg_cluster_stop(struct pg_cluster *c)
{
    if (!c || !c->owned)
        return;
    if (c->postmaster > 0) {
        /* fast shutdown, then immediate, then kill: each bounded */
        if (!pg_signal_wait(c->postmaster, SIGINT, 10 * NS_PER_S) &&
            !pg_signal_wait(c->postmaster, SIGQUIT, 5 * NS_PER_S))
            pg_signal_wait(c->postmaster, SIGKILL, 5 * NS_PER_S);
        c->postmaster = 0;
    }
    if (c->dir[0])
        util_rm_rf(c->dir);
    c->dir[0] = '\0';
    c->owned = 0;
    pg_register(c, 0);
}

void pg_cluster_keep(struct pg_cluster *c)
{
    pg_register(c, 0);
}

void pg_cluster_stop_all(void)
{
    for (int i = 0; i < PG_MAX_CLUSTERS; i++)
        if (pg_started[i])
            pg_cluster_stop(pg_started[i]);
}

/* ---------------------------------------------------------------
 * Fresh databases.
 * ------------------------------------------------------------ */

void pg_conninfo_add(char *out, size_t len, size_t *n, const char *key, const char *val)
{
    /* Quoted only when it must be: reports show these (redacted). */
    int plain = *val && strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789/._-+:,@") == strlen(val);
    *n += (size_t)snprintf(out + *n, *n < len ? len - *n : 0, "%s%s=%s", *n ? " " : "", key,
                           plain ? val : "'");
    if (plain)
        return;
    for (const char *p = val; *p; p++)
        *n += (size_t)snprintf(out + *n, *n < len ? len - *n : 0, "%s%c",
                               (*p == '\'' || *p == '\\') ? "\\" : "", *p);
    *n += (size_t)snprintf(out + *n, *n < len ? len - *n : 0, "'");
}

/* Rebuild a conninfo (keyword=value or URI) with dbname replaced. */
static int pg_dsn_with_db(const char *dsn, const char *db, char *out, size_t len, char *err,
                          size_t errlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    size_t n = 0;
    if (!opts) {
        snprintf(err, errlen, "bad DSN: %s", perr ? perr : "out of memory");
        PQfreemem(perr);
        return -1;
    }
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") ? o->val : db;
        if (v && *v)
            pg_conninfo_add(out, len, &n, o->keyword, v);
    }
    PQconninfoFree(opts);
    if (n >= len) {
        snprintf(err, errlen, "DSN too long");
        return -1;
    }
    return 0;
}

static void pg_quiet_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

int pg_fresh_db(const char *admin_dsn, const char *name, char *dsn_out, size_t dsnlen, char *err,
                size_t errlen)
{
    PGconn *conn = PQconnectdb(admin_dsn);
    PGresult *res = NULL;
    char *quoted = NULL, *sql = NULL;
    int rc = -1;
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect: %s", PQerrorMessage(conn));
        goto out;
    }
    PQsetNoticeProcessor(conn, pg_quiet_notice, NULL); /* "does not exist, skipping" */
    quoted = PQescapeIdentifier(conn, name, strlen(name));
    sql = util_fmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", quoted);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "%s: %s", sql, PQerrorMessage(conn));
        goto out;
    }
    PQclear(res);
    free(sql);
    sql = util_fmt("CREATE DATABASE %s", quoted);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "%s: %s", sql, PQerrorMessage(conn));
        goto out;
    }
    rc = pg_dsn_with_db(admin_dsn, name, dsn_out, dsnlen, err, errlen);
out:
    /* libpq's messages end in newlines (and hints after them): one line. */
    for (size_t n = strlen(err); rc < 0 && n > 0 && (err[n - 1] == '\n' || err[n - 1] == '\t');)
        err[--n] = '\0';
    PQclear(res);
    free(sql);
    PQfreemem(quoted);
    PQfinish(conn);
    return rc;
}

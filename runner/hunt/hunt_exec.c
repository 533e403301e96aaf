/*
 * hunt_exec.c - one run of a derived scenario, as a user would run it:
 * `wedge run FILE --dsn ADMIN --seed S --out DIR` in a child process, so
 * that what hunt confirms is exactly what found-N.scn replays.  While it
 * runs, PostgreSQL is asked every half second which of the run's backends
 * wait for a lock (a hang in the database has a name before the run's
 * timeout), and afterwards how many deadlocks it broke (40P01).
 */
#include "hunt.h"
#include "timeunit.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXEC_TICK_NS   (100 * NS_PER_MS)
#define EXEC_SAMPLE_NS (500 * NS_PER_MS) /* PostgreSQL's lock waits, this often */
#define EXEC_WAIT_S    1.0 /* a lock wait this long is worth naming; shorter ones are traffic */
#define EXEC_KILL_NS   (10 * NS_PER_S) /* SIGTERM, then this long, then SIGKILL */

static const char SQL_WAITS[] =
    "SELECT a.pid, extract(epoch FROM now() - a.query_start)::float8, left(a.query, 160), "
    "pg_blocking_pids(a.pid)::text FROM pg_stat_activity a "
    "WHERE a.datname LIKE $1 AND a.wait_event_type = 'Lock' ORDER BY 2 DESC LIMIT 1";
static const char SQL_DEADLOCKS[] =
    "SELECT coalesce(sum(deadlocks), 0) FROM pg_stat_database WHERE datname LIKE $1";

void hunt_run_free(struct hunt_run *r)
{
    free(r->broken);
    free(r->error);
    free(r->pg_waits);
    for (int i = 0; i < r->map.n; i++)
        free((char *)r->map.names[i]);
    memset(r, 0, sizeof *r);
}

static pid_t exec_spawn(const char *scn, uint64_t seed, const char *dir, const char *admin_dsn)
{
    char self[4096], seedtext[32], *log = util_fmt("%s/wedge-run.log", dir);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    pid_t pid;
    if (n <= 0) {
        free(log);
        return -1;
    }
    self[n] = '\0';
    snprintf(seedtext, sizeof seedtext, "%llu", (unsigned long long)seed);
    pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        setpgid(0, 0); /* hunt stops it, not the terminal's ^C */
        if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execl(self, "wedge", "run", scn, "--dsn", admin_dsn, "--seed", seedtext, "--out", dir,
              (char *)NULL);
        _exit(127);
    }
    free(log);
    return pid;
}

/* The longest lock wait of the run's backends, kept in r->pg_waits. */
static void exec_sample(PGconn *c, const char *like, struct hunt_run *r, double *longest)
{
    const char *params[1] = {like};
    PGresult *res;
    if (!c || PQstatus(c) != CONNECTION_OK)
        return;
    res = PQexecParams(c, SQL_WAITS, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        double s = atof(PQgetvalue(res, 0, 1));
        if (s >= EXEC_WAIT_S && s > *longest) {
            *longest = s;
            free(r->pg_waits);
            r->pg_waits =
                util_fmt("backend %s waited %.1f s for a lock held by %s: %s",
                         PQgetvalue(res, 0, 0), s, PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 2));
        }
    }
    PQclear(res);
}

static long exec_deadlocks(PGconn *c, const char *like)
{
    const char *params[1] = {like};
    PGresult *res;
    long n = 0;
    if (!c || PQstatus(c) != CONNECTION_OK)
        return 0;
    res = PQexecParams(c, SQL_DEADLOCKS, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* Wait for the child: sample, forward an interrupt, enforce the limit. */
static int exec_wait(pid_t pid, PGconn *c, const char *like, uint64_t limit_ns, struct hunt_run *r)
{
    uint64_t t0 = util_now_ns(), next = t0, term_at = 0;
    double longest = 0;
    int status = 0;
    for (;;) {
        uint64_t now = util_now_ns();
        if (util_wait_pid(pid, EXEC_TICK_NS, &status) == 1)
            return util_exit_code(status);
        now = util_now_ns();
        if (now >= next) {
            exec_sample(c, like, r, &longest);
            next = now + EXEC_SAMPLE_NS;
        }
        if (!term_at && (util_stop || now - t0 > limit_ns)) {
            if (!util_stop)
                r->error = util_fmt("the run outlived its time limit (%.0f s): stopped",
                                    (double)limit_ns / (double)NS_PER_S);
            kill(pid, SIGTERM);
            term_at = now;
        }
        if (term_at && now - term_at > EXEC_KILL_NS) {
            kill(pid, SIGKILL);
            util_wait_pid(pid, EXEC_KILL_NS, &status);
            return WEDGE_INCONCLUSIVE;
        }
    }
}

/* ---------------------------------------------------------------
 * What the run left: summary.json and the log's service lines.
 * ------------------------------------------------------------ */
static char *exec_join(char *list, const char *item)
{
    char *t = list ? util_fmt("%s, %s", list, item) : util_fmt("%s", item);
    free(list);
    return t;
}

static void exec_injections(json_t *inj, struct hunt_run *r)
{
    json_t *rule;
    size_t i;
    json_array_foreach(json_object_get(inj, "rules"), i, rule)
    {
        const char *name = json_string_value(json_object_get(rule, "rule"));
        if (!name || strncmp(name, "hunt-", 5) || !strncmp(name, "hunt-obs-", 9))
            continue;
        r->fires += (unsigned)json_integer_value(json_object_get(rule, "fires"));
        r->released += (unsigned)json_integer_value(json_object_get(rule, "released"));
        r->timeouts += (unsigned)json_integer_value(json_object_get(rule, "timeout"));
    }
}

static void exec_summary(const char *dir, struct hunt_run *r)
{
    char *path = util_fmt("%s/summary.json", dir);
    json_t *j = json_load_file(path, 0, NULL), *inv;
    size_t i;
    free(path);
    if (!j)
        return;
    json_array_foreach(json_object_get(j, "invariants"), i, inv)
    {
        const char *st = json_string_value(json_object_get(inv, "status"));
        if (st && !strcmp(st, "failed"))
            r->broken = exec_join(r->broken, json_string_value(json_object_get(inv, "name")));
    }
    if (!r->error && json_is_string(json_object_get(j, "error")))
        r->error = util_fmt("%s", json_string_value(json_object_get(j, "error")));
    r->requests =
        (uint64_t)json_integer_value(json_object_get(json_object_get(j, "totals"), "requests"));
    r->info = (uint64_t)json_integer_value(json_object_get(json_object_get(j, "totals"), "info"));
    exec_injections(json_object_get(j, "injections"), r);
    json_decref(j);
}

/* "wedge: service NAME ready (pid N, port P)" lines of the run's log. */
static void exec_services(const char *dir, struct hunt_run *r)
{
    char *path = util_fmt("%s/wedge-run.log", dir), line[1024], name[256];
    FILE *f = fopen(path, "re");
    long pid, port;
    free(path);
    while (f && fgets(line, sizeof line, f) && r->map.n < 64) {
        if (sscanf(line, "wedge: service %255s ready (pid %ld, port %ld", name, &pid, &port) != 3)
            continue;
        r->map.pids[r->map.n] = (int)pid;
        r->map.ports[r->map.n] = (int)port;
        r->map.names[r->map.n++] = strdup(name);
    }
    if (f)
        fclose(f);
}

void hunt_exec(const char *scn, uint64_t seed, const char *dir, const char *admin_dsn,
               uint64_t limit_ns, struct hunt_run *out)
{
    uint64_t t0 = util_now_ns();
    PGconn *c = NULL;
    char like[64];
    pid_t pid;

    memset(out, 0, sizeof *out);
    out->code = WEDGE_INCONCLUSIVE;
    if (util_mkdir_p(dir, 0755) < 0) {
        out->error = util_fmt("%s: %s", dir, strerror(errno));
        return;
    }
    pid = exec_spawn(scn, seed, dir, admin_dsn);
    if (pid < 0) {
        out->error = util_fmt("cannot start wedge run: %s", strerror(errno));
        return;
    }
    snprintf(like, sizeof like, "%%\\_%ld\\_0", (long)pid); /* run.c's wedge_NAME_PID_0 */
    c = PQconnectdb(admin_dsn);
    out->code = exec_wait(pid, c, like, limit_ns, out);
    out->pg_deadlocks = exec_deadlocks(c, like);
    PQfinish(c);
    out->seconds = (double)(util_now_ns() - t0) / (double)NS_PER_S;
    exec_summary(dir, out);
    exec_services(dir, out);
}

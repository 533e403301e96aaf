/*
 * counterd - the end-to-end test service: a counter of units in PostgreSQL
 * behind HTTP, with a read-modify-write race behind a flag.
 *
 *   counterd --port N --dsn DSN --mode naive|safe [--pidfile FILE]
 *
 *   GET  /health                       200 "ok"
 *   GET  /stock?id=acct-1              200 {"id":..,"stock":N}, 404 unknown id
 *   POST /take {"id":"acct-1","qty":1} 201 taken, 409 not enough stock,
 *                                      400 bad request, 500 database error
 *
 * naive: SELECT the stock, then UPDATE it to the value computed in C and
 * record the take: two requests that both read before either writes lose an
 * update (units are handed out that the counter never loses).
 * safe: one transaction around a conditional UPDATE ... RETURNING and the
 * insert: the row lock serialises concurrent takes.
 *
 * Each request borrows a connection from a small mutex-protected pool, so
 * the service exercises the shim's pq.* and mutex/cond hooks as a real
 * service would.  HTTP and statements are the shop's (scenarios/shop/http.c,
 * db.c).  SIGTERM or SIGINT stops it cleanly (exit 0).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "http.h"

#define POOL_MAX    32
#define POOL_WAIT_S 5
#define ID_MAX      64

enum counter_mode { MODE_NAIVE, MODE_SAFE };

static const char *counter_dsn;
static enum counter_mode counter_mode;

/* ---------------------------------------------------------------
 * Connection pool: idle connections on a stack, opened lazily up to
 * POOL_MAX; a borrower waits (bounded) when all are out.
 * ------------------------------------------------------------ */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static PGconn *pool_idle[POOL_MAX];
static int pool_nidle, pool_nopen;

static PGconn *pool_get(void)
{
    PGconn *c = NULL;
    struct timespec until;
    int open_new = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += POOL_WAIT_S;
    pthread_mutex_lock(&pool_lock);
    while (pool_nidle == 0 && pool_nopen >= POOL_MAX) {
        if (pthread_cond_timedwait(&pool_cond, &pool_lock, &until) == ETIMEDOUT)
            break;
    }
    if (pool_nidle > 0) {
        c = pool_idle[--pool_nidle];
    } else if (pool_nopen < POOL_MAX) {
        pool_nopen++;
        open_new = 1;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!open_new)
        return c;

    /* Connect outside the lock: a slow connect must not stall the others. */
    c = PQconnectdb(counter_dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "counterd: connect: %s", PQerrorMessage(c));
        PQfinish(c);
        c = NULL;
        pthread_mutex_lock(&pool_lock);
        pool_nopen--;
        pthread_cond_signal(&pool_cond);
        pthread_mutex_unlock(&pool_lock);
    }
    return c;
}

/* Return c to the pool; a broken connection is closed instead. */
static void pool_put(PGconn *c)
{
    int broken = PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE;

    if (broken)
        PQfinish(c);
    pthread_mutex_lock(&pool_lock);
    if (broken)
        pool_nopen--;
    else
        pool_idle[pool_nidle++] = c;
    pthread_cond_signal(&pool_cond);
    pthread_mutex_unlock(&pool_lock);
}

static void pool_close_all(void)
{
    pthread_mutex_lock(&pool_lock);
    while (pool_nidle > 0) {
        PQfinish(pool_idle[--pool_nidle]);
        pool_nopen--;
    }
    pthread_mutex_unlock(&pool_lock);
}

/* ---------------------------------------------------------------
 * The take: naive and safe.  Each returns an HTTP status and sets
 * *stock to the units left (or -1 when unknown).
 * ------------------------------------------------------------ */

/* A statement without rows: 0 when it succeeded, -1 otherwise (db.c logs
 * the error). */
static int db_cmd(PGconn *c, const char *sql, int n, const char *const *params)
{
    return db_exec(c, NULL, sql, n, params) == DB_OK ? 0 : -1;
}

/* A query: its result (PQclear it), or NULL on an error. */
static PGresult *db_rows(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = NULL;

    return db_exec(c, &r, sql, n, params) == DB_OK ? r : NULL;
}

static int take_naive(PGconn *c, const char *id, int qty, long *stock)
{
    const char *p[2] = {id, NULL};
    char qbuf[16], sbuf[24];
    PGresult *r = NULL;
    long have;
    int status = 500;

    *stock = -1;
    r = db_rows(c, "SELECT stock FROM counter WHERE id = $1", 1, p);
    if (!r)
        goto out;
    if (PQntuples(r) == 0) {
        status = 404;
        goto out;
    }
    have = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    r = NULL;
    *stock = have;
    if (have < qty) {
        status = 409;
        goto out;
    }

    /* The race: the value written was computed from a read that another
     * request may have made too. */
    snprintf(sbuf, sizeof sbuf, "%ld", have - qty);
    p[1] = sbuf;
    if (db_cmd(c, "UPDATE counter SET stock = $2 WHERE id = $1", 2, p) != 0)
        goto out;
    snprintf(qbuf, sizeof qbuf, "%d", qty);
    p[1] = qbuf;
    if (db_cmd(c, "INSERT INTO taken (id, qty) VALUES ($1, $2)", 2, p) != 0)
        goto out;
    *stock = have - qty;
    status = 201;
out:
    PQclear(r);
    return status;
}

static int take_safe(PGconn *c, const char *id, int qty, long *stock)
{
    char qbuf[16];
    const char *p[2] = {id, qbuf};
    PGresult *r = NULL;
    int status = 500;

    *stock = -1;
    snprintf(qbuf, sizeof qbuf, "%d", qty);
    if (db_cmd(c, "BEGIN", 0, NULL) != 0)
        goto out;
    r = db_rows(c,
                "UPDATE counter SET stock = stock - $2 WHERE id = $1 AND stock >= $2 "
                "RETURNING stock",
                2, p);
    if (!r)
        goto out;
    if (PQntuples(r) == 0) {
        status = 409;
        goto out;
    }
    *stock = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    r = NULL;
    if (db_cmd(c, "INSERT INTO taken (id, qty) VALUES ($1, $2)", 2, p) != 0 ||
        db_cmd(c, "COMMIT", 0, NULL) != 0)
        goto out;
    status = 201;
out:
    PQclear(r);
    if (status != 201 && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    return status;
}

static int stock_of(PGconn *c, const char *id, long *stock)
{
    const char *p[1] = {id};
    PGresult *r = db_rows(c, "SELECT stock FROM counter WHERE id = $1", 1, p);
    int status = 500;

    if (!r)
        goto out;
    if (PQntuples(r) == 0) {
        status = 404;
        goto out;
    }
    *stock = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    status = 200;
out:
    PQclear(r);
    return status;
}

/* ---------------------------------------------------------------
 * HTTP: the shop's server (scenarios/shop/http.c) with three routes.
 * ------------------------------------------------------------ */
static void reply_result(struct reply *rp, int status, const char *id, long stock)
{
    if (status == 500) {
        reply_error(rp, 500, "database error");
    } else if (status == 404) {
        reply_error(rp, 404, "unknown id");
    } else if (stock < 0) {
        /* A safe take that found too little stock does not know how much. */
        reply_json(rp, (unsigned)status,
                   json_pack("{s:s, s:s}", "id", id, "error", "insufficient stock"));
    } else {
        json_t *o = json_pack("{s:s, s:I}", "id", id, "stock", (json_int_t)stock);
        if (status == 409)
            json_object_set_new(o, "error", json_string("insufficient stock"));
        reply_json(rp, (unsigned)status, o);
    }
}

/* A printable id without quotes or backslashes, so it can be echoed. */
static int id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > ID_MAX)
        return 0;
    for (; *id; id++) {
        if (*id < 0x21 || *id > 0x7e || *id == '"' || *id == '\\')
            return 0;
    }
    return 1;
}

static void handle_health(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    reply_json(rp, 200, json_string("ok"));
}

static void handle_take(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    const char *id = NULL;
    json_int_t qty = 0;
    PGconn *c = NULL;
    long stock = -1;
    int status;

    if (!rq->body || json_unpack(rq->body, "{s:s, s:I}", "id", &id, "qty", &qty) != 0 ||
        !id_valid(id) || qty <= 0 || qty > 1000000) {
        reply_error(rp, 400, "expected {\"id\":STRING,\"qty\":N>0}");
        return;
    }
    c = pool_get();
    if (!c) {
        reply_error(rp, 503, "no database connection");
        return;
    }
    if (counter_mode == MODE_NAIVE)
        status = take_naive(c, id, (int)qty, &stock);
    else
        status = take_safe(c, id, (int)qty, &stock);
    reply_result(rp, status, id, stock);
    pool_put(c);
}

static void handle_stock(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    const char *id = http_arg(rq, "id");
    PGconn *c = NULL;
    long stock = -1;
    int status;

    if (!id || !id_valid(id)) {
        reply_error(rp, 400, "expected ?id=ID");
        return;
    }
    c = pool_get();
    if (!c) {
        reply_error(rp, 503, "no database connection");
        return;
    }
    status = stock_of(c, id, &stock);
    reply_result(rp, status, id, stock);
    pool_put(c);
}

static const struct route counter_routes[] = {
    {"GET", "/health", handle_health},
    {"GET", "/stock", handle_stock},
    {"POST", "/take", handle_take},
};

/* ---------------------------------------------------------------
 * main
 * ------------------------------------------------------------ */
static void usage(FILE *f)
{
    fprintf(f, "usage: counterd --port N --dsn DSN --mode naive|safe [--pidfile FILE]\n"
               "  A counter of units in PostgreSQL (schema: tests/e2e/scenarios/counter.sql)\n"
               "  behind HTTP on 127.0.0.1:N.  naive: read-modify-write (racy); safe:\n"
               "  conditional UPDATE in a transaction.  SIGTERM stops it.\n");
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f);
}

/* The flags: -1 to go on, else the exit status (help: 0, usage: 2). */
static int parse_flags(int argc, char **argv, long *port, const char **pidfile)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'}, {"dsn", required_argument, NULL, 'd'},
        {"mode", required_argument, NULL, 'm'}, {"pidfile", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int opt;

    while ((opt = getopt_long(argc, argv, "p:d:m:f:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            *port = strtol(optarg, NULL, 10);
            break;
        case 'd':
            counter_dsn = optarg;
            break;
        case 'm':
            if (strcmp(optarg, "naive") == 0) {
                counter_mode = MODE_NAIVE;
            } else if (strcmp(optarg, "safe") == 0) {
                counter_mode = MODE_SAFE;
            } else {
                fprintf(stderr, "counterd: --mode: expected naive or safe, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'f':
            *pidfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (*port <= 0 || *port > 65535 || !counter_dsn || optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct http_server *d = NULL;
    char err[256];
    const char *pidfile = NULL;
    sigset_t stop;
    long port = -1;
    int sig = 0, rc = parse_flags(argc, argv, &port, &pidfile);

    if (rc >= 0)
        return rc;
    /* Signals are taken by sigwait below: block them before MHD starts its
     * threads so none of those threads receives them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = 3;
    d = http_start((int)port, counter_routes, sizeof counter_routes / sizeof counter_routes[0], err,
                   sizeof err);
    if (!d) {
        fprintf(stderr, "counterd: %s\n", err);
        goto out;
    }
    if (pidfile && write_pidfile(pidfile) != 0) {
        fprintf(stderr, "counterd: --pidfile %s: %s\n", pidfile, strerror(errno));
        goto out;
    }
    fprintf(stderr, "counterd: listening on 127.0.0.1:%ld, mode %s, pid %ld\n", port,
            counter_mode == MODE_NAIVE ? "naive" : "safe", (long)getpid());

    if (sigwait(&stop, &sig) != 0)
        sig = 0;
    fprintf(stderr, "counterd: signal %d, stopping\n", sig);
    rc = 0;
out:
    http_stop(d);
    pool_close_all();
    if (pidfile && d)
        unlink(pidfile);
    return rc;
}

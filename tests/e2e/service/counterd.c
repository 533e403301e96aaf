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
 * service would.  SIGTERM or SIGINT stops it cleanly (exit 0).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX    32
#define POOL_WAIT_S 5
#define BODY_MAX    4096
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

/* Run a parameterised statement; NULL (and a log line) on error. */
static PGresult *db_exec(PGconn *c, const char *sql, int n, const char *const *params,
                         ExecStatusType want)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(r) != want) {
        fprintf(stderr, "counterd: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* A statement without rows: 0 when it succeeded, -1 otherwise. */
static int db_cmd(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = db_exec(c, sql, n, params, PGRES_COMMAND_OK);

    PQclear(r);
    return r ? 0 : -1;
}

static int take_naive(PGconn *c, const char *id, int qty, long *stock)
{
    const char *p[2] = {id, NULL};
    char qbuf[16], sbuf[24];
    PGresult *r = NULL;
    long have;
    int status = 500;

    *stock = -1;
    r = db_exec(c, "SELECT stock FROM counter WHERE id = $1", 1, p, PGRES_TUPLES_OK);
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
    r = db_exec(c,
                "UPDATE counter SET stock = stock - $2 WHERE id = $1 AND stock >= $2 "
                "RETURNING stock",
                2, p, PGRES_TUPLES_OK);
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
    PGresult *r = db_exec(c, "SELECT stock FROM counter WHERE id = $1", 1, p, PGRES_TUPLES_OK);
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
 * HTTP.
 * ------------------------------------------------------------ */
struct body {
    size_t len;
    int too_long;
    char data[BODY_MAX + 1];
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    ret = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_result(struct MHD_Connection *conn, int status, const char *id,
                                    long stock)
{
    char buf[256];

    if (status == 500)
        return reply(conn, 500, "{\"error\":\"database error\"}");
    if (status == 404)
        return reply(conn, 404, "{\"error\":\"unknown id\"}");
    /* A safe take that found too little stock does not know how much. */
    if (stock >= 0)
        snprintf(buf, sizeof buf, "{\"id\":\"%s\",\"stock\":%ld%s}", id, stock,
                 status == 409 ? ",\"error\":\"insufficient stock\"" : "");
    else
        snprintf(buf, sizeof buf, "{\"id\":\"%s\",\"error\":\"insufficient stock\"}", id);
    return reply(conn, status, buf);
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

static enum MHD_Result handle_take(struct MHD_Connection *conn, const struct body *b)
{
    json_error_t jerr;
    json_t *doc = NULL;
    const char *id = NULL;
    json_int_t qty = 0;
    PGconn *c = NULL;
    long stock = -1;
    int status;
    enum MHD_Result ret;

    if (b->too_long) {
        ret = reply(conn, 413, "{\"error\":\"body too long\"}");
        goto out;
    }
    doc = json_loadb(b->data, b->len, 0, &jerr);
    if (!doc || json_unpack_ex(doc, &jerr, 0, "{s:s, s:I}", "id", &id, "qty", &qty) != 0 ||
        !id_valid(id) || qty <= 0 || qty > 1000000) {
        ret = reply(conn, 400, "{\"error\":\"expected {\\\"id\\\":STRING,\\\"qty\\\":N>0}\"}");
        goto out;
    }
    c = pool_get();
    if (!c) {
        ret = reply(conn, 503, "{\"error\":\"no database connection\"}");
        goto out;
    }
    if (counter_mode == MODE_NAIVE)
        status = take_naive(c, id, (int)qty, &stock);
    else
        status = take_safe(c, id, (int)qty, &stock);
    ret = reply_result(conn, status, id, stock);
out:
    if (c)
        pool_put(c);
    json_decref(doc);
    return ret;
}

static enum MHD_Result handle_stock(struct MHD_Connection *conn)
{
    const char *id = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "id");
    PGconn *c = NULL;
    long stock = -1;
    int status;
    enum MHD_Result ret;

    if (!id || !id_valid(id))
        return reply(conn, 400, "{\"error\":\"expected ?id=ID\"}");
    c = pool_get();
    if (!c)
        return reply(conn, 503, "{\"error\":\"no database connection\"}");
    status = stock_of(c, id, &stock);
    ret = reply_result(conn, status, id, stock);
    pool_put(c);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct body *b = *con_cls;

    if (strcmp(method, "POST") != 0) {
        if (strcmp(method, "GET") != 0)
            return reply(conn, 405, "{\"error\":\"method not allowed\"}");
        if (strcmp(url, "/health") == 0)
            return reply(conn, 200, "\"ok\"");
        if (strcmp(url, "/stock") == 0)
            return handle_stock(conn);
        return reply(conn, 404, "{\"error\":\"not found\"}");
    }
    if (strcmp(url, "/take") != 0)
        return reply(conn, 404, "{\"error\":\"not found\"}");

    /* POST: the first call only allocates, later calls bring the body, the
     * last one (no more data) answers. */
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b)
            return MHD_NO;
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (b->len + *upload_size > BODY_MAX) {
            b->too_long = 1;
        } else {
            memcpy(b->data + b->len, upload, *upload_size);
            b->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return handle_take(conn, b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

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

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'}, {"dsn", required_argument, NULL, 'd'},
        {"mode", required_argument, NULL, 'm'}, {"pidfile", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    struct MHD_Daemon *d = NULL;
    struct sockaddr_in sa;
    const char *pidfile = NULL;
    sigset_t stop;
    long port = -1;
    int opt, sig = 0, rc = 2;

    while ((opt = getopt_long(argc, argv, "p:d:m:f:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            port = strtol(optarg, NULL, 10);
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
                goto out;
            }
            break;
        case 'f':
            pidfile = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (port <= 0 || port > 65535 || !counter_dsn || optind != argc) {
        usage(stderr);
        goto out;
    }

    /* Signals are taken by sigwait below: block them before MHD starts its
     * threads so none of those threads receives them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "counterd: cannot listen on 127.0.0.1:%ld\n", port);
        rc = 3;
        goto out;
    }
    if (pidfile && write_pidfile(pidfile) != 0) {
        fprintf(stderr, "counterd: --pidfile %s: %s\n", pidfile, strerror(errno));
        rc = 3;
        goto out;
    }
    fprintf(stderr, "counterd: listening on 127.0.0.1:%ld, mode %s, pid %ld\n", port,
            counter_mode == MODE_NAIVE ? "naive" : "safe", (long)getpid());

    if (sigwait(&stop, &sig) != 0)
        sig = 0;
    fprintf(stderr, "counterd: signal %d, stopping\n", sig);
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    pool_close_all();
    if (pidfile && d)
        unlink(pidfile);
    return rc;
}

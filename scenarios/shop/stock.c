/*
 * stock.c - taking stock under each strategy, inventory reads,
 * reservations with expiry and the sweeper that gives expired ones back.
 *
 *   naive        SELECT stock; UPDATE SET stock = <value computed here>.
 *                Two buyers who read the same stock both write "stock - 1":
 *                one sale vanishes from the count (lost update), and the
 *                last units sell twice (oversell).
 *   pessimistic  SELECT ... FOR UPDATE: the second reader waits for the row.
 *   optimistic   read the version, UPDATE ... WHERE version = read version;
 *                0 rows means someone else won: the transaction is retried.
 *   atomic       one UPDATE ... WHERE stock >= qty RETURNING: the check and
 *                the write are one statement.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shop.h"

#define SQL_READ "SELECT stock, version, price_cents FROM inventory WHERE sku = $1"

static int read_row(PGconn *c, const char *sql, const char *sku, long *stock, long *version,
                    long *price)
{
    PGresult *r = NULL;
    const char *p[1] = {sku};
    int rc = tx_from_db(db_exec(c, &r, sql, 1, p));

    if (rc != TX_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return -1;
    }
    *stock = atol(PQgetvalue(r, 0, 0));
    *version = atol(PQgetvalue(r, 0, 1));
    *price = atol(PQgetvalue(r, 0, 2));
    PQclear(r);
    return TX_OK;
}

/* Run an UPDATE ... RETURNING version[, price]; *rows gets the row count. */
static int update_returning(PGconn *c, const char *sql, int n, const char *const *p, int *rows,
                            long *version, long *price)
{
    PGresult *r = NULL;
    int rc = tx_from_db(db_exec(c, &r, sql, n, p));

    if (rc != TX_OK)
        return rc;
    *rows = PQntuples(r);
    if (*rows > 0) {
        *version = atol(PQgetvalue(r, 0, 0));
        if (price && PQnfields(r) > 1)
            *price = atol(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return TX_OK;
}

static int take_read_then_write(PGconn *c, const char *sku, long qty, int *src, long *price,
                                long *version)
{
    char s_new[32], s_ver[32], s_qty[32];
    const char *p[3];
    long stock, ver;
    int rows = 0, rc;
    const char *rsql = shop_cfg.stock == STOCK_PESSIMISTIC ? SQL_READ " FOR UPDATE" : SQL_READ;

    rc = read_row(c, rsql, sku, &stock, &ver, price);
    if (rc < 0) {
        *src = STOCK_NOSKU;
        return TX_OK;
    }
    if (rc != TX_OK)
        return rc;
    if (stock < qty) {
        *src = STOCK_SHORT;
        return TX_OK;
    }
    p[0] = sku;
    if (shop_cfg.stock == STOCK_PESSIMISTIC) {
        snprintf(s_qty, sizeof s_qty, "%ld", qty);
        p[1] = s_qty;
        rc = update_returning(c,
                              "UPDATE inventory SET stock = stock - $2, version = version + 1 "
                              "WHERE sku = $1 RETURNING version",
                              2, p, &rows, version, NULL);
    } else {
        /* Both write the value computed from the read.  naive trusts the
         * read; optimistic writes only if the version is still the one read. */
        int cas = shop_cfg.stock == STOCK_OPTIMISTIC;

        snprintf(s_new, sizeof s_new, "%ld", stock - qty);
        snprintf(s_ver, sizeof s_ver, "%ld", cas ? ver : ver + 1);
        p[1] = s_new;
        p[2] = s_ver;
        rc = update_returning(c,
                              cas ? "UPDATE inventory SET stock = $2, version = version + 1 "
                                    "WHERE sku = $1 AND version = $3 RETURNING version"
                                  : "UPDATE inventory SET stock = $2, version = $3 WHERE sku = $1 "
                                    "RETURNING version",
                              3, p, &rows, version, NULL);
        if (cas && rc == TX_OK && rows == 0) {
            STAT_ADD(optimistic_conflicts, 1);
            return TX_RETRY;
        }
    }
    if (rc != TX_OK)
        return rc;
    *src = rows > 0 ? STOCK_OK : STOCK_NOSKU;
    return TX_OK;
}

static int take_atomic(PGconn *c, const char *sku, long qty, int *src, long *price, long *version)
{
    char s_qty[32];
    const char *p[2] = {sku, s_qty};
    PGresult *r = NULL;
    int rows = 0, rc;

    snprintf(s_qty, sizeof s_qty, "%ld", qty);
    rc = update_returning(c,
                          "UPDATE inventory SET stock = stock - $2, version = version + 1 "
                          "WHERE sku = $1 AND stock >= $2 RETURNING version, price_cents",
                          2, p, &rows, version, price);
    if (rc != TX_OK)
        return rc;
    if (rows > 0) {
        *src = STOCK_OK;
        return TX_OK;
    }
    rc = tx_from_db(db_exec(c, &r, "SELECT 1 FROM inventory WHERE sku = $1", 1, p));
    if (rc != TX_OK)
        return rc;
    *src = PQntuples(r) > 0 ? STOCK_SHORT : STOCK_NOSKU;
    PQclear(r);
    return TX_OK;
}

int stock_take(PGconn *c, const char *sku, long qty, int *src, long *price, long *version)
{
    *src = STOCK_NOSKU;
    if (shop_cfg.stock == STOCK_ATOMIC)
        return take_atomic(c, sku, qty, src, price, version);
    return take_read_then_write(c, sku, qty, src, price, version);
}

/* ---------------------------------------------------------------
 * GET /inventory/{sku}
 * ------------------------------------------------------------ */
static int tx_inventory(PGconn *c, void *arg, struct reply *rp)
{
    const char *p[1] = {arg};
    PGresult *r = NULL;
    int rc = tx_from_db(db_exec(c, &r,
                                "SELECT i.stock, i.version, i.price_cents, i.initial_stock, "
                                "  (SELECT coalesce(sum(qty), 0) FROM reservations "
                                "   WHERE sku = i.sku AND released_at IS NULL) "
                                "FROM inventory i WHERE i.sku = $1",
                                1, p));

    if (rc != TX_OK)
        return rc;
    if (PQntuples(r) == 0) {
        reply_error(rp, 404, "unknown sku '%s'", (const char *)arg);
        rc = TX_ABORT;
    } else {
        reply_json(rp, 200,
                   json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "sku", (const char *)arg, "stock",
                             (json_int_t)atol(PQgetvalue(r, 0, 0)), "version",
                             (json_int_t)atol(PQgetvalue(r, 0, 1)), "price_cents",
                             (json_int_t)atol(PQgetvalue(r, 0, 2)), "initial_stock",
                             (json_int_t)atol(PQgetvalue(r, 0, 3)), "reserved",
                             (json_int_t)atol(PQgetvalue(r, 0, 4))));
    }
    PQclear(r);
    return rc;
}

void stock_get_inventory(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    tx_run(tx_inventory, caps[0], rp);
}

/* ---------------------------------------------------------------
 * POST /reservations {"sku","qty","ttl_ms"}
 * ------------------------------------------------------------ */
struct resv {
    const char *sku;
    long qty, ttl_ms;
};

static int tx_reserve(PGconn *c, void *arg, struct reply *rp)
{
    struct resv *rv = arg;
    char s_qty[32], s_ttl[32];
    const char *p[3] = {rv->sku, s_qty, s_ttl};
    long price = 0, version = 0;
    PGresult *r = NULL;
    int src, rc;

    rc = stock_take(c, rv->sku, rv->qty, &src, &price, &version);
    if (rc != TX_OK)
        return rc;
    if (src != STOCK_OK) {
        reply_error(rp, src == STOCK_SHORT ? 409 : 404, "%s '%s'",
                    src == STOCK_SHORT ? "insufficient stock for" : "unknown sku", rv->sku);
        return TX_ABORT;
    }
    snprintf(s_qty, sizeof s_qty, "%ld", rv->qty);
    snprintf(s_ttl, sizeof s_ttl, "%ld", rv->ttl_ms);
    rc = tx_from_db(db_exec(c, &r,
                            "INSERT INTO reservations (sku, qty, expires_at) VALUES ($1, $2, "
                            "clock_timestamp() + $3 * interval '1 millisecond') RETURNING id",
                            3, p));
    if (rc != TX_OK)
        return rc;
    reply_json(rp, 201,
               json_pack("{s:I,s:s,s:I,s:I}", "id", (json_int_t)atol(PQgetvalue(r, 0, 0)), "sku",
                         rv->sku, "qty", (json_int_t)rv->qty, "ttl_ms", (json_int_t)rv->ttl_ms));
    PQclear(r);
    return TX_OK;
}

void stock_post_reservation(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    struct resv rv = {NULL, 0, 0};
    json_int_t qty = 0, ttl = 30000;

    if (!rq->body ||
        json_unpack(rq->body, "{s:s,s:I,s?:I}", "sku", &rv.sku, "qty", &qty, "ttl_ms", &ttl) ||
        qty < 1 || qty > 1000 || ttl < 1 || ttl > 86400000) {
        reply_error(rp, 400, "expected {\"sku\":text,\"qty\":1..1000,\"ttl_ms\":1..86400000}");
        return;
    }
    rv.qty = (long)qty;
    rv.ttl_ms = (long)ttl;
    tx_run(tx_reserve, &rv, rp);
}

/* ---------------------------------------------------------------
 * The sweeper: expired reservations give their units back, in one
 * statement, so a release is never half done.  It bumps the version like
 * every other writer: without that, an optimistic buyer who read the row
 * before the release would still "win" its compare-and-set and write back
 * a count that predates the release (lost-update-optimistic.scn found
 * exactly this).
 * ------------------------------------------------------------ */
static struct {
    pthread_t th;
    PGconn *c;
    atomic_int stop;
    int running;
} sweeper;

static void *sweeper_main(void *arg)
{
    while (!atomic_load(&sweeper.stop)) {
        PGresult *r = NULL;

        if (db_exec(sweeper.c, &r,
                    "WITH r AS (UPDATE reservations SET released_at = clock_timestamp() "
                    "  WHERE id IN (SELECT id FROM reservations WHERE released_at IS NULL "
                    "    AND expires_at <= clock_timestamp() ORDER BY id LIMIT 100 "
                    "    FOR UPDATE SKIP LOCKED) RETURNING sku, qty), "
                    "s AS (SELECT sku, sum(qty) AS q, count(*) AS n FROM r GROUP BY sku) "
                    "UPDATE inventory i SET stock = i.stock + s.q, version = i.version + 1 "
                    "FROM s WHERE i.sku = s.sku "
                    "RETURNING s.n",
                    0, NULL) == DB_OK) {
            for (int i = 0; i < PQntuples(r); i++)
                STAT_ADD(reservations_expired, (uint64_t)atol(PQgetvalue(r, i, 0)));
            PQclear(r);
        } else if (PQstatus(sweeper.c) != CONNECTION_OK) {
            PQreset(sweeper.c);
        }
        shop_sleep_ms(50);
    }
    return NULL;
}

int stock_sweeper_start(const char *dsn, char *err, size_t errlen)
{
    sweeper.c = db_connect(dsn, err, errlen);
    if (!sweeper.c)
        return -1;
    if (pthread_create(&sweeper.th, NULL, sweeper_main, NULL) != 0) {
        snprintf(err, errlen, "cannot start the sweeper thread");
        return -1;
    }
    sweeper.running = 1;
    return 0;
}

void stock_sweeper_stop(void)
{
    if (!sweeper.running)
        return;
    atomic_store(&sweeper.stop, 1);
    pthread_join(sweeper.th, NULL);
    PQfinish(sweeper.c);
    sweeper.running = 0;
}

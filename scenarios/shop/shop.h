/*
 * shop.h - the shop: shopd (a small commerce backend) and pspd (a stand-in
 * payment provider and event consumer), the real services wedge is proven on.
 *
 * Each concurrency-sensitive path has a naive and a correct implementation
 * chosen by a flag (design: "The shop"); docs/shop.md describes the wiring.
 *
 *   http.c     libmicrohttpd server glue, routing, JSON replies; a libcurl
 *              JSON client (http.h: shared by shopd, pspd and the tests'
 *              counterd)
 *   db.c       one statement through libpq, SQLSTATE classification (db.h,
 *              shared likewise)
 *   config.c   shopd's configuration and counters, read by every part
 *   pool.c     the pthread pool of libpq connections (naive | correct)
 *   tx.c       a transaction at the chosen isolation level, retried on
 *              40001 / 40P01 and optimistic conflicts
 *   stock.c    stock strategies, inventory, reservations and their sweeper
 *   orders.c   multi-line orders, written with their outbox events
 *   cart.c     carts: lines gathered, then checked out into an order
 *   payment.c  payment through pspd with timeout and retries
 *   events.c   outbox dispatchers (naive | skip-locked)
 *   shopd.c    flags, start and clean stop
 */
#ifndef SHOP_H
#define SHOP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"
#include "http.h"

/* ---------------------------------------------------------------
 * shopd configuration and statistics (config.c).
 * ------------------------------------------------------------ */
enum stock_mode { STOCK_NAIVE, STOCK_PESSIMISTIC, STOCK_OPTIMISTIC, STOCK_ATOMIC };
enum pay_mode { PAY_NAIVE, PAY_IDEMPOTENT };
enum ev_mode { EV_NAIVE, EV_SKIP_LOCKED };
enum pool_mode { POOL_NAIVE, POOL_CORRECT };

struct shop_config {
    int port;
    const char *dsn;
    enum stock_mode stock;
    enum pay_mode payment;
    enum ev_mode events;
    enum pool_mode pool;
    int pool_size;
    int dispatchers;
    const char *isolation; /* "READ COMMITTED", ... */
    const char *psp_url;   /* base URL of pspd, or NULL */
    const char *consumer_url;
    long psp_timeout_ms;
    int psp_tries;
    int tx_tries;
    const char *token; /* --token: the bearer token every request but
                        * /health must carry; NULL: none */
};
extern struct shop_config shop_cfg;

/* Counters read at GET /stats (and written to shop_stats at exit). */
#define SHOP_STATS(X)         \
    X(tx_retries)             \
    X(serialization_failures) \
    X(deadlocks)              \
    X(optimistic_conflicts)   \
    X(tx_exhausted)           \
    X(pool_waits)             \
    X(pool_wait_us)           \
    X(pool_corrupted)         \
    X(pool_timeouts)          \
    X(db_errors)              \
    X(psp_calls)              \
    X(psp_retries)            \
    X(psp_timeouts)           \
    X(events_delivered)       \
    X(events_failed)          \
    X(reservations_expired)

struct shop_stats {
#define X(n) _Atomic uint64_t n;
    SHOP_STATS(X)
#undef X
};
extern struct shop_stats shop_stats;
#define STAT_ADD(name, v) atomic_fetch_add_explicit(&shop_stats.name, (v), memory_order_relaxed)

/* The counters as a JSON object (new reference). */
json_t *shop_stats_json(void);
/* Sleep ms milliseconds (nanosleep: not a hooked call). */
void shop_sleep_ms(long ms);

/* ---------------------------------------------------------------
 * Connection pool (pool.c).
 * ------------------------------------------------------------ */
int pool_init(const char *dsn, int size, enum pool_mode mode, char *err, size_t errlen);
/*
 * Take a connection, waiting (bounded) while none is free.  NULL when the
 * wait timed out or, in the naive pool, when a wakeup found the pool empty
 * (counted as pool_corrupted: the `if` around pthread_cond_wait let a
 * spurious or stolen wakeup through).  Thread-safe.
 */
PGconn *pool_get(void);
/* Give c back; broken != 0 resets the connection first.  Thread-safe. */
void pool_put(PGconn *c, int broken);
void pool_close(void);

/* ---------------------------------------------------------------
 * Transactions (tx.c).
 * ------------------------------------------------------------ */
enum tx_rc {
    TX_OK = 0,    /* commit */
    TX_ABORT = 1, /* business refusal: rollback, the reply is set */
    TX_RETRY = 2, /* conflict: rollback and run again */
    TX_ERR = 3,   /* rollback, 500 */
};
typedef int (*tx_fn)(PGconn *c, void *arg, struct reply *rp);

/* Map a db_exec result to a tx_rc (counting serialization failures and
 * deadlocks). */
int tx_from_db(int db_rc);
/*
 * Take a pooled connection and run fn inside BEGIN ISOLATION LEVEL ...
 * COMMIT, again on TX_RETRY or a retryable COMMIT (bounded by tx_tries,
 * with a short jittered backoff).  On TX_OK fn has set the reply;
 * otherwise tx_run sets 409/500/503 as fits unless fn did.
 */
void tx_run(tx_fn fn, void *arg, struct reply *rp);

/* ---------------------------------------------------------------
 * Stock (stock.c).
 * ------------------------------------------------------------ */
enum stock_rc { STOCK_OK = 0, STOCK_SHORT = 1, STOCK_NOSKU = 2 };

/*
 * Inside a transaction: take qty units of sku with the configured strategy.
 * Returns TX_OK with *stock_rc, *price and *version (the row's new version)
 * set, TX_RETRY on a conflict, TX_ERR on an error.
 */
int stock_take(PGconn *c, const char *sku, long qty, int *stock_rc, long *price, long *version);

void stock_get_inventory(const struct http_req *rq, char caps[][128], struct reply *rp);
void stock_post_reservation(const struct http_req *rq, char caps[][128], struct reply *rp);
/* The sweeper releasing expired reservations. */
int stock_sweeper_start(const char *dsn, char *err, size_t errlen);
void stock_sweeper_stop(void);

/* ---------------------------------------------------------------
 * Orders, carts, payment, events.
 * ------------------------------------------------------------ */
#define ORDER_MAX_LINES 20

struct order_line {
    char sku[64];
    long qty;
    long price;
    long version;
};

struct order_in {
    struct order_line lines[ORDER_MAX_LINES];
    int n;
};

/* Sort o's lines by SKU and merge duplicates (the lock order of every
 * order: two orders on the same SKUs cannot deadlock). */
void orders_normalise(struct order_in *o);
/* Inside a transaction (a tx_fn): take the stock of every line, write the
 * order, its lines and its outbox events; 201 with the order on TX_OK. */
int orders_tx_place(PGconn *c, void *order_in, struct reply *rp);

void orders_post(const struct http_req *rq, char caps[][128], struct reply *rp);
void orders_get(const struct http_req *rq, char caps[][128], struct reply *rp);
void payment_post(const struct http_req *rq, char caps[][128], struct reply *rp);

/* Carts (cart.c): POST /carts, GET /carts/{id}, POST /carts/{id}/lines,
 * POST /carts/{id}/checkout (the cart's lines become an order). */
void cart_post(const struct http_req *rq, char caps[][128], struct reply *rp);
void cart_get(const struct http_req *rq, char caps[][128], struct reply *rp);
void cart_post_line(const struct http_req *rq, char caps[][128], struct reply *rp);
void cart_checkout(const struct http_req *rq, char caps[][128], struct reply *rp);

/* Start n dispatcher threads delivering outbox rows to url. */
int events_start(const char *dsn, const char *url, int n, enum ev_mode mode, char *err,
                 size_t errlen);
/* Deliver what is pending (bounded by drain_ms), then stop the threads. */
void events_stop(long drain_ms);

#endif

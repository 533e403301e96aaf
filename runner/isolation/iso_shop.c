/*
 * iso_shop.c - the shop's stock update raced under each isolation level.
 */
#include "hist.h"
#include "iso_int.h"
#include "iso_spec.h"
#include "timeunit.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * The shop's stock update under each level.
 *
 * N sessions each place a bounded number of orders with the naive strategy
 * of the shop (read the stock, write back the computed value), retrying on
 * 40001 / 40P01 like a correct client must.  Lost updates are committed
 * orders minus the stock actually taken.  The atomic strategy (UPDATE ...
 * SET stock = stock - 1) is the twin that must lose nothing at any level,
 * so a count that found losses everywhere would show itself.
 * ------------------------------------------------------------ */

const char *const iso_shop_strategy_name[SHOP_NSTRATEGIES] = {"naive", "atomic"};

#define SHOP_TIMEOUT_NS (30 * NS_PER_S)

/* Every worker starts when the gate opens, so the sessions really race. */
struct shop_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open, abort;
};

struct shop_worker {
    const struct shop_opts *opts;
    enum shop_strategy strategy;
    struct shop_gate *gate;
    uint64_t deadline;
    PGconn *conn;
    struct hist *latency;
    long committed, attempts, failures, deadlocks, gave_up, errors;
    char err[256];
};

/* Run sql in the worker's transaction: its result, or NULL with the
 * SQLSTATE in state (08006 when the connection is gone). */
static PGresult *shop_exec(PGconn *c, const char *sql, char state[6])
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    snprintf(state, 6, "%s",
             PQresultErrorField(res, PG_DIAG_SQLSTATE) ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                                                       : "08006");
    PQclear(res);
    return NULL;
}

/* One order: 0 committed, 1 retry (40001 / 40P01), -1 another error. */
static int shop_order(struct shop_worker *w, char state[6])
{
    PGresult *res = NULL;
    char sql[128];
    long stock;
    int rc = -1;

    state[0] = '\0';
    if (!(res = shop_exec(w->conn, "BEGIN", state)))
        goto out;
    PQclear(res);
    if (w->strategy == SHOP_ATOMIC) {
        util_sleep_ns(w->opts->think_ns);
        res = shop_exec(w->conn,
                        "UPDATE iso_inventory SET stock = stock - 1 WHERE sku = 'sku-1' "
                        "AND stock > 0",
                        state);
        if (!res)
            goto out;
        stock = atol(PQcmdTuples(res));
        PQclear(res);
        if (stock != 1) {
            snprintf(state, 6, "P0001");
            goto out;
        }
        goto commit;
    }
    if (!(res = shop_exec(w->conn, "SELECT stock FROM iso_inventory WHERE sku = 'sku-1'", state)))
        goto out;
    stock = PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (stock <= 0) {
        snprintf(state, 6, "P0001");
        goto out;
    }
    /* The application thinks: this is the window the race needs. */
    util_sleep_ns(w->opts->think_ns);
    snprintf(sql, sizeof sql, "UPDATE iso_inventory SET stock = %ld WHERE sku = 'sku-1'",
             stock - 1);
    if (!(res = shop_exec(w->conn, sql, state)))
        goto out;
    PQclear(res);
commit:
    if (!(res = shop_exec(w->conn, "COMMIT", state)))
        goto out;
    PQclear(res);
    rc = 0;
out:
    if (rc < 0) {
        PQclear(shop_exec(w->conn, "ROLLBACK", (char[6]){0}));
        if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
            rc = 1;
    }
    return rc;
}

static void *shop_worker_main(void *arg)
{
    struct shop_worker *w = arg;
    struct timespec until;
    int i, tries, go;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&w->gate->mu);
    while (!w->gate->open)
        if (pthread_cond_timedwait(&w->gate->cv, &w->gate->mu, &until) == ETIMEDOUT)
            break;
    go = w->gate->open && !w->gate->abort;
    pthread_mutex_unlock(&w->gate->mu);
    if (!go) {
        snprintf(w->err, sizeof w->err, "start aborted");
        return NULL;
    }
    for (i = 0; i < w->opts->orders && !w->err[0]; i++) {
        uint64_t t0 = util_now_ns();
        for (tries = 0; tries < SHOP_MAX_TRIES; tries++) {
            char state[6];
            int rc;
            if (util_stop || util_now_ns() > w->deadline) {
                snprintf(w->err, sizeof w->err, "%s", util_stop ? "interrupted" : "timed out");
                return NULL;
            }
            w->attempts++;
            rc = shop_order(w, state);
            if (rc == 0) {
                w->committed++;
                hist_record(w->latency, util_now_ns() - t0);
                break;
            }
            if (rc < 0) {
                w->errors++;
                if (iso_conn_lost(w->conn) || !strcmp(state, "P0001"))
                    snprintf(w->err, sizeof w->err, "order failed: %s%s", state,
                             iso_conn_lost(w->conn) ? " (connection lost)" : " (out of stock)");
                break;
            }
            if (!strcmp(state, "40P01"))
                w->deadlocks++;
            else
                w->failures++;
        }
        if (tries == SHOP_MAX_TRIES)
            w->gave_up++;
    }
    return NULL;
}

static long shop_stock(PGconn *c)
{
    PGresult *res = PQexec(c, "SELECT stock FROM iso_inventory WHERE sku = 'sku-1'");
    long v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* The inventory table, and one connection per worker at level; -1 with err. */
static int shop_prepare(PGconn *ctl, const char *dsn, enum iso_level level,
                        const struct shop_opts *o, struct shop_worker *w, long initial, char *err,
                        size_t errlen)
{
    char sql[256], level_sql[192];
    int i;

    snprintf(sql, sizeof sql,
             "CREATE TABLE iso_inventory (sku text PRIMARY KEY, stock int NOT NULL); "
             "INSERT INTO iso_inventory VALUES ('sku-1', %ld)",
             initial);
    if (iso_db_exec(ctl, sql, err, errlen) < 0)
        return -1;
    /* statement_timeout: a statement stuck past the workload's own deadline
     * fails (counted as an error) instead of hanging the join below. */
    snprintf(level_sql, sizeof level_sql,
             "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL %s; "
             "SET statement_timeout = '%llus'",
             iso_level_sql(level), (unsigned long long)(SHOP_TIMEOUT_NS / NS_PER_S));
    for (i = 0; i < o->users; i++) {
        w[i].latency = hist_new();
        if (!w[i].latency) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        w[i].conn = iso_db_connect(dsn, err, errlen);
        if (!w[i].conn || iso_db_exec(w[i].conn, level_sql, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Start every worker behind the gate, open it, wait for all; the seconds
 * the race took. */
static double shop_race(struct shop_worker *w, pthread_t *tids, enum shop_strategy strategy,
                        const struct shop_opts *o)
{
    struct shop_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    uint64_t t0 = util_now_ns();
    int i, started = 0;

    for (i = 0; i < o->users; i++) {
        w[i].opts = o;
        w[i].strategy = strategy;
        w[i].gate = &gate;
        w[i].deadline = t0 + SHOP_TIMEOUT_NS;
        if (pthread_create(&tids[i], NULL, shop_worker_main, &w[i]) != 0) {
            snprintf(w[i].err, sizeof w[i].err, "pthread_create failed");
            break;
        }
        started++;
    }
    pthread_mutex_lock(&gate.mu);
    gate.open = 1;
    gate.abort = started < o->users;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    t0 = util_now_ns();
    for (i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return (double)(util_now_ns() - t0) / (double)NS_PER_S;
}

/* The workers' counts into st, and the verdict from the final stock. */
static void shop_tally(struct shop_worker *w, const struct shop_opts *o, struct shop_stats *st)
{
    int i;

    for (i = 0; i < o->users; i++) {
        st->committed += w[i].committed;
        st->attempts += w[i].attempts;
        st->failures += w[i].failures;
        st->deadlocks += w[i].deadlocks;
        st->gave_up += w[i].gave_up;
        st->errors += w[i].errors;
        if (i > 0)
            hist_merge(w[0].latency, w[i].latency);
        if (w[i].err[0] && !st->error[0])
            snprintf(st->error, sizeof st->error, "session %d: %s", i + 1, w[i].err);
    }
    st->p50_ns = hist_percentile(w[0].latency, 50);
    st->p99_ns = hist_percentile(w[0].latency, 99);
    st->lost = st->committed - (st->initial - st->final);
    if (st->error[0] || st->errors || st->gave_up || st->committed != st->planned)
        st->observed = ISO_ERROR;
    else
        st->observed = st->lost > 0 ? ISO_OCCURS : ISO_PREVENTED;
    if (st->observed == ISO_ERROR && !st->error[0])
        snprintf(st->error, sizeof st->error,
                 "%ld of %ld orders committed (%ld gave up, %ld errors)", st->committed,
                 st->planned, st->gave_up, st->errors);
}

/* Run the workload at one level.  Returns 0, or WEDGE_INCONCLUSIVE with err. */
int iso_shop_run(const char *dsn, enum shop_strategy strategy, enum iso_level level,
                 const struct shop_opts *o, struct shop_stats *st, char *err, size_t errlen)
{
    struct shop_worker *w = calloc((size_t)o->users, sizeof *w);
    pthread_t *tids = calloc((size_t)o->users, sizeof *tids);
    PGconn *ctl = NULL;
    int i, rc = WEDGE_INCONCLUSIVE;

    memset(st, 0, sizeof *st);
    st->planned = (long)o->users * o->orders;
    st->initial = st->planned + 1000;
    if (!w || !tids) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    ctl = iso_db_connect(dsn, err, errlen);
    if (!ctl || shop_prepare(ctl, dsn, level, o, w, st->initial, err, errlen) < 0)
        goto out;
    st->elapsed_s = shop_race(w, tids, strategy, o);
    st->final = shop_stock(ctl);
    if (st->final < 0) {
        snprintf(err, errlen, "cannot read the final stock: %s", PQerrorMessage(ctl));
        goto out;
    }
    shop_tally(w, o, st);
    iso_db_exec(ctl, "DROP TABLE iso_inventory", err, errlen);
    err[0] = '\0';
    rc = 0;
out:
    for (i = 0; w && i < o->users; i++) {
        PQfinish(w[i].conn);
        hist_free(w[i].latency);
    }
    PQfinish(ctl);
    free(w);
    free(tids);
    return rc;
}

/*
 * tx.c - one business transaction at the configured isolation level.
 *
 * Serialization failures (40001) and deadlocks (40P01) are the database
 * telling us to try again; so is an optimistic compare-and-set that lost.
 * Each is counted (GET /stats) and the whole transaction runs again, a
 * bounded number of times with a short jittered backoff.
 */
#include <stdio.h>
#include <stdlib.h>
#include "shop.h"

int tx_from_db(int db_rc)
{
    switch (db_rc) {
    case DB_OK:
        return TX_OK;
    case DB_SERIAL:
        STAT_ADD(serialization_failures, 1);
        return TX_RETRY;
    case DB_DEADLOCK:
        STAT_ADD(deadlocks, 1);
        return TX_RETRY;
    default:
        STAT_ADD(db_errors, 1);
        return TX_ERR;
    }
}

static void backoff(int attempt)
{
    static _Thread_local unsigned seed;

    if (!seed)
        seed = (unsigned)(uintptr_t)&seed ^ (unsigned)attempt;
    shop_sleep_ms(1 + (long)(rand_r(&seed) % (unsigned)(2 * attempt + 1)));
}

void tx_run(tx_fn fn, void *arg, struct reply *rp)
{
    char begin[96];
    PGconn *c = pool_get();
    int rc = TX_ERR, broken = 0;

    if (!c) {
        reply_error(rp, 500, "pool corrupted or exhausted: no connection");
        return;
    }
    snprintf(begin, sizeof begin, "BEGIN ISOLATION LEVEL %s", shop_cfg.isolation);
    for (int attempt = 1; attempt <= shop_cfg.tx_tries; attempt++) {
        if (attempt > 1) {
            STAT_ADD(tx_retries, 1);
            backoff(attempt);
        }
        rc = tx_from_db(db_exec(c, NULL, begin, 0, NULL));
        if (rc == TX_OK)
            rc = fn(c, arg, rp);
        if (rc == TX_OK) {
            rc = tx_from_db(db_exec(c, NULL, "COMMIT", 0, NULL));
            if (rc == TX_OK)
                goto out;
        }
        db_exec(c, NULL, "ROLLBACK", 0, NULL);
        if (PQstatus(c) != CONNECTION_OK) {
            broken = 1;
            reply_error(rp, 503, "database connection lost");
            goto out;
        }
        if (rc != TX_RETRY)
            break;
    }
    if (rc == TX_RETRY) {
        STAT_ADD(tx_exhausted, 1);
        reply_error(rp, 503, "gave up after %d conflicting attempts", shop_cfg.tx_tries);
    } else if (rc == TX_ERR && (rp->status < 400 || !rp->body)) {
        reply_error(rp, 500, "database error");
    }
out:
    pool_put(c, broken);
}

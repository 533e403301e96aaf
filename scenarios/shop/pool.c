/*
 * pool.c - a fixed pool of libpq connections shared by the request threads.
 *
 * The wait for a free connection is the classic condition-variable pattern.
 * POOL_CORRECT re-checks the predicate in a `while` loop; POOL_NAIVE checks
 * it once with `if`, so a spurious wakeup (POSIX allows them; the shim's
 * `spurious on cond.wait where caller ~ "pool_get"` makes them happen), or a
 * signal whose connection another thread took first, lets the caller run on
 * with an empty pool.  That case is not hidden: it is counted
 * (pool_corrupted, GET /stats) and the request fails with 500
 * "pool corrupted", which the scenarios' invariants see.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "shop.h"

#define POOL_WAIT_S 5 /* a request never waits longer than this */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn **all;
    PGconn **free;
    int size, nfree;
    enum pool_mode mode;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int pool_init(const char *dsn, int size, enum pool_mode mode, char *err, size_t errlen)
{
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pool.cv, &ca);
    pthread_condattr_destroy(&ca);
    pool.mode = mode;
    pool.all = calloc((size_t)size, sizeof *pool.all);
    pool.free = calloc((size_t)size, sizeof *pool.free);
    if (!pool.all || !pool.free) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < size; i++) {
        pool.all[i] = db_connect(dsn, err, errlen);
        if (!pool.all[i])
            return -1;
        pool.free[pool.nfree++] = pool.all[i];
        pool.size++;
    }
    return 0;
}

PGconn *pool_get(void)
{
    struct timespec deadline;
    PGconn *c = NULL;
    uint64_t t0 = 0;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += POOL_WAIT_S;
    pthread_mutex_lock(&pool.mu);
    if (pool.nfree == 0) {
        STAT_ADD(pool_waits, 1);
        t0 = now_us();
    }
    if (pool.mode == POOL_NAIVE) {
        /* The bug under test: `if`, not `while`. */
        if (pool.nfree == 0)
            rc = pthread_cond_timedwait(&pool.cv, &pool.mu, &deadline);
    } else {
        while (pool.nfree == 0 && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&pool.cv, &pool.mu, &deadline);
    }
    if (t0)
        STAT_ADD(pool_wait_us, now_us() - t0);
    if (pool.nfree > 0) {
        c = pool.free[--pool.nfree];
    } else if (rc == ETIMEDOUT) {
        STAT_ADD(pool_timeouts, 1);
    } else {
        /* Woken with nothing to take: only the naive pool gets here. */
        STAT_ADD(pool_corrupted, 1);
    }
    pthread_mutex_unlock(&pool.mu);
    return c;
}

void pool_put(PGconn *c, int broken)
{
    if (!c)
        return;
    if (broken || PQstatus(c) != CONNECTION_OK)
        PQreset(c);
    else if (PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    pthread_mutex_lock(&pool.mu);
    pool.free[pool.nfree++] = c;
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
}

void pool_close(void)
{
    for (int i = 0; i < pool.size; i++)
        PQfinish(pool.all[i]);
    free(pool.all);
    free(pool.free);
    pool.all = pool.free = NULL;
    pool.size = pool.nfree = 0;
}

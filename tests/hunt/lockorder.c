/*
 * lockorder.c - a hunt test service with a lock-order inversion.
 *
 * A stock count and a journal, each behind its own mutex.  POST /sell
 * takes the stock's lock, then the journal's; POST /restock (naive)
 * takes the journal's, then the stock's.  Two requests that meet between
 * their first and second lock deadlock; under a light load they never do,
 * since each holds its locks for nanoseconds.  --mode fixed restocks in
 * the same order as it sells: no cycle, no deadlock.
 */
#include "minihttp.h"

#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t stock_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t journal_mu = PTHREAD_MUTEX_INITIALIZER;
static long stock = 1000000, journal;
static int fixed;

static unsigned sell_item(char *out, size_t len)
{
    long left;
    pthread_mutex_lock(&stock_mu);
    left = --stock;
    pthread_mutex_lock(&journal_mu);
    journal++;
    pthread_mutex_unlock(&journal_mu);
    pthread_mutex_unlock(&stock_mu);
    snprintf(out, len, "{\"stock\":%ld}", left);
    return 200;
}

static unsigned restock_item(char *out, size_t len)
{
    long left;
    pthread_mutex_t *first = fixed ? &stock_mu : &journal_mu;
    pthread_mutex_t *second = fixed ? &journal_mu : &stock_mu;
    pthread_mutex_lock(first);
    pthread_mutex_lock(second);
    journal++;
    left = ++stock;
    pthread_mutex_unlock(second);
    pthread_mutex_unlock(first);
    snprintf(out, len, "{\"stock\":%ld}", left);
    return 200;
}

int main(int argc, char **argv)
{
    static const struct mh_route routes[] = {{"POST", "/sell", sell_item},
                                             {"POST", "/restock", restock_item}};
    return mh_serve("lockorder", argc, argv, routes, 2, &fixed);
}

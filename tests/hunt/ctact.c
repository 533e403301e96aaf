/*
 * ctact.c - a hunt test service with a check-then-act split across two
 * critical sections.
 *
 * POST /book books one of CAPACITY seats.  Naive: it checks under the
 * lock that a seat is free, releases the lock, then takes it again to
 * book: two requests between the check and the booking both book the
 * last seat.  Under a light load the gap is far too short to hit.
 * --mode fixed checks and books in one critical section.
 */
#include "minihttp.h"

#include <pthread.h>
#include <stdio.h>

#define CAPACITY 10

static pthread_mutex_t seats_mu = PTHREAD_MUTEX_INITIALIZER;
static int booked;
static int fixed;

static unsigned book_seat(char *out, size_t len)
{
    int ok, n;
    pthread_mutex_lock(&seats_mu);
    ok = booked < CAPACITY;
    if (fixed && ok)
        booked++;
    n = booked;
    pthread_mutex_unlock(&seats_mu);
    if (ok && !fixed) {
        pthread_mutex_lock(&seats_mu);
        n = ++booked;
        pthread_mutex_unlock(&seats_mu);
    }
    snprintf(out, len, ok ? "{\"booked\":%d}" : "{\"booked\":%d,\"error\":\"full\"}", n);
    return ok ? 201 : 409;
}

static unsigned seats(char *out, size_t len)
{
    pthread_mutex_lock(&seats_mu);
    snprintf(out, len, "{\"booked\":%d,\"capacity\":%d}", booked, CAPACITY);
    pthread_mutex_unlock(&seats_mu);
    return 200;
}

int main(int argc, char **argv)
{
    static const struct mh_route routes[] = {{"POST", "/book", book_seat},
                                             {"GET", "/seats", seats}};
    return mh_serve("ctact", argc, argv, routes, 2, &fixed);
}

/*
 * bench_loop.c - the loops scripts/bench times with and without the shim.
 *
 *   bench_loop mutex N     N x (pthread_mutex_lock + pthread_mutex_unlock)
 *   bench_loop sock N      N x (send 1 byte + recv 1 byte) on a socketpair
 *   bench_loop pq N        N x PQexec("SELECT 1") ($WEDGE_BENCH_DSN)
 *   bench_loop caller N    as mutex; scripts/bench gives it a `caller ~` rule
 *   bench_loop callerdeep N  as mutex, from 16 nested frames (a stack as
 *                          deep as a service's: the walk covers them all)
 *
 * Prints "<mode> <wall ns/iteration> <hooked calls/iteration> <CPU ns/iteration>".
 * CPU time (user + system of this process) is what the shim adds to; it
 * is also far less disturbed than wall time by other load on the machine
 * and, for pq, by the server.  The binary is the same in every
 * configuration; only LD_PRELOAD and the rules in its environment change.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static pthread_mutex_t loop_m = PTHREAD_MUTEX_INITIALIZER;

static void mutex_loop(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&loop_m);
        pthread_mutex_unlock(&loop_m);
    }
}

/* mutex_loop from `depth` more frames down: noinline and a use after the
 * call keep every frame on the stack. */
static __attribute__((noinline)) long nest(int depth, long n)
{
    if (depth == 0)
        mutex_loop(n);
    else
        n = nest(depth - 1, n);
    __asm__ volatile("" : "+r"(n));
    return n;
}

static int die(const char *what)
{
    fprintf(stderr, "bench_loop: %s\n", what);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return die("usage: bench_loop mutex|caller|callerdeep|sock|pq N");
    const char *mode = argv[1];
    long n = atol(argv[2]);
    uint64_t t0 = 0, t1 = 0, c0 = cpu_ns();
    int per = 2;

    if (!strcmp(mode, "mutex") || !strcmp(mode, "caller")) {
        t0 = now_ns();
        mutex_loop(n);
        t1 = now_ns();
    } else if (!strcmp(mode, "callerdeep")) {
        t0 = now_ns();
        nest(16, n);
        t1 = now_ns();
    } else if (!strcmp(mode, "sock")) {
        int sv[2];
        char c = 'x';
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
            return die("socketpair");
        t0 = now_ns();
        for (long i = 0; i < n; i++)
            if (send(sv[0], &c, 1, 0) != 1 || recv(sv[1], &c, 1, 0) != 1)
                return die("send/recv");
        t1 = now_ns();
    } else if (!strcmp(mode, "pq")) {
        const char *dsn = getenv("WEDGE_BENCH_DSN");
        PGconn *conn = PQconnectdb(dsn ? dsn : "");
        if (PQstatus(conn) != CONNECTION_OK)
            return die(PQerrorMessage(conn));
        per = 1;
        c0 = cpu_ns();
        t0 = now_ns();
        for (long i = 0; i < n; i++) {
            PGresult *r = PQexec(conn, "SELECT 1");
            if (PQresultStatus(r) != PGRES_TUPLES_OK)
                return die(PQerrorMessage(conn));
            PQclear(r);
        }
        t1 = now_ns();
    } else {
        return die("unknown mode");
    }
    uint64_t c1 = cpu_ns();
    printf("%s %.2f %d %.2f\n", mode, (double)(t1 - t0) / (double)n, per,
           (double)(c1 - c0) / (double)n);
    return 0;
}

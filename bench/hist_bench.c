/*
 * hist_bench.c - cost of hist_record, against a baseline loop run in the
 * same invocation over the same values.
 *
 *   hist_bench [N]     N records (default 10^8)
 *
 * The values (latencies around 2 ms with a long tail, 1 us .. 5 s) are
 * generated beforehand into a 64 Ki-entry table that stays in cache, so
 * the loops measure the histogram, not the generator.  The baseline loop
 * reads the same values and folds them into a sum the compiler must keep.
 * hist_record is called through the library (hist.c is compiled apart),
 * as the load generator calls it.
 */
#include "hist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TABLE (1u << 16)

static uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t bench_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double bench_uniform(uint64_t *s)
{
    return ((double)(bench_rng(s) >> 11) + 0.5) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000ull;
    uint64_t *v = malloc(TABLE * sizeof(*v)), seed = 1, sum = 0, t0, t1, t2;
    struct hist *h = hist_new();
    double base_ns, rec_ns;

    if (!v || !h || n == 0) {
        fprintf(stderr, "wedge: hist_bench: usage: hist_bench [N > 0]\n");
        return 2;
    }
    for (unsigned i = 0; i < TABLE; i++) {
        double g = sqrt(-2 * log(bench_uniform(&seed))) * cos(2 * M_PI * bench_uniform(&seed));
        double x = exp(log(2e6) + 1.2 * g);
        v[i] = x < 1e3 ? 1000 : x > 5e9 ? 5000000000ull : (uint64_t)x;
    }

    t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        sum += v[i & (TABLE - 1)];
        __asm__ volatile("" : "+r"(sum)); /* keep the loop: no vectorising it away */
    }
    t1 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++)
        hist_record(h, v[i & (TABLE - 1)]);
    t2 = bench_now_ns();

    base_ns = (double)(t1 - t0) / (double)n;
    rec_ns = (double)(t2 - t1) / (double)n;
    printf("hist_record: %llu values, %.2f ns per call; baseline loop %.2f ns; "
           "net %.2f ns; ratio %.2f (checksum %llu, p99 %.3f ms)\n",
           (unsigned long long)n, rec_ns, base_ns, rec_ns - base_ns,
           base_ns > 0 ? rec_ns / base_ns : 0.0, (unsigned long long)(sum & 0xffff),
           hist_percentile(h, 99) / 1e6);
    if (hist_count(h) != n) {
        fprintf(stderr, "wedge: hist_bench: recorded %llu of %llu values\n",
                (unsigned long long)hist_count(h), (unsigned long long)n);
        return 1;
    }
    hist_free(h);
    free(v);
    return rec_ns < 20.0 ? 0 : 1;
}

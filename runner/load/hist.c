/*
 * hist.c - latency histogram, HDR style (log-linear buckets).
 *
 * Layout as in HdrHistogram with a unit of 1 ns and 7 bits of precision:
 * 256 sub-buckets in the first bucket, then 128 more per power of two.
 * Bucket b covers [128 << b, 256 << b) with a width of 1 << b, so a
 * recorded value is off by at most 1/128 of itself.  Values above one hour
 * are clamped to one hour; values below 256 ns are exact.
 */
#include "hist.h"
#include "timeunit.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_SUB_BITS 7                                   /* precision: 1/128 */
#define HIST_SUB_HALF (1u << HIST_SUB_BITS)               /* 128 */
#define HIST_SUB_MASK ((1ull << (HIST_SUB_BITS + 1)) - 1) /* 255 */
#define HIST_MAX_NS   NS_PER_H                            /* 1 h */
#define HIST_BUCKETS  35                                  /* msb(HIST_MAX_NS) = 41; 41 - 7 + 1 */
#define HIST_NCOUNTS  ((HIST_BUCKETS + 1) * HIST_SUB_HALF)

struct hist {
    uint64_t total;
    uint64_t min, max;
    uint64_t counts[HIST_NCOUNTS];
};

/* The counts index of v (v <= HIST_MAX_NS): no branch, two shifts. */
static inline unsigned hist_index(uint64_t v)
{
    unsigned bucket = (unsigned)(63 - __builtin_clzll(v | HIST_SUB_MASK)) - HIST_SUB_BITS;
    return (bucket << HIST_SUB_BITS) + (unsigned)(v >> bucket);
}

/* Lowest value that lands in counts[i]. */
static uint64_t hist_lowest(unsigned i)
{
    unsigned bucket = i >> HIST_SUB_BITS;
    uint64_t sub = i - (bucket << HIST_SUB_BITS);
    if (bucket > 0)
        bucket--, sub += HIST_SUB_HALF;
    /* bucket 0 holds 0..255 directly; bucket b>0 holds sub in [128,256) << b */
    return sub << bucket;
}

/* Highest value that lands in counts[i]. */
static uint64_t hist_highest(unsigned i)
{
    unsigned bucket = i >> HIST_SUB_BITS;
    if (bucket > 0)
        bucket--;
    return hist_lowest(i) + (1ull << bucket) - 1;
}

struct hist *hist_new(void)
{
    struct hist *h = malloc(sizeof(*h));
    if (h)
        hist_reset(h);
    return h;
}

void hist_free(struct hist *h)
{
    free(h);
}

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t ns)
{
    ns = ns > HIST_MAX_NS ? HIST_MAX_NS : ns;
    h->counts[hist_index(ns)]++;
    h->total++;
    h->min = ns < h->min ? ns : h->min;
    h->max = ns > h->max ? ns : h->max;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_NCOUNTS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_count(const struct hist *h)
{
    return h->total;
}

uint64_t hist_min(const struct hist *h)
{
    return h->total ? h->min : 0;
}

uint64_t hist_max(const struct hist *h)
{
    return h->max;
}

/* The value a bucket stands for in mean and deviation: its middle. */
static double hist_mid(unsigned i)
{
    return ((double)hist_lowest(i) + (double)hist_highest(i)) / 2.0;
}

double hist_mean(const struct hist *h)
{
    double sum = 0;
    if (!h->total)
        return 0;
    for (unsigned i = 0; i < HIST_NCOUNTS; i++)
        if (h->counts[i])
            sum += hist_mid(i) * (double)h->counts[i];
    return sum / (double)h->total;
}

static double hist_stddev(const struct hist *h)
{
    double mean = hist_mean(h), sq = 0;
    if (!h->total)
        return 0;
    for (unsigned i = 0; i < HIST_NCOUNTS; i++)
        if (h->counts[i]) {
            double d = hist_mid(i) - mean;
            sq += d * d * (double)h->counts[i];
        }
    return sqrt(sq / (double)h->total);
}

static uint64_t hist_clamp(const struct hist *h, uint64_t v)
{
    return v > h->max ? h->max : v;
}

uint64_t hist_percentile(const struct hist *h, double q)
{
    uint64_t want, seen = 0;
    if (!h->total)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 100)
        return h->max;
    want = (uint64_t)ceil(q / 100.0 * (double)h->total);
    if (want < 1)
        want = 1;
    for (unsigned i = 0; i < HIST_NCOUNTS; i++) {
        seen += h->counts[i];
        if (seen >= want)
            return hist_clamp(h, hist_highest(i));
    }
    return h->max;
}

/* ---------------------------------------------------------------
 * The .hgrm text (HdrHistogram's outputPercentileDistribution with 5
 * reporting ticks per half distance), values in milliseconds.
 * ------------------------------------------------------------ */
#define HIST_TICKS 5

static double hist_next_level(double level)
{
    double half = pow(2.0, floor(log2(100.0 / (100.0 - level))) + 1.0);
    return level + 100.0 / (HIST_TICKS * half);
}

int hist_write_hgrm(const struct hist *h, FILE *f)
{
    uint64_t cum = 0;
    double level = 0;

    fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    for (unsigned i = 0; i < HIST_NCOUNTS && h->total; i++) {
        double pct;
        if (!h->counts[i])
            continue;
        cum += h->counts[i];
        pct = 100.0 * (double)cum / (double)h->total;
        while (level <= pct && cum < h->total) {
            fprintf(f, "%12.3f %2.12f %10llu %14.2f\n",
                    hist_clamp(h, hist_highest(i)) / (double)NS_PER_MS, level / 100.0,
                    (unsigned long long)cum, 1.0 / (1.0 - level / 100.0));
            level = hist_next_level(level);
        }
    }
    if (h->total)
        fprintf(f, "%12.3f %2.12f %10llu\n", h->max / (double)NS_PER_MS, 1.0,
                (unsigned long long)h->total);
    fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", hist_mean(h) / (double)NS_PER_MS,
            hist_stddev(h) / (double)NS_PER_MS);
    fprintf(f, "#[Max     = %12.3f, Total count    = %12llu]\n", h->max / (double)NS_PER_MS,
            (unsigned long long)h->total);
    fprintf(f, "#[Buckets = %12d, SubBuckets     = %12d]\n", HIST_BUCKETS, 2 * HIST_SUB_HALF);
    return ferror(f) ? -1 : 0;
}

/* ---------------------------------------------------------------
 * Saved as text, merged back exactly (shards, wedge merge).
 * ------------------------------------------------------------ */
int hist_save(const struct hist *h, FILE *f)
{
    fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64, h->total ? h->min : 0, h->max, h->total);
    for (unsigned i = 0; i < HIST_NCOUNTS; i++)
        if (h->counts[i])
            fprintf(f, " %u:%" PRIu64, i, h->counts[i]);
    return fputc('\n', f) == EOF || ferror(f) ? -1 : 0;
}

int hist_load_merge(struct hist *dst, const char *line)
{
    struct hist *h = hist_new();
    uint64_t sum = 0;
    char *end;
    int rc = -1;

    if (!h)
        abort();
    errno = 0;
    h->min = strtoull(line, &end, 10);
    h->max = strtoull(end, &end, 10);
    h->total = strtoull(end, &end, 10);
    while (*end == ' ') {
        unsigned long i = strtoul(end + 1, &end, 10);
        if (*end != ':' || i >= HIST_NCOUNTS)
            goto out;
        h->counts[i] += strtoull(end + 1, &end, 10);
        sum += h->counts[i];
    }
    if (errno || (*end && *end != '\n') || sum != h->total || h->max > HIST_MAX_NS)
        goto out;
    if (!h->total)
        h->min = UINT64_MAX;
    hist_merge(dst, h);
    rc = 0;
out:
    hist_free(h);
    return rc;
}

/*
 * hist.h - latency histogram, HDR style (log-linear buckets).
 *
 * Values are nanoseconds from 1 us to 1 hour, recorded with a relative error
 * of at most 1/128 (7 significant bits of sub-bucket).  One histogram per
 * load worker thread and request line, merged when sampled and at the end:
 * hist_record is not thread-safe and needs none (no atomics, no
 * allocation; target < 20 ns per call).
 */
#ifndef WEDGE_HIST_H
#define WEDGE_HIST_H

#include <stdint.h>
#include <stdio.h>

struct hist;

struct hist *hist_new(void);
void hist_free(struct hist *h);
void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t ns);
/* dst += src */
void hist_merge(struct hist *dst, const struct hist *src);
uint64_t hist_count(const struct hist *h);
uint64_t hist_min(const struct hist *h);
uint64_t hist_max(const struct hist *h);
double hist_mean(const struct hist *h);
/* q in [0,100]: the value at that percentile (upper edge of its bucket,
 * clamped to the recorded max). 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double q);
/* HdrHistogram-compatible percentile distribution (the .hgrm text),
 * values in milliseconds. */
int hist_write_hgrm(const struct hist *h, FILE *f);
/* The exact histogram as one line of text ("min max total i:n i:n...",
 * only the counters that are not zero, then a newline), for another
 * process to merge (wedge merge); -1 on a write error. */
int hist_save(const struct hist *h, FILE *f);
/* dst += the histogram of a line hist_save wrote (exact: the same
 * counters).  0, or -1 when line is not one (dst unchanged). */
int hist_load_merge(struct hist *dst, const char *line);

#endif

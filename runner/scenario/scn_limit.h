/*
 * scn_limit.h - the one range of every size and count of a scenario, the
 * same for its file's key and for the `wedge run` flag that overrides it
 * (docs/scenarios.md, "Ranges", lists them with their reasons).
 *
 * Pure functions over a constant table: thread-safe.
 */
#ifndef WEDGE_SCN_LIMIT_H
#define WEDGE_SCN_LIMIT_H

#include <stddef.h>
#include <stdint.h>

struct scenario;

enum scn_limit_id {
    SCN_LIM_USERS,
    SCN_LIM_RATE, /* arrivals per second, in thousandths (a decimal value) */
    SCN_LIM_DURATION,
    SCN_LIM_ITERATIONS,
    SCN_LIM_MAX_TRIES,
    SCN_LIM_REQ_TIMEOUT,
    SCN_LIM_SAMPLE,
    SCN_LIM_RUN_TIMEOUT,
    SCN_LIM_JOB_TIMEOUT,
    SCN_LIM_STOP_GRACE,
    SCN_LIM_READY_TIMEOUT,
    SCN_LIM_WEIGHT,
    SCN_LIM_THINK,
    SCN_NLIMITS
};

enum scn_unit { SCN_UNIT_COUNT, SCN_UNIT_DURATION, SCN_UNIT_RATE };

struct scn_limit {
    const char *key;  /* in the file ("users"), or NULL: a flag only */
    const char *flag; /* on the command line ("--users"), or NULL: the file only */
    enum scn_unit unit;
    uint64_t min, max; /* counts; nanoseconds; rates in thousandths per second */
    const char *why;   /* what the bound protects, said with a refusal; or NULL */
};

extern const struct scn_limit scn_limits[SCN_NLIMITS];

/* The most request and sql lines of a workload (the load keeps a latency
 * histogram of 36 KiB per line and worker thread). */
#define SCN_MAX_REQUESTS 64
/* The most time-series points a run keeps: its timeout over its sample. */
#define SCN_MAX_SAMPLES 100000u
/* The largest scenario file, and schema file, read (bytes). */
#define SCN_MAX_FILE   (4u << 20)
#define SCN_MAX_SCHEMA (64u << 20)
/* The most services, and jobs, of a scenario. */
#define SCN_MAX_PROCESSES 64

/*
 * Parse text as limit id's unit (a whole number, a duration, or a decimal
 * rate: *out in thousandths) and check it against its one range.  0 with
 * *out; -1 when text is not a value of that unit ("expected a whole
 * number"), -2 when it is out of range ("must be between 1 and 1000000 (got
 * 0): why"), the message naming neither file nor flag in msg.
 */
int scn_limit_parse(enum scn_limit_id id, const char *text, uint64_t *out, char *msg, size_t len);

/*
 * The bounds that join several values (after the file and after the
 * command line's overrides): request lines, timeout / sample points,
 * duration under the run's timeout.  0, or -1
 * with the message in msg and, in *what, the key the message is about.
 */
int scn_limits_joint(const struct scenario *s, char *msg, size_t len, const char **what);

#endif

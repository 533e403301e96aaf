/*
 * scn_limit.c - the one range of every size and count of a scenario, for
 * its file and its command line alike (scn_limit.h).
 */
#include "scn_limit.h"
#include "scn.h"
#include "scn_int.h"

#include "duration.h"

#include "timeunit.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Measured (docs/scenarios.md, "Ranges"; docs/performance.md): 1000000
 * users thinking 300s..600s ran 30 s in 100 MB (95 MiB) of the runner, 100000 with
 * 20s..40s in 22 MB (the load engine keeps about 100 bytes per user, the
 * histograms per worker thread). */
const struct scn_limit scn_limits[SCN_NLIMITS] = {
    [SCN_LIM_USERS] = {"users", "--users", SCN_UNIT_COUNT, 1, 1000000,
                       "virtual users share a few worker threads at about 100 bytes each "
                       "(1000000 ran in 100 MB); past that, split them over machines with wedge "
                       "run --shard I/N"},
    [SCN_LIM_RATE] = {"rate", "--rate", SCN_UNIT_RATE, 1, 1000000000ull,
                      "requests per second, from 0.001 to one arrival every microsecond"},
    [SCN_LIM_DURATION] = {"duration", "--duration", SCN_UNIT_DURATION, NS_PER_MS, 168 * NS_PER_H,
                          "0 would be no load at all; a week at most"},
    [SCN_LIM_ITERATIONS] = {"iterations", "--iterations", SCN_UNIT_COUNT, 1, UINT64_MAX, NULL},
    [SCN_LIM_MAX_TRIES] = {"max_tries", "--max-tries", SCN_UNIT_COUNT, 1, 1000, NULL},
    [SCN_LIM_REQ_TIMEOUT] = {"timeout", NULL, SCN_UNIT_DURATION, NS_PER_MS, NS_PER_H,
                             "latencies are recorded up to 1h"},
    [SCN_LIM_SAMPLE] = {"sample", NULL, SCN_UNIT_DURATION, NS_PER_MS, NS_PER_H, NULL},
    [SCN_LIM_RUN_TIMEOUT] = {"timeout", NULL, SCN_UNIT_DURATION, NS_PER_S, 168 * NS_PER_H,
                             "the whole run, set-up included: a week at most"},
    [SCN_LIM_JOB_TIMEOUT] = {"timeout", NULL, SCN_UNIT_DURATION, NS_PER_MS, 168 * NS_PER_H, NULL},
    [SCN_LIM_STOP_GRACE] = {"stop_grace", NULL, SCN_UNIT_DURATION, NS_PER_MS, 600 * NS_PER_S, NULL},
    [SCN_LIM_READY_TIMEOUT] = {NULL, "--ready-timeout", SCN_UNIT_DURATION, NS_PER_MS, NS_PER_H,
                               NULL},
    [SCN_LIM_WEIGHT] = {"weight", NULL, SCN_UNIT_COUNT, 1, 1000000, NULL},
    [SCN_LIM_THINK] = {"think", NULL, SCN_UNIT_DURATION, 0, NS_PER_H,
                       "a pause between a user's requests: an hour at most"},
};

/* ns as the largest unit that holds it exactly: 1ms, 168h, 90s. */
static void scn_fmt_ns(uint64_t ns, char *buf, size_t len)
{
    static const struct {
        uint64_t ns;
        const char *unit;
    } units[] = {{NS_PER_H, "h"},   {NS_PER_MIN, "m"}, {NS_PER_S, "s"},
                 {NS_PER_MS, "ms"}, {NS_PER_US, "us"}, {1, "ns"}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ns % units[i].ns == 0 || units[i].ns == 1) {
            snprintf(buf, len, "%" PRIu64 "%s", ns / units[i].ns, ns ? units[i].unit : "");
            return;
        }
}

static void scn_fmt(const struct scn_limit *l, uint64_t v, char *buf, size_t len)
{
    if (l->unit == SCN_UNIT_DURATION)
        scn_fmt_ns(v, buf, len);
    else if (l->unit == SCN_UNIT_RATE && v % 1000)
        snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, v / 1000, v % 1000);
    else if (l->unit == SCN_UNIT_RATE)
        snprintf(buf, len, "%" PRIu64, v / 1000);
    else
        snprintf(buf, len, "%" PRIu64, v);
}

/* The value of text in the limit's unit; -1 with msg when it is none. */
static int scn_limit_value(const struct scn_limit *l, const char *text, uint64_t *v, char *msg,
                           size_t len)
{
    double d;
    if (l->unit == SCN_UNIT_COUNT && scn_parse_u64(text, v) == 0)
        return 0;
    if (l->unit == SCN_UNIT_DURATION) {
        enum duration_rc rc = duration_parse_str(text, v);
        if (rc == DURATION_RANGE)
            *v = UINT64_MAX; /* refused as above the range */
        if (rc != DURATION_BAD)
            return 0;
    }
    if (l->unit == SCN_UNIT_RATE && scn_parse_double(text, &d) == 0 && d >= 0 && d < 1e15) {
        *v = (uint64_t)llround(d * 1000.0); /* under 0.0005: 0, below the range */
        return 0;
    }
    snprintf(msg, len, "%s",
             l->unit == SCN_UNIT_COUNT      ? "expected a whole number"
             : l->unit == SCN_UNIT_DURATION ? "expected a number and a unit (" DURATION_UNITS
                                              "), e.g. 250ms"
                                            : "expected requests per second (a number > 0)");
    return -1;
}

int scn_limit_parse(enum scn_limit_id id, const char *text, uint64_t *out, char *msg, size_t len)
{
    const struct scn_limit *l = &scn_limits[id];
    char lo[32], hi[32];
    uint64_t v;
    if (scn_limit_value(l, text, &v, msg, len) < 0)
        return -1;
    if (v < l->min || v > l->max) {
        scn_fmt(l, l->min, lo, sizeof(lo));
        scn_fmt(l, l->max, hi, sizeof(hi));
        snprintf(msg, len, "must be between %s and %s (got %s)%s%s", lo, hi, text,
                 l->why ? ": " : "", l->why ? l->why : "");
        return -2;
    }
    *out = v;
    return 0;
}

int scn_limits_joint(const struct scenario *s, char *msg, size_t len, const char **what)
{
    char a[32], b[32];
    if (s->nrequests > SCN_MAX_REQUESTS) {
        *what = "request";
        snprintf(msg, len,
                 "%d request and sql lines: at most %d (each keeps a latency histogram per worker "
                 "thread)",
                 s->nrequests, SCN_MAX_REQUESTS);
        return -1;
    }
    if (s->sample_ns && s->timeout_ns / s->sample_ns > SCN_MAX_SAMPLES) {
        *what = "sample";
        scn_fmt_ns(s->timeout_ns, a, sizeof(a));
        scn_fmt_ns(s->sample_ns, b, sizeof(b));
        snprintf(msg, len,
                 "a run of up to %s (its timeout) sampled every %s keeps %" PRIu64
                 " time-series points: at most %u; raise 'sample' or lower [scenario] timeout",
                 a, b, s->timeout_ns / s->sample_ns, SCN_MAX_SAMPLES);
        return -1;
    }
    if (s->duration_ns && s->duration_ns >= s->timeout_ns) {
        *what = "duration";
        scn_fmt_ns(s->duration_ns, a, sizeof(a));
        scn_fmt_ns(s->timeout_ns, b, sizeof(b));
        snprintf(msg, len,
                 "a load of %s cannot end within the run's timeout (%s): raise [scenario] "
                 "timeout",
                 a, b);
        return -1;
    }
    return 0;
}

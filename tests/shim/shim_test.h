/*
 * shim_test.h - small helpers for the shim's integration programs: clocks,
 * the fixture's DSN, reading this process's own trace, failing loudly.
 *
 * The programs run under LD_PRELOAD=libwedge.so with rules in the
 * environment (tests/shim/CMakeLists.txt); each asserts what it observes
 * and exits 0 on success, 1 with a message on failure.
 */
#ifndef WEDGE_SHIM_TEST_H
#define WEDGE_SHIM_TEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

static inline uint64_t t_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void t_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* The fixture's DSN: ${WEDGE_PG_STATE}/dsn. */
static inline const char *t_dsn(void)
{
    static char dsn[512];
    char path[1024];
    const char *state = getenv("WEDGE_PG_STATE");
    FILE *f;

    CHECK(state != NULL, "WEDGE_PG_STATE is not set");
    snprintf(path, sizeof path, "%s/dsn", state);
    f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    CHECK(fgets(dsn, sizeof dsn, f) != NULL, "empty %s", path);
    fclose(f);
    dsn[strcspn(dsn, "\n")] = '\0';
    return dsn;
}

/* Lines of the trace of process pid that contain every one of the given
 * substrings (NULL-terminated list); -1 when the file cannot be read. */
static inline int t_trace_count(int pid, ...)
{
    char path[1024], line[65536];
    const char *dir = getenv("WEDGE_TRACE");
    int n = 0;
    FILE *f;

    if (!dir)
        return -1;
    snprintf(path, sizeof path, "%s/trace.%d.jsonl", dir, pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        va_list ap;
        const char *s;
        int all = 1;
        va_start(ap, pid);
        while ((s = va_arg(ap, const char *)))
            all &= strstr(line, s) != NULL;
        va_end(ap);
        n += all;
    }
    fclose(f);
    return n;
}

#endif

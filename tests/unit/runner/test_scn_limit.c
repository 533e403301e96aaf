/*
 * test_scn_limit.c - the one range of each size and count of a scenario
 * (scn_limit.c): the same bounds and words for a file's key and for the
 * flag, the joint bounds with the line they are reported on, files that are
 * not regular files, and which scenarios need a database at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scn.h"
#include "scn_limit.h"

#include "scn_test.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define USERS_WHY                                                                                \
    "virtual users share a few worker threads at about 100 bytes each (1000000 ran in 100 MB); " \
    "past that, split them over machines with wedge run --shard I/N"

/* The file and the flag share one range and one message. */
static void test_users_range_is_one(void **state)
{
    struct scenario s;
    char msg[512];
    uint64_t v;
    expect_error("[workload]\nusers = 1000001\nsql = SELECT 1\n",
                 "2: 'users' must be between 1 and 1000000 (got 1000001): " USERS_WHY);
    assert_int_equal(scn_limit_parse(SCN_LIM_USERS, "1000001", &v, msg, sizeof(msg)), -2);
    assert_string_equal(msg, "must be between 1 and 1000000 (got 1000001): " USERS_WHY);
    assert_int_equal(scn_limit_parse(SCN_LIM_USERS, "1000000", &v, msg, sizeof(msg)), 0);
    assert_int_equal(v, 1000000);
    assert_int_equal(scn_limit_parse(SCN_LIM_USERS, "many", &v, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "expected a whole number");
    assert_string_equal(scn_limits[SCN_LIM_USERS].flag, "--users");
    /* many request lines no longer multiply with the users: one
     * histogram per line and worker thread */
    load_ok("[workload]\nusers = 1000000\nsql = SELECT 1\nsql = SELECT 2\n", &s);
    assert_int_equal(s.users, 1000000);
    scn_free(&s);
}

/* 0 is never a silent default. */
static void test_zero_is_refused(void **state)
{
    expect_error("[workload]\nduration = 0\nsql = SELECT 1\n",
                 "2: 'duration' must be between 1ms and 168h (got 0): 0 would be no load at all; "
                 "a week at most");
    expect_error("[workload]\niterations = 0\nsql = SELECT 1\n",
                 "2: 'iterations' must be between 1 and 18446744073709551615 (got 0)");
    expect_error("[service a]\ncommand = x\nstop_grace = 0\n[workload]\nsql = SELECT 1\n",
                 "3: 'stop_grace' must be between 1ms and 10m (got 0)");
    expect_error("[job a]\ncommand = x\ntimeout = 0\n",
                 "3: 'timeout' must be between 1ms and 168h (got 0)");
    expect_error("[workload]\ntimeout = 0\nsql = SELECT 1\n",
                 "2: 'timeout' must be between 1ms and 1h (got 0): latencies are recorded up to "
                 "1h");
}

static void test_rate(void **state)
{
    struct scenario s;
    char msg[512];
    uint64_t v;
    load_ok("[workload]\nrate = 200.5\nsql = SELECT 1\n", &s);
    assert_true(s.rate == 200.5);
    scn_free(&s);
    assert_int_equal(scn_limit_parse(SCN_LIM_RATE, "0.0001", &v, msg, sizeof(msg)), -2);
    assert_string_equal(msg, "must be between 0.001 and 1000000 (got 0.0001): requests per second, "
                             "from 0.001 to one arrival every microsecond");
    assert_int_equal(scn_limit_parse(SCN_LIM_RATE, "1000001", &v, msg, sizeof(msg)), -2);
    assert_int_equal(scn_limit_parse(SCN_LIM_RATE, "fast", &v, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "expected requests per second (a number > 0)");
}

/* Bounds of several values, on the line of the key they are about. */
static void test_joint_bounds(void **state)
{
    char text[8192];
    size_t n;
    n = (size_t)snprintf(text, sizeof(text), "[workload]\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "sql = SELECT %d\n", i);
    expect_error(text, "66: 65 request and sql lines: at most 64 (each keeps a latency histogram "
                       "per worker thread)");
    expect_error("[workload]\nsql = SELECT 1\nsample = 1ms\n",
                 "3: a run of up to 2m (its timeout) sampled every 1ms keeps 120000 time-series "
                 "points: at most 100000; raise 'sample' or lower [scenario] timeout");
    expect_error("[scenario]\ntimeout = 168h\n[workload]\nsql = SELECT 1\n",
                 "2: a run of up to 168h (its timeout) sampled every 1s keeps 604800 time-series "
                 "points: at most 100000; raise 'sample' or lower [scenario] timeout");
    expect_error("[workload]\nsql = SELECT 1\nduration = 5m\n",
                 "3: a load of 5m cannot end within the run's timeout (2m): raise [scenario] "
                 "timeout");
}

/* A directory is no scenario, rules file or schema: said at load. */
static void test_not_regular_files(void **state)
{
    struct scenario s;
    char err[1024], want[1024], dir[600];
    snprintf(dir, sizeof(dir), "%s/d", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(scn_load(dir, &s, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: not a regular file (a directory): expected a scenario file",
             dir);
    assert_string_equal(err, want);
    assert_int_equal(scn_load("/dev/zero", &s, err, sizeof(err)), -1);
    assert_string_equal(err, "/dev/zero: not a regular file (a device, FIFO or socket): expected "
                             "a scenario file");
    expect_error("[service a]\ncommand = x\nrules_file = d\n[workload]\nsql = SELECT 1\n",
                 "3: rules file 'd' is not a regular file (a directory)");
    expect_error("[job a]\ncommand = x\nrules_file = /dev/zero\n",
                 "3: rules file '/dev/zero' is not a regular file (a device, FIFO or socket)");
    expect_error("[database]\nschema = d\n"
                 "[workload]\nsql = SELECT 1\n",
                 "2: schema file 'd' is not a regular file (a directory)");
    rt_write_file(scnpath, "[workload]\nsql = SELECT 1\n");
    {
        FILE *f = fopen(scnpath, "a");
        assert_non_null(f);
        fwrite("sql = SELECT\0002\n", 1, 16, f);
        fclose(f);
    }
    assert_int_equal(scn_load(scnpath, &s, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:3:13: a NUL byte; the file must be text", scnpath);
    assert_string_equal(err, want);
}

/* Only a scenario that uses a database gets one (no initdb otherwise). */
static void test_uses_db(void **state)
{
    static const struct {
        const char *text;
        int uses;
    } cases[] = {
        {"[service a]\ncommand = x\n[workload]\nrequest = GET /\n", 0},
        {"[job a]\ncommand = true\n[invariants]\nn = history: ok == 0\n", 0},
        {"[workload]\nsql = SELECT 1\n", 1},
        {"[database]\n[job a]\ncommand = true\n", 1},
        {"[job a]\ncommand = psql ${dsn}\n", 1},
        {"[job a]\ncommand = x\nenv = URL=${dsn_uri}\n", 1},
        {"[service a]\ncommand = x\n[workload]\nrequest = POST / ${dsn}\n", 1},
        {"[job a]\ncommand = true\n[invariants]\nn = SELECT true\n", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct scenario s;
        load_ok(cases[i].text, &s);
        if (s.uses_db != cases[i].uses)
            fail_msg("uses_db %d, expected %d for:\n%s", s.uses_db, cases[i].uses, cases[i].text);
        scn_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_range_is_one),
        cmocka_unit_test(test_zero_is_refused),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_joint_bounds),
        cmocka_unit_test(test_not_regular_files),
        cmocka_unit_test(test_uses_db),
    };
    return cmocka_run_group_tests(tests, setup, rt_teardown);
}

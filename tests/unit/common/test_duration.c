/*
 * test_duration.c - the one duration parser (common/duration.c): every
 * unit, fractions and their rounding, the malformed forms, and the edge
 * of the range (18446744073.9s once wrapped to 190 ms).
 */
#include "duration.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void expect_ns(const char *s, uint64_t want)
{
    uint64_t ns = 12345;

    if (duration_parse_str(s, &ns) != DURATION_OK)
        fail_msg("'%s' was refused", s);
    assert_int_equal(ns, want);
}

static void test_units(void **state)
{
    expect_ns("0", 0);
    expect_ns("0.0", 0);
    expect_ns("0ms", 0);
    expect_ns("7ns", 7);
    expect_ns("250us", 250000ull);
    expect_ns("20ms", 20000000ull);
    expect_ns("5s", 5000000000ull);
    expect_ns("1m", 60000000000ull);
    expect_ns("2h", 7200000000000ull);
}

static void test_fractions(void **state)
{
    expect_ns("1.5s", 1500000000ull);
    expect_ns("0.25ms", 250000ull);
    expect_ns("1.123456789s", 1123456789ull);
    expect_ns("1.5m", 90000000000ull);
    expect_ns("0.000000001h", 3600ull);
    /* to the nearest nanosecond */
    expect_ns("1.5ns", 2);
    expect_ns("1.4ns", 1);
    expect_ns("0.0005us", 1);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "",     "5",  "s",     "-1s", "1.2.3s",        ".s",    ".5s", "5 s", " 5s", "5s ",
        "5sec", "1d", "1e3ms", "1.s", "1.0000000001s", "0x10s", "5S",  NULL};
    uint64_t ns = 77;

    for (int i = 0; bad[i]; i++)
        if (duration_parse_str(bad[i], &ns) != DURATION_BAD)
            fail_msg("'%s' was not refused as malformed", bad[i]);
    assert_int_equal(ns, 77); /* untouched */
    assert_int_equal(duration_parse_str(NULL, &ns), DURATION_BAD);
    /* the length bounds the text: "20ms" of "20msX" */
    assert_int_equal(duration_parse("20msX", 4, &ns), DURATION_OK);
    assert_int_equal(ns, 20000000ull);
    assert_int_equal(duration_parse("20msX", 5, &ns), DURATION_BAD);
}

static void test_range(void **state)
{
    static const char *const over[] = {
        "18446744073.9s", "18446744074s",           "99999999999999999999s",   "99999999999h",
        "307445734562m",  "18446744073709551616ns", "184467440737095516150ns", NULL};
    uint64_t ns = 77;

    expect_ns("18446744073s", 18446744073000000000ull);
    expect_ns("18446744073.709551615s", UINT64_MAX);
    expect_ns("18446744073709551615ns", UINT64_MAX);
    for (int i = 0; over[i]; i++)
        if (duration_parse_str(over[i], &ns) != DURATION_RANGE)
            fail_msg("'%s' was not refused as out of range", over[i]);
    assert_int_equal(ns, 77);
    assert_int_equal(duration_parse_str("18446744073.709551616s", &ns), DURATION_RANGE);
    /* the maximum the messages state parses */
    assert_int_equal(duration_parse_str(DURATION_MAX_TEXT, &ns), DURATION_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_fractions),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_suggest.c - the one "did you mean" (common/suggest.c): the edit
 * distance, the two-edit limit, key families, ties and the hint text.
 */
#include "suggest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static int dist(const char *a, const char *b)
{
    return suggest_distance(a, strlen(a), b, strlen(b));
}

static void test_distance(void **state)
{
    assert_int_equal(dist("delay", "delay"), 0);
    assert_int_equal(dist("dealy", "delay"), 1); /* a swap of neighbours is one edit */
    assert_int_equal(dist("usres", "users"), 1);
    assert_int_equal(dist("user", "users"), 1);
    assert_int_equal(dist("dly", "delay"), 2);
    assert_int_equal(dist("", "abc"), 3);
    assert_int_equal(dist("abc", ""), 3);
    assert_int_equal(dist("kitten", "sitting"), 3);
    char longw[SUGGEST_MAX_LEN + 2];
    memset(longw, 'x', sizeof longw - 1);
    longw[sizeof longw - 1] = '\0';
    assert_int_equal(dist(longw, "delay"), SUGGEST_FAR);
    assert_int_equal(suggest_distance(longw, SUGGEST_MAX_LEN, "x", 1), SUGGEST_MAX_LEN - 1);
}

static void test_suggest(void **state)
{
    static const char *const keys[] = {"users", "rate", "duration", "request*", NULL, "after-null"};
    const char *w;

    w = "usres";
    assert_string_equal(suggest(w, strlen(w), keys, 99), "users");
    w = "reqest";
    assert_string_equal(suggest(w, strlen(w), keys, 99), "request*");
    w = "durationxyz"; /* three edits */
    assert_null(suggest(w, strlen(w), keys, 99));
    w = "after-nul"; /* beyond the NULL */
    assert_null(suggest(w, strlen(w), keys, 99));
    w = "rat"; /* n bounds the table too */
    assert_string_equal(suggest(w, strlen(w), keys, 2), "rate");
    assert_null(suggest(w, strlen(w), keys, 1));
    /* a candidate as short as the distance is no hint */
    static const char *const shorts[] = {"p", "nth", NULL};
    w = "xy";
    assert_null(suggest(w, strlen(w), shorts, 99));
    /* a tie: the first */
    static const char *const tie[] = {"ab", "ba", NULL};
    w = "aa";
    assert_string_equal(suggest(w, strlen(w), tie, 99), "ab");
    /* the length bounds the word */
    assert_string_equal(suggest("usersX", 5, keys, 99), "users");
}

static void test_hint(void **state)
{
    static const char *const keys[] = {"users", "request*", NULL};
    char buf[64];

    assert_string_equal(suggest_hint("reqest", 6, keys, 99, buf, sizeof buf),
                        " (did you mean 'request'?)");
    assert_string_equal(suggest_hint("zzzzzz", 6, keys, 99, buf, sizeof buf), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

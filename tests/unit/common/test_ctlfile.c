/*
 * test_ctlfile.c - the control file's tables (common/ctlfile.c), on a
 * region in memory: points found and claimed, the rule table in the order
 * rules came (status numbers them so) and one entry per text, release and
 * mark on the words as the shim waits on them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctlfile.h"

static struct ctlf_region *fresh(void)
{
    struct ctlf_region *reg = calloc(1, sizeof *reg);
    assert_non_null(reg);
    ctlf_header_init(&reg->h);
    return reg;
}

static void test_points(void **state)
{
    struct ctlf_region *reg = fresh();
    _Atomic uint32_t *b, *h, *m;

    (void)state;
    assert_null(ctlf_point(reg, CTLF_KIND_HOLD, "p1", 0)); /* looked up, not made */
    b = ctlf_point(reg, CTLF_KIND_BARRIER, "p1", 1);
    h = ctlf_point(reg, CTLF_KIND_HOLD, "p1", 1);
    assert_non_null(b);
    assert_non_null(h);
    assert_ptr_not_equal(b, h); /* a barrier and a hold of one name are two points */
    assert_ptr_equal(ctlf_point(reg, CTLF_KIND_HOLD, "p1", 0), h);
    /* a table of CTLF_POINTS points is full after that many */
    for (int i = 0; i < CTLF_POINTS - 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%d", i);
        assert_non_null(ctlf_point(reg, CTLF_KIND_MARK, name, 1));
    }
    assert_null(ctlf_point(reg, CTLF_KIND_MARK, "one-too-many", 1));
    m = ctlf_point(reg, CTLF_KIND_MARK, "m3", 0);
    assert_non_null(m);
    free(reg);
}

static void test_release_and_mark(void **state)
{
    struct ctlf_region *reg = fresh();
    _Atomic uint32_t *b, *h;

    (void)state;
    assert_int_equal(ctlf_release(reg, "nobody"), 0);
    h = ctlf_point(reg, CTLF_KIND_HOLD, "x", 1);
    assert_int_equal(ctlf_release(reg, "x"), 1);
    assert_int_equal(atomic_load(h), 1); /* holders wait for the word to move on */
    /* a barrier with 3 arrived in generation 5: a new generation, none arrived */
    b = ctlf_point(reg, CTLF_KIND_BARRIER, "x", 1);
    atomic_store(b, 5u << 8 | 3);
    assert_int_equal(ctlf_release(reg, "x"), 2);
    assert_int_equal(atomic_load(b), 6u << 8);
    assert_int_equal(atomic_load(h), 2);
    ctlf_mark(reg, "x");
    ctlf_mark(reg, "x");
    assert_int_equal(atomic_load(ctlf_point(reg, CTLF_KIND_MARK, "x", 0)), 2);
    free(reg);
}

static void test_rules(void **state)
{
    struct ctlf_region *reg = fresh();
    char text[400];

    (void)state;
    assert_int_equal(ctlf_rule_find(reg, "log on pq.query", "rule1", CTLF_RULE_START, 0), -1);
    assert_int_equal(ctlf_rule_find(reg, "log on pq.query", "rule1", CTLF_RULE_START, 1), 0);
    assert_int_equal(ctlf_rule_find(reg, "a: delay 1ms on sock.send", "a", CTLF_RULE_START, 1), 1);
    /* the same text from another process: the same entry */
    assert_int_equal(ctlf_rule_find(reg, "log on pq.query", "rule1", CTLF_RULE_START, 1), 0);
    assert_int_equal(ctlf_rule_find(reg, "late: log on *", "late", CTLF_RULE_ADDED, 1), 2);
    assert_string_equal(reg->rules[2].name, "late");
    assert_int_equal(atomic_load(&reg->rules[2].flags), CTLF_RULE_ADDED);
    /* a text longer than the entry holds: cut in the table, found whole */
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    memcpy(text, "log on *  # ", 12);
    assert_int_equal(ctlf_rule_find(reg, text, "long", CTLF_RULE_START, 1), 3);
    assert_int_equal(strlen(reg->rules[3].text), CTLF_TEXT - 1);
    assert_int_equal(ctlf_rule_find(reg, text, "long", CTLF_RULE_START, 0), 3);
    free(reg);
}

static void test_pid_alive(void **state)
{
    (void)state;
    assert_true(ctlf_pid_alive((int32_t)getpid()));
    assert_false(ctlf_pid_alive(0));
    assert_false(ctlf_pid_alive(-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points),
        cmocka_unit_test(test_release_and_mark),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_pid_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_verdict.c - the verdict of a run (runner/run/verdict.c), rule by
 * rule: what the invariants say, an error and the code it asks for, an
 * interrupt with and without a service that died first, a process the
 * shim stopped; and how the runs of a --repeat combine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/run/verdict.c"

#define P INV_PASSED
#define F INV_FAILED
#define E INV_ERROR

static int verdict_of(const enum inv_status *st, int n, int has_error, int error_code,
                      int interrupted, int died_early, int shim_fatal)
{
    struct inv_result inv[8] = {{0}};
    struct run_facts f = {inv, n, has_error, error_code, interrupted, died_early, shim_fatal};

    for (int i = 0; i < n; i++)
        inv[i].status = st[i];
    return run_verdict(&f).code;
}

static void test_invariants_alone(void **state)
{
    const enum inv_status pass[] = {P, P}, fail[] = {P, F}, err[] = {E, P}, both[] = {E, F};

    assert_int_equal(verdict_of(NULL, 0, 0, 0, 0, 0, 0), WEDGE_PASS);
    assert_int_equal(verdict_of(pass, 2, 0, 0, 0, 0, 0), WEDGE_PASS);
    assert_int_equal(verdict_of(fail, 2, 0, 0, 0, 0, 0), WEDGE_VIOLATED);
    assert_int_equal(verdict_of(err, 2, 0, 0, 0, 0, 0), WEDGE_INCONCLUSIVE);
    /* a failure outweighs an invariant that could not be evaluated */
    assert_int_equal(verdict_of(both, 2, 0, 0, 0, 0, 0), WEDGE_VIOLATED);
}

static void test_errors(void **state)
{
    const enum inv_status pass[] = {P}, fail[] = {F};

    /* an error names its code; none named is inconclusive */
    assert_int_equal(verdict_of(pass, 1, 1, WEDGE_USAGE, 0, 0, 0), WEDGE_USAGE);
    assert_int_equal(verdict_of(pass, 1, 1, WEDGE_INCONCLUSIVE, 0, 0, 0), WEDGE_INCONCLUSIVE);
    assert_int_equal(verdict_of(pass, 1, 1, 0, 0, 0, 0), WEDGE_INCONCLUSIVE);
    assert_int_equal(verdict_of(NULL, 0, 1, WEDGE_USAGE, 0, 0, 0), WEDGE_USAGE);
    /* a violation seen stands beside a later error (a timeout, say) */
    assert_int_equal(verdict_of(fail, 1, 1, WEDGE_INCONCLUSIVE, 0, 0, 0), WEDGE_VIOLATED);
}

static void test_interrupts(void **state)
{
    const enum inv_status pass[] = {P}, fail[] = {F};

    /* run_once records an interrupt as an error asking for 3 */
    assert_int_equal(verdict_of(pass, 1, 1, WEDGE_INCONCLUSIVE, 1, 0, 0), WEDGE_INCONCLUSIVE);
    /* a failure after the signal is no verdict ... */
    assert_int_equal(verdict_of(fail, 1, 1, WEDGE_INCONCLUSIVE, 1, 0, 0), WEDGE_INCONCLUSIVE);
    /* ... one seen before it (a service that died) is */
    assert_int_equal(verdict_of(fail, 1, 1, WEDGE_INCONCLUSIVE, 1, 1, 0), WEDGE_VIOLATED);
    /* interrupted with nothing else said */
    assert_int_equal(verdict_of(pass, 1, 0, 0, 1, 0, 0), WEDGE_INCONCLUSIVE);
}

static void test_shim_fatal(void **state)
{
    const enum inv_status fail[] = {F}, pass[] = {P};
    struct inv_result inv[1] = {{0}};
    struct run_facts f = {inv, 1, 1, WEDGE_INCONCLUSIVE, 0, 1, 1};

    /* the shim stopped a process: never "race found", whatever else */
    assert_int_equal(verdict_of(fail, 1, 1, WEDGE_INCONCLUSIVE, 0, 1, 1), WEDGE_INCONCLUSIVE);
    assert_int_equal(verdict_of(pass, 1, 1, WEDGE_USAGE, 0, 0, 1), WEDGE_INCONCLUSIVE);
    inv[0].status = INV_FAILED;
    assert_string_equal(run_verdict(&f).reason, "the shim stopped a process");
}

static void test_reasons(void **state)
{
    struct inv_result inv[1] = {{0}};
    struct run_facts f = {inv, 1, 0, 0, 0, 0, 0};

    assert_string_equal(run_verdict(&f).reason, "every invariant held");
    inv[0].status = INV_FAILED;
    assert_string_equal(run_verdict(&f).reason, "an invariant was violated");
    inv[0].status = INV_PASSED;
    f.has_error = 1;
    f.error_code = WEDGE_USAGE;
    assert_string_equal(run_verdict(&f).reason, "the scenario or its set-up is at fault");
}

static void test_combine(void **state)
{
    /* --repeat: a violation wins; else the highest code */
    static const struct {
        int acc, code, want;
    } cases[] = {
        {WEDGE_PASS, WEDGE_PASS, WEDGE_PASS},
        {WEDGE_PASS, WEDGE_VIOLATED, WEDGE_VIOLATED},
        {WEDGE_PASS, WEDGE_INCONCLUSIVE, WEDGE_INCONCLUSIVE},
        {WEDGE_INCONCLUSIVE, WEDGE_VIOLATED, WEDGE_VIOLATED},
        {WEDGE_VIOLATED, WEDGE_INCONCLUSIVE, WEDGE_VIOLATED},
        {WEDGE_VIOLATED, WEDGE_USAGE, WEDGE_VIOLATED},
        {WEDGE_INCONCLUSIVE, WEDGE_USAGE, WEDGE_INCONCLUSIVE},
        {WEDGE_USAGE, WEDGE_INCONCLUSIVE, WEDGE_INCONCLUSIVE},
        {WEDGE_INCONCLUSIVE, WEDGE_PASS, WEDGE_INCONCLUSIVE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(run_verdict_combine(cases[i].acc, cases[i].code), cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invariants_alone), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_interrupts),       cmocka_unit_test(test_shim_fatal),
        cmocka_unit_test(test_reasons),          cmocka_unit_test(test_combine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

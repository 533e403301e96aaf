/*
 * test_decide.c - seeded decisions: determinism, probability within a
 * stated tolerance, nth / every / first / after / times, times under
 * concurrent threads, delay ranges.
 */
#include "../../shim/decide.c"
#include "../../shim/rules.c"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct wg_ruleset parse(const char *text)
{
    struct wg_ruleset rs;
    char err[256] = "";
    if (rules_parse(text, "rules", &rs, err, sizeof err) != 0)
        print_error("%s\n", err);
    assert_int_equal(rs.n > 0, 1);
    return rs;
}

/* The fired hits (1-based) of rule 0 over `calls` calls, as a bitmap. */
static void run(const char *text, uint64_t seed, int calls, unsigned char *fired)
{
    struct wg_ruleset rs = parse(text);
    struct wg_rule_state st = {0};
    for (int i = 0; i < calls; i++) {
        uint64_t hit = 0;
        fired[i] = (unsigned char)decide_take(&rs.rules[0], &st, seed, &hit);
        assert_int_equal(hit, (uint64_t)i + 1);
    }
    rules_free(&rs);
}

static void test_hash(void **state)
{
    assert_int_equal(decide_hash(1, 2, 3, 4), decide_hash(1, 2, 3, 4));
    assert_int_not_equal(decide_hash(1, 2, 3, 4), decide_hash(2, 1, 3, 4));
    assert_int_not_equal(decide_hash(1, 2, 3, 0), decide_hash(1, 2, 3, 1));
    assert_int_not_equal(decide_hash(0, 0, 1, 0), decide_hash(0, 0, 2, 0));
}

static void test_determinism(void **state)
{
    enum { N = 2000 };
    static unsigned char a[N], b[N], c[N];
    const char *text = "delay 1ms on pq.query p=0.3";

    run(text, 42, N, a);
    run(text, 42, N, b);
    run(text, 43, N, c);
    assert_memory_equal(a, b, N);     /* same seed: same decisions */
    assert_memory_not_equal(a, c, N); /* another seed: others */

    /* the rule's index is an input too: the same rule second in the set */
    struct wg_ruleset rs = parse("log on pq.exec; delay 1ms on pq.query p=0.3");
    struct wg_rule_state st = {0};
    int differ = 0;
    for (int i = 0; i < N; i++)
        differ |= decide_take(&rs.rules[1], &st, 42, NULL) != a[i];
    assert_true(differ);
    rules_free(&rs);
}

/* p=0.2 over 10,000 calls: binomial mean 2000, sigma = sqrt(10000 * 0.2 *
 * 0.8) = 40; every one of 20 seeds must land within 4 sigma, [1840, 2160]. */
static void test_probability(void **state)
{
    enum { N = 10000 };
    static unsigned char f[N];
    long total = 0;

    for (uint64_t seed = 1; seed <= 20; seed++) {
        int n = 0;
        run("log on pq.query p=0.2", seed, N, f);
        for (int i = 0; i < N; i++)
            n += f[i];
        if (n < 1840 || n > 2160)
            print_error("seed %llu: %d fires of %d\n", (unsigned long long)seed, n, N);
        assert_in_range(n, 1840, 2160);
        total += n;
    }
    /* 200,000 calls together: sigma 179, 4 sigma = 716 around 40,000 */
    assert_in_range(total, 40000 - 716, 40000 + 716);

    run("log on pq.query p=0", 7, N, f);
    for (int i = 0; i < N; i++)
        assert_int_equal(f[i], 0);
    run("log on pq.query p=1", 7, N, f);
    for (int i = 0; i < N; i++)
        assert_int_equal(f[i], 1);
    /* the exact integer threshold at the ends */
    assert_int_equal(decide_under(UINT64_MAX, 1.0), 1);
    assert_int_equal(decide_under(0, 0.0), 0);
    assert_int_equal(decide_under(1, 0x1p-63), 1); /* threshold 2 */
    assert_int_equal(decide_under(2, 0x1p-63), 0);
    assert_int_equal(decide_under(1ull << 63, 0.5), 0);
    assert_int_equal(decide_under((1ull << 63) - 1, 0.5), 1);
}

static void expect_fires(const char *text, const int *want, int nwant, int calls)
{
    static unsigned char f[1000];
    int k = 0;

    run(text, 9, calls, f);
    for (int i = 0; i < calls; i++) {
        if (!f[i])
            continue;
        if (k >= nwant || want[k] != i + 1)
            print_error("%s: unexpected fire at hit %d\n", text, i + 1);
        assert_true(k < nwant);
        assert_int_equal(want[k], i + 1);
        k++;
    }
    assert_int_equal(k, nwant);
}

static void test_counters(void **state)
{
    expect_fires("log on * nth 3", (int[]){3}, 1, 20);
    expect_fires("log on * every 5", (int[]){5, 10, 15, 20}, 4, 22);
    expect_fires("log on * first 3", (int[]){1, 2, 3}, 3, 20);
    expect_fires("log on * after 17", (int[]){18, 19, 20}, 3, 20);
    expect_fires("log on * times 2", (int[]){1, 2}, 2, 20);
    /* combined: all must hold */
    expect_fires("log on * every 2 after 4 times 3", (int[]){6, 8, 10}, 3, 20);
    expect_fires("log on * every 3 first 10", (int[]){3, 6, 9}, 3, 20);
    expect_fires("log on * nth 4 every 2", (int[]){4}, 1, 20);
    expect_fires("log on * nth 3 every 2", NULL, 0, 20);
    expect_fires("log on *", (int[]){1, 2, 3}, 3, 3);

    struct wg_ruleset rs = parse("log on * every 2 times 3");
    struct wg_rule_state st = {0};
    for (int i = 0; i < 20; i++)
        decide_take(&rs.rules[0], &st, 1, NULL);
    assert_int_equal(atomic_load(&st.hits), 20);
    assert_int_equal(atomic_load(&st.fires), 3);
    rules_free(&rs);
}

/* times N under 4 threads racing: never more than N fires. */
struct race {
    const struct wg_rule *r;
    struct wg_rule_state st;
    _Atomic int fired;
};

static void *race_thread(void *arg)
{
    struct race *rc = arg;
    for (int i = 0; i < 20000; i++)
        if (decide_take(rc->r, &rc->st, 5, NULL))
            atomic_fetch_add(&rc->fired, 1);
    return NULL;
}

static void test_times_concurrent(void **state)
{
    const char *texts[] = {"log on * times 5", "log on * times 7 p=0.5",
                           "log on * times 1000 every 3"};
    const int want[] = {5, 7, 1000};

    for (int k = 0; k < 3; k++) {
        struct wg_ruleset rs = parse(texts[k]);
        struct race rc = {&rs.rules[0], {0}, 0};
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&t[i], NULL, race_thread, &rc), 0);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        assert_int_equal(atomic_load(&rc.st.hits), 80000);
        assert_int_equal(atomic_load(&rc.fired), want[k]);
        assert_int_equal(atomic_load(&rc.st.fires), want[k]);
        rules_free(&rs);
    }
}

static void test_delay(void **state)
{
    struct wg_ruleset rs = parse("delay 10ms on *; delay 1ms..3ms on *; delay 0ns..1ns on *");
    uint64_t lo = UINT64_MAX, hi = 0;
    int seen[2] = {0, 0};

    for (uint64_t hit = 1; hit <= 10000; hit++) {
        assert_int_equal(decide_delay_ns(&rs.rules[0], 3, hit), 10000000);
        uint64_t d = decide_delay_ns(&rs.rules[1], 3, hit);
        assert_in_range(d, 1000000, 3000000);
        assert_int_equal(d, decide_delay_ns(&rs.rules[1], 3, hit)); /* pure */
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        seen[decide_delay_ns(&rs.rules[2], 3, hit)]++;
    }
    /* 10,000 uniform draws over 2 ms reach within 20 us of both ends */
    assert_true(lo < 1020000);
    assert_true(hi > 2980000);
    assert_true(seen[0] > 4000 && seen[1] > 4000);
    rules_free(&rs);

    struct wg_rule wide = {0};
    wide.delay_max_ns = UINT64_MAX;
    (void)decide_delay_ns(&wide, 1, 1); /* the full range: no overflow */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_probability),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_times_concurrent),
        cmocka_unit_test(test_delay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

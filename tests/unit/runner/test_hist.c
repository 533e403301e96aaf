/*
 * test_hist.c - the latency histogram against the exact percentiles of
 * 100,000 log-normal values, within its stated precision (the upper edge
 * of the value's bucket: at most 1/128 above it, plus one bucket); merge,
 * clamping, and the shape of the .hgrm text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/load/hist.c"

#define N 100000

static uint64_t rng_state = 12345;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(void)
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

/* Latencies around 2 ms with a long tail (log-normal, sigma 1.2), plus a
 * few stalls of seconds: what a service under injected delays shows. */
static uint64_t *values(void)
{
    uint64_t *v = malloc(N * sizeof(*v));
    for (int i = 0; i < N; i++) {
        double g = sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
        v[i] = (uint64_t)exp(log(2e6) + 1.2 * g);
        if (i % 997 == 0)
            v[i] = (uint64_t)(1e9 + uniform() * 4e9);
    }
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact percentile: the ceil(q% * n)-th smallest value. */
static uint64_t exact(const uint64_t *sorted, double q)
{
    size_t k = (size_t)ceil(q / 100.0 * N);
    return sorted[k ? k - 1 : 0];
}

static void test_percentiles_within_precision(void **state)
{
    uint64_t *v = values(), *s = malloc(N * sizeof(*s));
    struct hist *h = hist_new();
    const double qs[] = {0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99};
    double sum = 0;

    for (int i = 0; i < N; i++) {
        hist_record(h, v[i]);
        sum += (double)v[i];
    }
    memcpy(s, v, N * sizeof(*s));
    qsort(s, N, sizeof(*s), cmp_u64);
    assert_int_equal(hist_count(h), N);
    assert_int_equal(hist_min(h), s[0]);
    assert_int_equal(hist_max(h), s[N - 1]);
    assert_int_equal(hist_percentile(h, 0), s[0]);
    assert_int_equal(hist_percentile(h, 100), s[N - 1]);
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        uint64_t want = exact(s, qs[i]), got = hist_percentile(h, qs[i]);
        /* never below the true value; above it by at most 1/128 + one bucket */
        if (got < want || (double)got > (double)want * (1.0 + 2.0 / 128) + 1)
            fail_msg("p%g: histogram %llu, exact %llu", qs[i], (unsigned long long)got,
                     (unsigned long long)want);
    }
    /* the mean uses bucket midpoints: within 1/128 */
    assert_true(fabs(hist_mean(h) - sum / N) <= sum / N / 128);
    hist_free(h);
    free(v);
    free(s);
}

static void test_exact_low_values_and_edges(void **state)
{
    struct hist *h = hist_new();
    /* below 256 ns every value has its own bucket */
    for (uint64_t i = 0; i < 256; i++)
        hist_record(h, i);
    assert_int_equal(hist_percentile(h, 50), 127);
    assert_int_equal(hist_percentile(h, 100.0 * 200 / 256), 199);
    /* every bucket index maps back to a range that holds its values */
    for (uint64_t v = 1; v < HIST_MAX_NS; v = v * 3 + 7) {
        unsigned i = hist_index(v);
        assert_true(i < HIST_NCOUNTS);
        assert_true(hist_lowest(i) <= v && v <= hist_highest(i));
        assert_true((double)(hist_highest(i) - hist_lowest(i)) <= (double)v / 128);
    }
    assert_true(hist_index(HIST_MAX_NS) < HIST_NCOUNTS);
    hist_free(h);
}

static void test_clamp_and_empty(void **state)
{
    struct hist *h = hist_new();
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_percentile(h, 50), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    assert_true(hist_mean(h) == 0);
    hist_record(h, 7200000000000ull); /* 2 h */
    assert_int_equal(hist_count(h), 1);
    assert_int_equal(hist_max(h), HIST_MAX_NS);
    assert_int_equal(hist_percentile(h, 99), HIST_MAX_NS);
    hist_reset(h);
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_max(h), 0);
    hist_free(h);
}

static void test_merge(void **state)
{
    uint64_t *v = values();
    struct hist *all = hist_new(), *part[4], *merged = hist_new();
    for (int k = 0; k < 4; k++)
        part[k] = hist_new();
    for (int i = 0; i < N; i++) {
        hist_record(all, v[i]);
        hist_record(part[i % 4], v[i]);
    }
    for (int k = 0; k < 4; k++)
        hist_merge(merged, part[k]);
    assert_int_equal(hist_count(merged), N);
    assert_int_equal(hist_min(merged), hist_min(all));
    assert_int_equal(hist_max(merged), hist_max(all));
    assert_memory_equal(merged->counts, all->counts, sizeof(all->counts));
    for (double q = 1; q < 100; q += 7.3)
        assert_int_equal(hist_percentile(merged, q), hist_percentile(all, q));
    /* merging an empty histogram changes nothing */
    hist_reset(part[0]);
    hist_merge(merged, part[0]);
    assert_int_equal(hist_min(merged), hist_min(all));
    for (int k = 0; k < 4; k++)
        hist_free(part[k]);
    hist_free(all);
    hist_free(merged);
    free(v);
}

/* Shards save their histograms as text and wedge merge adds them back:
 * the same counters as one histogram of every value; an empty one and
 * lines that are not a saved histogram change nothing. */
static void test_save_load_merge(void **state)
{
    uint64_t *v = values();
    struct hist *all = hist_new(), *part[3], *merged = hist_new(), *empty = hist_new();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    for (int k = 0; k < 3; k++)
        part[k] = hist_new();
    for (int i = 0; i < N; i++) {
        hist_record(all, v[i]);
        hist_record(part[i % 3], v[i]);
    }
    for (int k = 0; k < 3; k++)
        assert_int_equal(hist_save(part[k], f), 0);
    assert_int_equal(hist_save(empty, f), 0);
    fclose(f);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        assert_int_equal(hist_load_merge(merged, line), 0);
    assert_int_equal(hist_count(merged), N);
    assert_int_equal(hist_min(merged), hist_min(all));
    assert_int_equal(hist_max(merged), hist_max(all));
    assert_memory_equal(merged->counts, all->counts, sizeof(all->counts));
    assert_int_equal(hist_load_merge(merged, "1 2 3 5:2"), -1);     /* counts != total */
    assert_int_equal(hist_load_merge(merged, "1 2 1 99999:1"), -1); /* no such counter */
    assert_int_equal(hist_load_merge(merged, "x"), -1);
    assert_int_equal(hist_count(merged), N);
    for (int k = 0; k < 3; k++)
        hist_free(part[k]);
    hist_free(all);
    hist_free(merged);
    hist_free(empty);
    free(buf);
    free(v);
}

static void test_hgrm_shape(void **state)
{
    uint64_t *v = values();
    struct hist *h = hist_new();
    char *text = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    double last_value = -1, last_pct = -1, value, pct, inv;
    unsigned long long count, last_count = 0;
    int rows = 0, footer = 0, final = 0;

    for (int i = 0; i < N; i++)
        hist_record(h, v[i]);
    assert_int_equal(hist_write_hgrm(h, f), 0);
    fclose(f);
    assert_non_null(strstr(text, "#[Mean    = "));
    assert_non_null(strstr(text, "Total count    =       100000]"));
    assert_non_null(strstr(text, "#[Buckets =           35, SubBuckets     =          256]"));
    line = strtok_r(text, "\n", &save);
    assert_non_null(strstr(line, "Value"));
    assert_non_null(strstr(line, "Percentile"));
    assert_non_null(strstr(line, "TotalCount"));
    assert_non_null(strstr(line, "1/(1-Percentile)"));
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        if (line[0] == '#') {
            footer++;
            continue;
        }
        assert_int_equal(footer, 0); /* the footer comes last */
        if (sscanf(line, "%lf %lf %llu %lf", &value, &pct, &count, &inv) == 4) {
            assert_true(value >= last_value && pct >= last_pct && count >= last_count);
            assert_true(pct < 1);
            assert_true(fabs(inv - 1 / (1 - pct)) < 0.01 * inv);
            rows++;
        } else {
            assert_int_equal(sscanf(line, "%lf %lf %llu", &value, &pct, &count), 3);
            assert_true(pct == 1.0);
            assert_int_equal(count, N);
            assert_true(fabs(value - hist_max(h) / 1e6) < 0.001);
            final++;
        }
        last_value = value, last_pct = pct, last_count = count;
    }
    assert_true(rows > 50); /* 5 ticks per halving: about 100 rows for 1e5 values */
    assert_int_equal(final, 1);
    assert_int_equal(footer, 3);
    free(text);
    hist_free(h);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_within_precision),
        cmocka_unit_test(test_exact_low_values_and_edges),
        cmocka_unit_test(test_clamp_and_empty),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_save_load_merge),
        cmocka_unit_test(test_hgrm_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_expand.c - ${...} expansion: every variable, the errors, and the
 * determinism of ${rand} / ${uuid} for a given seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/scenario/expand.c"

static const char *const names[] = {"shopd", "pspd"};
static const int ports[] = {8080, 9090};

static struct exp_ctx ctx_base(void)
{
    struct exp_ctx c = {
        .build = "/b",
        .dsn = "host=127.0.0.1 port=5432",
        .out = "/o",
        .scenario_dir = "/s",
        .service = "pspd",
        .port_names = names,
        .ports = ports,
        .nports = 2,
        .user = 3,
        .iter = 17,
        .seed = 42,
        .rng = NULL,
    };
    return c;
}

static void expect(const struct exp_ctx *c, const char *tmpl, const char *want)
{
    char err[256] = "";
    char *got = exp_expand(tmpl, c, err, sizeof(err));
    if (!got)
        fail_msg("'%s': %s", tmpl, err);
    assert_string_equal(got, want);
    free(got);
}

static void expect_err(const struct exp_ctx *c, const char *tmpl, const char *want)
{
    char err[256] = "";
    char *got = exp_expand(tmpl, c, err, sizeof(err));
    if (got)
        fail_msg("'%s' expanded to '%s'", tmpl, got);
    assert_string_equal(err, want);
}

static void test_variables(void **state)
{
    struct exp_ctx c = ctx_base();
    expect(&c, "${build}/shopd --port ${port} --dsn '${dsn}'",
           "/b/shopd --port 9090 --dsn 'host=127.0.0.1 port=5432'");
    expect(&c, "${port:shopd}-${port:pspd}", "8080-9090");
    expect(&c, "${out}|${scenario_dir}|${user}|${iter}|${seed}", "/o|/s|3|17|42");
    expect(&c, "no variables at all", "no variables at all");
    expect(&c, "", "");
}

static void test_dollars(void **state)
{
    struct exp_ctx c = ctx_base();
    expect(&c, "$$", "$");
    expect(&c, "cost $$5 and $${build}", "cost $5 and ${build}");
    expect(&c, "sh -c 'kill $(cat x)' $HOME $", "sh -c 'kill $(cat x)' $HOME $");
}

static void test_errors(void **state)
{
    struct exp_ctx c = ctx_base();
    expect_err(
        &c, "a ${foo} b",
        "unknown variable '${foo}' (known: build, port, port:SERVICE, dsn, dsn_uri, dsn:NAME, "
        "dsn_uri:NAME, db_host, db_port, uuid, rand:A:B, user, seed, out, scenario_dir, "
        "iter, env:NAME, env:NAME:-DEFAULT)");
    expect_err(&c, "x ${build", "unterminated '${' at column 3 (expected '}')");
    expect_err(&c, "${port:nope}", "unknown service 'nope' in '${port:nope}'");
    expect_err(&c, "${rand:5:1}",
               "bad bounds in '${rand:5:1}': expected ${rand:A:B} with integers A <= B");
    expect_err(&c, "${rand:a:b}",
               "bad bounds in '${rand:a:b}': expected ${rand:A:B} with integers A <= B");
    expect_err(&c, "${rand:1}",
               "bad bounds in '${rand:1}': expected ${rand:A:B} with integers A <= B");
    c.user = -1;
    expect_err(&c, "${user}", "variable '${user}' is only available in [workload] requests");
    c.build = NULL;
    expect_err(&c, "${build}", "variable '${build}' is not available here");
    c.service = NULL;
    expect_err(&c, "${port}", "variable '${port}' is not available here (use ${port:SERVICE})");
    /* with a single service, ${port} is its port */
    c.nports = 1;
    expect(&c, "${port}", "8080");
}

/* The run's connection string in the other forms: a URI drivers other than
 * libpq read, its host and port, and the same through a proxy's port. */
static void test_dsn_forms(void **state)
{
    struct exp_ctx c = ctx_base();

    c.dsn = "host=127.0.0.1 port=54321 dbname=wedge_x_1 user=wedge password='p@ss w:rd/%'";
    expect(&c, "${dsn_uri}", "postgresql://wedge:p%40ss%20w%3Ard%2F%25@127.0.0.1:54321/wedge_x_1");
    expect(&c, "${db_host}:${db_port}", "127.0.0.1:54321");
    expect(&c, "${dsn:shopd}",
           "user=wedge password='p@ss w:rd/%' dbname=wedge_x_1 host=127.0.0.1 port=8080");
    expect(&c, "${dsn_uri:pspd}",
           "postgresql://wedge:p%40ss%20w%3Ard%2F%25@127.0.0.1:9090/wedge_x_1");
    /* other parameters go into the query; a quote and a backslash survive
     * the key=value form */
    c.dsn = "host=::1 port=5 dbname=d sslmode=disable application_name='a b'";
    expect(&c, "${dsn_uri}", "postgresql://[::1]:5/d?application_name=a%20b&sslmode=disable");
    c.dsn = "host=/tmp dbname=it\'s";
    expect(&c, "${dsn:pspd}", "dbname='it\\'s' host=127.0.0.1 port=9090");
    expect(&c, "${dsn_uri}", "postgresql:///it%27s?host=%2Ftmp");
    expect(&c, "${db_host} ${db_port}", "/tmp 5432"); /* libpq's default port */
    /* a URI reads back as key=value */
    c.dsn = "postgresql://u@h:7/db?connect_timeout=3";
    expect(&c, "${dsn:shopd}", "user=u connect_timeout=3 dbname=db host=127.0.0.1 port=8080");
    c.dsn = "host=h port=1 bogus=1";
    expect_err(&c, "${dsn_uri}",
               "cannot read the connection string: invalid connection option \"bogus\"");
    expect_err(&c, "${dsn:nope}", "unknown proxy or service 'nope' in '${dsn:nope}'");
    c.dsn = NULL;
    expect_err(&c, "${db_port}", "variable '${db_port}' is not available here");
}

static void test_rand_bounds_and_determinism(void **state)
{
    struct exp_ctx c = ctx_base();
    uint64_t rng = 7, rng2 = 7;
    int seen[6] = {0};
    char err[128], *a, *b;

    c.rng = &rng;
    for (int i = 0; i < 2000; i++) {
        char *v = exp_expand("${rand:1:5}", &c, err, sizeof(err));
        int n;
        assert_non_null(v);
        n = atoi(v);
        assert_true(n >= 1 && n <= 5);
        seen[n]++;
        free(v);
    }
    for (int n = 1; n <= 5; n++)
        assert_true(seen[n] > 300); /* 2000 draws over 5 values: every one appears */
    expect(&c, "${rand:-3:-3}", "-3");
    /* the same seed gives the same sequence */
    rng = 99, rng2 = 99;
    c.rng = &rng;
    a = exp_expand("${rand:0:1000000} ${uuid} ${rand:0:1000000}", &c, err, sizeof(err));
    c.rng = &rng2;
    b = exp_expand("${rand:0:1000000} ${uuid} ${rand:0:1000000}", &c, err, sizeof(err));
    assert_string_equal(a, b);
    free(b);
    /* and a following expansion continues the sequence */
    c.rng = &rng;
    b = exp_expand("${rand:0:1000000} ${uuid} ${rand:0:1000000}", &c, err, sizeof(err));
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    /* without a generator, the seed, user and iteration decide */
    c.rng = NULL;
    a = exp_expand("${uuid}", &c, err, sizeof(err));
    b = exp_expand("${uuid}", &c, err, sizeof(err));
    assert_string_equal(a, b);
    free(b);
    c.user = 4;
    b = exp_expand("${uuid}", &c, err, sizeof(err));
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void test_uuid_format(void **state)
{
    struct exp_ctx c = ctx_base();
    uint64_t rng = 1;
    char err[128];
    c.rng = &rng;
    for (int i = 0; i < 100; i++) {
        char *u = exp_expand("${uuid}", &c, err, sizeof(err));
        assert_non_null(u);
        assert_int_equal(strlen(u), 36);
        for (int k = 0; k < 36; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23)
                assert_int_equal(u[k], '-');
            else
                assert_non_null(strchr("0123456789abcdef", u[k]));
        }
        assert_int_equal(u[14], '4');           /* version 4 */
        assert_non_null(strchr("89ab", u[19])); /* variant 10 */
        free(u);
    }
}

/* ${env:NAME}, its default, and a flow's captured variables; the offset
 * of the '${' at fault for a FILE:LINE:COL. */
static void test_env_and_captured(void **state)
{
    struct exp_ctx c = ctx_base();
    const char *vn[] = {"order_id", "cart"}, *vv[] = {"42", NULL};
    char err[256];
    size_t at = 99;
    char *got;

    setenv("WEDGE_TEST_TOKEN", "s3cret", 1);
    setenv("WEDGE_TEST_EMPTY", "", 1);
    unsetenv("WEDGE_TEST_UNSET");
    expect(&c, "Bearer ${env:WEDGE_TEST_TOKEN}", "Bearer s3cret");
    expect(&c,
           "${env:WEDGE_TEST_UNSET:-dflt}|${env:WEDGE_TEST_EMPTY:-e}|${env:WEDGE_TEST_TOKEN:-x}",
           "dflt|e|s3cret");
    expect(&c, "[${env:WEDGE_TEST_UNSET:-}]", "[]");
    expect_err(&c, "${env:WEDGE_TEST_UNSET}",
               "environment variable 'WEDGE_TEST_UNSET' is not set (set it, or give a default: "
               "${env:WEDGE_TEST_UNSET:-VALUE})");
    expect_err(&c, "${env:9x}",
               "bad environment variable name in '${env:9x}': expected "
               "${env:NAME} or ${env:NAME:-DEFAULT}, NAME of letters, digits "
               "and '_'");
    expect_err(&c, "${env:}",
               "bad environment variable name in '${env:}': expected ${env:NAME} "
               "or ${env:NAME:-DEFAULT}, NAME of letters, digits and '_'");
    c.var_names = vn;
    c.var_values = vv;
    c.nvars = 2;
    expect(&c, "/orders/${order_id}/pay", "/orders/42/pay");
    expect_err(&c, "/carts/${cart}",
               "variable '${cart}' is not captured by an earlier request of this flow (a capture "
               "feeds the later requests of its [flow])");
    got = exp_expand_at("/x/${order_id}/${nope}", &c, err, sizeof(err), &at);
    assert_null(got);
    assert_int_equal(at, 15);
}

static void test_rng(void **state)
{
    uint64_t a = 0, b = 0, c = 1;
    uint64_t x = exp_rng_next(&a);
    assert_int_equal(x, exp_rng_next(&b));
    assert_true(x != exp_rng_next(&c));
    assert_true(exp_rng_next(&a) != x);
    /* splitmix64 reference value for state 0 */
    b = 0;
    assert_int_equal(exp_rng_next(&b), 0xe220a8397b1dcdafull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variables),   cmocka_unit_test(test_dollars),
        cmocka_unit_test(test_errors),      cmocka_unit_test(test_rand_bounds_and_determinism),
        cmocka_unit_test(test_uuid_format), cmocka_unit_test(test_rng),
        cmocka_unit_test(test_dsn_forms),   cmocka_unit_test(test_env_and_captured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_scn_flow.c - the scenario language of issue 15: [flow NAME],
 * header / expect / capture lines and where they belong, target URLs,
 * thresholds and HTTP invariants, --set overrides, and the check of every
 * ${...} a request expands (FILE:LINE:COL).  Every message word for word.
 * Includes scn.c to reach its static helpers (see tests/README.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/scenario/scn.c"

#include "scn_test.h"

#define SHOP "[service shopd]\ncommand = x\n"

/* Load text with overrides; it must fail with exactly want (no path
 * prefix when want starts with "--set"). */
static void expect_set_error(const char *text, const char *const *sets, int n, const char *want)
{
    struct scenario s;
    char err[1024], full[1024];
    rt_write_file(scnpath, text);
    if (strncmp(want, "--set", 5) == 0)
        snprintf(full, sizeof(full), "%s", want);
    else
        snprintf(full, sizeof(full), "%s:%s", scnpath, want);
    assert_int_equal(scn_load_set(scnpath, sets, n, &s, err, sizeof(err)), -1);
    assert_string_equal(err, full);
}

/* scn_check_requests must refuse text with "PATH:" + want. */
static void expect_check_error(const char *text, const char *want)
{
    struct scenario s;
    struct exp_standin st;
    char err[1024], full[1024];
    load_ok(text, &s);
    exp_standin(&s, &st);
    snprintf(full, sizeof(full), "%s:%s", scnpath, want);
    assert_int_equal(scn_check_requests(&s, &st, err, sizeof(err)), -1);
    assert_string_equal(err, full);
    scn_free(&s);
}

static void test_flow_structures(void **state)
{
    struct scenario s;
    load_ok(SHOP "[workload]\ntarget = http://127.0.0.1:${env:PORT}\nmax_info = 2.5%\n"
                 "header = Authorization: Bearer ${env:TOKEN}\n"
                 "request = 2 GET /health\nexpect = status 200,204\nheader = X-One: 1\n"
                 "[flow checkout]\nweight = 3\nheader = X-Flow: yes\n"
                 "request = POST /carts {}\nexpect = status 2xx\ncapture = cart = json $.id\n"
                 "request = POST /carts/${cart}/order\ncapture = order_id = json $['id']\n"
                 "capture = loc = header Location\n"
                 "request = POST /orders/${order_id}/pay {}\n"
                 "expect = json $.status == \"paid\"\nexpect = header X-Paid exists\n",
            &s);
    assert_true(s.target_is_url);
    assert_string_equal(s.target, "http://127.0.0.1:${env:PORT}");
    assert_true(s.max_info > 0.0249 && s.max_info < 0.0251);
    assert_int_equal(s.nheaders, 1);
    assert_string_equal(s.headers[0].text, "Authorization: Bearer ${env:TOKEN}");
    assert_int_equal(s.headers[0].col, 10);
    assert_int_equal(s.nrequests, 4);
    assert_int_equal(s.requests[0].flow, -1);
    assert_int_equal(s.requests[0].weight, 2);
    assert_int_equal(s.requests[0].nheaders, 1); /* after its request: that request's */
    assert_int_equal(s.requests[0].expects[0].nstatus, 2);
    assert_int_equal(s.requests[0].expects[0].status_lo[1], 204);
    assert_int_equal(s.nflows, 1);
    assert_string_equal(s.flows[0].name, "checkout");
    assert_int_equal(s.flows[0].weight, 3);
    assert_int_equal(s.flows[0].first, 1);
    assert_int_equal(s.flows[0].n, 3);
    assert_int_equal(s.flows[0].nheaders, 1);
    assert_int_equal(s.requests[1].flow, 0);
    assert_int_equal(s.requests[1].expects[0].status_lo[0], 200);
    assert_int_equal(s.requests[1].expects[0].status_hi[0], 299);
    assert_int_equal(s.nvars, 3);
    assert_string_equal(s.vars[s.requests[2].captures[1].var], "loc");
    assert_int_equal(s.requests[2].captures[1].kind, SCN_CAP_HEADER);
    assert_string_equal(s.requests[3].expects[0].path, "$.status");
    assert_int_equal(s.requests[3].expects[0].op, SCN_EQ);
    assert_string_equal(s.requests[3].expects[0].value, "\"paid\"");
    assert_int_equal(s.requests[3].expects[1].kind, SCN_EXP_HEADER);
    assert_int_equal(s.requests[3].expects[1].op, SCN_EXISTS);
    assert_string_equal(s.requests[3].label, "POST /orders/${order_id}/pay");
    assert_int_equal(s.requests[3].path_col, 16);
    scn_free(&s);
}

static void test_flow_errors(void **state)
{
    expect_error(SHOP "[workload]\nexpect = status 200\nrequest = GET /\n",
                 "4: 'expect' belongs to a request: put it after the 'request =' line whose "
                 "response it checks");
    expect_error(SHOP "[workload]\nsql = SELECT 1\ncapture = x = json $.id\n",
                 "5: 'capture' reads HTTP responses: the request above is 'sql ='");
    expect_error(SHOP "[flow f]\nsql = SELECT 1\n",
                 "4: a [flow] sends HTTP requests: 'sql' lines belong in [workload]");
    expect_error(SHOP "[flow f]\nrequest = 2 GET /\n",
                 "4: a flow's requests run in order, so they take no weight (give the flow one: "
                 "weight = N)");
    expect_error(SHOP "[flow f]\nweight = 0\nrequest = GET /\n",
                 "4: bad weight '0': expected a whole number from 1 to 1000000");
    expect_error(SHOP "[flow f]\n[workload]\nrequest = GET /\n",
                 "3: [flow f] needs 'request = ...' lines");
    expect_error(SHOP "[flow f]\nrequest = GET /\n[flow f]\nrequest = GET /\n",
                 "5: duplicate name 'f' (first at line 3)");
    expect_error(SHOP "[flow]\nrequest = GET /\n",
                 "3: section [flow] needs a name of letters, digits, '_', '-' or '.': [flow NAME]");
    expect_error(SHOP "[workload]\nheader = Authorization Bearer x\nrequest = GET /\n",
                 "4:23: expected header = NAME: VALUE (NAME of letters, digits and "
                 "-_.!#$%&'*+^`|~) (got 'Authorization Bearer x')");
    expect_error(SHOP "[workload]\ntarget = http://\nrequest = GET /\n",
                 "4: expected target = http://HOST[:PORT] (got 'http://')");
    expect_error(SHOP "[workload]\nmax_info = 5\nrequest = GET /\n",
                 "4: expected max_info = N% with N from 0 to 100 (got '5')");
    expect_error("[workload]\nrequest = GET /x\n",
                 "2: an HTTP request needs a [service NAME] or target = http://HOST:PORT to send "
                 "it to (or a full URL)");
}

static void test_expect_capture_errors(void **state)
{
#define REQ SHOP "[workload]\nrequest = GET /\n"
    expect_error(REQ "expect = status 2x\n", "5:17: expected a status code from 100 to 599, or a "
                                             "class such as 2xx (got '2x')");
    expect_error(REQ "expect = status 200,600\n", "5:21: expected a status code from 100 to 599, "
                                                  "or a class such as 2xx (got '600')");
    expect_error(REQ "expect = status\n", "5:16: expected status CODE[,CODE...] (such as 201 or "
                                          "2xx)");
    expect_error(REQ "expect = body ~ x\n", "5:10: expected status CODE, json PATH OP VALUE or "
                                            "header NAME OP VALUE (got 'body')");
    expect_error(REQ "expect = json id == 1\n", "5:15: expected a JSONPath starting with '$' "
                                                "(such as $.id)");
    expect_error(REQ "expect = json $.a = 1\n", "5:19: expected an operator (== != < <= > >=) or "
                                                "'exists' (got '=') (did you mean '=='?)");
    expect_error(REQ "expect = json $.a == paid\n",
                 "5:22: expected a JSON value (\"text\", a number, true, false or null): invalid "
                 "token near 'paid'");
    expect_error(REQ "expect = json $.a < \"x\"\n",
                 "5:21: '<' compares numbers: expected a number (got \"x\")");
    expect_error(REQ "expect = json $.a ==\n", "5:21: expected a value after '=='");
    expect_error(REQ "expect = json $.a exists 1\n", "5:26: unexpected '1' after 'exists'");
    expect_error(REQ "capture = user = json $.id\n",
                 "5:11: 'user' is a built-in variable: choose another name");
    expect_error(REQ "capture = 9x = json $.id\n",
                 "5:11: expected capture = NAME = json PATH or NAME = header NAME, NAME of "
                 "letters, digits and '_' (got '9x')");
    expect_error(REQ "capture = id json $.id\n", "5:14: expected '=' after the variable name 'id'");
    expect_error(REQ "capture = id = body\n", "5:16: expected json PATH or header NAME after 'id "
                                              "=' (got 'body')");
    expect_error(REQ "capture = id = json $.a[\n", "5:25: expected an array index [N] or a member "
                                                   "['name']");
#undef REQ
}

static void test_threshold_and_http_invariants(void **state)
{
    struct scenario s;
#define INV SHOP "[workload]\nrequest = POST /orders {}\n[invariants]\n"
    load_ok(INV "a = latency p99.9 of \"POST /orders\" <= 1.5s\nb = failed < 0.5%\n"
                "c = throughput >= 100/s\nd = retries < 3\ne = latency mean < 20ms\n"
                "f = http: GET /stats | status 200 | json $.sold == 20\n",
            &s);
    assert_int_equal(s.invariants[0].kind, SCN_INV_THRESHOLD);
    assert_int_equal(s.invariants[0].metric, SCN_M_LATENCY);
    assert_true(s.invariants[0].pct > 99.89 && s.invariants[0].pct < 99.91);
    assert_string_equal(s.invariants[0].label, "POST /orders");
    assert_int_equal(s.invariants[0].op, SCN_LE);
    assert_true(s.invariants[0].number == 1.5e9);
    assert_true(s.invariants[1].percent && s.invariants[1].number == 0.005);
    assert_true(s.invariants[2].metric == SCN_M_THROUGHPUT && s.invariants[2].number == 100);
    assert_true(!s.invariants[3].percent && s.invariants[3].number == 3);
    assert_true(s.invariants[4].pct == 0);
    assert_int_equal(s.invariants[5].kind, SCN_INV_HTTP);
    assert_string_equal(s.invariants[5].http->path, "/stats");
    assert_int_equal(s.invariants[5].http->nexpects, 2);
    assert_string_equal(s.invariants[5].http->expects[1].value, "20");
    scn_free(&s);
    expect_error(INV "a = latency p101 < 1ms\n", "6:13: expected a percentile from p0.001 to "
                                                 "p100 (such as p50, p99, p99.9), got 'p101'");
    expect_error(INV "a = latency 99 < 1ms\n", "6:13: expected pNN, mean or max after 'latency' "
                                               "(such as p99), got '99'");
    expect_error(INV "a = latency p99 of POST < 1ms\n",
                 "6:20: expected a request's label in double quotes after 'of' (such as \"POST "
                 "/orders\")");
    expect_error(INV "a = latency p99 of \"POST /order\" < 1ms\n",
                 "6: no request is labelled \"POST /order\" (did you mean 'POST /orders'?) (a "
                 "label is METHOD PATH as written, or sql: and its first 40 characters)");
    expect_error(INV "a = latency p99 < soon\n", "6:19: expected a duration after the operator (a "
                                                 "number and a unit: ns, us, ms, s, m, h, such as "
                                                 "200ms), got 'soon'");
    expect_error(INV "a = failed = 1%\n", "6:12: expected of \"LABEL\" or an operator (< <= == != "
                                          ">= >), got '=' (did you mean '=='?)");
    expect_error(INV "a = failed < lots\n", "6:14: expected a share (such as 1%) or a count "
                                            "after the operator, got 'lots'");
    expect_error(INV "a = throughput > fast\n", "6:18: expected requests per second (such as "
                                                "100/s) after the operator, got 'fast'");
    expect_error(INV "a = http: FETCH /x\n", "6:11: expected [WEIGHT] METHOD PATH [BODY] with "
                                             "METHOD one of GET, HEAD, POST, PUT, PATCH, DELETE, "
                                             "OPTIONS (got 'FETCH')");
    expect_error(INV "a = http: GET /stats | json $.a = 1\n",
                 "6:33: expected an operator (== != < <= > >=) or 'exists' (got '=') (did you "
                 "mean '=='?)");
    expect_error("[workload]\nsql = SELECT 1\n[invariants]\na = latency p99 < 1ms\n"
                 "b = http: GET /x\n",
                 "5: an HTTP invariant needs a [service NAME] or target = http://HOST:PORT to "
                 "send it to (or a full URL)");
    expect_error("[job j]\ncommand = x\n[invariants]\na = latency p99 < 1ms\n",
                 "4: threshold 'a' needs requests: the workload sends none");
#undef INV
}

static void test_set_overrides(void **state)
{
    struct scenario s;
    char err[1024];
    const char *sets[] = {"workload.users=4",
                          "service.shopd.rules=delay 1ms on pq.query",
                          "workload.header=X-Set: yes",
                          "scenario.name=renamed",
                          "invariants.p99=latency p99 < 5s",
                          "invariants.ok=SELECT false"};
    rt_write_file(scnpath, "; over\n[service shopd]\ncommand = x\nrules = log on sock.send\n"
                           "[workload]\nusers = 2\nrequest = GET /\nheader = X-Own: 1\n"
                           "[invariants]\nok = SELECT true\n");
    if (scn_load_set(scnpath, sets, 6, &s, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(s.users, 4);
    assert_string_equal(s.services[0].rules, "delay 1ms on pq.query");
    assert_int_equal(s.nheaders, 1); /* before the requests: the workload's */
    assert_string_equal(s.headers[0].text, "X-Set: yes");
    assert_int_equal(s.requests[0].nheaders, 1);
    assert_string_equal(s.name, "renamed");
    assert_int_equal(s.ninvariants, 2);
    assert_string_equal(s.invariants[0].sql, "SELECT false");
    assert_int_equal(s.invariants[1].kind, SCN_INV_THRESHOLD);
    {
        char where[256];
        assert_string_equal(scn_where(&s, s.invariants[0].line, where, sizeof(where)),
                            "--set invariants.ok=SELECT false");
        assert_string_equal(scn_where(&s, s.requests[0].line, where, sizeof(where)),
                            strcat(strcpy(err, scnpath), ":7"));
    }
    scn_free(&s);
    {
        const char *bad[] = {"workload.users=0"};
        expect_set_error(SHOP "[workload]\nrequest = GET /\n", bad, 1,
                         "--set workload.users=0: 'users' must be between 1 and 1000000 (got 0): "
                         "virtual users share a few worker threads at about 100 bytes each "
                         "(1000000 ran in 100 MB); past that, split them over machines with wedge "
                         "run --shard I/N");
    }
    {
        const char *bad[] = {"service.shop.rules=x"};
        expect_set_error(SHOP "[workload]\nrequest = GET /\n", bad, 1,
                         "--set service.shop.rules=x: no [service shop] in the scenario");
    }
    {
        const char *bad[] = {"worklaod.users=3"};
        expect_set_error(SHOP "[workload]\nrequest = GET /\n", bad, 1,
                         "--set worklaod.users=3: unknown section 'worklaod' (did you mean "
                         "'workload'?)");
    }
    {
        const char *bad[] = {"workload.usres=3"};
        expect_set_error(SHOP "[workload]\nrequest = GET /\n", bad, 1,
                         "--set workload.usres=3: unknown key 'usres' (did you mean 'users'?)");
    }
    {
        const char *bad[] = {"workload.request=GET /x"};
        expect_set_error(SHOP "[workload]\nrequest = GET /\n", bad, 1,
                         "--set workload.request=GET /x: 'request' lines cannot be set from the "
                         "command line (a request's place in the file gives it its headers, "
                         "expects and captures)");
    }
    {
        const char *bad[] = {"users=3", "service.rules=x"};
        expect_set_error(SHOP "[workload]\nrequest = GET /\n", bad, 1,
                         "--set users=3: expected SECTION.KEY=VALUE (such as workload.users=4 "
                         "or service.NAME.rules=...)");
        expect_set_error(SHOP "[workload]\nrequest = GET /\n", bad + 1, 1,
                         "--set service.rules=x: expected SECTION.NAME.KEY=VALUE");
    }
}

static void test_set_adds_section(void **state)
{
    struct scenario s;
    char err[1024];
    const char *sets[] = {"workload.users=3", "workload.users=5", "database.fixture=SELECT 1"};
    rt_write_file(scnpath, "[job j]\ncommand = true\n");
    if (scn_load_set(scnpath, sets, 3, &s, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(s.users, 5); /* the last of a single key wins */
    assert_true(s.uses_db);
    assert_string_equal(s.fixtures[0], "SELECT 1");
    scn_free(&s);
}

/* Every ${...} of the requests before anything runs, with FILE:LINE:COL. */
static void test_check_requests(void **state)
{
    struct scenario s;
    struct exp_standin st;
    char err[1024];

    unsetenv("WEDGE_TEST_UNSET");
    expect_check_error(SHOP "[workload]\nrequest = POST /buy${bar}\n",
                       "4:20: unknown variable '${bar}' (known: build, port, port:SERVICE, dsn, "
                       "dsn_uri, dsn:NAME, dsn_uri:NAME, db_host, db_port, uuid, rand:A:B, user, "
                       "seed, out, scenario_dir, iter, env:NAME, env:NAME:-DEFAULT)");
    expect_check_error(SHOP "[workload]\nrequest = POST /x {\"a\":${rand:9:1}}\n",
                       "4:24: bad bounds in '${rand:9:1}': expected ${rand:A:B} with integers "
                       "A <= B");
    expect_check_error(SHOP "[workload]\nheader = X-T: ${env:WEDGE_TEST_UNSET}\nrequest = GET /\n",
                       "4:15: environment variable 'WEDGE_TEST_UNSET' is not set (set it, or "
                       "give a default: ${env:WEDGE_TEST_UNSET:-VALUE})");
    expect_check_error(SHOP "[workload]\nrequest = POST /orders\ncapture = id = json $.id\n"
                            "request = GET /orders/${id}\n",
                       "6:23: variable '${id}' is not captured by an earlier request of this "
                       "flow (a capture feeds the later requests of its [flow])");
    expect_check_error(SHOP "[flow f]\nrequest = GET /orders/${id}\nrequest = POST /orders\n"
                            "capture = id = json $.id\n",
                       "4:23: variable '${id}' is not captured by an earlier request of this "
                       "flow (a capture feeds the later requests of its [flow])");
    expect_check_error(SHOP "[workload]\ntarget = http://h:${env:WEDGE_TEST_UNSET}\n"
                            "request = GET /\n",
                       "4:19: environment variable 'WEDGE_TEST_UNSET' is not set (set it, or "
                       "give a default: ${env:WEDGE_TEST_UNSET:-VALUE})");
    setenv("WEDGE_TEST_WORD", "paid", 1);
    expect_check_error(SHOP "[workload]\nrequest = GET /\n"
                            "expect = json $.s == ${env:WEDGE_TEST_WORD}\n",
                       "5:22: value '${env:WEDGE_TEST_WORD}' is no JSON value once expanded "
                       "('paid'): invalid token near 'paid'");
    expect_check_error(SHOP "[workload]\nsql = SELECT ${nope}\n",
                       "4:14: unknown variable '${nope}' (known: build, port, port:SERVICE, dsn, "
                       "dsn_uri, dsn:NAME, dsn_uri:NAME, db_host, db_port, uuid, rand:A:B, user, "
                       "seed, out, scenario_dir, iter, env:NAME, env:NAME:-DEFAULT)");
    /* a flow's later step sees what the earlier ones captured */
    load_ok(SHOP "[flow f]\nrequest = POST /orders\ncapture = id = json $.id\n"
                 "request = GET /orders/${id}\nexpect = json $.id == ${id}\n[invariants]\n"
                 "x = http: GET /stats?u=${env:WEDGE_TEST_UNSET:-none} | json $.n exists\n",
            &s);
    exp_standin(&s, &st);
    if (scn_check_requests(&s, &st, err, sizeof(err)))
        fail_msg("%s", err);
    scn_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_structures),
        cmocka_unit_test(test_flow_errors),
        cmocka_unit_test(test_expect_capture_errors),
        cmocka_unit_test(test_threshold_and_http_invariants),
        cmocka_unit_test(test_set_overrides),
        cmocka_unit_test(test_set_adds_section),
        cmocka_unit_test(test_check_requests),
    };
    return cmocka_run_group_tests(tests, setup, rt_teardown);
}

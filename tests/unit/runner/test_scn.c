/*
 * test_scn.c - scenario files: every error path with its exact
 * "file:line: message", the defaults, repeated keys, durations.
 * Includes scn.c to reach its static helpers (see tests/README.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/scenario/scn.c"

#include "scn_test.h"

#include <ctype.h>

#define WORK "[workload]\nsql = SELECT 1\n"
#define USERS_WHY                                                                                \
    "virtual users share a few worker threads at about 100 bytes each (1000000 ran in 100 MB); " \
    "past that, split them over machines with wedge run --shard I/N"
#define DURATION_WHY "0 would be no load at all; a week at most"

static uint64_t exp_rng_next_for_test(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------
 * Valid files.
 * ------------------------------------------------------------ */
static void test_full_fixture(void **state)
{
    struct scenario s;
    char err[1024] = "";
    if (scn_load(FIXTURES "/full.scn", &s, err, sizeof(err)))
        fail_msg("%s", err);
    assert_string_equal(s.name, "oversell");
    assert_string_equal(s.description, "Two buyers race for the last units of one SKU.\n"
                                       "(a fixture of the unit tests: every section and key once)");
    assert_true(s.has_seed);
    assert_int_equal(s.seed, 42);
    assert_string_equal(s.rules, "log on sock.connect");
    assert_int_equal(s.timeout_ns, 90000000000ull);
    assert_string_equal(s.schema[0], FIXTURES "/schema.sql");
    assert_string_equal(s.schema[1], FIXTURES "/sub/more.sql");
    assert_null(s.schema[2]);
    assert_string_equal(s.fixtures[1], "INSERT INTO inventory (sku, stock) VALUES ('sku-2', 5)");
    assert_null(s.fixtures[2]);

    assert_int_equal(s.nservices, 2);
    assert_string_equal(s.services[0].name, "shopd");
    assert_string_equal(s.services[0].command,
                        "${build}/shopd --port ${port} --dsn ${dsn} --stock naive");
    assert_string_equal(s.services[0].ready, "http://127.0.0.1:${port}/health");
    assert_string_equal(s.services[0].rules, "barrier stock-read 2 timeout 250ms after pq.query "
                                             "where sql ~ \"SELECT stock\"");
    assert_string_equal(s.services[0].env[0], "SHOP_POOL=4");
    assert_string_equal(s.services[0].env[1], "SHOP_MODE=naive");
    assert_null(s.services[0].env[2]);
    assert_int_equal(s.services[0].stop_grace_ns, 500000000ull);
    assert_int_equal(s.services[0].line, 16);
    assert_int_equal(s.services[1].stop_grace_ns, 2000000000ull); /* default */
    assert_string_equal(s.services[1].ready, "tcp:${port}");
    assert_null(s.services[1].rules);

    assert_int_equal(s.njobs, 1);
    assert_string_equal(s.jobs[0].name, "bench");
    assert_int_equal(s.jobs[0].when, SCN_JOB_AFTER);
    assert_int_equal(s.jobs[0].timeout_ns, 30000000000ull);
    assert_string_equal(s.jobs[0].env[0], "PGAPPNAME=bench");

    assert_int_equal(s.users, 16);
    assert_true(s.rate > 200.4 && s.rate < 200.6);
    assert_int_equal(s.duration_ns, 5000000000ull);
    assert_int_equal(s.iterations, 1000);
    assert_string_equal(s.target, "shopd");
    assert_int_equal(s.max_tries, 3);
    assert_int_equal(s.request_timeout_ns, 2000000000ull);
    assert_int_equal(s.sample_ns, 250000000ull);

    assert_int_equal(s.nrequests, 3);
    assert_int_equal(s.requests[0].kind, SCN_REQ_HTTP);
    assert_int_equal(s.requests[0].weight, 1);
    assert_string_equal(s.requests[0].method, "POST");
    assert_string_equal(s.requests[0].path, "/orders");
    assert_string_equal(s.requests[0].body, "{\"sku\":\"sku-1\",\"qty\":1}");
    assert_string_equal(s.requests[0].label, "POST /orders");
    assert_int_equal(s.requests[1].weight, 3);
    assert_string_equal(s.requests[1].path, "/orders/${rand:1:100}");
    assert_null(s.requests[1].body);
    assert_int_equal(s.requests[2].kind, SCN_REQ_SQL);
    assert_int_equal(s.requests[2].weight, 2);
    /* ';' inside a value is data, not a comment */
    assert_string_equal(s.requests[2].sql,
                        "UPDATE inventory SET stock = stock WHERE sku = 'sku-2'; SELECT 1");
    assert_string_equal(s.requests[2].label, "sql:UPDATE inventory SET stock = stock WHERE");

    assert_int_equal(s.ninvariants, 4);
    assert_int_equal(s.invariants[0].kind, SCN_INV_SQL);
    assert_string_equal(s.invariants[1].name, "no_negative_stock");
    assert_int_equal(s.invariants[2].kind, SCN_INV_HISTORY);
    assert_int_equal(s.invariants[2].outcome, SCN_OK);
    assert_string_equal(s.invariants[2].method, "POST");
    assert_string_equal(s.invariants[2].path, "/orders");
    assert_int_equal(s.invariants[2].op, SCN_LE);
    assert_true(s.invariants[2].number == 10);
    assert_int_equal(s.invariants[3].outcome, SCN_ALL);
    assert_string_equal(s.invariants[3].method, "GET");
    assert_null(s.invariants[3].path);
    assert_int_equal(s.invariants[3].op, SCN_GT);
    assert_int_equal(s.invariants[3].line, 52);
    scn_free(&s);
}

static void test_defaults(void **state)
{
    struct scenario s;
    char err[1024] = "";
    if (scn_load(FIXTURES "/minimal.scn", &s, err, sizeof(err)))
        fail_msg("%s", err);
    assert_string_equal(s.name, "minimal"); /* the file name */
    assert_null(s.description);
    assert_false(s.has_seed);
    assert_int_equal(s.timeout_ns, 120000000000ull);
    assert_int_equal(s.users, 1);
    assert_true(s.rate == 0);
    assert_int_equal(s.duration_ns, 10000000000ull); /* neither duration nor iterations */
    assert_int_equal(s.iterations, 0);
    assert_int_equal(s.max_tries, 1);
    assert_int_equal(s.request_timeout_ns, 5000000000ull);
    assert_int_equal(s.sample_ns, 1000000000ull);
    assert_null(s.target);
    assert_null(s.schema);
    assert_int_equal(s.nservices + s.njobs + s.ninvariants, 0);
    assert_string_equal(s.dir, FIXTURES);
    scn_free(&s);
}

static void test_iterations_only(void **state)
{
    struct scenario s;
    load_ok("[workload]\niterations = 5\nsql = SELECT 1\n", &s);
    assert_int_equal(s.duration_ns, 0);
    assert_int_equal(s.iterations, 5);
    scn_free(&s);
}

static void test_description(void **state)
{
    struct scenario s;
    load_ok("\n#  Lost update.\n;\n; Second paragraph.\n\n; not part of it\n" WORK, &s);
    assert_string_equal(s.description, " Lost update.\n\nSecond paragraph.");
    scn_free(&s);
    load_ok("\xef\xbb\xbf; After a byte order mark.\n" WORK, &s);
    assert_string_equal(s.description, "After a byte order mark.");
    scn_free(&s);
    load_ok("; comment\n[scenario]\ndescription = from the key\n" WORK, &s);
    assert_string_equal(s.description, "from the key");
    scn_free(&s);
}

static void test_jobs_only_and_rate_with_users(void **state)
{
    struct scenario s;
    load_ok("[job a]\ncommand = true\n[workload]\nusers = 4\nrate = 10\n", &s);
    assert_int_equal(s.njobs, 1);
    assert_int_equal(s.jobs[0].when, SCN_JOB_WITH_LOAD);
    assert_int_equal(s.duration_ns, 0); /* no requests: the jobs set the pace */
    assert_int_equal(s.users, 4);
    assert_true(s.rate == 10);
    scn_free(&s);
}

static void test_target_defaults_to_first_service(void **state)
{
    struct scenario s;
    load_ok("[service b]\ncommand = x\n[service a]\ncommand = y\n[workload]\nrequest = GET /\n",
            &s);
    assert_string_equal(s.target, "b");
    scn_free(&s);
}

/* [proxy NAME]: a service whose command is `wedge proxy`, ready when it
 * accepts connections, never the load's default target. */
static void test_proxy_section(void **state)
{
    struct scenario s;
    load_ok("[proxy db]\nto = ${db_host}:${db_port}\nrules = log on pq.query\n"
            "[service svc]\ncommand = x --dsn ${dsn:db}\n[workload]\nrequest = GET /\n",
            &s);
    assert_int_equal(s.nservices, 2);
    assert_true(s.services[0].is_proxy);
    assert_false(s.services[1].is_proxy);
    assert_string_equal(s.services[0].proxy_to, "${db_host}:${db_port}");
    assert_string_equal(s.services[0].command,
                        "wedge proxy --serve --quiet --listen 127.0.0.1:${port} --to "
                        "${db_host}:${db_port}");
    assert_string_equal(s.services[0].ready, "tcp:${port}");
    assert_string_equal(s.services[0].rules, "log on pq.query");
    assert_string_equal(s.target, "svc");
    assert_true(s.uses_db);
    scn_free(&s);
    expect_error("[proxy db]\nrules = log on pq.query\n" WORK,
                 "1: [proxy db] needs a 'to = HOST:PORT' line (e.g. to = ${db_host}:${db_port})");
    expect_error("[proxy db]\ncommand = x\nto = h:1\n" WORK,
                 "2: unknown key 'command' in [proxy] (known: to, rules, rules_file, env, "
                 "stop_grace)");
    expect_error("[service db]\ncommand = x\n[proxy db]\nto = h:1\n" WORK,
                 "3: duplicate name 'db' (first at line 1)");
}

static void test_history_forms(void **state)
{
    struct scenario s;
    load_ok(WORK "[invariants]\n"
                 "a = history: fail < 1\n"
                 "b = history: info /x>=2.5\n"
                 "c = history: all DELETE /items != 0\n",
            &s);
    assert_int_equal(s.invariants[0].outcome, SCN_FAIL);
    assert_null(s.invariants[0].method);
    assert_int_equal(s.invariants[0].op, SCN_LT);
    assert_int_equal(s.invariants[1].outcome, SCN_INFO);
    assert_string_equal(s.invariants[1].path, "/x");
    assert_int_equal(s.invariants[1].op, SCN_GE);
    assert_true(s.invariants[1].number == 2.5);
    assert_int_equal(s.invariants[2].op, SCN_NE);
    assert_string_equal(s.invariants[2].method, "DELETE");
    scn_free(&s);
}

/* ---------------------------------------------------------------
 * Errors, each with its exact message.
 * ------------------------------------------------------------ */
static void test_err_unknown_key(void **state)
{
    expect_error("[workload]\nusres = 4\nsql = SELECT 1\n",
                 "2: unknown key 'usres' (did you mean 'users'?)");
    expect_error("[service a]\ncomand = x\n" WORK,
                 "2: unknown key 'comand' (did you mean 'command'?)");
    expect_error("[workload]\nfrobnicate = 1\n",
                 "2: unknown key 'frobnicate' in [workload] (known: users, rate, duration, "
                 "iterations, think, target, request, sql, header, expect, capture, max_tries, "
                 "timeout, sample, max_info)");
}

/* think = D or D1..D2: each end in its range, the shortest first. */
static void test_think(void **state)
{
    struct scenario s;
    load_ok("[workload]\nthink = 20s..40s\nsql = SELECT 1\n", &s);
    assert_int_equal(s.think_lo_ns, 20 * NS_PER_S);
    assert_int_equal(s.think_hi_ns, 40 * NS_PER_S);
    scn_free(&s);
    load_ok("[workload]\nthink = 1.5s\nsql = SELECT 1\n", &s);
    assert_int_equal(s.think_lo_ns, 1500 * NS_PER_MS);
    assert_int_equal(s.think_hi_ns, 1500 * NS_PER_MS);
    scn_free(&s);
    load_ok("[workload]\nsql = SELECT 1\n", &s);
    assert_int_equal(s.think_hi_ns, 0);
    scn_free(&s);
    expect_error("[workload]\nthink = 3s..1s\nsql = SELECT 1\n",
                 "2: think = 3s..1s: the shortest comes first (think = 1s..3s)");
    expect_error("[workload]\nthink = 1s..2h\nsql = SELECT 1\n",
                 "2: 'think' must be between 0 and 1h (got 2h): a pause between a user's "
                 "requests: an hour at most");
    expect_error("[workload]\nthink = soon\nsql = SELECT 1\n",
                 "2: bad duration 'soon' for 'think': expected a number and a unit (ns, us, ms, "
                 "s, m, h), e.g. 250ms");
}

static void test_err_unknown_section(void **state)
{
    expect_error(WORK "[invariant]\n",
                 "3: unknown section '[invariant]' (did you mean '[invariants]'?)");
    expect_error(WORK "[servce shopd]\ncommand = x\n",
                 "3: unknown section '[servce shopd]' (did you mean '[service shopd]'?)");
    expect_error("[frobnicate]\n" WORK,
                 "1: unknown section '[frobnicate]' (expected [scenario], [database], "
                 "[service NAME], [job NAME], [proxy NAME], [workload], [flow NAME] or "
                 "[invariants])");
    expect_error("[service]\ncommand = x\n" WORK,
                 "1: section [service] needs a name of letters, digits, '_', '-' or '.': "
                 "[service NAME]");
    expect_error("[job a b]\ncommand = x\n" WORK,
                 "1: section [job a b] needs a name of letters, digits, '_', '-' or '.': "
                 "[job NAME]");
    expect_error("[workload main]\nsql = SELECT 1\n",
                 "1: section [workload] takes no name (got 'main')");
    expect_error(WORK "[database\n", "3: expected ']' to close the section header");
}

static void test_err_duplicates(void **state)
{
    expect_error("[service a]\ncommand = x\n[job a]\ncommand = y\n" WORK,
                 "3: duplicate name 'a' (first at line 1)");
    expect_error("[service a]\ncommand = x\n[service a]\ncommand = y\n" WORK,
                 "3: duplicate name 'a' (first at line 1)");
    expect_error(WORK "[workload]\n", "3: duplicate section [workload] (first at line 1)");
    expect_error("[workload]\nusers = 1\nusers = 2\nsql = SELECT 1\n",
                 "3: duplicate key 'users' (first at line 2)");
    expect_error(WORK "[invariants]\na = SELECT true\na = SELECT false\n",
                 "5: duplicate invariant 'a' (first at line 4)");
}

static void test_err_missing(void **state)
{
    expect_error("[service a]\nready = tcp:80\n" WORK,
                 "1: [service a] needs a 'command = ...' line");
    expect_error("[job j]\nwhen = before\n" WORK, "1: [job j] needs a 'command = ...' line");
    expect_error("[scenario]\nname = x\n\n[workload]\nusers = 2\n",
                 "4: nothing to run: expected 'request =' or 'sql =' lines in [workload] or a "
                 "[flow NAME], or a [job NAME]");
    expect_error("; nothing\n[scenario]\nname = x\n",
                 "2: nothing to run: expected 'request =' or 'sql =' lines in [workload] or a "
                 "[flow NAME], or a [job NAME]");
    expect_error("[workload]\nsql = SELECT 1\nrequest = GET /\n",
                 "3: an HTTP request needs a [service NAME] or target = http://HOST:PORT to send "
                 "it to (or a full URL)");
    expect_error("[service a]\ncommand = x\n[workload]\ntarget = b\nrequest = GET /\n",
                 "4: target 'b' is not a [service NAME] of this scenario (or a URL: target = "
                 "http://HOST:PORT)");
}

static void test_err_numbers(void **state)
{
    expect_error("[workload]\nusers = many\nsql = SELECT 1\n",
                 "2: bad number 'many' for 'users': expected a whole number");
    expect_error("[workload]\nusers = 0\nsql = SELECT 1\n",
                 "2: 'users' must be between 1 and 1000000 (got 0): " USERS_WHY);
    expect_error("[workload]\nusers = -3\nsql = SELECT 1\n",
                 "2: bad number '-3' for 'users': expected a whole number");
    expect_error("[workload]\nmax_tries = 0\nsql = SELECT 1\n",
                 "2: 'max_tries' must be between 1 and 1000 (got 0)");
    expect_error("[workload]\nrate = 0\nsql = SELECT 1\n",
                 "2: 'rate' must be between 0.001 and 1000000 (got 0): requests per second, from "
                 "0.001 to one arrival every microsecond");
    expect_error("[workload]\nrate = fast\nsql = SELECT 1\n",
                 "2: bad number 'fast' for 'rate': expected requests per second (a number > 0)");
    expect_error("[scenario]\nseed = 0x\n" WORK,
                 "2: bad number '0x' for 'seed': expected a whole number");
}

static void test_err_durations(void **state)
{
    const char *bad = "expected a number and a unit (ns, us, ms, s, m, h), e.g. 250ms";
    char want[256];
    snprintf(want, sizeof(want), "2: bad duration '5' for 'duration': %s", bad);
    expect_error("[workload]\nduration = 5\nsql = SELECT 1\n", want);
    snprintf(want, sizeof(want), "2: bad duration '5 s' for 'duration': %s", bad);
    expect_error("[workload]\nduration = 5 s\nsql = SELECT 1\n", want);
    snprintf(want, sizeof(want), "2: bad duration '1d' for 'timeout': %s", bad);
    expect_error("[scenario]\ntimeout = 1d\n" WORK, want);
    snprintf(want, sizeof(want), "2: bad duration 'soon' for 'stop_grace': %s", bad);
    expect_error("[service a]\nstop_grace = soon\ncommand = x\n" WORK, want);
    /* once wrapped to 190 ms (common/duration.c) */
    expect_error("[workload]\nduration = 18446744073.9s\nsql = SELECT 1\n",
                 "2: 'duration' must be between 1ms and 168h (got 18446744073.9s): " DURATION_WHY);
    expect_error("[scenario]\ntimeout = 0\n" WORK,
                 "2: 'timeout' must be between 1s and 168h (got 0): the whole run, set-up "
                 "included: a week at most");
    expect_error("[workload]\nsample = 10us\nsql = SELECT 1\n",
                 "2: 'sample' must be between 1ms and 1h (got 10us)");
}

static void test_err_requests(void **state)
{
    expect_error("[service a]\ncommand = x\n[workload]\nrequest = 0 GET /\n",
                 "4: bad weight '0': expected a whole number from 1 to 1000000");
    expect_error("[service a]\ncommand = x\n[workload]\nrequest = 2.5 GET /\n",
                 "4: bad weight '2.5': expected a whole number from 1 to 1000000");
    expect_error("[workload]\nsql = 3\n", "2: expected [WEIGHT] STATEMENT[; STATEMENT...] after "
                                          "'sql ='");
    expect_error("[service a]\ncommand = x\n[workload]\nrequest = FETCH /x\n",
                 "4:11: expected [WEIGHT] METHOD PATH [BODY] with METHOD one of GET, HEAD, POST, "
                 "PUT, PATCH, DELETE, OPTIONS (got 'FETCH')");
    expect_error("[service a]\ncommand = x\n[workload]\nrequest = GET orders\n",
                 "4:15: expected a PATH starting with '/' or a URL (http://HOST:PORT/PATH) after "
                 "'GET'");
    /* the load would not send them: refused, the password not echoed */
    expect_error("[workload]\nrequest = GET http://al:s3cret@h:1/x\n",
                 "2:31: a user:password@ in a URL is not sent; give it as a header instead: "
                 "header = Authorization: Basic BASE64(user:password)");
    expect_error("[workload]\ntarget = http://al:pw@h:1\nrequest = GET /\n",
                 "2: target: a user:password@ in a URL is not sent; give it as a header "
                 "instead: header = Authorization: Basic BASE64(user:password)");
}

static void test_err_history(void **state)
{
    /* columns count from 1 on the raw line */
    expect_error(WORK "[invariants]\nx = history: okk POST /orders <= 10\n",
                 "4:14: expected ok, fail, info or all (got 'okk')");
    expect_error(WORK "[invariants]\nx = history:\n",
                 "4:13: expected ok, fail, info or all after 'history:'");
    expect_error(WORK "[invariants]\nx = history: ok POST /orders = 10\n",
                 "4:30: expected an operator (< <= == != >= >), got '=' (did you mean '=='?)");
    expect_error(WORK "[invariants]\nx = history: ok post <= 1\n",
                 "4:17: expected METHOD, PATH or an operator (< <= == != >= >), got 'post'");
    expect_error(WORK "[invariants]\nx = history: ok GET ~ 1\n",
                 "4:21: expected a PATH or an operator (< <= == != >= >), got '~'");
    expect_error(WORK "[invariants]\nx = history: ok <= ten\n",
                 "4:20: expected a number after '<=', got 'ten'");
    expect_error(WORK "[invariants]\nx = history: ok <= 10 requests\n",
                 "4:23: unexpected 'requests' after the number");
}

static void test_err_invariants(void **state)
{
    expect_error(WORK "[invariants]\nservice_alive = SELECT true\n",
                 "4: invariant 'service_alive' is built in: choose another name");
    expect_error(WORK "[invariants]\nno way = SELECT true\n",
                 "4: invariant name 'no way' may hold only letters, digits, '_', '-' and '.'");
    expect_error(WORK "[invariants]\nempty =\n",
                 "4: invariant 'empty' needs an SQL query, 'history: ...', 'http: ...' or a "
                 "threshold (latency, failed, throughput, retries)");
}

static void test_err_other_keys(void **state)
{
    char want[600];
    expect_error("[service a]\ncommand = x\nready = localhost:80\n" WORK,
                 "3: expected ready = http://HOST:PORT/PATH or tcp:PORT (got 'localhost:80')");
    expect_error("[service a]\ncommand = x\nenv = NOEQUALS\n" WORK,
                 "3: expected env = KEY=VALUE (got 'NOEQUALS')");
    expect_error("[job a]\ncommand = x\nwhen = during\n",
                 "3: expected when = with-load, before or after (got 'during')");
    snprintf(want, sizeof(want), "2: schema file 'nope.sql' not found (looked for %s/nope.sql)",
             tmpdir);
    expect_error("[database]\nschema = nope.sql\n" WORK, want);
    expect_error("users = 1\n" WORK,
                 "1: key 'users' outside any section (expected a [section] first)");
    expect_error("[workload]\nthis is not a key\nsql = SELECT 1\n",
                 "2: expected '[section]' or 'key = value' (got 'this is not a key')");
}

static void test_err_earliest_line_wins(void **state)
{
    /* the parse error on line 2 is reported before the missing command of line 4 */
    expect_error("[workload]\nusers = x\nsql = SELECT 1\n[service a]\n",
                 "2: bad number 'x' for 'users': expected a whole number");
    /* the header error on line 3 is found in the pre-scan, the key error on line 2 wins */
    expect_error("[workload]\nusres = 1\n[bogus]\n",
                 "2: unknown key 'usres' (did you mean 'users'?)");
}

static void test_err_file(void **state)
{
    struct scenario s;
    char err[512];
    assert_int_equal(scn_load("/nonexistent/x.scn", &s, err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/x.scn: No such file or directory");
}

static void test_long_line(void **state)
{
    struct scenario s;
    size_t n = SCN_MAX_LINE + 1;
    char *text = malloc(n + 64), want[128];
    size_t len;
    /* inih's own buffer is 200 bytes: longer values are taken whole */
    strcpy(text, "[workload]\nsql = SELECT '");
    memset(text + 25, 'y', 7000);
    strcpy(text + 25 + 7000, "'  \n[invariants]\nlong = SELECT '");
    len = strlen(text);
    memset(text + len, 'z', 300);
    strcpy(text + len + 300, "' = 'z'\n"); /* memset left no NUL to find */
    load_ok(text, &s);
    assert_int_equal(strlen(s.requests[0].sql), 7000 + 9);
    assert_int_equal(s.ninvariants, 1);
    assert_int_equal(strlen(s.invariants[0].sql), 8 + 300 + 7);
    scn_free(&s);
    /* past the sanity bound: an error, not a silent cut */
    strcpy(text, "[workload]\nsql = SELECT '");
    memset(text + 25, 'x', n);
    strcpy(text + 25 + n, "'\n");
    snprintf(want, sizeof(want), "2: line longer than %d characters", SCN_MAX_LINE);
    expect_error(text, want);
    free(text);
}

static void test_inline_semicolon_and_continuation(void **state)
{
    struct scenario s;
    /* ' ;' is not a comment, and an indented line is an entry of its own */
    load_ok("[service a]\ncommand = sh -c 'sleep 1 ; true' ; x\n  env = A=1\n" WORK, &s);
    assert_string_equal(s.services[0].command, "sh -c 'sleep 1 ; true' ; x");
    assert_string_equal(s.services[0].env[0], "A=1");
    scn_free(&s);
}

/* ---------------------------------------------------------------
 * Helpers.
 * ------------------------------------------------------------ */
/* Mutations of a valid file (bytes changed, lines dropped or doubled,
 * cut short) never crash the parser, and every error names file:line. */
static void test_mutations_give_file_line_errors(void **state)
{
    FILE *f = fopen(FIXTURES "/full.scn", "r");
    char orig[8192], text[16384], err[1024], prefix[600];
    size_t n;
    uint64_t rng = 2024;
    int errors = 0;
    assert_non_null(f);
    n = fread(orig, 1, sizeof(orig) - 1, f);
    fclose(f);
    orig[n] = '\0';
    snprintf(prefix, sizeof(prefix), "%s:", scnpath);
    /* the schema lines name files next to the fixture */
    rt_write_file(scnpath, "");
    {
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "cp '%s/schema.sql' '%s/' && mkdir -p '%s/sub' && "
                 "cp '%s/sub/more.sql' '%s/sub/'",
                 FIXTURES, tmpdir, tmpdir, FIXTURES, tmpdir);
        assert_int_equal(system(cmd), 0);
    }
    for (int iter = 0; iter < 1500; iter++) {
        struct scenario sc;
        size_t len = n, pos;
        memcpy(text, orig, n + 1);
        for (int k = 0; k < 1 + iter % 4; k++) {
            uint64_t r = exp_rng_next_for_test(&rng);
            pos = (size_t)(r % len);
            switch ((r >> 32) % 4) {
            case 0: /* change a byte to one of the characters that matter */
                text[pos] = "[]=:;#\n $\x01 a0"[(r >> 40) % 14];
                break;
            case 1: /* drop a line */ {
                char *nl = strchr(text + pos, '\n');
                if (nl)
                    memmove(text + pos, nl + 1, strlen(nl + 1) + 1);
                break;
            }
            case 2: /* double the rest of a line */ {
                char *nl = strchr(text + pos, '\n');
                size_t l = nl ? (size_t)(nl - (text + pos)) + 1 : 0;
                if (l && len + l < sizeof(text) - 1) {
                    memmove(text + pos + l, text + pos, strlen(text + pos) + 1);
                }
                break;
            }
            default: /* cut short */
                text[pos] = '\0';
            }
            len = strlen(text);
            if (!len)
                break;
        }
        rt_write_file(scnpath, text);
        if (scn_load(scnpath, &sc, err, sizeof(err)) == 0) {
            scn_free(&sc);
            continue;
        }
        errors++;
        if (strncmp(err, prefix, strlen(prefix)) != 0 ||
            !isdigit((unsigned char)err[strlen(prefix)]))
            fail_msg("iteration %d: '%s'", iter, err);
    }
    assert_true(errors > 500); /* the mutations did break files */
}

/* ---------------------------------------------------------------
 * docs/scenarios.md lists every message the parser and the expander
 * can give: each literal piece of each message format in scn.c and
 * expand.c must appear in it.
 * ------------------------------------------------------------ */

/* The C string literal(s) at s (adjacent ones joined), unescaped. */
static char *literal_at(const char *s)
{
    char *out = calloc(1, strlen(s) + 1), *o = out;
    while (*s == '"') {
        for (s++; *s && *s != '"'; s++) {
            if (*s == '\\')
                s++;
            *o++ = *s;
        }
        s++;
        while (*s == ' ' || *s == '\n')
            s++;
    }
    return out;
}

/* Check every piece between format directives, of 6 characters or more. */
static int check_pieces(const char *fmt, const char *docs, const char *where)
{
    char piece[512];
    size_t n = 0;
    int missing = 0;
    for (const char *c = fmt;; c++) {
        if (*c == '%' || !*c) {
            piece[n] = '\0';
            /* "%s:%d: message": the file:line prefix is documented once */
            if (n >= 2 && piece[0] == ':' && piece[1] == ' ')
                memmove(piece, piece + 2, n -= 2), piece[n] = '\0';
            if (n >= 6 && !strstr(docs, piece)) {
                fprintf(stderr, "docs/scenarios.md lacks \"%s\" (of \"%s\", %s)\n", piece, fmt,
                        where);
                missing++;
            }
            n = 0;
            if (!*c)
                break;
            for (c++; *c && strchr("0123456789.-*l", *c); c++)
                ;
            continue;
        }
        if (n < sizeof(piece) - 1)
            piece[n++] = *c;
    }
    return missing;
}

static int check_calls(const char *src, const char *call, const char *docs, int *count)
{
    int missing = 0;
    for (const char *c = strstr(src, call); c; c = strstr(c + 1, call)) {
        const char *q = strchr(c, '"');
        char *fmt;
        if (!q)
            break;
        fmt = literal_at(q);
        if (fmt[0] && fmt[0] != ' ') {
            missing += check_pieces(fmt, docs, call);
            (*count)++;
        }
        free(fmt);
    }
    return missing;
}

static void test_docs_list_every_message(void **state)
{
    /* The parser's messages are in scn.c and its parts. */
    static const char *const parts[] = {"/scn.c",      "/scn_value.c",  "/scn_scan.c",
                                        "/scn_flow.c", "/scn_thresh.c", "/scn_resp.c",
                                        "/scn_set.c",  "/jsonpath.c",   "/scn_check.c"};
    static const char *const calls[] = {"scn_error(p, ", "scn_error_at(p, ",
                                        "scn_set_fail(p, set, ", "snprintf(err, errlen, ",
                                        "snprintf(msg, sizeof(msg), "};
    char *docs = rt_read_file(WEDGE_DOCS_SCENARIOS),
         *exp = rt_read_file(WEDGE_RUNNER_DIR "/expand.c");
    int count = 0, missing = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        char path[4096], *scn;
        snprintf(path, sizeof(path), "%s%s", WEDGE_RUNNER_DIR, parts[i]);
        scn = rt_read_file(path);
        for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
            missing += check_calls(scn, calls[k], docs, &count);
        free(scn);
    }
    {
        /* the ranges' messages, said after "'KEY' " or "--flag 'VALUE': " */
        char *lim = rt_read_file(WEDGE_RUNNER_DIR "/scn_limit.c");
        missing += check_calls(lim, "snprintf(msg, len,", docs, &count);
        free(lim);
    }
    missing += check_calls(exp, "snprintf(err, errlen, ", docs, &count);
    {
        /* the reasons a judged request gives, in history.jsonl */
        char *judge = rt_read_file(WEDGE_RUNNER_DIR "/reqjudge.c");
        missing += check_calls(judge, "rf_set(out, ", docs, &count);
        free(judge);
    }
    assert_true(count > 50); /* the scan found the messages */
    assert_int_equal(missing, 0);
    free(docs);
    free(exp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_fixture),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_iterations_only),
        cmocka_unit_test(test_description),
        cmocka_unit_test(test_jobs_only_and_rate_with_users),
        cmocka_unit_test(test_target_defaults_to_first_service),
        cmocka_unit_test(test_proxy_section),
        cmocka_unit_test(test_history_forms),
        cmocka_unit_test(test_err_unknown_key),
        cmocka_unit_test(test_think),
        cmocka_unit_test(test_err_unknown_section),
        cmocka_unit_test(test_err_duplicates),
        cmocka_unit_test(test_err_missing),
        cmocka_unit_test(test_err_numbers),
        cmocka_unit_test(test_err_durations),
        cmocka_unit_test(test_err_requests),
        cmocka_unit_test(test_err_history),
        cmocka_unit_test(test_err_invariants),
        cmocka_unit_test(test_err_other_keys),
        cmocka_unit_test(test_err_earliest_line_wins),
        cmocka_unit_test(test_err_file),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_inline_semicolon_and_continuation),
        cmocka_unit_test(test_docs_list_every_message),
        cmocka_unit_test(test_mutations_give_file_line_errors),
    };
    return cmocka_run_group_tests(tests, setup, rt_teardown);
}

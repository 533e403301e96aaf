/*
 * test_inv.c - invariant evaluation.
 *   test_inv        history invariants on a written history.jsonl (unit)
 *   test_inv sql    SQL invariants on the real server of the pg fixture
 *                   (DSN in ${WEDGE_PG_STATE}/dsn; without it the test fails)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/run/inv.c"

#include <unistd.h>

#include "runner_test.h"

static char scnpath[512], histpath[512];

static int setup(void **state)
{
    rt_mkdtemp("inv");
    snprintf(scnpath, sizeof(scnpath), "%s/t.scn", tmpdir);
    snprintf(histpath, sizeof(histpath), "%s/history.jsonl", tmpdir);
    return 0;
}

/* A scenario whose [invariants] section is inv_lines. */
static void load(struct scenario *s, const char *inv_lines)
{
    char text[8192], err[1024] = "";
    snprintf(text, sizeof(text), "[workload]\nsql = SELECT 1\n[invariants]\n%s", inv_lines);
    rt_write_file(scnpath, text);
    if (scn_load(scnpath, s, err, sizeof(err)))
        fail_msg("%s", err);
}

/* inv_eval_all on a database and a history, without a load. */
static int eval(const struct scenario *s, const char *dsn, const char *hist, struct inv_result **r,
                int *n, char *err, size_t len)
{
    struct inv_inputs in = {dsn, hist, NULL, NULL};
    return inv_eval_all(s, &in, r, n, err, len);
}

static const struct inv_result *find(const struct inv_result *r, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].name, name) == 0)
            return &r[i];
    fail_msg("no result for %s", name);
    return NULL;
}

static void expect(const struct inv_result *r, enum inv_status st, const char *expected,
                   const char *actual)
{
    if (r->status != st)
        fail_msg("%s: status %d, wanted %d (actual '%s', detail '%s')", r->name, r->status, st,
                 r->actual ? r->actual : "", r->detail ? r->detail : "");
    if (expected)
        assert_string_equal(r->expected, expected);
    if (actual)
        assert_string_equal(r->actual, actual);
}

/* ---------------------------------------------------------------
 * History invariants.
 * ------------------------------------------------------------ */
static void write_history(void)
{
    FILE *f = fopen(histpath, "w");
    assert_non_null(f);
    /* 6 POST /take: 5 ok, 1 fail; 2 GET /items: 1 ok, 1 info */
    for (int i = 0; i < 6; i++) {
        fprintf(f,
                "{\"t_ns\":%d,\"user\":%d,\"seq\":%d,\"type\":\"invoke\",\"req\":\"POST /take\"}\n",
                i * 1000, i % 2, i);
        fprintf(f,
                "{\"t_ns\":%d,\"user\":%d,\"seq\":%d,\"type\":\"%s\",\"req\":\"POST /take\","
                "\"status\":%d,\"latency_ns\":500,\"tries\":1,\"error\":null}\n",
                i * 1000 + 500, i % 2, i, i == 2 ? "fail" : "ok", i == 2 ? 409 : 201);
    }
    fputs(
        "{\"t_ns\":7000,\"user\":2,\"seq\":0,\"type\":\"invoke\",\"req\":\"GET /items/7\"}\n"
        "{\"t_ns\":7100,\"user\":2,\"seq\":0,\"type\":\"ok\",\"req\":\"GET /items/7\","
        "\"status\":200}\n"
        "{\"t_ns\":8000,\"user\":2,\"seq\":1,\"type\":\"invoke\",\"req\":\"GET /items/8\"}\n"
        "{\"t_ns\":9000,\"user\":2,\"seq\":1,\"type\":\"info\",\"req\":\"GET /items/8\","
        "\"status\":0,\"error\":\"timeout\"}\n"
        "{\"t_ns\":9500,\"user\":3,\"seq\":0,\"type\":\"invoke\",\"req\":\"sql:UPDATE x\"}\n"
        "{\"t_ns\":9600,\"user\":3,\"seq\":0,\"type\":\"ok\",\"req\":\"sql:UPDATE x\"}\n"
        "{\"t_ns\":9700,\"user\":3,\"seq\":1,\"type\":\"ok\",\"req\":\"POSTAL /x\"}\n"
        /* not in the compact form, and an escape: both parsed as JSON */
        "{ \"t_ns\": 9900, \"user\": 4, \"seq\": 0, \"type\": \"ok\", \"req\": \"GET /items/9\" }\n"
        "{\"t_ns\":9950,\"user\":4,\"seq\":1,\"type\":\"ok\",\"req\":\"GET /items/\\\"q\\\"\"}\n"
        "{\"t_ns\":9800,\"user\":3,\"seq\":1,\"typ", /* cut short by a kill */
        f);
    fclose(f);
}

static void test_history_counts(void **state)
{
    struct scenario s;
    struct inv_result *r;
    int n;
    char err[256];
    const struct inv_result *v;

    write_history();
    load(&s, "ok_take = history: ok POST /take <= 3\n"
             "ok_take_exact = history: ok POST /take == 5\n"
             "invokes = history: all == 9\n"
             "no_fail = history: fail < 1\n"
             "one_fail = history: fail POST >= 1\n"
             "items_info = history: info GET /items >= 1\n"
             "items_prefix = history: ok GET /items/7 == 1\n"
             "post_only = history: ok POST > 5\n"
             "any_path = history: ok /take != 0\n"
             "items_all_ok = history: ok GET /items == 3\n");
    assert_int_equal(eval(&s, NULL, histpath, &r, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 10);
    expect(find(r, n, "items_all_ok"), INV_PASSED, "ok GET /items == 3", "3");

    v = find(r, n, "ok_take");
    expect(v, INV_FAILED, "ok POST /take <= 3", "5");
    /* the 4th ok broke the bound: that request is the timeline's centre */
    assert_int_equal(v->has_at, 1);
    assert_int_equal(v->at_t_ns, 4500);
    assert_non_null(strstr(v->detail, "user 0 seq 4 (POST /take)"));

    expect(find(r, n, "ok_take_exact"), INV_PASSED, "ok POST /take == 5", "5");
    expect(find(r, n, "invokes"), INV_PASSED, "all == 9", "9");
    v = find(r, n, "no_fail");
    expect(v, INV_FAILED, "fail < 1", "1");
    assert_int_equal(v->has_at, 1);
    assert_int_equal(v->at_t_ns, 2500);
    expect(find(r, n, "one_fail"), INV_PASSED, "fail POST >= 1", "1");
    expect(find(r, n, "items_info"), INV_PASSED, "info GET /items >= 1", "1");
    expect(find(r, n, "items_prefix"), INV_PASSED, NULL, "1");
    /* "POSTAL /x" is not a POST: the method matches whole */
    v = find(r, n, "post_only");
    expect(v, INV_FAILED, "ok POST > 5", "5");
    assert_int_equal(v->has_at, 0); /* a lower bound: no single request broke it */
    assert_non_null(strstr(v->detail, "1 unreadable line(s)"));
    expect(find(r, n, "any_path"), INV_PASSED, "ok /take != 0", "5");
    inv_results_free(r, n);
    scn_free(&s);
}

/* Thresholds: the measured value against the bound, over the whole load
 * or one label's requests; nothing to measure is an error, not a pass. */
static void test_thresholds(void **state)
{
    struct scenario s;
    struct load_totals t = {0};
    struct req_stats q[2] = {{0}};
    struct inv_inputs in = {NULL, NULL, &t, NULL};
    struct inv_result *r = NULL;
    char err[256];
    int n = 0;

    rt_write_file(scnpath, "[service a]\ncommand = x\n[workload]\nrequest = POST /orders {}\n"
                           "request = GET /stats\n[invariants]\n"
                           "p99 = latency p99 < 200ms\n"
                           "p50_orders = latency p50 of \"POST /orders\" < 20ms\n"
                           "slow_max = latency max <= 100ms\n"
                           "failed = failed < 1%\n"
                           "failed_stats = failed of \"GET /stats\" < 1%\n"
                           "fail_count = failed <= 3\n"
                           "tput = throughput > 100/s\n"
                           "retries = retries < 5%\n");
    if (scn_load(scnpath, &s, err, sizeof(err)))
        fail_msg("%s", err);
    q[0].label = "POST /orders", q[0].ok = 97, q[0].fail = 2, q[0].info = 1, q[0].retries = 10;
    q[1].label = "GET /stats", q[1].ok = 100;
    q[0].latency = hist_new(), q[1].latency = hist_new(), t.latency = hist_new();
    for (int i = 0; i < 100; i++) {
        hist_record(q[0].latency, (uint64_t)(i < 50 ? 10 : 150) * NS_PER_MS);
        hist_record(q[1].latency, 2 * NS_PER_MS);
    }
    hist_merge(t.latency, q[0].latency);
    hist_merge(t.latency, q[1].latency);
    t.per_req = q, t.nper_req = 2;
    t.ok = 197, t.fail = 2, t.info = 1, t.retries = 10, t.requests = 200, t.duration_s = 1.5;
    assert_int_equal(inv_eval_all(&s, &in, &r, &n, err, sizeof(err)), 0);
    expect(find(r, n, "p99"), INV_PASSED, "latency p99 < 200ms", NULL);
    expect(find(r, n, "p50_orders"), INV_PASSED, NULL, NULL);
    expect(find(r, n, "slow_max"), INV_FAILED, "latency max <= 100ms", NULL);
    assert_non_null(strstr(find(r, n, "slow_max")->actual, "max = 15"));
    expect(find(r, n, "failed"), INV_FAILED, NULL, "1.50% (3 of 200 requests not ok)");
    expect(find(r, n, "failed_stats"), INV_PASSED, NULL, "0.00% (0 of 100 requests not ok)");
    expect(find(r, n, "fail_count"), INV_PASSED, NULL, NULL);
    expect(find(r, n, "tput"), INV_PASSED, NULL, "133.3/s (200 requests in 1.5s)");
    expect(find(r, n, "retries"), INV_FAILED, NULL, "5.00% (10 of 200 requests: retries)");
    inv_results_free(r, n);
    /* no load at all: every threshold is an error */
    in.totals = NULL;
    assert_int_equal(inv_eval_all(&s, &in, &r, &n, err, sizeof(err)), 0);
    expect(find(r, n, "p99"), INV_ERROR, NULL, "error");
    inv_results_free(r, n);
    hist_free(q[0].latency), hist_free(q[1].latency), hist_free(t.latency);
    scn_free(&s);
}

static void test_history_missing(void **state)
{
    struct scenario s;
    struct inv_result *r;
    int n;
    char err[256], want[600];
    load(&s, "h = history: ok <= 3\n");
    assert_int_equal(eval(&s, NULL, "/nonexistent/history.jsonl", &r, &n, err, sizeof(err)), 0);
    expect(&r[0], INV_ERROR, "ok <= 3", "error");
    snprintf(want, sizeof(want),
             "cannot read /nonexistent/history.jsonl: No such file or directory");
    assert_string_equal(r[0].detail, want);
    inv_results_free(r, n);
    scn_free(&s);
}

static void test_sql_without_database(void **state)
{
    struct scenario s;
    struct inv_result *r;
    int n;
    char err[256];
    load(&s, "a = SELECT true\n");
    assert_int_equal(eval(&s, "host=127.0.0.1 port=1 dbname=x connect_timeout=3", histpath, &r, &n,
                          err, sizeof(err)),
                     0);
    expect(&r[0], INV_ERROR, NULL, "error");
    assert_non_null(strstr(r[0].detail, "cannot connect to the database: "));
    inv_results_free(r, n);
    scn_free(&s);
}

/* ---------------------------------------------------------------
 * SQL invariants on the real server.
 * ------------------------------------------------------------ */
static char dsn[512];
static char schema[64];

static void sql(const char *q)
{
    PGconn *c = PQconnectdb(dsn);
    PGresult *res = PQexec(c, q);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

static int setup_pg(void **state)
{
    const char *st = getenv("WEDGE_PG_STATE");
    char path[600], q[512];
    FILE *f;
    setup(state);
    if (!st) {
        fprintf(stderr, "test_inv sql: WEDGE_PG_STATE is not set (run it through ctest, "
                        "which starts the pg fixture)\n");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/dsn", st);
    f = fopen(path, "r");
    if (!f || !fgets(dsn, sizeof(dsn), f)) {
        fprintf(stderr, "test_inv sql: cannot read %s\n", path);
        return -1;
    }
    fclose(f);
    dsn[strcspn(dsn, "\n")] = '\0';
    snprintf(schema, sizeof(schema), "wedge_test_inv_%d", (int)getpid());
    snprintf(
        q, sizeof(q),
        "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
        "CREATE TABLE %s.inv (sku text PRIMARY KEY, stock int);"
        "INSERT INTO %s.inv SELECT 'sku-' || i, i - 3 FROM generate_series(1, 30) i;",
        schema, schema, schema, schema);
    sql(q);
    return 0;
}

static int teardown_pg(void **state)
{
    char q[256];
    if (!schema[0])
        return rt_teardown(state);
    snprintf(q, sizeof(q), "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE",
             schema);
    sql(q);
    return rt_teardown(state);
}

static void test_sql_kinds(void **state)
{
    struct scenario s;
    struct inv_result *r;
    int n;
    char err[256], inv[4096];
    const struct inv_result *v;
    const char *S = schema;

    snprintf(
        inv, sizeof(inv),
        "b_true = SELECT bool_and(stock > -10) FROM %s.inv\n"
        "b_false = SELECT bool_and(stock >= 0) FROM %s.inv\n"
        "b_null = SELECT NULL::boolean\n"
        "t_true = SELECT 't'::text\n"
        "t_false = SELECT 'f'::text\n"
        "b_none = SELECT stock >= 0 FROM %s.inv WHERE sku = 'nope'\n"
        "b_rows = SELECT stock >= -1 FROM %s.inv WHERE sku IN ('sku-1', 'sku-2', 'sku-3')\n"
        "rows_none = SELECT sku, stock FROM %s.inv WHERE stock > 100\n"
        "rows_two = SELECT sku, stock FROM %s.inv WHERE stock < 0 ORDER BY sku\n"
        "rows_many = SELECT sku, stock, NULL AS note FROM %s.inv WHERE stock > 2 ORDER BY stock\n"
        "one_number = SELECT 1\n"
        "bad = SELECT * FROM %s.nope\n"
        "not_query = SET search_path = public\n",
        S, S, S, S, S, S, S, S);
    load(&s, inv);
    assert_int_equal(eval(&s, dsn, histpath, &r, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 13);

    expect(find(r, n, "b_true"), INV_PASSED, "true", "true");
    expect(find(r, n, "b_false"), INV_FAILED, "true", "false");
    expect(find(r, n, "b_null"), INV_FAILED, "true", "NULL");
    expect(find(r, n, "t_true"), INV_PASSED, "true", "true");
    expect(find(r, n, "t_false"), INV_FAILED, "true", "false");
    /* a boolean check that selects nothing proves nothing */
    expect(find(r, n, "b_none"), INV_FAILED, "true", "no rows");
    v = find(r, n, "b_rows");
    expect(v, INV_FAILED, "every row true", "1 of 3 rows not true");
    assert_string_equal(v->detail, "?column?\nf\n");
    expect(find(r, n, "rows_none"), INV_PASSED, "no rows", "no rows");
    v = find(r, n, "rows_two");
    expect(v, INV_FAILED, "no rows", "2 rows");
    assert_string_equal(v->detail, "sku | stock\nsku-1 | -2\nsku-2 | -1\n");
    v = find(r, n, "rows_many");
    expect(v, INV_FAILED, "no rows", "25 rows");
    assert_non_null(strstr(v->detail, "sku | stock | note\nsku-6 | 3 | NULL\n"));
    assert_non_null(strstr(v->detail, "sku-25 | 22 | NULL\n... and 5 more rows\n"));
    assert_null(strstr(v->detail, "sku-26"));
    /* a row that is not a boolean is a violation */
    expect(find(r, n, "one_number"), INV_FAILED, "no rows", "1 row");
    v = find(r, n, "bad");
    expect(v, INV_ERROR, NULL, "error");
    assert_non_null(strstr(v->detail, "does not exist"));
    v = find(r, n, "not_query");
    expect(v, INV_ERROR, NULL, "error");
    assert_non_null(strstr(v->detail, "an invariant must be a query"));
    inv_results_free(r, n);
    scn_free(&s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest history[] = {
        cmocka_unit_test(test_history_counts),
        cmocka_unit_test(test_history_missing),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_sql_without_database),
    };
    const struct CMUnitTest sqltests[] = {
        cmocka_unit_test(test_sql_kinds),
    };
    if (argc > 1 && strcmp(argv[1], "sql") == 0)
        return cmocka_run_group_tests(sqltests, setup_pg, teardown_pg);
    return cmocka_run_group_tests(history, setup, rt_teardown);
}

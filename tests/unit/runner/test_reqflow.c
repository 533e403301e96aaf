/*
 * test_reqflow.c - reqflow.h, the engine-independent half of a request:
 * the mix and the flows a user walks, requests built from templates with
 * the user's captured values, responses judged by their expects (every
 * reason word for word) and captured into the user's variables; and the
 * JSONPath subset underneath.  Includes reqflow.c and reqjudge.c to reach
 * their static helpers (see tests/README.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/scenario/reqflow.c"
#include "../../../runner/scenario/reqjudge.c"

#include "scn_test.h"

#define SHOP "[service shopd]\ncommand = x\n"

static struct rf_ctx ctx_for(const struct scenario *s)
{
    struct rf_ctx c;
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.base_url = "http://127.0.0.1:8080";
    c.exp.user = -1;
    c.exp.seed = 7;
    return c;
}

static struct rf_resp resp_of(long status, const char *headers, const char *body)
{
    struct rf_resp r = {
        status, NULL, headers, headers ? strlen(headers) : 0, body, body ? strlen(body) : 0};
    return r;
}

/* Judge request k's response; the reason must be want ("" when ok). */
static void judge(const struct rf_ctx *c, struct rf_user *u, int k, struct rf_resp resp,
                  enum rf_outcome o, const char *want)
{
    struct rf_result res;
    rf_judge(c, u, k, &resp, &res, NULL);
    if (res.outcome != o)
        fail_msg("outcome %d, wanted %d (%s)", res.outcome, o, res.reason);
    assert_string_equal(res.reason, want);
}

/* ---------------------------------------------------------------
 * JSONPath.
 * ------------------------------------------------------------ */
static void test_jsonpath(void **state)
{
    json_t *doc = json_loads("{\"id\":42,\"lines\":[{\"sku\":\"a\"},{\"sku\":\"b\"}],"
                             "\"order-no\":\"ORD-1\",\"x\":{\"y\":null}}",
                             0, NULL);
    char err[256], *t;
    size_t at;

    assert_int_equal(json_integer_value(jp_get(doc, "$.id")), 42);
    assert_string_equal(json_string_value(jp_get(doc, "$.lines[1].sku")), "b");
    assert_string_equal(json_string_value(jp_get(doc, "$.lines[-1].sku")), "b");
    assert_string_equal(json_string_value(jp_get(doc, "$['order-no']")), "ORD-1");
    assert_string_equal(json_string_value(jp_get(doc, "$[\"lines\"][0].sku")), "a");
    assert_true(json_is_null(jp_get(doc, "$.x.y")));
    assert_ptr_equal(jp_get(doc, "$"), doc);
    assert_null(jp_get(doc, "$.lines[2]"));
    assert_null(jp_get(doc, "$.id.x"));
    assert_null(jp_get(doc, "$.nope"));
    t = jp_text(jp_get(doc, "$.lines[0]"));
    assert_string_equal(t, "{\"sku\":\"a\"}");
    free(t);
    t = jp_text(jp_get(doc, "$['order-no']"));
    assert_string_equal(t, "ORD-1");
    free(t);
    assert_int_equal(jp_check("id", err, sizeof(err), &at), -1);
    assert_string_equal(err, "expected a JSONPath starting with '$' (such as $.id)");
    assert_int_equal(jp_check("$.a..b", err, sizeof(err), &at), -1);
    assert_int_equal(at, 4);
    assert_int_equal(jp_check("$.a[x]", err, sizeof(err), &at), -1);
    assert_string_equal(err, "expected an array index [N] or a member ['name']");
    assert_int_equal(jp_check("$['a]", err, sizeof(err), &at), -1);
    assert_string_equal(err, "expected '] to close the member name");
    assert_int_equal(jp_check("$.a b", err, sizeof(err), &at), -1);
    assert_string_equal(err, "expected '.name', '['name']' or '[N]' (got ' ')");
    json_decref(doc);
}

/* ---------------------------------------------------------------
 * The mix and the flows.
 * ------------------------------------------------------------ */
static void test_flow_steps_in_order(void **state)
{
    struct scenario s;
    struct rf_user u;
    int flows = 0, singles = 0;

    load_ok(SHOP "[workload]\nrequest = GET /a\n"
                 "[flow buy]\nweight = 3\nrequest = POST /carts\nrequest = POST /pay\n"
                 "request = GET /done\n",
            &s);
    assert_int_equal(rf_user_init(&u, &s, 99, 0), 0);
    for (int it = 0; it < 400; it++) {
        uint64_t before = u.iter;
        int k = rf_next(&u, &s);
        assert_int_equal(u.iter, before + 1); /* a draw begins an iteration */
        if (k == 0) {
            singles++;
            assert_false(rf_in_flow(&u));
            rf_advance(&u, &s, RF_OK);
            continue;
        }
        flows++;
        assert_int_equal(k, 1);
        assert_true(rf_in_flow(&u));
        /* a step that is not ok ends the flow: the next draw is a new iteration */
        if (it % 5 == 0) {
            rf_advance(&u, &s, RF_FAIL);
            assert_false(rf_in_flow(&u));
            continue;
        }
        rf_advance(&u, &s, RF_OK);
        assert_int_equal(rf_next(&u, &s), 2);
        rf_advance(&u, &s, RF_OK);
        assert_int_equal(rf_next(&u, &s), 3);
        assert_int_equal(u.iter, before + 1); /* one iteration for the whole flow */
        rf_advance(&u, &s, RF_OK);
        assert_false(rf_in_flow(&u));
    }
    /* weights 1 : 3, within a wide margin for 400 draws */
    assert_true(flows > 240 && flows < 360);
    assert_int_equal(flows + singles, 400);
    rf_user_free(&u, &s);
    scn_free(&s);
}

/* ---------------------------------------------------------------
 * Building requests.
 * ------------------------------------------------------------ */
static void test_build(void **state)
{
    struct scenario s;
    struct rf_ctx c;
    struct rf_user u;
    struct rf_req q;
    char err[256];

    setenv("WEDGE_TEST_TOKEN", "tok", 1);
    load_ok(SHOP "[workload]\nheader = Authorization: Bearer ${env:WEDGE_TEST_TOKEN}\n"
                 "header = X-Run: all\n"
                 "request = GET http://10.0.0.1:9/x?u=${user}\n"
                 "[flow f]\nheader = X-Run: flow\n"
                 "request = POST /carts {\"u\":${user}}\ncapture = cart = json $.id\n"
                 "request = PUT /carts/${cart} hello\nheader = content-type: text/x\n",
            &s);
    c = ctx_for(&s);
    assert_int_equal(rf_user_init(&u, &s, 1, 5), 0);
    assert_int_equal(rf_build(&c, &u, 0, &q, err, sizeof(err)), 0);
    assert_string_equal(q.url, "http://10.0.0.1:9/x?u=5");
    assert_string_equal(q.method, "GET");
    assert_null(q.body);
    assert_int_equal(q.nheaders, 2);
    assert_string_equal(q.headers[0], "Authorization: Bearer tok");
    assert_string_equal(q.headers[1], "X-Run: all");
    assert_false(q.want_body);
    rf_req_free(&q);

    assert_int_equal(rf_build(&c, &u, 1, &q, err, sizeof(err)), 0);
    assert_string_equal(q.url, "http://127.0.0.1:8080/carts");
    assert_string_equal(q.body, "{\"u\":5}");
    assert_int_equal(q.body_len, 7);
    assert_string_equal(q.headers[1], "X-Run: flow"); /* the flow's replaces the workload's */
    assert_string_equal(q.headers[2], "Content-Type: application/json");
    assert_true(q.want_body);
    rf_req_free(&q);

    /* before the cart was captured: the scenario's fault */
    assert_int_equal(rf_build(&c, &u, 2, &q, err, sizeof(err)), -1);
    assert_string_equal(err, "variable '${cart}' is not captured by an earlier request of this "
                             "flow (a capture feeds the later requests of its [flow])");
    u.vals[0] = strdup("c-9");
    assert_int_equal(rf_build(&c, &u, 2, &q, err, sizeof(err)), 0);
    assert_string_equal(q.url, "http://127.0.0.1:8080/carts/c-9");
    assert_string_equal(q.method, "PUT");
    assert_int_equal(q.nheaders, 3); /* its own content-type, no default beside it */
    assert_string_equal(q.headers[2], "content-type: text/x");
    rf_req_free(&q);
    rf_user_free(&u, &s);
    scn_free(&s);
}

/* ---------------------------------------------------------------
 * Judging responses.
 * ------------------------------------------------------------ */
static void test_judge_status(void **state)
{
    struct scenario s;
    struct rf_ctx c;
    struct rf_user u;
    struct rf_resp none = {0, "Connection refused", NULL, 0, NULL, 0};
    struct rf_result res;

    load_ok(SHOP "[workload]\nrequest = GET /plain\nrequest = POST /orders\nexpect = status 201\n"
                 "request = POST /again\nexpect = status 409,2xx\n",
            &s);
    c = ctx_for(&s);
    rf_user_init(&u, &s, 1, 0);
    judge(&c, &u, 0, resp_of(204, NULL, NULL), RF_OK, "");
    judge(&c, &u, 0, resp_of(404, NULL, NULL), RF_FAIL, "HTTP 404");
    judge(&c, &u, 0, resp_of(503, NULL, NULL), RF_INFO, "HTTP 503");
    judge(&c, &u, 0, resp_of(302, NULL, NULL), RF_INFO, "HTTP 302");
    judge(&c, &u, 1, resp_of(201, NULL, NULL), RF_OK, "");
    judge(&c, &u, 1, resp_of(200, NULL, NULL), RF_FAIL, "expect status 201: got 200");
    judge(&c, &u, 1, resp_of(500, NULL, NULL), RF_INFO, "expect status 201: got 500");
    judge(&c, &u, 2, resp_of(409, NULL, NULL), RF_OK, "");
    judge(&c, &u, 2, resp_of(204, NULL, NULL), RF_OK, "");
    judge(&c, &u, 2, resp_of(404, NULL, NULL), RF_FAIL, "expect status 409,2xx: got 404");
    rf_judge(&c, &u, 0, &none, &res, NULL);
    assert_int_equal(res.outcome, RF_INFO);
    assert_false(res.scenario_fault);
    assert_string_equal(res.reason, "Connection refused");
    rf_fault(&res, "unknown variable");
    assert_int_equal(res.outcome, RF_INFO);
    assert_true(res.scenario_fault);
    rf_user_free(&u, &s);
    scn_free(&s);
}

static void test_judge_json_and_headers(void **state)
{
    struct scenario s;
    struct rf_ctx c;
    struct rf_user u;
    const char *hdr = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                      "Location: /orders/7\r\nX-Count: 12\r\n\r\n";
    char *seen = NULL;
    size_t len = 0;
    FILE *f;
    struct rf_result res;
    struct rf_resp r;

    load_ok(SHOP "[flow f]\nrequest = POST /orders\nexpect = json $.status == \"placed\"\n"
                 "expect = json $.total_cents >= 100\nexpect = json $.id exists\n"
                 "expect = header Content-Type == application/json\n"
                 "expect = header X-Count < 20\n"
                 "capture = order_id = json $.id\ncapture = loc = header Location\n"
                 "request = GET /orders/${order_id}\nexpect = json $.id == ${order_id}\n",
            &s);
    c = ctx_for(&s);
    rf_user_init(&u, &s, 1, 0);
    assert_int_equal(rf_next(&u, &s), 0);
    judge(&c, &u, 0, resp_of(201, hdr, "{\"id\":7,\"status\":\"placed\",\"total_cents\":100}"),
          RF_OK, "");
    assert_string_equal(u.vals[0], "7");
    assert_string_equal(u.vals[1], "/orders/7");
    judge(&c, &u, 1, resp_of(200, NULL, "{\"id\":7.0}"), RF_OK, ""); /* 7 == 7.0 */
    judge(&c, &u, 1, resp_of(200, NULL, "{\"id\":8}"), RF_FAIL,
          "expect json $.id == ${order_id}: got 8");
    judge(&c, &u, 0, resp_of(201, hdr, "{\"id\":7,\"status\":\"paid\",\"total_cents\":100}"),
          RF_FAIL, "expect json $.status == \"placed\": got \"paid\"");
    judge(&c, &u, 0, resp_of(201, hdr, "{\"status\":\"placed\",\"total_cents\":100}"), RF_FAIL,
          "expect json $.id exists: got nothing (absent)");
    judge(&c, &u, 0, resp_of(201, hdr, "{\"id\":7,\"status\":\"placed\",\"total_cents\":\"x\"}"),
          RF_FAIL, "expect json $.total_cents >= 100: got \"x\"");
    judge(&c, &u, 0, resp_of(201, hdr, "not json"), RF_FAIL,
          "the response is not JSON (invalid token near 'not'): not json");
    judge(&c, &u, 0, resp_of(201, "HTTP/1.1 201\r\nX-Count: 30\r\n", "{\"id\":1}"), RF_FAIL,
          "expect json $.status == \"placed\": got nothing (absent)");
    judge(&c, &u, 0,
          resp_of(201, "HTTP/1.1 201\r\nContent-Type: application/json\r\nX-Count: 30\r\n",
                  "{\"id\":7,\"status\":\"placed\",\"total_cents\":100}"),
          RF_FAIL, "expect header X-Count < 20: got 30");
    judge(&c, &u, 0,
          resp_of(201, "HTTP/1.1 201\r\nContent-Type: application/json\r\nX-Count: 3\r\n",
                  "{\"id\":7,\"status\":\"placed\",\"total_cents\":100}"),
          RF_FAIL, "capture loc: header Location not in the response");
    /* the values an HTTP invariant reports */
    f = open_memstream(&seen, &len);
    r = resp_of(201, hdr, "{\"id\":7,\"status\":\"placed\",\"total_cents\":250}");
    rf_judge(&c, &u, 0, &r, &res, f);
    fclose(f);
    assert_string_equal(seen, "$.status = placed, $.total_cents = 250, $.id = 7, Content-Type: "
                              "application/json, X-Count: 12");
    free(seen);
    rf_user_free(&u, &s);
    scn_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonpath),
        cmocka_unit_test(test_flow_steps_in_order),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_judge_status),
        cmocka_unit_test(test_judge_json_and_headers),
    };
    return cmocka_run_group_tests(tests, setup, rt_teardown);
}

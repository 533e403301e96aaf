/*
 * test_http1.c - the load engine's HTTP/1.1 wire code: URLs taken apart,
 * requests as bytes, and responses parsed from every framing (length,
 * chunked with extensions and trailers, up to the close, HEAD, 204, 1xx
 * before the real response), fed whole and one byte at a time (a parser
 * that only works on whole reads would pass the first and fail the
 * second), kept or not, and the malformed ones refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/load/http1.c"

/* ---------------------------------------------------------------
 * URLs and requests.
 * ------------------------------------------------------------ */
static void test_url(void **state)
{
    struct h1_url u;
    (void)state;
    assert_int_equal(h1_url_parse("http://127.0.0.1:8080/orders?x=1", &u), 0);
    assert_int_equal(u.port, 8080);
    assert_int_equal(u.host_len, 9);
    assert_memory_equal(u.host, "127.0.0.1", 9);
    assert_string_equal(u.path, "/orders?x=1");
    assert_int_equal(u.authority_len, 14);

    assert_int_equal(h1_url_parse("http://shop", &u), 0);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");

    assert_int_equal(h1_url_parse("http://[::1]:9/a", &u), 0);
    assert_int_equal(u.port, 9);
    assert_memory_equal(u.host, "::1", 3);
    assert_int_equal(u.host_len, 3);

    assert_int_equal(h1_url_parse("https://x/", &u), -1);
    assert_int_equal(h1_url_parse("http://:80/", &u), -1);
    assert_int_equal(h1_url_parse("http://x:0/", &u), -1);
    assert_int_equal(h1_url_parse("http://x:65536/", &u), -1);
    assert_int_equal(h1_url_parse("http://x:8a/", &u), -1);
    assert_int_equal(h1_url_parse("http://u:p@x/", &u), -1);
}

static void test_request(void **state)
{
    struct h1_buf b = {0};
    struct h1_url u;
    char *hdrs[] = {"Authorization: Bearer t", "Content-Type: application/json"};
    (void)state;

    assert_int_equal(h1_url_parse("http://127.0.0.1:81/orders#frag", &u), 0);
    assert_int_equal(h1_request(&b, "POST", &u, hdrs, 2, "{\"q\":1}", 7), 0);
    assert_string_equal(b.p, "POST /orders HTTP/1.1\r\nHost: 127.0.0.1:81\r\nAccept: */*\r\n"
                             "Authorization: Bearer t\r\nContent-Type: application/json\r\n"
                             "Content-Length: 7\r\n\r\n{\"q\":1}");
    b.len = 0;
    /* A POST without a body still says so; a GET says nothing. */
    assert_int_equal(h1_request(&b, "POST", &u, NULL, 0, NULL, 0), 0);
    assert_non_null(strstr(b.p, "Content-Length: 0\r\n\r\n"));
    b.len = 0;
    assert_int_equal(h1_url_parse("http://h?x=1", &u), 0);
    char *host[] = {"Host: other"};
    assert_int_equal(h1_request(&b, "GET", &u, host, 1, NULL, 0), 0);
    assert_string_equal(b.p, "GET /?x=1 HTTP/1.1\r\nAccept: */*\r\nHost: other\r\n\r\n");
    h1_buf_free(&b);
}

/* ---------------------------------------------------------------
 * Responses.
 * ------------------------------------------------------------ */
/* Feed text to a fresh parser in pieces of step bytes (0: all at once),
 * keeping what it did not consume, as the connection does.  Returns the
 * state reached; *eof: the connection then ends. */
static enum h1_state feed(struct h1_resp *r, const char *text, size_t step, int eof, int head)
{
    size_t n = strlen(text), given = 0;
    struct h1_buf in = {0};

    h1_resp_reset(r, head, 1, 1);
    while (given < n && r->state != H1_DONE) {
        size_t k = step && n - given > step ? step : n - given;
        ssize_t used;
        assert_int_equal(h1_buf_put(&in, text + given, k), 0);
        given += k;
        used = h1_parse(r, in.p + in.off, in.len - in.off);
        if (used < 0) {
            h1_buf_free(&in);
            return (enum h1_state) - 1;
        }
        in.off += (size_t)used;
        h1_buf_compact(&in);
    }
    if (eof && r->state != H1_DONE && h1_eof(r) < 0) {
        h1_buf_free(&in);
        return (enum h1_state) - 2;
    }
    h1_buf_free(&in);
    return r->state;
}

static const struct {
    const char *name, *text;
    int eof, head;
    long status;
    const char *body;
    int keep;
} good[] = {
    {"length", "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello", 0, 0, 201, "hello", 1},
    {"chunked",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n"
     "0\r\nX-Trailer: t\r\n\r\n",
     0, 0, 200, "hello world", 1},
    {"close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", 1, 0, 200,
     "until the end", 0},
    {"http10", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 0, 200, "ok", 0},
    {"http10-keep", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", 0,
     0, 200, "ok", 1},
    {"head", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 0, 1, 200, "", 1},
    {"204", "HTTP/1.1 204 No Content\r\n\r\n", 0, 0, 204, "", 1},
    {"interim",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 409 Conflict\r\nContent-Length: 3\r\n\r\nno!", 0, 0,
     409, "no!", 1},
    {"bare-lf", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", 0, 0, 200, "x", 1},
    {"no-reason", "HTTP/1.1 500\r\nContent-Length: 0\r\n\r\n", 0, 0, 500, "", 1},
};

static void test_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        for (size_t step = 0; step < 3; step++) { /* whole, 1 byte, 2 bytes */
            struct h1_resp r = {0};
            enum h1_state st = feed(&r, good[i].text, step, good[i].eof, good[i].head);
            if (st != H1_DONE)
                fail_msg("%s (step %zu): state %d, error %s", good[i].name, step, (int)st,
                         r.error ? r.error : "-");
            assert_int_equal(r.status, good[i].status);
            assert_int_equal(r.keep_alive, good[i].keep);
            assert_int_equal(r.body.len, strlen(good[i].body));
            if (r.body.len)
                assert_memory_equal(r.body.p, good[i].body, r.body.len);
            /* the kept header block is the final response's */
            assert_int_equal(strncmp(r.head.p, "HTTP/1.", 7), 0);
            assert_null(strstr(r.head.p, " 100 "));
            h1_resp_free(&r);
        }
    }
}

/* Bytes after a complete response stay unconsumed (never a next
 * response's), and nothing is kept unless asked. */
static void test_rest_and_keep(void **state)
{
    const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n";
    struct h1_resp r = {0};
    (void)state;
    h1_resp_reset(&r, 0, 0, 0);
    assert_int_equal(h1_parse(&r, two, strlen(two)), 39);
    assert_int_equal(r.state, H1_DONE);
    assert_int_equal(r.head.len, 0);
    assert_int_equal(r.body.len, 0);
    h1_resp_free(&r);
}

static void test_bad(void **state)
{
    static const struct {
        const char *text, *why;
        int eof;
    } bad[] = {
        {"HTTP/2 200 OK\r\n\r\n", "malformed status line", 0},
        {"HTTP/1.1 2x0 OK\r\n\r\n", "malformed status line", 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         "malformed Content-Length", 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "malformed Content-Length", 0},
        {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "malformed header line", 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size", 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "malformed chunk end",
         0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
         "the connection closed in the middle of the response", 1},
        {"", "the connection closed before a response", 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct h1_resp r = {0};
        enum h1_state st = feed(&r, bad[i].text, 0, bad[i].eof, 0);
        assert_true((int)st < 0);
        assert_non_null(r.error);
        assert_string_equal(r.error, bad[i].why);
        h1_resp_free(&r);
    }
}

/* A header block that never ends is refused at 64 KiB, not buffered on. */
static void test_huge_head(void **state)
{
    size_t n = H1_MAX_HEAD + 100;
    char *text = malloc(n + 1);
    struct h1_resp r = {0};
    (void)state;
    memcpy(text, "HTTP/1.1 200 OK\r\n", 17);
    memset(text + 17, 'a', n - 17);
    text[n] = '\0';
    h1_resp_reset(&r, 0, 0, 0);
    assert_int_equal(h1_parse(&r, text, 1000), 0); /* more to come */
    assert_int_equal(h1_parse(&r, text, n), -1);
    assert_string_equal(r.error, "header block over 64 KiB");
    h1_resp_free(&r);
    free(text);
}

/* A body past H1_MAX_KEEP is read through (the connection stays usable)
 * but kept only up to the bound. */
static void test_truncated(void **state)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 9437184\r\n\r\n"; /* 9 MiB */
    static char chunk[65536];
    struct h1_resp r = {0};
    size_t left = 9437184;
    (void)state;
    memset(chunk, 'x', sizeof(chunk));
    h1_resp_reset(&r, 0, 0, 1);
    assert_int_equal(h1_parse(&r, head, strlen(head)), (ssize_t)strlen(head));
    while (left) {
        size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
        assert_int_equal(h1_parse(&r, chunk, k), (ssize_t)k);
        left -= k;
    }
    assert_int_equal(r.state, H1_DONE);
    assert_true(r.truncated);
    assert_int_equal(r.body.len, H1_MAX_KEEP);
    h1_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),       cmocka_unit_test(test_request),
        cmocka_unit_test(test_good),      cmocka_unit_test(test_rest_and_keep),
        cmocka_unit_test(test_bad),       cmocka_unit_test(test_huge_head),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

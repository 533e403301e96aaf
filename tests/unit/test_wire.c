/*
 * test_wire.c - content of socket calls (shim/wire.c): the HTTP request
 * line, the RESP command and data ~'s text extracted from raw bytes, cut
 * and partial inputs, and the per-fd exchange (a response belongs to its
 * request; an array reply is not a command; a closed fd starts afresh).
 */
#include "../../shim/wire.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define LIT(s) (s), (sizeof(s) - 1)

static void test_http_line(void **state)
{
    char out[WIRE_TEXT];

    assert_int_equal(
        wire_http_line(LIT("POST /charges HTTP/1.1\r\nHost: x\r\n\r\n"), out, sizeof out), 22);
    assert_string_equal(out, "POST /charges HTTP/1.1");
    assert_true(wire_http_line(LIT("GET /health?x=1 HTTP/1.0\n"), out, sizeof out) > 0);
    assert_string_equal(out, "GET /health?x=1 HTTP/1.0");
    /* not a request line: a response, lower case, no version, HTTP/2,
     * a line not yet whole, two spaces, a line longer than out */
    assert_int_equal(wire_http_line(LIT("HTTP/1.1 200 OK\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_http_line(LIT("get / HTTP/1.1\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_http_line(LIT("GET /\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_http_line(LIT("PRI * HTTP/2.0\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_http_line(LIT("POST /charges HTTP/1.1"), out, sizeof out), 0);
    assert_int_equal(wire_http_line(LIT("POST /charges HTTP/1.1\r"), out, sizeof out), 0);
    assert_int_equal(wire_http_line(LIT("GET  / HTTP/1.1\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_http_line(LIT("GET /a HTTP/1.1\r\n"), out, 10), 0);
    assert_int_equal(wire_http_line(LIT(""), out, sizeof out), 0);
    assert_int_equal(wire_http_line(LIT("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n"), out, sizeof out), 0);
}

static void test_redis_cmd(void **state)
{
    char out[WIRE_TEXT], small[8];

    assert_int_equal(wire_redis_cmd(LIT("*2\r\n$4\r\nINCR\r\n$5\r\nstock\r\n"), out, sizeof out),
                     10);
    assert_string_equal(out, "INCR stock");
    /* the head ends inside an argument: what arrived */
    assert_true(wire_redis_cmd(LIT("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc"), out, sizeof out));
    assert_string_equal(out, "SET k abc");
    /* binary bytes read as '.', the text is cut to the buffer */
    assert_true(wire_redis_cmd(LIT("*2\r\n$3\r\nGET\r\n$3\r\na\0b\r\n"), out, sizeof out));
    assert_string_equal(out, "GET a.b");
    assert_int_equal(wire_redis_cmd(LIT("*1\r\n$10\r\nABCDEFGHIJ\r\n"), small, sizeof small), 7);
    assert_string_equal(small, "ABCDEFG");
    /* not commands: replies, an empty array, a malformed length */
    assert_int_equal(wire_redis_cmd(LIT("+OK\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_redis_cmd(LIT(":1\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_redis_cmd(LIT("*0\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_redis_cmd(LIT("*x\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_redis_cmd(LIT("*2\r\n:1\r\n"), out, sizeof out), 0);
    assert_int_equal(wire_redis_cmd(LIT("*99999999999\r\n"), out, sizeof out), 0);
}

static void test_data_and_gather(void **state)
{
    char out[8], buf[16];
    struct iovec iov[3] = {{"ab", 2}, {NULL, 0}, {"c\0def", 5}};

    wire_data_text(LIT("a\0b"), out, sizeof out);
    assert_string_equal(out, "a.b");
    wire_data_text(LIT("0123456789"), out, sizeof out);
    assert_string_equal(out, "0123456");
    assert_int_equal(wire_gather(iov, 3, 7, buf, sizeof buf), 7);
    assert_memory_equal(buf, "abc\0def", 7);
    assert_int_equal(wire_gather(iov, 3, 7, buf, 4), 4);
    assert_int_equal(wire_gather(iov, 3, 3, buf, sizeof buf), 3); /* a recv of 3 bytes */
}

static void test_exchange(void **state)
{
    struct wire_texts t;
    const char *post = "POST /charges HTTP/1.1\r\n\r\n";

    assert_int_equal(wire_init(), 0);
    /* a request received, then the response sent: same exchange */
    wire_note(5, WIRE_RECV, post, strlen(post), 1, &t);
    assert_true(t.has_http);
    assert_string_equal(t.http, "POST /charges HTTP/1.1");
    assert_true(t.has_data);
    wire_note(5, WIRE_SEND, LIT("HTTP/1.1 200 OK\r\n\r\n"), 1, &t);
    assert_true(t.has_http);
    assert_string_equal(t.http, "POST /charges HTTP/1.1");
    assert_string_equal(t.data, "HTTP/1.1 200 OK\r\n\r\n");
    assert_false(t.has_redis);
    wire_peek(5, &t);
    assert_true(t.has_http);
    assert_false(t.has_data);
    /* a recv that got nothing has no data */
    wire_note(5, WIRE_RECV, "", 0, 1, &t);
    assert_false(t.has_data);
    /* another socket is another exchange; a forgotten one has none */
    wire_peek(6, &t);
    assert_false(t.has_http);
    wire_forget(5);
    wire_peek(5, &t);
    assert_false(t.has_http);

    /* redis: the client sends commands; an array coming back is a reply */
    wire_note(7, WIRE_SEND, LIT("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), 0, &t);
    assert_true(t.has_redis);
    assert_string_equal(t.redis, "GET k");
    wire_note(7, WIRE_RECV, LIT("*1\r\n$4\r\nINCR\r\n"), 0, &t);
    assert_string_equal(t.redis, "GET k");
    /* the server side learns the other way round */
    wire_note(8, WIRE_RECV, LIT("*1\r\n$4\r\nPING\r\n"), 0, &t);
    assert_string_equal(t.redis, "PING");
    wire_note(8, WIRE_SEND, LIT("*1\r\n$4\r\nINCR\r\n"), 0, &t);
    assert_string_equal(t.redis, "PING");
    /* fds outside the table are not followed */
    wire_note(-1, WIRE_SEND, post, strlen(post), 0, &t);
    assert_false(t.has_http);
    wire_note(WIRE_FDS, WIRE_SEND, post, strlen(post), 0, &t);
    assert_false(t.has_http);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_line),
        cmocka_unit_test(test_redis_cmd),
        cmocka_unit_test(test_data_and_gather),
        cmocka_unit_test(test_exchange),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

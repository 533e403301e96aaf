/*
 * shim_wire.c - content conditions (http ~, redis ~, data ~) on real
 * loopback TCP connections, both ends in this process.  Each mode runs a
 * short exchange and checks which calls the rule (in the environment)
 * failed with ECONNRESET; `none` runs it without a rule and expects no
 * failure, so the test cannot pass on a rule that matches nothing.
 *
 *   shim_wire http inject|none
 *       rule: fail ECONNRESET on sock.send where http ~ "^POST /charges"
 *       a GET /health exchange goes through; the client's POST /charges
 *       request fails; a server that received that request (sent past the
 *       shim with a raw system call) fails its response, which belongs to
 *       the same exchange; a response after half a request line does not
 *   shim_wire redis inject|none
 *       rule: fail ECONNRESET after sock.recv where redis ~ "^INCR"
 *       GET k and a reply that looks like an INCR command go through; the
 *       server's read of INCR k fails
 *   shim_wire data inject|none
 *       rule: fail ECONNRESET on sock.send where data ~ "^secret"
 *       "public" goes through, "secret" fails
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "shim_test.h"

/* A connected TCP pair on 127.0.0.1: *cli and *srv. */
static void tcp_pair(int *cli, int *srv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);

    CHECK(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0,
          "listen: %s", strerror(errno));
    CHECK(getsockname(l, (struct sockaddr *)&a, &al) == 0, "getsockname");
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(*cli, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
    *srv = accept(l, NULL, NULL);
    CHECK(*srv >= 0, "accept: %s", strerror(errno));
    close(l);
}

/* send all of s; 0, or the errno of a failure. */
static int put(int fd, const char *s)
{
    ssize_t r = send(fd, s, strlen(s), 0);
    if (r < 0)
        return errno;
    CHECK((size_t)r == strlen(s), "short send");
    return 0;
}

/* recv exactly n bytes into buf; 0, or the errno of a failure. */
static int get(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r < 0)
            return errno;
        CHECK(r > 0, "early EOF");
        got += (size_t)r;
    }
    buf[n] = '\0';
    return 0;
}

static int http(int inject)
{
    const char *get_req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *post = "POST /charges HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    char buf[256];
    int c, s, e;

    /* another exchange on the socket: untouched either way */
    tcp_pair(&c, &s);
    CHECK(put(c, get_req) == 0 && get(s, buf, strlen(get_req)) == 0, "GET request");
    CHECK(put(s, resp) == 0 && get(c, buf, strlen(resp)) == 0, "GET response");
    /* the POST: its request send is in the exchange */
    e = put(c, post);
    CHECK(e == (inject ? ECONNRESET : 0), "POST request send: %s", strerror(e));
    close(c);
    close(s);

    /* the request received by a server: its response is in the exchange */
    tcp_pair(&c, &s);
    CHECK(syscall(SYS_sendto, c, post, strlen(post), 0, NULL, 0) == (long)strlen(post), "raw send");
    CHECK(get(s, buf, strlen(post)) == 0, "POST received");
    e = put(s, resp);
    CHECK(e == (inject ? ECONNRESET : 0), "POST response send: %s", strerror(e));
    close(c);
    close(s);

    /* half a request line starts no exchange */
    tcp_pair(&c, &s);
    CHECK(write(c, "POST /char", 10) == 10, "partial request");
    CHECK(get(s, buf, 10) == 0, "partial read");
    e = put(s, resp);
    CHECK(e == 0, "a response before any whole request line: %s", strerror(e));
    get(c, buf, strlen(resp));
    close(c);
    close(s);
    printf("http %s: ok\n", inject ? "inject" : "none");
    return 0;
}

static int redis(int inject)
{
    const char *cmd_get = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    const char *looks_like_cmd = "*1\r\n$4\r\nINCR\r\n"; /* a reply that is an array */
    const char *cmd_incr = "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n";
    char buf[64];
    int c, s, e;

    tcp_pair(&c, &s);
    CHECK(put(c, cmd_get) == 0 && get(s, buf, strlen(cmd_get)) == 0, "GET command");
    CHECK(put(s, looks_like_cmd) == 0, "reply");
    e = get(c, buf, strlen(looks_like_cmd));
    CHECK(e == 0, "an array reply is not a command: %s", strerror(e));
    CHECK(put(c, cmd_incr) == 0, "INCR send");
    e = get(s, buf, strlen(cmd_incr));
    CHECK(e == (inject ? ECONNRESET : 0), "INCR received: %s", strerror(e));
    close(c);
    close(s);
    printf("redis %s: ok\n", inject ? "inject" : "none");
    return 0;
}

static int data(int inject)
{
    char buf[64];
    int c, s, e;

    tcp_pair(&c, &s);
    CHECK(put(c, "public\n") == 0 && get(s, buf, 7) == 0, "public");
    e = put(c, "secret\n");
    CHECK(e == (inject ? ECONNRESET : 0), "secret: %s", strerror(e));
    close(c);
    close(s);
    printf("data %s: ok\n", inject ? "inject" : "none");
    return 0;
}

int main(int argc, char **argv)
{
    int inject;

    CHECK(argc == 3, "usage: shim_wire http|redis|data inject|none");
    inject = !strcmp(argv[2], "inject");
    if (!strcmp(argv[1], "http"))
        return http(inject);
    if (!strcmp(argv[1], "redis"))
        return redis(inject);
    if (!strcmp(argv[1], "data"))
        return data(inject);
    CHECK(0, "unknown mode %s", argv[1]);
    return 1;
}

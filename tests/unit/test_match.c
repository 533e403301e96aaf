/*
 * test_match.c - conditions against calls: sql, port and peer on a real
 * loopback TCP connection, caller ~ on this binary's own functions
 * (exported with -rdynamic, kept out of line), thread, proc.
 */
#include "../../shim/caller.c"
#include "../../shim/sym.h"
#include "../../shim/match.c"
#include "../../shim/rules.c"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

extern __thread int stub_thread_index;

/* The last warning match_prepare gave (a caller ~ pattern matching nothing). */
static char last_warning[512];

static void collect_warning(const char *msg)
{
    snprintf(last_warning, sizeof last_warning, "%s", msg);
}

/* Parse and prepare, as the shim's constructor does. */
static struct wg_ruleset parse(const char *text)
{
    struct wg_ruleset rs;
    char err[256] = "";
    if (rules_parse(text, "rules", &rs, err, sizeof err) != 0)
        print_error("%s\n", err);
    assert_int_equal(rs.n, 1);
    last_warning[0] = '\0';
    if (match_prepare(&rs, "rules", 0, collect_warning, err, sizeof err) != 0)
        print_error("%s\n", err);
    return rs;
}

/* 1 if the one rule of `text` matches call c. */
static int matches(const char *text, const struct wg_call *c)
{
    struct wg_ruleset rs = parse(text);
    int m = match_rule(&rs.rules[0], c);
    rules_free(&rs);
    return m;
}

/* A rule whose cheap condition fails never walks the stack. */
static void test_cheap_first(void **state)
{
    struct wg_call c = {.hook = WG_HOOK_MUTEX_LOCK, .fd = -1};
    unsigned long walks = atomic_load(&caller_walks);

    caller_skip_self = 0;
    stub_thread_index = 1;
    assert_false(matches("log on * where caller ~ \"main\" and thread = 2", &c));
    assert_false(matches("log on * where caller ~ \"main\" and proc ~ \"^nomatch$\"", &c));
    assert_int_equal(atomic_load(&caller_walks), walks);
    assert_true(matches("log on * where caller ~ \"main\" and thread = 1", &c));
    assert_int_equal(atomic_load(&caller_walks), walks + 1);
}

static void test_sql(void **state)
{
    struct wg_call c = {
        .hook = WG_HOOK_PQ_QUERY, .fd = -1, .sql = "SELECT stock FROM inventory WHERE sku = $1"};
    struct wg_call none = {.hook = WG_HOOK_PQ_QUERY, .fd = -1};

    assert_true(matches("log on pq.query where sql ~ \"SELECT stock\"", &c));
    assert_true(matches("log on pq.query where sql ~ \"^select\"", &c) == 0); /* case matters */
    assert_true(matches("log on pq.query where sql ~ \"^(SELECT|UPDATE) \"", &c));
    assert_false(matches("log on pq.query where sql ~ \"^UPDATE\"", &c));
    assert_true(matches("log on pq.query where sql !~ \"^UPDATE\"", &c));
    assert_false(matches("log on pq.query where sql !~ \"stock\"", &c));
    /* no statement: ~ never matches, !~ always does */
    assert_false(matches("log on pq.query where sql ~ \"\"", &none));
    assert_true(matches("log on pq.query where sql !~ \"x\"", &none));
    /* all conditions must hold */
    assert_false(matches("log on pq.query where sql ~ \"stock\" and sql ~ \"^UPDATE\"", &c));
    assert_true(matches("log on pq.query", &c));
}

static void test_content(void **state)
{
    struct wg_call c = {.hook = WG_HOOK_SOCK_SEND,
                        .fd = -1,
                        .http = "POST /charges HTTP/1.1",
                        .redis = "INCR stock:1",
                        .data = "HTTP/1.1 200 OK"};
    struct wg_call none = {.hook = WG_HOOK_SOCK_SEND, .fd = -1};

    assert_true(matches("log on sock.send where http ~ \"^POST /charges\"", &c));
    assert_false(matches("log on sock.send where http ~ \"^GET\"", &c));
    assert_true(matches("log on sock.send where http !~ \"^GET\"", &c));
    assert_true(matches("log on sock.send where redis ~ \"^INCR stock\"", &c));
    assert_false(matches("log on sock.send where redis ~ \"^DECR\"", &c));
    assert_true(matches("log on sock.send where data ~ \"^HTTP/1\\.1 200\"", &c));
    assert_true(matches("log on sock.send where http ~ POST and data ~ 200 and redis ~ INCR", &c));
    assert_false(matches("log on sock.send where http ~ POST and data ~ 500", &c));
    /* nothing seen: ~ never holds, !~ always does */
    assert_false(matches("log on sock.send where http ~ \"\"", &none));
    assert_false(matches("log on sock.send where redis ~ \"\"", &none));
    assert_false(matches("log on sock.send where data ~ \"\"", &none));
    assert_true(matches("log on sock.send where http !~ x and redis !~ x and data !~ x", &none));
}

static void test_port_and_peer(void **state)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    int ls, cs, ss, pfd[2], unconnected;
    char text[256];
    unsigned port;

    ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ls, 4), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    cs = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(cs, (struct sockaddr *)&a, sizeof a), 0);
    ss = accept(ls, NULL, NULL);
    assert_true(ss >= 0);

    struct wg_call client = {.hook = WG_HOOK_SOCK_SEND, .fd = cs};
    struct wg_call server = {.hook = WG_HOOK_SOCK_RECV, .fd = ss};

    snprintf(text, sizeof text, "log on sock.* where port = %u", port);
    assert_true(matches(text, &client));
    assert_false(matches(text, &server)); /* the server's peer is the client's ephemeral port */
    snprintf(text, sizeof text, "log on sock.* where port != %u", port);
    assert_false(matches(text, &client));
    assert_true(matches(text, &server));
    snprintf(text, sizeof text, "log on sock.* where peer = 127.0.0.1:%u", port);
    assert_true(matches(text, &client));
    snprintf(text, sizeof text, "log on sock.* where peer = 127.0.0.2:%u", port);
    assert_false(matches(text, &client));
    snprintf(text, sizeof text, "log on sock.* where peer != 127.0.0.2:%u", port);
    assert_true(matches(text, &client));
    snprintf(text, sizeof text, "log on sock.* where peer = 127.0.0.1:%u", port == 1 ? 2 : 1);
    assert_false(matches(text, &client));

    /* sock.connect: the address being connected to, not the (absent) peer */
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fresh = socket(AF_INET, SOCK_STREAM, 0);
    struct wg_call conn = {.hook = WG_HOOK_SOCK_CONNECT,
                           .fd = fresh,
                           .addr = (struct sockaddr *)&to,
                           .addrlen = sizeof to};
    snprintf(text, sizeof text, "log on sock.connect where port = %u", port);
    assert_true(matches(text, &conn));
    snprintf(text, sizeof text, "log on sock.connect where peer = 127.0.0.1:%u", port);
    assert_true(matches(text, &conn));
    to.sin_port = htons((uint16_t)(port == 1 ? 2 : port - 1));
    snprintf(text, sizeof text, "log on sock.connect where port = %u", port);
    assert_false(matches(text, &conn));
    close(fresh);

    /* not a socket, or not connected: the condition fails both ways,
     * and errno is left as it was */
    assert_int_equal(pipe(pfd), 0);
    unconnected = socket(AF_INET, SOCK_STREAM, 0);
    struct wg_call calls[] = {{.hook = WG_HOOK_SOCK_SEND, .fd = pfd[1]},
                              {.hook = WG_HOOK_SOCK_SEND, .fd = unconnected},
                              {.hook = WG_HOOK_SOCK_SEND, .fd = -1}};
    for (int i = 0; i < 3; i++) {
        errno = 1234;
        snprintf(text, sizeof text, "log on sock.* where port = %u", port);
        assert_false(matches(text, &calls[i]));
        snprintf(text, sizeof text, "log on sock.* where port != %u", port);
        assert_false(matches(text, &calls[i]));
        assert_false(matches("log on sock.* where peer != 10.0.0.1:1", &calls[i]));
        assert_int_equal(errno, 1234);
    }
    close(pfd[0]);
    close(pfd[1]);
    close(unconnected);
    close(cs);
    close(ss);
    close(ls);
}

static void test_peer_ipv6(void **state)
{
    struct sockaddr_in6 a = {0};
    socklen_t len = sizeof a;
    char text[256];
    int ls = socket(AF_INET6, SOCK_STREAM, 0), cs, ss;

    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0) {
        if (ls >= 0)
            close(ls);
        skip(); /* no IPv6 loopback on this machine */
    }
    assert_int_equal(listen(ls, 4), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
    cs = socket(AF_INET6, SOCK_STREAM, 0);
    assert_int_equal(connect(cs, (struct sockaddr *)&a, sizeof a), 0);
    ss = accept(ls, NULL, NULL);
    struct wg_call client = {.hook = WG_HOOK_SOCK_SEND, .fd = cs};
    snprintf(text, sizeof text, "log on sock.* where peer = [::1]:%u", ntohs(a.sin6_port));
    assert_true(matches(text, &client));
    snprintf(text, sizeof text, "log on sock.* where peer = 127.0.0.1:%u", ntohs(a.sin6_port));
    assert_false(matches(text, &client));
    snprintf(text, sizeof text, "log on sock.* where port = %u", ntohs(a.sin6_port));
    assert_true(matches(text, &client));
    close(cs);
    close(ss);
    close(ls);
}

static void test_thread_and_proc(void **state)
{
    struct wg_call c = {.hook = WG_HOOK_MUTEX_LOCK, .fd = -1};

    stub_thread_index = 2;
    assert_true(matches("log on * where thread = 2", &c));
    assert_false(matches("log on * where thread = 1", &c));
    assert_true(matches("log on * where thread != 1", &c));
    stub_thread_index = 1;
    assert_false(matches("log on * where thread = 2", &c));

    snprintf(wg_proc_name, sizeof wg_proc_name, "shopd");
    assert_true(matches("log on * where proc ~ \"^shop\"", &c));
    assert_false(matches("log on * where proc ~ \"pspd\"", &c));
    assert_true(matches("log on * where proc !~ \"pspd\"", &c));
    snprintf(wg_proc_name, sizeof wg_proc_name, "unit-test");
}

/* ---------------------------------------------------------------
 * caller ~ with real frames of this binary.
 * ------------------------------------------------------------ */
int match_probe_inner(const char *text) __attribute__((noinline));
int match_probe_outer(const char *text) __attribute__((noinline));
int match_probe_stack(const char **names, int max) __attribute__((noinline));

int match_probe_inner(const char *text)
{
    struct wg_call c = {.hook = WG_HOOK_MUTEX_LOCK, .fd = -1};
    int m = matches(text, &c);
    __asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
    return m;
}

int match_probe_outer(const char *text)
{
    int m = match_probe_inner(text);
    __asm__ volatile("" ::: "memory");
    return m;
}

int match_probe_stack(const char **names, int max)
{
    static char buf[1024];
    int n = caller_stack(names, max, buf, sizeof buf);
    __asm__ volatile("" ::: "memory");
    return n;
}

static void test_caller(void **state)
{
    const char *names[32];
    int n, inner = -1, outer = -1, probe = -1;

    caller_skip_self = 0;
    assert_true(match_probe_outer("log on * where caller ~ \"^match_probe_outer$\""));
    assert_true(match_probe_outer("log on * where caller ~ \"probe_inner\""));
    assert_false(match_probe_outer("log on * where caller ~ \"^no_such_function$\""));
    assert_true(match_probe_outer("log on * where caller !~ \"^no_such_function$\""));
    assert_false(match_probe_outer("log on * where caller !~ \"^match_probe_outer$\""));
    /* not on the stack when called from elsewhere */
    struct wg_call c = {.hook = WG_HOOK_MUTEX_LOCK, .fd = -1};
    assert_false(matches("log on * where caller ~ \"^match_probe_outer$\"", &c));

    n = match_probe_stack(names, 32);
    assert_true(n > 2);
    for (int i = 0; i < n; i++) {
        if (!strcmp(names[i], "match_probe_stack"))
            probe = i;
        if (!strcmp(names[i], "test_caller"))
            inner = i;
        if (!strcmp(names[i], "main"))
            outer = i;
    }
    assert_true(probe >= 0 && inner > probe && outer > inner); /* innermost first */
    assert_int_equal(match_probe_stack(names, 1), 1);

    /* the shim's own frames are skipped: here "the shim" is this binary,
     * so only the C library's frames remain */
    caller_skip_self = 1;
    assert_false(match_probe_outer("log on * where caller ~ \"^match_probe_outer$\""));
    assert_true(match_probe_outer("log on * where caller ~ \"libc_start\""));
    n = match_probe_stack(names, 32);
    for (int i = 0; i < n; i++)
        assert_string_not_equal(names[i], "match_probe_stack");
    caller_skip_self = 0;
}

/* A function the compiler inlined has no frame and no symbol of its own:
 * caller ~ finds it through the DWARF inline instances, and the trace's
 * stack lists it as a frame. */
static int inline_sink;
static inline __attribute__((always_inline)) int inlined_probe(const char *text, int nstack,
                                                               const char **names)
{
    inline_sink++;
    if (nstack)
        return match_probe_stack(names, nstack);
    return match_probe_inner(text);
}

int inline_host(const char *text, int nstack, const char **names) __attribute__((noinline));
int inline_host(const char *text, int nstack, const char **names)
{
    int m = inlined_probe(text, nstack, names);
    __asm__ volatile("" ::: "memory");
    return m;
}

static void test_caller_inline(void **state)
{
    const char *names[32];
    int n, at = -1, host = -1;

    caller_skip_self = 0;
    assert_true(inline_host("log on * where caller ~ \"^inlined_probe$\"", 0, NULL));
    assert_true(inline_host("log on * where caller ~ \"^inline_host$\"", 0, NULL));
    assert_false(match_probe_outer("log on * where caller ~ \"^inlined_probe$\""));
    n = inline_host(NULL, 32, names);
    for (int i = 0; i < n; i++) {
        if (!strcmp(names[i], "inlined_probe"))
            at = i;
        if (!strcmp(names[i], "inline_host"))
            host = i;
    }
    assert_true(at >= 0 && host == at + 1); /* inlined into inline_host, listed inside it */
}

/* A pattern no function of the process matches is reported at
 * preparation with the condition's position; one that matches is not. */
static void test_caller_warning(void **state)
{
    struct wg_ruleset rs = parse("log on mutex.lock where thread = 1 and caller ~ \"^no_fn_xyz$\"");
    assert_non_null(strstr(last_warning, "rules:1:40: caller ~ \"^no_fn_xyz$\" matches no "
                                         "function in unit-test (searched "));
    rules_free(&rs);
    rs = parse("log on * where caller !~ \"^no_fn_xyz$\"");
    assert_non_null(strstr(last_warning, "rules:1:16: caller !~ \"^no_fn_xyz$\" matches no "
                                         "function in unit-test, so the condition always holds"));
    rules_free(&rs);
    rs = parse("log on * where caller ~ \"^test_caller_warning$\"");
    assert_string_equal(last_warning, "");
    rules_free(&rs);
}

/* At most 63 different patterns (one bit each in the symbol tables);
 * the same pattern twice takes one bit. */
static void test_caller_patterns(void **state)
{
    char text[64 * 48] = "", err[256] = "";
    struct wg_ruleset rs;
    size_t len = 0;

    for (int i = 0; i < 64; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "log on mutex.lock where caller ~ \"f%d\"\n", i < 63 ? i : 0);
    assert_int_equal(rules_parse(text, "rules", &rs, err, sizeof err), 0);
    assert_int_equal(match_prepare(&rs, "rules", 0, NULL, err, sizeof err), 0);
    assert_int_equal(rs.rules[63].conds[0].pre, rs.rules[0].conds[0].pre);
    rules_free(&rs);
    snprintf(text + len - 4, sizeof text - len + 4, "64\"\n");
    assert_int_equal(rules_parse(text, "rules", &rs, err, sizeof err), 0);
    assert_int_equal(match_prepare(&rs, "rules", 0, NULL, err, sizeof err), -1);
    assert_string_equal(err, "rules:64:25: more than 63 different caller ~ patterns; join some "
                             "with '|'");
    rules_free(&rs);
}

/* spurious does not apply to the wait right after a spurious return. */
static void test_spurious_once(void **state)
{
    struct wg_call c = {.hook = WG_HOOK_COND_WAIT, .fd = -1};

    assert_true(matches("spurious on cond.wait", &c));
    c.no_spurious = 1;
    assert_false(matches("spurious on cond.wait", &c));
    assert_true(matches("log on cond.wait", &c)); /* other actions are unaffected */
}

/* The cache of pattern bits under 4 threads filling and reading it at
 * once, from cold: every answer stays right. */
static struct wg_ruleset thread_rs[2];

static void *caller_thread(void *arg)
{
    long wrong = 0;
    struct wg_call c = {.hook = WG_HOOK_MUTEX_LOCK, .fd = -1};
    for (int i = 0; i < 300; i++) {
        wrong += !match_rule(&thread_rs[0].rules[0], &c);
        wrong += match_rule(&thread_rs[1].rules[0], &c);
    }
    return (void *)wrong;
}

static void test_caller_threads(void **state)
{
    pthread_t t[4];
    char err[256];

    caller_skip_self = 0;
    assert_int_equal(rules_parse("log on * where caller ~ \"^caller_thread$\"\n"
                                 "log on * where caller ~ \"^test_caller$\"",
                                 "rules", &thread_rs[0], err, sizeof err),
                     0);
    assert_int_equal(match_prepare(&thread_rs[0], "rules", 0, NULL, err, sizeof err), 0);
    thread_rs[1] = thread_rs[0];
    thread_rs[1].rules = &thread_rs[0].rules[1];
    memset(caller_cache, 0, sizeof caller_cache); /* start cold: threads race to fill */
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, caller_thread, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *wrong;
        pthread_join(t[i], &wrong);
        assert_int_equal((long)wrong, 0);
    }
    rules_free(&thread_rs[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cheap_first),    cmocka_unit_test(test_sql),
        cmocka_unit_test(test_content),        cmocka_unit_test(test_port_and_peer),
        cmocka_unit_test(test_peer_ipv6),      cmocka_unit_test(test_thread_and_proc),
        cmocka_unit_test(test_caller),         cmocka_unit_test(test_caller_inline),
        cmocka_unit_test(test_caller_warning), cmocka_unit_test(test_caller_patterns),
        cmocka_unit_test(test_spurious_once),  cmocka_unit_test(test_caller_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

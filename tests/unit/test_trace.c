/*
 * test_trace.c - the JSON-lines trace: every line parses (jansson), the
 * fields are the design's, concurrent lines never interleave, the exit
 * summary, the mutex profile and fork (password redaction is common/'s:
 * tests/unit/common/test_redact.c).
 */
#include "../../shim/caller.c"
#include "../../shim/rules.c"
#include "../../shim/trace.c"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static char tmpdir[] = "/tmp/wedge-trace-XXXXXX";

static int setup(void **state)
{
    caller_skip_self = 0; /* caller.c is linked into this binary */
    sym_build(NULL, 1);   /* stack names: the tables a process builds at start */
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    trace_open(NULL, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void trace_path(pid_t pid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/trace.%d.jsonl", tmpdir, (int)pid);
}

/* Parse every line of pid's trace; returns how many, fills lines[]. */
static int read_lines(pid_t pid, json_t **lines, int max)
{
    char path[256], *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    FILE *f;
    int n = 0;

    trace_path(pid, path, sizeof path);
    f = fopen(path, "r");
    assert_non_null(f);
    while ((len = getline(&buf, &cap, f)) > 0) {
        json_error_t e;
        json_t *j;
        assert_true(buf[len - 1] == '\n'); /* whole lines */
        j = json_loads(buf, 0, &e);
        if (!j)
            print_error("bad JSON (%s): %.300s\n", e.text, buf);
        assert_non_null(j);
        if (n < max)
            lines[n] = j;
        else
            json_decref(j);
        n++;
    }
    free(buf);
    fclose(f);
    return n;
}

static void free_lines(json_t **lines, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(lines[i]);
}

static struct wg_ruleset parse(const char *text)
{
    struct wg_ruleset rs;
    char err[256] = "";
    if (rules_parse(text, "rules", &rs, err, sizeof err) != 0)
        print_error("%s\n", err);
    assert_true(rs.n > 0);
    return rs;
}

void trace_probe_emit(const struct wg_event *ev) __attribute__((noinline));
void trace_probe_emit(const struct wg_event *ev)
{
    trace_event(ev);
    __asm__ volatile("" ::: "memory");
}

static void test_event_fields(void **state)
{
    struct wg_ruleset rs = parse("stock-read: barrier stock-read 2 on pq.query");
    struct timespec t0;
    json_t *l[4];
    char path[256], long_detail[2000];

    trace_path(getpid(), path, sizeof path);
    unlink(path);
    assert_int_equal(trace_open(tmpdir, NULL, 0), 0);
    assert_true(trace_enabled());
    clock_gettime(CLOCK_REALTIME, &t0);

    struct wg_event ev = {WG_HOOK_PQ_QUERY,
                          &rs.rules[0],
                          "barrier",
                          "released",
                          1234,
                          7,
                          "SELECT \"stock\" FROM\tinventory\n\x01 \xff\xfe caf\xc3\xa9",
                          1,
                          (const void *)0x1234,
                          -1};
    errno = 4321;
    trace_probe_emit(&ev);
    assert_int_equal(errno, 4321); /* errno untouched */

    memset(long_detail, 'y', sizeof long_detail - 1);
    long_detail[sizeof long_detail - 1] = '\0';
    struct wg_event ev2 = {WG_HOOK_SOCK_SEND, NULL, "delay", "fired", 0, 1,
                           long_detail,       0,    NULL,    7};
    trace_event(&ev2);
    struct wg_event ev3 = {
        WG_HOOK_MUTEX_LOCK, &rs.rules[0], "log", "fired", 0, 2, NULL, 0, NULL, 3};
    trace_event(&ev3);

    assert_int_equal(read_lines(getpid(), l, 4), 3);
    json_t *j = l[0];
    assert_true(json_integer_value(json_object_get(j, "ts_ns")) >=
                (json_int_t)t0.tv_sec * 1000000000);
    assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
    assert_int_equal(json_integer_value(json_object_get(j, "tid")), gettid());
    assert_string_equal(json_string_value(json_object_get(j, "hook")), "pq.query");
    assert_string_equal(json_string_value(json_object_get(j, "rule")), "stock-read");
    assert_string_equal(json_string_value(json_object_get(j, "action")), "barrier");
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "released");
    assert_int_equal(json_integer_value(json_object_get(j, "waited_ns")), 1234);
    assert_int_equal(json_integer_value(json_object_get(j, "hit")), 7);
    /* escapes survive the round trip; invalid UTF-8 became U+FFFD */
    assert_string_equal(
        json_string_value(json_object_get(j, "detail")),
        "SELECT \"stock\" FROM\tinventory\n\x01 \xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9");
    json_t *stack = json_object_get(j, "stack");
    assert_true(json_is_array(stack));
    int found = 0;
    for (size_t i = 0; i < json_array_size(stack); i++)
        found |= !strcmp(json_string_value(json_array_get(stack, i)), "trace_probe_emit");
    assert_true(found);
    /* the field order of the design's example */
    char *dump = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
    assert_non_null(dump);
    assert_true(strncmp(dump, "{\"ts_ns\":", 9) == 0);
    assert_non_null(strstr(dump, "\"hook\":\"pq.query\",\"rule\":\"stock-read\",\"action\":"
                                 "\"barrier\",\"outcome\":\"released\",\"waited_ns\":1234,"
                                 "\"hit\":7,\"detail\":"));
    free(dump);

    /* no rule: null; detail cut to 512 bytes; no stack unless asked */
    assert_true(json_is_null(json_object_get(l[1], "rule")));
    assert_int_equal(strlen(json_string_value(json_object_get(l[1], "detail"))), 512);
    assert_null(json_object_get(l[1], "stack"));
    assert_true(json_is_null(json_object_get(l[2], "detail")));
    /* what a call worked on: the object, and a socket's descriptor (only
     * on sock hooks: a mutex's fd field means nothing) */
    assert_string_equal(json_string_value(json_object_get(l[0], "obj")), "0x1234");
    assert_null(json_object_get(l[0], "fd"));
    assert_null(json_object_get(l[1], "obj"));
    assert_int_equal(json_integer_value(json_object_get(l[1], "fd")), 7);
    assert_null(json_object_get(l[2], "fd"));
    free_lines(l, 3);
    rules_free(&rs);
}

#define LONG_NAME \
    trace_probe_a_rather_long_function_name_that_fills_the_line_quickly_with_its_frames_xxxxxxxxxxx
void LONG_NAME(int depth, const struct wg_event *ev) __attribute__((noinline));
void LONG_NAME(int depth, const struct wg_event *ev)
{
    if (depth > 0)
        LONG_NAME(depth - 1, ev);
    else
        trace_event(ev);
    __asm__ volatile("" ::: "memory");
}

/* The worst case: a detail of control characters (escaped 6x) and a deep
 * stack of long names.  The line is shortened, never dropped. */
static void test_long_line(void **state)
{
    char detail[600], path[256];
    json_t *l[2];

    memset(detail, 1, sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    trace_path(getpid(), path, sizeof path);
    unlink(path);
    assert_int_equal(trace_open(tmpdir, NULL, 0), 0);
    struct wg_event ev = {WG_HOOK_PQ_QUERY, NULL, "log", "fired", 0, 1, detail, 1, NULL, -1};
    LONG_NAME(20, &ev);
    assert_int_equal(read_lines(getpid(), l, 2), 1);
    assert_int_equal(strlen(json_string_value(json_object_get(l[0], "detail"))), 512);
    json_t *stack = json_object_get(l[0], "stack");
    assert_true(json_array_size(stack) > 0 && json_array_size(stack) < TRACE_STACK_MAX);
    free_lines(l, 1);
}

static void test_utf8_cut(void **state)
{
    char out[64];
    struct trace_buf b = {out, 0, sizeof out, 0};
    /* a 2-byte character straddling the limit is dropped, not split */
    tb_json_str(&b, "ab\xc3\xa9", 3);
    assert_string_equal(out, "\"ab\\ufffd\"");
    b.len = 0;
    tb_json_str(&b, "ab\xc3\xa9", 4);
    assert_string_equal(out, "\"ab\xc3\xa9\"");
    /* overlong and surrogate encodings are invalid */
    b.len = 0;
    tb_json_str(&b, "\xc0\xaf\xed\xa0\x80", 10);
    assert_null(strstr(out, "\xc0"));
    /* a full buffer drops the line rather than writing half of it */
    char tiny[8];
    struct trace_buf t = {tiny, 0, sizeof tiny, 0};
    tb_json_str(&t, "0123456789", 100);
    assert_true(t.full);
}

struct burst {
    int id;
};

static void *burst_thread(void *arg)
{
    struct burst *b = arg;
    char detail[300];
    for (int i = 0; i < 500; i++) {
        snprintf(detail, sizeof detail, "thread %d event %d %0200d", b->id, i, 0);
        struct wg_event ev = {WG_HOOK_SOCK_RECV, NULL,   "log", "fired", 0,
                              (uint64_t)i,       detail, 0,     NULL,    -1};
        trace_event(&ev);
    }
    return NULL;
}

static void test_concurrent_lines(void **state)
{
    pthread_t t[4];
    struct burst b[4];
    char path[256];
    static json_t *l[2100];
    int n, per[4] = {0};

    trace_path(getpid(), path, sizeof path);
    unlink(path);
    assert_int_equal(trace_open(tmpdir, NULL, 0), 0);
    for (int i = 0; i < 4; i++) {
        b[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, burst_thread, &b[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    n = read_lines(getpid(), l, 2100);
    assert_int_equal(n, 2000); /* each line whole and valid: no interleaving */
    for (int i = 0; i < n; i++) {
        int id = -1;
        sscanf(json_string_value(json_object_get(l[i], "detail")), "thread %d", &id);
        assert_in_range(id, 0, 3);
        per[id]++;
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(per[i], 500);
    free_lines(l, n);
}

/* Exported functions whose addresses stand for lock call sites; their
 * bodies are long enough for the offsets used, at any optimisation. */
void trace_site_a(void) __attribute__((noinline));
void trace_site_a(void)
{
    __asm__ volatile("nop; nop; nop; nop; nop; nop; nop; nop" ::: "memory");
}
void trace_site_b(void) __attribute__((noinline));
void trace_site_b(void)
{
    __asm__ volatile("nop; nop; nop; nop; nop; nop; nop; nop; nop" ::: "memory");
}

/* Not exported: only the ELF symbol table names it. */
static void trace_site_static(void) __attribute__((noinline, used));
static void trace_site_static(void)
{
    __asm__ volatile("nop; nop; nop; nop; nop; nop; nop; nop" ::: "memory");
}

static void test_symbolise(void **state)
{
    char out[256];

    sym_describe((uintptr_t)trace_site_a + 1, out, sizeof out);
    assert_string_equal(out, "trace_site_a+0x1"); /* exported */
    sym_describe((uintptr_t)trace_site_static + 2, out, sizeof out);
    assert_string_equal(out, "trace_site_static+0x2"); /* static: the ELF .symtab */
    sym_describe((uintptr_t)printf + 3, out, sizeof out);
    assert_non_null(strstr(out, "printf+0x3")); /* another object (printf or an alias) */
    sym_describe(16, out, sizeof out);
    assert_string_equal(out, "0x10"); /* no object at all */
}

static void test_summary(void **state)
{
    struct wg_ruleset rs = parse("first: log on pq.query; delay 1ms on sock.send p=0.5");
    uint64_t calls[WG_HOOK_COUNT] = {0};
    char path[256];
    json_t *l[2];

    trace_path(getpid(), path, sizeof path);
    unlink(path);
    memset(trace_mutex, 0, sizeof trace_mutex);
    assert_int_equal(trace_open(tmpdir, NULL, 0), 0);
    struct wg_rule_state st[2] = {{10, 10}, {4, 2}};
    calls[WG_HOOK_PQ_QUERY] = 10;
    calls[WG_HOOK_SOCK_SEND] = 4;
    /* 25 sites: only the top 20 by time waited are listed, largest first */
    for (int i = 0; i < 25; i++)
        trace_mutex_wait((char *)trace_site_b + 1000 + i, (uint64_t)i, 1);
    trace_mutex_wait((char *)trace_site_a + 4, 5000000, 1);
    trace_mutex_wait((char *)trace_site_a + 4, 1000000, 0);
    trace_mutex_wait((char *)trace_site_a + 4, 0, 1);
    trace_mutex_wait(NULL, 5, 1);      /* ignored */
    wg_seed = 18446744073709551615ULL; /* above INT64_MAX: a number no JSON reader could take */
    trace_summary(&rs, st, calls, "exit", 0);

    assert_int_equal(read_lines(getpid(), l, 2), 1);
    json_t *s = l[0];
    assert_true(json_is_true(json_object_get(s, "summary")));
    assert_int_equal(json_integer_value(json_object_get(s, "pid")), getpid());
    assert_string_equal(json_string_value(json_object_get(s, "proc")), "unit-test");
    assert_string_equal(json_string_value(json_object_get(s, "seed")), "18446744073709551615");
    json_t *c = json_object_get(s, "calls");
    assert_int_equal(json_object_size(c), 2); /* only nonzero */
    assert_int_equal(json_integer_value(json_object_get(c, "pq.query")), 10);
    assert_int_equal(json_integer_value(json_object_get(c, "sock.send")), 4);
    json_t *r = json_object_get(s, "rules");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "rule")), "first");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "rule")), "rule2");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "hits")), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "fires")), 2);
    json_t *m = json_object_get(s, "mutex");
    assert_int_equal(json_array_size(m), 20);
    json_t *top = json_array_get(m, 0);
    assert_string_equal(json_string_value(json_object_get(top, "site")), "trace_site_a+0x4");
    assert_int_equal(json_integer_value(json_object_get(top, "contended")), 2);
    assert_int_equal(json_integer_value(json_object_get(top, "waited_ns")), 6000000);
    for (size_t i = 1; i < json_array_size(m); i++)
        assert_true(json_integer_value(json_object_get(json_array_get(m, i - 1), "waited_ns")) >=
                    json_integer_value(json_object_get(json_array_get(m, i), "waited_ns")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(m, 1), "waited_ns")), 24);
    /* an address past the end of trace_site_b is not named after it */
    const char *far = json_string_value(json_object_get(json_array_get(m, 1), "site"));
    assert_null(strstr(far, "trace_site_b"));
    free_lines(l, 1);
    rules_free(&rs);
}

/* Thousands of rules with long names: the summary stays one valid line,
 * the rule list shortened and marked. */
static void test_summary_many_rules(void **state)
{
    enum { N = 3000 };
    char *text = malloc(N * 100), path[256];
    size_t len = 0;
    json_t *l[2];

    assert_non_null(text);
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "r%061d: log on pq.query\n", i);
    struct wg_ruleset rs = parse(text);
    assert_int_equal(rs.n, N);
    struct wg_rule_state *st = calloc(N, sizeof *st);
    assert_non_null(st);
    trace_path(getpid(), path, sizeof path);
    unlink(path);
    assert_int_equal(trace_open(tmpdir, NULL, 0), 0);
    trace_summary(&rs, st, NULL, "exit", 0);
    assert_int_equal(read_lines(getpid(), l, 2), 1);
    assert_true(json_is_true(json_object_get(l[0], "rules_truncated")));
    size_t listed = json_array_size(json_object_get(l[0], "rules"));
    assert_true(listed > 1000 && listed < N);
    assert_true(json_is_array(json_object_get(l[0], "mutex")));
    free_lines(l, 1);
    rules_free(&rs);
    free(st);
    free(text);
}

static void test_disabled_and_fork(void **state)
{
    char path[256];
    pid_t pid;
    int st;

    assert_int_equal(trace_open(NULL, NULL, 0), 0);
    assert_false(trace_enabled());
    struct wg_event ev = {WG_HOOK_PQ_QUERY, NULL, "log", "fired", 0, 1, "x", 0, NULL, -1};
    trace_event(&ev); /* nowhere to go: nothing happens */
    errno = 0;
    assert_int_equal(trace_open("/nonexistent/dir", NULL, 0), -1);
    assert_int_equal(errno, ENOENT);
    assert_false(trace_enabled());

    assert_int_equal(trace_open(tmpdir, NULL, 0), 0);
    trace_mutex_wait((char *)trace_site_a + 8, 77, 1);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child: its own file, its own (empty) mutex profile */
        if (trace_open(tmpdir, NULL, 0) != 0)
            _exit(3);
        trace_event(&ev);
        trace_summary(NULL, NULL, NULL, "exit", 0);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(WEXITSTATUS(st), 0);
    json_t *l[4];
    trace_path(pid, path, sizeof path);
    assert_int_equal(read_lines(pid, l, 4), 2);
    assert_int_equal(json_integer_value(json_object_get(l[0], "pid")), pid);
    assert_int_equal(json_array_size(json_object_get(l[1], "mutex")), 0);
    free_lines(l, 2);
}

/* Nothing to turn against the user: trace.PID.jsonl is created 0600 and
 * never through a symlink planted at its name; an existing file of ours
 * (an exec'd image of the same pid) is appended to. */
static void test_file_safety(void **state)
{
    char path[256], target[256], why[256];
    struct stat st;
    FILE *f;

    trace_path(getpid(), path, sizeof path);
    unlink(path);
    umask(0);
    assert_int_equal(trace_open(tmpdir, why, sizeof why), 0);
    umask(022);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct wg_event ev = {WG_HOOK_PQ_QUERY, NULL, "log", "fired", 0, 1, "x", 0, NULL, -1};
    trace_event(&ev);
    assert_int_equal(trace_open(tmpdir, why, sizeof why), 0); /* again: appended */
    trace_event(&ev);
    json_t *l[4];
    assert_int_equal(read_lines(getpid(), l, 4), 2);
    free_lines(l, 2);

    snprintf(target, sizeof target, "%s/precious", tmpdir);
    f = fopen(target, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
    errno = 0;
    assert_int_equal(trace_open(tmpdir, why, sizeof why), -1);
    assert_int_equal(errno, ELOOP);
    snprintf(target, sizeof target, "trace.%d.jsonl is a symbolic link; wedge does not follow it",
             (int)getpid());
    assert_string_equal(why, target);
    assert_false(trace_enabled());
    snprintf(target, sizeof target, "%s/precious", tmpdir);
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 9); /* nothing appended */
    unlink(path);

    /* a hard link to a file of ours elsewhere is not appended to either */
    assert_int_equal(link(target, path), 0);
    assert_int_equal(trace_open(tmpdir, why, sizeof why), -1);
    snprintf(target, sizeof target, "trace.%d.jsonl exists with 2 hard links", (int)getpid());
    assert_string_equal(why, target);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_fields),       cmocka_unit_test(test_utf8_cut),
        cmocka_unit_test(test_long_line),          cmocka_unit_test(test_concurrent_lines),
        cmocka_unit_test(test_symbolise),          cmocka_unit_test(test_summary),
        cmocka_unit_test(test_summary_many_rules), cmocka_unit_test(test_disabled_and_fork),
        cmocka_unit_test(test_file_safety),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

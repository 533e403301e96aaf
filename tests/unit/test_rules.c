/*
 * test_rules.c - the rule parser: every error path with its exact
 * message, a table of valid rules and the fields they set, and the
 * documentation of every message kept in sync with this file.
 */
#include "../../shim/rules.c" /* static functions too (tests/README.md) */

#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* ---------------------------------------------------------------
 * Every error path: input -> the exact message.
 * ------------------------------------------------------------ */
static const struct {
    const char *text, *err;
} bad[] = {
    {"dealy 5ms on pq.query",
     "rules:1:1: unknown action 'dealy' (did you mean 'delay'?); expected one of delay, fail, "
     "short, yield, spurious, barrier, mark, wait, log, hold"},
    {"x: ", "rules:1:4: expected an action, found end of rule; expected one of delay, fail, short, "
            "yield, spurious, barrier, mark, wait, log, hold"},
    {"bad.name: log on pq.query",
     "rules:1:1: bad rule name 'bad.name'; expected letters, digits, '-' or '_' (at most 63)"},
    {"a: log on pq.query; a: log on pq.exec",
     "rules:1:21: duplicate rule name 'a' (first used at 1:1)"},
    {"delay",
     "rules:1:6: expected a duration such as 20ms or 1ms..50ms after 'delay', found end of rule"},
    {"delay 5 on pq.query",
     "rules:1:7: bad duration '5'; expected a number with a unit (ns, us, ms, s, m, h), e.g. 20ms"},
    {"delay 5ms..x on pq.query", "rules:1:7: bad duration range '5ms..x'; expected MIN..MAX with "
                                 "units (ns, us, ms, s, m, h), e.g. 1ms..50ms"},
    {"delay 1ms..18446744073.9s on pq.query",
     "rules:1:7: duration range '1ms..18446744073.9s' out of range; expected at most 18446744073s"},
    {"delay 50ms..5ms on pq.query",
     "rules:1:7: bad duration range '50ms..5ms'; the maximum is less than the minimum"},
    {"fail", "rules:1:5: expected an errno name (e.g. ECONNRESET), 'sqlstate' or 'disconnect' "
             "after 'fail', found end of rule"},
    {"fail ECONRESET on sock.send",
     "rules:1:6: unknown errno 'ECONRESET' (did you mean 'ECONNRESET'?); expected an errno name "
     "such as ECONNRESET, ETIMEDOUT, EBUSY or a number"},
    {"fail 5000 on sock.send", "rules:1:6: errno '5000' out of range; expected 1..4095"},
    {"fail sqlstate 4001 on pq.query", "rules:1:15: expected a 5-character SQLSTATE of 0-9 and A-Z "
                                       "(e.g. 40001) after 'sqlstate', found '4001'"},
    {"short 0 on sock.send", "rules:1:7: bad byte count '0' after 'short'; expected a number >= 1"},
    {"short", "rules:1:6: expected a byte count >= 1 after 'short', found end of rule"},
    {"barrier", "rules:1:8: expected a name after 'barrier', found end of rule"},
    {"barrier a/b 2 on pq.query", "rules:1:9: bad name 'a/b' after 'barrier'; expected letters, "
                                  "digits, '-', '_' or '.' (at most 63)"},
    {"barrier x", "rules:1:10: expected a count (1..255) after 'barrier NAME', found end of rule"},
    {"barrier x 256 on pq.query", "rules:1:11: bad barrier count '256'; expected a number 1..255"},
    {"barrier x 2 timeout",
     "rules:1:20: expected a duration such as 20ms after 'timeout', found end of rule"},
    {"wait w timeout 0ms on pq.query",
     "rules:1:16: bad timeout '0ms'; expected a duration above 0"},
    {"hold h ceiling 0s on sock.recv", "rules:1:16: bad ceiling '0s'; expected a duration above 0"},
    {"mark", "rules:1:5: expected a name after 'mark', found end of rule"},
    {"wait w timeout 1 on pq.query",
     "rules:1:16: bad duration '1'; expected a number with a unit (ns, us, ms, s, m, h), e.g. "
     "20ms"},
    {"log pq.query", "rules:1:5: expected 'on', 'before' or 'after' and a hook, found 'pq.query'"},
    {"log no pq.query",
     "rules:1:5: expected 'on', 'before' or 'after' and a hook, found 'no' (did you mean 'on'?)"},
    {"log on", "rules:1:7: expected a hook (e.g. pq.query, sock.send, mutex.lock, pq.*, *), found "
               "end of rule"},
    {"log on pq.qeury",
     "rules:1:8: unknown hook 'pq.qeury' (did you mean 'pq.query'?); expected a hook such as "
     "pq.query, sock.send, mutex.lock, or a family such as pq.* (see docs/rules.md)"},
    {"log on foo.*", "rules:1:8: unknown hook family 'foo.*'; expected sock.*, pq.*, mutex.*, "
                     "rwlock.*, cond.*, thread.*, pthread.* or *"},
    {"log on pq.query,", "rules:1:17: expected a hook (e.g. pq.query, sock.send, mutex.lock, pq.*, "
                         "*), found end of rule"},
    {"log on pq.query where",
     "rules:1:22: expected a condition after 'where', found end of rule; "
     "expected one of sql, port, peer, caller, thread, proc, http, redis, data"},
    {"log on pq.query where sqll ~ \"x\"",
     "rules:1:23: unknown condition 'sqll' (did you mean 'sql'?); expected one of sql, port, peer, "
     "caller, thread, proc, http, redis, data"},
    {"log on pq.query where sql = \"x\"",
     "rules:1:27: expected '~' or '!~' after 'sql', found '='"},
    {"log on sock.send where port ~ 5", "rules:1:29: expected '=' or '!=' after 'port', found '~'"},
    {"log on pq.query where sql ~",
     "rules:1:28: expected a \"quoted regular expression\" after 'sql ~', found end of rule"},
    {"log on pq.query where sql ~ \"abc",
     "rules:1:29: unterminated string; expected a closing '\"'"},
    {"log on pq.query where sql ~ \"a(\"",
     "rules:1:29: bad regular expression \"a(\": Unmatched ( or \\("},
    /* regcomp expands repetitions: each stacked + doubled (and more) its
     * memory, ~700 MB for this one in every process */
    {"log on pq.query where sql ~ \"ab++++++++++++++++++++++\"",
     "rules:1:29: regular expression \"ab++++++++++++++++++++++\" repeats a repetition at byte 4 "
     "('++'); POSIX leaves that undefined: write the one repetition you mean, as in a* for a*+"},
    {"log on pq.query where sql ~ \"x{2}{3}\"",
     "rules:1:29: regular expression \"x{2}{3}\" repeats a repetition at byte 5 ('}{'); POSIX "
     "leaves that undefined: write the one repetition you mean, as in a* for a*+"},
    {"log on pq.query where sql ~ \"((((((((((((ab)+)+)+)+)+)+)+)+)+)+)+)+\"",
     "rules:1:29: regular expression \"((((((((((((ab)+)+)+)+)+)+)+)+)+)+)+)+\" too complex: it "
     "expands to about 28667 nodes, at most 10000 (each +, {N} and nested repetition multiplies "
     "what it repeats)"},
    /* repeating what can match the empty string: the fuzzer's
     * (ba|([ab]?([ab]{0,5}|)){12})+ took 92 s in regcomp at 700 KB */
    {"log on pq.query where sql ~ \"(ba|([ab]?([ab]{0,5}|)){12})+\"",
     "rules:1:29: regular expression \"(ba|([ab]?([ab]{0,5}|)){12})+\" repeats at byte 24 ('{') "
     "what can match the empty string; repeat only what consumes a character, as in (a+)? for "
     "(a?)+"},
    {"log on pq.query where sql ~ \"(a{100}){101}\"",
     "rules:1:29: regular expression \"(a{100}){101}\" too complex: it expands to about 10404 "
     "nodes, at most 10000 (each +, {N} and nested repetition multiplies what it repeats)"},
    /* the fuzzer's a*+++++++++++ took 20 s of CPU in regcomp, and its
     * d??????????????????++++ 5 s: stacked repetitions are refused */
    {"log on pq.query where sql ~ \"a*++++++++++\"",
     "rules:1:29: regular expression \"a*++++++++++\" repeats a repetition at byte 3 ('*+'); "
     "POSIX leaves that undefined: write the one repetition you mean, as in a* for a*+"},
    {"log on pq.query where sql ~ \"(a?){300}\"",
     "rules:1:29: regular expression \"(a?){300}\" repeats at byte 5 ('{') what can match the "
     "empty string; repeat only what consumes a character, as in (a+)? for (a?)+"},
    {"log on pq.query where sql ~ \"(a)\\\\1\"",
     "rules:1:29: back-reference '\\1' in regular expression \"(a)\\1\"; not supported (matching "
     "one takes exponential time)"},
    {"log on sock.send where port = 70000",
     "rules:1:31: bad port '70000'; expected a number 1..65535"},
    {"log on sock.send where peer = 1.2.3.4",
     "rules:1:31: bad address '1.2.3.4' after 'peer ='; expected IPv4:PORT or [IPv6]:PORT, e.g. "
     "127.0.0.1:5432 or [::1]:5432"},
    {"log on sock.send where peer = [::1:80",
     "rules:1:31: bad address '[::1:80' after 'peer ='; expected IPv4:PORT or [IPv6]:PORT, e.g. "
     "127.0.0.1:5432 or [::1]:5432"},
    {"log on sock.send where port =",
     "rules:1:30: expected a number after 'port', found end of rule"},
    {"log on * where thread = 0", "rules:1:25: bad thread number '0'; expected a number >= 1 (1 is "
                                  "the first thread to reach a hook)"},
    {"log on * where thread = 1 and thread = 1 and thread = 1 and thread = 1 and thread = 1 and "
     "thread = 1 and thread = 1 and thread = 1 and thread = 1",
     "rules:1:136: too many conditions; at most 8 a rule"},
    {"log on pq.query where sql ~ \"a\" where sql ~ \"b\"",
     "rules:1:33: 'where' given twice; join conditions with 'and'"},
    {"log on pq.query and sql ~ \"a\"",
     "rules:1:17: 'and' without 'where'; expected 'where' first"},
    {"log on pq.query p=2", "rules:1:19: expected a probability from 0 to 1 after 'p=', found '2'"},
    {"log on pq.query p 0.5", "rules:1:19: expected '=' after 'p' (as in p=0.2), found '0.5'"},
    {"log on pq.query p=0.1 p=0.2", "rules:1:23: 'p' given twice"},
    {"log on pq.query nth 0", "rules:1:21: expected a count >= 1 after 'nth', found '0'"},
    {"log on pq.query nth 1 nth 2", "rules:1:23: 'nth' given twice"},
    {"log on pq.query evry 2",
     "rules:1:17: unexpected 'evry' (did you mean 'every'?); expected 'where', 'and', a frequency "
     "(p=, nth, every, first, after, times), 'before', 'after' or the end of the rule"},
    {"log after pq.query before", "rules:1:20: 'before' conflicts with 'after' given at column 5"},
    {"fail sqlstate 40001 on sock.send",
     "rules:1:24: 'fail sqlstate' applies only to pq hooks, not to 'sock.send'"},
    {"fail disconnect on *", "rules:1:20: 'fail disconnect' applies only to pq hooks, not to '*', "
                             "which includes sock.connect"},
    {"fail ECONNRESET on pq.query",
     "rules:1:20: 'fail ECONNRESET' applies only to sock hooks, not to 'pq.query'"},
    {"fail EBUSY on mutex.lock",
     "rules:1:15: 'fail EBUSY' applies only to mutex.trylock, not to 'mutex.lock'"},
    {"short 10 on sock.connect",
     "rules:1:13: 'short' applies only to sock.send and sock.recv, not to 'sock.connect'"},
    {"spurious on cond.signal",
     "rules:1:13: 'spurious' applies only to cond.wait, not to 'cond.signal'"},
    {"log on sock.send where sql ~ \"x\"",
     "rules:1:24: 'sql' applies only to pq hooks, not to 'sock.send'"},
    {"log on pq.query where port = 5432",
     "rules:1:23: 'port' applies only to sock hooks, not to 'pq.query'"},
    {"log on pq.query where peer = 1.2.3.4:5",
     "rules:1:23: 'peer' applies only to sock hooks, not to 'pq.query'"},
    {"log on pq.query where sql ! \"x\"", "rules:1:27: unexpected '!'; expected '!=' or '!~'"},
    {"log on pq.query where sql ~ \"x\" and",
     "rules:1:36: expected a condition after 'and', found end of rule; expected one of sql, port, "
     "peer, caller, thread, proc, http, redis, data"},
    {"log on pq.query where http ~ \"POST\"",
     "rules:1:23: 'http' applies only to sock hooks, not to 'pq.query'"},
    {"log on mutex.lock where redis ~ \"INCR\"",
     "rules:1:25: 'redis' applies only to sock hooks, not to 'mutex.lock'"},
    {"log on pq.* where data ~ \"x\"",
     "rules:1:19: 'data' applies only to sock hooks, not to 'pq.*', which includes pq.query"},
    {"log on sock.send where http = \"POST\"",
     "rules:1:29: expected '~' or '!~' after 'http', found '='"},
    {"log on sock.send where redis ~",
     "rules:1:31: expected a \"quoted regular expression\" after 'redis ~', found end of rule"},
    {"log on sock.recv where data ~ \"GET\"",
     "rules:1:24: 'data' matches the bytes of sock.send, or of sock.recv after the call; this rule "
     "has no such hook (for received bytes write 'after sock.recv')"},
    {"delay 1ms after sock.connect,sock.close where data ~ \"x\"",
     "rules:1:47: 'data' matches the bytes of sock.send, or of sock.recv after the call; this rule "
     "has no such hook (for received bytes write 'after sock.recv')"},
    {"log on sock.send where http ~ \"(\"",
     "rules:1:31: bad regular expression \"(\": Unmatched ( or \\("},
    {"log on pq.query ,", "rules:1:18: expected a hook (e.g. pq.query, sock.send, mutex.lock, "
                          "pq.*, *), found end of rule"},
    {"delay 99999999999999999999s on pq.query",
     "rules:1:7: duration '99999999999999999999s' out of range; expected at most 18446744073s"},
    /* once wrapped to 190 ms: refused, not shortened (common/duration.c) */
    {"delay 18446744073.9s on pq.query",
     "rules:1:7: duration '18446744073.9s' out of range; expected at most 18446744073s"},
    {"log on pq.query after 0", "rules:1:23: expected a count >= 1 after 'after', found '0'"},
    {"log on pq.query where thread ~ x",
     "rules:1:30: expected '=' or '!=' after 'thread', found '~'"},
    {"\"abc\" log on pq.query",
     "rules:1:1: expected an action, found '\"abc\"'; expected one of "
     "delay, fail, short, yield, spurious, barrier, mark, wait, log, hold"},
    {"a::log on pq.query", "rules:1:3: unknown action ':log' (did you mean 'log'?); expected one "
                           "of delay, fail, short, yield, spurious, "
                           "barrier, mark, wait, log, hold"},
    {":log on pq.query", "rules:1:1: unknown action ':log' (did you mean 'log'?); expected one of "
                         "delay, fail, short, yield, spurious, "
                         "barrier, mark, wait, log, hold"},
    {"log \"x\"", "rules:1:5: expected 'on', 'before' or 'after' and a hook, found '\"x\"'"},
    {"log on pq.query\n  dealy 1ms on pq.query",
     "rules:2:3: unknown action 'dealy' (did you mean 'delay'?); expected one of delay, fail, "
     "short, yield, spurious, barrier, mark, wait, log, hold"},
    {"log on pq.query; dealy",
     "rules:1:18: unknown action 'dealy' (did you mean 'delay'?); expected one of delay, fail, "
     "short, yield, spurious, barrier, mark, wait, log, hold"},
    {"rule2: log on pq.query; log on pq.exec",
     "rules:1:25: duplicate rule name 'rule2' (first used at 1:1)"},
    {"fail 99 on mutex.trylock",
     "rules:1:12: 'fail EADDRNOTAVAIL' applies only to sock hooks, not to 'mutex.trylock'"},
    {"fail sqlstate", "rules:1:14: expected a 5-character SQLSTATE of 0-9 and A-Z (e.g. 40001) "
                      "after 'sqlstate', found end of rule"},
    {"log on pq.query where caller ~ \"(\" ",
     "rules:1:32: bad regular expression \"(\": Unmatched ( or \\("},
    {"log on pq.query where sql ~ \"\\\"x\\\\\"",
     "rules:1:29: bad regular expression \"\"x\\\": Trailing backslash"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: log on pq.query",
     "rules:1:1: bad rule name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'; "
     "expected "
     "letters, digits, '-' or '_' (at most 63)"},
    {"log on mutex.lock where caller ~ \"a\" # \"comment\n  yield on * nth x",
     "rules:2:18: expected a count >= 1 after 'nth', found 'x'"},
};

static void test_errors(void **state)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct wg_ruleset rs;
        char err[512];
        memset(&rs, 0xab, sizeof rs);
        int rc = rules_parse(bad[i].text, "rules", &rs, err, sizeof err);
        if (rc != -1 || strcmp(err, bad[i].err) != 0)
            print_error("input:    %s\nexpected: %s\ngot:      %s (rc %d)\n", bad[i].text,
                        bad[i].err, err, rc);
        assert_int_equal(rc, -1);
        assert_string_equal(err, bad[i].err);
        /* a failed parse leaves an empty set that rules_free accepts */
        assert_int_equal(rs.n, 0);
        assert_null(rs.rules);
        rules_free(&rs);
    }
}

static void test_string_too_long(void **state)
{
    size_t n = RULES_STR_MAX + 40;
    char *text = malloc(n + 64), err[256];
    struct wg_ruleset rs;

    assert_non_null(text);
    strcpy(text, "log on pq.query where sql ~ \"");
    memset(text + strlen(text), 'x', n);
    strcpy(text + 29 + n, "\"");
    assert_int_equal(rules_parse(text, "f.rules", &rs, err, sizeof err), -1);
    assert_string_equal(err, "f.rules:1:29: string longer than 4095 bytes");
    free(text);
}

/* Bounds (issue 8): every one a message at its place, in bounded time
 * and memory. */
static void test_bounds(void **state)
{
    size_t n = RULES_STR_MAX + 40, len = 0;
    char *text = malloc(2 * 1024 * 1024), err[512];
    struct wg_ruleset rs;

    assert_non_null(text);
    /* a bare regex word over 4095 bytes: said so (the message was empty) */
    strcpy(text, "log on pq.query where sql ~ ");
    memset(text + 28, 'x', n);
    text[28 + n] = '\0';
    assert_int_equal(rules_parse(text, "rules", &rs, err, sizeof err), -1);
    assert_string_equal(err, "rules:1:29: regular expression longer than 4095 bytes");

    /* each fits alone, not all together */
    len = 0;
    for (int i = 0; i < 12; i++) /* 9001 nodes each */
        len += (size_t)sprintf(text + len, "log on pq.query where sql ~ \".{9000}\"\n");
    assert_int_equal(rules_parse(text, "rules", &rs, err, sizeof err), -1);
    assert_string_equal(err, "rules:12:29: regular expressions too complex together: with this one "
                             "they expand to about 108012 nodes, at most 100000 for all rules");

    /* a duplicate name is the first error even when a later rule is bad */
    assert_int_equal(rules_parse("a: log on *\nb: log on *\na: log on *\nlog on nothing", "rules",
                                 &rs, err, sizeof err),
                     -1);
    assert_string_equal(err, "rules:3:1: duplicate rule name 'a' (first used at 1:1)");
    /* the first duplicate in the text, whatever the names' order */
    assert_int_equal(rules_parse("z: log on *\na: log on *\nz: log on *\na: log on *", "rules", &rs,
                                 err, sizeof err),
                     -1);
    assert_string_equal(err, "rules:3:1: duplicate rule name 'z' (first used at 1:1)");
    /* an unnamed rule is "ruleN": a name that takes it is a duplicate */
    assert_int_equal(rules_parse("log on *\nrule1: log on *", "rules", &rs, err, sizeof err), -1);
    assert_string_equal(err, "rules:2:1: duplicate rule name 'rule1' (first used at 1:1)");

    /* the issue's 1 MB file of 70,000 rules: refused at once (it took 87 s
     * to find its names distinct, at every process start) */
    len = 0;
    for (int i = 0; i < 70000; i++)
        len += (size_t)sprintf(text + len, "r%d: log on *\n", i);
    assert_int_equal(rules_parse(text, "big.rules", &rs, err, sizeof err), -1);
    assert_string_equal(err, "big.rules:10001:1: too many rules; at most 10000");
    /* the most allowed, all named: parsed (the names sorted, not compared
     * pairwise) */
    len = 0;
    for (int i = 0; i < WG_MAX_RULES; i++)
        len += (size_t)sprintf(text + len, "r%d: log on * p=0.5\n", i);
    assert_int_equal(rules_parse(text, "rules", &rs, err, sizeof err), 0);
    assert_int_equal(rs.n, WG_MAX_RULES);
    rules_free(&rs);
    /* with the last one a duplicate of the first */
    len = 0;
    for (int i = 0; i < WG_MAX_RULES - 1; i++)
        len += (size_t)sprintf(text + len, "r%d: log on * p=0.5\n", i);
    sprintf(text + len, "r0: log on *\n");
    assert_int_equal(rules_parse(text, "rules", &rs, err, sizeof err), -1);
    assert_string_equal(err, "rules:10000:1: duplicate rule name 'r0' (first used at 1:1)");
    free(text);
}

static void test_origin_and_small_buffer(void **state)
{
    struct wg_ruleset rs;
    char err[12];

    assert_int_equal(rules_parse("dealy 5ms on pq.query", "x.rules", &rs, err, sizeof err), -1);
    assert_string_equal(err, "x.rules:1:1"); /* truncated, still terminated */
    assert_int_equal(rules_parse("dealy", NULL, &rs, NULL, 0), -1);
}

/* ---------------------------------------------------------------
 * Valid rules and the fields they set.
 * ------------------------------------------------------------ */
static struct wg_ruleset parse_ok(const char *text)
{
    struct wg_ruleset rs;
    char err[512] = "";
    int rc = rules_parse(text, "rules", &rs, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error for '%s': %s\n", text, err);
    assert_int_equal(rc, 0);
    return rs;
}

#define HOOK_BIT(h) (1ull << WG_HOOK_##h)

static void test_empty(void **state)
{
    const char *texts[] = {"", "   \n\n", "# only a comment\n", ";;;", " ; # x ; y\n ;"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct wg_ruleset rs = parse_ok(texts[i]);
        assert_int_equal(rs.n, 0);
        assert_int_equal(rs.hooks, 0);
        rules_free(&rs);
    }
    struct wg_ruleset rs;
    char err[64];
    assert_int_equal(rules_parse(NULL, "rules", &rs, err, sizeof err), 0);
    assert_int_equal(rs.n, 0);
    assert_null(rs.rules);
    rules_free(&rs);
}

static void test_design_examples(void **state)
{
    struct wg_ruleset rs =
        parse_ok("barrier stock-read 2 timeout 250ms after pq.query where sql ~ \"SELECT stock\"\n"
                 "delay 3s on sock.recv where port = 9090 nth 1\n"
                 "fail sqlstate 40001 on pq.query where sql ~ \"^UPDATE\" p=0.05\n"
                 "spurious on cond.wait where caller ~ \"pool_get\" p=0.3\n"
                 "delay 0ms..2ms on pq.query,sock.send p=0.5\n");
    struct wg_rule *r = rs.rules;

    assert_int_equal(rs.n, 5);
    assert_int_equal(r[0].action, WG_ACT_BARRIER);
    assert_string_equal(r[0].name, "rule1");
    assert_string_equal(r[0].coord, "stock-read");
    assert_int_equal(r[0].count, 2);
    assert_int_equal(r[0].timeout_ns, 250000000ull);
    assert_int_equal(r[0].when, WG_AFTER);
    assert_int_equal(r[0].hooks, HOOK_BIT(PQ_QUERY));
    assert_int_equal(r[0].ncond, 1);
    assert_int_equal(r[0].conds[0].kind, WG_COND_SQL);
    assert_int_equal(r[0].conds[0].cmp, WG_CMP_MATCH);
    assert_string_equal(r[0].conds[0].text, "SELECT stock");
    assert_int_equal(regexec(&r[0].conds[0].re, "SELECT stock FROM inventory", 0, NULL, 0), 0);

    assert_int_equal(r[1].action, WG_ACT_DELAY);
    assert_int_equal(r[1].delay_min_ns, 3000000000ull);
    assert_int_equal(r[1].delay_max_ns, 3000000000ull);
    assert_int_equal(r[1].conds[0].kind, WG_COND_PORT);
    assert_int_equal(r[1].conds[0].num, 9090);
    assert_int_equal(r[1].nth, 1);
    assert_int_equal(r[1].when, WG_BEFORE);
    assert_int_equal(r[1].line, 2);
    assert_int_equal(r[1].col, 1);
    assert_int_equal(r[1].index, 1);

    assert_int_equal(r[2].action, WG_ACT_FAIL_SQLSTATE);
    assert_string_equal(r[2].sqlstate, "40001");
    assert_int_equal(r[2].has_p, 1);
    assert_true(r[2].p == 0.05);

    assert_int_equal(r[3].action, WG_ACT_SPURIOUS);
    assert_int_equal(r[3].conds[0].kind, WG_COND_CALLER);
    assert_int_equal(r[3].hooks, HOOK_BIT(COND_WAIT));

    assert_int_equal(r[4].delay_min_ns, 0);
    assert_int_equal(r[4].delay_max_ns, 2000000);
    assert_int_equal(r[4].hooks, HOOK_BIT(PQ_QUERY) | HOOK_BIT(SOCK_SEND));
    assert_int_equal(rs.hooks, HOOK_BIT(PQ_QUERY) | HOOK_BIT(SOCK_RECV) | HOOK_BIT(COND_WAIT) |
                                   HOOK_BIT(SOCK_SEND));
    rules_free(&rs);
    assert_int_equal(rs.n, 0);
}

static void test_actions(void **state)
{
    struct wg_ruleset rs = parse_ok("a: fail ECONNRESET on sock.send\n"
                                    "b: fail 104 on sock.recv\n"
                                    "c: fail EBUSY on mutex.trylock\n"
                                    "d: fail disconnect on pq.*\n"
                                    "e: short 3 on sock.send, sock.recv\n"
                                    "f: yield on *\n"
                                    "g: mark m1 on mutex.unlock\n"
                                    "h: wait m1 on mutex.lock\n"
                                    "i: wait m1 timeout 1.5s on mutex.lock\n"
                                    "j: barrier b.x 3 on thread.create\n"
                                    "k: log on sock.*\n"
                                    "l_9-Z: delay 1.5ms on rwlock.rdlock\n"
                                    "m: delay 7ns..8us on cond.signal\n"
                                    "n: fail sqlstate 2BP01 on pq.exec\n"
                                    "o: hold h1 after pq.query # to the end of the line\n"
                                    "p: hold h.2 ceiling 10m on sock.recv\n");
    struct wg_rule *r = rs.rules;
    uint64_t all = (1ull << WG_HOOK_COUNT) - 1, sock = 0;

    for (int h = 0; h < WG_HOOK_COUNT; h++)
        if (wg_hook_family(h) == WG_FAM_SOCK)
            sock |= 1ull << h;
    assert_int_equal(rs.n, 16);
    assert_int_equal(r[0].action, WG_ACT_FAIL_ERRNO);
    assert_int_equal(r[0].err, ECONNRESET);
    assert_int_equal(r[1].err, 104);
    assert_int_equal(r[2].err, EBUSY);
    assert_int_equal(r[3].action, WG_ACT_FAIL_DISCONNECT);
    assert_int_equal(r[4].action, WG_ACT_SHORT);
    assert_int_equal(r[4].short_n, 3);
    assert_int_equal(r[4].hooks, HOOK_BIT(SOCK_SEND) | HOOK_BIT(SOCK_RECV));
    assert_int_equal(r[5].action, WG_ACT_YIELD);
    assert_int_equal(r[5].hooks, all);
    assert_int_equal(r[6].action, WG_ACT_MARK);
    assert_string_equal(r[6].coord, "m1");
    assert_int_equal(r[7].action, WG_ACT_WAIT);
    assert_int_equal(r[7].timeout_ns, WG_DEFAULT_TIMEOUT_NS);
    assert_int_equal(r[8].timeout_ns, 1500000000ull);
    assert_int_equal(r[9].action, WG_ACT_BARRIER);
    assert_string_equal(r[9].coord, "b.x");
    assert_int_equal(r[9].count, 3);
    assert_int_equal(r[9].timeout_ns, WG_DEFAULT_TIMEOUT_NS);
    assert_int_equal(r[10].action, WG_ACT_LOG);
    assert_int_equal(r[10].hooks, sock);
    assert_string_equal(r[11].name, "l_9-Z");
    assert_int_equal(r[11].delay_min_ns, 1500000);
    assert_int_equal(r[12].delay_min_ns, 7);
    assert_int_equal(r[12].delay_max_ns, 8000);
    assert_string_equal(r[13].sqlstate, "2BP01");
    assert_int_equal(r[14].action, WG_ACT_HOLD);
    assert_string_equal(r[14].coord, "h1");
    assert_int_equal(r[14].timeout_ns, WG_HOLD_CEILING_NS); /* the default ceiling: 5 min */
    assert_int_equal(WG_HOLD_CEILING_NS, 300000000000ull);
    assert_int_equal(r[14].when, WG_AFTER);
    assert_int_equal(r[15].timeout_ns, 600000000000ull);
    assert_string_equal(r[15].coord, "h.2");
    /* a rule's span in its text, comment included (ctl.c shows it) */
    assert_int_equal(r[0].src_off, 0);
    assert_int_equal(r[0].src_len, (int)strlen("a: fail ECONNRESET on sock.send"));
    assert_int_equal(r[14].src_len,
                     (int)strlen("o: hold h1 after pq.query # to the end of the line"));
    assert_string_equal(rules_errno_name(ECONNRESET), "ECONNRESET");
    assert_null(rules_errno_name(4000));
    rules_free(&rs);
}

static void test_conditions_and_frequencies(void **state)
{
    struct wg_ruleset rs = parse_ok(
        "log on sock.* where peer = 127.0.0.1:8080 and port != 5432 and thread = 2 and "
        "proc ~ \"shop\" and caller !~ \"main\" nth 3 every 2 first 10 after 1 times 4 p=1 after\n"
        "log on pq.query where sql !~ \"a\\\"b#c;d\" before\n"
        "log on sock.connect where peer != [::1]:5432\n"
        "log after pthread.*\n"
        "log on sock.send where http ~ \"^POST /charges\" and redis !~ INCR and data ~ \"x\"\n"
        "log after sock.recv where data ~ \"^HTTP/1\"\n"
        "log on sock.* where data !~ \"x\"\n");
    struct wg_rule *r = rs.rules;
    const struct sockaddr_in *a4 = (const void *)&r[0].conds[0].addr;
    const struct sockaddr_in6 *a6 = (const void *)&r[2].conds[0].addr;

    assert_int_equal(rs.n, 7);
    assert_int_equal(r[0].ncond, 5);
    assert_int_equal(r[0].conds[0].kind, WG_COND_PEER);
    assert_int_equal(r[0].conds[0].cmp, WG_CMP_EQ);
    assert_int_equal(a4->sin_family, AF_INET);
    assert_int_equal(ntohs(a4->sin_port), 8080);
    assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(r[0].conds[1].kind, WG_COND_PORT);
    assert_int_equal(r[0].conds[1].cmp, WG_CMP_NE);
    assert_int_equal(r[0].conds[1].num, 5432);
    assert_int_equal(r[0].conds[2].kind, WG_COND_THREAD);
    assert_int_equal(r[0].conds[2].num, 2);
    assert_int_equal(r[0].conds[3].kind, WG_COND_PROC);
    assert_int_equal(r[0].conds[4].kind, WG_COND_CALLER);
    assert_int_equal(r[0].conds[4].cmp, WG_CMP_NOMATCH);
    assert_int_equal(r[0].nth, 3);
    assert_int_equal(r[0].every, 2);
    assert_int_equal(r[0].first, 10);
    assert_int_equal(r[0].after, 1);
    assert_int_equal(r[0].times, 4);
    assert_true(r[0].has_p && r[0].p == 1.0);
    assert_int_equal(r[0].when, WG_AFTER);

    /* quotes: \" is a quote, '#' and ';' are literal */
    assert_string_equal(r[1].conds[0].text, "a\"b#c;d");
    assert_int_equal(r[1].conds[0].cmp, WG_CMP_NOMATCH);
    assert_int_equal(r[1].when, WG_BEFORE);

    assert_int_equal(r[2].conds[0].cmp, WG_CMP_NE);
    assert_int_equal(a6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a6->sin6_port), 5432);
    assert_true(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));

    assert_int_equal(r[3].when, WG_AFTER);
    assert_int_equal(r[3].hooks, HOOK_BIT(MUTEX_LOCK) | HOOK_BIT(MUTEX_TRYLOCK) |
                                     HOOK_BIT(MUTEX_UNLOCK) | HOOK_BIT(RWLOCK_RDLOCK) |
                                     HOOK_BIT(RWLOCK_WRLOCK) | HOOK_BIT(RWLOCK_UNLOCK) |
                                     HOOK_BIT(COND_WAIT) | HOOK_BIT(COND_SIGNAL) |
                                     HOOK_BIT(THREAD_CREATE));

    /* content conditions: regular expressions on sock hooks */
    assert_int_equal(r[4].ncond, 3);
    assert_int_equal(r[4].conds[0].kind, WG_COND_HTTP);
    assert_int_equal(r[4].conds[0].cmp, WG_CMP_MATCH);
    assert_string_equal(r[4].conds[0].text, "^POST /charges");
    assert_int_equal(r[4].conds[1].kind, WG_COND_REDIS);
    assert_int_equal(r[4].conds[1].cmp, WG_CMP_NOMATCH);
    assert_string_equal(r[4].conds[1].text, "INCR");
    assert_int_equal(r[4].conds[2].kind, WG_COND_DATA);
    assert_int_equal(r[5].conds[0].kind, WG_COND_DATA);
    assert_int_equal(r[5].when, WG_AFTER);
    /* before sock.*: the data of its sends */
    assert_int_equal(r[6].conds[0].kind, WG_COND_DATA);
    rules_free(&rs);
}

static void test_names_and_numbering(void **state)
{
    /* default names count rules, not lines; comments and blanks are skipped */
    struct wg_ruleset rs = parse_ok("# header\n\nlog on pq.query ; x: log on pq.exec\n"
                                    "log on pq.send # trailing\ny-1:delay 1ms on *\n");
    assert_int_equal(rs.n, 4);
    assert_string_equal(rs.rules[3].name, "y-1"); /* the name glued to the action */
    assert_int_equal(rs.rules[3].action, WG_ACT_DELAY);
    assert_string_equal(rs.rules[0].name, "rule1");
    assert_string_equal(rs.rules[1].name, "x");
    assert_string_equal(rs.rules[2].name, "rule3");
    assert_int_equal(rs.rules[1].line, 3);
    assert_int_equal(rs.rules[1].col, 19);
    assert_int_equal(rs.rules[2].index, 2);
    assert_int_equal(rs.rules[2].line, 4);
    rules_free(&rs);
}

static void test_hook_table(void **state)
{
    assert_string_equal(wg_hook_name(WG_HOOK_PQ_QUERY), "pq.query");
    assert_string_equal(wg_hook_name(WG_HOOK_SOCK_SEND), "sock.send");
    assert_null(wg_hook_name(-1));
    assert_null(wg_hook_name(WG_HOOK_COUNT));
    assert_int_equal(wg_hook_family(WG_HOOK_PQ_FINISH), WG_FAM_PQ);
    assert_int_equal(wg_hook_family(WG_HOOK_COND_WAIT), WG_FAM_PTHREAD);
    /* every hook name parses as a hook of its own */
    for (int h = 0; h < WG_HOOK_COUNT; h++) {
        char text[64];
        snprintf(text, sizeof text, "log on %s", wg_hook_name(h));
        struct wg_ruleset rs = parse_ok(text);
        assert_int_equal(rs.hooks, 1ull << h);
        rules_free(&rs);
    }
}

/* ---------------------------------------------------------------
 * Robustness: 20,000 random rule texts from the language's own words
 * (seeded, so a failure reproduces) either parse or fail with a
 * positioned message; run under ASan this also finds memory errors.
 * ------------------------------------------------------------ */
static void test_random_texts(void **state)
{
    static const char *words[] = {"delay",
                                  "5ms",
                                  "1ms..2ms",
                                  "fail",
                                  "ECONNRESET",
                                  "EBUSY",
                                  "sqlstate",
                                  "40001",
                                  "disconnect",
                                  "short",
                                  "3",
                                  "yield",
                                  "spurious",
                                  "barrier",
                                  "b",
                                  "2",
                                  "timeout",
                                  "mark",
                                  "wait",
                                  "log",
                                  "on",
                                  "before",
                                  "after",
                                  "pq.query",
                                  "sock.send",
                                  "mutex.trylock",
                                  "cond.wait",
                                  "*",
                                  "pq.*",
                                  ",",
                                  "where",
                                  "and",
                                  "sql",
                                  "port",
                                  "peer",
                                  "caller",
                                  "thread",
                                  "proc",
                                  "~",
                                  "!~",
                                  "=",
                                  "!=",
                                  "\"SELECT\"",
                                  "\"(\"",
                                  "127.0.0.1:5432",
                                  "[::1]:1",
                                  "p=0.5",
                                  "p",
                                  "nth",
                                  "every",
                                  "first",
                                  "times",
                                  "0",
                                  "x:",
                                  ";",
                                  "\n",
                                  "#",
                                  "\"",
                                  "!",
                                  "y:",
                                  "\"a;b#\""};
    const size_t nw = sizeof words / sizeof words[0];
    uint64_t x = 0x5eed;
    char text[512], err[512];
    int parsed = 0;

    for (int i = 0; i < 20000; i++) {
        size_t len = 0;
        int n = 1 + (int)(x % 14);
        text[0] = '\0';
        for (int k = 0; k < n; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            const char *w = words[(x >> 33) % nw];
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", k ? " " : "", w);
        }
        struct wg_ruleset rs;
        int rc = rules_parse(text, "rules", &rs, err, sizeof err);
        if (rc == 0) {
            parsed++;
            for (int r = 0; r < rs.n; r++)
                assert_true(rs.rules[r].hooks != 0);
            rules_free(&rs);
        } else {
            int line = 0, col = 0;
            assert_int_equal(sscanf(err, "rules:%d:%d: ", &line, &col), 2);
            assert_true(line >= 1 && col >= 1 && col <= (int)strlen(text) + 1);
        }
    }
    print_message("%d of 20000 random texts parsed\n", parsed);
    assert_true(parsed > 0); /* the generator does reach valid rules */
}

/* ---------------------------------------------------------------
 * docs/rules.md lists every message above (without "rules:L:C: ").
 * ------------------------------------------------------------ */
static void test_docs_in_sync(void **state)
{
    FILE *f = fopen(WEDGE_DOCS_RULES, "r");
    static char doc[256 * 1024];
    size_t n;

    assert_non_null(f);
    n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = '\0';
    fclose(f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *msg = strstr(bad[i].err, ": ") + 2;
        if (!strstr(doc, msg))
            print_error("docs/rules.md lacks: %s\n", msg);
        assert_non_null(strstr(doc, msg));
    }
    assert_non_null(strstr(doc, "string longer than 4095 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_string_too_long),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_origin_and_small_buffer),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_design_examples),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_conditions_and_frequencies),
        cmocka_unit_test(test_names_and_numbering),
        cmocka_unit_test(test_hook_table),
        cmocka_unit_test(test_random_texts),
        cmocka_unit_test(test_docs_in_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

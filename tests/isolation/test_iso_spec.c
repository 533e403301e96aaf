/*
 * test_iso_spec.c - the isolation spec parser: a full spec, every error with
 * its line, levels, ${...} references, and every shipped spec parses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iso_spec.h"

/* Expectations and one session with two steps: the tail most cases reuse. */
#define EXPECTS                          \
    "expect read-committed occurs\n"     \
    "expect repeatable-read prevented\n" \
    "expect serializable prevented\n"

#define GOOD                                                                              \
    "# a comment\n"                                                                       \
    "anomaly \"P4\"\n"                                                                    \
    "description \"lost \\\"update\\\"\"\n" EXPECTS "setup { CREATE TABLE t (v int); }\n" \
    "setup { INSERT INTO t VALUES (1); }\n"                                               \
    "teardown { DROP TABLE t; }\n"                                                        \
    "session a\n"                                                                         \
    "setup { BEGIN; }\n"                                                                  \
    "step a1 { SELECT '}' AS brace, \"x}\" FROM t -- a } in a comment\n"                  \
    "  /* and } here */ WHERE v IN (SELECT 1) }\n"                                        \
    "step a2 { COMMIT; }\n"                                                               \
    "teardown { SELECT 1; }\n"                                                            \
    "session b\n"                                                                         \
    "step b1 { UPDATE t SET v = 2 }\n"                                                    \
    "permutation a1 b1 a2\n"                                                              \
    "permutation b1 a1 a2\n"                                                              \
    "check { SELECT ${a1} = '}' AND ${b1.rows} = 1 AND ${a2.sqlstate} IS NULL }\n"

static void test_good_spec(void **state)
{
    struct iso_spec s;
    char err[512] = "";

    (void)state;
    assert_int_equal(iso_spec_parse(GOOD, "dir/p4.spec", &s, err, sizeof err), 0);
    assert_string_equal(s.name, "p4");
    assert_string_equal(s.path, "dir/p4.spec");
    assert_string_equal(s.anomaly, "P4");
    assert_string_equal(s.description, "lost \"update\"");
    assert_int_equal(s.expect[ISO_READ_COMMITTED], ISO_OCCURS);
    assert_int_equal(s.expect[ISO_REPEATABLE_READ], ISO_PREVENTED);
    assert_int_equal(s.expect[ISO_SERIALIZABLE], ISO_PREVENTED);
    assert_int_equal(s.nsetup, 2);
    assert_string_equal(s.setup[1], "INSERT INTO t VALUES (1);");
    assert_int_equal(s.setup_line[0], 7);
    assert_int_equal(s.setup_line[1], 8);
    assert_string_equal(s.teardown, "DROP TABLE t;");
    assert_int_equal(s.teardown_line, 9);
    assert_int_equal(s.nsessions, 2);
    assert_string_equal(s.sessions[0].name, "a");
    assert_string_equal(s.sessions[0].setup, "BEGIN;");
    assert_string_equal(s.sessions[0].teardown, "SELECT 1;");
    assert_null(s.sessions[1].setup);
    assert_int_equal(s.sessions[1].line, 16);
    assert_int_equal(s.nsteps, 3);
    assert_string_equal(s.steps[0].name, "a1");
    assert_int_equal(s.steps[0].line, 12);
    assert_non_null(strstr(s.steps[0].sql, "/* and } here */ WHERE v IN (SELECT 1)"));
    assert_int_equal(s.steps[2].session, 1);
    assert_int_equal(s.steps[2].line, 17);
    assert_int_equal(s.nperms, 2);
    assert_int_equal(s.perms[0].nsteps, 3);
    assert_int_equal(s.perms[0].steps[0].step, 0);
    assert_int_equal(s.perms[0].steps[1].step, 2);
    assert_int_equal(s.perms[1].steps[0].step, 2);
    assert_int_equal(s.perms[1].line, 19);
    assert_int_equal(s.check_line, 20);
    assert_non_null(strstr(s.check, "${b1.rows}"));
    iso_spec_free(&s);
}

/* Dollar quotes may hold braces; $1 and ${x} are not dollar quotes. */
static void test_dollar_quotes(void **state)
{
    struct iso_spec s;
    char err[512] = "";
    const char *text = "anomaly \"X\"\n" EXPECTS "session a\n"
                       "step a1 { DO $body$ BEGIN PERFORM '}'; END $body$; }\n"
                       "step a2 { SELECT $$ } \n } $$, ${x} }\n"
                       "step a3 { PREPARE q AS SELECT $1::int; }\n"
                       "permutation a1 a2 a3\n";

    (void)state;
    assert_int_equal(iso_spec_parse(text, "d.spec", &s, err, sizeof err), 0);
    assert_string_equal(s.steps[0].sql, "DO $body$ BEGIN PERFORM '}'; END $body$;");
    assert_string_equal(s.steps[1].sql, "SELECT $$ } \n } $$, ${x}");
    assert_string_equal(s.steps[2].sql, "PREPARE q AS SELECT $1::int;");
    assert_int_equal(s.steps[2].line, 9);
    assert_int_equal(s.perms[0].line, 10);
    iso_spec_free(&s);
    assert_int_equal(iso_spec_parse("setup { SELECT $x$ } \n", "d.spec", &s, err, sizeof err), -1);
    assert_string_equal(err, "d.spec:1: unterminated SQL block: expected '}' to close the '{' "
                             "opened here");
}

/* PostgreSQL's isolation tester's language: quoted names, a step called
 * check, empty steps, blocker annotations, no permutation, its lexing of
 * { } (the first '}' ends a block, newlines inside are kept). */
static void test_isolationtester_grammar(void **state)
{
    struct iso_spec s;
    char err[512] = "";
    const char *text = "setup { CREATE TABLE t (v int); }\n"
                       "teardown { DROP TABLE t; }\n"
                       "session \"s \"\"one\"\"\"\n"
                       "setup\t{ BEGIN; }\n"
                       "step check { SELECT 1 -- a comment }\n"
                       "step \"anomaly\" {\n  SELECT 2;\n}\n"
                       "session expect\n"
                       "step s2$x { }\n"
                       "step description {  UPDATE t SET v = '{'\t }\n"
                       "permutation check(*) s2$x(check) \"anomaly\"(s2$x notices 12, *) "
                       "description\n"
                       "permutation s2$x check anomaly\n";
    const struct iso_pstep *p;

    (void)state;
    assert_int_equal(iso_spec_parse(text, "pg.spec", &s, err, sizeof err), 0);
    assert_int_equal(iso_spec_is_anomaly(&s), 0);
    assert_int_equal(s.nsessions, 2);
    assert_string_equal(s.sessions[0].name, "s \"one\"");
    assert_string_equal(s.sessions[0].setup, "BEGIN;");
    assert_string_equal(s.sessions[1].name, "expect");
    assert_int_equal(s.nsteps, 4);
    assert_string_equal(s.steps[0].name, "check");
    assert_string_equal(s.steps[0].sql, "SELECT 1 -- a comment");
    assert_string_equal(s.steps[1].name, "anomaly");
    assert_string_equal(s.steps[1].sql, "\n  SELECT 2;\n");
    assert_int_equal(s.steps[1].line, 6);
    assert_string_equal(s.steps[2].name, "s2$x");
    assert_string_equal(s.steps[2].sql, "");
    assert_int_equal(s.steps[2].line, 10);
    assert_string_equal(s.steps[3].sql, "UPDATE t SET v = '{'");
    assert_int_equal(s.nperms, 2);
    assert_int_equal(s.perms[0].line, 12);
    assert_int_equal(s.perms[0].nsteps, 4);
    p = s.perms[0].steps;
    assert_int_equal(p[0].step, 0);
    assert_int_equal(p[0].nblockers, 1);
    assert_int_equal(p[0].blockers[0].kind, ISO_BLOCK_ONCE);
    assert_int_equal(p[1].blockers[0].kind, ISO_BLOCK_STEP);
    assert_int_equal(p[1].blockers[0].step, 0);
    assert_int_equal(p[2].step, 1);
    assert_int_equal(p[2].nblockers, 2);
    assert_int_equal(p[2].blockers[0].kind, ISO_BLOCK_NOTICES);
    assert_int_equal(p[2].blockers[0].step, 2);
    assert_int_equal(p[2].blockers[0].notices, 12);
    assert_int_equal(p[2].blockers[1].kind, ISO_BLOCK_ONCE);
    assert_int_equal(p[3].step, 3);
    assert_int_equal(p[3].nblockers, 0);
    assert_int_equal(s.perms[1].nsteps, 3);
    assert_int_equal(s.perms[1].steps[2].step, 1);
    iso_spec_free(&s);
}

/* Without a permutation line: every interleaving, in the tester's order. */
static int collect_perm(void *arg, const struct iso_pstep *steps, int n)
{
    char *out = arg;
    int i;

    for (i = 0; i < n; i++)
        strcat(out, (const char[]){(char)('0' + steps[i].step), '\0'});
    strcat(out, " ");
    return 0;
}

static int stop_at_second(void *arg, const struct iso_pstep *steps, int n)
{
    (void)steps;
    (void)n;
    return ++*(int *)arg == 2 ? 7 : 0;
}

static void test_all_permutations(void **state)
{
    struct iso_spec s;
    char err[512] = "", seen[128] = "";
    int calls = 0;

    (void)state;
    assert_int_equal(iso_spec_parse("session a step a1 {x} step a2 {y}\n"
                                    "session b step b1 {z} step b2 {w}\n",
                                    "all.spec", &s, err, sizeof err),
                     0);
    assert_int_equal(s.nperms, 0);
    assert_int_equal(iso_spec_each_perm(&s, collect_perm, seen), 0);
    assert_string_equal(seen, "0123 0213 0231 2013 2031 2301 ");
    assert_int_equal(iso_spec_each_perm(&s, stop_at_second, &calls), 7);
    assert_int_equal(calls, 2);
    iso_spec_free(&s);
}

/* A spec the tester's lexing cannot read is read wedge's way: braces nest,
 * a '}' in quotes or comments is SQL; the block is trimmed whole. */
static void test_wedge_lexing_fallback(void **state)
{
    struct iso_spec s;
    char err[512] = "";

    (void)state;
    assert_int_equal(
        iso_spec_parse("session a\nstep a1 {\n SELECT '}' \n}\n", "w.spec", &s, err, sizeof err),
        0);
    assert_string_equal(s.steps[0].sql, "SELECT '}'");
    iso_spec_free(&s);
    /* In the tester's lexing "\\" is two backslashes; wedge's reading is only
     * the fallback, so a quoted name that both read means the tester's. */
    assert_int_equal(
        iso_spec_parse("session \"a\\\\\"\nstep a1 { x }\n", "w.spec", &s, err, sizeof err), 0);
    assert_string_equal(s.sessions[0].name, "a\\\\");
    iso_spec_free(&s);
}

static void test_refs(void **state)
{
    struct iso_spec s;
    char err[512] = "";
    enum iso_ref field;
    int step;
    size_t n;

    (void)state;
    assert_int_equal(iso_spec_parse(GOOD, "p4.spec", &s, err, sizeof err), 0);
    assert_int_equal(iso_spec_ref(&s, "${a2} x", &step, &field, &n), 0);
    assert_int_equal(step, 1);
    assert_int_equal(field, ISO_REF_VALUE);
    assert_int_equal(n, 5);
    assert_int_equal(iso_spec_ref(&s, "${b1.rows}", &step, &field, &n), 0);
    assert_int_equal(step, 2);
    assert_int_equal(field, ISO_REF_ROWS);
    assert_int_equal(iso_spec_ref(&s, "${a1.sqlstate}", &step, &field, &n), 0);
    assert_int_equal(field, ISO_REF_SQLSTATE);
    assert_int_equal(n, 14);
    assert_int_equal(iso_spec_ref(&s, "${a3}", &step, &field, &n), -1);
    assert_int_equal(iso_spec_ref(&s, "${a1.value}", &step, &field, &n), -1);
    assert_int_equal(iso_spec_ref(&s, "${a1", &step, &field, &n), -1);
    assert_int_equal(iso_spec_ref(&s, "$a1", &step, &field, &n), -1);
    iso_spec_free(&s);
}

static void test_levels(void **state)
{
    enum iso_level l;

    (void)state;
    assert_int_equal(iso_level_parse("read-committed", 14, &l), 0);
    assert_int_equal(l, ISO_READ_COMMITTED);
    assert_int_equal(iso_level_parse("REPEATABLE_READ", 15, &l), 0);
    assert_int_equal(l, ISO_REPEATABLE_READ);
    assert_int_equal(iso_level_parse("ser,rc", 3, &l), 0);
    assert_int_equal(l, ISO_SERIALIZABLE);
    assert_int_equal(iso_level_parse("rr", 2, &l), 0);
    assert_int_equal(l, ISO_REPEATABLE_READ);
    assert_int_equal(iso_level_parse("snapshot", 8, &l), -1);
    assert_int_equal(iso_level_parse("", 0, &l), -1);
    assert_string_equal(iso_level_name(ISO_SERIALIZABLE), "serializable");
    assert_string_equal(iso_level_sql(ISO_REPEATABLE_READ), "REPEATABLE READ");
    assert_string_equal(iso_outcome_name(ISO_OCCURS), "occurs");
    assert_string_equal(iso_outcome_name(ISO_PREVENTED), "prevented");
}

/* A session with steps and a permutation, for the item-level errors. */
#define BODY "session a\nstep a1 { SELECT 1 }\nstep a2 { COMMIT }\npermutation a1 a2\n"

static const struct {
    const char *text;
    const char *error; /* the whole message after "t.spec:" */
} bad[] = {
    {"anomaly \"X\"\n  @", "2: unexpected character '@': expected a keyword, a name, a \"string\" "
                           "or a { SQL } block"},
    {"anomaly \"X\n", "1: unterminated string: expected '\"' before the end of line"},
    {"\n\nsetup { SELECT '}' ", "3: unterminated SQL block: expected '}' to close the '{' opened "
                                "here"},
    {"setup { SELECT 1 /* } ", "1: unterminated SQL block: expected '}' to close the '{' opened "
                               "here"},
    {"anomaly \"X\" }", "1: unexpected '}': no '{' block is open"},
    {"setup foo", "1: expected a { SQL } block after 'setup', found 'foo'"},
    {"teardown", "1: expected a { SQL } block after 'teardown', found end of file"},
    {"session { BEGIN }", "1: expected a session name, found a { SQL } block"},
    {"session step", "1: expected a session name, found 'step'"},
    {"session a\nstep\n{ x }", "3: expected a step name, found a { SQL } block"},
    {"session a\nstep a1 \"x\"", "2: expected a { SQL } block after 'step', found a string"},
    {"step s1 { SELECT 1 }", "1: 'step' outside a session: expected 'session NAME' before it"},
    {"anomaly \"X\"\nsession a\nstep a1 { x }\nexpect rc occurs\nstep a2 { y }",
     "5: 'step' outside a session: expected 'session NAME' before it"},
    {"anomaly \"X\"\n" EXPECTS "session a\nstep a1 { x }\nsession a\nstep a2 { y }\n",
     "7: duplicate session 'a' (first declared at line 5)"},
    {"session a\nstep a1 { x }\nsession a\n", "3: session 'a' has no step: expected 'step NAME "
                                              "{ SQL }'"},
    {"session a\nstep a1 { x }\nsession b\nstep a1 { y }",
     "4: duplicate step 'a1' (first declared at line 2): step names are unique across sessions"},
    {"session a\nstep a1 { x }\npermutation a1 a9",
     "3: unknown step 'a9' in permutation: expected a step declared above with 'step NAME { SQL "
     "}'"},
    {"session a\nstep a1 { x }\npermutation\ncheck { SELECT true }",
     "4: expected step names after 'permutation', found 'check'"},
    {"expect snapshot occurs", "1: expected a level after 'expect' (read-committed, "
                               "repeatable-read or serializable), found 'snapshot'"},
    {"expect serializable maybe", "1: expected 'occurs' or 'prevented' after 'expect "
                                  "serializable', found 'maybe'"},
    {"expect rr occurs\nexpect repeatable-read prevented",
     "2: duplicate 'expect repeatable-read': one expectation per level"},
    {"anomaly P4", "1: expected a \"string\" after 'anomaly', found 'P4'"},
    {"description { x }", "1: expected a \"string\" after 'description', found a { SQL } block"},
    {"anomaly \"\"", "1: empty string after 'anomaly'"},
    {"anomaly \"A\"\nanomaly \"B\"", "2: duplicate 'anomaly': it may appear once"},
    {"anomaly \"A\"\nsesion a", "2: unknown keyword 'sesion': expected setup, teardown, session, "
                                "step, permutation, anomaly, description, expect or check"},
    {"\"P4\"", "1: expected a keyword, found a string"},
    {"session a\nstep a1 { x }\nsetup { BEGIN }",
     "3: 'setup' after the steps of session 'a': a session's setup comes before its steps, a "
     "global setup before the first session"},
    {"session a\nteardown { x }", "2: 'teardown' in session 'a' before any step: expected 'step "
                                  "NAME { SQL }'"},
    {"session a\nsetup { x }\nsetup { y }", "3: duplicate 'setup' in session 'a'"},
    {"session a\nstep a1 { x }\nteardown { y }\nteardown { z }",
     "4: duplicate 'teardown' in session 'a'"},
    {"teardown { x }\nteardown { y }", "2: duplicate 'teardown': a spec has one global teardown"},
    {"check { x }\ncheck { y }", "2: duplicate 'check': a spec has one check"},
    {EXPECTS BODY, "8: missing 'anomaly \"NAME\"': the spec's row in the matrix"},
    {"anomaly \"X\"\n" EXPECTS "permutation", "5: expected step names after 'permutation', found "
                                              "end of file"},
    {"anomaly \"X\"\n" EXPECTS, "5: no session: expected 'session NAME' with at least one step"},
    {"anomaly \"X\"\n" EXPECTS "session a\nsetup { BEGIN }\nsession b\nstep b1 { x }\n"
     "permutation b1\n",
     "5: session 'a' has no step: expected 'step NAME { SQL }'"},
    {"anomaly \"X\"\nexpect rc occurs\nexpect ser prevented\n" BODY,
     "8: missing 'expect repeatable-read occurs|prevented': every level needs an expectation"},
    {"anomaly \"X\"\n" EXPECTS BODY "check {\n  SELECT ${a1} = 1\n  AND ${a3} }",
     "11: bad reference '${a3}' in check: expected ${STEP}, ${STEP.rows} or ${STEP.sqlstate} "
     "naming a declared step"},
    {"anomaly \"X\"\n" EXPECTS BODY "check { SELECT ${a1.value} }",
     "9: bad reference '${a1.value}' in check: expected ${STEP}, ${STEP.rows} or "
     "${STEP.sqlstate} naming a declared step"},
    {"session a\nstep a1 { x }\nsession b\nstep b1 { y }\npermutation a1(b2) b1",
     "5: undefined blocking step 'b2': expected a step of this permutation"},
    {"session a\nstep a1 { x }\nsession b\nstep b1 { y }\nstep b2 { z }\n"
     "permutation a1(b2) b1",
     "6: undefined blocking step 'b2' referenced in permutation step 'a1': expected a step of "
     "this permutation"},
    {"session a\nstep a1 { x }\nstep a2 { y }\npermutation a1(a2) a2",
     "4: permutation step 'a1' cannot block on its own session"},
    {"session a\nstep a1 { x }\nsession b\nstep b1 { y }\npermutation a1(b1 notices x) b1",
     "5: expected a number after 'notices', found 'x'"},
    {"session a\nstep a1 { x }\nsession b\nstep b1 { y }\npermutation a1(b1 b1",
     "5: expected ',' or ')' in the blocker annotation of step 'a1', found 'b1'"},
    {"session a\nstep a1 { x }\npermutation a1(,)",
     "3: expected a step name or '*' in a blocker annotation, found ','"},
    {"session a\nstep a1 { x }\ncheck { SELECT true }",
     "3: 'check' without 'anomaly \"NAME\"' and expect lines: it belongs to an anomaly spec"},
    {"session \"a\nstep a1 { x }", "1: unterminated string: expected '\"' before the end of line"},
    {"session notices\nstep a1 { x }", "1: expected a session name, found 'notices'"},
    /* The blocks read before a bad token belong to the spec and are freed
     * with it (no leak under ASan). */
    {"setup {x}!", "1: unexpected character '!': expected a keyword, a name, a \"string\" or a "
                   "{ SQL } block"},
    {"session a\nstep a1 {x}!", "2: unexpected character '!': expected a keyword, a name, a "
                                "\"string\" or a { SQL } block"},
    {"anomaly \"X\"\n" EXPECTS BODY "check { SELECT ${a1 } }",
     "9: bad reference '${a1 }' in check: expected ${STEP}, ${STEP.rows} or ${STEP.sqlstate} "
     "naming a declared step"},
};

static void test_errors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct iso_spec s;
        char err[512] = "", want[600];
        snprintf(want, sizeof want, "t.spec:%s", bad[i].error);
        if (iso_spec_parse(bad[i].text, "t.spec", &s, err, sizeof err) != -1 ||
            strcmp(err, want) != 0) {
            print_error("case %zu: %s\n  got:  %s\n  want: %s\n", i, bad[i].text, err, want);
            fail();
        }
        /* A failed parse leaves nothing to free, and freeing it is safe. */
        assert_null(s.path);
        iso_spec_free(&s);
    }
}

static void test_load_errors(void **state)
{
    struct iso_spec s;
    char err[512] = "", path[] = "/tmp/wedge-iso-nul-XXXXXX";
    int fd;

    (void)state;
    assert_int_equal(iso_spec_load("/nonexistent/x.spec", &s, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/x.spec: No such file or directory");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "anomaly \"X\"\0", 12), 12);
    close(fd);
    assert_int_equal(iso_spec_load(path, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1:12: a NUL byte; the file must be text"));
    unlink(path);
    /* A device was read until memory ran out; a directory is no spec. */
    assert_int_equal(iso_spec_load("/dev/zero", &s, err, sizeof err), -1);
    assert_string_equal(err, "/dev/zero: not a regular file (a device, FIFO or socket)");
    assert_int_equal(iso_spec_load("/", &s, err, sizeof err), -1);
    assert_string_equal(err, "/: not a regular file (a directory)");
}

/* Every spec that ships, and every test spec, parses. */
static void test_shipped_specs(void **state)
{
    const char *dirs[] = {SPEC_DIR, TEST_SPEC_DIR};
    size_t d;
    int total = 0;

    (void)state;
    for (d = 0; d < 2; d++) {
        DIR *dir = opendir(dirs[d]);
        struct dirent *e;
        assert_non_null(dir);
        while ((e = readdir(dir)) != NULL) {
            size_t n = strlen(e->d_name);
            char path[1024], err[512] = "";
            struct iso_spec s;
            if (n < 6 || strcmp(e->d_name + n - 5, ".spec") != 0 || strstr(e->d_name, "bad-"))
                continue;
            snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
            if (iso_spec_load(path, &s, err, sizeof err) != 0) {
                print_error("%s\n", err);
                fail();
            }
            iso_spec_free(&s);
            total++;
        }
        closedir(dir);
    }
    assert_true(total >= 14);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_spec),
        cmocka_unit_test(test_dollar_quotes),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_shipped_specs),
        cmocka_unit_test(test_isolationtester_grammar),
        cmocka_unit_test(test_all_permutations),
        cmocka_unit_test(test_wedge_lexing_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_svc.c - the command word-splitter of services and jobs (svc_argv):
 * quotes group and are removed, a ${...} is expanded after the split so its
 * value stays one argument whatever it holds, and every error is reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/run/svc.c"

static const char *const names[] = {"counter"};
static const int ports[] = {8080};

static struct exp_ctx ctx_base(void)
{
    struct exp_ctx c = {
        .build = "/b",
        .dsn = "host=127.0.0.1 port=5432 user=wedge",
        .out = "/o",
        .scenario_dir = "/s",
        .service = "counter",
        .port_names = names,
        .ports = ports,
        .nports = 1,
        .user = -1,
        .seed = 7,
    };
    return c;
}

/* cmd splits into exactly the NULL-terminated words of want. */
static void expect_words(const char *cmd, const char *const *want)
{
    struct exp_ctx c = ctx_base();
    char err[256] = "";
    char **argv = svc_argv(cmd, &c, err, sizeof(err));
    int i;
    if (!argv)
        fail_msg("'%s': %s", cmd, err);
    for (i = 0; want[i]; i++) {
        if (!argv[i])
            fail_msg("'%s': %d words, expected more ('%s')", cmd, i, want[i]);
        assert_string_equal(argv[i], want[i]);
    }
    if (argv[i])
        fail_msg("'%s': extra word '%s'", cmd, argv[i]);
    svc_argv_free(argv);
}

static void expect_error(const char *cmd, const char *want)
{
    struct exp_ctx c = ctx_base();
    char err[256] = "";
    char **argv = svc_argv(cmd, &c, err, sizeof(err));
    if (argv)
        fail_msg("'%s' split into '%s'...", cmd, argv[0]);
    assert_string_equal(err, want);
}

static void test_plain_words(void **state)
{
    expect_words("prog a  b\tc\nd", (const char *const[]){"prog", "a", "b", "c", "d", NULL});
    expect_words("   prog   ", (const char *const[]){"prog", NULL});
}

static void test_quotes_group(void **state)
{
    expect_words("sh -c 'echo a  b; exit 3'",
                 (const char *const[]){"sh", "-c", "echo a  b; exit 3", NULL});
    expect_words("p \"two words\" x", (const char *const[]){"p", "two words", "x", NULL});
    /* Adjacent quoted and bare parts make one word. */
    expect_words("p a'b c'\"d e\"f", (const char *const[]){"p", "ab cd ef", NULL});
    /* Empty quotes are an empty argument, not nothing. */
    expect_words("p '' \"\"", (const char *const[]){"p", "", "", NULL});
}

static void test_escapes(void **state)
{
    /* Inside double quotes only \" and \\ are escapes; elsewhere \ escapes
     * any character; inside single quotes nothing does. */
    expect_words("p \"a\\\"b\\\\c\\n\"", (const char *const[]){"p", "a\"b\\c\\n", NULL});
    expect_words("p a\\ b \\'", (const char *const[]){"p", "a b", "'", NULL});
    expect_words("p 'a\\b'", (const char *const[]){"p", "a\\b", NULL});
    /* A trailing backslash stays. */
    expect_words("p a\\", (const char *const[]){"p", "a\\", NULL});
}

static void test_expansion_after_split(void **state)
{
    /* ${dsn} holds spaces: it stays one argument, quoted or not. */
    expect_words("${build}/counterd --port ${port} --dsn ${dsn}",
                 (const char *const[]){"/b/counterd", "--port", "8080", "--dsn",
                                       "host=127.0.0.1 port=5432 user=wedge", NULL});
    expect_words("p \"${dsn}\" '${dsn}'",
                 (const char *const[]){"p", "host=127.0.0.1 port=5432 user=wedge",
                                       "host=127.0.0.1 port=5432 user=wedge", NULL});
    /* A quoted ${...} in a longer word, and ${port:NAME}. */
    expect_words("sh -c 'curl -s 127.0.0.1:${port:counter}/health'",
                 (const char *const[]){"sh", "-c", "curl -s 127.0.0.1:8080/health", NULL});
}

static void test_errors(void **state)
{
    expect_error("p 'open", "unterminated quote in command");
    expect_error("p \"open \\\"", "unterminated quote in command");
    expect_error("", "empty command");
    expect_error(" \t\n", "empty command");
    /* An expansion error reaches the caller as the expander words it. */
    {
        struct exp_ctx c = ctx_base();
        char want[256] = "", *x = exp_expand("${nosuch}", &c, want, sizeof(want));
        assert_null(x);
        assert_true(want[0] != '\0');
        expect_error("p ${nosuch}", want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_words), cmocka_unit_test(test_quotes_group),
        cmocka_unit_test(test_escapes),     cmocka_unit_test(test_expansion_after_split),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

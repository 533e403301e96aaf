/*
 * test_util.c - the text helpers every report and printed command relies
 * on: util_shell_word (a printed command can be pasted back into a shell;
 * the redactor is common/'s, tests/unit/common/test_redact.c); util_bad_option
 * (a mistyped flag gets a "wedge:" message, not getopt's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/util/util.c"

static void expect_word(const char *w, const char *want)
{
    char *got = util_shell_word(w);
    assert_string_equal(got, want);
    free(got);
}

static void test_shell_word(void **state)
{
    expect_word("scenarios/demo/a-b_c.scn", "scenarios/demo/a-b_c.scn");
    expect_word("", "''");
    expect_word("two words", "'two words'");
    expect_word("it's", "'it'\\''s'");
    expect_word("$HOME;rm", "'$HOME;rm'");
}

/* getopt_long over args (opterr = 0) as a subcommand parses them; the
 * message util_bad_option prints for the first '?', "" when none. */
static char *bad_option_message(char **args)
{
    static const struct option opts[] = {{"seed", required_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"ready-timeout", required_argument, NULL, 'R'},
                                         {NULL, 0, NULL, 0}};
    int argc = 0, saved, fd, opt, rc = 0;
    char path[] = "/tmp/wedge-test-util-XXXXXX", *text;

    while (args[argc])
        argc++;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, args, "s:qh", opts, NULL)) != -1) {
        if (opt == '?') {
            rc = util_bad_option("run", args, "s:qh", opts);
            break;
        }
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    text = util_read_file(path, NULL);
    unlink(path);
    assert_non_null(text);
    assert_int_equal(rc, text[0] ? 2 : 0);
    return text;
}

static void expect_bad_option(char **args, const char *want)
{
    char *got = bad_option_message(args);
    assert_string_equal(got, want);
    free(got);
}

static void test_bad_option(void **state)
{
    char *unknown_long[] = {"run", "--bogus", "x.scn", NULL};
    char *unknown_long_value[] = {"run", "--bogus=1", NULL};
    char *unknown_short[] = {"run", "-qx", NULL};
    char *short_of_long_only[] = {"run", "-R", "1s", NULL};
    char *missing_long[] = {"run", "x.scn", "--seed", NULL};
    char *missing_long_only[] = {"run", "--ready-timeout", NULL};
    char *missing_short[] = {"run", "-s", NULL};
    char *flag_with_value[] = {"run", "--quiet=1", NULL};
    char *fine[] = {"run", "--seed", "0", "-q", "x.scn", NULL};

    expect_bad_option(unknown_long,
                      "wedge: run: unknown option '--bogus' (see wedge run --help)\n");
    expect_bad_option(unknown_long_value,
                      "wedge: run: unknown option '--bogus' (see wedge run --help)\n");
    expect_bad_option(unknown_short, "wedge: run: unknown option '-x' (see wedge run --help)\n");
    /* 'R' is the value of --ready-timeout, not a short option. */
    expect_bad_option(short_of_long_only,
                      "wedge: run: unknown option '-R' (see wedge run --help)\n");
    expect_bad_option(missing_long,
                      "wedge: run: missing value for option '--seed' (see wedge run --help)\n");
    expect_bad_option(
        missing_long_only,
        "wedge: run: missing value for option '--ready-timeout' (see wedge run --help)\n");
    expect_bad_option(missing_short,
                      "wedge: run: missing value for option '-s' (see wedge run --help)\n");
    expect_bad_option(
        flag_with_value,
        "wedge: run: no value expected for option '--quiet' (see wedge run --help)\n");
    expect_bad_option(fine, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_word),
        cmocka_unit_test(test_bad_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

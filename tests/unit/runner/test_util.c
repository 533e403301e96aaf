/*
 * test_util.c - the text helpers every report and printed command relies
 * on: util_redact_dsn (no password reaches a report) and util_shell_word
 * (a printed command can be pasted back into a shell).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/util.c"

static void expect_redact(const char *dsn, const char *want)
{
    char *got = util_redact_dsn(dsn);
    assert_string_equal(got, want);
    free(got);
}

static void test_redact_keyword_form(void **state)
{
    expect_redact("host=h port=5 user=u", "host=h port=5 user=u");
    expect_redact("host=h password=s3cret user=u", "host=h password=*** user=u");
    expect_redact("password=s3cret", "password=***");
    expect_redact("host=h password = 's3 cr\\'et' user=u", "host=h password = *** user=u");
    expect_redact("host=h password='unterminated", "host=h password=***");
    /* Only the key password: not a value or another key that holds it. */
    expect_redact("user=password host=h", "user=password host=h");
    expect_redact("passwordx=1 mypassword=2", "passwordx=1 mypassword=2");
}

static void test_redact_uri_form(void **state)
{
    expect_redact("postgresql://u:s3cret@h:5/db", "postgresql://u:***@h:5/db");
    expect_redact("postgresql://u@h/db", "postgresql://u@h/db");
    expect_redact("postgresql://h/db?user=u&password=s3cret&sslmode=disable",
                  "postgresql://h/db?user=u&password=***&sslmode=disable");
    /* An @ after the host part is not the credentials' end. */
    expect_redact("postgresql://h/db?application_name=a:b@c",
                  "postgresql://h/db?application_name=a:b@c");
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_keyword_form),
        cmocka_unit_test(test_redact_uri_form),
        cmocka_unit_test(test_shell_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

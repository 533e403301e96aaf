/*
 * test_redact.c - the one password redactor (common/redact.c) on every
 * form libpq accepts a password in, and on its buffer contract: a cut
 * output is terminated and never shows part of a secret.
 */
#include "redact.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void expect(const char *in, const char *want)
{
    char out[512];
    size_t n = redact_conninfo(in, out, sizeof out);
    char *dup = redact_conninfo_dup(in);

    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    assert_string_equal(dup, want);
    free(dup);
}

static void test_keyword_form(void **state)
{
    expect("host=h port=5 user=u", "host=h port=5 user=u");
    expect("host=h password=s3cret user=u", "host=h password=*** user=u");
    expect("password=s3cret", "password=***");
    expect("PASSWORD=abc", "PASSWORD=***");
    expect("password=", "password=***");
    /* not the password keyword */
    expect("user=password host=h", "user=password host=h");
    expect("passwordx=1 mypassword=2 host=x passwordfile=/p",
           "passwordx=1 mypassword=2 host=x passwordfile=/p");
    expect("dbname=shop", "dbname=shop");
    expect("", "");
    expect(NULL, "");
    /* a bare value may hold '&': it is not a URI */
    expect("password=a&b host=h", "password=*** host=h");
}

static void test_blanks_around_equals(void **state)
{
    expect("password\t=S3cret host=h", "password\t=*** host=h");
    expect("password =S3cret", "password =***");
    expect("password= \tS3cret host=h", "password= \t*** host=h");
    expect("host=h\npassword\n=\nS3cret\nuser=u", "host=h\npassword\n=\n***\nuser=u");
    /* libpq reads the next word as the value, whatever it looks like */
    expect("password= host=h", "password= ***");
}

static void test_quoted_values(void **state)
{
    expect("host=h password = 's3 cr\\'et' user=u", "host=h password = *** user=u");
    expect("password='a\\\\' user=u", "password=*** user=u");
    expect("host=h password='unterminated user=u", "host=h password=***");
    /* a quoted value of another key is copied as it is */
    expect("application_name='a password=b' host=h", "application_name='a password=b' host=h");
}

static void test_backslash_escapes(void **state)
{
    /* one value: "S3c ZZleak" */
    expect("password=S3c\\ ZZleak host=h", "password=*** host=h");
    expect("password=S3c\\\tZZleak", "password=***");
    expect("password=x\\", "password=***");
}

static void test_uri_forms(void **state)
{
    expect("postgresql://u:s3cret@h:5/db", "postgresql://u:***@h:5/db");
    expect("postgres://u:s3cret@h/db", "postgres://u:***@h/db");
    expect("postgresql://u@h/db", "postgresql://u@h/db");
    expect("postgresql://h/db", "postgresql://h/db");
    expect("postgresql://h/db?user=u&password=s3cret&sslmode=disable",
           "postgresql://h/db?user=u&password=***&sslmode=disable");
    expect("postgresql:///db?password=x", "postgresql:///db?password=***");
    expect("postgresql://h/db?application_name=a:b@c", "postgresql://h/db?application_name=a:b@c");
    /* percent-encoding: in the password, and in the key */
    expect("postgres://u:p%40ss@h/db?sslmode=disable&password=x&application_name=a",
           "postgres://u:***@h/db?sslmode=disable&password=***&application_name=a");
    expect("postgresql://h/db?pass%77ord=s3cret&%70assword=t",
           "postgresql://h/db?pass%77ord=***&%70assword=***");
    /* a raw '@' in the password; a '?' does not end the user part */
    expect("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db");
    expect("postgresql://u:p?w@h/db", "postgresql://u:***@h/db");
    expect("POSTGRESQL://u:s3cret@h", "POSTGRESQL://u:***@h");
}

static void test_dbname_holding_conninfo(void **state)
{
    expect("dbname=postgresql://u:pw@h/db host=x", "dbname=postgresql://u:***@h/db host=x");
    expect("dbname='host=x password=y' user=u", "dbname=*** user=u");
    expect("dbname='host=x user=y' user=u", "dbname='host=x user=y' user=u");
}

static void test_params(void **state)
{
    const char *keys[] = {"host", "password", "dbname", "user", NULL};
    const char *vals[] = {"h", "s3cret", "postgresql://u:pw@h/db", "", NULL};
    const char *vals2[] = {"h", NULL, "host=x password='a b' port=1", "u", NULL};
    char out[256];

    redact_conninfo_params(keys, vals, 1, out, sizeof out);
    assert_string_equal(out, "host=h password=*** dbname=postgresql://u:***@h/db");
    redact_conninfo_params(keys, vals2, 1, out, sizeof out);
    assert_string_equal(out, "host=h dbname=host=x password=*** port=1 user=u");
    /* without expand, dbname is a name */
    redact_conninfo_params(keys, vals2, 0, out, sizeof out);
    assert_string_equal(out, "host=h dbname=host=x password='a b' port=1 user=u");
    redact_conninfo_params(NULL, NULL, 1, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_cut_short(void **state)
{
    char small[24], tiny[12];

    assert_int_equal(redact_conninfo("user=shop password=s3cret-s3cret", small, sizeof small), 22);
    assert_string_equal(small, "user=shop password=***");
    assert_int_equal(redact_conninfo("user=shop password=s3cret", tiny, sizeof tiny), 22);
    assert_string_equal(tiny, "user=shop p");
    redact_conninfo("postgresql://u:s3cret@h/db", tiny, sizeof tiny);
    assert_string_equal(tiny, "postgresql:");
    assert_int_equal(redact_conninfo("password=x", NULL, 0), 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_form),  cmocka_unit_test(test_blanks_around_equals),
        cmocka_unit_test(test_quoted_values), cmocka_unit_test(test_backslash_escapes),
        cmocka_unit_test(test_uri_forms),     cmocka_unit_test(test_dbname_holding_conninfo),
        cmocka_unit_test(test_params),        cmocka_unit_test(test_cut_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

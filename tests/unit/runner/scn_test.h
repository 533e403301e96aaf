/*
 * scn_test.h - loading a scenario text in the tests of the scenario room
 * (test_scn.c, test_scn_limit.c): one file t.scn in the test's tmpdir
 * (runner_test.h), an exact "PATH:LINE: message" on failure.
 */
#ifndef WEDGE_SCN_TEST_H
#define WEDGE_SCN_TEST_H

#include "runner_test.h"

static char scnpath[512];

static int setup(void **state)
{
    (void)state;
    rt_mkdtemp("scn");
    snprintf(scnpath, sizeof(scnpath), "%s/t.scn", tmpdir);
    return 0;
}

/* Load text as a scenario; it must fail with exactly "PATH:" + want. */
static __attribute__((unused)) void expect_error(const char *text, const char *want)
{
    struct scenario s;
    char err[1024], full[1024];
    rt_write_file(scnpath, text);
    snprintf(full, sizeof(full), "%s:%s", scnpath, want);
    assert_int_equal(scn_load(scnpath, &s, err, sizeof(err)), -1);
    assert_string_equal(err, full);
}

static __attribute__((unused)) void load_ok(const char *text, struct scenario *s)
{
    char err[1024] = "";
    rt_write_file(scnpath, text);
    if (scn_load(scnpath, s, err, sizeof(err)) != 0)
        fail_msg("unexpected error: %s", err);
}

#endif

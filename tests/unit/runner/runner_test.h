/*
 * runner_test.h - what the runner's unit tests share: a scratch directory
 * per test group (under /tmp, removed by the group teardown) and writing a
 * file in one call.  Include after <cmocka.h>.
 */
#ifndef WEDGE_RUNNER_TEST_H
#define WEDGE_RUNNER_TEST_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[256];

/* mkdtemp /tmp/wedge-test-NAME-XXXXXX into tmpdir. */
static __attribute__((unused)) void rt_mkdtemp(const char *name)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/wedge-test-%s-XXXXXX", name);
    assert_non_null(mkdtemp(tmpdir));
}

static __attribute__((unused)) int rt_teardown(void **state)
{
    char cmd[600];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static __attribute__((unused)) void rt_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#endif

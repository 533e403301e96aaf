/*
 * runner_test.h - what the runner's unit tests share: a scratch directory
 * per test group (under /tmp, removed by the group teardown), and writing
 * or reading a whole file in one call.  Include after <cmocka.h>.
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

/* The whole of a file, NUL-terminated (malloc'd); fails the test if it
 * cannot be read. */
static __attribute__((unused)) char *rt_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text;
    long n;
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}

#endif

/*
 * test_textfile.c - a bounded text file (common/textfile.c): read whole;
 * a directory, a device or FIFO, a file over the cap, a NUL byte (with
 * its line and column) each refused with its exact message.
 */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static char tmpdir[] = "/tmp/wedge-textfile-XXXXXX";

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *put(const char *name, const char *data, size_t len)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

static void refused(const char *path, size_t max, int e, const char *msg)
{
    char err[256] = "", *out = (char *)1;

    errno = 0;
    assert_int_equal(textfile_read(path, max, &out, NULL, err, sizeof err), -1);
    assert_null(out);
    assert_int_equal(errno, e);
    assert_string_equal(err, msg);
}

static void test_read(void **state)
{
    char err[256], *out = NULL;
    size_t len = 0;

    assert_int_equal(textfile_read(put("ok", "log on *\n", 9), 9, &out, &len, err, sizeof err), 0);
    assert_string_equal(out, "log on *\n");
    assert_int_equal(len, 9);
    free(out);
    assert_int_equal(textfile_read(put("empty", "", 0), 9, &out, &len, err, sizeof err), 0);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    free(out);
}

static void test_refused(void **state)
{
    char big[64];

    memset(big, 'x', sizeof big);
    refused(put("big", big, sizeof big), 63, EFBIG, "larger than 63 bytes (64)");
    refused(tmpdir, 100, EINVAL, "not a regular file (a directory)");
    refused("/dev/zero", 100, EINVAL, "not a regular file (a device, FIFO or socket)");
    refused(put("nul", "log on *\nlog\0 on *", 18), 100, EINVAL,
            "2:4: a NUL byte; the file must be text");
    refused("/nonexistent/rules", 100, ENOENT, "No such file or directory");
    /* a FIFO with no writer: refused at once, not waited on */
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    refused(fifo, 100, EINVAL, "not a regular file (a device, FIFO or socket)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

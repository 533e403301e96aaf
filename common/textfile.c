/*
 * textfile.c - a whole text file a user names as input, bounded
 * (textfile.h).
 */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "LINE:COL" of offset off in buf (1-based, bytes). */
static void textfile_where(const char *buf, size_t off, char *out, size_t len)
{
    int line = 1, col = 1;

    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(out, len, "%d:%d", line, col);
}

int textfile_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL, where[32];
    size_t n = 0, cap;
    int fd, e = 0;
    const char *nul;

    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0) {
        e = errno;
        snprintf(err, errlen, "%s", strerror(e));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        e = EINVAL;
        snprintf(err, errlen, "not a regular file (%s)",
                 S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
        goto out;
    }
    if ((unsigned long long)st.st_size > max) {
        e = EFBIG;
        snprintf(err, errlen, "larger than %zu bytes (%llu)", max, (unsigned long long)st.st_size);
        goto out;
    }
    /* room for the size fstat saw and one byte more (to see the end, or
     * that the file grew); grown up to max + 1 bytes and a NUL */
    cap = (size_t)st.st_size + 2;
    buf = malloc(cap);
    for (;;) {
        ssize_t r;
        if (buf && cap - n < 2) {
            size_t ncap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb)
                free(buf);
            buf = nb;
            cap = ncap;
        }
        if (!buf) {
            e = ENOMEM;
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno;
            snprintf(err, errlen, "%s", strerror(e));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            e = EFBIG;
            snprintf(err, errlen, "larger than %zu bytes", max);
            goto out;
        }
    }
    nul = memchr(buf, '\0', n);
    if (nul) {
        e = EINVAL;
        textfile_where(buf, (size_t)(nul - buf), where, sizeof where);
        snprintf(err, errlen, "%s: a NUL byte; the file must be text", where);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    if (len)
        *len = n;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    errno = e;
    return e ? -1 : 0;
}

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

/* Open path if it is a regular file of at most max bytes; the fd, or -1
 * with *e (an errno value) and the message. */
static int textfile_open(const char *path, size_t max, struct stat *st, int *e, char *err,
                         size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0 || fstat(fd, st) != 0) {
        *e = errno;
        snprintf(err, errlen, "%s", strerror(*e));
    } else if (!S_ISREG(st->st_mode)) {
        *e = EINVAL;
        snprintf(err, errlen, "not a regular file (%s)",
                 S_ISDIR(st->st_mode) ? "a directory" : "a device, FIFO or socket");
    } else if ((unsigned long long)st->st_size > max) {
        *e = EFBIG;
        snprintf(err, errlen, "larger than %zu bytes (%llu)", max, (unsigned long long)st->st_size);
    } else {
        return fd;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Read fd to its end into *buf (NUL-terminated, *n bytes), refusing more
 * than max bytes: room for the size fstat saw and one byte more (to see
 * the end, or that the file grew), grown up to max + 1 bytes and a NUL.
 * 0, or an errno value with the message. */
static int textfile_slurp(int fd, size_t size, size_t max, char **buf, size_t *n, char *err,
                          size_t errlen)
{
    size_t cap = size + 2;

    *n = 0;
    *buf = malloc(cap);
    for (;;) {
        ssize_t r;
        if (*buf && cap - *n < 2) {
            size_t ncap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
            char *nb = realloc(*buf, ncap);
            if (!nb)
                free(*buf);
            *buf = nb;
            cap = ncap;
        }
        if (!*buf) {
            snprintf(err, errlen, "out of memory");
            return ENOMEM;
        }
        r = read(fd, *buf + *n, cap - 1 - *n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            snprintf(err, errlen, "%s", strerror(e));
            return e;
        }
        if (r == 0)
            break;
        *n += (size_t)r;
        if (*n > max) {
            snprintf(err, errlen, "larger than %zu bytes", max);
            return EFBIG;
        }
    }
    (*buf)[*n] = '\0';
    return 0;
}

int textfile_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL, where[32];
    size_t n = 0;
    int fd, e = 0;
    const char *nul;

    *out = NULL;
    fd = textfile_open(path, max, &st, &e, err, errlen);
    if (fd < 0)
        goto out;
    e = textfile_slurp(fd, (size_t)st.st_size, max, &buf, &n, err, errlen);
    if (e)
        goto out;
    nul = memchr(buf, '\0', n);
    if (nul) {
        e = EINVAL;
        textfile_where(buf, (size_t)(nul - buf), where, sizeof where);
        snprintf(err, errlen, "%s: a NUL byte; the file must be text", where);
        goto out;
    }
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

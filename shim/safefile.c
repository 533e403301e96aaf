/*
 * safefile.c - the shim creates files (traces, the control file) only
 * where nobody else can swap them under it.
 *
 * The preloaded program may run where another local user can write: a
 * shared /tmp, a directory they own.  Each danger and its guard:
 *   - a symlink planted at the file's name would make us append to, or
 *     map and overwrite, whatever it points at: the last component is
 *     opened O_NOFOLLOW, and created O_EXCL;
 *   - a directory that another user owns, or a non-sticky one that others
 *     may write, lets them rename and replace our files at will: refused
 *     (root's directories are trusted, as everything is root's to change;
 *     a sticky one such as /tmp keeps each user's files their own);
 *   - an existing file that is not ours (a hard link to someone's file,
 *     or a FIFO that would block us): refused unless it is a regular file
 *     owned by us with a single link;
 *   - files are created 0600: traces hold SQL text.
 * Raw system calls only (syscall()): close is hooked.
 */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int safefile_fail(int err, char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int safefile_fail(int err, char *why, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (why && len) {
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    errno = err;
    return -1;
}

int safefile_dir(const char *dir, char *why, size_t len)
{
    struct stat st;
    uid_t me = geteuid();
    int fd = (int)syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return safefile_fail(errno, why, len, "%s", strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        syscall(SYS_close, fd);
        return safefile_fail(e, why, len, "%s", strerror(e));
    }
    if (st.st_uid != me && st.st_uid != 0) {
        syscall(SYS_close, fd);
        return safefile_fail(EPERM, why, len,
                             "the directory belongs to uid %u, not to you (uid %u); wedge writes "
                             "only in your own directories",
                             (unsigned)st.st_uid, (unsigned)me);
    }
    if (!(st.st_mode & S_ISVTX) &&
        ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_uid != me))) {
        syscall(SYS_close, fd);
        return safefile_fail(EPERM, why, len,
                             "the directory (mode %04o) lets other users replace files in it "
                             "(writable by them and not sticky)",
                             (unsigned)(st.st_mode & 07777));
    }
    return fd;
}

int safefile_check(int fd, const char *name, char *why, size_t len)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return safefile_fail(errno, why, len, "%s: %s", name, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return safefile_fail(EPERM, why, len, "%s exists and is not a regular file", name);
    if (st.st_uid != geteuid())
        return safefile_fail(EPERM, why, len, "%s exists and belongs to uid %u, not to you", name,
                             (unsigned)st.st_uid);
    if (st.st_nlink != 1)
        return safefile_fail(EPERM, why, len, "%s exists with %lu hard links", name,
                             (unsigned long)st.st_nlink);
    return 0;
}

int safefile_open(int dirfd, const char *name, int flags, int *created, char *why, size_t len)
{
    int fd, base = flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;

    *created = 0;
    fd = (int)syscall(SYS_openat, dirfd, name, base | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        *created = 1;
        return fd;
    }
    if (errno != EEXIST)
        goto fail;
    /* an existing file: O_NONBLOCK so that a FIFO cannot hold us here */
    fd = (int)syscall(SYS_openat, dirfd, name, base);
    if (fd < 0)
        goto fail;
    if (safefile_check(fd, name, why, len) < 0) {
        int e = errno;
        syscall(SYS_close, fd);
        errno = e;
        return -1;
    }
    return fd;
fail:
    if (errno == ELOOP)
        return safefile_fail(ELOOP, why, len, "%s is a symbolic link; wedge does not follow it",
                             name);
    return safefile_fail(errno, why, len, "%s: %s", name, strerror(errno));
}

/*
 * safefile.h - creating the shim's files where nobody else can swap them
 * (safefile.c says which danger each check guards against).
 *
 * Every function fills `why` (when given) with a message for the user
 * and sets errno on failure.  No allocation, raw system calls only: safe
 * in the constructor and in a forked child.
 */
#ifndef WEDGE_SAFEFILE_H
#define WEDGE_SAFEFILE_H

#include <stddef.h>

/* An O_DIRECTORY descriptor of dir (symlinks in the path followed: the
 * user named it) when it is owned by us or root and no other user may
 * replace files in it; -1 otherwise. */
int safefile_dir(const char *dir, char *why, size_t len);

/* Open `name` in dirfd with `flags` (O_WRONLY|O_APPEND, O_RDWR...), never
 * through a symlink: created 0600 with O_EXCL when absent (*created = 1),
 * else accepted only as a regular file of ours with one link.  The
 * descriptor is O_CLOEXEC; -1 otherwise. */
int safefile_open(int dirfd, const char *name, int flags, int *created, char *why, size_t len);

/* 0 when fd is a regular file owned by us with one link (safefile_open's
 * test of an existing file), -1 with the message naming `name`. */
int safefile_check(int fd, const char *name, char *why, size_t len);

#endif

/*
 * fatal.c - the record the shim leaves when it stops a process itself.
 *
 * A service that exits 134 because the shim could not resolve a symbol,
 * or 2 because its rules do not parse, did not lose a race: the runner
 * must say the run is inconclusive (or a configuration error), and it
 * must know that without guessing from a log.  So every fatal exit of the
 * shim first writes WEDGE_TRACE/fatal.PID:
 *
 *     kind=abort pid=4242 pgid=4240 proc=python3
 *     wedge: cannot resolve PQconnectdb: ...
 *
 * pgid ties the record to a service: the runner starts each service as
 * the leader of its own process group, and a child (a shell's program)
 * inherits it.  The file is written before the process dies, by raw
 * syscalls (a fatal path may run before the constructor, or inside a
 * wrapper): no stdio, no allocation, no wrapped function.  Created as the
 * traces are (safefile.c: O_NOFOLLOW, O_EXCL, 0600, a directory of ours).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"
#include "safefile.h"

struct fatal_buf {
    char *p;
    size_t n, cap;
};

static void fatal_puts(struct fatal_buf *b, const char *s)
{
    for (; s && *s && b->n + 1 < b->cap; s++)
        b->p[b->n++] = *s == '\n' ? ' ' : *s; /* one line each */
}

static void fatal_putu(struct fatal_buf *b, unsigned long v)
{
    char d[24];
    int i = (int)sizeof d - 1;

    d[i] = '\0';
    do
        d[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 0);
    fatal_puts(b, d + i);
}

void wg_fatal_record(const char *kind, const char *msg)
{
    const char *dir = secure_getenv("WEDGE_TRACE");
    char name[32], line[1024];
    /* line: room kept for the two newlines */
    struct fatal_buf bn = {name, 0, sizeof name}, bl = {line, 0, sizeof line - 2};
    long pid = syscall(SYS_getpid);
    int saved = errno, dfd = -1, fd = -1, created = 0;

    if (!dir || !*dir)
        return;
    fatal_puts(&bn, "fatal.");
    fatal_putu(&bn, (unsigned long)pid);
    name[bn.n] = '\0';

    fatal_puts(&bl, "kind=");
    fatal_puts(&bl, kind);
    fatal_puts(&bl, " pid=");
    fatal_putu(&bl, (unsigned long)pid);
    fatal_puts(&bl, " pgid=");
    fatal_putu(&bl, (unsigned long)syscall(SYS_getpgid, 0));
    fatal_puts(&bl, " proc=");
    fatal_puts(&bl, program_invocation_short_name);
    bl.p[bl.n++] = '\n';
    fatal_puts(&bl, msg);
    bl.p[bl.n++] = '\n';

    /* Where the traces go, with the same guards (safefile.c).  A record
     * left by an earlier process of this pid is emptied first, once the
     * file is known to be ours (O_TRUNC would act before the check). */
    dfd = safefile_dir(dir, NULL, 0);
    if (dfd < 0)
        goto out;
    fd = safefile_open(dfd, name, O_WRONLY, &created, NULL, 0);
    if (fd < 0)
        goto out;
    if (!created)
        syscall(SYS_ftruncate, fd, 0);
    syscall(SYS_write, fd, line, bl.n);
out:
    if (fd >= 0)
        syscall(SYS_close, fd);
    if (dfd >= 0)
        syscall(SYS_close, dfd);
    errno = saved;
}

/* Write a message without any wrapped function, leave the fatal record
 * (so a runner blames the shim, not the program) and stop.  No dlerror():
 * it describes the last failed lookup, which need not be this symbol's. */
void real_die(const char *const *parts)
{
    char msg[512];
    size_t n = 0;

    for (size_t i = 0; parts[i]; i++)
        for (const char *p = parts[i]; *p && n + 1 < sizeof msg; p++)
            msg[n++] = *p;
    msg[n] = '\0';
    syscall(SYS_write, 2, msg, n);
    syscall(SYS_write, 2, "\n", 1);
    wg_fatal_record("abort", msg);
    abort();
}

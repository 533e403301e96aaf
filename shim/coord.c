/*
 * coord.c - barriers, marks, waits and holds shared by every thread and
 * process of a run.
 *
 * The control region's layout is common/ctlfile.h's: a header (magic,
 * version, size), a fixed table of named points (ctlfile.c finds and
 * claims them), and what ctl.c publishes for `wedge ctl`.  The control file is created
 * complete under a temporary name and renamed into place without
 * replacing (coord_create), so a process that finds it finds a whole
 * header: one that is not exactly ours is refused and left untouched.
 * Each point holds one 32-bit futex word:
 *   barrier: generation << 8 | arrived   (arrival by CAS; the last arrival
 *            bumps the generation and wakes everyone)
 *   mark:    a counter of marks; wait holds until it is > 0
 *   hold:    a counter of releases (`wedge ctl release`); a hold waits
 *            until it moves on from the value it found, or its ceiling
 * Futexes are shared (not FUTEX_PRIVATE) so they work across processes
 * mapping the same file.  Every wait has a CLOCK_MONOTONIC deadline and
 * loops on spurious wakes and EINTR.  Only raw syscalls: nothing here may
 * re-enter a hooked function.
 */
#include "ctlfile.h"
#include "safefile.h"
#include "wedge_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The layout is common/ctlfile.h's (shared with `wedge ctl`). */
#define COORD_SLOTS CTLF_POINTS
enum coord_kind {
    COORD_KIND_BARRIER = CTLF_KIND_BARRIER,
    COORD_KIND_MARK = CTLF_KIND_MARK,
    COORD_KIND_HOLD = CTLF_KIND_HOLD
};

static _Atomic(struct ctlf_region *) coord_region;
static int coord_file; /* the region is a control file (wedge ctl reaches it) */

static uint64_t coord_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t coord_deadline(uint64_t start, uint64_t timeout_ns)
{
    return timeout_ns > UINT64_MAX - start ? UINT64_MAX : start + timeout_ns;
}

static long coord_futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

static void coord_header_init(struct ctlf_header *h)
{
    ctlf_header_init(h);
}

static void coord_install(struct ctlf_region *reg)
{
    struct ctlf_region *old = atomic_exchange(&coord_region, reg);
    if (old && old != reg)
        munmap(old, sizeof *old);
}

static int coord_fail(int err, char *why, size_t len, const char *msg)
{
    if (why && len)
        snprintf(why, len, "%s", msg);
    errno = err;
    return -1;
}

/* An existing control file: accepted only when it is a regular file of
 * ours with exactly our header and size (read, never written, before). */
static int coord_open_existing(int dfd, const char *name, char *why, size_t len)
{
    struct ctlf_header h, want;
    struct stat st;
    int fd = (int)syscall(SYS_openat, dfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    char msg[160];

    if (fd < 0) {
        if (errno == ELOOP)
            return coord_fail(ELOOP, why, len,
                              "the file is a symbolic link; wedge does not follow it");
        return coord_fail(errno, why, len, strerror(errno));
    }
    coord_header_init(&want);
    if (safefile_check(fd, "the file", why, len) < 0)
        goto fail;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof h ||
        syscall(SYS_pread64, fd, &h, sizeof h, 0) != (long)sizeof h ||
        memcmp(h.magic, want.magic, sizeof h.magic) != 0) {
        coord_fail(EPROTO, why, len, "the file is not a wedge control file (left untouched)");
        goto fail;
    }
    if (h.version != want.version || h.nslots != want.nslots || h.size != want.size ||
        (uint64_t)st.st_size != want.size) {
        snprintf(
            msg, sizeof msg,
            "the file is a wedge control file of another layout (version %u, %llu bytes; this shim "
            "uses version %u, %llu bytes)",
            h.version, (unsigned long long)st.st_size, want.version, (unsigned long long)want.size);
        coord_fail(EPROTO, why, len, msg);
        goto fail;
    }
    return fd;
fail : {
    int e = errno;
    syscall(SYS_close, fd);
    errno = e;
    return -1;
}
}

/* Create the control file complete: sized and headed under a private
 * temporary name, then renamed into place unless someone else's is there
 * by now (EEXIST: the caller opens theirs).  A descriptor of ours, or -1. */
static int coord_create(int dfd, const char *name, char *why, size_t len)
{
    char tmp[300];
    struct ctlf_header h;
    int fd, created, rc;

    snprintf(tmp, sizeof tmp, ".%.200s.%d.tmp", name, (int)getpid());
    syscall(SYS_unlinkat, dfd, tmp, 0); /* a leftover of a killed process of this pid */
    fd = safefile_open(dfd, tmp, O_RDWR, &created, why, len);
    if (fd < 0)
        return -1;
    coord_header_init(&h);
    if (!created || syscall(SYS_ftruncate, fd, (long)sizeof(struct ctlf_region)) != 0 ||
        syscall(SYS_pwrite64, fd, &h, sizeof h, 0) != (long)sizeof h) {
        coord_fail(errno ? errno : EIO, why, len, strerror(errno ? errno : EIO));
        goto fail;
    }
    rc = (int)syscall(SYS_renameat2, dfd, tmp, dfd, name, RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
        /* a file system without RENAME_NOREPLACE: link does not replace */
        rc = (int)syscall(SYS_linkat, dfd, tmp, dfd, name, 0);
        syscall(SYS_unlinkat, dfd, tmp, 0);
    }
    if (rc != 0) {
        coord_fail(errno, why, len, strerror(errno));
        goto fail;
    }
    return fd;
fail : {
    int e = errno;
    syscall(SYS_unlinkat, dfd, tmp, 0);
    syscall(SYS_close, fd);
    errno = e;
    return -1;
}
}

/* Map the control file at path: its own, or create it. */
static struct ctlf_region *coord_map_file(const char *path, char *why, size_t len)
{
    char dir[4096];
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    struct ctlf_region *reg = MAP_FAILED;
    int dfd, fd = -1;

    if (slash && (size_t)(slash - path) >= sizeof dir) {
        coord_fail(ENAMETOOLONG, why, len, strerror(ENAMETOOLONG));
        return MAP_FAILED;
    }
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == path ? 1 : slash - path) : 1,
             slash ? path : ".");
    dfd = safefile_dir(dir, why, len);
    if (dfd < 0)
        return MAP_FAILED;
    for (int tries = 0; fd < 0 && tries < 2; tries++) {
        fd = coord_open_existing(dfd, name, why, len);
        if (fd < 0 && errno == ENOENT) {
            fd = coord_create(dfd, name, why, len);
            if (fd < 0 && errno == EEXIST)
                continue; /* another process created it first: open theirs */
        }
        if (fd < 0)
            break;
    }
    if (fd >= 0) {
        reg = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (reg == MAP_FAILED)
            coord_fail(errno, why, len, strerror(errno));
        syscall(SYS_close, fd);
    }
    syscall(SYS_close, dfd);
    return reg;
}

int coord_init(const char *path, char *why, size_t len)
{
    struct ctlf_region *reg;

    if (!path) {
        reg = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (reg == MAP_FAILED)
            return coord_fail(errno, why, len, strerror(errno));
        coord_header_init(&reg->h);
    } else {
        reg = coord_map_file(path, why, len);
        if (reg == MAP_FAILED)
            return -1;
    }
    coord_file = path != NULL;
    coord_install(reg);
    return 0;
}

/* The region, created anonymous on first use when coord_init was not
 * called (threads and forked children of one process still coordinate). */
static struct ctlf_region *coord_get(void)
{
    struct ctlf_region *reg = atomic_load_explicit(&coord_region, memory_order_acquire);
    struct ctlf_region *want = NULL;

    if (reg)
        return reg;
    reg = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (reg == MAP_FAILED)
        return NULL;
    coord_header_init(&reg->h);
    if (!atomic_compare_exchange_strong(&coord_region, &want, reg)) {
        munmap(reg, sizeof *reg);
        return want;
    }
    return reg;
}

/* Find or claim the point (kind, name).  NULL when the table is full. */
static _Atomic uint32_t *coord_point(uint32_t kind, const char *name)
{
    return ctlf_point(coord_get(), kind, name, 1);
}

/* Wait on w while it equals val, until deadline.  0 on wake / change,
 * -1 when the deadline has passed. */
static int coord_wait_word(_Atomic uint32_t *w, uint32_t val, uint64_t deadline)
{
    uint64_t now = coord_now();
    struct timespec ts;

    if (now >= deadline)
        return -1;
    ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
    ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
    coord_futex(w, FUTEX_WAIT, val, &ts); /* EAGAIN, EINTR, ETIMEDOUT: caller re-checks */
    return 0;
}

enum coord_outcome coord_barrier(const char *name, unsigned count, uint64_t timeout_ns,
                                 uint64_t *waited_ns)
{
    uint64_t start = coord_now(), deadline = coord_deadline(start, timeout_ns);
    _Atomic uint32_t *w = coord_point(COORD_KIND_BARRIER, name);
    enum coord_outcome out = COORD_ERROR;
    uint32_t cur, gen;
    int saved = errno;

    if (!w || count < 1 || count > 255)
        goto out;
    cur = atomic_load(w);
    for (;;) {
        uint32_t next;
        gen = cur >> 8;
        if ((cur & 0xff) + 1 >= count) {
            next = ((gen + 1) << 8); /* last arrival: new generation, none arrived */
            if (atomic_compare_exchange_weak(w, &cur, next)) {
                coord_futex(w, FUTEX_WAKE, INT_MAX, NULL);
                out = COORD_RELEASED;
                goto out;
            }
        } else if (atomic_compare_exchange_weak(w, &cur, cur + 1)) {
            cur = cur + 1;
            break;
        }
    }
    for (;;) {
        if ((cur >> 8) != gen) {
            out = COORD_RELEASED;
            goto out;
        }
        if (coord_wait_word(w, cur, deadline) < 0) {
            /* withdraw our arrival unless the generation moved on meanwhile */
            cur = atomic_load(w);
            while ((cur >> 8) == gen) {
                if (atomic_compare_exchange_weak(w, &cur, cur - 1)) {
                    out = COORD_TIMEOUT;
                    goto out;
                }
            }
            out = COORD_RELEASED;
            goto out;
        }
        cur = atomic_load(w);
    }
out:
    if (waited_ns)
        *waited_ns = coord_now() - start;
    errno = saved;
    return out;
}

void coord_mark(const char *name)
{
    int saved = errno;

    ctlf_mark(coord_get(), name);
    errno = saved;
}

enum coord_outcome coord_wait(const char *name, uint64_t timeout_ns, uint64_t *waited_ns)
{
    uint64_t start = coord_now(), deadline = coord_deadline(start, timeout_ns);
    _Atomic uint32_t *w = coord_point(COORD_KIND_MARK, name);
    enum coord_outcome out = COORD_ERROR;
    int saved = errno;

    if (!w)
        goto out;
    for (;;) {
        uint32_t v = atomic_load(w);
        if (v > 0) {
            out = COORD_RELEASED;
            break;
        }
        if (coord_wait_word(w, v, deadline) < 0) {
            out = atomic_load(w) > 0 ? COORD_RELEASED : COORD_TIMEOUT;
            break;
        }
    }
out:
    if (waited_ns)
        *waited_ns = coord_now() - start;
    errno = saved;
    return out;
}

_Atomic uint32_t *coord_hold_arm(const char *name, uint32_t *v0)
{
    _Atomic uint32_t *w = coord_point(COORD_KIND_HOLD, name);

    if (w)
        *v0 = atomic_load(w);
    return w;
}

enum coord_outcome coord_hold(_Atomic uint32_t *w, uint32_t v0, uint64_t ceiling_ns,
                              uint64_t *waited_ns)
{
    uint64_t start = coord_now(), deadline = coord_deadline(start, ceiling_ns);
    enum coord_outcome out = COORD_ERROR;
    int saved = errno;

    if (!w)
        goto out;
    /* released when the word moves on from what it was at our arrival:
     * one `wedge ctl release` lets go of every caller held at that time */
    for (;;) {
        if (atomic_load(w) != v0) {
            out = COORD_RELEASED;
            break;
        }
        if (coord_wait_word(w, v0, deadline) < 0) {
            out = atomic_load(w) != v0 ? COORD_RELEASED : COORD_TIMEOUT;
            break;
        }
    }
out:
    if (waited_ns)
        *waited_ns = coord_now() - start;
    errno = saved;
    return out;
}

struct ctlf_region *coord_file_region(void)
{
    return coord_file ? atomic_load_explicit(&coord_region, memory_order_acquire) : NULL;
}

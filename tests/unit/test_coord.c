/*
 * test_coord.c - barriers, marks and waits across threads and across
 * forked processes, through an anonymous shared region and through a
 * control file; timeouts honoured and withdrawn.
 */
#include "../../shim/coord.c"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define MS 1000000ull

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A scratch dir for control files, removed by the group teardown. */
static char tmpdir[] = "/tmp/wedge-coord-XXXXXX";

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

/* Wait for child pid at most 10 s; its exit status, or -1 (killed). */
static int reap(pid_t pid)
{
    int st;
    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* ---------------------------------------------------------------
 * Threads.
 * ------------------------------------------------------------ */
struct pair {
    _Atomic int arrived, seen_both;
    const char *name;
    int rounds;
};

static void *barrier_thread(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < p->rounds; i++) {
        uint64_t waited = 0;
        atomic_fetch_add(&p->arrived, 1);
        enum coord_outcome o = coord_barrier(p->name, 2, 5000 * MS, &waited);
        /* released only once both of this round have arrived */
        if (o == COORD_RELEASED && atomic_load(&p->arrived) >= 2 * (i + 1))
            atomic_fetch_add(&p->seen_both, 1);
    }
    return NULL;
}

static void test_barrier_threads(void **state)
{
    struct pair p = {0, 0, "two-threads", 1};
    pthread_t a, b;

    assert_int_equal(coord_init(NULL, NULL, 0), 0);
    assert_int_equal(pthread_create(&a, NULL, barrier_thread, &p), 0);
    sleep_ms(50);
    assert_int_equal(atomic_load(&p.seen_both), 0); /* a is held until b arrives */
    assert_int_equal(pthread_create(&b, NULL, barrier_thread, &p), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(atomic_load(&p.seen_both), 2);

    /* the same barrier, reused for 200 rounds (generations) */
    struct pair r = {0, 0, "rounds", 200};
    assert_int_equal(pthread_create(&a, NULL, barrier_thread, &r), 0);
    assert_int_equal(pthread_create(&b, NULL, barrier_thread, &r), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(atomic_load(&r.seen_both), 400);
}

static void test_barrier_timeout_withdraws(void **state)
{
    uint64_t waited = 0;
    _Atomic uint32_t *w;

    assert_int_equal(coord_init(NULL, NULL, 0), 0);
    assert_int_equal(coord_barrier("lonely", 2, 100 * MS, &waited), COORD_TIMEOUT);
    assert_true(waited >= 100 * MS); /* held at least the timeout, and returned */
    w = coord_point(COORD_KIND_BARRIER, "lonely");
    assert_non_null(w);
    assert_int_equal(atomic_load(w) & 0xff, 0); /* the arrival was withdrawn */
    /* so a second lone caller is not released by a stale arrival */
    assert_int_equal(coord_barrier("lonely", 2, 50 * MS, &waited), COORD_TIMEOUT);
    assert_true(waited >= 50 * MS);
    /* count 1 never waits; a zero timeout still decides */
    assert_int_equal(coord_barrier("solo", 1, 0, &waited), COORD_RELEASED);
    assert_int_equal(coord_barrier("lonely", 2, 0, NULL), COORD_TIMEOUT);
    assert_int_equal(coord_barrier("bad", 0, MS, NULL), COORD_ERROR);
    assert_int_equal(coord_barrier("bad", 256, MS, NULL), COORD_ERROR);
}

struct order {
    _Atomic int a_done;
    int b_saw_a;
    enum coord_outcome o;
    uint64_t waited;
};

static void *waiter(void *arg)
{
    struct order *o = arg;
    o->o = coord_wait("a-done", 5000 * MS, &o->waited);
    o->b_saw_a = atomic_load(&o->a_done);
    return NULL;
}

static void test_mark_wait_threads(void **state)
{
    uint64_t waited = 0;

    assert_int_equal(coord_init(NULL, NULL, 0), 0);
    /* B waits for A's mark: B always runs after A, 20 of 20 times */
    for (int i = 0; i < 20; i++) {
        struct order o = {0};
        pthread_t b;
        assert_int_equal(coord_init(NULL, NULL, 0), 0); /* fresh region: the mark unset */
        assert_int_equal(pthread_create(&b, NULL, waiter, &o), 0);
        sleep_ms(i == 0 ? 30 : 1);
        atomic_store(&o.a_done, 1);
        coord_mark("a-done");
        pthread_join(b, NULL);
        assert_int_equal(o.o, COORD_RELEASED);
        assert_int_equal(o.b_saw_a, 1);
    }
    /* already marked: no wait, so even a zero timeout releases (and an
     * unmarked point with a zero timeout does not) */
    assert_int_equal(coord_wait("a-done", 0, &waited), COORD_RELEASED);
    assert_int_equal(coord_wait("never", 0, &waited), COORD_TIMEOUT);
    /* never marked: the timeout is honoured */
    assert_int_equal(coord_wait("never", 80 * MS, &waited), COORD_TIMEOUT);
    assert_true(waited >= 80 * MS);
    /* a mark and a barrier of the same name are different points */
    assert_int_equal(coord_barrier("a-done", 2, 10 * MS, NULL), COORD_TIMEOUT);
}

static void test_table_full(void **state)
{
    char name[32];

    assert_int_equal(coord_init(NULL, NULL, 0), 0);
    for (int i = 0; i < COORD_SLOTS; i++) {
        snprintf(name, sizeof name, "m%d", i);
        coord_mark(name);
        assert_non_null(coord_point(COORD_KIND_MARK, name));
    }
    assert_int_equal(coord_wait("m7", MS, NULL), COORD_RELEASED);
    assert_int_equal(coord_wait("one-too-many", MS, NULL), COORD_ERROR);
    assert_int_equal(coord_barrier("one-too-many", 2, MS, NULL), COORD_ERROR);
}

/* ---------------------------------------------------------------
 * Processes.
 * ------------------------------------------------------------ */

/* A counter page shared with forked children, outside the region. */
static _Atomic int *shared_counter(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 0, 4096);
    return p;
}

/* Arrive at barrier `name` of `n`; exit status 0 when released after
 * all n had arrived. */
static int arrive(const char *path, const char *name, unsigned n, _Atomic int *counter)
{
    if (path && coord_init(path, NULL, 0) != 0)
        return 3;
    atomic_fetch_add(counter, 1);
    if (coord_barrier(name, n, 5000 * MS, NULL) != COORD_RELEASED)
        return 4;
    return atomic_load(counter) >= (int)n ? 0 : 5;
}

static void barrier_processes(const char *path, unsigned nproc)
{
    _Atomic int *counter = shared_counter();
    pid_t pids[8];

    for (unsigned i = 0; i < nproc - 1; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(arrive(path, "procs", nproc, counter));
    }
    sleep_ms(30);
    assert_int_equal(arrive(path, "procs", nproc, counter), 0);
    for (unsigned i = 0; i < nproc - 1; i++)
        assert_int_equal(reap(pids[i]), 0);
    munmap((void *)counter, 4096);
}

static void test_barrier_processes_anonymous(void **state)
{
    assert_int_equal(coord_init(NULL, NULL, 0), 0); /* before fork: children share it */
    barrier_processes(NULL, 2);
}

static void test_barrier_processes_file(void **state)
{
    char path[128];

    /* each process maps the file itself, as separate programs would; the
     * file does not exist yet, so 4 processes race to create it */
    snprintf(path, sizeof path, "%s/ctl", tmpdir);
    barrier_processes(path, 2);
    snprintf(path, sizeof path, "%s/ctl-race", tmpdir);
    barrier_processes(path, 4);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, sizeof(struct ctlf_region));
}

static void test_mark_wait_processes(void **state)
{
    char path[128];
    _Atomic int *flag = shared_counter();
    pid_t pid;

    snprintf(path, sizeof path, "%s/ctl-mark", tmpdir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (coord_init(path, NULL, 0) != 0)
            _exit(3);
        if (coord_wait("paid", 5000 * MS, NULL) != COORD_RELEASED)
            _exit(4);
        _exit(atomic_load(flag) == 1 ? 0 : 5);
    }
    assert_int_equal(coord_init(path, NULL, 0), 0);
    sleep_ms(30);
    atomic_store(flag, 1);
    coord_mark("paid");
    assert_int_equal(reap(pid), 0);
    munmap((void *)flag, 4096);
}

/* Write n bytes of `fill` (or the text when fill < 0) to path. */
static void write_file(const char *path, const char *text, int fill, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; fill >= 0 && i < n; i++)
        fputc(fill, f);
    if (fill < 0)
        fputs(text, f);
    fclose(f);
}

/* coord_init(path) is refused with errno e and exactly message msg, and
 * leaves the file as it was (size st_size). */
static void refused(const char *path, int e, const char *msg)
{
    char why[256] = "";
    struct stat before, after;
    int had = lstat(path, &before) == 0;

    errno = 0;
    assert_int_equal(coord_init(path, why, sizeof why), -1);
    assert_int_equal(errno, e);
    assert_string_equal(why, msg);
    if (had) {
        assert_int_equal(lstat(path, &after), 0);
        assert_int_equal(after.st_size, before.st_size); /* never grown */
        assert_int_equal(after.st_mtime, before.st_mtime);
    }
}

static void test_foreign_file(void **state)
{
    char path[128], msg[200];
    struct ctlf_region *reg;

    snprintf(path, sizeof path, "%s/not-ctl", tmpdir);
    write_file(path, "this is not a wedge control file", -1, 0);
    refused(path, EPROTO, "the file is not a wedge control file (left untouched)");
    /* the old format: all zero, adopted and overwritten before */
    snprintf(path, sizeof path, "%s/zeros", tmpdir);
    write_file(path, NULL, 0, sizeof(struct ctlf_region));
    refused(path, EPROTO, "the file is not a wedge control file (left untouched)");
    snprintf(path, sizeof path, "%s/four-nul", tmpdir);
    write_file(path, "\x01", 0, 4);
    refused(path, EPROTO, "the file is not a wedge control file (left untouched)");
    snprintf(path, sizeof path, "%s/empty", tmpdir);
    write_file(path, NULL, 0, 0);
    refused(path, EPROTO, "the file is not a wedge control file (left untouched)");
    /* a control file of another layout: named as such */
    snprintf(path, sizeof path, "%s/v2", tmpdir);
    assert_int_equal(coord_init(path, NULL, 0), 0);
    reg = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE, MAP_SHARED,
               open(path, O_RDWR | O_CLOEXEC), 0);
    assert_true(reg != MAP_FAILED);
    reg->h.version = 1; /* the layout before wedge ctl */
    munmap(reg, sizeof *reg);
    snprintf(
        msg, sizeof msg,
        "the file is a wedge control file of another layout (version 1, %zu bytes; this shim uses "
        "version 2, %zu bytes)",
        sizeof(struct ctlf_region), sizeof(struct ctlf_region));
    refused(path, EPROTO, msg);

    snprintf(path, sizeof path, "%s/no/such/dir/ctl", tmpdir);
    refused(path, ENOENT, "No such file or directory");
    /* the region in use before the failures still works */
    assert_int_equal(coord_barrier("after-failure", 1, MS, NULL), COORD_RELEASED);
}

/* Nothing to turn against the user: the file is created 0600, never
 * through a symlink, and only in a directory of ours. */
static void test_file_safety(void **state)
{
    char path[200], target[160], dir[160];
    struct stat st;

    snprintf(path, sizeof path, "%s/mode", tmpdir);
    umask(0);
    assert_int_equal(coord_init(path, NULL, 0), 0);
    umask(022);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    snprintf(target, sizeof target, "%s/target", tmpdir);
    write_file(target, "precious", -1, 0);
    snprintf(path, sizeof path, "%s/link", tmpdir);
    assert_int_equal(symlink(target, path), 0);
    refused(path, ELOOP, "the file is a symbolic link; wedge does not follow it");
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 8);
    /* a dangling symlink is not followed to create its target either */
    snprintf(path, sizeof path, "%s/dangling", tmpdir);
    snprintf(target, sizeof target, "%s/created-through-link", tmpdir);
    assert_int_equal(symlink(target, path), 0);
    refused(path, ELOOP, "the file is a symbolic link; wedge does not follow it");
    assert_int_equal(stat(target, &st), -1);

    /* a directory every user may write, not sticky */
    snprintf(dir, sizeof dir, "%s/open", tmpdir);
    assert_int_equal(mkdir(dir, 0777), 0);
    assert_int_equal(chmod(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/ctl", dir);
    refused(path, EPERM,
            "the directory (mode 0777) lets other users replace files in it (writable by them "
            "and not sticky)");
    if (geteuid() != 0)
        return; /* the rest needs another user */
    /* a directory, or a file, that another user owns */
    snprintf(dir, sizeof dir, "%s/theirs", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(chown(dir, 65534, 65534), 0);
    snprintf(path, sizeof path, "%s/ctl", dir);
    refused(path, EPERM,
            "the directory belongs to uid 65534, not to you (uid 0); wedge writes only in your "
            "own directories");
    snprintf(path, sizeof path, "%s/their-ctl", tmpdir);
    assert_int_equal(coord_init(path, NULL, 0), 0);
    assert_int_equal(chown(path, 65534, 65534), 0);
    refused(path, EPERM, "the file exists and belongs to uid 65534, not to you");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_barrier_threads),
        cmocka_unit_test(test_barrier_timeout_withdraws),
        cmocka_unit_test(test_mark_wait_threads),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_barrier_processes_anonymous),
        cmocka_unit_test(test_barrier_processes_file),
        cmocka_unit_test(test_mark_wait_processes),
        cmocka_unit_test(test_foreign_file),
        cmocka_unit_test(test_file_safety),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

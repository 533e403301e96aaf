/*
 * guardalloc.c - TEST ONLY: a malloc that locks pthread mutexes the way
 * jemalloc does (trylock, then lock; a second mutex nested inside the
 * first) and notices when it is re-entered.  Preloaded after libwedge.so,
 * its pthread calls go through the shim's hooks, so those hooks run while
 * this allocator holds its lock.  A hook that allocated would come back
 * here and find the lock held by its own thread: the error-checking mutex
 * says EDEADLK, and this allocator says so and aborts, naming the proof.
 *
 * Memory comes from mmap in 64 MB chunks and is never reused (free only
 * takes the lock): enough for a test workload.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GA_CHUNK (64u << 20)
#define GA_HDR   16 /* the block's size, kept before it */

static pthread_mutex_t ga_lock = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t ga_stats_lock = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static char *ga_cur, *ga_end;
static unsigned long ga_calls;

static void ga_die(const char *what)
{
    static const char msg[] = "guardalloc: re-entered from inside its own lock (";
    write(2, msg, sizeof msg - 1);
    write(2, what, strlen(what));
    write(2, "): a hook allocated while the allocator held its mutex\n", 56);
    abort();
}

/* trylock first, as jemalloc's malloc_mutex_lock does */
static void ga_take(pthread_mutex_t *m, const char *what)
{
    int r = pthread_mutex_trylock(m);
    if (r == EBUSY)
        r = pthread_mutex_lock(m);
    if (r == EDEADLK)
        ga_die(what);
    if (r != 0)
        abort();
}

static void ga_enter(void)
{
    ga_take(&ga_lock, "ga_lock");
    /* nested, as jemalloc takes an arena's lock inside another: the
     * hooks on these calls run while ga_lock is held */
    ga_take(&ga_stats_lock, "ga_stats_lock");
    ga_calls++;
    pthread_mutex_unlock(&ga_stats_lock);
}

static void *ga_alloc(size_t n, size_t align)
{
    char *p = NULL;

    if (align < GA_HDR)
        align = GA_HDR;
    if (n > GA_CHUNK / 2 || (align & (align - 1)))
        return NULL;
    ga_enter();
    uintptr_t at = ((uintptr_t)ga_cur + GA_HDR + align - 1) & ~(uintptr_t)(align - 1);
    if (!ga_cur || at + n > (uintptr_t)ga_end) {
        char *c = mmap(NULL, GA_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (c == MAP_FAILED)
            goto out;
        ga_cur = c;
        ga_end = c + GA_CHUNK;
        at = ((uintptr_t)ga_cur + GA_HDR + align - 1) & ~(uintptr_t)(align - 1);
    }
    p = (char *)at;
    memcpy(p - GA_HDR, &n, sizeof n);
    ga_cur = p + n;
out:
    pthread_mutex_unlock(&ga_lock);
    return p;
}

static size_t ga_size(void *p)
{
    size_t n;
    memcpy(&n, (char *)p - GA_HDR, sizeof n);
    return n;
}

void *malloc(size_t n)
{
    return ga_alloc(n ? n : 1, GA_HDR);
}

void free(void *p)
{
    if (!p)
        return;
    ga_enter();
    pthread_mutex_unlock(&ga_lock);
}

void *calloc(size_t a, size_t b)
{
    if (b && a > SIZE_MAX / b)
        return NULL;
    return malloc(a * b); /* fresh mmap memory is zero and never reused */
}

void *realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q && p) {
        size_t old = ga_size(p);
        memcpy(q, p, old < n ? old : n);
        free(p);
    }
    return q;
}

void *reallocarray(void *p, size_t a, size_t b)
{
    return b && a > SIZE_MAX / b ? NULL : realloc(p, a * b);
}

void *memalign(size_t align, size_t n)
{
    return ga_alloc(n ? n : 1, align);
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(pg, (n + pg - 1) & ~(pg - 1));
}

size_t malloc_usable_size(void *p)
{
    return p ? ga_size(p) : 0;
}

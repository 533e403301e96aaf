/*
 * real_pq.c - find the libpq the program loaded, wherever it was loaded.
 *
 * libwedge.so does not link libpq.  A program linked against it (psql,
 * pgbench, the shop) has it in the global scope, where dlsym(RTLD_NEXT)
 * finds it already in the constructor.  Python loads psycopg2's extension
 * module, and libpq with it, RTLD_LOCAL: those symbols are in no global
 * scope and RTLD_NEXT cannot see them.  Our PQ* wrappers are called all
 * the same (a preloaded library comes first in every lookup scope), so
 * the first wrapper call looks for libpq among the loaded objects
 * (dl_iterate_phdr), takes a handle on each with dlopen(RTLD_NOLOAD) and
 * asks it for PQconnectdb: the first object that answers with a
 * definition other than ours leads to the libpq.  Objects named libpq*
 * are asked first; then every object (a libpq renamed inside a Python
 * wheel, or one reached only as another object's dependency: dlsym on a
 * handle searches that object's dependencies too).  Every libpq pointer
 * then comes from that one handle, which is kept: the object can never
 * be unloaded under the pointers.
 *
 * When: the constructor tries RTLD_NEXT only (real_load).  The search runs
 * from the slow path of a libpq wrapper, the first call after whatever
 * dlopen brought libpq in; never from the libc wrappers' resolution, where
 * a pthread_mutex_lock called by an allocator must not end in dlopen.
 *
 * Guards, and the deadlock each prevents:
 *
 *  - dlopen is never called inside the dl_iterate_phdr callback.  The
 *    callback runs under the loader's dl_load_write_lock; dlopen takes
 *    dl_load_lock and then dl_load_write_lock, and a thread inside dlopen
 *    holds them in that order: calling dlopen from the callback would
 *    deadlock against it.  The callback only copies one name into a
 *    buffer on our stack (no allocation) and stops.
 *
 *  - No lock of our own.  Threads that race here each search; the first
 *    handle published (compare-and-swap) is the one every thread then
 *    reads its pointers from, so pointers of two libpqs never mix.
 *
 *  - wg_in_shim is raised while searching, as in real_load: a wrapper that
 *    dlopen or dlsym call (malloc taking a mutex) passes straight through.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <string.h>

#include "real.h"

/* The libpq rows' pointers (real.h). */
#define W_PQ(name, ...) real_##name##_t real_##name;
#define W_PQ_OPT        W_PQ
#include "wrappers.def"

/* Where the libpq group comes from: RTLD_NEXT or a dlopen handle. */
static void *_Atomic real_pq_src;
/* How many loaded objects the last failed search asked (for the message). */
static _Atomic int real_pq_asked;

/* The fallbacks of the W_PQ_OPT rows (wrappers.def). */
static PGpipelineStatus real_pq_no_pipeline(const PGconn *conn)
{
    (void)conn;
    return PQ_PIPELINE_OFF;
}
#define real_pq_fallback_PQpipelineStatus real_pq_no_pipeline

/* ---------------------------------------------------------------
 * The loaded objects, one at a time.
 * ------------------------------------------------------------ */
struct real_pq_walk {
    int want;       /* report the want-th object that qualifies */
    int seen;       /* objects that qualified so far */
    int libpq_only; /* only objects whose file name starts "libpq" */
    char name[PATH_MAX];
};

static int real_pq_named_libpq(const char *path)
{
    const char *b = strrchr(path, '/');

    b = b ? b + 1 : path;
    return !strncmp(b, "libpq", 5) && (b[5] == '.' || b[5] == '-');
}

/* 1 when addr lies in one of the object's loaded segments. */
static int real_pq_contains(const struct dl_phdr_info *info, const void *addr)
{
    uintptr_t a = (uintptr_t)addr;

    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && a >= lo && a - lo < ph->p_memsz)
            return 1;
    }
    return 0;
}

/* Runs under the loader lock: copy a name, nothing else (see the top). */
static int real_pq_walk_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct real_pq_walk *w = arg;
    const char *n = info->dlpi_name;
    size_t len;

    (void)size;
    /* The main program (no name: RTLD_NEXT does not search it, and a
     * handle on it is the global scope, where our wrappers come first),
     * the vDSO, and libwedge.so itself are never libpq. */
    if (!n || n[0] != '/' || real_pq_contains(info, (const void *)real_pq_walk_cb))
        return 0;
    if (w->libpq_only && !real_pq_named_libpq(n))
        return 0;
    if (w->seen++ < w->want)
        return 0;
    len = strlen(n);
    if (len < sizeof w->name)
        memcpy(w->name, n, len + 1);
    return 1;
}

/* A handle on the loaded object that leads to libpq, or NULL.  *asked
 * counts the objects asked. */
static void *real_pq_search(int *asked)
{
    struct real_pq_walk w;
    void *mine = (void *)&PQconnectdb; /* our wrapper: never the answer */

    *asked = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < 4096; k++) {
            w = (struct real_pq_walk){.want = k, .libpq_only = pass == 0};
            if (!dl_iterate_phdr(real_pq_walk_cb, &w))
                break; /* no k-th object: this pass is done */
            if (!w.name[0])
                continue;
            void *h = dlopen(w.name, RTLD_NOLOAD | RTLD_LAZY);
            if (!h)
                continue;
            ++*asked;
            void *p = dlsym(h, "PQconnectdb");
            if (p && p != mine)
                return h;
            dlclose(h);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------
 * Resolution.
 * ------------------------------------------------------------ */
/* The source of the group: the published one, else RTLD_NEXT, else (when
 * search) a searched handle, published here.  NULL: no libpq loaded. */
static void *real_pq_source(int search)
{
    void *src = atomic_load_explicit(&real_pq_src, memory_order_acquire);
    void *expected = NULL;
    int asked = 0;

    if (src)
        return src;
    if (dlsym(RTLD_NEXT, "PQconnectdb"))
        src = RTLD_NEXT;
    else if (search)
        src = real_pq_search(&asked);
    if (!src) {
        if (search)
            atomic_store_explicit(&real_pq_asked, asked, memory_order_relaxed);
        return NULL;
    }
    if (!atomic_compare_exchange_strong_explicit(&real_pq_src, &expected, src, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        if (src != RTLD_NEXT)
            dlclose(src); /* another thread published first: use its */
        src = expected;
    }
    return src;
}

int real_pq_load(int search)
{
    int saved = errno;
    void *src;

    wg_in_shim++;
    src = real_pq_source(search);
    if (src) {
#define W_PQ(name, ...)                                   \
    if (!__atomic_load_n(&real_##name, __ATOMIC_RELAXED)) \
        __atomic_store_n(&real_##name, (real_##name##_t)dlsym(src, #name), __ATOMIC_RELAXED);
#define W_PQ_OPT(name, ...)                                                                  \
    if (!__atomic_load_n(&real_##name, __ATOMIC_RELAXED)) {                                  \
        real_##name##_t p_ = (real_##name##_t)dlsym(src, #name);                             \
        __atomic_store_n(&real_##name, p_ ? p_ : real_pq_fallback_##name, __ATOMIC_RELAXED); \
    }
#include "wrappers.def"
    }
    wg_in_shim--;
    errno = saved;
    return src ? 0 : -1;
}

/* real_slow for a libpq symbol: resolve, or stop the process naming it. */
static void *real_pq_slow(void **slot, const char *name)
{
    Dl_info di;
    void *p;
    char num[16];
    int i = (int)sizeof num - 1, asked;

    if (real_pq_load(1) == 0 && (p = __atomic_load_n(slot, __ATOMIC_RELAXED)))
        return p;
    if (real_pq_load(0) == 0) {
        /* libpq is there, this function is not: an older libpq. */
        void *any = (void *)__atomic_load_n(&real_PQconnectdb, __ATOMIC_RELAXED);
        const char *parts[] = {
            "wedge: cannot resolve ", name,
            ": the loaded libpq (",   any && dladdr(any, &di) && di.dli_fname ? di.dli_fname : "?",
            ") does not define it",   NULL};
        real_die(parts);
    }
    asked = atomic_load_explicit(&real_pq_asked, memory_order_relaxed);
    num[i] = '\0';
    do
        num[--i] = (char)('0' + asked % 10);
    while ((asked /= 10) && i > 0);
    const char *parts[] = {"wedge: cannot resolve ",
                           name,
                           ": no libpq is loaded (neither the global scope nor any of the ",
                           num + i,
                           " loaded objects asked defines PQconnectdb)",
                           NULL};
    real_die(parts);
}

/* Each libpq row's slow half: look for libpq, or stop naming the symbol. */
#define W_PQ(name, ...)                                                     \
    real_##name##_t real_slow_##name(void)                                  \
    {                                                                       \
        return (real_##name##_t)real_pq_slow((void **)&real_##name, #name); \
    }
#define W_PQ_OPT W_PQ
#include "wrappers.def"

/*
 * real.c - resolve the real symbols, in one place (as mutrace's
 * load_functions): dlsym(RTLD_NEXT) for plain symbols, dlvsym for the
 * versioned pthread_cond_* family.  libpq, which may live outside the
 * global scope, has its own finder beside this file (real_pq.c).
 *
 * Guards, and the deadlock each prevents:
 *
 *  - No lock and no pthread_once around the resolution.  A thread that
 *    calls a wrapper while it holds the loader lock (a library constructor
 *    running inside dlopen) would block on our once-lock, while the thread
 *    inside the once waits in dlsym for that same loader lock.  Instead
 *    every thread that finds a pointer unset resolves the table itself;
 *    dlsym is thread-safe and all threads store the same values.
 *
 *  - A per-thread `resolving` flag.  dlsym may call back into functions we
 *    wrap (older glibcs took pthread_mutex_lock through the PLT in dlerror
 *    and the TLS setup; sanitizer runtimes do too).  Without the flag, the
 *    nested call would find its pointer unset, re-enter real_load, call
 *    dlsym again and recurse until the stack is gone, or, with a once-lock,
 *    wait on itself.  While the flag is set, the mutex functions fall back
 *    to glibc's own __pthread_mutex_* entry points, bound at link time.
 *
 *  - wg_in_shim is raised while resolving, so a wrapper called from inside
 *    dlsym passes straight through and never evaluates rules.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

/* The libc rows' pointers; the libpq rows' are real_pq.c's. */
#define W_LIBC(name, ...) real_##name##_t real_##name;
#define W_LIBC_OPT        W_LIBC
#define W_MUTEX           W_LIBC
#include "wrappers.def"

static __thread int real_resolving __attribute__((tls_model("initial-exec")));

/* glibc's own mutex entry points (a compat version kept for old binaries),
 * bound at link time: they need no dlsym, so they work while dlsym runs.
 * wg_libc_pthread_mutex_lock is __pthread_mutex_lock@GLIBC_2.2.5, etc. */
#define W_MUTEX(name, version, ret, params, ...) \
    extern ret wg_libc_##name params;            \
    __asm__(".symver wg_libc_" #name ",__" #name "@GLIBC_2.2.5");
#include "wrappers.def"

static void real_die_sym(const char *name, const char *what)
{
    const char *parts[] = {"wedge: cannot resolve ", name, ": ", what, NULL};
    real_die(parts);
}

/* The real `name` from RTLD_NEXT, of the given symbol version if any. */
static void real_resolve(void **slot, const char *name, const char *version)
{
    if (!__atomic_load_n(slot, __ATOMIC_RELAXED))
        __atomic_store_n(slot, version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name),
                         __ATOMIC_RELAXED);
}

void real_load(void)
{
    int saved = errno;
    real_resolving++;
    wg_in_shim++;

#define W_LIBC(name, version, ...) real_resolve((void **)&real_##name, #name, version);
#define W_LIBC_OPT                 W_LIBC
#define W_MUTEX                    W_LIBC
#include "wrappers.def"

    /* Every libc symbol must be there (but the optional rows): a wrapper
     * with no real function would turn a testing tool into a crash at the
     * first call. */
#define W_LIBC(name, ...) \
    if (!real_##name)     \
        real_die_sym(#name, "not found in libc (dlsym RTLD_NEXT)");
#define W_MUTEX W_LIBC
#include "wrappers.def"

    /* libpq when it is in the global scope; a libpq loaded RTLD_LOCAL
     * (now or later) is searched for by the first libpq wrapper call. */
    real_pq_load(0);

    wg_in_shim--;
    real_resolving--;
    errno = saved;
}

/* A wrapper found its pointer unset.  Resolve (unless this thread is
 * already resolving: then only the bootstrap fallbacks can help). */
static void *real_slow(void **slot, const char *name, void *bootstrap)
{
    if (real_resolving) {
        if (bootstrap)
            return bootstrap;
        real_die_sym(name, "called while resolving symbols");
    }
    real_load();
    void *p = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (!p)
        real_die_sym(name, "not found (is the library that defines it loaded?)");
    return p;
}

/* Each libc row's slow half: resolve the table (the mutex rows with their
 * bootstrap fallback).  The libpq rows' look for libpq (real_pq.c). */
#define W_LIBC(name, ...)                                                      \
    real_##name##_t real_slow_##name(void)                                     \
    {                                                                          \
        return (real_##name##_t)real_slow((void **)&real_##name, #name, NULL); \
    }
#define W_LIBC_OPT W_LIBC
#define W_MUTEX(name, ...)                                                                       \
    real_##name##_t real_slow_##name(void)                                                       \
    {                                                                                            \
        return (real_##name##_t)real_slow((void **)&real_##name, #name, (void *)wg_libc_##name); \
    }
#include "wrappers.def"

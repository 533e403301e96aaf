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

#define WG_REAL_DEFINE(ret, name, params) real_##name##_t real_##name;
WG_REAL_ALL(WG_REAL_DEFINE)
#undef WG_REAL_DEFINE

static __thread int real_resolving __attribute__((tls_model("initial-exec")));

/* glibc's own mutex entry points (a compat version kept for old binaries),
 * bound at link time: they need no dlsym, so they work while dlsym runs. */
extern int wg_libc_pthread_mutex_lock(pthread_mutex_t *m);
extern int wg_libc_pthread_mutex_trylock(pthread_mutex_t *m);
extern int wg_libc_pthread_mutex_unlock(pthread_mutex_t *m);
__asm__(".symver wg_libc_pthread_mutex_lock,__pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver wg_libc_pthread_mutex_trylock,__pthread_mutex_trylock@GLIBC_2.2.5");
__asm__(".symver wg_libc_pthread_mutex_unlock,__pthread_mutex_unlock@GLIBC_2.2.5");

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

static void real_die_sym(const char *name, const char *what)
{
    const char *parts[] = {"wedge: cannot resolve ", name, ": ", what, NULL};
    real_die(parts);
}

void real_load(void)
{
    int saved = errno;
    real_resolving++;
    wg_in_shim++;

#define WG_RESOLVE(ret, name, params)                     \
    if (!__atomic_load_n(&real_##name, __ATOMIC_RELAXED)) \
        __atomic_store_n(&real_##name, (real_##name##_t)dlsym(RTLD_NEXT, #name), __ATOMIC_RELAXED);
#define WG_RESOLVE_VERSIONED(ret, name, params)                                                    \
    if (!__atomic_load_n(&real_##name, __ATOMIC_RELAXED))                                          \
        __atomic_store_n(&real_##name, (real_##name##_t)dlvsym(RTLD_NEXT, #name, WG_COND_VERSION), \
                         __ATOMIC_RELAXED);

    WG_REAL_LIBC(WG_RESOLVE)
    WG_REAL_MUTEX(WG_RESOLVE)
    WG_REAL_VERSIONED(WG_RESOLVE_VERSIONED)
    WG_REAL_OPTIONAL(WG_RESOLVE)
#undef WG_RESOLVE
#undef WG_RESOLVE_VERSIONED

    /* Every libc symbol must be there: a wrapper with no real function
     * would turn a testing tool into a crash at the first call. */
#define WG_CHECK(ret, name, params) \
    if (!real_##name)               \
        real_die_sym(#name, "not found in libc (dlsym RTLD_NEXT)");
    WG_REAL_LIBC(WG_CHECK)
    WG_REAL_MUTEX(WG_CHECK)
    WG_REAL_VERSIONED(WG_CHECK)
#undef WG_CHECK

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

#define WG_SLOW(ret, name, params)                                             \
    real_##name##_t real_slow_##name(void)                                     \
    {                                                                          \
        return (real_##name##_t)real_slow((void **)&real_##name, #name, NULL); \
    }
WG_REAL_LIBC(WG_SLOW)
WG_REAL_VERSIONED(WG_SLOW)
WG_REAL_OPTIONAL(WG_SLOW)
#undef WG_SLOW

#define WG_SLOW_PQ(ret, name, params)                                       \
    real_##name##_t real_slow_##name(void)                                  \
    {                                                                       \
        return (real_##name##_t)real_pq_slow((void **)&real_##name, #name); \
    }
WG_REAL_PQ_ALL(WG_SLOW_PQ)
#undef WG_SLOW_PQ

#define WG_SLOW_MUTEX(ret, name, params)                                                         \
    real_##name##_t real_slow_##name(void)                                                       \
    {                                                                                            \
        return (real_##name##_t)real_slow((void **)&real_##name, #name, (void *)wg_libc_##name); \
    }
WG_REAL_MUTEX(WG_SLOW_MUTEX)
#undef WG_SLOW_MUTEX

/*
 * pthread.c - the pthread wrappers: mutex.lock, mutex.trylock,
 * mutex.unlock, rwlock.*, cond.wait, cond.signal, thread.create.
 *
 * pthread_cond_* reach the GLIBC_2.3.2 implementations (real.c resolves
 * them with dlvsym); our unversioned definitions satisfy a program's
 * versioned references.  A program linked against the GLIBC_2.2.5
 * compatibility versions (binaries from before 2002) is not supported.
 *
 * The pthread functions report errors by return value and leave errno
 * alone; so do these wrappers.  `fail ERRNO` returns ERRNO; the parser
 * (rules_check.c) accepts it on a pthread hook only as fail EBUSY on
 * mutex.trylock (any other errno is for sock hooks; fail ETIMEDOUT on
 * cond.wait and fail EAGAIN on thread.create are rejected); `spurious` on cond.wait releases the mutex, yields,
 * takes it again and returns 0 without waiting, as a real spurious wakeup
 * does (POSIX allows it): a correct `while` loop still lets the signalling
 * thread take the mutex and finishes; an `if` goes on with nothing ready.
 *
 * What a spurious wakeup costs: at most one in a row.  The wait that
 * follows a spurious return, by the same thread on the same condition
 * variable, is a real one (the rule does not apply to it: match.c), and
 * the next may be spurious again once the thread has really been woken
 * (or has timed out).  Before, `spurious on cond.wait` on every wait
 * turned each correct `while` loop into a loop of spurious returns at
 * full CPU, with a trace line each (25 GB in 10 minutes); now such a loop
 * makes at most two waits and one trace line per real wakeup.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "real.h"

static uint64_t pth_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The caller's address, for the profile: set by the slow half (see
 * pth_caller) before the real call. */
static __thread void *pth_site __attribute__((tls_model("initial-exec")));

/* The program's call site, from a slow half.  The fast half tail-jumps
 * to it in an optimised build, so its return address is the program's;
 * without optimisation the fast half calls it, the return address lies in
 * the wrapper `fast`, and the program's is one frame up (frame pointers
 * are on everywhere: -fno-omit-frame-pointer).  Taking it in the fast
 * half instead would cost every idle call a stack frame. */
static inline void *pth_caller(void *ra, void *fast, void *frame)
{
    void **up = frame ? ((void **)frame)[0] : NULL;

    if ((uintptr_t)ra - (uintptr_t)fast < 256 && up)
        return up[1];
    return ra;
}

/* The real lock, with the contention profile: try first; only a lock that
 * was busy is timed (as mutrace does).  `site` is the caller's address. */
static int pth_lock_profiled(pthread_mutex_t *m, void *site)
{
    int r = REAL(pthread_mutex_trylock)(m);
    uint64_t t0;

    if (r != EBUSY) {
        if (r == 0 && trace_enabled()) {
            wg_in_shim++;
            trace_mutex_wait(site, 0, 0);
            wg_in_shim--;
        }
        return r;
    }
    t0 = pth_now_ns();
    r = REAL(pthread_mutex_lock)(m);
    wg_in_shim++;
    trace_mutex_wait(site, pth_now_ns() - t0, 1);
    wg_in_shim--;
    return r;
}

/* The condition variable this thread's last wait returned from
 * spuriously, until a real wait on it returns. */
static __thread const void *pth_spurious_cv __attribute__((tls_model("initial-exec")));

/* A real wait on cv returned: its next wait may be spurious again. */
static inline void pth_woken(const void *cv)
{
    if (cv && cv == pth_spurious_cv)
        pth_spurious_cv = NULL;
}

/* The `before` rules.  Returns -1 to go on with the real call, otherwise
 * the value the wrapper returns instead of calling it.  cv: the condition
 * variable of a cond.wait, else NULL. */
static int pth_before(struct wg_call *c, int hook, const void *obj, pthread_mutex_t *m,
                      const void *cv)
{
    struct wg_verdict v;

    *c = (struct wg_call){
        .hook = hook, .fd = -1, .obj = obj, .no_spurious = cv && cv == pth_spurious_cv};
    if (!wg_eval(c, WG_BEFORE, &v))
        return -1;
    if (v.action == WG_ACT_FAIL_ERRNO)
        return v.err;
    if (v.action == WG_ACT_SPURIOUS && hook == WG_HOOK_COND_WAIT && m) {
        /* A real spurious wakeup: the mutex is released and taken again,
         * so that a correct `while` loop lets the signalling thread in. */
        REAL(pthread_mutex_unlock)(m);
        sched_yield();
        REAL(pthread_mutex_lock)(m);
        pth_spurious_cv = cv;
        return 0;
    }
    return -1;
}

/* The `after` rules on the real call's result r. */
static int pth_after(struct wg_call *c, int r)
{
    struct wg_verdict v;

    if ((wg_after_hooks >> c->hook & 1) && wg_eval(c, WG_AFTER, &v) &&
        v.action == WG_ACT_FAIL_ERRNO)
        return v.err;
    return r;
}

/* X(name, HOOK, params, args, the mutex a cond.wait releases or NULL,
 *   the real call) */
/* The object a call is traced with ("obj"): the mutex a cond.wait
 * releases and retakes, else the first argument (the lock, the condition);
 * none for thread.create. */
#define PTH_FIRST(a, ...) (const void *)(a)
#define PTH_OBJ(hook, mx, args) \
    ((hook) == WG_HOOK_THREAD_CREATE ? NULL : (mx) ? (const void *)(mx) : PTH_FIRST args)
/* The condition variable of a cond.wait (its first argument), else NULL. */
#define PTH_CV(hook, args) ((hook) == WG_HOOK_COND_WAIT ? PTH_FIRST args : NULL)

#define PTH_WRAP(name, hook, params, args, mx, realcall)                                           \
    WG_SLOW_PATH int pth_slow_##name params                                                        \
    {                                                                                              \
        struct wg_call call;                                                                       \
        pth_site =                                                                                 \
            pth_caller(__builtin_return_address(0), (void *)name, __builtin_frame_address(0));     \
        if (!WG_RULED(WG_HOOK_##hook)) { /* armed for tracing only */                              \
            wg_count(WG_HOOK_##hook);                                                              \
            return realcall;                                                                       \
        }                                                                                          \
        const void *cv_ = PTH_CV(WG_HOOK_##hook, args);                                            \
        int early = pth_before(&call, WG_HOOK_##hook, PTH_OBJ(WG_HOOK_##hook, mx, args), mx, cv_); \
        if (early >= 0)                                                                            \
            return early;                                                                          \
        int r_ = realcall;                                                                         \
        pth_woken(cv_);                                                                            \
        return pth_after(&call, r_);                                                               \
    }                                                                                              \
    __attribute__((visibility("default"))) int name params                                         \
    {                                                                                              \
        if (!atomic_load_explicit(&wg_armed[WG_HOOK_##hook], memory_order_relaxed) || wg_in_shim)  \
            return REAL(name) args;                                                                \
        return pth_slow_##name args;                                                               \
    }

/* One wrapper per PTH row of wrappers.def; its SHAPE (mutex, call) says
 * which mutex a cond.wait releases and how the real call is made. */
#define PTH_CALL_REAL(name, args)     REAL(name) args
#define PTH_ARG1(a, ...)              (a)
#define PTH_CALL_PROFILED(name, args) pth_lock_profiled(PTH_ARG1 args, pth_site)
#define PTH_APPLY(m, ...)             m(__VA_ARGS__)
#define PTH_UNPAREN(...)              __VA_ARGS__
#define PTH_ROW(name, params, args, hook, mx, call) \
    PTH_WRAP(name, hook, params, args, mx, call(name, args))
#define PTH_BODY_PTH(name, params, args, hook, shape) \
    PTH_APPLY(PTH_ROW, name, params, args, hook, PTH_UNPAREN shape)
#define PTH_BODY_SOCK(...)
#define PTH_BODY_HAND(...)
#define PTH_BODY_CALL(...)
#define W_LIBC(name, version, ret, params, args, hook, fail, body, shape) \
    PTH_BODY_##body(name, params, args, hook, shape)
#define W_MUTEX W_LIBC
#include "wrappers.def"

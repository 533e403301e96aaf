/*
 * caller.c - `caller ~ "re"`: a function on the current call stack; and
 * the stack names of trace events.
 *
 * A hook can run inside the program's allocator (jemalloc locks pthread
 * mutexes while it allocates), so nothing here allocates, locks or makes
 * a system call once the process has started:
 *
 *  - Names come from sym.c's tables, built at start and after dlopen.
 *  - Patterns are matched at start, not in the hook: every distinct
 *    `caller ~` pattern is a bit, and each name in the tables carries the
 *    bits of the patterns it matches (glibc's regexec allocates).  A hook
 *    only tests a bit per frame.
 *  - Return addresses come from libunwind's unw_backtrace, whose per-thread
 *    frame cache lives in memory from mmap.  Its DWARF register-state
 *    cache is set per thread (UNW_CACHE_PER_THREAD) so that no libunwind
 *    lock is taken, and libunwind is initialised at start (its pthread
 *    key, its memory-validation pipe) rather than in the first hook.
 *    libunwind still reads the loader's object list (dl_iterate_phdr) for
 *    a frame it has not seen: that is glibc's loader lock, which the
 *    program holds only inside dlopen/dlclose and its own
 *    dl_iterate_phdr callbacks.
 *  - The bits of a return address are cached in a lock-free direct-mapped
 *    table (a per-slot sequence lock), tagged with the symbol list's
 *    generation so that a dlopen invalidates it.
 *
 * The shim's own frames (the wrapper, the engine, this file) are skipped
 * so that `caller ~ "send"` means the application's send.
 */
#define UNW_LOCAL_ONLY
#include "wedge_shim.h"
#include "sym.h"

#include <libunwind.h>
#include <stdio.h>
#include <string.h>

#define CALLER_MAX_FRAMES 32           /* frames of the application looked at */
#define CALLER_MAX_RAW    64           /* frames unwound, the shim's own included */
#define CALLER_SLOTS      4096         /* power of two */
#define CALLER_SELF       (1ull << 63) /* mask bit: a frame of the shim */
#define CALLER_BUSY       ((uintptr_t)1)

/* Tests that link this file into their own binary clear it. */
static int caller_skip_self = 1;
static const regex_t *caller_re[SYM_MAX_PATTERNS];
static const char *caller_text[SYM_MAX_PATTERNS];
static int caller_npat;
static _Atomic unsigned long caller_walks; /* stack walks taken (tests) */

struct caller_slot {
    _Atomic uintptr_t key; /* ip | generation << 48; 0 free; CALLER_BUSY being written */
    _Atomic uint64_t mask;
};
static struct caller_slot caller_cache[CALLER_SLOTS];

/* Return addresses of the current stack, innermost first; ips[0] lies in
 * the function that asks.  libunwind's unw_backtrace (its fast trace, with
 * a frame cache per thread) normally.  Under ThreadSanitizer a cursor is
 * stepped instead: the frame cache is freed by a thread-exit destructor
 * that runs after ThreadSanitizer has torn the thread down, and its
 * pthread_mutex_lock then crashes the sanitizer's interceptor. */
#if defined(__SANITIZE_THREAD__)
#define CALLER_STEP 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CALLER_STEP 1
#endif
#endif
#ifdef CALLER_STEP
#define caller_backtrace(ips, max)                                           \
    __extension__({                                                          \
        unw_context_t ctx_;                                                  \
        unw_cursor_t cur_;                                                   \
        unw_word_t ip_;                                                      \
        int n_ = 0;                                                          \
        if (unw_getcontext(&ctx_) == 0 && unw_init_local(&cur_, &ctx_) == 0) \
            do {                                                             \
                if (unw_get_reg(&cur_, UNW_REG_IP, &ip_) != 0 || ip_ == 0)   \
                    break;                                                   \
                (ips)[n_++] = (void *)ip_;                                   \
            } while (n_ < (max) && unw_step(&cur_) > 0);                     \
        n_;                                                                  \
    })
#else
#define caller_backtrace(ips, max) unw_backtrace(ips, max)
#endif

/* ---------------------------------------------------------------
 * At start: patterns, tables, libunwind.
 * ------------------------------------------------------------ */
static uint64_t caller_classify(const char *name)
{
    uint64_t m = 0;

    for (int k = 0; k < caller_npat; k++)
        if (regexec(caller_re[k], name, 0, NULL, 0) == 0)
            m |= 1ull << k;
    return m;
}

static void caller_unwind_init(void)
{
    void *ips[4] __attribute__((unused)); /* only the walk matters */

    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    caller_backtrace(ips, 4);
}

/* The bit of each distinct pattern, in cd->pre. */
static int caller_assign(struct wg_ruleset *rs, const char *origin, char *err, size_t errlen)
{
    caller_npat = 0;
    for (int i = 0; i < rs->n; i++) {
        for (int c = 0; c < rs->rules[i].ncond; c++) {
            struct wg_cond *cd = &rs->rules[i].conds[c];
            int k = 0;
            if (cd->kind != WG_COND_CALLER)
                continue;
            while (k < caller_npat && strcmp(caller_text[k], cd->text) != 0)
                k++;
            if (k == caller_npat) {
                if (k == SYM_MAX_PATTERNS) {
                    snprintf(err, errlen,
                             "%s:%d:%d: more than %d different caller ~ patterns; join some "
                             "with '|'",
                             origin, cd->line, cd->col, SYM_MAX_PATTERNS);
                    return -1;
                }
                caller_re[k] = &cd->re;
                caller_text[k] = cd->text;
                caller_npat++;
            }
            cd->pre = k;
        }
    }
    return 0;
}

/* A pattern no known function matches would silently never fire (or,
 * negated, always hold): say so at start. */
static void caller_warn_unmatched(const struct wg_ruleset *rs, const char *origin,
                                  void (*warn)(const char *msg))
{
    uint64_t all;
    unsigned nobjs;
    unsigned long nfuncs, ninl;
    char msg[512];

    sym_stats(&all, &nobjs, &nfuncs, &ninl);
    for (int i = 0; warn && i < rs->n; i++) {
        for (int c = 0; c < rs->rules[i].ncond; c++) {
            const struct wg_cond *cd = &rs->rules[i].conds[c];
            int neg = cd->cmp == WG_CMP_NOMATCH;
            if (cd->kind != WG_COND_CALLER || (all >> cd->pre & 1))
                continue;
            snprintf(msg, sizeof msg,
                     "%s:%d:%d: caller %s \"%.80s\" matches no function in %s%s (searched %lu "
                     "functions and %lu inlined ranges in %u objects; a library loaded later "
                     "is searched when dlopen loads it)",
                     origin, cd->line, cd->col, neg ? "!~" : "~", cd->text, wg_proc_name,
                     neg ? ", so the condition always holds" : "", nfuncs, ninl, nobjs);
            warn(msg);
        }
    }
}

int caller_prepare(struct wg_ruleset *rs, const char *origin, int stacks,
                   void (*warn)(const char *msg), char *err, size_t errlen)
{
    if (caller_assign(rs, origin, err, errlen) < 0)
        return -1;
    if (!caller_npat && !stacks)
        return 0;
    caller_unwind_init();
    if (sym_built())
        sym_rebuild(caller_npat ? caller_classify : NULL, 1);
    else
        sym_build(caller_npat ? caller_classify : NULL, 1);
    caller_warn_unmatched(rs, origin, warn);
    return 0;
}

/* ---------------------------------------------------------------
 * In the hook: the pattern bits of a return address, cached.
 * ------------------------------------------------------------ */
static uint64_t caller_ip_mask(uintptr_t ip)
{
    unsigned gen = atomic_load_explicit(&sym_generation, memory_order_acquire) & 0x7fff;
    uintptr_t key = ip | (uintptr_t)gen << 48, k;
    struct caller_slot *s =
        &caller_cache[(((uint64_t)ip * 0x9e3779b97f4a7c15ull) >> 40) & (CALLER_SLOTS - 1)];
    struct sym_frame f;
    uint64_t m = 0;
    int cacheable = !(ip >> 48) && ip != CALLER_BUSY;

    /* A sequence lock without fences (ThreadSanitizer does not model
     * them): the mask is read with acquire, so the second read of the key
     * cannot move before it, and a mask written by a later writer makes
     * that writer's CALLER_BUSY visible to it. */
    k = atomic_load_explicit(&s->key, memory_order_acquire);
    if (cacheable && k == key) {
        m = atomic_load_explicit(&s->mask, memory_order_acquire);
        if (atomic_load_explicit(&s->key, memory_order_relaxed) == key)
            return m;
    }
    m = 0;
    if (sym_find(ip, &f)) {
        m = sym_frame_mask(&f);
        if (f.obj->flags & SYM_SELF)
            m |= CALLER_SELF;
    }
    if (cacheable && k != CALLER_BUSY && atomic_compare_exchange_strong(&s->key, &k, CALLER_BUSY)) {
        atomic_store_explicit(&s->mask, m, memory_order_release);
        atomic_store_explicit(&s->key, key, memory_order_release);
    }
    return m;
}

int caller_match(int bit, int want_match)
{
    void *ips[CALLER_MAX_RAW];
    int n, seen = 0, found = 0;

    atomic_fetch_add_explicit(&caller_walks, 1, memory_order_relaxed);
    n = caller_backtrace(ips, CALLER_MAX_RAW);
    /* ips[0] lies in this function; the others are return addresses, so
     * ip - 1 is inside the call instruction (and its inline context) */
    for (int i = 1; i < n && seen < CALLER_MAX_FRAMES && !found; i++) {
        uint64_t m = caller_ip_mask((uintptr_t)ips[i] - 1);
        if (caller_skip_self && (m & CALLER_SELF))
            continue;
        seen++;
        found = (int)(m >> bit & 1);
    }
    return want_match ? found : !found;
}

/* ---------------------------------------------------------------
 * Stack names for the trace.
 * ------------------------------------------------------------ */

/* The frames at the outer end of a stack that only start a thread
 * (_start, __libc_start_main's helpers, start_thread, clone3): from the
 * outermost inward, frames of the C library (and the program's own
 * outermost one) that have no exact name.  Marked in start[]. */
static void caller_mark_start(const struct sym_frame *fr, int nf, char *start)
{
    for (int k = nf - 1; k >= 0; k--) {
        const struct sym_obj *o = fr[k].obj;
        if (!o || !((o->flags & SYM_LIBC) || (k == nf - 1 && (o->flags & SYM_MAIN))))
            break;
        start[k] = !fr[k].fn || fr[k].fn->guess;
    }
}

int caller_stack(const char **names, int max, char *buf, size_t buflen)
{
    void *ips[CALLER_MAX_RAW];
    struct sym_frame fr[CALLER_MAX_FRAMES];
    char start[CALLER_MAX_FRAMES] = {0};
    int n = caller_backtrace(ips, CALLER_MAX_RAW), nf = 0, out = 0, i;
    size_t used = 0;

    for (i = 1; i < n && nf < CALLER_MAX_FRAMES; i++) {
        sym_find((uintptr_t)ips[i] - 1, &fr[nf]);
        if (caller_skip_self && fr[nf].obj && (fr[nf].obj->flags & SYM_SELF))
            continue;
        nf++;
    }
    if (i == n && n < CALLER_MAX_RAW) /* the walk reached the end of the stack */
        caller_mark_start(fr, nf, start);
    for (int k = 0; k < nf && out < max; k++) {
        if (start[k]) {
            if (!k || !start[k - 1])
                names[out++] = "(thread start)";
            continue;
        }
        int got = sym_frame_names(&fr[k], names + out, max - out, buf + used, buflen - used);
        for (int j = out; j < out + got; j++)
            if (names[j] == buf + used && used < buflen)
                used += strlen(buf + used) + 1;
        out += got;
        if (used >= buflen) /* no room left for a formatted name */
            break;
    }
    return out;
}

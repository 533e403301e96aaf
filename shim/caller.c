/*
 * caller.c - `caller ~ "re"`: a function on the current call stack.
 *
 * libunwind local unwinding.  Each frame's function name is cached per
 * return address in a fixed-size, lock-free open-addressing table (CAS on
 * the key) whose names live in a static arena (atomic bump pointer).  A
 * walk takes the return addresses with unw_backtrace and their names from
 * the cache; only a stack with an address not seen before is stepped with
 * a cursor, which can name it.  When the table or the arena is full,
 * names are looked up uncached: slower, never wrong.  The shim's own frames (the wrapper,
 * the engine, this file) are skipped so that `caller ~ "send"` means the
 * application's send, not the shim's wrapper of it.
 *
 * libunwind may allocate on first use in a thread; the engine sets
 * wg_in_shim around the walk so nested hooked calls pass through.
 */
#define UNW_LOCAL_ONLY
#include "wedge_shim.h"

#include <libunwind.h>
#include <link.h>
#include <string.h>

#define CALLER_MAX_FRAMES 32   /* frames of the application looked at */
#define CALLER_MAX_RAW    64   /* frames unwound, the shim's own included */
#define CALLER_SLOTS      4096 /* power of two */
#define CALLER_PROBES     16
#define CALLER_ARENA      (256 * 1024)
#define CALLER_NAME_MAX   256

struct caller_slot {
    _Atomic uintptr_t ip;       /* 0: free */
    _Atomic(const char *) name; /* NULL: being filled */
};

static struct caller_slot caller_cache[CALLER_SLOTS];
static _Atomic unsigned long caller_slow_walks; /* how often a stack was new */
static char caller_arena[CALLER_ARENA];
static _Atomic size_t caller_arena_used;

/* The text range of the object holding this file (the shim), found once.
 * Tests that link this file into their own binary clear caller_skip_self. */
static int caller_skip_self = 1;
static _Atomic uintptr_t caller_self_lo, caller_self_hi;
static _Atomic int caller_self_state; /* 0 unknown, 1 known, -1 unknown for good */

static int caller_phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    uintptr_t probe = (uintptr_t)arg;

    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo, hi;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        lo = info->dlpi_addr + ph->p_vaddr;
        hi = lo + ph->p_memsz;
        if (probe >= lo && probe < hi) {
            atomic_store(&caller_self_lo, lo);
            atomic_store(&caller_self_hi, hi);
            return 1;
        }
    }
    return 0;
}

static int caller_is_self(uintptr_t ip)
{
    int st;

    if (!caller_skip_self)
        return 0;
    st = atomic_load_explicit(&caller_self_state, memory_order_acquire);
    if (st == 0) {
        st = dl_iterate_phdr(caller_phdr_cb, (void *)(uintptr_t)&caller_is_self) ? 1 : -1;
        atomic_store_explicit(&caller_self_state, st, memory_order_release);
    }
    return st > 0 && ip >= atomic_load_explicit(&caller_self_lo, memory_order_relaxed) &&
           ip < atomic_load_explicit(&caller_self_hi, memory_order_relaxed);
}

/* Find the range at load time, so a hook never runs dl_iterate_phdr (and
 * its loader lock) for the first time from an awkward place. */
__attribute__((constructor)) static void caller_init(void)
{
    caller_is_self(0);
}

static uintptr_t caller_hash(uintptr_t ip)
{
    uint64_t z = (uint64_t)ip * 0x9e3779b97f4a7c15ull;
    return (uintptr_t)(z >> 40);
}

/* Copy a name into the arena; NULL when it is full. */
static const char *caller_intern(const char *s)
{
    size_t len = strlen(s) + 1;
    size_t off = atomic_fetch_add_explicit(&caller_arena_used, len, memory_order_relaxed);

    if (off + len > CALLER_ARENA)
        return NULL;
    memcpy(caller_arena + off, s, len);
    return caller_arena + off;
}

/* Name of the frame at cursor cur (IP ip): cached, or resolved into buf.
 * "" when libunwind knows no name. */
static const char *caller_name(unw_cursor_t *cur, uintptr_t ip, char *buf, size_t len)
{
    uintptr_t i = caller_hash(ip);
    unw_word_t off;

    for (int k = 0; k < CALLER_PROBES; k++) {
        struct caller_slot *s = &caller_cache[(i + (uintptr_t)k) & (CALLER_SLOTS - 1)];
        uintptr_t key = atomic_load_explicit(&s->ip, memory_order_acquire);
        if (key == ip) {
            const char *n = atomic_load_explicit(&s->name, memory_order_acquire);
            if (n)
                return n;
            break; /* another thread is filling it: resolve uncached */
        }
        if (key == 0) {
            uintptr_t zero = 0;
            if (atomic_compare_exchange_strong(&s->ip, &zero, ip)) {
                const char *n;
                if (unw_get_proc_name(cur, buf, len, &off) != 0)
                    buf[0] = '\0';
                n = caller_intern(buf);
                /* arena full: the slot keeps a NULL name, so later lookups of
                 * this IP resolve uncached */
                if (n)
                    atomic_store_explicit(&s->name, n, memory_order_release);
                return n ? n : buf;
            }
            if (zero == ip) {
                const char *n = atomic_load_explicit(&s->name, memory_order_acquire);
                if (n)
                    return n;
                break;
            }
        }
    }
    if (unw_get_proc_name(cur, buf, len, &off) != 0)
        buf[0] = '\0';
    return buf;
}

/* The slow walk: a libunwind cursor, which can name a frame that is not
 * cached yet (and caches it).  Its own frame and caller_walk's are left
 * out, as the fast walk leaves out caller_walk's. */
static __attribute__((noinline)) int caller_walk_slow(int (*fn)(const char *name, void *arg),
                                                      void *arg)
{
    unw_context_t ctx;
    unw_cursor_t cur;
    char buf[CALLER_NAME_MAX];
    int rc = 0;

    atomic_fetch_add_explicit(&caller_slow_walks, 1, memory_order_relaxed);
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
        return 0;
    for (int depth = 0, seen = 0; depth < CALLER_MAX_RAW && seen < CALLER_MAX_FRAMES; depth++) {
        unw_word_t ip;
        const char *name;
        if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        if (depth >= 2 && !caller_is_self((uintptr_t)ip)) {
            /* after fn is satisfied, go on naming frames: with the whole
             * stack cached, the next call from it takes the fast walk */
            name = caller_name(&cur, (uintptr_t)ip, buf, sizeof buf);
            seen++;
            if (!rc && name[0])
                rc = fn(name, arg);
        }
        if (unw_step(&cur) <= 0)
            break;
    }
    return rc;
}

/* The cached name of ip; NULL when it is not cached. */
static const char *caller_cached(uintptr_t ip)
{
    uintptr_t i = caller_hash(ip);

    for (int k = 0; k < CALLER_PROBES; k++) {
        struct caller_slot *s = &caller_cache[(i + (uintptr_t)k) & (CALLER_SLOTS - 1)];
        uintptr_t key = atomic_load_explicit(&s->ip, memory_order_acquire);
        if (key == ip)
            return atomic_load_explicit(&s->name, memory_order_acquire);
        if (key == 0)
            return NULL;
    }
    return NULL;
}

/* Walk the stack, calling fn(name, arg) for each non-shim frame with a
 * name, innermost first, until fn returns nonzero.  Returns that value.
 * The return addresses come from unw_backtrace (libunwind's fast trace,
 * some 30 times quicker than stepping a cursor); only when one of them
 * has no cached name yet does the slow walk run, once per new stack. */
static __attribute__((noinline)) int caller_walk(int (*fn)(const char *name, void *arg), void *arg)
{
    void *ips[CALLER_MAX_RAW];
    const char *names[CALLER_MAX_FRAMES];
    int n = unw_backtrace(ips, CALLER_MAX_RAW), k = 0, rc = 0;

    if (n <= 0)
        return caller_walk_slow(fn, arg);
    for (int i = 1; i < n && k < CALLER_MAX_FRAMES; i++) { /* ips[0] is in caller_walk */
        if (caller_is_self((uintptr_t)ips[i]))
            continue;
        if (!(names[k++] = caller_cached((uintptr_t)ips[i])))
            return caller_walk_slow(fn, arg);
    }
    for (int i = 0; i < k && !rc; i++)
        if (names[i][0])
            rc = fn(names[i], arg);
    return rc;
}

static int caller_match_cb(const char *name, void *arg)
{
    return regexec((const regex_t *)arg, name, 0, NULL, 0) == 0;
}

int caller_match(const regex_t *re, int want_match)
{
    int found = caller_walk(caller_match_cb, (void *)re);
    return want_match ? found : !found;
}

struct caller_collect {
    const char **names;
    int n, max;
};

static int caller_collect_cb(const char *name, void *arg)
{
    struct caller_collect *cc = arg;

    /* only cached names outlive the walk */
    if (name < caller_arena || name >= caller_arena + CALLER_ARENA)
        name = "?";
    cc->names[cc->n++] = name;
    return cc->n >= cc->max;
}

int caller_stack(const char **names, int max)
{
    struct caller_collect cc = {names, 0, max};

    if (max <= 0)
        return 0;
    caller_walk(caller_collect_cb, &cc);
    return cc.n;
}

/*
 * hooks.c - the shim's per-process state (hooks.h): armed and ruled
 * hooks, calls per hook, the rules in force and their counters, and the
 * process's identity (seed, program name, thread numbers).
 *
 * The bottom of the shim: it calls nothing above it, so init.c (which
 * fills it) and engine.c and the wrappers (which read it) never call each
 * other for state.
 */
#include "hooks.h"

#include <stdlib.h>

_Atomic int wg_armed[WG_HOOK_COUNT];
_Atomic int wg_ruled[WG_HOOK_COUNT];
_Atomic int wg_pq_ruled;
_Atomic uint64_t wg_calls[WG_HOOK_COUNT];
uint64_t wg_after_hooks;
__thread int wg_in_shim __attribute__((tls_model("initial-exec")));
__thread int wg_pq_depth __attribute__((tls_model("initial-exec")));
uint64_t wg_seed;
char wg_proc_name[64];

static const struct wg_ruleset hooks_no_rules;
const struct wg_ruleset *_Atomic wg_rules = &hooks_no_rules;
struct wg_rule_state *wg_rule_state;

static _Atomic int hooks_next_thread;
static __thread int hooks_thread_idx __attribute__((tls_model("initial-exec")));

int wg_thread_index(void)
{
    if (!hooks_thread_idx)
        hooks_thread_idx =
            atomic_fetch_add_explicit(&hooks_next_thread, 1, memory_order_relaxed) + 1;
    return hooks_thread_idx;
}

int wg_pq_busy(void)
{
    return wg_pq_depth > 0;
}

int hooks_install(const struct wg_ruleset *rs, int tracing, struct wg_rule_state *st)
{
    if (!st && rs->n > 0) {
        st = calloc((size_t)rs->n, sizeof *st);
        if (!st)
            return -1;
    }
    wg_rule_state = st;
    wg_rules = rs;
    hooks_arm(rs, tracing);
    return 0;
}

void hooks_arm(const struct wg_ruleset *rs, int tracing)
{
    uint64_t after = 0;

    for (int i = 0; i < rs->n; i++)
        if (rs->rules[i].when == WG_AFTER)
            after |= rs->rules[i].hooks;
    __atomic_fetch_or(&wg_after_hooks, after, __ATOMIC_RELAXED);
    /* Tracing arms every hook so that calls are counted and mutexes
     * profiled: it puts every hooked call on the slow path, where a hook
     * no rule names (wg_ruled) only counts. */
    for (int h = 0; h < WG_HOOK_COUNT; h++) {
        int ruled = rs->hooks >> h & 1;
        if (ruled) {
            atomic_store_explicit(&wg_ruled[h], 1, memory_order_relaxed);
            if (wg_hook_family(h) == WG_FAM_PQ)
                atomic_store_explicit(&wg_pq_ruled, 1, memory_order_relaxed);
        }
        if (ruled || tracing)
            atomic_store_explicit(&wg_armed[h], 1, memory_order_relaxed);
    }
    /* The libpq wrappers follow every statement from send to last result
     * (libpq.c): one ruled pq hook arms them all. */
    if (atomic_load_explicit(&wg_pq_ruled, memory_order_relaxed))
        for (int h = 0; h < WG_HOOK_COUNT; h++)
            if (wg_hook_family(h) == WG_FAM_PQ)
                atomic_store_explicit(&wg_armed[h], 1, memory_order_relaxed);
}

void hooks_disarm(void)
{
    for (int h = 0; h < WG_HOOK_COUNT; h++)
        atomic_store_explicit(&wg_armed[h], 0, memory_order_relaxed);
}

void hooks_atfork_child(void)
{
    for (int h = 0; h < WG_HOOK_COUNT; h++)
        atomic_store_explicit(&wg_calls[h], 0, memory_order_relaxed);
    for (int i = 0; i < wg_rules->n; i++) {
        atomic_store_explicit(&wg_rule_state[i].hits, 0, memory_order_relaxed);
        atomic_store_explicit(&wg_rule_state[i].fires, 0, memory_order_relaxed);
    }
}

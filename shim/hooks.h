/*
 * hooks.h - the shim's per-process state, at the bottom of the shim: the
 * wrappers, engine.c and init.c read it, and it calls none of them.
 *
 *   which hooks are armed (wg_armed, in wedge_shim.h) and ruled, calls
 *   per hook, the rules in force (const once installed) and their
 *   runtime counters beside them, indexed by rule.
 *
 * Written by hooks_install (the constructor, before any hook is armed)
 * and hooks_atfork_child; read lock-free everywhere else.
 */
#ifndef WEDGE_HOOKS_H
#define WEDGE_HOOKS_H

#include <stdatomic.h>
#include <stdint.h>

#include "wedge_shim.h"

/* The rules in force: never NULL (an empty set when none, or after
 * WEDGE_ON_ERROR=warn); const: nothing changes a rule once parsed.
 * `wedge ctl add` swaps in a longer copy (ctl.c, read-copy-update: the
 * old set is never freed, a hook may still read it); read it once per
 * evaluation. */
extern const struct wg_ruleset *_Atomic wg_rules;
/* Runtime counters of wg_rules->rules[i], at index i (in the control
 * file when the process is attached to one: ctl.c).  Room for every rule
 * a swap may append: the array does not move. */
extern struct wg_rule_state *wg_rule_state;
/* Calls per hook that reached the slow path (armed hooks only). */
extern _Atomic uint64_t wg_calls[WG_HOOK_COUNT];
/* Bit h set when some rule acts `after` hook h: the wrappers skip the
 * second evaluation otherwise. */
extern uint64_t wg_after_hooks;

/* 1 when the wrapper of hook h is armed. */
#define WG_ARMED(h) atomic_load_explicit(&wg_armed[(h)], memory_order_relaxed)

/* wg_ruled[h] != 0 when some rule names hook h.  Tracing arms every hook;
 * a slow half whose hook no rule names only counts the call (and profiles
 * a mutex lock) and makes the real call: none of the condition pre-work
 * (peer address, fstat, libpq statement tracking). */
extern _Atomic int wg_ruled[WG_HOOK_COUNT];
#define WG_RULED(h) atomic_load_explicit(&wg_ruled[(h)], memory_order_relaxed)
/* 1 when some rule names a pq hook: then every pq wrapper follows the
 * statements (libpq.c), which pq.query's attribution needs. */
extern _Atomic int wg_pq_ruled;
/* How deep the calling thread is inside libpq's wrappers (libpq.c):
 * libpq's calls to its own exported functions pass through them, and the
 * wire decoder (pgsess.c) leaves a send or recv made from inside one to
 * them (wg_pq_busy: 1 while the depth is not 0). */
extern __thread int wg_pq_depth __attribute__((tls_model("initial-exec")));
int wg_pq_busy(void);

/* Count one call of hook h. */
static inline void wg_count(int h)
{
    atomic_fetch_add_explicit(&wg_calls[h], 1, memory_order_relaxed);
}

/*
 * Put rs in force (rs must outlive the process's use of it) and arm the
 * hooks its rules name; with `tracing`, arm every hook so that calls are
 * counted.  The counters are st (ctl_attach's), or allocated when NULL:
 * call from the constructor, before any hook is armed.  -1 (nothing
 * armed) when the counters cannot be had.
 */
int hooks_install(const struct wg_ruleset *rs, int tracing, struct wg_rule_state *st);
/* Arm the hooks rs names (atomically, while other threads run hooks): a
 * rule added at run time may name a hook that was idle. */
void hooks_arm(const struct wg_ruleset *rs, int tracing);
/* Disarm every hook: from now on every wrapper takes its fast half. */
void hooks_disarm(void);
/* A forked child counts from zero (its trace is its own). */
void hooks_atfork_child(void);

#endif

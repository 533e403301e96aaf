/*
 * decide.c - seeded, deterministic fire decisions.
 *
 * The determinism contract (design: "Determinism"): whether hit n of rule
 * i fires is a pure function of (seed, i, n) and the rule's own fields.
 * The hit counter is per process and per rule; nothing else (time,
 * thread, address) enters the decision.  `times N` is the one stateful
 * limit: with several threads racing, which hits get the N fires follows
 * the order the threads reach the counter, but never more than N fire.
 *
 * Lock free, allocation free: called on the slow path of every hook.
 */
#include "wedge_shim.h"

static inline uint64_t decide_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t decide_hash(uint64_t seed, uint64_t rule_index, uint64_t n, uint64_t salt)
{
    /* chained, so that swapping two inputs changes the result */
    return decide_mix(seed ^ decide_mix(rule_index ^ decide_mix(n ^ decide_mix(salt))));
}

/* 1 if hash h falls under probability p: exact at the ends (p=0 never,
 * p=1 always), otherwise h < p * 2^64 as an integer threshold. */
static int decide_under(uint64_t h, double p)
{
    if (!(p > 0.0))
        return 0;
    if (p >= 1.0)
        return 1;
    /* p < 1, so p * 2^64 < 2^64 and the conversion is defined */
    return h < (uint64_t)(p * 18446744073709551616.0); /* exact: 2^64 */
}

int decide_take(const struct wg_rule *r, struct wg_rule_state *st, uint64_t seed, uint64_t *hit_out)
{
    uint64_t hit = atomic_fetch_add_explicit(&st->hits, 1, memory_order_relaxed) + 1;
    uint64_t f;

    if (hit_out)
        *hit_out = hit;
    if (r->nth && hit != r->nth)
        return 0;
    if (r->every && hit % r->every != 0)
        return 0;
    if (r->first && hit > r->first)
        return 0;
    if (r->after && hit <= r->after)
        return 0;
    if (r->has_p && !decide_under(decide_hash(seed, (uint64_t)r->index, hit, 0), r->p))
        return 0;
    if (!r->times) {
        atomic_fetch_add_explicit(&st->fires, 1, memory_order_relaxed);
        return 1;
    }
    f = atomic_load_explicit(&st->fires, memory_order_relaxed);
    do {
        if (f >= r->times)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&st->fires, &f, f + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

uint64_t decide_delay_ns(const struct wg_rule *r, uint64_t seed, uint64_t hit)
{
    uint64_t span, h;

    if (r->delay_max_ns <= r->delay_min_ns)
        return r->delay_min_ns;
    span = r->delay_max_ns - r->delay_min_ns;
    h = decide_hash(seed, (uint64_t)r->index, hit, 1);
    if (span == UINT64_MAX)
        return r->delay_min_ns + h;
    /* multiply-high: uniform over [0, span] without a division */
    return r->delay_min_ns + (uint64_t)(((unsigned __int128)h * (span + 1)) >> 64);
}

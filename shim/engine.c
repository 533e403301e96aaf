/*
 * engine.c - the slow path of every wrapper: which rules apply to this
 * call, whether they fire, and carrying out the actions that need no help
 * from the wrapper (delay, yield, barrier, mark, wait, log).  fail, short
 * and spurious go back to the wrapper in the verdict.
 *
 * Only armed hooks get here.  No lock is taken and none is held across a
 * delay or a barrier; errno is preserved; a delay is a cancellation point.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "real.h"

static const char *const engine_action_names[] = {
    [WG_ACT_DELAY] = "delay",
    [WG_ACT_FAIL_ERRNO] = "fail",
    [WG_ACT_FAIL_SQLSTATE] = "fail",
    [WG_ACT_FAIL_DISCONNECT] = "fail",
    [WG_ACT_SHORT] = "short",
    [WG_ACT_YIELD] = "yield",
    [WG_ACT_SPURIOUS] = "spurious",
    [WG_ACT_BARRIER] = "barrier",
    [WG_ACT_MARK] = "mark",
    [WG_ACT_WAIT] = "wait",
    [WG_ACT_LOG] = "log",
};

/* A thread cancelled inside an injected delay must not stay "in the shim"
 * for the rest of its life... which is short, but its cleanup handlers
 * may still call hooked functions. */
static void engine_unwind(void *arg)
{
    (void)arg;
    wg_in_shim = 0;
}

void wg_sleep_ns(uint64_t ns)
{
    struct timespec req, rem;
    int rc;

    /* Zero costs zero: `delay 0ms`, or 0 drawn from `delay 0ms..2ms`, is
     * no system call (clock_nanosleep(0) still enters the kernel and,
     * with the default timer slack, sleeps some 50 us). */
    if (ns == 0)
        return;
    req.tv_sec = (time_t)(ns / 1000000000ull);
    req.tv_nsec = (long)(ns % 1000000000ull);
    pthread_cleanup_push(engine_unwind, NULL);
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem)) == EINTR)
        req = rem;
    pthread_cleanup_pop(0);
}

static void engine_trace(const struct wg_call *c, const struct wg_rule *r, const char *outcome,
                         uint64_t waited_ns, uint64_t hit)
{
    struct wg_event ev = {
        .hook = c->hook,
        .rule = r,
        .action = engine_action_names[r->action],
        .outcome = outcome,
        .waited_ns = waited_ns,
        .hit = hit,
        .detail = c->detail,
        .with_stack = 1,
        .obj = c->obj ? c->obj : c->conn,
        .fd = c->fd,
    };
    trace_event(&ev);
}

static const char *engine_outcome(enum coord_outcome o)
{
    switch (o) {
    case COORD_RELEASED:
        return "released";
    case COORD_TIMEOUT:
        return "timeout";
    default:
        return "error";
    }
}

/* Rule r fired where the wrapper cannot apply it (c->no_sqlstate): say
 * so in the trace, once on stderr, and do not count it as fired, so the
 * summary's fires are the injections that really happened. */
static void engine_skip(const struct wg_rule *r, struct wg_rule_state *st, const struct wg_call *c,
                        uint64_t hit)
{
    static atomic_int warned;
    struct wg_call why = *c;
    char detail[512];

    snprintf(detail, sizeof detail, "%s%s%s", c->no_sqlstate, c->detail ? ": " : "",
             c->detail ? c->detail : "");
    why.detail = detail;
    engine_trace(&why, r, "skipped", 0, hit);
    atomic_fetch_sub_explicit(&st->fires, 1, memory_order_relaxed);
    if (!atomic_exchange_explicit(&warned, 1, memory_order_relaxed))
        fprintf(stderr, "wedge: rule %s (%d:%d): fail sqlstate not injected: %s\n", r->name,
                r->line, r->col, c->no_sqlstate);
}

/* Carry out rule r, which fired for call c.  Returns 1 when the verdict
 * holds an action the wrapper must apply. */
static int engine_act(const struct wg_rule *r, struct wg_rule_state *st, const struct wg_call *c,
                      uint64_t hit, struct wg_verdict *v)
{
    uint64_t waited = 0, timeout = r->timeout_ns ? r->timeout_ns : WG_DEFAULT_TIMEOUT_NS;
    enum coord_outcome o;

    switch (r->action) {
    case WG_ACT_DELAY:
        waited = decide_delay_ns(r, wg_seed, hit);
        /* Traced first: a process killed during the delay still shows it. */
        engine_trace(c, r, "fired", waited, hit);
        wg_sleep_ns(waited);
        return 0;
    case WG_ACT_YIELD:
        engine_trace(c, r, "fired", 0, hit);
        sched_yield();
        return 0;
    case WG_ACT_BARRIER:
        /* "waiting" first: a process killed while held still shows where;
         * the final line (released, timeout) follows the release. */
        engine_trace(c, r, "waiting", 0, hit);
        o = coord_barrier(r->coord, r->count, timeout, &waited);
        engine_trace(c, r, engine_outcome(o), waited, hit);
        return 0;
    case WG_ACT_MARK:
        coord_mark(r->coord);
        engine_trace(c, r, "fired", 0, hit);
        return 0;
    case WG_ACT_WAIT:
        engine_trace(c, r, "waiting", 0, hit); /* as for barrier */
        o = coord_wait(r->coord, timeout, &waited);
        engine_trace(c, r, engine_outcome(o), waited, hit);
        return 0;
    case WG_ACT_LOG:
        engine_trace(c, r, "fired", 0, hit);
        return 0;
    case WG_ACT_FAIL_SQLSTATE:
        if (c->no_sqlstate) {
            engine_skip(r, st, c, hit);
            return 0;
        }
        /* fall through */
    case WG_ACT_FAIL_ERRNO:
    case WG_ACT_FAIL_DISCONNECT:
    case WG_ACT_SHORT:
    case WG_ACT_SPURIOUS:
        engine_trace(c, r, "fired", 0, hit);
        v->action = r->action;
        v->err = r->err;
        v->short_n = r->short_n;
        memcpy(v->sqlstate, r->sqlstate, sizeof v->sqlstate);
        v->rule = r;
        return 1;
    }
    return 0;
}

int wg_eval(struct wg_call *c, enum wg_when when, struct wg_verdict *v)
{
    const struct wg_ruleset *rs = wg_rules;
    int saved = errno, ret = 0;
    uint64_t bit = 1ull << c->hook;

    wg_in_shim++;
    v->action = WG_ACT_LOG;
    v->rule = NULL;
    if (when == WG_BEFORE)
        wg_count(c->hook);
    if (!(rs->hooks & bit))
        goto out;
    for (int i = 0; i < rs->n; i++) {
        const struct wg_rule *r = &rs->rules[i];
        uint64_t hit = 0;

        if (!(r->hooks & bit) || r->when != when)
            continue;
        if (!match_rule(r, c))
            continue;
        if (!decide_take(r, &wg_rule_state[i], wg_seed, &hit))
            continue;
        if (engine_act(r, &wg_rule_state[i], c, hit, v)) {
            ret = 1;
            break; /* one verdict per call: the first rule that gives one */
        }
    }
out:
    wg_in_shim--;
    errno = saved;
    return ret;
}

/*
 * engine.c - the slow path of every wrapper: which rules apply to this
 * call, whether they fire, and carrying out the actions that need no help
 * from the wrapper (delay, yield, barrier, mark, wait, hold, log).  fail, short
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "real.h"

/* ---------------------------------------------------------------
 * The gate that lets the exit summary be the last line and count every
 * fire (finish.c).  An evaluation is "busy" from its start to its end,
 * except while it holds the call in a delay, barrier or wait ("held"):
 * wg_eval_close stops new evaluations and waits for the busy ones only,
 * never for a held one, whose later line is not written.  The busy count
 * is striped by thread so that threads do not share its cache line.  Only
 * a traced process has a summary to keep last, so only there does an
 * evaluation pay the gate's two atomic operations (about 11 ns on the
 * slow path); elsewhere it costs one load of the trace descriptor.
 * ------------------------------------------------------------ */
#define ENGINE_STRIPES 64

static struct {
    _Atomic long n;
    char pad[64 - sizeof(long)];
} engine_busy[ENGINE_STRIPES];
static _Atomic long engine_held;
static _Atomic int engine_closed;
/* this thread's evaluation is counted busy, or held: what to undo, and a
 * SIGTERM handler on this thread must not wait for itself */
static __thread int engine_self_busy __attribute__((tls_model("initial-exec")));
static __thread int engine_self_held __attribute__((tls_model("initial-exec")));

static _Atomic long *engine_stripe(void)
{
    return &engine_busy[(unsigned)wg_thread_index() % ENGINE_STRIPES].n;
}

/* Enter the busy state: 0 when the engine is closed (do nothing).
 * seq_cst against wg_eval_close's store and loads: either this thread
 * sees the engine closed, or the closer sees this thread busy. */
static int engine_enter(void)
{
    if (!trace_enabled())
        return 1;
    atomic_fetch_add(engine_stripe(), 1);
    if (atomic_load(&engine_closed)) {
        atomic_fetch_sub(engine_stripe(), 1);
        return 0;
    }
    engine_self_busy = 1;
    return 1;
}

static void engine_leave(void)
{
    if (!engine_self_busy)
        return;
    engine_self_busy = 0;
    atomic_fetch_sub_explicit(engine_stripe(), 1, memory_order_release);
}

/* Around a call held in an action: the closer does not wait for it.
 * engine_unhold returns 0 when the engine closed meanwhile (then nothing
 * more is traced: the summary is out and counts the call as in flight). */
static void engine_hold(void)
{
    if (!engine_self_busy)
        return;
    engine_self_held = 1;
    atomic_fetch_add(&engine_held, 1);
    engine_leave();
}

static int engine_unhold(void)
{
    if (!engine_self_held)
        return 1;
    /* busy again first (the caller's engine_leave ends it), then look:
     * as in engine_enter, the closer sees us or we see it closed */
    engine_self_held = 0;
    atomic_fetch_add(engine_stripe(), 1);
    engine_self_busy = 1;
    atomic_fetch_sub(&engine_held, 1);
    return !atomic_load(&engine_closed);
}

void wg_eval_atfork_child(void)
{
    /* only the forking thread is left, and it is not evaluating */
    for (int i = 0; i < ENGINE_STRIPES; i++)
        atomic_store(&engine_busy[i].n, 0);
    atomic_store(&engine_held, 0);
}

long wg_eval_close(uint64_t timeout_ns)
{
    struct timespec nap = {0, 1000000};
    long busy = 0;

    atomic_store(&engine_closed, 1);
    for (uint64_t waited = 0;; waited += (uint64_t)nap.tv_nsec) {
        busy = -engine_self_busy;
        for (int i = 0; i < ENGINE_STRIPES; i++)
            busy += atomic_load(&engine_busy[i].n);
        if (busy <= 0 || waited >= timeout_ns)
            break;
        clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, NULL);
    }
    return atomic_load(&engine_held) + (busy > 0 ? busy : 0);
}

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
    [WG_ACT_HOLD] = "hold",
};

/* A thread cancelled inside an injected delay must not stay "in the shim"
 * for the rest of its life... which is short, but its cleanup handlers
 * may still call hooked functions. */
static void engine_unwind(void *arg)
{
    (void)arg;
    wg_in_shim = 0;
    if (engine_self_held) { /* it held the call (engine_hold) */
        engine_self_held = 0;
        atomic_fetch_sub(&engine_held, 1);
    }
}

/* Sleep ns on CLOCK_MONOTONIC, restarted on EINTR with the remainder; a
 * cancellation point.  Only inside engine_hold (engine_unwind). */
static void engine_sleep_ns(uint64_t ns)
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

/* hold's ceiling, said where a user looks (one write(2): no stdio lock
 * in a hook), besides the trace's "ceiling" outcome. */
static void engine_ceiling(const struct wg_rule *r, uint64_t waited)
{
    uint64_t ms = r->timeout_ns / 1000000ull;
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "wedge: hold %s (rule %s): ceiling of %llu %s reached after %llu ms; the "
                     "call goes on (wedge ctl release %s lets go sooner)\n",
                     r->coord, r->name, (unsigned long long)(ms % 1000 ? ms : ms / 1000),
                     ms % 1000 ? "ms" : "s", (unsigned long long)(waited / 1000000ull), r->coord);
    if (n > 0)
        syscall(SYS_write, 2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

/* A barrier, wait or hold: the call is held, listed for `wedge ctl
 * status` (ctl.c) while it is.  "waiting" is traced first: a process
 * killed while held still shows where; the final line (released,
 * timeout, ceiling) follows the release. */
static void engine_coord(const struct wg_rule *r, const struct wg_call *c, uint64_t hit)
{
    uint64_t waited = 0, timeout = r->timeout_ns ? r->timeout_ns : WG_DEFAULT_TIMEOUT_NS;
    _Atomic uint32_t *hold = NULL;
    enum coord_outcome o;
    const char *outcome;
    uint32_t v0 = 0;
    int slot;

    engine_trace(c, r, "waiting", 0, hit);
    if (r->action == WG_ACT_HOLD)
        hold = coord_hold_arm(r->coord, &v0);
    slot = ctl_held_begin(c, r);
    engine_hold();
    if (r->action == WG_ACT_BARRIER)
        o = coord_barrier(r->coord, r->count, timeout, &waited);
    else if (r->action == WG_ACT_WAIT)
        o = coord_wait(r->coord, timeout, &waited);
    else
        o = coord_hold(hold, v0, timeout, &waited);
    ctl_held_end(slot);
    outcome = engine_outcome(o);
    if (r->action == WG_ACT_HOLD && o == COORD_TIMEOUT) {
        outcome = "ceiling";
        engine_ceiling(r, waited);
    }
    if (engine_unhold())
        engine_trace(c, r, outcome, waited, hit);
}

/* Carry out rule r, which fired for call c.  Returns 1 when the verdict
 * holds an action the wrapper must apply. */
static int engine_act(const struct wg_rule *r, struct wg_rule_state *st, const struct wg_call *c,
                      uint64_t hit, struct wg_verdict *v)
{
    uint64_t waited = 0;

    switch (r->action) {
    case WG_ACT_DELAY:
        waited = decide_delay_ns(r, wg_seed, hit);
        /* Traced first: a process killed during the delay still shows it. */
        engine_trace(c, r, "fired", waited, hit);
        if (waited) {
            engine_hold();
            engine_sleep_ns(waited);
            engine_unhold();
        }
        return 0;
    case WG_ACT_YIELD:
        engine_trace(c, r, "fired", 0, hit);
        sched_yield();
        return 0;
    case WG_ACT_BARRIER:
    case WG_ACT_WAIT:
    case WG_ACT_HOLD:
        engine_coord(r, c, hit);
        return 0;
    case WG_ACT_MARK:
        coord_mark(r->coord);
        engine_trace(c, r, "fired", 0, hit);
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
    if (!engine_enter()) /* the process is finishing: nothing more fires */
        goto closed;
    if (when == WG_BEFORE)
        wg_count(c->hook);
    if (ctl_changed()) { /* `wedge ctl add`: take the new rules up */
        ctl_sync(c->hook);
        rs = wg_rules;
    }
    if (!(rs->hooks & bit))
        goto out;
    for (int i = 0; i < rs->n; i++) {
        const struct wg_rule *r = &rs->rules[i];
        uint64_t hit = 0;

        if (!(r->hooks & bit) || r->when != when)
            continue;
        if (ctl_rule_off(i)) /* wedge ctl disable or remove */
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
    engine_leave();
closed:
    wg_in_shim--;
    errno = saved;
    return ret;
}

/*
 * ctl.c - live control: what this process publishes in the run's control
 * file for `wedge ctl`, and what it takes up from it.
 *
 * Published, in the process's slot of the control file (ctlfile.h): its
 * pid and name, its rule counters (the array the engine counts in, so
 * publishing costs nothing), which entry of the run's rule table each of
 * its rules is, and the callers it holds at a barrier, wait or hold.
 * Every field is written with atomics or before a release store; nothing
 * here takes a lock, so a process stopped anywhere leaves the file usable.
 *
 * Taken up:
 *  - disable, enable, remove: flags of the rule table, read per rule on
 *    the slow path (ctl_rule_off);
 *  - add: the control file's generation moves; the next slow-path call
 *    that sees it (ctl_changed, two loads) parses the added rules and
 *    swaps in a longer copy of the rule set (read-copy-update).  The old
 *    set is never freed, since a hook may still be reading it: at most
 *    CTLF_RULES sets are leaked, bounded by the table's size.  New hooks
 *    are armed with atomic stores.
 * Parsing allocates, so it runs only from a socket or libpq call (never a
 * pthread hook, which the program's allocator may be inside), with the
 * shim's reentrancy guard up, by one thread at a time (the others go on
 * with the old set meanwhile).  A process with no hook armed at all never
 * looks: status shows which processes took a rule up.
 */
#include "ctlfile.h"
#include "hooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct ctlf_counts) == sizeof(struct wg_rule_state),
               "the published counters are the engine's own");
_Static_assert(CTLF_NAME == WG_NAME_MAX, "a point's name fits the file");

_Atomic uint32_t *ctl_gen;
uint32_t ctl_seen;
static struct ctlf_region *ctl_reg;
static struct ctlf_proc *ctl_proc;
static _Atomic int ctl_syncing;
static unsigned char ctl_have[CTLF_RULES]; /* added rules this process has looked at */

static uint64_t ctl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A free slot (or one of a dead process, or this pid's own from before an
 * exec) made ours and emptied; NULL when all 64 are taken. */
static struct ctlf_proc *ctl_claim(struct ctlf_region *reg)
{
    int32_t me = (int32_t)getpid();
    int saved = errno;

    for (int k = 0; k < CTLF_PROCS; k++) {
        struct ctlf_proc *p = &reg->procs[k];
        int32_t pid = atomic_load(&p->pid);
        if (pid != 0 && pid != me && ctlf_pid_alive(pid))
            continue;
        if (!atomic_compare_exchange_strong(&p->pid, &pid, me))
            continue;
        atomic_store(&p->ready, 0);
        memset((char *)p + offsetof(struct ctlf_proc, gen), 0,
               sizeof *p - offsetof(struct ctlf_proc, gen));
        for (int i = 0; i < CTLF_RULES; i++)
            atomic_store_explicit(&p->rule_id[i], -1, memory_order_relaxed);
        snprintf(p->name, sizeof p->name, "%s", wg_proc_name);
        errno = saved;
        return p;
    }
    errno = saved;
    return NULL;
}

/* Rule r's text in src without its comment and surrounding blanks. */
static void ctl_rule_text(const char *src, const struct wg_rule *r, char *buf, size_t len)
{
    const char *s = src + r->src_off;
    size_t n = (size_t)r->src_len, cut = 0;
    int quoted = 0;

    for (; cut < n; cut++) {
        if (s[cut] == '"' && (cut == 0 || s[cut - 1] != '\\'))
            quoted = !quoted;
        else if (s[cut] == '#' && !quoted)
            break;
    }
    while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == '\t' || s[cut - 1] == '\r'))
        cut--;
    snprintf(buf, len, "%.*s", (int)cut, s);
}

/*
 * Attach this process to the control file, if it has one: claim a slot,
 * enter its start rules (text) in the run's table.  Returns the counters
 * the engine is to count in (in the slot), or NULL (not attached: the
 * engine allocates its own).  From the constructor only.
 */
struct wg_rule_state *ctl_attach(const struct wg_ruleset *rs, const char *text)
{
    struct ctlf_region *reg = coord_file_region();
    struct ctlf_proc *p;
    char buf[4096];

    if (!reg)
        return NULL;
    if (rs->n >= CTLF_RULES) {
        fprintf(stderr, "wedge: %d rules: wedge ctl does not see this process (at most %d)\n",
                rs->n, CTLF_RULES - 1);
        return NULL;
    }
    p = ctl_claim(reg);
    if (!p) {
        fprintf(stderr,
                "wedge: the control file has no free process slot (%d attached): "
                "wedge ctl does not see this process\n",
                CTLF_PROCS);
        return NULL;
    }
    for (int i = 0; i < rs->n; i++) {
        ctl_rule_text(text, &rs->rules[i], buf, sizeof buf);
        atomic_store(&p->rule_id[i],
                     (int16_t)ctlf_rule_find(reg, buf, rs->rules[i].name, CTLF_RULE_START, 1));
    }
    atomic_store(&p->nrules, (uint32_t)rs->n);
    ctl_reg = reg;
    ctl_proc = p;
    ctl_seen = 0; /* rules added before this process started are taken up too */
    ctl_gen = &reg->gen;
    atomic_store_explicit(&p->ready, 1, memory_order_release);
    return (struct wg_rule_state *)p->counts;
}

/* The process ends: its slot is free again (a killed process's slot is
 * found free by its dead pid). */
void ctl_detach(void)
{
    struct ctlf_proc *p = ctl_proc;

    if (!p)
        return;
    ctl_gen = NULL;
    atomic_store(&p->ready, 0);
    atomic_store(&p->pid, 0);
}

/*
 * A forked child: a slot of its own, with its parent's rule numbering,
 * and wg_rule_state pointed at its counters there (before hooks.c zeroes
 * them: they would otherwise be the parent's).  0, or -1 when no slot is
 * free (the child counts in memory of its own, unseen).
 */
int ctl_atfork_child(void)
{
    struct ctlf_proc *parent = ctl_proc, *p;
    struct wg_rule_state *st;
    int n = wg_rules->n;

    if (!parent)
        return 0;
    ctl_proc = NULL;
    p = ctl_claim(ctl_reg);
    if (!p) {
        ctl_gen = NULL;
        st = calloc(CTLF_RULES, sizeof *st);
        if (!st) {
            hooks_disarm();
            return -1;
        }
        wg_rule_state = st;
        return -1;
    }
    for (int i = 0; i < n && i < CTLF_RULES; i++)
        atomic_store(&p->rule_id[i], atomic_load(&parent->rule_id[i]));
    atomic_store(&p->nrules, (uint32_t)n);
    atomic_store(&p->gen, ctl_seen);
    wg_rule_state = (struct wg_rule_state *)p->counts;
    ctl_proc = p;
    atomic_store_explicit(&p->ready, 1, memory_order_release);
    return 0;
}

/* A warning of this process about an added rule: stderr and trace. */
static void ctl_warn(const char *msg)
{
    fprintf(stderr, "wedge: %s\n", msg);
    trace_warning(msg);
}

/* rs with the added rule `id` appended, in force; 0, or -1 (said). */
static int ctl_take(int id)
{
    const struct wg_ruleset *old = wg_rules;
    struct ctlf_rule *e = &ctl_reg->rules[id];
    struct wg_ruleset one, *next = NULL;
    struct wg_rule *rules = NULL;
    char err[600], origin[32];
    int n = old->n;

    snprintf(origin, sizeof origin, "wedge ctl add #%d", id + 1);
    if (n + 1 >= CTLF_RULES) {
        snprintf(err, sizeof err, "%s: not taken up, this process has %d rules (at most %d)",
                 origin, n, CTLF_RULES - 1);
        ctl_warn(err);
        return -1;
    }
    if (rules_parse(e->text, origin, &one, err, sizeof err) < 0 || one.n != 1 ||
        match_prepare(&one, origin, trace_enabled(), ctl_warn, err, sizeof err) < 0) {
        ctl_warn(one.n > 1 ? "wedge ctl add: one rule at a time" : err);
        return -1;
    }
    next = malloc(sizeof *next);
    rules = malloc((size_t)(n + 1) * sizeof *rules);
    if (!next || !rules) {
        free(next);
        free(rules);
        ctl_warn("wedge ctl add: out of memory");
        return -1;
    }
    if (n > 0)
        memcpy(rules, old->rules, (size_t)n * sizeof *rules);
    rules[n] = one.rules[0]; /* its regexes move with it; `one` is not freed */
    rules[n].index = n;
    snprintf(rules[n].name, sizeof rules[n].name, "%s", e->name);
    next->rules = rules;
    next->n = n + 1;
    next->hooks = old->hooks | rules[n].hooks;
    atomic_store(&wg_rule_state[n].hits, 0);
    atomic_store(&wg_rule_state[n].fires, 0);
    atomic_store(&ctl_proc->rule_id[n], (int16_t)id);
    atomic_store(&wg_rules, next); /* the old set stays: a hook may hold it */
    atomic_store(&ctl_proc->nrules, (uint32_t)(n + 1));
    hooks_arm(next, trace_enabled());
    return 0;
}

/* Take up the rules `wedge ctl add` put in the table since we looked. */
void ctl_sync(int hook)
{
    uint32_t g;

    if (!ctl_proc || wg_hook_family(hook) == WG_FAM_PTHREAD)
        return;
    if (atomic_exchange(&ctl_syncing, 1))
        return; /* another thread is at it: go on with the rules in force */
    g = atomic_load(ctl_gen);
    for (int id = 0; id < CTLF_RULES; id++) {
        struct ctlf_rule *e = &ctl_reg->rules[id];
        if (ctl_have[id] || !atomic_load_explicit(&e->ready, memory_order_acquire) ||
            !(atomic_load(&e->flags) & CTLF_RULE_ADDED))
            continue;
        ctl_have[id] = 1;
        ctl_take(id);
    }
    ctl_seen = g;
    atomic_store(&ctl_proc->gen, g);
    atomic_store(&ctl_syncing, 0);
}

/* 1 when rule i of the rules in force is disabled or removed. */
int ctl_rule_off(int i)
{
    int id;

    if (!ctl_proc || i >= CTLF_RULES)
        return 0;
    id = atomic_load_explicit(&ctl_proc->rule_id[i], memory_order_relaxed);
    return id >= 0 && (atomic_load_explicit(&ctl_reg->rules[id].flags, memory_order_relaxed) &
                       (CTLF_RULE_OFF | CTLF_RULE_REMOVED));
}

/* List call c, about to be held by rule r, for status.  The slot number
 * for ctl_held_end: >= 0 listed, -2 only counted, -1 not attached. */
int ctl_held_begin(const struct wg_call *c, const struct wg_rule *r)
{
    struct ctlf_proc *p = ctl_proc;

    if (!p)
        return -1;
    for (int k = 0; k < CTLF_HELD; k++) {
        struct ctlf_held *h = &p->held[k];
        uint32_t free_ = 0;
        if (!atomic_compare_exchange_strong(&h->state, &free_, 1))
            continue;
        h->tid = (int32_t)syscall(SYS_gettid);
        h->hook = c->hook;
        h->rule = r->index < CTLF_RULES ? atomic_load(&p->rule_id[r->index]) : -1;
        h->kind = r->action == WG_ACT_BARRIER ? CTLF_KIND_BARRIER
                  : r->action == WG_ACT_WAIT  ? CTLF_KIND_MARK
                                              : CTLF_KIND_HOLD;
        h->since_ns = ctl_now();
        snprintf(h->point, sizeof h->point, "%s", r->coord);
        snprintf(h->hook_name, sizeof h->hook_name, "%s", wg_hook_name(c->hook));
        snprintf(h->detail, sizeof h->detail, "%s", c->detail ? c->detail : "");
        atomic_store_explicit(&h->state, 2, memory_order_release);
        return k;
    }
    atomic_fetch_add(&p->held_unlisted, 1);
    return -2;
}

void ctl_held_end(int slot)
{
    struct ctlf_proc *p = ctl_proc;

    if (!p || slot == -1)
        return;
    if (slot == -2)
        atomic_fetch_sub(&p->held_unlisted, 1);
    else
        atomic_store_explicit(&p->held[slot].state, 0, memory_order_release);
}

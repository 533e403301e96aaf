/*
 * hunt_lock.c - candidate windows from the mutexes of an observation,
 * and deadlocks named from a trace.
 *
 * Only locks the program takes itself count (the call's innermost frame
 * is one of its executable's functions): libpq's, libcurl's and
 * libmicrohttpd's own locks are theirs to get right.  A call site is the
 * function that makes the call, which is what `caller ~` can aim at.
 *
 *   lock order   a lock-order graph over every thread, as TSan and
 *                Helgrind keep: A held while B is taken is an edge A->B.
 *                Edges both ways are an inversion, reported whether or not
 *                it deadlocked: a barrier after each path's first lock
 *                makes both hold one and want the other.
 *   atomicity    one request releases a lock and takes it again: what it
 *                checked under the first hold may be stale under the
 *                second.  A barrier after the release lets a second request
 *                check the same state in between.
 *   cond wait    a wait that goes on after a wakeup without checking its
 *                condition again (`if`, not `while`) breaks under a
 *                spurious wakeup, which POSIX allows: `spurious` makes one.
 */
#include "hunt.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define LOCK_HELD 16

enum {
    SCORE_LOCK_ORDER = 110,
    SCORE_ATOMICITY = 70,         /* a delay after the release */
    SCORE_ATOMICITY_BARRIER = 65, /* a barrier there */
    SCORE_COND_WAIT = 40,
};

struct held {
    uintptr_t obj;
    const struct hunt_ev *e;
};

/* One edge of the lock-order graph: a held (taken at ea) when b was
 * taken (at eb). */
struct edge {
    uintptr_t a, b;
    const struct hunt_ev *ea, *eb; /* the first time it was seen */
    uint64_t *ts;                  /* every time: when a was taken */
    size_t nts;
};

struct graph {
    struct edge *e;
    size_t n, cap;
};

/* The function of an event's call site (its innermost frame), NULL when
 * that is not the program's own code. */
static const char *lock_site(const struct hunt_ev *e)
{
    return e->site == 0 && e->nstack ? e->stack[0] : NULL;
}

static void graph_add(struct graph *g, uintptr_t a, const struct hunt_ev *ea, uintptr_t b,
                      const struct hunt_ev *eb)
{
    struct edge *x = NULL;
    for (size_t i = 0; i < g->n && !x; i++)
        if (g->e[i].a == a && g->e[i].b == b && lock_site(g->e[i].ea) == lock_site(ea) &&
            lock_site(g->e[i].eb) == lock_site(eb))
            x = &g->e[i];
    if (x) {
        x->ts = realloc(x->ts, (x->nts + 1) * sizeof *x->ts);
        if (!x->ts)
            abort();
        x->ts[x->nts++] = ea->ts;
        return;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->e = realloc(g->e, g->cap * sizeof *g->e);
        if (!g->e)
            abort();
    }
    g->e[g->n] = (struct edge){a, b, ea, eb, malloc(sizeof(uint64_t)), 1};
    if (!g->e[g->n].ts)
        abort();
    g->e[g->n++].ts[0] = ea->ts;
}

static struct hunt_cand *lock_cand(struct hunt_cands *cs, const struct hunt_obs *o,
                                   enum hunt_kind k, const char *f1, const char *f2,
                                   const struct hunt_ev *at, int score)
{
    struct hunt_cand *c;
    for (int i = 0; i < cs->n; i++) {
        c = &cs->c[i];
        if (c->kind == k && ((c->first == f1 && c->second == f2) ||
                             (k == HK_LOCK_ORDER && c->first == f2 && c->second == f1)))
            return c;
    }
    c = hunt_cand_add(cs, k, score);
    c->first = f1;
    c->second = f2;
    c->service = o->procs[at->proc].service;
    c->proc = o->procs[at->proc].comm;
    c->req = at->req >= 0 ? o->reqs[at->req].label : NULL;
    return c;
}

static void lock_rule(struct hunt_cand *c, enum hunt_action act, const char *hook, int after,
                      char *caller)
{
    struct hunt_rule *r = hunt_cand_rule(c, act, hook, after);
    r->caller = caller;
    r->use |= HC_CALLER;
}

/* ---------------------------------------------------------------
 * Walking each thread.
 * ------------------------------------------------------------ */
struct walk {
    struct held held[LOCK_HELD];
    int nheld;
    struct held released[LOCK_HELD]; /* in this request */
    int nreleased, seg;
};

static void walk_lock(struct walk *w, struct graph *g, struct hunt_cands *cs,
                      const struct hunt_obs *o, const struct hunt_ev *e)
{
    for (int i = 0; i < w->nheld; i++)
        if (w->held[i].obj != e->obj)
            graph_add(g, w->held[i].obj, w->held[i].e, e->obj, e);
    for (int i = 0; e->req >= 0 && i < w->nreleased; i++) {
        const struct hunt_ev *u = w->released[i].e;
        if (w->released[i].obj != e->obj)
            continue;
        struct hunt_cand *c =
            lock_cand(cs, o, HK_ATOMICITY, lock_site(u), lock_site(e), u, SCORE_ATOMICITY);
        if (!c->nrules) {
            c->title = util_fmt("atomicity: a lock released in %s and taken again in %s within "
                                "one request",
                                c->first, c->second);
            lock_rule(c, HA_DELAY, "mutex.unlock", 1, hunt_re_exact(c->first));
        }
        hunt_cand_arrive(c, u->ts, -1);
        w->released[i] = w->released[--w->nreleased];
        break;
    }
    if (w->nheld < LOCK_HELD)
        w->held[w->nheld++] = (struct held){e->obj, e};
}

static void walk_unlock(struct walk *w, const struct hunt_ev *e)
{
    for (int i = w->nheld; i-- > 0;) {
        if (w->held[i].obj != e->obj)
            continue;
        w->held[i] = w->held[--w->nheld];
        break;
    }
    if (e->req < 0)
        return;
    for (int i = 0; i < w->nreleased; i++)
        if (w->released[i].obj == e->obj) {
            w->released[i].e = e;
            return;
        }
    if (w->nreleased < LOCK_HELD)
        w->released[w->nreleased++] = (struct held){e->obj, e};
}

static void walk_cond(struct hunt_cands *cs, const struct hunt_obs *o, const struct hunt_ev *e)
{
    struct hunt_cand *c =
        lock_cand(cs, o, HK_COND_WAIT, lock_site(e), lock_site(e), e, SCORE_COND_WAIT);
    if (!c->nrules) {
        c->title =
            util_fmt("condition wait in %s: does it hold up to a spurious wakeup?", c->first);
        lock_rule(c, HA_SPURIOUS, "cond.wait", 0, hunt_re_exact(c->first));
    }
    hunt_cand_arrive(c, e->ts, -1);
}

static void walk_thread(struct graph *g, struct hunt_cands *cs, const struct hunt_obs *o,
                        const struct hunt_thread *th)
{
    struct walk w = {.seg = -2};
    for (size_t k = th->first; k < th->first + th->n; k++) {
        const struct hunt_ev *e = &o->ev[o->order[k]];
        if (!lock_site(e) || e->ts < o->load_t0)
            continue;
        if (e->req != w.seg) {
            w.nreleased = 0;
            w.seg = e->req;
        }
        if (e->kind == HE_LOCK)
            walk_lock(&w, g, cs, o, e);
        else if (e->kind == HE_UNLOCK)
            walk_unlock(&w, e);
        else if (e->kind == HE_WAIT)
            walk_cond(cs, o, e);
    }
}

/* Edges both ways between two locks: an inversion, aimed at the function
 * where each path takes its first lock. */
static void lock_inversions(const struct graph *g, struct hunt_cands *cs, const struct hunt_obs *o)
{
    for (size_t i = 0; i < g->n; i++) {
        for (size_t j = 0; j < g->n; j++) {
            const struct edge *x = &g->e[i], *y = &g->e[j];
            if (x->a != y->b || x->b != y->a || x->a >= x->b)
                continue;
            const char *f1 = lock_site(x->ea), *f2 = lock_site(y->ea);
            struct hunt_cand *c = lock_cand(cs, o, HK_LOCK_ORDER, f1, f2, x->ea, SCORE_LOCK_ORDER);
            if (!c->nrules) {
                c->title = util_fmt("lock-order inversion: %s takes one lock then the other, %s "
                                    "the other way round",
                                    f1, f2);
                lock_rule(c, HA_BARRIER, "mutex.lock", 1,
                          f1 == f2 ? hunt_re_exact(f1) : hunt_re_either(f1, f2));
            }
            for (size_t k = 0; k < x->nts; k++)
                hunt_cand_arrive(c, x->ts[k], -1);
            for (size_t k = 0; k < y->nts; k++)
                hunt_cand_arrive(c, y->ts[k], -1);
        }
    }
}

/* Each atomicity window twice: a delay after the release lets every
 * request that arrives meanwhile check the state the first one checked
 * (an act that counts, booked++, breaks only where the checks go stale);
 * a barrier pairs two requests there exactly. */
static void lock_barrier_twins(struct hunt_cands *cs, int from)
{
    for (int i = from, n = cs->n; i < n; i++) {
        if (cs->c[i].kind != HK_ATOMICITY)
            continue;
        struct hunt_cand *b = hunt_cand_add(cs, HK_ATOMICITY, SCORE_ATOMICITY_BARRIER);
        const struct hunt_cand *a = &cs->c[i]; /* after the add: cs->c may move */
        struct hunt_rule *r = &b->rules[b->nrules++];
        b->first = a->first;
        b->second = a->second;
        b->service = a->service;
        b->proc = a->proc;
        b->req = a->req;
        b->title = util_fmt("%s (two requests paired there)", a->title);
        *r = a->rules[0];
        r->act = HA_BARRIER;
        r->caller = a->rules[0].caller ? util_fmt("%s", a->rules[0].caller) : NULL;
        r->proc = a->rules[0].proc ? util_fmt("%s", a->rules[0].proc) : NULL;
        for (size_t k = 0; k < a->narrive; k++)
            hunt_cand_arrive(b, a->arrive[k], -1);
    }
}

void hunt_cand_locks(const struct hunt_obs *obs, struct hunt_cands *out)
{
    struct graph g = {0};
    int from = out->n;
    for (int t = 0; t < obs->nthreads; t++)
        walk_thread(&g, out, obs, &obs->threads[t]);
    lock_barrier_twins(out, from);
    lock_inversions(&g, out, obs);
    hunt_cand_size(out, from, obs);
    for (size_t i = 0; i < g.n; i++)
        free(g.e[i].ts);
    free(g.e);
}

/* ---------------------------------------------------------------
 * Deadlocks: at the end of a trace, who holds what and wants what.
 * ------------------------------------------------------------ */
struct tstate {
    struct held held[LOCK_HELD];
    int nheld;
    const struct hunt_ev *want; /* asked, never got */
};

static void dl_state(const struct hunt_obs *o, const struct hunt_thread *th, struct tstate *s)
{
    memset(s, 0, sizeof *s);
    for (size_t k = th->first; k < th->first + th->n; k++) {
        const struct hunt_ev *e = &o->ev[o->order[k]];
        if (e->kind == HE_WANT) {
            s->want = e;
        } else if (e->kind == HE_LOCK) {
            if (s->want && s->want->obj == e->obj)
                s->want = NULL;
            if (s->nheld < LOCK_HELD)
                s->held[s->nheld++] = (struct held){e->obj, e};
        } else if (e->kind == HE_UNLOCK) {
            for (int i = s->nheld; i-- > 0;)
                if (s->held[i].obj == e->obj) {
                    s->held[i] = s->held[--s->nheld];
                    break;
                }
        }
    }
}

static int dl_owner(const struct tstate *st, int n, uintptr_t obj, int pid,
                    const struct hunt_obs *o, const struct held **h)
{
    for (int t = 0; t < n; t++)
        for (int i = 0; o->threads[t].pid == pid && i < st[t].nheld; i++)
            if (st[t].held[i].obj == obj) {
                *h = &st[t].held[i];
                return t;
            }
    return -1;
}

static char *dl_describe(const struct hunt_obs *o, const struct tstate *st, int t0)
{
    char *s = util_fmt("deadlock:");
    int t = t0;
    for (int hop = 0; hop < 8; hop++) {
        const struct held *h = NULL;
        int next = dl_owner(st, o->nthreads, st[t].want->obj, o->threads[t].pid, o, &h);
        const char *wf = st[t].want->nstack ? st[t].want->stack[0] : "?";
        const char *hf = h && h->e->nstack ? h->e->stack[0] : "?";
        char *n =
            util_fmt("%s thread %d (pid %d) waits in %s for mutex 0x%lx, held by thread "
                     "%d since %s;",
                     s, o->threads[t].tid, o->threads[t].pid, wf, (unsigned long)st[t].want->obj,
                     next >= 0 ? o->threads[next].tid : -1, hf);
        free(s);
        s = n;
        if (next < 0 || next == t0)
            break;
        t = next;
    }
    s[strlen(s) - 1] = '\0';
    return s;
}

char *hunt_deadlock(const struct hunt_obs *obs)
{
    struct tstate *st = calloc((size_t)obs->nthreads + 1, sizeof *st);
    char *found = NULL;
    if (!st)
        abort();
    for (int t = 0; t < obs->nthreads; t++)
        dl_state(obs, &obs->threads[t], &st[t]);
    for (int t = 0; t < obs->nthreads && !found; t++) {
        int cur = t;
        for (int hop = 0; hop <= obs->nthreads && cur >= 0 && st[cur].want; hop++) {
            const struct held *h = NULL;
            cur = dl_owner(st, obs->nthreads, st[cur].want->obj, obs->threads[cur].pid, obs, &h);
            if (cur == t) {
                found = dl_describe(obs, st, t);
                break;
            }
        }
    }
    free(st);
    return found;
}

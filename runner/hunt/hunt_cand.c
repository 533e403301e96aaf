/*
 * hunt_cand.c - candidate windows from the statements of an observation,
 * each made a concrete rule, and the ranking of all candidates.
 *
 * A window is a read of a table followed, in the same request (or the
 * same background thread), by a write of that table, with nothing that
 * holds it shut: no FOR UPDATE/SHARE on the read, no REPEATABLE READ or
 * SERIALIZABLE, no re-check in the write's WHERE, no unique key behind an
 * insert.  Its rule holds each request right after the read until a
 * second one has read too (a barrier of two), so both act on what they
 * read.  The barrier's timeout is sized from how far apart requests
 * reached the read: long enough for the next one, short enough not to
 * stall a service that serialises them.
 */
#include "hunt.h"
#include "timeunit.h"
#include "util.h"
#include "wedge_exit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAND_BG_WINDOW_NS NS_PER_S /* a background read still counts this long */
#define CAND_READS        16

/* The scores: the order candidates are tried in. */
enum {
    SCORE_LOST_UPDATE = 100,
    SCORE_CONSUMERS = 100,
    SCORE_SIDE_EFFECT = 95,
    SCORE_CHECK_INSERT = 90,
    SCORE_DOUBLE_SUBMIT = 50,
    SCORE_GUARDED = 30,
    SCORE_ONE_CONSUMER = 25,
};

const char *hunt_kind_name(enum hunt_kind k)
{
    static const char *const names[HK_NKINDS] = {
        [HK_LOST_UPDATE] = "lost-update",   [HK_CONSUMERS] = "two-consumers",
        [HK_CHECK_INSERT] = "check-insert", [HK_DOUBLE_SUBMIT] = "double-submit",
        [HK_LOCK_ORDER] = "lock-order",     [HK_ATOMICITY] = "atomicity",
        [HK_COND_WAIT] = "cond-wait",       [HK_GUARDED] = "guarded",
        [HK_SIDE_EFFECT] = "side-effect",
    };
    return k < HK_NKINDS ? names[k] : "?";
}

/* ---------------------------------------------------------------
 * Candidates and their rules.
 * ------------------------------------------------------------ */
struct hunt_cand *hunt_cand_add(struct hunt_cands *cs, enum hunt_kind kind, int score)
{
    struct hunt_cand *c;
    cs->c = realloc(cs->c, (size_t)(cs->n + 1) * sizeof *cs->c);
    if (!cs->c)
        abort();
    c = &cs->c[cs->n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->score = score;
    c->plain_broke = -1;
    return c;
}

void hunt_cands_free(struct hunt_cands *cs)
{
    for (int i = 0; i < cs->n; i++) {
        struct hunt_cand *c = &cs->c[i];
        for (int r = 0; r < c->nrules; r++) {
            free(c->rules[r].sql_full);
            free(c->rules[r].sql_short);
            free(c->rules[r].caller);
            free(c->rules[r].proc);
        }
        free(c->title);
        free(c->broken);
        free(c->note);
        free(c->arrive);
    }
    free(cs->c);
    memset(cs, 0, sizeof *cs);
}

void hunt_fmt_duration(uint64_t ns, char *out, size_t len)
{
    if (ns % NS_PER_S == 0)
        snprintf(out, len, "%llus", (unsigned long long)(ns / NS_PER_S));
    else
        snprintf(out, len, "%llums", (unsigned long long)((ns + NS_PER_MS - 1) / NS_PER_MS));
}

char *hunt_rule_text(const struct hunt_rule *r, const char *label, const char *coord)
{
    char d[32], *s, *t;
    const char *sep = " where ";
    struct {
        unsigned bit;
        const char *what, *re;
    } conds[] = {{HC_SQL_FULL, "sql", r->sql_full},
                 {HC_SQL_SHORT, "sql", r->sql_short},
                 {HC_CALLER, "caller", r->caller},
                 {HC_PROC, "proc", r->proc}};

    hunt_fmt_duration(r->ns, d, sizeof d);
    if (r->act == HA_BARRIER)
        s = util_fmt("%s: barrier %s %u timeout %s on %s", label, coord, r->count, d, r->hook);
    else if (r->act == HA_DELAY)
        s = util_fmt("%s: delay %s on %s", label, d, r->hook);
    else
        s = util_fmt("%s: spurious on %s", label, r->hook);
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        if (!(r->use & conds[i].bit) || !conds[i].re)
            continue;
        t = util_fmt("%s%s%s ~ \"%s\"", s, sep, conds[i].what, conds[i].re);
        free(s);
        s = t;
        sep = " and ";
    }
    if (r->after) {
        t = util_fmt("%s after", s);
        free(s);
        s = t;
    }
    return s;
}

char *hunt_cand_rules(const struct hunt_cand *c)
{
    char *all = util_fmt("%s", ""), *coord = util_fmt("hunt-%d", c->rank);
    for (int i = 0; i < c->nrules; i++) {
        char *label = c->nrules == 1 ? util_fmt("%s", coord) : util_fmt("%s-%d", coord, i + 1);
        char *r = hunt_rule_text(&c->rules[i], label, coord);
        char *t = util_fmt("%s%s%s", all, i ? " ; " : "", r);
        free(all);
        free(r);
        free(label);
        all = t;
    }
    free(coord);
    return all;
}

static int cand_cmp(const void *a, const void *b)
{
    const struct hunt_cand *x = a, *y = b;
    int sx = x->status == HS_SKIPPED, sy = y->status == HS_SKIPPED;
    if (sx != sy)
        return sx - sy;
    if (x->score != y->score)
        return y->score - x->score;
    return x->seen == y->seen ? 0 : x->seen > y->seen ? -1 : 1;
}

void hunt_cand_rank(struct hunt_cands *cs)
{
    qsort(cs->c, (size_t)cs->n, sizeof *cs->c, cand_cmp);
    for (int i = 0; i < cs->n; i++)
        cs->c[i].rank = i + 1;
}

int hunt_verdict(const struct hunt_cands *cs, int observed)
{
    int tried = 0, inconclusive = 0, flaky = 0;
    for (int i = 0; i < cs->n; i++) {
        if (cs->c[i].status == HS_FOUND)
            return WEDGE_VIOLATED;
        tried += cs->c[i].status == HS_HELD || cs->c[i].status == HS_FLAKY ||
                 cs->c[i].status == HS_INCONCLUSIVE;
        inconclusive += cs->c[i].status == HS_INCONCLUSIVE;
        /* broke on every seed it ran before the budget ran out: not a pass */
        flaky += cs->c[i].status == HS_FLAKY || (cs->c[i].status == HS_UNTRIED && cs->c[i].broke);
    }
    if (!observed || flaky || (tried && inconclusive == tried))
        return WEDGE_INCONCLUSIVE;
    return WEDGE_PASS;
}

/* ---------------------------------------------------------------
 * Read-then-write windows.
 * ------------------------------------------------------------ */
struct cand_read {
    const struct hunt_ev *e;
    size_t k; /* its place in the thread's calls */
    int strong;
};

/* Where a window's rule goes: its service's section, else every
 * process's with a proc ~ condition. */
static void cand_place(struct hunt_cand *c, const struct hunt_obs *o, const struct hunt_ev *e)
{
    const struct hunt_proc *p = &o->procs[e->proc];
    c->service = p->service;
    c->proc = p->comm;
}

struct hunt_rule *hunt_cand_rule(struct hunt_cand *c, enum hunt_action act, const char *hook,
                                 int after)
{
    struct hunt_rule *r = &c->rules[c->nrules++];
    memset(r, 0, sizeof *r);
    r->act = act;
    r->count = 2;
    r->hook = hook;
    r->after = after;
    if (!c->service && c->proc) {
        r->proc = hunt_re_exact(c->proc);
        r->use |= HC_PROC;
    }
    return r;
}

/* The barrier of two at statement e (after it, or before), aimed by the
 * statement and the path's function. */
static void cand_sql_rule(struct hunt_cand *c, const struct hunt_obs *o, const struct hunt_ev *e,
                          int after)
{
    struct hunt_rule *r = hunt_cand_rule(c, HA_BARRIER, "pq.query", after);
    const char *fn = hunt_obs_path_fn(o, e);
    r->sql_full = hunt_re_statement(e->detail);
    r->sql_short = hunt_re_verb_table(e->stmt);
    r->caller = fn ? hunt_re_exact(fn) : NULL;
    r->use |= HC_SQL_FULL | (fn ? HC_CALLER : 0);
}

void hunt_cand_arrive(struct hunt_cand *c, uint64_t ts, int thread)
{
    int i = 0;
    if (c->narrive == c->carrive) {
        c->carrive = c->carrive ? c->carrive * 2 : 16;
        c->arrive = realloc(c->arrive, c->carrive * sizeof *c->arrive);
        if (!c->arrive)
            abort();
    }
    c->arrive[c->narrive++] = ts;
    c->seen++;
    while (thread >= 0 && i < c->nthreads && c->threads[i] != thread)
        i++;
    if (thread >= 0 && i == c->nthreads && c->nthreads < 8)
        c->threads[c->nthreads++] = thread;
}

/* The candidate for window (a, b) of kind k, new or seen before. */
static struct hunt_cand *cand_window(struct hunt_cands *cs, const struct hunt_obs *o,
                                     enum hunt_kind k, const struct hunt_ev *a,
                                     const struct hunt_ev *b, int *fresh)
{
    const struct hunt_proc *p = &o->procs[a->proc];
    for (int i = 0; i < cs->n; i++) {
        struct hunt_cand *c = &cs->c[i];
        if (c->kind == k && c->first == a->detail && c->second == (b ? b->detail : NULL) &&
            c->proc == p->comm && c->service == p->service) {
            *fresh = 0;
            return c;
        }
    }
    *fresh = 1;
    struct hunt_cand *c = hunt_cand_add(cs, k, 0);
    c->first = a->detail;
    c->second = b ? b->detail : NULL;
    c->req = a->req >= 0 ? o->reqs[a->req].label : NULL;
    cand_place(c, o, a);
    return c;
}

/* What read r then write w of one table make, and why not when it is
 * no window at all (*why set, NULL kind unused). */
static enum hunt_kind cand_classify(const struct cand_read *r, const struct hunt_ev *w,
                                    const struct hunt_thread *th, const struct hunt_cat *cat,
                                    const char *side, int *score, const char **why)
{
    const struct hunt_stmt *rs = r->e->stmt, *ws = w->stmt;
    *why = NULL;
    if (r->strong) {
        *why = "the transaction runs under REPEATABLE READ or SERIALIZABLE";
        return HK_GUARDED;
    }
    if (rs->locking) {
        *why = "the read locks the rows it reads (FOR UPDATE / FOR SHARE)";
        return HK_GUARDED;
    }
    if (ws->verb == HV_INSERT && !hunt_cat_unique_within(cat, ws->table, rs->cols, rs->ncols)) {
        *score = SCORE_CHECK_INSERT;
        return HK_CHECK_INSERT;
    }
    if (ws->verb == HV_INSERT || ws->guarded) {
        /* the write re-checks, but what was sent in between is sent */
        *score = side ? SCORE_SIDE_EFFECT : SCORE_GUARDED;
        return side ? HK_SIDE_EFFECT : HK_GUARDED;
    }
    *score = th->background ? SCORE_CONSUMERS : SCORE_LOST_UPDATE;
    return th->background ? HK_CONSUMERS : HK_LOST_UPDATE;
}

static char *cand_title(enum hunt_kind k, const struct hunt_stmt *r, const struct hunt_stmt *w,
                        const char *req, const char *side)
{
    const char *t = w ? w->table : r->table;
    switch (k) {
    case HK_SIDE_EFFECT:
        return util_fmt("check-then-act on %s: two requests read it, then each calls %s before "
                        "the write re-checks",
                        t, side ? side : "another service");
    case HK_LOST_UPDATE:
        return util_fmt("lost update on %s: two requests read it, then each writes it", t);
    case HK_CONSUMERS:
        return util_fmt("two consumers take the same rows of %s", t);
    case HK_CHECK_INSERT:
        return util_fmt("check-then-insert on %s with no unique key behind the check", t);
    case HK_DOUBLE_SUBMIT:
        return util_fmt("double submit of %s: two copies meet before its first write (%s)",
                        req ? req : "a request", t);
    default:
        return util_fmt("read, then a guarded write of %s (expected to hold)", t);
    }
}

/* The first call to another service of the scenario between read r and
 * write w (at k) of thread th: its peer, or NULL. */
static const char *cand_side_effect(const struct hunt_obs *o, const struct hunt_thread *th,
                                    const struct cand_read *r, size_t k)
{
    for (size_t i = r->k + 1; i < k && i < th->first + th->n; i++) {
        const struct hunt_ev *e = &o->ev[o->order[i]];
        if (e->kind == HE_SEND && hunt_send_to(o, e) == HS_SEND_SERVICE)
            return e->detail;
    }
    return NULL;
}

static void cand_pair(struct hunt_cands *cs, const struct hunt_obs *o, const struct hunt_cat *cat,
                      const struct cand_read *r, const struct hunt_ev *w, size_t k)
{
    const struct hunt_thread *th = &o->threads[w->thread];
    const char *why, *side = cand_side_effect(o, th, r, k);
    int score = 0, fresh;
    enum hunt_kind k2 = cand_classify(r, w, th, cat, side, &score, &why);
    struct hunt_cand *c = cand_window(cs, o, k2, r->e, w, &fresh);
    if (fresh) {
        c->score = score;
        c->title = cand_title(k2, r->e->stmt, w->stmt, c->req, side);
        c->why_not = why;
        c->status = why ? HS_SKIPPED : HS_UNTRIED;
        cand_sql_rule(c, o, r->e, 1);
    }
    hunt_cand_arrive(c, r->e->ts, w->thread);
}

static void cand_double_submit(struct hunt_cands *cs, const struct hunt_obs *o,
                               const struct hunt_ev *w)
{
    int fresh;
    struct hunt_cand *c = cand_window(cs, o, HK_DOUBLE_SUBMIT, w, NULL, &fresh);
    if (fresh) {
        c->score = SCORE_DOUBLE_SUBMIT;
        c->title = cand_title(HK_DOUBLE_SUBMIT, w->stmt, w->stmt, c->req, NULL);
        cand_sql_rule(c, o, w, 0);
    }
    hunt_cand_arrive(c, w->ts, w->thread);
}

/* The latest read of table in reads, NULL none (background threads: one
 * at most CAND_BG_WINDOW_NS old). */
static const struct cand_read *cand_last_read(const struct cand_read *reads, int n,
                                              const char *table, const struct hunt_ev *w, int bg)
{
    for (int i = n; i-- > 0;)
        if (!strcmp(reads[i].e->stmt->table, table))
            return bg && w->ts - reads[i].e->ts > CAND_BG_WINDOW_NS ? NULL : &reads[i];
    return NULL;
}

static void cand_remember(struct cand_read *reads, int *n, const struct hunt_ev *e, size_t k,
                          int strong)
{
    for (int i = 0; i < *n; i++) {
        if (strcmp(reads[i].e->stmt->table, e->stmt->table))
            continue;
        memmove(&reads[i], &reads[i + 1], (size_t)(*n - i - 1) * sizeof *reads);
        (*n)--;
        break;
    }
    if (*n == CAND_READS) {
        memmove(&reads[0], &reads[1], (size_t)(*n - 1) * sizeof *reads);
        (*n)--;
    }
    reads[(*n)++] = (struct cand_read){e, k, strong};
}

/* One thread's statements in order: the windows they open. */
static void cand_thread(struct hunt_cands *cs, const struct hunt_obs *o, const struct hunt_cat *cat,
                        const struct hunt_thread *th)
{
    struct cand_read reads[CAND_READS];
    int nreads = 0, strong_tx = 0, strong_session = 0, seg = -2, wrote = 0;
    for (size_t k = th->first; k < th->first + th->n; k++) {
        const struct hunt_ev *e = &o->ev[o->order[k]];
        const struct hunt_stmt *st = e->stmt;
        if (e->kind == HE_SEND && !th->background && hunt_send_to(o, e) == HS_SEND_CLIENT)
            nreads = wrote = 0; /* the answer: whatever this thread does next is another request */
        if (e->kind != HE_SQL || !st || e->ts < o->load_t0)
            continue;
        if (!th->background && e->req != seg) { /* a new request: a new window */
            nreads = wrote = 0;
            seg = e->req;
        }
        if (st->verb == HV_BEGIN)
            strong_tx = st->strong;
        else if (st->verb == HV_SET && st->strong)
            strong_session = 1;
        else if (st->verb == HV_COMMIT || st->verb == HV_ROLLBACK)
            strong_tx = 0;
        if (hunt_stmt_is_read(st)) {
            cand_remember(reads, &nreads, e, k, strong_tx || strong_session);
            continue;
        }
        if (!hunt_stmt_is_write(st))
            continue;
        if (!th->background && e->req >= 0 && !wrote++)
            cand_double_submit(cs, o, e);
        const struct cand_read *r = cand_last_read(reads, nreads, st->table, e, th->background);
        if (r)
            cand_pair(cs, o, cat, r, e, k);
    }
}

/* Sizes each new candidate's barrier from its arrivals; a window one
 * background thread alone opens has no second consumer to meet. */
void hunt_cand_size(struct hunt_cands *cs, int from, const struct hunt_obs *o)
{
    uint64_t *inv = calloc(o->nreqs + 1, sizeof *inv), req_gap;
    for (size_t i = 0; i < o->nreqs; i++)
        inv[i] = o->reqs[i].t0;
    req_gap = hunt_gap_ns(inv, o->nreqs);
    free(inv);
    for (int i = from; i < cs->n; i++) {
        struct hunt_cand *c = &cs->c[i];
        c->gap_ns = c->narrive >= 2 ? hunt_gap_ns(c->arrive, c->narrive) : req_gap;
        c->timeout_ns = hunt_timeout_ns(c->gap_ns);
        for (int r = 0; r < c->nrules; r++)
            c->rules[r].ns = c->rules[r].act == HA_DELAY ? hunt_delay_ns(c->gap_ns) : c->timeout_ns;
        if (c->kind == HK_CONSUMERS && c->nthreads < 2) {
            c->score = SCORE_ONE_CONSUMER;
            free(c->title);
            c->title = util_fmt("one background thread reads, then writes %s (no second "
                                "consumer seen)",
                                c->second ? "the same table" : "it");
        }
    }
}

void hunt_cand_sql(const struct hunt_obs *obs, const struct hunt_cat *cat, struct hunt_cands *out)
{
    int from = out->n;
    for (int t = 0; t < obs->nthreads; t++)
        cand_thread(out, obs, cat, &obs->threads[t]);
    hunt_cand_size(out, from, obs);
}

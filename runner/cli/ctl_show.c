/*
 * ctl_show.c - `wedge ctl status`: what the processes of a run publish in
 * its control file (common/ctlfile.h), as text or JSON.
 *
 * The processes write while we read, without locks: a snapshot of each
 * field is consistent on its own (atomics; a held caller's fields are
 * published before its state), which is what a status needs.  A slot
 * whose pid is dead (a killed process) is not listed.
 */
#include "ctl.h"
#include "jsonw.h"
#include "util.h"
#include "wedge_exit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* A rule's totals over the live processes. */
struct ctl_tot {
    uint64_t hits, fires;
    int procs; /* processes that have the rule */
};

static int ctl_proc_live(struct ctlf_proc *p)
{
    return atomic_load(&p->ready) && ctlf_pid_alive(atomic_load(&p->pid));
}

static uint64_t ctl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ctl_totals(struct ctlf_region *reg, int id, struct ctl_tot *t)
{
    memset(t, 0, sizeof *t);
    for (int k = 0; k < CTLF_PROCS; k++) {
        struct ctlf_proc *p = &reg->procs[k];
        uint32_t n = atomic_load(&p->nrules);
        int has = 0;
        if (!ctl_proc_live(p))
            continue;
        for (uint32_t i = 0; i < n && i < CTLF_RULES; i++) {
            if (atomic_load(&p->rule_id[i]) != id)
                continue;
            has = 1;
            t->hits += atomic_load(&p->counts[i].hits);
            t->fires += atomic_load(&p->counts[i].fires);
        }
        t->procs += has;
    }
}

static int ctl_nprocs(struct ctlf_region *reg)
{
    int n = 0;
    for (int k = 0; k < CTLF_PROCS; k++)
        n += ctl_proc_live(&reg->procs[k]);
    return n;
}

int ctl_taken_up(struct ctlf_region *reg, uint32_t gen, int *live)
{
    int n = 0;

    *live = 0;
    for (int k = 0; k < CTLF_PROCS; k++) {
        struct ctlf_proc *p = &reg->procs[k];
        if (!ctl_proc_live(p))
            continue;
        ++*live;
        /* generations only grow: wrap-around is 2^32 adds away */
        n += (int32_t)(atomic_load(&p->gen) - gen) >= 0;
    }
    return n;
}

static const char *ctl_rule_state(uint32_t flags)
{
    return flags & CTLF_RULE_OFF ? "disabled" : "on";
}

static const char *ctl_kind_name(uint32_t kind)
{
    return kind == CTLF_KIND_BARRIER ? "barrier" : kind == CTLF_KIND_MARK ? "wait" : "hold";
}

/* Each listed held caller of the live processes: fn(proc, held, arg). */
static void ctl_each_held(struct ctlf_region *reg,
                          void (*fn)(struct ctlf_proc *, struct ctlf_held *, void *), void *arg)
{
    for (int k = 0; k < CTLF_PROCS; k++) {
        struct ctlf_proc *p = &reg->procs[k];
        if (!ctl_proc_live(p))
            continue;
        for (int j = 0; j < CTLF_HELD; j++)
            if (atomic_load_explicit(&p->held[j].state, memory_order_acquire) == 2)
                fn(p, &p->held[j], arg);
    }
}

/* Each listed rule (not removed): fn(id, rule, its flags, totals, arg). */
static void ctl_each_rule(struct ctlf_region *reg,
                          void (*fn)(int, struct ctlf_rule *, uint32_t, const struct ctl_tot *,
                                     void *),
                          void *arg)
{
    for (int id = 0; id < CTLF_RULES; id++) {
        struct ctlf_rule *r = &reg->rules[id];
        uint32_t flags = atomic_load(&r->flags);
        struct ctl_tot t;
        if (!atomic_load(&r->ready) || (flags & CTLF_RULE_REMOVED))
            continue;
        ctl_totals(reg, id, &t);
        fn(id, r, flags, &t, arg);
    }
}

struct ctl_count {
    const char *point;
    int n;
};

static void ctl_count_one(struct ctlf_proc *p, struct ctlf_held *h, void *arg)
{
    struct ctl_count *c = arg;
    (void)p;
    c->n += !strcmp(h->point, c->point);
}

int ctl_count_held(struct ctlf_region *reg, const char *point)
{
    struct ctl_count c = {point, 0};
    ctl_each_held(reg, ctl_count_one, &c);
    return c.n;
}

/* ---------------------------------------------------------------
 * Text.
 * ------------------------------------------------------------ */
static void ctl_text_held(struct ctlf_proc *p, struct ctlf_held *h, void *arg)
{
    uint64_t now = *(uint64_t *)arg, ns = now > h->since_ns ? now - h->since_ns : 0;

    printf("  pid %d thread %d  %s %s  %s", (int)atomic_load(&p->pid), h->tid,
           ctl_kind_name(h->kind), h->point, h->hook_name);
    if (h->rule >= 0)
        printf("  rule #%d", h->rule + 1);
    printf("  for %.1f s", (double)ns / 1e9);
    if (h->detail[0])
        printf("  %s", h->detail);
    printf("\n");
}

static void ctl_text_rule(int id, struct ctlf_rule *r, uint32_t flags, const struct ctl_tot *t,
                          void *arg)
{
    (void)arg;
    printf("  #%d %s  %s%s  hits %llu  fires %llu  in %d process%s\n      %s%s\n", id + 1, r->name,
           ctl_rule_state(flags), flags & CTLF_RULE_ADDED ? " (added)" : "",
           (unsigned long long)t->hits, (unsigned long long)t->fires, t->procs,
           t->procs == 1 ? "" : "es", r->text, strlen(r->text) == CTLF_TEXT - 1 ? "..." : "");
}

static void ctl_text(struct ctlf_region *reg, const char *path)
{
    uint64_t now = ctl_mono_ns();
    unsigned unlisted = 0;

    printf("control file %s\n\nprocesses: %d\n", path, ctl_nprocs(reg));
    for (int k = 0; k < CTLF_PROCS; k++) {
        struct ctlf_proc *p = &reg->procs[k];
        if (!ctl_proc_live(p))
            continue;
        unlisted += atomic_load(&p->held_unlisted);
        printf("  pid %d  %s  %u rules\n", (int)atomic_load(&p->pid), p->name,
               atomic_load(&p->nrules));
    }
    printf("\nrules:\n");
    ctl_each_rule(reg, ctl_text_rule, NULL);
    printf("\nheld:\n");
    ctl_each_held(reg, ctl_text_held, &now);
    if (unlisted)
        printf("  and %u more held, not listed (more than %d in a process)\n", unlisted, CTLF_HELD);
}

/* ---------------------------------------------------------------
 * JSON: {"ctl":PATH,"processes":[...],"rules":[...],"held":[...]}
 * ------------------------------------------------------------ */
struct ctl_json {
    uint64_t now;
    int n;
};

static void ctl_json_held(struct ctlf_proc *p, struct ctlf_held *h, void *arg)
{
    struct ctl_json *j = arg;

    printf("%s{\"pid\":%d,\"tid\":%d,\"kind\":\"%s\",\"point\":", j->n++ ? "," : "",
           (int)atomic_load(&p->pid), h->tid, ctl_kind_name(h->kind));
    jw_string(stdout, h->point);
    printf(",\"hook\":");
    jw_string(stdout, h->hook_name);
    printf(",\"rule\":%d,\"held_ms\":%llu,\"statement\":", h->rule + 1,
           (unsigned long long)((j->now > h->since_ns ? j->now - h->since_ns : 0) / 1000000ull));
    jw_string(stdout, h->detail);
    printf("}");
}

static void ctl_json_rule(int id, struct ctlf_rule *r, uint32_t flags, const struct ctl_tot *t,
                          void *arg)
{
    int *n = arg;

    printf("%s{\"index\":%d,\"name\":", (*n)++ ? "," : "", id + 1);
    jw_string(stdout, r->name);
    printf(",\"state\":\"%s\",\"added\":%s,\"hits\":%llu,\"fires\":%llu,\"processes\":%d,"
           "\"text\":",
           ctl_rule_state(flags), flags & CTLF_RULE_ADDED ? "true" : "false",
           (unsigned long long)t->hits, (unsigned long long)t->fires, t->procs);
    jw_string(stdout, r->text);
    printf("}");
}

static void ctl_json_rules(struct ctlf_region *reg)
{
    int n = 0;

    printf(",\"rules\":[");
    ctl_each_rule(reg, ctl_json_rule, &n);
    printf("]");
}

static void ctl_json(struct ctlf_region *reg, const char *path)
{
    struct ctl_json j = {ctl_mono_ns(), 0};
    int n = 0;

    printf("{\"ctl\":");
    jw_string(stdout, path);
    printf(",\"processes\":[");
    for (int k = 0; k < CTLF_PROCS; k++) {
        struct ctlf_proc *p = &reg->procs[k];
        if (!ctl_proc_live(p))
            continue;
        printf("%s{\"pid\":%d,\"name\":", n++ ? "," : "", (int)atomic_load(&p->pid));
        jw_string(stdout, p->name);
        printf(",\"rules\":%u,\"generation\":%u,\"held_unlisted\":%u}", atomic_load(&p->nrules),
               atomic_load(&p->gen), atomic_load(&p->held_unlisted));
    }
    printf("]");
    ctl_json_rules(reg);
    printf(",\"held\":[");
    ctl_each_held(reg, ctl_json_held, &j);
    printf("]}\n");
}

int ctl_status(struct ctlf_region *reg, const char *path, int json)
{
    if (json)
        ctl_json(reg, path);
    else
        ctl_text(reg, path);
    return WEDGE_PASS;
}

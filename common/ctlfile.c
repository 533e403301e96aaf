/*
 * ctlfile.c - the tables of the control file (ctlfile.h), found by
 * hashing and linear probing with a CAS claim; an all-zero table is a
 * valid empty one.  Raw system calls only: the shim calls this from its
 * hooks, where nothing may re-enter a hooked function or allocate.
 */
#include "ctlfile.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void ctlf_header_init(struct ctlf_header *h)
{
    memcpy(h->magic, CTLF_MAGIC, sizeof h->magic);
    h->version = CTLF_VERSION;
    h->nslots = CTLF_POINTS;
    h->size = sizeof(struct ctlf_region);
}

uint64_t ctlf_hash(uint32_t kind, const char *text)
{
    uint64_t h = 0xcbf29ce484222325ull ^ kind;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return h ? h : 1;
}

/* Wait (yielding) for a slot claimed by someone who is writing its name:
 * a few instructions, unless that process died in between.  0 when ready. */
static int ctlf_ready(_Atomic uint32_t *ready)
{
    for (int spin = 0; !atomic_load_explicit(ready, memory_order_acquire); spin++) {
        if (spin > 100000)
            return -1;
        syscall(SYS_sched_yield);
    }
    return 0;
}

_Atomic uint32_t *ctlf_point(struct ctlf_region *reg, uint32_t kind, const char *name, int claim)
{
    uint64_t h = ctlf_hash(kind, name);

    for (unsigned k = 0; reg && k < CTLF_POINTS; k++) {
        struct ctlf_point *s = &reg->slots[(h + k) % CTLF_POINTS];
        uint64_t key = atomic_load_explicit(&s->key, memory_order_acquire);
        if (key == 0) {
            uint64_t zero = 0;
            if (!claim)
                return NULL;
            if (atomic_compare_exchange_strong(&s->key, &zero, h)) {
                s->kind = kind;
                strncpy(s->name, name, sizeof s->name - 1);
                atomic_store_explicit(&s->ready, 1, memory_order_release);
                return &s->word;
            }
            key = zero;
        }
        if (key != h || ctlf_ready(&s->ready) < 0)
            continue;
        if (s->kind == kind && strncmp(s->name, name, sizeof s->name - 1) == 0)
            return &s->word;
    }
    return NULL;
}

void ctlf_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void ctlf_mark(struct ctlf_region *reg, const char *name)
{
    _Atomic uint32_t *w = ctlf_point(reg, CTLF_KIND_MARK, name, 1);

    if (w) {
        atomic_fetch_add(w, 1);
        ctlf_wake(w);
    }
}

int ctlf_release(struct ctlf_region *reg, const char *name)
{
    _Atomic uint32_t *w = ctlf_point(reg, CTLF_KIND_HOLD, name, 0);
    int found = 0;

    if (w) {
        atomic_fetch_add(w, 1);
        ctlf_wake(w);
        found++;
    }
    w = ctlf_point(reg, CTLF_KIND_BARRIER, name, 0);
    if (w) {
        uint32_t cur = atomic_load(w);
        while (!atomic_compare_exchange_weak(w, &cur, ((cur >> 8) + 1) << 8))
            ;
        ctlf_wake(w);
        found++;
    }
    return found;
}

int ctlf_rule_find(struct ctlf_region *reg, const char *text, const char *name, uint32_t flags,
                   int claim)
{
    uint64_t h = ctlf_hash(0, text);

    for (unsigned k = 0; reg && k < CTLF_RULES; k++) {
        /* probing in order from 0: the table lists rules in the order
         * they came, which is how status numbers them */
        struct ctlf_rule *r = &reg->rules[k];
        uint64_t key = atomic_load_explicit(&r->key, memory_order_acquire);
        if (key == 0) {
            uint64_t zero = 0;
            if (!claim)
                return -1;
            if (atomic_compare_exchange_strong(&r->key, &zero, h)) {
                strncpy(r->name, name, sizeof r->name - 1);
                strncpy(r->text, text, sizeof r->text - 1);
                atomic_store_explicit(&r->flags, flags, memory_order_relaxed);
                atomic_store_explicit(&r->ready, 1, memory_order_release);
                return (int)k;
            }
            key = zero;
        }
        if (key != h || ctlf_ready(&r->ready) < 0)
            continue;
        if (strncmp(r->text, text, sizeof r->text - 1) == 0) {
            if (claim)
                atomic_fetch_or(&r->flags, flags & CTLF_RULE_START);
            return (int)k;
        }
    }
    return -1;
}

int ctlf_pid_alive(int32_t pid)
{
    return pid > 0 && (syscall(SYS_kill, pid, 0) == 0 || errno == EPERM);
}

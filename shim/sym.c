/*
 * sym.c - the list of loaded objects and their symbol tables (sym.h):
 * built outside the hooks, read inside them.
 *
 * The list is an immutable array published through one atomic pointer:
 * an indexer (start, the dlopen and dlclose wrappers) builds a new array,
 * reusing the tables of objects still loaded, and swaps the pointer.
 * Nothing is ever unmapped, so a hook that loaded the old pointer keeps
 * reading valid memory.  A hook therefore does two binary searches (the
 * object, the function) and one more for inline segments: no lock, no
 * allocation, no system call.
 */
#include "sym.h"

#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sym_list {
    uint32_t n;
    const struct sym_obj *objs[];
};

static _Atomic(const struct sym_list *) sym_cur;
static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;
static sym_classify_fn sym_cls;
static int sym_inline;
static int sym_ranges; /* this scan lists objects only: no file is read */
static _Atomic int sym_full;
_Atomic unsigned sym_generation; /* bumped by every publish (caller.c's cache) */

/* An object as the loader lists it. */
struct sym_seen {
    char *name;
    uintptr_t bias, lo, hi;
};

struct sym_scan {
    struct sym_seen *v;
    size_t n, cap;
    const uintptr_t *ips; /* only objects holding one of these (NULL: all) */
    int nips;
};

static int sym_phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct sym_scan *sc = arg;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    int want = !sc->ips;

    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    if (hi <= lo)
        return 0;
    for (int k = 0; !want && k < sc->nips; k++)
        want = sc->ips[k] >= lo && sc->ips[k] < hi;
    if (!want)
        return 0;
    if (sym_grow((void **)&sc->v, &sc->cap, sc->n, sizeof *sc->v) < 0)
        return 1;
    struct sym_seen *s = &sc->v[sc->n];
    s->name = strdup(info->dlpi_name ? info->dlpi_name : "");
    if (!s->name)
        return 1;
    s->bias = info->dlpi_addr;
    s->lo = lo;
    s->hi = hi;
    sc->n++;
    return 0;
}

static int sym_obj_cmp(const void *pa, const void *pb)
{
    const struct sym_obj *a = *(const struct sym_obj *const *)pa;
    const struct sym_obj *b = *(const struct sym_obj *const *)pb;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* The tables of a listed object: reused from the current list when the
 * same object is still there, else read now. */
static const struct sym_obj *sym_obj_for(const struct sym_seen *s, const struct sym_list *old)
{
    char exe[4096];
    const char *path = s->name, *display = s->name;
    struct sym_obj *o;
    int is_main = !s->name[0];

    for (uint32_t i = 0; old && i < old->n; i++) {
        const struct sym_obj *p = old->objs[i];
        if (p->lo == s->lo && p->hi == s->hi && p->bias == s->bias &&
            (is_main ? (p->flags & SYM_MAIN) != 0 : !strcmp(p->path, s->name)) &&
            (sym_ranges || !(p->flags & SYM_RANGES)))
            return p;
    }
    if (is_main) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        path = "/proc/self/exe";
        display = n > 0 ? exe : "(program)";
    }
    /* inline instances: the program's also from its debug file; none for
     * the shim itself, whose frames are never shown */
    int self = (uintptr_t)&sym_find >= s->lo && (uintptr_t)&sym_find < s->hi;
    o = sym_index_object(sym_ranges ? NULL : path, display, s->bias, s->lo, s->hi, sym_cls,
                         self && !is_main        ? 0
                         : sym_inline && is_main ? 2
                                                 : sym_inline);
    if (!o)
        return NULL;
    if (is_main)
        o->flags |= SYM_MAIN;
    if (self)
        o->flags |= SYM_SELF;
    if (!strncmp(o->base, "libc.", 5) || !strncmp(o->base, "libc-", 5))
        o->flags |= SYM_LIBC;
    return o;
}

/* List the loaded objects, index the new ones, publish.  keep_old: keep
 * the current objects the scan did not list (a filtered scan). */
static int sym_scan_locked(const uintptr_t *ips, int nips, int keep_old, int reuse)
{
    struct sym_scan sc = {.ips = ips, .nips = nips};
    const struct sym_list *old = atomic_load_explicit(&sym_cur, memory_order_acquire);
    struct sym_list *nl = NULL;
    uint32_t n = 0, cap;
    int rc = -1;

    dl_iterate_phdr(sym_phdr_cb, &sc);
    cap = (uint32_t)sc.n + (keep_old && old ? old->n : 0);
    nl = sym_mem(sizeof *nl + (cap ? cap : 1) * sizeof nl->objs[0]);
    if (!nl)
        goto out;
    for (size_t i = 0; i < sc.n; i++) {
        const struct sym_obj *o = sym_obj_for(&sc.v[i], reuse ? old : NULL);
        if (o)
            nl->objs[n++] = o;
    }
    for (uint32_t i = 0; keep_old && old && i < old->n; i++) {
        const struct sym_obj *p = old->objs[i];
        uint32_t k = 0;
        while (k < n && nl->objs[k] != p && nl->objs[k]->lo != p->lo) /* kept or replaced */
            k++;
        if (k == n)
            nl->objs[n++] = p;
    }
    nl->n = n;
    qsort(nl->objs, n, sizeof nl->objs[0], sym_obj_cmp);
    atomic_store_explicit(&sym_cur, nl, memory_order_release);
    atomic_fetch_add_explicit(&sym_generation, 1, memory_order_release);
    rc = sc.n ? 0 : -1;
out:
    for (size_t i = 0; i < sc.n; i++)
        free(sc.v[i].name);
    free(sc.v);
    return rc;
}

static void sym_atfork_child(void)
{
    pthread_mutex_init(&sym_lock, NULL); /* a parent thread may have held it */
}

static int sym_build_with(sym_classify_fn classify, int inline_names, int reuse)
{
    static int atfork;
    int rc;

    pthread_mutex_lock(&sym_lock);
    if (!atfork++)
        pthread_atfork(NULL, NULL, sym_atfork_child);
    sym_cls = classify;
    sym_inline = inline_names;
    rc = sym_scan_locked(NULL, 0, 0, reuse);
    atomic_store(&sym_full, 1);
    pthread_mutex_unlock(&sym_lock);
    return rc;
}

int sym_build(sym_classify_fn classify, int inline_names)
{
    return sym_build_with(classify, inline_names, 1);
}

int sym_rebuild(sym_classify_fn classify, int inline_names)
{
    return sym_build_with(classify, inline_names, 0);
}

void sym_build_for(const uintptr_t *ips, int n)
{
    if (sym_built() || n <= 0)
        return;
    pthread_mutex_lock(&sym_lock);
    sym_inline = 1; /* only these objects: their inline instances too */
    sym_scan_locked(ips, n, 1, 1);
    pthread_mutex_unlock(&sym_lock);
}

void sym_build_ranges(void)
{
    pthread_mutex_lock(&sym_lock);
    if (!atomic_load_explicit(&sym_cur, memory_order_acquire)) {
        sym_ranges = 1;
        sym_scan_locked(NULL, 0, 0, 0);
        sym_ranges = 0;
    }
    pthread_mutex_unlock(&sym_lock);
}

int sym_built(void)
{
    return atomic_load_explicit(&sym_full, memory_order_acquire);
}

void sym_refresh(void)
{
    if (!sym_built())
        return;
    pthread_mutex_lock(&sym_lock);
    sym_scan_locked(NULL, 0, 0, 1);
    pthread_mutex_unlock(&sym_lock);
}

/* ---------------------------------------------------------------
 * Lookup: hook-safe.
 * ------------------------------------------------------------ */
int sym_find(uintptr_t ip, struct sym_frame *f)
{
    const struct sym_list *l = atomic_load_explicit(&sym_cur, memory_order_acquire);
    long k;

    *f = (struct sym_frame){.inl = -1, .ip = ip};
    if (!l)
        return 0;
    k = SYM_LAST_LE(l->objs, l->n, ->lo, ip);
    if (k < 0 || ip >= l->objs[k]->hi)
        return 0;
    const struct sym_obj *o = f->obj = l->objs[k];
    uintptr_t a = ip - o->bias;
    k = SYM_LAST_LE(o->funcs, o->nfuncs, .lo, a);
    if (k >= 0 && (!o->funcs[k].len || a - o->funcs[k].lo < o->funcs[k].len))
        f->fn = &o->funcs[k];
    k = SYM_LAST_LE(o->segs, o->nsegs, .lo, a);
    if (k >= 0)
        f->inl = o->segs[k].inl;
    return 1;
}

uint64_t sym_frame_mask(const struct sym_frame *f)
{
    uint64_t m = 0;

    if (f->fn && !f->fn->guess)
        m = f->fn->mask;
    if (f->obj && f->inl >= 0)
        m |= f->obj->inl[f->inl].chain_mask;
    return m;
}

int sym_frame_names(const struct sym_frame *f, const char **names, int max, char *buf,
                    size_t buflen)
{
    const struct sym_obj *o = f->obj;
    int n = 0;

    if (max <= 0)
        return 0;
    if (!o) {
        snprintf(buf, buflen, "0x%lx", (unsigned long)f->ip);
        names[n++] = buf;
        return n;
    }
    for (int32_t e = f->inl; e >= 0 && n < max; e = o->inl[e].parent)
        names[n++] = o->names + o->inl[e].name;
    if (n < max) {
        if (f->fn) {
            names[n++] = o->names + f->fn->name;
        } else {
            snprintf(buf, buflen, "%s+0x%lx", o->base, (unsigned long)(f->ip - o->bias));
            names[n++] = buf;
        }
    }
    return n;
}

/* ---------------------------------------------------------------
 * Reporting (start and exit only).
 * ------------------------------------------------------------ */
void sym_describe(uintptr_t ip, char *out, size_t len)
{
    struct sym_frame f;
    char where[320];
    size_t used = 0;

    /* ip is a return address: the call, and its inline context, lie just before it */
    if (!ip || !sym_find(ip - 1, &f)) {
        snprintf(out, len, "0x%lx", (unsigned long)ip);
        return;
    }
    const struct sym_obj *o = f.obj;
    uintptr_t a = ip - o->bias;
    if (f.fn && !f.fn->guess) {
        snprintf(where, sizeof where, "%s+0x%lx", o->names + f.fn->name,
                 (unsigned long)(a - f.fn->lo));
    } else if (f.fn) {
        /* a guess: as an offset from the nearest symbol below, marked */
        const struct sym_func *x = f.fn;
        while (x > o->funcs && x->guess)
            x--;
        if (!x->guess)
            snprintf(where, sizeof where, "%s?+0x%lx", o->names + x->name,
                     (unsigned long)(a - x->lo));
        else
            snprintf(where, sizeof where, "%s?+0x%lx", o->base, (unsigned long)a);
    } else {
        snprintf(where, sizeof where, "%s+0x%lx", o->base, (unsigned long)a);
    }
    out[0] = '\0';
    for (int32_t e = f.inl; e >= 0 && used < len; e = o->inl[e].parent) {
        int w = snprintf(out + used, len - used, "%s in ", o->names + o->inl[e].name);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < len)
        snprintf(out + used, len - used, "%s", where);
}

void sym_stats(uint64_t union_mask[1], unsigned *nobjs, unsigned long *nfuncs, unsigned long *ninl)
{
    const struct sym_list *l = atomic_load_explicit(&sym_cur, memory_order_acquire);

    *union_mask = 0;
    *nobjs = 0;
    *nfuncs = *ninl = 0;
    for (uint32_t i = 0; l && i < l->n; i++) {
        const struct sym_obj *o = l->objs[i];
        (*nobjs)++;
        *nfuncs += o->nfuncs - o->nguess;
        *ninl += o->ninl;
        for (uint32_t k = 0; k < o->nfuncs; k++)
            *union_mask |= o->funcs[k].mask;
        for (uint32_t k = 0; k < o->ninl; k++)
            *union_mask |= o->inl[k].chain_mask;
    }
}

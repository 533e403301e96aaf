/*
 * sym_index.c - building the symbol tables of sym.h: one object at a
 * time, from what sym_elf.c and sym_dwarf.c read, into memory from mmap
 * that is never freed (hooks read it without a lock).
 *
 * Runs at start and in the dlopen wrapper only; it allocates with malloc
 * for its scratch work and calls classify() (regexec) on every name once.
 */
#include "sym.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SYM_CHUNK (1u << 20) /* arena chunk; larger tables get a mapping of their own */

/* ---------------------------------------------------------------
 * The arena: bump allocation in private anonymous mappings.  Called
 * under sym_lock only.
 * ------------------------------------------------------------ */
static char *sym_arena;
static size_t sym_arena_left;

void *sym_mem(size_t n)
{
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (n > SYM_CHUNK / 4) {
        p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    if (n > sym_arena_left) {
        p = mmap(NULL, SYM_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        sym_arena = p;
        sym_arena_left = SYM_CHUNK;
    }
    p = sym_arena;
    sym_arena += n;
    sym_arena_left -= n;
    return p;
}

char *sym_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = sym_mem(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---------------------------------------------------------------
 * Functions: sorted, aliases merged, guesses added.
 * ------------------------------------------------------------ */
static size_t sym_underscores(const char *s)
{
    size_t n = 0;
    while (s[n] == '_')
        n++;
    return n;
}

static int sym_raw_cmp(const void *pa, const void *pb)
{
    const struct sym_raw *a = pa, *b = pb;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* 1 when name a (rank ra) is a better name for a function than b: global
 * before weak before local, then fewer leading underscores ("malloc", not
 * "__libc_malloc"), then the first in byte order (stable output). */
static int sym_better(const char *a, int ra, const char *b, int rb)
{
    if (ra != rb)
        return ra < rb;
    if (sym_underscores(a) != sym_underscores(b))
        return sym_underscores(a) < sym_underscores(b);
    return strcmp(a, b) < 0;
}

/* The symbols, sorted by address, with aliases merged into out (the best
 * name kept, the masks of all joined).  Returns the count. */
static size_t sym_merge(struct sym_builder *b, sym_classify_fn classify, struct sym_func *out)
{
    size_t n = 0;
    uint8_t best_rank = 0;

    if (b->nf)
        qsort(b->f, b->nf, sizeof *b->f, sym_raw_cmp);
    for (size_t i = 0; i < b->nf; i++) {
        const struct sym_raw *r = &b->f[i];
        uint64_t m = sym_mask_of(b, classify, r->name);
        if (n && out[n - 1].lo == r->lo) {
            struct sym_func *o = &out[n - 1];
            o->mask |= m;
            if (!o->len)
                o->len = r->len;
            if (sym_better(b->names + r->name, r->rank, b->names + o->name, best_rank)) {
                o->name = r->name;
                best_rank = r->rank;
            }
            continue;
        }
        best_rank = r->rank;
        out[n++] = (struct sym_func){.lo = r->lo, .len = r->len, .name = r->name, .mask = m};
    }
    return n;
}

/* A guess for every function start .eh_frame_hdr knows that no symbol
 * covers, named after the nearest symbol below ("X?+0x230"), or the
 * object ("libfoo.so.1?+0x1a20") when none is.  The starts come sorted. */
static long sym_guesses(struct sym_builder *b, const struct sym_func *ex, size_t nex,
                        const char *base, struct sym_func *out)
{
    char name[320];
    size_t n = 0;

    for (size_t i = 0; i < b->nfde; i++) {
        uintptr_t s = b->fde[i];
        long k = SYM_LAST_LE(ex, nex, .lo, s);
        if (k >= 0 && (s == ex[k].lo || (ex[k].len && s - ex[k].lo < ex[k].len)))
            continue;
        if (n && out[n - 1].lo == s)
            continue;
        if (k >= 0)
            snprintf(name, sizeof name, "%.256s?+0x%lx", b->names + ex[k].name,
                     (unsigned long)(s - ex[k].lo));
        else
            snprintf(name, sizeof name, "%.256s?+0x%lx", base, (unsigned long)s);
        long off = sym_add_name(b, name, strlen(name));
        if (off < 0)
            return -1;
        out[n++] = (struct sym_func){.lo = s, .guess = 1, .name = (uint32_t)off};
    }
    return (long)n;
}

/* The function table of o from b, in the arena: symbols and guesses
 * merged in address order. */
static int sym_finish_funcs(struct sym_builder *b, sym_classify_fn classify, struct sym_obj *o)
{
    struct sym_func *ex = malloc((b->nf + 1) * sizeof *ex);
    struct sym_func *gu = malloc((b->nfde + 1) * sizeof *gu), *all;
    size_t nex, i = 0, k = 0, n = 0;
    long ng;
    int rc = -1;

    if (!ex || !gu)
        goto out;
    nex = sym_merge(b, classify, ex);
    ng = sym_guesses(b, ex, nex, o->base, gu);
    if (ng < 0 || !(all = sym_mem((nex + (size_t)ng + 1) * sizeof *all)))
        goto out;
    while (i < nex || k < (size_t)ng)
        all[n++] = k == (size_t)ng || (i < nex && ex[i].lo <= gu[k].lo) ? ex[i++] : gu[k++];
    o->funcs = all;
    o->nfuncs = (uint32_t)n;
    o->nguess = (uint32_t)ng;
    rc = 0;
out:
    free(ex);
    free(gu);
    return rc;
}

/* ---------------------------------------------------------------
 * Inline instances: chain masks, and the flattening of nested ranges
 * into disjoint segments (each pointing at the deepest instance).
 * ------------------------------------------------------------ */
static const struct sym_rawinl *sym_sort_inl;

static int sym_inl_cmp(const void *pa, const void *pb)
{
    const struct sym_rawinl *a = &sym_sort_inl[*(const uint32_t *)pa];
    const struct sym_rawinl *b = &sym_sort_inl[*(const uint32_t *)pb];
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi > b->hi ? -1 : 1; /* the enclosing range first */
    return a->depth < b->depth ? -1 : a->depth > b->depth;
}

struct sym_segs {
    struct sym_seg *s;
    size_t n;
};

static void sym_emit(struct sym_segs *out, uintptr_t lo, int32_t inl)
{
    if (out->n && out->s[out->n - 1].lo == lo) {
        out->s[out->n - 1].inl = inl; /* what starts here wins */
        return;
    }
    if (out->n && out->s[out->n - 1].inl == inl)
        return;
    out->s[out->n++] = (struct sym_seg){lo, inl};
}

/* A sweep over the ranges sorted by start: a stack of the ranges that
 * are open.  A range that overlaps its encloser without nesting (bad
 * DWARF) is clipped to it. */
static int sym_flatten(const struct sym_builder *b, struct sym_obj *o)
{
    uint32_t *idx = malloc((b->nin + 1) * sizeof *idx), *st = malloc((b->nin + 1) * sizeof *st);
    uintptr_t *hi = malloc((b->nin + 1) * sizeof *hi);
    struct sym_segs out = {malloc((2 * b->nin + 2) * sizeof *out.s), 0};
    size_t sp = 0;
    int rc = -1;

    if (!idx || !st || !hi || !out.s)
        goto out;
    for (size_t i = 0; i < b->nin; i++)
        idx[i] = (uint32_t)i;
    sym_sort_inl = b->in;
    qsort(idx, b->nin, sizeof *idx, sym_inl_cmp);
    for (size_t k = 0; k < b->nin; k++) {
        uint32_t e = idx[k];
        while (sp && hi[st[sp - 1]] <= b->in[e].lo) {
            uint32_t t = st[--sp];
            sym_emit(&out, hi[t], sp ? (int32_t)st[sp - 1] : -1);
        }
        hi[e] = b->in[e].hi;
        if (sp && hi[e] > hi[st[sp - 1]])
            hi[e] = hi[st[sp - 1]];
        if (hi[e] <= b->in[e].lo)
            continue;
        sym_emit(&out, b->in[e].lo, (int32_t)e);
        st[sp++] = e;
    }
    while (sp) {
        uint32_t t = st[--sp];
        sym_emit(&out, hi[t], sp ? (int32_t)st[sp - 1] : -1);
    }
    struct sym_seg *segs = sym_mem((out.n ? out.n : 1) * sizeof *segs);
    if (!segs)
        goto out;
    if (out.n)
        memcpy(segs, out.s, out.n * sizeof *segs);
    o->segs = segs;
    o->nsegs = (uint32_t)out.n;
    rc = 0;
out:
    free(idx);
    free(st);
    free(hi);
    free(out.s);
    return rc;
}

static int sym_finish_inline(struct sym_builder *b, sym_classify_fn classify, struct sym_obj *o)
{
    struct sym_inl *inl;

    if (!b->nin)
        return 0;
    inl = sym_mem(b->nin * sizeof *inl);
    if (!inl)
        return -1;
    for (size_t i = 0; i < b->nin; i++) {
        int32_t p = b->in[i].parent;
        if (p >= (int32_t)i) /* parents come first; anything else is corrupt */
            p = -1;
        inl[i] = (struct sym_inl){.name = b->in[i].name, .parent = p};
        inl[i].chain_mask =
            sym_mask_of(b, classify, b->in[i].name) | (p >= 0 ? inl[p].chain_mask : 0);
    }
    o->inl = inl;
    o->ninl = (uint32_t)b->nin;
    return sym_flatten(b, o);
}

static void sym_builder_free(struct sym_builder *b)
{
    free(b->f);
    free(b->fde);
    free(b->in);
    free(b->names);
    free(b->hash);
    free(b->hmask);
    free(b->hknown);
}

struct sym_obj *sym_index_object(const char *path, const char *display, uintptr_t bias,
                                 uintptr_t lo, uintptr_t hi, sym_classify_fn classify,
                                 int inline_names)
{
    struct sym_builder b = {.path = path, .debugfile_dwarf = inline_names > 1};
    struct sym_obj *o = sym_mem(sizeof *o), *ret = NULL;
    const char *slash = strrchr(display, '/');

    if (!o)
        return NULL;
    *o = (struct sym_obj){.lo = lo, .hi = hi, .bias = bias};
    o->path = sym_strdup(display);
    o->base = sym_strdup(slash ? slash + 1 : display);
    if (!o->path || !o->base)
        goto out;
    /* an object with no readable file (or none asked for) still gets its range */
    if (path)
        symelf_read(&b);
    else
        o->flags |= SYM_RANGES;
    if (path && inline_names && b.dwarf_path[0])
        symdwarf_read(&b);
    o->flags |= b.flags & (SYM_SYMTAB | SYM_DEBUGDATA | SYM_DEBUGFILE | SYM_DWARF);
    if (sym_finish_funcs(&b, classify, o) < 0 || sym_finish_inline(&b, classify, o) < 0)
        goto out;
    char *names = sym_mem(b.nnames ? b.nnames : 1);
    if (!names)
        goto out;
    if (b.nnames)
        memcpy(names, b.names, b.nnames);
    o->names = names;
    ret = o;
out:
    sym_builder_free(&b);
    return ret;
}

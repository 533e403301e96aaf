/*
 * sym_builder.c - the scratch tables of one object while it is indexed
 * (struct sym_builder, sym.h): growing arrays, and the pool of names,
 * each stored once and classified once.  Below the readers (sym_elf.c,
 * sym_dwarf.c) that fill a builder and the indexer (sym_index.c) that
 * turns it into the tables the hooks read; it calls none of them.
 *
 * Runs at start and in the dlopen wrapper only: malloc'd memory, and
 * classify() (regexec) on every distinct name.
 */
#include "sym.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sym_grow(void **arr, size_t *cap, size_t n, size_t size)
{
    size_t want = *cap ? *cap * 2 : 1024;
    void *p;

    if (n < *cap)
        return 0;
    if (!(p = realloc(*arr, want * size)))
        return -1;
    *arr = p;
    *cap = want;
    return 0;
}

/* ---------------------------------------------------------------
 * The builder's name pool: each name stored once, found by hash.
 * ------------------------------------------------------------ */
static uint64_t sym_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int sym_hash_grow(struct sym_builder *b)
{
    size_t cap = b->hcap ? b->hcap * 2 : 4096;
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h)
        return -1;
    for (size_t i = 0; i < b->hcap; i++) {
        if (!b->hash[i])
            continue;
        const char *s = b->names + b->hash[i] - 1;
        size_t k = sym_hash(s, strlen(s)) & (cap - 1);
        while (h[k])
            k = (k + 1) & (cap - 1);
        h[k] = b->hash[i];
    }
    free(b->hash);
    free(b->hmask);
    free(b->hknown);
    b->hash = h;
    b->hcap = cap;
    b->hmask = NULL; /* masks are computed after the last name is added */
    b->hknown = NULL;
    return 0;
}

/* Room for len more bytes of names; -1 when out of memory. */
static int sym_names_room(struct sym_builder *b, size_t len)
{
    if (b->nnames + len + 1 <= b->capnames)
        return 0;
    size_t cap = b->capnames ? b->capnames : 65536;
    while (b->nnames + len + 1 > cap)
        cap *= 2;
    if (cap > UINT32_MAX - 1)
        return -1;
    char *n = realloc(b->names, cap);
    if (!n)
        return -1;
    b->names = n;
    b->capnames = cap;
    return 0;
}

long sym_add_name(struct sym_builder *b, const char *s, size_t len)
{
    if (sym_names_room(b, len) < 0)
        return -1;
    long off = (long)b->nnames;
    memcpy(b->names + off, s, len);
    b->names[off + (long)len] = '\0';
    b->nnames += len + 1;
    return off;
}

long sym_add_name_once(struct sym_builder *b, const char *s, size_t len)
{
    size_t k;
    long off;

    if ((b->hused + 1) * 2 > b->hcap && sym_hash_grow(b) < 0)
        return -1;
    k = sym_hash(s, len) & (b->hcap - 1);
    for (; b->hash[k]; k = (k + 1) & (b->hcap - 1)) {
        const char *t = b->names + b->hash[k] - 1;
        if (strncmp(t, s, len) == 0 && t[len] == '\0')
            return (long)b->hash[k] - 1;
    }
    if ((off = sym_add_name(b, s, len)) < 0)
        return -1;
    b->hash[k] = (uint32_t)off + 1;
    b->hused++;
    return off;
}

/* The patterns name `off` matches: the name as written and, for a
 * compiler's clone ("f.constprop.0", "f.part.1", "f.cold"), the function
 * it was cut from.  Computed once per distinct name. */
uint64_t sym_mask_of(struct sym_builder *b, sym_classify_fn classify, uint32_t off)
{
    const char *s = b->names + off, *dot;
    size_t k = 0;
    int cached = 0;
    uint64_t m;

    if (!classify)
        return 0;
    /* a name stored once (inline instances repeat) is classified once */
    if (b->hcap && !b->hmask) {
        b->hmask = calloc(b->hcap, sizeof *b->hmask);
        b->hknown = calloc(b->hcap, 1);
    }
    if (b->hmask && b->hknown) {
        k = sym_hash(s, strlen(s)) & (b->hcap - 1);
        while (b->hash[k] && b->hash[k] != off + 1)
            k = (k + 1) & (b->hcap - 1);
        cached = b->hash[k] != 0;
        if (cached && b->hknown[k])
            return b->hmask[k];
    }
    m = classify(s);
    if ((dot = strchr(s, '.')) && dot > s) {
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(dot - s), s);
        m |= classify(base);
    }
    if (cached) {
        b->hknown[k] = 1;
        b->hmask[k] = m;
    }
    return m;
}

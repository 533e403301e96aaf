/*
 * sym.h - the shim's own symbol tables: function names of every loaded
 * object, read outside the hooks and looked up inside them with no
 * allocation, no lock and no system call.
 *
 *   sym.c        the object list: indexing (at start, after dlopen and
 *                dlclose), publishing, lookup by address, formatting
 *   sym_elf.c    an object's functions: .symtab, else .dynsym plus
 *                .gnu_debugdata (xz) or a separate debug file; .eh_frame_hdr
 *                gives the start of every function the symbols miss
 *   sym_dwarf.c  inlined functions from DWARF (libdw): address ranges
 *                flattened into disjoint segments
 *   sym_index.c  one object's tables, built from what those two read
 *   sym_builder.c  the scratch tables they share while an object is read
 *
 * Why: a hook can be called from inside the program's allocator
 * (jemalloc takes pthread mutexes while it allocates).  libunwind's
 * unw_get_proc_name and glibc's regexec allocate, so naming a frame or
 * matching `caller ~` there re-entered the allocator.  Here everything
 * that allocates (reading files, libdw, regexec over every name) happens
 * at start or in the dlopen wrapper, and the tables the hooks read live in
 * memory from mmap that is never freed, so a reader never races a free.
 *
 * Internal to libwedge.so.
 */
#ifndef WEDGE_SYM_H
#define WEDGE_SYM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Bit 63 of a mask is not a pattern: caller.c marks the shim's own frames. */
#define SYM_MAX_PATTERNS 63

/* One function of an object.  Addresses are link-time (the object's
 * bias is added at lookup).  A guess is a function that only
 * .eh_frame_hdr knows: its name says so ("PQinitOpenSSL?+0x230", the
 * nearest symbol below and the distance) and it never matches. */
struct sym_func {
    uintptr_t lo;
    uint32_t len : 31; /* bytes; 0 for a symbol without size: up to the next */
    uint32_t guess : 1;
    uint32_t name; /* offset in the object's names */
    uint64_t mask; /* bit k: pattern k matches the name or an alias */
};

/* One inlined instance; parent is the instance it was inlined into
 * (-1: straight into the function). */
struct sym_inl {
    uint32_t name;
    int32_t parent;
    uint64_t chain_mask; /* its mask OR its parents' */
};

/* Disjoint address segments, sorted: [lo, next lo) lies in instance inl
 * (the deepest), -1 in none. */
struct sym_seg {
    uintptr_t lo;
    int32_t inl;
};

enum sym_obj_flags {
    SYM_SELF = 1,       /* libwedge.so itself */
    SYM_MAIN = 2,       /* the program */
    SYM_LIBC = 4,       /* the C library (thread start frames) */
    SYM_SYMTAB = 8,     /* exact names from a .symtab */
    SYM_DEBUGDATA = 16, /* ... found in .gnu_debugdata */
    SYM_DEBUGFILE = 32, /* ... found in a separate debug file */
    SYM_DWARF = 64,     /* inline instances read */
    SYM_RANGES = 128,   /* listed only: no file read, no function known */
};

struct sym_obj {
    uintptr_t lo, hi; /* runtime range of its executable segments */
    uintptr_t bias;   /* runtime - link-time address */
    const char *path, *base;
    const struct sym_func *funcs;
    const struct sym_inl *inl;
    const struct sym_seg *segs;
    const char *names;
    uint32_t nfuncs, ninl, nsegs, nguess;
    unsigned flags;
};

/* Where an address is: its object, function and deepest inline instance. */
struct sym_frame {
    const struct sym_obj *obj; /* NULL: in no known object */
    const struct sym_func *fn; /* NULL: no function known */
    int32_t inl;               /* -1: not inlined */
    uintptr_t ip;
};

/* Index of the last element of arr[0..n), sorted by arr[i] KEY, whose
 * KEY is <= x; -1 when none is.  (KEY: "->lo" or ".lo".) */
#define SYM_LAST_LE(arr, n, KEY, x)               \
    __extension__({                               \
        long lo_ = 0, hi_ = (long)(n)-1, k_ = -1; \
        while (lo_ <= hi_) {                      \
            long mid_ = (lo_ + hi_) / 2;          \
            if ((arr)[mid_] KEY <= (x))           \
                k_ = mid_, lo_ = mid_ + 1;        \
            else                                  \
                hi_ = mid_ - 1;                   \
        }                                         \
        k_;                                       \
    })

/* Classify a name for the masks: bit k set when pattern k matches it.
 * Called while indexing only (it may allocate). */
typedef uint64_t (*sym_classify_fn)(const char *name);

/*
 * Index every loaded object not indexed yet and publish the new list
 * (later, sym_refresh in the dlopen wrapper keeps it current).  Must not
 * run inside a hook: it allocates, opens files and may call libdw.
 * classify (may be NULL) fills the masks; inline: read DWARF inline
 * instances.  Thread-safe (one indexer at a time).  0, or -1 when the
 * loaded objects could not be listed.
 */
int sym_build(sym_classify_fn classify, int inline_names);
/* Drop every table and index anew (a new set of patterns: tests).  The
 * old tables stay mapped, so a reader still using them is safe. */
int sym_rebuild(sym_classify_fn classify, int inline_names);
/* Index just the objects holding the n addresses (the exit summary's
 * call sites) when no full index was built. */
void sym_build_for(const uintptr_t *ips, int n);
/* List the loaded objects, without reading any file (tens of
 * microseconds), when nothing is listed yet: a trace's exit summary
 * written from a signal handler, which must not read files or allocate,
 * then still names a call site "libfoo.so.1+0x1234". */
void sym_build_ranges(void);
/* 1 once sym_build ran (the dlopen wrapper then keeps the list current). */
int sym_built(void);
/* After a dlopen or dlclose: index new objects, drop unloaded ones. */
void sym_refresh(void);

/* Bumped by every publish of a new object list (caller.c tags its cache). */
extern _Atomic unsigned sym_generation;

/* Hook-safe (reads only): where ip is.  Returns 0 when ip lies in no
 * indexed object. */
int sym_find(uintptr_t ip, struct sym_frame *f);
/* Hook-safe: the patterns the frame's exact names match (its function
 * and every instance it is inlined through). */
uint64_t sym_frame_mask(const struct sym_frame *f);
/* Hook-safe: the names at a frame, innermost first: inline instances,
 * then the function (an exact name, a guess "X?+0x..", or for an
 * unknown function "libfoo.so.1+0x1234" / "0x7f..." formatted into buf).
 * Returns how many were stored, at most max. */
int sym_frame_names(const struct sym_frame *f, const char **names, int max, char *buf,
                    size_t buflen);
/* Not hook-safe reporting helpers (start and exit). */
/* A return address as "fn+0x1f", "inl in fn+0x1f", "X?+0x230" (a guess)
 * or "libfoo.so.1+0x1234"; only reads the tables. */
void sym_describe(uintptr_t ip, char *out, size_t len);
void sym_stats(uint64_t union_mask[1], unsigned *nobjs, unsigned long *nfuncs, unsigned long *ninl);

/* ---------------------------------------------------------------
 * Between sym.c and its readers (sym_elf.c, sym_dwarf.c): the tables
 * of one object while it is being indexed, in malloc'd memory.
 * ------------------------------------------------------------ */
struct sym_raw {
    uintptr_t lo;
    uint32_t len;
    uint32_t name; /* offset in the builder's names */
    uint8_t rank;  /* alias preference: lower is better */
    uint8_t guess;
};

struct sym_rawinl {
    uintptr_t lo, hi;
    uint32_t name;
    int32_t parent; /* index in the builder's inline list */
    uint32_t depth;
};

struct sym_builder {
    const char *path;    /* the object's file */
    int debugfile_dwarf; /* take DWARF from a separate debug file too */
    struct sym_raw *f;   /* functions */
    size_t nf, capf;
    uintptr_t *fde; /* function starts from .eh_frame_hdr */
    size_t nfde, capfde;
    struct sym_rawinl *in; /* inline instances */
    size_t nin, capin;
    char *names; /* each name once (hashed) */
    size_t nnames, capnames;
    uint32_t *hash;  /* name offset + 1 per slot, 0 free */
    uint64_t *hmask; /* classify() of the slot's name, once known */
    uint8_t *hknown;
    size_t hcap, hused;
    unsigned flags;        /* SYM_SYMTAB, SYM_DEBUGDATA, SYM_DEBUGFILE, SYM_DWARF */
    char dwarf_path[4096]; /* the file holding DWARF, "" when none */
};

/* sym_builder.c: make room for one more element in a malloc'd array of
 * *cap elements of `size` bytes holding n (doubling).  0, or -1 when out
 * of memory. */
int sym_grow(void **arr, size_t *cap, size_t n, size_t size);
/* Append a name to the builder; its offset, or -1 when out of memory.
 * _once: a name added before gives the offset it already has. */
long sym_add_name(struct sym_builder *b, const char *s, size_t len);
long sym_add_name_once(struct sym_builder *b, const char *s, size_t len);
/* The patterns the name at offset off matches (0 when classify is NULL):
 * the name as written and, for a compiler's clone ("f.constprop.0"), the
 * function it was cut from; computed once per distinct name. */
uint64_t sym_mask_of(struct sym_builder *b, sym_classify_fn classify, uint32_t off);
/* sym_index.c: memory from the never-freed arena (under the indexing
 * lock); the tables of one object, NULL when out of memory. */
void *sym_mem(size_t n);
char *sym_strdup(const char *s);
/* inline_names: 0 none, 1 from DWARF in the object's own file, 2 also
 * from its separate debug file (the program). */
struct sym_obj *sym_index_object(const char *path, const char *display, uintptr_t bias,
                                 uintptr_t lo, uintptr_t hi, sym_classify_fn classify,
                                 int inline_names);
/* sym_elf.c: the functions of b->path (and of its debug data). */
int symelf_read(struct sym_builder *b);
/* sym_dwarf.c: the inline instances in b->dwarf_path. */
int symdwarf_read(struct sym_builder *b);

#endif

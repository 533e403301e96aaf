/*
 * sym_dwarf.c - inlined functions, from DWARF (elfutils' libdw).
 *
 * At -O2 a small function is copied into its callers and has no frame
 * (often no symbol) of its own, so a stack walk never sees it.  DWARF
 * still records each copy: a DW_TAG_inlined_subroutine with the address
 * ranges of the copy and, through its abstract origin, the function's
 * name.  Every such instance is collected here with the instance it was
 * inlined into (nested inlining), for sym.c to flatten into disjoint
 * segments.
 *
 * Runs at start or in the dlopen wrapper only: libdw allocates freely.
 * Nothing of libdw is kept or called afterwards.
 */
#include "sym.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYMDWARF_MAX_INL   (4u << 20) /* instances kept per object */
#define SYMDWARF_MAX_DEPTH 64         /* DIE nesting followed */

static int dw_push(struct sym_builder *b, uintptr_t lo, uintptr_t hi, long name, int32_t parent,
                   uint32_t depth)
{
    if (name < 0 || b->nin >= SYMDWARF_MAX_INL)
        return -1;
    if (sym_grow((void **)&b->in, &b->capin, b->nin, sizeof *b->in) < 0)
        return -1;
    b->in[b->nin++] = (struct sym_rawinl){lo, hi, (uint32_t)name, parent, depth};
    return 0;
}

/* The name an instance is known by: the linkage name (as the symbol
 * tables spell C++ functions) or else the plain name, through
 * DW_AT_abstract_origin. */
static const char *dw_name(Dwarf_Die *die)
{
    Dwarf_Attribute a;
    const char *s = NULL;

    if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
        dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
        s = dwarf_formstring(&a);
    return s ? s : dwarf_diename(die);
}

/* One inlined instance: an entry per address range (they share the
 * name; the children point at the first). */
static int dw_instance(struct sym_builder *b, Dwarf_Die *die, int32_t parent, uint32_t depth,
                       int32_t *self)
{
    const char *name = dw_name(die);
    Dwarf_Addr base, lo, hi;
    ptrdiff_t off = 0;
    long nm;

    *self = parent;
    if (!name)
        return 0;
    nm = sym_add_name_once(b, name, strlen(name));
    while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
        if (hi <= lo)
            continue;
        if (*self == parent)
            *self = (int32_t)b->nin;
        if (dw_push(b, (uintptr_t)lo, (uintptr_t)hi, nm, parent, depth) < 0)
            return -1;
    }
    return 0;
}

/* Walk the children of die; `parent` is the innermost enclosing instance. */
static int dw_walk(struct sym_builder *b, Dwarf_Die *die, int32_t parent, uint32_t depth)
{
    Dwarf_Die child;

    if (depth > SYMDWARF_MAX_DEPTH || dwarf_child(die, &child) != 0)
        return 0;
    do {
        int tag = dwarf_tag(&child);
        int32_t self = parent;
        if (tag == DW_TAG_inlined_subroutine) {
            if (dw_instance(b, &child, parent, depth, &self) < 0)
                return -1;
            if (dw_walk(b, &child, self, depth + 1) < 0)
                return -1;
        } else if (tag == DW_TAG_subprogram) {
            /* a concrete function: its inlined callees start a new chain */
            if (dw_walk(b, &child, -1, depth + 1) < 0)
                return -1;
        } else if (tag == DW_TAG_lexical_block || tag == DW_TAG_namespace ||
                   tag == DW_TAG_class_type || tag == DW_TAG_structure_type) {
            if (dw_walk(b, &child, parent, depth + 1) < 0)
                return -1;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}

int symdwarf_read(struct sym_builder *b)
{
    Dwarf_Off off = 0, next;
    size_t hsize;
    Dwarf *dw = NULL;
    int fd = -1, rc = -1;

    if (!b->dwarf_path[0])
        return -1;
    fd = open(b->dwarf_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto out;
    dw = dwarf_begin(fd, DWARF_C_READ);
    if (!dw)
        goto out;
    rc = 0;
    while (rc == 0 && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        if (dwarf_offdie(dw, off + hsize, &cu))
            rc = dw_walk(b, &cu, -1, 0);
        off = next;
    }
    /* over the cap: what was read is still right, just incomplete */
    if (rc < 0 && b->nin >= SYMDWARF_MAX_INL)
        rc = 0;
    if (rc == 0)
        b->flags |= SYM_DWARF;
out:
    if (dw)
        dwarf_end(dw);
    if (fd >= 0)
        close(fd);
    return rc;
}

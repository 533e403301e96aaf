/*
 * dl.c - dlopen and dlclose: keep the symbol tables (sym.c) current, so
 * that `caller ~` and the trace's stacks know the functions of a library
 * loaded after start (a Python extension module, libpq behind it).
 *
 * The tables can only be read here, outside any hook: reading them
 * allocates, and a hook may run inside the program's allocator.
 *
 * The catch: glibc's dlopen looks at its caller's address to pick the
 * search path for a bare file name (the calling library's RUNPATH, or the
 * program's) and the namespace.  A wrapper that calls dlopen itself makes
 * libwedge.so the caller.  So the wrapper calls dlopen itself only when
 * the answer cannot differ: a name with a '/' and no "$ORIGIN"-style
 * token, or a bare name from a caller in the base namespace when neither
 * the caller nor the program has a RUNPATH or RPATH.  Otherwise it jumps
 * to the real dlopen as a tail call (glibc sees the program's address),
 * and the new objects are indexed at the next dlopen or dlclose.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "real.h"
#include "sym.h"

/* 1 when the object's dynamic section has a RUNPATH or an RPATH. */
static int dl_has_search_path(const ElfW(Dyn) * d)
{
    for (; d && d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_RUNPATH || d->d_tag == DT_RPATH)
            return 1;
    return 0;
}

/* 1 when dlopen(file) called from libwedge.so finds what it would find
 * called from `caller`. */
static int dl_same_answer(const char *file, void *caller)
{
    struct link_map *lm = NULL;
    Dl_info info;
    Lmid_t ns = LM_ID_BASE;

    if (strchr(file, '$'))
        return 0;
    if (strchr(file, '/'))
        return 1;
    if (!dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return 0;
    if (dlinfo(lm, RTLD_DI_LMID, &ns) != 0 || ns != LM_ID_BASE)
        return 0;
    return !dl_has_search_path(lm->l_ld) &&
           !(_r_debug.r_map && dl_has_search_path(_r_debug.r_map->l_ld));
}

static __attribute__((noinline)) void *dl_open_indexed(const char *file, int mode)
{
    void *h = REAL(dlopen)(file, mode);
    int saved = errno;

    if (h) {
        wg_in_shim++; /* the indexer allocates: its own calls pass through */
        sym_refresh();
        wg_in_shim--;
    }
    errno = saved;
    return h;
}

__attribute__((visibility("default"))) void *dlopen(const char *file, int mode)
{
    /* Every early return is a tail call, so that glibc sees our caller. */
    if (!sym_built() || wg_in_shim || !file || (mode & RTLD_NOLOAD) ||
        !dl_same_answer(file, __builtin_return_address(0)))
        return REAL(dlopen)(file, mode);
    return dl_open_indexed(file, mode);
}

__attribute__((visibility("default"))) int dlclose(void *handle)
{
    int r = REAL(dlclose)(handle), saved = errno;

    if (r == 0 && sym_built() && !wg_in_shim) {
        wg_in_shim++;
        sym_refresh();
        wg_in_shim--;
    }
    errno = saved;
    return r;
}

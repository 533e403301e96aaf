/*
 * sym_elf.c - the functions of one ELF object, for sym.c.
 *
 * Where the names come from, best first:
 *   1. the file's own .symtab (static functions included);
 *   2. a separate debug file (/usr/lib/debug/.build-id/xx/yyyy.debug, or
 *      the .gnu_debuglink name beside the file, in .debug/, or under
 *      /usr/lib/debug): its .symtab, and for the program its DWARF for
 *      inline instances (a library's is skipped: libc6-dbg's alone takes
 *      half a second to read at every start);
 *   3. .gnu_debugdata, the xz-compressed "minidebuginfo" some
 *      distributions embed: a .symtab of the functions .dynsym lacks;
 *   4. .dynsym alone (exported functions, each with its size).
 * Whatever the symbols miss, .eh_frame_hdr still knows where a function
 * starts; sym.c names those guesses after the nearest symbol below.
 *
 * Runs at start or in the dlopen wrapper, never in a hook: it opens and
 * maps files and allocates.  Every offset read from a file is checked
 * against the file's size.
 */
#include "sym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYMELF_XZ_MAX (256u << 20) /* largest .gnu_debugdata we inflate */

#if __WORDSIZE == 64
#define SYMELF_CLASS ELFCLASS64
#else
#define SYMELF_CLASS ELFCLASS32
#endif

/* A read-only view of an ELF image (a mapped file or inflated bytes). */
struct elf_view {
    const char *p;
    size_t size;
    const ElfW(Ehdr) * eh;
    const ElfW(Shdr) * sh;
    size_t shnum;
    const char *shstr;
    size_t shstrsz;
};

static int elf_view_open(struct elf_view *v, const char *p, size_t size)
{
    memset(v, 0, sizeof *v);
    v->p = p;
    v->size = size;
    if (size < sizeof(ElfW(Ehdr)) || memcmp(p, ELFMAG, SELFMAG) != 0 || p[EI_CLASS] != SYMELF_CLASS)
        return -1;
    v->eh = (const void *)p;
    if (v->eh->e_shoff == 0 || v->eh->e_shentsize != sizeof(ElfW(Shdr)) || v->eh->e_shoff > size ||
        (size - v->eh->e_shoff) < sizeof(ElfW(Shdr)))
        return -1;
    v->sh = (const void *)(p + v->eh->e_shoff);
    v->shnum = v->eh->e_shnum ? v->eh->e_shnum : v->sh[0].sh_size; /* extended numbering */
    if ((size - v->eh->e_shoff) / sizeof(ElfW(Shdr)) < v->shnum)
        return -1;
    size_t stri = v->eh->e_shstrndx == SHN_XINDEX ? v->sh[0].sh_link : v->eh->e_shstrndx;
    if (stri < v->shnum && v->sh[stri].sh_type == SHT_STRTAB && v->sh[stri].sh_offset <= size &&
        v->sh[stri].sh_size <= size - v->sh[stri].sh_offset) {
        v->shstr = p + v->sh[stri].sh_offset;
        v->shstrsz = v->sh[stri].sh_size;
    }
    return 0;
}

/* The bytes of section s, or -1 when it has none in the image. */
static int elf_data(const struct elf_view *v, const ElfW(Shdr) * s, const char **p, size_t *n)
{
    if (!s || s->sh_type == SHT_NOBITS || s->sh_offset > v->size ||
        s->sh_size > v->size - s->sh_offset)
        return -1;
    *p = v->p + s->sh_offset;
    *n = s->sh_size;
    return 0;
}

static const ElfW(Shdr) * elf_section(const struct elf_view *v, const char *name)
{
    for (size_t i = 0; v->shstr && i < v->shnum; i++) {
        size_t off = v->sh[i].sh_name;
        if (off < v->shstrsz && strncmp(v->shstr + off, name, v->shstrsz - off) == 0 &&
            strnlen(v->shstr + off, v->shstrsz - off) == strlen(name))
            return &v->sh[i];
    }
    return NULL;
}

static const ElfW(Shdr) * elf_section_type(const struct elf_view *v, unsigned type)
{
    for (size_t i = 0; i < v->shnum; i++)
        if (v->sh[i].sh_type == type)
            return &v->sh[i];
    return NULL;
}

/* ---------------------------------------------------------------
 * Symbols.
 * ------------------------------------------------------------ */
static int sym_push(struct sym_builder *b, uintptr_t lo, uint64_t len, long name, int rank)
{
    if (name < 0)
        return -1;
    if (sym_grow((void **)&b->f, &b->capf, b->nf, sizeof *b->f) < 0)
        return -1;
    b->f[b->nf++] = (struct sym_raw){.lo = lo,
                                     .len = len > 0x7fffffff ? 0x7fffffff : (uint32_t)len,
                                     .name = (uint32_t)name,
                                     .rank = (uint8_t)rank};
    return 0;
}

/* The functions of symbol table `tab` (SHT_SYMTAB or SHT_DYNSYM).  rank:
 * a global name is preferred to a weak one, and that to a local one. */
static int elf_read_syms(const struct elf_view *v, const ElfW(Shdr) * tab, struct sym_builder *b)
{
    const char *sp, *strs;
    size_t sn, strn;

    if (!tab || tab->sh_link >= v->shnum || elf_data(v, tab, &sp, &sn) < 0 ||
        elf_data(v, &v->sh[tab->sh_link], &strs, &strn) < 0)
        return -1;
    const ElfW(Sym) *sym = (const void *)sp;
    for (size_t k = 0; k < sn / sizeof *sym; k++) {
        int bind = ELF64_ST_BIND(sym[k].st_info), rank;
        /* IFUNC values are resolvers, not the code that runs: skipped */
        if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_shndx == SHN_UNDEF ||
            sym[k].st_value == 0 || sym[k].st_name >= strn)
            continue;
        rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
        const char *nm = strs + sym[k].st_name;
        size_t len = strnlen(nm, strn - sym[k].st_name);
        if (len == 0)
            continue;
        if (sym_push(b, (uintptr_t)sym[k].st_value, sym[k].st_size, sym_add_name(b, nm, len),
                     rank) < 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------
 * .eh_frame_hdr: the start of every function with unwind information.
 * Only the encodings every toolchain emits are read (udata4 count,
 * datarel sdata4 table); anything else simply gives no guesses.
 * ------------------------------------------------------------ */
static int elf_read_fde_starts(const struct elf_view *v, struct sym_builder *b)
{
    const ElfW(Shdr) *s = elf_section(v, ".eh_frame_hdr");
    const unsigned char *p;
    const char *cp;
    size_t n;

    if (elf_data(v, s, &cp, &n) < 0 || n < 12)
        return 0;
    p = (const unsigned char *)cp;
    /* version 1; eh_frame_ptr any 4-byte encoding; count udata4; table datarel|sdata4 */
    if (p[0] != 1 || (p[1] & 0x0f) != 0x0b || p[2] != 0x03 || p[3] != 0x3b)
        return 0;
    uint32_t count;
    memcpy(&count, p + 8, 4);
    if (count > (n - 12) / 8)
        return 0;
    uintptr_t *starts = malloc((count ? count : 1) * sizeof *starts);
    if (!starts)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        int32_t loc;
        memcpy(&loc, p + 12 + 8 * (size_t)i, 4);
        starts[i] = (uintptr_t)((intptr_t)s->sh_addr + loc);
    }
    free(b->fde);
    b->fde = starts;
    b->nfde = count;
    return 0;
}

/* ---------------------------------------------------------------
 * Debug data elsewhere: .gnu_debugdata, separate debug files.
 * ------------------------------------------------------------ */

/* Inflate an .xz stream into malloc'd memory; NULL on any error. */
static char *elf_unxz(const char *in, size_t inlen, size_t *outlen)
{
    lzma_stream z = LZMA_STREAM_INIT;
    size_t cap = inlen * 4 + 4096;
    char *out = NULL;
    lzma_ret rc;

    if (lzma_stream_decoder(&z, SYMELF_XZ_MAX, 0) != LZMA_OK)
        return NULL;
    z.next_in = (const uint8_t *)in;
    z.avail_in = inlen;
    for (;;) {
        char *grown = cap <= SYMELF_XZ_MAX ? realloc(out, cap) : NULL;
        if (!grown)
            goto fail;
        out = grown;
        z.next_out = (uint8_t *)out + z.total_out;
        z.avail_out = cap - z.total_out;
        rc = lzma_code(&z, LZMA_FINISH);
        if (rc == LZMA_STREAM_END)
            break;
        if (rc != LZMA_OK && rc != LZMA_BUF_ERROR)
            goto fail;
        cap *= 2;
    }
    *outlen = z.total_out;
    lzma_end(&z);
    return out;
fail:
    lzma_end(&z);
    free(out);
    return NULL;
}

/* The build-id of v as hex into hex (2*len+1 bytes); its length in bytes, 0 if none. */
static size_t elf_build_id(const struct elf_view *v, char *hex, size_t hexlen)
{
    const char *p;
    size_t n;

    for (size_t i = 0; i < v->shnum; i++) {
        if (v->sh[i].sh_type != SHT_NOTE || elf_data(v, &v->sh[i], &p, &n) < 0)
            continue;
        while (n >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *nh = (const void *)p;
            size_t nsz = (nh->n_namesz + 3) & ~3u, dsz = (nh->n_descsz + 3) & ~3u;
            if (nsz > n - sizeof *nh || dsz > n - sizeof *nh - nsz)
                break;
            const char *desc = p + sizeof *nh + nsz;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(p + sizeof *nh, "GNU", 4) == 0 && nh->n_descsz > 0 &&
                nh->n_descsz * 2 + 1 <= hexlen) {
                for (size_t k = 0; k < nh->n_descsz; k++)
                    snprintf(hex + 2 * k, 3, "%02x", (unsigned char)desc[k]);
                return nh->n_descsz;
            }
            p += sizeof *nh + nsz + dsz;
            n -= sizeof *nh + nsz + dsz;
        }
    }
    return 0;
}

struct elf_file {
    int fd;
    char *map;
    size_t size;
    struct elf_view v;
};

static int elf_file_open(struct elf_file *f, const char *path)
{
    struct stat st;

    f->map = MAP_FAILED;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
        return -1;
    f->size = (size_t)st.st_size;
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (f->map == MAP_FAILED)
        return -1;
    return elf_view_open(&f->v, f->map, f->size);
}

static void elf_file_close(struct elf_file *f)
{
    if (f->map != MAP_FAILED)
        munmap(f->map, f->size);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->map = MAP_FAILED;
}

/* A separate debug file for the object in v (at path), with the same
 * build-id when the object has one: opened into df, its path in out. */
static int elf_debug_file(const struct elf_view *v, const char *path, struct elf_file *df,
                          char *out, size_t outlen)
{
    char id[130], id2[130], dir[4096], cand[4][4096];
    const char *link = NULL, *p;
    size_t n, idlen = elf_build_id(v, id, sizeof id), nc = 0;

    if (idlen && snprintf(cand[nc], sizeof cand[0], "/usr/lib/debug/.build-id/%.2s/%s.debug", id,
                          id + 2) < (int)sizeof cand[0])
        nc++;
    if (elf_data(v, elf_section(v, ".gnu_debuglink"), &p, &n) == 0 && strnlen(p, n) < n &&
        !strchr(p, '/'))
        link = p;
    if (link && realpath(path, dir)) {
        char *slash = strrchr(dir, '/');
        static const char *const forms[] = {"%s/.debug/%s", "/usr/lib/debug%s/%s", "%s/%s"};
        if (slash)
            *slash = '\0';
        for (size_t f = 0; f < 3; f++)
            if (snprintf(cand[nc], sizeof cand[0], forms[f], dir, link) < (int)sizeof cand[0])
                nc++;
    }
    for (size_t i = 0; i < nc; i++) {
        if (elf_file_open(df, cand[i]) == 0 && strcmp(cand[i], path) != 0 &&
            (!idlen || (elf_build_id(&df->v, id2, sizeof id2) == idlen && !strcmp(id, id2)))) {
            snprintf(out, outlen, "%s", cand[i]);
            return 0;
        }
        elf_file_close(df);
    }
    return -1;
}

/* .symtab of the xz-compressed ELF in .gnu_debugdata. */
static int elf_read_debugdata(const struct elf_view *v, struct sym_builder *b)
{
    const char *p;
    size_t n, outlen = 0;
    struct elf_view mini;
    int rc = -1;

    if (elf_data(v, elf_section(v, ".gnu_debugdata"), &p, &n) < 0)
        return -1;
    char *elf = elf_unxz(p, n, &outlen);
    if (elf && elf_view_open(&mini, elf, outlen) == 0)
        rc = elf_read_syms(&mini, elf_section_type(&mini, SHT_SYMTAB), b);
    free(elf);
    return rc;
}

int symelf_read(struct sym_builder *b)
{
    struct elf_file f = {.fd = -1}, df = {.fd = -1};
    int rc = -1;

    if (elf_file_open(&f, b->path) < 0)
        goto out;
    elf_read_fde_starts(&f.v, b);
    if (elf_section(&f.v, ".debug_info"))
        snprintf(b->dwarf_path, sizeof b->dwarf_path, "%s", b->path);
    if (elf_read_syms(&f.v, elf_section_type(&f.v, SHT_SYMTAB), b) == 0) {
        b->flags |= SYM_SYMTAB;
        rc = 0;
        goto out;
    }
    rc = elf_read_syms(&f.v, elf_section_type(&f.v, SHT_DYNSYM), b);
    if (elf_debug_file(&f.v, b->path, &df, b->dwarf_path, sizeof b->dwarf_path) == 0) {
        if (elf_read_syms(&df.v, elf_section_type(&df.v, SHT_SYMTAB), b) == 0)
            b->flags |= SYM_SYMTAB | SYM_DEBUGFILE;
        if (!b->debugfile_dwarf || !elf_section(&df.v, ".debug_info"))
            b->dwarf_path[0] = '\0';
        rc = 0;
    } else if (elf_read_debugdata(&f.v, b) == 0) {
        b->flags |= SYM_SYMTAB | SYM_DEBUGDATA;
        rc = 0;
    }
out:
    elf_file_close(&df);
    elf_file_close(&f);
    return rc;
}

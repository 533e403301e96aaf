/*
 * hunt_elf.c - the functions an executable defines, from its symbol
 * tables (.symtab, static functions too, else .dynsym).  A stack frame
 * whose name is among them is the program's own code; the rest is a
 * library's (libpq, libmicrohttpd, libc), where wedge hunt aims no rule.
 */
#include "hunt.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int elf_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return x < y ? -1 : x > y;
}

/* Append the defined functions of symbol table tab (strings in strs). */
static void elf_table(const char *map, size_t size, const Elf64_Shdr *tab, const Elf64_Shdr *strs,
                      struct hunt_pool *pool, const char ***names, size_t *n, size_t *cap)
{
    const Elf64_Sym *sym = (const void *)(map + tab->sh_offset);
    if (tab->sh_offset > size || tab->sh_size > size - tab->sh_offset || strs->sh_offset > size ||
        strs->sh_size > size - strs->sh_offset)
        return;
    for (size_t k = 0; k < tab->sh_size / sizeof *sym; k++) {
        const char *nm;
        if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_shndx == SHN_UNDEF ||
            !sym[k].st_value || sym[k].st_name >= strs->sh_size)
            continue;
        nm = map + strs->sh_offset + sym[k].st_name;
        if (strnlen(nm, strs->sh_size - sym[k].st_name) == strs->sh_size - sym[k].st_name)
            continue; /* not terminated inside the table */
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *names = realloc(*names, *cap * sizeof **names);
            if (!*names)
                abort();
        }
        (*names)[(*n)++] = hunt_intern(pool, nm);
    }
}

/* The defined functions of ELF file path, interned in pool and sorted by
 * address of the interned name (hunt_obs_is_program bsearches them).
 * 0 (and *n 0) when the file is not a 64-bit ELF file. */
size_t hunt_elf_funcs(const char *path, struct hunt_pool *pool, const char ***out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    const char *map = MAP_FAILED, **names = NULL;
    size_t size = 0, n = 0, cap = 0;
    struct stat st;

    *out = NULL;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr))
        goto out;
    size = (size_t)st.st_size;
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        goto out;
    const Elf64_Ehdr *eh = (const void *)map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) || !eh->e_shoff || eh->e_shoff > size ||
        (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
        goto out;
    const Elf64_Shdr *sh = (const void *)(map + eh->e_shoff);
    for (int pass = 0; pass < 2 && !n; pass++)
        for (unsigned i = 0; i < eh->e_shnum; i++)
            if (sh[i].sh_type == (pass ? SHT_DYNSYM : SHT_SYMTAB) && sh[i].sh_link < eh->e_shnum)
                elf_table(map, size, &sh[i], &sh[sh[i].sh_link], pool, &names, &n, &cap);
    qsort(names, n, sizeof *names, elf_cmp);
out:
    if (map != MAP_FAILED)
        munmap((void *)map, size);
    close(fd);
    *out = names;
    return n;
}

int hunt_elf_has(const char **names, size_t n, const char *interned)
{
    return n && bsearch(&interned, names, n, sizeof *names, elf_cmp) != NULL;
}

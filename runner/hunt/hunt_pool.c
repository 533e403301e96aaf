/*
 * hunt_pool.c - interned strings: the names and statements of an
 * observation compare by pointer.  Below the observation (hunt_obs.c)
 * and the symbol reader (hunt_elf.c), which both intern into one pool.
 */
#include "hunt.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t pool_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

const char *hunt_intern(struct hunt_pool *p, const char *s)
{
    size_t i;
    if (!s)
        return NULL;
    if (p->n * 2 >= p->cap) {
        struct hunt_pool np = {calloc(p->cap ? p->cap * 2 : 1024, sizeof(char *)), 0, 0};
        if (!np.slot)
            abort();
        np.cap = p->cap ? p->cap * 2 : 1024;
        for (size_t k = 0; k < p->cap; k++) {
            if (!p->slot[k])
                continue;
            for (i = pool_hash(p->slot[k]) & (np.cap - 1); np.slot[i]; i = (i + 1) & (np.cap - 1))
                ;
            np.slot[i] = p->slot[k];
            np.n++;
        }
        free(p->slot);
        *p = np;
    }
    for (i = pool_hash(s) & (p->cap - 1); p->slot[i]; i = (i + 1) & (p->cap - 1))
        if (!strcmp(p->slot[i], s))
            return p->slot[i];
    p->slot[i] = util_fmt("%s", s);
    p->n++;
    return p->slot[i];
}

void hunt_pool_free(struct hunt_pool *p)
{
    for (size_t k = 0; k < p->cap; k++)
        free((char *)p->slot[k]);
    free(p->slot);
    memset(p, 0, sizeof *p);
}

/*
 * iso_spec_use.c - what the driver asks of a parsed spec (iso_spec.h):
 * steps by name, ${...} references of a check, every permutation in the
 * isolation tester's order; freeing a spec.  Below the parser
 * (iso_spec.c), which calls it.
 */
#include "iso_spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int iso_spec_find_step(const struct iso_spec *s, const char *name, size_t len)
{
    int i;

    for (i = 0; i < s->nsteps; i++)
        if (strlen(s->steps[i].name) == len && memcmp(s->steps[i].name, name, len) == 0)
            return i;
    return -1;
}

int iso_spec_ref(const struct iso_spec *s, const char *p, int *step, enum iso_ref *field,
                 size_t *consumed)
{
    const char *end, *dot;
    size_t nlen;

    if (p[0] != '$' || p[1] != '{')
        return -1;
    end = strchr(p + 2, '}');
    if (!end)
        return -1;
    dot = memchr(p + 2, '.', (size_t)(end - (p + 2)));
    nlen = (size_t)((dot ? dot : end) - (p + 2));
    *field = ISO_REF_VALUE;
    if (dot) {
        size_t flen = (size_t)(end - dot - 1);
        if (flen == 4 && memcmp(dot + 1, "rows", 4) == 0)
            *field = ISO_REF_ROWS;
        else if (flen == 8 && memcmp(dot + 1, "sqlstate", 8) == 0)
            *field = ISO_REF_SQLSTATE;
        else
            return -1;
    }
    *step = iso_spec_find_step(s, p + 2, nlen);
    if (*step < 0)
        return -1;
    *consumed = (size_t)(end - p) + 1;
    return 0;
}

void iso_spec_free(struct iso_spec *s)
{
    int i, j;

    if (!s)
        return;
    free(s->path);
    free(s->name);
    free(s->anomaly);
    free(s->description);
    for (i = 0; i < s->nsetup; i++)
        free(s->setup[i]);
    free(s->setup);
    free(s->setup_line);
    free(s->teardown);
    for (i = 0; i < s->nsessions; i++) {
        free(s->sessions[i].name);
        free(s->sessions[i].setup);
        free(s->sessions[i].teardown);
    }
    free(s->sessions);
    for (i = 0; i < s->nsteps; i++) {
        free(s->steps[i].name);
        free(s->steps[i].sql);
    }
    free(s->steps);
    for (i = 0; i < s->nperms; i++) {
        for (j = 0; j < s->perms[i].nsteps; j++)
            free(s->perms[i].steps[j].blockers);
        free(s->perms[i].steps);
    }
    free(s->perms);
    free(s->check);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------
 * Every permutation, as isolationtester generates them.
 * ------------------------------------------------------------ */

struct each {
    const struct iso_spec *spec;
    int (*fn)(void *arg, const struct iso_pstep *steps, int n);
    void *arg;
    int *pile;   /* per session: how many of its steps are placed */
    int **order; /* per session: its steps in order */
    int *count;  /* per session: how many steps */
    struct iso_pstep *perm;
};

/* Place the next step from each session's pile in turn, first session
 * first (isolationtester's run_all_permutations_recurse). */
static int each_from(struct each *e, int n)
{
    int i, found = 0, rc;

    for (i = 0; i < e->spec->nsessions; i++) {
        if (e->pile[i] == e->count[i])
            continue;
        found = 1;
        e->perm[n].step = e->order[i][e->pile[i]++];
        rc = each_from(e, n + 1);
        e->pile[i]--;
        if (rc)
            return rc;
    }
    return found ? 0 : e->fn(e->arg, e->perm, n);
}

int iso_spec_each_perm(const struct iso_spec *s,
                       int (*fn)(void *arg, const struct iso_pstep *steps, int n), void *arg)
{
    struct each e = {.spec = s, .fn = fn, .arg = arg};
    int i, rc = -1;

    e.pile = calloc((size_t)s->nsessions, sizeof *e.pile);
    e.count = calloc((size_t)s->nsessions, sizeof *e.count);
    e.order = calloc((size_t)s->nsessions, sizeof *e.order);
    e.perm = calloc((size_t)s->nsteps + 1, sizeof *e.perm);
    if (!e.pile || !e.count || !e.order || !e.perm)
        goto out;
    for (i = 0; i < s->nsessions; i++) {
        e.order[i] = calloc((size_t)s->nsteps + 1, sizeof **e.order);
        if (!e.order[i])
            goto out;
    }
    for (i = 0; i < s->nsteps; i++) {
        int se = s->steps[i].session;
        e.order[se][e.count[se]++] = i;
    }
    rc = each_from(&e, 0);
out:
    for (i = 0; e.order && i < s->nsessions; i++)
        free(e.order[i]);
    free(e.order);
    free(e.count);
    free(e.pile);
    free(e.perm);
    return rc;
}

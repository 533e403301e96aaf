/*
 * suggest.c - edit distance and the nearest candidate (suggest.h).
 */
#include "suggest.h"

#include <stdio.h>
#include <string.h>

int suggest_distance(const char *a, size_t la, const char *b, size_t lb)
{
    /* three rows: the transposition looks two rows back */
    int rows[3][SUGGEST_MAX_LEN + 1];
    int *pp = rows[0], *p = rows[1], *r = rows[2];

    if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
        return SUGGEST_FAR;
    for (size_t j = 0; j <= lb; j++)
        p[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        r[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int v = p[j] + 1;
            if (r[j - 1] + 1 < v)
                v = r[j - 1] + 1;
            if (p[j - 1] + (a[i - 1] != b[j - 1]) < v)
                v = p[j - 1] + (a[i - 1] != b[j - 1]);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            r[j] = v;
        }
        int *t = pp;
        pp = p;
        p = r;
        r = t;
    }
    return p[lb];
}

const char *suggest(const char *w, size_t wlen, const char *const *cands, size_t n)
{
    const char *best = NULL;
    int bestd = 3; /* at most two edits */

    for (size_t i = 0; i < n && cands[i]; i++) {
        size_t cl = strcspn(cands[i], "*");
        int d = suggest_distance(w, wlen, cands[i], cl);
        if (d < bestd && (size_t)d < cl) {
            bestd = d;
            best = cands[i];
        }
    }
    return best;
}

const char *suggest_hint(const char *w, size_t wlen, const char *const *cands, size_t n, char *buf,
                         size_t len)
{
    const char *s = suggest(w, wlen, cands, n);

    if (s)
        snprintf(buf, len, " (did you mean '%.*s'?)", (int)strcspn(s, "*"), s);
    else if (len)
        buf[0] = '\0';
    return buf;
}

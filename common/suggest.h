/*
 * suggest.h - "did you mean": the nearest known word to a misspelt one,
 * for every message that names an unknown action, hook, key or section.
 * Pure functions: no allocation, no locks, thread-safe (the shim's rule
 * parser calls them).
 */
#ifndef WEDGE_SUGGEST_H
#define WEDGE_SUGGEST_H

#include <stddef.h>

/* Words longer than this are never compared (suggest_distance says far). */
#define SUGGEST_MAX_LEN 63
#define SUGGEST_FAR     99

/* Optimal string alignment distance of a[0..la) and b[0..lb): inserts,
 * deletes, substitutions and swaps of two neighbours ("dealy" is 1 from
 * "delay").  SUGGEST_FAR when either is longer than SUGGEST_MAX_LEN. */
int suggest_distance(const char *a, size_t la, const char *b, size_t lb);

/* The candidate nearest to w[0..wlen) within two edits, or NULL.  The
 * candidates are cands[0..n), or up to a NULL entry if one comes first.
 * A trailing '*' marks a family of keys ("request*") and is not compared.
 * A candidate no longer than its distance is no hint ('p' for 'xy'); on a
 * tie the first wins. */
const char *suggest(const char *w, size_t wlen, const char *const *cands, size_t n);

/* The candidate suggest() found, without its '*', as
 * " (did you mean 'x'?)" in buf, or "" when there is none.  Returns buf. */
const char *suggest_hint(const char *w, size_t wlen, const char *const *cands, size_t n, char *buf,
                         size_t len);

#endif

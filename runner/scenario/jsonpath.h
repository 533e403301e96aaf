/*
 * jsonpath.h - the JSONPath subset of `expect = json ...`, `capture = NAME
 * = json ...` and HTTP invariants (docs/scenarios.md, "Responses"):
 *
 *   $             the whole document
 *   .name         a member (letters, digits, '_', '-')
 *   ['name']      a member of any name (also ["name"]; no escapes)
 *   [N]           an array element, from 0; [-1] is the last
 *
 * e.g. $.id, $.lines[0].sku, $['order-no'].  Filters, wildcards and
 * recursive descent are not in it: a check names one value.
 *
 * Pure functions over jansson values: thread-safe.
 */
#ifndef WEDGE_JSONPATH_H
#define WEDGE_JSONPATH_H

#include <jansson.h>
#include <stddef.h>

/* 0 when path is in the subset; -1 with a message in err and, in *at, the
 * offset of the character at fault. */
int jp_check(const char *path, char *err, size_t errlen, size_t *at);

/* The value at path in root (a borrowed reference), or NULL when there is
 * none (a member missing, an index out of range, a step into a value that
 * is not an object or array).  path must have passed jp_check. */
json_t *jp_get(json_t *root, const char *path);

/* v as text for a captured variable or a message: a string as it is
 * (no quotes), anything else as compact JSON.  malloc'd; NULL on OOM. */
char *jp_text(const json_t *v);

#endif

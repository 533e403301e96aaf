/*
 * duration.h - the one duration syntax of wedge: rules ("delay 20ms"),
 * scenario files ("duration = 1.5s") and command lines ("--duration 1m").
 *
 *   DIGITS [ "." DIGITS ] UNIT      UNIT: ns us ms s m h
 *   "0"                             zero needs no unit
 *
 * At most 9 digits after the point; the value is rounded to the nearest
 * nanosecond.  Pure functions: no allocation, no locks, thread-safe (the
 * shim's rule parser calls them).
 */
#ifndef WEDGE_DURATION_H
#define WEDGE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* The units, as messages list them. */
#define DURATION_UNITS "ns, us, ms, s, m, h"
/* The longest duration (UINT64_MAX nanoseconds, about 584 years), as
 * messages state it. */
#define DURATION_MAX_TEXT "18446744073s"

enum duration_rc {
    DURATION_OK = 0,
    DURATION_BAD = -1,   /* not a number with a unit */
    DURATION_RANGE = -2, /* well formed, but over DURATION_MAX_TEXT */
};

/* Parse exactly s[0..len) (no blanks) into *ns.  *ns is untouched unless
 * DURATION_OK is returned. */
enum duration_rc duration_parse(const char *s, size_t len, uint64_t *ns);

/* duration_parse of a NUL-terminated string; NULL is DURATION_BAD. */
enum duration_rc duration_parse_str(const char *s, uint64_t *ns);

#endif

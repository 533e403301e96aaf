/*
 * rulecheck.h - rules checked with the shim's own parser (rulecheck.c),
 * for `wedge check` and for `wedge run` before it starts anything.
 * Each forks a child; not thread-safe.
 */
#ifndef WEDGE_RULECHECK_H
#define WEDGE_RULECHECK_H

#include <stddef.h>

struct scenario;

/* Validate rule text: runs /bin/true under LD_PRELOAD=libwedge.so with
 * WEDGE_RULES=text and captures the message the shim prints before main.
 * 0 valid; -1 with the shim's "rules:LINE:COL: message" (without the
 * "wedge: " prefix) in err. */
int rulecheck_text(const char *text, char *err, size_t errlen);

/* Every rule of scenario s (the scenario's own, each service's and job's,
 * composed as a run composes them): 0 when all are valid, else 2 after
 * one "wedge: FILE:LINE: service NAME: rules:LINE:COL: message" on stderr
 * per refused set. */
int rulecheck_scenario(const struct scenario *s);

#endif

/*
 * run.h - the `wedge` subcommands.  Each takes its own argv (argv[0] is
 * the subcommand's name), parses its flags with getopt_long and returns
 * the process exit code (design, "Exit codes"): 0 every invariant held,
 * 1 an invariant was violated, 2 usage or configuration error,
 * 3 inconclusive (database or service unavailable, interrupted).
 *
 * Not thread-safe: each installs signal handlers and owns the process.
 */
#ifndef WEDGE_RUN_H
#define WEDGE_RUN_H

#include <stddef.h>

/* wedge run SCENARIO [...] (run.c) */
int run_main(int argc, char **argv);
/* wedge check SCENARIO | --rules TEXT | --rules-file F (run.c) */
int check_main(int argc, char **argv);
/* wedge exec [...] -- CMD ARGS... (exec.c) */
int exec_main(int argc, char **argv);
/* wedge pg start|stop|env (pg.c) */
int pg_main(int argc, char **argv);

/*
 * Validate rule text with the shim's own parser: runs /bin/true under
 * LD_PRELOAD=libwedge.so with WEDGE_RULES=text and captures the message
 * the shim prints before main (exec.c).  0 valid; -1 with the shim's
 * "rules:LINE:COL: message" (without the "wedge: " prefix) in err.
 */
int exec_check_rules(const char *text, char *err, size_t errlen);

struct scenario;
/* Every rule of scenario s (the scenario's own, each service's and job's,
 * composed as a run composes them) through the shim's parser, as `wedge
 * check` does: 0 when all are valid, else 2 after one "wedge: FILE:LINE:
 * service NAME: rules:LINE:COL: message" on stderr per refused set.
 * Forks a child per set; not thread-safe. */
int check_scenario_rules(const struct scenario *s);

#endif

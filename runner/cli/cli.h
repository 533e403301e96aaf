/*
 * cli.h - the `wedge` subcommands of cli/ (wedge isolation is iso.h's).  Each takes its own argv (argv[0] is
 * the subcommand's name), parses its flags with getopt_long and returns
 * the process exit code (design, "Exit codes"): 0 every invariant held,
 * 1 an invariant was violated, 2 usage or configuration error,
 * 3 inconclusive (database or service unavailable, interrupted).
 *
 * Not thread-safe: each installs signal handlers and owns the process.
 */
#ifndef WEDGE_CLI_H
#define WEDGE_CLI_H

#include <stddef.h>

/* wedge run SCENARIO [...] (run_repeat.c) */
int run_main(int argc, char **argv);
/* wedge check SCENARIO | --rules TEXT | --rules-file F (check.c) */
int check_main(int argc, char **argv);
/* wedge exec [...] -- CMD ARGS... (exec.c) */
int exec_main(int argc, char **argv);
/* wedge proxy --listen [HOST:]PORT --to HOST:PORT [...] (proxy_cmd.c; the
 * forwarding loop is runner/proxy/) */
int proxy_main(int argc, char **argv);
/* wedge hunt SCENARIO [...] (hunt.c; the search is runner/hunt/) */
int hunt_main(int argc, char **argv);
/* wedge report DIR... | --svg KIND IN (report_cmd.c): report.html drawn
 * again from a directory's files, or one figure as SVG. */
int report_main(int argc, char **argv);
/* wedge merge DIR... (merge.c): the shards of one run judged as one. */
int merge_main(int argc, char **argv);
/* wedge ctl COMMAND (ctl.c, ctl_show.c): live control of a run. */
int ctl_main(int argc, char **argv);
/* wedge pg start|stop|env (pg_cmd.c): the subcommand keeping one cluster
 * for a shell (design, "Embedded default"). */
int pg_main(int argc, char **argv);

#endif

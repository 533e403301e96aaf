/*
 * run_cli.h - what the two files of `wedge run` share (internal to cli/):
 * run_opts.c reads the command line, run_repeat.c runs what it says.
 */
#ifndef WEDGE_RUN_CLI_H
#define WEDGE_RUN_CLI_H

#include <stdio.h>

#include "run.h"
#include "scn.h"

/* wedge run --help. */
void run_usage(FILE *f);
/* wedge run's options into o: -1 to go on, else the exit code to return
 * (help printed, or a usage error). */
int run_parse_opts(int argc, char **argv, struct run_opts *o);
/* The command line's overrides of a loaded scenario (--users, --duration,
 * --rules, ...); -1 after the message. */
int run_overrides(const struct run_opts *o, struct scenario *s);

#endif

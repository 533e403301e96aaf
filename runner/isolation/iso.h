/*
 * iso.h - `wedge isolation`: the isolation-level anomaly matrix, and
 * PostgreSQL's own isolation specs run as its isolation tester runs them.
 */
#ifndef WEDGE_ISO_H
#define WEDGE_ISO_H

/* Entry point of the subcommand; argv[0] is "isolation".  Returns the
 * process exit code (0 as expected, 1 a cell or a plain spec's output
 * differs, 2 usage or spec error, 3 database unavailable). */
int iso_main(int argc, char **argv);

#endif

/*
 * wedge_exit.h - the exit codes of wedge and of a process the shim stops
 * (interface: docs/cli.md).  Every exit status the runner or the shim
 * chooses is one of these; a child's own status passes through as it is.
 */
#ifndef WEDGE_EXIT_H
#define WEDGE_EXIT_H

enum wedge_exit {
    WEDGE_PASS = 0,         /* every invariant held */
    WEDGE_VIOLATED = 1,     /* an invariant was violated: a race was found */
    WEDGE_USAGE = 2,        /* usage or configuration error (a bad rule, too) */
    WEDGE_INCONCLUSIVE = 3, /* the database or a service was unavailable */
};

#endif

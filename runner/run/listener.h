/*
 * listener.h - who listens on a TCP port of this host: the LISTEN sockets
 * of /proc/net/tcp and tcp6 that a connection to the loopback address
 * reaches, and the processes whose descriptors hold them.
 *
 * A service's readiness (`ready = tcp:PORT`, `http://127.0.0.1:PORT/...`)
 * says nothing if another process answers on that port: a run once passed
 * with 8336 of 8336 requests "info" against someone else's listener.
 *
 * Reads /proc only; not thread-safe (one supervising thread asks).
 */
#ifndef WEDGE_LISTENER_H
#define WEDGE_LISTENER_H

#include <stddef.h>
#include <sys/types.h>

enum listener_scope {
    LISTENER_V4,  /* connections to 127.0.0.1 */
    LISTENER_ANY, /* to localhost: 127.0.0.1 and ::1 */
};

/* What listener_check found. */
enum listener_verdict {
    LISTENER_NONE = 0,    /* nothing listens on the port (in scope) */
    LISTENER_OURS = 1,    /* every listener is held by the process tree */
    LISTENER_FOREIGN = 2, /* one is not: *who says whose, when it can be told */
};

/*
 * Check port's listeners against the process tree of root: root, the
 * processes of its process group, and their descendants (root <= 0: no
 * tree, so any listener is foreign).  For LISTENER_FOREIGN, who holds
 * "pid N (COMM)" of a holder when its descriptors are readable, else
 * "a process wedge cannot see (another user's?)".  Where /proc/net/tcp
 * cannot be read at all, LISTENER_OURS: there is nothing to check against.
 */
enum listener_verdict listener_check(int port, enum listener_scope scope, pid_t root, char *who,
                                     size_t wholen);

#endif

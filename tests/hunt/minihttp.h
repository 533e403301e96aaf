/*
 * minihttp.h - the HTTP skeleton the hunt test services share: one
 * thread per connection (libmicrohttpd), a table of routes, --port and
 * --mode naive|fixed, SIGTERM stops it.  Small on purpose: the services'
 * own code is what wedge hunt looks at.
 */
#ifndef WEDGE_MINIHTTP_H
#define WEDGE_MINIHTTP_H

#include <stddef.h>

/* A route's handler: writes the answer's JSON into out, returns the
 * status code.  Called on the connection's thread. */
typedef unsigned (*mh_handler)(char *out, size_t outlen);

struct mh_route {
    const char *method, *path;
    mh_handler fn;
};

/* Parse --port N --mode naive|fixed (into *fixed), serve routes[0..n) and
 * GET /health on 127.0.0.1 until SIGTERM or SIGINT.  The exit code. */
int mh_serve(const char *prog, int argc, char **argv, const struct mh_route *routes, int n,
             int *fixed);

#endif

/*
 * proxy.h - the forwarding loop of `wedge proxy`: TCP from a listening
 * address to one upstream, a thread per connection.
 *
 * It does nothing clever on purpose: it runs under libwedge.so (the cli
 * re-executes wedge with LD_PRELOAD), so the shim sees its sends and
 * receives as any program's: sock.* rules, http ~ / redis ~ / data ~, and
 * the PostgreSQL decoder's pq.* events on the upstream sockets (the proxy
 * is the client of the upstream server).  A barrier holds the connection's
 * thread only; the other connections go on.
 *
 * Bounded: at most max_conns connections at once (more are accepted and
 * closed at once, said once on stderr), a connect to an upstream address
 * gives up after 5 s (each of the upstream's addresses is tried in turn,
 * at most 8), every wait polls at most 200 ms between looks at the stop
 * flag.  SIGTERM / SIGINT stop it: no new connection, every open one
 * closed, the threads joined (bounded), exit 0.
 */
#ifndef WEDGE_PROXY_H
#define WEDGE_PROXY_H

#include <stddef.h>

#define PROXY_MAX_CONNS_DEFAULT 128
#define PROXY_MAX_CONNS_LIMIT   1024

struct proxy_cfg {
    const char *listen; /* [HOST:]PORT; HOST defaults to 127.0.0.1 */
    const char *to;     /* HOST:PORT ([IPv6]:PORT) */
    unsigned max_conns;
    int quiet;
};

/* Check the addresses of cfg without using them: 0, or -1 with a message
 * naming the option at fault in err. */
int proxy_check(const struct proxy_cfg *cfg, char *err, size_t errlen);

/* Listen and forward until SIGTERM / SIGINT.  Returns the exit code: 0
 * after a clean stop, 2 when the addresses are bad, 3 when it cannot
 * listen.  Prints "wedge: proxy: listening on HOST:PORT -> TO" on stderr
 * once ready (unless quiet). */
int proxy_serve(const struct proxy_cfg *cfg);

#endif

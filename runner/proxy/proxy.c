/*
 * proxy.c - `wedge proxy`'s forwarding loop (proxy.h): a listening socket,
 * a thread per connection forwarding both ways with poll(2), and a clean
 * stop on SIGTERM / SIGINT.
 */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PROXY_TICK_MS    200   /* longest wait between looks at the stop flag */
#define PROXY_CONNECT_MS 5000  /* a connect to the upstream gives up after this */
#define PROXY_SEND_S     5     /* a send the peer does not take fails after this */
#define PROXY_BUF        16384 /* bytes moved per recv */
#define PROXY_STACK      (256 * 1024)
#define PROXY_ADDRS      8 /* upstream addresses kept (tried in turn) */

static volatile sig_atomic_t proxy_stop;

struct proxy_conn {
    pthread_t thread;
    int cfd, ufd;
    _Atomic int state; /* 0 free, 1 running, 2 done (to be joined) */
    const struct proxy_cfg *cfg;
};

/* The upstream's addresses, in getaddrinfo's order: a connection tries
 * each in turn ('localhost' may be ::1 first while the server listens on
 * 127.0.0.1 only), starting at the last one that answered. */
static struct sockaddr_storage proxy_up[PROXY_ADDRS];
static socklen_t proxy_uplen[PROXY_ADDRS];
static unsigned proxy_nup;
static _Atomic unsigned proxy_upgood;
static _Atomic unsigned long proxy_nconn, proxy_nrefused, proxy_nfull;

/* ---------------------------------------------------------------
 * Addresses.
 * ------------------------------------------------------------ */

/* "[HOST:]PORT" or "[IPv6]:PORT" into ss[0..max), its addresses in
 * getaddrinfo's order; host_needed: a bare port is an error.  The number
 * of addresses (1 or more), or -1 with the reason in err. */
static int proxy_addr(const char *spec, int host_needed, struct sockaddr_storage *ss,
                      socklen_t *len, unsigned max, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
    char host[256] = "127.0.0.1", port[16];
    const char *colon = spec[0] == '[' ? strstr(spec, "]:") : strrchr(spec, ':');
    int rc, n = 0;

    if (!colon && host_needed) {
        snprintf(err, errlen, "'%s': expected HOST:PORT", spec);
        return -1;
    }
    if (colon) {
        size_t hl = spec[0] == '[' ? (size_t)(colon - spec - 1) : (size_t)(colon - spec);
        if (hl == 0 || hl >= sizeof host) {
            snprintf(err, errlen, "'%s': expected HOST:PORT", spec);
            return -1;
        }
        memcpy(host, spec + (spec[0] == '['), hl);
        host[hl] = '\0';
        colon += spec[0] == '[' ? 2 : 1;
    } else {
        colon = spec;
    }
    if (strlen(colon) == 0 || strlen(colon) > 5 || strspn(colon, "0123456789") != strlen(colon) ||
        atoi(colon) < 1 || atoi(colon) > 65535) {
        snprintf(err, errlen, "'%s': the port must be a number from 1 to 65535", spec);
        return -1;
    }
    snprintf(port, sizeof port, "%s", colon);
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "'%s': %s", spec, rc ? gai_strerror(rc) : "no address");
        return -1;
    }
    for (struct addrinfo *r = res; r && (unsigned)n < max; r = r->ai_next) {
        memcpy(&ss[n], r->ai_addr, r->ai_addrlen);
        len[n++] = r->ai_addrlen;
    }
    freeaddrinfo(res);
    return n;
}

int proxy_check(const struct proxy_cfg *cfg, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char why[300];

    if (!cfg->listen || proxy_addr(cfg->listen, 0, &ss, &len, 1, why, sizeof why) < 0) {
        snprintf(err, errlen, "--listen %s", cfg->listen ? why : "is required ([HOST:]PORT)");
        return -1;
    }
    if (!cfg->to || proxy_addr(cfg->to, 1, &ss, &len, 1, why, sizeof why) < 0) {
        snprintf(err, errlen, "--to %s", cfg->to ? why : "is required (HOST:PORT)");
        return -1;
    }
    if (cfg->max_conns < 1 || cfg->max_conns > PROXY_MAX_CONNS_LIMIT) {
        snprintf(err, errlen, "--max-conns %u: expected 1..%d", cfg->max_conns,
                 PROXY_MAX_CONNS_LIMIT);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------
 * One connection.
 * ------------------------------------------------------------ */

/* Connect to upstream address i, at most PROXY_CONNECT_MS; the fd, or -1
 * with errno set. */
static int proxy_dial_one(unsigned i)
{
    int fd = socket(proxy_up[i].ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
    socklen_t el = sizeof err;
    struct pollfd p = {fd, POLLOUT, 0};
    struct timeval tv = {PROXY_SEND_S, 0};

    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&proxy_up[i], proxy_uplen[i]) != 0 &&
        (errno != EINPROGRESS || poll(&p, 1, PROXY_CONNECT_MS) != 1 ||
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)) {
        close(fd);
        errno = err ? err : ETIMEDOUT;
        return -1;
    }
    fcntl(fd, F_SETFL, 0); /* blocking from here, sends bounded by SO_SNDTIMEO */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    return fd;
}

/* Append "ADDR (REASON)" for upstream address i to why (", " between). */
static void proxy_why(char *why, size_t n, unsigned i, int e)
{
    char host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";
    size_t used = strlen(why);
    int v6 = proxy_up[i].ss_family == AF_INET6;

    getnameinfo((struct sockaddr *)&proxy_up[i], proxy_uplen[i], host, sizeof host, port,
                sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    if (used < n)
        snprintf(why + used, n - used, "%s%s%s%s:%s (%s)", used ? ", " : "", v6 ? "[" : "", host,
                 v6 ? "]" : "", port, strerror(e));
}

/* Connect to the upstream: each of its addresses in turn, from the last
 * one that answered.  The fd, or -1 with every address tried and why in
 * why. */
static int proxy_dial(char *why, size_t n)
{
    unsigned first = atomic_load_explicit(&proxy_upgood, memory_order_relaxed);

    why[0] = '\0';
    for (unsigned k = 0; k < proxy_nup; k++) {
        unsigned i = (first + k) % proxy_nup;
        int fd = proxy_dial_one(i);
        if (fd >= 0) {
            if (i != first)
                atomic_store_explicit(&proxy_upgood, i, memory_order_relaxed);
            return fd;
        }
        proxy_why(why, n, i, errno);
    }
    return -1;
}

static int proxy_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r, n -= (size_t)r;
    }
    return 0;
}

/* Move what one side has to the other: 1 moved, 0 end of file (the
 * other side's writing is shut down), -1 an error. */
static int proxy_move(int from, int to, char *buf)
{
    ssize_t r;

    do
        r = recv(from, buf, PROXY_BUF, 0);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        shutdown(to, SHUT_WR);
        return 0;
    }
    if (r < 0)
        return -1;
    return proxy_send_all(to, buf, (size_t)r) == 0 ? 1 : -1;
}

static void *proxy_conn_main(void *arg)
{
    struct proxy_conn *c = arg;
    char *buf = malloc(PROXY_BUF);
    int open_c = 1, open_u = 1;
    struct timeval tv = {PROXY_SEND_S, 0};
    char why[PROXY_ADDRS * 120];

    setsockopt(c->cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(c->cfd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    if (!buf)
        goto out; /* ufd is -1: the client's connection is closed */
    c->ufd = proxy_dial(why, sizeof why);
    if (c->ufd < 0) {
        if (atomic_fetch_add(&proxy_nrefused, 1) == 0 && !c->cfg->quiet)
            fprintf(stderr,
                    "wedge: proxy: cannot reach %s, tried %s (the client's connection is "
                    "closed)\n",
                    c->cfg->to, why);
        goto out;
    }
    while (!proxy_stop && (open_c || open_u)) {
        struct pollfd p[2] = {{open_c ? c->cfd : -1, POLLIN, 0}, {open_u ? c->ufd : -1, POLLIN, 0}};
        int n = poll(p, 2, PROXY_TICK_MS), r;
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p[0].revents) {
            if ((r = proxy_move(c->cfd, c->ufd, buf)) < 0)
                break;
            open_c = r;
        }
        if (p[1].revents) {
            if ((r = proxy_move(c->ufd, c->cfd, buf)) < 0)
                break;
            open_u = r;
        }
    }
out:
    if (c->ufd >= 0)
        close(c->ufd);
    close(c->cfd);
    free(buf);
    atomic_store(&c->state, 2);
    return NULL;
}

/* ---------------------------------------------------------------
 * The listening loop.
 * ------------------------------------------------------------ */
static void proxy_on_signal(int sig)
{
    proxy_stop = sig;
}

static void proxy_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = proxy_on_signal; /* no SA_RESTART: poll returns at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int proxy_listen(const struct proxy_cfg *cfg)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char err[300];
    int fd;

    if (proxy_addr(cfg->listen, 0, &ss, &len, 1, err, sizeof err) < 0)
        return -1;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Start a thread for connection cfd in a free slot; the client is closed
 * when every slot is taken. */
static void proxy_accepted(struct proxy_conn *conns, unsigned n, int cfd,
                           const struct proxy_cfg *cfg, pthread_attr_t *attr)
{
    for (unsigned i = 0; i < n; i++) {
        int free_ = 0;
        if (!atomic_compare_exchange_strong(&conns[i].state, &free_, 1))
            continue;
        conns[i].cfd = cfd;
        conns[i].ufd = -1;
        conns[i].cfg = cfg;
        if (pthread_create(&conns[i].thread, attr, proxy_conn_main, &conns[i]) != 0) {
            atomic_store(&conns[i].state, 0);
            break;
        }
        atomic_fetch_add(&proxy_nconn, 1);
        return;
    }
    if (atomic_fetch_add(&proxy_nfull, 1) == 0 && !cfg->quiet)
        fprintf(stderr, "wedge: proxy: %u connections open: a new one is closed at once\n", n);
    close(cfd);
}

/* Join the threads that are done (all of them when `all`). */
static void proxy_reap(struct proxy_conn *conns, unsigned n, int all)
{
    for (unsigned i = 0; i < n; i++) {
        int st = atomic_load(&conns[i].state);
        if (st == 2 || (all && st == 1)) {
            pthread_join(conns[i].thread, NULL);
            atomic_store(&conns[i].state, 0);
        }
    }
}

int proxy_serve(const struct proxy_cfg *cfg)
{
    struct proxy_conn *conns = NULL;
    pthread_attr_t attr;
    char err[400];
    int lfd = -1, rc = 2, n;

    if (proxy_check(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "wedge: proxy: %s\n", err);
        return 2;
    }
    n = proxy_addr(cfg->to, 1, proxy_up, proxy_uplen, PROXY_ADDRS, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "wedge: proxy: --to %s\n", err);
        return 2;
    }
    proxy_nup = (unsigned)n;
    proxy_signals();
    lfd = proxy_listen(cfg);
    if (lfd < 0) {
        fprintf(stderr, "wedge: proxy: cannot listen on %s: %s\n", cfg->listen, strerror(errno));
        return 3;
    }
    conns = calloc(cfg->max_conns, sizeof *conns);
    if (!conns)
        goto out;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, PROXY_STACK);
    if (!cfg->quiet)
        fprintf(stderr,
                "wedge: proxy: listening on %s, forwarding to %s (at most %u connections)\n",
                cfg->listen, cfg->to, cfg->max_conns);
    while (!proxy_stop) {
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, PROXY_TICK_MS) == 1) {
            int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            proxy_reap(conns, cfg->max_conns, 0); /* a slot just done is free */
            if (cfd >= 0)
                proxy_accepted(conns, cfg->max_conns, cfd, cfg, &attr);
        }
        proxy_reap(conns, cfg->max_conns, 0);
    }
    /* stop: no new connection; the open ones see the flag within a tick
     * (a call the shim holds at a barrier, within the rule's timeout) */
    close(lfd);
    lfd = -1;
    proxy_reap(conns, cfg->max_conns, 1);
    pthread_attr_destroy(&attr);
    if (!cfg->quiet)
        fprintf(stderr,
                "wedge: proxy: stopped: %lu connections, %lu not forwarded (upstream "
                "unreachable), %lu refused (full)\n",
                atomic_load(&proxy_nconn), atomic_load(&proxy_nrefused), atomic_load(&proxy_nfull));
    rc = 0;
out:
    if (lfd >= 0)
        close(lfd);
    free(conns);
    return rc;
}

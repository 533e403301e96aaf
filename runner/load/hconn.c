/*
 * hconn.c - HTTP/1.1 connections of one worker (load_int.h): a request
 * written, its response parsed (http1.c), kept alive and pooled per
 * destination host:port.
 *
 * A user borrows a connection for one request: an idle one to the same
 * destination, or a new one when the worker has a descriptor slot left
 * (else it waits for one, in order).  So a run holds as many connections
 * as requests are in flight at once, not one per user: 100,000 users
 * thinking between requests keep a handful open.  A response without
 * keep-alive, or an error, closes the connection.
 *
 * A pooled connection the server has closed is seen before it is used
 * (a peek), and the request goes on a new one.  A request that a reused
 * connection lost before any byte of the answer (the server's keep-alive
 * timeout raced our send) is sent once more on a new connection only
 * when that cannot act twice: the method is idempotent (RFC 9110 9.2.2),
 * or no byte of it left; the resend counts as a try.  A POST is never
 * sent twice behind the scenario's back (the service may have applied
 * it, and a second order would be wedge's doing, not a race): it ends as
 * info.  Any other failure is the request's outcome (info).
 */
#include "http1.h"
#include "load_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Read this much at a time (a connection's buffer grows only for a
 * header block larger than this): small, since a connection keeps it
 * (tens of thousands may be open). */
#define HCONN_READ 4096

/* At most this many addresses of a host are tried. */
#define HCONN_ADDRS 8

struct hconn {
    struct ev ev;
    int fd;         /* -1: not connected (waiting for a slot) */
    int dest;       /* index in w->dests */
    int out_watch;  /* EPOLLOUT is being watched */
    int slot;       /* holds one of the worker's descriptor slots */
    int connecting; /* counted as being set up (wsched_conn_up when not) */
    int reused, retried, got;
    int idem;                  /* the request may be sent twice (idempotent method) */
    int addr_tries;            /* addresses of the host tried for this connection */
    int addr;                  /* the one it is connecting to */
    struct hconn *prev, *next; /* the destination's idle list */
    struct vu *user;           /* NULL: idle */
    struct h1_buf out;         /* the request, kept until answered (a retry) */
    struct h1_buf in;
    struct h1_resp resp;
};

static void hconn_event(struct worker *w, struct ev *e, uint32_t events);

/* ---------------------------------------------------------------
 * Destinations.
 * ------------------------------------------------------------ */
/* The destination of u (host, port), added on first use. */
static int hconn_dest(struct worker *w, const struct h1_url *u)
{
    struct hdest *d;
    for (int i = 0; i < w->ndests; i++)
        if (w->dests[i].port == u->port && strlen(w->dests[i].host) == u->host_len &&
            !strncasecmp(w->dests[i].host, u->host, u->host_len))
            return i;
    d = realloc(w->dests, (size_t)(w->ndests + 1) * sizeof(*d));
    if (!d)
        abort();
    w->dests = d;
    d = &w->dests[w->ndests];
    memset(d, 0, sizeof(*d));
    d->host = strndup(u->host, u->host_len);
    d->port = u->port;
    if (!d->host)
        abort();
    return w->ndests++;
}

/* Resolve d once (a name lookup blocks this worker, once per host). */
static int hconn_resolve(struct hdest *d, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[8];
    int rc;

    if (d->resolved)
        goto out;
    snprintf(port, sizeof(port), "%d", d->port);
    rc = getaddrinfo(d->host, port, &hints, &res);
    d->resolved = -1;
    if (rc == 0 && res) {
        int n = 0;
        for (struct addrinfo *r = res; r && n < HCONN_ADDRS; r = r->ai_next)
            n++;
        d->addr = calloc((size_t)n, sizeof(*d->addr));
        d->addrlen = calloc((size_t)n, sizeof(*d->addrlen));
        if (!d->addr || !d->addrlen)
            abort();
        for (struct addrinfo *r = res; r && d->naddr < n; r = r->ai_next) {
            memcpy(&d->addr[d->naddr], r->ai_addr, r->ai_addrlen);
            d->addrlen[d->naddr++] = (unsigned)r->ai_addrlen;
        }
        d->resolved = 1;
    }
    if (res)
        freeaddrinfo(res);
    if (rc)
        snprintf(d->err, sizeof(d->err), "cannot resolve %s: %s", d->host, gai_strerror(rc));
out:
    if (d->resolved < 0)
        snprintf(err, errlen, "%s", d->err[0] ? d->err : "cannot resolve host");
    return d->resolved > 0 ? 0 : -1;
}

/* ---------------------------------------------------------------
 * Connections.
 * ------------------------------------------------------------ */
static void hconn_unidle(struct worker *w, struct hconn *c)
{
    struct hdest *d = &w->dests[c->dest];
    if (c->prev)
        c->prev->next = c->next;
    else if (d->idle == c)
        d->idle = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* Close c's socket; its slot goes back to the worker. */
static void hconn_close(struct worker *w, struct hconn *c)
{
    wsched_conn_release(w, &c->connecting, &c->slot);
    if (c->fd >= 0)
        close(c->fd); /* leaves the epoll set with it */
    c->fd = -1;
    c->out_watch = 0;
}

static void hconn_destroy(struct worker *w, struct hconn *c)
{
    hconn_close(w, c);
    h1_buf_free(&c->out);
    h1_buf_free(&c->in);
    h1_resp_free(&c->resp);
    wsched_bury(w, c);
}

static int hconn_write(struct worker *w, struct hconn *c);

/* Does waiting user u want a connection to c's destination? */
static int hconn_wants(const struct vu *u, const void *arg)
{
    const struct hconn *c = arg;
    return u->kind == VU_IO_HTTP && ((const struct hconn *)u->io)->dest == c->dest;
}

/* Connection c, free, carries waiting user x's request (built in x's own
 * hconn, which had no socket). */
static void hconn_adopt(struct worker *w, struct hconn *c, struct vu *x)
{
    struct hconn *p = x->io;
    struct h1_buf out = c->out;

    c->out = p->out;
    p->out = out;
    h1_resp_reset(&c->resp, p->resp.head_request, p->resp.want_head, p->resp.want_body);
    c->user = x;
    c->retried = c->got = 0;
    c->idem = p->idem;
    x->io = c;
    hconn_destroy(w, p);
    (void)hconn_write(w, c);
}

/* The request ended for its user: the connection goes to a user waiting
 * for one to its destination, or to the pool, or is closed. */
static void hconn_release(struct worker *w, struct hconn *c, int reusable)
{
    struct hdest *d = &w->dests[c->dest];
    struct vu *x;

    c->user = NULL;
    if (!reusable || c->fd < 0 || c->connecting || c->in.len > c->in.off) {
        hconn_destroy(w, c); /* bytes beyond the response: not ours to guess */
        return;
    }
    c->in.len = c->in.off = 0;
    c->out.len = c->out.off = 0;
    c->reused = 1;
    if ((x = wsched_conn_waiter(w, hconn_wants, c))) {
        hconn_adopt(w, c, x);
        return;
    }
    if (w->cwlen && w->nconns >= w->l->conn_cap) {
        hconn_destroy(w, c); /* its slot to a waiter for another host, or SQL */
        return;
    }
    c->next = d->idle;
    c->prev = NULL;
    if (d->idle)
        d->idle->prev = c;
    d->idle = c;
}

int hconn_shed(struct worker *w)
{
    for (int i = 0; i < w->ndests; i++) {
        struct hconn *c = w->dests[i].idle;
        if (c) {
            hconn_unidle(w, c);
            hconn_destroy(w, c);
            return 1;
        }
    }
    return 0;
}

static int hconn_watch(struct worker *w, struct hconn *c, int out, int add)
{
    c->out_watch = out;
    return wsched_watch(w, c->fd, &c->ev, EPOLLIN | (out ? EPOLLOUT : 0), add);
}

/* ---------------------------------------------------------------
 * The end of a request.
 * ------------------------------------------------------------ */
static void hconn_fail(struct worker *w, struct hconn *c, const char *why)
{
    struct vu *u = c->user;
    struct rf_result res = {.outcome = RF_INFO};
    struct rf_resp resp = {.error = why};
    unsigned resent = (unsigned)c->retried;

    rf_judge(&w->l->rf, &u->rf, u->req, &resp, &res, NULL);
    hconn_release(w, c, 0);
    vu_done(w, u, &res, 0, 1 + resent, resent);
}

static void hconn_complete(struct worker *w, struct hconn *c)
{
    struct vu *u = c->user;
    struct rf_result res;
    struct rf_resp resp = {.status = c->resp.status};
    long status = c->resp.status;

    if (c->resp.want_head) {
        resp.headers = c->resp.head.p;
        resp.headers_len = c->resp.head.len;
    }
    if (c->resp.want_body) {
        resp.body = c->resp.body.p ? c->resp.body.p : "";
        resp.body_len = c->resp.body.len;
    }
    unsigned resent = (unsigned)c->retried;

    rf_judge(&w->l->rf, &u->rf, u->req, &resp, &res, NULL);
    hconn_release(w, c, c->resp.keep_alive);
    vu_done(w, u, &res, status, 1 + resent, resent);
}

static void hconn_connect(struct worker *w, struct hconn *c);

/* c's socket replaced by a new connection to the same destination (its
 * slot passes to it), the request to be written from its first byte. */
static void hconn_reconnect(struct worker *w, struct hconn *c)
{
    c->reused = 0;
    close(c->fd);
    c->fd = -1;
    c->out_watch = 0;
    c->out.off = 0;
    c->in.len = c->in.off = 0;
    c->connecting = 1; /* past the limit on set-ups: it was up already */
    w->nconnecting++;
    c->addr_tries = 0;
    hconn_connect(w, c);
}

/* The connection failed before any byte of the response: on a reused
 * connection, once, a request that cannot act twice goes again on a new
 * one (see the top of the file). */
static void hconn_broken(struct worker *w, struct hconn *c, const char *why)
{
    char msg[256];

    if (c->reused && !c->retried && !c->got && (c->idem || c->out.off == 0)) {
        c->retried = 1;
        hconn_reconnect(w, c);
        return;
    }
    if (c->reused && !c->got && !c->idem) {
        snprintf(msg, sizeof(msg),
                 "%s (a kept-alive connection); not sent again: the service may have acted on it",
                 why);
        why = msg;
    }
    hconn_fail(w, c, why);
}

/* Has the server closed pooled connection c (its keep-alive timeout)?  A
 * peek: nothing is read. */
static int hconn_stale(const struct hconn *c)
{
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* ---------------------------------------------------------------
 * I/O.
 * ------------------------------------------------------------ */
/* Send what is left of the request; 0, or -1 when the request ended
 * here (failed: c may be gone, or being retried elsewhere). */
static int hconn_write(struct worker *w, struct hconn *c)
{
    char why[128];

    while (c->out.off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return c->out_watch || hconn_watch(w, c, 1, 0) == 0 ? 0 : -1;
        if (n < 0) {
            snprintf(why, sizeof(why), "send: %s", strerror(errno));
            hconn_broken(w, c, why);
            return -1;
        }
        c->out.off += (size_t)n;
    }
    if (c->out_watch && hconn_watch(w, c, 0, 0) < 0) {
        snprintf(why, sizeof(why), "epoll: %s", strerror(errno));
        hconn_fail(w, c, why);
        return -1;
    }
    return 0;
}

/* What arrived: parse it; 1 when the response is complete. */
static int hconn_parse(struct worker *w, struct hconn *c)
{
    ssize_t used = h1_parse(&c->resp, c->in.p + c->in.off, c->in.len - c->in.off);
    if (used < 0) {
        char why[128];
        snprintf(why, sizeof(why), "malformed response: %s", c->resp.error);
        hconn_fail(w, c, why);
        return -1;
    }
    c->in.off += (size_t)used;
    if (c->resp.state == H1_DONE)
        return 1;
    h1_buf_compact(&c->in);
    return 0;
}

static void hconn_read(struct worker *w, struct hconn *c)
{
    ssize_t n;

    /* Room for a read (the parser refuses a header block past 64 KiB,
     * so the buffer stays below that and one read). */
    if (c->in.cap - c->in.len < HCONN_READ / 4 && h1_buf_reserve(&c->in, HCONN_READ) < 0)
        abort();
    n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        char why[128];
        if (n == 0 && h1_eof(&c->resp) == 0) {
            hconn_complete(w, c);
            return;
        }
        snprintf(why, sizeof(why), "%s", n < 0 ? strerror(errno) : c->resp.error);
        hconn_broken(w, c, why);
        return;
    }
    c->got = 1;
    c->in.len += (size_t)n;
    if (hconn_parse(w, c) == 1)
        hconn_complete(w, c);
}

/* Connecting c failed with errno e: when the host has another address
 * and the failure says nobody listens there, the destination moves on to
 * it and c connects again (nothing was sent); 1 when it did. */
static int hconn_next_addr(struct worker *w, struct hconn *c, int e)
{
    struct hdest *d = &w->dests[c->dest];
    int tried = c->addr_tries++;

    if (tried + 1 >= d->naddr || (e != ECONNREFUSED && e != EADDRNOTAVAIL && e != ENETUNREACH &&
                                  e != EHOSTUNREACH && e != EAFNOSUPPORT))
        return 0;
    /* moved on once per refusing address, however many connections
     * were refused by it at the same time */
    if (d->cur == c->addr)
        d->cur = (c->addr + 1) % d->naddr;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->out_watch = 0;
    hconn_connect(w, c);
    return 1;
}

static void hconn_connected(struct worker *w, struct hconn *c)
{
    int e = 0;
    socklen_t len = sizeof(e);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
    if (e) {
        char why[160];
        if (hconn_next_addr(w, c, e))
            return;
        snprintf(why, sizeof(why), "connect to %s:%d: %s", w->dests[c->dest].host,
                 w->dests[c->dest].port, strerror(e));
        hconn_fail(w, c, why);
        return;
    }
    c->connecting = 0;
    wsched_conn_up(w);
    (void)hconn_write(w, c);
}

static void hconn_event(struct worker *w, struct ev *e, uint32_t events)
{
    struct hconn *c = (struct hconn *)e;

    if (!c->user) { /* idle: the server closed it, or talks out of turn */
        hconn_unidle(w, c);
        hconn_destroy(w, c);
        return;
    }
    if (c->connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            hconn_connected(w, c);
        return;
    }
    if ((events & EPOLLOUT) && hconn_write(w, c) < 0)
        return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        hconn_read(w, c);
}

/* A new socket for c, connecting (c->slot and c->connecting are set:
 * counted by the worker). */
static void hconn_connect(struct worker *w, struct hconn *c)
{
    struct hdest *d = &w->dests[c->dest];
    char why[160];
    int one = 1;

    c->fd = socket(d->addr[c->addr = d->cur].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   IPPROTO_TCP);
    if (c->fd < 0 && hconn_next_addr(w, c, errno))
        return;
    if (c->fd < 0) {
        snprintf(why, sizeof(why), "socket: %s", strerror(errno));
        hconn_fail(w, c, why);
        return;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&d->addr[c->addr], d->addrlen[c->addr]) < 0 &&
        errno != EINPROGRESS) {
        int e = errno;
        if (hconn_next_addr(w, c, e))
            return;
        snprintf(why, sizeof(why), "connect to %s:%d: %s", d->host, d->port, strerror(e));
        hconn_fail(w, c, why);
        return;
    }
    if (hconn_watch(w, c, 1, 1) < 0) {
        snprintf(why, sizeof(why), "epoll: %s", strerror(errno));
        hconn_fail(w, c, why);
    }
}

/* ---------------------------------------------------------------
 * The worker's side.
 * ------------------------------------------------------------ */
/* u's request into a connection: an idle one, or a new one. */
static struct hconn *hconn_get(struct worker *w, int dest)
{
    struct hconn *c = w->dests[dest].idle;
    if (c) {
        hconn_unidle(w, c);
        return c;
    }
    if (!(c = calloc(1, sizeof(*c))))
        abort();
    c->ev.fn = hconn_event;
    c->fd = -1;
    c->dest = dest;
    return c;
}

void hconn_send(struct worker *w, struct vu *u, const struct rf_req *q)
{
    struct rf_result res;
    struct h1_url url;
    struct hconn *c;
    char err[192];
    int dest;

    if (h1_url_parse(q->url, &url) < 0) {
        if (strchr(q->url, '@'))
            snprintf(err, sizeof(err), /* the URL not shown: it holds a password */
                     "a user:password@ in a URL is not sent; give it as a header "
                     "(header = Authorization: Basic ...)");
        else
            snprintf(err, sizeof(err), "'%.120s' is not an http:// URL with a host", q->url);
        rf_fault(&res, err);
        vu_done(w, u, &res, 0, 1, 0);
        return;
    }
    dest = hconn_dest(w, &url);
    if (hconn_resolve(&w->dests[dest], err, sizeof(err)) < 0) {
        struct rf_resp resp = {.error = err};
        rf_judge(&w->l->rf, &u->rf, u->req, &resp, &res, NULL);
        vu_done(w, u, &res, 0, 1, 0);
        return;
    }
    c = hconn_get(w, dest);
    c->user = u;
    c->retried = c->got = 0;
    c->idem = h1_idempotent(q->method);
    u->io = c;
    u->kind = VU_IO_HTTP;
    c->out.len = c->out.off = 0;
    if (h1_request(&c->out, q->method, &url, q->headers, q->nheaders, q->body, q->body_len) < 0)
        abort();
    h1_resp_reset(&c->resp, !strcasecmp(q->method, "HEAD"), q->want_headers, q->want_body);
    if (c->fd >= 0 && hconn_stale(c))
        hconn_reconnect(w, c); /* nothing of this request was sent */
    else if (c->fd >= 0)
        (void)hconn_write(w, c);
    else if (wsched_conn_take(w, u) == 0)
        hconn_resume(w, u);
    /* else u waits for a connection (wsched_conn_take queued it) */
}

void hconn_resume(struct worker *w, struct vu *u)
{
    struct hconn *c = u->io;
    c->slot = c->connecting = 1;
    c->addr_tries = 0;
    hconn_connect(w, c);
}

void hconn_abort(struct worker *w, struct vu *u, const char *why)
{
    hconn_fail(w, u->io, why);
}

void hconn_free_all(struct worker *w)
{
    for (int i = 0; i < w->ndests; i++) {
        while (w->dests[i].idle) {
            struct hconn *c = w->dests[i].idle;
            hconn_unidle(w, c);
            hconn_destroy(w, c);
        }
        free(w->dests[i].host);
        free(w->dests[i].addr);
        free(w->dests[i].addrlen);
    }
    for (uint32_t i = 0; i < w->nusers; i++)
        if (w->users[i].kind == VU_IO_HTTP && w->users[i].io)
            hconn_destroy(w, w->users[i].io);
}

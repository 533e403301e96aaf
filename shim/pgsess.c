/*
 * pgsess.c - PostgreSQL sessions decoded on the wire, for clients that do
 * not go through libpq (JDBC, node-postgres, pgx...) and for `wedge proxy`:
 * the table of sessions by fd, and what socket.c calls on a send and a
 * recv (wire.h).  What the messages mean is pgflow.c's.
 *
 * A socket becomes a session when the first bytes sent on it are a
 * StartupMessage, an SSLRequest or a GSSENCRequest (or, for a connection
 * to WEDGE_DB_PORT, whatever it sends first: a TLS handshake there is
 * reported as hidden, never silently skipped).  A socket libpq's own
 * wrappers follow is claimed by them (pgsess_claim, or a send from inside
 * a libpq wrapper) and left alone, so no statement is counted twice.
 *
 * A send is decoded once: when the kernel takes fewer bytes than given,
 * the program sends the rest again, and out_sent/front.off tell which
 * bytes were already seen.  `fail sqlstate` replaces the statement's
 * message in the outgoing bytes (the send goes out as a sendmsg of the
 * program's own buffers around the replacement); the answers to the
 * shim's own messages are taken out of what the program reads.
 */
#include "hooks.h"
#include "pgsess_int.h"
#include "real.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Atomic int wg_wire_pg;

/* fd -> session: 0 unknown, > 0 session + 1, or one of these: a socket
 * libpq's wrappers report, one whose statements encryption hides, and a
 * connection this process opened (to the database's port or elsewhere),
 * whose first bytes are being collected. */
enum { PGS_CLAIMED = -1, PGS_HIDDEN = -2, PGS_CANDIDATE = -3, PGS_CONNECTED = -4 };

/* The first bytes sent on a connection seen opening, until 8 tell whether
 * it is a PostgreSQL session (a driver may write its opening in pieces). */
struct pgs_probe {
    unsigned char n;
    unsigned char b[8];
};

static _Atomic int16_t *pgs_map;
static struct pgs_probe *pgs_probes;
static struct pgs_session *pgs_table;
static int pgs_db_port;
static _Atomic int pgs_said_full;

/* ---------------------------------------------------------------
 * The table.
 * ------------------------------------------------------------ */
int pgsess_init(int db_port)
{
    size_t maplen = WIRE_FDS * sizeof *pgs_map, probelen = WIRE_FDS * sizeof *pgs_probes;
    size_t len = maplen + probelen + PGS_SESSIONS * sizeof *pgs_table;
    char *p;

    if (pgs_table)
        return 0;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    pgs_map = (_Atomic int16_t *)p;
    pgs_probes = (struct pgs_probe *)(p + maplen);
    pgs_table = (struct pgs_session *)(p + maplen + probelen);
    pgs_db_port = db_port;
    return 0;
}

static int pgs_fd_ok(int fd)
{
    return pgs_table && fd >= 0 && fd < WIRE_FDS;
}

static void pgs_release(int fd)
{
    int v = atomic_exchange_explicit(&pgs_map[fd], 0, memory_order_acq_rel);
    if (v > 0)
        atomic_store_explicit(&pgs_table[v - 1].owner, 0, memory_order_release);
}

void pgsess_claim(int fd)
{
    if (!pgs_fd_ok(fd) || atomic_load_explicit(&pgs_map[fd], memory_order_relaxed) == PGS_CLAIMED)
        return;
    pgs_release(fd);
    atomic_store_explicit(&pgs_map[fd], PGS_CLAIMED, memory_order_relaxed);
}

void pgsess_forget(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    int port = 0;

    if (!pgs_fd_ok(fd))
        return;
    pgs_release(fd);
    if (addr && addrlen >= sizeof(struct sockaddr_in) && addr->sa_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
    else if (addr && addrlen >= sizeof(struct sockaddr_in6) && addr->sa_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    if (!addr)
        return;
    pgs_probes[fd].n = 0;
    atomic_store_explicit(&pgs_map[fd], port && port == pgs_db_port ? PGS_CANDIDATE : PGS_CONNECTED,
                          memory_order_relaxed);
}

/* The first bytes of a connection: 1 when they open a PostgreSQL session
 * (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest). */
static int pgs_opens_session(const unsigned char *h, size_t n)
{
    uint32_t len, code;

    if (n < 8)
        return 0;
    len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    code = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    if (code >> 16 == 3)
        return len >= 8 && len <= 10000;
    if (code == PGW_SSL_REQ || code == PGW_GSSENC_REQ)
        return len == 8;
    return code == PGW_CANCEL_REQ && len == 16;
}

static struct pgs_session *pgs_new(int fd, const unsigned char *sent, size_t nsent)
{
    for (int i = 0; i < PGS_SESSIONS; i++) {
        struct pgs_session *s = &pgs_table[i];
        int free_ = 0;
        if (!atomic_compare_exchange_strong(&s->owner, &free_, fd + 1))
            continue;
        pgs_lock(s);
        s->fd = fd;
        s->lost = s->hidden = 0;
        pgw_init(&s->front, PGW_FRONT);
        pgw_init(&s->back, PGW_BACK);
        s->out_sent = s->swallow = s->rw_a = s->rw_b = 0;
        s->rw_pending = s->dropping = 0;
        s->owed_len = s->owed_off = s->rw_len = 0;
        s->who[0] = '\0';
        pgs_flow_reset(s);
        /* bytes of the opening sent by earlier calls: seen, and gone out
         * (fewer than 8: no message is complete in them) */
        for (size_t k = 0; k < nsent;) {
            struct pgw_msg m;
            enum pgw_got got;
            k += pgw_feed(&s->front, (const char *)sent + k, nsent - k, &m, &got);
        }
        s->out_sent = nsent;
        pgs_unlock(s);
        atomic_store_explicit(&pgs_map[fd], (int16_t)(i + 1), memory_order_release);
        return s;
    }
    if (!atomic_exchange_explicit(&pgs_said_full, 1, memory_order_relaxed))
        fprintf(stderr,
                "wedge: more than %d PostgreSQL sessions at once: the extra ones raise no pq.* "
                "event\n",
                PGS_SESSIONS);
    return NULL;
}

/* The session of fd for a send: an existing one, or a new one when these
 * bytes (after those collected from earlier sends on a connection seen
 * opening) open it.  Too few bytes yet: plan->probe asks pgsess_send_end
 * to collect what this send sent. */
static struct pgs_session *pgs_for_send(int fd, const struct iovec *iov, int n, size_t len,
                                        struct pgs_plan *plan)
{
    int v = atomic_load_explicit(&pgs_map[fd], memory_order_acquire);
    struct pgs_probe *pr = v == PGS_CONNECTED || v == PGS_CANDIDATE ? &pgs_probes[fd] : NULL;
    unsigned char head[8];
    size_t have = pr ? pr->n : 0, got;
    struct stat st;

    if (v > 0)
        return &pgs_table[v - 1];
    if (v == PGS_CLAIMED || v == PGS_HIDDEN)
        return NULL;
    memcpy(head, pr ? pr->b : head, have);
    got = have + wire_gather(iov, n, len, (char *)head + have, sizeof head - have);
    if (got < sizeof head) {
        if (pr && got > have) {
            plan->probe = 1;
            plan->probe_n = (unsigned)(got - have);
            memcpy(plan->probe_b, head + have, got - have);
        }
        return NULL;
    }
    if (!pgs_opens_session(head, got)) {
        if (pr)
            atomic_store_explicit(&pgs_map[fd],
                                  head[0] == 0x16 && v == PGS_CANDIDATE ? PGS_HIDDEN : 0,
                                  memory_order_relaxed);
        if (pr && head[0] == 0x16 && v == PGS_CANDIDATE) {
            /* the database's port, and a TLS ClientHello (sslnegotiation=
             * direct): said, not silently skipped */
            struct pgs_session tmp = {.fd = fd};
            pgs_hide(&tmp, "TLS (direct negotiation)");
        }
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return NULL;
    return pgs_new(fd, pr ? pr->b : NULL, have);
}

/* ---------------------------------------------------------------
 * Sends.
 * ------------------------------------------------------------ */

/* Bytes of a replacement the kernel has not taken yet go first. */
static int pgs_flush_owed(struct pgs_session *s, int fd)
{
    char buf[PGS_INJ_MAX];
    size_t len = (size_t)(s->owed_len - s->owed_off), done = 0;

    memcpy(buf, s->owed + s->owed_off, len);
    pgs_unlock(s); /* never held across a real call */
    while (done < len) {
        ssize_t r = REAL(send)(fd, buf + done, len - done, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    pgs_lock(s);
    s->owed_off = (uint16_t)(s->owed_off + done);
    if (s->owed_off == s->owed_len)
        s->owed_off = s->owed_len = 0;
    return done == len ? 0 : -1;
}

/* Append the iovecs covering bytes [from, to) of iov to plan->out. */
static void pgs_slice(const struct iovec *iov, int n, size_t from, size_t to, struct pgs_plan *plan)
{
    size_t at = 0;

    for (int i = 0; i < n && at < to && plan->nout < PGS_IOV_MAX; i++) {
        size_t a = at, b = at + iov[i].iov_len;
        at = b;
        if (b <= from || a >= to)
            continue;
        size_t lo = from > a ? from - a : 0, hi = (to < b ? to : b) - a;
        plan->out[plan->nout].iov_base = (char *)iov[i].iov_base + lo;
        plan->out[plan->nout++].iov_len = hi - lo;
    }
}

/* What this send puts on the wire instead of the program's bytes. */
static void pgs_plan_build(struct pgs_session *s, const struct iovec *iov, int n, size_t len,
                           struct pgs_plan *plan)
{
    size_t w = s->swallow < len ? (size_t)s->swallow : len;
    int repl = s->rw_pending && s->rw_a >= s->out_sent + w && s->rw_a < s->out_sent + len;

    if (!w && !repl)
        return;
    plan->active = 1;
    plan->app_len = len;
    plan->swallow = w;
    plan->has_repl = repl;
    plan->repl_at = repl ? (size_t)(s->rw_a - s->out_sent) : len;
    plan->repl_end =
        repl ? (s->rw_b - s->out_sent < len ? (size_t)(s->rw_b - s->out_sent) : len) : len;
    plan->repl_len = repl ? s->rw_len : 0;
    pgs_slice(iov, n, w, plan->repl_at, plan);
    if (repl) {
        plan->out[plan->nout].iov_base = s->rw;
        plan->out[plan->nout++].iov_len = s->rw_len;
    }
    pgs_slice(iov, n, plan->repl_end, len, plan);
}

/* Decode the bytes of this send not decoded yet. */
static void pgs_decode_send(struct pgs_session *s, const struct iovec *iov, int n, size_t len,
                            struct pgs_front_ctx *ctx)
{
    size_t skip = s->front.off > s->out_sent ? (size_t)(s->front.off - s->out_sent) : 0, at = 0;

    for (int i = 0; i < n && !s->lost && !s->hidden && !ctx->disconnect; i++) {
        const char *p = iov[i].iov_base;
        size_t k = iov[i].iov_len;
        if (at + k > len)
            k = len - at;
        at += k;
        if (skip >= k) {
            skip -= k;
            continue;
        }
        p += skip, k -= skip, skip = 0;
        while (k > 0 && !s->lost && !ctx->disconnect) {
            struct pgw_msg m;
            enum pgw_got got;
            size_t used = pgw_feed(&s->front, p, k, &m, &got);
            if (got == PGW_MSG)
                pgs_front_msg(s, &m, ctx);
            else if (got == PGW_ERROR)
                pgs_lose(s, m.why);
            p += used, k -= used;
        }
    }
}

void pgsess_send_begin(int fd, const struct iovec *iov, int n, size_t len, struct pgs_plan *plan)
{
    struct pgs_front_ctx ctx = {0};
    struct pgs_session *s;
    int saved = errno;

    plan->active = plan->fail_errno = plan->nout = plan->probe = 0;
    plan->s = NULL;
    if (!pgs_fd_ok(fd))
        return;
    if (wg_pq_busy()) {
        pgsess_claim(fd);
        return;
    }
    plan->fd = fd;
    s = pgs_for_send(fd, iov, n, len, plan);
    if (!s)
        goto out;
    pgs_lock(s);
    if (s->lost || s->hidden)
        goto unlock;
    if (s->owed_len && pgs_flush_owed(s, fd) < 0) {
        plan->fail_errno = errno == EINTR || errno == 0 ? EAGAIN : errno;
        goto unlock;
    }
    plan->s = s;
    ctx.call_start = s->out_sent;
    ctx.can_rewrite = n <= PGS_IOV_MAX - PGS_IOV_EXTRA;
    ctx.why_not = "the write has more buffers than the decoder can send around a replacement";
    pgs_decode_send(s, iov, n, len, &ctx);
    if (ctx.disconnect) {
        /* fail disconnect: the connection really drops; the send fails as
         * on a broken connection (without SIGPIPE) */
        shutdown(fd, SHUT_RDWR);
        s->lost = 1;
        plan->fail_errno = EPIPE;
        plan->s = NULL;
        goto unlock;
    }
    if (!s->lost)
        pgs_plan_build(s, iov, n, len, plan);
unlock:
    pgs_unlock(s);
out:
    errno = saved;
}

long pgsess_send_end(int fd, struct pgs_plan *plan, long r)
{
    struct pgs_session *s = plan->s;
    size_t owed_from, done;
    int repl_done;

    if (plan->probe && r > 0 && !s) {
        /* the opening so far: what the kernel took of this send's bytes */
        struct pgs_probe *pr = &pgs_probes[plan->fd];
        size_t k = (size_t)r < plan->probe_n ? (size_t)r : plan->probe_n;
        if (pr->n + k <= sizeof pr->b) {
            memcpy(pr->b + pr->n, plan->probe_b, k);
            pr->n = (unsigned char)(pr->n + k);
        }
    }
    if (!s || r < 0)
        return r;
    pgs_lock(s);
    if (!plan->active) {
        s->out_sent += (uint64_t)r;
        goto out;
    }
    done = pgw_map_sent(plan->swallow, plan->has_repl ? plan->repl_at : plan->app_len,
                        plan->repl_end, plan->repl_len, (size_t)r, &owed_from, &repl_done);
    s->out_sent += done;
    s->swallow -= plan->swallow;
    if (repl_done) {
        s->rw_pending = 0;
        if (owed_from < plan->repl_len) {
            s->owed_len = (uint16_t)(plan->repl_len - owed_from);
            s->owed_off = 0;
            memcpy(s->owed, s->rw + owed_from, s->owed_len);
        }
        if (s->rw_b > s->out_sent)
            s->swallow = s->rw_b - s->out_sent; /* the rest of the replaced message */
    }
    r = (long)done;
out:
    pgs_unlock(s);
    return r;
}

/* ---------------------------------------------------------------
 * Receives.
 * ------------------------------------------------------------ */
#define PGS_DROPS 16

struct pgs_drops {
    uint64_t from[PGS_DROPS], to[PGS_DROPS];
    int n, overflow;
};

static void pgs_drop(struct pgs_drops *d, uint64_t from, uint64_t to)
{
    if (from >= to)
        return;
    if (d->n && d->to[d->n - 1] == from) {
        d->to[d->n - 1] = to;
        return;
    }
    if (d->n == PGS_DROPS) {
        d->overflow = 1;
        return;
    }
    d->from[d->n] = from;
    d->to[d->n++] = to;
}

/* Move len bytes at offset src of the vector to offset dst (< src). */
static void pgs_iov_move(const struct iovec *iov, int n, size_t dst, size_t src, size_t len)
{
    while (len > 0) {
        size_t si = 0, so = src, di = 0, dof = dst, k;
        while ((int)si < n && so >= iov[si].iov_len)
            so -= iov[si++].iov_len;
        while ((int)di < n && dof >= iov[di].iov_len)
            dof -= iov[di++].iov_len;
        if ((int)si >= n || (int)di >= n)
            return;
        k = len;
        if (k > iov[si].iov_len - so)
            k = iov[si].iov_len - so;
        if (k > iov[di].iov_len - dof)
            k = iov[di].iov_len - dof;
        memmove((char *)iov[di].iov_base + dof, (char *)iov[si].iov_base + so, k);
        src += k, dst += k, len -= k;
    }
}

/* The answer byte to an SSLRequest / GSSENCRequest. */
static void pgs_answer(struct pgs_session *s, char c)
{
    if (c == 'S')
        pgs_hide(s, "TLS");
    else if (c == 'G')
        pgs_hide(s, "GSS encryption");
    else if (c != 'N')
        pgs_lose(s, "an answer to an encryption request that is neither S, G nor N");
}

static void pgs_decode_recv(struct pgs_session *s, const struct iovec *iov, int n, size_t r,
                            struct pgs_drops *d, int *disconnect)
{
    uint64_t base = s->back.off;
    size_t at = 0;

    for (int i = 0; i < n && at < r && !s->lost && !s->hidden; i++) {
        const char *p = iov[i].iov_base;
        size_t k = iov[i].iov_len < r - at ? iov[i].iov_len : r - at;
        at += k;
        while (k > 0 && !s->lost && !s->hidden) {
            struct pgw_msg m;
            enum pgw_got got;
            size_t used = pgw_feed(&s->back, p, k, &m, &got);
            if (got == PGW_START && pgs_back_is_ours(s, m.type)) {
                s->dropping = 1;
                s->drop_from = m.start;
            } else if (got == PGW_MSG) {
                pgs_back_msg(s, &m, disconnect);
                if (s->dropping)
                    pgs_drop(d, s->drop_from > base ? s->drop_from : base, m.end);
                s->dropping = 0;
            } else if (got == PGW_BYTE) {
                pgs_answer(s, m.type);
            } else if (got == PGW_ERROR) {
                pgs_lose(s, m.why);
            }
            p += used, k -= used;
        }
    }
    if (s->dropping)
        pgs_drop(d, s->drop_from > base ? s->drop_from : base, base + r);
}

long pgsess_recv_end(int fd, const struct iovec *iov, int n, long r, int flags, int *again)
{
    struct pgs_drops d = {0};
    struct pgs_session *s;
    uint64_t base;
    size_t kept = 0, at = 0;
    int v, disconnect = 0, saved = errno;

    *again = 0;
    if (!pgs_fd_ok(fd) || r < 0 || (flags & MSG_PEEK))
        return r;
    if (wg_pq_busy()) {
        pgsess_claim(fd);
        return r;
    }
    v = atomic_load_explicit(&pgs_map[fd], memory_order_acquire);
    if (v <= 0)
        return r;
    if (r == 0) { /* the server closed: the session is over */
        pgs_release(fd);
        return r;
    }
    s = &pgs_table[v - 1];
    pgs_lock(s);
    base = s->back.off;
    if (!s->lost && !s->hidden)
        pgs_decode_recv(s, iov, n, (size_t)r, &d, &disconnect);
    if (d.overflow)
        pgs_lose(s, "too many answers to take out of one read");
    pgs_unlock(s);
    if (disconnect)
        shutdown(fd, SHUT_RDWR);
    /* take the shim's answers out: keep what lies between the drops */
    for (int i = 0; i <= d.n; i++) {
        size_t to = i < d.n ? (size_t)(d.from[i] - base) : (size_t)r;
        if (to > at) {
            if (kept != at)
                pgs_iov_move(iov, n, kept, at, to - at);
            kept += to - at;
        }
        if (i < d.n)
            at = (size_t)(d.to[i] - base);
    }
    *again = kept == 0;
    errno = saved;
    return (long)kept;
}

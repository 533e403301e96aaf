/*
 * socket.c - the socket wrappers: sock.connect, sock.accept, sock.send,
 * sock.recv, sock.poll, sock.close, with the _FORTIFY_SOURCE variants.
 *
 * Wrappers as data: every wrapper is one row of wrappers.def (its hook,
 * whether the fd must be checked to be a socket, its prototype and how
 * `short N` clips it); SOCK_WRAP expands the body.  read, write, readv,
 * writev and close are socket hooks only on sockets: the check (fstat)
 * runs on the slow path only, so an idle process never pays it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "real.h"
#include "wire.h"

#define SOCK_IOV_MAX 16

/* One call on the slow path. */
struct sock_call {
    struct wg_call c;
    char detail[96];
    int fail, err;
    long clip; /* -1: no short */
    struct iovec iov[SOCK_IOV_MAX];
    struct msghdr msg;
    struct msghdr *orig; /* recvmsg's own msghdr when a copy was used */
    int ruled;           /* some rule names this hook: evaluate rules */
    int wire;            /* content conditions are in use: look at the data */
    /* The call's data as an I/O vector (sock_view): what a send sends,
     * where a recv receives. */
    const struct iovec *io_iov;
    int io_n;
    struct iovec io_one;
    int io_flags;                /* send / recv flags (0 for write, read) */
    const struct msghdr *io_msg; /* sendmsg / recvmsg: the program's */
    struct wire_texts wt;
    int pg;               /* the PostgreSQL decoder follows this call */
    struct pgs_plan plan; /* a send that goes out otherwise */
};

void wg_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
    char host[INET6_ADDRSTRLEN] = "?";

    buf[0] = '\0';
    if (!sa || len < sizeof(sa_family_t))
        return;
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, buflen, "%s:%u", host, ntohs(in->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, buflen, "[%s]:%u", host, ntohs(in6->sin6_port));
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t n = len > offsetof(struct sockaddr_un, sun_path)
                       ? len - offsetof(struct sockaddr_un, sun_path)
                       : 0;
        snprintf(buf, buflen, "unix:%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
        break;
    }
    default:
        snprintf(buf, buflen, "family %d", sa->sa_family);
    }
}

static int sock_is_socket(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* What the trace shows for a socket call: the address it connects to, or
 * the peer, or (a listening socket) the local address. */
static void sock_detail(struct sock_call *sc, int fd, const struct sockaddr *addr, socklen_t alen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (addr)
        wg_format_addr(addr, alen, sc->detail, sizeof sc->detail);
    else if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        wg_format_addr((struct sockaddr *)&ss, sl, sc->detail, sizeof sc->detail);
    else if (fd >= 0 && (sl = sizeof ss, getsockname(fd, (struct sockaddr *)&ss, &sl) == 0))
        wg_format_addr((struct sockaddr *)&ss, sl, sc->detail, sizeof sc->detail);
}

/* The call's data: one buffer or a vector (set before sock_before). */
static void sock_view(struct sock_call *sc, const void *buf, size_t len, const struct iovec *iov,
                      int n, int flags, const struct msghdr *msg)
{
    sc->io_flags = flags;
    sc->io_msg = msg;
    if (iov) {
        sc->io_iov = iov;
        sc->io_n = n < 0 ? 0 : n;
        return;
    }
    sc->io_one.iov_base = (void *)buf;
    sc->io_one.iov_len = len;
    sc->io_iov = &sc->io_one;
    sc->io_n = 1;
}

static size_t sock_view_len(const struct sock_call *sc)
{
    size_t total = 0;
    for (int i = 0; i < sc->io_n; i++)
        total += sc->io_iov[i].iov_len;
    return total;
}

/* Point the call's content fields at what wire_note / wire_peek found. */
#define WG_WIRE_CONTENT() atomic_load_explicit(&wg_wire_content, memory_order_relaxed)

static void sock_wire_texts(struct sock_call *sc)
{
    sc->c.http = sc->wt.has_http ? sc->wt.http : NULL;
    sc->c.redis = sc->wt.has_redis ? sc->wt.redis : NULL;
    sc->c.data = sc->wt.has_data ? sc->wt.data : NULL;
}

/* Content before the real call: a send's own bytes; the exchange a recv
 * or a close belongs to; a new connection starts with none. */
static void sock_wire_before(struct sock_call *sc, int hook, int fd)
{
    char head[WIRE_HEAD];
    size_t n;

    switch (hook) {
    case WG_HOOK_SOCK_SEND:
        n = wire_gather(sc->io_iov, sc->io_n, sock_view_len(sc), head, sizeof head);
        wire_note(fd, WIRE_SEND, head, n, 1, &sc->wt);
        break;
    case WG_HOOK_SOCK_RECV:
    case WG_HOOK_SOCK_CLOSE:
        wire_peek(fd, &sc->wt);
        break;
    case WG_HOOK_SOCK_CONNECT:
        wire_forget(fd);
        break;
    default:
        break;
    }
    sock_wire_texts(sc);
}

/* Content after the real call returned r: what a recv received. */
static void sock_wire_after(struct sock_call *sc, long r)
{
    char head[WIRE_HEAD];
    size_t n;

    if (sc->c.hook == WG_HOOK_SOCK_RECV && r >= 0) {
        n = wire_gather(sc->io_iov, sc->io_n, (size_t)r, head, sizeof head);
        wire_note(sc->c.fd, WIRE_RECV, head, n, 1, &sc->wt);
        sock_wire_texts(sc);
    } else if (sc->c.hook == WG_HOOK_SOCK_ACCEPT && r >= 0) {
        wire_forget((int)r);
    } else if (sc->c.hook == WG_HOOK_SOCK_CLOSE && r == 0) {
        wire_forget(sc->c.fd);
    }
}

/* Evaluate the `before` rules.  Returns 0 when the call is not a socket
 * call after all (read on a file): the wrapper then just calls through.
 * With content conditions in use, a hook no rule names still has its
 * data looked at (an http ~ on sock.send needs the requests received)
 * but is not told apart from a file: no fstat, no rules. */
static int sock_before(struct sock_call *sc, int hook, int fd, int check,
                       const struct sockaddr *addr, socklen_t addrlen)
{
    struct wg_verdict v;
    int saved = errno;

    sc->ruled = WG_RULED(hook);
    if (sc->ruled && check && !sock_is_socket(fd)) {
        errno = saved; /* fstat of a bad fd must not set it: the real call does */
        return 0;
    }
    memset(&sc->c, 0, sizeof sc->c);
    sc->c.hook = hook;
    sc->c.fd = fd;
    sc->c.addr = addr; /* connect, sendto: port = / peer = match where it goes */
    sc->c.addrlen = addrlen;
    sc->fail = 0;
    sc->clip = -1;
    sc->orig = NULL;
    sc->detail[0] = '\0';
    sc->wire = WG_WIRE_CONTENT();
    if (sc->wire)
        sock_wire_before(sc, hook, fd);
    errno = saved;
    if (!sc->ruled) {
        if (!check)
            wg_count(hook);
        return 1;
    }
    /* The address is only shown in the trace: no syscall for it otherwise
     * (match.c asks for the peer itself when a rule has port/peer). */
    if (trace_enabled())
        sock_detail(sc, fd, addr, addrlen);
    sc->c.detail = sc->detail[0] ? sc->detail : NULL;
    errno = saved;

    if (wg_eval(&sc->c, WG_BEFORE, &v)) {
        if (v.action == WG_ACT_FAIL_ERRNO) {
            sc->fail = 1;
            sc->err = v.err;
        } else if (v.action == WG_ACT_SHORT && v.short_n >= 0) {
            sc->clip = v.short_n;
        }
    }
    return 1;
}

/* Evaluate the `after` rules on the result r of the real call. */
static long sock_after(struct sock_call *sc, long r)
{
    struct wg_verdict v;
    int saved = errno;

    if (sc->wire)
        sock_wire_after(sc, r);
    errno = saved;
    if (sc->ruled && (wg_after_hooks >> sc->c.hook & 1) && wg_eval(&sc->c, WG_AFTER, &v) &&
        v.action == WG_ACT_FAIL_ERRNO) {
        /* An accepted connection the caller never sees would leak its fd
         * (and hold the peer open): close it, as a reset connection. */
        if (sc->c.hook == WG_HOOK_SOCK_ACCEPT && r >= 0)
            REAL(close)((int)r);
        errno = v.err;
        return -1;
    }
    errno = saved;
    return r;
}

/* ---------------------------------------------------------------
 * The PostgreSQL decoder's part of a call (pgsess.c): a send may carry
 * statements (and go out with one replaced), a recv their answers (some
 * of them the shim's own, taken out).
 * ------------------------------------------------------------ */
#define WG_WIRE_PG() atomic_load_explicit(&wg_wire_pg, memory_order_relaxed)
/* sock_pg_after: nothing is left of what a blocking recv read; read again. */
#define SOCK_AGAIN LONG_MIN

/* Before the real call, after the sock rules.  1 when the call must fail
 * (sc->err): `fail disconnect` fired, or the shim's own bytes are still
 * waiting to go out on a non-blocking socket. */
static int sock_pg_before(struct sock_call *sc, const struct sockaddr *addr, socklen_t addrlen)
{
    int fd = sc->c.fd;

    sc->plan.active = sc->plan.fail_errno = 0;
    sc->plan.s = NULL;
    sc->pg = WG_WIRE_PG();
    if (!sc->pg)
        return 0;
    switch (sc->c.hook) {
    case WG_HOOK_SOCK_SEND:
        pgsess_send_begin(fd, sc->io_iov, sc->io_n, sock_view_len(sc), &sc->plan);
        sc->err = sc->plan.fail_errno;
        return sc->err != 0;
    case WG_HOOK_SOCK_CONNECT:
        pgsess_forget(fd, addr, addrlen);
        return 0;
    case WG_HOOK_SOCK_CLOSE:
        pgsess_forget(fd, NULL, 0); /* before: the number may be reused at once */
        return 0;
    default:
        return 0;
    }
}

/* The planned output of a send: the program's buffers around the
 * replacement, in one sendmsg with the program's flags. */
static ssize_t sock_send_planned(struct sock_call *sc)
{
    struct msghdr m;
    size_t total = 0;

    for (int i = 0; i < sc->plan.nout; i++)
        total += sc->plan.out[i].iov_len;
    if (total == 0)
        return 0; /* all of it was the rest of a replaced message */
    memset(&m, 0, sizeof m);
    if (sc->io_msg) {
        m.msg_name = sc->io_msg->msg_name;
        m.msg_namelen = sc->io_msg->msg_namelen;
        m.msg_control = sc->io_msg->msg_control;
        m.msg_controllen = sc->io_msg->msg_controllen;
    }
    m.msg_iov = sc->plan.out;
    m.msg_iovlen = (size_t)sc->plan.nout;
    return REAL(sendmsg)(sc->c.fd, &m, sc->io_flags);
}

/* After the real call returned r: what the program is told. */
static long sock_pg_after(struct sock_call *sc, long r)
{
    int again = 0, saved = errno, fd = sc->c.fd;

    if (!sc->pg)
        return r;
    switch (sc->c.hook) {
    case WG_HOOK_SOCK_SEND:
        return pgsess_send_end(fd, &sc->plan, r);
    case WG_HOOK_SOCK_RECV:
        r = pgsess_recv_end(fd, sc->io_iov, sc->io_n, r, sc->io_flags, &again);
        if (!again)
            return r;
        if ((sc->io_flags & MSG_DONTWAIT) || (fcntl(fd, F_GETFL) & O_NONBLOCK)) {
            errno = EAGAIN; /* as if the shim's answers had never come */
            return -1;
        }
        errno = saved;
        return SOCK_AGAIN;
    case WG_HOOK_SOCK_ACCEPT:
        if (r >= 0)
            pgsess_forget((int)r, NULL, 0);
        return r;
    default:
        return r;
    }
}

/* A copy of iov[0..n) holding at most `clip` bytes, in sc->iov. */
static int sock_clip_iov(struct sock_call *sc, const struct iovec *iov, int n, long clip)
{
    size_t left = (size_t)clip;
    int k = 0;

    for (int i = 0; i < n && k < SOCK_IOV_MAX && left > 0; i++) {
        if (iov[i].iov_len == 0)
            continue;
        sc->iov[k].iov_base = iov[i].iov_base;
        sc->iov[k].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
        left -= sc->iov[k].iov_len;
        k++;
    }
    if (k == 0) { /* short 0: a zero-length transfer */
        sc->iov[0].iov_base = n > 0 ? iov[0].iov_base : NULL;
        sc->iov[0].iov_len = 0;
        k = 1;
    }
    return k;
}

static const struct msghdr *sock_clip_msg(struct sock_call *sc, const struct msghdr *m, long clip)
{
    sc->msg = *m;
    sc->msg.msg_iovlen = (size_t)sock_clip_iov(sc, m->msg_iov, (int)m->msg_iovlen, clip);
    sc->msg.msg_iov = sc->iov;
    return &sc->msg;
}

/* recvmsg wrote its out-fields into our copy: hand them back. */
static void sock_unclip_msg(struct sock_call *sc)
{
    if (sc->orig) {
        sc->orig->msg_namelen = sc->msg.msg_namelen;
        sc->orig->msg_controllen = sc->msg.msg_controllen;
        sc->orig->msg_flags = sc->msg.msg_flags;
    }
}

#define CLIP_LEN(len)            \
    if ((size_t)sc.clip < (len)) \
    (len) = (size_t)sc.clip
#define CLIP_NONE        (void)0
#define CLIP_IOV(iov, n) ((n) = sock_clip_iov(&sc, (iov), (n), sc.clip), (iov) = sc.iov)
#define CLIP_MSG(msg)    ((msg) = sock_clip_msg(&sc, (msg), sc.clip))
#define CLIP_RECVMSG(msg) \
    (sc.orig = (msg), (msg) = (struct msghdr *)sock_clip_msg(&sc, (msg), sc.clip))
#define POST_NONE (void)0

#define VIEW_BUF(b, l, f) sock_view(&sc, (b), (l), NULL, 0, (f), NULL)
#define VIEW_IOV(v, n)    sock_view(&sc, NULL, 0, (v), (n), 0, NULL)
#define VIEW_MSG(m, f)    sock_view(&sc, NULL, 0, (m)->msg_iov, (int)(m)->msg_iovlen, (f), (m))
#define VIEW_NONE         sock_view(&sc, NULL, 0, NULL, 0, 0, NULL)

/* The slow half: rules (when some rule names the hook), content (when
 * some rule has a content condition) and the PostgreSQL decoder (when
 * some rule names a pq hook); only a count when armed for tracing alone. */
#define SOCK_WRAP(name, hook, ret, params, args, failkind, check, fdexpr, addr, addrlen, clipstmt, \
                  post, view)                                                                      \
    WG_SLOW_PATH ret sock_slow_##name params                                                       \
    {                                                                                              \
        struct sock_call sc;                                                                       \
        long wg_l_;                                                                                \
        if (!WG_RULED(WG_HOOK_##hook) && !WG_WIRE_CONTENT() && !WG_WIRE_PG()) {                    \
            if (!(check))                                                                          \
                wg_count(WG_HOOK_##hook);                                                          \
            return REAL(name) args;                                                                \
        }                                                                                          \
        view;                                                                                      \
        if (!sock_before(&sc, WG_HOOK_##hook, fdexpr, check, addr, addrlen))                       \
            return REAL(name) args;                                                                \
        if (sc.fail)                                                                               \
            return SOCK_FAIL_##failkind(sc.err);                                                   \
        if (sc.clip >= 0) {                                                                        \
            clipstmt;                                                                              \
            view; /* the decoder sees what goes out */                                             \
        }                                                                                          \
        if (sock_pg_before(&sc, addr, addrlen))                                                    \
            return SOCK_FAIL_##failkind(sc.err);                                                   \
        do {                                                                                       \
            wg_l_ = sc.plan.active ? (long)sock_send_planned(&sc) : (long)REAL(name) args;         \
            post;                                                                                  \
        } while ((wg_l_ = sock_pg_after(&sc, wg_l_)) == SOCK_AGAIN);                               \
        return (ret)sock_after(&sc, wg_l_);                                                        \
    }                                                                                              \
    __attribute__((visibility("default"))) ret name params                                         \
    {                                                                                              \
        if (!atomic_load_explicit(&wg_armed[WG_HOOK_##hook], memory_order_relaxed) || wg_in_shim)  \
            return REAL(name) args;                                                                \
        return sock_slow_##name args;                                                              \
    }

/* One wrapper per SOCK row of wrappers.def (the others are written by
 * hand elsewhere); the row's SHAPE, unparenthesised, completes SOCK_WRAP. */
#define SOCK_FAIL_ERRNO(e) (errno = (e), -1)
#define SOCK_APPLY(m, ...) m(__VA_ARGS__)
#define SOCK_UNPAREN(...)  __VA_ARGS__
#define SOCK_BODY_SOCK(name, ret, params, args, hook, fail, shape) \
    SOCK_APPLY(SOCK_WRAP, name, hook, ret, params, args, fail, SOCK_UNPAREN shape)
#define SOCK_BODY_PTH(...)
#define SOCK_BODY_HAND(...)
#define SOCK_BODY_CALL(...)
#define W_LIBC(name, version, ret, params, args, hook, fail, body, shape) \
    SOCK_BODY_##body(name, ret, params, args, hook, fail, shape)
#define W_LIBC_OPT W_LIBC
#include "wrappers.def"

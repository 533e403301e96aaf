/*
 * wire.c - the content of socket calls, for http ~, redis ~ and data ~.
 *
 * Each socket has an exchange: the request line of the last HTTP/1.x
 * request, or the last Redis command, sent or received on it.  A call
 * belongs to the exchange its socket is in, so the response to "POST
 * /charges" matches http ~ "POST /charges" as the request did.  The table
 * is indexed by fd (WIRE_FDS entries, mmap'd once with MAP_NORESERVE:
 * only the pages of fds in use are ever touched) and each entry has its
 * own spin lock, taken for a copy of at most WIRE_TEXT bytes: never held
 * across a call, never a lock the program could hold.
 */
#include "wire.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

_Atomic int wg_wire_content;

enum wire_kind { WIRE_NONE, WIRE_HTTP, WIRE_REDIS };
enum wire_role { WIRE_ROLE_UNKNOWN, WIRE_ROLE_CLIENT, WIRE_ROLE_SERVER };

struct wire_fd {
    _Atomic unsigned char lock;
    unsigned char kind; /* enum wire_kind */
    unsigned char role; /* enum wire_role: who sends Redis commands */
    char text[WIRE_TEXT];
};

static struct wire_fd *wire_table;

/* ---------------------------------------------------------------
 * Text extraction.
 * ------------------------------------------------------------ */
size_t wire_http_line(const char *p, size_t n, char *out, size_t outlen)
{
    size_t i = 0, sp1, sp2, end;

    while (i < n && i < 16 && p[i] >= 'A' && p[i] <= 'Z')
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return 0;
    sp1 = i++;
    while (i < n && p[i] > ' ' && p[i] < 0x7f)
        i++;
    if (i == sp1 + 1 || i >= n || p[i] != ' ')
        return 0;
    sp2 = i++;
    if (n - i < 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || p[i + 7] < '0' || p[i + 7] > '9')
        return 0;
    end = i + 8;
    if (!(end < n && (p[end] == '\n' || (p[end] == '\r' && end + 1 < n && p[end + 1] == '\n'))))
        return 0;
    if (end + 1 > outlen)
        return 0;
    (void)sp2;
    memcpy(out, p, end);
    out[end] = '\0';
    return end;
}

/* A RESP length line "<c>DIGITS\r\n" at p[*i]: the number, or -1. */
static long wire_resp_len(const char *p, size_t n, size_t *i, char c)
{
    long v = 0;
    size_t k = *i;

    if (k >= n || p[k] != c)
        return -1;
    for (k++; k < n && p[k] >= '0' && p[k] <= '9'; k++) {
        v = v * 10 + (p[k] - '0');
        if (v > (1l << 30))
            return -1;
    }
    if (k == *i + 1 || k + 1 >= n || p[k] != '\r' || p[k + 1] != '\n')
        return -1;
    *i = k + 2;
    return v;
}

size_t wire_redis_cmd(const char *p, size_t n, char *out, size_t outlen)
{
    size_t i = 0, o = 0;
    long elems = wire_resp_len(p, n, &i, '*');

    if (elems < 1 || outlen == 0)
        return 0;
    for (long e = 0; e < elems; e++) {
        long len = wire_resp_len(p, n, &i, '$');
        if (len < 0)
            break; /* the head ends here (or not bulk strings): what we have */
        if (e > 0 && o + 1 < outlen)
            out[o++] = ' ';
        for (long k = 0; k < len && i < n; k++, i++)
            if (o + 1 < outlen)
                out[o++] = p[i] >= ' ' && p[i] < 0x7f ? p[i] : '.';
        if (i + 2 > n || p[i] != '\r' || p[i + 1] != '\n')
            break;
        i += 2;
    }
    out[o] = '\0';
    return o;
}

void wire_data_text(const char *p, size_t n, char *out, size_t outlen)
{
    size_t k = n < outlen - 1 ? n : outlen - 1;

    for (size_t i = 0; i < k; i++)
        out[i] = p[i] ? p[i] : '.';
    out[k] = '\0';
}

size_t wire_gather(const struct iovec *iov, int iovcnt, size_t total, char *buf, size_t len)
{
    size_t got = 0;

    if (total < len)
        len = total;
    for (int i = 0; i < iovcnt && got < len; i++) {
        size_t k = iov[i].iov_len < len - got ? iov[i].iov_len : len - got;
        if (k && iov[i].iov_base)
            memcpy(buf + got, iov[i].iov_base, k);
        got += k;
    }
    return got;
}

/* ---------------------------------------------------------------
 * The per-fd exchange.
 * ------------------------------------------------------------ */
int wire_init(void)
{
    void *p;

    if (wire_table)
        return 0;
    p = mmap(NULL, WIRE_FDS * sizeof(struct wire_fd), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    wire_table = p;
    return 0;
}

static struct wire_fd *wire_lock(int fd)
{
    struct wire_fd *w;

    if (!wire_table || fd < 0 || fd >= WIRE_FDS)
        return NULL;
    w = &wire_table[fd];
    /* Held for a copy of a few hundred bytes: spin, yield after a while
     * (a holder preempted mid-copy). */
    for (unsigned spins = 0; atomic_exchange_explicit(&w->lock, 1, memory_order_acquire); spins++)
        if (spins > 64)
            sched_yield();
    return w;
}

static void wire_unlock(struct wire_fd *w)
{
    atomic_store_explicit(&w->lock, 0, memory_order_release);
}

static void wire_out(const struct wire_fd *w, struct wire_texts *out)
{
    out->has_http = w->kind == WIRE_HTTP;
    out->has_redis = w->kind == WIRE_REDIS;
    if (out->has_http)
        memcpy(out->http, w->text, sizeof out->http);
    if (out->has_redis)
        memcpy(out->redis, w->text, sizeof out->redis);
}

void wire_note(int fd, enum wire_dir dir, const char *head, size_t n, int with_data,
               struct wire_texts *out)
{
    char text[WIRE_TEXT];
    int saved = errno;
    struct wire_fd *w;
    enum wire_kind kind = WIRE_NONE;

    out->has_http = out->has_redis = out->has_data = 0;
    if (with_data && (dir == WIRE_SEND || n > 0)) {
        wire_data_text(head, n, out->data, sizeof out->data);
        out->has_data = 1;
    }
    if (n && wire_http_line(head, n, text, sizeof text))
        kind = WIRE_HTTP;
    else if (n && head[0] == '*' && wire_redis_cmd(head, n, text, sizeof text))
        kind = WIRE_REDIS;
    w = wire_lock(fd);
    if (!w)
        goto out;
    if (kind == WIRE_REDIS) {
        /* The first command seen tells which side sends them: an array
         * going the other way is a reply (LRANGE ...), not a command. */
        enum wire_role mine = dir == WIRE_SEND ? WIRE_ROLE_CLIENT : WIRE_ROLE_SERVER;
        if (w->role == WIRE_ROLE_UNKNOWN)
            w->role = (unsigned char)mine;
        if (w->role != mine)
            kind = WIRE_NONE;
    }
    if (kind != WIRE_NONE) {
        w->kind = (unsigned char)kind;
        memcpy(w->text, text, sizeof w->text);
    }
    wire_out(w, out);
    wire_unlock(w);
out:
    errno = saved;
}

void wire_peek(int fd, struct wire_texts *out)
{
    struct wire_fd *w = wire_lock(fd);

    out->has_http = out->has_redis = out->has_data = 0;
    if (!w)
        return;
    wire_out(w, out);
    wire_unlock(w);
}

void wire_forget(int fd)
{
    struct wire_fd *w = wire_lock(fd);

    if (!w)
        return;
    w->kind = WIRE_NONE;
    w->role = WIRE_ROLE_UNKNOWN;
    w->text[0] = '\0';
    wire_unlock(w);
}

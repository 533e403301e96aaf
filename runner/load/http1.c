/*
 * http1.c - HTTP/1.1 on the wire: URLs, requests, responses (http1.h).
 *
 * The parser is RFC 9112's message framing, the parts a load generator
 * meets: interim 1xx responses skipped, HEAD/204/304 without a body,
 * Transfer-Encoding: chunked (extensions and trailers read and dropped),
 * Content-Length, or a body up to the close; Connection: close and
 * HTTP/1.0 end the connection's reuse.
 */
#include "http1.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The longest chunk-size or trailer line read (extensions included). */
#define H1_MAX_LINE 4096

/* ---------------------------------------------------------------
 * URLs and buffers.
 * ------------------------------------------------------------ */
int h1_url_parse(const char *url, struct h1_url *out)
{
    const char *a, *end, *colon = NULL;
    long port = 80;

    memset(out, 0, sizeof(*out));
    if (strncasecmp(url, "http://", 7))
        return -1;
    a = url + 7;
    end = a + strcspn(a, "/?#");
    out->authority = a;
    out->authority_len = (size_t)(end - a);
    if (*a == '[') { /* [v6]:port */
        const char *rb = memchr(a, ']', (size_t)(end - a));
        if (!rb)
            return -1;
        out->host = a + 1;
        out->host_len = (size_t)(rb - a - 1);
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        out->host = a;
        out->host_len = (size_t)((colon ? colon : end) - a);
    }
    if (colon) {
        char *e;
        port = strtol(colon + 1, &e, 10);
        if (e != end || colon + 1 == end || port < 1 || port > 65535)
            return -1;
    }
    if (!out->host_len || memchr(out->host, '@', out->host_len))
        return -1; /* user:password@ is not for a load generator */
    out->port = (int)port;
    out->path = *end == '/' ? end : (*end == '?' ? end : "/");
    return 0;
}

int h1_buf_reserve(struct h1_buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(np = realloc(b->p, cap)))
            return -1;
        b->p = np, b->cap = cap;
    }
    return 0;
}

int h1_buf_put(struct h1_buf *b, const void *p, size_t n)
{
    if (h1_buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void h1_buf_compact(struct h1_buf *b)
{
    if (!b->off)
        return;
    memmove(b->p, b->p + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
}

void h1_buf_free(struct h1_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ---------------------------------------------------------------
 * Requests.
 * ------------------------------------------------------------ */
static int h1_has(char *const *headers, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (!strncasecmp(headers[i], name, len) && headers[i][len] == ':')
            return 1;
    return 0;
}

static int h1_puts(struct h1_buf *b, const char *s)
{
    return h1_buf_put(b, s, strlen(s));
}

int h1_request(struct h1_buf *out, const char *method, const struct h1_url *u, char *const *headers,
               int nheaders, const char *body, size_t body_len)
{
    int bodied = body || !strcasecmp(method, "POST") || !strcasecmp(method, "PUT") ||
                 !strcasecmp(method, "PATCH");
    const char *hash = strchr(u->path, '#'); /* a fragment is never sent */
    char len[48];
    int rc = 0;

    rc |= h1_puts(out, method);
    rc |= h1_buf_put(out, u->path[0] == '?' ? " /" : " ", u->path[0] == '?' ? 2 : 1);
    rc |= h1_buf_put(out, u->path, hash ? (size_t)(hash - u->path) : strlen(u->path));
    rc |= h1_puts(out, " HTTP/1.1\r\n");
    if (!h1_has(headers, nheaders, "Host")) {
        rc |= h1_puts(out, "Host: ");
        rc |= h1_buf_put(out, u->authority, u->authority_len);
        rc |= h1_puts(out, "\r\n");
    }
    if (!h1_has(headers, nheaders, "Accept"))
        rc |= h1_puts(out, "Accept: */*\r\n");
    for (int i = 0; i < nheaders; i++) {
        rc |= h1_puts(out, headers[i]);
        rc |= h1_puts(out, "\r\n");
    }
    if (bodied && !h1_has(headers, nheaders, "Content-Length")) {
        snprintf(len, sizeof(len), "Content-Length: %zu\r\n", body ? body_len : 0);
        rc |= h1_puts(out, len);
    }
    rc |= h1_puts(out, "\r\n");
    if (body && body_len)
        rc |= h1_buf_put(out, body, body_len);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------
 * Responses: the header block.
 * ------------------------------------------------------------ */
void h1_resp_reset(struct h1_resp *r, int head_request, int want_head, int want_body)
{
    struct h1_buf head = r->head, body = r->body;
    memset(r, 0, sizeof(*r));
    head.len = head.off = body.len = body.off = 0;
    r->head = head, r->body = body;
    r->head_request = head_request;
    r->want_head = want_head;
    r->want_body = want_body;
}

void h1_resp_free(struct h1_resp *r)
{
    h1_buf_free(&r->head);
    h1_buf_free(&r->body);
}

static int h1_fail(struct h1_resp *r, const char *why)
{
    r->error = why;
    return -1;
}

/* Does the comma-separated list v (len n) hold token t? */
static int h1_token(const char *v, size_t n, const char *t)
{
    size_t tl = strlen(t);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (i < n && v[i] != ',')
            i++;
        while (j < i && (v[j] == ' ' || v[j] == '\t'))
            j++;
        size_t k = i;
        while (k > j && (v[k - 1] == ' ' || v[k - 1] == '\t'))
            k--;
        if (k - j == tl && !strncasecmp(v + j, t, tl))
            return 1;
        i++;
    }
    return 0;
}

/* What the header fields say about framing and reuse. */
struct h1_fields {
    int chunked, has_len, close, keep;
    uint64_t len;
};

/* One header line (without its line end) into f; -1 when malformed. */
static int h1_field(struct h1_resp *r, const char *line, size_t n, struct h1_fields *f)
{
    const char *colon = memchr(line, ':', n), *v;
    size_t name_len, vn;

    if (!colon || colon == line)
        return h1_fail(r, "malformed header line");
    name_len = (size_t)(colon - line);
    v = colon + 1;
    vn = n - name_len - 1;
    while (vn && (*v == ' ' || *v == '\t'))
        v++, vn--;
    if (name_len == 14 && !strncasecmp(line, "Content-Length", 14)) {
        uint64_t x = 0;
        size_t i = 0;
        for (; i < vn && isdigit((unsigned char)v[i]) && x < UINT64_MAX / 10 - 10; i++)
            x = x * 10 + (uint64_t)(v[i] - '0');
        while (i < vn && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (!vn || i != vn || (f->has_len && f->len != x))
            return h1_fail(r, "malformed Content-Length");
        f->has_len = 1, f->len = x;
    } else if (name_len == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
        f->chunked = h1_token(v, vn, "chunked");
    } else if (name_len == 10 && !strncasecmp(line, "Connection", 10)) {
        f->close |= h1_token(v, vn, "close");
        f->keep |= h1_token(v, vn, "keep-alive");
    }
    return 0;
}

/* The status line "HTTP/1.x NNN ..." into r; -1 when malformed.  *minor
 * gets the x. */
static int h1_status(struct h1_resp *r, const char *p, size_t n, int *minor)
{
    if (n < 12 || strncmp(p, "HTTP/1.", 7) || !isdigit((unsigned char)p[7]) || p[8] != ' ' ||
        !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
        !isdigit((unsigned char)p[11]) || (n > 12 && p[12] != ' '))
        return h1_fail(r, "malformed status line");
    *minor = p[7] - '0';
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return 0;
}

/* The length of the line at p (up to n), without its LF or CRLF; *next
 * the offset after it.  -1: no line end yet. */
static long h1_line(const char *p, size_t n, size_t *next)
{
    const char *lf = memchr(p, '\n', n);
    size_t len;
    if (!lf)
        return -1;
    len = (size_t)(lf - p);
    *next = len + 1;
    return (long)(len && p[len - 1] == '\r' ? len - 1 : len);
}

/* The framing of the body from the fields (RFC 9112 6.3). */
static void h1_framing(struct h1_resp *r, const struct h1_fields *f, int minor)
{
    r->keep_alive = minor >= 1 ? !f->close : (f->keep && !f->close);
    if (r->head_request || r->status == 204 || r->status == 304) {
        r->state = H1_DONE;
    } else if (f->chunked) {
        r->state = H1_CHUNK_SIZE;
    } else if (f->has_len) {
        r->remaining = f->len;
        r->state = f->len ? H1_BODY_LEN : H1_DONE;
    } else {
        r->state = H1_BODY_CLOSE;
        r->keep_alive = 0;
    }
}

/* A complete header block of len bytes at p: parse it.  -1 malformed. */
static int h1_head(struct h1_resp *r, const char *p, size_t len)
{
    struct h1_fields f = {0};
    size_t off = 0, next;
    long ln = h1_line(p, len, &next);
    int minor = 1;

    if (ln < 0 || h1_status(r, p, (size_t)ln, &minor) < 0)
        return ln < 0 ? h1_fail(r, "malformed status line") : -1;
    for (off = next; off < len;) {
        ln = h1_line(p + off, len - off, &next);
        if (ln <= 0)
            break; /* the empty line that ends the block */
        if (p[off] == ' ' || p[off] == '\t')
            return h1_fail(r, "obsolete header line folding");
        if (h1_field(r, p + off, (size_t)ln, &f) < 0)
            return -1;
        off += next;
    }
    if (r->status < 200 && r->status != 101)
        return 0; /* interim: the real response follows */
    if (r->want_head) {
        r->head.len = 0;
        if (h1_buf_put(&r->head, p, len) < 0)
            return h1_fail(r, "out of memory");
    }
    if (r->status == 101) { /* nothing of ours upgrades: the connection is spent */
        r->state = H1_DONE;
        r->keep_alive = 0;
        return 0;
    }
    h1_framing(r, &f, minor);
    return 0;
}

/* The end of the header block in p (its length), or 0 when incomplete. */
static size_t h1_head_end(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] != '\n')
            continue;
        if (p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* ---------------------------------------------------------------
 * Responses: the body.
 * ------------------------------------------------------------ */
static void h1_keep(struct h1_resp *r, const char *p, size_t n)
{
    if (!r->want_body || !n)
        return;
    if (r->body.len + n > H1_MAX_KEEP) {
        r->truncated = 1;
        n = r->body.len < H1_MAX_KEEP ? H1_MAX_KEEP - r->body.len : 0;
    }
    if (n && h1_buf_put(&r->body, p, n) < 0)
        r->truncated = 1;
}

/* Take up to n body bytes counted by r->remaining; returns those taken. */
static size_t h1_take(struct h1_resp *r, const char *p, size_t n, enum h1_state after)
{
    size_t k = n < r->remaining ? n : (size_t)r->remaining;
    h1_keep(r, p, k);
    r->remaining -= k;
    if (!r->remaining)
        r->state = after;
    return k;
}

/* One step of the chunked coding at p; bytes consumed, 0 when more are
 * needed, -1 when malformed. */
static long h1_chunk_step(struct h1_resp *r, const char *p, size_t n)
{
    size_t next = 0;
    long ln = h1_line(p, n, &next);
    char *e;

    if (ln < 0)
        return n > H1_MAX_LINE ? h1_fail(r, "chunk line too long") : 0;
    if (r->state == H1_CHUNK_CRLF) {
        if (ln != 0)
            return h1_fail(r, "malformed chunk end");
        r->state = H1_CHUNK_SIZE;
    } else if (r->state == H1_TRAILER) {
        if (ln == 0)
            r->state = H1_DONE;
    } else { /* H1_CHUNK_SIZE */
        if (!isxdigit((unsigned char)p[0]))
            return h1_fail(r, "malformed chunk size");
        r->remaining = strtoull(p, &e, 16);
        if (e - p > 15 || (*e != ';' && *e != '\r' && *e != '\n' && *e != ' ' && *e != '\t'))
            return h1_fail(r, "malformed chunk size");
        r->state = r->remaining ? H1_CHUNK_DATA : H1_TRAILER;
    }
    return (long)next;
}

ssize_t h1_parse(struct h1_resp *r, const char *p, size_t n)
{
    size_t used = 0;

    while (used < n && r->state != H1_DONE) {
        const char *q = p + used;
        size_t left = n - used, end;
        long k;
        switch (r->state) {
        case H1_HEAD:
            if (!(end = h1_head_end(q, left)))
                return left >= H1_MAX_HEAD ? h1_fail(r, "header block over 64 KiB") : (ssize_t)used;
            if (h1_head(r, q, end) < 0)
                return -1;
            used += end;
            break;
        case H1_BODY_LEN:
            used += h1_take(r, q, left, H1_DONE);
            break;
        case H1_CHUNK_DATA:
            used += h1_take(r, q, left, H1_CHUNK_CRLF);
            break;
        case H1_BODY_CLOSE:
            h1_keep(r, q, left);
            used = n;
            break;
        default: /* chunk size, chunk end, trailer: line by line */
            if ((k = h1_chunk_step(r, q, left)) <= 0)
                return k < 0 ? -1 : (ssize_t)used;
            used += (size_t)k;
        }
    }
    return (ssize_t)used;
}

int h1_eof(struct h1_resp *r)
{
    if (r->state == H1_BODY_CLOSE)
        r->state = H1_DONE;
    if (r->state == H1_DONE)
        return 0;
    r->error = r->state == H1_HEAD ? "the connection closed before a response"
                                   : "the connection closed in the middle of the response";
    return -1;
}

int h1_idempotent(const char *method)
{
    static const char *const idem[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof(idem) / sizeof(idem[0]); i++)
        if (!strcasecmp(method, idem[i]))
            return 1;
    return 0;
}

/*
 * http1.h - HTTP/1.1 on the wire, for the load engine's own client: an
 * http:// URL taken apart, a request written into a buffer, and a
 * response parsed incrementally from whatever bytes have arrived (status
 * line, header block, a body delimited by Content-Length, chunked
 * transfer coding or the end of the connection).
 *
 * No I/O and no allocation except the kept header block and body (only
 * when asked for, bounded by H1_MAX_KEEP): pure functions over bytes, so
 * tests/unit/runner/test_http1.c drives every path.  A struct h1_resp is
 * owned by one thread at a time.
 */
#ifndef WEDGE_HTTP1_H
#define WEDGE_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest header block accepted (a response with more is malformed
 * for us), and the most of a body kept for the judge (HTTPC_MAX_BODY). */
#define H1_MAX_HEAD (64u << 10)
#define H1_MAX_KEEP (8u << 20)

/* http://HOST[:PORT][/PATH...]: pointers into the URL. */
struct h1_url {
    const char *host; /* not NUL-terminated: host_len; IPv6 without [] */
    size_t host_len;
    int port;              /* 80 when not given */
    const char *path;      /* "/" when the URL has none; query included */
    const char *authority; /* HOST[:PORT] as written, for the Host header */
    size_t authority_len;
};

/* 0, or -1 when url is not an http:// URL with a host and a valid port
 * (https:// included: the engine sends those through libcurl). */
int h1_url_parse(const char *url, struct h1_url *out);

/* A growing byte buffer. */
struct h1_buf {
    char *p;
    size_t len, cap, off; /* off: bytes already consumed (sent / parsed) */
};
/* Room for n more bytes (and a NUL) after len; -1 out of memory. */
int h1_buf_reserve(struct h1_buf *b, size_t n);
/* Append n bytes; -1 out of memory. */
int h1_buf_put(struct h1_buf *b, const void *p, size_t n);
/* Drop the consumed bytes (moves the rest to the front). */
void h1_buf_compact(struct h1_buf *b);
void h1_buf_free(struct h1_buf *b);

/* 1 when METHOD may be sent twice with the effect of once (RFC 9110
 * 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE). */
int h1_idempotent(const char *method);

/* Append the request to out: request line, Host, the headers given
 * ("Name: value" each), Content-Length when there is a body or the method
 * usually has one, then the body.  -1 out of memory. */
int h1_request(struct h1_buf *out, const char *method, const struct h1_url *u, char *const *headers,
               int nheaders, const char *body, size_t body_len);

enum h1_state {
    H1_HEAD,       /* waiting for the status line and header block */
    H1_BODY_LEN,   /* Content-Length bytes to go */
    H1_CHUNK_SIZE, /* a chunk-size line */
    H1_CHUNK_DATA, /* chunk bytes to go */
    H1_CHUNK_CRLF, /* the CRLF after a chunk */
    H1_TRAILER,    /* trailer lines up to the empty one */
    H1_BODY_CLOSE, /* body up to the end of the connection */
    H1_DONE
};

/* One response being parsed. */
struct h1_resp {
    enum h1_state state;
    int head_request; /* the request was HEAD: no body whatever the headers say */
    int want_head, want_body;
    long status;
    int keep_alive;     /* the connection may carry the next request */
    uint64_t remaining; /* BODY_LEN, CHUNK_DATA */
    struct h1_buf head; /* the final response's status line and headers, when wanted */
    struct h1_buf body; /* the body (de-chunked), when wanted */
    int truncated;      /* the body was longer than H1_MAX_KEEP */
    const char *error;  /* why the response is malformed */
};

/* Ready r for a response to a request (HEAD or not), keeping the header
 * block and/or the body when asked.  The kept buffers are reused. */
void h1_resp_reset(struct h1_resp *r, int head_request, int want_head, int want_body);
void h1_resp_free(struct h1_resp *r);

/* Parse from n bytes at p: returns how many were consumed (the caller
 * keeps the rest for the next call, with more bytes after them), or -1
 * when the response is malformed (r->error).  r->state is H1_DONE once the
 * response is complete; bytes after it are not consumed (a server may not
 * send them on a keep-alive connection). */
ssize_t h1_parse(struct h1_resp *r, const char *p, size_t n);

/* The connection ended: 0 when that completes the response (a body
 * delimited by the close), -1 when the response was cut short. */
int h1_eof(struct h1_resp *r);

#endif

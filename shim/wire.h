/*
 * wire.h - what the shim reads on the wire: the content of socket calls
 * (wire.c: http ~, redis ~, data ~) and the PostgreSQL protocol decoder
 * (pgwire.c, the stream parser; pgwire_sess.c, sessions and events).
 *
 * socket.c calls these on its slow path only, and only when
 * wg_wire_content or wg_wire_pg is set (init.c): the idle fast path of a
 * wrapper is unchanged.  Nothing here allocates with the program's
 * allocator: the tables are mmap'd once at start.  Internal to
 * libwedge.so.
 */
#ifndef WEDGE_WIRE_H
#define WEDGE_WIRE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* 1 when some rule has an http / redis / data condition (init.c). */
extern _Atomic int wg_wire_content;

/* Sockets whose state is kept: fds at or above this are not followed
 * (their content conditions never hold, their statements are not seen). */
#define WIRE_FDS 65536
/* Bytes of a call looked at for http / redis / data. */
#define WIRE_HEAD 512
/* Longest request line / command kept, and data ~'s text, with the NUL. */
#define WIRE_TEXT 256

enum wire_dir { WIRE_SEND, WIRE_RECV };

/* ---------------------------------------------------------------
 * Pure text extraction (no state, no syscalls; unit tested).
 * ------------------------------------------------------------ */

/* The HTTP/1.x request line at the start of p[0..n) ("POST /charges
 * HTTP/1.1", without the line end) into out; its length, or 0 when p
 * does not start with a whole request line that fits. */
size_t wire_http_line(const char *p, size_t n, char *out, size_t outlen);

/* The RESP command at the start of p[0..n) (an array of bulk strings:
 * "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n") as "INCR k" into out, cut at outlen - 1
 * bytes (bytes outside printable ASCII read as '.'); its length, or 0
 * when p does not start with such an array (at least its first element). */
size_t wire_redis_cmd(const char *p, size_t n, char *out, size_t outlen);

/* p[0..n) as text for data ~: at most outlen - 1 bytes, NUL read as '.'. */
void wire_data_text(const char *p, size_t n, char *out, size_t outlen);

/* Copy up to len bytes of an I/O vector's first `total` bytes into buf;
 * returns how many were copied. */
size_t wire_gather(const struct iovec *iov, int iovcnt, size_t total, char *buf, size_t len);

/* ---------------------------------------------------------------
 * The exchange of a socket (per fd).
 * ------------------------------------------------------------ */

/* The texts a call's content conditions see. */
struct wire_texts {
    char http[WIRE_TEXT];
    char redis[WIRE_TEXT];
    char data[WIRE_TEXT];
    int has_http, has_redis, has_data;
};

/* Map the per-fd table (once, from the constructor).  -1 with errno. */
int wire_init(void);
/*
 * A call on fd moved `head` (its first n bytes; n may be 0) in direction
 * dir: a request line or a Redis command starts a new exchange on the
 * socket; out gets the exchange the call belongs to and, when with_data,
 * the call's own bytes as text.  Thread-safe (a per-fd spin lock held for
 * a copy, never across a call).  Preserves errno.
 */
void wire_note(int fd, enum wire_dir dir, const char *head, size_t n, int with_data,
               struct wire_texts *out);
/* The exchange of fd without a new call (sock.close, a recv before it has
 * data). */
void wire_peek(int fd, struct wire_texts *out);
/* fd was closed or is a new connection: forget its exchange. */
void wire_forget(int fd);

#endif

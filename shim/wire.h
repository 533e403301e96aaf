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
#include <sys/socket.h>
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

/* ---------------------------------------------------------------
 * PostgreSQL sessions decoded on the wire (pgsess.c).
 * ------------------------------------------------------------ */

/* 1 when the decoder runs: some rule names a pq hook (init.c). */
extern _Atomic int wg_wire_pg;

/* Output iovecs a rewritten send may need beyond the program's own. */
#define PGS_IOV_EXTRA 4
#define PGS_IOV_MAX   64

/* What a send does instead of the program's call (pgsess_send_begin). */
struct pgs_plan {
    int active;     /* send out[] instead of the program's data */
    int fail_errno; /* fail the call with this errno (fail disconnect, owed bytes pending) */
    struct iovec out[PGS_IOV_MAX];
    int nout;
    /* how the output maps back onto the program's bytes (pgw_map_sent) */
    size_t app_len, swallow, repl_at, repl_end, repl_len;
    int has_repl;
    struct pgs_session *s;
    /* the opening of a connection, collected a send at a time */
    int fd, probe;
    unsigned probe_n;
    unsigned char probe_b[8];
};

/* Map the session table (once, from the constructor); port: the
 * database's port from WEDGE_DB_PORT, or 0.  -1 with errno. */
int pgsess_init(int db_port);
/*
 * Before a send on fd of data iov[0..n) (len bytes): decode what is new
 * in it, raise pq.* `before` events for the statements it carries, and
 * fill *plan when the send must go out otherwise (a statement replaced by
 * one that raises an injected SQLSTATE) or fail.  No lock is held across
 * an event or on return.  Preserves errno.
 */
void pgsess_send_begin(int fd, const struct iovec *iov, int n, size_t len, struct pgs_plan *plan);
/* After the send: r is what the real call returned for the planned (or
 * the program's) data; returns what the program is told. */
long pgsess_send_end(int fd, struct pgs_plan *plan, long r);
/*
 * After a recv on fd returned r > 0 bytes into iov[0..n): decode them,
 * raise pq.* `after` events, and take out the answers to messages the
 * shim itself sent.  Returns the bytes left for the program; *again = 1
 * when none are left of r > 0 (the caller reads again, or reports
 * EAGAIN on a non-blocking socket).  flags: the call's (MSG_PEEK is not
 * decoded).
 */
long pgsess_recv_end(int fd, const struct iovec *iov, int n, long r, int flags, int *again);
/* fd is closed, or connects anew (addr: where to; may be NULL). */
void pgsess_forget(int fd, const struct sockaddr *addr, socklen_t addrlen);
/* libpq's own wrappers follow the statements of fd: the decoder stays
 * quiet there, so no statement is counted twice. */
void pgsess_claim(int fd);
/* For the exit summary: sessions whose statements TLS (or GSS
 * encryption) hid, and sessions the decoder lost track of. */
uint64_t pgsess_hidden(void);
uint64_t pgsess_lost(void);

/* pqraise.c: the DO block that raises state on the server (libpq.c and
 * pgflow.c put it in a statement's place). */
void wg_pq_raise_sql(const char *state, char *buf, size_t n);

#endif

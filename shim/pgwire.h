/*
 * pgwire.h - the PostgreSQL protocol (v3) as a byte stream: an incremental
 * parser of one direction of a session (pgwire.c), fed whatever a send or
 * a recv moved, split anywhere, several messages coalesced or one message
 * over many calls.  It reports each message whole, with the first bytes of
 * its body (what the session layer needs: statement text, names, the
 * SQLSTATE of an error, the status of ReadyForQuery); the rest of a long
 * message is counted, not kept.
 *
 * Pure: no globals, no system calls, no allocation; a stream is a plain
 * struct the caller owns (pgsess.c keeps them in mmap'd memory).  Not
 * thread-safe by itself.  tests/unit/test_pgwire.c and the fuzz harness
 * tests/fuzz/fuzz_pgwire.c drive it directly.
 */
#ifndef WEDGE_PGWIRE_H
#define WEDGE_PGWIRE_H

#include <stddef.h>
#include <stdint.h>

/* Statement text kept for sql ~ (a longer statement is cut here). */
#define PGW_SQL_MAX 1024
/* Longest statement or portal name kept (PostgreSQL's NAMEDATALEN). */
#define PGW_NAME_MAX 64
/* Body bytes captured of a message that has fields of interest. */
#define PGW_CAP (PGW_SQL_MAX + 2 * PGW_NAME_MAX + 32)

/* Codes of the untyped messages a client may open a connection with. */
#define PGW_PROTO_V3   0x00030000u /* StartupMessage, protocol 3.0 (3.x too) */
#define PGW_SSL_REQ    80877103u
#define PGW_GSSENC_REQ 80877104u
#define PGW_CANCEL_REQ 80877102u

enum pgw_dir { PGW_FRONT /* client to server */, PGW_BACK /* server to client */ };

enum pgw_state {
    PGW_UNTYPED, /* front: startup phase, messages without a type byte */
    PGW_TYPED,   /* the normal message flow */
    PGW_ANSWER,  /* back: one byte answering an SSLRequest / GSSENCRequest */
    PGW_DEAD,    /* not (or no longer) a PostgreSQL stream: ignores input */
};

/* What pgw_feed found. */
enum pgw_got {
    PGW_NONE,  /* the bytes given were consumed, no message completed */
    PGW_START, /* a typed message's type byte was just read (m->type, m->start) */
    PGW_MSG,   /* a message is complete: *m describes it */
    PGW_BYTE,  /* PGW_ANSWER: the one-byte answer (m->type) */
    PGW_ERROR, /* the stream stopped making sense: it is PGW_DEAD from now on */
};

struct pgw_msg {
    char type;         /* the type byte; 0 for an untyped message */
    uint32_t code;     /* untyped: the protocol code (PGW_PROTO_V3, PGW_SSL_REQ ...) */
    uint64_t start;    /* stream offset of its first byte */
    uint64_t end;      /* stream offset just past its last byte */
    uint32_t body_len; /* length of the body (after type and length) */
    const char *body;  /* its first cap_len bytes (points into the stream) */
    uint32_t cap_len;
    const char *why; /* PGW_ERROR: what was wrong */
};

struct pgw_stream {
    enum pgw_dir dir;
    enum pgw_state state;
    uint64_t off; /* stream offset of the next byte to be fed */
    unsigned char hdr[8];
    unsigned hdr_have, hdr_need;
    char type;
    uint32_t code, body_len, body_have;
    uint64_t msg_start;
    int capture; /* this message's body is captured */
    uint32_t cap_len;
    char cap[PGW_CAP];
};

/* A stream at offset 0: a client's (PGW_FRONT, starting untyped) or a
 * server's (PGW_BACK, typed). */
void pgw_init(struct pgw_stream *s, enum pgw_dir dir);

/*
 * Feed p[0..n): consume bytes until something is found (a message start,
 * a whole message, an answer byte, an error) or the input ends.  Returns
 * the number of bytes consumed (so the caller feeds the rest again);
 * *got says what was found, *m describes it (valid until the next call).
 */
size_t pgw_feed(struct pgw_stream *s, const char *p, size_t n, struct pgw_msg *m,
                enum pgw_got *got);

/* The next NUL-terminated string of m's captured body at *pos: its start
 * and length (without the NUL), *pos moved past it.  1 for a whole
 * string; 0 when the capture ends before its NUL (the string was cut: what
 * was captured is returned); -1 when nothing is left. */
int pgw_cstr(const struct pgw_msg *m, uint32_t *pos, const char **s, size_t *len);

/* The SQLSTATE ('C' field) of an ErrorResponse or NoticeResponse into
 * out[6]; 0, or -1 when it has none. */
int pgw_error_code(const struct pgw_msg *m, char out[6]);

/*
 * A send whose output was the program's data with its first `swallow`
 * bytes left out and its bytes [repl_at, repl_end) replaced by repl_len
 * bytes (repl_len 0, repl_at = repl_end = the data's length: no
 * replacement): the real call took r bytes of that output.  Returns how
 * many bytes of the program's data that accounts for; *repl_done: the
 * replacement went out, wholly or in part; *owed_from: its first byte not
 * yet sent (repl_len when none is owed).
 */
size_t pgw_map_sent(size_t swallow, size_t repl_at, size_t repl_end, size_t repl_len, size_t r,
                    size_t *owed_from, int *repl_done);

#endif

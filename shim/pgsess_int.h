/*
 * pgsess_int.h - a decoded PostgreSQL session, between its two halves:
 *
 *   pgsess.c  the table of sessions by fd, the send and recv entry points
 *             socket.c calls, replacing a statement in an outgoing send and
 *             taking the answers to it out of an incoming one
 *   pgflow.c  what each message means: statements and their events, the
 *             queue of messages awaiting an answer, prepared statements
 *             and portals
 *   pgsess_quiet.c  a session given up (hidden by encryption, or lost),
 *             said once; below both
 *
 * A session lives in mmap'd memory (never the program's allocator) and
 * has a spin lock of its own, held while its state changes and released
 * around every event (an event may hold the thread at a barrier).
 */
#ifndef WEDGE_PGSESS_INT_H
#define WEDGE_PGSESS_INT_H

#include "pgwire.h"
#include "wire.h"
#include "wedge_shim.h"

#include <sched.h>
#include <stdatomic.h>

#define PGS_SESSIONS 256 /* decoded sessions at once, per process */
#define PGS_FIFO     512 /* messages awaiting an answer */
#define PGS_SQL      64  /* statement texts awaiting an answer */
#define PGS_PREPARED 64  /* named prepared statements remembered */
#define PGS_PORTALS  8   /* portals remembered */
#define PGS_INJ_MAX  320 /* bytes of one replacement */
#define PGS_INFLIGHT 4   /* injected errors unanswered at once */
#define PGS_NO_SQL   0xff

/* What a queued message is; its answer pops it. */
enum pgs_kind {
    PGS_STARTUP = 1, /* the StartupMessage: ends at the first ReadyForQuery (0 ends kind lists) */
    PGS_QUERY,       /* simple Query: ends at ReadyForQuery */
    PGS_FUNC,        /* FunctionCall: ends at ReadyForQuery */
    PGS_PARSE,       /* ParseComplete '1' */
    PGS_BIND,        /* BindComplete '2' */
    PGS_CLOSE,       /* CloseComplete '3' */
    PGS_EXEC,        /* Execute: CommandComplete, EmptyQuery, PortalSuspended */
    PGS_SYNC,        /* ReadyForQuery */
    PGS_OURS_CLOSE,
    PGS_OURS_PARSE,
    PGS_OURS_BIND, /* the shim's: answers taken out */
};

struct pgs_entry {
    unsigned char kind;
    unsigned char sql; /* PGS_NO_SQL or a slot of sql[] */
};

struct pgs_named {
    char name[PGW_NAME_MAX];
    char sql[PGW_SQL_MAX];
    unsigned used; /* 0: free; else when it was last set (for eviction) */
};

struct pgs_session {
    _Atomic int owner; /* fd + 1; 0 when free */
    _Atomic unsigned char lock;
    int fd;
    int lost;   /* the decoder gave up (or never began): quiet */
    int hidden; /* TLS / GSS encryption: nothing to see */
    struct pgw_stream front, back;

    /* the outgoing stream: what the kernel took (front.off: decoded) */
    uint64_t out_sent;
    /* one pending replacement of the original bytes [rw_a, rw_b) */
    int rw_pending;
    uint64_t rw_a, rw_b;
    uint16_t rw_len;
    char rw[PGS_INJ_MAX];
    uint64_t swallow; /* original bytes still to skip at the next send */
    uint16_t owed_len, owed_off;
    char owed[PGS_INJ_MAX]; /* replacement bytes the kernel has not taken yet */
    unsigned inflight;      /* injected errors whose answers are pending */
    unsigned seq;           /* names the shim's prepared statement */

    /* the incoming stream: an answer being taken out */
    int dropping;
    uint64_t drop_from;

    struct pgs_entry fifo[PGS_FIFO];
    unsigned head, n;
    unsigned char sql_used[PGS_SQL];
    char sql[PGS_SQL][PGW_SQL_MAX];
    struct pgs_named prep[PGS_PREPARED];
    struct pgs_named portal[PGS_PORTALS];
    unsigned tick;
    char who[160]; /* "user=... database=..." of the StartupMessage */
};

/* Lock / unlock a session (a spin, yielding after a while). */
static inline void pgs_lock(struct pgs_session *s)
{
    for (unsigned spins = 0; atomic_exchange_explicit(&s->lock, 1, memory_order_acquire); spins++)
        if (spins > 64)
            sched_yield();
}

static inline void pgs_unlock(struct pgs_session *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* pgsess_quiet.c: stop decoding s, saying why once (trace, and stderr
 * once a process). */
void pgs_lose(struct pgs_session *s, const char *why);
/* The session's TLS notice: once on stderr, once in the trace. */
void pgs_hide(struct pgs_session *s, const char *how);

/* ---------------------------------------------------------------
 * pgflow.c: called with s locked; they unlock around events and lock
 * again before returning.
 * ------------------------------------------------------------ */

/* What a front message asks of the send it is in. */
struct pgs_front_ctx {
    uint64_t call_start; /* stream offset of the call's first byte */
    int can_rewrite;     /* 0: fail sqlstate cannot replace a statement here */
    const char *why_not; /* ... and why */
    int disconnect;      /* out: fail disconnect fired */
};

/* A whole client message m was decoded. */
void pgs_front_msg(struct pgs_session *s, const struct pgw_msg *m, struct pgs_front_ctx *ctx);
/* A server message starts: 1 when it answers the shim's own message
 * (it is taken out of what the program reads). */
int pgs_back_is_ours(const struct pgs_session *s, char type);
/* A whole server message m was decoded; *disconnect set when `fail
 * disconnect` fired after a statement. */
void pgs_back_msg(struct pgs_session *s, const struct pgw_msg *m, int *disconnect);
/* Forget every queued message and name (a new session on the slot). */
void pgs_flow_reset(struct pgs_session *s);

#endif

/*
 * load_int.h - what the parts of the load engine share (internal to
 * runner/load): the run's shared state, the worker threads, the virtual
 * users and the connections they borrow.  The calls go one way:
 *
 *   load.c     the supervisor's side (load.h): workers started, stopped,
 *              their counters merged
 *   worker.c   one worker thread: its epoll loop, set-up and tear-down
 *   vu.c       a virtual user's steps: begin an iteration, send a request
 *              (reqflow.h builds it), its timeout
 *   vu_end.c   ... and its end: history lines, counters, think, the next
 *              step or finish (the transports report here: vu_done)
 *   hconn.c    HTTP/1.1 connections, pooled per worker and destination
 *   hcurl.c    https:// (and WEDGE_LOAD_HTTP=curl) through libcurl's
 *              multi interface on the same loop
 *   pgq.c      SQL transactions on libpq's asynchronous API, connections
 *              pooled per worker
 *   wsched.c   what they all share: the timer heap, the ready queue, the
 *              connection slots, epoll registration, the history buffer
 *
 *   load.c -> worker.c -> vu.c -> hconn.c, hcurl.c, pgq.c -> vu_end.c
 *   -> wsched.c
 *
 * and any of them may skip a level (worker.c also hands a waiter its
 * connection slot, ticks libcurl's timer and tears the transports down;
 * worker.c and vu.c finish users): nothing calls back up, so each file
 * reads knowing only what is below it.  A transport reports the end of
 * a request to vu_end.c, below it, not to vu.c, which sent it.
 *
 * Threads: everything a worker owns (its users, connections, heap,
 * history buffer) is touched only by that worker's thread; the counters
 * the supervisor samples are under the worker's mutex; the shared struct
 * load is read-only after load_start except its atomics and the history
 * file (under hist_mu).
 */
#ifndef WEDGE_LOAD_INT_H
#define WEDGE_LOAD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "load.h"
#include "reqflow.h"

struct worker;

/* Something registered with a worker's epoll: the event's data.ptr
 * points at one of these, first member of its owner. */
struct ev {
    void (*fn)(struct worker *w, struct ev *e, uint32_t events);
    int dead; /* freed at the end of the batch (wsched_bury): skip it */
};

/* ---------------------------------------------------------------
 * Virtual users: small and explicit.  The per-user cost is this struct
 * plus rf_user's captured values (docs/performance.md, "Memory").
 * ------------------------------------------------------------ */
enum vu_state {
    VU_START,    /* not begun yet (on the ready queue) */
    VU_IDLE,     /* on the ready queue: begins its next iteration or step */
    VU_THINK,    /* in the heap: thinking */
    VU_DUE,      /* in the heap: its arrival is not due yet (open model) */
    VU_FLIGHT,   /* a request in flight (in the heap with its timeout) */
    VU_CONNWAIT, /* built, waiting for a connection slot (the descriptor budget) */
    VU_DONE
};

struct vu {
    struct rf_user rf; /* its place in the mix or a flow, its captured values */
    uint64_t wake;     /* heap key: when to fire / when its request times out */
    uint64_t due;      /* the request's start (open model: its arrival time) */
    uint64_t seq;      /* requests sent, "seq" of history.jsonl */
    void *io;          /* the transport's object while in flight */
    uint32_t heap;     /* its index in the worker's heap + 1; 0: not there */
    int16_t req;       /* the request in flight (s->requests index) */
    uint8_t state;     /* enum vu_state */
    uint8_t kind;      /* the transport of the request in flight (enum vu_io) */
};

enum vu_io { VU_IO_NONE, VU_IO_HTTP, VU_IO_CURL, VU_IO_SQL };

/* Per request class; under the worker's mutex. */
struct load_cls {
    uint64_t ok, fail, info, retries, scenario_info;
    char first_error[sizeof(((struct rf_result *)0)->reason)];
    struct hist *lat;
};

/* A host:port the worker sends HTTP to (its idle connections). */
struct hdest {
    char *host; /* NUL-terminated copy, for getaddrinfo */
    int port;
    int resolved; /* 1: addr holds it; -1: it did not resolve (error) */
    /* Its addresses in getaddrinfo's order (localhost: ::1, then
     * 127.0.0.1); cur is the one connections use, moved on when it
     * refuses one (nothing was sent yet) and kept once it answers. */
    struct sockaddr_storage *addr;
    unsigned *addrlen;
    int naddr, cur;
    struct hconn *idle; /* doubly linked through hconn.prev/next */
    char err[128];      /* why it did not resolve */
};

struct worker {
    struct load *l;
    void **grave; /* wsched_bury: freed after each batch */
    size_t ngrave, capgrave;
    unsigned index;
    pthread_t th;
    int started;
    atomic_int done;
    int ep;   /* epoll */
    int wake; /* eventfd: load_stop rings it */
    struct ev wake_ev;
    uint64_t now; /* the loop's clock, read once per turn */

    struct vu *users;
    uint32_t nusers, live; /* live: not VU_DONE */
    long first_id;         /* ${user} of users[0] */
    uint32_t *heap, nheap; /* min-heap of user indices by wake */
    uint32_t *ready;       /* ring of user indices to begin */
    uint32_t rhead, rlen;
    int winding; /* the load is over: users finish, none begins */

    /* Connections: HTTP per destination, SQL in one pool; at most
     * conn_cap open at once (the descriptor budget), waiters in a FIFO. */
    struct hdest *dests;
    int ndests;
    struct pgc *pg_idle;
    unsigned nconns, nconnecting;
    uint32_t *connwait, cwhead, cwlen;
    void *curl;        /* struct hcurl *, made on first https request */
    uint64_t curl_due; /* libcurl's timer; 0: none */

    /* The supervisor samples these: under mu. */
    pthread_mutex_t mu;
    struct load_cls *cls; /* [nrequests] */
    struct hist *interval;
    uint64_t i_requests, i_errors;

    /* history lines, flushed to the file under l->hist_mu */
    struct {
        char *p;
        size_t len, cap;
        uint64_t flushed_ns;
    } hbuf;
};

struct load {
    struct load_cfg cfg;
    const struct scenario *scn;
    struct rf_ctx rf;
    char **labels;         /* [nrequests]: each request's label as a JSON string */
    size_t label_max;      /* the longest of them */
    uint64_t t0, deadline; /* deadline: 0 without a duration */
    double t0_unix;        /* the wall clock read together with t0 */
    uint64_t think_lo, think_hi;
    atomic_uint_fast64_t next; /* next iteration / arrival number */
    atomic_int stop;
    FILE *history;
    pthread_mutex_t hist_mu;
    struct worker *workers;
    unsigned nworkers;
    unsigned conn_cap; /* per worker */
    int use_curl;      /* every HTTP request through libcurl */
    uint64_t total, total_errors;
};

/* worker.c */
int worker_init(struct worker *w, struct load *l, unsigned index, long first_id, uint32_t n,
                char *err, size_t errlen);
void *worker_main(void *arg);
void worker_free(struct worker *w);
static inline uint32_t worker_index(const struct worker *w, const struct vu *u)
{
    return (uint32_t)(u - w->users);
}

/* wsched.c: the scheduling primitives.  Only the worker's thread calls
 * them. */
/* The timer heap: (re)place u at wake time t, or take it out. */
void wsched_timer(struct worker *w, struct vu *u, uint64_t t);
void wsched_untimer(struct worker *w, struct vu *u);
/* The user with the earliest timer if it is due at w->now, taken out of
 * the heap, or NULL. */
struct vu *wsched_due(struct worker *w);
/* Put u on the ready queue (it begins its next iteration on the next
 * turn); the first user on it, taken out, or NULL. */
void wsched_ready(struct worker *w, struct vu *u);
struct vu *wsched_ready_take(struct worker *w);
/* Connections: at most conn_cap open (the descriptor budget) and a few
 * being set up at once.  wsched_conn_take: 0 when u may open one (counted
 * as open and setting up), -1 when u must wait (queued, VU_CONNWAIT: the
 * loop resumes its transport when there is room, in order, unless a
 * connection comes back to the pool for it first: wsched_conn_waiter). */
int wsched_conn_take(struct worker *w, struct vu *u);
/* Is there room for one more connection: a descriptor slot, and few
 * enough being set up? */
int wsched_conn_room(const struct worker *w);
/* The first waiter when there is room (its slot taken, counted as
 * setting up, its state back to VU_FLIGHT), or NULL. */
struct vu *wsched_conn_next(struct worker *w);
/* A connection being set up is up, or gone before it was. */
void wsched_conn_up(struct worker *w);
/* A connection closed: it is no longer being set up (*connecting) and
 * its slot (*slot) is free again; both flags cleared. */
void wsched_conn_release(struct worker *w, int *connecting, int *slot);
/* u no longer waits (its request timed out). */
void wsched_conn_cancel(struct worker *w, struct vu *u);
/* The first waiter that match(u, arg) accepts, taken out of the queue
 * (its state back to VU_FLIGHT), or NULL: a connection released to the
 * pool goes to it directly. */
struct vu *wsched_conn_waiter(struct worker *w, int (*match)(const struct vu *, const void *),
                              const void *arg);
/* Register fd (level-triggered) for events on e (add), or change them;
 * -1 with errno. */
int wsched_watch(struct worker *w, int fd, struct ev *e, uint32_t events, int add);
/* Free P (a connection whose first member is its struct ev) once the
 * current batch of events is handled (wsched_free_graves): an event for
 * it may still be in the batch when handling another one closes it. */
void wsched_bury(struct worker *w, void *p);
void wsched_free_graves(struct worker *w);
/* Room for n more bytes of history at the end of the worker's buffer
 * (written, then committed up to end); written to the file when large or
 * old enough (force: now), and when that will be (UINT64_MAX: empty). */
char *wsched_hist_reserve(struct worker *w, size_t n);
void wsched_hist_commit(struct worker *w, char *end);
void wsched_hist_flush(struct worker *w, int force);
uint64_t wsched_hist_due(const struct worker *w);

/* vu.c: a user's request begun. */
/* Begin u's next iteration, or its flow's next step. */
void vu_begin(struct worker *w, struct vu *u);
/* u's timer fired: think over, arrival due, or its request timed out. */
void vu_timer(struct worker *w, struct vu *u);

/* vu_end.c: a user's request ended. */
/* A request of u completed (the transports call it, and vu.c for a
 * request that could not be built): its outcome, the HTTP status (0:
 * none), the tries it took and how many of them were retries. */
void vu_done(struct worker *w, struct vu *u, const struct rf_result *res, long status,
             unsigned tries, uint64_t retries);
/* The load is over for u (not in flight). */
void vu_finish(struct worker *w, struct vu *u);
/* u's "invoke" line of history.jsonl (its request is about to go). */
void vu_hist_invoke(struct worker *w, struct vu *u);
/* How long a closed-model user with think time waits before its first
 * request (the users spread over one think time). */
uint64_t vu_first_delay(const struct load *l, const struct vu *u);

/* hconn.c: an HTTP request of u over the worker's own client. */
void hconn_send(struct worker *w, struct vu *u, const struct rf_req *q);
/* u got the connection slot it waited for (counted). */
void hconn_resume(struct worker *w, struct vu *u);
/* Abandon u's request (its timeout): the connection is closed. */
void hconn_abort(struct worker *w, struct vu *u, const char *why);
void hconn_free_all(struct worker *w);
/* Close one idle connection (a user waits for its slot); 1 if one was. */
int hconn_shed(struct worker *w);

/* hcurl.c: the same through libcurl (https, or WEDGE_LOAD_HTTP=curl). */
void hcurl_send(struct worker *w, struct vu *u, const struct rf_req *q);
void hcurl_abort(struct worker *w, struct vu *u, const char *why);
void hcurl_free(struct worker *w);
/* libcurl's timer is due. */
void hcurl_tick(struct worker *w);

/* pgq.c: u's SQL transaction (sql is taken over). */
void pgq_send(struct worker *w, struct vu *u, char *sql);
void pgq_resume(struct worker *w, struct vu *u);
void pgq_abort(struct worker *w, struct vu *u, const char *why);
void pgq_free_all(struct worker *w);
int pgq_shed(struct worker *w);

#endif

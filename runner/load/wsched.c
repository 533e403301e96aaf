/*
 * wsched.c - a worker's scheduling primitives (load_int.h): the timer
 * heap, the ready queue, the connection slots and their waiters, epoll
 * registration, frees deferred to the end of a batch, and the history
 * buffer.
 *
 * The bottom of the load engine: the loop (worker.c), the users (vu.c,
 * vu_end.c) and the transports (hconn.c, hcurl.c, pgq.c) call these, and
 * they call nothing of theirs back.
 */
#include "load_int.h"
#include "timeunit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

/* The most connections a worker sets up at once.  A thousand users
 * arriving with an empty pool would otherwise open a thousand connections
 * together and overflow the server's accept queue (its SYNs dropped and
 * sent again a second later, an avalanche); past this they wait for a
 * connection that comes back to the pool, or for their turn to connect. */
#define WSCHED_CONNECTING 32
/* History is written in blocks this large... */
#define WSCHED_FLUSH_BYTES (64 * 1024)
/* ...or this old: history.jsonl shows a slow run's progress too. */
#define WSCHED_FLUSH_NS (250 * NS_PER_MS)

/* ---------------------------------------------------------------
 * The timer heap: user indices ordered by users[i].wake.
 * ------------------------------------------------------------ */
static void heap_set(struct worker *w, uint32_t pos, uint32_t ui)
{
    w->heap[pos] = ui;
    w->users[ui].heap = pos + 1;
}

static void heap_up(struct worker *w, uint32_t pos)
{
    uint32_t ui = w->heap[pos];
    uint64_t t = w->users[ui].wake;
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (w->users[w->heap[parent]].wake <= t)
            break;
        heap_set(w, pos, w->heap[parent]);
        pos = parent;
    }
    heap_set(w, pos, ui);
}

static void heap_down(struct worker *w, uint32_t pos)
{
    uint32_t ui = w->heap[pos];
    uint64_t t = w->users[ui].wake;
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= w->nheap)
            break;
        if (c + 1 < w->nheap && w->users[w->heap[c + 1]].wake < w->users[w->heap[c]].wake)
            c++;
        if (w->users[w->heap[c]].wake >= t)
            break;
        heap_set(w, pos, w->heap[c]);
        pos = c;
    }
    heap_set(w, pos, ui);
}

void wsched_untimer(struct worker *w, struct vu *u)
{
    uint32_t pos, last;
    if (!u->heap)
        return;
    pos = u->heap - 1;
    u->heap = 0;
    last = w->heap[--w->nheap];
    if (pos == w->nheap)
        return;
    heap_set(w, pos, last);
    heap_up(w, pos);
    heap_down(w, w->users[last].heap - 1);
}

void wsched_timer(struct worker *w, struct vu *u, uint64_t t)
{
    wsched_untimer(w, u);
    u->wake = t;
    w->heap[w->nheap] = worker_index(w, u);
    heap_up(w, w->nheap++);
}

struct vu *wsched_due(struct worker *w)
{
    struct vu *u;
    if (!w->nheap || w->users[w->heap[0]].wake > w->now)
        return NULL;
    u = &w->users[w->heap[0]];
    wsched_untimer(w, u);
    return u;
}

/* ---------------------------------------------------------------
 * The ready queue and the connection slots: rings of user indices (a
 * user is on each at most once, so nusers entries suffice).
 * ------------------------------------------------------------ */
void wsched_ready(struct worker *w, struct vu *u)
{
    w->ready[(w->rhead + w->rlen++) % w->nusers] = worker_index(w, u);
}

struct vu *wsched_ready_take(struct worker *w)
{
    struct vu *u;
    if (!w->rlen)
        return NULL;
    u = &w->users[w->ready[w->rhead]];
    w->rhead = (w->rhead + 1) % w->nusers;
    w->rlen--;
    return u;
}

int wsched_conn_room(const struct worker *w)
{
    return w->nconns < w->l->conn_cap && w->nconnecting < WSCHED_CONNECTING;
}

int wsched_conn_take(struct worker *w, struct vu *u)
{
    if (wsched_conn_room(w) && !w->cwlen) {
        w->nconns++;
        w->nconnecting++;
        return 0;
    }
    w->connwait[(w->cwhead + w->cwlen++) % w->nusers] = worker_index(w, u);
    u->state = VU_CONNWAIT;
    return -1;
}

void wsched_conn_up(struct worker *w)
{
    w->nconnecting--; /* a waiter may connect at the start of the next turn */
}

void wsched_conn_release(struct worker *w, int *connecting, int *slot)
{
    if (*connecting) {
        *connecting = 0;
        wsched_conn_up(w);
    }
    if (*slot) {
        *slot = 0;
        w->nconns--;
    }
}

struct vu *wsched_conn_next(struct worker *w)
{
    struct vu *u;
    if (!w->cwlen || !wsched_conn_room(w))
        return NULL;
    u = &w->users[w->connwait[w->cwhead]];
    w->cwhead = (w->cwhead + 1) % w->nusers;
    w->cwlen--;
    w->nconns++;
    w->nconnecting++;
    u->state = VU_FLIGHT;
    return u;
}

/* Take the waiter at position i of the ring out, keeping the order. */
static void wsched_cw_remove(struct worker *w, uint32_t i)
{
    for (; i + 1 < w->cwlen; i++)
        w->connwait[(w->cwhead + i) % w->nusers] = w->connwait[(w->cwhead + i + 1) % w->nusers];
    w->cwlen--;
}

void wsched_conn_cancel(struct worker *w, struct vu *u)
{
    uint32_t ui = worker_index(w, u);
    for (uint32_t i = 0; i < w->cwlen; i++)
        if (w->connwait[(w->cwhead + i) % w->nusers] == ui) {
            wsched_cw_remove(w, i);
            return;
        }
}

struct vu *wsched_conn_waiter(struct worker *w, int (*match)(const struct vu *, const void *),
                              const void *arg)
{
    /* The first waiters are the likely match (one destination): the
     * scan is short, and the removal moves only what follows. */
    for (uint32_t i = 0; i < w->cwlen; i++) {
        struct vu *u = &w->users[w->connwait[(w->cwhead + i) % w->nusers]];
        if (match(u, arg)) {
            if (i == 0) {
                w->cwhead = (w->cwhead + 1) % w->nusers;
                w->cwlen--;
            } else {
                wsched_cw_remove(w, i);
            }
            u->state = VU_FLIGHT;
            return u;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------
 * Events: registration, and frees deferred to the end of the batch.
 * ------------------------------------------------------------ */
int wsched_watch(struct worker *w, int fd, struct ev *e, uint32_t events, int add)
{
    struct epoll_event ee = {.events = events, .data.ptr = e};
    return epoll_ctl(w->ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ee);
}

void wsched_bury(struct worker *w, void *p)
{
    ((struct ev *)p)->dead = 1;
    if (w->ngrave == w->capgrave) {
        w->capgrave = w->capgrave ? 2 * w->capgrave : 64;
        if (!(w->grave = realloc(w->grave, w->capgrave * sizeof(*w->grave))))
            abort();
    }
    w->grave[w->ngrave++] = p;
}

void wsched_free_graves(struct worker *w)
{
    for (size_t i = 0; i < w->ngrave; i++)
        free(w->grave[i]);
    w->ngrave = 0;
}

/* ---------------------------------------------------------------
 * History.
 * ------------------------------------------------------------ */
void wsched_hist_flush(struct worker *w, int force)
{
    struct load *l = w->l;
    if (!w->hbuf.len || (!force && w->hbuf.len < WSCHED_FLUSH_BYTES &&
                         w->now - w->hbuf.flushed_ns < WSCHED_FLUSH_NS))
        return;
    w->hbuf.flushed_ns = w->now;
    pthread_mutex_lock(&l->hist_mu);
    fwrite(w->hbuf.p, 1, w->hbuf.len, l->history);
    fflush(l->history);
    pthread_mutex_unlock(&l->hist_mu);
    w->hbuf.len = 0;
}

uint64_t wsched_hist_due(const struct worker *w)
{
    return w->hbuf.len ? w->hbuf.flushed_ns + WSCHED_FLUSH_NS : UINT64_MAX;
}

char *wsched_hist_reserve(struct worker *w, size_t n)
{
    if (w->hbuf.len + n > w->hbuf.cap) {
        size_t cap = w->hbuf.cap ? w->hbuf.cap : 2 * WSCHED_FLUSH_BYTES;
        char *p;
        while (cap < w->hbuf.len + n)
            cap *= 2;
        if (!(p = realloc(w->hbuf.p, cap)))
            abort();
        w->hbuf.p = p, w->hbuf.cap = cap;
    }
    return w->hbuf.p + w->hbuf.len;
}

void wsched_hist_commit(struct worker *w, char *end)
{
    w->hbuf.len = (size_t)(end - w->hbuf.p);
}

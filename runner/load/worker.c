/*
 * worker.c - one worker thread: an event loop driving its share of the
 * virtual users (load_int.h).
 *
 * A turn of the loop: read the clock once, wind down when the load is
 * over, fire the timers that are due (a min-heap of users by wake time:
 * think time, an arrival that is not due yet, a request's timeout), begin
 * the users on the ready queue, then wait in epoll for I/O until the next
 * timer, with nanosecond resolution (epoll_pwait2) so the open model's
 * arrivals are not rounded to milliseconds.  load_stop rings an eventfd.
 */
#include "load_int.h"
#include "timeunit.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WORKER_EVENTS 256
/* The most timers fired, and users begun, in one turn: past that the turn
 * ends and I/O is served first (with a million users due at once, a turn
 * that began them all would answer no response meanwhile). */
#define WORKER_BATCH 512
/* The most connections a worker sets up at once.  A thousand users
 * arriving with an empty pool would otherwise open a thousand connections
 * together and overflow the server's accept queue (its SYNs dropped and
 * sent again a second later, an avalanche); past this they wait for a
 * connection that comes back to the pool, or for their turn to connect. */
#define WORKER_CONNECTING 32
/* History is written in blocks this large... */
#define WORKER_FLUSH_BYTES (64 * 1024)
/* ...or this old: history.jsonl shows a slow run's progress too. */
#define WORKER_FLUSH_NS (250 * NS_PER_MS)

/* ---------------------------------------------------------------
 * The timer heap: user indices ordered by users[i].wake.
 * ------------------------------------------------------------ */

/* What worker_bury kept for the end of the batch. */
static void worker_free_graves(struct worker *w)
{
    for (size_t i = 0; i < w->ngrave; i++)
        free(w->grave[i]);
    w->ngrave = 0;
}
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

void worker_untimer(struct worker *w, struct vu *u)
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

void worker_timer(struct worker *w, struct vu *u, uint64_t t)
{
    worker_untimer(w, u);
    u->wake = t;
    w->heap[w->nheap] = worker_index(w, u);
    heap_up(w, w->nheap++);
}

/* ---------------------------------------------------------------
 * The ready queue and the connection slots: rings of user indices (a
 * user is on each at most once, so nusers entries suffice).
 * ------------------------------------------------------------ */
void worker_ready(struct worker *w, struct vu *u)
{
    w->ready[(w->rhead + w->rlen++) % w->nusers] = worker_index(w, u);
}

/* Is there room for one more connection: a descriptor slot, and fewer
 * than WORKER_CONNECTING being set up? */
static int worker_conn_room(const struct worker *w)
{
    return w->nconns < w->l->conn_cap && w->nconnecting < WORKER_CONNECTING;
}

int worker_conn_take(struct worker *w, struct vu *u)
{
    if (worker_conn_room(w) && !w->cwlen) {
        w->nconns++;
        w->nconnecting++;
        return 0;
    }
    w->connwait[(w->cwhead + w->cwlen++) % w->nusers] = worker_index(w, u);
    u->state = VU_CONNWAIT;
    /* Out of descriptors: an idle connection (to another host, or SQL
     * for HTTP) gives up its slot to the first waiter. */
    if (w->nconns >= w->l->conn_cap && !hconn_shed(w))
        pgq_shed(w);
    return -1;
}

void worker_conn_up(struct worker *w)
{
    w->nconnecting--; /* a waiter may connect at the start of the next turn */
}

void worker_conn_release(struct worker *w, int *connecting, int *slot)
{
    if (*connecting) {
        *connecting = 0;
        worker_conn_up(w);
    }
    if (*slot) {
        *slot = 0;
        w->nconns--;
    }
}

/* Waiters connect as room comes free, in order. */
static void worker_run_waiters(struct worker *w)
{
    for (uint32_t n = WORKER_BATCH; n && w->cwlen && worker_conn_room(w); n--) {
        struct vu *u = &w->users[w->connwait[w->cwhead]];
        w->cwhead = (w->cwhead + 1) % w->nusers;
        w->cwlen--;
        w->nconns++;
        w->nconnecting++;
        u->state = VU_FLIGHT;
        if (u->kind == VU_IO_SQL)
            pgq_resume(w, u);
        else
            hconn_resume(w, u);
    }
}

/* Take the waiter at position i of the ring out, keeping the order. */
static void worker_cw_remove(struct worker *w, uint32_t i)
{
    for (; i + 1 < w->cwlen; i++)
        w->connwait[(w->cwhead + i) % w->nusers] = w->connwait[(w->cwhead + i + 1) % w->nusers];
    w->cwlen--;
}

void worker_conn_cancel(struct worker *w, struct vu *u)
{
    uint32_t ui = worker_index(w, u);
    for (uint32_t i = 0; i < w->cwlen; i++)
        if (w->connwait[(w->cwhead + i) % w->nusers] == ui) {
            worker_cw_remove(w, i);
            return;
        }
}

struct vu *worker_conn_waiter(struct worker *w, int (*match)(const struct vu *, const void *),
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
                worker_cw_remove(w, i);
            }
            u->state = VU_FLIGHT;
            return u;
        }
    }
    return NULL;
}

int worker_watch(struct worker *w, int fd, struct ev *e, uint32_t events, int add)
{
    struct epoll_event ee = {.events = events, .data.ptr = e};
    return epoll_ctl(w->ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ee);
}

/* ---------------------------------------------------------------
 * History.
 * ------------------------------------------------------------ */
static void worker_flush(struct worker *w, int force)
{
    struct load *l = w->l;
    if (!w->hbuf.len || (!force && w->hbuf.len < WORKER_FLUSH_BYTES &&
                         w->now - w->hbuf.flushed_ns < WORKER_FLUSH_NS))
        return;
    w->hbuf.flushed_ns = w->now;
    pthread_mutex_lock(&l->hist_mu);
    fwrite(w->hbuf.p, 1, w->hbuf.len, l->history);
    fflush(l->history);
    pthread_mutex_unlock(&l->hist_mu);
    w->hbuf.len = 0;
}

char *worker_hist_reserve(struct worker *w, size_t n)
{
    if (w->hbuf.len + n > w->hbuf.cap) {
        size_t cap = w->hbuf.cap ? w->hbuf.cap : 2 * WORKER_FLUSH_BYTES;
        char *p;
        while (cap < w->hbuf.len + n)
            cap *= 2;
        if (!(p = realloc(w->hbuf.p, cap)))
            abort();
        w->hbuf.p = p, w->hbuf.cap = cap;
    }
    return w->hbuf.p + w->hbuf.len;
}

void worker_hist_commit(struct worker *w, char *end)
{
    w->hbuf.len = (size_t)(end - w->hbuf.p);
}

/* ---------------------------------------------------------------
 * The loop.
 * ------------------------------------------------------------ */
static void worker_on_wake(struct worker *w, struct ev *e, uint32_t events)
{
    uint64_t v;
    (void)e, (void)events;
    if (read(w->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
        abort(); /* an eventfd read fails only on a bug */
}

/* The load is over: users that are not in flight finish now, the ones in
 * flight when their request completes (vu_begin sees winding). */
static void worker_wind(struct worker *w)
{
    w->winding = 1;
    for (uint32_t i = 0; i < w->nusers; i++) {
        struct vu *u = &w->users[i];
        if (u->state == VU_THINK || u->state == VU_DUE)
            vu_finish(w, u);
    }
}

static void worker_fire_timers(struct worker *w)
{
    /* A user re-armed at once waits for the next turn: at most the
     * timers present now fire in this one, and at most a batch. */
    uint32_t n = w->nheap < WORKER_BATCH ? w->nheap : WORKER_BATCH;
    for (; n && w->nheap && w->users[w->heap[0]].wake <= w->now; n--) {
        struct vu *u = &w->users[w->heap[0]];
        worker_untimer(w, u);
        vu_timer(w, u);
    }
}

static void worker_run_ready(struct worker *w)
{
    for (uint32_t n = w->rlen < WORKER_BATCH ? w->rlen : WORKER_BATCH; n; n--) {
        struct vu *u = &w->users[w->ready[w->rhead]];
        w->rhead = (w->rhead + 1) % w->nusers;
        w->rlen--;
        vu_begin(w, u);
    }
}

/* How long epoll may wait: until the next timer or the deadline; 0 with
 * users ready; NULL (no limit) with nothing scheduled. */
static const struct timespec *worker_timeout(struct worker *w, struct timespec *ts)
{
    uint64_t until = UINT64_MAX, d = w->l->deadline;
    if (w->rlen || (w->cwlen && worker_conn_room(w)))
        until = w->now;
    if (w->nheap && w->users[w->heap[0]].wake < until)
        until = w->users[w->heap[0]].wake;
    if (!w->winding && d && d < until)
        until = d;
    if (w->curl_due && w->curl_due < until)
        until = w->curl_due;
    if (w->hbuf.len && w->hbuf.flushed_ns + WORKER_FLUSH_NS < until)
        until = w->hbuf.flushed_ns + WORKER_FLUSH_NS;
    if (until == UINT64_MAX)
        return NULL;
    until = until > w->now ? until - w->now : 0;
    ts->tv_sec = (time_t)(until / NS_PER_S);
    ts->tv_nsec = (long)(until % NS_PER_S);
    return ts;
}

static int worker_wait(struct worker *w, struct epoll_event *evs)
{
    struct timespec ts;
    const struct timespec *t = worker_timeout(w, &ts);
    static atomic_int no_pwait2;
    int n = -1, ms;

    if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        n = epoll_pwait2(w->ep, evs, WORKER_EVENTS, t, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        atomic_store(&no_pwait2, 1); /* a kernel before 5.11 */
    }
    ms = !t ? -1
            : (int)((uint64_t)t->tv_sec * MS_PER_S + ((uint64_t)t->tv_nsec + 999999) / NS_PER_MS);
    return epoll_wait(w->ep, evs, WORKER_EVENTS, ms);
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct load *l = w->l;
    struct epoll_event evs[WORKER_EVENTS];

    w->now = util_now_ns();
    w->hbuf.flushed_ns = w->now;
    for (uint32_t i = 0; i < w->nusers; i++)
        worker_ready(w, &w->users[i]);
    while (w->live) {
        int n;
        w->now = util_now_ns();
        if (!w->winding && (atomic_load(&l->stop) || (l->deadline && w->now >= l->deadline)))
            worker_wind(w);
        worker_fire_timers(w);
        worker_run_waiters(w);
        if (w->curl_due && w->now >= w->curl_due)
            hcurl_tick(w);
        worker_run_ready(w);
        worker_flush(w, 0);
        if (!w->live)
            break;
        n = worker_wait(w, evs);
        if (n < 0 && errno != EINTR)
            abort(); /* epoll fails only on a bug (EBADF, EINVAL) */
        w->now = util_now_ns();
        for (int i = 0; i < n; i++) {
            struct ev *e = evs[i].data.ptr;
            if (!e->dead)
                e->fn(w, e, evs[i].events);
        }
        worker_free_graves(w);
    }
    worker_flush(w, 1);
    atomic_store(&w->done, 1);
    return NULL;
}

/* ---------------------------------------------------------------
 * Set-up and tear-down.
 * ------------------------------------------------------------ */
int worker_init(struct worker *w, struct load *l, unsigned index, long first_id, uint32_t n,
                char *err, size_t errlen)
{
    const struct scenario *s = l->scn;

    w->ep = w->wake = -1;
    w->l = l;
    w->index = index;
    w->first_id = first_id;
    w->nusers = w->live = n;
    w->users = calloc(n ? n : 1, sizeof(*w->users));
    w->heap = calloc(n ? n : 1, sizeof(*w->heap));
    w->ready = calloc(n ? n : 1, sizeof(*w->ready));
    w->connwait = calloc(n ? n : 1, sizeof(*w->connwait));
    w->cls = calloc((size_t)(s->nrequests ? s->nrequests : 1), sizeof(*w->cls));
    w->interval = hist_new();
    if (!w->users || !w->heap || !w->ready || !w->connwait || !w->cls || !w->interval)
        abort();
    pthread_mutex_init(&w->mu, NULL);
    for (int k = 0; k < s->nrequests; k++)
        if (!(w->cls[k].lat = hist_new()))
            abort();
    for (uint32_t i = 0; i < n; i++) {
        long id = first_id + (long)i;
        w->users[i].req = -1;
        if (rf_user_init(&w->users[i].rf, s, util_mix(l->cfg.seed, (uint64_t)id), id) < 0)
            abort();
    }
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->wake_ev.fn = worker_on_wake;
    if (w->ep < 0 || w->wake < 0 || worker_watch(w, w->wake, &w->wake_ev, EPOLLIN, 1) < 0) {
        snprintf(err, errlen, "worker %u: %s", index, strerror(errno));
        return -1;
    }
    return 0;
}

void worker_bury(struct worker *w, void *p)
{
    ((struct ev *)p)->dead = 1;
    if (w->ngrave == w->capgrave) {
        w->capgrave = w->capgrave ? 2 * w->capgrave : 64;
        if (!(w->grave = realloc(w->grave, w->capgrave * sizeof(*w->grave))))
            abort();
    }
    w->grave[w->ngrave++] = p;
}

void worker_free(struct worker *w)
{
    worker_free_graves(w);
    free(w->grave);
    const struct scenario *s = w->l->scn;
    hconn_free_all(w);
    hcurl_free(w);
    pgq_free_all(w);
    for (uint32_t i = 0; i < w->nusers; i++)
        rf_user_free(&w->users[i].rf, s);
    for (int k = 0; w->cls && k < s->nrequests; k++)
        hist_free(w->cls[k].lat);
    free(w->cls);
    hist_free(w->interval);
    free(w->users);
    free(w->heap);
    free(w->ready);
    free(w->connwait);
    free(w->dests);
    free(w->hbuf.p);
    if (w->ep >= 0)
        close(w->ep);
    if (w->wake >= 0)
        close(w->wake);
    pthread_mutex_destroy(&w->mu);
}

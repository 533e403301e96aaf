/*
 * worker.c - one worker thread: an event loop driving its share of the
 * virtual users (load_int.h).
 *
 * A turn of the loop: read the clock once, wind down when the load is
 * over, fire the timers that are due (a min-heap of users by wake time:
 * think time, an arrival that is not due yet, a request's timeout), hand
 * free connection slots to the users waiting for one, begin the users on
 * the ready queue, then wait in epoll for I/O until the next timer, with
 * nanosecond resolution (epoll_pwait2) so the open model's arrivals are
 * not rounded to milliseconds.  load_stop rings an eventfd.
 *
 * The loop is the top of the engine: it calls down to the users and the
 * transports; the heap, the queues and the slots it reads are wsched.c's
 * (load_int.h has the order of the files).
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

/* ---------------------------------------------------------------
 * The loop.
 * ------------------------------------------------------------ */
/* Waiters connect as room comes free, in order. */
static void worker_run_waiters(struct worker *w)
{
    struct vu *u;
    for (uint32_t n = WORKER_BATCH; n && (u = wsched_conn_next(w)); n--) {
        if (u->kind == VU_IO_SQL)
            pgq_resume(w, u);
        else
            hconn_resume(w, u);
    }
}

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
    struct vu *u;
    for (; n && (u = wsched_due(w)); n--)
        vu_timer(w, u);
}

static void worker_run_ready(struct worker *w)
{
    /* Users made ready meanwhile begin on the next turn. */
    for (uint32_t n = w->rlen < WORKER_BATCH ? w->rlen : WORKER_BATCH; n; n--)
        vu_begin(w, wsched_ready_take(w));
}

/* How long epoll may wait: until the next timer or the deadline; 0 with
 * users ready; NULL (no limit) with nothing scheduled. */
static const struct timespec *worker_timeout(struct worker *w, struct timespec *ts)
{
    uint64_t until = UINT64_MAX, d = w->l->deadline;
    if (w->rlen || (w->cwlen && wsched_conn_room(w)))
        until = w->now;
    if (w->nheap && w->users[w->heap[0]].wake < until)
        until = w->users[w->heap[0]].wake;
    if (!w->winding && d && d < until)
        until = d;
    if (w->curl_due && w->curl_due < until)
        until = w->curl_due;
    if (wsched_hist_due(w) < until)
        until = wsched_hist_due(w);
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
        wsched_ready(w, &w->users[i]);
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
        wsched_hist_flush(w, 0);
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
        wsched_free_graves(w);
    }
    wsched_hist_flush(w, 1);
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
    if (w->ep < 0 || w->wake < 0 || wsched_watch(w, w->wake, &w->wake_ev, EPOLLIN, 1) < 0) {
        snprintf(err, errlen, "worker %u: %s", index, strerror(errno));
        return -1;
    }
    return 0;
}

void worker_free(struct worker *w)
{
    const struct scenario *s = w->l->scn;
    /* The transports bury what they close (wsched_bury), libcurl's
     * sockets too: the graves go last. */
    hconn_free_all(w);
    hcurl_free(w);
    pgq_free_all(w);
    wsched_free_graves(w);
    free(w->grave);
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

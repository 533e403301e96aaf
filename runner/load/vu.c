/*
 * vu.c - a virtual user's steps on its worker's loop (load_int.h).
 *
 *   ready --vu_begin--> (arrival not due: WAIT) --> vu_fire --> FLIGHT
 *   FLIGHT --vu_done--> think (WAIT) or ready;  the load over --> DONE
 *
 * What the user sends next and the request built from its template are
 * reqflow.h's; the bytes move in hconn.c (HTTP/1.1), hcurl.c (https) and
 * pgq.c (SQL), which judge the response and report its end to vu_end.c
 * (vu_done), below them: the outcome recorded, think time, the next step.
 */
#include "load_int.h"
#include "timeunit.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The SQL client gives the server's statement_timeout (the request's
 * timeout) this long to answer before it drops the connection itself. */
#define VU_SQL_GRACE_NS NS_PER_S

/* ---------------------------------------------------------------
 * The steps.
 * ------------------------------------------------------------ */
/* u waits for a connection slot (its transport queued it) while the
 * worker is out of descriptors: an idle connection (to another host, or
 * SQL for HTTP) gives up its slot to the first waiter. */
static void vu_make_room(struct worker *w, const struct vu *u)
{
    if (u->state == VU_CONNWAIT && w->nconns >= w->l->conn_cap && !hconn_shed(w))
        pgq_shed(w);
}

/* Send u's next request (its arrival was due at due). */
static void vu_fire(struct worker *w, struct vu *u, uint64_t due)
{
    struct load *l = w->l;
    const struct scn_request *r;
    struct rf_result res;
    char err[256];

    u->req = (int16_t)rf_next(&u->rf, l->scn);
    u->due = due;
    u->state = VU_FLIGHT;
    r = &l->scn->requests[u->req];
    vu_hist_invoke(w, u);
    if (r->kind == SCN_REQ_SQL) {
        char *sql = rf_sql(&l->rf, &u->rf, u->req, err, sizeof(err));
        if (!sql) {
            rf_fault(&res, err);
            vu_done(w, u, &res, 0, 1, 0);
            return;
        }
        wsched_timer(w, u, w->now + l->scn->request_timeout_ns + VU_SQL_GRACE_NS);
        pgq_send(w, u, sql);
        vu_make_room(w, u);
    } else {
        struct rf_req q;
        if (rf_build(&l->rf, &u->rf, u->req, &q, err, sizeof(err)) < 0) {
            rf_fault(&res, err);
            vu_done(w, u, &res, 0, 1, 0);
            return;
        }
        wsched_timer(w, u, w->now + l->scn->request_timeout_ns);
        if (l->use_curl || !strncasecmp(q.url, "https://", 8))
            hcurl_send(w, u, &q);
        else
            hconn_send(w, u, &q);
        vu_make_room(w, u);
        rf_req_free(&q);
    }
}

/* Begin an iteration: the open model takes the next arrival (sent when
 * due), the closed one sends now.  0, or -1 when the load is over for u. */
static int vu_arrival(struct worker *w, struct vu *u)
{
    struct load *l = w->l;
    uint64_t k = atomic_fetch_add(&l->next, 1), due;

    if (l->cfg.iterations && k >= l->cfg.iterations)
        return -1;
    if (l->cfg.rate <= 0) {
        vu_fire(w, u, w->now);
        return 0;
    }
    /* Shard I of N takes the arrivals I, I + N, I + 2N... of the whole. */
    k = k * l->cfg.shard_count + l->cfg.shard_index;
    due = l->t0 + (uint64_t)((double)k * (double)NS_PER_S / l->cfg.rate);
    if (l->deadline && due >= l->deadline)
        return -1;
    if (due > w->now) {
        u->due = due;
        u->state = VU_DUE;
        wsched_timer(w, u, due);
    } else {
        vu_fire(w, u, due);
    }
    return 0;
}

void vu_begin(struct worker *w, struct vu *u)
{
    struct load *l = w->l;

    if (w->winding || atomic_load_explicit(&l->stop, memory_order_relaxed) ||
        (l->deadline && w->now >= l->deadline)) {
        vu_finish(w, u);
        return;
    }
    if (u->state == VU_START && l->think_hi && l->cfg.rate <= 0) {
        u->state = VU_THINK; /* spread the closed model's first requests */
        wsched_timer(w, u, w->now + vu_first_delay(l, u));
        return;
    }
    if (rf_in_flow(&u->rf))
        vu_fire(w, u, w->now);
    else if (vu_arrival(w, u) < 0)
        vu_finish(w, u);
}

void vu_timer(struct worker *w, struct vu *u)
{
    switch (u->state) {
    case VU_THINK:
        u->state = VU_IDLE;
        vu_begin(w, u);
        break;
    case VU_DUE:
        vu_fire(w, u, u->due);
        break;
    case VU_FLIGHT:
    case VU_CONNWAIT: {
        char why[64];
        if (u->state == VU_CONNWAIT) /* it never got a connection */
            wsched_conn_cancel(w, u);
        u->state = VU_FLIGHT;
        snprintf(why, sizeof(why), "timed out after %llu ms",
                 (unsigned long long)(w->l->scn->request_timeout_ns / NS_PER_MS));
        if (u->kind == VU_IO_SQL)
            pgq_abort(w, u, why);
        else if (u->kind == VU_IO_CURL)
            hcurl_abort(w, u, why);
        else
            hconn_abort(w, u, why);
        break;
    }
    default:
        break;
    }
}

/*
 * pgq.c - SQL transactions on libpq's asynchronous API (load_int.h):
 * PQconnectStart/PQconnectPoll to connect, PQsendQuery, PQflush,
 * PQconsumeInput and PQgetResult on the worker's loop.
 *
 * One request is one transaction, as with the blocking client before it:
 * BEGIN, the statements, COMMIT (the statements alone when they begin
 * their own transaction); on an error, ROLLBACK if a transaction is still
 * open, and on a serialization failure or deadlock (40001, 40P01) the
 * whole transaction again, up to max_tries.  A COMMIT answered ROLLBACK
 * failed (25P02).  A connection that drops mid-way leaves the outcome
 * unknown (info).  The session's statement_timeout is the request's
 * timeout, so a lock wait ends on the server; the loop's own timer drops
 * the connection if even that does not answer.
 *
 * Connections are pooled per worker like HTTP ones: as many as
 * transactions are in flight at once, each kept for the next.
 */
#include "load_int.h"
#include "timeunit.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

enum pgc_phase { PGC_CONNECTING, PGC_SETUP, PGC_IDLE, PGC_RUN };
enum pgc_step { PGC_BEGIN, PGC_SQL, PGC_COMMIT, PGC_ROLLBACK };

struct pgc {
    struct ev ev;
    PGconn *pg;
    int fd, out_watch;
    int slot;       /* holds one of the worker's descriptor slots */
    int connecting; /* counted as being set up (wsched_conn_up when not) */
    enum pgc_phase phase;
    struct pgc *next; /* the worker's idle list */
    struct vu *user;  /* NULL: idle */
    /* the transaction in flight */
    char *sql;
    int wrap, failed;
    enum pgc_step step;
    unsigned tries;
    uint64_t retries;
    char state[6];
    char err[256];
};

static void pgc_event(struct worker *w, struct ev *e, uint32_t events);

/* BEGIN and COMMIT around the statements, unless they open their own. */
static int pgc_wraps(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n')
        sql++;
    return strncasecmp(sql, "BEGIN", 5) && strncasecmp(sql, "START", 5);
}

/* A libpq message's first line into c->err, after prefix (a string
 * that is not c->err). */
static void pgc_msg(struct pgc *c, const char *prefix, const char *msg)
{
    snprintf(c->err, sizeof(c->err), "%s%s", prefix, msg ? msg : "");
    c->err[strcspn(c->err, "\n")] = '\0';
}

/* ---------------------------------------------------------------
 * Connections.
 * ------------------------------------------------------------ */
/* Close c's connection; its slot goes back to the worker. */
static void pgc_close(struct worker *w, struct pgc *c)
{
    wsched_conn_release(w, &c->connecting, &c->slot);
    if (c->pg)
        PQfinish(c->pg); /* closes the socket: it leaves the epoll set */
    c->pg = NULL;
    c->fd = -1;
}

static void pgc_destroy(struct worker *w, struct pgc *c)
{
    pgc_close(w, c);
    free(c->sql);
    wsched_bury(w, c);
}

/* Watch c's socket (it may change while connecting) for input, and for
 * output when out. */
static int pgc_watch(struct worker *w, struct pgc *c, int out)
{
    int fd = PQsocket(c->pg), add = fd != c->fd;
    if (fd < 0)
        return -1;
    if (!add && out == c->out_watch)
        return 0;
    if (add && c->fd >= 0)
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL); /* gone already if closed */
    c->fd = fd;
    c->out_watch = out;
    return wsched_watch(w, fd, &c->ev, EPOLLIN | (out ? EPOLLOUT : 0), add);
}

static void pgc_begin_tx(struct worker *w, struct pgc *c);

static int pgc_wants(const struct vu *u, const void *arg)
{
    (void)arg;
    return u->kind == VU_IO_SQL;
}

/* The connection goes to a user waiting for one, or to the pool (or is
 * closed). */
static void pgc_release(struct worker *w, struct pgc *c)
{
    struct vu *x;

    c->user = NULL;
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || c->phase != PGC_RUN ||
        PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        pgc_destroy(w, c);
        return;
    }
    if ((x = wsched_conn_waiter(w, pgc_wants, NULL))) {
        struct pgc *p = x->io; /* its transaction, waiting without a connection */
        c->user = x;
        c->sql = p->sql;
        c->wrap = p->wrap;
        c->tries = 1;
        c->retries = 0;
        p->sql = NULL;
        pgc_destroy(w, p);
        x->io = c;
        pgc_begin_tx(w, c);
        return;
    }
    if (w->cwlen && w->nconns >= w->l->conn_cap) {
        pgc_destroy(w, c); /* its slot to a waiter for HTTP */
        return;
    }
    c->phase = PGC_IDLE;
    c->next = w->pg_idle;
    w->pg_idle = c;
}

/* The transaction ended: the connection released, the outcome to the
 * user. */
static void pgc_end(struct worker *w, struct pgc *c, enum rf_outcome o)
{
    struct vu *u = c->user;
    struct rf_result res = {.outcome = o};
    unsigned tries = c->tries ? c->tries : 1;
    uint64_t retries = c->retries;

    if (o != RF_OK)
        snprintf(res.reason, sizeof(res.reason), "%s", c->err);
    free(c->sql);
    c->sql = NULL;
    pgc_release(w, c);
    vu_done(w, u, &res, 0, tries, retries);
}

static void pgc_send(struct worker *w, struct pgc *c, const char *text)
{
    if (!PQsendQuery(c->pg, text)) {
        pgc_msg(c, "", PQerrorMessage(c->pg));
        pgc_end(w, c, RF_INFO);
        return;
    }
    /* The query may not have left yet: watch for output until it has. */
    switch (PQflush(c->pg)) {
    case 0:
        if (pgc_watch(w, c, 0) == 0)
            return;
        break;
    case 1:
        if (pgc_watch(w, c, 1) == 0)
            return;
        break;
    }
    pgc_msg(c, "", PQerrorMessage(c->pg));
    pgc_end(w, c, RF_INFO);
}

static void pgc_step(struct worker *w, struct pgc *c, enum pgc_step step)
{
    static const char *const text[] = {"BEGIN", NULL, "COMMIT", "ROLLBACK"};
    c->step = step;
    c->phase = PGC_RUN;
    pgc_send(w, c, step == PGC_SQL ? c->sql : text[step]);
}

static void pgc_begin_tx(struct worker *w, struct pgc *c)
{
    c->failed = 0;
    c->state[0] = c->err[0] = '\0';
    pgc_step(w, c, c->wrap ? PGC_BEGIN : PGC_SQL);
}

/* ---------------------------------------------------------------
 * Results.
 * ------------------------------------------------------------ */
/* One result of the current step. */
static void pgc_result(struct pgc *c, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;

    if (!ok && !c->failed) {
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        char prefix[8];
        snprintf(c->state, sizeof(c->state), "%s", s ? s : "");
        snprintf(prefix, sizeof(prefix), "%s%s", c->state, c->state[0] ? ": " : "");
        pgc_msg(c, prefix, PQresultErrorMessage(res));
    } else if (ok && c->step == PGC_COMMIT && !c->failed && !strcmp(PQcmdStatus(res), "ROLLBACK")) {
        /* COMMIT of a transaction that had failed */
        snprintf(c->state, sizeof(c->state), "25P02");
        snprintf(c->err, sizeof(c->err), "transaction rolled back");
        ok = 0;
    }
    c->failed |= !ok;
}

/* A failed transaction is over (rolled back): again, or its outcome. */
static void pgc_failed(struct worker *w, struct pgc *c)
{
    unsigned max = w->l->scn->max_tries ? w->l->scn->max_tries : 1;
    int again = !strcmp(c->state, "40001") || !strcmp(c->state, "40P01");
    if (again && c->tries < max) {
        c->tries++;
        c->retries++;
        pgc_begin_tx(w, c);
        return;
    }
    pgc_end(w, c, RF_FAIL);
}

/* Every result of the current step has arrived. */
static void pgc_step_done(struct worker *w, struct pgc *c)
{
    if (PQstatus(c->pg) != CONNECTION_OK) {
        if (!c->err[0])
            pgc_msg(c, "", PQerrorMessage(c->pg));
        pgc_end(w, c, RF_INFO); /* the connection dropped: did it commit? unknown */
        return;
    }
    if (c->step == PGC_ROLLBACK) {
        c->failed = 1;
        pgc_failed(w, c);
    } else if (c->failed) {
        /* c->failed stays set: the ROLLBACK's result keeps the error's
         * state and message (pgc_result records only the first). */
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            pgc_step(w, c, PGC_ROLLBACK);
        else
            pgc_failed(w, c);
    } else if (c->step == PGC_BEGIN) {
        pgc_step(w, c, PGC_SQL);
    } else if (c->step == PGC_SQL && c->wrap) {
        pgc_step(w, c, PGC_COMMIT);
    } else {
        pgc_end(w, c, RF_OK);
    }
}

/* Input arrived: take every result that is complete. */
static void pgc_input(struct worker *w, struct pgc *c)
{
    PGresult *res;

    if (!PQconsumeInput(c->pg)) {
        pgc_msg(c, "", PQerrorMessage(c->pg));
        if (c->phase == PGC_RUN || c->phase == PGC_SETUP)
            pgc_end(w, c, RF_INFO);
        return;
    }
    while (!PQisBusy(c->pg)) {
        if (!(res = PQgetResult(c->pg))) {
            if (c->phase == PGC_SETUP)
                pgc_begin_tx(w, c);
            else
                pgc_step_done(w, c);
            return;
        }
        if (c->phase == PGC_RUN)
            pgc_result(c, res);
        PQclear(res);
    }
}

/* ---------------------------------------------------------------
 * Connecting.
 * ------------------------------------------------------------ */
/* Connected: no statement may outlive the request's timeout, so a lock
 * wait ends. */
static void pgc_setup(struct worker *w, struct pgc *c)
{
    char sql[64];
    long ms = (long)(w->l->scn->request_timeout_ns / NS_PER_MS);
    if (PQsetnonblocking(c->pg, 1) < 0) {
        pgc_msg(c, "connect: ", PQerrorMessage(c->pg));
        pgc_end(w, c, RF_INFO);
        return;
    }
    snprintf(sql, sizeof(sql), "SET statement_timeout = %ld", ms > 0 ? ms : 5000L);
    c->phase = PGC_SETUP;
    pgc_send(w, c, sql);
}

static void pgc_poll(struct worker *w, struct pgc *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_OK:
        c->connecting = 0;
        wsched_conn_up(w);
        pgc_setup(w, c);
        return;
    case PGRES_POLLING_READING:
        if (pgc_watch(w, c, 0) == 0)
            return;
        break;
    case PGRES_POLLING_WRITING:
        if (pgc_watch(w, c, 1) == 0)
            return;
        break;
    default:
        break;
    }
    pgc_msg(c, "connect: ", PQerrorMessage(c->pg));
    pgc_end(w, c, RF_INFO);
}

/* Connect c (c->slot and c->connecting set: counted by the worker). */
static void pgc_connect(struct worker *w, struct pgc *c)
{
    c->phase = PGC_CONNECTING;
    c->fd = -1;
    c->pg = PQconnectStart(w->l->cfg.dsn ? w->l->cfg.dsn : "");
    if (!c->pg) {
        snprintf(c->err, sizeof(c->err), "connect: out of memory");
        pgc_end(w, c, RF_INFO);
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        pgc_msg(c, "connect: ", PQerrorMessage(c->pg));
        pgc_end(w, c, RF_INFO);
        return;
    }
    pgc_poll(w, c);
}

static void pgc_event(struct worker *w, struct ev *e, uint32_t events)
{
    struct pgc *c = (struct pgc *)e;

    if (!c->user) { /* idle: the server closed it, or sent a notice */
        if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
            struct pgc **pp = &w->pg_idle;
            while (*pp && *pp != c)
                pp = &(*pp)->next;
            if (*pp)
                *pp = c->next;
            pgc_destroy(w, c);
        }
        return;
    }
    if (c->phase == PGC_CONNECTING) {
        pgc_poll(w, c);
        return;
    }
    if ((events & EPOLLOUT) && c->out_watch) {
        int r = PQflush(c->pg);
        if (r < 0 || (r == 0 && pgc_watch(w, c, 0) < 0)) {
            pgc_msg(c, "", PQerrorMessage(c->pg));
            pgc_end(w, c, RF_INFO);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        pgc_input(w, c);
}

/* ---------------------------------------------------------------
 * The worker's side.
 * ------------------------------------------------------------ */
void pgq_send(struct worker *w, struct vu *u, char *sql)
{
    struct pgc *c = w->pg_idle;

    if (c) {
        w->pg_idle = c->next;
        c->next = NULL;
    } else {
        if (!(c = calloc(1, sizeof(*c))))
            abort();
        c->ev.fn = pgc_event;
        c->fd = -1;
    }
    c->user = u;
    c->sql = sql;
    c->wrap = pgc_wraps(sql);
    c->tries = 1;
    c->retries = 0;
    u->io = c;
    u->kind = VU_IO_SQL;
    if (c->pg)
        pgc_begin_tx(w, c);
    else if (wsched_conn_take(w, u) == 0)
        pgq_resume(w, u);
    /* else u waits for a connection (wsched_conn_take queued it) */
}

int pgq_shed(struct worker *w)
{
    struct pgc *c = w->pg_idle;
    if (!c)
        return 0;
    w->pg_idle = c->next;
    pgc_destroy(w, c);
    return 1;
}

void pgq_resume(struct worker *w, struct vu *u)
{
    struct pgc *c = u->io;
    c->slot = c->connecting = 1;
    pgc_connect(w, c);
}

void pgq_abort(struct worker *w, struct vu *u, const char *why)
{
    struct pgc *c = u->io;
    snprintf(c->err, sizeof(c->err), "%s", why);
    pgc_close(w, c); /* dropped mid-transaction: its outcome is unknown */
    pgc_end(w, c, RF_INFO);
}

void pgq_free_all(struct worker *w)
{
    while (w->pg_idle) {
        struct pgc *c = w->pg_idle;
        w->pg_idle = c->next;
        pgc_destroy(w, c);
    }
    for (uint32_t i = 0; i < w->nusers; i++)
        if (w->users[i].kind == VU_IO_SQL && w->users[i].io)
            pgc_destroy(w, w->users[i].io);
}

/*
 * libpq.c - the libpq wrappers: pq.connect, pq.exec, pq.prepare, pq.send,
 * pq.result, pq.finish, and pq.query across all of them.
 *
 * pq.query fires `before` a statement is sent, whichever API sends it, and
 * `after` its last result has arrived: for PQexec* when the call returns,
 * for the PQsend* family when PQgetResult returns NULL for it.  To know
 * which statement a result belongs to (pipelines queue many), each PGconn
 * has a FIFO of the statements sent and not yet finished, and a map of its
 * prepared statements' names to their SQL, so `sql ~` matches
 * PQexecPrepared and PQsendQueryPrepared too.  Any pq hook a rule names
 * arms all of them (hooks.c), so the FIFO sees every send and every result;
 * when tracing alone arms them, the wrappers only count (PQ_FAST).
 *
 * libpq calls its own exported functions through the PLT (PQexec calls
 * PQsendQuery and PQgetResult): a per-thread depth counter lets those
 * inner calls pass through, so one statement fires once.
 *
 * fail sqlstate X runs, instead of the statement (or after it), a DO block
 * that raises X on the server: the error is real, the transaction really
 * aborts, later statements get 25P02.  fail disconnect shuts the socket
 * down: libpq sees the server go away and reports CONNECTION_BAD.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "real.h"
#include "redact.h"
#include "wire.h"

/* ---------------------------------------------------------------
 * Per-connection state: pending statements and prepared names.
 * ------------------------------------------------------------ */
#define PQ_FIFO 256
#define PQ_CONNS \
    1024 /* open addressing; a process with more live
                       * connections gets no per-statement attribution
                       * for the extra ones */

/* What libpq queued on the connection, in order; each gets its results
 * from PQgetResult: a statement or describe its results and a NULL, a
 * sync one PGRES_PIPELINE_SYNC and no NULL. */
enum pq_kind {
    PQ_OTHER, /* Parse (PQsendPrepare), Describe, or our own DO block */
    PQ_QUERY, /* a statement: pq.query fires `after` at its NULL */
    PQ_SYNC,  /* PQpipelineSync */
};

struct pq_stmt {
    char *sql;
    enum pq_kind kind;
};

struct pq_prep {
    char *name, *sql;
};

struct pq_conn {
    const PGconn *conn;
    struct pq_stmt fifo[PQ_FIFO];
    unsigned head, n;
    struct pq_prep *prep;
    int nprep, cap;
};

static struct pq_conn *pq_table[PQ_CONNS];
static pthread_mutex_t pq_table_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned pq_slot(const PGconn *conn)
{
    uintptr_t x = (uintptr_t)conn;
    x ^= x >> 17;
    x *= 0x9e3779b97f4a7c15ull;
    return (unsigned)(x >> 40) % PQ_CONNS;
}

/* The state of conn, created when `create`; NULL when absent or full.
 * The table lock is held only for the lookup: a PGconn is used by one
 * thread at a time (libpq's rule), so its state needs no lock. */
static struct pq_conn *pq_conn_get(const PGconn *conn, int create)
{
    struct pq_conn *pc = NULL;
    unsigned s = pq_slot(conn);

    if (!conn)
        return NULL;
    REAL(pthread_mutex_lock)(&pq_table_lock);
    for (unsigned i = 0; i < PQ_CONNS; i++, s = (s + 1) % PQ_CONNS) {
        if (pq_table[s] && pq_table[s]->conn == conn) {
            pc = pq_table[s];
            goto out;
        }
        if (!pq_table[s])
            break;
    }
    if (!create || pq_table[s])
        goto out;
    pc = calloc(1, sizeof *pc);
    if (pc) {
        pc->conn = conn;
        pq_table[s] = pc;
    }
out:
    REAL(pthread_mutex_unlock)(&pq_table_lock);
    return pc;
}

/* In a forked child only the forking thread is left: a table lock that
 * another thread held at the fork would never be released. */
static void pq_atfork_child(void)
{
    pq_table_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
}

__attribute__((constructor(102))) static void pq_init(void)
{
    pthread_atfork(NULL, NULL, pq_atfork_child);
}

static void pq_conn_free(struct pq_conn *pc)
{
    for (unsigned i = 0; i < pc->n; i++)
        free(pc->fifo[(pc->head + i) % PQ_FIFO].sql);
    for (int i = 0; i < pc->nprep; i++) {
        free(pc->prep[i].name);
        free(pc->prep[i].sql);
    }
    free(pc->prep);
    free(pc);
}

/* Forget conn (PQfinish).  Linear probing: re-insert the rest of the run
 * so later lookups still find their entries. */
static void pq_conn_drop(const PGconn *conn)
{
    unsigned s = pq_slot(conn);
    struct pq_conn *pc = NULL;

    REAL(pthread_mutex_lock)(&pq_table_lock);
    for (unsigned i = 0; i < PQ_CONNS && pq_table[s]; i++, s = (s + 1) % PQ_CONNS)
        if (pq_table[s]->conn == conn) {
            pc = pq_table[s];
            break;
        }
    if (pc) {
        pq_table[s] = NULL;
        for (unsigned t = (s + 1) % PQ_CONNS; pq_table[t]; t = (t + 1) % PQ_CONNS) {
            struct pq_conn *moved = pq_table[t];
            unsigned u = pq_slot(moved->conn);
            pq_table[t] = NULL;
            while (pq_table[u])
                u = (u + 1) % PQ_CONNS;
            pq_table[u] = moved;
        }
    }
    REAL(pthread_mutex_unlock)(&pq_table_lock);
    if (pc)
        pq_conn_free(pc);
}

static void pq_push(struct pq_conn *pc, const char *sql, enum pq_kind kind)
{
    if (!pc)
        return;
    if (pc->n == PQ_FIFO) { /* overflow: forget the oldest */
        free(pc->fifo[pc->head].sql);
        pc->head = (pc->head + 1) % PQ_FIFO;
        pc->n--;
    }
    struct pq_stmt *st = &pc->fifo[(pc->head + pc->n) % PQ_FIFO];
    st->sql = sql ? strdup(sql) : NULL;
    st->kind = kind;
    pc->n++;
}

static struct pq_stmt *pq_front(struct pq_conn *pc)
{
    return pc && pc->n ? &pc->fifo[pc->head] : NULL;
}

static void pq_pop(struct pq_conn *pc)
{
    if (!pc || !pc->n)
        return;
    free(pc->fifo[pc->head].sql);
    pc->fifo[pc->head].sql = NULL;
    pc->head = (pc->head + 1) % PQ_FIFO;
    pc->n--;
}

static void pq_forget(struct pq_conn *pc)
{
    while (pc && pc->n)
        pq_pop(pc);
}

static void pq_prep_set(struct pq_conn *pc, const char *name, const char *sql)
{
    if (!pc || !sql)
        return;
    if (!name)
        name = "";
    for (int i = 0; i < pc->nprep; i++)
        if (!strcmp(pc->prep[i].name, name)) {
            char *s = strdup(sql);
            if (s) {
                free(pc->prep[i].sql);
                pc->prep[i].sql = s;
            }
            return;
        }
    if (pc->nprep == pc->cap) {
        int cap = pc->cap ? pc->cap * 2 : 8;
        struct pq_prep *np = realloc(pc->prep, (size_t)cap * sizeof *np);
        if (!np)
            return;
        pc->prep = np;
        pc->cap = cap;
    }
    pc->prep[pc->nprep].name = strdup(name);
    pc->prep[pc->nprep].sql = strdup(sql);
    if (pc->prep[pc->nprep].name && pc->prep[pc->nprep].sql)
        pc->nprep++;
}

static const char *pq_prep_sql(struct pq_conn *pc, const char *name)
{
    if (!pc)
        return NULL;
    if (!name)
        name = "";
    for (int i = 0; i < pc->nprep; i++)
        if (!strcmp(pc->prep[i].name, name))
            return pc->prep[i].sql;
    return NULL;
}

/* ---------------------------------------------------------------
 * Injected failures.
 * ------------------------------------------------------------ */

/* Run the raising block now; its (error) result. */
static PGresult *pq_raise(PGconn *conn, const char *state)
{
    char sql[160];
    PGresult *res;

    wg_pq_raise_sql(state, sql, sizeof sql);
    wg_pq_depth++;
    res = REAL(PQexecParams)(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    wg_pq_depth--;
    return res;
}

/* Send the raising block (the extended protocol works in pipelines too). */
static int pq_send_raise(PGconn *conn, const char *state)
{
    char sql[160];
    int ok;

    wg_pq_raise_sql(state, sql, sizeof sql);
    wg_pq_depth++;
    ok = REAL(PQsendQueryParams)(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    wg_pq_depth--;
    return ok;
}

static void pq_disconnect(const PGconn *conn)
{
    int fd = conn ? REAL(PQsocket)(conn) : -1;
    int saved = errno;

    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    errno = saved;
}

/* ---------------------------------------------------------------
 * Evaluation helpers.
 * ------------------------------------------------------------ */
/* fail sqlstate runs in a statement's place: on these hooks there is none. */
#define PQ_NO_STATEMENT "this hook has no statement to put the error in place of (use pq.query)"

static void pq_call(struct wg_call *c, int hook, const PGconn *conn, const char *sql,
                    const char *detail)
{
    int stmt = hook == WG_HOOK_PQ_QUERY || hook == WG_HOOK_PQ_EXEC || hook == WG_HOOK_PQ_PREPARE ||
               hook == WG_HOOK_PQ_SEND;

    /* .fd is the connection's socket; port = / peer = do not read it here:
     * the parser (rules_check.c) accepts them on sock hooks only. */
    int fd = conn ? REAL(PQsocket)(conn) : -1;

    /* the decoder stays quiet on this socket: its statements are ours */
    if (fd >= 0 && atomic_load_explicit(&wg_wire_pg, memory_order_relaxed))
        pgsess_claim(fd);
    *c = (struct wg_call){.hook = hook,
                          .fd = fd,
                          .sql = sql,
                          .conn = conn,
                          .detail = detail,
                          .no_sqlstate = stmt ? NULL : PQ_NO_STATEMENT};
}

/* Evaluate hooks a and b (b may be -1) at `when`; the first verdict wins. */
static int pq_eval2(struct wg_call *a, struct wg_call *b, enum wg_when when, struct wg_verdict *v)
{
    if (when == WG_AFTER) {
        int fa = (wg_after_hooks >> a->hook & 1) && wg_eval(a, when, v);
        if (fa)
            return 1;
        return b && (wg_after_hooks >> b->hook & 1) && wg_eval(b, when, v);
    }
    if (wg_eval(a, when, v))
        return 1;
    return b && wg_eval(b, when, v);
}

/*
 * The synchronous statement APIs (PQexec, PQexecParams, PQexecPrepared,
 * PQprepare): evaluate, run the real call (or the injection), evaluate
 * `after`.  `run` calls the real function; `query` is 0 for PQprepare.
 */
typedef PGresult *(*pq_run_fn)(PGconn *conn, const void *args);

static PGresult *pq_sync(PGconn *conn, int hook, int query, const char *sql, pq_run_fn run,
                         const void *args)
{
    struct wg_call ca, cq;
    struct wg_verdict v;
    PGresult *res;

    pq_call(&ca, hook, conn, sql, sql);
    pq_call(&cq, WG_HOOK_PQ_QUERY, conn, sql, sql);
    if (pq_eval2(&ca, query ? &cq : NULL, WG_BEFORE, &v)) {
        if (v.action == WG_ACT_FAIL_SQLSTATE)
            return pq_raise(conn, v.sqlstate);
        if (v.action == WG_ACT_FAIL_DISCONNECT)
            pq_disconnect(conn);
    }
    /* PQexec* first discards whatever results are still pending (outside
     * pipeline mode): forget those statements too. */
    if (REAL(PQpipelineStatus)(conn) == PQ_PIPELINE_OFF)
        pq_forget(pq_conn_get(conn, 0));
    wg_pq_depth++;
    res = run(conn, args);
    wg_pq_depth--;
    if (query ? pq_eval2(&cq, &ca, WG_AFTER, &v) : pq_eval2(&ca, NULL, WG_AFTER, &v)) {
        if (v.action == WG_ACT_FAIL_SQLSTATE) {
            REAL(PQclear)(res);
            res = pq_raise(conn, v.sqlstate);
        } else if (v.action == WG_ACT_FAIL_DISCONNECT) {
            pq_disconnect(conn);
        }
    }
    return res;
}

/*
 * The asynchronous senders (the PQsend* family): evaluate pq.send and
 * pq.query before, send (or send the raising block instead), and queue
 * the statement for PQgetResult.
 */
typedef int (*pq_send_fn)(PGconn *conn, const void *args);

static int pq_send(PGconn *conn, int query, const char *sql, pq_send_fn run, const void *args)
{
    struct wg_call ca, cq;
    struct wg_verdict v;
    struct pq_conn *pc = pq_conn_get(conn, 1);
    int ok;

    pq_call(&ca, WG_HOOK_PQ_SEND, conn, sql, sql);
    pq_call(&cq, WG_HOOK_PQ_QUERY, conn, sql, sql);
    if (pq_eval2(&ca, query ? &cq : NULL, WG_BEFORE, &v)) {
        if (v.action == WG_ACT_FAIL_SQLSTATE) {
            ok = pq_send_raise(conn, v.sqlstate);
            if (ok)
                pq_push(pc, sql, query ? PQ_QUERY : PQ_OTHER);
            return ok;
        }
        if (v.action == WG_ACT_FAIL_DISCONNECT)
            pq_disconnect(conn);
    }
    wg_pq_depth++;
    ok = run(conn, args);
    wg_pq_depth--;
    if (ok)
        pq_push(pc, sql, query ? PQ_QUERY : PQ_OTHER);
    ca.no_sqlstate = "after pq.send the statement is only queued (use after pq.query)";
    if (pq_eval2(&ca, NULL, WG_AFTER, &v) && v.action == WG_ACT_FAIL_DISCONNECT)
        pq_disconnect(conn);
    return ok;
}

/* ---------------------------------------------------------------
 * The wrappers.
 * ------------------------------------------------------------ */
#define PQ_EXPORT __attribute__((visibility("default")))
/* PQ_FAST(HOOK, counts, real call): the idle test, then, when no rule
 * names a pq hook (armed for tracing only), just the count and the real
 * call: no statement tracking.  counts: PQ_CNT_HOOK, or with
 * PQ_CNT_QUERY for a statement (pq.query as well), or 0 (a sync). */
#define PQ_CNT_HOOK  1
#define PQ_CNT_QUERY 2
#define PQ_FAST(hook, counts, call)                                                           \
    if (!atomic_load_explicit(&wg_armed[WG_HOOK_##hook], memory_order_relaxed) || wg_in_shim) \
        return call;                                                                          \
    if (wg_pq_depth)                                                                          \
        return call;                                                                          \
    if (!atomic_load_explicit(&wg_pq_ruled, memory_order_relaxed)) {                          \
        pq_count(WG_HOOK_##hook, counts);                                                     \
        wg_pq_depth++; /* libpq's calls to itself are not counted again */                    \
        __auto_type wg_r_ = call;                                                             \
        wg_pq_depth--;                                                                        \
        return wg_r_;                                                                         \
    }

static void pq_count(int hook, int counts)
{
    if (counts & PQ_CNT_HOOK)
        wg_count(hook);
    if (counts & PQ_CNT_QUERY)
        wg_count(WG_HOOK_PQ_QUERY);
}

static PGconn *pq_connected(PGconn *conn, const char *detail)
{
    struct wg_call c;
    struct wg_verdict v;

    pq_call(&c, WG_HOOK_PQ_CONNECT, conn, NULL, detail);
    if (conn && pq_eval2(&c, NULL, WG_AFTER, &v) && v.action == WG_ACT_FAIL_DISCONNECT)
        pq_disconnect(conn);
    return conn;
}

/* pq.connect before: a disconnect verdict applies once the socket exists. */
static int pq_connecting(const char *detail)
{
    struct wg_call c;
    struct wg_verdict v;

    pq_call(&c, WG_HOOK_PQ_CONNECT, NULL, NULL, detail);
    return wg_eval(&c, WG_BEFORE, &v) && v.action == WG_ACT_FAIL_DISCONNECT;
}

#define PQ_CONNECT_WRAP(name, params, args, redact)       \
    PQ_EXPORT PGconn *name params                         \
    {                                                     \
        PQ_FAST(PQ_CONNECT, PQ_CNT_HOOK, REAL(name) args) \
        char detail[512];                                 \
        redact;                                           \
        int drop = pq_connecting(detail);                 \
        wg_pq_depth++;                                    \
        PGconn *conn = REAL(name) args;                   \
        wg_pq_depth--;                                    \
        if (drop)                                         \
            pq_disconnect(conn);                          \
        return pq_connected(conn, detail);                \
    }

PQ_CONNECT_WRAP(PQconnectdb, (const char *conninfo), (conninfo),
                redact_conninfo(conninfo, detail, sizeof detail))
PQ_CONNECT_WRAP(PQconnectStart, (const char *conninfo), (conninfo),
                redact_conninfo(conninfo, detail, sizeof detail))
PQ_CONNECT_WRAP(PQconnectdbParams, (const char *const *k, const char *const *v, int expand),
                (k, v, expand), redact_conninfo_params(k, v, expand, detail, sizeof detail))
PQ_CONNECT_WRAP(PQconnectStartParams, (const char *const *k, const char *const *v, int expand),
                (k, v, expand), redact_conninfo_params(k, v, expand, detail, sizeof detail))

/* Argument packs for pq_sync / pq_send: one struct for every statement
 * API, so one runner per API can call the real function. */
struct pq_args {
    const char *sql, *name;
    int n;
    const Oid *types;
    const char *const *vals;
    const int *lens, *fmts;
    int rfmt;
};

static PGresult *pq_run_exec(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQexec)(c, a->sql);
}
static PGresult *pq_run_exec_params(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQexecParams)(c, a->sql, a->n, a->types, a->vals, a->lens, a->fmts, a->rfmt);
}
static PGresult *pq_run_exec_prepared(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQexecPrepared)(c, a->name, a->n, a->vals, a->lens, a->fmts, a->rfmt);
}
static PGresult *pq_run_prepare(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQprepare)(c, a->name, a->sql, a->n, a->types);
}
static int pq_run_send(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQsendQuery)(c, a->sql);
}
static int pq_run_send_params(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQsendQueryParams)(c, a->sql, a->n, a->types, a->vals, a->lens, a->fmts, a->rfmt);
}
static int pq_run_send_prepare(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQsendPrepare)(c, a->name, a->sql, a->n, a->types);
}
static int pq_run_send_prepared(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQsendQueryPrepared)(c, a->name, a->n, a->vals, a->lens, a->fmts, a->rfmt);
}

PQ_EXPORT PGresult *PQexec(PGconn *conn, const char *sql)
{
    PQ_FAST(PQ_EXEC, PQ_CNT_HOOK | PQ_CNT_QUERY, REAL(PQexec)(conn, sql))
    struct pq_args a = {.sql = sql};
    return pq_sync(conn, WG_HOOK_PQ_EXEC, 1, sql, pq_run_exec, &a);
}

PQ_EXPORT PGresult *PQexecParams(PGconn *conn, const char *sql, int n, const Oid *types,
                                 const char *const *vals, const int *lens, const int *fmts,
                                 int rfmt)
{
    PQ_FAST(PQ_EXEC, PQ_CNT_HOOK | PQ_CNT_QUERY,
            REAL(PQexecParams)(conn, sql, n, types, vals, lens, fmts, rfmt))
    struct pq_args a = {sql, NULL, n, types, vals, lens, fmts, rfmt};
    return pq_sync(conn, WG_HOOK_PQ_EXEC, 1, sql, pq_run_exec_params, &a);
}

PQ_EXPORT PGresult *PQexecPrepared(PGconn *conn, const char *name, int n, const char *const *vals,
                                   const int *lens, const int *fmts, int rfmt)
{
    PQ_FAST(PQ_EXEC, PQ_CNT_HOOK | PQ_CNT_QUERY,
            REAL(PQexecPrepared)(conn, name, n, vals, lens, fmts, rfmt))
    struct pq_args a = {NULL, name, n, NULL, vals, lens, fmts, rfmt};
    const char *sql = pq_prep_sql(pq_conn_get(conn, 0), name);
    return pq_sync(conn, WG_HOOK_PQ_EXEC, 1, sql, pq_run_exec_prepared, &a);
}

PQ_EXPORT PGresult *PQprepare(PGconn *conn, const char *name, const char *sql, int n,
                              const Oid *types)
{
    PQ_FAST(PQ_PREPARE, PQ_CNT_HOOK, REAL(PQprepare)(conn, name, sql, n, types))
    struct pq_args a = {sql, name, n, types, NULL, NULL, NULL, 0};
    pq_prep_set(pq_conn_get(conn, 1), name, sql);
    return pq_sync(conn, WG_HOOK_PQ_PREPARE, 0, sql, pq_run_prepare, &a);
}

PQ_EXPORT int PQsendQuery(PGconn *conn, const char *sql)
{
    PQ_FAST(PQ_SEND, PQ_CNT_HOOK | PQ_CNT_QUERY, REAL(PQsendQuery)(conn, sql))
    struct pq_args a = {.sql = sql};
    return pq_send(conn, 1, sql, pq_run_send, &a);
}

PQ_EXPORT int PQsendQueryParams(PGconn *conn, const char *sql, int n, const Oid *types,
                                const char *const *vals, const int *lens, const int *fmts, int rfmt)
{
    PQ_FAST(PQ_SEND, PQ_CNT_HOOK | PQ_CNT_QUERY,
            REAL(PQsendQueryParams)(conn, sql, n, types, vals, lens, fmts, rfmt))
    struct pq_args a = {sql, NULL, n, types, vals, lens, fmts, rfmt};
    return pq_send(conn, 1, sql, pq_run_send_params, &a);
}

PQ_EXPORT int PQsendPrepare(PGconn *conn, const char *name, const char *sql, int n,
                            const Oid *types)
{
    PQ_FAST(PQ_SEND, PQ_CNT_HOOK, REAL(PQsendPrepare)(conn, name, sql, n, types))
    struct pq_args a = {sql, name, n, types, NULL, NULL, NULL, 0};
    pq_prep_set(pq_conn_get(conn, 1), name, sql);
    return pq_send(conn, 0, sql, pq_run_send_prepare, &a);
}

PQ_EXPORT int PQsendQueryPrepared(PGconn *conn, const char *name, int n, const char *const *vals,
                                  const int *lens, const int *fmts, int rfmt)
{
    PQ_FAST(PQ_SEND, PQ_CNT_HOOK | PQ_CNT_QUERY,
            REAL(PQsendQueryPrepared)(conn, name, n, vals, lens, fmts, rfmt))
    struct pq_args a = {NULL, name, n, NULL, vals, lens, fmts, rfmt};
    const char *sql = pq_prep_sql(pq_conn_get(conn, 0), name);
    return pq_send(conn, 1, sql, pq_run_send_prepared, &a);
}

/* A Describe has a result and a NULL of its own: it takes a place in the
 * FIFO (pq.send, not pq.query), or its NULL would finish the statement
 * queued after it. */
static int pq_run_describe_prepared(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQsendDescribePrepared)(c, a->name);
}
static int pq_run_describe_portal(PGconn *c, const void *p)
{
    const struct pq_args *a = p;
    return REAL(PQsendDescribePortal)(c, a->name);
}

PQ_EXPORT int PQsendDescribePrepared(PGconn *conn, const char *name)
{
    PQ_FAST(PQ_SEND, PQ_CNT_HOOK, REAL(PQsendDescribePrepared)(conn, name))
    struct pq_args a = {.name = name};
    const char *sql = pq_prep_sql(pq_conn_get(conn, 0), name);
    return pq_send(conn, 0, sql, pq_run_describe_prepared, &a);
}

PQ_EXPORT int PQsendDescribePortal(PGconn *conn, const char *name)
{
    PQ_FAST(PQ_SEND, PQ_CNT_HOOK, REAL(PQsendDescribePortal)(conn, name))
    struct pq_args a = {.name = name};
    return pq_send(conn, 0, NULL, pq_run_describe_portal, &a);
}

/* A sync's result (PGRES_PIPELINE_SYNC) comes without a NULL: its place
 * in the FIFO keeps it from being taken for the next statement's.  No
 * hook: nothing is sent on its own (PQsendFlushRequest, which produces
 * no result, needs no place and no wrapper). */
PQ_EXPORT int PQpipelineSync(PGconn *conn)
{
    PQ_FAST(PQ_SEND, 0, REAL(PQpipelineSync)(conn))
    int ok = REAL(PQpipelineSync)(conn);
    if (ok)
        pq_push(pq_conn_get(conn, 1), NULL, PQ_SYNC);
    return ok;
}

/*
 * PQgetResult: pq.result before/after, for the statement at the front of
 * the connection's FIFO; when it returns NULL that statement is complete
 * and pq.query `after` fires.  An `after` fail sqlstate sends the raising
 * block then and hands back its error before the final NULL.  In pipeline
 * mode that is not possible: a block sent now would run after every
 * statement already queued (and after their sync, in another transaction),
 * so the rule is traced "skipped" with this reason instead.
 */
#define PQ_NO_AFTER_IN_PIPELINE                                                               \
    "pipeline mode: a raising block sent now would run after the statements already queued, " \
    "not in this one's place (use fail sqlstate before pq.query)"

PQ_EXPORT PGresult *PQgetResult(PGconn *conn)
{
    PQ_FAST(PQ_RESULT, PQ_CNT_HOOK, REAL(PQgetResult)(conn))
    struct pq_conn *pc = pq_conn_get(conn, 0);
    struct pq_stmt *st = pq_front(pc);
    const char *sql = st ? st->sql : NULL;
    struct wg_call cr, cq;
    struct wg_verdict v;
    PGresult *res;

    pq_call(&cr, WG_HOOK_PQ_RESULT, conn, sql, sql);
    if (wg_eval(&cr, WG_BEFORE, &v) && v.action == WG_ACT_FAIL_DISCONNECT)
        pq_disconnect(conn);
    wg_pq_depth++;
    res = REAL(PQgetResult)(conn);
    wg_pq_depth--;

    if (res && st && REAL(PQresultStatus)(res) == PGRES_PIPELINE_SYNC) {
        /* A sync ends the run of what was queued before it (all of it
         * done, or skipped after an error): drop up to the sync. */
        enum pq_kind k;
        do {
            k = pq_front(pc)->kind;
            pq_pop(pc);
        } while (k != PQ_SYNC && pq_front(pc));
        sql = NULL; /* freed with its entry */
        cr.sql = cr.detail = NULL;
    } else if (!res && st && st->kind != PQ_SYNC) {
        int is_query = st->kind == PQ_QUERY, verdict = 0;
        pq_call(&cq, WG_HOOK_PQ_QUERY, conn, sql, sql);
        if (is_query && (wg_after_hooks >> WG_HOOK_PQ_QUERY & 1)) {
            if (REAL(PQpipelineStatus)(conn) != PQ_PIPELINE_OFF)
                cq.no_sqlstate = PQ_NO_AFTER_IN_PIPELINE;
            verdict = wg_eval(&cq, WG_AFTER, &v);
        }
        if (verdict && v.action == WG_ACT_FAIL_SQLSTATE && pq_send_raise(conn, v.sqlstate)) {
            pq_push(pc, sql, PQ_OTHER); /* the raising block's own NULL pops it */
            wg_pq_depth++;
            res = REAL(PQgetResult)(conn);
            wg_pq_depth--;
        } else if (verdict && v.action == WG_ACT_FAIL_DISCONNECT) {
            pq_disconnect(conn);
        }
        pq_pop(pc); /* `sql` is freed here: the statement is done */
        sql = NULL;
        cr.sql = cr.detail = NULL;
    }
    if (pq_eval2(&cr, NULL, WG_AFTER, &v) && v.action == WG_ACT_FAIL_DISCONNECT)
        pq_disconnect(conn);
    return res;
}

PQ_EXPORT void PQfinish(PGconn *conn)
{
    if (!atomic_load_explicit(&wg_armed[WG_HOOK_PQ_FINISH], memory_order_relaxed) || wg_in_shim ||
        wg_pq_depth) {
        REAL(PQfinish)(conn);
        return;
    }
    if (!atomic_load_explicit(&wg_pq_ruled, memory_order_relaxed)) { /* tracing only */
        wg_count(WG_HOOK_PQ_FINISH);
        wg_pq_depth++;
        REAL(PQfinish)(conn);
        wg_pq_depth--;
        return;
    }
    struct wg_call c;
    struct wg_verdict v;

    pq_call(&c, WG_HOOK_PQ_FINISH, conn, NULL, NULL);
    wg_eval(&c, WG_BEFORE, &v);
    pq_conn_drop(conn);
    wg_pq_depth++;
    REAL(PQfinish)(conn);
    wg_pq_depth--;
}

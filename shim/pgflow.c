/*
 * pgflow.c - what the messages of a decoded PostgreSQL session mean
 * (pgsess_int.h): the statements a client sends and the events they
 * raise, and the queue that pairs each answer from the server with the
 * message it answers.
 *
 * pq.query fires `before` the send that carries a simple Query or an
 * Execute (the statement of the portal it runs: Parse and Bind name it),
 * and `after` the statement's answer: CommandComplete, EmptyQueryResponse
 * or PortalSuspended for an Execute, ReadyForQuery for a Query (and for
 * every Execute a server error skipped).  pq.connect fires before the
 * StartupMessage and after the first ReadyForQuery; pq.finish before
 * Terminate.  The queue holds every message that gets an answer of its
 * own (Parse, Bind, Close, Execute, Sync, Query, FunctionCall), so the
 * answers to the shim's own messages (a replaced statement) are known by
 * their place, and taken out before the program reads them.
 */
#include "hooks.h"
#include "pgsess_int.h"

#include <stdio.h>
#include <string.h>

#define PGS_NO_STATEMENT "this hook has no statement to put the error in place of (use pq.query)"
#define PGS_NO_AFTER                                                                     \
    "on a session decoded on the wire the statement's results are already on their way " \
    "to the program (use fail sqlstate before pq.query)"
/* The shim's prepared statement: closed before it is parsed again, so a
 * session holds at most one. */
#define PGS_OURS_NAME "wedge_inject"

/* ---------------------------------------------------------------
 * The queue and the statement texts it holds.
 * ------------------------------------------------------------ */
static unsigned char pgs_sql_put(struct pgs_session *s, const char *sql)
{
    if (!sql)
        return PGS_NO_SQL;
    for (unsigned i = 0; i < PGS_SQL; i++)
        if (!s->sql_used[i]) {
            s->sql_used[i] = 1;
            snprintf(s->sql[i], sizeof s->sql[i], "%s", sql);
            return (unsigned char)i;
        }
    return PGS_NO_SQL; /* more statements pending than texts kept: no text */
}

static void pgs_push(struct pgs_session *s, enum pgs_kind kind, const char *sql)
{
    struct pgs_entry *e;

    if (s->lost)
        return;
    if (s->n == PGS_FIFO) {
        pgs_lose(s, "more messages awaiting an answer than the decoder follows");
        return;
    }
    e = &s->fifo[(s->head + s->n++) % PGS_FIFO];
    e->kind = (unsigned char)kind;
    e->sql = kind == PGS_QUERY || kind == PGS_EXEC ? pgs_sql_put(s, sql) : PGS_NO_SQL;
}

static const struct pgs_entry *pgs_head(const struct pgs_session *s)
{
    return s->n ? &s->fifo[s->head] : NULL;
}

/* Take the head off; its statement text (if any) into sql. */
static enum pgs_kind pgs_pop(struct pgs_session *s, char *sql, size_t len)
{
    struct pgs_entry *e = &s->fifo[s->head];

    sql[0] = '\0';
    if (e->sql != PGS_NO_SQL) {
        snprintf(sql, len, "%s", s->sql[e->sql]);
        s->sql_used[e->sql] = 0;
    }
    s->head = (s->head + 1) % PGS_FIFO;
    s->n--;
    if (e->kind == PGS_OURS_BIND && s->inflight)
        s->inflight--;
    return (enum pgs_kind)e->kind;
}

void pgs_flow_reset(struct pgs_session *s)
{
    s->head = s->n = 0;
    memset(s->sql_used, 0, sizeof s->sql_used);
    for (unsigned i = 0; i < PGS_PREPARED; i++)
        s->prep[i].used = 0;
    for (unsigned i = 0; i < PGS_PORTALS; i++)
        s->portal[i].used = 0;
    s->inflight = 0;
}

/* ---------------------------------------------------------------
 * Prepared statements and portals, by name.
 * ------------------------------------------------------------ */
static struct pgs_named *pgs_find(struct pgs_named *t, unsigned n, const char *name, size_t len)
{
    for (unsigned i = 0; i < n; i++)
        if (t[i].used && strlen(t[i].name) == len && !memcmp(t[i].name, name, len))
            return &t[i];
    return NULL;
}

/* Set name -> sql, taking the least recently set slot when all are used. */
static void pgs_name(struct pgs_session *s, struct pgs_named *t, unsigned n, const char *name,
                     size_t len, const char *sql)
{
    struct pgs_named *slot = pgs_find(t, n, name, len);

    if (len >= PGW_NAME_MAX)
        return; /* longer than any name the server accepts */
    for (unsigned i = 0; !slot && i < n; i++)
        if (!t[i].used)
            slot = &t[i];
    if (!slot) {
        slot = &t[0];
        for (unsigned i = 1; i < n; i++)
            if (t[i].used < slot->used)
                slot = &t[i];
    }
    memcpy(slot->name, name, len);
    slot->name[len] = '\0';
    snprintf(slot->sql, sizeof slot->sql, "%s", sql ? sql : "");
    if (++s->tick == 0)
        s->tick = 1;
    slot->used = s->tick;
}

/* A statement text cut to what sql ~ sees. */
static void pgs_text(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* ---------------------------------------------------------------
 * Events.
 * ------------------------------------------------------------ */
static int pgs_event(struct pgs_session *s, int hook, enum wg_when when, const char *sql,
                     const char *detail, const char *no_sqlstate, struct wg_verdict *v)
{
    struct wg_call c = {.hook = hook,
                        .fd = s->fd,
                        .sql = sql,
                        .conn = s, /* the session, as a PGconn is for libpq */
                        .detail = detail,
                        .no_sqlstate = no_sqlstate};
    int r;

    if (when == WG_AFTER && !(wg_after_hooks >> hook & 1))
        return 0;
    pgs_unlock(s);
    r = wg_eval(&c, when, v);
    pgs_lock(s);
    return r;
}

/* ---------------------------------------------------------------
 * The replacement: a statement that raises the injected SQLSTATE.
 * ------------------------------------------------------------ */
struct pgs_out {
    char *p;
    size_t len, cap;
    int full;
};

static void pgs_put(struct pgs_out *o, const void *b, size_t n)
{
    if (o->full || o->len + n > o->cap) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, b, n);
    o->len += n;
}

/* Type byte and length of the message whose body follows from `at`. */
static void pgs_frame(struct pgs_out *o, size_t at)
{
    uint32_t len = (uint32_t)(o->len - at - 1);
    unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len};
    if (!o->full)
        memcpy(o->p + at + 1, be, 4);
}

static size_t pgs_begin(struct pgs_out *o, char type)
{
    size_t at = o->len;
    pgs_put(o, &type, 1);
    pgs_put(o, "\0\0\0\0", 4);
    return at;
}

/* Query(DO block), or Close + Parse + Bind + Execute of the DO block in
 * the extended protocol.  0, or -1 when it does not fit. */
static int pgs_replacement(struct pgs_session *s, const char *state, int extended)
{
    struct pgs_out o = {s->rw, 0, sizeof s->rw, 0};
    char sql[160];
    size_t at;

    wg_pq_raise_sql(state, sql, sizeof sql);
    if (!extended) {
        at = pgs_begin(&o, 'Q');
        pgs_put(&o, sql, strlen(sql) + 1);
        pgs_frame(&o, at);
    } else {
        at = pgs_begin(&o, 'C');
        pgs_put(&o, "S" PGS_OURS_NAME, sizeof PGS_OURS_NAME + 1);
        pgs_frame(&o, at);
        at = pgs_begin(&o, 'P');
        pgs_put(&o, PGS_OURS_NAME, sizeof PGS_OURS_NAME);
        pgs_put(&o, sql, strlen(sql) + 1);
        pgs_put(&o, "\0\0", 2); /* no parameter types */
        pgs_frame(&o, at);
        at = pgs_begin(&o, 'B');
        pgs_put(&o, "", 1); /* the unnamed portal */
        pgs_put(&o, PGS_OURS_NAME, sizeof PGS_OURS_NAME);
        pgs_put(&o, "\0\0\0\0\0\0", 6); /* no formats, no parameters, no result formats */
        pgs_frame(&o, at);
        at = pgs_begin(&o, 'E');
        pgs_put(&o, "\0\0\0\0\0", 5); /* the unnamed portal, all rows */
        pgs_frame(&o, at);
    }
    if (o.full)
        return -1;
    s->rw_len = (uint16_t)o.len;
    return 0;
}

/* Why fail sqlstate cannot replace the statement m here, or NULL. */
static const char *pgs_why_not(const struct pgs_session *s, const struct pgw_msg *m,
                               const struct pgs_front_ctx *ctx)
{
    if (!ctx->can_rewrite)
        return ctx->why_not;
    if (m->start < ctx->call_start)
        return "the statement was partly sent by an earlier call";
    if (s->rw_pending)
        return "another injected error is still being sent on this session";
    if (s->inflight >= PGS_INFLIGHT)
        return "4 injected errors are still unanswered on this session";
    return NULL;
}

/* The before event of a statement (Query or Execute), and what it asks. */
static void pgs_statement(struct pgs_session *s, const struct pgw_msg *m, const char *sql,
                          struct pgs_front_ctx *ctx)
{
    struct wg_verdict v;
    const char *why = pgs_why_not(s, m, ctx);
    int extended = m->type == 'E';

    if (pgs_event(s, WG_HOOK_PQ_QUERY, WG_BEFORE, sql, sql, why, &v)) {
        if (v.action == WG_ACT_FAIL_DISCONNECT) {
            ctx->disconnect = 1;
        } else if (v.action == WG_ACT_FAIL_SQLSTATE &&
                   pgs_replacement(s, v.sqlstate, extended) == 0) {
            s->rw_pending = 1;
            s->rw_a = m->start;
            s->rw_b = m->end;
            if (extended) {
                pgs_push(s, PGS_OURS_CLOSE, NULL);
                pgs_push(s, PGS_OURS_PARSE, NULL);
                pgs_push(s, PGS_OURS_BIND, NULL);
                s->inflight++;
            }
        }
    }
    pgs_push(s, extended ? PGS_EXEC : PGS_QUERY, sql);
}

/* ---------------------------------------------------------------
 * Client messages.
 * ------------------------------------------------------------ */
static void pgs_startup(struct pgs_session *s, const struct pgw_msg *m, struct pgs_front_ctx *ctx)
{
    const char *k, *val;
    size_t kl, vl, o = 0;
    uint32_t pos = 0;
    struct wg_verdict v;

    if (m->code == PGW_SSL_REQ || m->code == PGW_GSSENC_REQ) {
        s->back.state = PGW_ANSWER;
        return;
    }
    if (m->code == PGW_CANCEL_REQ) {
        s->lost = 1; /* a cancel connection carries no statement: nothing to say */
        return;
    }
    s->who[0] = '\0';
    while (pgw_cstr(m, &pos, &k, &kl) == 1 && kl > 0 && pgw_cstr(m, &pos, &val, &vl) == 1)
        if ((kl == 4 && !memcmp(k, "user", 4)) || (kl == 8 && !memcmp(k, "database", 8)))
            o += (size_t)snprintf(s->who + o, o < sizeof s->who ? sizeof s->who - o : 0,
                                  "%s%.*s=%.*s", o ? " " : "", (int)kl, k, (int)vl, val);
    if (o >= sizeof s->who)
        s->who[sizeof s->who - 1] = '\0';
    if (pgs_event(s, WG_HOOK_PQ_CONNECT, WG_BEFORE, NULL, s->who, PGS_NO_STATEMENT, &v) &&
        v.action == WG_ACT_FAIL_DISCONNECT)
        ctx->disconnect = 1;
    pgs_push(s, PGS_STARTUP, NULL);
}

void pgs_front_msg(struct pgs_session *s, const struct pgw_msg *m, struct pgs_front_ctx *ctx)
{
    char sql[PGW_SQL_MAX], sql2[PGW_SQL_MAX];
    const char *a, *b;
    size_t al, bl;
    uint32_t pos = 0;
    struct pgs_named *n;
    struct wg_verdict v;

    switch (m->type) {
    case 0:
        pgs_startup(s, m, ctx);
        return;
    case 'Q':
        if (pgw_cstr(m, &pos, &a, &al) < 0)
            al = 0, a = "";
        pgs_text(sql, sizeof sql, a, al);
        pgs_statement(s, m, sql, ctx);
        return;
    case 'P': /* name, statement */
        if (pgw_cstr(m, &pos, &a, &al) != 1 || pgw_cstr(m, &pos, &b, &bl) < 0)
            break;
        pgs_text(sql, sizeof sql, b, bl);
        pgs_name(s, s->prep, PGS_PREPARED, a, al, sql);
        pgs_push(s, PGS_PARSE, NULL);
        return;
    case 'B': /* portal, statement */
        if (pgw_cstr(m, &pos, &a, &al) != 1 || pgw_cstr(m, &pos, &b, &bl) != 1)
            break;
        n = pgs_find(s->prep, PGS_PREPARED, b, bl);
        pgs_name(s, s->portal, PGS_PORTALS, a, al, n ? n->sql : NULL);
        pgs_push(s, PGS_BIND, NULL);
        return;
    case 'E': /* portal */
        if (pgw_cstr(m, &pos, &a, &al) != 1)
            break;
        n = pgs_find(s->portal, PGS_PORTALS, a, al);
        snprintf(sql2, sizeof sql2, "%s", n ? n->sql : "");
        pgs_statement(s, m, sql2[0] ? sql2 : NULL, ctx);
        return;
    case 'C': /* 'S' statement or 'P' portal, name */
        pos = 1;
        if (m->cap_len >= 1 && pgw_cstr(m, &pos, &a, &al) == 1) {
            n = m->body[0] == 'S' ? pgs_find(s->prep, PGS_PREPARED, a, al)
                                  : pgs_find(s->portal, PGS_PORTALS, a, al);
            if (n)
                n->used = 0;
        }
        pgs_push(s, PGS_CLOSE, NULL);
        return;
    case 'S':
        pgs_push(s, PGS_SYNC, NULL);
        return;
    case 'F':
        pgs_push(s, PGS_FUNC, NULL);
        return;
    case 'X':
        if (pgs_event(s, WG_HOOK_PQ_FINISH, WG_BEFORE, NULL, s->who, PGS_NO_STATEMENT, &v) &&
            v.action == WG_ACT_FAIL_DISCONNECT)
            ctx->disconnect = 1;
        return;
    default:
        return; /* Describe, Flush, COPY data, passwords: no answer of their own */
    }
    pgs_lose(s, "a client message without the names it must carry");
}

/* ---------------------------------------------------------------
 * Server messages.
 * ------------------------------------------------------------ */
int pgs_back_is_ours(const struct pgs_session *s, char type)
{
    const struct pgs_entry *e = pgs_head(s);

    if (!e)
        return 0;
    return (type == '1' && e->kind == PGS_OURS_PARSE) ||
           (type == '2' && e->kind == PGS_OURS_BIND) || (type == '3' && e->kind == PGS_OURS_CLOSE);
}

/* Pop the head, and raise the after event its answer completes. */
static enum pgs_kind pgs_finish(struct pgs_session *s, int *disconnect)
{
    char sql[PGW_SQL_MAX];
    struct wg_verdict v;
    enum pgs_kind k = pgs_pop(s, sql, sizeof sql);
    int hook = k == PGS_STARTUP                  ? WG_HOOK_PQ_CONNECT
               : k == PGS_QUERY || k == PGS_EXEC ? WG_HOOK_PQ_QUERY
                                                 : -1;

    if (hook >= 0 &&
        pgs_event(s, hook, WG_AFTER, sql[0] ? sql : NULL, hook == WG_HOOK_PQ_CONNECT ? s->who : sql,
                  hook == WG_HOOK_PQ_CONNECT ? PGS_NO_STATEMENT : PGS_NO_AFTER, &v) &&
        v.action == WG_ACT_FAIL_DISCONNECT)
        *disconnect = 1;
    return k;
}

/* 1 when the head of the queue is one of the kinds in `kinds`. */
static int pgs_head_is(const struct pgs_session *s, const char *kinds)
{
    const struct pgs_entry *e = pgs_head(s);
    return e && memchr(kinds, e->kind, strlen(kinds)) != NULL;
}

void pgs_back_msg(struct pgs_session *s, const struct pgw_msg *m, int *disconnect)
{
    static const char parse[] = {PGS_PARSE, PGS_OURS_PARSE, 0},
                      bind[] = {PGS_BIND, PGS_OURS_BIND, 0};
    static const char close[] = {PGS_CLOSE, PGS_OURS_CLOSE, 0}, exec[] = {PGS_EXEC, 0};
    static const char to_ready[] = {PGS_QUERY, PGS_FUNC, PGS_STARTUP, 0};
    enum pgs_kind k;

    switch (m->type) {
    case '1':
    case '2':
    case '3':
        if (!pgs_head_is(s, m->type == '1' ? parse : m->type == '2' ? bind : close))
            break;
        pgs_finish(s, disconnect);
        return;
    case 'C':
    case 'I':
    case 's':
        if (pgs_head_is(s, exec))
            pgs_finish(s, disconnect);
        else if (!pgs_head_is(s, to_ready))
            break;
        return;
    case 'E':
        /* In a Query (or before the session is up) the error is one of its
         * results; elsewhere the server skips everything up to the Sync. */
        if (pgs_head_is(s, to_ready))
            return;
        while (s->n && !s->lost && pgs_head(s)->kind != PGS_SYNC)
            pgs_finish(s, disconnect);
        return;
    case 'Z':
        while (s->n && !s->lost) {
            k = pgs_finish(s, disconnect);
            if (k == PGS_SYNC || k == PGS_QUERY || k == PGS_FUNC || k == PGS_STARTUP)
                break;
        }
        return;
    default:
        return; /* rows, descriptions, notices, COPY: no entry of their own */
    }
    pgs_lose(s, "an answer the decoder did not expect there");
}

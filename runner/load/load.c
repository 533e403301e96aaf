/*
 * load.c - virtual users over libcurl (HTTP) and libpq (SQL transactions),
 * one thread each.  What a user sends next, how a request is built and
 * how its response is judged is reqflow.h's; httpc.h moves the bytes.
 */
#include "load.h"
#include "httpc.h"
#include "jsonw.h"
#include "timeunit.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOAD_FLUSH_BYTES (64 * 1024)
/* ...or this old: history.jsonl shows a slow run's progress too. */
#define LOAD_FLUSH_NS (250 * NS_PER_MS)

enum load_outcome { OUT_OK = RF_OK, OUT_FAIL = RF_FAIL, OUT_INFO = RF_INFO };
static const char *const load_type[] = {"ok", "fail", "info"};

/* Per request class; guarded by the user's mutex. */
struct load_cls {
    uint64_t ok, fail, info, retries, scenario_info;
    char first_error[sizeof(((struct rf_result *)0)->reason)];
    struct hist *lat;
};

struct load_user {
    struct load *l;
    long id;
    pthread_t th;
    int started;
    atomic_int done;
    uint64_t seq;
    struct rf_user rf; /* its place in the mix or a flow, its captured values */
    struct httpc http;
    int http_ready;
    PGconn *pg;

    /* The supervisor reads these while the user runs: under mu. */
    pthread_mutex_t mu;
    struct load_cls *cls; /* [nrequests] */
    struct hist *interval;
    uint64_t i_requests, i_errors;

    /* history lines, flushed under l->hist_mu */
    FILE *hbuf;
    char *hbuf_data;
    size_t hbuf_size;
    uint64_t flushed_ns;
};

struct load {
    struct load_cfg cfg;
    const struct scenario *scn;
    struct rf_ctx rf;
    uint64_t t0, deadline;
    double t0_unix;            /* the wall clock read together with t0 */
    atomic_uint_fast64_t next; /* next iteration / arrival number */
    atomic_int stop;
    FILE *history;
    pthread_mutex_t hist_mu;
    struct load_user *users;
    unsigned nusers;
    uint64_t total, total_errors;
};

/* ---------------------------------------------------------------
 * History.
 * ------------------------------------------------------------ */
static void load_flush(struct load_user *u, int force)
{
    uint64_t now = util_now_ns();
    fflush(u->hbuf);
    if (!u->hbuf_size ||
        (!force && u->hbuf_size < LOAD_FLUSH_BYTES && now - u->flushed_ns < LOAD_FLUSH_NS))
        return;
    u->flushed_ns = now;
    pthread_mutex_lock(&u->l->hist_mu);
    fwrite(u->hbuf_data, 1, u->hbuf_size, u->l->history);
    fflush(u->l->history);
    pthread_mutex_unlock(&u->l->hist_mu);
    rewind(u->hbuf);
    fflush(u->hbuf);
}

static void load_hist_invoke(struct load_user *u, uint64_t t, const struct scn_request *r)
{
    fprintf(u->hbuf,
            "{\"t_ns\":%" PRIu64 ",\"user\":%ld,\"seq\":%" PRIu64 ",\"type\":\"invoke\",\"req\":",
            t - u->l->t0, u->id, u->seq);
    jw_string(u->hbuf, r->label);
    fputs("}\n", u->hbuf);
}

static void load_hist_outcome(struct load_user *u, uint64_t t, const struct scn_request *r,
                              enum load_outcome o, long status, uint64_t lat, unsigned tries,
                              const char *error)
{
    fprintf(u->hbuf,
            "{\"t_ns\":%" PRIu64 ",\"user\":%ld,\"seq\":%" PRIu64 ",\"type\":\"%s\",\"req\":",
            t - u->l->t0, u->id, u->seq, load_type[o]);
    jw_string(u->hbuf, r->label);
    fprintf(u->hbuf, ",\"status\":%ld,\"latency_ns\":%" PRIu64 ",\"tries\":%u,\"error\":", status,
            lat, tries);
    if (error)
        jw_string(u->hbuf, error);
    else
        fputs("null", u->hbuf);
    fputs("}\n", u->hbuf);
    load_flush(u, 0);
}

/* ---------------------------------------------------------------
 * HTTP.
 * ------------------------------------------------------------ */
static void load_http(struct load_user *u, int k, long *status, struct rf_result *res)
{
    const struct scenario *s = u->l->scn;
    struct rf_req q;
    struct rf_resp resp;
    char err[256];
    int ours = 0;

    *status = 0;
    if (!u->http_ready) {
        if (httpc_init(&u->http, (long)(s->request_timeout_ns / NS_PER_MS)) < 0) {
            rf_fault(res, "curl_easy_init failed");
            res->scenario_fault = 0;
            return;
        }
        u->http_ready = 1;
    }
    if (rf_build(&u->l->rf, &u->rf, k, &q, err, sizeof(err)) < 0) {
        rf_fault(res, err);
        return;
    }
    if (httpc_do(&u->http, &q, &resp, &ours) < 0 && ours)
        rf_fault(res, resp.error);
    else
        rf_judge(&u->l->rf, &u->rf, k, &resp, res, NULL);
    *status = resp.status;
    rf_req_free(&q);
}

/* ---------------------------------------------------------------
 * SQL transactions.
 * ------------------------------------------------------------ */
static int load_pg_connect(struct load_user *u, char *err, size_t errlen)
{
    long ms = (long)(u->l->cfg.scn->request_timeout_ns / 1000000u);
    char *sql;
    PGresult *res;
    if (u->pg && PQstatus(u->pg) == CONNECTION_OK)
        return 0;
    PQfinish(u->pg);
    u->pg = PQconnectdb(u->l->cfg.dsn);
    if (PQstatus(u->pg) != CONNECTION_OK) {
        snprintf(err, errlen, "connect: %s", PQerrorMessage(u->pg));
        err[strcspn(err, "\n")] = '\0';
        PQfinish(u->pg);
        u->pg = NULL;
        return -1;
    }
    /* No statement may outlive the request timeout: a lock wait ends. */
    sql = util_fmt("SET statement_timeout = %ld", ms > 0 ? ms : 5000L);
    res = PQexec(u->pg, sql);
    PQclear(res);
    free(sql);
    return 0;
}

static int load_sql_wraps(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n')
        sql++;
    return strncasecmp(sql, "BEGIN", 5) && strncasecmp(sql, "START", 5);
}

/* Run one statement string; 1 on success, else 0 with the SQLSTATE. */
static int load_pg_exec(PGconn *c, const char *sql, char *state, char *err, size_t errlen)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
    if (!ok) {
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(state, 6, "%s", s ? s : "");
        snprintf(err, errlen, "%s%s%s", state, state[0] ? ": " : "", PQerrorMessage(c));
        err[strcspn(err, "\n")] = '\0';
    } else if (!strcmp(PQcmdStatus(res), "ROLLBACK") && strncasecmp(sql, "ROLLBACK", 8)) {
        /* COMMIT of a transaction that had failed */
        snprintf(state, 6, "25P02");
        snprintf(err, errlen, "transaction rolled back");
        ok = 0;
    }
    PQclear(res);
    return ok;
}

static enum load_outcome load_sql(struct load_user *u, int k, unsigned *tries, uint64_t *retries,
                                  char *err, size_t errlen)
{
    unsigned max = u->l->cfg.scn->max_tries ? u->l->cfg.scn->max_tries : 1;
    char *sql = rf_sql(&u->l->rf, &u->rf, k, err, errlen);
    enum load_outcome o = OUT_INFO;
    int wrap = sql && load_sql_wraps(sql);
    char state[6];

    *tries = 0;
    if (!sql || load_pg_connect(u, err, errlen) < 0)
        goto out;
    while (*tries < max) {
        int ok;
        (*tries)++;
        state[0] = '\0';
        ok = (!wrap || load_pg_exec(u->pg, "BEGIN", state, err, errlen)) &&
             load_pg_exec(u->pg, sql, state, err, errlen) &&
             (!wrap || load_pg_exec(u->pg, "COMMIT", state, err, errlen));
        if (PQstatus(u->pg) != CONNECTION_OK) {
            o = OUT_INFO; /* the connection dropped: did it commit? unknown */
            goto out;
        }
        if (ok) {
            o = OUT_OK;
            goto out;
        }
        if (PQtransactionStatus(u->pg) != PQTRANS_IDLE)
            PQclear(PQexec(u->pg, "ROLLBACK"));
        o = OUT_FAIL;
        if (strcmp(state, "40001") && strcmp(state, "40P01"))
            goto out;
        if (*tries < max)
            (*retries)++;
    }
out:
    free(sql);
    return o;
}

/* ---------------------------------------------------------------
 * The users.
 * ------------------------------------------------------------ */
/* Sleep until t (monotonic ns) unless told to stop; 0 when t was reached. */
static int load_sleep_until(struct load *l, uint64_t t)
{
    for (;;) {
        uint64_t now = util_now_ns();
        if (atomic_load(&l->stop))
            return -1;
        if (now >= t)
            return 0;
        util_sleep_ns(t - now > 50000000u ? 50000000u : t - now);
    }
}

/* The due time of the user's next iteration (an arrival in the open
 * model); -1 when the load is over for it. */
static int load_begin(struct load_user *u, uint64_t *due)
{
    struct load *l = u->l;
    if (l->cfg.rate > 0) {
        uint64_t k = atomic_fetch_add(&l->next, 1);
        *due = l->t0 + (uint64_t)((double)k * (double)NS_PER_S / l->cfg.rate);
        if ((l->cfg.iterations && k >= l->cfg.iterations) ||
            (l->cfg.duration_ns && *due >= l->deadline) || load_sleep_until(l, *due) < 0)
            return -1;
        return 0;
    }
    if (l->cfg.iterations && atomic_fetch_add(&l->next, 1) >= l->cfg.iterations)
        return -1;
    *due = util_now_ns();
    return l->cfg.duration_ns && *due >= l->deadline ? -1 : 0;
}

static void load_count(struct load_user *u, int cls, const struct rf_result *res, uint64_t lat,
                       uint64_t retries)
{
    struct load_cls *c = &u->cls[cls];
    pthread_mutex_lock(&u->mu);
    hist_record(c->lat, lat);
    hist_record(u->interval, lat);
    c->retries += retries;
    c->ok += res->outcome == RF_OK;
    c->fail += res->outcome == RF_FAIL;
    c->info += res->outcome == RF_INFO;
    c->scenario_info += res->scenario_fault;
    if (res->outcome != RF_OK && !c->first_error[0])
        snprintf(c->first_error, sizeof(c->first_error), "%s",
                 res->reason[0] ? res->reason : load_type[res->outcome]);
    u->i_requests++;
    u->i_errors += res->outcome != RF_OK;
    pthread_mutex_unlock(&u->mu);
}

static void *load_user_main(void *arg)
{
    struct load_user *u = arg;
    struct load *l = u->l;

    while (!atomic_load(&l->stop)) {
        const struct scn_request *r;
        uint64_t due, end, retries = 0;
        unsigned tries = 1;
        long status = 0;
        struct rf_result res = {0};
        int k;

        if (!rf_in_flow(&u->rf)) {
            if (load_begin(u, &due) < 0)
                break;
        } else if ((due = util_now_ns()) >= l->deadline && l->cfg.duration_ns) {
            break; /* a flow's next step is not sent after the load's end */
        }
        k = rf_next(&u->rf, l->scn);
        r = &l->scn->requests[k];
        load_hist_invoke(u, util_now_ns(), r);
        if (r->kind == SCN_REQ_HTTP) {
            load_http(u, k, &status, &res);
        } else {
            res.outcome = (enum rf_outcome)load_sql(u, k, &tries, &retries, res.reason,
                                                    sizeof(res.reason));
        }
        end = util_now_ns();
        load_hist_outcome(u, end, r, (enum load_outcome)res.outcome, status, end - due, tries,
                          res.reason[0] ? res.reason : NULL);
        u->seq++;
        load_count(u, k, &res, end - due, retries);
        rf_advance(&u->rf, l->scn, res.outcome);
    }
    load_flush(u, 1);
    atomic_store(&u->done, 1);
    return NULL;
}

/* ---------------------------------------------------------------
 * The supervisor's side.
 * ------------------------------------------------------------ */
int load_start(struct load **out, const struct load_cfg *cfg, char *err, size_t errlen)
{
    struct load *l = calloc(1, sizeof(*l));
    int nreq = cfg->scn->nrequests;
    if (!l)
        abort();
    *out = l;
    l->cfg = *cfg;
    l->scn = cfg->scn;
    l->rf.s = cfg->scn;
    l->rf.base_url = cfg->base_url;
    l->rf.exp = cfg->exp;
    pthread_mutex_init(&l->hist_mu, NULL);
    l->history = fopen(cfg->history_path, "ae");
    if (!l->history) {
        snprintf(err, errlen, "%s: %s", cfg->history_path, strerror(errno));
        return -1;
    }
    /* t_ns = 0 of history.jsonl, on both clocks: the report places the
     * shim's CLOCK_REALTIME trace times on the load's timeline with it. */
    l->t0_unix = util_wall_s();
    l->t0 = util_now_ns();
    l->deadline = l->t0 + cfg->duration_ns;
    if (!nreq)
        return 0;
    l->nusers = cfg->users ? cfg->users : 1;
    l->users = calloc(l->nusers, sizeof(*l->users));
    if (!l->users)
        abort();
    for (unsigned i = 0; i < l->nusers; i++) {
        struct load_user *u = &l->users[i];
        u->l = l;
        u->id = (long)i;
        if (rf_user_init(&u->rf, cfg->scn, util_mix(cfg->seed, i), (long)i) < 0)
            abort();
        pthread_mutex_init(&u->mu, NULL);
        u->cls = calloc((size_t)nreq, sizeof(*u->cls));
        u->interval = hist_new();
        u->hbuf = open_memstream(&u->hbuf_data, &u->hbuf_size);
        if (!u->cls || !u->interval || !u->hbuf)
            abort();
        for (int k = 0; k < nreq; k++)
            u->cls[k].lat = hist_new();
    }
    for (unsigned i = 0; i < l->nusers; i++) {
        int rc = pthread_create(&l->users[i].th, NULL, load_user_main, &l->users[i]);
        if (rc) {
            snprintf(err, errlen, "cannot start user %u: %s", i, strerror(rc));
            load_stop(l);
            return -1;
        }
        l->users[i].started = 1;
    }
    return 0;
}

int load_done(struct load *l)
{
    for (unsigned i = 0; i < l->nusers; i++)
        if (l->users[i].started && !atomic_load(&l->users[i].done))
            return 0;
    return 1;
}

void load_stop(struct load *l)
{
    atomic_store(&l->stop, 1);
}

int load_join(struct load *l, uint64_t timeout_ns)
{
    uint64_t deadline = util_now_ns() + timeout_ns;
    int rc = 0;
    while (!load_done(l) && util_now_ns() < deadline)
        util_sleep_ns(10000000u);
    for (unsigned i = 0; i < l->nusers; i++) {
        struct load_user *u = &l->users[i];
        if (!u->started)
            continue;
        if (atomic_load(&u->done)) {
            pthread_join(u->th, NULL);
        } else {
            /* Stuck past every timeout: leave it, never hang the run. */
            pthread_detach(u->th);
            rc = -1;
        }
        u->started = atomic_load(&u->done) ? 0 : -1;
    }
    if (l->history)
        fflush(l->history);
    return rc;
}

void load_interval(struct load *l, struct load_progress *p)
{
    struct hist *h = hist_new();
    memset(p, 0, sizeof(*p));
    for (unsigned i = 0; i < l->nusers; i++) {
        struct load_user *u = &l->users[i];
        pthread_mutex_lock(&u->mu);
        hist_merge(h, u->interval);
        hist_reset(u->interval);
        p->requests += u->i_requests;
        p->errors += u->i_errors;
        u->i_requests = u->i_errors = 0;
        pthread_mutex_unlock(&u->mu);
    }
    l->total += p->requests;
    l->total_errors += p->errors;
    p->total = l->total;
    p->total_errors = l->total_errors;
    p->p50_ns = hist_percentile(h, 50);
    p->p99_ns = hist_percentile(h, 99);
    hist_free(h);
}

void load_collect(struct load *l, struct load_totals *r)
{
    int nreq = l->scn->nrequests;
    r->latency = hist_new();
    r->nper_req = nreq;
    r->per_req = calloc((size_t)(nreq ? nreq : 1), sizeof(*r->per_req));
    if (!r->per_req || !r->latency)
        abort();
    for (int k = 0; k < nreq; k++) {
        struct req_stats *q = &r->per_req[k];
        q->label = util_fmt("%s", l->scn->requests[k].label);
        q->latency = hist_new();
        for (unsigned i = 0; i < l->nusers; i++) {
            struct load_user *u = &l->users[i];
            if (u->started < 0)
                continue; /* still running somewhere: its numbers are not final */
            pthread_mutex_lock(&u->mu);
            q->ok += u->cls[k].ok;
            q->fail += u->cls[k].fail;
            q->info += u->cls[k].info;
            q->retries += u->cls[k].retries;
            q->scenario_info += u->cls[k].scenario_info;
            if (!q->first_error && u->cls[k].first_error[0])
                q->first_error = util_fmt("%s", u->cls[k].first_error);
            hist_merge(q->latency, u->cls[k].lat);
            pthread_mutex_unlock(&u->mu);
        }
        r->ok += q->ok;
        r->fail += q->fail;
        r->info += q->info;
        r->retries += q->retries;
        r->scenario_info += q->scenario_info;
        hist_merge(r->latency, q->latency);
    }
    r->requests = r->ok + r->fail + r->info;
    r->duration_s = (double)(util_now_ns() - l->t0) / (double)NS_PER_S;
    r->load_start_unix = l->t0_unix;
}

void load_free(struct load *l)
{
    if (!l)
        return;
    for (unsigned i = 0; i < l->nusers; i++)
        if (l->users[i].started < 0)
            return; /* a user is stuck and may still touch l: leak it all */
    for (unsigned i = 0; i < l->nusers; i++) {
        struct load_user *u = &l->users[i];
        for (int k = 0; k < l->scn->nrequests; k++)
            hist_free(u->cls[k].lat);
        free(u->cls);
        hist_free(u->interval);
        if (u->hbuf)
            fclose(u->hbuf);
        free(u->hbuf_data);
        if (u->http_ready)
            httpc_free(&u->http);
        rf_user_free(&u->rf, l->scn);
        PQfinish(u->pg);
        pthread_mutex_destroy(&u->mu);
    }
    free(l->users);
    if (l->history)
        fclose(l->history);
    pthread_mutex_destroy(&l->hist_mu);
    free(l);
}

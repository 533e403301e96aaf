/*
 * pspd.c - a stand-in payment provider, and the consumer of shopd's events.
 *
 *   pspd --port N --dsn DSN
 *
 *   POST /charges {"order_id","amount","idempotency_key"?}
 *        records a charge (table charges).  With a key, a repeated key
 *        returns the first charge (200, "replayed": true) instead of making
 *        a new one (201).
 *   POST /events {"event_id","aggregate","seq","type"}
 *        records the delivery (table deliveries), duplicates included, so
 *        double deliveries and order per aggregate are countable in SQL.
 *   GET /health
 *
 * Each connection thread has its own libpq connection (closed with it).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shop.h"

static const char *dsn;
static pthread_key_t conn_key;

static void conn_free(void *c)
{
    PQfinish(c);
}

static PGconn *conn(struct reply *rp)
{
    PGconn *c = pthread_getspecific(conn_key);
    char err[256];

    if (c && PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = NULL;
    }
    if (!c) {
        c = db_connect(dsn, err, sizeof err);
        if (!c) {
            reply_error(rp, 503, "%s", err);
            return NULL;
        }
    }
    pthread_setspecific(conn_key, c);
    return c;
}

static void get_health(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    reply_json(rp, 200, json_pack("{s:s}", "status", "ok"));
}

static void post_charge(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    json_int_t order_id, amount;
    const char *key = NULL;
    char s_order[32], s_amount[32];
    const char *p[3] = {s_order, s_amount, NULL};
    PGresult *r = NULL;
    PGconn *c;
    int replayed = 0;

    if (!rq->body || json_unpack(rq->body, "{s:I,s:I,s?:s}", "order_id", &order_id, "amount",
                                 &amount, "idempotency_key", &key)) {
        reply_error(rp, 400,
                    "expected {\"order_id\":int,\"amount\":int,\"idempotency_key\"?:text}");
        return;
    }
    if (!(c = conn(rp)))
        return;
    snprintf(s_order, sizeof s_order, "%lld", (long long)order_id);
    snprintf(s_amount, sizeof s_amount, "%lld", (long long)amount);
    p[2] = key;
    if (db_exec(c, &r,
                "INSERT INTO charges (order_id, amount_cents, idempotency_key) "
                "VALUES ($1, $2, $3) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                3, p) != DB_OK)
        goto dberr;
    if (PQntuples(r) == 0 && key) {
        PQclear(r);
        replayed = 1;
        if (db_exec(c, &r, "SELECT id FROM charges WHERE idempotency_key = $1", 1, p + 2) !=
                DB_OK ||
            PQntuples(r) == 0)
            goto dberr;
    }
    reply_json(rp, replayed ? 200 : 201,
               json_pack("{s:I,s:I,s:I,s:b}", "charge_id", (json_int_t)atol(PQgetvalue(r, 0, 0)),
                         "order_id", order_id, "amount", amount, "replayed", replayed));
    PQclear(r);
    return;
dberr:
    PQclear(r);
    reply_error(rp, 500, "database error");
}

static void post_event(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    json_int_t event_id, seq;
    const char *aggregate, *type;
    char s_id[32], s_seq[32];
    const char *p[4] = {s_id, NULL, s_seq, NULL};
    PGconn *c;

    if (!rq->body || json_unpack(rq->body, "{s:I,s:s,s:I,s:s}", "event_id", &event_id, "aggregate",
                                 &aggregate, "seq", &seq, "type", &type)) {
        reply_error(rp, 400,
                    "expected {\"event_id\":int,\"aggregate\":text,\"seq\":int,"
                    "\"type\":text}");
        return;
    }
    if (!(c = conn(rp)))
        return;
    snprintf(s_id, sizeof s_id, "%lld", (long long)event_id);
    snprintf(s_seq, sizeof s_seq, "%lld", (long long)seq);
    p[1] = aggregate;
    p[3] = type;
    if (db_exec(c, NULL,
                "INSERT INTO deliveries (event_id, aggregate, seq, event_type) "
                "VALUES ($1, $2, $3, $4)",
                4, p) != DB_OK) {
        reply_error(rp, 500, "database error");
        return;
    }
    reply_json(rp, 200, json_pack("{s:I}", "received", event_id));
}

static const struct route routes[] = {
    {"GET", "/health", get_health},
    {"POST", "/charges", post_charge},
    {"POST", "/events", post_event},
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", 1, 0, 'p'}, {"dsn", 1, 0, 'd'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    struct http_server *srv;
    char err[512], *end;
    sigset_t sigs;
    long port = 0;
    int ch, sig;

    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            port = strtol(optarg, &end, 10);
            if (*end || port < 1 || port > 65535) {
                fprintf(stderr, "pspd: --port: expected 1..65535, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'd':
            dsn = optarg;
            break;
        case 'h':
            printf("usage: pspd --port N --dsn DSN\n");
            return 0;
        default:
            fprintf(stderr, "usage: pspd --port N --dsn DSN\n");
            return 2;
        }
    }
    if (!port || !dsn || optind != argc) {
        fprintf(stderr, "usage: pspd --port N --dsn DSN\n");
        return 2;
    }
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_key_create(&conn_key, conn_free);
    srv = http_start((int)port, routes, sizeof routes / sizeof routes[0], err, sizeof err);
    if (!srv) {
        fprintf(stderr, "pspd: %s\n", err);
        return 1;
    }
    fprintf(stderr, "pspd: listening on 127.0.0.1:%ld\n", port);
    sigwait(&sigs, &sig);
    http_stop(srv);
    return 0;
}

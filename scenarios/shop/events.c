/*
 * events.c - outbox dispatchers: N threads, each with its own connection,
 * that deliver committed outbox rows to the consumer over HTTP.
 *
 *   naive        SELECT the unprocessed rows, POST each, then UPDATE it as
 *                processed.  Nothing stops two dispatchers from reading the
 *                same rows between one's SELECT and its UPDATE: both
 *                deliver (a duplicate), and a failed delivery does not hold
 *                back the aggregate's later events (order broken).
 *   skip-locked  in one transaction, claim rows with FOR UPDATE SKIP LOCKED
 *                (a row another dispatcher holds is skipped, never shared),
 *                only the oldest pending event of each aggregate: holding
 *                that head row owns the aggregate, so the same transaction
 *                then locks the aggregate's later pending events too (no
 *                other dispatcher can claim them: they are not heads) and
 *                delivers them in sequence; POST, mark processed, COMMIT.
 *                A failed delivery stays pending, and the aggregate's later
 *                events wait for it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "shop.h"
#include "timeunit.h"

#define EV_BATCH   "10"
#define EV_IDLE_MS 10

#define EV_COLS "SELECT id, aggregate, seq, event_type, payload FROM outbox o "

static const char SQL_CLAIM_NAIVE[] =
    EV_COLS "WHERE processed_at IS NULL ORDER BY id LIMIT " EV_BATCH;
static const char SQL_CLAIM_LOCKED[] =
    EV_COLS "WHERE processed_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox p "
            "WHERE p.aggregate = o.aggregate AND p.seq < o.seq AND p.processed_at IS NULL) "
            "ORDER BY id LIMIT " EV_BATCH " FOR UPDATE OF o SKIP LOCKED";
/* The claimed heads' aggregates, in sequence order (the barrier rule of the
 * events scenarios aims at the claim, "^SELECT id, aggregate", not here). */
static const char SQL_FOLLOW[] =
    "SELECT f.id, f.aggregate, f.seq, f.event_type, f.payload FROM outbox f "
    "WHERE f.processed_at IS NULL AND f.aggregate IN "
    "(SELECT aggregate FROM outbox WHERE id = ANY($1::bigint[])) "
    "ORDER BY f.aggregate, f.seq LIMIT 200 FOR UPDATE";
static const char SQL_DONE[] = "UPDATE outbox SET processed_at = clock_timestamp(), "
                               "attempts = attempts + 1 WHERE id = $1";

static struct {
    pthread_t *th;
    int n;
    char *dsn;
    char *url;
    enum ev_mode mode;
    atomic_int stopping;
    struct timespec deadline;
} ev;

static int past_deadline(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > ev.deadline.tv_sec ||
           (now.tv_sec == ev.deadline.tv_sec && now.tv_nsec >= ev.deadline.tv_nsec);
}

/* Each dispatcher keeps one connection to the consumer (keep-alive): a new
 * connection per event costs the consumer a thread and a database session. */
static _Thread_local void *consumer;

/* POST one claimed row (row i of r) to the consumer; 0 when accepted. */
static int deliver(PGresult *r, int i)
{
    json_t *payload = json_loads(PQgetvalue(r, i, 4), 0, NULL);
    json_t *body =
        json_pack("{s:I,s:s,s:I,s:s,s:o}", "event_id", (json_int_t)atol(PQgetvalue(r, i, 0)),
                  "aggregate", PQgetvalue(r, i, 1), "seq", (json_int_t)atol(PQgetvalue(r, i, 2)),
                  "type", PQgetvalue(r, i, 3), "payload", payload ? payload : json_null());
    json_t *resp = NULL;
    long status = 0;
    int timed_out = 0, rc = -1;

    if (body && http_post_json(&consumer, ev.url, body, 1000, &status, &resp, &timed_out) == 0 &&
        status >= 200 && status < 300)
        rc = 0;
    json_decref(resp);
    json_decref(body);
    STAT_ADD(events_delivered, rc == 0);
    STAT_ADD(events_failed, rc != 0);
    return rc;
}

/* POST the rows of r and mark each one the consumer accepted.  With
 * `ordered` (rows sorted by aggregate, seq), a failure holds back the rest of
 * its aggregate.  0, or -1 on a database error; *failed counts refusals. */
static int deliver_rows(PGconn *c, PGresult *r, int ordered, int *failed)
{
    const char *held = NULL;

    for (int i = 0; i < PQntuples(r); i++) {
        const char *p[1] = {PQgetvalue(r, i, 0)};

        if (held && strcmp(held, PQgetvalue(r, i, 1)) == 0)
            continue;
        if (deliver(r, i) != 0) {
            (*failed)++;
            held = ordered ? PQgetvalue(r, i, 1) : NULL;
            continue;
        }
        if (db_exec(c, NULL, SQL_DONE, 1, p) != DB_OK)
            return -1;
    }
    return 0;
}

/* "{1,2,3}": the ids of r's rows as an array literal (numbers only). */
static char *id_array(PGresult *r)
{
    size_t cap = 2 + (size_t)PQntuples(r) * 21, len = 0;
    char *a = malloc(cap);

    if (!a)
        return NULL;
    a[len++] = '{';
    for (int i = 0; i < PQntuples(r); i++)
        len += (size_t)snprintf(a + len, cap - len, "%s%s", i ? "," : "", PQgetvalue(r, i, 0));
    snprintf(a + len, cap - len, "}");
    return a;
}

/* One round: returns rows claimed (>= 0) or -1 on a database error;
 * *failed counts the deliveries the consumer did not accept. */
static int round_once(PGconn *c, int *failed)
{
    PGresult *heads = NULL, *rows = NULL;
    char *ids = NULL;
    int n = -1;

    *failed = 0;
    if (ev.mode == EV_NAIVE) {
        if (db_exec(c, &heads, SQL_CLAIM_NAIVE, 0, NULL) == DB_OK)
            n = deliver_rows(c, heads, 0, failed) == 0 ? PQntuples(heads) : -1;
        PQclear(heads);
        return n;
    }
    if (db_exec(c, NULL, "BEGIN", 0, NULL) != DB_OK)
        return -1;
    if (db_exec(c, &heads, SQL_CLAIM_LOCKED, 0, NULL) != DB_OK)
        goto out;
    n = PQntuples(heads);
    if (n == 0)
        goto out;
    ids = id_array(heads);
    {
        const char *p[1] = {ids};
        if (!ids || db_exec(c, &rows, SQL_FOLLOW, 1, p) != DB_OK ||
            deliver_rows(c, rows, 1, failed) != 0)
            n = -1;
    }
out:
    free(ids);
    PQclear(rows);
    PQclear(heads);
    db_exec(c, NULL, n >= 0 ? "COMMIT" : "ROLLBACK", 0, NULL);
    return n;
}

static long pending(PGconn *c)
{
    PGresult *r = NULL;
    long n = -1;

    if (db_exec(c, &r, "SELECT count(*) FROM outbox WHERE processed_at IS NULL", 0, NULL) ==
        DB_OK) {
        n = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    return n;
}

static void *dispatcher_main(void *arg)
{
    char err[256];
    PGconn *c = db_connect(ev.dsn, err, sizeof err);

    if (!c) {
        fprintf(stderr, "shopd: dispatcher: %s\n", err);
        return NULL;
    }
    for (;;) {
        int n, failed;

        if (atomic_load(&ev.stopping) && (past_deadline() || pending(c) == 0))
            break;
        n = round_once(c, &failed);
        if (n < 0 && PQstatus(c) != CONNECTION_OK)
            PQreset(c);
        if (n <= 0 || failed > 0) /* idle, or the consumer is struggling */
            shop_sleep_ms(EV_IDLE_MS);
    }
    http_client_free(consumer);
    consumer = NULL;
    PQfinish(c);
    return NULL;
}

int events_start(const char *dsn, const char *url, int n, enum ev_mode mode, char *err,
                 size_t errlen)
{
    ev.dsn = strdup(dsn);
    ev.url = strdup(url);
    ev.mode = mode;
    ev.th = calloc((size_t)n, sizeof *ev.th);
    if (!ev.dsn || !ev.url || !ev.th) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&ev.th[i], NULL, dispatcher_main, NULL) != 0) {
            snprintf(err, errlen, "cannot start dispatcher %d", i + 1);
            return -1;
        }
        ev.n++;
    }
    return 0;
}

void events_stop(long drain_ms)
{
    clock_gettime(CLOCK_MONOTONIC, &ev.deadline);
    ev.deadline.tv_sec += drain_ms / 1000;
    ev.deadline.tv_nsec += (long)(drain_ms % 1000) * (long)NS_PER_MS;
    if (ev.deadline.tv_nsec >= (long)NS_PER_S) {
        ev.deadline.tv_sec++;
        ev.deadline.tv_nsec -= (long)NS_PER_S;
    }
    atomic_store(&ev.stopping, 1);
    for (int i = 0; i < ev.n; i++)
        pthread_join(ev.th[i], NULL);
    fprintf(stderr, "shopd: dispatchers stopped%s\n",
            past_deadline() ? " at the drain deadline, events may be pending" : ", outbox drained");
    free(ev.th);
    free(ev.dsn);
    free(ev.url);
    ev.th = NULL;
    ev.dsn = ev.url = NULL;
    ev.n = 0;
}

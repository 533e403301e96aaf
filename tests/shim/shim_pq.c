/*
 * shim_pq.c - libpq actions of the shim observed against a real PostgreSQL.
 *
 *   shim_pq delay MIN_MS            every UPDATE (PQexec, PQsend*, pipeline)
 *                                   takes >= MIN_MS; results unchanged
 *   shim_pq sqlstate VARIANT inject|none
 *        VARIANT exec | send | pipeline | after | after-send
 *                                   inject: the UPDATE fails with 40001, the
 *                                   next statement gets 25P02, the row is
 *                                   unchanged after ROLLBACK; none: it commits
 *   shim_pq disconnect inject|none  SELECT 42 drops the connection
 *   shim_pq order A|B [HEAD_MS]     which of two threads' statements the
 *                                   server runs first (B starts HEAD_MS,
 *                                   default 20, earlier)
 *   shim_pq prepared N              PQprepare + PQexecPrepared N times: the
 *                                   trace attributes each to its SQL
 *   shim_pq pipeline-mix            a pipeline of prepare, describe, query,
 *                                   flush request, describe portal, syncs
 *                                   (rules/pipeline_mix.rules): after each
 *                                   item's results, the trace holds exactly
 *                                   the `after pq.query` lines of the
 *                                   statements finished so far
 *   shim_pq after-pipeline          `fail sqlstate after pq.query` in a
 *                                   pipeline: traced "skipped" with its
 *                                   reason, the UPDATE commits; outside the
 *                                   pipeline the same rule injects
 *
 * Each mode uses its own table, so tests can run in parallel.
 */
#include <libpq-fe.h>
#include <pthread.h>

#include "shim_test.h"

static PGconn *connect_or_die(void)
{
    PGconn *c = PQconnectdb(t_dsn());
    CHECK(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    CHECK(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static long query_long(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
          PQerrorMessage(c));
    long v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void setup_table(PGconn *c, const char *table)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS %s; CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL);"
             "INSERT INTO %s VALUES (1, 0)",
             table, table, table);
    exec_ok(c, sql);
}

static const char *sqlstate_of(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

/* Drain PQgetResult; the SQLSTATE of the first error seen ("" if none). */
static void drain(PGconn *c, char *state, size_t n)
{
    PGresult *r;
    state[0] = '\0';
    while ((r = PQgetResult(c))) {
        if (!state[0] && PQresultStatus(r) == PGRES_FATAL_ERROR)
            snprintf(state, n, "%s", sqlstate_of(r));
        PQclear(r);
    }
}

/* ---------------------------------------------------------------- */
static int mode_delay(long min_ms)
{
    PGconn *c = connect_or_die();
    char table[32], up[96], check[96], state[8];
    uint64_t t0, ms;

    /* A table per invocation: the tests with and without the rule run
     * side by side. */
    snprintf(table, sizeof table, "t_delay_%ld", min_ms);
    snprintf(up, sizeof up, "UPDATE %s SET v = v + 1 WHERE id = 1", table);
    snprintf(check, sizeof check, "SELECT v FROM %s WHERE id = 1", table);
    setup_table(c, table);

    t0 = t_now_ns();
    exec_ok(c, up);
    ms = (t_now_ns() - t0) / 1000000;
    CHECK(ms >= (uint64_t)min_ms, "PQexec took %llu ms, expected >= %ld", (unsigned long long)ms,
          min_ms);

    t0 = t_now_ns();
    CHECK(PQsendQuery(c, up), "PQsendQuery: %s", PQerrorMessage(c));
    drain(c, state, sizeof state);
    ms = (t_now_ns() - t0) / 1000000;
    CHECK(!state[0], "PQsendQuery: error %s", state);
    CHECK(ms >= (uint64_t)min_ms, "PQsendQuery took %llu ms", (unsigned long long)ms);

    /* Pipeline: three UPDATEs queued, one sync; each is delayed. */
    t0 = t_now_ns();
    CHECK(PQenterPipelineMode(c), "pipeline: %s", PQerrorMessage(c));
    for (int i = 0; i < 3; i++)
        CHECK(PQsendQueryParams(c, up, 0, NULL, NULL, NULL, NULL, 0), "send: %s",
              PQerrorMessage(c));
    CHECK(PQpipelineSync(c), "sync: %s", PQerrorMessage(c));
    for (int i = 0; i < 3; i++) {
        drain(c, state, sizeof state);
        CHECK(!state[0], "pipeline statement %d: error %s", i, state);
    }
    PGresult *r = PQgetResult(c);
    CHECK(PQresultStatus(r) == PGRES_PIPELINE_SYNC, "expected the sync result");
    PQclear(r);
    CHECK(PQexitPipelineMode(c), "exit pipeline: %s", PQerrorMessage(c));
    ms = (t_now_ns() - t0) / 1000000;
    CHECK(ms >= 3 * (uint64_t)min_ms, "pipeline took %llu ms", (unsigned long long)ms);

    CHECK(query_long(c, check) == 5, "5 updates expected");
    if (min_ms > 0 && getenv("WEDGE_TRACE")) {
        int n = t_trace_count(getpid(), "\"action\":\"delay\"", "UPDATE t_delay", NULL);
        CHECK(n == 5, "trace shows %d delayed UPDATEs, expected 5", n);
    }
    PQfinish(c);
    printf("delay: ok (min %ld ms)\n", min_ms);
    return 0;
}

/* ---------------------------------------------------------------- */
static int mode_sqlstate(const char *variant, int inject)
{
    PGconn *c = connect_or_die();
    char table[64], up[128], state[8] = "", check[128];
    PGresult *r;

    snprintf(table, sizeof table, "t_sqlstate_%s", variant);
    for (char *p = table; *p; p++)
        if (*p == '-')
            *p = '_';
    setup_table(c, table);
    snprintf(up, sizeof up, "UPDATE %s SET v = v + 1 WHERE id = 1", table);
    snprintf(check, sizeof check, "SELECT v FROM %s WHERE id = 1", table);

    exec_ok(c, "BEGIN");
    if (!strcmp(variant, "exec") || !strcmp(variant, "after")) {
        r = PQexec(c, up);
        if (PQresultStatus(r) == PGRES_FATAL_ERROR)
            snprintf(state, sizeof state, "%s", sqlstate_of(r));
        PQclear(r);
    } else if (!strcmp(variant, "send") || !strcmp(variant, "after-send")) {
        CHECK(PQsendQuery(c, up), "send: %s", PQerrorMessage(c));
        drain(c, state, sizeof state);
    } else if (!strcmp(variant, "pipeline")) {
        CHECK(PQenterPipelineMode(c), "pipeline");
        CHECK(PQsendQueryParams(c, up, 0, NULL, NULL, NULL, NULL, 0), "send");
        CHECK(PQsendQueryParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0), "send");
        CHECK(PQpipelineSync(c), "sync");
        drain(c, state, sizeof state);
        r = PQgetResult(c);
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (inject)
            CHECK(st == PGRES_PIPELINE_ABORTED, "statement after the error: %s", PQresStatus(st));
        else
            CHECK(st == PGRES_TUPLES_OK, "SELECT 1 in the pipeline: %s", PQresStatus(st));
        while ((r = PQgetResult(c)))
            PQclear(r);
        r = PQgetResult(c);
        CHECK(PQresultStatus(r) == PGRES_PIPELINE_SYNC, "expected the sync");
        PQclear(r);
        CHECK(PQexitPipelineMode(c), "exit pipeline: %s", PQerrorMessage(c));
    } else {
        CHECK(0, "unknown variant %s", variant);
    }

    if (!inject) {
        CHECK(!state[0], "no rule, yet error %s", state);
        exec_ok(c, "COMMIT");
        CHECK(query_long(c, check) == 1, "the update must be committed");
        printf("sqlstate %s none: ok\n", variant);
        PQfinish(c);
        return 0;
    }
    CHECK(!strcmp(state, "40001"), "expected SQLSTATE 40001, got '%s'", state);
    /* The transaction really aborted on the server. */
    if (strcmp(variant, "pipeline") != 0) {
        r = PQexec(c, "SELECT 1");
        CHECK(!strcmp(sqlstate_of(r), "25P02"), "next statement: '%s' (expected 25P02)",
              sqlstate_of(r));
        PQclear(r);
    }
    exec_ok(c, "ROLLBACK");
    CHECK(query_long(c, check) == 0, "the row changed although the transaction aborted");
    PQfinish(c);
    printf("sqlstate %s inject: ok\n", variant);
    return 0;
}

/* ---------------------------------------------------------------- */
static int mode_disconnect(int inject)
{
    PGconn *c = connect_or_die();
    PGresult *r;

    exec_ok(c, "SELECT 1");
    r = PQexec(c, "SELECT 42");
    if (!inject) {
        CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) == 42,
              "SELECT 42: %s", PQerrorMessage(c));
        CHECK(PQstatus(c) == CONNECTION_OK, "connection must stay up");
    } else {
        CHECK(PQresultStatus(r) != PGRES_TUPLES_OK, "SELECT 42 succeeded on a dropped connection");
        CHECK(PQstatus(c) == CONNECTION_BAD, "PQstatus is %d, expected CONNECTION_BAD",
              PQstatus(c));
    }
    PQclear(r);
    PQfinish(c);
    printf("disconnect %s: ok\n", inject ? "inject" : "none");
    return 0;
}

/* ---------------------------------------------------------------- */
/* The order the server ran the two statements in: each takes the next
 * value of a shared sequence. */
static long order_pos[2];
static PGconn *order_conn[2];
static long order_head_ms = 20;

static void *order_thread(void *arg)
{
    int who = (int)(intptr_t)arg; /* 0: A, 1: B */
    if (who == 0)
        t_sleep_ms(order_head_ms); /* B reaches its statement first */
    order_pos[who] = query_long(order_conn[who], who == 0 ? "SELECT nextval('wedge_order'), 'A'"
                                                          : "SELECT nextval('wedge_order'), 'B'");
    return NULL;
}

static int mode_order(const char *expect_first)
{
    pthread_t t[2];

    for (int i = 0; i < 2; i++)
        order_conn[i] = connect_or_die();
    PQclear(PQexec(order_conn[0], "CREATE SEQUENCE IF NOT EXISTS wedge_order"));
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, order_thread, (void *)(intptr_t)i) == 0, "thread");
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    const char *first = order_pos[0] < order_pos[1] ? "A" : "B";
    CHECK(!strcmp(first, expect_first), "%s completed first, expected %s", first, expect_first);
    for (int i = 0; i < 2; i++)
        PQfinish(order_conn[i]);
    return 0;
}

/* ---------------------------------------------------------------- */
static int mode_prepared(int n)
{
    PGconn *c = connect_or_die();
    char state[8];
    PGresult *r;

    setup_table(c, "t_prepared");
    r = PQprepare(c, "bump", "UPDATE t_prepared SET v = v + 1 WHERE id = $1", 1, NULL);
    CHECK(PQresultStatus(r) == PGRES_COMMAND_OK, "prepare: %s", PQerrorMessage(c));
    PQclear(r);
    CHECK(PQsendPrepare(c, "peek", "SELECT v FROM t_prepared WHERE id = $1", 1, NULL), "sp");
    drain(c, state, sizeof state);
    for (int i = 0; i < n; i++) {
        const char *one = "1";
        r = PQexecPrepared(c, "bump", 1, &one, NULL, NULL, 0);
        CHECK(PQresultStatus(r) == PGRES_COMMAND_OK, "bump: %s", PQerrorMessage(c));
        PQclear(r);
        CHECK(PQsendQueryPrepared(c, "peek", 1, &one, NULL, NULL, 0), "peek");
        drain(c, state, sizeof state);
    }
    CHECK(query_long(c, "SELECT v AS total FROM t_prepared WHERE id = 1") == n, "v != %d", n);
    if (getenv("WEDGE_TRACE")) {
        int bumps = t_trace_count(getpid(), "\"hook\":\"pq.query\"", "UPDATE t_prepared", NULL);
        int peeks =
            t_trace_count(getpid(), "\"hook\":\"pq.query\"", "SELECT v FROM t_prepared", NULL);
        CHECK(bumps == n, "trace: %d UPDATE lines, expected %d", bumps, n);
        CHECK(peeks == n, "trace: %d SELECT lines, expected %d", peeks, n);
    }
    PQfinish(c);
    printf("prepared: ok\n");
    return 0;
}

/* ---------------------------------------------------------------- */
static int trace_done(const char *what)
{
    return t_trace_count(getpid(), "\"rule\":\"done\"", what, NULL);
}

/* Read one queued item's results: `want` (PGRES_PIPELINE_SYNC: that
 * result alone), else results of status want and then the NULL. */
static void take(PGconn *c, ExecStatusType want, const char *what)
{
    PGresult *r = PQgetResult(c);
    ExecStatusType st = PQresultStatus(r);

    CHECK(r && st == want, "%s: %s, expected %s (%s)", what, r ? PQresStatus(st) : "NULL",
          PQresStatus(want), PQerrorMessage(c));
    PQclear(r);
    if (want == PGRES_PIPELINE_SYNC)
        return;
    while ((r = PQgetResult(c))) {
        CHECK(PQresultStatus(r) == want, "%s: a second result %s", what,
              PQresStatus(PQresultStatus(r)));
        PQclear(r);
    }
}

static int mode_pipeline_mix(void)
{
    PGconn *c = connect_or_die();

    CHECK(PQenterPipelineMode(c), "pipeline: %s", PQerrorMessage(c));
    CHECK(PQsendPrepare(c, "mix_s", "SELECT 1 AS mix_one", 0, NULL), "prepare");
    CHECK(PQsendDescribePrepared(c, "mix_s"), "describe prepared");
    CHECK(PQsendQueryPrepared(c, "mix_s", 0, NULL, NULL, NULL, 0), "query prepared");
    CHECK(PQsendFlushRequest(c), "flush request");
    CHECK(PQsendQueryParams(c, "SELECT 2 AS mix_two", 0, NULL, NULL, NULL, NULL, 0), "query");
    CHECK(PQsendDescribePortal(c, ""), "describe portal");
    CHECK(PQpipelineSync(c), "sync");
    CHECK(PQsendQueryParams(c, "SELECT 3 AS mix_three", 0, NULL, NULL, NULL, NULL, 0), "query");
    CHECK(PQpipelineSync(c), "sync");

    take(c, PGRES_COMMAND_OK, "prepare");
    CHECK(trace_done("") == 0, "a prepare finished no statement");
    take(c, PGRES_COMMAND_OK, "describe prepared");
    CHECK(trace_done("") == 0, "a describe finished no statement, the trace shows %d",
          trace_done(""));
    take(c, PGRES_TUPLES_OK, "query prepared");
    CHECK(trace_done("mix_one") == 1 && trace_done("") == 1, "mix_one done: %d of %d",
          trace_done("mix_one"), trace_done(""));
    take(c, PGRES_TUPLES_OK, "mix_two");
    CHECK(trace_done("mix_two") == 1 && trace_done("") == 2, "mix_two done: %d of %d",
          trace_done("mix_two"), trace_done(""));
    take(c, PGRES_COMMAND_OK, "describe portal");
    take(c, PGRES_PIPELINE_SYNC, "first sync");
    CHECK(trace_done("") == 2, "describe and sync finished no statement: %d", trace_done(""));
    take(c, PGRES_TUPLES_OK, "mix_three");
    CHECK(trace_done("mix_three") == 1 && trace_done("") == 3, "mix_three done: %d of %d",
          trace_done("mix_three"), trace_done(""));
    take(c, PGRES_PIPELINE_SYNC, "second sync");
    CHECK(trace_done("") == 3, "three statements, %d done", trace_done(""));
    /* mix_three's result and NULL, not the first sync before them */
    int res = t_trace_count(getpid(), "\"rule\":\"res\"", NULL);
    CHECK(res == 2, "pq.result attributed to mix_three %d times, expected 2", res);
    CHECK(PQexitPipelineMode(c), "exit pipeline: %s", PQerrorMessage(c));
    PQfinish(c);
    printf("pipeline-mix: ok\n");
    return 0;
}

/* Rule: fail sqlstate 40001 after pq.query where sql ~ "^UPDATE". */
static int mode_after_pipeline(void)
{
    PGconn *c = connect_or_die();
    const char *up = "UPDATE t_after_pipeline SET v = v + 1 WHERE id = 1";
    char state[8];
    PGresult *r;

    setup_table(c, "t_after_pipeline");
    CHECK(PQenterPipelineMode(c), "pipeline: %s", PQerrorMessage(c));
    CHECK(PQsendQueryParams(c, up, 0, NULL, NULL, NULL, NULL, 0), "send");
    CHECK(PQpipelineSync(c), "sync");
    drain(c, state, sizeof state);
    CHECK(!state[0], "in a pipeline the UPDATE must not fail, got %s", state);
    r = PQgetResult(c);
    CHECK(PQresultStatus(r) == PGRES_PIPELINE_SYNC, "expected the sync");
    PQclear(r);
    CHECK(PQexitPipelineMode(c), "exit pipeline: %s", PQerrorMessage(c));
    CHECK(query_long(c, "SELECT v FROM t_after_pipeline WHERE id = 1") == 1, "not committed");
    CHECK(t_trace_count(getpid(), "\"outcome\":\"skipped\"", "pipeline mode", "UPDATE", NULL) == 1,
          "the trace must show the skipped injection and why");
    CHECK(t_trace_count(getpid(), "\"outcome\":\"fired\"", NULL) == 0, "nothing fired yet");

    r = PQexec(c, up); /* outside the pipeline the rule injects */
    CHECK(!strcmp(sqlstate_of(r), "40001"), "outside a pipeline: '%s'", sqlstate_of(r));
    PQclear(r);
    PQfinish(c);
    printf("after-pipeline: ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK(argc >= 2, "usage: shim_pq MODE ARGS");
    if (!strcmp(argv[1], "delay") && argc == 3)
        return mode_delay(atol(argv[2]));
    if (!strcmp(argv[1], "sqlstate") && argc == 4)
        return mode_sqlstate(argv[2], !strcmp(argv[3], "inject"));
    if (!strcmp(argv[1], "disconnect") && argc == 3)
        return mode_disconnect(!strcmp(argv[2], "inject"));
    if (!strcmp(argv[1], "order") && (argc == 3 || argc == 4)) {
        if (argc == 4)
            order_head_ms = atol(argv[3]);
        return mode_order(argv[2]);
    }
    if (!strcmp(argv[1], "pipeline-mix"))
        return mode_pipeline_mix();
    if (!strcmp(argv[1], "after-pipeline"))
        return mode_after_pipeline();
    if (!strcmp(argv[1], "prepared") && argc == 3)
        return mode_prepared(atoi(argv[2]));
    CHECK(0, "unknown mode %s", argv[1]);
    return 1;
}

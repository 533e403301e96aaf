/*
 * test_hunt.c - wedge hunt's pure parts: what a statement reads, writes,
 * locks and guards; the regexes and rule text aimed at it; the scenario
 * files derived from the user's; the verdict; and, from a trace and a
 * history written here, the windows an observation yields (a lost update,
 * a lock-order inversion, an atomicity violation) and a deadlock named.
 * Includes the .c files to reach their static functions.
 */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runner_test.h"

#include "../../../runner/hunt/hunt_cand.c"
#include "../../../runner/hunt/hunt_elf.c"
#include "../../../runner/hunt/hunt_lock.c"
#include "../../../runner/hunt/hunt_obs.c"
#include "../../../runner/hunt/hunt_pool.c"
#include "../../../runner/hunt/hunt_scn.c"
#include "../../../runner/hunt/hunt_sql.c"

/* ---------------------------------------------------------------
 * Statements.
 * ------------------------------------------------------------ */
static struct hunt_stmt parse(const char *sql)
{
    struct hunt_stmt st;
    hunt_stmt_parse(sql, &st);
    return st;
}

static void test_stmt_reads(void **state)
{
    struct hunt_stmt st = parse("SELECT stock, version FROM inventory WHERE sku = $1");
    assert_int_equal(st.verb, HV_SELECT);
    assert_string_equal(st.table, "inventory");
    assert_int_equal(st.ncols, 1);
    assert_string_equal(st.cols[0], "sku");
    assert_false(st.locking);
    assert_true(hunt_stmt_is_read(&st));
    assert_false(hunt_stmt_is_write(&st));

    st = parse("SELECT stock FROM inventory WHERE sku = $1 FOR UPDATE");
    assert_true(st.locking);
    st = parse("SELECT id FROM outbox o WHERE processed_at IS NULL ORDER BY id LIMIT 10 FOR UPDATE "
               "OF o SKIP LOCKED");
    assert_true(st.locking);
    assert_string_equal(st.table, "outbox");
    /* a subquery's FROM is not the statement's table; an alias keeps the column */
    st = parse("select (select count(*) from a) , b.x from \"Odd\" b where b.email = 'x' and "
               "b.n = 2");
    assert_string_equal(st.table, "Odd");
    assert_string_equal(st.verb_text, "select");
    assert_string_equal(st.kw_text, "from");
    assert_int_equal(st.ncols, 2);
    assert_string_equal(st.cols[0], "email");
    assert_string_equal(st.cols[1], "n");
    /* no table: not a read */
    st = parse("SELECT nextval('s')");
    assert_false(hunt_stmt_is_read(&st));
    /* comments and blanks before the verb */
    st = parse("  -- why\n /* c */ SELECT 1 FROM t");
    assert_string_equal(st.table, "t");
}

static void test_stmt_writes(void **state)
{
    struct hunt_stmt st = parse("UPDATE inventory SET stock = $2, version = $3 WHERE sku = $1");
    assert_int_equal(st.verb, HV_UPDATE);
    assert_string_equal(st.table, "inventory");
    assert_false(st.guarded);
    assert_true(hunt_stmt_is_write(&st));
    /* re-checks: a version, a condition, a state */
    assert_true(parse("UPDATE inventory SET stock = $2 WHERE sku = $1 AND version = $3").guarded);
    assert_true(parse("UPDATE counter SET stock = stock - $2 WHERE id = $1 AND stock >= $2 "
                      "RETURNING stock")
                    .guarded);
    assert_true(parse("UPDATE t SET v = 1 WHERE processed_at IS NULL").guarded);
    assert_false(parse("UPDATE outbox SET done = now() WHERE id = ANY($1)").guarded);
    st = parse("DELETE FROM ONLY sessions WHERE id = $1");
    assert_int_equal(st.verb, HV_DELETE);
    assert_string_equal(st.table, "sessions");
    assert_false(st.guarded);
    st = parse("INSERT INTO charges (order_id, amount_cents) VALUES ($1, $2)");
    assert_int_equal(st.verb, HV_INSERT);
    assert_string_equal(st.table, "charges");
    assert_int_equal(st.ncols, 2);
    assert_string_equal(st.cols[1], "amount_cents");
    /* a statement it cannot read is no window at all */
    st = parse("WITH r AS (UPDATE a SET x = 1 RETURNING y) UPDATE b SET z = r.y FROM r");
    assert_int_equal(st.verb, HV_OTHER);
    assert_false(hunt_stmt_is_write(&st));
}

static void test_stmt_isolation(void **state)
{
    assert_true(parse("BEGIN ISOLATION LEVEL SERIALIZABLE").strong);
    assert_true(parse("START TRANSACTION ISOLATION LEVEL REPEATABLE READ").strong);
    assert_false(parse("BEGIN ISOLATION LEVEL READ COMMITTED").strong);
    assert_true(parse("SET default_transaction_isolation TO serializable").strong);
    assert_true(parse("SET default_transaction_isolation = 'repeatable read'").strong);
    assert_false(parse("SET default_transaction_isolation = 'read committed'").strong);
    assert_true(
        parse("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE").strong);
    assert_int_equal(parse("COMMIT").verb, HV_COMMIT);
    assert_int_equal(parse("rollback").verb, HV_ROLLBACK);
}

/* ---------------------------------------------------------------
 * Regexes and rules.
 * ------------------------------------------------------------ */
static int re_matches(const char *re, const char *text)
{
    regex_t r;
    int rc;
    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    rc = regexec(&r, text, 0, NULL, 0) == 0;
    regfree(&r);
    return rc;
}

static void test_regexes(void **state)
{
    const char *sql = "SELECT a.b, $1 FROM t  WHERE x = (1) AND \"q\" = '*'";
    char *re = hunt_re_statement(sql);
    assert_string_equal(re,
                        "^SELECT a\\.b, \\$1 FROM t[[:space:]]+WHERE x = \\(1\\) AND \\\"q\\\" = "
                        "'\\*'");
    free(re);
    /* as the shim reads it: \" is a quote, the other backslashes stay */
    assert_true(
        re_matches("^SELECT a\\.b, \\$1 FROM t[[:space:]]+WHERE x = \\(1\\) AND \"q\"", sql));

    struct hunt_stmt st = parse("SELECT stock FROM inventory WHERE sku = $1");
    re = hunt_re_verb_table(&st);
    assert_string_equal(re, "^SELECT .*FROM +inventory\\b");
    assert_true(re_matches(re, "SELECT stock, version FROM inventory WHERE sku = $1"));
    assert_true(re_matches(re, "SELECT stock FROM inventory"));
    assert_false(re_matches(re, "SELECT stock FROM inventory_log"));
    assert_false(re_matches(re, "UPDATE inventory SET stock = 1"));
    free(re);
    st = parse("update Counter set n = 1 where id = $1");
    re = hunt_re_verb_table(&st);
    assert_string_equal(re, "^update +Counter\\b");
    free(re);
    st = parse("INSERT INTO charges (a) VALUES ($1)");
    re = hunt_re_verb_table(&st);
    assert_string_equal(re, "^INSERT +INTO +charges\\b");
    free(re);
    re = hunt_re_exact("dispatch.constprop.0");
    assert_string_equal(re, "^dispatch\\.constprop\\.0$");
    free(re);
    re = hunt_re_either("sell_item", "restock_item");
    assert_string_equal(re, "^(sell_item|restock_item)$");
    assert_true(re_matches(re, "sell_item") && !re_matches(re, "sell_items"));
    free(re);
}

static void test_rule_text(void **state)
{
    struct hunt_cands cs = {0};
    struct hunt_cand *c = hunt_cand_add(&cs, HK_LOST_UPDATE, 100);
    struct hunt_rule *r = hunt_cand_rule(c, HA_BARRIER, "pq.query", 1);
    char *t;
    c->rank = 3;
    r->ns = 150000000;
    r->sql_full = util_fmt("^SELECT stock FROM inventory WHERE sku = \\$1");
    r->sql_short = util_fmt("^SELECT .*FROM +inventory\\b");
    r->caller = util_fmt("^stock_take$");
    r->use = HC_SQL_FULL | HC_CALLER;
    t = hunt_cand_rules(c);
    assert_string_equal(t, "hunt-3: barrier hunt-3 2 timeout 150ms on pq.query where sql ~ "
                           "\"^SELECT stock FROM inventory WHERE sku = \\$1\" and caller ~ "
                           "\"^stock_take$\" after");
    free(t);
    r->use = HC_SQL_SHORT; /* shrunk */
    t = hunt_cand_rules(c);
    assert_string_equal(t, "hunt-3: barrier hunt-3 2 timeout 150ms on pq.query where sql ~ "
                           "\"^SELECT .*FROM +inventory\\b\" after");
    free(t);
    /* a second rule: labelled apart, one coordination name */
    c->proc = "pspd";
    r = hunt_cand_rule(c, HA_DELAY, "mutex.unlock", 0);
    r->ns = 2000000000;
    t = hunt_rule_text(r, "hunt-3-2", "hunt-3");
    assert_string_equal(t, "hunt-3-2: delay 2s on mutex.unlock where proc ~ \"^pspd$\"");
    free(t);
    r->act = HA_SPURIOUS;
    r->hook = "cond.wait";
    r->use = 0;
    t = hunt_rule_text(r, "x", "x");
    assert_string_equal(t, "x: spurious on cond.wait");
    free(t);
    hunt_cands_free(&cs);
}

static void test_verdict(void **state)
{
    struct hunt_cands cs = {0};
    assert_int_equal(hunt_verdict(&cs, 0), 3); /* nothing observed */
    assert_int_equal(hunt_verdict(&cs, 1), 0); /* observed, no window: nothing to find */
    hunt_cand_add(&cs, HK_LOST_UPDATE, 100)->status = HS_HELD;
    hunt_cand_add(&cs, HK_GUARDED, 30)->status = HS_SKIPPED;
    hunt_cand_add(&cs, HK_ATOMICITY, 70)->status = HS_UNTRIED; /* the budget ran out */
    assert_int_equal(hunt_verdict(&cs, 1), 0);
    cs.c[2].status = HS_INCONCLUSIVE;
    assert_int_equal(hunt_verdict(&cs, 1), 0); /* one held: not all inconclusive */
    cs.c[0].status = HS_INCONCLUSIVE;
    assert_int_equal(hunt_verdict(&cs, 1), 3);
    cs.c[0].status = HS_FLAKY; /* broke on some seeds only: not a pass */
    assert_int_equal(hunt_verdict(&cs, 1), 3);
    cs.c[0].status = HS_UNTRIED; /* broke on every seed it ran; the budget ran out */
    cs.c[0].broke = 2;
    assert_int_equal(hunt_verdict(&cs, 1), 3);
    cs.c[2].status = HS_FOUND;
    assert_int_equal(hunt_verdict(&cs, 1), 1);
    hunt_cands_free(&cs);
}

static void test_send_to(void **state)
{
    struct hunt_obs o = {.db_port = 5432, .svc_ports = {7001}, .nsvc_ports = 1};
    const char *pq[] = {"pqsecure_write", "PQexec"}, *app[] = {"http_post"};
    struct hunt_ev e = {.kind = HE_SEND, .detail = "127.0.0.1:5432", .stack = app, .nstack = 1};
    assert_int_equal(hunt_send_to(&o, &e), HS_SEND_DB);
    e.detail = "127.0.0.1:7001"; /* another service of the scenario: a side effect */
    assert_int_equal(hunt_send_to(&o, &e), HS_SEND_SERVICE);
    e.detail = "127.0.0.1:40312"; /* the load's client: an answer */
    assert_int_equal(hunt_send_to(&o, &e), HS_SEND_CLIENT);
    o.db_port = 0; /* no port known: libpq's sends go by the stack */
    e.stack = pq;
    e.nstack = 2;
    assert_int_equal(hunt_send_to(&o, &e), HS_SEND_DB);
}

static void test_small(void **state)
{
    uint64_t ts[] = {400, 100, 200, 300, 1000};
    assert_int_equal(hunt_gap_ns(ts, 5), 100); /* median of 100 100 100 600 */
    assert_int_equal(hunt_gap_ns(ts, 1), 0);
    assert_int_equal(hunt_timeout_ns(50000000), 150000000);
    assert_int_equal(hunt_timeout_ns(1000), HUNT_TIMEOUT_MIN);
    assert_int_equal(hunt_timeout_ns(10000000000ull), HUNT_TIMEOUT_MAX);
    assert_int_equal(hunt_delay_ns(50000000), 75000000);
    assert_int_equal(hunt_dsn_port("host=127.0.0.1 port=5433 user=w"), 5433);
    assert_int_equal(hunt_dsn_port("postgresql://u:p@h:6543/db?sslmode=off"), 6543);
    assert_int_equal(hunt_dsn_port("postgresql://h/db?port=7000"), 7000);
    assert_int_equal(hunt_dsn_port("host=h sport=1"), 0);
    char buf[32];
    hunt_fmt_duration(150000000, buf, sizeof buf);
    assert_string_equal(buf, "150ms");
    hunt_fmt_duration(2000000000, buf, sizeof buf);
    assert_string_equal(buf, "2s");
}

/* ---------------------------------------------------------------
 * Derived scenario files.
 * ------------------------------------------------------------ */
static const char SRC[] = "; A race.\n"
                          "[scenario]\n"
                          "name = demo\n"
                          "rules = old: delay 1ms on pq.query\n"
                          "\n"
                          "[database]\n"
                          "schema = schema.sql\n"
                          "fixture = INSERT INTO t VALUES (1)\n"
                          "\n"
                          "[service a]\n"
                          "command = ${scenario_dir}/a --port ${port}\n"
                          "rules = keep: log on pq.query\n"
                          "\n"
                          "[service b]\n"
                          "command = b\n"
                          "\n"
                          "; about the workload\n"
                          "[workload]\n"
                          "users = 8\n"
                          "duration = 2s\n"
                          "iterations = 40\n"
                          "request = POST /x {}\n";

static void test_scn_found(void **state)
{
    const char *inv[] = {"g = history: info == 0"};
    struct hunt_edit e = {.drop_rules = 1,
                          .svc = "b",
                          .svc_rules = "hunt-1: yield on pq.query",
                          .users = "2",
                          .rate = "20",
                          .invariants = inv,
                          .ninvariants = 1,
                          .name = "demo-found-1",
                          .comment = "; found"};
    char *out = hunt_scn_text(SRC, "/d", &e);
    assert_string_equal(out,
                        "; found\n"
                        "; A race.\n"
                        "[scenario]\n"
                        "name = demo-found-1\n"
                        "; rules left out (wedge hunt --no-rules): old: delay 1ms on pq.query\n"
                        "\n"
                        "[database]\n"
                        "schema = /d/schema.sql\n"
                        "fixture = INSERT INTO t VALUES (1)\n"
                        "\n"
                        "[service a]\n"
                        "command = /d/a --port ${port}\n"
                        "; rules left out (wedge hunt --no-rules): keep: log on pq.query\n"
                        "\n"
                        "[service b]\n"
                        "command = b\n"
                        "rules = hunt-1: yield on pq.query\n"
                        "\n"
                        "; about the workload\n"
                        "[workload]\n"
                        "users = 2\n"
                        "duration = 2s\n"
                        "iterations = 40\n"
                        "request = POST /x {}\n"
                        "rate = 20\n"
                        "\n"
                        "[invariants]\n"
                        "g = history: info == 0\n");
    free(out);
}

static void test_scn_observe(void **state)
{
    struct hunt_edit e = {.scn_rules = "obs: log on pq.query", .svc_rules = "r1", .duration = "5s"};
    char *out = hunt_scn_text(SRC, "/d", &e);
    /* the user's rules stay, the new ones join them; every process gets a
     * rule no service section was named for; --duration drops the cap */
    assert_non_null(strstr(out,
                           "[scenario]\nname = demo\n"
                           "rules = old: delay 1ms on pq.query ; obs: log on pq.query ; r1\n"));
    assert_non_null(strstr(out, "rules = keep: log on pq.query\n"));
    assert_non_null(strstr(out, "users = 8\nduration = 5s\n; iterations: none"));
    assert_null(strstr(out, "[invariants]"));
    free(out);
    /* no [scenario] at all: one is added for the rules */
    e.duration = NULL;
    out = hunt_scn_text("[workload]\nusers = 1\n", "/d", &e);
    assert_string_equal(out, "[workload]\nusers = 1\n\n[scenario]\nrules = obs: log on pq.query ; "
                             "r1\n");
    free(out);
}

/* ---------------------------------------------------------------
 * An observation written here: the test binary plays the service (its
 * own functions are the program's frames).
 * ------------------------------------------------------------ */
#define FAKE(name)                                   \
    __attribute__((noinline, used)) void name(void); \
    __attribute__((noinline, used)) void name(void)  \
    {                                                \
        __asm__ volatile("");                        \
    }
FAKE(fake_exec)
FAKE(fake_take)
FAKE(fake_update)
FAKE(fake_sell)
FAKE(fake_restock)
FAKE(fake_book)
FAKE(fake_dispatch)

#define T0 1000000000000ull /* the load's start, ns */

static FILE *trace_f;

static void ev(int tid, uint64_t ms, const char *rule, const char *hook, const char *detail,
               const char *obj, const char *stack)
{
    fprintf(trace_f,
            "{\"ts_ns\":%llu,\"pid\":10,\"tid\":%d,\"hook\":\"%s\",\"rule\":\"%s\",\"action\":"
            "\"log\",\"outcome\":\"fired\",\"waited_ns\":0,\"hit\":1,\"detail\":%s%s%s,"
            "\"obj\":\"%s\",\"stack\":[%s]}\n",
            (unsigned long long)(T0 + ms * 1000000), tid, hook, rule, detail ? "\"" : "",
            detail ? detail : "null", detail ? "\"" : "", obj, stack);
}

static void sql(int tid, uint64_t ms, const char *text, const char *stack)
{
    ev(tid, ms, HUNT_OBS_SQL, "pq.query", text, "0x55", stack);
}

static void lock(int tid, uint64_t ms, const char *obj, const char *fn)
{
    char st[64];
    snprintf(st, sizeof st, "\"%s\",\"main\"", fn);
    ev(tid, ms, HUNT_OBS_WANT, "mutex.lock", NULL, obj, st);
    ev(tid, ms, HUNT_OBS_LOCK, "mutex.lock", NULL, obj, st);
}

static void unlock(int tid, uint64_t ms, const char *obj, const char *fn)
{
    char st[64];
    snprintf(st, sizeof st, "\"%s\",\"main\"", fn);
    ev(tid, ms, HUNT_OBS_UNLOCK, "mutex.unlock", NULL, obj, st);
}

/* Five requests 50 ms apart, each done in 4 ms, and two background
 * consumers after them. */
static void write_run(const char *dir)
{
    static const char TAKE[] = "\"fake_exec\",\"fake_take\",\"main\"";
    static const char UPD[] = "\"fake_exec\",\"fake_update\",\"fake_take\",\"main\"";
    static const char DISP[] = "\"fake_exec\",\"fake_dispatch\"";
    char path[512];
    FILE *h;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    rt_write_file(path, "{\"load_start_unix\": 1000.0}\n");
    snprintf(path, sizeof path, "%s/history.jsonl", dir);
    h = fopen(path, "w");
    assert_non_null(h);
    for (int k = 0; k < 5; k++) /* users flush out of order: user 1's lines first */
        fprintf(h,
                "{\"t_ns\":%d,\"user\":%d,\"seq\":%d,\"type\":\"invoke\",\"req\":\"POST /x\"}\n"
                "{\"t_ns\":%d,\"user\":%d,\"seq\":%d,\"type\":\"ok\",\"req\":\"POST /x\","
                "\"status\":200}\n",
                (k * 50 + 1) * 1000000, (k + 1) % 2, k / 2, (k * 50 + 5) * 1000000, (k + 1) % 2,
                k / 2);
    fclose(h);
    snprintf(path, sizeof path, "%s/traces", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/traces/trace.10.jsonl", dir);
    trace_f = fopen(path, "w");
    assert_non_null(trace_f);
    for (int k = 0; k < 2; k++) { /* requests 0 and 1: read, then write */
        sql(11 + k, k * 50 + 2, "SELECT stock FROM inventory WHERE sku = $1", TAKE);
        sql(11 + k, k * 50 + 3, "UPDATE inventory SET stock = $2 WHERE sku = $1", UPD);
    }
    lock(11, 102, "0xa", "fake_sell"); /* request 2: a then b */
    lock(11, 102, "0xb", "fake_sell");
    unlock(11, 103, "0xb", "fake_sell");
    unlock(11, 103, "0xa", "fake_sell");
    lock(12, 152, "0xb", "fake_restock"); /* request 3: b then a */
    lock(12, 152, "0xa", "fake_restock");
    unlock(12, 153, "0xa", "fake_restock");
    unlock(12, 153, "0xb", "fake_restock");
    lock(11, 202, "0xc", "fake_book"); /* request 4: c released and taken again */
    unlock(11, 202, "0xc", "fake_book");
    lock(11, 203, "0xc", "fake_book");
    unlock(11, 203, "0xc", "fake_book");
    for (int k = 0; k < 6; k++) { /* two dispatchers, outside every request */
        sql(13 + k % 2, 300 + k * 10, "SELECT id FROM outbox WHERE done IS NULL LIMIT 10", DISP);
        sql(13 + k % 2, 302 + k * 10, "UPDATE outbox SET done = now() WHERE id = $1", DISP);
    }
    fprintf(trace_f, "{\"summary\":true,\"pid\":10,\"proc\":\"test_hunt\",\"seed\":"
                     "\"18446744073709551615\",\"calls\":{}}\n");
    fclose(trace_f);
}

static const struct hunt_cand *find(const struct hunt_cands *cs, enum hunt_kind k, int score)
{
    for (int i = 0; i < cs->n; i++)
        if (cs->c[i].kind == k && (!score || cs->c[i].score == score))
            return &cs->c[i];
    fail_msg("no %s candidate", hunt_kind_name(k));
    return NULL;
}

static void observe(struct hunt_obs *o, struct scenario *s, struct hunt_svcmap *m, char *exe)
{
    char err[256];
    struct scn_service svc = {.name = "svc"};
    memset(s, 0, sizeof *s);
    memset(m, 0, sizeof *m);
    s->services = &svc;
    s->nservices = 1;
    assert_true(readlink("/proc/self/exe", exe, 4000) > 0);
    m->n = 1;
    m->pids[0] = 10;
    m->names[0] = "svc";
    m->exes[0] = exe;
    write_run(tmpdir);
    assert_int_equal(hunt_obs_load(o, tmpdir, s, m, err, sizeof err), 0);
    s->services = NULL; /* svc was on this stack */
}

static void test_obs_windows(void **state)
{
    struct hunt_obs o;
    struct scenario s;
    struct hunt_svcmap m;
    struct hunt_cands cs = {0};
    struct hunt_cat cat = {0};
    char exe[4096] = "";
    char *rules;

    observe(&o, &s, &m, exe);
    assert_int_equal(o.nreqs, 5);
    assert_true(o.reqs[0].t0 < o.reqs[1].t0);          /* sorted by time */
    assert_string_equal(o.procs[0].comm, "test_hunt"); /* from the summary line jansson refuses */
    assert_string_equal(o.procs[0].service, "svc");
    for (int t = 0; t < o.nthreads; t++)
        assert_int_equal(o.threads[t].background, o.threads[t].tid >= 13);
    hunt_cand_sql(&o, &cat, &cs);
    hunt_cand_locks(&o, &cs);
    hunt_cand_rank(&cs);

    const struct hunt_cand *c = find(&cs, HK_LOST_UPDATE, 0);
    assert_int_equal(c->seen, 2);
    assert_string_equal(c->req, "POST /x");
    assert_string_equal(c->service, "svc");
    assert_int_equal(c->gap_ns, 50000000); /* requests 0 and 1 read 50 ms apart */
    rules = hunt_cand_rules(c);
    /* fake_exec runs two statements: a helper; fake_take names the path */
    assert_int_equal(c->rank, 3); /* after the consumers: same score, seen more */
    assert_non_null(strstr(rules, "barrier hunt-3 2 timeout 150ms on pq.query where sql ~ "
                                  "\"^SELECT stock FROM inventory WHERE sku = \\$1\" and caller ~ "
                                  "\"^fake_take$\" after"));
    free(rules);
    c = find(&cs, HK_CONSUMERS, 0);
    assert_int_equal(c->nthreads, 2);
    assert_null(c->req);
    c = find(&cs, HK_LOCK_ORDER, 0);
    assert_int_equal(c->rank, 1); /* the strongest evidence first */
    rules = hunt_cand_rules(c);
    assert_non_null(strstr(rules, "on mutex.lock where caller ~ \"^(fake_sell|fake_restock)$\" "
                                  "after"));
    free(rules);
    c = find(&cs, HK_ATOMICITY, 70);
    assert_int_equal(c->rules[0].act, HA_DELAY);
    assert_string_equal(c->rules[0].caller, "^fake_book$");
    assert_int_equal(find(&cs, HK_ATOMICITY, 65)->rules[0].act, HA_BARRIER);
    find(&cs, HK_DOUBLE_SUBMIT, 0);
    assert_null(hunt_deadlock(&o)); /* every lock asked for was had */
    hunt_cands_free(&cs);
    hunt_obs_free(&o);
}

static void test_obs_deadlock(void **state)
{
    struct hunt_obs o;
    struct scenario s;
    struct hunt_svcmap m;
    char exe[4096] = "", path[512], err[256], *dl;
    struct scn_service svc = {.name = "svc"};

    observe(&o, &s, &m, exe);
    hunt_obs_free(&o);
    snprintf(path, sizeof path, "%s/traces/trace.10.jsonl", tmpdir);
    trace_f = fopen(path, "a");
    lock(21, 400, "0xa", "fake_sell");
    ev(21, 401, HUNT_OBS_WANT, "mutex.lock", NULL, "0xb", "\"fake_sell\"");
    lock(22, 400, "0xb", "fake_restock");
    ev(22, 401, HUNT_OBS_WANT, "mutex.lock", NULL, "0xa", "\"fake_restock\"");
    fclose(trace_f);
    s.services = &svc;
    s.nservices = 1;
    assert_int_equal(hunt_obs_load(&o, tmpdir, &s, &m, err, sizeof err), 0);
    dl = hunt_deadlock(&o);
    assert_non_null(dl);
    assert_string_equal(dl, "deadlock: thread 21 (pid 10) waits in fake_sell for mutex 0xb, held "
                            "by thread 22 since fake_restock; thread 22 (pid 10) waits in "
                            "fake_restock for mutex 0xa, held by thread 21 since fake_sell");
    free(dl);
    hunt_obs_free(&o);
}

static int setup(void **state)
{
    rt_mkdtemp("hunt");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stmt_reads),     cmocka_unit_test(test_stmt_writes),
        cmocka_unit_test(test_stmt_isolation), cmocka_unit_test(test_regexes),
        cmocka_unit_test(test_rule_text),      cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_small),          cmocka_unit_test(test_send_to),
        cmocka_unit_test(test_scn_found),      cmocka_unit_test(test_scn_observe),
        cmocka_unit_test(test_obs_windows),    cmocka_unit_test(test_obs_deadlock),
    };
    return cmocka_run_group_tests(tests, setup, rt_teardown);
}

/*
 * inv.c - invariants, evaluated after the load has stopped.
 *
 * SQL invariants run on one connection, each statement on its own (no
 * transaction is left open), under a statement timeout so a lock left by
 * a dying service cannot hang the run.  History invariants are counted in
 * one streaming pass over history.jsonl, which can be large.
 */
#include "inv.h"
#include "jsonw.h"
#include "reqflow.h"
#include "report.h"
#include "timeunit.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INV_MAX_ROWS   20 /* offending rows quoted in the detail */
#define INV_MAX_CELL   60 /* characters of one value in that table */
#define INV_BOOLOID    16
#define INV_TEXTOID    25
#define INV_VARCHAROID 1043

static const char *const inv_op_text[] = {"<", "<=", "==", "!=", ">=", ">"};
static const char *const inv_outcome_text[] = {"ok", "fail", "info", "all"};

static char *inv_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Set the result's strings (copies); NULL leaves a field empty. */
static void inv_set(struct inv_result *r, enum inv_status st, const char *expected,
                    const char *actual, const char *detail)
{
    r->status = st;
    free(r->expected), r->expected = inv_strdup(expected);
    free(r->actual), r->actual = inv_strdup(actual);
    free(r->detail), r->detail = inv_strdup(detail);
}

/* ---------------------------------------------------------------
 * SQL invariants.
 * ------------------------------------------------------------ */

/* The offending rows as a small text table: column names, then up to
 * INV_MAX_ROWS rows, cells cut at INV_MAX_CELL characters. */
static char *inv_rows_table(const PGresult *res, int bool_col)
{
    int nrows = PQntuples(res), ncols = PQnfields(res), shown = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    for (int c = 0; c < ncols; c++)
        fprintf(f, "%s%s", c ? " | " : "", PQfname(res, c));
    fputc('\n', f);
    for (int r = 0; r < nrows && shown < INV_MAX_ROWS; r++) {
        if (bool_col && !PQgetisnull(res, r, 0) && strcmp(PQgetvalue(res, r, 0), "t") == 0)
            continue;
        for (int c = 0; c < ncols; c++) {
            const char *v = PQgetisnull(res, r, c) ? "NULL" : PQgetvalue(res, r, c);
            size_t n = strlen(v);
            fprintf(f, "%s%.*s%s", c ? " | " : "", INV_MAX_CELL, v, n > INV_MAX_CELL ? "..." : "");
        }
        fputc('\n', f);
        shown++;
    }
    fclose(f);
    return text;
}

/* A result of one column of booleans (or text 't' / 'f'). */
static int inv_is_bool(const PGresult *res)
{
    Oid t;
    if (PQnfields(res) != 1)
        return 0;
    t = PQftype(res, 0);
    if (t == INV_BOOLOID)
        return 1;
    if (t != INV_TEXTOID && t != INV_VARCHAROID)
        return 0;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *v = PQgetvalue(res, r, 0);
        if (!PQgetisnull(res, r, 0) && strcmp(v, "t") != 0 && strcmp(v, "f") != 0)
            return 0;
    }
    return PQntuples(res) > 0;
}

/* Judge one successful query result. */
static void inv_judge(struct inv_result *r, const PGresult *res)
{
    int nrows = PQntuples(res), bad = 0;
    char actual[64], *table = NULL;

    if (inv_is_bool(res)) {
        if (nrows == 0) { /* a check that selects nothing proves nothing */
            inv_set(r, INV_FAILED, "true", "no rows", NULL);
            return;
        }
        if (nrows == 1) {
            const char *v = PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0);
            int ok = strcmp(v, "t") == 0;
            inv_set(r, ok ? INV_PASSED : INV_FAILED, "true",
                    ok                    ? "true"
                    : strcmp(v, "f") == 0 ? "false"
                                          : v,
                    NULL);
            return;
        }
        /* several rows of booleans: the rows that are not true break it */
        for (int i = 0; i < nrows; i++)
            bad += PQgetisnull(res, i, 0) || strcmp(PQgetvalue(res, i, 0), "t") != 0;
        snprintf(actual, sizeof(actual), "%d of %d rows not true", bad, nrows);
        table = bad ? inv_rows_table(res, 1) : NULL;
        inv_set(r, bad ? INV_FAILED : INV_PASSED, "every row true", bad ? actual : "every row true",
                table);
        free(table);
        return;
    }
    if (nrows == 0) {
        inv_set(r, INV_PASSED, "no rows", "no rows", NULL);
        return;
    }
    snprintf(actual, sizeof(actual), "%d row%s", nrows, nrows == 1 ? "" : "s");
    table = inv_rows_table(res, 0);
    if (table && nrows > INV_MAX_ROWS) {
        char *more = NULL;
        if (asprintf(&more, "%s... and %d more rows\n", table, nrows - INV_MAX_ROWS) >= 0)
            free(table), table = more;
    }
    inv_set(r, INV_FAILED, "no rows", actual, table);
    free(table);
}

static void inv_eval_sql(PGconn *conn, const char *conn_err, const struct scn_invariant *inv,
                         struct inv_result *r)
{
    PGresult *res = NULL;
    char msg[1024];

    if (!conn) {
        inv_set(r, INV_ERROR, "true or no rows", "error", conn_err);
        return;
    }
    res = PQexec(conn, inv->sql);
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
        inv_judge(r, res);
        break;
    case PGRES_COMMAND_OK:
        inv_set(r, INV_ERROR, "true or no rows", "error",
                "the statement returned no rows at all: an invariant must be a query (SELECT)");
        break;
    default:
        snprintf(msg, sizeof(msg), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        msg[strcspn(msg, "\n")] = '\0';
        inv_set(r, INV_ERROR, "true or no rows", "error", msg);
        break;
    }
    PQclear(res);
}

/* Connect for the SQL invariants; NULL with a message in err. */
static PGconn *inv_connect(const char *dsn, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {dsn, "10", "wedge-invariants", NULL};
    PGconn *conn;
    PGresult *res;

    if (!dsn) {
        snprintf(err, errlen, "no database to check the invariant on");
        return NULL;
    }
    conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the database: %s",
                 conn ? PQerrorMessage(conn) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQfinish(conn);
        return NULL;
    }
    /* bounded: a lock left behind must not hang the check */
    res = PQexec(conn, "SET statement_timeout = '30s'");
    PQclear(res);
    return conn;
}

/* ---------------------------------------------------------------
 * History invariants.
 * ------------------------------------------------------------ */
struct inv_count {
    uint64_t n;
    int has_at;
    uint64_t at_t_ns;
    long at_user;
    long long at_seq;
    char *at_req;
};

/* Does this history line count for inv? */
static int inv_matches(const struct scn_invariant *inv, const char *type, const char *req)
{
    static const char *const want[] = {"ok", "fail", "info", "invoke"};
    const char *path;
    size_t ml;
    if (strcmp(type, want[inv->outcome]) != 0)
        return 0;
    if (inv->method) {
        ml = strlen(inv->method);
        if (strncmp(req, inv->method, ml) != 0 || (req[ml] != ' ' && req[ml] != '\0'))
            return 0;
    }
    if (!inv->path)
        return 1;
    path = strchr(req, ' ');
    return path && strncmp(path + 1, inv->path, strlen(inv->path)) == 0;
}

/* An upper bound, once crossed, stays crossed: remember who crossed it. */
static int inv_upper_bound(enum scn_op op)
{
    return op == SCN_LT || op == SCN_LE || op == SCN_EQ;
}

/* The members of a history line that the counts use. */
struct inv_line {
    const char *type, *req;
    int64_t t_ns, user, seq;
};

static void inv_count(const struct scenario *s, struct inv_count *counts, const struct inv_line *l)
{
    for (int i = 0; i < s->ninvariants; i++) {
        const struct scn_invariant *inv = &s->invariants[i];
        struct inv_count *c = &counts[i];
        if (inv->kind != SCN_INV_HISTORY || !inv_matches(inv, l->type, l->req))
            continue;
        c->n++;
        if (!c->has_at && inv_upper_bound(inv->op) &&
            rf_compare((double)(c->n - 1), inv->op, inv->number) &&
            !rf_compare((double)c->n, inv->op, inv->number)) {
            c->has_at = 1;
            c->at_t_ns = (uint64_t)l->t_ns;
            c->at_user = (long)l->user;
            c->at_seq = (long long)l->seq;
            c->at_req = strdup(l->req);
        }
    }
}

/* Count one line: read from the raw text when it is in the runner's
 * compact form (a history can hold millions of lines), else parsed.
 * 0 when the line is not a JSON object (a partial last line). */
static int inv_count_line(const struct scenario *s, struct inv_count *counts, const char *line,
                          size_t n)
{
    char type[16], req[512];
    struct inv_line l = {type, req, 0, 0, 0};
    json_t *e;
    if (n >= 2 && line[n - 1] == '\n' && line[n - 2] == '}' &&
        jw_peek_str(line, "\"type\"", type, sizeof(type)) &&
        jw_peek_str(line, "\"req\"", req, sizeof(req)) && jw_peek_i64(line, "\"t_ns\"", &l.t_ns) &&
        jw_peek_i64(line, "\"user\"", &l.user) && jw_peek_i64(line, "\"seq\"", &l.seq)) {
        inv_count(s, counts, &l);
        return 1;
    }
    e = json_loadb(line, n, JSON_DISABLE_EOF_CHECK, NULL);
    if (!json_is_object(e)) {
        json_decref(e);
        return 0;
    }
    l.type = json_string_value(json_object_get(e, "type"));
    l.req = json_string_value(json_object_get(e, "req"));
    l.t_ns = json_integer_value(json_object_get(e, "t_ns"));
    l.user = json_integer_value(json_object_get(e, "user"));
    l.seq = json_integer_value(json_object_get(e, "seq"));
    if (l.type && l.req)
        inv_count(s, counts, &l);
    json_decref(e);
    return 1;
}

/* One pass over history.jsonl; -1 with err when it cannot be read. */
static int inv_scan_history(const struct scenario *s, const char *path, struct inv_count *counts,
                            uint64_t *bad_lines, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0)
        if (!inv_count_line(s, counts, line, (size_t)n))
            *bad_lines += n > 1; /* a run killed mid-write leaves a partial last line */
    free(line);
    fclose(f);
    return 0;
}

static char *inv_history_expected(const struct scn_invariant *inv)
{
    char *s = NULL;
    if (asprintf(&s, "%s%s%s%s%s %s %g", inv_outcome_text[inv->outcome], inv->method ? " " : "",
                 inv->method ? inv->method : "", inv->path ? " " : "", inv->path ? inv->path : "",
                 inv_op_text[inv->op], inv->number) < 0)
        return NULL;
    return s;
}

static void inv_eval_history(const struct scn_invariant *inv, const struct inv_count *c,
                             int readable, const char *read_err, uint64_t bad_lines,
                             struct inv_result *r)
{
    char actual[32], *detail = NULL, *expected = inv_history_expected(inv);
    int ok;

    if (!readable) {
        inv_set(r, INV_ERROR, expected, "error", read_err);
        free(expected);
        return;
    }
    snprintf(actual, sizeof(actual), "%llu", (unsigned long long)c->n);
    ok = rf_compare((double)c->n, inv->op, inv->number);
    if (!ok && c->has_at) {
        if (asprintf(&detail, "first broken by user %ld seq %lld (%s) at %.3f ms into the load",
                     c->at_user, c->at_seq, c->at_req ? c->at_req : "?",
                     c->at_t_ns / (double)NS_PER_MS) < 0)
            detail = NULL;
        r->has_at = 1;
        r->at_t_ns = c->at_t_ns;
    } else if (bad_lines) {
        if (asprintf(&detail, "%llu unreadable line(s) of the history were skipped",
                     (unsigned long long)bad_lines) < 0)
            detail = NULL;
    }
    inv_set(r, ok ? INV_PASSED : INV_FAILED, expected, actual, detail);
    free(detail);
    free(expected);
}

/* ---------------------------------------------------------------
 * Entry points.
 * ------------------------------------------------------------ */
/* The invariants judged elsewhere: thresholds now, HTTP ones moved in. */
static void inv_eval_others(const struct scenario *s, const struct inv_inputs *in,
                            struct inv_result *res)
{
    for (int i = 0; i < s->ninvariants; i++) {
        if (s->invariants[i].kind == SCN_INV_THRESHOLD) {
            inv_threshold(&s->invariants[i], in->totals, &res[i]);
        } else if (s->invariants[i].kind == SCN_INV_HTTP && in->http && in->http[i].expected) {
            char *name = res[i].name;
            free(in->http[i].name);
            res[i] = in->http[i];
            res[i].name = name;
            memset(&in->http[i], 0, sizeof(in->http[i]));
        } else if (s->invariants[i].kind == SCN_INV_HTTP) {
            inv_set(&res[i], INV_ERROR, s->invariants[i].text, "not sent",
                    "the run ended before its services could be asked");
        }
    }
}

int inv_eval_all(const struct scenario *s, const struct inv_inputs *in, struct inv_result **out,
                 int *nout, char *err, size_t errlen)
{
    struct inv_result *res = NULL;
    struct inv_count *counts = NULL;
    PGconn *conn = NULL;
    char conn_err[512] = "", hist_err[512] = "";
    int need_sql = 0, need_hist = 0, readable = 0, rc = -1;
    uint64_t bad_lines = 0;

    *out = NULL;
    *nout = 0;
    res = calloc((size_t)s->ninvariants + 1, sizeof(*res));
    counts = calloc((size_t)s->ninvariants + 1, sizeof(*counts));
    if (!res || !counts) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < s->ninvariants; i++) {
        need_sql |= s->invariants[i].kind == SCN_INV_SQL;
        need_hist |= s->invariants[i].kind == SCN_INV_HISTORY;
        res[i].name = strdup(s->invariants[i].name);
    }
    if (need_sql)
        conn = inv_connect(in->dsn, conn_err, sizeof(conn_err));
    if (need_hist) {
        if (!in->history_path)
            snprintf(hist_err, sizeof(hist_err), "no history to count in");
        else
            readable = inv_scan_history(s, in->history_path, counts, &bad_lines, hist_err,
                                        sizeof(hist_err)) == 0;
    }
    for (int i = 0; i < s->ninvariants; i++) {
        if (s->invariants[i].kind == SCN_INV_SQL)
            inv_eval_sql(conn, conn_err, &s->invariants[i], &res[i]);
        else if (s->invariants[i].kind == SCN_INV_HISTORY)
            inv_eval_history(&s->invariants[i], &counts[i], readable, hist_err, bad_lines, &res[i]);
    }
    inv_eval_others(s, in, res);
    *out = res;
    *nout = s->ninvariants;
    res = NULL;
    rc = 0;
out:
    if (conn)
        PQfinish(conn);
    for (int i = 0; counts && i < s->ninvariants; i++)
        free(counts[i].at_req);
    free(counts);
    free(res);
    return rc;
}

void inv_results_free(struct inv_result *r, int n)
{
    for (int i = 0; r && i < n; i++) {
        free(r[i].name);
        free(r[i].expected);
        free(r[i].actual);
        free(r[i].detail);
    }
    free(r);
}

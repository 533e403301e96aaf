/*
 * orders.c - multi-line, multi-SKU orders: all lines or none.
 *
 * Lines are taken in SKU order (duplicates merged) so two orders touching
 * the same SKUs lock them in the same order and cannot deadlock each other
 * under the pessimistic strategy.  The order, its lines and its outbox
 * events (order.placed for the order, stock.changed per SKU with the row's
 * new version as the per-aggregate sequence) commit together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shop.h"

static int line_cmp(const void *a, const void *b)
{
    return strcmp(((const struct order_line *)a)->sku, ((const struct order_line *)b)->sku);
}

void orders_normalise(struct order_in *o)
{
    int n = o->n;
    qsort(o->lines, (size_t)n, sizeof o->lines[0], line_cmp);
    o->n = 0;
    for (int k = 0; k < n; k++) {
        if (o->n > 0 && strcmp(o->lines[o->n - 1].sku, o->lines[k].sku) == 0)
            o->lines[o->n - 1].qty += o->lines[k].qty;
        else
            o->lines[o->n++] = o->lines[k];
    }
}

/* Parse {"lines":[{"sku","qty"},...]} (or a single {"sku","qty"}). */
static int parse_order(json_t *body, struct order_in *o)
{
    json_t *lines, *one = NULL;
    size_t i;
    int n = 0;

    if (!body)
        return -1;
    lines = json_object_get(body, "lines");
    if (!lines && json_object_get(body, "sku")) {
        one = json_array();
        json_array_append(one, body);
        lines = one;
    }
    if (!json_is_array(lines) || json_array_size(lines) == 0 ||
        json_array_size(lines) > ORDER_MAX_LINES)
        goto bad;
    for (i = 0; i < json_array_size(lines); i++) {
        const char *sku;
        json_int_t qty;

        if (json_unpack(json_array_get(lines, i), "{s:s,s:I}", "sku", &sku, "qty", &qty) ||
            qty < 1 || qty > 1000 || strlen(sku) == 0 || strlen(sku) >= 64)
            goto bad;
        snprintf(o->lines[n].sku, sizeof o->lines[n].sku, "%s", sku);
        o->lines[n++].qty = (long)qty;
    }
    o->n = n;
    orders_normalise(o);
    json_decref(one);
    return 0;
bad:
    json_decref(one);
    return -1;
}

static int exec1(PGconn *c, PGresult **r, const char *sql, int n, const char *const *p)
{
    return tx_from_db(db_exec(c, r, sql, n, p));
}

/* Take every line's stock (in sku order: no deadlock between orders);
 * *total the order's price.  TX_OK, or the refusal in rp. */
static int order_take(PGconn *c, struct order_in *o, struct reply *rp, long *total)
{
    *total = 0;
    for (int i = 0; i < o->n; i++) {
        int src, rc = stock_take(c, o->lines[i].sku, o->lines[i].qty, &src, &o->lines[i].price,
                                 &o->lines[i].version);
        if (rc != TX_OK)
            return rc;
        if (src != STOCK_OK) {
            reply_error(rp, src == STOCK_SHORT ? 409 : 404, "%s '%s'",
                        src == STOCK_SHORT ? "insufficient stock for" : "unknown sku",
                        o->lines[i].sku);
            return TX_ABORT;
        }
        *total += o->lines[i].qty * o->lines[i].price;
    }
    return TX_OK;
}

/* The order row; its id into s_id, the 201 reply set. */
static int order_insert(PGconn *c, long total, char *s_id, size_t idlen, struct reply *rp)
{
    char s_total[32];
    const char *p[1] = {s_total};
    PGresult *r = NULL;
    int rc;

    snprintf(s_total, sizeof s_total, "%ld", total);
    rc = exec1(c, &r,
               "INSERT INTO orders (order_no, total_cents) VALUES ("
               "'ORD-' || lpad(nextval('order_no_seq')::text, 8, '0'), $1) "
               "RETURNING id, order_no",
               1, p);
    if (rc != TX_OK)
        return rc;
    snprintf(s_id, idlen, "%s", PQgetvalue(r, 0, 0));
    reply_json(rp, 201,
               json_pack("{s:I,s:s,s:I,s:s}", "id", (json_int_t)atol(s_id), "order_no",
                         PQgetvalue(r, 0, 1), "total_cents", (json_int_t)total, "status",
                         "placed"));
    PQclear(r);
    return TX_OK;
}

/* One order line and its stock.changed event; the line into out_lines. */
static int order_line(PGconn *c, const struct order_line *l, const char *s_id, json_t *out_lines)
{
    char s_qty[32], s_price[32], s_ver[32], *payload;
    const char *p[4] = {s_id, l->sku, s_qty, s_price};
    const char *q[3] = {l->sku, s_ver, NULL};
    json_t *pl;
    int rc;

    snprintf(s_qty, sizeof s_qty, "%ld", l->qty);
    snprintf(s_price, sizeof s_price, "%ld", l->price);
    snprintf(s_ver, sizeof s_ver, "%ld", l->version);
    rc = exec1(c, NULL,
               "INSERT INTO order_lines (order_id, sku, qty, price_cents) "
               "VALUES ($1, $2, $3, $4)",
               4, p);
    if (rc != TX_OK)
        return rc;
    pl = json_pack("{s:s,s:I,s:I}", "sku", l->sku, "qty", (json_int_t)l->qty, "price_cents",
                   (json_int_t)l->price);
    json_array_append_new(out_lines, pl); /* the array owns pl from here */
    json_object_set_new(pl, "order_id", json_integer(atol(s_id)));
    payload = json_dumps(pl, JSON_COMPACT);
    q[2] = payload;
    rc = exec1(c, NULL,
               "INSERT INTO outbox (aggregate, seq, event_type, payload) "
               "VALUES ($1, $2, 'stock.changed', $3::jsonb)",
               3, q);
    free(payload);
    return rc;
}

int orders_tx_place(PGconn *c, void *arg, struct reply *rp)
{
    struct order_in *o = arg;
    char s_id[32], *payload = NULL;
    json_t *out_lines = NULL;
    long total;
    int rc = order_take(c, o, rp, &total);

    if (rc != TX_OK)
        return rc;
    rc = order_insert(c, total, s_id, sizeof s_id, rp);
    if (rc != TX_OK)
        return rc;
    out_lines = json_array();
    for (int i = 0; i < o->n; i++) {
        rc = order_line(c, &o->lines[i], s_id, out_lines);
        if (rc != TX_OK)
            goto out;
    }
    json_object_set(rp->body, "lines", out_lines);
    payload = json_dumps(rp->body, JSON_COMPACT);
    {
        const char *p[2] = {s_id, payload};
        rc = exec1(c, NULL,
                   "INSERT INTO outbox (aggregate, seq, event_type, payload) "
                   "VALUES ('order-' || $1, 1, 'order.placed', $2::jsonb)",
                   2, p);
    }
out:
    free(payload);
    json_decref(out_lines);
    return rc;
}

void orders_post(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    struct order_in o;

    if (parse_order(rq->body, &o) != 0) {
        reply_error(rp, 400,
                    "expected {\"lines\":[{\"sku\":text,\"qty\":1..1000},...]} "
                    "with 1..%d lines",
                    ORDER_MAX_LINES);
        return;
    }
    tx_run(orders_tx_place, &o, rp);
}

/* ---------------------------------------------------------------
 * GET /orders/{id}
 * ------------------------------------------------------------ */
static int tx_order_get(PGconn *c, void *arg, struct reply *rp)
{
    const char *p[1] = {arg};
    PGresult *r = NULL;
    json_t *o, *lines;
    int rc;

    rc = exec1(c, &r,
               "SELECT id, order_no, status, total_cents, coalesce(charge_id, 0) "
               "FROM orders WHERE id = $1",
               1, p);
    if (rc != TX_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        reply_error(rp, 404, "no order %s", (const char *)arg);
        return TX_ABORT;
    }
    o = json_pack("{s:I,s:s,s:s,s:I,s:I}", "id", (json_int_t)atol(PQgetvalue(r, 0, 0)), "order_no",
                  PQgetvalue(r, 0, 1), "status", PQgetvalue(r, 0, 2), "total_cents",
                  (json_int_t)atol(PQgetvalue(r, 0, 3)), "charge_id",
                  (json_int_t)atol(PQgetvalue(r, 0, 4)));
    PQclear(r);
    reply_json(rp, 200, o);
    rc = exec1(c, &r,
               "SELECT sku, qty, price_cents FROM order_lines WHERE order_id = $1 ORDER BY sku", 1,
               p);
    if (rc != TX_OK)
        return rc;
    lines = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(lines, json_pack("{s:s,s:I,s:I}", "sku", PQgetvalue(r, i, 0), "qty",
                                               (json_int_t)atol(PQgetvalue(r, i, 1)), "price_cents",
                                               (json_int_t)atol(PQgetvalue(r, i, 2))));
    json_object_set_new(o, "lines", lines);
    PQclear(r);
    return TX_OK;
}

static int valid_id(const char *s)
{
    if (!*s || strlen(s) > 18)
        return 0;
    return strspn(s, "0123456789") == strlen(s);
}

void orders_get(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    if (!valid_id(caps[0])) {
        reply_error(rp, 400, "order id must be a number, not '%s'", caps[0]);
        return;
    }
    tx_run(tx_order_get, caps[0], rp);
}

/*
 * cart.c - carts: a customer gathers lines in a cart, then checks it out
 * into an order (the order's own transaction, orders_tx_place), which is
 * then paid with the id the checkout returned.  This is the shop's flow
 * that a scenario walks as one virtual user: cart -> lines -> checkout ->
 * pay (scenarios/shop/payment-flow-*.scn).
 *
 * A cart is checked out once: the checkout claims it with a conditional
 * UPDATE (open -> ordered) in the order's transaction, so two checkouts of
 * one cart cannot both place an order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shop.h"

static int cart_exec(PGconn *c, PGresult **r, const char *sql, int n, const char *const *p)
{
    return tx_from_db(db_exec(c, r, sql, n, p));
}

static int cart_id_ok(const char *s, struct reply *rp)
{
    if (*s && strlen(s) <= 18 && strspn(s, "0123456789") == strlen(s))
        return 1;
    reply_error(rp, 400, "cart id must be a number, not '%s'", s);
    return 0;
}

/* ---------------------------------------------------------------
 * POST /carts
 * ------------------------------------------------------------ */
static int tx_cart_new(PGconn *c, void *arg, struct reply *rp)
{
    PGresult *r = NULL;
    int rc = cart_exec(c, &r, "INSERT INTO carts DEFAULT VALUES RETURNING id", 0, NULL);
    (void)arg;
    if (rc != TX_OK)
        return rc;
    reply_json(
        rp, 201,
        json_pack("{s:I,s:s}", "id", (json_int_t)atol(PQgetvalue(r, 0, 0)), "status", "open"));
    PQclear(r);
    return TX_OK;
}

void cart_post(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    (void)rq, (void)caps;
    tx_run(tx_cart_new, NULL, rp);
}

/* ---------------------------------------------------------------
 * GET /carts/{id}
 * ------------------------------------------------------------ */
static int tx_cart_get(PGconn *c, void *arg, struct reply *rp)
{
    const char *p[1] = {arg};
    PGresult *r = NULL;
    json_t *o, *lines;
    int rc =
        cart_exec(c, &r, "SELECT status, coalesce(order_id, 0) FROM carts WHERE id = $1", 1, p);

    if (rc != TX_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        reply_error(rp, 404, "no cart %s", (const char *)arg);
        return TX_ABORT;
    }
    o = json_pack("{s:I,s:s,s:I}", "id", (json_int_t)atol(arg), "status", PQgetvalue(r, 0, 0),
                  "order_id", (json_int_t)atol(PQgetvalue(r, 0, 1)));
    PQclear(r);
    reply_json(rp, 200, o);
    rc = cart_exec(c, &r, "SELECT sku, qty FROM cart_lines WHERE cart_id = $1 ORDER BY sku", 1, p);
    if (rc != TX_OK)
        return rc;
    lines = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(lines, json_pack("{s:s,s:I}", "sku", PQgetvalue(r, i, 0), "qty",
                                               (json_int_t)atol(PQgetvalue(r, i, 1))));
    json_object_set_new(o, "lines", lines);
    PQclear(r);
    return TX_OK;
}

void cart_get(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    (void)rq;
    if (cart_id_ok(caps[0], rp))
        tx_run(tx_cart_get, caps[0], rp);
}

/* ---------------------------------------------------------------
 * POST /carts/{id}/lines {"sku","qty"}: adds qty of sku to an open cart.
 * ------------------------------------------------------------ */
struct cart_line_in {
    const char *cart, *sku;
    char qty[32];
};

static int tx_cart_line(PGconn *c, void *arg, struct reply *rp)
{
    struct cart_line_in *in = arg;
    const char *p[3] = {in->cart, in->sku, in->qty};
    PGresult *r = NULL;
    int rc = cart_exec(c, &r, "SELECT status FROM carts WHERE id = $1 FOR UPDATE", 1, p);

    if (rc != TX_OK)
        return rc;
    if (PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 0), "open") != 0) {
        if (PQntuples(r) == 0)
            reply_error(rp, 404, "no cart %s", in->cart);
        else
            reply_error(rp, 409, "cart %s is %s", in->cart, PQgetvalue(r, 0, 0));
        PQclear(r);
        return TX_ABORT;
    }
    PQclear(r);
    rc = cart_exec(c, &r,
                   "INSERT INTO cart_lines (cart_id, sku, qty) VALUES ($1, $2, $3) "
                   "ON CONFLICT (cart_id, sku) DO UPDATE SET qty = cart_lines.qty + EXCLUDED.qty "
                   "RETURNING qty",
                   3, p);
    if (rc != TX_OK)
        return rc;
    reply_json(rp, 201,
               json_pack("{s:I,s:s,s:I}", "cart_id", (json_int_t)atol(in->cart), "sku", in->sku,
                         "qty", (json_int_t)atol(PQgetvalue(r, 0, 0))));
    PQclear(r);
    return TX_OK;
}

void cart_post_line(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    struct cart_line_in in = {caps[0], NULL, ""};
    json_int_t qty;

    if (!cart_id_ok(caps[0], rp))
        return;
    if (!rq->body || json_unpack(rq->body, "{s:s,s:I}", "sku", &in.sku, "qty", &qty) || qty < 1 ||
        qty > 1000 || !*in.sku || strlen(in.sku) >= 64) {
        reply_error(rp, 400, "expected {\"sku\":text,\"qty\":1..1000}");
        return;
    }
    snprintf(in.qty, sizeof in.qty, "%lld", (long long)qty);
    tx_run(tx_cart_line, &in, rp);
}

/* ---------------------------------------------------------------
 * POST /carts/{id}/checkout: the cart's lines become an order.
 * ------------------------------------------------------------ */
static int tx_checkout(PGconn *c, void *arg, struct reply *rp)
{
    const char *p[2] = {arg, NULL};
    struct order_in o = {.n = 0};
    PGresult *r = NULL;
    char order_id[32];
    int rc = cart_exec(c, &r,
                       "UPDATE carts SET status = 'ordered' WHERE id = $1 AND status = 'open' "
                       "RETURNING id",
                       1, p);

    if (rc != TX_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        reply_error(rp, 409, "cart %s is not open (unknown, or checked out already)",
                    (const char *)arg);
        return TX_ABORT;
    }
    PQclear(r);
    rc = cart_exec(c, &r, "SELECT sku, qty FROM cart_lines WHERE cart_id = $1", 1, p);
    if (rc != TX_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && o.n < ORDER_MAX_LINES; i++, o.n++) {
        snprintf(o.lines[o.n].sku, sizeof o.lines[o.n].sku, "%s", PQgetvalue(r, i, 0));
        o.lines[o.n].qty = atol(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    if (o.n == 0) {
        reply_error(rp, 409, "cart %s is empty", (const char *)arg);
        return TX_ABORT;
    }
    orders_normalise(&o);
    if ((rc = orders_tx_place(c, &o, rp)) != TX_OK)
        return rc;
    snprintf(order_id, sizeof order_id, "%lld",
             (long long)json_integer_value(json_object_get(rp->body, "id")));
    p[1] = order_id;
    rc = cart_exec(c, NULL, "UPDATE carts SET order_id = $2 WHERE id = $1", 2, p);
    if (rc == TX_OK)
        json_object_set_new(rp->body, "cart_id", json_integer(atol(arg)));
    return rc;
}

void cart_checkout(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    (void)rq;
    if (cart_id_ok(caps[0], rp))
        tx_run(tx_checkout, caps[0], rp);
}

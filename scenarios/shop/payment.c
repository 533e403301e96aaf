/*
 * payment.c - POST /orders/{id}/pay: charge through pspd, then mark paid.
 *
 * The provider is called with a timeout and retried.  A timeout says
 * nothing about whether the charge happened:
 *   naive       every attempt is a fresh charge (no key): a retry after a
 *               slow answer, or a second submit of the same payment, charges
 *               the customer again;
 *   idempotent  every attempt carries the same key (the client's, else
 *               "order-<id>"), and pspd answers a repeated key with the
 *               first charge; paying an order already paid answers 200 with
 *               its charge (a replay), not 409.
 * No database connection is held while waiting for the provider.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shop.h"

struct pay {
    const char *id;
    long total;
    long charge_id;
    int replayed; /* idempotent: the order was already paid, reply with its charge */
};

static int tx_pay_read(PGconn *c, void *arg, struct reply *rp)
{
    struct pay *py = arg;
    const char *p[1] = {py->id};
    PGresult *r = NULL;
    int rc = tx_from_db(db_exec(
        c, &r, "SELECT status, total_cents, coalesce(charge_id, 0) FROM orders WHERE id = $1", 1,
        p));

    if (rc != TX_OK)
        return rc;
    if (PQntuples(r) == 0) {
        reply_error(rp, 404, "no order %s", py->id);
        rc = TX_ABORT;
    } else if (strcmp(PQgetvalue(r, 0, 0), "paid") == 0 && shop_cfg.payment == PAY_IDEMPOTENT) {
        /* Paying a paid order again is a replay: same answer, no charge. */
        py->replayed = 1;
        reply_json(rp, 200,
                   json_pack("{s:I,s:s,s:I,s:b}", "id", (json_int_t)atol(py->id), "status", "paid",
                             "charge_id", (json_int_t)atol(PQgetvalue(r, 0, 2)), "replayed", 1));
    } else if (strcmp(PQgetvalue(r, 0, 0), "placed") != 0) {
        reply_error(rp, 409, "order %s is %s", py->id, PQgetvalue(r, 0, 0));
        rc = TX_ABORT;
    } else {
        py->total = atol(PQgetvalue(r, 0, 1));
        reply_json(rp, 200, NULL);
    }
    PQclear(r);
    return rc;
}

static int tx_pay_mark(PGconn *c, void *arg, struct reply *rp)
{
    struct pay *py = arg;
    char s_charge[32];
    const char *p[2] = {py->id, s_charge};
    PGresult *r = NULL;
    int rc;

    snprintf(s_charge, sizeof s_charge, "%ld", py->charge_id);
    rc = tx_from_db(db_exec(c, &r,
                            "UPDATE orders SET status = 'paid', charge_id = $2, "
                            "paid_at = clock_timestamp() WHERE id = $1 AND status = 'placed' "
                            "RETURNING total_cents",
                            2, p));
    if (rc != TX_OK)
        return rc;
    if (PQntuples(r) > 0)
        rc = tx_from_db(db_exec(c, NULL,
                                "INSERT INTO outbox (aggregate, seq, event_type, payload) "
                                "VALUES ('order-' || $1, 2, 'order.paid', "
                                "jsonb_build_object('order_id', $1::bigint, 'charge_id', "
                                "$2::bigint))",
                                2, p));
    PQclear(r);
    if (rc == TX_OK)
        reply_json(rp, 200,
                   json_pack("{s:I,s:s,s:I}", "id", (json_int_t)atol(py->id), "status", "paid",
                             "charge_id", (json_int_t)py->charge_id));
    return rc;
}

/* Call pspd until it answers, at most psp_tries times.  0 with
 * py->charge_id set, or -1 with the reply set. */
static int charge(struct pay *py, const char *key, struct reply *rp)
{
    char url[512];
    json_t *req = json_pack("{s:I,s:I}", "order_id", (json_int_t)atol(py->id), "amount",
                            (json_int_t)py->total);
    int rc = -1;

    if (key)
        json_object_set_new(req, "idempotency_key", json_string(key));
    snprintf(url, sizeof url, "%s/charges", shop_cfg.psp_url);
    for (int attempt = 1; attempt <= shop_cfg.psp_tries; attempt++) {
        json_t *resp = NULL;
        long status = 0;
        int timed_out = 0;

        if (attempt > 1)
            STAT_ADD(psp_retries, 1);
        STAT_ADD(psp_calls, 1);
        if (http_post_json(NULL, url, req, shop_cfg.psp_timeout_ms, &status, &resp, &timed_out) !=
            0) {
            if (timed_out)
                STAT_ADD(psp_timeouts, 1);
            continue;
        }
        if (status >= 200 && status < 300 && json_is_integer(json_object_get(resp, "charge_id"))) {
            py->charge_id = (long)json_integer_value(json_object_get(resp, "charge_id"));
            json_decref(resp);
            rc = 0;
            goto out;
        }
        json_decref(resp);
        if (status >= 400 && status < 500) {
            reply_error(rp, 402, "payment refused by the provider (HTTP %ld)", status);
            goto out;
        }
    }
    reply_error(rp, 502, "payment provider unavailable after %d attempts", shop_cfg.psp_tries);
out:
    json_decref(req);
    return rc;
}

void payment_post(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    struct pay py = {caps[0], 0, 0, 0};
    char key[160];
    const char *k = NULL;

    if (!shop_cfg.psp_url) {
        reply_error(rp, 503, "no payment provider configured (--psp)");
        return;
    }
    if (!*caps[0] || strspn(caps[0], "0123456789") != strlen(caps[0]) || strlen(caps[0]) > 18) {
        reply_error(rp, 400, "order id must be a number, not '%s'", caps[0]);
        return;
    }
    tx_run(tx_pay_read, &py, rp);
    if (rp->status != 200 || py.replayed)
        return;
    if (shop_cfg.payment == PAY_IDEMPOTENT) {
        json_t *jk = rq->body ? json_object_get(rq->body, "idempotency_key") : NULL;
        if (json_is_string(jk))
            snprintf(key, sizeof key, "%.150s", json_string_value(jk));
        else
            snprintf(key, sizeof key, "order-%s", py.id);
        k = key;
    }
    if (charge(&py, k, rp) != 0)
        return;
    tx_run(tx_pay_mark, &py, rp);
}

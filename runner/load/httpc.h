/*
 * httpc.h - one HTTP exchange over a libcurl easy handle: a request built
 * by reqflow (rf_req) out, a response (rf_resp) in, the body and header
 * block kept only when the judge needs them.  HTTP invariants use one
 * after the load; the load engine's libcurl path (hcurl.c, https) uses
 * httpc_setup and httpc_result around its own transfer on a multi handle.
 *
 * One struct httpc per thread at a time; distinct ones are independent
 * (curl_global_init must have run).
 */
#ifndef WEDGE_HTTPC_H
#define WEDGE_HTTPC_H

#include <stddef.h>

#include "reqflow.h"

/* The most of a response body kept for the judge (bytes): a larger body
 * is cut there, and an expect that reads it says so. */
#define HTTPC_MAX_BODY (8u << 20)

struct httpc {
    void *curl; /* CURL * */
    void *hdrs; /* struct curl_slist * of the request being sent */
    long timeout_ms;
    int want_body, want_headers;
    char *body, *head; /* what was kept of the response */
    size_t body_len, body_cap, head_len, head_cap;
    int truncated;
};

/* 0, or -1 when libcurl cannot make a handle. */
int httpc_init(struct httpc *h, long timeout_ms);
void httpc_free(struct httpc *h);

/* Send q and wait for its response (at most the timeout).  resp points
 * into h until the next call.  Returns 0 when a response arrived; -1 when
 * none did (resp->error says why), with *ours set when the request itself
 * was at fault (a malformed URL, an unknown scheme): the scenario's
 * fault, not the service's. */
int httpc_do(struct httpc *h, const struct rf_req *q, struct rf_resp *resp, int *ours);

/* The two halves of httpc_do, for a transfer driven elsewhere: set the
 * easy handle up for q (0, or -1 out of memory), then read its outcome
 * (cc: the transfer's CURLcode). */
int httpc_setup(struct httpc *h, const struct rf_req *q);
int httpc_result(struct httpc *h, int cc, struct rf_resp *resp, int *ours);

#endif

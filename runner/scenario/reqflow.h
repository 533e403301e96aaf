/*
 * reqflow.h - one HTTP request of a scenario, whatever engine sends it:
 * which request a virtual user sends next (the mix, or the next step of
 * its flow), the request built from its template (method, URL, headers,
 * body, every ${...} expanded with the user's own values), and the
 * response judged (expects checked, captures taken into the user's
 * variables) into an outcome and a reason.  The engine only moves bytes.
 *
 * An engine drives one user like this (error handling shortened):
 *
 *     struct rf_user u;              rf_user_init(&u, s, util_mix(seed, id), id);
 *     for (;;) {
 *         if (!rf_in_flow(&u) && !begin_iteration())   // count, deadline,
 *             break;                                   // open model's due time
 *         int k = rf_next(&u, s);                      // s->requests[k]
 *         if (s->requests[k].kind == SCN_REQ_SQL) {    // the engine's own
 *             char *sql = rf_sql(&ctx, &u, k, err, len);
 *             ...; rf_advance(&u, s, outcome); continue;
 *         }
 *         struct rf_req q;  struct rf_result res;
 *         if (rf_build(&ctx, &u, k, &q, err, len) < 0) {
 *             rf_fault(&res, err);                     // info, the scenario's fault
 *         } else {
 *             send q; read status, and headers / body when q.want_headers /
 *             q.want_body say the judge needs them (else discard them);
 *             rf_judge(&ctx, &u, k, &resp, &res, NULL);
 *         }
 *         record res.outcome, res.reason (history), res.scenario_fault;
 *         rf_advance(&u, s, res.outcome);
 *         rf_req_free(&q);
 *     }
 *     rf_user_free(&u, s);
 *
 * Per user: struct rf_user (48 bytes) and one pointer per captured
 * variable of the scenario, plus the captured strings.  Functions on one
 * rf_user are not thread-safe; distinct users may run on distinct threads
 * (the rf_ctx and the scenario are only read).
 */
#ifndef WEDGE_REQFLOW_H
#define WEDGE_REQFLOW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scn.h"

/* The outcome of a request, as history.jsonl names them (report.h). */
enum rf_outcome { RF_OK, RF_FAIL, RF_INFO };

/* What every request of a run shares. */
struct rf_ctx {
    const struct scenario *s;
    const char *base_url; /* "http://127.0.0.1:PORT" or the expanded target
                           * URL, no trailing '/'; NULL: none (full URLs only) */
    struct exp_ctx exp;   /* the run's; user, iter, rng and variables are set
                           * per request from the rf_user */
};

/* A virtual user: small and explicit. */
struct rf_user {
    long id;       /* ${user} */
    uint64_t rng;  /* its generator: the mix's draws, ${rand}, ${uuid} */
    uint64_t iter; /* iterations begun; ${iter} is iter - 1 within one */
    int flow;      /* the flow in progress, -1: none */
    int step;      /* that flow's next request, from 0 */
    char **vals;   /* [s->nvars]: captured values (malloc'd), NULL: none yet */
};

/* User id with its generator's state rng (util_mix(seed, id): the draws
 * a seed has always given).  0, or -1 out of memory. */
int rf_user_init(struct rf_user *u, const struct scenario *s, uint64_t rng, long id);
void rf_user_free(struct rf_user *u, const struct scenario *s);

/* 1 while the user is inside a flow: its next request continues the
 * iteration (no new arrival, no iteration counted). */
int rf_in_flow(const struct rf_user *u);
/* The index in s->requests of the user's next request: the next step of
 * its flow, or a draw from the mix (request lines and flows by weight),
 * which begins an iteration. */
int rf_next(struct rf_user *u, const struct scenario *s);
/* After a request's outcome: the flow goes on to its next step, or ends
 * (after its last step, or at a step that was not ok: the later steps
 * would lack what it did not capture). */
void rf_advance(struct rf_user *u, const struct scenario *s, enum rf_outcome o);

/* The run's expansion context with u's ${user}, ${iter}, generator and
 * captured variables. */
struct exp_ctx rf_exp(const struct rf_ctx *c, struct rf_user *u);

/* A request ready to send. */
struct rf_req {
    const char *method; /* the scenario's */
    char *url;
    char **headers; /* "Name: value", NULL-terminated: the workload's, the
                     * flow's, the request's (a later one of the same name
                     * wins), and Content-Type for a body unless given */
    int nheaders;
    char *body; /* NULL: none */
    size_t body_len;
    int want_body;    /* the judge reads the response's body */
    int want_headers; /* ... and its header block */
};

/* Build request k of s for user u.  0, or -1 with the reason in err (an
 * expansion the scenario got wrong: report it with rf_fault). */
int rf_build(const struct rf_ctx *c, struct rf_user *u, int k, struct rf_req *out, char *err,
             size_t errlen);
void rf_req_free(struct rf_req *q);
/* An SQL request's statements, expanded for u; NULL with err. */
char *rf_sql(const struct rf_ctx *c, struct rf_user *u, int k, char *err, size_t errlen);

/* What came back. */
struct rf_resp {
    long status;         /* 0: no response */
    const char *error;   /* no response: the transport's reason; else NULL */
    const char *headers; /* the final response's header block, or NULL */
    size_t headers_len;
    const char *body; /* or NULL */
    size_t body_len;
};

struct rf_result {
    enum rf_outcome outcome;
    int scenario_fault; /* info of the scenario's own making (not the service's) */
    char reason[256];   /* why not ok ("HTTP 404", "expect status 201: got 409"),
                         * "" when ok */
};

/* Judge the response to request k of user u: its expects (without a
 * status expect, 2xx is ok, 4xx fail, anything else info), then its
 * captures into u->vals (a capture that finds nothing fails).  seen, when
 * not NULL, gets the values the json and header expects read
 * ("$.sold = 20"), for an HTTP invariant's report. */
void rf_judge(const struct rf_ctx *c, struct rf_user *u, int k, const struct rf_resp *resp,
              struct rf_result *out, FILE *seen);
/* The same for a request that is not one of s->requests (an HTTP
 * invariant's). */
void rf_judge_req(const struct rf_ctx *c, struct rf_user *u, const struct scn_request *r,
                  const struct rf_resp *resp, struct rf_result *out, FILE *seen);
int rf_build_req(const struct rf_ctx *c, struct rf_user *u, const struct scn_request *r,
                 struct rf_req *out, char *err, size_t errlen);
/* A request that could not be built: info, the scenario's fault. */
void rf_fault(struct rf_result *out, const char *err);

/* a OP b on numbers (history counts, thresholds, expects); SCN_EXISTS is
 * true. */
int rf_compare(double a, enum scn_op op, double b);

#endif

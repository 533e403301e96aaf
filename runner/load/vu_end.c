/*
 * vu_end.c - the end of a virtual user's request (load_int.h): its
 * outcome written to history.jsonl and counted, then the user thinks,
 * begins its next request on the next turn, or finishes.
 *
 * The transports (hconn.c, hcurl.c, pgq.c) report here when a request
 * completes, fails or times out (vu_done); vu.c, which sent it, is above
 * them.  Each request writes an "invoke" line (vu_hist_invoke, as it
 * goes) and an outcome line (report.h has the format) and counts into
 * the worker's per-request histograms.
 */
#include "load_int.h"
#include "jsonw.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Think times come from their own stream of the seed, so adding think
 * time does not change which requests a user sends. */
#define VU_THINK_SALT 0x7468696e6b74696dull /* "thinktim" */

static const char *const vu_type[] = {"ok", "fail", "info"};

/* ---------------------------------------------------------------
 * History lines, formatted by hand: two per request, on the hot path.
 * ------------------------------------------------------------ */
static char *vu_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *vu_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* {"t_ns":T,"user":U,"seq":S,"type":"TYPE","req":LABEL into p (at most
 * 96 bytes and the label). */
static char *vu_line_start(struct worker *w, struct vu *u, char *p, uint64_t t, const char *type)
{
    struct load *l = w->l;
    p = vu_str(p, "{\"t_ns\":");
    p = vu_u64(p, t - l->t0);
    p = vu_str(p, ",\"user\":");
    p = vu_u64(p, (uint64_t)u->rf.id);
    p = vu_str(p, ",\"seq\":");
    p = vu_u64(p, u->seq);
    p = vu_str(p, ",\"type\":\"");
    p = vu_str(p, type);
    p = vu_str(p, "\",\"req\":");
    return vu_str(p, l->labels[u->req]);
}

void vu_hist_invoke(struct worker *w, struct vu *u)
{
    char *p = wsched_hist_reserve(w, 128 + w->l->label_max);
    p = vu_line_start(w, u, p, w->now, "invoke");
    wsched_hist_commit(w, vu_str(p, "}\n"));
}

/* The reason as a JSON string (escaped by jw_string: rare, so through a
 * memory stream), appended to the history buffer. */
static void vu_hist_error(struct worker *w, const char *error)
{
    char *buf = NULL, *p;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    jw_string(f, error);
    fclose(f);
    p = wsched_hist_reserve(w, len);
    memcpy(p, buf, len);
    wsched_hist_commit(w, p + len);
    free(buf);
}

static void vu_hist_outcome(struct worker *w, struct vu *u, uint64_t t, enum rf_outcome o,
                            long status, uint64_t lat, unsigned tries, const char *error)
{
    char *p = wsched_hist_reserve(w, 256 + w->l->label_max);
    p = vu_line_start(w, u, p, t, vu_type[o]);
    p = vu_str(p, ",\"status\":");
    p = vu_u64(p, status > 0 ? (uint64_t)status : 0);
    p = vu_str(p, ",\"latency_ns\":");
    p = vu_u64(p, lat);
    p = vu_str(p, ",\"tries\":");
    p = vu_u64(p, tries);
    p = vu_str(p, ",\"error\":");
    if (error) {
        wsched_hist_commit(w, p);
        vu_hist_error(w, error);
        p = wsched_hist_reserve(w, 8);
    } else {
        p = vu_str(p, "null");
    }
    wsched_hist_commit(w, vu_str(p, "}\n"));
}

/* ---------------------------------------------------------------
 * Counters: under the worker's mutex, read by load_interval.
 * ------------------------------------------------------------ */
static void vu_count(struct worker *w, int k, const struct rf_result *res, uint64_t lat,
                     uint64_t retries)
{
    struct load_cls *c = &w->cls[k];
    pthread_mutex_lock(&w->mu);
    hist_record(c->lat, lat);
    hist_record(w->interval, lat);
    c->retries += retries;
    c->ok += res->outcome == RF_OK;
    c->fail += res->outcome == RF_FAIL;
    c->info += res->outcome == RF_INFO;
    c->scenario_info += res->scenario_fault;
    if (res->outcome != RF_OK && !c->first_error[0])
        snprintf(c->first_error, sizeof(c->first_error), "%s",
                 res->reason[0] ? res->reason : vu_type[res->outcome]);
    w->i_requests++;
    w->i_errors += res->outcome != RF_OK;
    pthread_mutex_unlock(&w->mu);
}

/* ---------------------------------------------------------------
 * Think time: uniform in [think_lo, think_hi], a pure function of the
 * seed, the user and its request count.
 * ------------------------------------------------------------ */
static uint64_t vu_think(const struct load *l, const struct vu *u, uint64_t n)
{
    uint64_t x = util_mix(util_mix(l->cfg.seed ^ VU_THINK_SALT, (uint64_t)u->rf.id), n);
    uint64_t span = l->think_hi - l->think_lo;
    return l->think_lo + (span ? x % (span + 1) : 0);
}

/* A closed-model user with think time starts after a draw in [0, think),
 * so the users arrive spread over one think time, not all at once. */
uint64_t vu_first_delay(const struct load *l, const struct vu *u)
{
    uint64_t t = vu_think(l, u, UINT64_MAX);
    return t ? util_mix(l->cfg.seed ^ VU_THINK_SALT, ~(uint64_t)u->rf.id) % t : 0;
}

/* ---------------------------------------------------------------
 * The end of a request.
 * ------------------------------------------------------------ */
void vu_finish(struct worker *w, struct vu *u)
{
    if (u->state == VU_DONE)
        return;
    wsched_untimer(w, u);
    u->state = VU_DONE;
    w->live--;
}

/* After a request: think (the closed model after every request, the open
 * one between the steps of a flow), then the next one. */
static void vu_next(struct worker *w, struct vu *u)
{
    struct load *l = w->l;
    int think = l->think_hi && (l->cfg.rate <= 0 || rf_in_flow(&u->rf));

    if (w->winding) { /* the load ended while this request was in flight */
        vu_finish(w, u);
        return;
    }
    if (think) {
        u->state = VU_THINK;
        wsched_timer(w, u, w->now + vu_think(l, u, u->seq));
    } else {
        u->state = VU_IDLE;
        wsched_ready(w, u);
    }
}

void vu_done(struct worker *w, struct vu *u, const struct rf_result *res, long status,
             unsigned tries, uint64_t retries)
{
    struct load *l = w->l;
    uint64_t end = util_now_ns(), lat = end > u->due ? end - u->due : 0;
    int k = u->req;

    w->now = end;
    wsched_untimer(w, u);
    vu_hist_outcome(w, u, end, res->outcome, status, lat, tries,
                    res->reason[0] ? res->reason : NULL);
    vu_count(w, k, res, lat, retries);
    u->seq++;
    rf_advance(&u->rf, l->scn, res->outcome);
    u->req = -1;
    u->io = NULL;
    u->kind = VU_IO_NONE;
    vu_next(w, u);
}

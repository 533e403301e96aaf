/*
 * hcurl.c - HTTP through libcurl's multi interface on a worker's loop
 * (load_int.h): https:// URLs, which the engine's own HTTP/1.1 client
 * does not speak, and every request when WEDGE_LOAD_HTTP=curl (how
 * scripts/bench-load measures the two clients side by side).
 *
 * libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and
 * when to call it back (CURLMOPT_TIMERFUNCTION); the worker's epoll
 * watches them and the worker's loop keeps the timer.  Requests are set
 * up and read back by httpc.c (the same code the HTTP invariants use);
 * easy handles are pooled per worker, and the multi handle's connection
 * cache keeps connections alive, at most the worker's descriptor budget.
 */
#include "httpc.h"
#include "load_int.h"
#include "timeunit.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

struct hcurl {
    CURLM *multi;
    struct worker *w;
    struct hx *free_list; /* idle easy handles */
};

/* One transfer's handle, pooled. */
struct hx {
    struct httpc h;
    struct hx *next;
    struct vu *user;
};

/* A socket libcurl asked us to watch. */
struct hsock {
    struct ev ev;
    curl_socket_t fd;
    int added;
};

static void hcurl_check(struct worker *w, struct hcurl *hc);

/* ---------------------------------------------------------------
 * libcurl's callbacks: sockets and the timer.
 * ------------------------------------------------------------ */
static void hcurl_on_socket(struct worker *w, struct ev *e, uint32_t events)
{
    struct hsock *s = (struct hsock *)e;
    struct hcurl *hc = w->curl;
    int running, mask = 0;

    if (events & EPOLLIN)
        mask |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        mask |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP))
        mask |= CURL_CSELECT_ERR;
    curl_multi_socket_action(hc->multi, s->fd, mask, &running);
    hcurl_check(w, hc);
}

static int hcurl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct hcurl *hc = userp;
    struct hsock *s = sockp;
    uint32_t ev = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            epoll_ctl(hc->w->ep, EPOLL_CTL_DEL, fd, NULL); /* gone already if closed */
            curl_multi_assign(hc->multi, fd, NULL);
            wsched_bury(hc->w, s);
        }
        return 0;
    }
    if (!s) {
        if (!(s = calloc(1, sizeof(*s))))
            return -1;
        s->ev.fn = hcurl_on_socket;
        s->fd = fd;
        curl_multi_assign(hc->multi, fd, s);
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= EPOLLOUT;
    if (wsched_watch(hc->w, fd, &s->ev, ev, !s->added) < 0)
        return -1;
    s->added = 1;
    return 0;
}

static int hcurl_timer_cb(CURLM *multi, long ms, void *userp)
{
    struct hcurl *hc = userp;
    (void)multi;
    hc->w->curl_due = ms < 0 ? 0 : hc->w->now + (uint64_t)ms * NS_PER_MS + 1;
    return 0;
}

void hcurl_tick(struct worker *w)
{
    struct hcurl *hc = w->curl;
    int running;
    w->curl_due = 0;
    curl_multi_socket_action(hc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    hcurl_check(w, hc);
}

/* ---------------------------------------------------------------
 * Transfers.
 * ------------------------------------------------------------ */
static void hcurl_release(struct hcurl *hc, struct hx *x)
{
    curl_multi_remove_handle(hc->multi, x->h.curl);
    x->user = NULL;
    x->next = hc->free_list;
    hc->free_list = x;
}

/* Transfers that finished: their outcome to their users. */
static void hcurl_check(struct worker *w, struct hcurl *hc)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(hc->multi, &left))) {
        struct hx *x = NULL;
        struct rf_result res;
        struct rf_resp resp;
        struct vu *u;
        int ours = 0;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        u = x->user;
        if (httpc_result(&x->h, (int)m->data.result, &resp, &ours) < 0 && ours)
            rf_fault(&res, resp.error);
        else
            rf_judge(&w->l->rf, &u->rf, u->req, &resp, &res, NULL);
        hcurl_release(hc, x);
        vu_done(w, u, &res, resp.status, 1, 0);
    }
}

static struct hcurl *hcurl_get(struct worker *w)
{
    struct hcurl *hc = w->curl;
    if (hc)
        return hc;
    if (!(hc = calloc(1, sizeof(*hc))) || !(hc->multi = curl_multi_init()))
        abort();
    hc->w = w;
    curl_multi_setopt(hc->multi, CURLMOPT_SOCKETFUNCTION, hcurl_socket_cb);
    curl_multi_setopt(hc->multi, CURLMOPT_SOCKETDATA, hc);
    curl_multi_setopt(hc->multi, CURLMOPT_TIMERFUNCTION, hcurl_timer_cb);
    curl_multi_setopt(hc->multi, CURLMOPT_TIMERDATA, hc);
    curl_multi_setopt(hc->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)w->l->conn_cap);
    curl_multi_setopt(hc->multi, CURLMOPT_MAXCONNECTS, (long)w->l->conn_cap);
    w->curl = hc;
    return hc;
}

void hcurl_send(struct worker *w, struct vu *u, const struct rf_req *q)
{
    struct hcurl *hc = hcurl_get(w);
    struct hx *x = hc->free_list;
    struct rf_result res;

    if (x) {
        hc->free_list = x->next;
    } else if (!(x = calloc(1, sizeof(*x))) ||
               httpc_init(&x->h, (long)(w->l->scn->request_timeout_ns / NS_PER_MS)) < 0) {
        abort();
    }
    if (httpc_setup(&x->h, q) < 0)
        abort();
    if (q->body) /* the request is freed when we return: libcurl keeps a copy */
        curl_easy_setopt(x->h.curl, CURLOPT_COPYPOSTFIELDS, q->body);
    curl_easy_setopt(x->h.curl, CURLOPT_PRIVATE, x);
    x->user = u;
    u->io = x;
    u->kind = VU_IO_CURL;
    if (curl_multi_add_handle(hc->multi, x->h.curl) != CURLM_OK) {
        rf_fault(&res, "libcurl refused the request");
        res.scenario_fault = 0;
        x->next = hc->free_list;
        hc->free_list = x;
        vu_done(w, u, &res, 0, 1, 0);
    }
    /* libcurl asks for a timer at once: the loop's next turn starts it. */
}

void hcurl_abort(struct worker *w, struct vu *u, const char *why)
{
    struct hcurl *hc = w->curl;
    struct hx *x = u->io;
    struct rf_result res;
    struct rf_resp resp = {.error = why};

    rf_judge(&w->l->rf, &u->rf, u->req, &resp, &res, NULL);
    hcurl_release(hc, x);
    vu_done(w, u, &res, 0, 1, 0);
}

void hcurl_free(struct worker *w)
{
    struct hcurl *hc = w->curl;
    if (!hc)
        return;
    for (uint32_t i = 0; i < w->nusers; i++)
        if (w->users[i].kind == VU_IO_CURL && w->users[i].io)
            hcurl_release(hc, w->users[i].io);
    while (hc->free_list) {
        struct hx *x = hc->free_list;
        hc->free_list = x->next;
        httpc_free(&x->h);
        free(x);
    }
    curl_multi_cleanup(hc->multi);
    free(hc);
    w->curl = NULL;
}

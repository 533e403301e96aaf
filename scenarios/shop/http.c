/*
 * http.c - HTTP for the shop and counterd (http.h): a libmicrohttpd server
 * with a small route table and JSON replies, and a libcurl JSON client
 * with a hard timeout.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include "http.h"

#define HTTP_MAX_BODY (64 * 1024)

struct http_server {
    struct MHD_Daemon *d;
    const struct route *routes;
    size_t nroutes;
    const char *token; /* bearer token, or NULL */
};

struct upload {
    char *buf;
    size_t len;
    int too_big;
};

/* ---------------------------------------------------------------
 * Replies.
 * ------------------------------------------------------------ */
void reply_json(struct reply *rp, unsigned status, json_t *body)
{
    json_decref(rp->body);
    rp->status = status;
    rp->body = body;
}

void reply_error(struct reply *rp, unsigned status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply_json(rp, status, json_pack("{s:s}", "error", msg));
}

const char *http_arg(const struct http_req *rq, const char *key)
{
    return rq->conn ? MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key) : NULL;
}

/* ---------------------------------------------------------------
 * Routing: '*' in a pattern matches one path segment.
 * ------------------------------------------------------------ */
static int route_match(const char *pattern, const char *path, char caps[][128])
{
    int ncap = 0;

    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= 128 || ncap >= HTTP_MAX_CAPS)
                return 0;
            memcpy(caps[ncap], path, n);
            caps[ncap++][n] = '\0';
            pattern++;
            path += n;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

/* "Authorization: Bearer TOKEN" with the server's token. */
static int http_bearer_ok(struct MHD_Connection *conn, const char *token)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    return h && strncmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, token) == 0;
}

static void dispatch(struct http_server *s, struct MHD_Connection *conn, const char *method,
                     const char *url, struct upload *up, struct reply *rp)
{
    char caps[HTTP_MAX_CAPS][128];
    struct http_req rq = {.method = method, .path = url, .body = NULL, .conn = conn};
    int path_known = 0;

    if (up->too_big) {
        reply_error(rp, 413, "body larger than %d bytes", HTTP_MAX_BODY);
        return;
    }
    if (up->len > 0) {
        json_error_t je;
        rq.body = json_loadb(up->buf, up->len, 0, &je);
        if (!rq.body) {
            reply_error(rp, 400, "body:%d:%d: %s", je.line, je.column, je.text);
            return;
        }
    }
    for (size_t i = 0; i < s->nroutes; i++) {
        if (!route_match(s->routes[i].pattern, url, caps))
            continue;
        path_known = 1;
        if (strcmp(s->routes[i].method, method) != 0)
            continue;
        if (s->token && strcmp(url, "/health") != 0 && !http_bearer_ok(conn, s->token)) {
            reply_error(rp, 401, "missing or wrong 'Authorization: Bearer ...' header");
            goto out;
        }
        s->routes[i].fn(&rq, caps, rp);
        goto out;
    }
    if (path_known)
        reply_error(rp, 405, "method %s not allowed on %s", method, url);
    else
        reply_error(rp, 404, "no route for %s %s", method, url);
out:
    json_decref(rq.body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct upload *up = *con_cls;
    struct reply rp = {500, NULL};
    struct MHD_Response *resp = NULL;
    char *text = NULL;
    enum MHD_Result ret;

    if (!up) {
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*data_size > 0) {
        if (up->len + *data_size > HTTP_MAX_BODY) {
            up->too_big = 1;
        } else {
            char *nb = realloc(up->buf, up->len + *data_size + 1);
            if (!nb)
                return MHD_NO;
            up->buf = nb;
            memcpy(up->buf + up->len, data, *data_size);
            up->len += *data_size;
            up->buf[up->len] = '\0';
        }
        *data_size = 0;
        return MHD_YES;
    }

    dispatch(s, conn, method, url, up, &rp);
    if (rp.body)
        text = json_dumps(rp.body, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        text = strdup("");
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        ret = MHD_NO;
        goto out;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    ret = MHD_queue_response(conn, rp.status, resp);
    MHD_destroy_response(resp);
out:
    json_decref(rp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct upload *up = *con_cls;

    if (up) {
        free(up->buf);
        free(up);
        *con_cls = NULL;
    }
}

struct http_server *http_start(int port, const struct route *routes, size_t nroutes, char *err,
                               size_t errlen)
{
    return http_start_auth(port, routes, nroutes, NULL, err, errlen);
}

struct http_server *http_start_auth(int port, const struct route *routes, size_t nroutes,
                                    const char *token, char *err, size_t errlen)
{
    struct http_server *s = calloc(1, sizeof *s);
    struct sockaddr_in sa = {0};

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->routes = routes;
    s->nroutes = nroutes;
    s->token = token;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
        (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1:%d", port);
        free(s);
        return NULL;
    }
    return s;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    free(s);
}

/* ---------------------------------------------------------------
 * Client.
 * ------------------------------------------------------------ */
struct sink {
    char *buf;
    size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct sink *k = arg;
    size_t add = size * n;
    char *nb;

    if (k->len + add > HTTP_MAX_BODY)
        return 0;
    nb = realloc(k->buf, k->len + add + 1);
    if (!nb)
        return 0;
    k->buf = nb;
    memcpy(k->buf + k->len, data, add);
    k->len += add;
    k->buf[k->len] = '\0';
    return add;
}

void http_client_free(void *keep)
{
    if (keep)
        curl_easy_cleanup(keep);
}

int http_post_json(void **keep, const char *url, json_t *body, long timeout_ms, long *status,
                   json_t **resp, int *timed_out)
{
    CURL *h = keep ? *keep : NULL;
    struct curl_slist *hdr = NULL;
    struct sink k = {NULL, 0};
    char *text = NULL;
    CURLcode cc;
    int rc = -1;

    *status = 0;
    *resp = NULL;
    *timed_out = 0;
    text = json_dumps(body, JSON_COMPACT);
    if (!h)
        h = curl_easy_init();
    else
        curl_easy_reset(h); /* keeps the live connection, drops the options */
    if (keep)
        *keep = h;
    if (!text || !h)
        goto out;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        *timed_out = cc == CURLE_OPERATION_TIMEDOUT;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (k.len > 0)
        *resp = json_loadb(k.buf, k.len, 0, NULL);
    rc = 0;
out:
    curl_slist_free_all(hdr);
    if (h && !keep)
        curl_easy_cleanup(h);
    free(text);
    free(k.buf);
    return rc;
}

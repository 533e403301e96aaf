/*
 * httpc.c - one HTTP exchange over a libcurl easy handle (httpc.h).
 */
#include "httpc.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Append n bytes to a kept buffer, up to HTTPC_MAX_BODY. */
static void httpc_keep(struct httpc *h, char **buf, size_t *len, size_t *cap, const char *p,
                       size_t n)
{
    if (*len + n + 1 > HTTPC_MAX_BODY) {
        h->truncated = 1;
        n = *len + 1 < HTTPC_MAX_BODY ? HTTPC_MAX_BODY - *len - 1 : 0;
    }
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        char *nb;
        while (c < *len + n + 1)
            c *= 2;
        if (!(nb = realloc(*buf, c))) {
            h->truncated = 1;
            return;
        }
        *buf = nb, *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
}

static size_t httpc_on_body(char *p, size_t size, size_t n, void *ud)
{
    struct httpc *h = ud;
    if (h->want_body)
        httpc_keep(h, &h->body, &h->body_len, &h->body_cap, p, size * n);
    return size * n;
}

static size_t httpc_on_header(char *p, size_t size, size_t n, void *ud)
{
    struct httpc *h = ud;
    if (!h->want_headers)
        return size * n;
    if (size * n >= 5 && !strncmp(p, "HTTP/", 5))
        h->head_len = 0; /* a new response (after a 1xx): only the last counts */
    httpc_keep(h, &h->head, &h->head_len, &h->head_cap, p, size * n);
    return size * n;
}

int httpc_init(struct httpc *h, long timeout_ms)
{
    memset(h, 0, sizeof(*h));
    h->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    if (!(h->curl = curl_easy_init()))
        return -1;
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, httpc_on_body);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, httpc_on_header);
    curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
    return 0;
}

void httpc_free(struct httpc *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->hdrs);
    free(h->body);
    free(h->head);
    memset(h, 0, sizeof(*h));
}

int httpc_setup(struct httpc *h, const struct rf_req *q)
{
    CURL *c = h->curl;
    struct curl_slist *l = curl_slist_append(NULL, "Expect:"), *t;

    for (int i = 0; l && i < q->nheaders; i++)
        if ((t = curl_slist_append(l, q->headers[i])))
            l = t;
        else
            curl_slist_free_all(l), l = NULL;
    if (!l)
        return -1;
    curl_slist_free_all(h->hdrs);
    h->hdrs = l;
    h->want_body = q->want_body;
    h->want_headers = q->want_headers;
    h->body_len = h->head_len = 0;
    h->truncated = 0;
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_NOBODY, strcasecmp(q->method, "HEAD") ? 0L : 1L);
    if (q->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
    } else if (!strcasecmp(q->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    if (strcasecmp(q->method, "GET") && strcasecmp(q->method, "POST") &&
        strcasecmp(q->method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs);
    return 0;
}

int httpc_result(struct httpc *h, int cc, struct rf_resp *resp, int *ours)
{
    memset(resp, 0, sizeof(*resp));
    *ours = cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL;
    if (cc != CURLE_OK) {
        resp->error = curl_easy_strerror((CURLcode)cc);
        return -1;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body = h->want_body ? (h->body ? h->body : "") : NULL;
    resp->body_len = h->want_body ? h->body_len : 0;
    resp->headers = h->want_headers ? h->head : NULL;
    resp->headers_len = h->want_headers ? h->head_len : 0;
    return 0;
}

int httpc_do(struct httpc *h, const struct rf_req *q, struct rf_resp *resp, int *ours)
{
    if (httpc_setup(h, q) < 0) {
        memset(resp, 0, sizeof(*resp));
        resp->error = "out of memory";
        *ours = 0;
        return -1;
    }
    return httpc_result(h, (int)curl_easy_perform(h->curl), resp, ours);
}

/*
 * http.h - HTTP for the shop's services and the tests' counterd (http.c):
 * a libmicrohttpd server with a route table and JSON replies, and a libcurl
 * JSON client with a hard timeout.
 */
#ifndef SHOP_HTTP_H
#define SHOP_HTTP_H

#include <stddef.h>
#include <jansson.h>

/* ---------------------------------------------------------------
 * HTTP (http.c).
 * ------------------------------------------------------------ */
struct http_req {
    const char *method;
    const char *path;
    json_t *body; /* parsed JSON body, or NULL when there was none */
    void *conn;   /* the server's connection, for http_arg */
};

struct reply {
    unsigned status;
    json_t *body; /* owned; NULL: empty body */
};

#define HTTP_MAX_CAPS 4
/* A handler; caps[] are the '*' segments of the route's pattern. */
typedef void (*route_fn)(const struct http_req *rq, char caps[][128], struct reply *rp);

struct route {
    const char *method;
    const char *pattern; /* "/orders/ * /pay" without spaces: '*' is one segment */
    route_fn fn;
};

struct http_server;

/* Serve routes on 127.0.0.1:port, one thread per connection.  NULL on
 * error with a message in err.  Thread-safe handlers are the caller's. */
struct http_server *http_start(int port, const struct route *routes, size_t nroutes, char *err,
                               size_t errlen);
/* The same, and every route but GET /health (the readiness check) answers
 * 401 unless the request carries "Authorization: Bearer token" (token
 * NULL: no check). */
struct http_server *http_start_auth(int port, const struct route *routes, size_t nroutes,
                                    const char *token, char *err, size_t errlen);
/* Stop accepting, wait for the connection threads, free. */
void http_stop(struct http_server *s);

/* The query argument key of the request ("/stock?id=x": "x"), or NULL. */
const char *http_arg(const struct http_req *rq, const char *key);

/* Set rp to status with body (steals the reference; any JSON value). */
void reply_json(struct reply *rp, unsigned status, json_t *body);
/* Set rp to {"error": message}. */
void reply_error(struct reply *rp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * POST body as JSON to url with a total timeout.  Returns 0 when an HTTP
 * response arrived (*status set; *resp its parsed body or NULL), -1 on a
 * transport error or timeout (*timed_out set when it was the timeout).
 * keep NULL: a fresh connection for this call.  keep non-NULL: *keep is a
 * client handle created on first use and reused (keep-alive) by the calling
 * thread only; release it with http_client_free.  Thread-safe otherwise.
 */
int http_post_json(void **keep, const char *url, json_t *body, long timeout_ms, long *status,
                   json_t **resp, int *timed_out);
void http_client_free(void *keep);

#endif

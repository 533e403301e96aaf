/*
 * ready.c - a service's readiness: its `ready` answered, and answered by
 * the service itself (listener.c tells whose a loopback listener is).
 */
#include "listener.h"
#include "svc.h"
#include "timeunit.h"
#include "util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * Which port a `ready` value reaches.
 * ------------------------------------------------------------ */
/* The loopback port ready reaches, and the scope of its listeners; 0 when
 * it reaches no loopback port wedge can check (another host). */
static int ready_port(const char *ready, enum listener_scope *scope)
{
    const char *h, *end;
    size_t hl;
    int https = !strncmp(ready, "https://", 8);
    if (!strncmp(ready, "tcp:", 4)) {
        *scope = LISTENER_V4; /* svc_tcp_ok connects to 127.0.0.1 */
        return atoi(ready + 4);
    }
    h = ready + (https ? 8 : 7);
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end)
            return 0;
        end++;
    } else {
        end = h + strcspn(h, ":/?#");
    }
    hl = (size_t)(end - h);
    if (hl == 9 && !strncmp(h, "127.0.0.1", 9))
        *scope = LISTENER_V4;
    else if ((hl == 9 && !strncasecmp(h, "localhost", 9)) || (hl == 5 && !strncmp(h, "[::1]", 5)))
        *scope = LISTENER_ANY;
    else
        return 0;
    return *end == ':' ? atoi(end + 1) : https ? 443 : 80;
}

/* The expanded ready value of service idx: malloc'd, NULL when it has
 * none; -1 with err when it does not expand or is not a known form. */
static int ready_value(const struct svc_ctx *ctx, int idx, const char *self, char **out, char *err,
                       size_t errlen)
{
    const struct scn_service *s = &ctx->scn->services[idx];
    struct exp_ctx e;
    char *ready;
    *out = NULL;
    if (!s->ready)
        return 0;
    svc_ctx_exp(ctx, self, &e);
    ready = exp_expand(s->ready, &e, err, errlen);
    if (!ready)
        return -1;
    if (!strncmp(ready, "tcp:", 4) && (atoi(ready + 4) <= 0 || atoi(ready + 4) > 65535)) {
        snprintf(err, errlen, "ready = %s: expected tcp:PORT", ready);
        free(ready);
        return -1;
    }
    if (strncmp(ready, "tcp:", 4) && strncmp(ready, "http://", 7) &&
        strncmp(ready, "https://", 8)) {
        snprintf(err, errlen, "ready = %s: expected http://URL or tcp:PORT", ready);
        free(ready);
        return -1;
    }
    *out = ready;
    return 0;
}

int svc_ready_precheck(const struct svc_ctx *ctx, int idx, int own_port, char *err, size_t errlen)
{
    const char *name = ctx->scn->services[idx].name;
    enum listener_scope scope;
    char *ready, who[128];
    int port, rc = SVC_OK;
    if (ready_value(ctx, idx, name, &ready, err, errlen) < 0)
        return SVC_CONFIG;
    port = ready ? ready_port(ready, &scope) : 0;
    if (port > 0 && listener_check(port, scope, 0, who, sizeof(who)) != LISTENER_NONE) {
        rc = port == own_port ? SVC_UNAVAILABLE : SVC_CONFIG;
        snprintf(err, errlen,
                 "service %s: ready = %s: port %d is already taken by %s before the service "
                 "started, so its answer would not be the service's%s",
                 name, ready, port, who,
                 rc == SVC_CONFIG ? ": ready must name the service's own listener (tcp:${port})"
                                  : "");
    }
    free(ready);
    return rc;
}

/* ---------------------------------------------------------------
 * Waiting.
 * ------------------------------------------------------------ */
static size_t svc_discard(char *ptr, size_t size, size_t n, void *ud)
{
    (void)ptr, (void)ud;
    return size * n;
}

static int svc_http_ok(const char *url)
{
    CURL *c = curl_easy_init();
    long code = 0;
    if (!c)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, svc_discard);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code >= 200 && code < 300;
}

static int svc_tcp_ok(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void svc_append_tail(const struct svc_proc *p, char *err, size_t errlen)
{
    char *tail = svc_log_tail(p);
    size_t n = strlen(err);
    if (n < errlen)
        snprintf(err + n, errlen - n, "\n--- %s ---\n%s", p->log_path, tail);
    free(tail);
}

/* The answer on port: the service's own (SVC_OK), someone else's
 * (SVC_CONFIG or SVC_UNAVAILABLE with err), or not known yet (-1). */
static int ready_owner(const struct svc_proc *p, const char *ready, char *err, size_t errlen)
{
    enum listener_scope scope;
    char who[128];
    int port = ready_port(ready, &scope);
    enum listener_verdict v =
        port > 0 ? listener_check(port, scope, p->pid, who, sizeof(who)) : LISTENER_OURS;
    if (v == LISTENER_OURS)
        return SVC_OK;
    if (v == LISTENER_NONE)
        return -1; /* it answered and closed since: ask again */
    snprintf(err, errlen,
             "service %s: ready = %s answered, but the listener on port %d is held by %s, not "
             "by the service (pid %ld) or its children: ready must name the service's own "
             "listener",
             p->name, ready, port, who, (long)p->pid);
    return port == p->port ? SVC_UNAVAILABLE : SVC_CONFIG;
}

/* p exited before it was ready: why, in err. */
static int ready_exited(struct svc_proc *p, char *err, size_t errlen)
{
    struct svc_fatal f;
    char msg[512];
    if (svc_rules_rejected(p, msg, sizeof(msg))) {
        snprintf(err, errlen, "%s", msg);
        return SVC_CONFIG;
    }
    if (svc_shim_fatal(p->trace_dir, p->pid, &f)) {
        snprintf(err, errlen, "service %s: the shim stopped %s (pid %ld): %s", p->name, f.proc,
                 f.pid, f.msg);
        return SVC_UNAVAILABLE;
    }
    snprintf(err, errlen, "service %s exited (status %d) before it was ready", p->name,
             util_exit_code(p->status));
    svc_append_tail(p, err, errlen);
    return SVC_UNAVAILABLE;
}

int svc_wait_ready(const struct svc_ctx *ctx, struct svc_proc *p, uint64_t timeout_ns, char *err,
                   size_t errlen)
{
    uint64_t deadline = util_now_ns() + timeout_ns;
    char *ready = NULL;
    int rc = SVC_UNAVAILABLE;

    if (ready_value(ctx, p->index, p->name, &ready, err, errlen) < 0)
        return SVC_CONFIG;
    for (;;) {
        if (svc_poll(p)) {
            rc = ready_exited(p, err, errlen);
            goto out;
        }
        if (!ready) {
            /* Ready once started; a short grace so a rules error shows. */
            if (util_now_ns() - p->started_ns >= 100 * NS_PER_MS) {
                rc = SVC_OK;
                goto out;
            }
        } else if (!strncmp(ready, "tcp:", 4) ? svc_tcp_ok(atoi(ready + 4)) : svc_http_ok(ready)) {
            int owner = ready_owner(p, ready, err, errlen);
            if (owner >= 0) {
                rc = owner;
                goto out;
            }
        }
        if (util_stop) {
            snprintf(err, errlen, "interrupted while waiting for service %s", p->name);
            goto out;
        }
        if (util_now_ns() >= deadline) {
            snprintf(err, errlen, "service %s not ready after %.1f s (%s)", p->name,
                     (double)timeout_ns / (double)NS_PER_S, ready ? ready : "started");
            svc_append_tail(p, err, errlen);
            goto out;
        }
        util_sleep_ns(50 * NS_PER_MS);
    }
out:
    free(ready);
    return rc;
}

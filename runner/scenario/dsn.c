/*
 * dsn.c - connection strings rewritten: key=value or URI, optionally
 * pointed at another host and port (dsn.h).
 */
#include "dsn.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string; aborts on out-of-memory, as the runner does. */
struct dsn_buf {
    char *p;
    size_t len, cap;
};

static void dsn_put(struct dsn_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (b->len + n + 1 > cap)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void dsn_puts(struct dsn_buf *b, const char *s)
{
    dsn_put(b, s, strlen(s));
}

/* RFC 3986 percent-encoding of everything but the unreserved characters. */
static void dsn_put_pct(struct dsn_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            dsn_put(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            dsn_put(b, e, 3);
        }
    }
}

/* A key=value value: bare when it can be, else '...' with \' and \\. */
static void dsn_put_kv_value(struct dsn_buf *b, const char *v)
{
    int bare = *v != '\0';
    for (const char *p = v; *p && bare; p++)
        bare = !strchr(" \t\n\r\v\f'\\", *p);
    if (bare) {
        dsn_puts(b, v);
        return;
    }
    dsn_puts(b, "'");
    for (const char *p = v; *p; p++) {
        if (*p == '\'' || *p == '\\')
            dsn_puts(b, "\\");
        dsn_put(b, p, 1);
    }
    dsn_puts(b, "'");
}

static PQconninfoOption *dsn_parse(const char *dsn, char *err, size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *o = PQconninfoParse(dsn ? dsn : "", &msg);
    if (!o) {
        if (msg)
            msg[strcspn(msg, "\n")] = '\0';
        snprintf(err, errlen, "cannot read the connection string: %s", msg ? msg : "out of memory");
    }
    PQfreemem(msg);
    return o;
}

static const char *dsn_get(const PQconninfoOption *o, const char *key)
{
    for (; o && o->keyword; o++)
        if (!strcmp(o->keyword, key))
            return o->val && *o->val ? o->val : NULL;
    return NULL;
}

/* The URI's authority: host as an address, a bracketed IPv6 address, or
 * nothing when the host cannot stand there (a socket directory, a list). */
static int dsn_put_authority(struct dsn_buf *b, const char *host, const char *port)
{
    if (!host)
        host = "";
    if (strchr(host, '/') || strchr(host, ','))
        return 0; /* goes into the query as host= */
    if (strchr(host, ':')) {
        dsn_puts(b, "[");
        dsn_puts(b, host);
        dsn_puts(b, "]");
    } else {
        dsn_put_pct(b, host);
    }
    if (port && !strchr(port, ',')) {
        dsn_puts(b, ":");
        dsn_puts(b, port);
        return 1;
    }
    return host[0] != '\0' || !port;
}

static char *dsn_build_uri(const PQconninfoOption *o, const char *host, const char *port)
{
    struct dsn_buf b = {0};
    const char *user = dsn_get(o, "user"), *pw = dsn_get(o, "password");
    const char *db = dsn_get(o, "dbname");
    int in_authority, sep = '?';

    dsn_puts(&b, "postgresql://");
    if (user) {
        dsn_put_pct(&b, user);
        if (pw) {
            dsn_puts(&b, ":");
            dsn_put_pct(&b, pw);
        }
        dsn_puts(&b, "@");
    }
    in_authority = dsn_put_authority(&b, host, port);
    dsn_puts(&b, "/");
    if (db)
        dsn_put_pct(&b, db);
    for (; o->keyword; o++) {
        const char *k = o->keyword;
        const char *v = !strcmp(k, "host") ? host : !strcmp(k, "port") ? port : dsn_get(o, k);
        if (!v || !strcmp(k, "user") || !strcmp(k, "password") || !strcmp(k, "dbname") ||
            !strcmp(k, "hostaddr") || (in_authority && (!strcmp(k, "host") || !strcmp(k, "port"))))
            continue;
        dsn_put(&b, (const char *)&sep, 1);
        sep = '&';
        dsn_puts(&b, k);
        dsn_puts(&b, "=");
        dsn_put_pct(&b, v);
    }
    return b.p;
}

static char *dsn_build_kv(const PQconninfoOption *o, const char *host, const char *port)
{
    struct dsn_buf b = {0};

    dsn_puts(&b, "");
    for (; o->keyword; o++) {
        const char *k = o->keyword;
        const char *v = !strcmp(k, "host") ? host : !strcmp(k, "port") ? port : dsn_get(o, k);
        if (!v || !strcmp(k, "hostaddr"))
            continue;
        if (b.len)
            dsn_puts(&b, " ");
        dsn_puts(&b, k);
        dsn_puts(&b, "=");
        dsn_put_kv_value(&b, v);
    }
    return b.p;
}

char *dsn_rewrite(const char *dsn, int as_uri, const char *host, int port, char *err, size_t errlen)
{
    PQconninfoOption *o = dsn_parse(dsn, err, errlen);
    char portbuf[16], *out;
    const char *h, *p;

    if (!o)
        return NULL;
    if (host) {
        snprintf(portbuf, sizeof portbuf, "%d", port);
        h = host;
        p = portbuf;
    } else {
        /* hostaddr alone is an address: keep it reachable as the host */
        h = dsn_get(o, "host") ? dsn_get(o, "host") : dsn_get(o, "hostaddr");
        p = dsn_get(o, "port");
    }
    out = as_uri ? dsn_build_uri(o, h, p) : dsn_build_kv(o, h, p);
    PQconninfoFree(o);
    return out;
}

int dsn_host_port(const char *dsn, char **host, char **port, char *err, size_t errlen)
{
    PQconninfoOption *o = dsn_parse(dsn, err, errlen);
    const char *h, *p;

    if (!o)
        return -1;
    h = dsn_get(o, "host") ? dsn_get(o, "host") : dsn_get(o, "hostaddr");
    p = dsn_get(o, "port");
    *host = strdup(h ? h : "localhost");
    *port = strdup(p ? p : "5432");
    PQconninfoFree(o);
    if (!*host || !*port)
        abort();
    return 0;
}

/*
 * dsn.c - connection strings rewritten: key=value or URI, optionally
 * pointed at another host and port (dsn.h).
 */
#include "dsn.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output goes to an open_memstream: a growing string without one more
 * hand-made buffer.  Aborts on out-of-memory, as the runner does. */
static FILE *dsn_open(char **out, size_t *len)
{
    FILE *f = open_memstream(out, len);
    if (!f)
        abort();
    return f;
}

static char *dsn_close(FILE *f, char **out)
{
    if (fclose(f) != 0)
        abort();
    return *out;
}

/* RFC 3986 percent-encoding of everything but the unreserved characters. */
static void dsn_put_pct(FILE *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            fputc(*p, b);
        } else {
            fputc('%', b);
            fputc(hex[*p >> 4], b);
            fputc(hex[*p & 15], b);
        }
    }
}

/* A key=value value: bare when it can be, else '...' with \' and \\. */
static void dsn_put_kv_value(FILE *b, const char *v)
{
    int bare = *v != '\0';
    for (const char *p = v; *p && bare; p++)
        bare = !strchr(" \t\n\r\v\f'\\", *p);
    if (bare) {
        fputs(v, b);
        return;
    }
    fputs("'", b);
    for (const char *p = v; *p; p++) {
        if (*p == '\'' || *p == '\\')
            fputs("\\", b);
        fputc(*p, b);
    }
    fputs("'", b);
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
static int dsn_put_authority(FILE *b, const char *host, const char *port)
{
    if (!host)
        host = "";
    if (strchr(host, '/') || strchr(host, ','))
        return 0; /* goes into the query as host= */
    if (strchr(host, ':')) {
        fputs("[", b);
        fputs(host, b);
        fputs("]", b);
    } else {
        dsn_put_pct(b, host);
    }
    if (port && !strchr(port, ',')) {
        fputs(":", b);
        fputs(port, b);
        return 1;
    }
    return host[0] != '\0' || !port;
}

static char *dsn_build_uri(const PQconninfoOption *o, const char *host, const char *port)
{
    char *out = NULL;
    size_t outlen = 0;
    FILE *b = dsn_open(&out, &outlen);
    const char *user = dsn_get(o, "user"), *pw = dsn_get(o, "password");
    const char *db = dsn_get(o, "dbname");
    int in_authority, sep = '?';

    fputs("postgresql://", b);
    if (user) {
        dsn_put_pct(b, user);
        if (pw) {
            fputs(":", b);
            dsn_put_pct(b, pw);
        }
        fputs("@", b);
    }
    in_authority = dsn_put_authority(b, host, port);
    fputs("/", b);
    if (db)
        dsn_put_pct(b, db);
    for (; o->keyword; o++) {
        const char *k = o->keyword;
        const char *v = !strcmp(k, "host") ? host : !strcmp(k, "port") ? port : dsn_get(o, k);
        if (!v || !strcmp(k, "user") || !strcmp(k, "password") || !strcmp(k, "dbname") ||
            !strcmp(k, "hostaddr") || (in_authority && (!strcmp(k, "host") || !strcmp(k, "port"))))
            continue;
        fputc(sep, b);
        sep = '&';
        fputs(k, b);
        fputs("=", b);
        dsn_put_pct(b, v);
    }
    return dsn_close(b, &out);
}

static char *dsn_build_kv(const PQconninfoOption *o, const char *host, const char *port)
{
    char *out = NULL;
    size_t outlen = 0;
    FILE *b = dsn_open(&out, &outlen);

    for (; o->keyword; o++) {
        const char *k = o->keyword;
        const char *v = !strcmp(k, "host") ? host : !strcmp(k, "port") ? port : dsn_get(o, k);
        if (!v || !strcmp(k, "hostaddr"))
            continue;
        if (ftell(b) > 0)
            fputc(' ', b);
        fputs(k, b);
        fputs("=", b);
        dsn_put_kv_value(b, v);
    }
    return dsn_close(b, &out);
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

/*
 * redact.c - hide passwords in libpq connection strings (redact.h).
 *
 * The text is parsed the way libpq's conninfo_parse and
 * conninfo_uri_parse_options read it, so what is hidden is what libpq
 * would use as the password.  Where a string is not valid conninfo the
 * parse goes on and copies; where the two readings could differ it hides
 * more, never less.
 */
#include "redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REDACT_MASK "***"

/* The output: writes what fits, counts everything. */
struct redact_out {
    char *buf;
    size_t cap, len;
};

static void redact_put(struct redact_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->len++)
        if (o->len + 1 < o->cap)
            o->buf[o->len] = s[i];
}

static void redact_puts(struct redact_out *o, const char *s)
{
    redact_put(o, s, strlen(s));
}

static size_t redact_finish(struct redact_out *o)
{
    if (o->cap)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

static int redact_is_uri(const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    return (n >= 13 && !strncasecmp(s, "postgresql://", 13)) ||
           (n >= 11 && !strncasecmp(s, "postgres://", 11));
}

/* 1 when [s, e) contains `word`, ignoring case. */
static int redact_has(const char *s, const char *e, const char *word)
{
    size_t wl = strlen(word);
    for (; (size_t)(e - s) >= wl; s++)
        if (!strncasecmp(s, word, wl))
            return 1;
    return 0;
}

static int redact_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 1 when the URI query key [s, e), percent-decoded, is "password" in any
 * case (libpq decodes keys before it looks them up). */
static int redact_uri_key_is_password(const char *s, const char *e)
{
    const char *want = "password";

    for (; s < e; want++) {
        int c = (unsigned char)*s++;
        if (c == '%' && e - s >= 2 && redact_hex(s[0]) >= 0 && redact_hex(s[1]) >= 0) {
            c = redact_hex(s[0]) * 16 + redact_hex(s[1]);
            s += 2;
        }
        if (!*want || tolower(c) != *want)
            return 0;
    }
    return !*want;
}

/* ---------------------------------------------------------------
 * postgresql://[user[:password]@][host][/db][?key=value&...]
 * ------------------------------------------------------------ */
static void redact_uri(struct redact_out *o, const char *s, const char *e)
{
    const char *auth = strstr(s, "://") + 3, *slash, *at = NULL, *colon = NULL, *p = s;

    /* libpq looks for the user part up to the first '/' only ('?' does not
     * stop it); the last '@' there hides a password holding a raw '@'. */
    slash = memchr(auth, '/', (size_t)(e - auth));
    if (!slash)
        slash = e;
    for (const char *q = auth; q < slash; q++)
        if (*q == '@')
            at = q;
    if (at)
        colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon) {
        redact_put(o, p, (size_t)(colon + 1 - p));
        redact_puts(o, REDACT_MASK);
        p = at;
    }
    const char *query = memchr(p, '?', (size_t)(e - p));
    if (!query) {
        redact_put(o, p, (size_t)(e - p));
        return;
    }
    redact_put(o, p, (size_t)(query + 1 - p));
    for (p = query + 1; p < e;) {
        const char *amp = memchr(p, '&', (size_t)(e - p)), *end = amp ? amp : e;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq && redact_uri_key_is_password(p, eq)) {
            redact_put(o, p, (size_t)(eq + 1 - p));
            redact_puts(o, REDACT_MASK);
        } else {
            redact_put(o, p, (size_t)(end - p));
        }
        if (amp)
            redact_put(o, amp, 1);
        p = amp ? amp + 1 : e;
    }
}

/* ---------------------------------------------------------------
 * key = value ...
 * ------------------------------------------------------------ */

/* End of the value starting at v: after the closing quote of a quoted
 * one, else at the first blank no backslash escapes. */
static const char *redact_value_end(const char *v, const char *e)
{
    if (v < e && *v == '\'') {
        for (v++; v < e && *v != '\''; v++)
            if (*v == '\\' && v + 1 < e)
                v++;
        return v < e ? v + 1 : e;
    }
    for (; v < e && !isspace((unsigned char)*v); v++)
        if (*v == '\\' && v + 1 < e)
            v++;
    return v;
}

static void redact_span(struct redact_out *o, const char *s, const char *e);

/* A dbname may hold a whole connection string: redact a bare one in
 * place; hide a quoted or escaped one whole when it may hold a password. */
static void redact_dbname(struct redact_out *o, const char *v, const char *e)
{
    int conn = redact_is_uri(v, e) || memchr(v, '=', (size_t)(e - v));
    int escaped = memchr(v, '\'', (size_t)(e - v)) || memchr(v, '\\', (size_t)(e - v));

    if (!conn)
        redact_put(o, v, (size_t)(e - v));
    else if (!escaped)
        redact_span(o, v, e);
    else if (redact_has(v, e, "password") ||
             (redact_has(v, e, "://") && memchr(v, '@', (size_t)(e - v))))
        redact_puts(o, REDACT_MASK);
    else
        redact_put(o, v, (size_t)(e - v));
}

static void redact_keywords(struct redact_out *o, const char *p, const char *e)
{
    while (p < e) {
        const char *key = p, *v, *vend;
        size_t kl;

        if (isspace((unsigned char)*p)) {
            redact_put(o, p++, 1);
            continue;
        }
        while (p < e && *p != '=' && !isspace((unsigned char)*p))
            p++;
        kl = (size_t)(p - key);
        while (p < e && isspace((unsigned char)*p))
            p++;
        if (p == e || *p != '=') { /* no '=': libpq refuses it; copy on */
            redact_put(o, key, (size_t)(p - key));
            continue;
        }
        for (v = p + 1; v < e && isspace((unsigned char)*v);)
            v++;
        redact_put(o, key, (size_t)(v - key));
        vend = redact_value_end(v, e);
        if (kl == 8 && !strncasecmp(key, "password", 8))
            redact_puts(o, REDACT_MASK);
        else if (kl == 6 && !strncmp(key, "dbname", 6))
            redact_dbname(o, v, vend);
        else
            redact_put(o, v, (size_t)(vend - v));
        p = vend;
    }
}

static void redact_span(struct redact_out *o, const char *s, const char *e)
{
    if (redact_is_uri(s, e))
        redact_uri(o, s, e);
    else
        redact_keywords(o, s, e);
}

size_t redact_conninfo(const char *in, char *out, size_t outlen)
{
    struct redact_out o = {out, outlen, 0};

    if (!in)
        in = "";
    redact_span(&o, in, in + strlen(in));
    return redact_finish(&o);
}

size_t redact_conninfo_params(const char *const *keys, const char *const *vals, int expand,
                              char *out, size_t outlen)
{
    struct redact_out o = {out, outlen, 0};

    for (int i = 0; keys && keys[i]; i++) {
        const char *v = vals && vals[i] ? vals[i] : "", *e = v + strlen(v);
        if (!*v)
            continue;
        if (o.len)
            redact_put(&o, " ", 1);
        redact_puts(&o, keys[i]);
        redact_put(&o, "=", 1);
        if (!strcasecmp(keys[i], "password"))
            redact_puts(&o, REDACT_MASK);
        else if (expand && !strcmp(keys[i], "dbname") && (redact_is_uri(v, e) || strchr(v, '=')))
            redact_span(&o, v, e);
        else
            redact_put(&o, v, (size_t)(e - v));
    }
    return redact_finish(&o);
}

char *redact_conninfo_dup(const char *in)
{
    size_t n = redact_conninfo(in, NULL, 0);
    char *s = malloc(n + 1);

    if (!s)
        abort(); /* as the runner's other allocations (util_fmt) */
    redact_conninfo(in, s, n + 1);
    return s;
}

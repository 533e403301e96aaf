/*
 * expand.c - ${...} expansion in scenario values, and the runner's PRNG.
 *
 * One pass over the template into a growing buffer.  `$$` is a literal `$`;
 * a `$` not followed by `{` or `$` is kept as it is (shell text in commands).
 */
#include "dsn.h"
#include "scn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXP_KNOWN                                                                               \
    "build, port, port:SERVICE, dsn, dsn_uri, dsn:NAME, dsn_uri:NAME, db_host, db_port, uuid, " \
    "rand:A:B, user, seed, out, scenario_dir, iter, env:NAME, env:NAME:-DEFAULT"

/* splitmix64: one word of state, every seed (0 too) gives a full period. */
uint64_t exp_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------
 * Output buffer.
 * ------------------------------------------------------------ */
struct exp_buf {
    char *p;
    size_t len, cap;
};

static int exp_put(struct exp_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *np;
        while (b->len + n + 1 > cap)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int exp_putf(struct exp_buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    return exp_put(b, tmp, (size_t)n);
}

/* ---------------------------------------------------------------
 * Variables.
 * ------------------------------------------------------------ */

/* The generator for ${rand} / ${uuid}: the caller's, or one derived from
 * the seed, user and iteration so expansion stays deterministic. */
static uint64_t exp_draw(const struct exp_ctx *ctx, uint64_t *local)
{
    return exp_rng_next(ctx->rng ? ctx->rng : local);
}

static int exp_port(const struct exp_ctx *ctx, const char *svc, int *port)
{
    for (int i = 0; i < ctx->nports; i++)
        if ((!svc && ctx->nports == 1) || (svc && strcmp(ctx->port_names[i], svc) == 0)) {
            *port = ctx->ports[i];
            return 0;
        }
    return -1;
}

static int exp_parse_ll(const char *s, const char *end, long long *v)
{
    char *e;
    errno = 0;
    *v = strtoll(s, &e, 10);
    return (e == end && e != s && errno == 0) ? 0 : -1;
}

static int exp_rand(struct exp_buf *b, const char *args, const struct exp_ctx *ctx, uint64_t *local)
{
    const char *colon = strchr(args, ':');
    long long lo, hi;
    uint64_t span, r;
    if (!colon || exp_parse_ll(args, colon, &lo) ||
        exp_parse_ll(colon + 1, colon + 1 + strlen(colon + 1), &hi) || lo > hi)
        return -1;
    span = (uint64_t)hi - (uint64_t)lo + 1; /* 0: the full 64-bit range */
    r = exp_draw(ctx, local);
    if (span)
        r %= span;
    return exp_putf(b, "%lld", (long long)((uint64_t)lo + r));
}

static int exp_uuid(struct exp_buf *b, const struct exp_ctx *ctx, uint64_t *local)
{
    uint64_t hi = exp_draw(ctx, local), lo = exp_draw(ctx, local);
    hi = (hi & ~0xf000ull) | 0x4000ull;       /* version 4 */
    lo = (lo & ~(3ull << 62)) | (2ull << 62); /* variant 10 */
    return exp_putf(b, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
                    hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & 0xffffffffffffull);
}

/* A string variable that may be absent in this context. */
static int exp_str(struct exp_buf *b, const char *name, const char *v, char *err, size_t errlen)
{
    if (!v) {
        snprintf(err, errlen, "variable '${%s}' is not available here", name);
        return -1;
    }
    return exp_put(b, v, strlen(v));
}

/* ${dsn_uri}, ${db_host}, ${db_port}, ${dsn:NAME}, ${dsn_uri:NAME}: the
 * run's connection string in other forms (dsn.h); 1 when name is none of
 * them. */
static int exp_db(struct exp_buf *b, const char *name, const struct exp_ctx *ctx, char *err,
                  size_t errlen)
{
    int uri = !strncmp(name, "dsn_uri", 7), port, rc;
    const char *proxy = NULL;
    char *v = NULL, *host = NULL, *portstr = NULL;

    if (!strcmp(name, "dsn_uri") || !strcmp(name, "db_host") || !strcmp(name, "db_port"))
        ;
    else if (!strncmp(name, "dsn:", 4) || !strncmp(name, "dsn_uri:", 8))
        proxy = strchr(name, ':') + 1;
    else
        return 1;
    if (!ctx->dsn) {
        snprintf(err, errlen, "variable '${%s}' is not available here", name);
        return -1;
    }
    if (proxy && exp_port(ctx, proxy, &port)) {
        snprintf(err, errlen, "unknown proxy or service '%s' in '${%s}'", proxy, name);
        return -1;
    }
    if (!strncmp(name, "db_", 3)) {
        if (dsn_host_port(ctx->dsn, &host, &portstr, err, errlen) < 0)
            return -1;
        rc = exp_put(b, name[3] == 'h' ? host : portstr, strlen(name[3] == 'h' ? host : portstr));
        free(host);
        free(portstr);
        return rc;
    }
    v = dsn_rewrite(ctx->dsn, uri, proxy ? "127.0.0.1" : NULL, proxy ? port : 0, err, errlen);
    if (!v)
        return -1;
    rc = exp_put(b, v, strlen(v));
    free(v);
    return rc;
}

/* ${env:NAME} and ${env:NAME:-DEFAULT}: the runner's environment, the
 * default (as the shell's ":-") when NAME is unset or empty.  Secrets
 * (a token for a header) come in this way rather than in the file. */
static int exp_env(struct exp_buf *b, const char *name, char *err, size_t errlen)
{
    const char *var = name + 4, *dflt = strstr(var, ":-"), *v;
    size_t n = dflt ? (size_t)(dflt - var) : strlen(var);
    char key[256];
    int ok = n > 0 && !(var[0] >= '0' && var[0] <= '9');

    for (size_t i = 0; i < n; i++)
        ok &= var[i] == '_' || (var[i] >= 'A' && var[i] <= 'Z') ||
              (var[i] >= 'a' && var[i] <= 'z') || (var[i] >= '0' && var[i] <= '9');
    if (!ok) {
        snprintf(err, errlen,
                 "bad environment variable name in '${%s}': expected ${env:NAME} or "
                 "${env:NAME:-DEFAULT}, NAME of letters, digits and '_'",
                 name);
        return -1;
    }
    snprintf(key, sizeof(key), "%.*s", (int)n, var);
    v = getenv(key);
    if (v && *v)
        return exp_put(b, v, strlen(v));
    if (dflt)
        return exp_put(b, dflt + 2, strlen(dflt + 2));
    snprintf(err, errlen,
             "environment variable '%s' is not set (set it, or give a default: ${env:%s:-VALUE})",
             key, key);
    return -1;
}

/* A variable a flow captured; 1 when name is none of them. */
static int exp_captured(struct exp_buf *b, const char *name, const struct exp_ctx *ctx, char *err,
                        size_t errlen)
{
    for (int i = 0; i < ctx->nvars; i++) {
        if (strcmp(ctx->var_names[i], name) != 0)
            continue;
        if (!ctx->var_values || !ctx->var_values[i]) {
            snprintf(err, errlen,
                     "variable '${%s}' is not captured by an earlier request of this flow (a "
                     "capture feeds the later requests of its [flow])",
                     name);
            return -1;
        }
        return exp_put(b, ctx->var_values[i], strlen(ctx->var_values[i]));
    }
    return 1;
}

/* Expand one variable (name without the braces). */
static int exp_var(struct exp_buf *b, const char *name, const struct exp_ctx *ctx, uint64_t *local,
                   char *err, size_t errlen)
{
    int port, rc;
    if (strcmp(name, "build") == 0)
        return exp_str(b, name, ctx->build, err, errlen);
    if (strcmp(name, "dsn") == 0)
        return exp_str(b, name, ctx->dsn, err, errlen);
    if ((rc = exp_db(b, name, ctx, err, errlen)) <= 0)
        return rc;
    if (strcmp(name, "out") == 0)
        return exp_str(b, name, ctx->out, err, errlen);
    if (strcmp(name, "scenario_dir") == 0)
        return exp_str(b, name, ctx->scenario_dir, err, errlen);
    if (strcmp(name, "seed") == 0)
        return exp_putf(b, "%" PRIu64, ctx->seed);
    if (strcmp(name, "iter") == 0)
        return exp_putf(b, "%" PRIu64, ctx->iter);
    if (strcmp(name, "uuid") == 0)
        return exp_uuid(b, ctx, local);
    if (strcmp(name, "user") == 0) {
        if (ctx->user < 0) {
            snprintf(err, errlen, "variable '${user}' is only available in [workload] requests");
            return -1;
        }
        return exp_putf(b, "%ld", ctx->user);
    }
    if (strcmp(name, "port") == 0) {
        if (exp_port(ctx, ctx->service, &port)) {
            snprintf(err, errlen, "variable '${port}' is not available here (use ${port:SERVICE})");
            return -1;
        }
        return exp_putf(b, "%d", port);
    }
    if (strncmp(name, "port:", 5) == 0) {
        if (exp_port(ctx, name + 5, &port)) {
            snprintf(err, errlen, "unknown service '%s' in '${%s}'", name + 5, name);
            return -1;
        }
        return exp_putf(b, "%d", port);
    }
    if (strncmp(name, "rand:", 5) == 0) {
        if (exp_rand(b, name + 5, ctx, local)) {
            snprintf(err, errlen,
                     "bad bounds in '${%s}': expected ${rand:A:B} with integers A <= B", name);
            return -1;
        }
        return 0;
    }
    if (strncmp(name, "env:", 4) == 0)
        return exp_env(b, name, err, errlen);
    if ((rc = exp_captured(b, name, ctx, err, errlen)) <= 0)
        return rc;
    snprintf(err, errlen, "unknown variable '${%s}' (known: " EXP_KNOWN ")", name);
    return -1;
}

void exp_standin(const struct scenario *s, struct exp_standin *st)
{
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < s->nservices && i < 256; i++) {
        st->names[i] = s->services[i].name;
        st->ports[i] = 10000 + i;
    }
    st->e.build = "/build"; /* the caller may know the real one */
    st->e.dsn = "host=127.0.0.1 port=5432 dbname=wedge user=wedge";
    st->e.out = ".";
    st->e.scenario_dir = s->dir;
    st->e.port_names = st->names;
    st->e.ports = st->ports;
    st->e.nports = s->nservices < 256 ? s->nservices : 256;
    st->e.user = -1;
}

char *exp_expand(const char *tmpl, const struct exp_ctx *ctx, char *err, size_t errlen)
{
    return exp_expand_at(tmpl, ctx, err, errlen, NULL);
}

char *exp_expand_at(const char *tmpl, const struct exp_ctx *ctx, char *err, size_t errlen,
                    size_t *at)
{
    struct exp_buf b = {0};
    uint64_t local = ctx->seed ^ (uint64_t)ctx->user * 0x9e3779b97f4a7c15ull ^ ctx->iter;
    const char *s = tmpl;
    char name[256];

    if (errlen)
        err[0] = '\0';
    if (exp_put(&b, "", 0))
        goto fail_oom;
    while (*s) {
        const char *dollar = strchr(s, '$'), *close;
        size_t n;
        if (!dollar) {
            if (exp_put(&b, s, strlen(s)))
                goto fail_oom;
            break;
        }
        if (exp_put(&b, s, (size_t)(dollar - s)))
            goto fail_oom;
        if (dollar[1] == '$') {
            if (exp_put(&b, "$", 1))
                goto fail_oom;
            s = dollar + 2;
            continue;
        }
        if (dollar[1] != '{') {
            if (exp_put(&b, "$", 1))
                goto fail_oom;
            s = dollar + 1;
            continue;
        }
        close = strchr(dollar + 2, '}');
        if (at)
            *at = (size_t)(dollar - tmpl);
        if (!close) {
            snprintf(err, errlen, "unterminated '${' at column %d (expected '}')",
                     (int)(dollar - tmpl) + 1);
            goto fail;
        }
        n = (size_t)(close - dollar - 2);
        if (n >= sizeof(name)) {
            snprintf(err, errlen, "variable name at column %d is too long",
                     (int)(dollar - tmpl) + 1);
            goto fail;
        }
        memcpy(name, dollar + 2, n);
        name[n] = '\0';
        if (exp_var(&b, name, ctx, &local, err, errlen)) {
            if (!*err)
                snprintf(err, errlen, "out of memory");
            goto fail;
        }
        s = close + 1;
    }
    return b.p;
fail_oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(b.p);
    return NULL;
}

/*
 * match.c - the conditions of a rule against one call.
 *
 * All conditions must hold.  Cheap ones are tried first (thread, proc,
 * port/peer, sql) and caller ~ (a stack walk) last, so a rule whose cheap
 * conditions fail never unwinds.
 *
 * proc ~ and caller ~ are decided from what match_prepare computed at
 * start: a pthread hook can run inside the program's allocator, and
 * regexec allocates.  sql ~ still runs regexec in the hook: the pq hooks
 * are called by the program's database code, never from an allocator.
 */
#include "wedge_shim.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

/* The peer of the call, fetched once per call: the address the call is
 * given (connect, sendto), else getpeername(c->fd).  0 when that is no
 * AF_INET/AF_INET6 address.  IPv4-mapped IPv6 peers are returned as
 * AF_INET so that `peer = 127.0.0.1:80` matches them. */
static int match_peer(const struct wg_call *c, struct sockaddr_storage *ss, int *state)
{
    socklen_t len = sizeof *ss;
    int saved = errno, rc;

    if (*state)
        return *state > 0;
    *state = -1;
    if (c->addr) {
        if (c->addrlen < sizeof(sa_family_t) || c->addrlen > sizeof *ss)
            return 0;
        memcpy(ss, c->addr, c->addrlen);
        rc = 0;
    } else {
        rc = c->fd < 0 ? -1 : getpeername(c->fd, (struct sockaddr *)ss, &len);
        errno = saved; /* a failed getpeername must not leak ENOTSOCK to the caller */
    }
    if (rc != 0)
        return 0;
    if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            struct sockaddr_in a4;
            memset(&a4, 0, sizeof a4);
            a4.sin_family = AF_INET;
            a4.sin_port = a6->sin6_port;
            memcpy(&a4.sin_addr, &a6->sin6_addr.s6_addr[12], 4);
            memcpy(ss, &a4, sizeof a4);
        }
    } else if (ss->ss_family != AF_INET) {
        return 0;
    }
    *state = 1;
    return 1;
}

static int match_port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int match_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

static int match_regex(const struct wg_cond *cd, const char *s)
{
    int m;

    if (!s) /* nothing to match: ~ fails, !~ holds */
        return cd->cmp == WG_CMP_NOMATCH;
    m = regexec(&cd->re, s, 0, NULL, 0) == 0;
    return cd->cmp == WG_CMP_MATCH ? m : !m;
}

static int match_cond(const struct wg_cond *cd, const struct wg_call *c,
                      struct sockaddr_storage *ss, int *peer_state)
{
    int eq;

    switch (cd->kind) {
    case WG_COND_THREAD:
        eq = wg_thread_index() == cd->num;
        return cd->cmp == WG_CMP_EQ ? eq : !eq;
    case WG_COND_PROC:
        return cd->cmp == WG_CMP_MATCH ? cd->pre : !cd->pre;
    case WG_COND_PORT:
        if (!match_peer(c, ss, peer_state))
            return 0;
        eq = match_port_of(ss) == cd->num;
        return cd->cmp == WG_CMP_EQ ? eq : !eq;
    case WG_COND_PEER:
        if (!match_peer(c, ss, peer_state))
            return 0;
        eq = match_same_addr(ss, &cd->addr);
        return cd->cmp == WG_CMP_EQ ? eq : !eq;
    case WG_COND_SQL:
        return match_regex(cd, c->sql);
    case WG_COND_CALLER:
        return caller_match(cd->pre, cd->cmp == WG_CMP_MATCH);
    case WG_COND_HTTP:
        return match_regex(cd, c->http);
    case WG_COND_REDIS:
        return match_regex(cd, c->redis);
    case WG_COND_DATA:
        return match_regex(cd, c->data);
    }
    return 0;
}

/* Evaluation order: cheapest first. */
static const enum wg_cond_kind match_order[] = {WG_COND_THREAD, WG_COND_PROC, WG_COND_PORT,
                                                WG_COND_PEER,   WG_COND_SQL,  WG_COND_HTTP,
                                                WG_COND_REDIS,  WG_COND_DATA, WG_COND_CALLER};

int match_rule(const struct wg_rule *r, const struct wg_call *c)
{
    struct sockaddr_storage ss;
    int peer_state = 0;

    if (r->action == WG_ACT_SPURIOUS && c->no_spurious)
        return 0; /* at most one spurious return in a row (pthread.c) */
    for (size_t k = 0; k < sizeof match_order / sizeof match_order[0]; k++)
        for (int i = 0; i < r->ncond; i++)
            if (r->conds[i].kind == match_order[k] &&
                !match_cond(&r->conds[i], c, &ss, &peer_state))
                return 0;
    return 1;
}

int match_prepare(struct wg_ruleset *rs, const char *origin, int stacks,
                  void (*warn)(const char *msg), char *err, size_t errlen)
{
    for (int i = 0; i < rs->n; i++)
        for (int k = 0; k < rs->rules[i].ncond; k++) {
            struct wg_cond *cd = &rs->rules[i].conds[k];
            if (cd->kind == WG_COND_PROC)
                cd->pre = regexec(&cd->re, wg_proc_name, 0, NULL, 0) == 0;
        }
    return caller_prepare(rs, origin, stacks, warn, err, errlen);
}

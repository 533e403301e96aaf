/*
 * rules_cond.c - the rule language's conditions (rules_int.h): the table
 * of condition words, the operator, and the value: a regular expression
 * (its size bounded by rules_regex.c before regcomp sees it), a port, a
 * thread number, an address.
 */
#include "rules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

static const struct rules_kw rules_conds[] = {
    {"sql", WG_COND_SQL, NULL},       {"port", WG_COND_PORT, NULL},
    {"peer", WG_COND_PEER, NULL},     {"caller", WG_COND_CALLER, NULL},
    {"thread", WG_COND_THREAD, NULL}, {"proc", WG_COND_PROC, NULL},
    {"http", WG_COND_HTTP, NULL},     {"redis", WG_COND_REDIS, NULL},
    {"data", WG_COND_DATA, NULL},     {NULL, 0, NULL},
};

_Static_assert(sizeof rules_conds / sizeof rules_conds[0] <= RULES_KW_MAX + 1,
               "rules_keyword reads at most RULES_KW_MAX words");

static int rules_peer(struct rules_ctx *c, struct wg_cond *cd)
{
    char buf[80], host[64], d[80];
    const char *colon;
    uint64_t port;

    if (rules_tok_copy(TOK, buf, sizeof buf) < 0)
        goto bad;
    if (buf[0] == '[') {
        char *rb = strchr(buf, ']');
        if (!rb || rb[1] != ':')
            goto bad;
        *rb = '\0';
        if (strlen(buf + 1) >= sizeof host)
            goto bad;
        memcpy(host, buf + 1, strlen(buf + 1) + 1);
        colon = rb + 1;
    } else {
        colon = strrchr(buf, ':');
        if (!colon || (size_t)(colon - buf) >= sizeof host)
            goto bad;
        memcpy(host, buf, (size_t)(colon - buf));
        host[colon - buf] = '\0';
    }
    if (rules_parse_u64(colon + 1, strlen(colon + 1), &port) < 0 || port > 65535)
        goto bad;
    memset(&cd->addr, 0, sizeof cd->addr);
    if (buf[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&cd->addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            goto bad;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        cd->addrlen = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&cd->addr;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            goto bad;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        cd->addrlen = sizeof *a4;
    }
    cd->num = (long)port;
    return 0;
bad:
    rules_err(LX, TOK->line, TOK->col,
              "bad address %s after 'peer %s'; expected IPv4:PORT or [IPv6]:PORT, e.g. "
              "127.0.0.1:5432 or [::1]:5432",
              rules_tok_desc(TOK, d, sizeof d), cd->cmp == WG_CMP_EQ ? "=" : "!=");
    return -1;
}

/* Whether regular expression src may be compiled (rules_regex.c): its
 * cost in nodes, or -1 with the message. */
static long rules_regex_bound(struct rules_ctx *c, const char *src)
{
    const char *more = strlen(src) > 60 ? "..." : "";
    size_t at = 0;
    long cost = rules_regex_cost(src, &at);

    if (cost == -2)
        rules_err(
            LX, TOK->line, TOK->col,
            "regular expression \"%.60s%s\" repeats a repetition at byte %zu ('%.2s'); "
            "POSIX leaves that undefined: write the one repetition you mean, as in a* for a*+",
            src, more, at + 1, src + at - 1);
    else if (cost == -3)
        rules_err(LX, TOK->line, TOK->col,
                  "regular expression \"%.60s%s\" repeats at byte %zu ('%c') what can match the "
                  "empty string; repeat only what consumes a character, as in (a+)? for (a?)+",
                  src, more, at + 1, src[at]);
    else if (cost < 0)
        rules_err(LX, TOK->line, TOK->col,
                  "back-reference '%.2s' in regular expression \"%.60s\"; not supported "
                  "(matching one takes exponential time)",
                  src + at, src);
    else if (cost > RULES_REGEX_MAX)
        rules_err(LX, TOK->line, TOK->col,
                  "regular expression \"%.60s%s\" too complex: it expands to %s%ld nodes, at "
                  "most %d (each +, {N} and nested repetition multiplies what it repeats)",
                  src, more, cost >= RULES_REGEX_MAX * 16l ? "more than " : "about ", cost,
                  RULES_REGEX_MAX);
    else if (c->regex_total + cost > RULES_REGEX_TOTAL)
        rules_err(LX, TOK->line, TOK->col,
                  "regular expressions too complex together: with this one they expand to about "
                  "%ld nodes, at most %d for all rules",
                  c->regex_total + cost, RULES_REGEX_TOTAL);
    else
        return cost;
    return -1;
}

/* The regular expression of condition cd (after `kw ~`), checked for
 * size before regcomp sees it (rules_regex.c), then compiled. */
static int rules_regex(struct rules_ctx *c, struct wg_cond *cd, const char *kw)
{
    const char *src = LX->str;
    char d[80], eb[128];
    long cost;
    int rc;

    if (TOK->type == TOK_WORD) {
        if (rules_tok_copy(TOK, LX->str, sizeof LX->str) < 0) {
            rules_err(LX, TOK->line, TOK->col, "regular expression longer than %d bytes",
                      RULES_STR_MAX - 1);
            return -1;
        }
    } else if (TOK->type != TOK_STRING) {
        rules_err(LX, TOK->line, TOK->col,
                  "expected a \"quoted regular expression\" after '%s %s', found %s", kw,
                  cd->cmp == WG_CMP_MATCH ? "~" : "!~", rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    cost = rules_regex_bound(c, src);
    if (cost < 0)
        return -1;
    cd->text = strdup(src);
    if (!cd->text) {
        rules_err(LX, TOK->line, TOK->col, "out of memory");
        return -1;
    }
    rc = regcomp(&cd->re, src, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &cd->re, eb, sizeof eb);
        free(cd->text);
        cd->text = NULL;
        rules_err(LX, TOK->line, TOK->col, "bad regular expression \"%.60s\": %s", src, eb);
        return -1;
    }
    c->regex_total += cost;
    return 0;
}

/* The operator of condition cd: ~ or !~ for a regex kind, = or != else. */
static int rules_cond_op(struct rules_ctx *c, struct wg_cond *cd, int regex_kind, const char *kw)
{
    char d[80];

    if (TOK->type == TOK_OP && regex_kind && TOK->len == 1 && TOK->s[0] == '~')
        cd->cmp = WG_CMP_MATCH;
    else if (TOK->type == TOK_OP && regex_kind && TOK->len == 2 && TOK->s[1] == '~')
        cd->cmp = WG_CMP_NOMATCH;
    else if (TOK->type == TOK_OP && !regex_kind && TOK->len == 1 && TOK->s[0] == '=')
        cd->cmp = WG_CMP_EQ;
    else if (TOK->type == TOK_OP && !regex_kind && TOK->len == 2 && TOK->s[1] == '=')
        cd->cmp = WG_CMP_NE;
    else {
        rules_err(LX, TOK->line, TOK->col, "expected %s after '%s', found %s",
                  regex_kind ? "'~' or '!~'" : "'=' or '!='", kw, rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    return 0;
}

/* The value of a port, thread or peer condition, and its text. */
static int rules_cond_value(struct rules_ctx *c, struct wg_cond *cd)
{
    uint64_t v;

    if (rules_want_word(c, cd->kind == WG_COND_PEER ? "an address IP:PORT" : "a number",
                        cd->kind == WG_COND_PORT     ? "port"
                        : cd->kind == WG_COND_THREAD ? "thread"
                                                     : "peer") < 0)
        return -1;
    if (cd->kind == WG_COND_PEER) {
        if (rules_peer(c, cd) < 0)
            return -1;
    } else if (cd->kind == WG_COND_PORT) {
        if (rules_number(c, 1, 65535, "bad port %s; expected a number 1..65535", &v) < 0)
            return -1;
        cd->num = (long)v;
    } else {
        if (rules_number(c, 1, 1000000,
                         "bad thread number %s; expected a number >= 1 (1 is the first "
                         "thread to reach a hook)",
                         &v) < 0)
            return -1;
        cd->num = (long)v;
    }
    cd->text = strndup(TOK->s, TOK->len);
    if (!cd->text) {
        rules_err(LX, TOK->line, TOK->col, "out of memory");
        return -1;
    }
    return 0;
}

/* COND: KIND OP VALUE. */
int rules_cond(struct rules_ctx *c, const char *after)
{
    struct wg_rule *r = c->r;
    struct wg_cond *cd;
    char kw[16];
    int regex_kind;
    const struct rules_kw *k = rules_keyword(c, rules_conds, "condition", after);

    if (!k)
        return -1;
    if (r->ncond >= WG_MAX_CONDS) {
        rules_err(LX, TOK->line, TOK->col, "too many conditions; at most %d a rule", WG_MAX_CONDS);
        return -1;
    }
    cd = &r->conds[r->ncond];
    memset(cd, 0, sizeof *cd);
    cd->kind = (enum wg_cond_kind)k->id;
    cd->line = TOK->line;
    cd->col = TOK->col;
    c->cond_col[r->ncond] = TOK->col;
    snprintf(kw, sizeof kw, "%s", k->name);
    regex_kind = cd->kind != WG_COND_PORT && cd->kind != WG_COND_PEER && cd->kind != WG_COND_THREAD;
    if (rules_next(LX) < 0)
        return -1;

    if (rules_cond_op(c, cd, regex_kind, kw) < 0 || rules_next(LX) < 0)
        return -1;
    if (regex_kind ? rules_regex(c, cd, kw) < 0 : rules_cond_value(c, cd) < 0)
        return -1;
    r->ncond++;
    return rules_next(LX);
}

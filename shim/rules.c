/*
 * rules.c - the rule language: text -> struct wg_ruleset.
 *
 *   [NAME:] ACTION on|before|after HOOK[,HOOK...] [where COND [and COND...]]
 *           [FREQUENCY...] [before|after]
 *
 * One rule a line or ';' between rules, '#' to the end of the line is a
 * comment; both are literal inside a "quoted string" (\" is a quote, \\ a
 * backslash, any other backslash is kept for the regex).  Every error names
 * origin:LINE:COL and says what was found and what was expected.  The
 * reference, with every message, is docs/rules.md.
 *
 * Runs from the constructor or a test: it allocates, never from a hook.
 */
#include "rules_int.h"

#include "duration.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

/* ---------------------------------------------------------------
 * Keyword tables (also the candidates for "did you mean").
 * ------------------------------------------------------------ */
/* A keyword and the enum value it stands for.  Tables end with a NULL
 * name; their order is the order messages list them in. */
struct rules_kw {
    const char *name;
    int id;
    /* actions: parse the arguments after the word (NULL: it takes none) */
    int (*args)(struct rules_ctx *c);
};

static const struct rules_kw rules_conds[] = {
    {"sql", WG_COND_SQL, NULL},
    {"port", WG_COND_PORT, NULL},
    {"peer", WG_COND_PEER, NULL},
    {"caller", WG_COND_CALLER, NULL},
    {"thread", WG_COND_THREAD, NULL},
    {"proc", WG_COND_PROC, NULL},
    {"http", WG_COND_HTTP, NULL},
    {"redis", WG_COND_REDIS, NULL},
    {"data", WG_COND_DATA, NULL},
    {NULL, 0, NULL},
};

static const char *const rules_clauses[] = {"where", "and",   "p",     "nth",    "every",
                                            "first", "after", "times", "before", NULL};
#define RULES_CLAUSES_LIST                                                                     \
    "'where', 'and', a frequency (p=, nth, every, first, after, times), 'before', 'after' or " \
    "the end of the rule"

static const char *const rules_whens[] = {"on", "before", "after", NULL};

static const struct {
    const char *name;
    int err;
} rules_errnos[] = {
    {"ECONNRESET", ECONNRESET},
    {"EAGAIN", EAGAIN},
    {"EWOULDBLOCK", EWOULDBLOCK},
    {"ETIMEDOUT", ETIMEDOUT},
    {"EPIPE", EPIPE},
    {"ECONNREFUSED", ECONNREFUSED},
    {"ECONNABORTED", ECONNABORTED},
    {"EINTR", EINTR},
    {"EBUSY", EBUSY},
    {"EIO", EIO},
    {"ENOBUFS", ENOBUFS},
    {"ENOMEM", ENOMEM},
    {"EHOSTUNREACH", EHOSTUNREACH},
    {"EHOSTDOWN", EHOSTDOWN},
    {"ENETUNREACH", ENETUNREACH},
    {"ENETDOWN", ENETDOWN},
    {"ENETRESET", ENETRESET},
    {"ENOTCONN", ENOTCONN},
    {"ESHUTDOWN", ESHUTDOWN},
    {"EADDRINUSE", EADDRINUSE},
    {"EADDRNOTAVAIL", EADDRNOTAVAIL},
    {"EINPROGRESS", EINPROGRESS},
    {"EALREADY", EALREADY},
    {"EMSGSIZE", EMSGSIZE},
    {"EPROTO", EPROTO},
    {"EMFILE", EMFILE},
    {"ENFILE", ENFILE},
    {"EBADF", EBADF},
    {"EINVAL", EINVAL},
    {"EACCES", EACCES},
    {"EPERM", EPERM},
    {"ENOSPC", ENOSPC},
    {"ENOENT", ENOENT},
};
#define RULES_NERRNOS (sizeof(rules_errnos) / sizeof(rules_errnos[0]))

/* Name of errno value err ("ECONNRESET"), or NULL when the table lacks it. */
const char *rules_errno_name(int err)
{
    for (size_t i = 0; i < RULES_NERRNOS; i++)
        if (rules_errnos[i].err == err)
            return rules_errnos[i].name;
    return NULL;
}

/* ---------------------------------------------------------------
 * The grammar, one rule at a time (the context is in rules_int.h).
 * ------------------------------------------------------------ */

/* Expect a word token after `what`; error "expected X after 'what', found Y". */
static int rules_want_word(struct rules_ctx *c, const char *expected, const char *after)
{
    char d[80];

    if (TOK->type == TOK_WORD)
        return 0;
    rules_err(LX, TOK->line, TOK->col, "expected %s after '%s', found %s", expected, after,
              rules_tok_desc(TOK, d, sizeof d));
    return -1;
}

/* The current word as a number in [lo, hi]; else the message `bad`, whose
 * one %s is the word. */
static int rules_number(struct rules_ctx *c, uint64_t lo, uint64_t hi, const char *bad, uint64_t *v)
{
    char d[80];

    if (TOK->type == TOK_WORD && rules_parse_u64(TOK->s, TOK->len, v) == 0 && *v >= lo && *v <= hi)
        return 0;
    rules_err(LX, TOK->line, TOK->col, bad, rules_tok_desc(TOK, d, sizeof d));
    return -1;
}

static int rules_duration_tok(struct rules_ctx *c, const char *after, uint64_t *out)
{
    char d[80];
    enum duration_rc rc;

    if (rules_want_word(c, "a duration such as 20ms", after) < 0)
        return -1;
    rc = duration_parse(TOK->s, TOK->len, out);
    if (rc == DURATION_RANGE) {
        rules_err(LX, TOK->line, TOK->col, "duration %s out of range; expected at most %s",
                  rules_tok_desc(TOK, d, sizeof d), DURATION_MAX_TEXT);
        return -1;
    }
    if (rc != DURATION_OK) {
        rules_err(LX, TOK->line, TOK->col,
                  "bad duration %s; expected a number with a unit (%s), e.g. 20ms",
                  rules_tok_desc(TOK, d, sizeof d), DURATION_UNITS);
        return -1;
    }
    return 0;
}

static int rules_coord_name(struct rules_ctx *c, const char *after)
{
    char d[80];

    if (rules_want_word(c, "a name", after) < 0)
        return -1;
    if (!rules_name_ok(TOK->s, TOK->len, 1)) {
        rules_err(LX, TOK->line, TOK->col,
                  "bad name %s after '%s'; expected letters, digits, '-', '_' or '.' "
                  "(at most %d)",
                  rules_tok_desc(TOK, d, sizeof d), after, WG_NAME_MAX - 1);
        return -1;
    }
    rules_tok_copy(TOK, c->r->coord, sizeof c->r->coord);
    return rules_next(LX);
}

static int rules_errno_tok(struct rules_ctx *c)
{
    const char *names[RULES_NERRNOS + 1];
    char d[80], h[64];
    uint64_t v;

    for (size_t i = 0; i < RULES_NERRNOS; i++) {
        names[i] = rules_errnos[i].name;
        if (rules_tok_is(TOK, names[i])) {
            c->r->err = rules_errnos[i].err;
            return 0;
        }
    }
    names[RULES_NERRNOS] = NULL;
    if (rules_parse_u64(TOK->s, TOK->len, &v) == 0) {
        if (v < 1 || v > 4095) {
            rules_err(LX, TOK->line, TOK->col, "errno %s out of range; expected 1..4095",
                      rules_tok_desc(TOK, d, sizeof d));
            return -1;
        }
        c->r->err = (int)v;
        return 0;
    }
    rules_err(LX, TOK->line, TOK->col,
              "unknown errno %s%s; expected an errno name such as ECONNRESET, ETIMEDOUT, EBUSY "
              "or a number",
              rules_tok_desc(TOK, d, sizeof d), rules_hint(TOK, names, RULES_NERRNOS, h, sizeof h));
    return -1;
}

#define RULES_KW_MAX 16

/* The entry of `table` the current word names, else NULL after "expected
 * a KIND [after 'X'], found ..." or "unknown KIND 'w' (did you mean ...);
 * expected one of LIST", LIST being the table's names in order. */
static const struct rules_kw *rules_keyword(struct rules_ctx *c, const struct rules_kw *table,
                                            const char *kind, const char *after)
{
    const char *names[RULES_KW_MAX + 1];
    char d[80], h[64], a[48] = "", list[256] = "";
    size_t n = 0, used = 0;

    for (; table[n].name && n < RULES_KW_MAX; n++) {
        if (rules_tok_is(TOK, table[n].name))
            return &table[n];
        names[n] = table[n].name;
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%s", n ? ", " : "", table[n].name);
        if (used >= sizeof list)
            used = sizeof list - 1;
    }
    names[n] = NULL;
    if (TOK->type != TOK_WORD) {
        if (after)
            snprintf(a, sizeof a, " after '%s'", after);
        rules_err(LX, TOK->line, TOK->col, "expected a%s %s%s, found %s; expected one of %s",
                  kind[0] == 'a' ? "n" : "", kind, a, rules_tok_desc(TOK, d, sizeof d), list);
        return NULL;
    }
    rules_err(LX, TOK->line, TOK->col, "unknown %s %s%s; expected one of %s", kind,
              rules_tok_desc(TOK, d, sizeof d), rules_hint(TOK, names, n, h, sizeof h), list);
    return NULL;
}

/* ---------------------------------------------------------------
 * Actions: each parses its own arguments, from the word after the
 * action's; each leaves the token after them current.
 * ------------------------------------------------------------ */

/* delay D or delay D1..D2 */
static int rules_args_delay(struct rules_ctx *c)
{
    struct wg_rule *r = c->r;
    const char *dots;
    char d[80];

    if (rules_want_word(c, "a duration such as 20ms or 1ms..50ms", "delay") < 0)
        return -1;
    dots = memmem(TOK->s, TOK->len, "..", 2);
    if (!dots) {
        if (rules_duration_tok(c, "delay", &r->delay_min_ns) < 0)
            return -1;
        r->delay_max_ns = r->delay_min_ns;
        return rules_next(LX);
    }
    size_t l1 = (size_t)(dots - TOK->s);
    enum duration_rc lo = duration_parse(TOK->s, l1, &r->delay_min_ns);
    enum duration_rc hi = duration_parse(dots + 2, TOK->len - l1 - 2, &r->delay_max_ns);
    if (lo == DURATION_RANGE || hi == DURATION_RANGE) {
        rules_err(LX, TOK->line, TOK->col, "duration range %s out of range; expected at most %s",
                  rules_tok_desc(TOK, d, sizeof d), DURATION_MAX_TEXT);
        return -1;
    }
    if (lo != DURATION_OK || hi != DURATION_OK) {
        rules_err(LX, TOK->line, TOK->col,
                  "bad duration range %s; expected MIN..MAX with units (%s), e.g. 1ms..50ms",
                  rules_tok_desc(TOK, d, sizeof d), DURATION_UNITS);
        return -1;
    }
    if (r->delay_max_ns < r->delay_min_ns) {
        rules_err(LX, TOK->line, TOK->col,
                  "bad duration range %s; the maximum is less than the minimum",
                  rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    return rules_next(LX);
}

/* fail ERRNO, fail sqlstate XXXXX, fail disconnect */
static int rules_args_fail(struct rules_ctx *c)
{
    struct wg_rule *r = c->r;
    char d[80];

    if (rules_want_word(c, "an errno name (e.g. ECONNRESET), 'sqlstate' or 'disconnect'", "fail") <
        0)
        return -1;
    if (rules_tok_is(TOK, "disconnect")) {
        r->action = WG_ACT_FAIL_DISCONNECT;
    } else if (rules_tok_is(TOK, "sqlstate")) {
        r->action = WG_ACT_FAIL_SQLSTATE;
        if (rules_next(LX) < 0)
            return -1;
        int ok = TOK->type == TOK_WORD && TOK->len == 5;
        for (size_t i = 0; ok && i < 5; i++)
            ok = (TOK->s[i] >= '0' && TOK->s[i] <= '9') || (TOK->s[i] >= 'A' && TOK->s[i] <= 'Z');
        if (!ok) {
            rules_err(LX, TOK->line, TOK->col,
                      "expected a 5-character SQLSTATE of 0-9 and A-Z (e.g. 40001) after "
                      "'sqlstate', found %s",
                      rules_tok_desc(TOK, d, sizeof d));
            return -1;
        }
        rules_tok_copy(TOK, r->sqlstate, sizeof r->sqlstate);
    } else if (rules_errno_tok(c) < 0) {
        return -1;
    }
    return rules_next(LX);
}

/* short N */
static int rules_args_short(struct rules_ctx *c)
{
    uint64_t v;

    if (rules_want_word(c, "a byte count >= 1", "short") < 0)
        return -1;
    if (rules_number(c, 1, LONG_MAX, "bad byte count %s after 'short'; expected a number >= 1",
                     &v) < 0)
        return -1;
    c->r->short_n = (long)v;
    return rules_next(LX);
}

/* [timeout D] after a barrier or a wait */
static int rules_args_timeout(struct rules_ctx *c)
{
    char d[80];

    if (!rules_tok_is(TOK, "timeout"))
        return 0;
    if (rules_next(LX) < 0)
        return -1;
    if (rules_duration_tok(c, "timeout", &c->r->timeout_ns) < 0)
        return -1;
    if (c->r->timeout_ns == 0) {
        rules_err(LX, TOK->line, TOK->col, "bad timeout %s; expected a duration above 0",
                  rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    return rules_next(LX);
}

/* barrier NAME COUNT [timeout D] */
static int rules_args_barrier(struct rules_ctx *c)
{
    uint64_t v;

    if (rules_coord_name(c, "barrier") < 0)
        return -1;
    if (rules_want_word(c, "a count (1..255)", "barrier NAME") < 0)
        return -1;
    if (rules_number(c, 1, 255, "bad barrier count %s; expected a number 1..255", &v) < 0)
        return -1;
    c->r->count = (unsigned)v;
    if (rules_next(LX) < 0)
        return -1;
    return rules_args_timeout(c);
}

/* mark NAME */
static int rules_args_mark(struct rules_ctx *c)
{
    return rules_coord_name(c, "mark");
}

/* wait NAME [timeout D] */
static int rules_args_wait(struct rules_ctx *c)
{
    if (rules_coord_name(c, "wait") < 0)
        return -1;
    return rules_args_timeout(c);
}

/* Every action: its word, what it sets, how its arguments parse.  A new
 * action is a line here (and its case in engine.c or a wrapper). */
static const struct rules_kw rules_actions[] = {
    {"delay", WG_ACT_DELAY, rules_args_delay},
    {"fail", WG_ACT_FAIL_ERRNO, rules_args_fail},
    {"short", WG_ACT_SHORT, rules_args_short},
    {"yield", WG_ACT_YIELD, NULL},
    {"spurious", WG_ACT_SPURIOUS, NULL},
    {"barrier", WG_ACT_BARRIER, rules_args_barrier},
    {"mark", WG_ACT_MARK, rules_args_mark},
    {"wait", WG_ACT_WAIT, rules_args_wait},
    {"log", WG_ACT_LOG, NULL},
    {NULL, 0, NULL},
};
_Static_assert(sizeof rules_actions / sizeof rules_actions[0] <= RULES_KW_MAX + 1,
               "rules_keyword reads at most RULES_KW_MAX words");
_Static_assert(sizeof rules_conds / sizeof rules_conds[0] <= RULES_KW_MAX + 1,
               "rules_keyword reads at most RULES_KW_MAX words");

/* ACTION and its arguments; leaves the token after them current. */
static int rules_action(struct rules_ctx *c)
{
    const struct rules_kw *a = rules_keyword(c, rules_actions, "action", NULL);

    if (!a)
        return -1;
    c->r->action = (enum wg_action)a->id;
    if (rules_next(LX) < 0)
        return -1;
    return a->args ? a->args(c) : 0;
}

/* One hook name or pattern: sets r->hooks bits. */
static int rules_hook(struct rules_ctx *c)
{
    struct wg_rule *r = c->r;
    uint64_t bits = 0;
    char d[80], h[64];
    const char *s = TOK->s;
    size_t len = TOK->len;

    if (TOK->type != TOK_WORD) {
        rules_err(LX, TOK->line, TOK->col,
                  "expected a hook (e.g. pq.query, sock.send, mutex.lock, pq.*, *), found %s",
                  rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    if (len == 1 && s[0] == '*') {
        bits = (WG_HOOK_COUNT >= 64) ? ~0ull : ((1ull << WG_HOOK_COUNT) - 1);
    } else if (len > 2 && s[len - 2] == '.' && s[len - 1] == '*') {
        size_t pl = len - 1; /* "pq." */
        for (int i = 0; i < WG_HOOK_COUNT; i++)
            if (strncmp(rules_hook_names[i], s, pl) == 0)
                bits |= 1ull << i;
        for (int f = 0; f < 3; f++)
            if (strlen(rules_fam_names[f]) == pl - 1 && memcmp(rules_fam_names[f], s, pl - 1) == 0)
                for (int i = 0; i < WG_HOOK_COUNT; i++)
                    if ((int)rules_hook_fams[i] == f)
                        bits |= 1ull << i;
        if (!bits) {
            rules_err(LX, TOK->line, TOK->col,
                      "unknown hook family %s; expected sock.*, pq.*, mutex.*, rwlock.*, cond.*, "
                      "thread.*, pthread.* or *",
                      rules_tok_desc(TOK, d, sizeof d));
            return -1;
        }
    } else {
        for (int i = 0; i < WG_HOOK_COUNT; i++)
            if (rules_tok_is(TOK, rules_hook_names[i]))
                bits = 1ull << i;
        if (!bits) {
            rules_err(LX, TOK->line, TOK->col,
                      "unknown hook %s%s; expected a hook such as pq.query, sock.send, "
                      "mutex.lock, or a family such as pq.* (see docs/rules.md)",
                      rules_tok_desc(TOK, d, sizeof d),
                      rules_hint(TOK, rules_hook_names, WG_HOOK_COUNT, h, sizeof h));
            return -1;
        }
    }
    for (int i = 0; i < WG_HOOK_COUNT; i++) {
        if ((bits & (1ull << i)) && !(r->hooks & (1ull << i))) {
            c->hook_col[i] = TOK->col;
            c->hook_tok[i] = s;
            c->hook_toklen[i] = (int)len;
        }
    }
    r->hooks |= bits;
    return rules_next(LX);
}

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

/* COND: KIND OP VALUE. */
static int rules_cond(struct rules_ctx *c, const char *after)
{
    struct wg_rule *r = c->r;
    struct wg_cond *cd;
    char d[80], kw[16];
    int regex_kind;
    uint64_t v;
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
    c->cond_col[r->ncond] = TOK->col;
    snprintf(kw, sizeof kw, "%s", k->name);
    regex_kind = cd->kind != WG_COND_PORT && cd->kind != WG_COND_PEER && cd->kind != WG_COND_THREAD;
    if (rules_next(LX) < 0)
        return -1;

    /* operator */
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
    if (rules_next(LX) < 0)
        return -1;

    /* value */
    if (regex_kind) {
        const char *src;
        int rc;
        if (TOK->type == TOK_STRING) {
            src = LX->str;
        } else if (TOK->type == TOK_WORD) {
            if (rules_tok_copy(TOK, LX->str, sizeof LX->str) < 0)
                return -1;
            src = LX->str;
        } else {
            rules_err(LX, TOK->line, TOK->col,
                      "expected a \"quoted regular expression\" after '%s %s', found %s", kw,
                      cd->cmp == WG_CMP_MATCH ? "~" : "!~", rules_tok_desc(TOK, d, sizeof d));
            return -1;
        }
        cd->text = strdup(src);
        if (!cd->text) {
            rules_err(LX, TOK->line, TOK->col, "out of memory");
            return -1;
        }
        rc = regcomp(&cd->re, src, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char eb[128];
            regerror(rc, &cd->re, eb, sizeof eb);
            free(cd->text);
            cd->text = NULL;
            rules_err(LX, TOK->line, TOK->col, "bad regular expression \"%.60s\": %s", src, eb);
            return -1;
        }
    } else {
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
    }
    r->ncond++;
    return rules_next(LX);
}

/* nth / every / first / after / times N. */
static int rules_count(struct rules_ctx *c, const char *kw, int slot, uint64_t *dst,
                       const struct rules_tok *kwtok)
{
    char d[80];
    uint64_t v;

    if (c->freq_seen[slot]) {
        rules_err(LX, kwtok->line, kwtok->col, "'%s' given twice", kw);
        return -1;
    }
    c->freq_seen[slot] = 1;
    if (TOK->type != TOK_WORD || rules_parse_u64(TOK->s, TOK->len, &v) < 0 || v < 1) {
        rules_err(LX, TOK->line, TOK->col, "expected a count >= 1 after '%s', found %s", kw,
                  rules_tok_desc(TOK, d, sizeof d));
        return -1;
    }
    *dst = v;
    return rules_next(LX);
}

static int rules_set_when(struct rules_ctx *c, enum wg_when w, const struct rules_tok *t)
{
    if (c->when_set && c->r->when != w) {
        rules_err(LX, t->line, t->col, "'%s' conflicts with '%s' given at column %d",
                  w == WG_BEFORE ? "before" : "after", w == WG_BEFORE ? "after" : "before",
                  c->when_col);
        return -1;
    }
    c->when_set = 1;
    c->when_col = t->col;
    c->r->when = w;
    return 0;
}

/* Everything after the hooks. */
static int rules_clauses_parse(struct rules_ctx *c)
{
    struct wg_rule *r = c->r;
    char d[80], h[64];

    while (TOK->type != TOK_END) {
        struct rules_tok kw = *TOK;

        if (rules_tok_is(&kw, "where") || rules_tok_is(&kw, "and")) {
            int is_where = kw.s[0] == 'w';
            if (is_where && c->seen_where) {
                rules_err(LX, kw.line, kw.col, "'where' given twice; join conditions with 'and'");
                return -1;
            }
            if (!is_where && !c->seen_where) {
                rules_err(LX, kw.line, kw.col, "'and' without 'where'; expected 'where' first");
                return -1;
            }
            c->seen_where = 1;
            if (rules_next(LX) < 0 || rules_cond(c, is_where ? "where" : "and") < 0)
                return -1;
        } else if (rules_tok_is(&kw, "p")) {
            char buf[64], *end;
            double p;
            if (c->freq_seen[5]) {
                rules_err(LX, kw.line, kw.col, "'p' given twice");
                return -1;
            }
            c->freq_seen[5] = 1;
            if (rules_next(LX) < 0)
                return -1;
            if (!(TOK->type == TOK_OP && TOK->len == 1 && TOK->s[0] == '=')) {
                rules_err(LX, TOK->line, TOK->col, "expected '=' after 'p' (as in p=0.2), found %s",
                          rules_tok_desc(TOK, d, sizeof d));
                return -1;
            }
            if (rules_next(LX) < 0)
                return -1;
            errno = 0;
            if (TOK->type != TOK_WORD || rules_tok_copy(TOK, buf, sizeof buf) < 0 ||
                (p = strtod(buf, &end), *end != '\0') || errno || !(p >= 0.0 && p <= 1.0) ||
                !(buf[0] == '.' || (buf[0] >= '0' && buf[0] <= '9'))) {
                rules_err(LX, TOK->line, TOK->col,
                          "expected a probability from 0 to 1 after 'p=', found %s",
                          rules_tok_desc(TOK, d, sizeof d));
                return -1;
            }
            r->has_p = 1;
            r->p = p;
            if (rules_next(LX) < 0)
                return -1;
        } else if (rules_tok_is(&kw, "nth") || rules_tok_is(&kw, "every") ||
                   rules_tok_is(&kw, "first") || rules_tok_is(&kw, "times")) {
            char name[8];
            int slot;
            uint64_t *dst;
            rules_tok_copy(&kw, name, sizeof name);
            slot = name[0] == 'n' ? 0 : name[0] == 'e' ? 1 : name[0] == 'f' ? 2 : 4;
            dst = slot == 0 ? &r->nth : slot == 1 ? &r->every : slot == 2 ? &r->first : &r->times;
            if (rules_next(LX) < 0 || rules_count(c, name, slot, dst, &kw) < 0)
                return -1;
        } else if (rules_tok_is(&kw, "after")) {
            if (rules_next(LX) < 0)
                return -1;
            if (TOK->type == TOK_WORD && TOK->s[0] >= '0' && TOK->s[0] <= '9') {
                if (rules_count(c, "after", 3, &r->after, &kw) < 0)
                    return -1;
            } else if (rules_set_when(c, WG_AFTER, &kw) < 0) {
                return -1;
            }
        } else if (rules_tok_is(&kw, "before")) {
            if (rules_set_when(c, WG_BEFORE, &kw) < 0 || rules_next(LX) < 0)
                return -1;
        } else {
            rules_err(LX, kw.line, kw.col, "unexpected %s%s; expected " RULES_CLAUSES_LIST,
                      rules_tok_desc(&kw, d, sizeof d),
                      rules_hint(&kw, rules_clauses, 99, h, sizeof h));
            return -1;
        }
    }
    return 0;
}

/* Parse one rule starting at the current token into c->r.  Returns 1 when
 * a rule was parsed, 0 for an empty one, -1 on error. */
static int rules_one(struct rules_ctx *c, int number)
{
    struct wg_rule *r = c->r;
    char d[80], h[64];

    memset(r, 0, sizeof *r);
    r->line = TOK->line;
    r->col = TOK->col;
    r->when = WG_BEFORE;
    r->timeout_ns = WG_DEFAULT_TIMEOUT_NS;
    snprintf(r->name, sizeof r->name, "rule%d", number);
    if (TOK->type == TOK_END)
        return 0;

    /* "NAME:" as a word of its own, or glued to the action ("a:log") */
    const char *colon = TOK->type == TOK_WORD ? memchr(TOK->s, ':', TOK->len) : NULL;
    if (colon && colon > TOK->s) {
        size_t nl = (size_t)(colon - TOK->s);
        if (!rules_name_ok(TOK->s, nl, 0)) {
            rules_err(LX, TOK->line, TOK->col,
                      "bad rule name '%.*s'; expected letters, digits, '-' or '_' (at most %d)",
                      (int)(nl > 60 ? 60 : nl), TOK->s, WG_NAME_MAX - 1);
            return -1;
        }
        memcpy(r->name, TOK->s, nl);
        r->name[nl] = '\0';
        if (nl + 1 == TOK->len) {
            if (rules_next(LX) < 0)
                return -1;
        } else {
            TOK->s += nl + 1;
            TOK->len -= nl + 1;
            TOK->col += (int)(nl + 1);
        }
    }
    if (rules_action(c) < 0)
        return -1;

    /* on | before | after, then hooks */
    if (TOK->type != TOK_WORD ||
        !(rules_tok_is(TOK, "on") || rules_tok_is(TOK, "before") || rules_tok_is(TOK, "after"))) {
        rules_err(LX, TOK->line, TOK->col,
                  "expected 'on', 'before' or 'after' and a hook, "
                  "found %s%s",
                  rules_tok_desc(TOK, d, sizeof d), rules_hint(TOK, rules_whens, 99, h, sizeof h));
        return -1;
    }
    if (!rules_tok_is(TOK, "on")) {
        struct rules_tok kw = *TOK;
        if (rules_set_when(c, kw.s[0] == 'a' ? WG_AFTER : WG_BEFORE, &kw) < 0)
            return -1;
    }
    if (rules_next(LX) < 0 || rules_hook(c) < 0)
        return -1;
    while (TOK->type == TOK_COMMA) {
        if (rules_next(LX) < 0 || rules_hook(c) < 0)
            return -1;
    }
    if (rules_clauses_parse(c) < 0)
        return -1;
    if (rules_check(c) < 0)
        return -1;
    return 1;
}

static void rules_free_rule(struct wg_rule *r)
{
    for (int i = 0; i < r->ncond; i++) {
        if (r->conds[i].cmp == WG_CMP_MATCH || r->conds[i].cmp == WG_CMP_NOMATCH)
            regfree(&r->conds[i].re);
        free(r->conds[i].text);
    }
    r->ncond = 0;
}

int rules_parse(const char *text, const char *origin, struct wg_ruleset *out, char *err,
                size_t errlen)
{
    struct rules_ctx *c = NULL;
    struct wg_rule *rules = NULL;
    int n = 0, cap = 0, rc = -1;

    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!text)
        text = "";
    c = calloc(1, sizeof *c);
    if (!c) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", origin ? origin : "rules");
        goto out;
    }
    c->lx.text = c->lx.p = text;
    c->lx.line = c->lx.col = 1;
    c->lx.origin = origin ? origin : "rules";
    c->lx.err = err;
    c->lx.errlen = errlen;

    for (;;) {
        int got;
        if (rules_next(&c->lx) < 0)
            goto out;
        if (n == cap) {
            int ncap = cap ? cap * 2 : 8;
            struct wg_rule *nr = realloc(rules, (size_t)ncap * sizeof *nr);
            if (!nr) {
                rules_err(&c->lx, c->lx.tok.line, c->lx.tok.col, "out of memory");
                goto out;
            }
            rules = nr;
            cap = ncap;
        }
        memset(c->hook_col, 0, sizeof c->hook_col);
        c->when_set = c->seen_where = 0;
        memset(c->freq_seen, 0, sizeof c->freq_seen);
        c->r = &rules[n];
        got = rules_one(c, n + 1);
        if (got < 0) {
            rules_free_rule(&rules[n]);
            goto out;
        }
        if (got > 0) {
            for (int i = 0; i < n; i++) {
                if (strcmp(rules[i].name, rules[n].name) == 0) {
                    rules_err(&c->lx, rules[n].line, rules[n].col,
                              "duplicate rule name '%s' (first used at %d:%d)", rules[n].name,
                              rules[i].line, rules[i].col);
                    rules_free_rule(&rules[n]);
                    goto out;
                }
            }
            rules[n].index = n;
            out->hooks |= rules[n].hooks;
            n++;
        }
        /* current token is END: step over ';' / newline, stop at the end */
        if (*c->lx.p == '\0')
            break;
        rules_adv(&c->lx);
    }
    if (n > 0) { /* an empty set holds no array */
        out->rules = rules;
        rules = NULL;
    }
    out->n = n;
    rc = 0;
out:
    if (rc < 0) {
        for (int i = 0; i < n; i++)
            rules_free_rule(&rules[i]);
        memset(out, 0, sizeof *out);
    }
    free(rules);
    free(c);
    return rc;
}

void rules_free(struct wg_ruleset *rs)
{
    if (!rs)
        return;
    for (int i = 0; i < rs->n; i++)
        rules_free_rule(&rs->rules[i]);
    free(rs->rules);
    rs->rules = NULL;
    rs->n = 0;
    rs->hooks = 0;
}

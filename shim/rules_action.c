/*
 * rules_action.c - the rule language's actions (rules_int.h): the table
 * of action words and how each parses its arguments, and the errno names
 * `fail` knows.
 */
#include "rules_int.h"

#include "duration.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

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

/* [KW D] after a barrier or a wait (KW "timeout"), a hold ("ceiling"):
 * a bound above 0 into timeout_ns */
static int rules_args_bound(struct rules_ctx *c, const char *kw)
{
    char d[80];

    if (!rules_tok_is(TOK, kw))
        return 0;
    if (rules_next(LX) < 0)
        return -1;
    if (rules_duration_tok(c, kw, &c->r->timeout_ns) < 0)
        return -1;
    if (c->r->timeout_ns == 0) {
        rules_err(LX, TOK->line, TOK->col, "bad %s %s; expected a duration above 0", kw,
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
    return rules_args_bound(c, "timeout");
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
    return rules_args_bound(c, "timeout");
}

/* hold NAME [ceiling D] */
static int rules_args_hold(struct rules_ctx *c)
{
    if (rules_coord_name(c, "hold") < 0)
        return -1;
    c->r->timeout_ns = WG_HOLD_CEILING_NS;
    return rules_args_bound(c, "ceiling");
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
    {"hold", WG_ACT_HOLD, rules_args_hold},
    {NULL, 0, NULL},
};
_Static_assert(sizeof rules_actions / sizeof rules_actions[0] <= RULES_KW_MAX + 1,
               "rules_keyword reads at most RULES_KW_MAX words");

/* ACTION and its arguments; leaves the token after them current. */
int rules_action(struct rules_ctx *c)
{
    const struct rules_kw *a = rules_keyword(c, rules_actions, "action", NULL);

    if (!a)
        return -1;
    c->r->action = (enum wg_action)a->id;
    if (rules_next(LX) < 0)
        return -1;
    return a->args ? a->args(c) : 0;
}

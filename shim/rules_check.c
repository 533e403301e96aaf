/*
 * rules_check.c - the names the rule language knows (hooks and their
 * families) and which actions and conditions a rule may put on which
 * hooks, with the messages that say why not (rules_int.h).
 */
#include "rules_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------
 * Hooks.
 * ------------------------------------------------------------ */
const char *const rules_hook_names[WG_HOOK_COUNT] = {
#define HOOK(id, name, fam) [WG_HOOK_##id] = name,
#include "hooks.def"
};

const enum wg_family rules_hook_fams[WG_HOOK_COUNT] = {
#define HOOK(id, name, fam) [WG_HOOK_##id] = fam,
#include "hooks.def"
};

const char *wg_hook_name(int h)
{
    if (h < 0 || h >= WG_HOOK_COUNT)
        return NULL;
    return rules_hook_names[h];
}

enum wg_family wg_hook_family(int h)
{
    if (h < 0 || h >= WG_HOOK_COUNT)
        return WG_FAM_SOCK;
    return rules_hook_fams[h];
}

const char *const rules_fam_names[3] = {"sock", "pq", "pthread"};

/* The first hook of r outside `allowed`, or -1. */
static int rules_first_outside(const struct wg_rule *r, uint64_t allowed)
{
    for (int i = 0; i < WG_HOOK_COUNT; i++)
        if ((r->hooks & (1ull << i)) && !(allowed & (1ull << i)))
            return i;
    return -1;
}

static uint64_t rules_family_mask(enum wg_family f)
{
    uint64_t m = 0;
    for (int i = 0; i < WG_HOOK_COUNT; i++)
        if (rules_hook_fams[i] == f)
            m |= 1ull << i;
    return m;
}

/* "'sock.send'" or "'*', which includes sock.send" for messages. */
static const char *rules_hook_ref(struct rules_ctx *c, int h, char *buf, size_t len)
{
    int tl = c->hook_toklen[h];
    if ((size_t)tl == strlen(rules_hook_names[h]) &&
        memcmp(c->hook_tok[h], rules_hook_names[h], (size_t)tl) == 0)
        snprintf(buf, len, "'%s'", rules_hook_names[h]);
    else
        snprintf(buf, len, "'%.*s', which includes %s", tl, c->hook_tok[h], rules_hook_names[h]);
    return buf;
}

/* `data ~` reads the bytes of the call: a send has them before and after
 * the real call, a recv only after it.  A rule with no hook where its
 * data condition could ever hold would be a rule that silently never
 * fires. */
static int rules_check_data(struct rules_ctx *c, int i)
{
    const struct wg_rule *r = c->r;
    uint64_t with_data = 1ull << WG_HOOK_SOCK_SEND;

    if (r->when == WG_AFTER)
        with_data |= 1ull << WG_HOOK_SOCK_RECV;
    if (r->hooks & with_data)
        return 0;
    rules_err(LX, r->line, c->cond_col[i],
              "'data' matches the bytes of sock.send, or of sock.recv after the call; this rule "
              "has no such hook (for received bytes write 'after sock.recv')");
    return -1;
}

/* Action/hook and condition/hook compatibility. */
int rules_check(struct rules_ctx *c)
{
    struct wg_rule *r = c->r;
    uint64_t pq = rules_family_mask(WG_FAM_PQ), sock = rules_family_mask(WG_FAM_SOCK);
    uint64_t allowed = ~0ull;
    const char *what = NULL, *where = NULL;
    char act[48], ref[96];
    int h;

    switch (r->action) {
    case WG_ACT_FAIL_SQLSTATE:
        what = "'fail sqlstate'", where = "pq hooks", allowed = pq;
        break;
    case WG_ACT_FAIL_DISCONNECT:
        what = "'fail disconnect'", where = "pq hooks", allowed = pq;
        break;
    case WG_ACT_FAIL_ERRNO:
        if (r->err == EBUSY) {
            what = "'fail EBUSY'", where = "mutex.trylock";
            allowed = 1ull << WG_HOOK_MUTEX_TRYLOCK;
        } else {
            const char *en = rules_errno_name(r->err);
            if (en)
                snprintf(act, sizeof act, "'fail %s'", en);
            else
                snprintf(act, sizeof act, "'fail %d'", r->err);
            what = act, where = "sock hooks", allowed = sock;
        }
        break;
    case WG_ACT_SHORT:
        what = "'short'", where = "sock.send and sock.recv";
        allowed = (1ull << WG_HOOK_SOCK_SEND) | (1ull << WG_HOOK_SOCK_RECV);
        break;
    case WG_ACT_SPURIOUS:
        what = "'spurious'", where = "cond.wait", allowed = 1ull << WG_HOOK_COND_WAIT;
        break;
    default:
        break;
    }
    h = rules_first_outside(r, allowed);
    if (h >= 0) {
        rules_err(LX, r->line, c->hook_col[h], "%s applies only to %s, not to %s", what, where,
                  rules_hook_ref(c, h, ref, sizeof ref));
        return -1;
    }
    for (int i = 0; i < r->ncond; i++) {
        enum wg_cond_kind k = r->conds[i].kind;
        if (k == WG_COND_SQL)
            what = "'sql'", where = "pq hooks", allowed = pq;
        else if (k == WG_COND_PORT)
            what = "'port'", where = "sock hooks", allowed = sock;
        else if (k == WG_COND_PEER)
            what = "'peer'", where = "sock hooks", allowed = sock;
        else if (k == WG_COND_HTTP)
            what = "'http'", where = "sock hooks", allowed = sock;
        else if (k == WG_COND_REDIS)
            what = "'redis'", where = "sock hooks", allowed = sock;
        else if (k == WG_COND_DATA)
            what = "'data'", where = "sock hooks", allowed = sock;
        else
            continue;
        h = rules_first_outside(r, allowed);
        if (h >= 0) {
            rules_err(LX, r->line, c->cond_col[i], "%s applies only to %s, not to %s", what, where,
                      rules_hook_ref(c, h, ref, sizeof ref));
            return -1;
        }
        if (k == WG_COND_DATA && rules_check_data(c, i) < 0)
            return -1;
    }
    return 0;
}

/*
 * pgsess_quiet.c - a decoded session the decoder goes quiet on, saying
 * why: one whose statements encryption hides, one it lost track of.  In
 * the trace, once a process on stderr, and counted for the exit summary.
 * Both halves of a session (pgsess.c: the table, send and recv; pgflow.c:
 * what the messages mean) give a session up; this file is below both and
 * calls neither.
 */
#include "hooks.h"
#include "pgsess_int.h"

#include <stdio.h>

static _Atomic uint64_t pgs_nhidden, pgs_nlost;
static _Atomic int pgs_said_hidden, pgs_said_lost;

/* A trace line that is no injection (rule null): what the decoder saw. */
static void pgs_note(const struct pgs_session *s, const char *outcome, const char *detail)
{
    struct wg_event ev = {.hook = WG_HOOK_PQ_CONNECT,
                          .action = "decode",
                          .outcome = outcome,
                          .detail = detail,
                          .obj = s,
                          .fd = s ? s->fd : -1};
    trace_event(&ev);
}

void pgs_hide(struct pgs_session *s, const char *how)
{
    char msg[512];

    s->hidden = 1;
    atomic_fetch_add_explicit(&pgs_nhidden, 1, memory_order_relaxed);
    if (atomic_exchange_explicit(&pgs_said_hidden, 1, memory_order_relaxed))
        return;
    snprintf(msg, sizeof msg,
             "a PostgreSQL session (fd %d%s%s) is encrypted with %s: its statements are hidden "
             "from pq.* rules (connect with sslmode=disable%s to see them)",
             s->fd, s->who[0] ? ", " : "", s->who, how,
             how[0] == 'G' ? " and gssencmode=disable" : "");
    pgs_note(s, "hidden", msg);
    fprintf(stderr, "wedge: %s\n", msg);
}

void pgs_lose(struct pgs_session *s, const char *why)
{
    char msg[512];

    if (s->lost)
        return;
    s->lost = 1;
    atomic_fetch_add_explicit(&pgs_nlost, 1, memory_order_relaxed);
    snprintf(msg, sizeof msg,
             "the PostgreSQL decoder stopped following the session on fd %d: %s; its later "
             "statements raise no pq.* event",
             s->fd, why);
    pgs_note(s, "lost", msg);
    if (!atomic_exchange_explicit(&pgs_said_lost, 1, memory_order_relaxed))
        fprintf(stderr, "wedge: %s\n", msg);
}

uint64_t pgsess_hidden(void)
{
    return atomic_load_explicit(&pgs_nhidden, memory_order_relaxed);
}

uint64_t pgsess_lost(void)
{
    return atomic_load_explicit(&pgs_nlost, memory_order_relaxed);
}

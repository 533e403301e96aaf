/*
 * fuzz_pgsess.c - the decoded PostgreSQL session (shim/pgsess.c and
 * pgflow.c) on any conversation.  After a fixed opening (a StartupMessage
 * and the server's AuthenticationOk and ReadyForQuery), the input is a
 * list of operations: the client sends N bytes (of which the "kernel"
 * takes a part the input chooses), the server's N bytes arrive, or the
 * connection is closed.  The verdict of every event the session raises
 * (none, fail sqlstate, fail disconnect) comes from the input too.
 *
 * What must hold: no sanitizer report; a planned send's output is its
 * iovecs, and what the program is told was sent never exceeds what it
 * gave; a recv never grows.  Everything the shim calls beyond these files
 * is stubbed below (the rule engine, the trace, libpq's helpers, send).
 */
#include "hooks.h"
#include "pgsess_int.h"
#include "real.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * Stubs: what the decoder calls in the rest of the shim.
 * ------------------------------------------------------------ */
uint64_t wg_after_hooks = ~0ull;
__thread int wg_in_shim;

static const uint8_t *fz_verdicts;
static size_t fz_nverdicts, fz_vat;

int wg_eval(struct wg_call *c, enum wg_when when, struct wg_verdict *v)
{
    uint8_t b = fz_nverdicts ? fz_verdicts[fz_vat++ % fz_nverdicts] : 0xff;

    (void)when;
    if (c->sql && strlen(c->sql) >= PGW_SQL_MAX)
        abort();
    v->rule = NULL;
    v->action = WG_ACT_LOG;
    if (b % 7 == 0 && !c->no_sqlstate) {
        v->action = WG_ACT_FAIL_SQLSTATE;
        memcpy(v->sqlstate, "40001", 6);
        return 1;
    }
    if (b % 31 == 1) {
        v->action = WG_ACT_FAIL_DISCONNECT;
        return 1;
    }
    return 0;
}

void trace_event(const struct wg_event *ev)
{
    (void)ev;
}

int wg_pq_busy(void)
{
    return 0;
}

void wg_pq_raise_sql(const char *state, char *buf, size_t n)
{
    snprintf(buf, n, "DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '%s'; END$$", state);
}

/* The "kernel" of the owed bytes' send: takes what the input says. */
static size_t fz_take = 1;
static ssize_t fz_send(int fd, const void *p, size_t n, int flags)
{
    (void)fd, (void)p, (void)flags;
    return (ssize_t)(n < fz_take ? n : fz_take);
}
real_send_t real_send = fz_send;
real_send_t real_slow_send(void)
{
    return fz_send;
}

/* ---------------------------------------------------------------
 * The harness.
 * ------------------------------------------------------------ */
static const unsigned char fz_startup[] = {0, 0,   0,   23,  0,   3,   0, 0, 'u', 's', 'e', 'r',
                                           0, 'w', 'e', 'd', 'g', 'e', 0, 0, 0,   0,   0};
static const unsigned char fz_ready[] = {'R', 0, 0, 0, 8, 0, 0, 0, 0, 'Z', 0, 0, 0, 5, 'I'};

static void fz_client(int fd, const uint8_t *p, size_t n, size_t take)
{
    struct iovec iov = {(void *)p, n};
    struct pgs_plan plan;
    size_t out = 0;
    long told;

    pgsess_send_begin(fd, &iov, 1, n, &plan);
    if (plan.fail_errno)
        return;
    for (int i = 0; i < plan.nout; i++)
        out += plan.out[i].iov_len;
    if (!plan.active)
        out = n;
    told = pgsess_send_end(fd, &plan, (long)(take < out ? take : out));
    if (told < 0 || (size_t)told > n)
        abort();
}

static void fz_server(int fd, const uint8_t *p, size_t n)
{
    static char buf[1024];
    struct iovec iov[2];
    size_t half = n / 2;
    int again;
    long r;

    memcpy(buf, p, n);
    iov[0] = (struct iovec){buf, half};
    iov[1] = (struct iovec){buf + half, n - half};
    r = pgsess_recv_end(fd, iov, 2, (long)n, 0, &again);
    if (r < 0 || (size_t)r > n || (again && r != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1, sv[2];
    size_t at = 0, split = size / 4;

    if (fd < 0 && pgsess_init(0) < 0)
        abort();
    if (fd >= 0) {
        pgsess_forget(fd, NULL, 0);
        close(sv[0]);
        close(sv[1]);
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    fd = sv[0];
    /* the first quarter of the input is the verdicts, the rest operations */
    fz_verdicts = data;
    fz_nverdicts = split;
    fz_vat = 0;
    data += split, size -= split;
    fz_client(fd, fz_startup, sizeof fz_startup, sizeof fz_startup + 64);
    fz_server(fd, fz_ready, sizeof fz_ready);
    while (at + 2 <= size) {
        uint8_t op = data[at], len = data[at + 1];
        size_t n = len % 200;
        at += 2;
        if (n > size - at)
            n = size - at;
        switch (op % 5) {
        case 0:
        case 1:
            fz_take = at < size ? 1 + data[at] * 4u : 4096;
            fz_client(fd, data + at, n, op % 5 ? fz_take : 1u << 20);
            break;
        case 2:
        case 3:
            fz_server(fd, data + at, n);
            break;
        default:
            pgsess_forget(fd, NULL, 0);
            n = 0;
        }
        at += n;
    }
    return 0;
}

/*
 * iso_driver.c - the step engine of `wedge isolation`: it drives one
 * permutation's steps over the sessions' connections the way PostgreSQL's
 * isolation tester does, so that a spec's output is the tester's:
 *
 *  - a step is sent with PQsendQuery; while it has no result, the control
 *    connection asks pg_isolation_test_session_is_blocked() whether the
 *    session waits on a lock held by another session of the spec (first
 *    after 1 ms, where the tester waits 10 ms: the suite runs faster for
 *    it; asked without waiting for the answer): then the step is
 *    "waiting" and the permutation moves on;
 *  - after every step the waiting steps are tried again, in the order they
 *    began to wait; a step whose session is still busy first waits for it;
 *  - blocker annotations: STEP(*) is reported waiting once, STEP(OTHER)
 *    does not complete while OTHER runs, STEP(OTHER notices N) not before
 *    OTHER's session sent N more notices;
 *  - a step still running after r->cancel_ns is cancelled, and after
 *    r->die_ns the run gives up.
 */
#include "iso_run.h"
#include "timeunit.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* While a step has no result: the first lock-wait check after the MIN,
 * then at doubling intervals up to the MAX (the tester checks every 10 ms;
 * a step that waits is seen 9 ms sooner, and each time a waiting step is
 * tried again after a later step, 9 ms are saved). */
#define ISO_POLL_MIN_MS 1
#define ISO_POLL_MAX_MS 10

/* try_complete()'s flags, as the tester's. */
#define STEP_NONBLOCK 0x1 /* return as soon as the step waits for a lock */
#define STEP_RETRY    0x2 /* not the first try: its start was logged */

static void notice_cb(void *arg, const char *message)
{
    struct iso_sess *se = arg;

    log_notice(se->run, (int)(se - se->run->sess), message);
}

int iso_sess_open(struct run *r, int s)
{
    struct iso_sess *se = &r->sess[s];
    char err[512], *app;

    se->name = r->spec->sessions[s].name;
    se->run = r;
    se->active = -1;
    se->notices = 0;
    app = util_fmt("%s/%s", r->appname, se->name);
    se->conn = iso_db_connect_app(r->dsn, app, err, sizeof err);
    free(app);
    if (!se->conn)
        return run_fail(r, WEDGE_INCONCLUSIVE, "session %s: %s", se->name, err);
    se->pid = PQbackendPID(se->conn);
    PQsetNoticeProcessor(se->conn, notice_cb, se);
    return 0;
}

/* "{pid,pid,...}": the sessions a lock wait must be on to count. */
static void set_pids(struct run *r)
{
    size_t n = 0;
    int i;

    n += (size_t)snprintf(r->pids, sizeof r->pids, "{");
    for (i = 0; i < r->spec->nsessions && n < sizeof r->pids; i++)
        n +=
            (size_t)snprintf(r->pids + n, sizeof r->pids - n, "%s%d", i ? "," : "", r->sess[i].pid);
    if (n < sizeof r->pids)
        snprintf(r->pids + n, sizeof r->pids - n, "}");
}

/* Ask, on the control connection and without waiting for the answer,
 * whether session s waits on a lock held by another session of the spec
 * (check_answer reads it).  -1 fatal. */
static int check_send(struct run *r, int s)
{
    char pid[16];
    const char *params[2] = {pid, r->pids};

    if (!r->prepared) {
        /* Prepared once per control connection, as the tester does. */
        PGresult *res =
            PQprepare(r->ctl, "wedge_iso_blocked",
                      "SELECT pg_catalog.pg_isolation_test_session_is_blocked($1, $2)", 2, NULL);
        r->prepared = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!r->prepared)
            return run_fail(r, iso_conn_lost(r->ctl) ? WEDGE_INCONCLUSIVE : WEDGE_USAGE,
                            "cannot prepare the lock-wait check: %s", PQerrorMessage(r->ctl));
    }
    snprintf(pid, sizeof pid, "%d", r->sess[s].pid);
    if (!PQsendQueryPrepared(r->ctl, "wedge_iso_blocked", 2, params, NULL, NULL, 0))
        return run_fail(r, WEDGE_INCONCLUSIVE, "lock-wait check failed: %s",
                        PQerrorMessage(r->ctl));
    return 0;
}

/* The answer to the check in flight: 1 blocked, 0 not, 2 not come yet
 * (only when !wait), -1 fatal.  With wait, it waits for the answer (one
 * round trip already under way). */
static int check_answer(struct run *r, int wait)
{
    PGresult *res;
    int rc = -1;

    if (!PQconsumeInput(r->ctl))
        return run_fail(r, WEDGE_INCONCLUSIVE, "lock-wait check failed: %s",
                        PQerrorMessage(r->ctl));
    if (!wait && PQisBusy(r->ctl))
        return 2;
    res = PQgetResult(r->ctl);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        rc = PQgetvalue(res, 0, 0)[0] == 't';
    else
        run_fail(r, iso_conn_lost(r->ctl) ? WEDGE_INCONCLUSIVE : WEDGE_USAGE,
                 "lock-wait check failed: %s", PQerrorMessage(r->ctl));
    PQclear(res);
    while ((res = PQgetResult(r->ctl)) != NULL)
        PQclear(res);
    return rc;
}

/* 1 while one of permutation step pi's blocker annotations holds it. */
static int has_blocker(struct run *r, int pi)
{
    const struct iso_pstep *p = &r->perm[pi];
    int k;

    for (k = 0; k < p->nblockers; k++) {
        const struct iso_blocker *b = &p->blockers[k];
        const struct iso_sess *o;
        if (b->kind == ISO_BLOCK_ONCE)
            continue;
        o = &r->sess[r->spec->steps[b->step].session];
        if (b->kind == ISO_BLOCK_STEP && o->active >= 0 && r->perm[o->active].step == b->step)
            return 1;
        if (b->kind == ISO_BLOCK_NOTICES && o->notices < r->target[pi][k])
            return 1;
    }
    return 0;
}

/* A step ran too long: cancel it at cancel_ns, give up at die_ns.
 * 0 to go on waiting, -1 with r->fatal. */
static int step_overdue(struct run *r, int s, int step, uint64_t waited, int *cancelled)
{
    const struct iso_step *st = &r->spec->steps[step];
    char buf[256];

    if (waited > r->cancel_ns && !*cancelled) {
        PGcancel *cancel = PQgetCancel(r->sess[s].conn);
        if (cancel && PQcancel(cancel, buf, sizeof buf)) {
            if (!r->anomaly)
                fprintf(r->log, "isolationtester: canceling step %s after %d seconds\n", st->name,
                        (int)(waited / NS_PER_S));
            *cancelled = 1;
        }
        if (cancel)
            PQfreeCancel(cancel);
        if (r->anomaly)
            return run_fail(r, WEDGE_USAGE,
                            "%s:%d: step %s ran or stayed blocked for %d s at %s: the "
                            "permutation cannot proceed",
                            r->spec->path, st->line, st->name, (int)(r->cancel_ns / NS_PER_S),
                            iso_level_name(r->level));
    }
    if (waited > r->die_ns) {
        fprintf(r->log, "step %s timed out after %d seconds\n", st->name, (int)(waited / NS_PER_S));
        return run_fail(r, WEDGE_USAGE, "%s:%d: step %s timed out after %d seconds", r->spec->path,
                        st->line, st->name, (int)(waited / NS_PER_S));
    }
    return 0;
}

/* A lock-wait check came back while session s's step is busy: 1 the step
 * waits, 0 go on (it has just completed, or is not blocked). */
static int blocked_now(struct run *r, int s, int step, int blocked)
{
    PGconn *c = r->sess[s].conn;

    if (!blocked)
        return 0;
    /* Notices may have come while we asked: read them first. */
    if (!PQconsumeInput(c))
        return run_fail(r, WEDGE_INCONCLUSIVE, "step %s: connection lost: %s",
                        r->spec->steps[step].name, PQerrorMessage(c));
    return PQisBusy(c) ? 1 : 0;
}

/* Wait until step pi's session has a result, or (STEP_NONBLOCK) until it
 * waits on a lock.  0 result ready, 1 waiting, -1 fatal.  The lock-wait
 * check goes out after ISO_POLL_MIN_MS without a result, then at doubling
 * intervals up to ISO_POLL_MAX_MS; it is asked without waiting for the
 * answer, so a result that comes meanwhile is taken at once. */
static int await_result(struct run *r, int pi, int flags)
{
    int step = r->perm[pi].step, s = r->spec->steps[step].session, cancelled = 0;
    int asked = 0, wait_ms = ISO_POLL_MIN_MS, b;
    PGconn *c = r->sess[s].conn;
    uint64_t t0 = util_now_ns();

    while (PQisBusy(c)) {
        struct pollfd pfd[2] = {{.fd = PQsocket(c), .events = POLLIN},
                                {.fd = PQsocket(r->ctl), .events = POLLIN}};
        int n = poll(pfd, asked ? 2 : 1, asked ? ISO_POLL_MAX_MS : wait_ms);
        if (n < 0 && errno != EINTR)
            return run_fail(r, WEDGE_INCONCLUSIVE, "poll: %s", strerror(errno));
        if (util_stop)
            return run_fail(r, WEDGE_INCONCLUSIVE, "interrupted");
        if (n > 0 && pfd[0].revents && !PQconsumeInput(c))
            return run_fail(r, WEDGE_INCONCLUSIVE, "step %s: connection lost: %s",
                            r->spec->steps[step].name, PQerrorMessage(c));
        if (asked && n > 0 && pfd[1].revents && (b = check_answer(r, 0)) != 2) {
            asked = 0;
            if (b < 0 || (b = blocked_now(r, s, step, b)) < 0)
                return -1;
            if (b)
                return 1;
            wait_ms = wait_ms * 2 > ISO_POLL_MAX_MS ? ISO_POLL_MAX_MS : wait_ms * 2;
        } else if (n == 0 && !asked && (flags & STEP_NONBLOCK)) {
            if (check_send(r, s) < 0)
                return -1;
            asked = 1;
        }
        /* Checked also while data comes in: a stream of notices must not
         * keep a step from its timeout. */
        if (step_overdue(r, s, step, util_now_ns() - t0, &cancelled) < 0)
            return -1;
    }
    if (asked && check_answer(r, 1) < 0)
        return -1;
    return 0;
}

/* Try to complete permutation step pi: 1 when it has not completed (it
 * waits on a lock or a blocker annotation), 0 when it has (its results are
 * logged), -1 fatal. */
static int try_complete(struct run *r, int pi, int flags)
{
    const struct iso_pstep *p = &r->perm[pi];
    int s = r->spec->steps[p->step].session, k, rc;

    if (!(flags & STEP_RETRY)) {
        for (k = 0; k < p->nblockers; k++) {
            if (p->blockers[k].kind == ISO_BLOCK_ONCE) {
                log_step(r, p->step, 1);
                return 1;
            }
        }
    }
    rc = await_result(r, pi, flags);
    if (rc == 0 && has_blocker(r, pi))
        rc = 1;
    if (rc == 1 && !(flags & STEP_RETRY))
        log_step(r, p->step, 1);
    if (rc != 0)
        return rc;
    if (flags & STEP_RETRY)
        log_completed(r, p->step);
    else
        log_step(r, p->step, 0);
    log_results(r, s, p->step);
    log_notifies(r, s);
    r->sess[s].active = -1;
    return r->fatal ? -1 : 0;
}

static void unwait(struct run *r, int w)
{
    memmove(&r->waiting[w], &r->waiting[w + 1], sizeof *r->waiting * (size_t)(r->nwaiting - w - 1));
    r->nwaiting--;
}

/* Try every waiting step, in the order they began to wait; again while a
 * step with a blocker annotation waits and something moved (a completion
 * or a notice may have released it). */
static int try_waiting(struct run *r, int flags)
{
    int before, blocker;

    do {
        int w = 0, rc;
        r->new_notice = 0;
        before = r->nwaiting;
        blocker = 0;
        while (w < r->nwaiting) {
            rc = try_complete(r, r->waiting[w], flags);
            if (rc < 0)
                return -1;
            if (rc == 1) {
                blocker |= r->perm[r->waiting[w]].nblockers > 0;
                w++;
            } else {
                unwait(r, w);
            }
        }
    } while (blocker && (r->nwaiting < before || r->new_notice));
    return 0;
}

/* Session s still runs an earlier step: wait for it, trying the others. */
static int wait_session(struct run *r, int s)
{
    struct iso_sess *se = &r->sess[s];
    uint64_t t0 = util_now_ns();
    int w, rc;

    while (se->active >= 0) {
        int old = se->active;
        if ((rc = try_complete(r, old, STEP_RETRY)) < 0)
            return -1;
        for (w = 0; rc == 0 && w < r->nwaiting; w++)
            if (r->waiting[w] == old) {
                unwait(r, w);
                break;
            }
        if (try_waiting(r, STEP_NONBLOCK | STEP_RETRY) < 0)
            return -1;
        if (se->active >= 0 && util_now_ns() - t0 > r->die_ns) {
            fprintf(r->log, "step %s timed out after %d seconds\nactive steps are:",
                    r->spec->steps[r->perm[se->active].step].name,
                    (int)((util_now_ns() - t0) / NS_PER_S));
            for (w = 0; w < r->spec->nsessions; w++)
                if (r->sess[w].active >= 0)
                    fprintf(r->log, " %s", r->spec->steps[r->perm[r->sess[w].active].step].name);
            fprintf(r->log, "\n");
            return run_fail(r, WEDGE_USAGE, "%s: step %s timed out", r->spec->path,
                            r->spec->steps[r->perm[se->active].step].name);
        }
    }
    return 0;
}

/* Send permutation step pi and try it once. */
static int start_step(struct run *r, int pi)
{
    const struct iso_pstep *p = &r->perm[pi];
    const struct iso_step *st = &r->spec->steps[p->step];
    struct iso_sess *se = &r->sess[st->session];
    int k, rc;

    if (wait_session(r, st->session) < 0)
        return -1;
    if (!PQsendQuery(se->conn, st->sql)) {
        fprintf(r->log, "failed to send query for step %s: %s", st->name, PQerrorMessage(se->conn));
        return run_fail(r, WEDGE_INCONCLUSIVE, "step %s: %s", st->name, PQerrorMessage(se->conn));
    }
    se->active = pi;
    for (k = 0; k < p->nblockers; k++)
        if (p->blockers[k].kind == ISO_BLOCK_NOTICES)
            r->target[pi][k] = p->blockers[k].notices +
                               r->sess[r->spec->steps[p->blockers[k].step].session].notices;
    rc = try_complete(r, pi, STEP_NONBLOCK);
    if (rc < 0 || try_waiting(r, STEP_NONBLOCK | STEP_RETRY) < 0)
        return -1;
    if (rc == 1)
        r->waiting[r->nwaiting++] = pi;
    return 0;
}

int iso_drive_steps(struct run *r)
{
    int i, rc = -1;

    set_pids(r);
    r->nwaiting = 0;
    r->waiting = calloc((size_t)r->nperm + 1, sizeof *r->waiting);
    r->target = calloc((size_t)r->nperm + 1, sizeof *r->target);
    if (!r->waiting || !r->target) {
        run_fail(r, WEDGE_INCONCLUSIVE, "out of memory");
        goto out;
    }
    for (i = 0; i < r->nperm; i++) {
        r->target[i] = calloc((size_t)r->perm[i].nblockers + 1, sizeof **r->target);
        if (!r->target[i]) {
            run_fail(r, WEDGE_INCONCLUSIVE, "out of memory");
            goto out;
        }
    }
    for (i = 0; i < r->nperm; i++)
        if (start_step(r, i) < 0)
            goto out;
    if (try_waiting(r, STEP_RETRY) < 0)
        goto out;
    if (r->nwaiting > 0) {
        fprintf(r->log, "failed to complete permutation due to mutually-blocking steps\n");
        run_fail(r, WEDGE_USAGE,
                 "%s: failed to complete permutation due to mutually-blocking "
                 "steps",
                 r->spec->path);
        goto out;
    }
    rc = 0;
out:
    for (i = 0; r->target && i < r->nperm; i++)
        free(r->target[i]);
    free(r->target);
    free(r->waiting);
    r->target = NULL;
    r->waiting = NULL;
    return rc;
}

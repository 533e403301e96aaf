/*
 * run_judge.c - what one run found: the scenario's invariants, the
 * built-in service_alive and jobs_succeeded, a process the shim stopped,
 * and the lines that say so on stdout.
 */
#include "inv.h"
#include "run_int.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * Invariants, built-in ones included.
 * ------------------------------------------------------------ */
static void run_builtin(struct run_one *p, const char *name, int ok, const char *expected,
                        const char *actual, char *detail)
{
    struct inv_result *v;
    p->r.inv = realloc(p->r.inv, (size_t)(p->r.ninv + 1) * sizeof(*p->r.inv));
    if (!p->r.inv)
        abort();
    v = &p->r.inv[p->r.ninv++];
    memset(v, 0, sizeof(*v));
    v->name = util_fmt("%s", name);
    v->status = ok ? INV_PASSED : INV_FAILED;
    v->expected = util_fmt("%s", expected);
    v->actual = util_fmt("%s", actual);
    v->detail = detail;
}
/* Jobs that were stopped (by the interrupt) rather than finishing. */
static int run_jobs_interrupted(const struct run_one *p)
{
    int n = 0;
    for (int i = 0; i < p->st->scn->njobs; i++)
        n += p->jobs[i].stopped || (p->jobs[i].pid <= 0);
    return n;
}
/* A process the shim stopped itself (a symbol it could not resolve, a
 * configuration it refused: its fatal record, shim/fatal.c) tells nothing
 * about the service: no invariant is judged failed and the run is
 * inconclusive, never "race found". */
static void run_shim_blame(struct run_one *p)
{
    struct svc_fatal f;
    char *traces = util_fmt("%s/traces", p->out_dir);
    int found = svc_shim_fatal(traces, 0, &f);

    free(traces);
    if (!found)
        return;
    p->shim_fatal = 1;
    run_err(p, WEDGE_INCONCLUSIVE,
            "the shim stopped %s (pid %ld), so this run says nothing about a race: %s", f.proc,
            f.pid, f.msg);
    for (int i = 0; i < p->r.ninv; i++)
        if (p->r.inv[i].status == INV_FAILED)
            p->r.inv[i].status = INV_ERROR;
}
/* What went wrong with one job (never ran, stopped, failed), appended to
 * detail; NULL when it exited 0. */
static char *run_job_detail(struct svc_proc *j, char *detail)
{
    int code = j->exited ? util_exit_code(j->status) : -1;
    char *tail, *d;

    if (j->pid > 0 && code == 0)
        return NULL;
    tail = j->pid > 0 ? svc_log_tail(j) : util_fmt("%s", "");
    d = util_fmt("%s%s: %s\n--- last lines of its output ---\n%s\n", detail ? detail : "", j->name,
                 j->pid <= 0  ? "never ran"
                 : j->stopped ? "stopped (timeout or interrupt)"
                              : "failed",
                 tail);
    if (j->exited && !j->stopped) {
        char *t = util_fmt("%s(exit status %d)\n", d, code);
        free(d);
        d = t;
    }
    free(tail);
    return d;
}
/* The built-in jobs_succeeded: every job exited 0. */
static void run_jobs_builtin(struct run_one *p)
{
    const struct scenario *s = p->st->scn;
    char *detail = NULL, *actual;
    int bad = 0;

    for (int i = 0; i < s->njobs; i++) {
        char *d = run_job_detail(&p->jobs[i], detail);
        if (!d)
            continue;
        free(detail);
        detail = d;
        bad++;
    }
    actual = util_fmt("%d of %d failed", bad, s->njobs);
    run_builtin(p, "jobs_succeeded", !bad, "every job exits 0", actual, detail);
    free(actual);
    /* Jobs stopped by the interrupt did not fail: they were not judged. */
    if (bad && p->interrupted && bad == run_jobs_interrupted(p)) {
        p->r.inv[p->r.ninv - 1].status = INV_ERROR;
        free(p->r.inv[p->r.ninv - 1].actual);
        p->r.inv[p->r.ninv - 1].actual = util_fmt("interrupted before every job finished");
    }
}
void run_http_invariants(struct run_one *p, const struct svc_ctx *ctx)
{
    const struct scenario *s = p->st->scn;
    struct rf_ctx c;
    char *url = NULL;
    int any = 0;

    for (int i = 0; i < s->ninvariants; i++)
        any |= s->invariants[i].kind == SCN_INV_HTTP;
    if (!any || run_req_ctx(p, ctx, &c, &url) < 0)
        return;
    p->http = calloc((size_t)s->ninvariants, sizeof(*p->http));
    if (!p->http)
        abort();
    inv_http_eval(s, &c, p->http);
    free(url);
}

void run_invariants(struct run_one *p)
{
    const struct scenario *s = p->st->scn;
    char err[2048], *history = util_fmt("%s/history.jsonl", p->out_dir);
    struct inv_inputs in = {p->dsn[0] ? p->dsn : NULL, history,
                            p->r.load.latency ? &p->r.load : NULL, p->http};
    if (inv_eval_all(s, &in, &p->r.inv, &p->r.ninv, err, sizeof(err)) < 0) {
        run_err(p, WEDGE_INCONCLUSIVE, "invariants: %s", err);
    }
    free(history);
    if (s->nservices) {
        run_builtin(p, "service_alive", !p->died, "every service ran until it was stopped",
                    p->died ? "a service exited during the run" : "all alive",
                    p->died ? util_fmt("%s", p->died) : NULL);
    }
    if (s->njobs)
        run_jobs_builtin(p);
    run_shim_blame(p);
}
/* ---------------------------------------------------------------
 * One repetition.
 * ------------------------------------------------------------ */
void run_print_inv(const struct inv_result *inv, int n)
{
    for (int i = 0; i < n; i++) {
        const struct inv_result *v = &inv[i];
        if (v->status == INV_PASSED && v->measured)
            printf("  PASS  %s: %s\n", v->name, v->actual ? v->actual : "?");
        else if (v->status == INV_PASSED)
            printf("  PASS  %s\n", v->name);
        else
            printf("  %-5s %s: expected %s, got %s\n", v->status == INV_FAILED ? "FAIL" : "ERROR",
                   v->name, v->expected ? v->expected : "?", v->actual ? v->actual : "?");
    }
}

/* The verdict on stdout: in full for a single run, one line per run when
 * repeating (the table at the end lists every seed). */
void run_summary(struct run_one *p)
{
    int brief = p->index >= 0;
    unsigned passed = 0, failed = 0;
    const char *why = p->r.error ? p->r.error : "";
    int whylen = (int)strcspn(why, "\n");

    for (int i = 0; i < p->r.ninv; i++) {
        passed += p->r.inv[i].status == INV_PASSED;
        failed += p->r.inv[i].status == INV_FAILED;
    }
    p->st->passed += passed;
    p->st->failed += failed;
    if (brief) {
        printf("wedge: run %d seed %" PRIu64 ": %s", p->index + 1, p->seed,
               failed           ? "FAILED"
               : p->r.exit_code ? "inconclusive"
                                : "passed");
        for (int i = 0, n = 0; i < p->r.ninv; i++)
            if (p->r.inv[i].status == INV_FAILED)
                printf("%s%s", n++ ? ", " : " (", p->r.inv[i].name);
        printf("%s", failed ? ")" : "");
        if (!failed && p->r.error)
            printf(" (%.*s)", whylen, why);
        printf("  %s/report.md\n", p->out_dir);
        fflush(stdout);
        return;
    }
    printf("wedge: %s  seed %" PRIu64 "  %.1fs  %" PRIu64 " requests (%" PRIu64 " ok, %" PRIu64
           " fail, %" PRIu64 " info, %" PRIu64 " retries)\n",
           p->st->scn->name, p->seed, p->r.load.duration_s, p->r.load.requests, p->r.load.ok,
           p->r.load.fail, p->r.load.info, p->r.load.retries);
    run_print_inv(p->r.inv, p->r.ninv);
    if (p->r.error)
        printf("  inconclusive: %.*s\n", whylen, why);
    printf("wedge: report: %s/report.md\n", p->out_dir);
    printf("wedge: reproduce: %s\n", p->r.reproduce);
    if (p->r.reproduce_note)
        printf("wedge: (%s)\n", p->r.reproduce_note);
    fflush(stdout);
}

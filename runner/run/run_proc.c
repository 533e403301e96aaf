/*
 * run_proc.c - the processes of one run: services started and made ready,
 * jobs of each phase, a service that dies, the stop; and the run's errors.
 */
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

void run_err(struct run_one *p, int code, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    for (size_t n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ');)
        msg[--n] = '\0';
    fprintf(stderr, "wedge: %s\n", msg);
    if (!p->r.error) {
        p->r.error = msg;
        p->r.exit_code = code;
    } else {
        free(msg);
    }
}
/* ---------------------------------------------------------------
 * Processes.
 * ------------------------------------------------------------ */
int run_req_ctx(struct run_one *p, const struct svc_ctx *ctx, struct rf_ctx *c, char **url)
{
    const struct scenario *s = p->st->scn;
    int target = 0;
    char err[1024], where[512];

    for (int i = 0; s->target && i < s->nservices; i++)
        if (!strcmp(s->services[i].name, s->target))
            target = i;
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->exp.build = ctx->build;
    c->exp.dsn = p->dsn[0] ? p->dsn : NULL;
    c->exp.out = p->out_dir;
    c->exp.scenario_dir = s->dir;
    c->exp.service = s->nservices && !s->target_is_url ? s->services[target].name : NULL;
    c->exp.port_names = ctx->port_names;
    c->exp.ports = ctx->ports;
    c->exp.nports = ctx->nports;
    c->exp.seed = p->seed;
    c->exp.user = -1;
    *url = NULL;
    if (s->target_is_url) {
        if (!(*url = exp_expand(s->target, &c->exp, err, sizeof(err)))) {
            run_err(p, WEDGE_USAGE, "%s: target: %s",
                    scn_where(s, s->target_line, where, sizeof(where)), err);
            return -1;
        }
        for (size_t n = strlen(*url); n && (*url)[n - 1] == '/';)
            (*url)[--n] = '\0';
    } else if (s->nservices) {
        *url = util_fmt("http://127.0.0.1:%d", p->ports[target]);
    }
    c->base_url = *url;
    return 0;
}

void run_ctx(struct run_one *p, struct svc_ctx *ctx)
{
    const struct scenario *s = p->st->scn;
    static const char *names[256];
    for (int i = 0; i < s->nservices && i < 256; i++)
        names[i] = s->services[i].name;
    memset(ctx, 0, sizeof(*ctx));
    ctx->scn = s;
    ctx->preload = p->st->preload;
    ctx->dsn = p->dsn;
    ctx->out_dir = p->out_dir;
    ctx->build = util_build_dir();
    ctx->seed = p->seed;
    ctx->port_names = names;
    ctx->ports = p->ports;
    ctx->nports = s->nservices < 256 ? s->nservices : 256;
}

/* The line of the key a service's error is about ("command: ...",
 * "ready: ...", "rules: ..."), else its section's. */
static int run_key_line(const struct scn_service *v, const char *err)
{
    if (!strncmp(err, "command", 7) && v->command_line)
        return v->command_line;
    if (!strncmp(err, "ready", 5) && v->ready_line)
        return v->ready_line;
    if (strstr(err, "rules") && v->rules_line)
        return v->rules_line;
    return v->line;
}

/* The proxies first: a service may connect through one as it starts. */
int run_services(struct run_one *p, const struct svc_ctx *ctx)
{
    const struct scenario *s = p->st->scn;
    char err[4096];
    for (int k = 0; k < 2 * s->nservices; k++) {
        int i = k % s->nservices, rc;
        if (s->services[i].is_proxy != (k < s->nservices))
            continue;
        rc = svc_ready_precheck(ctx, i, p->ports[i], err, sizeof(err));
        if (rc == SVC_OK)
            rc = svc_start(ctx, i, &p->svcs[i], err, sizeof(err));
        if (rc == SVC_OK)
            rc = svc_wait_ready(ctx, &p->svcs[i], p->st->o->ready_ns, err, sizeof(err));
        if (rc != SVC_OK) {
            char where[512];
            if (rc == SVC_CONFIG)
                run_err(p, WEDGE_USAGE, "%s: %s",
                        scn_where(s, run_key_line(&s->services[i], err), where, sizeof(where)),
                        err);
            else
                run_err(p, p->interrupted || util_stop ? WEDGE_INCONCLUSIVE : rc, "%s", err);
            return rc;
        }
        if (!p->st->o->quiet)
            fprintf(stderr, "wedge: %s %s ready (pid %ld, port %d)\n",
                    s->services[i].is_proxy ? "proxy" : "service", p->svcs[i].name,
                    (long)p->svcs[i].pid, p->svcs[i].port);
    }
    return 0;
}
uint64_t run_job_timeout(const struct run_one *p, int i)
{
    const struct scenario *s = p->st->scn;
    return s->jobs[i].timeout_ns ? s->jobs[i].timeout_ns : s->timeout_ns;
}
/* Start the jobs of one phase. */
int run_jobs_start(struct run_one *p, const struct svc_ctx *ctx, enum scn_when when)
{
    const struct scenario *s = p->st->scn;
    char err[2048];
    for (int i = 0; i < s->njobs; i++) {
        if (s->jobs[i].when != when)
            continue;
        if (job_start(ctx, i, &p->jobs[i], err, sizeof(err)) != SVC_OK) {
            const struct scn_job *j = &s->jobs[i];
            char where[512];
            int line = strstr(err, "rules") && j->rules_line ? j->rules_line : j->command_line;
            run_err(p, WEDGE_USAGE, "%s: job %s: %s", scn_where(s, line, where, sizeof(where)),
                    j->name, err);
            return -1;
        }
    }
    return 0;
}
/* Wait (bounded) for the started jobs of a phase; kill those past their
 * timeout.  A job the shim refused is a configuration error. */
int run_jobs_wait(struct run_one *p, enum scn_when when)
{
    const struct scenario *s = p->st->scn;
    char msg[1024];
    for (int i = 0; i < s->njobs; i++) {
        struct svc_proc *j = &p->jobs[i];
        if (s->jobs[i].when != when || j->pid <= 0)
            continue;
        for (;;) {
            if (svc_wait(j, RUN_TICK_NS))
                break;
            if (util_stop || util_now_ns() - j->started_ns >= run_job_timeout(p, i)) {
                if (!util_stop)
                    fprintf(stderr, "wedge: job %s timed out; killing it\n", j->name);
                else
                    p->interrupted = 1;
                svc_stop(j, NS_PER_S);
                break;
            }
        }
        svc_stop(j, 0); /* backstop: nothing of it keeps running */
        if (svc_rules_rejected(j, msg, sizeof(msg))) {
            char where[512];
            int line = s->jobs[i].rules_line ? s->jobs[i].rules_line : s->jobs[i].line;
            run_err(p, WEDGE_USAGE, "%s: %s", scn_where(s, line, where, sizeof(where)), msg);
            return -1;
        }
    }
    return 0;
}
/* A service exited on its own during the run: service_alive breaks. */
void run_check_alive(struct run_one *p)
{
    for (int i = 0; i < p->st->scn->nservices; i++) {
        struct svc_proc *sv = &p->svcs[i];
        if (!svc_poll(sv))
            continue;
        char *tail = svc_log_tail(sv);
        char *line = util_fmt("%s%s (pid %ld) exited with status %d during the run\n"
                              "--- last lines of %s ---\n%s\n",
                              p->died ? p->died : "", sv->name, (long)sv->pid,
                              util_exit_code(sv->status), sv->log_path, tail);
        free(tail);
        free(p->died);
        p->died = line;
        if (!util_stop)
            p->died_early = 1;
        fprintf(stderr, "%swedge: service %s died (status %d)\n", isatty(2) ? "\n" : "", sv->name,
                util_exit_code(sv->status));
        /* The rest of the load would only measure a dead service. */
        if (p->load)
            load_stop(p->load);
    }
}
void run_stop_all(struct run_one *p)
{
    const struct scenario *s = p->st->scn;
    for (int i = 0; p->jobs && i < s->njobs; i++)
        svc_stop(&p->jobs[i], NS_PER_S);
    /* In reverse: a service started later may depend on an earlier one. */
    for (int i = s->nservices - 1; p->svcs && i >= 0; i--) {
        uint64_t grace = s->services[i].stop_grace_ns ? s->services[i].stop_grace_ns : 2 * NS_PER_S;
        run_check_alive(p);
        svc_stop(&p->svcs[i], grace);
    }
}

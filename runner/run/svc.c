/*
 * svc.c - services and jobs of a run: spawn under the shim, readiness,
 * liveness, graceful stop.
 */
#include "svc.h"
#include "dsn.h"
#include "textfile.h"
#include "timeunit.h"
#include "util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SVC_TAIL_BYTES 2000

/* ---------------------------------------------------------------
 * Commands: words first, then expansion of each word.
 * ------------------------------------------------------------ */
struct svc_vec {
    char **v;
    int n, cap;
};

static void vec_push(struct svc_vec *a, char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = realloc(a->v, (size_t)a->cap * sizeof(*a->v));
        if (!a->v)
            abort();
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

void svc_argv_free(char **argv)
{
    for (char **p = argv; p && *p; p++)
        free(*p);
    free(argv);
}

/* Next word of *s (quotes removed) into a malloc'd string; NULL at the end
 * or on an unterminated quote (err set). */
static char *svc_word(const char **s, char *err, size_t errlen)
{
    const char *p = *s;
    char *w, *o;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (!*p) {
        *s = p;
        return NULL;
    }
    w = o = malloc(strlen(p) + 1);
    if (!w)
        abort();
    while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end)
                goto unterminated;
            memcpy(o, p + 1, (size_t)(end - p - 1));
            o += end - p - 1;
            p = end + 1;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                *o++ = *p;
            }
            if (*p != '"')
                goto unterminated;
            p++;
        } else if (*p == '\\' && p[1]) {
            *o++ = p[1];
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    *s = p;
    return w;
unterminated:
    snprintf(err, errlen, "unterminated quote in command");
    free(w);
    *s = p + strlen(p);
    return NULL;
}

char **svc_argv(const char *cmd, const struct exp_ctx *ctx, char *err, size_t errlen)
{
    struct svc_vec a = {0};
    const char *p = cmd;
    char *w;
    err[0] = '\0';
    while ((w = svc_word(&p, err, errlen))) {
        char *x = exp_expand(w, ctx, err, errlen);
        free(w);
        if (!x)
            goto fail;
        vec_push(&a, x);
    }
    if (err[0])
        goto fail;
    if (!a.n) {
        snprintf(err, errlen, "empty command");
        goto fail;
    }
    return a.v;
fail:
    svc_argv_free(a.v);
    return NULL;
}

/* ---------------------------------------------------------------
 * Spawning.
 * ------------------------------------------------------------ */
void svc_ctx_exp(const struct svc_ctx *ctx, const char *self, struct exp_ctx *e)
{
    memset(e, 0, sizeof(*e));
    e->build = ctx->build;
    e->dsn = ctx->dsn;
    e->out = ctx->out_dir;
    e->scenario_dir = ctx->scn->dir;
    e->service = self;
    e->port_names = ctx->port_names;
    e->ports = ctx->ports;
    e->nports = ctx->nports;
    e->user = -1;
    e->seed = ctx->seed;
}

/* Set KEY=VALUE in env (replacing KEY). */
static void env_set(struct svc_vec *env, char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (int i = 0; i < env->n; i++) {
        if (!strncmp(env->v[i], kv, klen) && env->v[i][klen] == '=') {
            free(env->v[i]);
            env->v[i] = kv;
            return;
        }
    }
    vec_push(env, kv);
}

/* The rules a process runs with: the scenario's, then its own, then its
 * rules_file's text (relative to the scenario's directory). */
char *svc_rules_text(const struct scenario *s, const char *rules, const char *rules_file,
                     const struct exp_ctx *e, char *err, size_t errlen)
{
    char *file_text = NULL, *text, *expanded, msg[512];
    if (rules_file) {
        char *path = rules_file[0] == '/' ? util_fmt("%s", rules_file)
                                          : util_fmt("%s/%s", s->dir, rules_file);
        char why[256];
        if (textfile_read(path, TEXTFILE_RULES_MAX, &file_text, NULL, why, sizeof why) < 0) {
            snprintf(err, errlen, "rules_file %s:%s%s", path,
                     why[0] >= '0' && why[0] <= '9' ? "" : " ", why);
            free(path);
            return NULL;
        }
        free(path);
    }
    text = util_fmt("%s%s%s%s%s", s->rules ? s->rules : "", s->rules && rules ? "\n" : "",
                    rules ? rules : "", (s->rules || rules) && file_text ? "\n" : "",
                    file_text ? file_text : "");
    free(file_text);
    if (!e)
        return text;
    expanded = exp_expand(text, e, msg, sizeof(msg));
    if (!expanded)
        snprintf(err, errlen, "rules: %s", msg);
    free(text);
    return expanded;
}

char *svc_rules_env(const char *text, const char *spill, char *err, size_t errlen)
{
    if (strlen(text) <= RULES_ENV_MAX)
        return util_fmt("WEDGE_RULES=%s", text);
    /* Too long for the environment: the shim reads it from a file, with
     * the one cap of a rules file (TEXTFILE_RULES_MAX). */
    if (util_write_private(spill, text, err, errlen) < 0)
        return NULL;
    return util_fmt("WEDGE_RULES_FILE=%s", spill);
}

/* The environment of a process under the shim: ours without WEDGE_* and
 * LD_PRELOAD, then the shim's, then the scenario's env lines (expanded; an
 * LD_PRELOAD there keeps the shim first).  0, or SVC_CONFIG with err. */
static int svc_env(const struct svc_ctx *ctx, const struct svc_proc *p, const struct exp_ctx *e,
                   const char *rules_text, uint64_t seed, char **envlines, struct svc_vec *env,
                   char *err, size_t errlen)
{
    for (char **v = environ; *v; v++)
        if (strncmp(*v, "WEDGE_", 6) && strncmp(*v, "LD_PRELOAD=", 11))
            vec_push(env, util_fmt("%s", *v));
    env_set(env, util_fmt("LD_PRELOAD=%s", ctx->preload));
    if (rules_text[0]) {
        char *spill = util_fmt("%s/logs/%s.rules", ctx->out_dir, p->name);
        char *kv = svc_rules_env(rules_text, spill, err, errlen);
        free(spill);
        if (!kv)
            return SVC_UNAVAILABLE;
        env_set(env, kv);
    }
    env_set(env, util_fmt("WEDGE_SEED=%" PRIu64, seed));
    env_set(env, util_fmt("WEDGE_TRACE=%s/traces", ctx->out_dir));
    env_set(env, util_fmt("WEDGE_CTL=%s/ctl", ctx->out_dir));
    if (ctx->dsn) {
        /* The shim takes a connection to this port for a PostgreSQL
         * session even before its first bytes (a TLS one it cannot read
         * is then reported, not silently skipped). */
        char *host = NULL, *port = NULL, perr[256];
        if (dsn_host_port(ctx->dsn, &host, &port, perr, sizeof(perr)) == 0)
            env_set(env, util_fmt("WEDGE_DB_PORT=%s", port));
        free(host);
        free(port);
    }
    for (char **l = envlines; l && *l; l++) {
        char *x = exp_expand(*l, e, err, errlen);
        if (!x)
            return SVC_CONFIG;
        if (!strchr(x, '=')) {
            snprintf(err, errlen, "env '%s': expected KEY=VALUE", x);
            free(x);
            return SVC_CONFIG;
        }
        if (!strncmp(x, "LD_PRELOAD=", 11) && x[11]) {
            /* The shim stays first: a replaced LD_PRELOAD would run the
             * service with no injection and pass for the wrong reason. */
            char *both = util_fmt("LD_PRELOAD=%s:%s", ctx->preload, x + 11);
            free(x);
            x = both;
        } else if (!strncmp(x, "LD_PRELOAD=", 11)) {
            free(x);
            continue;
        }
        env_set(env, x);
    }
    return 0;
}

/* Fork and exec argv with env, its output to the log file fd, in a
 * process group of its own.  SVC_OK, or SVC_UNAVAILABLE with err. */
static int svc_fork(struct svc_proc *p, char **argv, char **env, int fd, char *err, size_t errlen)
{
    fflush(NULL);
    p->pid = fork();
    if (p->pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        p->pid = 0;
        return SVC_UNAVAILABLE;
    }
    if (p->pid == 0) {
        /* Child of a threaded parent: only dup2/open/exec from here on. */
        int nul = open("/dev/null", O_RDONLY);
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        dup2(fd, 1);
        dup2(fd, 2);
        if (nul >= 0)
            dup2(nul, 0);
        execvpe(argv[0], argv, env);
        dprintf(2, "wedge: %s: cannot run %s: %s\n", p->name, argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(p->pid, p->pid);
    p->started_ns = util_now_ns();
    return SVC_OK;
}

static int svc_spawn(const struct svc_ctx *ctx, struct svc_proc *p, const char *command,
                     const char *rules, const char *rules_file, char **envlines, char *err,
                     size_t errlen)
{
    struct exp_ctx e;
    struct svc_vec env = {0};
    char **argv = NULL, *rules_text = NULL, *logdir = NULL;
    int fd = -1, rc = SVC_CONFIG;
    uint64_t seed = util_mix(ctx->seed, (uint64_t)p->index + (p->is_job ? 1000u : 0u));

    svc_ctx_exp(ctx, p->is_job ? NULL : p->name, &e);
    argv = svc_argv(command, &e, err, errlen);
    if (!argv)
        goto out;
    rules_text = svc_rules_text(ctx->scn, rules, rules_file, &e, err, errlen);
    if (!rules_text)
        goto out;
    logdir = util_fmt("%s/logs", ctx->out_dir);
    util_mkdir_p(logdir, 0755);
    if ((rc = svc_env(ctx, p, &e, rules_text, seed, envlines, &env, err, errlen)) != 0)
        goto out;
    rc = SVC_CONFIG;
    p->log_path = util_fmt("%s/%s.log", logdir, p->name);
    p->trace_dir = util_fmt("%s/traces", ctx->out_dir);
    fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", p->log_path, strerror(errno));
        rc = SVC_UNAVAILABLE;
        goto out;
    }
    rc = svc_fork(p, argv, env.v, fd, err, errlen);
out:
    if (fd >= 0)
        close(fd);
    free(logdir);
    free(rules_text);
    svc_argv_free(argv);
    svc_argv_free(env.v);
    return rc;
}

int svc_start(const struct svc_ctx *ctx, int idx, struct svc_proc *p, char *err, size_t errlen)
{
    const struct scn_service *s = &ctx->scn->services[idx];
    char self[4096], *cmd = NULL;
    ssize_t n;
    int rc;

    p->name = s->name;
    p->is_job = 0;
    p->index = idx;
    if (!s->is_proxy)
        return svc_spawn(ctx, p, s->command, s->rules, s->rules_file, s->env, err, errlen);
    /* [proxy NAME]: this very wedge, `proxy --serve` under the shim as any
     * service is (its command begins with the word "wedge": scn.c) */
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        snprintf(err, errlen, "proxy %s: cannot find the wedge binary: %s", s->name,
                 strerror(errno));
        return SVC_UNAVAILABLE;
    }
    self[n] = '\0';
    cmd = util_fmt("'%s'%s", self, s->command + strlen("wedge"));
    rc = svc_spawn(ctx, p, cmd, s->rules, s->rules_file, s->env, err, errlen);
    free(cmd);
    return rc;
}

int job_start(const struct svc_ctx *ctx, int idx, struct svc_proc *p, char *err, size_t errlen)
{
    const struct scn_job *j = &ctx->scn->jobs[idx];
    p->name = j->name;
    p->is_job = 1;
    p->index = idx;
    return svc_spawn(ctx, p, j->command, j->rules, j->rules_file, j->env, err, errlen);
}

/* ---------------------------------------------------------------
 * Liveness and stopping.
 * ------------------------------------------------------------ */
/* The leader is reaped: end what it left in its process group now, while
 * the group id cannot yet belong to anyone else. */
static void svc_reaped(struct svc_proc *p)
{
    p->exited = 1;
    p->ended_ns = util_now_ns();
    kill(-p->pid, SIGKILL);
}

int svc_poll(struct svc_proc *p)
{
    if (p->pid <= 0 || p->exited)
        return 0;
    if (util_wait_pid(p->pid, 0, &p->status) != 1)
        return 0;
    svc_reaped(p);
    return 1;
}

int svc_wait(struct svc_proc *p, uint64_t timeout_ns)
{
    if (p->pid <= 0 || p->exited)
        return 1;
    if (util_wait_pid(p->pid, timeout_ns, &p->status) != 1)
        return 0;
    svc_reaped(p);
    return 1;
}

void svc_stop(struct svc_proc *p, uint64_t grace_ns)
{
    if (p->pid <= 0)
        return;
    if (p->exited)
        return; /* its group was ended when it was reaped */
    p->stopped = 1;
    kill(-p->pid, SIGTERM);
    if (!svc_wait(p, grace_ns)) {
        kill(-p->pid, SIGKILL);
        svc_wait(p, 5 * NS_PER_S);
    }
}

/* Parse one fatal record: 1 when it belongs to group pgid (0: any). */
static int svc_fatal_parse(const char *path, pid_t pgid, struct svc_fatal *f)
{
    char *text = util_read_file(path, NULL), kind[16] = "", *m;
    long group = 0;
    int ok = 0;

    if (!text ||
        sscanf(text, "kind=%15s pid=%ld pgid=%ld proc=%63s", kind, &f->pid, &group, f->proc) != 4)
        goto out;
    if (pgid > 0 && group != (long)pgid)
        goto out;
    f->kind = !strcmp(kind, "config") ? SHIM_FATAL_CONFIG : SHIM_FATAL_ABORT;
    m = strchr(text, '\n');
    m = m ? m + 1 : text + strlen(text);
    m[strcspn(m, "\n")] = '\0';
    if (!strncmp(m, "wedge: ", 7))
        m += 7;
    snprintf(f->msg, sizeof f->msg, "%s", m);
    ok = 1;
out:
    free(text);
    return ok;
}

int svc_shim_fatal(const char *trace_dir, pid_t pgid, struct svc_fatal *f)
{
    struct dirent **names = NULL;
    int n = trace_dir ? scandir(trace_dir, &names, NULL, alphasort) : -1, found = 0;

    for (int i = 0; i < n; i++) {
        if (!found && !strncmp(names[i]->d_name, "fatal.", 6)) {
            char *path = util_fmt("%s/%s", trace_dir, names[i]->d_name);
            found = svc_fatal_parse(path, pgid, f);
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return found;
}

int svc_rules_rejected(const struct svc_proc *p, char *msg, size_t len)
{
    struct svc_fatal f;

    if (!p->exited || !WIFEXITED(p->status) || WEXITSTATUS(p->status) != 2 ||
        !svc_shim_fatal(p->trace_dir, p->pid, &f) || f.kind != SHIM_FATAL_CONFIG)
        return 0;
    snprintf(msg, len, "%s %s: %s", p->is_job ? "job" : "service", p->name, f.msg);
    return 1;
}

char *svc_log_tail(const struct svc_proc *p)
{
    return p->log_path ? util_file_tail(p->log_path, SVC_TAIL_BYTES) : util_fmt("%s", "");
}

void svc_proc_free(struct svc_proc *p)
{
    free(p->log_path);
    free(p->trace_dir);
    p->log_path = p->trace_dir = NULL;
}

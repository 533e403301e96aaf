/*
 * svc.h - the processes of a run: services (started, made ready, watched,
 * stopped) and jobs (run to completion), all under the shim.
 *
 * A command is split into words first (shell-like quoting: '...', "...",
 * backslash) and each word is expanded (exp_expand) afterwards, so
 * `--dsn ${dsn}` stays one argument although the DSN holds spaces.  It is
 * not a shell: write `sh -c '...'` for pipes or redirections.
 *
 * Each process gets LD_PRELOAD (the shim), WEDGE_RULES (the scenario's
 * rules, then its own), WEDGE_SEED (derived from the run seed and its
 * index), WEDGE_TRACE = OUT/traces, WEDGE_CTL = OUT/ctl, its env = lines
 * (an LD_PRELOAD there is appended after the shim, never replaces it),
 * runs in its own process group, stdin /dev/null, stdout and stderr to
 * OUT/logs/NAME.log.
 *
 * Not thread-safe: one supervising thread drives a run's processes.
 */
#ifndef WEDGE_SVC_H
#define WEDGE_SVC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scn.h"

/* What every process of one run shares. */
struct svc_ctx {
    const struct scenario *scn;
    const char *preload; /* LD_PRELOAD value (util_preload_value) */
    const char *dsn;
    const char *out_dir;
    const char *build;
    uint64_t seed;
    const char *const *port_names; /* service -> port, for ${port} */
    const int *ports;
    int nports;
};

struct svc_proc {
    const char *name;
    int is_job;
    int index;       /* in scn->services or scn->jobs */
    pid_t pid;       /* 0 before the start */
    int port;        /* services: ${port}; 0 for jobs */
    char *log_path;  /* OUT/logs/NAME.log */
    char *trace_dir; /* OUT/traces: where the shim leaves fatal records */
    int exited;      /* reaped */
    int status;      /* wait status once exited */
    int stopped;     /* exited because svc_stop asked it to */
    uint64_t started_ns, ended_ns;
};

/* Status codes, the run's exit codes. */
enum { SVC_OK = 0, SVC_CONFIG = 2, SVC_UNAVAILABLE = 3 };

/* Split cmd into words and expand each; NULL-terminated malloc'd vector
 * (free with svc_argv_free), NULL with err on a quoting or expansion error. */
char **svc_argv(const char *cmd, const struct exp_ctx *ctx, char *err, size_t errlen);
void svc_argv_free(char **argv);

/* The rule text a process runs with: the scenario's rules, its own, then
 * its rules_file's text (relative to the scenario's directory), joined with
 * newlines, and expanded with e as the rest of the scenario is (${port:NAME},
 * ${db_port} ...; e NULL: as written).  malloc'd ("" when none); NULL with
 * err when the file cannot be read or a ${...} cannot be expanded
 * ("rules: unknown variable ..."). */
char *svc_rules_text(const struct scenario *s, const char *rules, const char *rules_file,
                     const struct exp_ctx *e, char *err, size_t errlen);

/* The most bytes of rule text that travel in the environment
 * (WEDGE_RULES=TEXT): Linux takes no environment string longer than
 * MAX_ARG_STRLEN, 32 pages or 131072 bytes with its NUL. */
#define RULES_ENV_MAX (131072 - sizeof("WEDGE_RULES="))

/* How rule text reaches a process: "WEDGE_RULES=TEXT" (malloc'd), or, for
 * text longer than RULES_ENV_MAX, "WEDGE_RULES_FILE=SPILL" after writing
 * it to the file SPILL (0600), so the one cap of a rules file applies
 * (TEXTFILE_RULES_MAX, the shim's).  NULL with err when SPILL cannot be
 * written. */
char *svc_rules_env(const char *text, const char *spill, char *err, size_t errlen);

/* Start service number idx (p->port must be set).  SVC_OK, or an error
 * status with err. */
int svc_start(const struct svc_ctx *ctx, int idx, struct svc_proc *p, char *err, size_t errlen);
/* Start job number idx. */
int job_start(const struct svc_ctx *ctx, int idx, struct svc_proc *p, char *err, size_t errlen);

/* The expansion context of a process of the run: ${port} is self's
 * (NULL: none, a job's). */
void svc_ctx_exp(const struct svc_ctx *ctx, const char *self, struct exp_ctx *e);

/* Before service idx starts (ready.c): when its `ready` names a loopback
 * port (tcp:PORT, http://127.0.0.1:PORT/..., localhost) something already
 * listens on, it could not tell this service's readiness.  SVC_OK;
 * SVC_UNAVAILABLE when the port is the service's own ${port} (taken since
 * wedge chose it); SVC_CONFIG when `ready` names another port. */
int svc_ready_precheck(const struct svc_ctx *ctx, int idx, int own_port, char *err, size_t errlen);
/* Wait until service p is ready by its `ready` (http://URL: a GET answers
 * 2xx; tcp:PORT: a connect succeeds; none: started is ready), at most
 * timeout_ns (ready.c).  A loopback port is ready only when every listener
 * on it is held by p's process tree (its group and descendants): another
 * process answering is an error, never a pass.  SVC_OK; SVC_CONFIG when the
 * shim rejected its rules or `ready` names another process's port;
 * SVC_UNAVAILABLE when it exited or timed out (err holds its log tail). */
int svc_wait_ready(const struct svc_ctx *ctx, struct svc_proc *p, uint64_t timeout_ns, char *err,
                   size_t errlen);

/* Reap p if it has exited; 1 when it exited just now, else 0.  Reaping
 * also SIGKILLs what is left in its process group (children of a shell). */
int svc_poll(struct svc_proc *p);
/* Wait for p to exit for at most timeout_ns; 1 exited, 0 still running. */
int svc_wait(struct svc_proc *p, uint64_t timeout_ns);
/* SIGTERM to its process group, SIGKILL after grace_ns, reap (bounded). */
void svc_stop(struct svc_proc *p, uint64_t grace_ns);
/* 1 when p exited with status 2 because the shim refused its
 * configuration (its rules): a process of p's group left a `config`
 * fatal record.  msg gets "service NAME: rules:LINE:COL: message". */
int svc_rules_rejected(const struct svc_proc *p, char *msg, size_t len);

/* The shim's own fatal exits (shim/fatal.c): before it stops a process
 * it writes TRACE_DIR/fatal.PID, "kind=K pid=P pgid=G proc=N" and its
 * message.  svc_shim_fatal finds one left by process group pgid (0: by
 * any process of the run): 1 with *f filled, else 0. */
enum svc_fatal_kind { SHIM_FATAL_ABORT, SHIM_FATAL_CONFIG };
struct svc_fatal {
    enum svc_fatal_kind kind;
    long pid;
    char proc[64];
    char msg[512]; /* without the "wedge: " prefix */
};
int svc_shim_fatal(const char *trace_dir, pid_t pgid, struct svc_fatal *f);
/* The last lines of p's log (malloc'd). */
char *svc_log_tail(const struct svc_proc *p);
void svc_proc_free(struct svc_proc *p);

#endif

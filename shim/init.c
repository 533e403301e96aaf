/*
 * init.c - the shim's start and end: environment, rules, arming the hooks
 * (hooks.c), fork, the exit summary.  The top of the shim: nothing calls
 * into it.
 *
 * Environment (design: an interface):
 *   WEDGE_RULES       rule text, origin "rules" in messages
 *   WEDGE_RULES_FILE  a file of rules, its path as origin (setting both
 *                     is a configuration error)
 *   WEDGE_SEED        decimal; default from time and pid
 *   WEDGE_TRACE       a directory: trace.PID.jsonl per process
 *   WEDGE_TRACE_MAX   the cap on one trace file's size (default 1G)
 *   WEDGE_CTL         the control file shared by the processes of a run,
 *                     which `wedge ctl` reads and steers (ctl.c)
 *   WEDGE_ON_ERROR    "warn": report a bad configuration and continue
 *                     with no injection; otherwise exit 2 before main
 *
 * A secure-execution process (setuid, setgid, file capabilities:
 * AT_SECURE) gets no shim at all: its environment was set by a less
 * privileged user, who must not steer it (a rules file the user cannot
 * read would be echoed in a parse error; a trace would be written with
 * the program's privileges).  Everything is read with secure_getenv.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "finish.h"
#include "real.h"
#include "sym.h"
#include "textfile.h"
#include "wedge_exit.h"
#include "wire.h"

static struct wg_ruleset init_rules_parsed; /* in force through wg_rules */
static char *init_trace_dir;
static int init_failed;                     /* a configuration error: no rules are loaded */
static struct wg_rule_state *init_counters; /* in the control file (ctl.c), or NULL */

static void init_config_error(const char *msg);

/* WEDGE_SEED in decimal (base 10 only: "010" is ten); anything else is a
 * configuration error, since a run on a random seed instead of the one
 * asked for could not be replayed. */
static uint64_t init_seed(void)
{
    const char *s = secure_getenv("WEDGE_SEED");
    struct timespec ts;
    char err[512];

    if (s && *s) {
        char *end = NULL;
        errno = 0;
        uint64_t v = strtoull(s, &end, 10);
        if (*s >= '0' && *s <= '9' && !errno && end && !*end)
            return v;
        snprintf(err, sizeof err,
                 "WEDGE_SEED='%.64s' is not a decimal number from 0 to 18446744073709551615", s);
        init_config_error(err);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return decide_hash((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
                       (uint64_t)getpid(), 0, 0x77656467ull);
}

/* A configuration error: stop before main, or with WEDGE_ON_ERROR=warn go
 * on with nothing injected (a tool that silently injected nothing would
 * report a false pass, so stopping is the default). */
static void init_config_error(const char *msg)
{
    const char *mode = secure_getenv("WEDGE_ON_ERROR");
    int warn = mode && !strcmp(mode, "warn");

    init_failed = 1;
    fprintf(stderr, "wedge: %s%s\n", msg, warn ? " (WEDGE_ON_ERROR=warn: no injection)" : "");
    if (!warn) {
        char line[600];
        snprintf(line, sizeof line, "wedge: %s", msg);
        wg_fatal_record("config", line);
        _exit(WEDGE_USAGE);
    }
}

/* WEDGE_TRACE_MAX: bytes, or with K, M, G (powers of 1024); at least
 * 4096 (room for a line).  Unset: WG_TRACE_MAX_DEFAULT. */
static void init_trace_max(void)
{
    const char *s = secure_getenv("WEDGE_TRACE_MAX");
    uint64_t v = 0, unit = 1;
    const char *p = s;
    char err[256];

    if (!s || !*s)
        return;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            goto bad;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p == 'K' || *p == 'k')
        unit = 1024ull, p++;
    else if (*p == 'M' || *p == 'm')
        unit = 1024ull * 1024, p++;
    else if (*p == 'G' || *p == 'g')
        unit = 1024ull * 1024 * 1024, p++;
    if (p == s || *p || v > UINT64_MAX / unit || v * unit < 4096)
        goto bad;
    trace_set_max(v * unit);
    return;
bad:
    snprintf(err, sizeof err,
             "WEDGE_TRACE_MAX='%.64s' is not a size of at least 4096 bytes (a number of bytes, or "
             "with K, M or G, e.g. 64M)",
             s);
    init_config_error(err);
}

/* A warning about the rules (a caller ~ pattern that matches nothing):
 * on stderr and in the trace, and the run goes on. */
static void init_warn(const char *msg)
{
    fprintf(stderr, "wedge: %s\n", msg);
    trace_warning(msg);
}

static void init_rules(void)
{
    const char *text = secure_getenv("WEDGE_RULES"), *file = secure_getenv("WEDGE_RULES_FILE");
    const char *origin = "rules";
    char *owned = NULL, err[512], why[256];

    if (init_failed)
        goto out;
    if (file && *file && text && *text) {
        /* One would be silently ignored: the rules in force would not be
         * the ones the user reads. */
        init_config_error("WEDGE_RULES and WEDGE_RULES_FILE are both set; use one");
        goto out;
    }
    if (file && *file) {
        if (textfile_read(file, TEXTFILE_RULES_MAX, &owned, NULL, why, sizeof why) < 0) {
            /* "FILE:LINE:COL: a NUL byte", as a rule's own error reads */
            if (why[0] >= '0' && why[0] <= '9')
                snprintf(err, sizeof err, "%s:%s", file, why);
            else
                snprintf(err, sizeof err, "%s: cannot read the rules file: %s", file, why);
            init_config_error(err);
            goto out;
        }
        text = owned;
        origin = file;
    }
    if (!text || !*text)
        goto out;
    if (rules_parse(text, origin, &init_rules_parsed, err, sizeof err) < 0) {
        init_config_error(err);
        goto out;
    }
    /* Symbol tables and pattern results, now: hooks may not allocate. */
    if (match_prepare(&init_rules_parsed, origin, trace_enabled(), init_warn, err, sizeof err) <
        0) {
        rules_free(&init_rules_parsed);
        init_config_error(err);
        goto out;
    }
out:
    /* before the text goes: the run's rule table shows it (ctl.c) */
    if (!init_failed)
        init_counters = ctl_attach(&init_rules_parsed, text ? text : "");
    free(owned);
}

/* An optional decimal environment value in [lo, hi]; 0 when unset, -1
 * (a configuration error, said) when it is something else. */
static long init_env_number(const char *name, long lo, long hi)
{
    const char *s = getenv(name);
    char *end = NULL, err[160];
    long v;

    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*s >= '0' && *s <= '9' && !errno && end && !*end && v >= lo && v <= hi)
        return v;
    snprintf(err, sizeof err, "%s='%.32s' is not a number from %ld to %ld", name, s, lo, hi);
    init_config_error(err);
    return -1;
}

/*
 * What the shim reads on the wire (wire.h), armed after the rules:
 *  - content conditions (http ~, redis ~, data ~) read every socket call's
 *    data, so the sock hooks that carry data or start and end an exchange
 *    are armed although no rule may name them;
 *  - a rule on a pq hook turns the PostgreSQL decoder on (clients that do
 *    not use libpq), on the same hooks.  WEDGE_PQ_API=off leaves libpq's
 *    own wrappers out, so libpq's statements too are seen on the wire.
 * A failure disarms everything: nothing is injected rather than half.
 */
static void init_wire(const struct wg_ruleset *rs)
{
    static const int hooks[] = {WG_HOOK_SOCK_SEND, WG_HOOK_SOCK_RECV, WG_HOOK_SOCK_CLOSE,
                                WG_HOOK_SOCK_CONNECT, WG_HOOK_SOCK_ACCEPT};
    const char *api = getenv("WEDGE_PQ_API");
    long port = init_env_number("WEDGE_DB_PORT", 1, 65535);
    int content = 0, pg = atomic_load_explicit(&wg_pq_ruled, memory_order_relaxed);
    char err[256];

    if (api && *api && strcmp(api, "on") && strcmp(api, "off")) {
        snprintf(err, sizeof err, "WEDGE_PQ_API='%.32s': expected on or off", api);
        init_config_error(err);
    }
    for (int i = 0; i < rs->n; i++)
        for (int k = 0; k < rs->rules[i].ncond; k++) {
            enum wg_cond_kind kind = rs->rules[i].conds[k].kind;
            content |= kind == WG_COND_HTTP || kind == WG_COND_REDIS || kind == WG_COND_DATA;
        }
    if (init_failed) {
        hooks_disarm(); /* WEDGE_ON_ERROR=warn: nothing injected */
        return;
    }
    if (!content && !pg)
        return;
    if ((content && wire_init() < 0) || (pg && pgsess_init(port > 0 ? (int)port : 0) < 0)) {
        snprintf(err, sizeof err, "cannot map the socket tables: %s", strerror(errno));
        init_config_error(err);
        hooks_disarm(); /* WEDGE_ON_ERROR=warn: nothing injected */
        return;
    }
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        atomic_store_explicit(&wg_armed[hooks[i]], 1, memory_order_relaxed);
    atomic_store_explicit(&wg_wire_content, content, memory_order_relaxed);
    atomic_store_explicit(&wg_wire_pg, pg, memory_order_relaxed);
    if (pg && api && !strcmp(api, "off"))
        for (int h = 0; h < WG_HOOK_COUNT; h++)
            if (wg_hook_family(h) == WG_FAM_PQ)
                atomic_store_explicit(&wg_armed[h], 0, memory_order_relaxed);
}

static void init_atfork_child(void)
{
    wg_in_shim++;
    ctl_atfork_child(); /* first: the counters become the child's own */
    hooks_atfork_child();
    wg_eval_atfork_child();
    /* The coordination mapping is shared and stays; the trace is per pid. */
    if (init_trace_dir)
        trace_open(init_trace_dir, NULL, 0);
    wg_in_shim--;
}

__attribute__((constructor(101))) static void init_shim(void)
{
    const char *trace = secure_getenv("WEDGE_TRACE"), *ctl = secure_getenv("WEDGE_CTL");
    char err[768], why[256];

    wg_in_shim++;
    real_load();
    if (getauxval(AT_SECURE)) /* nothing armed: every wrapper passes through */
        goto out;
    snprintf(wg_proc_name, sizeof wg_proc_name, "%s", program_invocation_short_name);
    wg_seed = init_seed();

    init_trace_max();
    if (trace && *trace) {
        init_trace_dir = strdup(trace);
        mkdir(trace, 0700); /* the usual case: a fresh directory; EEXIST is fine */
        if (trace_open(trace, why, sizeof why) < 0) {
            snprintf(err, sizeof err, "WEDGE_TRACE=%s: cannot open the trace: %s", trace, why);
            init_config_error(err);
        }
    }
    if (coord_init(ctl && *ctl ? ctl : NULL, why, sizeof why) < 0) {
        snprintf(err, sizeof err, "WEDGE_CTL=%s: cannot map the control file: %s",
                 ctl && *ctl ? ctl : "(anonymous)", why);
        init_config_error(err);
    }
    init_rules();
    if (hooks_install(&init_rules_parsed, trace_enabled(), init_counters) < 0) {
        rules_free(&init_rules_parsed);
        init_config_error("out of memory for the rules' counters");
    }
    init_wire(wg_rules);

    pthread_atfork(NULL, NULL, init_atfork_child);
    if (trace_enabled()) {
        /* the summary at SIGTERM names call sites from a signal handler:
         * the loaded objects listed now (cheap), read only there */
        sym_build_ranges();
        finish_install_sigterm();
    }
out:
    wg_in_shim--;
}

__attribute__((destructor(101))) static void init_fini(void)
{
    if (trace_enabled())
        finish_run("exit");
    ctl_detach();
}

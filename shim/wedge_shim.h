/*
 * wedge_shim.h - the shim's internal contract between its parts.
 *
 *   rules.c   text -> struct wg_ruleset            (rules_parse)
 *             with rules_lex.c, rules_check.c      (rules_int.h)
 *   decide.c  seeded, deterministic fire decisions (decide_*)
 *   match.c   conditions of a rule against a call  (match_rule)
 *   caller.c  caller ~ and stack names: libunwind + sym.c's tables
 *   sym*.c    symbol tables built outside hooks (sym.h)
 *   dl.c      dlopen / dlclose: keep the symbol tables current
 *   engine.c  what a hook calls on its slow path    (wg_before / wg_after)
 *   coord.c   barriers, marks, waits, holds in the shared control file
 *   ctl.c     live control: published state, rules added at run time
 *   trace.c   JSON-lines trace and exit summary
 *   real.c    the one table of real_* symbols
 *   hooks.c   per-process state: armed hooks, calls, rules in force and
 *             their counters (hooks.h)
 *   init.c    constructor, environment, fork, exit
 *   socket.c libpq.c pthread.c   the wrappers
 *
 * Nothing here is exported from libwedge.so (see libwedge.map.in).
 */
#ifndef WEDGE_SHIM_H
#define WEDGE_SHIM_H

#include <regex.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---------------------------------------------------------------
 * Hooks.
 * ------------------------------------------------------------ */
enum wg_family { WG_FAM_SOCK, WG_FAM_PQ, WG_FAM_PTHREAD };

enum wg_hook {
#define HOOK(id, name, fam) WG_HOOK_##id,
#include "hooks.def"
    WG_HOOK_COUNT
};

/* Name ("pq.query") of hook h; NULL if out of range. */
const char *wg_hook_name(int h);
/* Family of hook h. */
enum wg_family wg_hook_family(int h);

/*
 * armed[h] != 0 when some rule names hook h (or tracing counts it).
 * The fast path of every wrapper is exactly:
 *     if (!atomic_load_explicit(&wg_armed[h], memory_order_relaxed))
 *         return real_fn(args...);
 */
extern _Atomic int wg_armed[WG_HOOK_COUNT];

/* ---------------------------------------------------------------
 * Rules (rules.c).
 * ------------------------------------------------------------ */
enum wg_action {
    WG_ACT_DELAY,           /* delay MIN[..MAX] */
    WG_ACT_FAIL_ERRNO,      /* fail ECONNRESET (sockets), fail EBUSY (mutex.trylock) */
    WG_ACT_FAIL_SQLSTATE,   /* fail sqlstate 40001 (pq hooks) */
    WG_ACT_FAIL_DISCONNECT, /* fail disconnect (pq hooks) */
    WG_ACT_SHORT,           /* short N (sock.send / sock.recv) */
    WG_ACT_YIELD,           /* yield */
    WG_ACT_SPURIOUS,        /* spurious (cond.wait) */
    WG_ACT_BARRIER,         /* barrier NAME COUNT [timeout D] */
    WG_ACT_MARK,            /* mark NAME */
    WG_ACT_WAIT,            /* wait NAME [timeout D] */
    WG_ACT_LOG,             /* log */
    WG_ACT_HOLD,            /* hold NAME [ceiling D]: until `wedge ctl release NAME` */
};

enum wg_cond_kind {
    WG_COND_SQL,    /* sql ~ "regex" */
    WG_COND_PORT,   /* port = 5432          (peer port of the socket) */
    WG_COND_PEER,   /* peer = 127.0.0.1:8080 */
    WG_COND_CALLER, /* caller ~ "regex"     (a function on the stack) */
    WG_COND_THREAD, /* thread = N */
    WG_COND_PROC,   /* proc ~ "regex"       (program name) */
    WG_COND_HTTP,   /* http ~ "regex"       (request line of the socket's HTTP/1.x exchange) */
    WG_COND_REDIS,  /* redis ~ "regex"      (RESP command of the socket's exchange) */
    WG_COND_DATA,   /* data ~ "regex"       (first bytes of this send / recv) */
};

enum wg_cmp { WG_CMP_EQ, WG_CMP_NE, WG_CMP_MATCH, WG_CMP_NOMATCH };

struct wg_cond {
    enum wg_cond_kind kind;
    enum wg_cmp cmp;
    char *text;    /* the literal as written (regex source, address) */
    regex_t re;    /* compiled when cmp is MATCH / NOMATCH */
    long num;      /* port, thread */
    int line, col; /* where the condition starts, for messages */
    /* Set at start by match_prepare, never in a hook (regexec allocates):
     * caller ~: the pattern's bit in the symbol tables' masks;
     * proc ~: 1 when the program's name matched. */
    int pre;
    struct sockaddr_storage addr; /* peer */
    socklen_t addrlen;
};

#define WG_MAX_CONDS          8
#define WG_MAX_RULES          10000 /* a rule set; each rule is ~2 KB per process */
#define WG_NAME_MAX           64
#define WG_DEFAULT_TIMEOUT_NS 1000000000ull /* every wait: 1 s unless told */
/* hold's safety ceiling unless told (docs/rules.md): 5 minutes */
#define WG_HOLD_CEILING_NS (300ull * WG_DEFAULT_TIMEOUT_NS)

enum wg_when { WG_BEFORE = 0, WG_AFTER = 1 };

struct wg_rule {
    int index;              /* 0-based position in the rule set */
    char name[WG_NAME_MAX]; /* "NAME:" prefix, or "rule<N>" (1-based) */
    int line, col;          /* where the rule starts in its text */
    int src_off, src_len;   /* the rule's span in its text (comment included) */
    enum wg_action action;

    /* action arguments */
    uint64_t delay_min_ns, delay_max_ns; /* equal for a fixed delay */
    int err;                             /* errno value for fail ERRNO */
    char sqlstate[6];                    /* fail sqlstate XXXXX */
    long short_n;                        /* short N */
    char coord[WG_NAME_MAX];             /* barrier / mark / wait / hold name */
    unsigned count;                      /* barrier COUNT */
    uint64_t timeout_ns;                 /* barrier / wait timeout, hold ceiling */

    uint64_t hooks; /* bitmask: 1ull << WG_HOOK_x for every hook named */
    enum wg_when when;

    struct wg_cond conds[WG_MAX_CONDS];
    int ncond;

    /* frequency; 0 / absent means "no constraint" */
    int has_p;
    double p;       /* p=0.2 */
    uint64_t nth;   /* nth 3: only the 3rd hit */
    uint64_t every; /* every 5: hits 5, 10, 15 ... */
    uint64_t first; /* first 10: hits 1..10 */
    uint64_t after; /* after 100: hits 101 ... */
    uint64_t times; /* times 1: at most this many fires in the process */
};

/* The runtime counters of one rule, per process (reset in a forked
 * child): beside the const parsed rule, in an array indexed by rule. */
struct wg_rule_state {
    _Atomic uint64_t hits;  /* calls whose hook and conditions matched */
    _Atomic uint64_t fires; /* hits that were injected */
};

struct wg_ruleset {
    struct wg_rule *rules;
    int n;
    uint64_t hooks; /* union of every rule's hooks */
};

/*
 * Parse rule text (one rule a line or ';' between rules, '#' comments).
 * `origin` names the text in messages ("rules" for WEDGE_RULES, the file
 * name for WEDGE_RULES_FILE).  On error returns -1 and writes
 *     "<origin>:LINE:COL: message"
 * into err (the message says what was expected; no "wedge: " prefix).
 * Allocates; call from the constructor or a test, never from a hook.
 */
int rules_parse(const char *text, const char *origin, struct wg_ruleset *out, char *err,
                size_t errlen);
void rules_free(struct wg_ruleset *rs);
/* Name of errno value err as rules spell it ("ECONNRESET"), NULL if none. */
const char *rules_errno_name(int err);

/* ---------------------------------------------------------------
 * Decisions (decide.c).  Pure functions of (seed, rule index, counter).
 * ------------------------------------------------------------ */

/* 64-bit mix of its inputs (splitmix64 style). */
uint64_t decide_hash(uint64_t seed, uint64_t rule_index, uint64_t n, uint64_t salt);

/*
 * Count one hit of rule r in its counters st and decide whether it fires.
 * Thread-safe (atomics only, no lock, no allocation).  *hit_out gets the
 * 1-based hit number, the counter the decision was made on.  Returns 1
 * to fire.
 */
int decide_take(const struct wg_rule *r, struct wg_rule_state *st, uint64_t seed,
                uint64_t *hit_out);

/* The delay for hit `hit` of rule r: in [delay_min_ns, delay_max_ns]. */
uint64_t decide_delay_ns(const struct wg_rule *r, uint64_t seed, uint64_t hit);

/* ---------------------------------------------------------------
 * Calls and matching (match.c, caller.c).
 * ------------------------------------------------------------ */
struct wg_call {
    int hook;           /* WG_HOOK_x */
    int fd;             /* socket hooks; -1 otherwise */
    const char *sql;    /* pq hooks: statement text, NULL if none */
    const void *conn;   /* pq hooks: the PGconn */
    const char *detail; /* what the trace line shows in "detail" (redacted) */
    /* sock.connect, sendto: the address the call goes to.  When set,
     * port = and peer = match it instead of getpeername(fd), which has no
     * answer before a connect (nor on an unconnected datagram socket). */
    const struct sockaddr *addr;
    socklen_t addrlen;
    /* Set by a wrapper that cannot apply `fail sqlstate` at this call (an
     * `after pq.query` in pipeline mode): such a rule is traced with
     * outcome "skipped" and this reason, and not counted as fired. */
    const char *no_sqlstate;
    /* The object the call works on, traced as "obj" (the lock of a
     * mutex.* / rwlock.* call, the mutex a cond.wait releases, the
     * condition of cond.signal); NULL when none.  pq hooks trace their
     * PGconn instead: conn is their session. */
    const void *obj;
    /* sock hooks, set only when some rule has a content condition
     * (wire.c): the request line of the HTTP/1.x exchange the call
     * belongs to, the Redis command of its exchange, and the first bytes
     * of this call's data as text.  NULL: none known. */
    const char *http;
    const char *redis;
    const char *data;
    /* cond.wait: this thread's previous wait on this condition variable
     * returned spuriously and nothing has woken it since; a `spurious`
     * rule does not apply, so a correct `while` loop waits for real. */
    int no_spurious;
};

/* 1 if every condition of r holds for call c.  Hook-safe once
 * match_prepare has run for r's rule set. */
int match_rule(const struct wg_rule *r, const struct wg_call *c);

/*
 * Prepare a parsed rule set for matching in hooks: the results that need
 * regexec (proc ~) and the caller ~ patterns' symbol tables (caller.c).
 * stacks: trace events will want stack names (build the tables even
 * without a caller ~ rule).  A caller ~ pattern no known function matches
 * is reported through warn ("ORIGIN:LINE:COL: ...", no "wedge: ").
 * Call outside hooks, once per rule set.  -1 with err filled when the
 * rules cannot be prepared.
 */
int match_prepare(struct wg_ruleset *rs, const char *origin, int stacks,
                  void (*warn)(const char *msg), char *err, size_t errlen);
/* caller.c: the caller ~ half of match_prepare. */
int caller_prepare(struct wg_ruleset *rs, const char *origin, int stacks,
                   void (*warn)(const char *msg), char *err, size_t errlen);
/* 1 if a function on the current stack (inlined ones included) matches
 * the caller ~ pattern with bit `bit` (cd->pre).  Hook-safe. */
int caller_match(int bit, int want_match);
/* Up to max names of the current stack, innermost first: inlined
 * functions as frames of their own, the shim's frames skipped, thread
 * start frames as "(thread start)".  Names without a symbol are formatted
 * into buf ("libfoo.so.1+0x1234").  Hook-safe.  Returns how many. */
int caller_stack(const char **names, int max, char *buf, size_t buflen);

/* 1-based number of the calling thread in this process, in the order
 * threads first reached an armed hook; stable for the thread's life. */
int wg_thread_index(void);
/* Short program name (as /proc/self/comm), set at init. */
extern char wg_proc_name[64];

/* ---------------------------------------------------------------
 * Engine (engine.c): the slow path of every wrapper.
 * ------------------------------------------------------------ */

/* What a wrapper must do itself after wg_before / wg_after. */
struct wg_verdict {
    enum wg_action action; /* WG_ACT_LOG when nothing is left to do */
    int err;
    long short_n;
    char sqlstate[6];
    const struct wg_rule *rule;
};

/* Evaluate the rules for call c at `when`.  Delay, yield, barrier, mark,
 * wait and log are carried out here; fail / short / spurious are returned
 * for the wrapper to apply.  Returns 1 when *v holds such an action. */
int wg_eval(struct wg_call *c, enum wg_when when, struct wg_verdict *v);
/* The process is finishing (finish.c): from now on wg_eval evaluates
 * nothing.  Waits up to timeout_ns for the evaluations under way to end,
 * but not for calls held in a delay, barrier or wait (they write no
 * further line).  Returns how many evaluations are still in flight:
 * held, or busy past the timeout. */
long wg_eval_close(uint64_t timeout_ns);
/* A forked child: no evaluation is under way in it. */
void wg_eval_atfork_child(void);

/* ---------------------------------------------------------------
 * Coordination (coord.c): barriers, marks and waits shared by every
 * thread and process of a run through the control file WEDGE_CTL (an
 * anonymous shared mapping when unset: threads and forked children).
 * Futex based; every wait bounded; no allocation on the call path.
 * ------------------------------------------------------------ */
enum coord_outcome { COORD_RELEASED, COORD_TIMEOUT, COORD_ERROR };

/* Map the control file (created complete, 0600, if missing; an existing
 * one only when it is ours and a wedge control file of this layout, else
 * it is left untouched), or an anonymous shared region when path is NULL.
 * -1 with errno and the reason in why on failure. */
int coord_init(const char *path, char *why, size_t whylen);
/* Hold until `count` callers have arrived at barrier `name`, or timeout.
 * A caller that times out withdraws its arrival. */
enum coord_outcome coord_barrier(const char *name, unsigned count, uint64_t timeout_ns,
                                 uint64_t *waited_ns);
/* Record that point `name` was passed; wakes its waiters. */
void coord_mark(const char *name);
/* Hold until `name` has been marked at least once, or timeout. */
enum coord_outcome coord_wait(const char *name, uint64_t timeout_ns, uint64_t *waited_ns);
/* A hold at point name, in two steps: arm (the point's word and its
 * value now, in *v0; NULL when the table is full), then hold until a
 * `wedge ctl release name` moves the word on from v0, or the ceiling
 * (COORD_TIMEOUT).  Armed before the caller is listed as held, so a
 * release that follows the listing always lets it go. */
_Atomic uint32_t *coord_hold_arm(const char *name, uint32_t *v0);
enum coord_outcome coord_hold(_Atomic uint32_t *w, uint32_t v0, uint64_t ceiling_ns,
                              uint64_t *waited_ns);
/* The control file's region when coord_init mapped a file, else NULL
 * (an anonymous region: nothing outside the process reaches it). */
struct ctlf_region *coord_file_region(void);

/* ---------------------------------------------------------------
 * Live control (ctl.c): what `wedge ctl` sees and changes in the
 * control file.  See ctl.c for the contract of each.
 * ------------------------------------------------------------ */
struct wg_rule_state *ctl_attach(const struct wg_ruleset *rs, const char *text);
void ctl_detach(void);
int ctl_atfork_child(void);
void ctl_sync(int hook);
int ctl_rule_off(int i);
int ctl_held_begin(const struct wg_call *c, const struct wg_rule *r);
void ctl_held_end(int slot);
/* The control file's generation, NULL when not attached; ctl_seen: the
 * one this process has taken up. */
extern _Atomic uint32_t *ctl_gen;
extern uint32_t ctl_seen;
/* 1 when `wedge ctl add` changed the rules since this process looked:
 * two loads, on the slow path only. */
static inline int ctl_changed(void)
{
    _Atomic uint32_t *g = ctl_gen;
    return g && atomic_load_explicit(g, memory_order_relaxed) != ctl_seen;
}

/* ---------------------------------------------------------------
 * Trace (trace.c): WEDGE_TRACE/trace.PID.jsonl, one JSON line per
 * injection written with a single write(2) (raw syscall: never re-enters
 * a hook) before the action completes, and a summary line at exit.
 * ------------------------------------------------------------ */
struct wg_event {
    int hook;
    const struct wg_rule *rule;
    const char *action;  /* "delay", "barrier", "fail", ... */
    const char *outcome; /* "fired", "released", "timeout", "error" */
    uint64_t waited_ns;  /* planned delay, or time held at a barrier/wait */
    uint64_t hit;        /* the rule's hit counter the decision used */
    const char *detail;  /* SQL text, peer address, errno name...; may be NULL */
    int with_stack;      /* add "stack":[...] (caller_stack) */
    const void *obj;     /* "obj":"0x.." (lock, PGconn); NULL: not traced */
    int fd;              /* "fd":N on sock hooks when >= 0 */
};

/* The cap on a trace file's size: once an event line would pass it, one
 * record says so and later event lines are only counted (the summary's
 * "dropped"); the summary is written regardless.  Default
 * WG_TRACE_MAX_DEFAULT. */
#define WG_TRACE_MAX_DEFAULT (1024ull * 1024 * 1024)
void trace_set_max(uint64_t bytes);
/* Open trace.PID.jsonl in dir (again in a forked child); dir NULL: off.
 * The file is created 0600, never through a symlink, in a directory of
 * ours (safefile.h); -1 with errno and the reason in why otherwise. */
int trace_open(const char *dir, char *why, size_t whylen);
int trace_enabled(void);
void trace_event(const struct wg_event *ev);
/* A warning line ({"ts_ns":..,"pid":..,"warning":msg}) in the trace. */
void trace_warning(const char *msg);
/* Mutex contention profile: `site` is the lock call's return address. */
void trace_mutex_wait(void *site, uint64_t waited_ns, int contended);
/* The exit summary, the last line of the trace: how the process ended
 * (`end`: "exit", "SIGTERM"), calls per hook, hits and fires per rule, how
 * many calls were still held in an action (in_flight), event lines the
 * cap dropped, and the mutex profile.  After it no event line
 * is written. */
void trace_summary(const struct wg_ruleset *rs, struct wg_rule_state *st /* [rs->n] */,
                   const uint64_t *calls /* [WG_HOOK_COUNT] */, const char *end, long in_flight);

/* Per-thread reentrancy guard: hooks called from inside the shim itself
 * (libunwind, regexec, dlsym) pass straight through. */
extern __thread int wg_in_shim __attribute__((tls_model("initial-exec")));

extern uint64_t wg_seed;

#endif

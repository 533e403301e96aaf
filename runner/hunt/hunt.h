/*
 * hunt.h - `wedge hunt`: find a race nobody wrote a rule for.
 *
 * The room's parts, bottom up (each knows only those before it):
 *   hunt_pool.c    interned strings (names compare by pointer)
 *   hunt_sql.c     what a statement reads, writes, locks and guards
 *   hunt_elf.c     the functions an executable defines
 *   hunt_obs.c     an observation: shim trace lines and the run's history,
 *                  statements and lock calls attributed to requests
 *   hunt_cat.c     the schema's catalog: unique keys, numbers to conserve
 *   hunt_cand.c    candidate windows from SQL, ranked, each a set of rules
 *   hunt_lock.c    candidate windows from locks; deadlocks in a trace
 *   hunt_scn.c     scenario files derived from the user's (rules, load)
 *   hunt_exec.c    one `wedge run` of a derived scenario, its verdict
 *   hunt_out.c     report.md and summary.json of a hunt
 *   hunt_loop.c    observe, confirm, shrink: the search itself
 * cli/hunt.c parses the command line and calls hunt_search.
 *
 * Nothing here is thread-safe: a hunt is one thread driving child runs.
 */
#ifndef WEDGE_HUNT_H
#define WEDGE_HUNT_H

#include <stddef.h>
#include <stdint.h>

#include "scn.h"
#include "timeunit.h"

/* ---------------------------------------------------------------
 * Statements (hunt_sql.c).  Pure functions.
 * ------------------------------------------------------------ */
enum hunt_verb {
    HV_OTHER,
    HV_SELECT,
    HV_INSERT,
    HV_UPDATE,
    HV_DELETE,
    HV_BEGIN,
    HV_COMMIT,
    HV_ROLLBACK,
    HV_SET,
};

#define HUNT_IDENT 64
#define HUNT_COLS  8

struct hunt_stmt {
    enum hunt_verb verb;
    char verb_text[16];               /* the verb as written ("SELECT", "select") */
    char table[HUNT_IDENT];           /* written table, or the first table read */
    char table_text[HUNT_IDENT];      /* as written, for regexes */
    char kw_text[16];                 /* the keyword before it as written: FROM, INTO */
    int locking;                      /* FOR UPDATE / SHARE / NO KEY UPDATE / KEY SHARE */
    int guarded;                      /* a write whose WHERE checks more than one key */
    int strong;                       /* REPEATABLE READ or SERIALIZABLE set here */
    char cols[HUNT_COLS][HUNT_IDENT]; /* SELECT: columns compared with = in WHERE;
                                         * INSERT: its column list */
    int ncols;
};

/* Classify sql (parameters stay $N).  Never fails: what it cannot read
 * is HV_OTHER.  Identifiers are lowercased unless quoted. */
void hunt_stmt_parse(const char *sql, struct hunt_stmt *st);
/* 1 when st reads a table and could be the check of a check-then-act. */
int hunt_stmt_is_read(const struct hunt_stmt *st);
/* 1 when st writes st->table (INSERT, UPDATE, DELETE). */
int hunt_stmt_is_write(const struct hunt_stmt *st);

/* Regex (POSIX ERE, for `sql ~`) matching the statement sql as sent: its
 * start, metacharacters escaped, runs of blanks as " +".  malloc'd. */
char *hunt_re_statement(const char *sql);
/* Regex matching any statement of st's verb on st's table, e.g.
 * "^SELECT .*FROM +inventory\b"; NULL when st has no table.  malloc'd. */
char *hunt_re_verb_table(const struct hunt_stmt *st);
/* "^name$" with metacharacters escaped, for `caller ~`.  malloc'd. */
char *hunt_re_exact(const char *name);
/* "^(a|b)$" for two function names.  malloc'd. */
char *hunt_re_either(const char *a, const char *b);

/* ---------------------------------------------------------------
 * String interning (hunt_pool.c): names and statements of an
 * observation compare by pointer.
 * ------------------------------------------------------------ */
struct hunt_pool {
    const char **slot;
    size_t cap, n;
};

const char *hunt_intern(struct hunt_pool *p, const char *s);
void hunt_pool_free(struct hunt_pool *p);

/* The functions ELF executable path defines (hunt_elf.c), interned in
 * pool, in the order hunt_elf_has searches; *out NULL and 0 when path is
 * not a 64-bit ELF file. */
size_t hunt_elf_funcs(const char *path, struct hunt_pool *pool, const char ***out);
/* 1 when interned name is among names[0..n). */
int hunt_elf_has(const char **names, size_t n, const char *interned);

/* ---------------------------------------------------------------
 * An observation (hunt_obs.c).
 * ------------------------------------------------------------ */
enum hunt_ev_kind {
    HE_SQL,       /* a statement sent (pq.query before) */
    HE_WANT,      /* a thread asks for a mutex (mutex.lock before) */
    HE_LOCK,      /* ...and holds it (mutex.lock after) */
    HE_UNLOCK,    /* mutex.unlock */
    HE_WAIT,      /* cond.wait: the mutex is released and taken again */
    HE_SEND,      /* sock.send */
    HE_INJECTION, /* a line of some other rule (a candidate's barrier) */
};

/* The port of a libpq connection string ("port=N" or a URI's :N), 0 when
 * it names none. */
int hunt_dsn_port(const char *dsn);
/* The log rules of an observing run: hunt_obs_rules() is their text and
 * the trace reader tells the kinds apart by these names. */
#define HUNT_OBS_SQL    "hunt-obs-sql"
#define HUNT_OBS_WANT   "hunt-obs-want"
#define HUNT_OBS_LOCK   "hunt-obs-lock"
#define HUNT_OBS_UNLOCK "hunt-obs-unlock"
#define HUNT_OBS_WAIT   "hunt-obs-wait"
#define HUNT_OBS_SEND   "hunt-obs-send"

struct hunt_ev {
    uint64_t ts; /* CLOCK_REALTIME, ns */
    int pid, tid;
    enum hunt_ev_kind kind;
    uintptr_t obj;      /* lock, PGconn; 0 none */
    int fd;             /* sock.*; -1 none */
    const char *detail; /* statement, peer (interned); NULL none */
    const char **stack; /* interned names, innermost first */
    int nstack;
    int site;               /* index in stack of the first function of the program; -1 */
    int proc;               /* index in obs->procs */
    int req;                /* request served (index in obs->reqs); -1 */
    int thread;             /* index in obs->threads */
    const char *rule;       /* HE_INJECTION: the rule's name */
    const char *outcome;    /* HE_INJECTION: released, timeout, ... */
    struct hunt_stmt *stmt; /* HE_SQL: the statement's classification */
};

struct hunt_req {
    uint64_t t0, t1;   /* invoke and outcome, CLOCK_REALTIME ns; t1 0: none */
    const char *label; /* "POST /orders" */
    int user;
    long status;
    char type; /* 'o' ok, 'f' fail, 'i' info (5xx, timeout), '?' no outcome */
    const char *error;
};

struct hunt_proc {
    int pid;
    const char *service; /* the scenario's service, NULL if unknown */
    const char *comm;    /* program name from the trace summary */
    const char **funcs;  /* sorted interned names of its executable's functions */
    size_t nfuncs;       /* 0: unknown, every frame counts as the program's */
    int background;      /* 1 when it has threads outside every request */
};

/* One thread's calls: obs->order[first .. first + n) in time order. */
struct hunt_thread {
    int pid, tid, proc;
    int background; /* works outside every request: serves none */
    size_t first, n;
};

struct hunt_obs {
    struct hunt_pool pool;
    struct hunt_ev *ev; /* in time order */
    size_t nev, cap;
    size_t *order; /* event indices by thread, then time */
    struct hunt_thread *threads;
    int nthreads;
    struct hunt_req *reqs;
    size_t nreqs;
    struct hunt_proc *procs;
    int nprocs;
    struct hunt_stmt **stmts; /* one per distinct statement text */
    size_t nstmts;
    uint64_t load_t0;  /* CLOCK_REALTIME ns of the load's start */
    int db_port;       /* sends there are statements (0: unknown) */
    int svc_ports[64]; /* sends there are calls to another service of the scenario */
    int nsvc_ports;
};

/* Where a run's processes came from: service names by pid (the "service
 * NAME ready (pid N" lines of `wedge run`) and each service's executable. */
struct hunt_svcmap {
    int n;
    int pids[64];
    int ports[64]; /* the port each listens on */
    const char *names[64];
    const char *exes[64]; /* by service index of the scenario, NULL unknown */
};

/* The log rules that make a run an observation. */
const char *hunt_obs_rules(void);
/* Read run_dir's traces/ and history.jsonl (and summary.json for the load's
 * start) into obs.  0, or -1 with err. */
int hunt_obs_load(struct hunt_obs *obs, const char *run_dir, const struct scenario *s,
                  const struct hunt_svcmap *map, char *err, size_t errlen);
void hunt_obs_free(struct hunt_obs *obs);
/* 1 when function name f belongs to process p's own executable. */
int hunt_obs_is_program(const struct hunt_obs *obs, int proc, const char *f);
enum hunt_send { HS_SEND_DB, HS_SEND_SERVICE, HS_SEND_CLIENT };
/* Where send e goes: the database, another service of the scenario (a
 * side effect), or anyone else (the load's client: the answer that ends a
 * request). */
enum hunt_send hunt_send_to(const struct hunt_obs *obs, const struct hunt_ev *e);
/* The threads' program frame that best names the path of event e: the
 * innermost program function that not every statement of the process
 * passes through (db_exec is everywhere; stock_take is not); NULL none. */
const char *hunt_obs_path_fn(const struct hunt_obs *obs, const struct hunt_ev *e);
/* The typical gap between arrivals at a point: the median interval of the
 * sorted times ts[0..n); 0 when n < 2. */
uint64_t hunt_gap_ns(uint64_t *ts, size_t n);
/* A delay that keeps a request in its window until the next one arrives
 * gap_ns later: 1.5 gaps, within [HUNT_DELAY_MIN, HUNT_TIMEOUT_MAX]. */
uint64_t hunt_delay_ns(uint64_t gap_ns);
/* A barrier's timeout for arrivals gap_ns apart: 3 gaps, within
 * [HUNT_TIMEOUT_MIN, HUNT_TIMEOUT_MAX]. */
uint64_t hunt_timeout_ns(uint64_t gap_ns);
#define HUNT_TIMEOUT_MIN (50 * NS_PER_MS)
#define HUNT_DELAY_MIN   (20 * NS_PER_MS)
#define HUNT_TIMEOUT_MAX (2 * NS_PER_S)

/* ---------------------------------------------------------------
 * The schema's catalog (hunt_cat.c), read from a database that holds
 * the scenario's schema and fixtures.
 * ------------------------------------------------------------ */
struct hunt_key {
    char table[HUNT_IDENT];
    char cols[HUNT_COLS][HUNT_IDENT];
    int ncols;
};

struct hunt_cat {
    int ok;                /* 0: no catalog (every check-then-insert counts as unprotected) */
    struct hunt_key *keys; /* primary keys and unique indexes */
    int nkeys;
    char **offered; /* "NAME = SQL" invariant templates the user may confirm */
    int noffered;
};

/* Read the unique keys of every table of dsn's public schema and offer
 * invariant templates: no duplicate rows by a natural key, sums
 * conserved.  0, or -1 with err (cat->ok stays 0). */
int hunt_cat_load(struct hunt_cat *cat, const char *dsn, char *err, size_t errlen);
void hunt_cat_free(struct hunt_cat *cat);
/* 1 when a unique key of table lies within cols[0..n): rows checked by
 * those columns cannot be inserted twice. */
int hunt_cat_unique_within(const struct hunt_cat *cat, const char *table,
                           const char (*cols)[HUNT_IDENT], int n);

/* ---------------------------------------------------------------
 * Candidates (hunt_cand.c, hunt_lock.c).
 * ------------------------------------------------------------ */
enum hunt_kind {
    HK_LOST_UPDATE,   /* read, then an unguarded write of the same table, one request */
    HK_CONSUMERS,     /* the same in background threads: two consumers take one row */
    HK_CHECK_INSERT,  /* read, then INSERT, with no unique key behind the check */
    HK_DOUBLE_SUBMIT, /* two copies of a request aligned before its first write */
    HK_LOCK_ORDER,    /* two paths take two locks in opposite orders */
    HK_ATOMICITY,     /* a lock released and taken again within one request */
    HK_COND_WAIT,     /* a condition wait: does it survive a spurious wakeup? */
    HK_GUARDED,       /* read, then a guarded write or a keyed insert: expected to hold */
    HK_SIDE_EFFECT,   /* read, then a call to another service, then the (guarded) write */
    HK_NKINDS
};

/* The short name of kind k ("lost-update"). */
const char *hunt_kind_name(enum hunt_kind k);

enum hunt_clause { HC_SQL_FULL = 1, HC_SQL_SHORT = 2, HC_CALLER = 4, HC_PROC = 8 };

#define HUNT_MAX_RULES 2

enum hunt_action { HA_BARRIER, HA_SPURIOUS, HA_DELAY };

struct hunt_rule {
    enum hunt_action act; /* barrier NAME count timeout ns; spurious; delay ns */
    unsigned count;
    uint64_t ns;
    const char *hook; /* "pq.query" */
    int after;
    char *sql_full;  /* the statement's start, or NULL */
    char *sql_short; /* its verb and table, or NULL */
    char *caller;    /* the path's function(s), or NULL */
    char *proc;      /* the program, when no service section can hold the rule */
    unsigned use;    /* the clauses in effect: HC_* */
};

enum hunt_status {
    HS_UNTRIED,
    HS_FOUND,        /* broke an invariant on every confirming seed */
    HS_HELD,         /* held on the first seed */
    HS_FLAKY,        /* broke on some seeds, not all */
    HS_INCONCLUSIVE, /* a run could not judge */
    HS_SKIPPED,      /* not a candidate: listed with the reason */
};

struct hunt_cand {
    int rank; /* 1-based, best first */
    enum hunt_kind kind;
    int score;
    unsigned seen;              /* times the window was observed */
    const char *service;        /* [service NAME] the rules go to; NULL: [scenario] */
    const char *proc;           /* its program name */
    char *title;                /* "lost update on inventory" */
    const char *first, *second; /* the two statements or call sites */
    const char *req;            /* the requests' label, NULL: background threads */
    const char *why_not;        /* HS_SKIPPED: the reason */
    uint64_t gap_ns, timeout_ns;
    struct hunt_rule rules[HUNT_MAX_RULES];
    int nrules;
    /* the confirmation (hunt_loop.c) */
    enum hunt_status status;
    int runs, broke; /* runs with the rule, of which broke an invariant */
    int plain_broke; /* -1 not run; 1 broke without the rule too */
    char *broken;    /* invariants broken, "a, b" */
    unsigned fires;  /* injections of its rules over its runs */
    double seconds;  /* wall time of its runs (confirm, plain, shrink) */
    char *note;      /* a deadlock, a hang, a rule that never fired */
    /* scratch of the generators: arrival times at the window, threads */
    uint64_t *arrive;
    size_t narrive, carrive;
    int threads[8], nthreads;
};

struct hunt_cands {
    struct hunt_cand *c;
    int n;
};

/* The SQL windows of obs (read-then-write, check-then-insert, consumers,
 * double submit), appended to out. */
void hunt_cand_sql(const struct hunt_obs *obs, const struct hunt_cat *cat, struct hunt_cands *out);
/* The lock windows of obs (lock-order inversions, atomicity violations,
 * condition waits), appended to out (hunt_lock.c). */
void hunt_cand_locks(const struct hunt_obs *obs, struct hunt_cands *out);
/* Size the barriers of cs->c[from..] from their arrivals (3 median gaps,
 * the requests' own gap when seen once); demote a consumer window that one
 * thread alone opened. */
void hunt_cand_size(struct hunt_cands *cs, int from, const struct hunt_obs *obs);
/* Best first (score, then how often seen); numbers them and names their
 * barriers hunt-RANK; skipped ones last. */
void hunt_cand_rank(struct hunt_cands *cs);
/* A deadlock in obs (threads each holding a mutex another one waits for,
 * from the log rules' lines), in words; NULL when there is none. */
char *hunt_deadlock(const struct hunt_obs *obs);
/* Count one time the window of c was reached (at ts, by thread: -1 when
 * threads do not matter). */
void hunt_cand_arrive(struct hunt_cand *c, uint64_t ts, int thread);
/* A new rule of c (a barrier's count 2), with a proc ~ clause when no
 * service section can hold it; the caller sets what it aims at. */
struct hunt_rule *hunt_cand_rule(struct hunt_cand *c, enum hunt_action act, const char *hook,
                                 int after);
/* A new, empty candidate at the end of cs. */
struct hunt_cand *hunt_cand_add(struct hunt_cands *cs, enum hunt_kind kind, int score);
void hunt_cands_free(struct hunt_cands *cs);
/* Rule r as rule-language text, "LABEL: ACTION on HOOK where ... [after]",
 * with the clauses r->use holds; a barrier is named coord.  malloc'd. */
char *hunt_rule_text(const struct hunt_rule *r, const char *label, const char *coord);
/* Every rule of c, joined with " ; ".  malloc'd. */
char *hunt_cand_rules(const struct hunt_cand *c);
/* A duration as rules write it: "150ms", "2s". */
void hunt_fmt_duration(uint64_t ns, char *out, size_t len);
/* A database for the catalog: a fresh wedge_hunt_catalog_PID on admin_dsn
 * with the scenario's schema and fixtures; its DSN in dsn.  0, or -1 with
 * err. */
int hunt_cat_db(const char *admin_dsn, const struct scenario *s, char *dsn, size_t dsnlen,
                char *err, size_t errlen);

/* ---------------------------------------------------------------
 * Scenario files derived from the user's (hunt_scn.c).  Text in, text
 * out: comments, order and everything hunt does not touch stay as the
 * user wrote them, so found-N.scn reads like the original.
 * ------------------------------------------------------------ */
struct hunt_edit {
    int drop_rules;        /* the scenario's own rules are left out (--no-rules) */
    const char *scn_rules; /* added to [scenario] rules (every process) */
    const char *svc;       /* the service whose rules get svc_rules; NULL: [scenario] */
    const char *svc_rules;
    const char *users, *rate, *duration, *iterations; /* load, as on wedge run's line */
    const char *const *invariants;                    /* "NAME = ..." lines added to [invariants] */
    int ninvariants;
    const char *name;    /* [scenario] name, or NULL to keep it */
    const char *comment; /* "; ..." lines put first, or NULL */
};

/* The text of scenario src (its file's text; its directory dir) with edit
 * e applied; relative paths (schema, rules_file) and ${scenario_dir} are
 * made absolute so the result runs from any directory.  malloc'd. */
char *hunt_scn_text(const char *src, const char *dir, const struct hunt_edit *e);

/* ---------------------------------------------------------------
 * One run of a derived scenario (hunt_exec.c): `wedge run FILE --dsn
 * ADMIN --seed S --out DIR` as a child, its output in DIR/wedge-run.log.
 * ------------------------------------------------------------ */
struct hunt_run {
    int code;       /* wedge run's exit code (0 1 2 3); 3 when it could not run */
    double seconds; /* wall time */
    char *broken;   /* the invariants that failed, "a, b"; NULL none */
    char *error;    /* why the run could not judge, or NULL */
    unsigned fires, released, timeouts; /* injections of the candidate's rules */
    uint64_t requests, info;            /* requests, and those 5xx / timed out */
    long pg_deadlocks;                  /* deadlocks PostgreSQL detected in the run's database */
    char *pg_waits;                     /* the longest lock wait sampled in pg_stat_activity */
    struct hunt_svcmap map;
};

/* Run scenario file scn with seed into dir against the PostgreSQL server
 * admin_dsn, waiting at most limit_ns (then SIGTERM, SIGKILL).  Fills
 * *out (hunt_run_free releases it).  Forwards an interrupt (util_stop). */
void hunt_exec(const char *scn, uint64_t seed, const char *dir, const char *admin_dsn,
               uint64_t limit_ns, struct hunt_run *out);
void hunt_run_free(struct hunt_run *r);

/* ---------------------------------------------------------------
 * The search (hunt_loop.c) and its report (hunt_out.c).
 * ------------------------------------------------------------ */
struct hunt_opts {
    const char *path;
    int no_rules;   /* leave the scenario's own rules out */
    int quiet;      /* no progress on stderr */
    int json;       /* summary.json on stdout */
    int keep_going; /* after a find, go on with the other candidates */
    uint64_t seed;
    int has_seed;
    unsigned budget_runs; /* runs in all, observing included; 0: no bound */
    uint64_t budget_ns;   /* wall time; 0: no bound */
    const char *users, *rate, *duration, *iterations; /* the load, as given */
    const char *dsn; /* a PostgreSQL server instead of a throwaway cluster */
    const char *out;
};

#define HUNT_SEEDS 3 /* a find breaks an invariant on each of this many seeds */

/* What a hunt found, for the report. */
struct hunt_result {
    const char *scenario; /* its name and path */
    const char *path;
    const char *out;
    uint64_t seeds[HUNT_SEEDS];
    unsigned runs;
    double seconds;
    double observe_seconds; /* the observing run's wall time */
    int exit_code;
    int budget_out;            /* the budget ran out before every candidate was tried */
    int interrupted;           /* the signal that stopped the hunt, 0 none */
    const char *observe_broke; /* invariants the observing run broke with no rule */
    const char *observe_error;
    unsigned statements, requests, lock_calls, threads;
    const struct hunt_cands *cands;
    const struct hunt_cat *cat;
    const char *const *generic; /* invariants hunt added (the scenario had none) */
    int ngeneric;
    char *found_files[16]; /* by candidate order of finding */
    int found_cand[16];    /* index in cands */
    char *found_rules[16];
    char *shrunk_from[16]; /* the rule before shrinking, NULL unchanged */
    int nfound;
    const char *load; /* "--users 2 --rate 20" as given */
};

/* The exit code of a hunt: 1 a candidate found (3 of 3 seeds); 3 nothing
 * could be observed, every candidate tried was inconclusive, or one broke
 * an invariant on some seeds only (or on every seed it ran before the
 * budget ran out); else 0 (every candidate tried held, perhaps with the
 * budget spent before the last).  Pure. */
int hunt_verdict(const struct hunt_cands *cs, int observed);
/* The window of c in words (the two requests or threads, what each runs,
 * the interleaving the rule forces).  malloc'd. */
char *hunt_window_text(const struct hunt_cand *c);
/* Write out/report.md and out/summary.json; with json, the summary on
 * stdout too.  0, or -1 with err. */
int hunt_report(const struct hunt_result *r, int json, char *err, size_t errlen);
/* The whole hunt; returns its exit code. */
int hunt_search(const struct hunt_opts *o);

#endif

/*
 * ctlfile.h - the layout of a run's control file (WEDGE_CTL), shared by
 * the shim (coord.c, ctl.c), which coordinates and publishes through it,
 * and `wedge ctl`, which reads and steers it.  One definition, so the two
 * sides cannot disagree on an offset.
 *
 * The file is a fixed-size shared mapping, nothing in it is a lock a
 * program can hold: every field another process writes is an atomic, and
 * every table is claimed slot by slot with a compare-and-swap.
 *
 *   header   magic, version, size: a file of another layout is refused
 *   points   named barriers, marks and holds (one futex word each)
 *   gen      bumped by `wedge ctl add`: processes poll it on their slow
 *            path and take up the new rule
 *   rules    the rules of the run as `wedge ctl status` numbers them: each
 *            process's start rules (one entry per distinct text) and the
 *            rules added at run time; flags disable or remove one
 *   procs    one slot per attached process: pid, its counters per rule
 *            (indexed by its own rule number), which table entry each of
 *            its rules is, and the callers it holds right now
 *
 * Thread-safety: every function here is lock-free and allocation-free,
 * callable from a shim hook.
 */
#ifndef WEDGE_CTLFILE_H
#define WEDGE_CTLFILE_H

#include <stdatomic.h>
#include <stdint.h>

#define CTLF_MAGIC   "WEDGECTL"
#define CTLF_VERSION 2u
#define CTLF_POINTS  256 /* named points of a run */
#define CTLF_RULES   128 /* rules of a run; also each process's published counters */
#define CTLF_PROCS   64  /* processes attached at once */
#define CTLF_HELD    32  /* callers one process lists as held */
#define CTLF_NAME    64  /* a point's or rule's name, with its NUL (WG_NAME_MAX) */
#define CTLF_TEXT    256 /* a rule's text as status shows it */
#define CTLF_DETAIL  160 /* the statement or peer of a held call */

enum ctlf_kind { CTLF_KIND_BARRIER = 1, CTLF_KIND_MARK = 2, CTLF_KIND_HOLD = 3 };

/* The word of a point:
 *   barrier: generation << 8 | arrived  (the last arrival bumps the
 *            generation and wakes everyone)
 *   mark:    a counter of marks; a wait holds until it is > 0
 *   hold:    a counter of releases; a hold waits until it moves on */
struct ctlf_point {
    _Atomic uint64_t key;   /* ctlf_hash(kind, name); 0: free */
    _Atomic uint32_t ready; /* 1 once name is written */
    _Atomic uint32_t word;  /* the futex word (coord.c says what it counts) */
    uint32_t kind;
    char name[CTLF_NAME];
};

/* ctlf_rule.flags */
enum {
    CTLF_RULE_START = 1,   /* some process started with it */
    CTLF_RULE_ADDED = 2,   /* added by `wedge ctl add`: every process takes it up */
    CTLF_RULE_OFF = 4,     /* `wedge ctl disable`: evaluated by nobody */
    CTLF_RULE_REMOVED = 8, /* `wedge ctl remove`: off for good, not listed */
};

struct ctlf_rule {
    _Atomic uint64_t key;   /* hash of the whole text; 0: free */
    _Atomic uint32_t ready; /* 1 once name and text are written */
    _Atomic uint32_t flags; /* CTLF_RULE_* */
    char name[CTLF_NAME];
    char text[CTLF_TEXT]; /* cut at CTLF_TEXT - 1 bytes (status adds "...") */
};

/* A caller held at a barrier, wait or hold, as status lists it. */
struct ctlf_held {
    _Atomic uint32_t state; /* 0 free, 1 being written, 2 held */
    int32_t tid;
    int32_t hook;  /* the shim's hook number */
    int32_t rule;  /* the rules[] entry, -1 when unknown */
    uint32_t kind; /* ctlf_kind */
    uint32_t pad;
    uint64_t since_ns; /* CLOCK_MONOTONIC (system-wide) */
    char point[CTLF_NAME];
    char hook_name[32];
    char detail[CTLF_DETAIL];
};

struct ctlf_counts {
    _Atomic uint64_t hits, fires; /* laid out as the shim's struct wg_rule_state */
};

struct ctlf_proc {
    _Atomic int32_t pid;            /* 0: free */
    _Atomic uint32_t ready;         /* 1 once the slot is initialised */
    _Atomic uint32_t gen;           /* the generation this process has taken up */
    _Atomic uint32_t nrules;        /* rules in force in the process (its own numbering) */
    _Atomic uint32_t held_unlisted; /* held callers beyond CTLF_HELD */
    uint32_t pad;
    char name[CTLF_NAME];
    _Atomic int16_t rule_id[CTLF_RULES];   /* its rule i is rules[rule_id[i]], or -1 */
    struct ctlf_counts counts[CTLF_RULES]; /* its rule i's counters */
    struct ctlf_held held[CTLF_HELD];
};

struct ctlf_header {
    char magic[8];    /* CTLF_MAGIC, no NUL */
    uint32_t version; /* CTLF_VERSION: the layout below */
    uint32_t nslots;  /* CTLF_POINTS */
    uint64_t size;    /* sizeof(struct ctlf_region): the file's size */
};

struct ctlf_region {
    struct ctlf_header h;
    struct ctlf_point slots[CTLF_POINTS];
    _Atomic uint32_t gen;
    uint32_t pad;
    struct ctlf_rule rules[CTLF_RULES];
    struct ctlf_proc procs[CTLF_PROCS];
};

/* Fill a fresh header. */
void ctlf_header_init(struct ctlf_header *h);
/* FNV-1a of (kind, text), never 0. */
uint64_t ctlf_hash(uint32_t kind, const char *text);
/* The futex word of point (kind, name); claim: create it when missing.
 * NULL when absent (claim 0) or the table is full. */
_Atomic uint32_t *ctlf_point(struct ctlf_region *reg, uint32_t kind, const char *name, int claim);
/* Mark point name: its counter + 1, its waiters woken. */
void ctlf_mark(struct ctlf_region *reg, const char *name);
/* Let go of every caller held at point name now: holds (their counter
 * + 1) and a barrier's arrivals (a new generation, none arrived).
 * Returns how many kinds of point (0..2) have that name. */
int ctlf_release(struct ctlf_region *reg, const char *name);
/* Wake every waiter on a shared futex word. */
void ctlf_wake(_Atomic uint32_t *w);
/* The rules[] entry of text (hash key), claimed with flags and name when
 * missing (claim 1).  -1 when absent or the table is full. */
int ctlf_rule_find(struct ctlf_region *reg, const char *text, const char *name, uint32_t flags,
                   int claim);
/* 1 when process pid is alive (or not ours to signal). */
int ctlf_pid_alive(int32_t pid);

#endif

/*
 * iso_spec.h - isolation spec files: PostgreSQL's isolation tester's
 * language (src/test/isolation/specparse.y), and wedge's extensions for
 * the anomaly matrix (scenarios/isolation/NAME.spec).
 *
 * docs/isolation.md is the reference.  A spec is a list of items, `#`
 * starts a comment:
 *
 *   setup { SQL }                        repeatable, run on the control
 *   teardown { SQL }                     connection around each permutation
 *   session NAME                         one libpq connection each
 *     setup { SQL }                      optional, e.g. BEGIN
 *     step NAME { SQL }                  one or more
 *     teardown { SQL }                   optional
 *   permutation STEP STEP ...            the interleavings; none: all of them
 *                                        in the isolation tester's order
 *   A permutation's step may carry blocker annotations: STEP(OTHER) waits
 *   until OTHER has completed, STEP(*) is reported waiting once,
 *   STEP(OTHER notices N) waits for N notices from OTHER's session.
 *   Names are words or "quoted" ("" for a quote); only setup, teardown,
 *   session, step, permutation and notices are reserved.
 *
 * wedge's extensions, all optional; a spec with them is an anomaly spec,
 * run at each level into the matrix:
 *
 *   anomaly "P4"                         the matrix row
 *   description "lost update"            one line for the report
 *   expect read-committed occurs         one per level (all three)
 *   check { SQL }                        one boolean: true = anomaly occurred
 *
 * In check, ${STEP} is the first field of the first row STEP returned (a
 * quoted literal, or NULL), ${STEP.rows} its row count (rows returned or
 * affected, NULL on error), ${STEP.sqlstate} its SQLSTATE or NULL.
 *
 * Not thread-safe per spec; distinct specs may be used from distinct threads.
 */
#ifndef WEDGE_ISO_SPEC_H
#define WEDGE_ISO_SPEC_H

#include <stddef.h>

enum iso_level { ISO_READ_COMMITTED, ISO_REPEATABLE_READ, ISO_SERIALIZABLE, ISO_NLEVELS };

enum iso_outcome { ISO_UNSET = 0, ISO_OCCURS, ISO_PREVENTED, ISO_ERROR };

struct iso_session {
    char *name;
    char *setup;    /* NULL: none */
    char *teardown; /* NULL: none */
    int line;
};

struct iso_step {
    char *name;
    char *sql;
    int session; /* index into sessions */
    int line;
};

/* A blocker annotation of a permutation step (isolationtester's
 * PermutationStepBlocker): STEP(*), STEP(OTHER), STEP(OTHER notices N). */
enum iso_block { ISO_BLOCK_ONCE, ISO_BLOCK_STEP, ISO_BLOCK_NOTICES };

struct iso_blocker {
    enum iso_block kind;
    int step;    /* ISO_BLOCK_STEP, _NOTICES: the other step (index into steps) */
    int notices; /* ISO_BLOCK_NOTICES: how many */
    int line;    /* where it is written */
};

struct iso_pstep {
    int step; /* index into steps */
    struct iso_blocker *blockers;
    int nblockers;
};

struct iso_perm {
    struct iso_pstep *steps;
    int nsteps;
    int line;
};

struct iso_spec {
    char *path;        /* as given */
    char *name;        /* file name without directory and ".spec" */
    char *anomaly;     /* "G2-item" */
    char *description; /* may be NULL */
    char **setup;      /* nsetup blocks, in order */
    int *setup_line;   /* the line of each */
    int nsetup;
    char *teardown; /* NULL: none */
    int teardown_line;
    struct iso_session *sessions;
    int nsessions;
    struct iso_step *steps;
    int nsteps;
    struct iso_perm *perms;
    int nperms;  /* 0: every permutation (iso_spec_each_perm) */
    char *check; /* NULL: only a serialization failure tells "prevented" */
    int check_line;
    enum iso_outcome expect[ISO_NLEVELS]; /* all ISO_UNSET in a plain spec */
};

/* The largest spec file read (bytes). */
#define ISO_SPEC_MAX (1u << 20)

/*
 * Parse spec text; path names the file in messages.  On error returns -1
 * and writes "PATH:LINE: message" into err, saying what was expected (and
 * out is zeroed).  Every spec PostgreSQL's isolation tester accepts parses
 * to what it means there.
 */
int iso_spec_parse(const char *text, const char *path, struct iso_spec *out, char *err,
                   size_t errlen);
/* Read and parse a file: a regular text file of at most ISO_SPEC_MAX
 * bytes ("PATH: not a regular file (a device, FIFO or socket)", "PATH:
 * larger than N bytes", "PATH:LINE:COL: a NUL byte; ..." otherwise). */
int iso_spec_load(const char *path, struct iso_spec *out, char *err, size_t errlen);
void iso_spec_free(struct iso_spec *s);

/* Index of the step named name, or -1. */
int iso_spec_find_step(const struct iso_spec *s, const char *name, size_t len);

/* 1 for an anomaly spec (with anomaly and expect lines), 0 for a plain one. */
int iso_spec_is_anomaly(const struct iso_spec *s);

/* Call fn with every permutation of the sessions' steps (each session's
 * steps in order), in the order isolationtester runs them when a spec has
 * no permutation line: the first session's next step first.  Stops when fn
 * returns non-zero and returns that; -1 when out of memory. */
int iso_spec_each_perm(const struct iso_spec *s,
                       int (*fn)(void *arg, const struct iso_pstep *steps, int n), void *arg);

/* A ${STEP[.rows|.sqlstate]} reference in check SQL, starting at p[0] == '$':
 * fills the step index, the field and the length of the reference; -1 when p
 * is not a valid reference to a declared step. */
enum iso_ref { ISO_REF_VALUE, ISO_REF_ROWS, ISO_REF_SQLSTATE };
int iso_spec_ref(const struct iso_spec *s, const char *p, int *step, enum iso_ref *field,
                 size_t *consumed);

/* "read-committed", "repeatable-read", "serializable" */
const char *iso_level_name(enum iso_level l);
/* "READ COMMITTED", ... */
const char *iso_level_sql(enum iso_level l);
/* Accepts the names above, also with '_' or ' ' for '-', and "rc", "rr",
 * "ser"/"serializable"; -1 when unknown. */
int iso_level_parse(const char *text, size_t len, enum iso_level *out);
/* "occurs", "prevented", "error", "?" */
const char *iso_outcome_name(enum iso_outcome o);

#endif

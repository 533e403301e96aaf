/*
 * hunt_loop.c - the search: observe the scenario once with every hook
 * logged, turn what was seen into ranked candidate rules, confirm them
 * best first on three seeds, check the find once without its rule,
 * shrink it, and hand it over as found-N.scn.
 *
 * Every run is a real `wedge run` of a file in --out (hunt_exec.c), each
 * counted against the budget.
 */
#include "hunt.h"
#include "pg.h"
#include "timeunit.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOOP_LIMIT_SLACK_NS (30 * NS_PER_S) /* a run may take its timeout and this */

/* The invariant hunt adds when the scenario has none: a request answered
 * 5xx, timed out or dropped (history "info") is what a deadlock, a hang
 * or a crash looks like from outside. */
static const char *const loop_generic[] = {"no_5xx_or_timeouts = history: info == 0"};

/* The mutex log rules a lock candidate's runs carry, so that a deadlock
 * they cause can be named from the trace. */
static const char LOOP_LOCK_LOG[] =
    HUNT_OBS_WANT ": log on mutex.lock ; " HUNT_OBS_LOCK
                  ": log on mutex.lock after ; " HUNT_OBS_UNLOCK ": log on mutex.unlock";

struct hunt {
    const struct hunt_opts *o;
    struct scenario scn;
    int loaded;
    char *src; /* the scenario file's text */
    char *out;
    struct pg_cluster cluster;
    const char *admin;
    struct hunt_cat cat;
    const char *exes[64];
    struct hunt_obs obs;
    int observed;
    struct hunt_cands cands;
    struct hunt_result res;
    uint64_t t0, limit_ns;
    char *observe_broke, *observe_error;
};

/* ---------------------------------------------------------------
 * Small pieces.
 * ------------------------------------------------------------ */
static void say(const struct hunt *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct hunt *h, const char *fmt, ...)
{
    va_list ap;
    if (h->o->quiet)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "wedge: hunt: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int loop_can_run(const struct hunt *h)
{
    const struct hunt_opts *o = h->o;
    if (util_stop)
        return 0;
    if (o->budget_runs && h->res.runs >= o->budget_runs)
        return 0;
    return !o->budget_ns || util_now_ns() - h->t0 < o->budget_ns;
}

static int loop_is_lock(enum hunt_kind k)
{
    return k == HK_LOCK_ORDER || k == HK_ATOMICITY || k == HK_COND_WAIT;
}

/* The edit every derived file starts from: the user's rules (or none),
 * the hunt's load, the generic invariants when the scenario has none,
 * and always for a lock-order candidate c: its failure is a hang, which
 * a scenario's own invariants seldom name. */
static struct hunt_edit loop_edit(const struct hunt *h, const struct hunt_cand *c)
{
    struct hunt_edit e = {0};
    e.drop_rules = h->o->no_rules;
    e.users = h->o->users;
    e.rate = h->o->rate;
    e.duration = h->o->duration;
    e.iterations = h->o->iterations;
    if (!h->scn.ninvariants || (c && c->kind == HK_LOCK_ORDER)) {
        e.invariants = loop_generic;
        e.ninvariants = (int)(sizeof loop_generic / sizeof loop_generic[0]);
    }
    return e;
}

static char *loop_write(const struct hunt *h, const char *name, const struct hunt_edit *e)
{
    char *path = util_fmt("%s/%s", h->out, name), *text = hunt_scn_text(h->src, h->scn.dir, e);
    FILE *f = fopen(path, "we");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fprintf(stderr, "wedge: hunt: %s: %s\n", path, strerror(errno));
    free(text);
    return path;
}

/* One run, counted (and timed: for candidate c, or the observing run). */
static void loop_run(struct hunt *h, struct hunt_cand *c, const char *scn, int seed_k,
                     const char *dir, struct hunt_run *r)
{
    hunt_exec(scn, h->res.seeds[seed_k], dir, h->admin, h->limit_ns, r);
    h->res.runs++;
    if (c)
        c->seconds += r->seconds;
    else
        h->res.observe_seconds = r->seconds;
}

/* The executable of each service: the first word of its command, with
 * ${build} expanded (hunt_obs tells program frames from library ones). */
static void loop_exes(struct hunt *h)
{
    for (int i = 0; i < h->scn.nservices && i < 64; i++) {
        const char *cmd = h->scn.services[i].command;
        size_t n = strcspn(cmd, " \t");
        char *word = util_fmt("%.*s", (int)n, cmd), *path;
        if (!strncmp(word, "${build}", 8))
            path = util_fmt("%s%s", util_build_dir(), word + 8);
        else
            path = util_fmt("%s", word);
        free(word);
        if (access(path, R_OK) == 0)
            h->exes[i] = path;
        else
            free(path);
    }
}

/* ---------------------------------------------------------------
 * Observe.
 * ------------------------------------------------------------ */
static int loop_observe(struct hunt *h)
{
    struct hunt_edit e = loop_edit(h, NULL);
    struct hunt_run r;
    char err[1024], *dir = util_fmt("%s/observe", h->out), *path;
    int rc = WEDGE_INCONCLUSIVE;

    e.scn_rules = hunt_obs_rules();
    path = loop_write(h, "observe.scn", &e);
    say(h, "observing: %s (seed %" PRIu64 ")", path, h->res.seeds[0]);
    loop_run(h, NULL, path, 0, dir, &r);
    if (r.code == WEDGE_USAGE) {
        /* wedge run said why (a rule the shim refuses, a schema error): pass it on */
        char *log = util_fmt("%s/wedge-run.log", dir), *tail = util_file_tail(log, 2048);
        fprintf(stderr, "%swedge: hunt: the scenario does not run (%s)\n", tail, log);
        free(log);
        free(tail);
        rc = WEDGE_USAGE;
        goto out;
    }
    for (int i = 0; i < 64; i++)
        r.map.exes[i] = h->exes[i];
    if (hunt_obs_load(&h->obs, dir, &h->scn, &r.map, err, sizeof err) < 0) {
        /* the run's own error says more than a missing file it left behind */
        h->observe_error = util_fmt("%s", r.error ? r.error : err);
        fprintf(stderr, "wedge: hunt: nothing observed: %s\n", h->observe_error);
        goto out;
    }
    h->observed = 1;
    h->obs.db_port = hunt_dsn_port(h->admin);
    if (r.broken)
        h->observe_broke = util_fmt("%s", r.broken);
    rc = 0;
out:
    hunt_run_free(&r);
    free(dir);
    free(path);
    return rc;
}

static void loop_candidates(struct hunt *h)
{
    unsigned sql = 0, locks = 0;
    for (size_t k = 0; k < h->obs.nev; k++) {
        sql += h->obs.ev[k].kind == HE_SQL;
        locks += h->obs.ev[k].kind == HE_LOCK && h->obs.ev[k].site == 0;
    }
    h->res.statements = sql;
    h->res.lock_calls = locks;
    h->res.requests = (unsigned)h->obs.nreqs;
    h->res.threads = (unsigned)h->obs.nthreads;
    hunt_cand_sql(&h->obs, &h->cat, &h->cands);
    hunt_cand_locks(&h->obs, &h->cands);
    hunt_cand_rank(&h->cands);
    say(h,
        "observed %u requests, %u statements, %u lock calls of the program in %u threads; "
        "%d candidates",
        h->res.requests, sql, locks, h->res.threads, h->cands.n);
}

/* ---------------------------------------------------------------
 * Confirm.
 * ------------------------------------------------------------ */
static void loop_note(struct hunt_cand *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void loop_note(struct hunt_cand *c, const char *fmt, ...)
{
    va_list ap;
    char *s, *t;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (c->note && strstr(c->note, s)) {
        free(s);
        return;
    }
    t = util_fmt("%s%s%s", c->note ? c->note : "", c->note ? "; " : "", s);
    free(c->note);
    free(s);
    c->note = t;
}

/* What a run of candidate c says beyond its verdict: a deadlock in the
 * trace or in PostgreSQL, a lock wait, a rule that never fired. */
static void loop_explain(struct hunt *h, struct hunt_cand *c, const char *dir,
                         const struct hunt_run *r)
{
    if (!r->fires)
        loop_note(c, "its rule never fired: no call matched it");
    if (r->pg_deadlocks)
        loop_note(c, "PostgreSQL broke %ld deadlock(s) (40P01)", r->pg_deadlocks);
    if (r->pg_waits && (r->code != WEDGE_PASS || r->info))
        loop_note(c, "database lock wait: %s", r->pg_waits);
    if (loop_is_lock(c->kind) && (r->code != WEDGE_PASS || r->info)) {
        struct hunt_obs o;
        struct hunt_svcmap map = r->map;
        char err[256];
        for (int i = 0; i < 64; i++)
            map.exes[i] = h->exes[i];
        if (hunt_obs_load(&o, dir, &h->scn, &map, err, sizeof err) == 0) {
            char *dl = hunt_deadlock(&o);
            if (dl)
                loop_note(c, "%s", dl);
            free(dl);
            hunt_obs_free(&o);
        }
    }
    if (r->info && !r->broken)
        loop_note(c, "%" PRIu64 " of %" PRIu64 " requests failed or hung (5xx, timeout)", r->info,
                  r->requests);
}

/* The candidate's scenario file: its rules in its service's section (the
 * lock log rules beside them for a lock candidate). */
static char *loop_cand_file(struct hunt *h, const struct hunt_cand *c, const char *name)
{
    struct hunt_edit e = loop_edit(h, c);
    char *rules = hunt_cand_rules(c), *path;
    e.svc = c->service;
    e.svc_rules = rules;
    e.scn_rules = loop_is_lock(c->kind) ? LOOP_LOCK_LOG : NULL;
    path = loop_write(h, name, &e);
    free(rules);
    return path;
}

/* Runs of path on seeds from..HUNT_SEEDS-1 until one holds: how many
 * broke an invariant; *code the last run's exit code. */
static int loop_seeds(struct hunt *h, struct hunt_cand *c, const char *path, const char *tag,
                      int from, int *code)
{
    int broke = 0;
    *code = WEDGE_VIOLATED;
    for (int k = from; k < HUNT_SEEDS && *code == WEDGE_VIOLATED && loop_can_run(h); k++) {
        struct hunt_run r;
        char *dir = util_fmt("%s/cand-%d/%s-seed-%d", h->out, c->rank, tag, k + 1);
        loop_run(h, c, path, k, dir, &r);
        *code = r.code;
        c->runs++;
        c->fires += r.fires;
        if (r.code == WEDGE_VIOLATED) {
            broke++;
            if (!c->broken && r.broken)
                c->broken = util_fmt("%s", r.broken);
        } else if (r.code >= WEDGE_USAGE && r.error) {
            loop_note(c, "inconclusive run: %s", r.error);
        }
        loop_explain(h, c, dir, &r);
        say(h, "  seed %" PRIu64 ": %s%s%s  (%.1f s, %u injections)", h->res.seeds[k],
            r.code == WEDGE_VIOLATED ? "BROKE "
            : r.code == WEDGE_PASS   ? "held"
                                     : "inconclusive",
            r.code == WEDGE_VIOLATED && r.broken ? r.broken : "",
            r.code == WEDGE_VIOLATED && !r.broken ? "an invariant" : "", r.seconds, r.fires);
        hunt_run_free(&r);
        free(dir);
    }
    return broke;
}

static void loop_confirm(struct hunt *h, struct hunt_cand *c)
{
    char name[64], *rules = hunt_cand_rules(c), *path;
    int code;
    snprintf(name, sizeof name, "cand-%d.scn", c->rank);
    path = loop_cand_file(h, c, name);
    say(h, "candidate %d (%s, score %d): %s", c->rank, hunt_kind_name(c->kind), c->score, c->title);
    say(h, "  rule: %s", rules);
    c->broke = loop_seeds(h, c, path, "confirm", 0, &code);
    if (c->broke == HUNT_SEEDS)
        c->status = HS_FOUND;
    else if (code >= WEDGE_USAGE)
        c->status = HS_INCONCLUSIVE;
    else if (c->broke && code != WEDGE_VIOLATED)
        c->status = HS_FLAKY;
    else if (c->broke) /* every seed it ran broke, but the budget ran out first */
        loop_note(c, "the budget ran out after %d of %d seeds, each of which broke", c->broke,
                  HUNT_SEEDS);
    else if (c->runs)
        c->status = HS_HELD;
    free(rules);
    free(path);
}

/* The amplification check: the same scenario and seed without the rule. */
static void loop_plain(struct hunt *h, struct hunt_cand *c)
{
    struct hunt_edit e = loop_edit(h, c);
    struct hunt_run r;
    char *path, *dir;
    if (!loop_can_run(h))
        return;
    path = loop_write(h, c->kind == HK_LOCK_ORDER ? "plain-hang.scn" : "plain.scn", &e);
    dir = util_fmt("%s/cand-%d/plain-seed-1", h->out, c->rank);
    loop_run(h, c, path, 0, dir, &r);
    c->plain_broke = r.code == WEDGE_VIOLATED ? 1 : r.code == WEDGE_PASS ? 0 : -1;
    say(h, "  without the rule (seed %" PRIu64 "): %s", h->res.seeds[0],
        r.code == WEDGE_VIOLATED ? "broke too: plain load finds it"
        : r.code == WEDGE_PASS   ? "held"
                                 : "inconclusive");
    hunt_run_free(&r);
    free(path);
    free(dir);
}

/* ---------------------------------------------------------------
 * Shrink: delta debugging over the rules, then over their clauses
 * (the statement's start widened to its verb and table, the caller
 * dropped).  Each step is one run on the first seed; a changed rule set
 * is then run on the other seeds, and dropped unless it breaks there too.
 * ------------------------------------------------------------ */
static int loop_try(struct hunt *h, struct hunt_cand *c, int *step)
{
    char name[64], *path, *dir;
    struct hunt_run r;
    int ok;
    if (!loop_can_run(h))
        return 0;
    snprintf(name, sizeof name, "cand-%d-shrink-%d.scn", c->rank, ++*step);
    path = loop_cand_file(h, c, name);
    dir = util_fmt("%s/cand-%d/shrink-%d", h->out, c->rank, *step);
    loop_run(h, c, path, 0, dir, &r);
    c->runs++;
    ok = r.code == WEDGE_VIOLATED;
    say(h, "  shrink %d: %s", *step, ok ? "still breaks" : "needed");
    hunt_run_free(&r);
    free(path);
    free(dir);
    return ok;
}

static int loop_shrink_rules(struct hunt *h, struct hunt_cand *c, int *step)
{
    int changed = 0;
    for (int i = c->nrules - 1; i >= 0 && c->nrules > 1; i--) {
        struct hunt_rule keep = c->rules[i];
        memmove(&c->rules[i], &c->rules[i + 1], (size_t)(c->nrules - i - 1) * sizeof keep);
        c->nrules--;
        if (loop_try(h, c, step)) {
            changed = 1;
            continue;
        }
        memmove(&c->rules[i + 1], &c->rules[i], (size_t)(c->nrules - i) * sizeof keep);
        c->rules[i] = keep;
        c->nrules++;
    }
    return changed;
}

static int loop_shrink_clauses(struct hunt *h, struct hunt_cand *c, int *step)
{
    int changed = 0;
    for (int i = 0; i < c->nrules; i++) {
        struct hunt_rule *r = &c->rules[i];
        unsigned old = r->use;
        if ((r->use & HC_SQL_FULL) && r->sql_short) {
            r->use = (r->use & ~(unsigned)HC_SQL_FULL) | HC_SQL_SHORT;
            if (loop_try(h, c, step))
                changed = 1;
            else
                r->use = old;
        }
        old = r->use;
        if ((r->use & HC_CALLER) && (r->use & (HC_SQL_FULL | HC_SQL_SHORT))) {
            r->use &= ~(unsigned)HC_CALLER;
            if (loop_try(h, c, step))
                changed = 1;
            else
                r->use = old;
        }
    }
    return changed;
}

/* Shrink c; returns its rules before, when they changed (malloc'd). */
static char *loop_shrink(struct hunt *h, struct hunt_cand *c)
{
    struct hunt_rule saved[HUNT_MAX_RULES];
    int nsaved = c->nrules, step = 0, code;
    char *before = hunt_cand_rules(c);
    memcpy(saved, c->rules, sizeof saved);
    int changed = loop_shrink_rules(h, c, &step);
    changed |= loop_shrink_clauses(h, c, &step);
    if (changed) {
        char name[64], *path;
        snprintf(name, sizeof name, "cand-%d-shrunk.scn", c->rank);
        path = loop_cand_file(h, c, name);
        if (loop_seeds(h, c, path, "shrunk", 1, &code) != HUNT_SEEDS - 1) {
            say(h, "  the shrunk rule did not break every seed: keeping the confirmed one");
            memcpy(c->rules, saved, sizeof saved);
            c->nrules = nsaved;
            changed = 0;
        }
        free(path);
    }
    /* rules dropped for good: their strings go */
    for (int i = 0; changed && i < nsaved; i++) {
        int kept = 0;
        for (int j = 0; j < c->nrules; j++)
            kept |=
                c->rules[j].sql_full == saved[i].sql_full && c->rules[j].caller == saved[i].caller;
        if (!kept) {
            free(saved[i].sql_full);
            free(saved[i].sql_short);
            free(saved[i].caller);
            free(saved[i].proc);
        }
    }
    if (!changed) {
        free(before);
        return NULL;
    }
    return before;
}

/* ---------------------------------------------------------------
 * Hand over.
 * ------------------------------------------------------------ */
/* text as "; " comment lines of at most 78 characters. */
static char *loop_comment(const char *text)
{
    char *out = util_fmt("%s", ""), *t;
    const char *p = text;
    while (*p) {
        size_t n = strlen(p), cut = n;
        if (n > 76) {
            cut = 76;
            while (cut > 20 && p[cut] != ' ')
                cut--;
        }
        t = util_fmt("%s; %.*s\n", out, (int)cut, p);
        free(out);
        out = t;
        p += cut;
        while (*p == ' ')
            p++;
    }
    return out;
}

static char *loop_found_comment(const struct hunt *h, const struct hunt_cand *c, const char *rules,
                                const char *file)
{
    char *window = hunt_window_text(c);
    char *text = util_fmt(
        "Found by wedge hunt: %s. %s The rule: %s. It broke %s on %d of %d seeds (%" PRIu64
        ", %" PRIu64 ", %" PRIu64 "); without it the same seed %s. Reproduce: wedge run %s "
        "--repeat 20",
        c->title, window, rules, c->broken ? c->broken : "an invariant", c->broke, HUNT_SEEDS,
        h->res.seeds[0], h->res.seeds[1], h->res.seeds[2],
        c->plain_broke == 1   ? "broke too (plain load finds it)"
        : c->plain_broke == 0 ? "held"
                              : "was not run",
        file);
    char *out = loop_comment(text), *t = util_fmt("%s;", out);
    free(window);
    free(text);
    free(out);
    return t;
}

static void loop_found(struct hunt *h, struct hunt_cand *c, char *before)
{
    int n = h->res.nfound;
    struct hunt_edit e = loop_edit(h, c);
    char name[32], *rules = hunt_cand_rules(c), *path, *comment, *scn_name;
    if (n >= 16) {
        free(rules);
        free(before);
        return;
    }
    snprintf(name, sizeof name, "found-%d.scn", n + 1);
    path = util_fmt("%s/%s", h->out, name);
    comment = loop_found_comment(h, c, rules, path);
    scn_name = util_fmt("%s-found-%d", h->scn.name, n + 1);
    free(path);
    e.svc = c->service;
    e.svc_rules = rules;
    e.name = scn_name;
    e.comment = comment;
    path = loop_write(h, name, &e);
    h->res.found_files[n] = path;
    h->res.found_cand[n] = (int)(c - h->cands.c);
    h->res.found_rules[n] = rules;
    h->res.shrunk_from[n] = before;
    h->res.nfound++;
    say(h, "FOUND: %s", c->title);
    say(h, "  %s", path);
    free(comment);
    free(scn_name);
}

/* ---------------------------------------------------------------
 * The hunt.
 * ------------------------------------------------------------ */
static char *loop_default_out(const char *name)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    return util_fmt("wedge-out/hunt-%s-%s", name, stamp);
}

static int loop_setup(struct hunt *h)
{
    char err[4096], dsn[1024];
    const struct hunt_opts *o = h->o;
    if (scn_load(o->path, &h->scn, err, sizeof err) < 0) {
        fprintf(stderr, "wedge: %s\n", err);
        return WEDGE_USAGE;
    }
    h->loaded = 1;
    h->src = util_read_file(o->path, NULL);
    if (!h->src) {
        fprintf(stderr, "wedge: hunt: %s: %s\n", o->path, strerror(errno));
        return WEDGE_USAGE;
    }
    h->res.seeds[0] = o->has_seed ? o->seed : h->scn.has_seed ? h->scn.seed : util_random_seed();
    for (int k = 1; k < HUNT_SEEDS; k++)
        h->res.seeds[k] = (util_mix(h->res.seeds[0], (uint64_t)k) & 0x7fffffffull) + 1;
    h->out = o->out ? util_fmt("%s", o->out) : loop_default_out(h->scn.name);
    if (util_mkdir_p(h->out, 0755) < 0) {
        fprintf(stderr, "wedge: hunt: --out %s: %s\n", h->out, strerror(errno));
        return WEDGE_USAGE;
    }
    h->limit_ns = h->scn.timeout_ns + LOOP_LIMIT_SLACK_NS;
    if (o->dsn) {
        h->admin = o->dsn;
    } else if (pg_cluster_start(&h->cluster, !o->quiet, err, sizeof err) < 0) {
        fprintf(stderr, "wedge: postgres: %s\n", err);
        return WEDGE_INCONCLUSIVE;
    } else {
        h->admin = h->cluster.dsn;
    }
    if (hunt_cat_db(h->admin, &h->scn, dsn, sizeof dsn, err, sizeof err) < 0 ||
        hunt_cat_load(&h->cat, dsn, err, sizeof err) < 0)
        say(h, "no catalog (%s): every check-then-insert counts as unprotected", err);
    loop_exes(h);
    return WEDGE_PASS;
}

static void loop_cleanup(struct hunt *h)
{
    if (!h->o->dsn)
        pg_cluster_stop(&h->cluster);
    hunt_obs_free(&h->obs);
    hunt_cands_free(&h->cands);
    hunt_cat_free(&h->cat);
    for (int i = 0; i < h->res.nfound; i++) {
        free(h->res.found_files[i]);
        free(h->res.found_rules[i]);
        free(h->res.shrunk_from[i]);
    }
    for (int i = 0; i < 64; i++)
        free((char *)h->exes[i]);
    if (h->loaded)
        scn_free(&h->scn);
    free(h->src);
    free(h->out);
    free(h->observe_broke);
    free(h->observe_error);
}

/* Each candidate best first, until one is found (or, with --keep-going,
 * every one is tried) or the budget is spent. */
static void loop_candidates_try(struct hunt *h)
{
    for (int i = 0; i < h->cands.n; i++) {
        struct hunt_cand *c = &h->cands.c[i];
        if (c->status == HS_SKIPPED)
            continue;
        if (!loop_can_run(h)) {
            h->res.budget_out = 1;
            say(h, "budget spent: %d candidate(s) not tried", h->cands.n - i);
            break;
        }
        loop_confirm(h, c);
        if (c->status != HS_FOUND)
            continue;
        loop_plain(h, c);
        loop_found(h, c, c->plain_broke == 1 ? NULL : loop_shrink(h, c));
        if (!h->o->keep_going)
            break;
    }
}

int hunt_search(const struct hunt_opts *o)
{
    struct hunt h;
    char err[1024];
    int rc;

    memset(&h, 0, sizeof h);
    h.o = o;
    h.t0 = util_now_ns();
    rc = loop_setup(&h);
    if (rc)
        goto out;
    say(&h, "%s: seeds %" PRIu64 ", %" PRIu64 ", %" PRIu64 "; output in %s", h.scn.name,
        h.res.seeds[0], h.res.seeds[1], h.res.seeds[2], h.out);
    rc = loop_observe(&h);
    if (rc == WEDGE_USAGE)
        goto out;
    if (h.observed) {
        loop_candidates(&h);
        loop_candidates_try(&h);
    }
    rc = hunt_verdict(&h.cands, h.observed);
    h.res.interrupted = (int)util_stop;
    if (h.res.interrupted && rc != WEDGE_VIOLATED)
        rc = WEDGE_INCONCLUSIVE; /* what was not tried was not shown to hold */
    if (rc == WEDGE_PASS && h.observe_broke) {
        say(&h, "the scenario breaks %s with no rule at all, and no candidate confirmed",
            h.observe_broke);
        rc = WEDGE_INCONCLUSIVE;
    }
    h.res.scenario = h.scn.name;
    h.res.path = o->path;
    h.res.out = h.out;
    h.res.exit_code = rc;
    h.res.seconds = (double)(util_now_ns() - h.t0) / (double)NS_PER_S;
    h.res.observe_broke = h.observe_broke;
    h.res.observe_error = h.observe_error;
    h.res.cands = &h.cands;
    h.res.cat = &h.cat;
    if (!h.scn.ninvariants) {
        h.res.generic = loop_generic;
        h.res.ngeneric = (int)(sizeof loop_generic / sizeof loop_generic[0]);
    }
    if (hunt_report(&h.res, o->json, err, sizeof err) < 0)
        fprintf(stderr, "wedge: hunt: report: %s\n", err);
    say(&h, "%s after %u runs, %.0f s: %s/report.md",
        rc == WEDGE_VIOLATED ? "race found"
        : rc == WEDGE_PASS   ? "every candidate held"
                             : "inconclusive",
        h.res.runs, h.res.seconds, h.out);
out:
    loop_cleanup(&h);
    return rc;
}

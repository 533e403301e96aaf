/*
 * run_repeat.c - `wedge run`: the scenarios given, each repeated over
 * seeds (--repeat, --until-fail), the table of outcomes and outcomes.tsv,
 * the combined junit.xml and summary.json of a set of runs, and --json.
 * The command line is run_opts.c's.
 */
#include "pg.h"
#include "cli.h"
#include "report.h"
#include "run_cli.h"
#include "rulecheck.h"
#include "run.h"
#include "scn.h"
#include "scn_limit.h"
#include "util.h"
#include "verdict.h"
#include "wedge_exit.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *run_default_out(const char *name)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    char *dir;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    dir = util_fmt("wedge-out/%s-%s", name, stamp);
    for (int k = 2; access(dir, F_OK) == 0 && k < 100; k++) {
        free(dir);
        dir = util_fmt("wedge-out/%s-%s-%d", name, stamp, k);
    }
    return dir;
}

static void run_cleanup_atexit(void)
{
    pg_cluster_stop_all();
}

/* Everything one wedge run runs: its scenarios, and every run done (for
 * the combined files). */
struct run_set {
    struct scenario scns[RUN_MAX_SCENARIOS];
    uint64_t seeds[RUN_MAX_SCENARIOS];
    int nloaded, uses_db;
    struct report_run *runs;
    int nruns;
};

static void run_set_add(struct run_set *set, const struct run_state *st, const char *dir,
                        uint64_t seed, int code)
{
    struct report_run *r = realloc(set->runs, (size_t)(set->nruns + 1) * sizeof(*r));
    if (!r)
        abort();
    set->runs = r;
    r[set->nruns++] =
        (struct report_run){util_fmt("%s", dir), st->scn->name, st->o->path, seed, code};
}

/* Every ${...} a request will expand, with stand-ins: FILE:LINE:COL. */
static int run_check_requests(const struct scenario *s)
{
    struct exp_standin st;
    char err[2048];
    exp_standin(s, &st);
    st.e.build = util_build_dir();
    if (scn_check_requests(s, &st, err, sizeof(err)) == 0)
        return 0;
    fprintf(stderr, "wedge: %s\nwedge: %s: the load cannot happen: nothing was started\n", err,
            s->path);
    return -1;
}

/* Every scenario loaded with the overrides, every rule checked and every
 * request's ${...} expanded with stand-ins (refused before initdb, not
 * after it), the shim found, each scenario's seed chosen.  0; else the
 * exit code after the messages (all of them: a CI log shows every broken
 * file): WEDGE_USAGE for a scenario at fault, WEDGE_INCONCLUSIVE when only
 * requests cannot be built (the load cannot happen, as when every request
 * fails: issue 15 treats both alike). */
static int run_prepare(struct run_opts *o, struct run_state *st, struct run_set *set)
{
    char err[4096], shim[PATH_MAX];
    int bad = 0, no_load = 0;

    st->o = o;
    if (util_find_shim(shim, sizeof(shim), err, sizeof(err)) < 0 ||
        util_preload_value(shim, st->preload, sizeof(st->preload)) < 0) {
        fprintf(stderr, "wedge: %s\n", err);
        return WEDGE_USAGE;
    }
    for (int k = 0; k < o->npaths; k++) {
        struct scenario *scn = &set->scns[k];
        if (scn_load_set(o->paths[k], o->sets, o->nsets, scn, err, sizeof(err)) < 0) {
            fprintf(stderr, "wedge: %s\n", err);
            bad = 1;
            continue;
        }
        set->nloaded = k + 1;
        if (run_overrides(o, scn) < 0 || rulecheck_scenario(scn))
            bad = 1;
        else if (run_check_requests(scn))
            no_load = 1;
        set->seeds[k] = o->has_seed ? o->seed : scn->has_seed ? scn->seed : util_random_seed();
        set->uses_db |= scn->uses_db;
    }
    return bad ? WEDGE_USAGE : no_load ? WEDGE_INCONCLUSIVE : 0;
}

/* The database every run makes its own in: --dsn, or a throwaway cluster.
 * 0, or -1 after a message. */
static int run_server(const struct run_opts *o, struct run_state *st, int uses_db)
{
    char err[4096];

    if (o->dsn) {
        st->admin_dsn = o->dsn;
        return 0;
    }
    if (!uses_db)
        return 0; /* no [database]: no cluster */
    if (pg_cluster_start(&st->cluster, !o->quiet, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: postgres: %s\n", err);
        return -1;
    }
    st->admin_dsn = st->cluster.dsn;
    return 0;
}

/* The runs of a --repeat or --until-fail set, as they went. */
struct run_tally {
    unsigned reps, done, failed;
    uint64_t *seeds;
    int *codes;
};

/* Run the repetitions: each with its seed in OUT/run-K (OUT itself for a
 * single run).  Returns the set's exit code (verdict.c combines them). */
static int run_repeats(struct run_state *st, const char *out, struct run_tally *t,
                       struct run_set *set)
{
    const struct run_opts *o = st->o;
    unsigned inconclusive_row = 0;
    int rc = WEDGE_PASS;

    for (unsigned k = 0; k < t->reps && !util_stop; k++) {
        int code;
        char *dir;
        t->seeds[k] = k == 0 ? o->seed : (util_mix(o->seed, k) & 0x7fffffffull) + 1;
        if (t->reps > 1) {
            dir = util_fmt("%s/run-%u", out, k + 1);
            if (!o->quiet)
                fprintf(stderr, "wedge: run %u%s%u: seed %" PRIu64 "\n", k + 1,
                        o->until_fail ? " (until fail), max " : "/", t->reps, t->seeds[k]);
        } else {
            dir = util_fmt("%s", out);
        }
        code = run_once(st, t->seeds[k], t->reps > 1 ? (int)k : -1, dir);
        run_set_add(set, st, dir, t->seeds[k], code);
        free(dir);
        t->codes[k] = code;
        t->done++;
        t->failed += code == WEDGE_VIOLATED;
        rc = run_verdict_combine(rc, code);
        /* A configuration error repeats identically; a run that could not
         * judge may be a hiccup, but three in a row mean the set-up is broken. */
        inconclusive_row = code == WEDGE_INCONCLUSIVE ? inconclusive_row + 1 : 0;
        if (code == WEDGE_USAGE || (o->until_fail && code == WEDGE_VIOLATED) ||
            inconclusive_row == 3) {
            if (inconclusive_row == 3 && k + 1 < t->reps)
                fprintf(stderr, "wedge: 3 inconclusive runs in a row: stopping\n");
            break;
        }
    }
    return rc;
}

/* After several runs: the table of outcomes on stdout and in
 * OUT/outcomes.tsv, and the command that replays the first violation. */
static void run_outcome_table(const struct run_opts *o, const char *out, const struct run_tally *t)
{
    char *tsv = util_fmt("%s/outcomes.tsv", out);
    FILE *f = fopen(tsv, "we");

    printf("\nwedge: %u runs, %u found a violation\n  run  seed         outcome\n", t->done,
           t->failed);
    if (f)
        fprintf(f, "run\tseed\texit\n");
    for (unsigned k = 0; k < t->done; k++) {
        const char *what = t->codes[k] == WEDGE_PASS       ? "passed"
                           : t->codes[k] == WEDGE_VIOLATED ? "FAILED (invariant violated)"
                           : t->codes[k] == WEDGE_USAGE    ? "configuration error"
                                                           : "inconclusive";
        printf("  %-4u %-12" PRIu64 " %s\n", k + 1, t->seeds[k], what);
        if (f)
            fprintf(f, "%u\t%" PRIu64 "\t%d\n", k + 1, t->seeds[k], t->codes[k]);
    }
    if (f)
        fclose(f);
    free(tsv);
    for (unsigned k = 0; k < t->done; k++) {
        if (t->codes[k] != WEDGE_VIOLATED)
            continue;
        char *cmd = run_reproduce(o, t->seeds[k]);
        printf("wedge: reproduce run %u: %s\n", k + 1, cmd);
        if (run_dsn_masked(o))
            printf("wedge: (%s)\n", RUN_MASKED_NOTE);
        free(cmd);
        break;
    }
}

/* The throwaway server's log outlives its cluster: deadlocks, errors,
 * crashes, kept as OUT/postgres.log. */
static void run_keep_server_log(const struct run_state *st, const char *out)
{
    char *src = util_fmt("%s/server.log", st->cluster.dir), *text = util_read_file(src, NULL);
    char *dst = util_fmt("%s/postgres.log", out);
    FILE *f = text ? fopen(dst, "we") : NULL;

    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(src);
    free(dst);
    free(text);
}

/* One scenario of the set, repeated as the options say, into dir. */
static int run_scenario(struct run_state *st, struct run_opts *o, const char *dir,
                        struct run_set *set)
{
    struct run_tally t = {0};
    char err[1024];
    int rc;

    t.reps = o->until_fail ? RUN_UNTIL_FAIL_MAX : o->repeat;
    t.seeds = calloc(t.reps, sizeof(*t.seeds));
    t.codes = calloc(t.reps, sizeof(*t.codes));
    if (!t.seeds || !t.codes)
        abort();
    rc = run_repeats(st, dir, &t, set);
    if (t.done > 1 || o->until_fail) {
        run_outcome_table(o, dir, &t);
        if (report_html_write(dir, err, sizeof(err)) < 0) /* the set's page */
            fprintf(stderr, "wedge: report: %s\n", err);
        if (rc != WEDGE_VIOLATED && rc != WEDGE_USAGE && util_stop)
            rc = WEDGE_INCONCLUSIVE;
    }
    free(t.seeds);
    free(t.codes);
    return rc;
}

/* Each scenario in turn: OUT itself for one, OUT/NAME (NAME-2 for a name
 * seen before) for several.  The set's exit code. */
static int run_all(struct run_state *st, struct run_opts *o, struct run_set *set, const char *out)
{
    int rc = WEDGE_PASS;

    for (int k = 0; k < o->npaths && !util_stop; k++) {
        char *dir = util_fmt("%s", out);
        st->scn = &set->scns[k];
        o->path = o->paths[k];
        o->seed = set->seeds[k];
        if (o->npaths > 1) {
            int same = 0;
            for (int j = 0; j < k; j++)
                same += !strcmp(set->scns[j].name, set->scns[k].name);
            free(dir);
            dir = same ? util_fmt("%s/%s-%d", out, st->scn->name, same + 1)
                       : util_fmt("%s/%s", out, st->scn->name);
        }
        rc = run_verdict_combine(rc, run_scenario(st, o, dir, set));
        free(dir);
    }
    return rc;
}

/* --json: stdout becomes stderr for everything the run prints; the
 * summary.json document goes to the real stdout at the end.  The real
 * stdout's descriptor, or -1. */
static int run_json_begin(void)
{
    int fd;
    fflush(stdout);
    fd = dup(1);
    if (fd >= 0)
        dup2(2, 1);
    return fd;
}

static void run_json_end(int fd, const char *out, int rc)
{
    char *path = out ? util_fmt("%s/summary.json", out) : NULL;
    char *text = path ? util_read_file(path, NULL) : NULL;
    FILE *f;

    fflush(stdout);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        free(path);
        free(text);
        return;
    }
    if (text)
        fputs(text, f);
    else
        fprintf(f,
                "{\"kind\": \"runs\", \"exit_code\": %d, \"verdict\": \"%s\", \"runs\": [], "
                "\"error\": \"no run completed: see the messages on stderr\"}\n",
                rc, rc == WEDGE_USAGE ? "error" : "inconclusive");
    fclose(f);
    free(path);
    free(text);
}

int run_main(int argc, char **argv)
{
    struct run_opts o;
    struct run_state st;
    struct run_set *set = calloc(1, sizeof(*set));
    char err[4096], *out = NULL;
    int rc, json_fd = -1;

    memset(&st, 0, sizeof(st));
    if (!set)
        abort();
    rc = run_parse_opts(argc, argv, &o);
    if (rc >= 0)
        goto done;
    if (o.json)
        json_fd = run_json_begin();
    if ((rc = run_prepare(&o, &st, set)) != 0)
        goto out;
    out =
        o.out ? util_fmt("%s", o.out) : run_default_out(o.npaths > 1 ? "runs" : set->scns[0].name);
    util_install_signals();
    atexit(run_cleanup_atexit);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (run_server(&o, &st, set->uses_db) < 0) {
        rc = WEDGE_INCONCLUSIVE;
        goto out;
    }
    rc = run_all(&st, &o, set, out);
    if (set->nruns > 1 && (report_combined(out, set->runs, set->nruns, rc, err, sizeof(err)) < 0 ||
                           report_html_write(out, err, sizeof(err)) < 0))
        fprintf(stderr, "wedge: report: %s\n", err);
out:
    /* The last line, also when the throwaway cluster did not start (3) and
     * on a configuration error (2). */
    printf("%u passed, %u failed\n", st.passed, st.failed);
    if (!o.dsn && st.cluster.dir[0] && out)
        run_keep_server_log(&st, out);
    if (!o.dsn)
        pg_cluster_stop(&st.cluster);
    if (o.json)
        run_json_end(json_fd, set->nruns ? out : NULL, rc);
    for (int k = 0; k < set->nloaded; k++)
        scn_free(&set->scns[k]);
    for (int i = 0; i < set->nruns; i++)
        free((char *)set->runs[i].dir);
    free(set->runs);
    free(out);
done:
    free(set);
    return rc;
}

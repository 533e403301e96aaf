/*
 * run_repeat.c - `wedge run`: its options, the repetitions over seeds
 * (--repeat, --until-fail), the table of outcomes and outcomes.tsv.
 */
#include "pg.h"
#include "cli.h"
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

/* ---------------------------------------------------------------
 * wedge run
 * ------------------------------------------------------------ */
static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: wedge run SCENARIO [OPTIONS]\n"
            "\n"
            "Set up a fresh database, start the scenario's services under the shim, fire\n"
            "the workload, stop, check the invariants and write the report.\n"
            "  -s, --seed N          seed of the run (default: the scenario's, else random);\n"
            "                        the same seed replays the same injection decisions\n"
            "  -n, --repeat N        N runs, each with a fresh database and services and a\n"
            "                        seed derived from the base seed; outputs in OUT/run-K\n"
            "  -U, --until-fail      repeat until an invariant fails (at most %u runs)\n"
            "  -d, --duration D      load duration (250ms, 5s, 1m), overrides the scenario\n"
            "                        (and its iteration cap, unless --iterations is given)\n"
            "  -u, --users N         virtual users (closed model), overrides the scenario\n"
            "  -r, --rate R          arrivals per second (open model), overrides the scenario\n"
            "  -i, --iterations N    requests in total, overrides the scenario\n"
            "  -m, --max-tries N     tries of a SQL transaction on 40001/40P01\n"
            "  -R, --rules TEXT      these rules for every service and job instead of the\n"
            "                        scenario's (its [scenario], service and job rules)\n"
            "      --no-rules        no rule at all (the shim still loads and traces)\n"
            "      --ready-timeout D how long a service may take to become ready (10s)\n"
            "  -D, --dsn DSN         use this PostgreSQL server (a fresh wedge_* database\n"
            "                        per run) instead of a throwaway cluster\n"
            "  -o, --out DIR         output directory (default\n"
            "                        ./wedge-out/SCENARIO-NAME-YYYYmmdd-HHMMSS)\n"
            "  -q, --quiet           no progress on stderr\n"
            "  -h, --help            this text\n"
            "\n"
            "Outputs in DIR: summary.json, junit.xml, report.md, latency.hgrm,\n"
            "history.jsonl, traces/, logs/.  The last line printed is 'N passed, N failed'.\n"
            "Exit: 0 every invariant held, 1 one was violated, 2 usage or scenario error,\n"
            "3 inconclusive (database or service unavailable, timeout, interrupted).\n",
            RUN_UNTIL_FAIL_MAX);
}

#define RUN_OPTSTRING "s:n:Ud:u:r:i:m:R:D:o:qh"
/* long options without a short one */
enum { RUN_OPT_READY = 256, RUN_OPT_NO_RULES };

static int run_parse_u64(const char *flag, const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    *out = strtoull(v, &end, 0);
    if (errno || *end || !*v || v[0] == '-') {
        fprintf(stderr, "wedge: run: %s '%s': expected a non-negative number\n", flag, v);
        return -1;
    }
    return 0;
}

/* A flag's value in its one range (scn_limit.c, the same as the file's
 * key); -1 after the message. */
static int run_limit_arg(enum scn_limit_id id, const char *text, uint64_t *out)
{
    char msg[512];
    if (scn_limit_parse(id, text, out, msg, sizeof(msg)) == 0)
        return 0;
    fprintf(stderr, "wedge: run: %s '%s': %s\n", scn_limits[id].flag, text, msg);
    return -1;
}

/* --rules TEXT / --no-rules: the rules of every process of the run are
 * text (NULL: none), expanded as the scenario's own [scenario] rules are;
 * the services' and jobs' own rules and rules files no longer apply. */
static void run_replace_rules(struct scenario *s, const char *text)
{
    free(s->rules);
    s->rules = text && *text ? util_fmt("%s", text) : NULL;
    for (int i = 0; i < s->nservices; i++) {
        free(s->services[i].rules);
        free(s->services[i].rules_file);
        s->services[i].rules = s->services[i].rules_file = NULL;
    }
    for (int i = 0; i < s->njobs; i++) {
        free(s->jobs[i].rules);
        free(s->jobs[i].rules_file);
        s->jobs[i].rules = s->jobs[i].rules_file = NULL;
    }
}

/* Apply the command line's overrides to the loaded scenario. */
static int run_overrides(const struct run_opts *o, struct scenario *s)
{
    const char *what;
    char msg[512];
    uint64_t v;
    if (o->duration && run_limit_arg(SCN_LIM_DURATION, o->duration, &s->duration_ns) < 0)
        return -1;
    if (o->users) {
        if (run_limit_arg(SCN_LIM_USERS, o->users, &v) < 0)
            return -1;
        s->users = (unsigned)v;
    }
    if (o->rate) {
        if (run_limit_arg(SCN_LIM_RATE, o->rate, &v) < 0)
            return -1;
        s->rate = (double)v / 1000.0;
    }
    if (o->iterations) {
        if (run_limit_arg(SCN_LIM_ITERATIONS, o->iterations, &s->iterations) < 0)
            return -1;
    } else if (o->duration) {
        /* "run this long": the scenario's iteration cap would cut it short */
        s->iterations = 0;
    }
    if (o->max_tries) {
        if (run_limit_arg(SCN_LIM_MAX_TRIES, o->max_tries, &v) < 0)
            return -1;
        s->max_tries = (unsigned)v;
    }
    if (o->replace_rules)
        run_replace_rules(s, o->rules);
    if (s->rate > 0 && s->users <= 1 && !o->users)
        s->users = 16; /* the open model's pool, unless set: arrivals should not queue */
    if (scn_limits_joint(s, msg, sizeof(msg), &what) < 0) {
        fprintf(stderr, "wedge: run: %s with the command line's values: %s\n", s->path, msg);
        return -1;
    }
    return 0;
}

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

static const struct option run_longopts[] = {
    {"seed", required_argument, NULL, 's'},
    {"repeat", required_argument, NULL, 'n'},
    {"until-fail", no_argument, NULL, 'U'},
    {"duration", required_argument, NULL, 'd'},
    {"users", required_argument, NULL, 'u'},
    {"rate", required_argument, NULL, 'r'},
    {"iterations", required_argument, NULL, 'i'},
    {"max-tries", required_argument, NULL, 'm'},
    {"rules", required_argument, NULL, 'R'},
    {"no-rules", no_argument, NULL, RUN_OPT_NO_RULES},
    {"ready-timeout", required_argument, NULL, RUN_OPT_READY},
    {"dsn", required_argument, NULL, 'D'},
    {"out", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* wedge run's options into o: -1 to go on, else the exit code to return
 * (help printed, or a usage error).  One case per option: the getopt
 * switch reads best whole, so it stays one function over 60 lines. */
static int run_parse_opts(int argc, char **argv, struct run_opts *o)
{
    uint64_t v;
    int opt;

    memset(o, 0, sizeof(*o));
    o->repeat = 1;
    o->ready_ns = RUN_READY_NS_DEFAULT;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, RUN_OPTSTRING, run_longopts, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (run_parse_u64("--seed", optarg, &o->seed) < 0)
                return WEDGE_USAGE;
            o->has_seed = 1;
            break;
        case 'n':
            if (run_parse_u64("--repeat", optarg, &v) < 0 || !v || v > 100000) {
                fprintf(stderr, "wedge: run: --repeat: expected 1..100000\n");
                return WEDGE_USAGE;
            }
            o->repeat = (unsigned)v;
            break;
        case 'U':
            o->until_fail = 1;
            break;
        case 'd':
            o->duration = optarg;
            break;
        case 'u':
            o->users = optarg;
            break;
        case 'r':
            o->rate = optarg;
            break;
        case 'i':
            o->iterations = optarg;
            break;
        case 'm':
            o->max_tries = optarg;
            break;
        case 'R':
        case RUN_OPT_NO_RULES:
            if (o->replace_rules) {
                fprintf(stderr, "wedge: run: --rules and --no-rules: give one, once\n");
                return WEDGE_USAGE;
            }
            o->replace_rules = 1;
            o->rules = opt == 'R' ? optarg : NULL;
            break;
        case RUN_OPT_READY:
            if (run_limit_arg(SCN_LIM_READY_TIMEOUT, optarg, &o->ready_ns) < 0)
                return WEDGE_USAGE;
            break;
        case 'D':
            o->dsn = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            run_usage(stdout);
            return WEDGE_PASS;
        default:
            return util_bad_option("run", argv, RUN_OPTSTRING, run_longopts);
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, optind >= argc ? "wedge: run: no scenario file given\n"
                                       : "wedge: run: one scenario file expected\n");
        fprintf(stderr, "usage: wedge run SCENARIO [OPTIONS]; see 'wedge run --help'\n");
        return WEDGE_USAGE;
    }
    if (o->until_fail && o->repeat > 1) {
        fprintf(stderr, "wedge: run: --repeat and --until-fail exclude each other\n");
        return WEDGE_USAGE;
    }
    o->path = argv[optind];
    return -1;
}

/* The scenario loaded with the overrides, the shim found, every rule
 * checked (refused rules are refused before initdb, not after it), the
 * seed chosen.  0, or -1 after a message. */
static int run_prepare(struct run_opts *o, struct run_state *st, struct scenario *scn)
{
    char err[4096], shim[PATH_MAX];

    if (run_overrides(o, scn) < 0)
        return -1;
    st->o = o;
    st->scn = scn;
    if (util_find_shim(shim, sizeof(shim), err, sizeof(err)) < 0 ||
        util_preload_value(shim, st->preload, sizeof(st->preload)) < 0) {
        fprintf(stderr, "wedge: %s\n", err);
        return -1;
    }
    if (rulecheck_scenario(scn))
        return -1;
    if (!o->has_seed) {
        o->seed = scn->has_seed ? scn->seed : util_random_seed();
        o->has_seed = 1;
    }
    return 0;
}

/* The database every run makes its own in: --dsn, or a throwaway cluster.
 * 0, or -1 after a message. */
static int run_server(const struct run_opts *o, struct run_state *st)
{
    char err[4096];

    if (o->dsn) {
        st->admin_dsn = o->dsn;
        return 0;
    }
    if (!st->scn->uses_db)
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
static int run_repeats(struct run_state *st, const char *out, struct run_tally *t)
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

int run_main(int argc, char **argv)
{
    struct run_opts o;
    struct run_state st;
    struct scenario scn;
    struct run_tally t = {0};
    char err[4096], *out = NULL;
    int rc, loaded = 0;

    memset(&st, 0, sizeof(st));
    memset(&scn, 0, sizeof(scn));
    rc = run_parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    rc = WEDGE_USAGE;
    if (scn_load(o.path, &scn, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: %s\n", err);
        goto out;
    }
    loaded = 1;
    if (run_prepare(&o, &st, &scn) < 0)
        goto out;
    out = o.out ? util_fmt("%s", o.out) : run_default_out(scn.name);
    util_install_signals();
    atexit(run_cleanup_atexit);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (run_server(&o, &st) < 0) {
        rc = WEDGE_INCONCLUSIVE;
        goto out;
    }
    t.reps = o.until_fail ? RUN_UNTIL_FAIL_MAX : o.repeat;
    t.seeds = calloc(t.reps, sizeof(*t.seeds));
    t.codes = calloc(t.reps, sizeof(*t.codes));
    if (!t.seeds || !t.codes)
        abort();
    rc = run_repeats(&st, out, &t);
    if (t.done > 1 || o.until_fail) {
        run_outcome_table(&o, out, &t);
        if (rc != WEDGE_VIOLATED && rc != WEDGE_USAGE && util_stop)
            rc = WEDGE_INCONCLUSIVE;
    }
out:
    /* The last line, also when the throwaway cluster did not start (3) and
     * on a configuration error (2). */
    printf("%u passed, %u failed\n", st.passed, st.failed);
    if (!o.dsn && st.cluster.dir[0] && out)
        run_keep_server_log(&st, out);
    if (!o.dsn)
        pg_cluster_stop(&st.cluster);
    if (loaded)
        scn_free(&scn);
    free(t.seeds);
    free(t.codes);
    free(out);
    return rc;
}

/*
 * run_opts.c - `wedge run`'s command line: its help, its options into a
 * struct run_opts, and the options that override the scenario (--users,
 * --duration, --rules, ...; --set is applied when the file is loaded).
 */
#include "cli.h"
#include "run.h"
#include "run_cli.h"
#include "scn.h"
#include "scn_limit.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------
 * wedge run
 * ------------------------------------------------------------ */
void run_usage(FILE *f)
{
    fprintf(f,
            "usage: wedge run SCENARIO... [OPTIONS]\n"
            "\n"
            "Set up a fresh database, start the scenario's services under the shim, fire\n"
            "the workload, stop, check the invariants and write the report.  Several\n"
            "scenarios run one after the other, each in OUT/NAME.\n"
            "  -s, --seed N          seed of the run (default: the scenario's, else random);\n"
            "                        the same seed replays the same injection decisions\n"
            "  -n, --repeat N        N runs, each with a fresh database and services and a\n"
            "                        seed derived from the base seed; outputs in OUT/run-K\n"
            "  -U, --until-fail      repeat until an invariant fails (at most %u runs)\n"
            "  -d, --duration D      load duration (250ms, 5s, 1m), overrides the scenario\n"
            "                        (and its iteration cap, unless --iterations is given)\n"
            "  -u, --users N         virtual users (closed model), overrides the scenario\n"
            "  -r, --rate R          arrivals per second (open model), overrides the scenario\n"
            "  -i, --iterations N    iterations in total, overrides the scenario\n"
            "  -m, --max-tries N     tries of a SQL transaction on 40001/40P01\n"
            "  -S, --set S.K=V       a line of the scenario: SECTION.KEY=VALUE, or\n"
            "                        service.NAME.KEY=VALUE (job., flow.); repeatable\n"
            "  -R, --rules TEXT      these rules for every service and job instead of the\n"
            "                        scenario's (its [scenario], service and job rules)\n"
            "      --no-rules        no rule at all (the shim still loads and traces)\n"
            "      --ready-timeout D how long a service may take to become ready (10s)\n"
            "  -D, --dsn DSN         use this PostgreSQL server (a fresh wedge_* database\n"
            "                        per run) instead of a throwaway cluster\n"
            "      --shard I/N       run the I-th of N shares of the users (0 <= I < N)\n"
            "                        against services and a --dsn database the shards\n"
            "                        share; wedge merge judges the shards together\n"
            "  -o, --out DIR         output directory (default\n"
            "                        ./wedge-out/SCENARIO-NAME-YYYYmmdd-HHMMSS)\n"
            "  -j, --json            print DIR/summary.json on stdout, everything else on\n"
            "                        stderr\n"
            "  -q, --quiet           no progress on stderr\n"
            "  -h, --help            this text\n"
            "\n"
            "Outputs in DIR: summary.json, junit.xml, report.md, report.html,\n"
            "latency.hgrm, history.jsonl, traces/, logs/; with --repeat or several\n"
            "scenarios, DIR holds one summary.json, junit.xml and report.html for every\n"
            "run.  The last line printed is 'N passed, N failed'.\n"
            "Exit: 0 every invariant held, 1 one was violated, 2 usage or scenario error,\n"
            "3 inconclusive (database or service unavailable, no request succeeded,\n"
            "timeout, interrupted).\n",
            RUN_UNTIL_FAIL_MAX);
}

#define RUN_OPTSTRING "s:n:Ud:u:r:i:m:S:R:D:o:jqh"
/* long options without a short one */
enum { RUN_OPT_READY = 256, RUN_OPT_NO_RULES, RUN_OPT_SHARD };

/* The most shards of one run. */
#define RUN_MAX_SHARDS 10000u

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

/* --shard I/N: 0 <= I < N <= RUN_MAX_SHARDS; -1 after the message. */
static int run_parse_shard(const char *v, struct run_opts *o)
{
    unsigned long i, n;
    char *end;

    errno = 0;
    i = strtoul(v, &end, 10);
    if (*end == '/' && end > v && v[0] != '-' && end[1] != '-') {
        const char *d = end + 1;
        n = strtoul(d, &end, 10);
        if (!errno && !*end && end > d && n >= 1 && n <= RUN_MAX_SHARDS && i < n) {
            o->shard_index = (unsigned)i;
            o->shard_count = (unsigned)n;
            return 0;
        }
    }
    fprintf(stderr,
            "wedge: run: --shard '%s': expected I/N, the I-th of N shards, 0 <= I < N <= %u "
            "(e.g. --shard 0/4 ... --shard 3/4)\n",
            v, RUN_MAX_SHARDS);
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
int run_overrides(const struct run_opts *o, struct scenario *s)
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

/* Options that exclude each other; -1 after the message. */
static int run_opts_exclusive(const struct run_opts *o, int nfiles)
{
    if (o->until_fail && o->repeat > 1) {
        fprintf(stderr, "wedge: run: --repeat and --until-fail exclude each other\n");
        return -1;
    }
    if (o->shard_count && (o->until_fail || o->repeat > 1 || nfiles > 1)) {
        fprintf(stderr, "wedge: run: --shard runs one share of one run of one scenario: not "
                        "with --repeat, --until-fail or several scenarios\n");
        return -1;
    }
    return 0;
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
    {"set", required_argument, NULL, 'S'},
    {"json", no_argument, NULL, 'j'},
    {"rules", required_argument, NULL, 'R'},
    {"no-rules", no_argument, NULL, RUN_OPT_NO_RULES},
    {"ready-timeout", required_argument, NULL, RUN_OPT_READY},
    {"shard", required_argument, NULL, RUN_OPT_SHARD},
    {"dsn", required_argument, NULL, 'D'},
    {"out", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* wedge run's options into o: -1 to go on, else the exit code to return
 * (help printed, or a usage error).  One case per option: the getopt
 * switch reads best whole, so it stays one function over 60 lines. */
int run_parse_opts(int argc, char **argv, struct run_opts *o)
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
        case 'S':
            if (o->nsets == RUN_MAX_SETS) {
                fprintf(stderr, "wedge: run: at most %d --set\n", RUN_MAX_SETS);
                return WEDGE_USAGE;
            }
            o->sets[o->nsets++] = optarg;
            break;
        case 'j':
            o->json = 1;
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
        case RUN_OPT_SHARD:
            if (run_parse_shard(optarg, o) < 0)
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
    if (optind >= argc || argc - optind > RUN_MAX_SCENARIOS) {
        fprintf(stderr, optind >= argc ? "wedge: run: no scenario file given\n"
                                       : "wedge: run: too many scenario files\n");
        fprintf(stderr, "usage: wedge run SCENARIO... [OPTIONS]; see 'wedge run --help'\n");
        return WEDGE_USAGE;
    }
    if (run_opts_exclusive(o, argc - optind) < 0)
        return WEDGE_USAGE;
    for (int i = optind; i < argc; i++)
        o->paths[o->npaths++] = argv[i];
    o->path = o->paths[0];
    return -1;
}

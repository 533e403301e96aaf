/*
 * hunt.c - `wedge hunt SCENARIO`: its options; the search is
 * runner/hunt/ (hunt_search).
 */
#include "cli.h"
#include "hunt.h"
#include "util.h"
#include "wedge_exit.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HUNT_BUDGET_DEFAULT 40u /* runs */

static void hunt_usage(FILE *f)
{
    fprintf(f,
            "usage: wedge hunt SCENARIO [OPTIONS]\n"
            "\n"
            "Find a race nobody wrote a rule for: run the scenario once with every\n"
            "statement, lock and send logged, turn what it saw into candidate rules (a\n"
            "read then a write with nothing holding the window shut, two paths taking\n"
            "two locks in opposite orders, a lock released and taken again within one\n"
            "request, ...), confirm them best first on %d seeds, check the find without\n"
            "its rule, shrink it, and write it out as DIR/found-N.scn.\n"
            "  -b, --budget N|D     runs in all (observing included), or wall time (5m);\n"
            "                       default %u runs\n"
            "  -o, --out DIR        output directory (default\n"
            "                       ./wedge-out/hunt-SCENARIO-NAME-YYYYmmdd-HHMMSS)\n"
            "  -s, --seed N         the first seed (the others derive from it)\n"
            "  -u, --users N        virtual users, as for wedge run (a light load finds\n"
            "  -r, --rate R         arrivals per second  windows plain load never opens)\n"
            "  -d, --duration D     load duration\n"
            "  -i, --iterations N   requests in total\n"
            "      --no-rules       leave the scenario's own rules out\n"
            "  -k, --keep-going     after a find, try the other candidates too\n"
            "  -D, --dsn DSN        use this PostgreSQL server instead of a throwaway one\n"
            "  -j, --json           print summary.json on stdout\n"
            "  -q, --quiet          no progress on stderr\n"
            "  -h, --help           this text\n"
            "\n"
            "Outputs in DIR: report.md, report.html, summary.json, found-N.scn, and every\n"
            "run's own output (observe/, cand-N/).  Exit: 1 a race was found and confirmed\n"
            "(found-N.scn written), 0 every candidate tried held (the budget may have run\n"
            "out first), 2 usage or scenario error, 3 inconclusive.  See docs/hunt.md.\n",
            HUNT_SEEDS, HUNT_BUDGET_DEFAULT);
}

#define HUNT_OPTSTRING "b:o:s:u:r:d:i:kD:jqhN"

/* "40" is runs, "5m" wall time. */
static int hunt_budget(const char *v, struct hunt_opts *o)
{
    size_t n = strspn(v, "0123456789");
    if (n && !v[n]) {
        unsigned long runs = strtoul(v, NULL, 10);
        if (runs >= 1 && runs <= 100000) {
            o->budget_runs = (unsigned)runs;
            return 0;
        }
        fprintf(stderr,
                "wedge: hunt: --budget '%s': expected 1..100000 runs or a duration such "
                "as 5m\n",
                v);
        return -1;
    }
    if (util_duration_arg("hunt", "--budget", v, &o->budget_ns) < 0)
        return -1;
    if (!o->budget_ns) {
        fprintf(stderr, "wedge: hunt: --budget '%s': a budget of no time tries nothing\n", v);
        return -1;
    }
    o->budget_runs = 0;
    return 0;
}

static int hunt_seed(const char *v, struct hunt_opts *o)
{
    char *end;
    errno = 0;
    o->seed = strtoull(v, &end, 10);
    if (errno || *end || !*v || !isdigit((unsigned char)v[0])) {
        fprintf(stderr, "wedge: hunt: --seed '%s': expected a non-negative number\n", v);
        return -1;
    }
    o->has_seed = 1;
    return 0;
}

/* The load flags go into the derived scenario files as written: refuse
 * here what wedge run would refuse there. */
static int hunt_load_args(const struct hunt_opts *o)
{
    uint64_t ns;
    char *end;
    if (o->users && (strspn(o->users, "0123456789") != strlen(o->users) || !atoi(o->users))) {
        fprintf(stderr, "wedge: hunt: --users '%s': expected 1 or more\n", o->users);
        return -1;
    }
    if (o->iterations && strspn(o->iterations, "0123456789") != strlen(o->iterations)) {
        fprintf(stderr, "wedge: hunt: --iterations '%s': expected a number\n", o->iterations);
        return -1;
    }
    if (o->rate && (strtod(o->rate, &end) < 0 || *end || !*o->rate)) {
        fprintf(stderr, "wedge: hunt: --rate '%s': expected requests per second\n", o->rate);
        return -1;
    }
    if (o->duration && util_duration_arg("hunt", "--duration", o->duration, &ns) < 0)
        return -1;
    return 0;
}

/* One flag into o: 0, or -1 after its message. */
static int hunt_flag(int opt, const char *arg, struct hunt_opts *o)
{
    switch (opt) {
    case 'b':
        return hunt_budget(arg, o);
    case 's':
        return hunt_seed(arg, o);
    case 'o':
        o->out = arg;
        break;
    case 'u':
        o->users = arg;
        break;
    case 'r':
        o->rate = arg;
        break;
    case 'd':
        o->duration = arg;
        break;
    case 'i':
        o->iterations = arg;
        break;
    case 'D':
        o->dsn = arg;
        break;
    case 'N':
        o->no_rules = 1;
        break;
    case 'k':
        o->keep_going = 1;
        break;
    case 'j':
        o->json = 1;
        break;
    case 'q':
        o->quiet = 1;
        break;
    }
    return 0;
}

int hunt_main(int argc, char **argv)
{
    static const struct option opts[] = {{"budget", required_argument, NULL, 'b'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"users", required_argument, NULL, 'u'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"iterations", required_argument, NULL, 'i'},
                                         {"no-rules", no_argument, NULL, 'N'},
                                         {"keep-going", no_argument, NULL, 'k'},
                                         {"dsn", required_argument, NULL, 'D'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct hunt_opts o;
    int opt;

    memset(&o, 0, sizeof o);
    o.budget_runs = HUNT_BUDGET_DEFAULT;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, HUNT_OPTSTRING, opts, NULL)) != -1) {
        if (opt == 'h') {
            hunt_usage(stdout);
            return WEDGE_PASS;
        }
        if (opt == '?')
            return util_bad_option("hunt", argv, HUNT_OPTSTRING, opts);
        if (hunt_flag(opt, optarg, &o) < 0)
            return WEDGE_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, optind >= argc ? "wedge: hunt: no scenario file given\n"
                                       : "wedge: hunt: one scenario file expected\n");
        fprintf(stderr, "usage: wedge hunt SCENARIO [OPTIONS]; see 'wedge hunt --help'\n");
        return WEDGE_USAGE;
    }
    o.path = argv[optind];
    if (hunt_load_args(&o) < 0)
        return WEDGE_USAGE;
    util_install_signals();
    return hunt_search(&o);
}

/*
 * merge.c - `wedge merge DIR...`: the output directories of the shards of
 * one run (wedge run --shard I/N) judged as one run (run/run_merge.c): the
 * scenario loaded as the shards loaded it, then one summary.json,
 * junit.xml and report.md for the whole.
 */
#include "cli.h"
#include "run.h"
#include "run_cli.h"
#include "scn.h"
#include "util.h"
#include "wedge_exit.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void merge_usage(FILE *f)
{
    fprintf(f, "usage: wedge merge DIR... --out OUT [OPTIONS]\n"
               "\n"
               "Judge the shards of one run (each DIR the output of wedge run --shard I/N,\n"
               "every I of N once) as one run: their histories merged on one clock, their\n"
               "latency histograms exactly, their series; then every invariant once over\n"
               "the whole (SQL ones on the shared database, HTTP ones asked of the shared\n"
               "services now).  Writes summary.json, junit.xml, report.md, latency.hgrm,\n"
               "history.jsonl and merge.json (the shards and their clock offsets) in OUT.\n"
               "  -D, --dsn DSN         the database the shards shared (for SQL invariants)\n"
               "  -o, --out DIR         output directory (required)\n"
               "  -h, --help            this text\n"
               "\n"
               "Exit: as wedge run's (0 held, 1 violated, 2 usage, 3 inconclusive).\n");
}

#define MERGE_OPTSTRING "D:o:h"
static const struct option merge_longopts[] = {{"dsn", required_argument, NULL, 'D'},
                                               {"out", required_argument, NULL, 'o'},
                                               {"help", no_argument, NULL, 'h'},
                                               {NULL, 0, NULL, 0}};

/* The options of the shards' run, as its command line gave them. */
static void merge_run_opts(const struct merge_plan *pl, struct run_opts *o)
{
    o->path = o->paths[0] = pl->scenario;
    o->npaths = 1;
    for (int i = 0; i < pl->nsets && i < RUN_MAX_SETS; i++)
        o->sets[o->nsets++] = pl->sets[i];
    o->duration = pl->given[0];
    o->users = pl->given[1];
    o->rate = pl->given[2];
    o->iterations = pl->given[3];
    o->max_tries = pl->given[4];
    o->seed = pl->seed;
    o->has_seed = 1;
}

static int merge_run(struct run_opts *o, const char *const *dirs, int n)
{
    struct merge_plan pl;
    struct scenario scn;
    struct run_state st = {.o = o, .scn = &scn};
    char err[4096];
    int code;

    if (run_merge_plan(dirs, n, &pl, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: merge: %s\n", err);
        return WEDGE_USAGE;
    }
    merge_run_opts(&pl, o);
    if (!pl.scenario || scn_load_set(pl.scenario, o->sets, o->nsets, &scn, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: merge: %s\n", pl.scenario ? err : "the shards name no scenario");
        run_merge_plan_free(&pl);
        return WEDGE_USAGE;
    }
    code = run_overrides(o, &scn) < 0 ? WEDGE_USAGE : run_merge(&st, &pl, o->out);
    scn_free(&scn);
    run_merge_plan_free(&pl);
    return code;
}

int merge_main(int argc, char **argv)
{
    struct run_opts o;
    int opt;

    memset(&o, 0, sizeof(o));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, MERGE_OPTSTRING, merge_longopts, NULL)) != -1) {
        switch (opt) {
        case 'D':
            o.dsn = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'h':
            merge_usage(stdout);
            return WEDGE_PASS;
        default:
            return util_bad_option("merge", argv, MERGE_OPTSTRING, merge_longopts);
        }
    }
    if (optind >= argc || !o.out) {
        fprintf(stderr, "wedge: merge: %s\n",
                optind >= argc ? "no shard directory given" : "no --out directory given");
        fprintf(stderr, "usage: wedge merge DIR... --out OUT [OPTIONS]; see 'wedge merge "
                        "--help'\n");
        return WEDGE_USAGE;
    }
    return merge_run(&o, (const char *const *)argv + optind, argc - optind);
}

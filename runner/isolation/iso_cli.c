/*
 * iso_cli.c - the command line of `wedge isolation`: usage, options, the
 * default spec directory, --permutation.
 */
#include "iso_int.h"
#include "redact.h"
#include "timeunit.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: wedge isolation [--dsn DSN] [--dbname NAME] [--level L,...] [--spec FILE|DIR]...\n"
        "                       [--out DIR] [--format wedge|isolationtester] [--expected DIR]\n"
        "                       [--shop-users N] [--shop-orders N] [--shop-think D] "
        "[--verbose] [--check]\n"
        "                       [--permutation \"STEP STEP ...\"]\n"
        "\n"
        "Run isolation specs on a real PostgreSQL.  An anomaly spec (with 'anomaly' and\n"
        "'expect' lines) runs at each level into the anomaly matrix (anomaly x level:\n"
        "occurs / prevented, '*' where it differs from the spec's expectation), and the\n"
        "shop's stock update, naive and atomic, is raced from several sessions at each\n"
        "level.  A plain spec (PostgreSQL's src/test/isolation/specs) runs as\n"
        "isolationtester runs it and prints its output.  See docs/isolation.md.\n"
        "\n"
        "  --dsn DSN         an existing server (default: a throwaway embedded cluster);\n"
        "                    the run uses a fresh database on it and drops it after\n"
        "  --dbname NAME     that database's name (default wedge_iso_PID); dropped first\n"
        "                    if it exists\n"
        "  --level L,...     read-committed, repeatable-read, serializable (default all)\n"
        "  --spec FILE|DIR   spec files, or directories of *.spec (repeatable; default\n"
        "                    $WEDGE_ISOLATION_DIR, else scenarios/isolation of the source\n"
        "                    tree, or DATADIR/wedge/scenarios/isolation when installed)\n"
        "  --out DIR         write summary.json, report.md, report.html, junit.xml and the\n"
        "                    step logs there, and each plain spec's output as\n"
        "                    results/NAME.out\n"
        "  --format F        the step logs' format: wedge (default for anomaly specs) or\n"
        "                    isolationtester (its exact output; default for plain specs)\n"
        "  --expected DIR    compare each plain spec's output with DIR/NAME.out (or an\n"
        "                    alternative NAME_N.out); print ok / FAILED and the diffs\n"
        "  --shop-users N    concurrent sessions of the shop workload (default 4, at most 64)\n"
        "  --shop-orders N   orders per session (default 50; 0 skips the workload)\n"
        "  --shop-think D    time between reading and writing the stock (default 1ms)\n"
        "  --permutation \"S1 S2 ...\"  with one --spec: run this interleaving of its steps\n"
        "                    instead of the spec's own\n"
        "  --check           parse the specs and print what they are; run nothing\n"
        "  -v, --verbose     print every step log on stderr\n"
        "  -h, --help        this text\n"
        "\n"
        "Environment: PGISOLATIONTIMEOUT (seconds a step of a plain spec may run before\n"
        "it is cancelled; default 300), WEDGE_ISOLATION_DIR.\n"
        "Exit: 0 as expected, 1 a cell or a plain spec's output differs, 2 usage or spec\n"
        "error, 3 the database is unavailable or the run was interrupted.\n");
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* $WEDGE_ISOLATION_DIR; the source tree's specs when this wedge is the
 * build tree's; else the installed ones: DATADIR/wedge next to the binary
 * (a relocated install), then the configured one. */
const char *iso_default_spec_dir(char *buf, size_t len)
{
    const char *env = getenv("WEDGE_ISOLATION_DIR");
    char self[PATH_MAX], build[PATH_MAX];

    if (env && *env)
        return env;
    if (realpath(util_self_dir(), self) && realpath(WEDGE_BUILD_BIN, build) &&
        !strcmp(self, build)) {
        snprintf(buf, len, "%s/scenarios/isolation", WEDGE_SOURCE_DIR);
        if (is_dir(buf))
            return buf;
    }
    snprintf(buf, len, "%s/../share/wedge/scenarios/isolation", util_self_dir());
    if (is_dir(buf))
        return buf;
    snprintf(buf, len, "%s/scenarios/isolation", WEDGE_INSTALL_DATADIR);
    return buf;
}

static int parse_levels(const char *text, int level[ISO_NLEVELS])
{
    const char *p = text;

    memset(level, 0, sizeof(int) * ISO_NLEVELS);
    while (*p) {
        size_t n = strcspn(p, ",");
        enum iso_level l;
        if (iso_level_parse(p, n, &l) < 0) {
            fprintf(stderr,
                    "wedge: isolation: unknown level '%.*s' in --level: expected "
                    "read-committed, repeatable-read or serializable\n",
                    (int)n, p);
            return -1;
        }
        level[l] = 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int parse_count(const char *opt, const char *text, int min, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < min || v > max) {
        fprintf(stderr, "wedge: isolation: %s '%s': expected a whole number from %d to %d\n", opt,
                text, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* --permutation "S1 S2 ...": run this interleaving of the one spec instead of
 * its own, to explore another window or to show that its check can fire. */
int iso_override_permutation(struct iso_spec *sp, const char *text)
{
    struct iso_perm perm = {0};
    const char *p = text;
    int i;

    while (*p) {
        size_t n;
        int step;
        struct iso_pstep *g;
        p += strspn(p, " \t,");
        n = strcspn(p, " \t,");
        if (n == 0)
            break;
        step = iso_spec_find_step(sp, p, n);
        if (step < 0) {
            fprintf(stderr, "wedge: isolation: --permutation: no step '%.*s' in %s\n", (int)n, p,
                    sp->path);
            free(perm.steps);
            return -1;
        }
        g = realloc(perm.steps, sizeof *g * (size_t)(perm.nsteps + 1));
        if (!g) {
            free(perm.steps);
            return -1;
        }
        perm.steps = g;
        memset(&g[perm.nsteps], 0, sizeof *g);
        perm.steps[perm.nsteps++].step = step;
        p += n;
    }
    if (perm.nsteps == 0) {
        fprintf(stderr, "wedge: isolation: --permutation: expected step names\n");
        return -1;
    }
    if (sp->nperms == 0) {
        struct iso_perm *g = calloc(1, sizeof *g);
        if (!g) {
            free(perm.steps);
            return -1;
        }
        sp->perms = g;
    }
    for (i = 0; i < sp->nperms; i++) {
        int j;
        for (j = 0; j < sp->perms[i].nsteps; j++)
            free(sp->perms[i].steps[j].blockers);
        free(sp->perms[i].steps);
    }
    sp->perms[0] = perm;
    sp->nperms = 1;
    return 0;
}

/* One option's value into o; WEDGE_PASS or WEDGE_USAGE. */
static int apply_option(int c, const char *arg, struct iso_opts *o)
{
    switch (c) {
    case 'd':
        o->dsn = arg;
        return WEDGE_PASS;
    case 'D':
        if (!*arg || strlen(arg) > 63) {
            fprintf(stderr,
                    "wedge: isolation: --dbname '%s': expected a database name of 1 to "
                    "63 bytes\n",
                    arg);
            return WEDGE_USAGE;
        }
        o->dbname = arg;
        return WEDGE_PASS;
    case 'l':
        return parse_levels(arg, o->level) < 0 ? WEDGE_USAGE : WEDGE_PASS;
    case 's': {
        const char **g = realloc(o->specs, sizeof *g * (size_t)(o->nspecs + 1));
        if (!g)
            return WEDGE_USAGE;
        o->specs = g;
        o->specs[o->nspecs++] = arg;
        return WEDGE_PASS;
    }
    case 'o':
        o->out = arg;
        return WEDGE_PASS;
    case 'e':
        o->expected = arg;
        return WEDGE_PASS;
    case 'f':
        if (!strcmp(arg, "wedge"))
            o->fmt = ISO_FMT_WEDGE;
        else if (!strcmp(arg, "isolationtester"))
            o->fmt = ISO_FMT_PG;
        else {
            fprintf(stderr, "wedge: isolation: --format '%s': expected wedge or isolationtester\n",
                    arg);
            return WEDGE_USAGE;
        }
        return WEDGE_PASS;
    case 'p':
        o->permutation = arg;
        return WEDGE_PASS;
    case 'U':
        return parse_count("--shop-users", arg, 1, 64, &o->shop.users) < 0 ? WEDGE_USAGE
                                                                           : WEDGE_PASS;
    case 'O':
        return parse_count("--shop-orders", arg, 0, 100000, &o->shop.orders) < 0 ? WEDGE_USAGE
                                                                                 : WEDGE_PASS;
    case 'T':
        return util_duration_arg("isolation", "--shop-think", arg, &o->shop.think_ns) < 0
                   ? WEDGE_USAGE
                   : WEDGE_PASS;
    }
    return WEDGE_USAGE;
}

/* PGISOLATIONTIMEOUT, in seconds, as isolationtester reads it. */
static int timeout_from_env(struct iso_opts *o)
{
    const char *env = getenv("PGISOLATIONTIMEOUT");
    int secs = 300;

    if (env && *env && parse_count("PGISOLATIONTIMEOUT", env, 1, 86400, &secs) < 0)
        return WEDGE_USAGE;
    o->timeout_ns = (uint64_t)secs * NS_PER_S;
    return WEDGE_PASS;
}

int iso_parse_args(int argc, char **argv, struct iso_opts *o)
{
    static const struct option longopts[] = {{"dsn", required_argument, NULL, 'd'},
                                             {"dbname", required_argument, NULL, 'D'},
                                             {"level", required_argument, NULL, 'l'},
                                             {"spec", required_argument, NULL, 's'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"expected", required_argument, NULL, 'e'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"check", no_argument, NULL, 'c'},
                                             {"permutation", required_argument, NULL, 'p'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"shop-users", required_argument, NULL, 'U'},
                                             {"shop-orders", required_argument, NULL, 'O'},
                                             {"shop-think", required_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
    int c, l;

    for (l = 0; l < ISO_NLEVELS; l++)
        o->level[l] = 1;
    o->shop.users = 4;
    o->shop.orders = 50;
    o->shop.think_ns = NS_PER_MS;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        if (c == 'v') {
            o->verbose = 1;
        } else if (c == 'c') {
            o->check_only = 1;
        } else if (c == 'h') {
            usage(stdout);
            return -1;
        } else if (c == '?' || c == ':') {
            util_bad_option("isolation", argv, "vh", longopts);
            return WEDGE_USAGE;
        } else if (apply_option(c, optarg, o) != WEDGE_PASS) {
            return WEDGE_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wedge: isolation: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return WEDGE_USAGE;
    }
    return timeout_from_env(o);
}

/* The command line as typed, for reports (passwords masked). */
char *iso_join_command(int argc, char **argv)
{
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    int i;

    if (!m)
        return NULL;
    fprintf(m, "wedge");
    for (i = 0; i < argc; i++) {
        char *a = redact_conninfo_dup(argv[i]), *w = util_shell_word(a);
        fprintf(m, " %s", w);
        free(w);
        free(a);
    }
    fclose(m);
    return out;
}

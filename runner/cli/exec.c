/*
 * exec.c - `wedge exec`: run one command under the shim.
 */
#include "cli.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* '+': options stop at CMD, whose own flags are its own. */
#define EXEC_OPTSTRING "+r:f:s:t:c:qh"

static void exec_usage(FILE *f)
{
    fprintf(f, "usage: wedge exec [OPTIONS] -- CMD [ARGS...]\n"
               "\n"
               "Run CMD with libwedge.so preloaded, so the rules inject into it.\n"
               "  -r, --rules TEXT       rules (one a line or ';' between them)\n"
               "  -f, --rules-file FILE  rules from a file\n"
               "  -s, --seed N           seed of the injection decisions (default: random,\n"
               "                         printed as 'wedge: seed N' so a run can be replayed)\n"
               "  -t, --trace DIR        write the shim trace (DIR/trace.PID.jsonl)\n"
               "  -c, --ctl FILE         control file shared with other processes for\n"
               "                         barriers, marks and waits across processes\n"
               "  -q, --quiet            do not print the seed\n"
               "  -h, --help             this text\n"
               "\n"
               "The exit status is CMD's (128+N when a signal N ended it); 2 when the rules\n"
               "do not parse (the shim prints 'wedge: rules:LINE:COL: ...' before main);\n"
               "127 when CMD cannot be run.  Environment: WEDGE_SHIM (path of libwedge.so),\n"
               "an existing LD_PRELOAD is kept after the shim.\n");
}

static const struct option exec_longopts[] = {
    {"rules", required_argument, NULL, 'r'}, {"rules-file", required_argument, NULL, 'f'},
    {"seed", required_argument, NULL, 's'},  {"trace", required_argument, NULL, 't'},
    {"ctl", required_argument, NULL, 'c'},   {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};

struct exec_opts {
    const char *rules, *rules_file, *trace, *ctl;
    uint64_t seed;
    int quiet, has_seed;
};

/* The options into o: -1 to go on, else the exit code to return. */
static int exec_parse_opts(int argc, char **argv, struct exec_opts *o)
{
    int opt;

    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, EXEC_OPTSTRING, exec_longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'r':
            o->rules = optarg;
            break;
        case 'f':
            o->rules_file = optarg;
            break;
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg) {
                fprintf(stderr, "wedge: exec: --seed '%s': expected a number\n", optarg);
                return WEDGE_USAGE;
            }
            o->has_seed = 1;
            break;
        case 't':
            o->trace = optarg;
            break;
        case 'c':
            o->ctl = optarg;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            exec_usage(stdout);
            return WEDGE_PASS;
        default:
            return util_bad_option("exec", argv, EXEC_OPTSTRING, exec_longopts);
        }
    }
    return -1;
}

/* What must hold before CMD runs; -1 after a message. */
static int exec_check(const struct exec_opts *o, int argc, char **argv, char *preload, size_t len)
{
    char shim[PATH_MAX], err[1024];

    if (o->rules && o->rules_file) {
        fprintf(stderr, "wedge: exec: --rules and --rules-file exclude each other\n");
        return -1;
    }
    if (optind >= argc) {
        fprintf(stderr, "wedge: exec: no command given (wedge exec [OPTIONS] -- CMD ARGS...)\n");
        return -1;
    }
    if (o->rules_file && access(o->rules_file, R_OK) < 0) {
        fprintf(stderr, "wedge: exec: %s: %s\n", o->rules_file, strerror(errno));
        return -1;
    }
    if (util_find_shim(shim, sizeof(shim), err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: exec: %s\n", err);
        return -1;
    }
    if (util_preload_value(shim, preload, len) < 0) {
        fprintf(stderr, "wedge: exec: LD_PRELOAD too long\n");
        return -1;
    }
    if (o->trace && util_mkdir_p(o->trace, 0755) < 0) {
        fprintf(stderr, "wedge: exec: --trace %s: %s\n", o->trace, strerror(errno));
        return -1;
    }
    return 0;
}

/* The shim's environment for CMD. */
static void exec_environment(const struct exec_opts *o, const char *preload, uint64_t seed)
{
    char num[32];

    snprintf(num, sizeof(num), "%" PRIu64, seed);
    setenv("LD_PRELOAD", preload, 1);
    setenv("WEDGE_SEED", num, 1);
    if (o->rules) {
        setenv("WEDGE_RULES", o->rules, 1);
        unsetenv("WEDGE_RULES_FILE");
    } else if (o->rules_file) {
        setenv("WEDGE_RULES_FILE", o->rules_file, 1);
        unsetenv("WEDGE_RULES");
    }
    if (o->trace)
        setenv("WEDGE_TRACE", o->trace, 1);
    if (o->ctl)
        setenv("WEDGE_CTL", o->ctl, 1);
}

int exec_main(int argc, char **argv)
{
    struct exec_opts o;
    char preload[3 * PATH_MAX];
    uint64_t seed;
    int rc = exec_parse_opts(argc, argv, &o);

    if (rc >= 0)
        return rc;
    if (exec_check(&o, argc, argv, preload, sizeof(preload)) < 0)
        return WEDGE_USAGE;
    /* 0 is a seed like any other: only a missing --seed draws one. */
    seed = o.has_seed ? o.seed : util_random_seed();
    exec_environment(&o, preload, seed);
    if (!o.quiet)
        fprintf(stderr, "wedge: seed %" PRIu64 "\n", seed);
    fflush(NULL);
    /* exec, not fork: CMD keeps our pid, gets signals directly, and its exit
     * status (or the signal that ended it) is what our parent sees. */
    execvp(argv[optind], argv + optind);
    fprintf(stderr, "wedge: exec: %s: %s\n", argv[optind], strerror(errno));
    return 127; /* as a shell: the command could not be run */
}

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

int exec_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'}, {"rules-file", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 's'},  {"trace", required_argument, NULL, 't'},
        {"ctl", required_argument, NULL, 'c'},   {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *rules = NULL, *rules_file = NULL, *trace = NULL, *ctl = NULL;
    char shim[PATH_MAX], preload[3 * PATH_MAX], err[1024], num[32];
    uint64_t seed = 0;
    int quiet = 0, has_seed = 0, opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, EXEC_OPTSTRING, opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            rules = optarg;
            break;
        case 'f':
            rules_file = optarg;
            break;
        case 's': {
            char *end;
            errno = 0;
            seed = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg) {
                fprintf(stderr, "wedge: exec: --seed '%s': expected a number\n", optarg);
                return WEDGE_USAGE;
            }
            has_seed = 1;
            break;
        }
        case 't':
            trace = optarg;
            break;
        case 'c':
            ctl = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            exec_usage(stdout);
            return WEDGE_PASS;
        default:
            return util_bad_option("exec", argv, EXEC_OPTSTRING, opts);
        }
    }
    if (rules && rules_file) {
        fprintf(stderr, "wedge: exec: --rules and --rules-file exclude each other\n");
        return WEDGE_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "wedge: exec: no command given (wedge exec [OPTIONS] -- CMD ARGS...)\n");
        return WEDGE_USAGE;
    }
    if (rules_file && access(rules_file, R_OK) < 0) {
        fprintf(stderr, "wedge: exec: %s: %s\n", rules_file, strerror(errno));
        return WEDGE_USAGE;
    }
    if (util_find_shim(shim, sizeof(shim), err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: exec: %s\n", err);
        return WEDGE_USAGE;
    }
    if (util_preload_value(shim, preload, sizeof(preload)) < 0) {
        fprintf(stderr, "wedge: exec: LD_PRELOAD too long\n");
        return WEDGE_USAGE;
    }
    if (trace && util_mkdir_p(trace, 0755) < 0) {
        fprintf(stderr, "wedge: exec: --trace %s: %s\n", trace, strerror(errno));
        return WEDGE_USAGE;
    }
    /* 0 is a seed like any other: only a missing --seed draws one. */
    if (!has_seed)
        seed = util_random_seed();
    snprintf(num, sizeof(num), "%" PRIu64, seed);
    setenv("LD_PRELOAD", preload, 1);
    setenv("WEDGE_SEED", num, 1);
    if (rules) {
        setenv("WEDGE_RULES", rules, 1);
        unsetenv("WEDGE_RULES_FILE");
    } else if (rules_file) {
        setenv("WEDGE_RULES_FILE", rules_file, 1);
        unsetenv("WEDGE_RULES");
    }
    if (trace)
        setenv("WEDGE_TRACE", trace, 1);
    if (ctl)
        setenv("WEDGE_CTL", ctl, 1);
    if (!quiet)
        fprintf(stderr, "wedge: seed %" PRIu64 "\n", seed);
    fflush(NULL);
    /* exec, not fork: CMD keeps our pid, gets signals directly, and its exit
     * status (or the signal that ended it) is what our parent sees. */
    execvp(argv[optind], argv + optind);
    fprintf(stderr, "wedge: exec: %s: %s\n", argv[optind], strerror(errno));
    return 127;
}

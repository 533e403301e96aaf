/*
 * check.c - `wedge check`: a scenario or rules validated without running
 * anything.
 */
#include "cli.h"
#include "rulecheck.h"
#include "scn.h"
#include "svc.h"
#include "textfile.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------
 * wedge check
 * ------------------------------------------------------------ */
static void check_usage(FILE *f)
{
    fprintf(f, "usage: wedge check SCENARIO | --rules TEXT | --rules-file FILE\n"
               "\n"
               "Validate without running anything: the scenario file (sections, keys,\n"
               "values, ${...} references in commands) and every rule it holds, with the\n"
               "shim's own parser; or the rules given.\n"
               "  -r, --rules TEXT       rules to validate\n"
               "  -f, --rules-file FILE  rules file to validate\n"
               "  -q, --quiet            print nothing when valid\n"
               "  -h, --help             this text\n"
               "\n"
               "Exit: 0 valid, 2 invalid (the message names file:line[:col]).\n");
}

/* Expand every command and ready value with stand-in values: an unknown
 * ${name} is found now, not when the run starts. */
static int check_expansions(const struct scenario *s)
{
    struct exp_standin st;
    struct exp_ctx e;
    int rc = 0;
    char err[512];

    exp_standin(s, &st);
    e = st.e;
    e.build = util_build_dir();
    for (int i = 0; i < s->nservices + s->njobs; i++) {
        int svc = i < s->nservices;
        const char *cmd = svc ? s->services[i].command : s->jobs[i - s->nservices].command;
        int line = svc ? s->services[i].line : s->jobs[i - s->nservices].line;
        char **argv;
        e.service = svc ? s->services[i].name : NULL;
        argv = svc_argv(cmd, &e, err, sizeof(err));
        if (!argv) {
            fprintf(stderr, "wedge: %s:%d: command: %s\n", s->path, line, err);
            rc = WEDGE_USAGE;
        }
        svc_argv_free(argv);
        if (svc && s->services[i].ready) {
            char *r = exp_expand(s->services[i].ready, &e, err, sizeof(err));
            if (!r) {
                fprintf(stderr, "wedge: %s:%d: ready: %s\n", s->path, line, err);
                rc = WEDGE_USAGE;
            }
            free(r);
        }
    }
    return rc;
}

/* --rules TEXT or --rules-file FILE through the shim's parser. */
static int check_rules(const char *rules, const char *rules_file, int quiet)
{
    char err[4096], *text = NULL;
    int rc = WEDGE_PASS;

    if (rules)
        text = util_fmt("%s", rules);
    else if (textfile_read(rules_file, TEXTFILE_RULES_MAX, &text, NULL, err, sizeof err) < 0) {
        /* "FILE:LINE:COL: a NUL byte ..." names the place as rules do */
        if (err[0] >= '0' && err[0] <= '9')
            fprintf(stderr, "wedge: %s:%s\n", rules_file, err);
        else
            fprintf(stderr, "wedge: check: %s: %s\n", rules_file, err);
        return WEDGE_USAGE;
    }
    if (rulecheck_text(text, err, sizeof(err)) < 0) {
        /* The shim names its text "rules"; name the file instead. */
        if (rules_file && !strncmp(err, "rules:", 6))
            fprintf(stderr, "wedge: %s:%s\n", rules_file, err + 6);
        else
            fprintf(stderr, "wedge: %s\n", err);
        rc = WEDGE_USAGE;
    } else if (!quiet) {
        printf("wedge: rules ok\n");
    }
    free(text);
    return rc;
}

/* A scenario: its file, every rule in it, every command's expansion. */
static int check_scenario(const char *path, int quiet)
{
    struct scenario s;
    char err[4096];
    int rc = 0;

    if (scn_load(path, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: %s\n", err);
        return WEDGE_USAGE;
    }
    rc |= rulecheck_scenario(&s);
    rc |= check_expansions(&s);
    if (!rc && !quiet)
        printf("wedge: %s: ok (%d services, %d jobs, %d requests, %d invariants)\n", s.path,
               s.nservices, s.njobs, s.nrequests, s.ninvariants);
    scn_free(&s);
    return rc ? WEDGE_USAGE : WEDGE_PASS;
}

int check_main(int argc, char **argv)
{
    static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
                                         {"rules-file", required_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rules = NULL, *rules_file = NULL;
    int quiet = 0, opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "r:f:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            rules = optarg;
            break;
        case 'f':
            rules_file = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            check_usage(stdout);
            return WEDGE_PASS;
        default:
            return util_bad_option("check", argv, "r:f:qh", opts);
        }
    }
    if ((rules != NULL) + (rules_file != NULL) + (optind < argc) != 1 || argc - optind > 1) {
        fprintf(stderr, "wedge: check: give one of SCENARIO, --rules TEXT, --rules-file FILE\n");
        return WEDGE_USAGE;
    }
    if (rules || rules_file)
        return check_rules(rules, rules_file, quiet);
    return check_scenario(argv[optind], quiet);
}

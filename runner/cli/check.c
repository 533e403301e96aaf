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
    fprintf(f, "usage: wedge check SCENARIO... [--set SECTION.KEY=VALUE]...\n"
               "       wedge check --rules TEXT | --rules-file FILE\n"
               "\n"
               "Validate without running anything: each scenario file (sections, keys,\n"
               "values, every ${...} of commands, requests, headers, expects and HTTP\n"
               "invariants) and every rule it holds, with the shim's own parser; or the\n"
               "rules given.\n"
               "  -S, --set S.K=V        override a line of each scenario, as wedge run does\n"
               "  -r, --rules TEXT       rules to validate\n"
               "  -f, --rules-file FILE  rules file to validate\n"
               "  -q, --quiet            print nothing when valid\n"
               "  -h, --help             this text\n"
               "\n"
               "Exit: 0 all valid, 2 one is invalid (the message names file:line[:col]).\n");
}

/* Expand every command and ready value with stand-in values: an unknown
 * ${name} is found now, not when the run starts. */
static int check_expansions(const struct scenario *s, const struct exp_standin *st)
{
    struct exp_ctx e = st->e;
    int rc = 0;
    char err[1024], where[512];

    e.build = util_build_dir();
    for (int i = 0; i < s->nservices + s->njobs; i++) {
        int svc = i < s->nservices;
        const char *cmd = svc ? s->services[i].command : s->jobs[i - s->nservices].command;
        int line = svc ? s->services[i].command_line : s->jobs[i - s->nservices].command_line;
        char **argv;
        e.service = svc ? s->services[i].name : NULL;
        argv = svc_argv(cmd, &e, err, sizeof(err));
        if (!argv) {
            fprintf(stderr, "wedge: %s: command: %s\n", scn_where(s, line, where, sizeof(where)),
                    err);
            rc = WEDGE_USAGE;
        }
        svc_argv_free(argv);
        if (svc && s->services[i].ready) {
            char *r = exp_expand(s->services[i].ready, &e, err, sizeof(err));
            if (!r) {
                fprintf(stderr, "wedge: %s: ready: %s\n",
                        scn_where(s, s->services[i].ready_line, where, sizeof(where)), err);
                rc = WEDGE_USAGE;
            }
            free(r);
        }
    }
    if (scn_check_requests(s, st, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: %s\n", err);
        rc = WEDGE_USAGE;
    }
    return rc;
}

/* One scenario file: 0 valid, else WEDGE_USAGE after the messages. */
static int check_scenario(const char *path, const char *const *sets, int nsets, int quiet)
{
    struct scenario s;
    struct exp_standin st;
    char err[4096];
    int rc = 0;

    if (scn_load_set(path, sets, nsets, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: %s\n", err);
        return WEDGE_USAGE;
    }
    exp_standin(&s, &st);
    rc |= rulecheck_scenario(&s);
    rc |= check_expansions(&s, &st);
    if (!rc && !quiet) {
        char flows[32] = "", proxies[32] = "";
        int np = 0;
        /* a [proxy NAME] is a service to the run (started, made ready,
         * stopped alike) but not one of the scenario's own: said apart */
        for (int i = 0; i < s.nservices; i++)
            np += s.services[i].is_proxy != 0;
        if (np)
            snprintf(proxies, sizeof(proxies), ", %d prox%s", np, np == 1 ? "y" : "ies");
        if (s.nflows)
            snprintf(flows, sizeof(flows), ", %d flow%s", s.nflows, s.nflows == 1 ? "" : "s");
        printf("wedge: %s: ok (%d services%s, %d jobs, %d requests%s, %d invariants)\n", s.path,
               s.nservices - np, proxies, s.njobs, s.nrequests, flows, s.ninvariants);
    }
    scn_free(&s);
    return rc ? WEDGE_USAGE : WEDGE_PASS;
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

#define CHECK_MAX_SETS 256

int check_main(int argc, char **argv)
{
    static const struct option opts[] = {{"set", required_argument, NULL, 'S'},
                                         {"rules", required_argument, NULL, 'r'},
                                         {"rules-file", required_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rules = NULL, *rules_file = NULL, *sets[CHECK_MAX_SETS];
    int quiet = 0, opt, rc = 0, nsets = 0;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "S:r:f:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 'S':
            if (nsets == CHECK_MAX_SETS) {
                fprintf(stderr, "wedge: check: at most %d --set\n", CHECK_MAX_SETS);
                return WEDGE_USAGE;
            }
            sets[nsets++] = optarg;
            break;
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
            return util_bad_option("check", argv, "S:r:f:qh", opts);
        }
    }
    if ((rules != NULL) + (rules_file != NULL) + (optind < argc) != 1 ||
        ((rules || rules_file) && nsets)) {
        fprintf(stderr, "wedge: check: give SCENARIO... (with any --set), or --rules TEXT, or "
                        "--rules-file FILE\n");
        return WEDGE_USAGE;
    }
    if (rules || rules_file)
        return check_rules(rules, rules_file, quiet);
    for (int i = optind; i < argc; i++)
        rc |= check_scenario(argv[i], sets, nsets, quiet);
    return rc ? WEDGE_USAGE : WEDGE_PASS;
}

/*
 * main.c - `wedge`: dispatch to the subcommands, `wedge help [COMMAND]`,
 * `wedge version`, and a hint for a misspelt command.  Every text a user
 * sees here is also in docs/cli.md (tests/e2e/cli/help_docs.py compares
 * them).
 */
#include "cli.h"
#include "iso.h"
#include "suggest.h"
#include "wedge_exit.h"

#include <stdio.h>
#include <string.h>

#ifndef WEDGE_VERSION
#define WEDGE_VERSION "0"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: wedge COMMAND [OPTIONS]\n"
               "\n"
               "Expose race conditions in real services without changing their code.\n"
               "\n"
               "Commands:\n"
               "  run SCENARIO...   start the scenario's services under the shim, drive\n"
               "                    concurrent load, check the invariants, write a report\n"
               "  exec -- CMD ...   run one command under the shim (rules, seed, trace)\n"
               "  hunt SCENARIO     find a race nobody wrote a rule for: observe, try candidate\n"
               "                    rules, confirm, write the find as a scenario file\n"
               "  merge DIR...      judge the shards of one run (run --shard I/N) as one run\n"
               "  check SCENARIO... validate scenarios (or --rules TEXT) without running them\n"
               "  proxy --listen P --to HOST:PORT\n"
               "                    forward TCP under the shim: the rules act on a program\n"
               "                    that cannot be preloaded, or on a remote database\n"
               "  ctl COMMAND       live control of a running run: status, release, mark,\n"
               "                    disable, enable, add, remove\n"
               "  pg start|stop|env a throwaway PostgreSQL cluster for a shell or CI\n"
               "  isolation         the isolation-level anomaly matrix on PostgreSQL\n"
               "  report DIR        draw DIR/report.html again from the files of a run\n"
               "  help [COMMAND]    this text, or a command's (the same as COMMAND --help)\n"
               "  version           print the version (also -V, --version)\n"
               "\n"
               "  -h, --help        this text\n"
               "\n"
               "Exit codes: 0 every invariant held, 1 an invariant was violated (a race was\n"
               "found), 2 usage or configuration error, 3 inconclusive (database or service\n"
               "unavailable, no request succeeded, interrupted).  See docs/cli.md.\n");
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} commands[] = {
    {"run", run_main},       {"exec", exec_main}, {"check", check_main}, {"pg", pg_main},
    {"isolation", iso_main}, {"hunt", hunt_main}, {"proxy", proxy_main}, {"report", report_main},
    {"merge", merge_main},   {"ctl", ctl_main},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* "unknown command 'rn' (did you mean 'run'?)" and the list; 2.  The
 * names come from the table, with help and version. */
static int unknown(const char *cmd)
{
    const char *names[NCOMMANDS + 2];
    char hint[96];

    for (size_t i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    names[NCOMMANDS] = "help";
    names[NCOMMANDS + 1] = "version";
    if (cmd[0] == '-')
        fprintf(stderr, "wedge: unknown option '%s'\n", cmd);
    else
        fprintf(stderr, "wedge: unknown command '%s'%s\n", cmd,
                suggest_hint(cmd, strlen(cmd), names, NCOMMANDS + 2, hint, sizeof(hint)));
    fprintf(stderr, "wedge: commands are");
    for (size_t i = 0; i < NCOMMANDS + 2; i++)
        fprintf(stderr, "%s %s", i ? "," : "", names[i]);
    fprintf(stderr, "; see 'wedge --help'\n");
    return WEDGE_USAGE;
}

/* wedge help [COMMAND]: the command's own --help. */
static int help(int argc, char **argv)
{
    if (argc < 3) {
        usage(stdout);
        return WEDGE_PASS;
    }
    if (argc > 3) {
        fprintf(stderr, "wedge: help: one command expected (wedge help COMMAND)\n");
        return WEDGE_USAGE;
    }
    if (!strcmp(argv[2], "help")) {
        printf("usage: wedge help [COMMAND]\n\nPrint the help of wedge, or of COMMAND (the "
               "same as wedge COMMAND --help).\n");
        return WEDGE_PASS;
    }
    if (!strcmp(argv[2], "version")) {
        printf("usage: wedge version\n\nPrint the version of wedge (also -V, --version).\n");
        return WEDGE_PASS;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[2], commands[i].name)) {
            char *args[] = {argv[2], "--help", NULL};
            return commands[i].fn(2, args);
        }
    return unknown(argv[2]);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd) {
        usage(stderr);
        return WEDGE_USAGE;
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
        return help(argc, argv);
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("wedge %s\n", WEDGE_VERSION);
        return WEDGE_PASS;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    return unknown(cmd);
}

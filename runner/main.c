/*
 * main.c - `wedge`: dispatch to the subcommands.
 */
#include "cli.h"
#include "iso.h"
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
               "  run SCENARIO      start the scenario's services under the shim, drive\n"
               "                    concurrent load, check the invariants, write a report\n"
               "  exec -- CMD ...   run one command under the shim (rules, seed, trace)\n"
               "  hunt SCENARIO     find a race nobody wrote a rule for: observe, try candidate\n"
               "                    rules, confirm, write the find as a scenario file\n"
               "  check SCENARIO    validate a scenario (or --rules TEXT) without running it\n"
               "  pg start|stop|env a throwaway PostgreSQL cluster for a shell or CI\n"
               "  isolation         the isolation-level anomaly matrix on PostgreSQL\n"
               "\n"
               "  -h, --help        this text ('wedge COMMAND --help' for a command's flags)\n"
               "  -V, --version     print the version\n"
               "\n"
               "Exit codes: 0 every invariant held, 1 an invariant was violated (a race was\n"
               "found), 2 usage or configuration error, 3 inconclusive (database or service\n"
               "unavailable, interrupted).  See docs/cli.md.\n");
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} commands[] = {
    {"run", run_main}, {"exec", exec_main},     {"check", check_main},
    {"pg", pg_main},   {"isolation", iso_main}, {"hunt", hunt_main},
};

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd) {
        usage(stderr);
        return WEDGE_USAGE;
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return WEDGE_PASS;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("wedge %s\n", WEDGE_VERSION);
        return WEDGE_PASS;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    if (cmd[0] == '-')
        fprintf(stderr, "wedge: unknown option '%s'\n", cmd);
    else
        fprintf(stderr, "wedge: unknown command '%s'\n", cmd);
    fprintf(stderr,
            "wedge: commands are run, hunt, exec, check, pg, isolation; see 'wedge --help'\n");
    return WEDGE_USAGE;
}

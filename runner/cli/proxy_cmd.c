/*
 * proxy_cmd.c - `wedge proxy`: its options, and running the forwarding
 * loop (runner/proxy) under libwedge.so.
 *
 * The loop must run under the shim for the rules to see its sockets, so
 * `wedge proxy ...` becomes `wedge exec [rules, seed, trace, ctl] -- wedge
 * proxy --serve ...`: the same process (exec, not fork), the shim loaded
 * before main, its environment set by `wedge exec` itself.  A run's
 * [proxy NAME] starts `wedge proxy --serve` directly, under the same
 * environment as its services.
 */
#include "cli.h"
#include "proxy.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROXY_OPTSTRING "l:t:r:f:s:T:c:m:qh"

static void proxy_usage(FILE *f)
{
    fprintf(f,
            "usage: wedge proxy --listen [HOST:]PORT --to HOST:PORT [OPTIONS]\n"
            "\n"
            "Forward TCP connections from --listen to --to, under libwedge.so: the same\n"
            "rules as in a preloaded process act on the proxy's sockets (sock.*, http ~,\n"
            "redis ~, data ~) and, for a PostgreSQL upstream, on the statements it\n"
            "carries (pq.query, sql ~, barrier, fail sqlstate ...).  For a program that\n"
            "cannot be preloaded (a static Go binary) or a remote database.\n"
            "  -l, --listen [HOST:]PORT  where to listen (HOST: 127.0.0.1 unless given)\n"
            "  -t, --to HOST:PORT        the upstream (HOST a name or an address)\n"
            "  -r, --rules TEXT          rules (one a line or ';' between them)\n"
            "  -f, --rules-file FILE     rules from a file\n"
            "  -s, --seed N              seed of the injection decisions (default: random)\n"
            "  -T, --trace DIR           write the shim trace (DIR/trace.PID.jsonl)\n"
            "  -c, --ctl FILE            control file shared with preloaded processes:\n"
            "                            barriers, marks and waits across them and the proxy\n"
            "  -m, --max-conns N         connections at once (default %d, at most %d);\n"
            "                            more are closed at once\n"
            "  -q, --quiet               no start and stop lines\n"
            "  -h, --help                this text\n"
            "\n"
            "It runs until SIGTERM or SIGINT, then closes every connection and exits 0.\n"
            "Exit: 2 bad options, addresses or rules (the shim's message names the rule),\n"
            "3 it cannot listen.\n",
            PROXY_MAX_CONNS_DEFAULT, PROXY_MAX_CONNS_LIMIT);
}

static const struct option proxy_longopts[] = {
    {"listen", required_argument, NULL, 'l'}, {"to", required_argument, NULL, 't'},
    {"rules", required_argument, NULL, 'r'},  {"rules-file", required_argument, NULL, 'f'},
    {"seed", required_argument, NULL, 's'},   {"trace", required_argument, NULL, 'T'},
    {"ctl", required_argument, NULL, 'c'},    {"max-conns", required_argument, NULL, 'm'},
    {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
    {"serve", no_argument, NULL, 'S'},        {NULL, 0, NULL, 0}};

struct proxy_opts {
    struct proxy_cfg cfg;
    const char *rules, *rules_file, *seed, *trace, *ctl;
    int serve;
};

/* -1 to go on, else the exit code to return. */
static int proxy_parse_opts(int argc, char **argv, struct proxy_opts *o)
{
    int opt;
    char *end;

    memset(o, 0, sizeof(*o));
    o->cfg.max_conns = PROXY_MAX_CONNS_DEFAULT;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, PROXY_OPTSTRING, proxy_longopts, NULL)) != -1) {
        switch (opt) {
        case 'l':
            o->cfg.listen = optarg;
            break;
        case 't':
            o->cfg.to = optarg;
            break;
        case 'r':
            o->rules = optarg;
            break;
        case 'f':
            o->rules_file = optarg;
            break;
        case 's':
            o->seed = optarg;
            break;
        case 'T':
            o->trace = optarg;
            break;
        case 'c':
            o->ctl = optarg;
            break;
        case 'q':
            o->cfg.quiet = 1;
            break;
        case 'S':
            o->serve = 1;
            break;
        case 'm':
            errno = 0;
            o->cfg.max_conns = (unsigned)strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg || o->cfg.max_conns < 1 ||
                o->cfg.max_conns > PROXY_MAX_CONNS_LIMIT) {
                fprintf(stderr, "wedge: proxy: --max-conns '%s': expected 1..%d\n", optarg,
                        PROXY_MAX_CONNS_LIMIT);
                return WEDGE_USAGE;
            }
            break;
        case 'h':
            proxy_usage(stdout);
            return WEDGE_PASS;
        default:
            return util_bad_option("proxy", argv, PROXY_OPTSTRING, proxy_longopts);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wedge: proxy: unexpected argument '%s' (see wedge proxy --help)\n",
                argv[optind]);
        return WEDGE_USAGE;
    }
    return -1;
}

/* `wedge exec [shim options] -- wedge proxy --serve ...`, in this process. */
static int proxy_reexec(const struct proxy_opts *o)
{
    char max[16];
    const char *av[32];
    int n = 0;

    snprintf(max, sizeof(max), "%u", o->cfg.max_conns);
    av[n++] = "wedge";
    av[n++] = "exec";
    if (o->rules)
        av[n++] = "--rules", av[n++] = o->rules;
    if (o->rules_file)
        av[n++] = "--rules-file", av[n++] = o->rules_file;
    if (o->seed)
        av[n++] = "--seed", av[n++] = o->seed;
    if (o->trace)
        av[n++] = "--trace", av[n++] = o->trace;
    if (o->ctl)
        av[n++] = "--ctl", av[n++] = o->ctl;
    if (o->cfg.quiet)
        av[n++] = "--quiet";
    av[n++] = "--";
    av[n++] = "/proc/self/exe";
    av[n++] = "proxy";
    av[n++] = "--serve";
    av[n++] = "--listen", av[n++] = o->cfg.listen;
    av[n++] = "--to", av[n++] = o->cfg.to;
    av[n++] = "--max-conns", av[n++] = max;
    if (o->cfg.quiet)
        av[n++] = "--quiet";
    av[n] = NULL;
    fflush(NULL);
    execv("/proc/self/exe", (char *const *)av);
    fprintf(stderr, "wedge: proxy: cannot run wedge again under the shim: %s\n", strerror(errno));
    return WEDGE_INCONCLUSIVE;
}

int proxy_main(int argc, char **argv)
{
    struct proxy_opts o;
    char err[512];
    const char *pre = getenv("LD_PRELOAD");
    int rc = proxy_parse_opts(argc, argv, &o);

    if (rc >= 0)
        return rc;
    if (proxy_check(&o.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "wedge: proxy: %s\n", err);
        return WEDGE_USAGE;
    }
    if (!o.serve)
        return proxy_reexec(&o);
    /* --serve without the shim would forward and inject nothing: a proxy
     * that silently tests nothing */
    if (!pre || !strstr(pre, "libwedge")) {
        fprintf(stderr, "wedge: proxy: --serve runs under libwedge.so (LD_PRELOAD); run 'wedge "
                        "proxy' without --serve\n");
        return WEDGE_USAGE;
    }
    return proxy_serve(&o.cfg);
}

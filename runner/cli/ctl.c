/*
 * ctl.c - `wedge ctl`: live control of every process of a run (or of a
 * `wedge exec --ctl FILE`) through its control file (common/ctlfile.h):
 * what the processes publish there (ctl_show.c prints it), and the
 * changes they take up: points released or marked, rules disabled,
 * enabled, added or removed.
 *
 * The command only writes to the file; the processes do the rest on
 * their own slow path (shim/ctl.c), so nothing here can stop a process.
 */
#include "ctl.h"
#include "cli.h"
#include "rulecheck.h"
#include "timeunit.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL_OPTSTRING "+c:o:jh"
/* how long `add` waits for the attached processes to take a rule up */
#define CTL_TAKE_UP_MS 3000

static void ctl_usage(FILE *f)
{
    fprintf(f, "usage: wedge ctl [--ctl FILE | --out DIR] [--json] COMMAND [ARG]\n"
               "\n"
               "Control every process of a running `wedge run` (or `wedge exec --ctl FILE`)\n"
               "live, through the run's control file.\n"
               "\n"
               "Commands:\n"
               "  status            processes attached, rules with hits and fires, callers\n"
               "                    held at a barrier, wait or hold (pid, thread, hook,\n"
               "                    statement, for how long)\n"
               "  release POINT     let go of every caller held now at `hold POINT` or at\n"
               "                    barrier POINT\n"
               "  mark POINT        mark POINT: callers at `wait POINT` go on, and later ones\n"
               "                    do not wait\n"
               "  disable RULE      stop RULE (its number in status, or its name) firing\n"
               "  enable RULE       let a disabled RULE fire again\n"
               "  add 'RULE'        add a rule to every attached process (checked first, with\n"
               "                    the messages of a start)\n"
               "  remove RULE       remove RULE for good\n"
               "\n"
               "Options (before COMMAND):\n"
               "  -c, --ctl FILE    the control file (default: $WEDGE_CTL)\n"
               "  -o, --out DIR     the control file of the run writing into DIR (DIR/ctl)\n"
               "  -j, --json        status as one JSON document on stdout\n"
               "  -h, --help        this text\n"
               "\n"
               "Exit codes: 0 done; 1 nothing by that name to release; 2 usage error, a\n"
               "rule that does not parse, or an unknown RULE; 3 no control file (the run is\n"
               "not running).\n");
}

static const struct option ctl_longopts[] = {{"ctl", required_argument, NULL, 'c'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};

struct ctl_opts {
    const char *ctl, *out;
    int json;
};

/* The options into o: -1 to go on, else the exit code to return. */
static int ctl_parse_opts(int argc, char **argv, struct ctl_opts *o)
{
    int opt;

    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, CTL_OPTSTRING, ctl_longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o->ctl = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            ctl_usage(stdout);
            return WEDGE_PASS;
        default:
            return util_bad_option("ctl", argv, CTL_OPTSTRING, ctl_longopts);
        }
    }
    if (o->ctl && o->out) {
        fprintf(stderr, "wedge: ctl: --ctl and --out exclude each other\n");
        return WEDGE_USAGE;
    }
    return -1;
}

/* Map the control file at path read-write; NULL after a message, with
 * *rc the exit code. */
static struct ctlf_region *ctl_map(const char *path, int *rc)
{
    struct ctlf_header want;
    struct ctlf_region *reg;
    struct stat st;
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

    *rc = WEDGE_USAGE;
    if (fd < 0) {
        *rc = errno == ENOENT ? WEDGE_INCONCLUSIVE : WEDGE_USAGE;
        fprintf(stderr, "wedge: ctl: %s: %s%s\n", path, strerror(errno),
                errno == ENOENT ? " (is the run started, with this --out?)" : "");
        return NULL;
    }
    ctlf_header_init(&want);
    reg = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == want.size)
        reg = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (reg == MAP_FAILED || memcmp(&reg->h, &want, sizeof want) != 0) {
        fprintf(stderr,
                "wedge: ctl: %s is not a control file of this wedge (layout version %u, %llu "
                "bytes)\n",
                path, want.version, (unsigned long long)want.size);
        if (reg != MAP_FAILED)
            munmap(reg, sizeof *reg);
        return NULL;
    }
    return reg;
}

/* DIR/ctl; else, for a run of several scenarios or repetitions (which
 * write into DIR/NAME/ and DIR/run-N/), the newest control file below. */
static char *ctl_in_out(const char *dir)
{
    char *path = util_fmt("%s/ctl", dir), *pat;
    struct timespec best = {0, 0};
    glob_t g;

    if (access(path, F_OK) == 0)
        return path;
    pat = util_fmt("%s/*/ctl", dir);
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            struct stat st;
            if (stat(g.gl_pathv[i], &st) == 0 &&
                (st.st_mtim.tv_sec > best.tv_sec ||
                 (st.st_mtim.tv_sec == best.tv_sec && st.st_mtim.tv_nsec > best.tv_nsec))) {
                best = st.st_mtim;
                free(path);
                path = util_fmt("%s", g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
    free(pat);
    return path;
}

/* The control file's path from the options or $WEDGE_CTL; NULL after a
 * message.  malloc'd. */
static char *ctl_path(const struct ctl_opts *o)
{
    const char *env = getenv("WEDGE_CTL");

    if (o->ctl)
        return util_fmt("%s", o->ctl);
    if (o->out)
        return ctl_in_out(o->out);
    if (env && *env)
        return util_fmt("%s", env);
    fprintf(stderr, "wedge: ctl: which run? give --out DIR (the run's output directory), "
                    "--ctl FILE, or set WEDGE_CTL\n");
    return NULL;
}

/* RULE as the user wrote it ("3", "#3" or a name) to its table index;
 * -1 after a message. */
static int ctl_rule_arg(struct ctlf_region *reg, const char *arg)
{
    const char *num = arg[0] == '#' ? arg + 1 : arg;
    char *end = NULL;
    long n = strtol(num, &end, 10);

    for (int k = 0; k < CTLF_RULES; k++) {
        struct ctlf_rule *r = &reg->rules[k];
        int listed = atomic_load(&r->ready) && !(atomic_load(&r->flags) & CTLF_RULE_REMOVED);
        if (!listed)
            continue;
        if ((*num && !*end && n == k + 1) || !strcmp(r->name, arg))
            return k;
    }
    fprintf(stderr, "wedge: ctl: no rule '%s' in this run (wedge ctl status lists them)\n", arg);
    return -1;
}

static int ctl_flag(struct ctlf_region *reg, const char *cmd, const char *arg)
{
    int k = ctl_rule_arg(reg, arg);
    struct ctlf_rule *r;

    if (k < 0)
        return WEDGE_USAGE;
    r = &reg->rules[k];
    if (!strcmp(cmd, "disable"))
        atomic_fetch_or(&r->flags, CTLF_RULE_OFF);
    else if (!strcmp(cmd, "enable"))
        atomic_fetch_and(&r->flags, ~(uint32_t)CTLF_RULE_OFF);
    else
        atomic_fetch_or(&r->flags, CTLF_RULE_REMOVED | CTLF_RULE_OFF);
    printf("rule #%d %s: %sd\n", k + 1, r->name, cmd);
    return WEDGE_PASS;
}

/* One rule, no ';' or newline between rules (quotes may hold them). */
static int ctl_one_rule(const char *text)
{
    int quoted = 0;

    for (const char *p = text; *p; p++) {
        if (*p == '\\' && quoted && p[1])
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && (*p == ';' || *p == '\n'))
            return 0;
    }
    return 1;
}

/* The name the rule gives itself ("NAME: ..."), or "added<N>", N its
 * number in the table to come. */
static void ctl_rule_name(struct ctlf_region *reg, const char *text, char *name, size_t len)
{
    const char *p = text + strspn(text, " \t");
    size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
    int next = 0;

    if (n > 0 && n < len && p[n] == ':') {
        snprintf(name, len, "%.*s", (int)n, p);
        return;
    }
    while (next < CTLF_RULES && atomic_load(&reg->rules[next].key))
        next++;
    snprintf(name, len, "added%d", next + 1);
}

/*
 * Wait (at most CTL_TAKE_UP_MS) until every attached process has taken up
 * generation gen, so that what the user does next meets the rule; then
 * say how many did.  A process takes a rule up at its next call through
 * the shim, which may be a while for an idle one: it is named, not waited
 * for forever.
 */
static void ctl_await_take_up(struct ctlf_region *reg, uint32_t gen)
{
    const struct timespec tick = {0, 10 * (long)NS_PER_MS};
    int live = 0, n = 0;

    for (int waited = 0; waited <= CTL_TAKE_UP_MS; waited += 10) {
        n = ctl_taken_up(reg, gen, &live);
        if (n == live)
            break;
        nanosleep(&tick, NULL);
    }
    printf("; taken up by %d of %d process%s", n, live, live == 1 ? "" : "es");
    if (n < live)
        printf(" (the others take it up at their next call through the shim)");
    printf("\n");
}

static int ctl_add(struct ctlf_region *reg, const char *text)
{
    char err[1024], name[CTLF_NAME];
    int k;

    if (!ctl_one_rule(text)) {
        fprintf(stderr, "wedge: ctl: add takes one rule; give each its own wedge ctl add\n");
        return WEDGE_USAGE;
    }
    if (strlen(text) >= CTLF_TEXT) {
        fprintf(stderr, "wedge: ctl: the rule is %zu bytes; add takes at most %d\n", strlen(text),
                CTLF_TEXT - 1);
        return WEDGE_USAGE;
    }
    if (rulecheck_text(text, err, sizeof err) < 0) {
        fprintf(stderr, "wedge: %s\n", err);
        return WEDGE_USAGE;
    }
    ctl_rule_name(reg, text, name, sizeof name);
    k = ctlf_rule_find(reg, text, name, CTLF_RULE_ADDED, 0);
    if (k >= 0 && !(atomic_load(&reg->rules[k].flags) & (CTLF_RULE_OFF | CTLF_RULE_REMOVED))) {
        fprintf(stderr, "wedge: ctl: the run has that rule already (#%d)\n", k + 1);
        return WEDGE_USAGE;
    }
    if (k >= 0) { /* the same text again: the processes have it, turned off */
        atomic_fetch_and(&reg->rules[k].flags, ~(uint32_t)(CTLF_RULE_OFF | CTLF_RULE_REMOVED));
        printf("rule #%d %s: enabled again\n", k + 1, reg->rules[k].name);
        return WEDGE_PASS;
    }
    k = ctlf_rule_find(reg, text, name, CTLF_RULE_ADDED, 1);
    if (k < 0) {
        fprintf(stderr, "wedge: ctl: the run's rule table is full (%d rules)\n", CTLF_RULES);
        return WEDGE_USAGE;
    }
    printf("rule #%d %s: added", k + 1, reg->rules[k].name);
    ctl_await_take_up(reg, atomic_fetch_add(&reg->gen, 1) + 1);
    return WEDGE_PASS;
}

static int ctl_point_cmd(struct ctlf_region *reg, const char *cmd, const char *point)
{
    int held;

    if (!strcmp(cmd, "mark")) {
        ctlf_mark(reg, point);
        printf("marked %s\n", point);
        return WEDGE_PASS;
    }
    held = ctl_count_held(reg, point);
    if (ctlf_release(reg, point) == 0) {
        fprintf(stderr,
                "wedge: ctl: release %s: no hold or barrier of that name has been "
                "reached in this run\n",
                point);
        return WEDGE_VIOLATED;
    }
    printf("released %s (%d caller%s held)\n", point, held, held == 1 ? "" : "s");
    return WEDGE_PASS;
}

/* COMMAND and its argument against the mapped file. */
static int ctl_dispatch(struct ctlf_region *reg, const struct ctl_opts *o, const char *path,
                        const char *cmd, const char *arg)
{
    if (!strcmp(cmd, "status"))
        return ctl_status(reg, path, o->json);
    if (!strcmp(cmd, "release") || !strcmp(cmd, "mark"))
        return ctl_point_cmd(reg, cmd, arg);
    if (!strcmp(cmd, "disable") || !strcmp(cmd, "enable") || !strcmp(cmd, "remove"))
        return ctl_flag(reg, cmd, arg);
    return ctl_add(reg, arg);
}

int ctl_main(int argc, char **argv)
{
    static const char *const cmds[] = {"status", "release", "mark",   "disable",
                                       "enable", "add",     "remove", NULL};
    struct ctl_opts o;
    struct ctlf_region *reg;
    const char *cmd, *arg;
    char *path = NULL;
    int rc = ctl_parse_opts(argc, argv, &o), known = 0;

    if (rc >= 0)
        return rc;
    cmd = optind < argc ? argv[optind] : NULL;
    arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    for (int i = 0; cmd && cmds[i]; i++)
        known |= !strcmp(cmd, cmds[i]);
    if (!cmd || !known) {
        fprintf(stderr,
                "wedge: ctl: %s%s%s; expected status, release, mark, disable, enable, "
                "add or remove (see wedge ctl --help)\n",
                cmd ? "unknown command '" : "no command", cmd ? cmd : "", cmd ? "'" : "");
        return WEDGE_USAGE;
    }
    if (argc - optind - 1 != (strcmp(cmd, "status") ? 1 : 0)) {
        fprintf(stderr, "wedge: ctl: %s %s (see wedge ctl --help)\n", cmd,
                !strcmp(cmd, "status") ? "takes no argument" : "takes one argument");
        return WEDGE_USAGE;
    }
    path = ctl_path(&o);
    if (!path)
        return WEDGE_USAGE;
    reg = ctl_map(path, &rc);
    if (reg) {
        rc = ctl_dispatch(reg, &o, path, cmd, arg);
        munmap(reg, sizeof *reg);
    }
    free(path);
    return rc;
}

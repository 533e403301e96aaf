/*
 * report_cmd.c - `wedge report`: draw report.html again from an output
 * directory's files (after an upgrade, or for a directory a CI job
 * collected), and `wedge report --svg KIND IN` for one figure as a file
 * of its own, so documents use the drawing code of the reports.
 */
#include "cli.h"
#include "report.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void report_usage(FILE *f)
{
    fprintf(f, "usage: wedge report DIR...\n"
               "       wedge report --svg KIND IN [--out FILE]\n"
               "\n"
               "Write DIR/report.html from the files of an output directory of wedge run\n"
               "(a run or a --repeat set), wedge hunt or wedge isolation.  With --svg, draw\n"
               "one figure as SVG (on stdout, or FILE):\n"
               "  series   IN is a run's summary.json: throughput, p99 and RSS over time\n"
               "  bars     IN is a figure document: panels of grouped bars (docs/reports.md)\n"
               "  -S, --svg KIND     the figure to draw\n"
               "  -o, --out FILE     write it there instead of stdout\n"
               "  -h, --help         this text\n"
               "Exit: 0 written, 2 usage error or an input wedge cannot read.\n");
}

#define REPORT_OPTSTRING "S:o:h"
static const struct option report_longopts[] = {{"svg", required_argument, NULL, 'S'},
                                                {"out", required_argument, NULL, 'o'},
                                                {"help", no_argument, NULL, 'h'},
                                                {NULL, 0, NULL, 0}};

static int report_svg_cmd(const char *kind, const char *in, const char *path)
{
    char err[1024], tmp[4096];
    FILE *f = stdout;
    int rc;

    if (path) {
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        if (!(f = fopen(tmp, "w"))) {
            fprintf(stderr, "wedge: report: cannot write %s: %s\n", tmp, strerror(errno));
            return WEDGE_USAGE;
        }
    }
    rc = report_svg(kind, in, f, err, sizeof(err));
    if (path && (fclose(f) != 0 || rc < 0 || rename(tmp, path) != 0)) {
        if (rc == 0)
            snprintf(err, sizeof(err), "cannot write %s: %s", path, strerror(errno));
        rc = -1;
        remove(tmp);
    }
    if (rc < 0) {
        fprintf(stderr, "wedge: report: %s\n", err);
        return WEDGE_USAGE;
    }
    return WEDGE_PASS;
}

int report_main(int argc, char **argv)
{
    const char *svg = NULL, *out = NULL;
    char err[1024];
    int opt, rc = WEDGE_PASS;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, REPORT_OPTSTRING, report_longopts, NULL)) != -1) {
        if (opt == 'S')
            svg = optarg;
        else if (opt == 'o')
            out = optarg;
        else if (opt == 'h')
            return report_usage(stdout), WEDGE_PASS;
        else
            return util_bad_option("report", argv, REPORT_OPTSTRING, report_longopts);
    }
    if (svg)
        return optind == argc - 1 ? report_svg_cmd(svg, argv[optind], out)
                                  : (fprintf(stderr,
                                             "wedge: report: --svg %s: one input file "
                                             "expected\n",
                                             svg),
                                     WEDGE_USAGE);
    if (out || optind == argc) {
        fprintf(stderr, "wedge: report: %s\n",
                out ? "--out goes with --svg" : "no output directory given");
        fprintf(stderr, "usage: wedge report DIR...; see 'wedge report --help'\n");
        return WEDGE_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        if (report_html_write(argv[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "wedge: report: %s\n", err);
            rc = WEDGE_USAGE;
        } else {
            printf("wedge: report: %s/report.html\n", argv[i]);
        }
    }
    return rc;
}

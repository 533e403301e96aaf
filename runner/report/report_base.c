/*
 * report_base.c - what every writer of a run's files uses (report_int.h):
 * atomic files (NAME.tmp renamed into place, so a reader never sees half a
 * report) and the figures summary.json and report.md both show.  Calls
 * nothing else of the report.
 */
#include "report.h"
#include "report_int.h"
#include "wedge_exit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------
 * Atomic files: NAME.tmp, then rename.
 * ------------------------------------------------------------ */

int rep_open(struct rep_file *rf, const char *dir, const char *name, char *err, size_t errlen)
{
    snprintf(rf->path, sizeof(rf->path), "%s/%s", dir, name);
    snprintf(rf->tmp, sizeof(rf->tmp), "%s/.%s.tmp", dir, name);
    rf->f = fopen(rf->tmp, "w");
    if (!rf->f) {
        snprintf(err, errlen, "cannot write %s: %s", rf->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int rep_close(struct rep_file *rf, char *err, size_t errlen)
{
    int bad = ferror(rf->f);
    if (fclose(rf->f) != 0 || bad) {
        snprintf(err, errlen, "cannot write %s: %s", rf->tmp, strerror(errno ? errno : EIO));
        unlink(rf->tmp);
        return -1;
    }
    if (rename(rf->tmp, rf->path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", rf->tmp, rf->path, strerror(errno));
        unlink(rf->tmp);
        return -1;
    }
    return 0;
}

/* Wall clock of t_ns = 0 in history.jsonl, as the load took it; the
 * start of the run when no load began. */
double rep_load_start(const struct run_result *r)
{
    return r->load.load_start_unix > 0 ? r->load.load_start_unix : r->started_unix;
}

/* ---------------------------------------------------------------
 * Figures shared by summary.json and report.md.
 * ------------------------------------------------------------ */
void rep_iso_time(double unix_s, char *buf, size_t len)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%06.3fZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec + (unix_s - floor(unix_s)));
}

double rep_throughput(const struct run_result *r, uint64_t n)
{
    return r->load.duration_s > 0 ? (double)n / r->load.duration_s : 0;
}

int rep_counts(const struct run_result *r, int *passed, int *failed, int *errors)
{
    *passed = *failed = *errors = 0;
    for (int i = 0; i < r->ninv; i++)
        *(r->inv[i].status == INV_PASSED   ? passed
          : r->inv[i].status == INV_FAILED ? failed
                                           : errors) += 1;
    return r->ninv;
}

const char *rep_verdict(int code)
{
    return code == WEDGE_PASS       ? "passed"
           : code == WEDGE_VIOLATED ? "failed"
           : code == WEDGE_USAGE    ? "error"
                                    : "inconclusive";
}

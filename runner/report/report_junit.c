/*
 * report_junit.c - one JUnit <testsuite> of a run: a testcase per
 * invariant (a failure with expected, actual, detail, seed and the command
 * that reproduces it; an error when it could not be evaluated) and, for a
 * run that could not conclude, a testcase "run" with an error, so CI never
 * sees a green suite for it.  A run's junit.xml holds one; the combined
 * junit.xml of a --repeat or of several scenarios one per run
 * (report_runs.c).  The format is the common JUnit one that CI systems
 * read; tests/e2e/flows/junit.xsd is its schema.
 */
#include "report_int.h"
#include "xmlw.h"

#include <stdio.h>
#include <string.h>

static void rep_junit_body(FILE *f, const struct rep_suite *s, const struct inv_result *v)
{
    fputs("expected: ", f);
    xw_string(f, v->expected ? v->expected : "");
    fputs("\nactual: ", f);
    xw_string(f, v->actual ? v->actual : "");
    fputc('\n', f);
    if (v->detail) {
        xw_string(f, v->detail);
        if (v->detail[0] && v->detail[strlen(v->detail) - 1] != '\n')
            fputc('\n', f);
    }
    fprintf(f, "seed: %llu\nreproduce: ", s->seed);
    xw_string(f, s->reproduce ? s->reproduce : "");
    fputc('\n', f);
}

/* One invariant's testcase: empty when it held, else a failure (or an
 * error when it could not be evaluated) with the body that reproduces it. */
static void rep_junit_case(FILE *f, const struct rep_suite *s, const struct inv_result *v)
{
    const char *kind = v->status == INV_FAILED ? "failure" : "error";

    fputs("    <testcase classname=\"", f);
    xw_string(f, s->classname);
    fputs("\" name=\"", f);
    xw_string(f, v->name ? v->name : "");
    if (v->status == INV_PASSED) {
        fputs("\"/>\n", f);
        return;
    }
    fprintf(f, "\">\n      <%s message=\"", kind);
    if (v->status == INV_FAILED) {
        fputs("expected ", f);
        xw_string(f, v->expected ? v->expected : "");
        fputs(", got ", f);
        xw_string(f, v->actual ? v->actual : "");
    } else {
        fputs("could not evaluate: ", f);
        xw_string(f, v->detail ? v->detail : "unknown error");
    }
    fprintf(f, "\" type=\"%s\">", v->status == INV_FAILED ? "invariant" : "error");
    rep_junit_body(f, s, v);
    fprintf(f, "</%s>\n    </testcase>\n", kind);
}

void rep_junit_counts(const struct rep_suite *s, int *tests, int *failures, int *errors)
{
    *tests = s->ninv + (s->error != NULL);
    *failures = *errors = 0;
    for (int i = 0; i < s->ninv; i++) {
        *failures += s->inv[i].status == INV_FAILED;
        *errors += s->inv[i].status == INV_ERROR;
    }
    *errors += s->error != NULL;
}

void rep_junit_suite(FILE *f, const struct rep_suite *s)
{
    int tests, failures, errors;

    rep_junit_counts(s, &tests, &failures, &errors);
    fputs("  <testsuite name=\"", f);
    xw_string(f, s->name);
    fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" time=\"%.3f\" timestamp=\"", tests,
            failures, errors, s->duration_s);
    xw_string(f, s->timestamp);
    fprintf(f, "\">\n    <properties>\n      <property name=\"seed\" value=\"%llu\"/>\n", s->seed);
    fputs("      <property name=\"reproduce\" value=\"", f);
    xw_string(f, s->reproduce ? s->reproduce : "");
    fputs("\"/>\n    </properties>\n", f);
    for (int i = 0; i < s->ninv; i++)
        rep_junit_case(f, s, &s->inv[i]);
    if (s->error) {
        fputs("    <testcase classname=\"", f);
        xw_string(f, s->classname);
        fputs("\" name=\"run\">\n      <error message=\"", f);
        xw_string(f, s->error);
        fprintf(f, "\" type=\"inconclusive\">seed: %llu\nreproduce: ", s->seed);
        xw_string(f, s->reproduce ? s->reproduce : "");
        fputs("\n</error>\n    </testcase>\n", f);
    }
    fputs("  </testsuite>\n", f);
}

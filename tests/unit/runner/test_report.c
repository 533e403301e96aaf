/*
 * test_report.c - the report writers: summary.json parses back with the
 * values given, junit.xml is well-formed (xmllint when installed, string
 * checks always) with escaped text, report.md holds the injections from
 * the traces and the timeline around the request that broke an invariant,
 * and report_count_fires reads only what was appended.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../runner/report/report.c"
#include "jsonw.h"

#define START_UNIX 1700000000.5
#define START_NS   1700000000500000000ull

#include "runner_test.h"

static int setup(void **state)
{
    char traces[300];
    rt_mkdtemp("report");
    snprintf(traces, sizeof(traces), "%s/traces", tmpdir);
    assert_int_equal(mkdir(traces, 0755), 0);
    return 0;
}

static char *slurp(const char *name)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return rt_read_file(path);
}

static void append(const char *name, const char *text)
{
    char path[600];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A trace line at ms milliseconds into the load. */
static void trace_line(const char *file, int pid, double ms, const char *outcome)
{
    char line[512];
    snprintf(line, sizeof(line),
             "{\"ts_ns\":%llu,\"pid\":%d,\"tid\":%d,\"hook\":\"pq.query\",\"rule\":\"rmw\","
             "\"action\":\"barrier\",\"outcome\":\"%s\",\"waited_ns\":250000000,\"hit\":1,"
             "\"detail\":\"SELECT stock FROM counter\",\"stack\":[\"take\"]}\n",
             (unsigned long long)(START_NS + (uint64_t)(ms * 1e6)), pid, pid + 1, outcome);
    append(file, line);
}

static void write_run_files(void)
{
    char line[512];
    for (int i = 0; i < 10; i++) {
        snprintf(line, sizeof(line),
                 "{\"t_ns\":%d,\"user\":%d,\"seq\":%d,\"type\":\"invoke\",\"req\":\"POST /take\"}\n"
                 "{\"t_ns\":%d,\"user\":%d,\"seq\":%d,\"type\":\"%s\",\"req\":\"POST /take\","
                 "\"status\":%d,\"latency_ns\":900000,\"tries\":1,\"error\":%s}\n",
                 i * 1000000, i % 2, i / 2, i * 1000000 + 900000, i % 2, i / 2,
                 i == 4   ? "fail"
                 : i == 6 ? "info"
                          : "ok",
                 i == 4   ? 409
                 : i == 6 ? 0
                          : 201,
                 i == 6 ? "\"timeout\"" : "null");
        append("history.jsonl", line);
    }
    trace_line("traces/trace.100.jsonl", 100, 2.0, "released");
    trace_line("traces/trace.100.jsonl", 100, 5.5, "timeout");
    trace_line("traces/trace.200.jsonl", 200, 3.0, "released");
    append("traces/trace.200.jsonl",
           "{\"summary\":true,\"pid\":200,\"proc\":\"counterd\",\"rules\":[{\"rule\":\"rmw\","
           "\"hits\":4,\"fires\":1}]}\n");
    append("traces/other.txt", "{\"outcome\":\"not a trace file\"}\n");
}

struct fixture {
    struct scenario scn;
    struct inv_result inv[3];
    struct req_stats per_req[2];
    struct sample series[2];
    struct run_result r;
};

static void make_run(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->scn.name = "t";
    fx->scn.path = "tests/t.scn";
    fx->scn.description = "Lost update.\nSecond line.";
    fx->scn.rules = "rmw: barrier rmw 2 after pq.query";
    fx->inv[0] = (struct inv_result){
        .name = "no_negative", .status = INV_PASSED, .expected = "true", .actual = "true"};
    fx->inv[1] = (struct inv_result){.name = "units",
                                     .status = INV_FAILED,
                                     .expected = "true",
                                     .actual = "false",
                                     .detail = "rows <&>\"' \x01 quoted",
                                     .has_at = 1,
                                     .at_t_ns = 5900000};
    fx->inv[2] = (struct inv_result){.name = "bad",
                                     .status = INV_ERROR,
                                     .expected = "no rows",
                                     .actual = "error",
                                     .detail = "relation \"nope\" does not exist"};
    fx->per_req[0].label = "POST /take";
    fx->per_req[0].ok = 8, fx->per_req[0].fail = 1, fx->per_req[0].info = 1;
    fx->per_req[0].latency = hist_new();
    fx->per_req[1].label = "sql:SELECT | 1";
    fx->per_req[1].latency = hist_new();
    fx->series[0] = (struct sample){.t_s = 1,
                                    .throughput = 10,
                                    .p50_ns = 900000,
                                    .p99_ns = 900000,
                                    .injections = 3,
                                    .rss_kb = 1000};
    fx->series[1] = (struct sample){.t_s = 2, .throughput = 0};
    fx->r.scn = &fx->scn;
    fx->r.out_dir = tmpdir;
    fx->r.seed = 18446744073709551615ull; /* all 64 bits must survive */
    fx->r.reproduce = "wedge run tests/t.scn --seed 18446744073709551615";
    fx->r.dsn_redacted = "host=127.0.0.1 port=5 user=wedge";
    fx->r.embedded_pg = 1;
    fx->r.exit_code = 1;
    /* the run started 250 ms before its load: the traces are converted
     * with the load's start, the zero of history.jsonl */
    fx->r.started_unix = START_UNIX - 0.25;
    fx->r.load.load_start_unix = START_UNIX;
    fx->r.load.duration_s = 2.0;
    fx->r.load.requests = 10, fx->r.load.ok = 8, fx->r.load.fail = 1, fx->r.load.info = 1;
    fx->r.load.latency = hist_new();
    for (int i = 0; i < 10; i++) {
        hist_record(fx->r.load.latency, 900000);
        hist_record(fx->per_req[0].latency, 900000);
    }
    fx->r.load.per_req = fx->per_req;
    fx->r.load.nper_req = 2;
    fx->r.series = fx->series;
    fx->r.nseries = 2;
    fx->r.inv = fx->inv;
    fx->r.ninv = 3;
}

static void free_run(struct fixture *fx)
{
    hist_free(fx->r.load.latency);
    hist_free(fx->per_req[0].latency);
    hist_free(fx->per_req[1].latency);
}

static int xmllint_ok(const char *file)
{
    char cmd[700];
    if (access("/usr/bin/xmllint", X_OK) != 0)
        return 1; /* not installed: the string checks stand alone */
    snprintf(cmd, sizeof(cmd), "/usr/bin/xmllint --noout '%s/%s'", tmpdir, file);
    return system(cmd) == 0;
}

static void test_summary_json(void **state)
{
    struct fixture fx;
    char err[256] = "", path[600];
    json_t *j, *a, *e;
    json_error_t jerr;

    write_run_files();
    make_run(&fx);
    if (report_write(&fx.r, err, sizeof(err)))
        fail_msg("%s", err);
    snprintf(path, sizeof(path), "%s/summary.json", tmpdir);
    j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("summary.json: %s at line %d", jerr.text, jerr.line);
    assert_string_equal(json_string_value(json_object_get(j, "scenario")), "t");
    assert_string_equal(json_string_value(json_object_get(j, "seed")), "18446744073709551615");
    assert_string_equal(json_string_value(json_object_get(j, "reproduce")), fx.r.reproduce);
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "failed");
    assert_true(json_is_null(json_object_get(j, "error")));
    assert_string_equal(json_string_value(json_object_get(j, "started")),
                        "2023-11-14T22:13:20.250Z");
    assert_true(json_real_value(json_object_get(j, "load_start_unix")) == START_UNIX);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "totals"), "fail")), 1);
    assert_true(json_real_value(json_object_get(j, "throughput")) == 5.0);
    e = json_object_get(j, "latency_ms");
    assert_true(fabs(json_real_value(json_object_get(e, "p99")) - 0.9) < 0.9 / 64);
    assert_true(fabs(json_real_value(json_object_get(e, "max")) - 0.9) < 1e-9);
    assert_int_equal(json_integer_value(json_object_get(e, "count")), 10);
    assert_non_null(json_object_get(e, "p99.9"));
    a = json_object_get(j, "requests");
    assert_int_equal(json_array_size(a), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "label")),
                        "sql:SELECT | 1");
    assert_int_equal(json_array_size(json_object_get(j, "series")), 2);
    a = json_object_get(j, "invariants");
    assert_int_equal(json_array_size(a), 3);
    e = json_array_get(a, 1);
    assert_string_equal(json_string_value(json_object_get(e, "name")), "units");
    assert_string_equal(json_string_value(json_object_get(e, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(e, "expected")), "true");
    assert_string_equal(json_string_value(json_object_get(e, "actual")), "false");
    assert_string_equal(json_string_value(json_object_get(e, "detail")), fx.inv[1].detail);
    /* the request that broke it, for report.html's timeline */
    assert_int_equal(json_integer_value(json_object_get(e, "at_t_ns")), 5900000);
    assert_null(json_object_get(json_array_get(a, 0), "at_t_ns"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 2), "status")),
                        "error");
    assert_int_equal(json_integer_value(json_object_get(j, "passed")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 2);
    /* injections from the traces: 3 fires, the summary line not counted */
    /* the rules as written, for report.html's interleaving */
    e = json_array_get(json_object_get(j, "rules"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "process")), "every process");
    assert_string_equal(json_string_value(json_object_get(e, "rules")), fx.scn.rules);
    e = json_object_get(j, "injections");
    assert_int_equal(json_integer_value(json_object_get(e, "total")), 3);
    e = json_array_get(json_object_get(e, "rules"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "rule")), "rmw");
    assert_int_equal(json_integer_value(json_object_get(e, "fires")), 3);
    assert_int_equal(json_integer_value(json_object_get(e, "released")), 2);
    assert_int_equal(json_integer_value(json_object_get(e, "timeout")), 1);
    json_decref(j);
    free_run(&fx);
}

static void test_junit_xml(void **state)
{
    struct fixture fx;
    char err[256] = "", *x;

    make_run(&fx);
    if (report_write(&fx.r, err, sizeof(err)))
        fail_msg("%s", err);
    assert_true(xmllint_ok("junit.xml"));
    x = slurp("junit.xml");
    assert_non_null(strstr(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"));
    assert_non_null(strstr(x, "<testsuite name=\"t\" tests=\"3\" failures=\"1\" errors=\"1\""));
    assert_non_null(strstr(x, "<testcase classname=\"wedge.t\" name=\"no_negative\"/>"));
    assert_non_null(strstr(x, "<testcase classname=\"wedge.t\" name=\"units\">\n"
                              "      <failure message=\"expected true, got false\" "
                              "type=\"invariant\">expected: true\nactual: false\n"
                              "rows &lt;&amp;&gt;&quot;&apos; ? quoted\n"
                              "seed: 18446744073709551615\n"
                              "reproduce: wedge run tests/t.scn --seed 18446744073709551615\n"
                              "</failure>"));
    assert_non_null(strstr(x, "<error message=\"could not evaluate: relation &quot;nope&quot; "
                              "does not exist\" type=\"error\">"));
    assert_null(strchr(x, '\x01'));
    assert_null(strstr(x, "name=\"run\"")); /* the run itself completed */
    assert_non_null(strstr(x, "</testsuite>\n</testsuites>\n"));
    free(x);
    free_run(&fx);
}

static void test_inconclusive_run(void **state)
{
    struct fixture fx;
    char err[256] = "", *x, path[600];
    json_t *j;

    make_run(&fx);
    fx.r.exit_code = 3;
    fx.r.error = "database unavailable: <connection refused>";
    fx.r.ninv = 0;
    hist_free(fx.r.load.latency);
    fx.r.load.latency = NULL; /* nothing measured */
    if (report_write(&fx.r, err, sizeof(err)))
        fail_msg("%s", err);
    assert_true(xmllint_ok("junit.xml"));
    x = slurp("junit.xml");
    /* never a green suite: the run is an error testcase of its own */
    assert_non_null(strstr(x, "tests=\"1\" failures=\"0\" errors=\"1\""));
    assert_non_null(strstr(x, "<testcase classname=\"wedge.t\" name=\"run\">\n      <error "
                              "message=\"database unavailable: &lt;connection refused&gt;\" "
                              "type=\"inconclusive\">"));
    free(x);
    snprintf(path, sizeof(path), "%s/summary.json", tmpdir);
    j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "inconclusive");
    assert_string_equal(json_string_value(json_object_get(j, "error")), fx.r.error);
    json_decref(j);
    x = slurp("report.md");
    assert_non_null(strstr(x, "**Verdict: INCONCLUSIVE**: database unavailable"));
    free(x);
    x = slurp("latency.hgrm");
    assert_non_null(strstr(x, "Total count    =            0]"));
    free(x);
    fx.r.load.latency = hist_new();
    free_run(&fx);
}

/* Exit 2, a usage or configuration error: the run could not run, which
 * report.md and report.html both say as ERROR, not INCONCLUSIVE (3), and
 * summary.json as verdict "error". */
static void test_error_run(void **state)
{
    struct fixture fx;
    char err[256] = "", *x, path[600];
    json_t *j;

    make_run(&fx);
    fx.r.exit_code = 2;
    fx.r.error = "rules refused: rules:1:3: unknown hook";
    if (report_write(&fx.r, err, sizeof(err)))
        fail_msg("%s", err);
    x = slurp("report.md");
    assert_non_null(strstr(x, "**Verdict: ERROR**: could not run: rules refused: rules:1:3: "));
    assert_null(strstr(x, "INCONCLUSIVE"));
    free(x);
    /* summary.json says so too, as the combined summary of several runs */
    snprintf(path, sizeof(path), "%s/summary.json", tmpdir);
    j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "error");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "error")), fx.r.error);
    json_decref(j);
    assert_int_equal(report_html_write(tmpdir, err, sizeof(err)), 0);
    x = slurp("report.html");
    assert_non_null(strstr(x, "<p class=\"verdict error\" id=\"verdict\">ERROR: could not run: "
                              "rules refused: rules:1:3: unknown hook</p>"));
    free(x);
    free_run(&fx);
}

static void test_report_md(void **state)
{
    struct fixture fx;
    char err[256] = "", *m, *tl, *anchor;

    make_run(&fx);
    if (report_write(&fx.r, err, sizeof(err)))
        fail_msg("%s", err);
    m = slurp("report.md");
    assert_non_null(strstr(m, "# wedge report: t\n\n> Lost update.\n> Second line.\n"));
    assert_non_null(strstr(m, "**Verdict: FAILED**: 2 of 3 invariants broke"));
    assert_non_null(strstr(m, "| seed | 18446744073709551615 |"));
    assert_non_null(
        strstr(m, "| reproduce | `wedge run tests/t.scn --seed 18446744073709551615` |"));
    assert_non_null(strstr(m, "| units | **FAILED** | true | false |"));
    assert_non_null(strstr(m, "| bad | **ERROR** | no rows | error |"));
    assert_non_null(strstr(m, "### units\n\n```\nrows <&>\"' \x01 quoted\n```\n"));
    /* latency: overall and per request; '|' in a label escaped */
    assert_non_null(strstr(m, "| **all** | 10 | 8 | 1 | 1 | 0 | 5.0 |"));
    assert_non_null(strstr(m, "| sql:SELECT \\| 1 | 0 |"));
    /* errors by class */
    assert_non_null(strstr(m, "| fail POST /take: HTTP 409 | 1 |"));
    assert_non_null(strstr(m, "| info POST /take: timeout | 1 |"));
    /* injections from the traces */
    assert_non_null(strstr(m, "3 injections fired."));
    assert_non_null(strstr(m, "| rmw | barrier | pq.query | 3 | 2 | 1 | 0 | 750.0 | "
                              "`SELECT stock FROM counter` |"));
    /* the timeline: centred on the request that broke 'units' (t = 5.9 ms),
     * history and trace events merged in time order */
    tl = strstr(m, "## Timeline around the first violation");
    assert_non_null(tl);
    assert_non_null(strstr(tl, "Centred on the request that broke 'units', at 5.900 ms"));
    anchor =
        strstr(tl, ">>       5.900  user 1   seq 2     ok     POST /take status 201 0.900 ms\n");
    assert_non_null(anchor);
    assert_non_null(strstr(tl, "       2.000  pid 100    barrier rmw on pq.query: released"));
    assert_non_null(strstr(tl, "       3.000  pid 200    barrier rmw on pq.query: released"));
    /* the 5.5 ms trace event sits between the 5.0 ms invoke and the anchor */
    assert_true(strstr(tl, "5.000  user 1   seq 2     invoke") < strstr(tl, "5.500  pid 100") &&
                strstr(tl, "5.500  pid 100") < anchor);
    /* events after the anchor follow it */
    assert_true(strstr(tl, "6.000  user 0   seq 3     invoke") > anchor);
    free(m);
    m = slurp("latency.hgrm");
    assert_non_null(strstr(m, "       0.900 1.000000000000         10\n"));
    free(m);
    free_run(&fx);
}

static void test_timeline_without_single_request(void **state)
{
    struct fixture fx;
    char err[256] = "", *m;
    make_run(&fx);
    fx.inv[1].has_at = 0;
    if (report_write(&fx.r, err, sizeof(err)))
        fail_msg("%s", err);
    m = slurp("report.md");
    /* centred where the last injection fired (5.5 ms) */
    assert_non_null(strstr(m, "Centred on the last injection (no single request broke 'units'), "
                              "at 5.500 ms"));
    assert_non_null(strstr(m, ">>       5.500  pid 100    barrier rmw on pq.query: timeout"));
    free(m);
    /* no injection fired: centred where outcomes became unknown (a crash) */
    {
        char sub[400], cmd[900];
        snprintf(sub, sizeof(sub), "%s/noinj", tmpdir);
        assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(cmd, sizeof(cmd), "cp '%s/history.jsonl' '%s/'", tmpdir, sub);
        assert_int_equal(system(cmd), 0);
        fx.r.out_dir = sub;
        assert_int_equal(report_write(&fx.r, err, sizeof(err)), 0);
        fx.r.out_dir = tmpdir;
        snprintf(cmd, sizeof(cmd), "noinj/report.md");
        m = slurp(cmd);
        assert_non_null(strstr(m, "Centred on the first request whose outcome is unknown"));
        assert_non_null(strstr(m, ">>       6.900  user 0   seq 3     info   POST /take status 0 "
                                  "0.900 ms timeout\n"));
        free(m);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sub);
        assert_int_equal(system(cmd), 0);
    }
    /* only an invariant that could not be evaluated: no timeline, but said */
    fx.inv[1].status = INV_PASSED;
    fx.inv[2].detail = "log:\n```\nmarkdown in a log\n````\n";
    assert_int_equal(report_write(&fx.r, err, sizeof(err)), 0);
    m = slurp("report.md");
    /* the fence outlasts the backticks inside */
    assert_non_null(strstr(m, "### bad\n\n`````\nlog:\n```\nmarkdown in a log\n````\n`````\n"));
    assert_non_null(strstr(m, "No invariant broke; 1 could not be evaluated (see above)."));
    free(m);
    /* nothing broke: no timeline */
    fx.inv[1].status = INV_PASSED;
    fx.inv[2].status = INV_PASSED;
    fx.r.exit_code = 0;
    assert_int_equal(report_write(&fx.r, err, sizeof(err)), 0);
    m = slurp("report.md");
    assert_non_null(strstr(m, "**Verdict: PASSED**: all 3 invariants held."));
    assert_non_null(strstr(m, "## Timeline around the first violation\n\nNo invariant broke.\n"));
    free(m);
    free_run(&fx);
}

static void test_no_tmp_files_left(void **state)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        assert_null(strstr(e->d_name, ".tmp"));
        n++;
    }
    closedir(d);
    assert_int_equal(n, 2 + 7); /* . .. history.jsonl traces and the five reports */
}

static void test_count_fires_incremental(void **state)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/traces", tmpdir);
    assert_int_equal(report_count_fires(dir), 3);
    assert_int_equal(report_count_fires(dir), 3); /* read again: the same */
    /* a barrier's "waiting" line is not a fire; its final line is */
    trace_line("traces/trace.300.jsonl", 300, 6.0, "waiting");
    append("traces/trace.300.jsonl", "{\"ts_ns\":1, \"outcome\" : \"waiting\"}\n");
    assert_int_equal(report_count_fires(dir), 3);
    /* nor is a "skipped" one (a rule that could not be carried out there) */
    trace_line("traces/trace.300.jsonl", 300, 6.5, "skipped");
    assert_int_equal(report_count_fires(dir), 3);
    trace_line("traces/trace.300.jsonl", 300, 7.0, "fired");
    assert_int_equal(report_count_fires(dir), 4);
    /* a line still being written is not counted yet */
    append("traces/trace.300.jsonl", "{\"ts_ns\":1,\"outcome\":\"fi");
    assert_int_equal(report_count_fires(dir), 4);
    append("traces/trace.300.jsonl", "red\"}\n");
    assert_int_equal(report_count_fires(dir), 5);
    /* an exit summary longer than the read buffer is skipped, not a stall */
    {
        size_t n = 200000;
        char *big = malloc(n + 32);
        strcpy(big, "{\"summary\":true,\"x\":\"");
        memset(big + strlen(big), 'x', n);
        strcpy(big + 20 + n, "\"}\n");
        append("traces/trace.300.jsonl", big);
        free(big);
    }
    trace_line("traces/trace.300.jsonl", 300, 8.0, "fired");
    assert_int_equal(report_count_fires(dir), 6);
    assert_int_equal(report_count_fires("/nonexistent"), 0);
    assert_int_equal(report_count_fires(dir), 6);
}

/* Many fires: most lines are counted from the raw text, a few parsed
 * (examples, escapes, a line not in the shim's compact form); the table
 * must not depend on which path a line took. */
static void test_injection_table_many_fires(void **state)
{
    char sub[400], line[512], cmd[900];
    struct fixture fx;
    char err[256] = "";
    json_t *j, *rules;
    FILE *f;
    snprintf(sub, sizeof(sub), "%s/many", tmpdir);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/traces'", sub);
    assert_int_equal(system(cmd), 0);
    snprintf(line, sizeof(line), "%s/traces/trace.7.jsonl", sub);
    f = fopen(line, "w");
    assert_non_null(f);
    for (int i = 0; i < 3000; i++)
        fprintf(f,
                "{\"ts_ns\":%llu,\"pid\":7,\"tid\":8,\"hook\":\"sock.send\",\"rule\":\"slow\","
                "\"action\":\"delay\",\"outcome\":\"fired\",\"waited_ns\":1000,\"hit\":%d,"
                "\"detail\":%s}\n",
                (unsigned long long)(START_NS + (uint64_t)i * 1000), i,
                i % 3   ? "null"
                : i % 2 ? "\"fd 5\""
                        : "\"fd \\\"6\\\"\"");
    fputs("{\"ts_ns\":1,\"rule\":\"we\\\"ird\",\"action\":\"log\",\"hook\":\"pq.query\","
          "\"outcome\":\"fired\",\"waited_ns\":0}\n"
          "{ \"ts_ns\": 2, \"rule\": \"slow\", \"action\": \"delay\", \"hook\": \"sock.recv\", "
          "\"outcome\": \"fired\", \"waited_ns\": 1000, \"detail\": null }\n"
          /* "waiting" lines (compact and not) are not injections */
          "{\"ts_ns\":3,\"pid\":7,\"tid\":8,\"hook\":\"sock.send\",\"rule\":\"held\","
          "\"action\":\"barrier\",\"outcome\":\"waiting\",\"waited_ns\":0,\"hit\":1,"
          "\"detail\":null}\n"
          "{ \"ts_ns\": 4, \"rule\": \"slow\", \"action\": \"delay\", \"hook\": \"sock.recv\", "
          "\"outcome\": \"waiting\", \"waited_ns\": 5, \"detail\": \"fd 9\" }\n"
          /* nor are "skipped" ones */
          "{\"ts_ns\":5,\"pid\":7,\"tid\":8,\"hook\":\"pq.query\",\"rule\":\"slow\","
          "\"action\":\"fail\",\"outcome\":\"skipped\",\"waited_ns\":0,\"hit\":2,"
          "\"detail\":null}\n",
          f);
    fclose(f);
    make_run(&fx);
    fx.r.out_dir = sub;
    if (report_write(&fx.r, err, sizeof(err)))
        fail_msg("%s", err);
    snprintf(line, sizeof(line), "%s/summary.json", sub);
    j = json_load_file(line, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "injections"), "total")),
                     3002);
    rules = json_object_get(json_object_get(j, "injections"), "rules");
    assert_int_equal(json_array_size(rules), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "rule")),
                        "slow");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rules, 0), "fires")), 3001);
    assert_true(json_real_value(json_object_get(json_array_get(rules, 0), "waited_ms")) == 3.001);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "hooks")),
                        "sock.send,sock.recv");
    assert_int_equal(json_array_size(json_object_get(json_array_get(rules, 0), "examples")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 1), "rule")),
                        "we\"ird");
    json_decref(j);
    free_run(&fx);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sub);
    assert_int_equal(system(cmd), 0);
}

static void test_jw_string(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    json_t *j;
    const char *in = "a\"b\\c\n\td\x01\x7f\xc3\xa9";
    jw_string(f, in);
    fclose(f);
    assert_string_equal(text, "\"a\\\"b\\\\c\\n\\td\\u0001\\u007f\xc3\xa9\"");
    j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(j), in);
    json_decref(j);
    free(text);
    /* not UTF-8: a stray byte, a truncated sequence, an overlong '/', a surrogate */
    text = NULL;
    f = open_memstream(&text, &len);
    jw_string(f, "a\xff b\xc3 c\xc0\xaf d\xed\xa0\x80 e\xf0\x9f\x98\x80");
    fclose(f);
    assert_string_equal(text, "\"a\\ufffd b\\ufffd c\\ufffd\\ufffd d\\ufffd\\ufffd\\ufffd "
                              "e\xf0\x9f\x98\x80\"");
    j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    json_decref(j);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_json),
        cmocka_unit_test(test_junit_xml),
        cmocka_unit_test(test_inconclusive_run),
        cmocka_unit_test(test_error_run),
        cmocka_unit_test(test_report_md),
        cmocka_unit_test(test_timeline_without_single_request),
        cmocka_unit_test(test_no_tmp_files_left),
        cmocka_unit_test(test_count_fires_incremental),
        cmocka_unit_test(test_injection_table_many_fires),
        cmocka_unit_test(test_jw_string),
    };
    return cmocka_run_group_tests(tests, setup, rt_teardown);
}

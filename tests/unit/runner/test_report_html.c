/*
 * test_report_html.c - report.html and `wedge report --svg`, through the
 * report room's public functions on directories written here: a large
 * run is drawn within the caps the page states (and the file stays
 * small), the interleaving shown is the release just before the first
 * violation with each thread's own transaction, a run that held shows
 * none, each page kind is chosen from its summary.json, text is escaped,
 * and the figures' input errors name the file and what is wrong.
 * (tests/e2e/report renders real pages in Chromium.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>

#include "report.h"
#include "svg.h"

#include "runner_test.h"

#define START_UNIX 1700000000.5
#define START_NS   1700000000500000000ull
#define MS         1000000ll

static char dir[512];

/* A fresh run directory dir/NAME with traces/. */
static void new_dir(const char *name)
{
    char traces[600];
    snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(traces, sizeof(traces), "%s/traces", dir);
    assert_int_equal(mkdir(traces, 0755), 0);
}

static FILE *open_in(const char *name, const char *mode)
{
    char path[700];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, mode);
    assert_non_null(f);
    return f;
}

/* A run's summary.json: exit code, and one failed invariant broken by
 * the request completed at at_ms (< 0: none failed). */
static void summary(int code, double at_ms, const char *rules)
{
    FILE *f = open_in("summary.json", "w");
    fprintf(f,
            "{\"scenario\":\"x<script>\",\"scenario_file\":\"x.scn\",\"seed\":\"1\","
            "\"exit_code\":%d,\"load_start_unix\":%.1f,\"duration_s\":30,\"passed\":1,"
            "\"failed\":%d,\"totals\":{\"requests\":1},\"latency_ms\":{\"count\":1},"
            "\"series\":[],\"invariants\":[",
            code, START_UNIX, at_ms >= 0);
    if (at_ms >= 0)
        fprintf(f,
                "{\"name\":\"ok_within_stock\",\"status\":\"failed\",\"expected\":\"<= 10\","
                "\"actual\":\"12\",\"detail\":null,\"at_t_ns\":%lld},",
                (long long)(at_ms * MS));
    fprintf(f,
            "{\"name\":\"alive\",\"status\":\"passed\"}],\"rules\":[{\"process\":\"service "
            "svc\",\"rules\":\"%s\"}]}\n",
            rules);
    fclose(f);
}

/* One request of history.jsonl, from t0 to t1 ms. */
static void request(FILE *f, int user, int seq, double t0, double t1)
{
    fprintf(f, "{\"t_ns\":%lld,\"user\":%d,\"seq\":%d,\"type\":\"invoke\",\"req\":\"POST /o\"}\n",
            (long long)(t0 * MS), user, seq);
    fprintf(f,
            "{\"t_ns\":%lld,\"user\":%d,\"seq\":%d,\"type\":\"ok\",\"req\":\"POST /o\","
            "\"status\":201,\"latency_ns\":%lld,\"tries\":1,\"error\":null}\n",
            (long long)(t1 * MS), user, seq, (long long)((t1 - t0) * MS));
}

/* One trace line of pid 4242 at ms into the load. */
static void trace(FILE *f, int tid, double ms, const char *rule, const char *action,
                  const char *outcome, double waited_ms, const char *detail)
{
    fprintf(f,
            "{\"ts_ns\":%llu,\"pid\":4242,\"tid\":%d,\"hook\":\"pq.query\",\"rule\":\"%s\","
            "\"action\":\"%s\",\"outcome\":\"%s\",\"waited_ns\":%lld,\"hit\":1,\"detail\":\"%s\","
            "\"obj\":\"0x1\"}\n",
            (unsigned long long)(START_NS + (uint64_t)(ms * MS)), tid, rule, action, outcome,
            (long long)(waited_ms * MS), detail);
}

static char *page(void)
{
    char err[512], path[700];
    assert_int_equal(report_html_write(dir, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/report.html", dir);
    return rt_read_file(path);
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_svg_numbers(void **state)
{
    char buf[32];
    int n;
    assert_true(svg_nice_step(100, 5, &n) == 20 && n == 5);
    assert_true(svg_nice_step(7, 5, &n) == 2 && n == 4);
    assert_true(svg_nice_step(0, 5, &n) == 0.2 && n == 5);
    svg_num(buf, sizeof(buf), 2500000);
    assert_string_equal(buf, "2.5M");
    svg_num(buf, sizeof(buf), 1200);
    assert_string_equal(buf, "1200");
    svg_num(buf, sizeof(buf), 12.5);
    assert_string_equal(buf, "12.5");
    svg_num(buf, sizeof(buf), 0.25);
    assert_string_equal(buf, "0.25");
}

/* 300 users x 100 requests and 30,000 injections: 2000 bars of 40 users
 * and 2000 marks drawn, the caps said, the file under 2 MB. */
static void test_large_run_is_capped(void **state)
{
    FILE *h, *t;
    char *html;
    new_dir("large");
    summary(1, 15000.0 + 9, "");
    h = open_in("history.jsonl", "w");
    t = open_in("traces/trace.4242.jsonl", "w");
    for (int s = 0; s < 100; s++)
        for (int u = 0; u < 300; u++) {
            double t0 = s * 300.0 + u * 0.1;
            request(h, u, s, t0, t0 + 9);
            trace(t, 5000 + u, t0 + 2, "r", "barrier", "released", 1, "SELECT 1");
        }
    fputs("{\"summary\":true,\"pid\":4242,\"proc\":\"svc\",\"rules\":[]}\n", t);
    fclose(h);
    fclose(t);
    html = page();
    assert_true(strlen(html) < 2 * 1024 * 1024);
    assert_non_null(strstr(html, "Drawn: 2000 of 30000 requests (cap 2000)"));
    assert_non_null(strstr(html, "around the first violation; 40 of 300 users"));
    assert_non_null(strstr(html, "injections in that window (cap 2000"));
    assert_int_equal(count(html, "<rect class=\"rq "), 2000);
    assert_int_equal(count(html, "<rect class=\"mk "), 2000);
    assert_int_equal(count(html, "rq ok viol"), 1);
    assert_non_null(strstr(html, "user 0 seq 50 POST /o: ok"));
    assert_non_null(strstr(html, ">svc 4242<"));
    free(html);
}

/* Three releases of the barrier (threads 101+102, 103+104, 105+106);
 * the violation comes after the second, and after a barrier that timed
 * out with one caller (107: it ordered nothing): the diagram shows 103
 * and 104, each with its own transaction only, and the rule's text. */
static void test_interleaving_before_the_violation(void **state)
{
    FILE *h, *t;
    char *html, *seq;
    new_dir("seq");
    summary(1, 70, "stock-read: barrier stock-read 2 timeout 100ms after pq.query");
    h = open_in("history.jsonl", "w");
    request(h, 0, 0, 5, 20);
    request(h, 1, 0, 40, 70);
    request(h, 2, 0, 41, 75);
    request(h, 3, 0, 80, 95);
    fclose(h);
    t = open_in("traces/trace.4242.jsonl", "w");
    for (int k = 0; k < 3; k++) {
        int a = 101 + 2 * k, b = a + 1;
        double at = 10 + 40 * k;
        trace(t, a, at, "stock-read", "barrier", "waiting", 0, "SELECT stock FROM inventory");
        trace(t, b, at + 2, "stock-read", "barrier", "waiting", 0, "SELECT stock FROM inventory");
        trace(t, b, at + 2.1, "stock-read", "barrier", "released", 0.01,
              "SELECT stock FROM inventory");
        trace(t, a, at + 2.2, "stock-read", "barrier", "released", 2.2,
              "SELECT stock FROM inventory");
    }
    trace(t, 107, 60, "stock-read", "barrier", "waiting", 0, "SELECT stock FROM inventory");
    trace(t, 107, 62, "stock-read", "barrier", "timeout", 2, "SELECT stock FROM inventory");
    trace(t, 103, 30, "sql", "log", "fired", 0, "INSERT INTO earlier");
    trace(t, 103, 31, "sql", "log", "fired", 0, "COMMIT");
    trace(t, 103, 49, "sql", "log", "fired", 0, "BEGIN");
    trace(t, 103, 53, "sql", "log", "fired", 0, "UPDATE inventory SET stock = 0");
    trace(t, 103, 54, "sql", "log", "fired", 0, "COMMIT");
    trace(t, 103, 55, "sql", "log", "fired", 0, "INSERT INTO later");
    fclose(t);
    html = page();
    seq = strstr(html, "<svg class=\"sequence\"");
    assert_non_null(seq);
    *strstr(seq, "</svg>") = '\0';
    assert_non_null(strstr(seq, "thread 103"));
    assert_non_null(strstr(seq, "thread 104"));
    assert_null(strstr(seq, "thread 101"));
    assert_null(strstr(seq, "thread 105"));
    assert_null(strstr(seq, "thread 107"));
    assert_int_equal(count(seq, "class=\"ev waiting\""), 2);
    assert_non_null(strstr(seq, ">UPDATE inventory SET stock = 0<"));
    assert_non_null(strstr(seq, ">BEGIN<"));
    assert_null(strstr(seq, "INSERT INTO earlier"));
    assert_null(strstr(seq, "INSERT INTO later"));
    assert_non_null(strstr(seq + strlen(seq) + 1, "<pre class=\"rule\">stock-read: barrier "
                                                  "stock-read 2 timeout 100ms"));
    assert_non_null(strstr(html, "Then user 1 seq 0 (POST /o) completed at 70.000 ms and broke "
                                 "<b>ok_within_stock</b>"));
    free(html);
}

static void test_passed_run_has_no_interleaving(void **state)
{
    FILE *h;
    char *html;
    new_dir("passed");
    summary(0, -1, "");
    h = open_in("history.jsonl", "w");
    request(h, 0, 0, 1, 2);
    fclose(h);
    html = page();
    assert_non_null(strstr(html, "PASSED: all 1 invariants held."));
    assert_non_null(strstr(html, "No invariant broke: there is no violating interleaving"));
    assert_null(strstr(html, "<svg class=\"sequence\""));
    assert_null(strstr(html, "rq ok viol"));
    assert_null(strstr(html, "class=\"vline\""));
    assert_non_null(strstr(html, "All 1 requests of 1 users"));
    assert_non_null(strstr(html, "x&lt;script&gt;")); /* escaped, never markup */
    assert_null(strstr(html, "x<script>"));
    free(html);
}

static void test_no_history(void **state)
{
    char *html;
    new_dir("nohist");
    summary(3, -1, "");
    html = page();
    assert_non_null(strstr(html, "No request completed (no history.jsonl line)"));
    free(html);
}

/* The page a directory calls for, from its summary.json. */
static void test_page_kinds(void **state)
{
    char *html, err[512];
    FILE *f;
    new_dir("hunt");
    f = open_in("summary.json", "w");
    fputs("{\"command\":\"hunt\",\"scenario\":\"s\",\"verdict\":\"held\",\"candidates\":[]}", f);
    fclose(f);
    html = page();
    assert_non_null(strstr(html, "<title>wedge hunt: s</title>"));
    assert_non_null(strstr(html, "HELD: every candidate tried held"));
    free(html);
    new_dir("iso");
    f = open_in("summary.json", "w");
    fputs("{\"command\":\"wedge isolation\",\"levels\":[\"serializable\"],\"specs\":[{\"name\":"
          "\"g0\",\"anomaly\":\"G0\",\"cells\":{\"serializable\":{\"expected\":\"prevented\","
          "\"observed\":\"occurs\",\"as_expected\":false}}}],\"exit_code\":1}",
          f);
    fclose(f);
    html = page();
    assert_non_null(strstr(html, "data-kind=\"isolation\""));
    assert_non_null(strstr(html, "class=\"cell occurs unexpected\""));
    free(html);
    new_dir("repeat");
    f = open_in("outcomes.tsv", "w");
    fputs("run\tseed\texit\n1\t7\t1\n2\t8\t0\n", f);
    fclose(f);
    html = page(); /* no summary.json of its own: the runs' are read */
    assert_non_null(strstr(html, "data-kind=\"repeat\""));
    assert_non_null(strstr(html, "FAILED: 1 of 2 runs broke an invariant."));
    assert_int_equal(count(html, "<span class=\"cell "), 2);
    free(html);
    new_dir("empty");
    assert_int_equal(report_html_write(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/summary.json: missing or not a JSON object"));
}

/* A set of two scenarios (run with the same seed): the runs are named
 * by their directories, not by seeds they share. */
static void test_set_of_scenarios(void **state)
{
    char sub[700], *html;
    FILE *f;
    new_dir("several");
    for (int i = 0; i < 2; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", dir, i ? "checkout" : "health");
        assert_int_equal(mkdir(sub, 0755), 0);
        strcat(sub, "/summary.json");
        f = fopen(sub, "w");
        assert_non_null(f);
        fprintf(f,
                "{\"scenario\":\"%s\",\"seed\":\"9\",\"exit_code\":%d,\"invariants\":"
                "[{\"name\":\"impossible\",\"status\":\"%s\"}]}\n",
                i ? "checkout" : "health", 1 - i, i ? "passed" : "failed");
        fclose(f);
    }
    f = open_in("summary.json", "w");
    fprintf(f,
            "{\"kind\":\"runs\",\"exit_code\":1,\"runs\":[{\"dir\":\"%s/"
            "health\",\"seed\":\"9\",\"exit_code\":1},"
            "{\"dir\":\"%s/checkout\",\"seed\":\"9\",\"exit_code\":0}]}\n",
            dir, dir);
    fclose(f);
    html = page();
    assert_non_null(strstr(html, "wedge report: 2 runs of 2 scenarios"));
    assert_non_null(strstr(html, "Outcomes per run"));
    assert_non_null(strstr(html, "<th>runs that broke it</th>"));
    assert_non_null(strstr(html, "<td>impossible</td><td>1</td><td>1</td><td>health</td>"));
    assert_null(strstr(html, "scenario file"));
    free(html);
}

/* A run dir/SUB with a summary.json of scenario NAME and exit code CODE. */
static void set_member(const char *subdir, const char *name, int code)
{
    char path[900];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, subdir);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = 0;
        mkdir(path, 0755);
        *p = '/';
    }
    assert_int_equal(mkdir(path, 0755), 0);
    strcat(path, "/summary.json");
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"scenario\":\"%s\",\"seed\":\"9\",\"exit_code\":%d,\"totals\":{\"requests\":5},"
            "\"invariants\":[{\"name\":\"inv_%s\",\"status\":\"passed\"}]}\n",
            name, code, name);
    fclose(f);
}

/* `wedge run a.scn b.scn --repeat 2 --out rel`, then the directory copied
 * elsewhere (CI artifacts): each run is found under the set's directory
 * as it is now, by "subdir" or, in a summary.json written before there
 * was one, by the last components of "dir" as it was spelled then. */
static void test_moved_set(void **state)
{
    static const char *subs[] = {"a/run-1", "a/run-2", "b/run-1", "b/run-2"};
    char *html;
    FILE *f;
    new_dir("moved");
    for (int i = 0; i < 4; i++)
        set_member(subs[i], i < 2 ? "a" : "b", 0);
    f = open_in("summary.json", "w");
    fputs("{\"kind\":\"runs\",\"exit_code\":0,\"runs\":[", f);
    for (int i = 0; i < 4; i++) /* two with "subdir", two of an older file */
        fprintf(f, "%s{\"dir\":\"rel/%s\",%s%s%s\"seed\":\"9\",\"exit_code\":0}", i ? "," : "",
                subs[i], i % 2 ? "" : "\"subdir\":\"", i % 2 ? "" : subs[i], i % 2 ? "" : "\",");
    fputs("]}\n", f);
    fclose(f);
    html = page();
    assert_non_null(strstr(html, "wedge report: 4 runs of 2 scenarios"));
    assert_non_null(strstr(html, "<td>inv_a</td><td>2</td><td>0</td>"));
    assert_non_null(strstr(html, "<td>inv_b</td><td>2</td><td>0</td>"));
    assert_int_equal(count(html, "<a href=\"b/run-2/report.html\">"), 0); /* none written */
    assert_int_equal(count(html, "<td>5</td>"), 4);
    free(html);

    /* one scenario, --repeat 2 --out /somewhere/rel, moved: run-K */
    new_dir("moved1");
    set_member("run-1", "a", 0);
    set_member("run-2", "a", 2);
    f = open_in("summary.json", "w");
    fputs("{\"kind\":\"runs\",\"exit_code\":2,\"runs\":[{\"dir\":\"/gone/rel/run-1\",\"seed\":"
          "\"1\",\"exit_code\":0},{\"dir\":\"/gone/rel/run-2\",\"seed\":\"2\",\"exit_code\":2}]}",
          f);
    fclose(f);
    html = page();
    assert_non_null(strstr(html, "wedge report: a, 2 runs"));
    assert_non_null(strstr(html, "<td>inv_a</td><td>2</td><td>0</td>"));
    /* exit 2 is a run that could not run, not an inconclusive one */
    assert_non_null(strstr(html, "class=\"verdict error\""));
    assert_non_null(strstr(html, "ERROR: 0 of 2 runs broke an invariant, some could not run."));
    assert_int_equal(count(html, "<span class=\"cell error\""), 1);
    assert_null(strstr(html, "class=\"verdict inconclusive\""));
    assert_null(strstr(html, "class=\"cell inconclusive\""));
    free(html);
}

/* A run that exited 2 (usage or configuration error): ERROR, as report.md
 * says it, with its own class; 3 stays INCONCLUSIVE. */
static void test_error_is_not_inconclusive(void **state)
{
    char *html;
    new_dir("error2");
    summary(2, -1, "");
    html = page();
    assert_non_null(strstr(html, "<p class=\"verdict error\" id=\"verdict\">ERROR: could not run: "
                                 "a usage or configuration error</p>"));
    assert_null(strstr(html, "INCONCLUSIVE"));
    assert_non_null(strstr(html, ".verdict.error {"));
    free(html);
    new_dir("error3");
    summary(3, -1, "");
    html = page();
    assert_non_null(
        strstr(html, "<p class=\"verdict inconclusive\" id=\"verdict\">INCONCLUSIVE: "));
    free(html);
}

/* `wedge report --svg`: what it draws, and input errors that name the
 * file and the fault. */
static char *figure(const char *kind, const char *json, int want_rc, char *err)
{
    char path[700], *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len), *f;
    snprintf(path, sizeof(path), "%s/fig.json", tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    assert_int_equal(report_svg(kind, path, out, err, 512), want_rc);
    fclose(out);
    return text;
}

static void test_svg_figures(void **state)
{
    char err[512], *svg;
    svg = figure("bars",
                 "{\"title\":\"Strategies\",\"panels\":[{\"title\":\"req/s\",\"groups\":"
                 "[\"read-heavy\",\"write-heavy\"],\"keys\":[\"naive\",\"atomic\"],"
                 "\"values\":[[1746,1387],[654,null]]}]}",
                 0, err);
    assert_true(strncmp(svg, "<svg ", 5) == 0);
    assert_non_null(strstr(svg, "<title>read-heavy, naive: 1746</title>"));
    assert_non_null(strstr(svg, "<title>write-heavy, naive: 654</title>"));
    assert_null(strstr(svg, "write-heavy, atomic")); /* null: no bar */
    free(svg);
    svg = figure("series",
                 "{\"scenario\":\"soak\",\"series\":[{\"t_s\":1,\"throughput\":200,"
                 "\"p99_ms\":3,\"rss_kb\":2048},{\"t_s\":2,\"throughput\":201,\"p99_ms\":4,"
                 "\"rss_kb\":2048}]}",
                 0, err);
    assert_non_null(strstr(svg, "<title>soak: throughput, p99 and RSS per sample</title>"));
    assert_int_equal(count(svg, "<polyline"), 3);
    free(svg);
    free(figure("series", "{\"series\":[{\"t_s\":1}]}", -1, err));
    assert_non_null(strstr(err, "/fig.json: no time series (\"series\" needs 2 samples"));
    free(figure("bars",
                "{\"panels\":[{\"title\":\"p\",\"groups\":[\"a\"],\"keys\":[\"k\"],"
                "\"values\":[]}]}",
                -1, err));
    assert_non_null(strstr(err, "/fig.json: panel 'p': needs groups, keys and a row of values"));
    free(figure("bars", "{\"panels\": [", -1, err));
    assert_non_null(strstr(err, "/fig.json:1:"));
    free(figure("pie", "{}", -1, err));
    assert_string_equal(err, "unknown figure 'pie': expected series or bars");
}

static int setup(void **state)
{
    rt_mkdtemp("report-html");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_numbers),
        cmocka_unit_test(test_large_run_is_capped),
        cmocka_unit_test(test_interleaving_before_the_violation),
        cmocka_unit_test(test_passed_run_has_no_interleaving),
        cmocka_unit_test(test_no_history),
        cmocka_unit_test(test_page_kinds),
        cmocka_unit_test(test_set_of_scenarios),
        cmocka_unit_test(test_moved_set),
        cmocka_unit_test(test_error_is_not_inconclusive),
        cmocka_unit_test(test_svg_figures),
    };
    return cmocka_run_group_tests(tests, setup, rt_teardown);
}

/*
 * hunt_out.c - what a hunt hands over besides found-N.scn: report.md for
 * a reader (the window, the invariant, the command that replays it, the
 * candidates that held as negative evidence, the invariants offered from
 * the schema), summary.json for scripts and report.html drawn from it.
 */
#include "hunt.h"
#include "report.h"
#include "util.h"
#include "wedge_exit.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *out_status(enum hunt_status s)
{
    static const char *const names[] = {
        [HS_UNTRIED] = "not tried",
        [HS_FOUND] = "FOUND",
        [HS_HELD] = "held",
        [HS_FLAKY] = "broke on some seeds only",
        [HS_INCONCLUSIVE] = "inconclusive",
        [HS_SKIPPED] = "not a candidate",
    };
    return names[s];
}

char *hunt_window_text(const struct hunt_cand *c)
{
    const char *who = c->req ? c->req : "background thread";
    const char *a = c->first ? c->first : "?", *b = c->second ? c->second : "?";
    switch (c->kind) {
    case HK_LOST_UPDATE:
    case HK_CHECK_INSERT:
    case HK_GUARDED:
    case HK_SIDE_EFFECT:
        return util_fmt("Two %s requests each run `%s`; the first is held there until the second "
                        "has run it too, so both then run `%s` on what they read.",
                        who, a, b);
    case HK_CONSUMERS:
        return util_fmt("Two background threads of %s each run `%s`; the first is held until the "
                        "second has too, so both take the same rows and both run `%s`.",
                        c->proc ? c->proc : "the service", a, b);
    case HK_DOUBLE_SUBMIT:
        return util_fmt("Two copies of %s are held before `%s` until both are there; both then "
                        "write.",
                        who, a);
    case HK_LOCK_ORDER:
        return util_fmt("%s takes one mutex, then the other; %s takes them the other way round. "
                        "Each is held after its first lock until the other has its own: then "
                        "each waits for the lock the other holds (a deadlock).",
                        a, b);
    case HK_ATOMICITY:
        return util_fmt("A request releases a mutex in %s and takes it again in %s; it is held "
                        "after the release until a second request has released it there too, so "
                        "both act on state checked under the first hold.",
                        a, b);
    case HK_COND_WAIT:
        return util_fmt("The condition wait in %s wakes up spuriously (POSIX allows it): code "
                        "that does not check its condition again goes on with nothing ready.",
                        a);
    default:
        return util_fmt("%s", c->title);
    }
}

/* ---------------------------------------------------------------
 * report.md
 * ------------------------------------------------------------ */
static void md_found(FILE *f, const struct hunt_result *r, int i)
{
    const struct hunt_cand *c = &r->cands->c[r->found_cand[i]];
    char *window = hunt_window_text(c);
    fprintf(f, "## Found: %s\n\n", c->title);
    fprintf(f, "- **Window.** %s\n", window);
    if (c->first)
        fprintf(f, "- **Where.** `%s`%s%s%s (%s%s, observed %u times)\n", c->first,
                c->second ? " then `" : "", c->second ? c->second : "", c->second ? "`" : "",
                c->service ? "service " : "program ", c->service ? c->service : c->proc, c->seen);
    fprintf(f, "- **Rule.** `%s`\n", r->found_rules[i]);
    if (r->shrunk_from[i])
        fprintf(f, "- **Shrunk from** `%s`\n", r->shrunk_from[i]);
    fprintf(f, "- **Breaks** %s on %d of %d seeds (%" PRIu64 ", %" PRIu64 ", %" PRIu64 ").\n",
            c->broken ? c->broken : "an invariant", c->broke, HUNT_SEEDS, r->seeds[0], r->seeds[1],
            r->seeds[2]);
    fprintf(f, "- **Without the rule** (seed %" PRIu64 "): %s.\n", r->seeds[0],
            c->plain_broke == 1   ? "broke too: plain load finds it, the rule is not what opens it"
            : c->plain_broke == 0 ? "held: the rule is what opens the window"
                                  : "not run (budget)");
    if (c->note)
        fprintf(f, "- **Seen in its runs.** %s\n", c->note);
    fprintf(f,
            "- **Reproduce.** `wedge run %s --repeat 20` (every run should fail), or one seed: "
            "`wedge run %s --seed %" PRIu64 "`\n\n",
            r->found_files[i], r->found_files[i], r->seeds[0]);
    free(window);
}

static void md_table(FILE *f, const struct hunt_result *r)
{
    int skipped = 0;
    fprintf(f, "## Candidates, best first\n\n");
    if (!r->cands->n)
        fprintf(f, "None: the observation showed no read-then-write window, no lock taken by the "
                   "program itself and no condition wait.\n\n");
    else
        fprintf(f, "| # | kind | score | seen | window | rule | runs | outcome |\n"
                   "|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < r->cands->n; i++) {
        const struct hunt_cand *c = &r->cands->c[i];
        char *rules = hunt_cand_rules(c);
        if (c->status == HS_SKIPPED) {
            skipped++;
            free(rules);
            continue;
        }
        fprintf(f, "| %d | %s | %d | %u | %s | `%s` | %d | %s%s%s%s%s |\n", c->rank,
                hunt_kind_name(c->kind), c->score, c->seen, c->title, rules, c->runs,
                out_status(c->status), c->broken ? ": broke " : "", c->broken ? c->broken : "",
                c->note ? "; " : "", c->note ? c->note : "");
        free(rules);
    }
    if (!skipped)
        return;
    fprintf(f, "\n### Windows the code already holds shut (not tried)\n\n");
    for (int i = 0; i < r->cands->n; i++) {
        const struct hunt_cand *c = &r->cands->c[i];
        if (c->status == HS_SKIPPED)
            fprintf(f, "- `%s` then `%s`: %s\n", c->first, c->second ? c->second : "?", c->why_not);
    }
}

static void md_invariants(FILE *f, const struct hunt_result *r)
{
    fprintf(f, "\n## Invariants\n\n");
    if (r->ngeneric) {
        fprintf(f, "The scenario has none; hunt judged every run by these (found-N.scn carries "
                   "them):\n\n```ini\n[invariants]\n");
        for (int i = 0; i < r->ngeneric; i++)
            fprintf(f, "%s\n", r->generic[i]);
        fprintf(f, "```\n\n");
    } else {
        fprintf(f, "The scenario's own.\n\n");
    }
    if (!r->cat || !r->cat->noffered)
        return;
    fprintf(f, "Offered from the schema: confirm the ones that must hold and add them to the "
               "scenario (hunt does not judge by them):\n\n```ini\n");
    for (int i = 0; i < r->cat->noffered; i++)
        fprintf(f, "%s\n", r->cat->offered[i]);
    fprintf(f, "```\n");
}

static int out_md(const struct hunt_result *r, char *err, size_t errlen)
{
    char *path = util_fmt("%s/report.md", r->out);
    FILE *f = fopen(path, "we");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write", path);
        free(path);
        return -1;
    }
    fprintf(f, "# wedge hunt: %s\n\n", r->scenario);
    fprintf(f,
            "**%s** (exit %d) after %u runs in %.0f s.  Scenario `%s`%s%s; seeds %" PRIu64
            ", %" PRIu64 ", %" PRIu64 ".\n\n",
            r->exit_code == WEDGE_VIOLATED ? "Race found"
            : r->exit_code == WEDGE_PASS   ? "Every candidate held"
                                           : "Inconclusive",
            r->exit_code, r->runs, r->seconds, r->path, r->load ? ", load " : "",
            r->load ? r->load : "", r->seeds[0], r->seeds[1], r->seeds[2]);
    fprintf(f, "Observed: %u requests, %u statements, %u lock calls of the program, %u threads.\n",
            r->requests, r->statements, r->lock_calls, r->threads);
    if (r->observe_broke)
        fprintf(f, "\nThe observing run (no rule) already broke: %s.\n", r->observe_broke);
    if (r->observe_error)
        fprintf(f, "\nNothing could be observed: %s.\n", r->observe_error);
    if (r->interrupted)
        fprintf(f, "\nInterrupted by signal %d before the hunt finished.\n", r->interrupted);
    else if (r->budget_out)
        fprintf(f, "\nThe budget ran out before every candidate was tried.\n");
    fprintf(f, "\n");
    for (int i = 0; i < r->nfound; i++)
        md_found(f, r, i);
    md_table(f, r);
    md_invariants(f, r);
    fclose(f);
    free(path);
    return 0;
}

/* ---------------------------------------------------------------
 * summary.json
 * ------------------------------------------------------------ */
static json_t *js_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *js_cand(const struct hunt_cand *c)
{
    char *rules = hunt_cand_rules(c);
    json_t *j = json_pack(
        "{s:i,s:s,s:i,s:i,s:o,s:o,s:o,s:o,s:s,s:s,s:i,s:i,s:f,s:i,s:o,s:o}", "rank", c->rank,
        "kind", hunt_kind_name(c->kind), "score", c->score, "seen", (int)c->seen, "title",
        js_str(c->title), "first", js_str(c->first), "second", js_str(c->second), "service",
        js_str(c->service), "rule", rules, "outcome", out_status(c->status), "runs", c->runs,
        "broke", c->broke, "seconds", c->seconds, "timeout_ms", (int)(c->timeout_ns / NS_PER_MS),
        "broken", js_str(c->broken), "note", js_str(c->note ? c->note : c->why_not));
    free(rules);
    return j;
}

static json_t *js_found(const struct hunt_result *r, int i)
{
    const struct hunt_cand *c = &r->cands->c[r->found_cand[i]];
    char *reproduce = util_fmt("wedge run %s --repeat 20", r->found_files[i]);
    json_t *j = json_pack("{s:s,s:i,s:s,s:s,s:o,s:o,s:i,s:o,s:s}", "file", r->found_files[i],
                          "candidate", c->rank, "title", c->title, "rule", r->found_rules[i],
                          "shrunk_from", js_str(r->shrunk_from[i]), "broken", js_str(c->broken),
                          "seeds_broken", c->broke, "without_rule",
                          c->plain_broke == 1   ? json_string("broke")
                          : c->plain_broke == 0 ? json_string("held")
                                                : json_null(),
                          "reproduce", reproduce);
    free(reproduce);
    return j;
}

static json_t *js_summary(const struct hunt_result *r)
{
    json_t *cands = json_array(), *found = json_array(), *offered = json_array();
    json_t *generic = json_array(), *seeds = json_array();
    for (int i = 0; i < r->cands->n; i++)
        json_array_append_new(cands, js_cand(&r->cands->c[i]));
    for (int i = 0; i < r->nfound; i++)
        json_array_append_new(found, js_found(r, i));
    for (int i = 0; r->cat && i < r->cat->noffered; i++)
        json_array_append_new(offered, json_string(r->cat->offered[i]));
    for (int i = 0; i < r->ngeneric; i++)
        json_array_append_new(generic, json_string(r->generic[i]));
    for (int k = 0; k < HUNT_SEEDS; k++) {
        char s[32];
        snprintf(s, sizeof s, "%" PRIu64, r->seeds[k]);
        json_array_append_new(seeds, json_string(s));
    }
    return json_pack(
        "{s:s,s:s,s:s,s:i,s:s,s:i,s:f,s:f,s:i,s:b,s:o,s:o,s:{s:i,s:i,s:i,s:i},s:o,s:o,s:o,s:o}",
        "command", "hunt", "scenario", r->scenario, "scenario_file", r->path, "exit_code",
        r->exit_code, "verdict",
        r->exit_code == WEDGE_VIOLATED ? "found"
        : r->exit_code == WEDGE_PASS   ? "held"
                                       : "inconclusive",
        "runs", (int)r->runs, "seconds", r->seconds, "observe_seconds", r->observe_seconds,
        "interrupted", r->interrupted, "budget_spent", r->budget_out, "seeds", seeds,
        "observe_broke", js_str(r->observe_broke), "observed", "requests", (int)r->requests,
        "statements", (int)r->statements, "lock_calls", (int)r->lock_calls, "threads",
        (int)r->threads, "found", found, "candidates", cands, "generic_invariants", generic,
        "offered_invariants", offered);
}

int hunt_report(const struct hunt_result *r, int json, char *err, size_t errlen)
{
    json_t *j = js_summary(r);
    char *path = util_fmt("%s/summary.json", r->out);
    int rc = out_md(r, err, errlen);
    if (!j || json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
        snprintf(err, errlen, "%s: cannot write", path);
        rc = -1;
    }
    if (rc == 0 && j && report_html_write(r->out, err, errlen) < 0)
        rc = -1;
    if (j && json) {
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    }
    json_decref(j);
    free(path);
    return rc;
}

/*
 * scn_thresh.c - the [invariants] section: a name and its check, of four
 * kinds told apart by the first word of the value: an SQL query, a
 * history count (history: ...), a threshold on the load's figures
 * (latency, failed, throughput, retries) and a request read after the load
 * (http: ...).  The first two are judged by run/inv.c, thresholds by
 * run/inv_thresh.c, HTTP ones by run/inv_http.c.
 */
#include "scn.h"
#include "scn_int.h"

#include "duration.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scn_metric_words[] = {"latency", "failed", "throughput", "retries"};
static const char *const scn_cmp_words[] = {"<", "<=", "==", "!=", ">=", ">"};

/* ---------------------------------------------------------------
 * Thresholds: latency p99 < 200ms, failed of "POST /orders" < 1%, ...
 * ------------------------------------------------------------ */
static int scn_metric(const char *v)
{
    size_t w = strcspn(v, " \t");
    for (int i = 0; i < 4; i++)
        if (strlen(scn_metric_words[i]) == w && !strncmp(v, scn_metric_words[i], w))
            return i;
    return -1;
}

/* pNN, pNN.N, mean, max after "latency": the percentile into inv->pct. */
static const char *scn_latency_stat(struct scn_parse *p, struct scn_invariant *inv,
                                    const char *value, const char *s)
{
    size_t w = strcspn(s, " \t");
    char *end;
    if (w == 4 && !strncmp(s, "mean", 4)) {
        inv->pct = 0;
    } else if (w == 3 && !strncmp(s, "max", 3)) {
        inv->pct = 100;
    } else if (s[0] == 'p' && w > 1) {
        errno = 0;
        inv->pct = strtod(s + 1, &end);
        if (end != s + w || errno || !(inv->pct > 0 && inv->pct <= 100) || s[1] == '-' ||
            s[1] == '+') {
            scn_error_at(p, (size_t)(s - value),
                         "expected a percentile from p0.001 to p100 (such as p50, p99, p99.9), "
                         "got '%.*s'",
                         (int)w, s);
            return NULL;
        }
    } else {
        scn_error_at(p, (size_t)(s - value),
                     "expected pNN, mean or max after 'latency' (such as p99), got '%.*s'", (int)w,
                     s);
        return NULL;
    }
    return scn_skip_space(s + w);
}

/* of "LABEL": the requests it is about. */
static const char *scn_of_label(struct scn_parse *p, struct scn_invariant *inv, const char *value,
                                const char *s)
{
    const char *q, *e;
    if (strncmp(s, "of", 2) != 0 || !(s[2] == ' ' || s[2] == '\t'))
        return s;
    q = scn_skip_space(s + 2);
    e = *q == '"' ? strchr(q + 1, '"') : NULL;
    if (!e || e == q + 1) {
        scn_error_at(p, (size_t)(q - value),
                     "expected a request's label in double quotes after 'of' (such as \"POST "
                     "/orders\")");
        return NULL;
    }
    inv->label = strndup(q + 1, (size_t)(e - q - 1));
    if (!inv->label)
        p->oom = 1;
    return scn_skip_space(e + 1);
}

/* The number after the operator, in the metric's unit. */
static int scn_thresh_number(struct scn_parse *p, struct scn_invariant *inv, const char *value,
                             const char *s)
{
    size_t n = strlen(s);
    char num[64], *end;
    uint64_t ns;
    if (inv->metric == SCN_M_LATENCY) {
        if (duration_parse_str(s, &ns) != DURATION_OK) {
            scn_error_at(
                p, (size_t)(s - value),
                "expected a duration after the operator (a number and a unit: " DURATION_UNITS
                ", such as 200ms), got '%s'",
                s);
            return -1;
        }
        inv->number = (double)ns;
        return 0;
    }
    inv->percent = n && s[n - 1] == '%' && inv->metric != SCN_M_THROUGHPUT;
    if (inv->metric == SCN_M_THROUGHPUT && n > 2 && !strcmp(s + n - 2, "/s"))
        n -= 2;
    snprintf(num, sizeof(num), "%.*s", (int)(n - (size_t)inv->percent), s);
    errno = 0;
    inv->number = strtod(num, &end);
    if (!num[0] || *end || errno || !isfinite(inv->number) || inv->number < 0) {
        scn_error_at(p, (size_t)(s - value), "expected %s after the operator, got '%s'",
                     inv->metric == SCN_M_THROUGHPUT ? "requests per second (such as 100/s)"
                                                     : "a share (such as 1%) or a count",
                     s);
        return -1;
    }
    if (inv->percent)
        inv->number /= 100.0;
    return 0;
}

static void scn_threshold(struct scn_parse *p, struct scn_invariant *inv, const char *value)
{
    const char *s = value;
    size_t n;
    int found = -1;

    inv->kind = SCN_INV_THRESHOLD;
    inv->metric = (enum scn_metric)scn_metric(s);
    inv->text = scn_strdup(p, value);
    s = scn_skip_space(s + strlen(scn_metric_words[inv->metric]));
    if (inv->metric == SCN_M_LATENCY && !(s = scn_latency_stat(p, inv, value, s)))
        return;
    if (!(s = scn_of_label(p, inv, value, s)))
        return;
    n = strspn(s, "<>=!");
    for (int i = 0; i < 6; i++)
        if (n && strlen(scn_cmp_words[i]) == n && !strncmp(s, scn_cmp_words[i], n))
            found = i;
    if (found < 0) {
        scn_error_at(p, (size_t)(s - value),
                     "expected %san operator (< <= == != >= >), got '%.*s'%s",
                     inv->label ? "" : "of \"LABEL\" or ", (int)(n ? n : strcspn(s, " \t")), s,
                     n == 1 && s[0] == '=' ? " (did you mean '=='?)" : "");
        return;
    }
    inv->op = (enum scn_op)found;
    s = scn_skip_space(s + n);
    scn_thresh_number(p, inv, value, s);
}

/* ---------------------------------------------------------------
 * HTTP invariants: http: GET /stats | json $.sold == 20
 * ------------------------------------------------------------ */
/* The next '|' outside double quotes, or the end. */
static const char *scn_next_bar(const char *s)
{
    int quoted = 0;
    for (; *s; s++) {
        if (*s == '\\' && quoted && s[1])
            s++;
        else if (*s == '"')
            quoted = !quoted;
        else if (*s == '|' && !quoted)
            return s;
    }
    return s;
}

static void scn_http_invariant(struct scn_parse *p, struct scn_invariant *inv, const char *value)
{
    const char *s = scn_skip_space(value + 5), *bar = scn_next_bar(s);
    char *piece = NULL;

    inv->kind = SCN_INV_HTTP;
    inv->text = scn_strdup(p, value);
    inv->http = calloc(1, sizeof(*inv->http));
    piece = strndup(s, (size_t)(bar - s));
    if (!inv->http || !piece) {
        free(piece);
        p->oom = 1;
        return;
    }
    for (size_t n = strlen(piece); n && scn_is_space(piece[n - 1]);)
        piece[--n] = '\0';
    inv->http->line = p->cur_line;
    inv->http->flow = -1;
    inv->http->weight = 1;
    if (scn_request_parse(p, piece, (size_t)(s - value), inv->http) < 0)
        goto out;
    while (*bar == '|') {
        s = scn_skip_space(bar + 1);
        bar = scn_next_bar(s);
        free(piece);
        piece = strndup(s, (size_t)(bar - s));
        if (!piece) {
            p->oom = 1;
            goto out;
        }
        for (size_t n = strlen(piece); n && scn_is_space(piece[n - 1]);)
            piece[--n] = '\0';
        if (scn_expect_add(p, inv->http, piece, (size_t)(s - value)) < 0)
            goto out;
    }
out:
    free(piece);
}

/* ---------------------------------------------------------------
 * The section's entries.
 * ------------------------------------------------------------ */
static struct scn_invariant *scn_new_invariant(struct scn_parse *p, const char *name)
{
    struct scenario *s = p->s;
    struct scn_invariant *ni = realloc(s->invariants, (size_t)(s->ninvariants + 1) * sizeof(*ni));
    if (!ni) {
        p->oom = 1;
        return NULL;
    }
    s->invariants = ni;
    memset(&ni[s->ninvariants], 0, sizeof(*ni));
    ni[s->ninvariants].line = p->cur_line;
    ni[s->ninvariants].name = scn_strdup(p, name);
    return &ni[s->ninvariants++];
}

void scn_invariant(struct scn_parse *p, const char *name, const char *value)
{
    struct scenario *s = p->s;
    struct scn_invariant *inv;

    if (!scn_is_name(name)) {
        scn_error(p, p->cur_line,
                  "invariant name '%s' may hold only letters, digits, '_', '-' and '.'", name);
        return;
    }
    if (strcmp(name, "service_alive") == 0 || strcmp(name, "jobs_succeeded") == 0) {
        scn_error(p, p->cur_line, "invariant '%s' is built in: choose another name", name);
        return;
    }
    for (int i = 0; i < s->ninvariants; i++)
        if (strcmp(s->invariants[i].name, name) == 0) {
            scn_error(p, p->cur_line, "duplicate invariant '%s' (first at line %d)", name,
                      s->invariants[i].line);
            return;
        }
    if (!*value) {
        scn_error(p, p->cur_line,
                  "invariant '%s' needs an SQL query, 'history: ...', 'http: ...' or a threshold "
                  "(latency, failed, throughput, retries)",
                  name);
        return;
    }
    if (!(inv = scn_new_invariant(p, name)))
        return;
    if (strncmp(value, "history:", 8) == 0) {
        scn_history(p, inv, value);
    } else if (strncmp(value, "http:", 5) == 0) {
        scn_http_invariant(p, inv, value);
    } else if (scn_metric(value) >= 0) {
        scn_threshold(p, inv, value);
    } else {
        inv->kind = SCN_INV_SQL;
        inv->sql = scn_strdup(p, value);
    }
}

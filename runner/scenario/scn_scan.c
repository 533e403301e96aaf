/*
 * scn_scan.c - the lexical layer of a scenario file, below the parser
 * (scn.c) and the values (scn_value.c), calling neither: the pre-scan (its
 * lines, the opening comment that is the scenario's description, every
 * section header, so that an empty or unknown section is reported before
 * inih sees the file), names and blanks, and the error a part reports.
 */
#include "scn.h"
#include "scn_int.h"
#include "timeunit.h"

#include "suggest.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const scn_sec_names[] = {"scenario", "database",   "service", "job",
                                     "workload", "invariants", "flow",    "proxy"};

/* Keys of each section; a trailing '*' marks a repeatable key. */
const char *const scn_keys[][SCN_NKEYS] = {
    [SEC_SCENARIO] = {"name", "description", "seed", "rules", "timeout", NULL},
    [SEC_DATABASE] = {"schema*", "fixture*", NULL},
    [SEC_SERVICE] = {"command", "ready", "rules", "rules_file", "env*", "stop_grace", NULL},
    [SEC_JOB] = {"command", "rules", "rules_file", "env*", "when", "timeout", NULL},
    [SEC_WORKLOAD] = {"users", "rate", "duration", "iterations", "think", "target", "request*",
                      "sql*", "header*", "expect*", "capture*", "max_tries", "timeout", "sample",
                      "max_info", NULL},
    [SEC_INVARIANTS] = {NULL},
    [SEC_FLOW] = {"weight", "request*", "sql*", "header*", "expect*", "capture*", NULL},
    [SEC_PROXY] = {"to", "rules", "rules_file", "env*", "stop_grace", NULL},
};

/* ---------------------------------------------------------------
 * Errors, names, blanks: what every part of the parser uses.
 * ------------------------------------------------------------ */
/* Keep the error on the earliest line. */
void scn_error(struct scn_parse *p, int line, const char *fmt, ...)
{
    va_list ap;
    if (p->err_line && p->err_line <= line)
        return;
    p->err_line = line;
    p->err_col = 0;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
    va_end(ap);
}

void scn_error_at(struct scn_parse *p, size_t off, const char *fmt, ...)
{
    va_list ap;
    if (p->err_line && p->err_line <= p->cur_line)
        return;
    p->err_line = p->cur_line;
    p->err_col = scn_col(p, off);
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
    va_end(ap);
}

int scn_col(struct scn_parse *p, size_t off)
{
    const char *raw = p->lines[p->cur_line - 1];
    size_t d = strcspn(raw, "=:");
    if (raw[d])
        d++;
    while (raw[d] == ' ' || raw[d] == '\t')
        d++;
    return (int)(d + off) + 1;
}

char *scn_strdup(struct scn_parse *p, const char *s)
{
    char *d = strdup(s);
    if (!d)
        p->oom = 1;
    return d;
}

int scn_is_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || *s == '.' || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

int scn_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

const char *scn_skip_space(const char *s)
{
    while (scn_is_space(*s))
        s++;
    return s;
}

/* Numbers as the scenario writes them (scn_value.c and scn_limit.c read
 * them through these). */
int scn_parse_u64(const char *text, uint64_t *out)
{
    char *end;
    int base = 10;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        base = 16;
    if (!(*text >= '0' && *text <= '9'))
        return -1;
    errno = 0;
    *out = strtoull(text, &end, base);
    return (*end || errno) ? -1 : 0;
}

int scn_parse_double(const char *text, double *out)
{
    char *end;
    if (!(*text >= '0' && *text <= '9') && *text != '.' && *text != '-' && *text != '+')
        return -1;
    errno = 0;
    *out = strtod(text, &end);
    return (*end || errno || !isfinite(*out)) ? -1 : 0;
}

/* ---------------------------------------------------------------
 * The pre-scan: lines, the opening comment, section headers.
 * ------------------------------------------------------------ */
int scn_split_lines(struct scn_parse *p, char *text)
{
    char *s = text;
    while (*s) {
        char *nl = strchr(s, '\n'), **nv;
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        if (n && s[n - 1] == '\r')
            s[n - 1] = '\0';
        if (nl)
            *nl = '\0';
        nv = realloc(p->lines, (size_t)(p->nlines + 1) * sizeof(char *));
        if (!nv)
            return -1;
        p->lines = nv;
        p->lines[p->nlines++] = s;
        if (n > SCN_MAX_LINE)
            scn_error(p, p->nlines, "line longer than %d characters", SCN_MAX_LINE);
        if (!nl)
            break;
        s = nl + 1;
    }
    return 0;
}

/* The opening ';' / '#' comment lines, markers stripped, joined by '\n'. */
void scn_description(struct scn_parse *p)
{
    size_t len = 0;
    char *d = NULL;
    for (int i = 0; i < p->nlines; i++) {
        const char *l = scn_skip_space(p->lines[i]);
        size_t n;
        char *nd;
        if (!*l && !d)
            continue; /* blank lines before the comment */
        if (*l != ';' && *l != '#')
            break;
        while (*l == ';' || *l == '#')
            l++;
        if (*l == ' ')
            l++;
        n = strlen(l);
        while (n && scn_is_space(l[n - 1]))
            n--;
        nd = realloc(d, len + n + 2);
        if (!nd) {
            p->oom = 1;
            break;
        }
        d = nd;
        if (len)
            d[len++] = '\n';
        memcpy(d + len, l, n);
        len += n;
        d[len] = '\0';
    }
    if (d && !*d)
        free(d), d = NULL;
    p->s->description = d;
}

static int scn_find_sec(struct scn_parse *p, enum scn_sec_kind k, const char *name)
{
    for (int i = 0; i < p->nsecs; i++)
        if (p->secs[i].kind == k && (!name || strcmp(p->secs[i].name, name) == 0))
            return i;
    return -1;
}

static void scn_unknown_section(struct scn_parse *p, int line, const char *word, const char *hdr)
{
    const char *hint = suggest(word, strlen(word), scn_sec_names, SCN_NSECS);
    if (hint)
        scn_error(p, line, "unknown section '[%s]' (did you mean '[%s%s]'?)", hdr, hint,
                  hdr + strlen(word));
    else
        scn_error(p, line,
                  "unknown section '[%s]' (expected [scenario], [database], [service NAME], "
                  "[job NAME], [proxy NAME], [workload], [flow NAME] or [invariants])",
                  hdr);
}

/* A section header: check it and add it to p->secs (and services/jobs). */
/* The kind of section header hdr names (its word in word, its name in
 * *rest), or -1 after the message: unknown, a name missing or extra, a
 * duplicate. */
static int scn_header_kind(struct scn_parse *p, int line, const char *hdr, char *word, size_t wlen,
                           const char **rest)
{
    int kind = -1, other;

    snprintf(word, wlen, "%.*s", (int)strcspn(hdr, " \t"), hdr);
    *rest = scn_skip_space(hdr + strlen(word));
    for (int i = 0; i < SCN_NSECS; i++)
        if (strcmp(word, scn_sec_names[i]) == 0)
            kind = i;
    if (kind < 0) {
        scn_unknown_section(p, line, word, hdr);
        return -1;
    }
    if ((kind == SEC_SERVICE || kind == SEC_JOB || kind == SEC_FLOW || kind == SEC_PROXY) &&
        !scn_is_name(*rest)) {
        scn_error(p, line,
                  "section [%s] needs a name of letters, digits, '_', '-' or '.': [%s NAME]", hdr,
                  word);
        return -1;
    }
    if (kind != SEC_SERVICE && kind != SEC_JOB && kind != SEC_FLOW && kind != SEC_PROXY && **rest) {
        scn_error(p, line, "section [%s] takes no name (got '%s')", word, *rest);
        return -1;
    }
    /* services and jobs share a namespace; flows have their own */
    other = scn_find_sec(p, kind == SEC_FLOW ? SEC_FLOW : SEC_SERVICE, **rest ? *rest : NULL);
    if (other < 0 && kind != SEC_FLOW)
        other = scn_find_sec(p, SEC_JOB, **rest ? *rest : NULL);
    if (other < 0 && kind != SEC_FLOW) /* a proxy's name is a port name like a service's */
        other = scn_find_sec(p, SEC_PROXY, **rest ? *rest : NULL);
    if (!**rest)
        other = scn_find_sec(p, (enum scn_sec_kind)kind, NULL);
    if (other >= 0) {
        if (**rest)
            scn_error(p, line, "duplicate name '%s' (first at line %d)", *rest,
                      p->secs[other].line);
        else
            scn_error(p, line, "duplicate section [%s] (first at line %d)", word,
                      p->secs[other].line);
        return -1;
    }
    return kind;
}

/* The flow a [flow NAME] section describes; its index, or -1 out of
 * memory. */
static int scn_header_flow(struct scn_parse *p, int line, const char *name)
{
    struct scenario *s = p->s;
    struct scn_flow *nv = realloc(s->flows, (size_t)(s->nflows + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    s->flows = nv;
    memset(&nv[s->nflows], 0, sizeof(*nv));
    nv[s->nflows].name = scn_strdup(p, name);
    nv[s->nflows].line = line;
    nv[s->nflows].weight = 1;
    nv[s->nflows].first = -1;
    return s->nflows++;
}

/* The service or job a [service NAME] / [job NAME] section describes;
 * its index, or -1 out of memory. */
static int scn_header_process(struct scn_parse *p, int kind, int line, const char *name)
{
    struct scenario *s = p->s;

    if (kind == SEC_SERVICE || kind == SEC_PROXY) {
        struct scn_service *nv = realloc(s->services, (size_t)(s->nservices + 1) * sizeof(*nv));
        if (!nv)
            return -1;
        s->services = nv;
        memset(&nv[s->nservices], 0, sizeof(*nv));
        nv[s->nservices].name = scn_strdup(p, name);
        nv[s->nservices].line = line;
        nv[s->nservices].stop_grace_ns = 2 * NS_PER_S;
        nv[s->nservices].is_proxy = kind == SEC_PROXY;
        return s->nservices++;
    }
    struct scn_job *nv = realloc(s->jobs, (size_t)(s->njobs + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    s->jobs = nv;
    memset(&nv[s->njobs], 0, sizeof(*nv));
    nv[s->njobs].name = scn_strdup(p, name);
    nv[s->njobs].line = line;
    return s->njobs++;
}

static int scn_header(struct scn_parse *p, int line, const char *hdr)
{
    char word[SCN_MAX_SECTION + 1];
    const char *rest;
    struct scn_sec *sec, *ns;
    int kind;

    if (strlen(hdr) > SCN_MAX_SECTION) {
        scn_error(p, line, "section name longer than %d characters", SCN_MAX_SECTION);
        return 0;
    }
    kind = scn_header_kind(p, line, hdr, word, sizeof(word), &rest);
    if (kind < 0)
        return 0;
    ns = realloc(p->secs, (size_t)(p->nsecs + 1) * sizeof(*ns));
    if (!ns)
        return -1;
    p->secs = ns;
    sec = &ns[p->nsecs++];
    memset(sec, 0, sizeof(*sec));
    sec->kind = (enum scn_sec_kind)kind;
    sec->line = line;
    sec->name = scn_strdup(p, rest);
    if (kind == SEC_SERVICE || kind == SEC_JOB || kind == SEC_PROXY) {
        sec->index = scn_header_process(p, kind, line, rest);
        if (sec->index < 0)
            return -1;
    } else if (kind == SEC_FLOW) {
        if ((sec->index = scn_header_flow(p, line, rest)) < 0)
            return -1;
    } else if (kind == SEC_WORKLOAD) {
        p->workload_line = line;
    } else if (kind == SEC_SCENARIO) {
        p->scenario_line = line;
    }
    return 0;
}

/* Mirror inih: a line whose first non-blank is '[' is a header. */
int scn_scan_headers(struct scn_parse *p)
{
    char hdr[256]; /* longer names are refused in scn_header */
    for (int i = 0; i < p->nlines; i++) {
        const char *l = scn_skip_space(p->lines[i]), *end;
        if (*l != '[')
            continue;
        end = strchr(l, ']');
        if (!end) {
            scn_error(p, i + 1, "expected ']' to close the section header");
            continue;
        }
        snprintf(hdr, sizeof(hdr), "%.*s", (int)(end - l - 1), l + 1);
        if (scn_header(p, i + 1, hdr))
            return -1;
    }
    return 0;
}

/*
 * scn_set.c - `--set SECTION.KEY=VALUE`: a line of the scenario file
 * given on the command line.  Each override becomes a line of its own
 * (after the file's lines, so messages can name it), which the reader
 * hands to inih right after its section's header; a single key's own line
 * in the file is skipped.  So an override is parsed, checked and reported
 * exactly as the file's line would be.
 *
 *   workload.users=4               [scenario] [database] [workload] [invariants]
 *   service.shopd.rules=...        [service NAME] [job NAME] [flow NAME] [proxy NAME]
 *   invariants.p99=latency p99 < 50ms
 */
#include "scn.h"
#include "scn_int.h"

#include "suggest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys whose place among the requests gives them their meaning. */
static const char *const scn_set_refused[] = {"request", "sql", "expect", "capture", NULL};

struct scn_set_one {
    char sec[128]; /* "workload", "service shopd" */
    char key[128];
    const char *value;
    int named;
};

static int scn_set_fail(struct scn_parse *p, const char *set, const char *fmt, const char *a,
                        const char *b)
{
    snprintf(p->msg, sizeof(p->msg), "--set %s: ", set);
    snprintf(p->msg + strlen(p->msg), sizeof(p->msg) - strlen(p->msg), fmt, a, b);
    p->err_line = -1; /* scn_load prints msg as it is */
    return -1;
}

/* "service.shopd.rules=x" into o; -1 after the message. */
static int scn_set_split(struct scn_parse *p, const char *set, struct scn_set_one *o)
{
    const char *eq = strchr(set, '='), *dot = strchr(set, '.'), *last;
    char word[64], hint[96];
    int kind = -1;

    if (!eq || !dot || dot > eq || dot == set)
        return scn_set_fail(p, set,
                            "expected SECTION.KEY=VALUE (such as workload.users=4 or "
                            "service.NAME.rules=...)%s%s",
                            "", "");
    snprintf(word, sizeof(word), "%.*s", (int)(dot - set), set);
    for (int i = 0; i < SCN_NSECS; i++)
        if (!strcmp(word, scn_sec_names[i]))
            kind = i;
    if (kind < 0)
        return scn_set_fail(
            p, set, "unknown section '%s'%s", word,
            suggest_hint(word, strlen(word), scn_sec_names, SCN_NSECS, hint, sizeof(hint)));
    o->named = kind == SEC_SERVICE || kind == SEC_JOB || kind == SEC_FLOW || kind == SEC_PROXY;
    o->value = eq + 1;
    if (strpbrk(o->value, "\r\n"))
        return scn_set_fail(p, set, "a value is one line%s%s", "", "");
    if (kind == SEC_INVARIANTS) /* invariant names may hold dots */
        last = dot;
    else
        for (last = eq; last > dot && *last != '.'; last--)
            ;
    if ((o->named && last == dot) || last + 1 >= eq || (size_t)(eq - set) >= sizeof(o->key))
        return scn_set_fail(p, set, "expected %s.KEY=VALUE%s",
                            o->named ? "SECTION.NAME" : "SECTION", "");
    snprintf(o->sec, sizeof(o->sec), "%s%s%.*s", word, o->named ? " " : "",
             o->named ? (int)(last - dot - 1) : 0, dot + 1);
    snprintf(o->key, sizeof(o->key), "%.*s", (int)(eq - last - 1), last + 1);
    for (int i = 0; scn_set_refused[i]; i++)
        if (kind != SEC_INVARIANTS && !strcmp(o->key, scn_set_refused[i]))
            return scn_set_fail(p, set,
                                "'%s' lines cannot be set from the command line (a request's "
                                "place in the file gives it its headers, expects and captures)%s",
                                o->key, "");
    return 0;
}

/* The file line (0-based) of section header sec, or -1. */
static int scn_set_find_sec(struct scn_parse *p, const char *sec)
{
    for (int i = 0; i < p->nlines; i++) {
        const char *l = scn_skip_space(p->lines[i]), *end;
        char hdr[256], word[128];
        if (*l != '[' || !(end = strchr(l, ']')))
            continue;
        snprintf(hdr, sizeof(hdr), "%.*s", (int)(end - l - 1), l + 1);
        snprintf(word, sizeof(word), "%.*s", (int)strcspn(hdr, " \t"), hdr);
        snprintf(hdr, sizeof(hdr), "%s%s%s", word, *scn_skip_space(hdr + strlen(word)) ? " " : "",
                 scn_skip_space(hdr + strlen(word)));
        if (!strcmp(hdr, sec))
            return i;
    }
    return -1;
}

/* The file line (0-based) of key in the section starting at hdr, or -1. */
static int scn_set_find_key(struct scn_parse *p, int hdr, const char *key)
{
    for (int i = hdr + 1; i < p->nlines; i++) {
        const char *l = scn_skip_space(p->lines[i]);
        size_t n = strcspn(l, "=:");
        if (*l == '[')
            break;
        while (n && scn_is_space(l[n - 1]))
            n--;
        if (*l != ';' && *l != '#' && n == strlen(key) && !strncmp(l, key, n))
            return i;
    }
    return -1;
}

static int scn_set_push_line(struct scn_parse *p, char *line, const char *set)
{
    char **nl = realloc(p->lines, (size_t)(p->nlines + 1) * sizeof(*nl));
    char **no = realloc(p->s->overrides, (size_t)(p->s->noverrides + 1) * sizeof(*no));
    if (nl)
        p->lines = nl;
    if (no)
        p->s->overrides = no;
    if (!nl || !no || !line)
        return -1;
    p->lines[p->nlines++] = line;
    no[p->s->noverrides] = strdup(set);
    return no[p->s->noverrides++] ? 0 : -1;
}

/* Insert order position of a new line after the line at file index at. */
static void scn_set_insert(struct scn_parse *p, int after_index, int line_index)
{
    int pos = p->norder;
    for (int k = 0; k < p->norder; k++)
        if (p->order[k] == after_index)
            pos = k + 1;
    memmove(&p->order[pos + 1], &p->order[pos], (size_t)(p->norder - pos) * sizeof(int));
    p->order[pos] = line_index;
    p->norder++;
}

/* Drop from the reading order the line at index (it gives way). */
static void scn_set_drop(struct scn_parse *p, int index)
{
    for (int k = 0; k < p->norder; k++)
        if (p->order[k] == index) {
            memmove(&p->order[k], &p->order[k + 1], (size_t)(p->norder - k - 1) * sizeof(int));
            p->norder--;
            return;
        }
}

/* A single key set twice: the earlier override gives way too. */
static void scn_set_drop_earlier(struct scn_parse *p, const char *set)
{
    size_t n = strcspn(set, "=");
    for (int i = 0; i < p->s->noverrides; i++) {
        const char *o = p->s->overrides[i];
        if (strcspn(o, "=") == n && !strncmp(o, set, n) &&
            p->lines[p->s->nlines_file + i][0] != '[')
            scn_set_drop(p, p->s->nlines_file + i);
    }
}

static int scn_set_one(struct scn_parse *p, const char *set)
{
    struct scn_set_one o;
    int hdr, repeat = 0, kind = -1, old;
    char *line;

    if (scn_set_split(p, set, &o) < 0)
        return -1;
    hdr = scn_set_find_sec(p, o.sec);
    if (hdr < 0 && o.named)
        return scn_set_fail(p, set, "no [%s] in the scenario%s", o.sec, "");
    if (hdr < 0) { /* a section the file lacks: added at the end */
        if (asprintf(&line, "[%s]", o.sec) < 0 || scn_set_push_line(p, line, set) < 0)
            return -2;
        hdr = p->nlines - 1;
        p->order[p->norder++] = hdr;
    }
    for (int i = 0; i < SCN_NSECS; i++)
        if (!strncmp(o.sec, scn_sec_names[i], strcspn(o.sec, " ")) &&
            strlen(scn_sec_names[i]) == strcspn(o.sec, " "))
            kind = i;
    for (int i = 0; kind != SEC_INVARIANTS && scn_keys[kind][i]; i++)
        if (!strncmp(scn_keys[kind][i], o.key, strlen(o.key)) &&
            scn_keys[kind][i][strlen(o.key)] == '*')
            repeat = 1;
    old = repeat ? -1 : scn_set_find_key(p, hdr, o.key);
    if (old >= 0) /* the file's line of a single key gives way */
        scn_set_drop(p, old);
    if (!repeat)
        scn_set_drop_earlier(p, set);
    if (asprintf(&line, "%s = %s", o.key, o.value) < 0 || scn_set_push_line(p, line, set) < 0)
        return -2;
    scn_set_insert(p, hdr, p->nlines - 1);
    return 0;
}

/* The reading order of the lines with the overrides in place: 0, -1
 * after an error about an override (p->err_line -1, p->msg whole), -2 out
 * of memory. */
int scn_apply_sets(struct scn_parse *p, const char *const *sets, int nsets)
{
    p->s->nlines_file = p->nlines;
    p->order = calloc((size_t)p->nlines + 2 * (size_t)nsets + 1, sizeof(int));
    if (!p->order)
        return -2;
    for (int i = 0; i < p->nlines; i++)
        p->order[p->norder++] = i;
    for (int i = 0; i < nsets; i++) {
        int rc = scn_set_one(p, sets[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

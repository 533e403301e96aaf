/*
 * hunt_scn.c - scenario files derived from the user's: the observing run,
 * each candidate's runs, found-N.scn.  The user's text is copied line by
 * line; only the keys hunt sets change (rules, the load, the scenario's
 * name, invariants added when there were none), and relative paths are
 * made absolute, since the derived file lives in the hunt's --out
 * directory, not beside the original.
 */
#include "hunt.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sec {
    SEC_NONE,
    SEC_SCENARIO,
    SEC_DATABASE,
    SEC_SERVICE,
    SEC_JOB,
    SEC_WORKLOAD,
    SEC_INV,
    SEC_OTHER
};

struct scn_out {
    FILE *f;
    const struct hunt_edit *e;
    const char *dir;
    enum sec sec;
    char name[128]; /* a service's or job's name */
    /* done in the current section: */
    int rules_done, name_done, users_done, rate_done, duration_done, iter_done;
    int seen_scenario, seen_inv;
    /* blank and comment lines not yet written: keys a section gets at its
     * end go before them (they tend to introduce the next section) */
    char *held;
};

static void scn_hold(struct scn_out *o, const char *line)
{
    char *t = util_fmt("%s%s\n", o->held ? o->held : "", line);
    free(o->held);
    o->held = t;
}

static void scn_release(struct scn_out *o)
{
    if (o->held)
        fputs(o->held, o->f);
    free(o->held);
    o->held = NULL;
}

static const char *scn_trim(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* The key of line s ("rules" for "rules = x", "rules: x"), in key; the
 * value's start, or NULL when s holds no key. */
static const char *scn_key(const char *s, char *key, size_t len)
{
    const char *p = scn_trim(s), *v;
    size_t n = strcspn(p, "=:");
    if (!p[n] || *p == ';' || *p == '#' || *p == '[')
        return NULL;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    snprintf(key, len, "%.*s", (int)n, p);
    v = p + strcspn(p, "=:") + 1;
    return scn_trim(v);
}

static enum sec scn_section(const char *line, char *name, size_t len)
{
    const char *p = scn_trim(line) + 1, *end = strchr(p, ']');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    name[0] = '\0';
    if (n >= 8 && !strncmp(p, "service ", 8)) {
        snprintf(name, len, "%.*s", (int)(n - 8), p + 8);
        return SEC_SERVICE;
    }
    if (n >= 4 && !strncmp(p, "job ", 4)) {
        snprintf(name, len, "%.*s", (int)(n - 4), p + 4);
        return SEC_JOB;
    }
    return n == 8 && !strncmp(p, "scenario", 8)       ? SEC_SCENARIO
           : n == 8 && !strncmp(p, "database", 8)     ? SEC_DATABASE
           : n == 8 && !strncmp(p, "workload", 8)     ? SEC_WORKLOAD
           : n == 10 && !strncmp(p, "invariants", 10) ? SEC_INV
                                                      : SEC_OTHER;
}

/* The rules this section receives, or NULL: [scenario] the scenario-wide
 * ones (and the service rules when no service is named), the named
 * service its own.  malloc'd. */
static char *scn_new_rules(const struct scn_out *o)
{
    const struct hunt_edit *e = o->e;
    const char *a = NULL, *b = NULL;
    if (o->sec == SEC_SCENARIO) {
        a = e->scn_rules;
        b = e->svc ? NULL : e->svc_rules;
    } else if (o->sec == SEC_SERVICE && e->svc && !strcmp(o->name, e->svc)) {
        a = e->svc_rules;
    }
    if (!a && !b)
        return NULL;
    return util_fmt("%s%s%s", a ? a : "", a && b ? " ; " : "", b ? b : "");
}

static void scn_put_rules(struct scn_out *o, const char *old)
{
    char *add = scn_new_rules(o);
    if (old && add)
        fprintf(o->f, "rules = %s ; %s\n", old, add);
    else if (old || add)
        fprintf(o->f, "rules = %s\n", old ? old : add);
    free(add);
}

/* What a section still owes when it ends: keys it never had. */
static void scn_close(struct scn_out *o)
{
    const struct hunt_edit *e = o->e;
    char *add = o->rules_done ? NULL : scn_new_rules(o);
    if (add)
        scn_put_rules(o, NULL);
    free(add);
    if (o->sec == SEC_SCENARIO && e->name && !o->name_done)
        fprintf(o->f, "name = %s\n", e->name);
    if (o->sec == SEC_WORKLOAD) {
        if (e->users && !o->users_done)
            fprintf(o->f, "users = %s\n", e->users);
        if (e->rate && !o->rate_done)
            fprintf(o->f, "rate = %s\n", e->rate);
        if (e->duration && !o->duration_done)
            fprintf(o->f, "duration = %s\n", e->duration);
        if (e->iterations && !o->iter_done)
            fprintf(o->f, "iterations = %s\n", e->iterations);
    }
    if (o->sec == SEC_INV)
        for (int i = 0; i < e->ninvariants; i++)
            fprintf(o->f, "%s\n", e->invariants[i]);
    o->rules_done = o->name_done = o->users_done = o->rate_done = 0;
    o->duration_done = o->iter_done = 0;
}

/* A load key: replaced by the override, or (iterations, when only the
 * duration is overridden, as wedge run --duration does) left out. */
static int scn_load_key(struct scn_out *o, const char *key)
{
    const struct hunt_edit *e = o->e;
    struct {
        const char *key, *value;
        int *done;
    } k[] = {{"users", e->users, &o->users_done},
             {"rate", e->rate, &o->rate_done},
             {"duration", e->duration, &o->duration_done},
             {"iterations", e->iterations, &o->iter_done}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (strcmp(key, k[i].key))
            continue;
        if (k[i].value) {
            fprintf(o->f, "%s = %s\n", key, k[i].value);
            *k[i].done = 1;
            return 1;
        }
        if (!strcmp(key, "iterations") && e->duration) {
            fprintf(o->f, "; iterations: none, the hunt's --duration runs the whole time\n");
            return 1;
        }
    }
    return 0;
}

/* One line with a key; 1 when written here. */
static int scn_keyed(struct scn_out *o, const char *key, const char *value)
{
    if (!strcmp(key, "rules") || !strcmp(key, "rules_file")) {
        if (o->e->drop_rules) {
            fprintf(o->f, "; %s left out (wedge hunt --no-rules): %s\n", key, value);
            return 1;
        }
        if (!strcmp(key, "rules_file") && value[0] != '/') {
            fprintf(o->f, "rules_file = %s/%s\n", o->dir, value);
            return 1;
        }
        if (!strcmp(key, "rules")) {
            scn_put_rules(o, value);
            o->rules_done = 1;
            return 1;
        }
        return 0;
    }
    if (o->sec == SEC_DATABASE && !strcmp(key, "schema") && value[0] != '/') {
        fprintf(o->f, "schema = %s/%s\n", o->dir, value);
        return 1;
    }
    if (o->sec == SEC_SCENARIO && !strcmp(key, "name") && o->e->name) {
        fprintf(o->f, "name = %s\n", o->e->name);
        o->name_done = 1;
        return 1;
    }
    return o->sec == SEC_WORKLOAD && scn_load_key(o, key);
}

static void scn_line(struct scn_out *o, const char *line)
{
    char key[64];
    const char *t = scn_trim(line), *v;
    if (*t == '[') {
        scn_close(o);
        scn_release(o);
        o->sec = scn_section(line, o->name, sizeof o->name);
        o->seen_scenario |= o->sec == SEC_SCENARIO;
        o->seen_inv |= o->sec == SEC_INV;
        fprintf(o->f, "%s\n", line);
        return;
    }
    if (!*t || *t == ';' || *t == '#') {
        scn_hold(o, line);
        return;
    }
    scn_release(o);
    v = scn_key(line, key, sizeof key);
    if (!v || !scn_keyed(o, key, v))
        fprintf(o->f, "%s\n", line);
}

/* line with every ${scenario_dir} replaced by dir.  malloc'd. */
static char *scn_expand_dir(const char *line, const char *dir)
{
    static const char var[] = "${scenario_dir}";
    char *out = util_fmt("%s", ""), *t;
    const char *p = line, *hit;
    while ((hit = strstr(p, var))) {
        t = util_fmt("%s%.*s%s", out, (int)(hit - p), p, dir);
        free(out);
        out = t;
        p = hit + sizeof var - 1;
    }
    t = util_fmt("%s%s", out, p);
    free(out);
    return t;
}

char *hunt_scn_text(const char *src, const char *dir, const struct hunt_edit *e)
{
    struct scn_out o = {.e = e, .dir = dir};
    char *buf = NULL, *copy = util_fmt("%s", src);
    size_t len = 0;

    o.f = open_memstream(&buf, &len);
    if (!o.f)
        abort();
    if (e->comment)
        fprintf(o.f, "%s\n", e->comment);
    for (char *line = copy; *line;) {
        char *nl = strchr(line, '\n'), *x;
        if (nl)
            *nl = '\0';
        x = scn_expand_dir(line, dir);
        scn_line(&o, x);
        free(x);
        line = nl ? nl + 1 : line + strlen(line);
    }
    scn_close(&o);
    scn_release(&o);
    if (!o.seen_scenario && (e->scn_rules || (!e->svc && e->svc_rules) || e->name)) {
        o.sec = SEC_SCENARIO;
        fprintf(o.f, "\n[scenario]\n");
        scn_close(&o);
    }
    if (!o.seen_inv && e->ninvariants) {
        o.sec = SEC_INV;
        fprintf(o.f, "\n[invariants]\n");
        scn_close(&o);
    }
    fclose(o.f);
    free(copy);
    return buf;
}

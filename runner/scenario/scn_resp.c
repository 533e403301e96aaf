/*
 * scn_resp.c - what a request carries beside its line: its headers, the
 * checks of its response (expect) and the values it takes from it
 * (capture).  The same parsers read the pieces of an HTTP invariant, whose
 * text sits inside its value: every error has the column of the piece.
 */
#include "jsonpath.h"
#include "scn.h"
#include "scn_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names a capture may not take: the expander's own variables. */
static const char *const scn_builtin_vars[] = {"build",        "port", "dsn",  "dsn_uri", "db_host",
                                               "db_port",      "uuid", "user", "seed",    "out",
                                               "scenario_dir", "iter", "env",  "rand",    NULL};

static const char *const scn_op_words[] = {"<", "<=", "==", "!=", ">=", ">", "exists"};

/* ---------------------------------------------------------------
 * Headers.
 * ------------------------------------------------------------ */
static int scn_is_token_char(char c)
{
    /* RFC 9110 tchar */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

int scn_header_add(struct scn_parse *p, struct scn_header **v, int *n, const char *text, size_t off)
{
    size_t k = 0;
    struct scn_header *nv;
    while (scn_is_token_char(text[k]))
        k++;
    if (k == 0 || text[k] != ':') {
        scn_error_at(p, off + k,
                     "expected header = NAME: VALUE (NAME of letters, digits and -_.!#$%%&'*+^`|~)"
                     " (got '%s')",
                     text);
        return -1;
    }
    if (strpbrk(text, "\r\n")) {
        scn_error_at(p, off, "a header may not hold a line break");
        return -1;
    }
    nv = realloc(*v, (size_t)(*n + 1) * sizeof(*nv));
    if (!nv) {
        p->oom = 1;
        return -1;
    }
    *v = nv;
    nv[*n].text = scn_strdup(p, text);
    nv[*n].line = p->cur_line;
    nv[*n].col = scn_col(p, off);
    (*n)++;
    return 0;
}

/* ---------------------------------------------------------------
 * expect = ...
 * ------------------------------------------------------------ */
/* "201", "200,201", "2xx": the codes into e; -1 after the error. */
static int scn_expect_status(struct scn_parse *p, struct scn_expect *e, const char *v, size_t off)
{
    const char *s = v;
    while (*s) {
        const char *t = s;
        unsigned lo;
        size_t n = strcspn(s, ",");
        if (e->nstatus == SCN_MAX_STATUS) {
            scn_error_at(p, off + (size_t)(s - v), "at most %d status codes in one expect",
                         SCN_MAX_STATUS);
            return -1;
        }
        if (n == 3 && t[0] >= '1' && t[0] <= '5' && t[1] == 'x' && t[2] == 'x') {
            lo = (unsigned)(t[0] - '0') * 100;
            e->status_lo[e->nstatus] = (unsigned short)lo;
            e->status_hi[e->nstatus++] = (unsigned short)(lo + 99);
        } else if (n == 3 && strspn(t, "0123456789") >= 3 && t[0] >= '1' && t[0] <= '5') {
            lo = (unsigned)strtoul(t, NULL, 10);
            e->status_lo[e->nstatus] = e->status_hi[e->nstatus] = (unsigned short)lo;
            e->nstatus++;
        } else {
            scn_error_at(p, off + (size_t)(s - v),
                         "expected a status code from 100 to 599, or a class such as 2xx (got "
                         "'%.*s')",
                         (int)n, t);
            return -1;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}

/* The operator and value of json/header checks: "OP VALUE" or "exists";
 * *voff: the value's offset. */
static int scn_expect_cmp(struct scn_parse *p, struct scn_expect *e, const char *v, size_t off,
                          size_t *voff)
{
    const char *s = v;
    size_t n = strspn(s, "<>=!");
    int found = -1;
    if (!n)
        n = strcspn(s, " \t");
    for (int i = 0; i < 7; i++)
        if (strlen(scn_op_words[i]) == n && !strncmp(s, scn_op_words[i], n))
            found = i;
    if (found < 0) {
        scn_error_at(p, off, "expected an operator (== != < <= > >=) or 'exists' (got '%.*s')%s",
                     (int)n, s, n == 1 && s[0] == '=' ? " (did you mean '=='?)" : "");
        return -1;
    }
    e->op = (enum scn_op)found;
    s = scn_skip_space(s + n);
    if (e->op == SCN_EXISTS) {
        if (*s) {
            scn_error_at(p, off + (size_t)(s - v), "unexpected '%s' after 'exists'", s);
            return -1;
        }
        return 0;
    }
    if (!*s) {
        scn_error_at(p, off + (size_t)(s - v), "expected a value after '%s'", scn_op_words[found]);
        return -1;
    }
    *voff = off + (size_t)(s - v);
    e->value_col = scn_col(p, *voff);
    e->value = scn_strdup(p, s);
    return 0;
}

/* A JSON value as written (unless it has ${...}, checked once expanded). */
static int scn_expect_json_value(struct scn_parse *p, struct scn_expect *e, size_t voff)
{
    json_error_t je;
    json_t *j;
    if (!e->value || strstr(e->value, "${"))
        return 0;
    j = json_loads(e->value, JSON_DECODE_ANY, &je);
    if (!j) {
        scn_error_at(p, voff, "expected a JSON value (\"text\", a number, true, false or null): %s",
                     je.text);
        return -1;
    }
    if (e->op != SCN_EQ && e->op != SCN_NE && !json_is_number(j)) {
        json_decref(j);
        scn_error_at(p, voff, "'%s' compares numbers: expected a number (got %s)",
                     scn_op_words[e->op], e->value);
        return -1;
    }
    json_decref(j);
    return 0;
}

static int scn_expect_path(struct scn_parse *p, struct scn_expect *e, const char *s, size_t off,
                           size_t *len)
{
    char msg[256];
    size_t at = 0, n = strcspn(s, " \t");
    e->path = strndup(s, n);
    if (!e->path) {
        p->oom = 1;
        return -1;
    }
    *len = n;
    if (e->kind == SCN_EXP_JSON && jp_check(e->path, msg, sizeof(msg), &at) < 0) {
        scn_error_at(p, off + at, "%s", msg);
        return -1;
    }
    if (e->kind == SCN_EXP_HEADER && !n) {
        scn_error_at(p, off, "expected a header name after 'header'");
        return -1;
    }
    return 0;
}

/* One check into e; -1 after the error. */
static int scn_expect_parse(struct scn_parse *p, struct scn_expect *e, const char *text, size_t off)
{
    const char *s = scn_skip_space(text);
    size_t w = strcspn(s, " \t"), plen, voff = 0;

    off += (size_t)(s - text);
    e->text = scn_strdup(p, s);
    e->line = p->cur_line;
    e->col = scn_col(p, off);
    if (w == 6 && !strncmp(s, "status", 6)) {
        const char *v = scn_skip_space(s + 6);
        e->kind = SCN_EXP_STATUS;
        if (!*v) {
            scn_error_at(p, off + 6, "expected status CODE[,CODE...] (such as 201 or 2xx)");
            return -1;
        }
        return scn_expect_status(p, e, v, off + (size_t)(v - s));
    }
    if ((w == 4 && !strncmp(s, "json", 4)) || (w == 6 && !strncmp(s, "header", 6))) {
        const char *v = scn_skip_space(s + w), *rest;
        e->kind = w == 4 ? SCN_EXP_JSON : SCN_EXP_HEADER;
        if (scn_expect_path(p, e, v, off + (size_t)(v - s), &plen) < 0)
            return -1;
        rest = scn_skip_space(v + plen);
        if (scn_expect_cmp(p, e, rest, off + (size_t)(rest - s), &voff) < 0)
            return -1;
        return e->kind == SCN_EXP_JSON ? scn_expect_json_value(p, e, voff) : 0;
    }
    scn_error_at(p, off,
                 "expected status CODE, json PATH OP VALUE or header NAME OP VALUE (got "
                 "'%.*s')",
                 (int)w, s);
    return -1;
}

int scn_expect_add(struct scn_parse *p, struct scn_request *r, const char *text, size_t off)
{
    struct scn_expect *ne = realloc(r->expects, (size_t)(r->nexpects + 1) * sizeof(*ne));
    if (!ne) {
        p->oom = 1;
        return -1;
    }
    r->expects = ne;
    memset(&ne[r->nexpects], 0, sizeof(*ne));
    r->nexpects++;
    return scn_expect_parse(p, &ne[r->nexpects - 1], text, off);
}

/* ---------------------------------------------------------------
 * capture = NAME = json PATH | header NAME
 * ------------------------------------------------------------ */
int scn_var_index(const struct scenario *s, const char *name)
{
    for (int i = 0; i < s->nvars; i++)
        if (!strcmp(s->vars[i], name))
            return i;
    return -1;
}

static int scn_var_add(struct scn_parse *p, const char *name)
{
    struct scenario *s = p->s;
    int i = scn_var_index(s, name);
    char **nv;
    if (i >= 0)
        return i;
    nv = realloc(s->vars, (size_t)(s->nvars + 1) * sizeof(*nv));
    if (!nv) {
        p->oom = 1;
        return -1;
    }
    s->vars = nv;
    nv[s->nvars] = scn_strdup(p, name);
    return s->nvars++;
}

static int scn_var_name_ok(struct scn_parse *p, const char *name, size_t n)
{
    int ok = n > 0 && !(name[0] >= '0' && name[0] <= '9');
    for (size_t i = 0; i < n; i++)
        ok &= name[i] == '_' || (name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9');
    if (!ok) {
        scn_error_at(p, 0,
                     "expected capture = NAME = json PATH or NAME = header NAME, NAME of "
                     "letters, digits and '_' (got '%.*s')",
                     (int)n, name);
        return 0;
    }
    for (int i = 0; scn_builtin_vars[i]; i++)
        if (strlen(scn_builtin_vars[i]) == n && !strncmp(name, scn_builtin_vars[i], n)) {
            scn_error_at(p, 0, "'%.*s' is a built-in variable: choose another name", (int)n, name);
            return 0;
        }
    return 1;
}

void scn_capture_add(struct scn_parse *p, struct scn_request *r, const char *text)
{
    size_t n = strcspn(text, " \t=");
    const char *eq = scn_skip_space(text + n), *src, *arg;
    struct scn_capture c = {0}, *nc;
    char name[128], msg[256];
    size_t at = 0, w;

    if (!scn_var_name_ok(p, text, n))
        return;
    if (*eq != '=') {
        scn_error_at(p, (size_t)(eq - text), "expected '=' after the variable name '%.*s'", (int)n,
                     text);
        return;
    }
    src = scn_skip_space(eq + 1);
    w = strcspn(src, " \t");
    arg = scn_skip_space(src + w);
    if (w == 4 && !strncmp(src, "json", 4)) {
        c.kind = SCN_CAP_JSON;
        if (jp_check(arg, msg, sizeof(msg), &at) < 0) {
            scn_error_at(p, (size_t)(arg - text) + at, "%s", msg);
            return;
        }
    } else if (w == 6 && !strncmp(src, "header", 6) && *arg && !strpbrk(arg, " \t:")) {
        c.kind = SCN_CAP_HEADER;
    } else {
        scn_error_at(p, (size_t)(src - text),
                     "expected json PATH or header NAME after '%.*s =' "
                     "(got '%s')",
                     (int)n, text, src);
        return;
    }
    snprintf(name, sizeof(name), "%.*s", (int)n, text);
    c.var = scn_var_add(p, name);
    c.path = scn_strdup(p, arg);
    c.line = p->cur_line;
    nc = realloc(r->captures, (size_t)(r->ncaptures + 1) * sizeof(*nc));
    if (nc)
        r->captures = nc;
    if (c.var < 0 || !c.path || !nc) {
        free(c.path);
        p->oom = 1;
        return;
    }
    nc[r->ncaptures++] = c;
}

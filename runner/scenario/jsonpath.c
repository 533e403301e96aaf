/*
 * jsonpath.c - the JSONPath subset of scenario files (jsonpath.h).
 *
 * One walk over the text serves both the check (at parse time, for a
 * FILE:LINE:COL) and the lookup (per response): jp_step reads the next
 * segment, and the lookup applies it.  No compiled form is kept: a path is
 * a few segments, and the text is what messages quote anyway.
 */
#include "jsonpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One segment: a member name (name, n) or an index. */
struct jp_seg {
    const char *name;
    size_t n;
    long long index;
    int is_index;
};

static int jp_name_char(char c)
{
    return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* The segment at *pos; 1 read (pos advanced), 0 at the end, -1 on an error
 * (message in err, *pos at the fault). */
static int jp_step(const char **pos, struct jp_seg *seg, char *err, size_t errlen)
{
    const char *s = *pos, *e;
    memset(seg, 0, sizeof(*seg));
    if (!*s)
        return 0;
    if (*s == '.') {
        for (e = s + 1; jp_name_char(*e); e++)
            ;
        if (e == s + 1) {
            snprintf(err, errlen,
                     "expected a member name after '.' (letters, digits, '_', '-'; "
                     "['any name'] for others)");
            *pos = s + 1;
            return -1;
        }
        seg->name = s + 1, seg->n = (size_t)(e - s - 1);
        *pos = e;
        return 1;
    }
    if (*s != '[') {
        snprintf(err, errlen, "expected '.name', '['name']' or '[N]' (got '%c')", *s);
        return -1;
    }
    if (s[1] == '\'' || s[1] == '"') {
        e = strchr(s + 2, s[1]);
        if (!e || e[1] != ']') {
            snprintf(err, errlen, "expected %c] to close the member name", s[1]);
            *pos = s + 1;
            return -1;
        }
        seg->name = s + 2, seg->n = (size_t)(e - s - 2);
        *pos = e + 2;
        return 1;
    }
    errno = 0;
    seg->index = strtoll(s + 1, (char **)&e, 10);
    if (e == s + 1 || *e != ']' || errno) {
        snprintf(err, errlen, "expected an array index [N] or a member ['name']");
        *pos = s + 1;
        return -1;
    }
    seg->is_index = 1;
    *pos = e + 1;
    return 1;
}

int jp_check(const char *path, char *err, size_t errlen, size_t *at)
{
    const char *pos = path;
    struct jp_seg seg;
    int rc;

    if (path[0] != '$') {
        snprintf(err, errlen, "expected a JSONPath starting with '$' (such as $.id)");
        *at = 0;
        return -1;
    }
    pos++;
    while ((rc = jp_step(&pos, &seg, err, errlen)) == 1)
        ;
    if (rc < 0) {
        *at = (size_t)(pos - path);
        return -1;
    }
    return 0;
}

json_t *jp_get(json_t *root, const char *path)
{
    const char *pos = path + 1;
    struct jp_seg seg;
    char err[8];
    json_t *v = root;

    while (v && jp_step(&pos, &seg, err, sizeof(err)) == 1) {
        if (seg.is_index) {
            long long n = json_is_array(v) ? (long long)json_array_size(v) : 0;
            long long i = seg.index < 0 ? n + seg.index : seg.index;
            v = json_is_array(v) && i >= 0 && i < n ? json_array_get(v, (size_t)i) : NULL;
        } else {
            v = json_is_object(v) ? json_object_getn(v, seg.name, seg.n) : NULL;
        }
    }
    return v;
}

char *jp_text(const json_t *v)
{
    if (json_is_string(v))
        return strndup(json_string_value(v), json_string_length(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/*
 * rules_regex.c - how big a rule's regular expression gets before glibc
 * compiles it (rules_int.h).
 *
 * glibc's regcomp is the engine; it expands every repetition into copies
 * of what it repeats: `x+` is `xx*`, `x{3,5}` is `xxx(x(x)?)?`.  Stacked
 * and nested repetitions multiply: `ab++++++++++++++++++++++` took some
 * 700 MB, in every process the shim is preloaded into.  So the parser
 * estimates the size of the expanded expression (in nodes, about 100
 * bytes each) by walking the ERE grammar with a stack of groups, and the
 * rules refuse an expression over RULES_REGEX_MAX nodes, or expressions
 * over RULES_REGEX_TOTAL together, before regcomp sees them.  Copies of
 * what can match the empty string count quadratically (see
 * rules_re_quantify).  The estimate errs high, never low: syntax it does
 * not know is a literal, which regcomp then judges.
 *
 * Back-references (\1 .. \9), which glibc's ERE accepts, are refused:
 * matching one is exponential in the worst case, on every statement.
 */
#include "rules_int.h"

#include <string.h>

#define RULES_REGEX_DEPTH 64 /* deeper nesting is refused as too complex */
#define RULES_REGEX_CAP   (RULES_REGEX_MAX * 16ull)

/* One level of grouping: the alternative being read, and its last atom
 * (what a quantifier repeats). */
struct rules_re_level {
    uint64_t total;   /* nodes of this group so far */
    uint64_t last;    /* nodes of its last atom */
    int last_empty;   /* the last atom can match the empty string */
    int prefix_empty; /* so can everything before it in this alternative */
    int alt_empty;    /* some finished alternative of the group can */
};

static uint64_t rules_re_cap(uint64_t v)
{
    return v > RULES_REGEX_CAP ? RULES_REGEX_CAP : v;
}

/* A decimal number at re[*i] (advanced past it); -1 when none. */
static long rules_re_num(const char *re, size_t *i)
{
    long v = -1;

    while (re[*i] >= '0' && re[*i] <= '9') {
        v = (v < 0 ? 0 : v) * 10 + (re[*i] - '0');
        if (v > 1000000)
            v = 1000000;
        (*i)++;
    }
    return v;
}

/* An interval {m}, {m,} or {m,n} at re[*i] (on the '{'): how many copies
 * of the atom it makes, or 0 when it is not an interval (then '{' is a
 * literal, as far as the estimate cares). */
static uint64_t rules_re_interval(const char *re, size_t *i)
{
    size_t j = *i + 1;
    long m = rules_re_num(re, &j), n = m;

    if (m < 0)
        return 0;
    if (re[j] == ',') {
        j++;
        n = rules_re_num(re, &j);
        if (n < 0)
            n = m + 1; /* {m,}: m copies and a starred one */
    }
    if (re[j] != '}')
        return 0;
    *i = j;
    return n > 1 ? (uint64_t)n : 1;
}

/* A bracket expression at re[*i] (on the '['): skipped to its ']'. */
static void rules_re_bracket(const char *re, size_t *i)
{
    size_t j = *i + 1;

    if (re[j] == '^')
        j++;
    if (re[j] == ']') /* a leading ']' is a member */
        j++;
    while (re[j] && re[j] != ']') {
        if (re[j] == '[' && (re[j + 1] == ':' || re[j + 1] == '=' || re[j + 1] == '.')) {
            char kind = re[j + 1];
            const char *end = NULL;
            for (size_t k = j + 2; re[k] && re[k + 1]; k++)
                if (re[k] == kind && re[k + 1] == ']') {
                    end = re + k;
                    break;
                }
            if (!end)
                break; /* unterminated: regcomp will say so */
            j = (size_t)(end - re) + 2;
            continue;
        }
        j++;
    }
    *i = re[j] ? j : j - 1;
}

/* Count atom (of `nodes`, matching the empty string or not) into l. */
static void rules_re_atom(struct rules_re_level *l, uint64_t nodes, int empty)
{
    l->prefix_empty = l->prefix_empty && l->last_empty;
    l->total = rules_re_cap(l->total + nodes);
    l->last = nodes;
    l->last_empty = empty;
}

/* A quantifier on l's last atom: `copies` of it (0 for * and ?, which
 * keep one copy and make it optional).  Copies of an atom that can match
 * the empty string cost glibc more than their nodes: each copy's epsilon
 * closure holds every later one, so its memory and time grow with the
 * square of the expanded size (a*+++++++++: 66 MB, 1.9 s; (a?){3000}:
 * 71 MB): *square gathers that part. */
static void rules_re_quantify(struct rules_re_level *l, uint64_t copies, uint64_t *square)
{
    uint64_t q = rules_re_cap(l->last * (copies ? copies : 1) + 1);

    if (copies > 1 && l->last_empty) {
        uint64_t e = q > 1u << 24 ? 1u << 24 : q;
        *square = rules_re_cap(*square + e * e / 20);
    }
    l->total = rules_re_cap(l->total - l->last + q);
    l->last = q;
    l->last_empty = l->last_empty || copies == 0;
}

long rules_regex_cost(const char *re, size_t *at)
{
    struct rules_re_level st[RULES_REGEX_DEPTH];
    uint64_t square = 0;
    int d = 0;

    st[0] = (struct rules_re_level){0, 0, 1, 1, 0};
    for (size_t i = 0; re[i]; i++) {
        struct rules_re_level *l = &st[d];
        uint64_t copies;

        switch (re[i]) {
        case '\\':
            if (re[i + 1] >= '1' && re[i + 1] <= '9') {
                *at = i;
                return -1;
            }
            /* \b \B \< \> \` \' are anchors: they match the empty string */
            rules_re_atom(l, 1, re[i + 1] && strchr("bB<>`'", re[i + 1]) != NULL);
            if (re[i + 1])
                i++;
            continue;
        case '[':
            rules_re_bracket(re, &i);
            rules_re_atom(l, 1, 0);
            continue;
        case '^':
        case '$':
            rules_re_atom(l, 1, 1);
            continue;
        case '(':
            if (++d >= RULES_REGEX_DEPTH)
                return RULES_REGEX_MAX + 1;
            st[d] = (struct rules_re_level){0, 0, 1, 1, 0};
            continue;
        case ')': {
            if (d == 0) { /* a literal ')' in ERE */
                rules_re_atom(l, 1, 0);
                continue;
            }
            uint64_t nodes = rules_re_cap(l->total + 2);
            int empty = l->alt_empty || (l->prefix_empty && l->last_empty);
            rules_re_atom(&st[--d], nodes, empty);
            continue;
        }
        case '|':
            l->alt_empty = l->alt_empty || (l->prefix_empty && l->last_empty);
            l->total = rules_re_cap(l->total + 1);
            l->last = 0;
            l->last_empty = l->prefix_empty = 1;
            continue;
        case '*':
        case '?':
            rules_re_quantify(l, 0, &square);
            continue;
        case '+':
            rules_re_quantify(l, 2, &square);
            continue;
        case '{':
            copies = rules_re_interval(re, &i);
            if (copies) {
                rules_re_quantify(l, copies, &square);
                continue;
            }
            break; /* a literal '{' */
        default:
            break;
        }
        rules_re_atom(l, 1, 0);
    }
    /* unclosed groups (regcomp refuses them): count them all */
    while (d > 0) {
        uint64_t inner = st[d].total + 2;
        d--;
        st[d].total = rules_re_cap(st[d].total + inner);
    }
    return (long)rules_re_cap(st[0].total + square);
}

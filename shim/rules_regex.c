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
 * over RULES_REGEX_TOTAL together, before regcomp sees them.  The
 * estimate errs high, never low: syntax it does not know is a literal,
 * which regcomp then judges.
 *
 * Back-references (\1 .. \9), which glibc's ERE accepts, are refused:
 * matching one is exponential in the worst case, on every statement.
 */
#include "rules_int.h"

#define RULES_REGEX_DEPTH 64 /* deeper nesting is refused as too complex */

struct rules_re_level {
    uint64_t total; /* nodes of this group so far */
    uint64_t last;  /* nodes of its last atom (what a quantifier repeats) */
};

static uint64_t rules_re_cap(uint64_t v)
{
    return v > RULES_REGEX_MAX * 16ull ? RULES_REGEX_MAX * 16ull : v;
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

long rules_regex_cost(const char *re, size_t *at)
{
    struct rules_re_level st[RULES_REGEX_DEPTH] = {{0, 0}};
    int d = 0;

    for (size_t i = 0; re[i]; i++) {
        struct rules_re_level *l = &st[d];
        uint64_t atom = 1, copies = 0;

        switch (re[i]) {
        case '\\':
            if (re[i + 1] >= '1' && re[i + 1] <= '9') {
                *at = i;
                return -1;
            }
            if (re[i + 1])
                i++;
            break;
        case '[':
            rules_re_bracket(re, &i);
            break;
        case '(':
            if (++d >= RULES_REGEX_DEPTH)
                return RULES_REGEX_MAX + 1;
            st[d].total = st[d].last = 0;
            continue;
        case ')':
            if (d == 0)
                break; /* a literal ')' in ERE */
            atom = rules_re_cap(st[d].total + 2);
            l = &st[--d];
            break;
        case '|':
            l->total = rules_re_cap(l->total + 1);
            l->last = 0;
            continue;
        case '*':
        case '?':
            copies = 1;
            break;
        case '+':
            copies = 2;
            break;
        case '{':
            copies = rules_re_interval(re, &i);
            break;
        default:
            break;
        }
        if (copies) { /* a quantifier: the last atom, copied */
            uint64_t q = rules_re_cap(l->last * copies + 1);
            l->total = rules_re_cap(l->total - l->last + q);
            l->last = q;
        } else {
            l->total = rules_re_cap(l->total + atom);
            l->last = atom;
        }
    }
    /* unclosed groups (regcomp refuses them): count them all */
    while (d > 0) {
        uint64_t inner = st[d].total + 2;
        d--;
        st[d].total = rules_re_cap(st[d].total + inner);
    }
    return (long)st[0].total;
}

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
 * over RULES_REGEX_TOTAL together, before regcomp sees them.  The estimate
 * errs high, never low: syntax it does not know is a literal, which
 * regcomp then judges.
 *
 * Three shapes are refused whatever their size, because glibc's cost on
 * them is not a matter of size:
 *   - a repetition of something that can match the empty string ((a?)+,
 *     (a*)*, (x|){3}): each copy's epsilon closure holds every later one,
 *     and nesting multiplies that again: (ba|([ab]?([ab]{0,5}|)){12})+,
 *     700 KB by its size, took 92 s to compile;
 *   - a repetition of a repetition (a*+, a??, x{2}{3}): POSIX leaves it
 *     undefined, and glibc nests it into the case above
 *     (d??????????????????++++: 5 s);
 *   - back-references (\1 .. \9), which glibc's ERE accepts: matching one
 *     is exponential in the worst case, on every statement.
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
    int last_quant;   /* the last atom is a repetition already */
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

/* A quantifier: how many copies of the atom glibc makes, whether the
 * result repeats it (more than one copy, or unbounded) and whether it can
 * match the empty string (no copy required). */
struct rules_re_quant {
    uint64_t copies;
    int repeats, optional;
};

/* An interval {m}, {m,} or {m,n} at re[*i] (on the '{'): 1 with *q filled
 * and *i on its '}', or 0 when it is not an interval (then '{' is a
 * literal, as far as the estimate cares). */
static int rules_re_interval(const char *re, size_t *i, struct rules_re_quant *q)
{
    size_t j = *i + 1;
    long m = rules_re_num(re, &j), n = m;
    int unbounded = 0;

    if (m < 0)
        return 0;
    if (re[j] == ',') {
        j++;
        n = rules_re_num(re, &j);
        if (n < 0)
            n = m + 1, unbounded = 1; /* {m,}: m copies and a starred one */
    }
    if (re[j] != '}')
        return 0;
    *i = j;
    q->copies = n > 1 ? (uint64_t)n : 1;
    q->repeats = unbounded || n > 1;
    q->optional = m == 0;
    return 1;
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
    l->last_quant = 0;
}

/* Quantifier q on l's last atom: -2 when that atom is a repetition
 * already; -3 when q repeats something that can match the empty string:
 * glibc's epsilon closures then grow with the square, and with every
 * level of nesting far beyond (a*+++++++++: 66 MB, 1.9 s; (a?){3000}:
 * 71 MB; (ba|([ab]?([ab]{0,5}|)){12})+: 92 s for what is 700 KB). */
static int rules_re_quantify(struct rules_re_level *l, struct rules_re_quant q)
{
    uint64_t n = rules_re_cap(l->last * q.copies + 1);

    if (l->last_quant)
        return -2; /* a repetition of a repetition: undefined in POSIX */
    if (q.repeats && l->last_empty)
        return -3;
    l->total = rules_re_cap(l->total - l->last + n);
    l->last = n;
    l->last_empty = l->last_empty || q.optional;
    l->last_quant = 1;
    return 0;
}

/* The walk: the stack of groups. */
struct rules_re_walk {
    struct rules_re_level st[RULES_REGEX_DEPTH];
    int d;
};

/* ')': the group becomes an atom of the level around it (a ')' with no
 * group open is a literal in ERE). */
static void rules_re_close(struct rules_re_walk *w)
{
    struct rules_re_level *l = &w->st[w->d];
    uint64_t nodes;
    int empty;

    if (w->d == 0) {
        rules_re_atom(l, 1, 0);
        return;
    }
    nodes = rules_re_cap(l->total + 2);
    empty = l->alt_empty || (l->prefix_empty && l->last_empty);
    rules_re_atom(&w->st[--w->d], nodes, empty);
}

/* '|': a new alternative of the group. */
static void rules_re_alt(struct rules_re_level *l)
{
    l->alt_empty = l->alt_empty || (l->prefix_empty && l->last_empty);
    l->total = rules_re_cap(l->total + 1);
    l->last = 0;
    l->last_empty = l->prefix_empty = 1;
}

/* The element at re[*i] (*i left on its last character): 0; -1 for a
 * back-reference, -2 for a repetition of a repetition, -3 for a
 * repetition of what can match the empty string (*i on it); 1 when groups
 * nest too deep. */
static int rules_re_step(struct rules_re_walk *w, const char *re, size_t *i)
{
    struct rules_re_level *l = &w->st[w->d];
    struct rules_re_quant q;
    char next = re[*i + 1];

    switch (re[*i]) {
    case '\\':
        if (next >= '1' && next <= '9')
            return -1;
        /* \b \B \< \> \` \' are anchors: they match the empty string */
        rules_re_atom(l, 1, next && strchr("bB<>`'", next) != NULL);
        *i += next ? 1 : 0;
        return 0;
    case '[':
        rules_re_bracket(re, i);
        rules_re_atom(l, 1, 0);
        return 0;
    case '^':
    case '$':
        rules_re_atom(l, 1, 1);
        return 0;
    case '(':
        if (++w->d >= RULES_REGEX_DEPTH)
            return 1;
        w->st[w->d] = (struct rules_re_level){0, 0, 1, 1, 0, 0};
        return 0;
    case ')':
        rules_re_close(w);
        return 0;
    case '|':
        rules_re_alt(l);
        return 0;
    case '?':
        return rules_re_quantify(l, (struct rules_re_quant){1, 0, 1});
    case '*':
        return rules_re_quantify(l, (struct rules_re_quant){1, 1, 1});
    case '+':
        return rules_re_quantify(l, (struct rules_re_quant){2, 1, 0});
    case '{': {
        size_t from = *i;
        if (rules_re_interval(re, i, &q)) {
            int rc = rules_re_quantify(l, q);
            if (rc < 0)
                *i = from; /* point at the interval, not its '}' */
            return rc;
        }
        break; /* a literal '{' */
    }
    default:
        break;
    }
    rules_re_atom(l, 1, 0);
    return 0;
}

long rules_regex_cost(const char *re, size_t *at)
{
    struct rules_re_walk w = {.d = 0};

    w.st[0] = (struct rules_re_level){0, 0, 1, 1, 0, 0};
    for (size_t i = 0; re[i]; i++) {
        int rc = rules_re_step(&w, re, &i);
        if (rc < 0) {
            *at = i;
            return rc;
        }
        if (rc > 0)
            return RULES_REGEX_MAX + 1;
    }
    /* unclosed groups (regcomp refuses them): count them all */
    while (w.d > 0) {
        uint64_t inner = w.st[w.d].total + 2;
        w.d--;
        w.st[w.d].total = rules_re_cap(w.st[w.d].total + inner);
    }
    return (long)w.st[0].total;
}

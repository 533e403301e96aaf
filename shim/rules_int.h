/*
 * rules_int.h - the parts of the rule parser, between each other:
 *
 *   rules.c        the grammar: rules_parse, one rule at a time, hooks,
 *                  frequencies, names (duplicates found by sorting)
 *   rules_action.c the action table and each action's arguments
 *   rules_cond.c   the condition table, operators and values
 *   rules_regex.c  the size of a regular expression once expanded
 *   rules_lex.c    tokens, numbers, names, "did you mean" hints, and what
 *                  the current token must be
 *   rules_check.c  hook names, and which actions and conditions go with
 *                  which hooks
 *
 * Nothing here is used outside the parser (the shim uses wedge_shim.h).
 * All of it runs from rules_parse only; only rules.c and rules_cond.c
 * allocate (the rules, a condition's text and compiled expression).
 */
#ifndef WEDGE_RULES_INT_H
#define WEDGE_RULES_INT_H

#include "wedge_shim.h"

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------
 * Lexer.  Tokens never cross a rule boundary: ';', a newline or the end
 * of the text is an END token.
 * ------------------------------------------------------------ */
enum rules_tok_type { TOK_END, TOK_WORD, TOK_STRING, TOK_OP, TOK_COMMA };

#define RULES_STR_MAX 4096

struct rules_tok {
    enum rules_tok_type type;
    const char *s; /* start in the text (for STRING: the opening quote) */
    size_t len;    /* length in the text */
    int line, col;
};

struct rules_lex {
    const char *text, *p;
    int line, col;
    const char *origin;
    char *err;
    size_t errlen;
    char str[RULES_STR_MAX]; /* unescaped value of the last STRING token */
    struct rules_tok tok;    /* the current token */
};

/* ---------------------------------------------------------------
 * The parser, one rule at a time.
 * ------------------------------------------------------------ */
struct rules_ctx;

/* A keyword and the enum value it stands for.  Tables end with a NULL
 * name; their order is the order messages list them in. */
struct rules_kw {
    const char *name;
    int id;
    /* actions: parse the arguments after the word (NULL: it takes none) */
    int (*args)(struct rules_ctx *c);
};

#define RULES_KW_MAX 16

struct rules_ctx {
    struct rules_lex lx;
    struct wg_rule *r;
    /* where each hook was named, for compatibility messages */
    int hook_col[WG_HOOK_COUNT];
    const char *hook_tok[WG_HOOK_COUNT];
    int hook_toklen[WG_HOOK_COUNT];
    int cond_col[WG_MAX_CONDS];
    int when_set, when_col;
    int seen_where;
    int freq_seen[6];
    long regex_total; /* rules_regex_cost of every regex so far */
};

#define LX  (&c->lx)
#define TOK (&c->lx.tok)

/* ---------------------------------------------------------------
 * rules_lex.c
 * ------------------------------------------------------------ */
/* Write "<origin>:LINE:COL: message" into lx->err. */
void rules_err(struct rules_lex *lx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Step one character, counting lines and columns. */
void rules_adv(struct rules_lex *lx);
/* Read the next token into lx->tok.  -1 (with the message) on a lexical
 * error: an unterminated or over-long string, a stray '!'. */
int rules_next(struct rules_lex *lx);
/* 1 when t is the word `word`. */
int rules_tok_is(const struct rules_tok *t, const char *word);
/* Printable form of a token for messages: 'word', "string", or end of rule. */
const char *rules_tok_desc(const struct rules_tok *t, char *buf, size_t len);
/* Copy a word token to buf (NUL-terminated); -1 when it does not fit. */
int rules_tok_copy(const struct rules_tok *t, char *buf, size_t len);
/* " (did you mean 'x'?)" or "" into buf, from the n candidates. */
const char *rules_hint(const struct rules_tok *t, const char *const *cands, size_t n, char *buf,
                       size_t len);
/* Decimal unsigned integer filling exactly [s, s+len). */
int rules_parse_u64(const char *s, size_t len, uint64_t *out);
/* 1 when s[0..len) is a valid barrier / mark / wait / rule name. */
int rules_name_ok(const char *s, size_t len, int allow_dot);

/* What the current token must be: a word (else "expected X after 'A',
 * found Y"), a number in [lo, hi] (else the message `bad`, whose one %s is
 * the word), a duration, or a word of `table` (else "unknown KIND ...;
 * expected one of LIST", or NULL).  -1 / NULL with the message written. */
int rules_want_word(struct rules_ctx *c, const char *expected, const char *after);
int rules_number(struct rules_ctx *c, uint64_t lo, uint64_t hi, const char *bad, uint64_t *v);
int rules_duration_tok(struct rules_ctx *c, const char *after, uint64_t *out);
const struct rules_kw *rules_keyword(struct rules_ctx *c, const struct rules_kw *table,
                                     const char *kind, const char *after);

/* ---------------------------------------------------------------
 * rules_action.c, rules_cond.c, rules_regex.c
 * ------------------------------------------------------------ */
/* ACTION and its arguments into c->r; leaves the token after them current. */
int rules_action(struct rules_ctx *c);
/* COND (after `where` or `and`) into c->r->conds; the token after it current. */
int rules_cond(struct rules_ctx *c, const char *after);

#define RULES_REGEX_MAX   10000  /* nodes of one regular expression, expanded */
#define RULES_REGEX_TOTAL 100000 /* of all the rules' regular expressions */
/* The estimated size in nodes (about 100 bytes each) of ERE `re` once
 * glibc's regcomp has expanded its repetitions; values far past
 * RULES_REGEX_MAX are capped at 16 times it.  -1 for a back-reference,
 * -2 for a repetition of a repetition (a*+), -3 for a repetition of what
 * can match the empty string ((a?)+), with its offset in *at. */
long rules_regex_cost(const char *re, size_t *at);

/* ---------------------------------------------------------------
 * rules_check.c
 * ------------------------------------------------------------ */
extern const char *const rules_hook_names[WG_HOOK_COUNT];
extern const enum wg_family rules_hook_fams[WG_HOOK_COUNT];
extern const char *const rules_fam_names[3]; /* by enum wg_family */
/* Action/hook and condition/hook compatibility of c->r; -1 with the
 * message naming the hook that does not fit. */
int rules_check(struct rules_ctx *c);

#endif

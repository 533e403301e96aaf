/*
 * iso_scan.h - the lexer of isolation spec files (internal to iso_spec.c).
 *
 * Two lexings of the same text, because a { SQL } block cannot be read one
 * way that both PostgreSQL's isolation tester and wedge's own specs mean:
 *
 *   pg mode     exactly specscanner.l: a block ends at the first '}' (blanks
 *               after '{' and before '}' trimmed, newlines kept), a quoted
 *               name doubles "" for a quote and knows no backslash;
 *   wedge mode  a block ends at the '}' that closes it: braces nest, and
 *               quotes, dollar quotes and comments are skipped, so a '}'
 *               inside them is SQL; the block is trimmed of all white space;
 *               a "string" also takes \" and \\.
 *
 * The parser reads a spec in pg mode first and falls back to wedge mode
 * when that fails (iso_spec.c), so every spec the isolation tester accepts
 * means what it means there.  Words, punctuation and comments are lexed
 * alike in both modes.  Not thread-safe per scanner.
 */
#ifndef WEDGE_ISO_SCAN_H
#define WEDGE_ISO_SCAN_H

#include <stddef.h>

enum tok_kind { TOK_EOF, TOK_WORD, TOK_STRING, TOK_SQL, TOK_PUNCT };

struct tok {
    enum tok_kind kind;
    const char *start; /* TOK_WORD, TOK_PUNCT: into the text */
    size_t len;
    char *text; /* TOK_STRING, TOK_SQL: malloc'd, owned by the token */
    int line;
    int text_line; /* TOK_SQL: the line of the first non-blank character */
};

struct iso_scan {
    const char *path;
    const char *p; /* next character */
    int line;
    int pg;        /* 1: lex as the isolation tester does */
    struct tok la; /* the lookahead */
    char *err;
    size_t errlen;
    int err_line; /* the line of the first error, 0 while none */
};

/* Read the next token into sc->la (freeing the previous one's text);
 * -1 with the error in sc->err. */
int iso_scan_next(struct iso_scan *sc);
/* "PATH:LINE: message" into sc->err (the first error only); returns -1. */
int iso_scan_fail(struct iso_scan *sc, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 when the lookahead is the word w (or the punctuation w). */
int iso_tok_is(const struct tok *t, const char *w);
/* A printable description of a token for "found ..." messages. */
const char *iso_tok_desc(const struct tok *t, char *buf, size_t len);

#endif

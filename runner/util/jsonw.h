/*
 * jsonw.h - JSON text without a JSON library, for the writers and the
 * fast readers of JSON lines (history.jsonl, traces, isolation logs).
 * Thread-safe; nothing is allocated.
 */
#ifndef WEDGE_JSONW_H
#define WEDGE_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* s as a JSON string, quotes included, into f.  Bytes that are not UTF-8
 * (a server message in another encoding) become U+FFFD, so every line
 * stays readable by a JSON parser.  NULL writes "". */
void jw_string(FILE *f, const char *s);

/* Read one member of a compact JSON line ("key":value, no spaces, as the
 * runner and the shim write them) without parsing the line: the string
 * after "key" when it holds no escape (copied into out), or the integer.
 * quoted_key includes the quotes: "\"t_ns\"".  0 when the member is not
 * there in that form: the caller then parses the line. */
int jw_peek_str(const char *line, const char *quoted_key, char *out, size_t len);
int jw_peek_i64(const char *line, const char *quoted_key, int64_t *v);

#endif

/*
 * redact.h - the one password redactor, for everything wedge writes or
 * prints: trace lines (the shim), summary.json, junit.xml, report.md and
 * the commands printed to users (the runner).
 *
 * It reads a connection string as libpq does and hides exactly what libpq
 * would take as the password, in every form libpq accepts:
 *   key = value    blanks around '=' (password\t=S3cret), bare values with
 *                  backslash escapes (password=S3c\ ZZleak is one value),
 *                  single-quoted values with \' and \\ inside;
 *   URIs           postgresql:// and postgres://, the user:PASSWORD@ part,
 *                  and ?password= / &password= in the query (the key may be
 *                  percent-encoded);
 *   dbname         a dbname that holds a whole connection string (libpq
 *                  expands it in PQconnectdbParams) is hidden when it holds
 *                  a password.
 * Each secret becomes "***"; everything else is copied as it is.
 *
 * redact_conninfo and redact_conninfo_params write into the caller's buffer
 * and allocate nothing: the shim calls them inside libpq hooks.  Both are
 * thread-safe.
 */
#ifndef WEDGE_REDACT_H
#define WEDGE_REDACT_H

#include <stddef.h>

/* Redact conninfo `in` (NULL reads as "") into out[0..outlen), always
 * NUL-terminated when outlen > 0 (out may be NULL when outlen is 0).
 * Returns the length of the whole redacted text, as snprintf does: the
 * output was cut when the result is >= outlen.  A cut never shows part of
 * a secret (secrets are replaced, never copied). */
size_t redact_conninfo(const char *in, char *out, size_t outlen);

/* PQconnectdbParams' keys and values (NULL-terminated keys; NULL or empty
 * values skipped) as "key=value key=value", with the password "***" and,
 * when expand is set, a dbname holding a connection string redacted as
 * redact_conninfo does.  Same buffer contract as redact_conninfo. */
size_t redact_conninfo_params(const char *const *keys, const char *const *vals, int expand,
                              char *out, size_t outlen);

/* redact_conninfo into a malloc'd string (the runner's reports and
 * messages; the shim never calls it).  Aborts when out of memory. */
char *redact_conninfo_dup(const char *in);

#endif

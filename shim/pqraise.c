/*
 * pqraise.c - how `fail sqlstate X` becomes a real error: a DO block that
 * raises X on the server, so the transaction really aborts.  libpq's
 * wrappers (libpq.c) run it in a statement's place, the wire decoder
 * (pgflow.c) puts it in the statement's message; both call this, it calls
 * nothing of theirs.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

/* The DO block that raises `state` on the server.  Only [0-9A-Z] reach
 * the SQL text (the parser already checked; this keeps it quoted-safe). */
void wg_pq_raise_sql(const char *state, char *buf, size_t n)
{
    char s[6] = "P0001";

    if (state && strlen(state) == 5) {
        int ok = 1;
        for (int i = 0; i < 5; i++)
            ok &= isdigit((unsigned char)state[i]) || isupper((unsigned char)state[i]);
        if (ok)
            memcpy(s, state, 6);
    }
    snprintf(buf, n,
             "DO $$BEGIN RAISE EXCEPTION 'wedge: injected sqlstate %s' USING ERRCODE = '%s'; "
             "END$$",
             s, s);
}

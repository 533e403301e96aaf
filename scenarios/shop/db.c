/*
 * db.c - one statement through libpq, its outcome classified so callers
 * can tell a conflict worth retrying from a real error.
 */
#include <stdio.h>
#include <string.h>
#include "db.h"

int db_exec(PGconn *c, PGresult **out, const char *sql, int n, const char *const *params)
{
    PGresult *r = NULL;
    const char *state;
    int rc = DB_ERR;

    if (out)
        *out = NULL;
    r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
        if (out) {
            *out = r;
            r = NULL;
        }
        rc = DB_OK;
        goto out;
    default:
        break;
    }
    state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "40001") == 0)
        rc = DB_SERIAL;
    else if (state && strcmp(state, "40P01") == 0)
        rc = DB_DEADLOCK;
    else if (PQstatus(c) != CONNECTION_OK)
        rc = DB_GONE;
    else
        fprintf(stderr, "shop: %.60s: %s", sql, PQerrorMessage(c));
out:
    PQclear(r);
    return rc;
}

PGconn *db_connect(const char *dsn, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(dsn);

    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the database: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

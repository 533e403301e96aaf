/*
 * pq_plugin.c - TEST ONLY.  A module linked against libpq and loaded by
 * shim_pq_local with dlopen(RTLD_LOCAL), the way Python loads psycopg2:
 * its libpq is in no global scope, so the shim must find it among the
 * loaded objects.  One entry point runs a short session and reports what
 * the server said.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Connect, create a table of one row, UPDATE it.  Writes the UPDATE's
 * SQLSTATE ("" when it succeeded) and the row's value afterwards to
 * state/value; returns 0, or -1 with a message in err. */
__attribute__((visibility("default"))) int plugin_session(const char *dsn, const char *table,
                                                          char *state, size_t n, long *value,
                                                          char *err, size_t errlen)
{
    char sql[256];
    PGresult *r = NULL;
    int rc = -1;
    PGconn *c = PQconnectdb(dsn);

    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "connect: %s", PQerrorMessage(c));
        goto out;
    }
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS %s; CREATE TABLE %s (v int); INSERT INTO %s VALUES (1)", table,
             table, table);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "setup: %s", PQerrorMessage(c));
        goto out;
    }
    PQclear(r);
    snprintf(sql, sizeof sql, "UPDATE %s SET v = 2", table);
    r = PQexec(c, sql);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, n, "%s", s ? s : "");
    PQclear(r);
    snprintf(sql, sizeof sql, "SELECT v FROM %s", table);
    r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "select: %s", PQerrorMessage(c));
        goto out;
    }
    *value = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    rc = 0;
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

/*
 * iso_conn.c - libpq helpers of `wedge isolation`: connecting, running a
 * statement that must succeed, one-line messages.
 */
#include "iso_int.h"

#include <stdio.h>
#include <string.h>

/* Server messages span lines ("...failed: Connection refused\n\tIs the
 * server running"): one line for a wedge: message. */
char *iso_one_line(char *s)
{
    char *p;
    size_t n;

    if (!s)
        return s;
    for (p = s; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* Server notices ("there is no transaction in progress") are not results. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *iso_db_connect_app(const char *dsn, const char *app, char *err, size_t errlen)
{
    /* Defaults first: the DSN, expanded last, overrides them. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", app, dsn, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);

    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect: %s", c ? PQerrorMessage(c) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    return c;
}

PGconn *iso_db_connect(const char *dsn, char *err, size_t errlen)
{
    return iso_db_connect_app(dsn, "wedge isolation", err, errlen);
}

int iso_db_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(err, errlen, "%s%s%s", state ? state : "", state ? ": " : "", PQerrorMessage(c));
        err[strcspn(err, "\n")] = '\0';
        rc = -1;
    }
    PQclear(res);
    return rc;
}

int iso_conn_lost(PGconn *c)
{
    return PQstatus(c) != CONNECTION_OK;
}

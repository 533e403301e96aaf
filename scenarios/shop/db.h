/*
 * db.h - one statement through libpq, its outcome classified (db.c);
 * shared by the shop's services and the tests' counterd.
 */
#ifndef SHOP_DB_H
#define SHOP_DB_H

#include <stddef.h>
#include <libpq-fe.h>

/* ---------------------------------------------------------------
 * Database (db.c).
 * ------------------------------------------------------------ */
enum db_rc {
    DB_OK = 0,
    DB_ERR = -1,      /* a real error; the message is logged */
    DB_SERIAL = -2,   /* 40001 serialization_failure */
    DB_DEADLOCK = -3, /* 40P01 deadlock_detected */
    DB_GONE = -4,     /* the connection is broken */
};

/* Run sql with n text parameters.  On DB_OK *out holds the result when
 * out is not NULL (PQclear it).  Statement text is what the shim's
 * `sql ~` conditions see. */
int db_exec(PGconn *c, PGresult **out, const char *sql, int n, const char *const *params);
/* Connect; NULL with a message in err. */
PGconn *db_connect(const char *dsn, char *err, size_t errlen);

#endif

/*
 * dsn.h - the run's connection string in the forms a scenario asks for:
 * ${dsn} (libpq's key=value), ${dsn_uri} (a postgresql:// URI, which
 * drivers that are not libpq read: node-postgres, JDBC after "jdbc:",
 * pgx, sqlx), ${db_host} and ${db_port}, and the same connection through
 * a proxy of the scenario (${dsn:NAME}, ${dsn_uri:NAME}).
 *
 * All read the string with libpq's own parser (PQconninfoParse), so every
 * form libpq accepts is understood.  Thread-safe; results are malloc'd.
 */
#ifndef WEDGE_DSN_H
#define WEDGE_DSN_H

#include <stddef.h>

/*
 * dsn as key=value (as_uri 0) or as a postgresql:// URI (as_uri 1).  With
 * host non-NULL, the host (and any hostaddr) becomes host and the port
 * port: the same database reached through another address.  Values are
 * quoted (key=value) or percent-encoded (URI: user, password, database
 * and every other parameter, which go into the query).  NULL with err
 * when libpq cannot read dsn.
 */
char *dsn_rewrite(const char *dsn, int as_uri, const char *host, int port, char *err,
                  size_t errlen);

/* The host and port dsn connects to: host as written (a name, an address
 * or a socket directory; "localhost" when none), port as written ("5432"
 * when none).  0, or -1 with err. */
int dsn_host_port(const char *dsn, char **host, char **port, char *err, size_t errlen);

#endif

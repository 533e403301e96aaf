/*
 * pq_old.c - TEST ONLY.  "libpq-old.so": what the shim sees of a libpq
 * older than 14.  It defines the libpq functions pq_plugin.c, libpq itself
 * and the shim call, forwarding each to the real libpq (opened
 * RTLD_LOCAL), and no pipeline function: PQpipelineStatus is missing, as
 * in libpq 13.  The shim must find this object (named libpq-*, loaded
 * before the real one) and treat the missing helper as "no pipeline".
 */
#include <dlfcn.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

static void *old_real;

__attribute__((constructor)) static void old_open(void)
{
    old_real = dlopen("libpq.so.5", RTLD_LAZY | RTLD_LOCAL);
    if (!old_real) {
        fprintf(stderr, "pq_old: %s\n", dlerror());
        abort();
    }
}

#define OLD_FN(name) ((__typeof__(&name))dlsym(old_real, #name))
#define EXPORT       __attribute__((visibility("default")))

typedef const char *const *strv;

EXPORT PGconn *PQconnectdb(const char *ci)
{
    return OLD_FN(PQconnectdb)(ci);
}
EXPORT PGconn *PQconnectdbParams(strv k, strv v, int x)
{
    return OLD_FN(PQconnectdbParams)(k, v, x);
}
EXPORT PGconn *PQconnectStart(const char *ci)
{
    return OLD_FN(PQconnectStart)(ci);
}
EXPORT PGconn *PQconnectStartParams(strv k, strv v, int x)
{
    return OLD_FN(PQconnectStartParams)(k, v, x);
}
EXPORT ConnStatusType PQstatus(const PGconn *c)
{
    return OLD_FN(PQstatus)(c);
}
EXPORT char *PQerrorMessage(const PGconn *c)
{
    return OLD_FN(PQerrorMessage)(c);
}
EXPORT int PQsocket(const PGconn *c)
{
    return OLD_FN(PQsocket)(c);
}
EXPORT void PQfinish(PGconn *c)
{
    OLD_FN(PQfinish)(c);
}
EXPORT PGresult *PQexec(PGconn *c, const char *q)
{
    return OLD_FN(PQexec)(c, q);
}
EXPORT PGresult *PQexecParams(PGconn *c, const char *q, int n, const Oid *t, strv v, const int *l,
                              const int *f, int r)
{
    return OLD_FN(PQexecParams)(c, q, n, t, v, l, f, r);
}
EXPORT PGresult *PQexecPrepared(PGconn *c, const char *s, int n, strv v, const int *l, const int *f,
                                int r)
{
    return OLD_FN(PQexecPrepared)(c, s, n, v, l, f, r);
}
EXPORT PGresult *PQprepare(PGconn *c, const char *s, const char *q, int n, const Oid *t)
{
    return OLD_FN(PQprepare)(c, s, q, n, t);
}
EXPORT int PQsendQuery(PGconn *c, const char *q)
{
    return OLD_FN(PQsendQuery)(c, q);
}
EXPORT int PQsendQueryParams(PGconn *c, const char *q, int n, const Oid *t, strv v, const int *l,
                             const int *f, int r)
{
    return OLD_FN(PQsendQueryParams)(c, q, n, t, v, l, f, r);
}
EXPORT int PQsendPrepare(PGconn *c, const char *s, const char *q, int n, const Oid *t)
{
    return OLD_FN(PQsendPrepare)(c, s, q, n, t);
}
EXPORT int PQsendQueryPrepared(PGconn *c, const char *s, int n, strv v, const int *l, const int *f,
                               int r)
{
    return OLD_FN(PQsendQueryPrepared)(c, s, n, v, l, f, r);
}
EXPORT int PQsendDescribePrepared(PGconn *c, const char *s)
{
    return OLD_FN(PQsendDescribePrepared)(c, s);
}
EXPORT int PQsendDescribePortal(PGconn *c, const char *s)
{
    return OLD_FN(PQsendDescribePortal)(c, s);
}
EXPORT PGresult *PQgetResult(PGconn *c)
{
    return OLD_FN(PQgetResult)(c);
}
EXPORT ExecStatusType PQresultStatus(const PGresult *r)
{
    return OLD_FN(PQresultStatus)(r);
}
EXPORT char *PQresultErrorField(const PGresult *r, int f)
{
    return OLD_FN(PQresultErrorField)(r, f);
}
EXPORT int PQntuples(const PGresult *r)
{
    return OLD_FN(PQntuples)(r);
}
EXPORT char *PQgetvalue(const PGresult *r, int t, int f)
{
    return OLD_FN(PQgetvalue)(r, t, f);
}
EXPORT void PQclear(PGresult *r)
{
    OLD_FN(PQclear)(r);
}

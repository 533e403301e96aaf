/*
 * shim_pq_local.c - libpq loaded RTLD_LOCAL, after the shim started, the
 * way Python loads psycopg2.  This program does not link libpq: it opens
 * a module that does (pq_plugin.c) with dlopen(RTLD_LOCAL).
 *
 *   shim_pq_local MODULE TABLE inject   the UPDATE fails with 40001 (rule
 *                                       fail sqlstate 40001 on pq.query),
 *                                       the row keeps its value
 *   shim_pq_local MODULE TABLE none     the UPDATE commits
 *   shim_pq_local - - nolibpq           calls PQconnectdb (the shim's, the
 *                                       only one in the global scope) with
 *                                       no libpq loaded: the shim must
 *                                       stop the process, naming it
 */
#include <dlfcn.h>
#include <pthread.h>

#include "../shim_test.h"

typedef int (*session_fn)(const char *dsn, const char *table, char *state, size_t n, long *value,
                          char *err, size_t errlen);

int main(int argc, char **argv)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    char state[8], err[512];
    long value = -1;

    CHECK(argc == 4, "usage: shim_pq_local MODULE TABLE inject|none|nolibpq");
    /* Hooked calls before libpq is loaded: the table is resolved already. */
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    CHECK(dlsym(RTLD_DEFAULT, "PQstatus") == NULL, "libpq is in the global scope already");

    if (!strcmp(argv[3], "nolibpq")) {
        void *(*connectdb)(const char *) =
            (void *(*)(const char *))dlsym(RTLD_DEFAULT, "PQconnectdb");
        CHECK(connectdb != NULL, "no PQconnectdb in the global scope: is the shim preloaded?");
        connectdb("host=127.0.0.1");
        CHECK(0, "PQconnectdb returned with no libpq loaded");
    }

    void *mod = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(mod != NULL, "dlopen %s: %s", argv[1], dlerror());
    CHECK(dlsym(RTLD_DEFAULT, "PQstatus") == NULL, "libpq reached the global scope");
    session_fn session = (session_fn)dlsym(mod, "plugin_session");
    CHECK(session != NULL, "no plugin_session in %s", argv[1]);
    CHECK(session(t_dsn(), argv[2], state, sizeof state, &value, err, sizeof err) == 0, "%s", err);

    if (!strcmp(argv[3], "inject")) {
        CHECK(!strcmp(state, "40001"), "UPDATE: sqlstate '%s', expected 40001", state);
        CHECK(value == 1, "the failed UPDATE changed the row: %ld", value);
    } else {
        CHECK(!strcmp(state, ""), "UPDATE failed: sqlstate %s", state);
        CHECK(value == 2, "the UPDATE did not commit: %ld", value);
    }
    printf("shim_pq_local %s: ok (sqlstate '%s', value %ld)\n", argv[3], state, value);
    return 0;
}

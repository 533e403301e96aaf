/*
 * hunt_cat.c - the schema's catalog, as wedge hunt needs it: which
 * columns a unique key stands behind (a check-then-insert on them cannot
 * insert twice), and invariant templates offered to the user ("no
 * duplicate rows by this natural key", "this sum is conserved"), read
 * from a database holding the scenario's schema and fixtures.
 */
#include "hunt.h"
#include "pg.h"
#include "util.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAT_MAX_OFFERED 12

/* Columns whose names say they identify something. */
static const char *const cat_natural[] = {"key",    "email", "name", "sku", "code",     "_no",
                                          "number", "token", "slug", "ref", "username", "login"};
/* ...and numbers that say they count units. */
static const char *const cat_counts[] = {"stock",  "qty",   "quantity", "balance",
                                         "amount", "units", "count",    "seats"};

static const char SQL_KEYS[] =
    "SELECT c.relname, string_agg(a.attname, ',' ORDER BY k.ord) "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
    "WHERE i.indisunique AND i.indpred IS NULL AND NOT (0 = ANY(i.indkey::int2[])) "
    "AND n.nspname = 'public' GROUP BY c.relname, i.indexrelid";

static const char SQL_COLS[] =
    "SELECT table_name, column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = 'public' AND table_name IN (SELECT tablename FROM pg_tables "
    "WHERE schemaname = 'public') ORDER BY table_name, ordinal_position";

/* The FK column of one table and the table it points to. */
static const char SQL_FKS[] =
    "SELECT c.relname, f.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
    "JOIN pg_class f ON f.oid = k.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE k.contype = 'f' AND n.nspname = 'public'";

static int cat_has_word(const char *name, const char *const *words, size_t n)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        size_t w = strlen(words[i]);
        if (len >= w && !strcmp(name + len - w, words[i]))
            return 1;
    }
    return 0;
}

static void cat_keys(struct hunt_cat *cat, PGresult *r)
{
    cat->nkeys = PQntuples(r);
    cat->keys = calloc((size_t)cat->nkeys + 1, sizeof *cat->keys);
    if (!cat->keys)
        abort();
    for (int i = 0; i < cat->nkeys; i++) {
        struct hunt_key *k = &cat->keys[i];
        char *cols = util_fmt("%s", PQgetvalue(r, i, 1)), *save = NULL;
        snprintf(k->table, sizeof k->table, "%s", PQgetvalue(r, i, 0));
        for (char *c = strtok_r(cols, ",", &save); c && k->ncols < HUNT_COLS;
             c = strtok_r(NULL, ",", &save))
            snprintf(k->cols[k->ncols++], HUNT_IDENT, "%s", c);
        free(cols);
    }
}

int hunt_cat_unique_within(const struct hunt_cat *cat, const char *table,
                           const char (*cols)[HUNT_IDENT], int n)
{
    for (int i = 0; cat && i < cat->nkeys; i++) {
        const struct hunt_key *k = &cat->keys[i];
        int all = k->ncols > 0 && !strcmp(k->table, table);
        for (int c = 0; all && c < k->ncols; c++) {
            int in = 0;
            for (int j = 0; j < n && !in; j++)
                in = !strcmp(cols[j], k->cols[c]);
            all = in;
        }
        if (all)
            return 1;
    }
    return 0;
}

static void cat_offer(struct hunt_cat *cat, char *text)
{
    if (cat->noffered == CAT_MAX_OFFERED) {
        free(text);
        return;
    }
    cat->offered = realloc(cat->offered, (size_t)(cat->noffered + 1) * sizeof *cat->offered);
    if (!cat->offered)
        abort();
    cat->offered[cat->noffered++] = text;
}

static char *cat_scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)
                  ? util_fmt("%s", PQgetvalue(r, 0, 0))
                  : NULL;
    PQclear(r);
    return v;
}

/* No duplicate by a natural-looking column that no unique key covers. */
static void cat_offer_unique(struct hunt_cat *cat, const char *t, const char *col)
{
    char one[1][HUNT_IDENT];
    snprintf(one[0], sizeof one[0], "%s", col);
    if (!cat_has_word(col, cat_natural, sizeof cat_natural / sizeof cat_natural[0]) ||
        hunt_cat_unique_within(cat, t, (const char(*)[HUNT_IDENT])one, 1))
        return;
    cat_offer(cat, util_fmt("no_duplicate_%s_%s = SELECT %s, count(*) FROM %s GROUP BY %s HAVING "
                            "count(*) > 1",
                            t, col, col, t, col));
}

/* A count's sum, alone and with the counts of the tables that point at
 * its table (units in stock + units on order lines = units there were). */
static void cat_offer_sums(struct hunt_cat *cat, PGconn *c, PGresult *cols, PGresult *fks, int i)
{
    const char *t = PQgetvalue(cols, i, 0), *col = PQgetvalue(cols, i, 1);
    char *q = util_fmt("SELECT coalesce(sum(%s), 0) FROM %s", col, t), *s0 = cat_scalar(c, q);
    free(q);
    if (!s0)
        return;
    if (strcmp(s0, "0")) /* nothing there to conserve: a table that only grows */
        cat_offer(cat, util_fmt("sum_conserved_%s_%s = SELECT coalesce(sum(%s), 0) = %s FROM %s", t,
                                col, col, s0, t));
    for (int f = 0; f < PQntuples(fks); f++) {
        if (strcmp(PQgetvalue(fks, f, 1), t))
            continue;
        const char *u = PQgetvalue(fks, f, 0);
        for (int j = 0; j < PQntuples(cols); j++) {
            const char *uc = PQgetvalue(cols, j, 1);
            if (strcmp(PQgetvalue(cols, j, 0), u) || strcmp(PQgetvalue(cols, j, 2), "integer") ||
                !cat_has_word(uc, cat_counts, sizeof cat_counts / sizeof cat_counts[0]))
                continue;
            q = util_fmt("SELECT %s + (SELECT coalesce(sum(%s), 0) FROM %s)", s0, uc, u);
            char *total = cat_scalar(c, q);
            free(q);
            if (total)
                cat_offer(cat, util_fmt("units_conserved_%s_%s_%s_%s = SELECT (SELECT "
                                        "coalesce(sum(%s), 0) FROM %s) + (SELECT "
                                        "coalesce(sum(%s), 0) FROM %s) = %s",
                                        t, col, u, uc, col, t, uc, u, total));
            free(total);
        }
    }
    free(s0);
}

static void cat_templates(struct hunt_cat *cat, PGconn *c, PGresult *cols, PGresult *fks)
{
    for (int i = 0; i < PQntuples(cols); i++) {
        const char *type = PQgetvalue(cols, i, 2), *col = PQgetvalue(cols, i, 1);
        if (!strcmp(type, "text") || !strncmp(type, "character", 9))
            cat_offer_unique(cat, PQgetvalue(cols, i, 0), col);
        else if ((!strcmp(type, "integer") || !strcmp(type, "bigint") ||
                  !strcmp(type, "numeric")) &&
                 cat_has_word(col, cat_counts, sizeof cat_counts / sizeof cat_counts[0]))
            cat_offer_sums(cat, c, cols, fks, i);
    }
}

int hunt_cat_load(struct hunt_cat *cat, const char *dsn, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(dsn);
    PGresult *keys = NULL, *cols = NULL, *fks = NULL;
    int rc = -1;

    memset(cat, 0, sizeof *cat);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "catalog: %s", PQerrorMessage(c));
        goto out;
    }
    keys = PQexec(c, SQL_KEYS);
    cols = PQexec(c, SQL_COLS);
    fks = PQexec(c, SQL_FKS);
    if (PQresultStatus(keys) != PGRES_TUPLES_OK || PQresultStatus(cols) != PGRES_TUPLES_OK ||
        PQresultStatus(fks) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "catalog: %s", PQerrorMessage(c));
        goto out;
    }
    cat_keys(cat, keys);
    cat_templates(cat, c, cols, fks);
    cat->ok = 1;
    rc = 0;
out:
    PQclear(keys);
    PQclear(cols);
    PQclear(fks);
    PQfinish(c);
    return rc;
}

void hunt_cat_free(struct hunt_cat *cat)
{
    for (int i = 0; i < cat->noffered; i++)
        free(cat->offered[i]);
    free(cat->offered);
    free(cat->keys);
    memset(cat, 0, sizeof *cat);
}

/* ---------------------------------------------------------------
 * The database the catalog is read from.
 * ------------------------------------------------------------ */
static int cat_exec(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ||
             PQresultStatus(r) == PGRES_EMPTY_QUERY;
    if (!ok)
        snprintf(err, errlen, "%s: %s", what, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

int hunt_cat_db(const char *admin_dsn, const struct scenario *s, char *dsn, size_t dsnlen,
                char *err, size_t errlen)
{
    char name[64];
    PGconn *c = NULL;
    int rc = -1;

    snprintf(name, sizeof name, "wedge_hunt_catalog_%ld", (long)getpid());
    if (pg_fresh_db(admin_dsn, name, dsn, dsnlen, err, errlen) < 0)
        return -1;
    c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        goto out;
    }
    cat_exec(c, "SET client_min_messages = warning", "settings", err, errlen);
    for (int i = 0; s->schema && s->schema[i]; i++) {
        char *text = util_read_file(s->schema[i], NULL);
        int bad = !text || cat_exec(c, text, s->schema[i], err, errlen) < 0;
        if (!text)
            snprintf(err, errlen, "%s: %s", s->schema[i], strerror(errno));
        free(text);
        if (bad)
            goto out;
    }
    for (int i = 0; s->fixtures && s->fixtures[i]; i++)
        if (cat_exec(c, s->fixtures[i], "fixture", err, errlen) < 0)
            goto out;
    rc = 0;
out:
    PQfinish(c);
    return rc;
}

/* Shared by the store's unit tests: which backend they run on, a new empty
 * store per test, and plain SQL behind the store's back on either backend.
 * HWPASS_TEST_STORE names a PostgreSQL server (tests/pg-lib.sh run sets it);
 * unset, the tests use SQLite files in their temporary directory. Include
 * after store-tmp.h. */
#pragma once

#if HP_HAVE_LIBPQ
#include <libpq-fe.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline bool is_pg_url(const char *name)
{
        return strncmp(name, "postgresql://", strlen("postgresql://")) == 0 ||
               strncmp(name, "postgres://", strlen("postgres://")) == 0;
}

/* The server's URL, or NULL when the tests run on SQLite. */
static inline const char *pg_base_url(void)
{
        const char *url = getenv("HWPASS_TEST_STORE");

        return HP_HAVE_LIBPQ && url && is_pg_url(url) ? url : NULL;
}

static inline bool test_on_pg(void)
{
        return pg_base_url() != NULL;
}

/* Runs the group: sqlite_only (an SQLite file's bytes, its upgrades) and
 * then common, or common alone on PostgreSQL. */
static inline int run_store_tests(const char *name, const struct CMUnitTest *sqlite_only,
                                  size_t n_sqlite, const struct CMUnitTest *common,
                                  size_t n_common)
{
        struct CMUnitTest *all = calloc(n_sqlite + n_common, sizeof(*all));
        size_t n = 0;
        int r;

        if (!all)
                return 1;
        for (size_t i = 0; !test_on_pg() && i < n_sqlite; i++)
                all[n++] = sqlite_only[i];
        for (size_t i = 0; i < n_common; i++)
                all[n++] = common[i];
        r = _cmocka_run_group_tests(name, all, n, make_tmp, remove_tmp);
        free(all);
        return r;
}

#if HP_HAVE_LIBPQ
static inline void quiet_notices(void *arg, const char *message)
{
        (void)arg;
        (void)message;
}

/* base (postgresql:///DB?PARAMS) naming database db instead. */
static inline char *pg_url_for(const char *base, const char *db)
{
        const char *auth = strstr(base, "://") + 3;
        const char *path = auth + strcspn(auth, "/?");
        const char *query = path + strcspn(path, "?");
        char *url = NULL;

        assert_true(asprintf(&url, "%.*s/%s%s", (int)(path - base), base, db, query) > 0);
        return url;
}

static inline PGconn *pg_connect_ok(const char *url)
{
        PGconn *c = PQconnectdb(url);

        if (PQstatus(c) != CONNECTION_OK)
                fail_msg("connect %s: %s", url, PQerrorMessage(c));
        PQsetNoticeProcessor(c, quiet_notices, NULL);
        return c;
}

/* Runs sql (no parameters) on the server; fails the test when it fails. */
static inline void pg_exec_ok(PGconn *c, const char *sql)
{
        PGresult *res = PQexec(c, sql);

        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                fail_msg("%s: %s", sql, PQerrorMessage(c));
        PQclear(res);
}

#endif

/* A new empty store named after name: a file in the temporary directory,
 * or a new database (dropped first when a run before left it). Malloc'd. */
static inline char *store_new(const char *name)
{
        const char *base = pg_base_url();
        char *sql = NULL, *file = NULL;

        if (!base) {
                assert_true(asprintf(&file, "%s.db", name) > 0);
                sql = path_in(file);
                free(file);
                return sql;
        }
#if HP_HAVE_LIBPQ
        PGconn *c = pg_connect_ok(base);
        char *ident;

        ident = PQescapeIdentifier(c, name, strlen(name));
        assert_non_null(ident);
        assert_true(asprintf(&sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", ident) > 0);
        pg_exec_ok(c, sql);
        free(sql);
        assert_true(asprintf(&sql, "CREATE DATABASE %s", ident) > 0);
        pg_exec_ok(c, sql);
        free(sql);
        PQfreemem(ident);
        PQfinish(c);
        return pg_url_for(base, name);
#else
        return NULL; /* not reached: pg_base_url() is NULL */
#endif
}

/* The first column of the one row sql returns on the store named name
 * (a file or a URL), "NULL" for SQL NULL; the caller frees it. */
static inline char *raw_text_any(const char *name, const char *sql)
{
        if (!HP_HAVE_LIBPQ || !is_pg_url(name))
                return raw_text(name, sql);
#if HP_HAVE_LIBPQ
        PGconn *c = pg_connect_ok(name);
        PGresult *res;
        char *s;

        res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
                fail_msg("%s: %s", sql, PQerrorMessage(c));
        s = strdup(PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
        assert_non_null(s);
        PQclear(res);
        PQfinish(c);
        return s;
#else
        return NULL;
#endif
}

static inline int64_t raw_int_any(const char *name, const char *sql)
{
        char *t = raw_text_any(name, sql);
        int64_t v = strtoll(t, NULL, 10);

        free(t);
        return v;
}

/* Runs sql (statements without results) on the store named name. */
static inline void raw_exec_any(const char *name, const char *sql)
{
        if (!HP_HAVE_LIBPQ || !is_pg_url(name)) {
                sqlite3 *db = raw_open(name);

                assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
                assert_int_equal(sqlite3_close(db), SQLITE_OK);
                return;
        }
#if HP_HAVE_LIBPQ
        PGconn *c = pg_connect_ok(name);

        pg_exec_ok(c, sql);
        PQfinish(c);
#endif
}

/* Makes the store named name behind the store's back, as an older hwpass
 * wrote it: a new file from sqlite_sql, or the new empty database
 * store_new() made from pg_sql; then rows (either). */
static inline void raw_create_any(const char *name, const char *sqlite_sql, const char *pg_sql,
                                  const char *rows)
{
        sqlite3 *db = NULL;

        if (HP_HAVE_LIBPQ && is_pg_url(name)) {
                raw_exec_any(name, pg_sql);
                raw_exec_any(name, rows);
                return;
        }
        assert_int_equal(
                sqlite3_open_v2(name, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sqlite_sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, rows, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

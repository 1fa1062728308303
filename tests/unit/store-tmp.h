/* Shared by the store's unit tests: a temporary directory per test group and
 * raw SQLite access to look at the file behind the store's back. Include after
 * <cmocka.h> and <sqlite3.h>. */
#pragma once

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Migration 1 as shipped, frozen here: the migration tests describe files
 * written at that version, whatever happens to sqlite-migrations.c later. */
#define SCHEMA_V1_SQL \
        "PRAGMA journal_mode = WAL;\n" \
        "CREATE TABLE schema_version (\n" \
        "        id INTEGER PRIMARY KEY CHECK (id = 1),\n" \
        "        version INTEGER NOT NULL\n" \
        ");\n" \
        "CREATE TABLE devices (\n" \
        "        address TEXT NOT NULL PRIMARY KEY,\n" \
        "        vendor_id INTEGER,\n" \
        "        device_id INTEGER,\n" \
        "        subsystem_vendor_id INTEGER,\n" \
        "        subsystem_device_id INTEGER,\n" \
        "        serial TEXT,\n" \
        "        slot TEXT,\n" \
        "        desired INTEGER NOT NULL,\n" \
        "        host_driver TEXT,\n" \
        "        label TEXT,\n" \
        "        health TEXT NOT NULL DEFAULT 'ok',\n" \
        "        assigned_vm TEXT,\n" \
        "        updated_at INTEGER\n" \
        ");\n" \
        "CREATE TABLE device_attrs (\n" \
        "        address TEXT NOT NULL REFERENCES devices (address) ON DELETE CASCADE,\n" \
        "        key TEXT NOT NULL,\n" \
        "        value TEXT NOT NULL,\n" \
        "        PRIMARY KEY (address, key)\n" \
        ");\n" \
        "CREATE TABLE events (\n" \
        "        id INTEGER PRIMARY KEY,\n" \
        "        at INTEGER NOT NULL,\n" \
        "        kind TEXT NOT NULL,\n" \
        "        subject TEXT,\n" \
        "        message TEXT\n" \
        ");\n"

/* Migrations 2 to 4 as shipped, frozen too: with SCHEMA_V1_SQL, a file as
 * hwpass wrote it at schema version 4 (the last before hosts). */
#define SCHEMA_V2_TO_V4_SQL \
        "ALTER TABLE devices ADD COLUMN reason TEXT;\n" \
        "CREATE TABLE vms (\n" \
        "        name TEXT NOT NULL PRIMARY KEY,\n" \
        "        spec TEXT NOT NULL,\n" \
        "        state TEXT NOT NULL DEFAULT 'off'\n" \
        "                CHECK (state IN ('off', 'starting', 'running', 'stopping')),\n" \
        "        pid INTEGER NOT NULL DEFAULT 0,\n" \
        "        qmp_path TEXT,\n" \
        "        started_at INTEGER NOT NULL DEFAULT 0,\n" \
        "        created_at INTEGER NOT NULL,\n" \
        "        updated_at INTEGER NOT NULL\n" \
        ");\n" \
        "ALTER TABLE events ADD COLUMN actor TEXT;\n" \
        "CREATE TABLE tokens (\n" \
        "        name TEXT NOT NULL PRIMARY KEY,\n" \
        "        hash TEXT NOT NULL UNIQUE,\n" \
        "        created_at INTEGER NOT NULL,\n" \
        "        last_used_at INTEGER NOT NULL DEFAULT 0\n" \
        ");\n"

static char tmp[64];

static inline char *path_in(const char *rel)
{
        char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", tmp, rel) > 0);
        return p;
}

static inline int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)type;
        (void)ftw;
        return remove(path);
}

static inline int make_tmp(void **state)
{
        (void)state;
        snprintf(tmp, sizeof(tmp), "/tmp/hwpass-store-XXXXXX");
        assert_non_null(mkdtemp(tmp));
        return 0;
}

static inline int remove_tmp(void **state)
{
        (void)state;
        assert_int_equal(nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        return 0;
}

static inline sqlite3 *raw_open(const char *path)
{
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        return db;
}

/* Opens the store for writing; any error fails the test. */
/* The integer in the first column of the one row sql returns. */
/* The first column of the first row as text, "NULL" for SQL NULL; the
 * caller frees it. */
static inline char *raw_text_db(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *st = NULL;
        char *s;

        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        s = strdup(sqlite3_column_type(st, 0) == SQLITE_NULL ? "NULL" : (const char *)sqlite3_column_text(st, 0));
        assert_non_null(s);
        assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
        return s;
}

/* The same on the file at path, behind the store's back. */
static inline char *raw_text(const char *path, const char *sql)
{
        sqlite3 *db = raw_open(path);
        char *s = raw_text_db(db, sql);

        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        return s;
}

static inline int64_t raw_int(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *st = NULL;
        int64_t v;

        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
        return v;
}

static inline struct hp_store *open_ok(const char *path)
{
        struct hp_store *s = NULL;
        char *error = NULL;
        int r = hp_store_open(path, &s, &error);

        if (r < 0)
                fail_msg("hp_store_open(%s): %d %s", path, r, error ? error : "(no message)");
        assert_null(error);
        assert_non_null(s);
        return s;
}

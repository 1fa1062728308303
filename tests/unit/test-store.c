/* Unit tests: the state store's devices, transactions and events, on either
 * backend (store-url.h): SQLite files in a temporary directory, or databases
 * on a PostgreSQL server; plain SQL on a connection of its own checks what
 * was stored. What only an SQLite file has (its modes, WAL, its upgrades
 * from schema 1) is tested on SQLite alone. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/macro.h"

#include "store-tmp.h"
#include "store-config.h"
#include "store-url.h"
#include "util/strutil.h"


static void test_open_creates(void **state)
{
        _cleanup_free_ char *dir = path_in("new/sub"), *path = path_in("new/sub/state.db");
        _cleanup_free_ char *top = path_in("new");
        struct hp_store *s;
        struct stat st;
        sqlite3 *db;

        (void)state;
        assert_int_equal(stat(top, &st), -1);
        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        assert_int_equal(HP_STORE_SCHEMA_VERSION, 12);
        assert_int_equal(stat(top, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        hp_store_close(s);

        db = raw_open(path);
        assert_int_equal(raw_int(db, "SELECT version FROM schema_version"),
                         HP_STORE_SCHEMA_VERSION);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                     "AND name IN ('devices', 'device_attrs', 'events')"),
                         3);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);

        /* Opening again runs no migration twice. */
        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        hp_store_close(s);
        hp_store_close(NULL);
}

static void test_wal(void **state)
{
        _cleanup_free_ char *path = path_in("wal.db"), *mode = NULL;
        struct hp_store *s;
        sqlite3 *db;

        (void)state;
        s = open_ok(path);
        /* WAL is a property of the file: another connection sees it. */
        db = raw_open(path);
        mode = raw_text_db(db, "PRAGMA journal_mode");
        assert_string_equal(mode, "wal");
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        hp_store_close(s);
}

static void test_roundtrip(void **state)
{
        _cleanup_free_ char *path = store_new("roundtrip");
        const char *const attrs[] = {"zone=b", "rack=r12", "note=a=b c", "empty=", NULL};
        struct hp_dev_config c, got = {0}, bare = {0}, got_bare = {0};
        struct hp_store *s;
        int64_t before = time(NULL);

        (void)state;
        s = open_ok(path);
        config_fill(&c, "0000:01:00.0", "gpu-a", attrs);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        assert_int_equal(hp_store_device_get(s, "0000:01:00.0", &got), 0);
        assert_true(got.updated_at >= before && got.updated_at <= time(NULL));
        /* Attributes come back sorted by key, values intact. */
        assert_int_equal(hp_strv_length(got.attrs), 4);
        assert_string_equal(got.attrs[0], "empty=");
        assert_string_equal(got.attrs[1], "note=a=b c");
        assert_string_equal(got.attrs[2], "rack=r12");
        assert_string_equal(got.attrs[3], "zone=b");
        assert_null(got.attrs[4]);
        assert_string_equal(got.serial, "1a-2b-3c-ff-fe-00-00-01");
        assert_string_equal(got.health, "quarantined");
        assert_string_equal(got.reason, REASON);
        assert_int_equal(got.subsystem_device_id, 0xffff);
        assert_true(got.desired);

        /* NULLs stay NULL, empty attrs stay an empty vector, false stays false. */
        snprintf(bare.address, sizeof(bare.address), "0000:02:00.1");
        bare.health = strdup("ok");
        assert_int_equal(hp_store_device_put(s, &bare), 0);
        assert_int_equal(hp_store_device_get(s, "0000:02:00.1", &got_bare), 0);
        assert_null(got_bare.serial);
        assert_null(got_bare.slot);
        assert_null(got_bare.host_driver);
        assert_null(got_bare.label);
        assert_null(got_bare.reason);
        assert_null(got_bare.assigned_vm);
        assert_false(got_bare.desired);
        assert_int_equal(got_bare.vendor_id, 0);
        assert_string_equal(got_bare.health, "ok");
        assert_non_null(got_bare.attrs);
        assert_null(got_bare.attrs[0]);
        hp_store_close(s);

        /* Reopened, everything is still there. */
        s = open_ok(path);
        hp_dev_config_done(&got);
        assert_int_equal(hp_store_device_get(s, "0000:01:00.0", &got), 0);
        {
                /* The sorted form of what was put. */
                const char *const sorted[] = {"empty=", "note=a=b c", "rack=r12", "zone=b", NULL};
                struct hp_dev_config want;

                config_fill(&want, "0000:01:00.0", "gpu-a", sorted);
                assert_config_equal(&got, &want);
                hp_dev_config_done(&want);
        }
        hp_store_close(s);
        hp_dev_config_done(&c);
        hp_dev_config_done(&got);
        hp_dev_config_done(&bare);
        hp_dev_config_done(&got_bare);
        hp_dev_config_done(&got_bare); /* idempotent on a zeroed one */
}

static void test_copy(void **state)
{
        const char *const attrs[] = {"a=1", "b=2", NULL};
        struct hp_dev_config c, copy = {0};

        (void)state;
        config_fill(&c, "0000:03:00.0", NULL, attrs);
        c.updated_at = 42;
        assert_int_equal(hp_dev_config_copy(&c, &copy), 0);
        assert_config_equal(&c, &copy);
        assert_int_equal(copy.updated_at, 42);
        assert_ptr_not_equal(copy.serial, c.serial);
        assert_ptr_not_equal(copy.reason, c.reason);
        assert_ptr_not_equal(copy.attrs, c.attrs);
        hp_dev_config_done(&c);
        assert_string_equal(copy.attrs[1], "b=2"); /* still its own after the original is gone */
        hp_dev_config_done(&copy);
}

static void test_list_order(void **state)
{
        _cleanup_free_ char *path = store_new("list");
        const char *const addrs[] = {"0000:41:00.0", "0000:01:00.1", "0001:00:02.0", "0000:01:00.0",
                                     "0000:0a:00.0"};
        const char *const want[] = {"0000:01:00.0", "0000:01:00.1", "0000:0a:00.0", "0000:41:00.0",
                                    "0001:00:02.0"};
        struct hp_dev_config *v = (struct hp_dev_config *)1;
        struct hp_store *s;
        size_t n = 99;

        (void)state;
        s = open_ok(path);
        assert_int_equal(hp_store_device_list(s, &v, &n), 0);
        assert_int_equal(n, 0);
        assert_null(v);
        for (size_t i = 0; i < ELEMENTSOF(addrs); i++) {
                char kv[32];
                const char *attrs[] = {kv, NULL};
                struct hp_dev_config c;

                snprintf(kv, sizeof(kv), "n=%zu", i);
                /* The fourth device gets no attributes. */
                config_fill(&c, addrs[i], NULL, i == 3 ? NULL : attrs);
                assert_int_equal(hp_store_device_put(s, &c), 0);
                hp_dev_config_done(&c);
        }
        assert_int_equal(hp_store_device_list(s, &v, &n), 0);
        assert_int_equal(n, ELEMENTSOF(want));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(v[i].address, want[i]);
        /* Attributes reach their own device. */
        assert_string_equal(v[0].address, "0000:01:00.0");
        assert_null(v[0].attrs[0]);
        assert_string_equal(v[1].attrs[0], "n=1");
        assert_string_equal(v[2].attrs[0], "n=4");
        assert_string_equal(v[3].attrs[0], "n=0");
        assert_string_equal(v[4].attrs[0], "n=2");
        for (size_t i = 1; i < n; i++)
                assert_null(v[i].attrs[1]);
        hp_dev_configs_free(v, n);
        hp_dev_configs_free(NULL, 0);
        hp_store_close(s);
}

static void test_put_replaces(void **state)
{
        _cleanup_free_ char *path = store_new("replace");
        const char *const first[] = {"a=1", "b=2", "c=3", NULL};
        const char *const second[] = {"b=20", "d=4", NULL};
        struct hp_dev_config c, got = {0};
        struct hp_store *s;

        (void)state;
        s = open_ok(path);
        config_fill(&c, "0000:05:00.0", "old", first);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        hp_dev_config_done(&c);
        config_fill(&c, "0000:05:00.0", NULL, second);
        c.desired = false;
        free(c.assigned_vm);
        c.assigned_vm = NULL;
        free(c.reason);
        c.reason = NULL; /* applied this time: the old reason goes */
        c.vendor_id = 0x8086;
        assert_int_equal(hp_store_device_put(s, &c), 0);
        assert_int_equal(hp_store_device_get(s, "0000:05:00.0", &got), 0);
        assert_config_equal(&got, &c);
        assert_null(got.reason);
        assert_int_equal(hp_strv_length(got.attrs), 2);
        assert_string_equal(got.attrs[0], "b=20");
        assert_string_equal(got.attrs[1], "d=4");
        hp_dev_config_done(&got);
        hp_dev_config_done(&c);
        hp_store_close(s);

        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM devices"), 1);
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM device_attrs"), 2);
}

static void test_failed_put_keeps_row(void **state)
{
        _cleanup_free_ char *path = store_new("failedput");
        const char *const good[] = {"a=1", NULL};
        const char *const dup[] = {"a=1", "b=2", "a=3", NULL};
        const char *const nokey[] = {"=x", NULL};
        const char *const noeq[] = {"flag", NULL};
        struct hp_dev_config c, bad, got = {0};
        struct hp_store *s;

        (void)state;
        s = open_ok(path);
        config_fill(&c, "0000:06:00.0", "keep", good);
        assert_int_equal(hp_store_device_put(s, &c), 0);

        /* The duplicate key fails inside the transaction, after the row was updated. */
        config_fill(&bad, "0000:06:00.0", "lost", dup);
        assert_int_equal(hp_store_device_put(s, &bad), -EEXIST);
        hp_dev_config_done(&bad);
        config_fill(&bad, "0000:06:00.0", "lost", nokey);
        assert_int_equal(hp_store_device_put(s, &bad), -EINVAL);
        hp_dev_config_done(&bad);
        config_fill(&bad, "0000:06:00.0", "lost", noeq);
        assert_int_equal(hp_store_device_put(s, &bad), -EINVAL);
        hp_dev_config_done(&bad);
        config_fill(&bad, "0000:06:00.0", "lost", good);
        free(bad.health);
        bad.health = strdup("broken");
        assert_int_equal(hp_store_device_put(s, &bad), -EINVAL);
        free(bad.health);
        bad.health = NULL;
        assert_int_equal(hp_store_device_put(s, &bad), -EINVAL);
        hp_dev_config_done(&bad);
        /* Non-canonical addresses would make a second key for one device. */
        config_fill(&bad, "0000:06:00.0", "lost", good);
        memcpy(bad.address, "0000:0A:00.0", 13);
        assert_int_equal(hp_store_device_put(s, &bad), -EINVAL);
        memcpy(bad.address, "06:00.0", 8);
        assert_int_equal(hp_store_device_put(s, &bad), -EINVAL);
        hp_dev_config_done(&bad);
        assert_int_equal(hp_store_device_get(s, "06:00.0", &got), -EINVAL);

        assert_int_equal(hp_store_device_get(s, "0000:06:00.0", &got), 0);
        assert_config_equal(&got, &c);
        assert_string_equal(got.label, "keep");
        hp_dev_config_done(&got);
        hp_dev_config_done(&c);
        hp_store_close(s);
}

static void test_delete(void **state)
{
        _cleanup_free_ char *path = store_new("delete");
        const char *const attrs[] = {"a=1", "b=2", NULL};
        struct hp_dev_config c, got = {0};
        struct hp_store *s;

        (void)state;
        s = open_ok(path);
        config_fill(&c, "0000:07:00.0", NULL, attrs);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        memcpy(c.address, "0000:07:00.1", 13);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        hp_dev_config_done(&c);

        assert_int_equal(hp_store_device_delete(s, "0000:07:00.0"), 0);
        assert_int_equal(hp_store_device_get(s, "0000:07:00.0", &got), -ENOENT);
        assert_int_equal(hp_store_device_delete(s, "0000:07:00.0"), -ENOENT);
        assert_int_equal(hp_store_device_delete(s, "0000:99:00.0"), -ENOENT);
        assert_int_equal(hp_store_device_delete(s, "garbage"), -EINVAL);
        assert_int_equal(hp_store_device_get(s, "0000:07:00.1", &got), 0);
        hp_dev_config_done(&got);
        hp_store_close(s);

        /* The attributes went with the row; the other device's stayed. */
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM device_attrs "
                                           "WHERE address = '0000:07:00.0'"),
                         0);
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM device_attrs "
                                           "WHERE address = '0000:07:00.1'"),
                         2);
}

static void test_transactions(void **state)
{
        _cleanup_free_ char *path = store_new("tx");
        const char *const attrs[] = {"a=1", NULL};
        const char *const dup[] = {"a=1", "a=2", NULL};
        struct hp_dev_config c, bad, got = {0}, *v = NULL;
        struct hp_store *s;
        size_t n = 0;

        (void)state;
        s = open_ok(path);
        assert_int_equal(hp_store_commit(s), -EINVAL);
        assert_int_equal(hp_store_rollback(s), 0);

        /* Rolled back: nothing at all. */
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_begin(s), -EALREADY);
        config_fill(&c, "0000:08:00.0", NULL, attrs);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        assert_int_equal(hp_store_device_get(s, "0000:08:00.0", &got), 0); /* visible inside */
        hp_dev_config_done(&got);
        memcpy(c.address, "0000:08:00.1", 13);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        assert_int_equal(hp_store_event_add(s, "enable", "0000:08:00.1", NULL), 0);
        assert_int_equal(hp_store_rollback(s), 0);
        assert_int_equal(hp_store_device_get(s, "0000:08:00.0", &got), -ENOENT);
        assert_int_equal(hp_store_device_list(s, &v, &n), 0);
        assert_int_equal(n, 0);
        assert_null(v);

        /* A failing put inside a transaction undoes only itself. */
        assert_int_equal(hp_store_begin(s), 0);
        memcpy(c.address, "0000:08:00.0", 13);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        config_fill(&bad, "0000:08:00.1", NULL, dup);
        assert_int_equal(hp_store_device_put(s, &bad), -EEXIST);
        hp_dev_config_done(&bad);
        assert_int_equal(hp_store_commit(s), 0);
        assert_int_equal(hp_store_commit(s), -EINVAL);
        assert_int_equal(hp_store_device_list(s, &v, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].address, "0000:08:00.0");
        assert_string_equal(v[0].attrs[0], "a=1");
        hp_dev_configs_free(v, n);
        hp_dev_config_done(&c);
        hp_store_close(s);

        /* Closing with a transaction open rolls it back. */
        s = open_ok(path);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_device_delete(s, "0000:08:00.0"), 0);
        hp_store_close(s);
        s = open_ok(path);
        assert_int_equal(hp_store_device_get(s, "0000:08:00.0", &got), 0);
        hp_dev_config_done(&got);
        hp_store_close(s);
}

static void test_events(void **state)
{
        _cleanup_free_ char *path = store_new("events"), *kind = NULL, *subject = NULL;
        struct hp_store *s;
        int64_t before = time(NULL);

        (void)state;
        s = open_ok(path);
        assert_int_equal(hp_store_event_add(s, "enable", "0000:01:00.0", "by root"), 0);
        assert_int_equal(hp_store_event_add(s, "quarantine", NULL, NULL), 0);
        assert_int_equal(hp_store_event_add(s, NULL, "x", "y"), -EINVAL);
        assert_int_equal(hp_store_event_add(s, "", "x", "y"), -EINVAL);
        hp_store_close(s);

        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM events"), 2);
        kind = raw_text_any(path, "SELECT kind || ' ' || subject || ' ' || message FROM events "
                                  "ORDER BY id LIMIT 1");
        assert_string_equal(kind, "enable 0000:01:00.0 by root");
        subject = raw_text_any(path, "SELECT subject FROM events ORDER BY id DESC LIMIT 1");
        assert_string_equal(subject, "NULL");
        assert_true(raw_int_any(path, "SELECT min(at) FROM events") >= before);
}

static void test_readonly(void **state)
{
        _cleanup_free_ char *missing = path_in("nothere/state.db"), *path = store_new("ro");
        _cleanup_free_ char *nodir = path_in("nothere");
        const char *const attrs[] = {"a=1", NULL};
        struct hp_store *s = (struct hp_store *)1, *ro = NULL;
        struct hp_dev_config c, got = {0}, *v = NULL;
        char *error = NULL;
        struct stat st;
        size_t n = 0;

        (void)state;
        /* No store yet: no file (SQLite), an empty database (PostgreSQL). */
        if (test_on_pg()) {
                free(missing);
                missing = store_new("ro_missing");
        }
        assert_int_equal(hp_store_open_readonly(missing, &s, &error), -ENOENT);
        assert_ptr_equal(s, (struct hp_store *)1);
        assert_non_null(error);
        assert_non_null(strstr(error, missing));
        free(error);
        error = NULL;
        assert_int_equal(hp_store_open_readonly(missing, &s, NULL), -ENOENT);
        assert_int_equal(stat(nodir, &st), -1); /* created nothing */

        s = open_ok(path);
        config_fill(&c, "0000:09:00.0", "ro", attrs);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        hp_store_close(s);

        assert_int_equal(hp_store_open_readonly(path, &ro, &error), 0);
        assert_null(error);
        assert_int_equal(hp_store_schema_version(ro), HP_STORE_SCHEMA_VERSION);
        assert_int_equal(hp_store_device_get(ro, "0000:09:00.0", &got), 0);
        assert_config_equal(&got, &c);
        assert_int_equal(hp_store_device_list(ro, &v, &n), 0);
        assert_int_equal(n, 1);
        hp_dev_configs_free(v, n);
        memcpy(c.address, "0000:09:00.1", 13);
        assert_int_equal(hp_store_device_put(ro, &c), -EROFS);
        assert_int_equal(hp_store_device_delete(ro, "0000:09:00.0"), -EROFS);
        assert_int_equal(hp_store_event_add(ro, "enable", NULL, NULL), -EROFS);
        hp_store_close(ro);

        s = open_ok(path);
        assert_int_equal(hp_store_device_get(s, "0000:09:00.1", &got), -ENOENT);
        hp_dev_config_done(&got);
        assert_int_equal(hp_store_device_get(s, "0000:09:00.0", &got), 0);
        hp_store_close(s);
        hp_dev_config_done(&got);
        hp_dev_config_done(&c);
}

static void test_not_a_database(void **state)
{
        _cleanup_free_ char *path = path_in("junk.db"), *error = NULL, *error_ro = NULL;
        struct hp_store *s = NULL;
        struct stat st;

        (void)state;
        write_file(path, "this is a text file, not a SQLite database\n", 200);
        assert_int_equal(hp_store_open(path, &s, &error), -EBADMSG);
        assert_null(s);
        assert_non_null(error);
        assert_non_null(strstr(error, path));
        assert_non_null(strstr(error, "not a database"));
        assert_int_equal(hp_store_open_readonly(path, &s, &error_ro), -EBADMSG);
        assert_non_null(strstr(error_ro, path));
        assert_null(s);
        /* Left as it was. */
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 200 * strlen("this is a text file, not a SQLite database\n"));
}

static void test_newer_schema(void **state)
{
        _cleanup_free_ char *path = store_new("future"), *error = NULL, *error_ro = NULL;
        struct hp_store *s = NULL;

        (void)state;
        hp_store_close(open_ok(path));
        raw_exec_any(path, "UPDATE schema_version SET version = 99");

        assert_int_equal(hp_store_open(path, &s, &error), -EPROTONOSUPPORT);
        assert_null(s);
        assert_non_null(error);
        assert_non_null(strstr(error, path));
        assert_non_null(strstr(error, "schema version 99"));
        assert_non_null(strstr(error, "newer"));
        assert_int_equal(hp_store_open_readonly(path, &s, &error_ro), -EPROTONOSUPPORT);
        assert_null(s);
        assert_non_null(strstr(error_ro, "schema version 99"));

        assert_int_equal(raw_int_any(path, "SELECT version FROM schema_version"), 99);
}

/* A file as hwpass wrote it at schema version 1: migration 1 as shipped,
 * copied here so the test keeps describing those files whatever happens to
 * sqlite-migrations.c, with one device (two attributes) and one event. */
static void create_v1(const char *path)
{
        static const char v1[] =
                SCHEMA_V1_SQL
                "INSERT INTO schema_version (id, version) VALUES (1, 1);\n"
                "INSERT INTO devices VALUES ('0000:01:00.0', 4318, 8708, 5208, 65535, "
                "'1a-2b-3c-ff-fe-00-00-01', 'PCIe x16 slot 1', 1, 'nvidia', 'gpu-a', "
                "'quarantined', 'win11', 1700000000);\n"
                "INSERT INTO device_attrs VALUES ('0000:01:00.0', 'rack', 'r12'), "
                "('0000:01:00.0', 'zone', 'b');\n"
                "INSERT INTO events (at, kind, subject, message) "
                "VALUES (1700000000, 'enable', '0000:01:00.0', 'by root');\n";
        sqlite3 *db = NULL;

        assert_int_equal(
                sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t raw_version(const char *path, int64_t *ret_has_reason)
{
        sqlite3 *db = raw_open(path);
        int64_t v = raw_int(db, "SELECT version FROM schema_version");

        *ret_has_reason = raw_int(db, "SELECT count(*) FROM pragma_table_info('devices') "
                                      "WHERE name = 'reason'");
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        return v;
}

static void test_migrate_v1(void **state)
{
        _cleanup_free_ char *path = path_in("v1.db"), *error = NULL;
        const char *const attrs[] = {"rack=r12", "zone=b", NULL};
        struct hp_dev_config want, got = {0};
        struct hp_store *s = NULL;
        int64_t has_reason;
        sqlite3 *db;

        (void)state;
        create_v1(path);

        /* Read-only cannot upgrade it, and the statements need the reason column:
         * refused as older, and the file is left at version 1. */
        assert_int_equal(hp_store_open_readonly(path, &s, &error), -EPROTONOSUPPORT);
        assert_null(s);
        assert_non_null(error);
        assert_non_null(strstr(error, path));
        assert_non_null(strstr(error, "schema version 1,"));
        assert_non_null(strstr(error, "older"));
        assert_int_equal(raw_version(path, &has_reason), 1);
        assert_int_equal(has_reason, 0);

        /* A read-write open migrates it, keeping the rows. */
        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        assert_int_equal(hp_store_device_get(s, "0000:01:00.0", &got), 0);
        config_fill(&want, "0000:01:00.0", "gpu-a", attrs);
        free(want.reason);
        want.reason = NULL;
        assert_config_equal(&got, &want);
        assert_null(got.reason);
        assert_int_equal(got.updated_at, 1700000000);
        hp_dev_config_done(&got);

        /* The new column takes a value like the others. */
        want.reason = strdup(REASON);
        assert_int_equal(hp_store_device_put(s, &want), 0);
        hp_store_close(s);
        assert_int_equal(raw_version(path, &has_reason), HP_STORE_SCHEMA_VERSION);
        assert_int_equal(has_reason, 1);
        db = raw_open(path);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM events"), 1);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM device_attrs"), 2);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);

        /* Now current: read-only opens it, and a second open migrates nothing. */
        assert_int_equal(hp_store_open_readonly(path, &s, NULL), 0);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        assert_int_equal(hp_store_device_get(s, "0000:01:00.0", &got), 0);
        assert_config_equal(&got, &want);
        hp_dev_config_done(&got);
        hp_store_close(s);
        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        hp_store_close(s);
        hp_dev_config_done(&want);
}

static void test_readonly_empty(void **state)
{
        _cleanup_free_ char *path = store_new("empty"), *error = NULL;
        struct hp_store *s = NULL;

        (void)state;
        if (!test_on_pg())
                write_file(path, "", 1); /* a database (PostgreSQL) is empty when new */
        assert_int_equal(hp_store_open_readonly(path, &s, &error), -ENOENT);
        assert_null(s);
        assert_non_null(strstr(error, path));
        /* A read-write open makes it a store. */
        s = open_ok(path);
        hp_store_close(s);
        assert_int_equal(hp_store_open_readonly(path, &s, NULL), 0);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        hp_store_close(s);
}

int main(void)
{
        const struct CMUnitTest sqlite_only[] = {
                cmocka_unit_test(test_open_creates),
                cmocka_unit_test(test_wal),
                cmocka_unit_test(test_not_a_database),
                cmocka_unit_test(test_migrate_v1),
        };
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_copy),
                cmocka_unit_test(test_list_order),
                cmocka_unit_test(test_put_replaces),
                cmocka_unit_test(test_failed_put_keeps_row),
                cmocka_unit_test(test_delete),
                cmocka_unit_test(test_transactions),
                cmocka_unit_test(test_events),
                cmocka_unit_test(test_readonly),
                cmocka_unit_test(test_newer_schema),
                cmocka_unit_test(test_readonly_empty),
        };

        return run_store_tests("store", sqlite_only, ELEMENTSOF(sqlite_only), tests,
                               ELEMENTSOF(tests));
}

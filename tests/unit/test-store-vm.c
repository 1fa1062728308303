/* Unit tests: the store's VMs and device assignment (schema 3), on either
 * backend (store-url.h): SQLite files in a temporary directory, or databases
 * on a PostgreSQL server. A connection of its own checks what was committed;
 * the upgrade of an SQLite file of schema 2 is SQLite's alone. */
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
#include "store-url.h"
#include "store-rows.h"

#define A "0000:01:00.0"
#define B "0000:01:00.1"
#define C "0000:02:00.0"
#define D "0000:03:00.0"
#define MISSING "0000:99:00.0"
#define SPEC1 "{\"vcpus\":4,\"memory\":\"8G\"}"
#define SPEC2 "{\"vcpus\":8,\"memory\":\"16G\",\"firmware\":\"efi\"}"

/* Every device and its holder ("-" when free), as committed: what a
 * connection of its own reads. */
static void assert_holders(const char *path, const char *want)
{
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_free_ char *got = NULL;
        struct hp_dev_config *v = NULL;
        size_t n = 0, size = 0;
        FILE *f = open_memstream(&got, &size);

        assert_non_null(f);
        assert_int_equal(hp_store_device_list(s, &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s=%s", i ? " " : "", v[i].address,
                        v[i].assigned_vm ? v[i].assigned_vm : "-");
        assert_int_equal(fclose(f), 0);
        hp_dev_configs_free(v, n);
        assert_string_equal(got, want);
}

static void assert_vm_names(const char *path, const char *want)
{
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_free_ char *got = vm_names(s);

        assert_string_equal(got, want);
}

/* A store with devices A, B, C, D, all free, and VMs vm1 and vm2. */
static struct hp_store *open_with_devices(const char *path)
{
        struct hp_store *s = open_ok(path);
        const char *const addrs[] = {A, B, C, D};

        for (size_t i = 0; i < ELEMENTSOF(addrs); i++)
                put_device(s, addrs[i], NULL);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC1), 0);
        assert_int_equal(hp_store_vm_create(s, "vm2", SPEC2), 0);
        return s;
}

static double now_s(void)
{
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A file as hwpass wrote it at schema version 2 (migrations 1 and 2 as
 * shipped, copied here), with an assigned device, a free one with an
 * attribute, and one event. */
static void create_v2(const char *path)
{
        static const char v2[] =
                SCHEMA_V1_SQL
                "ALTER TABLE devices ADD COLUMN reason TEXT;\n"
                "INSERT INTO schema_version (id, version) VALUES (1, 2);\n"
                "INSERT INTO devices VALUES ('" A "', 4318, 8708, 5208, 65535, "
                "'1a-2b-3c-ff-fe-00-00-01', 'PCIe x16 slot 1', 1, 'nvidia', 'gpu-a', "
                "'ok', 'win11', 1700000000, NULL);\n"
                "INSERT INTO devices VALUES ('" C "', 32902, 5427, 0, 0, NULL, NULL, 0, "
                "'igb', NULL, 'quarantined', NULL, 1700000001, 'reboot required');\n"
                "INSERT INTO device_attrs VALUES ('" C "', 'rack', 'r12');\n"
                "INSERT INTO events (at, kind, subject, message) "
                "VALUES (1700000000, 'enable', '" A "', 'by root');\n";
        sqlite3 *db = NULL;

        assert_int_equal(
                sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, v2, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_migrate_v2(void **state)
{
        _cleanup_free_ char *path = path_in("v2.db"), *error = NULL, *version = NULL;
        _cleanup_free_ char *cols = NULL, *counts = NULL;
        struct hp_dev_config got = {0};
        struct hp_vm_record *v = (struct hp_vm_record *)1;
        struct hp_store *s = NULL;
        size_t n = 99;

        (void)state;
        assert_int_equal(HP_STORE_SCHEMA_VERSION, 12);
        create_v2(path);

        /* Read-only cannot add the table the statements need: refused, untouched. */
        assert_int_equal(hp_store_open_readonly(path, &s, &error), -EPROTONOSUPPORT);
        assert_null(s);
        assert_non_null(strstr(error, "schema version 2,"));
        assert_non_null(strstr(error, "start hwpassd once"));
        version = raw_text(path, "SELECT version FROM schema_version");
        assert_string_equal(version, "2");

        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        /* The devices are as they were, the assignment included. */
        assert_int_equal(hp_store_device_get(s, A, &got), 0);
        assert_string_equal(got.label, "gpu-a");
        assert_string_equal(got.assigned_vm, "win11");
        assert_string_equal(got.host_driver, "nvidia");
        assert_int_equal(got.vendor_id, 0x10de);
        assert_int_equal(got.updated_at, 1700000000);
        assert_null(got.reason);
        hp_dev_config_done(&got);
        assert_int_equal(hp_store_device_get(s, C, &got), 0);
        assert_string_equal(got.health, "quarantined");
        assert_string_equal(got.reason, "reboot required");
        assert_string_equal(got.attrs[0], "rack=r12");
        assert_null(got.assigned_vm);
        hp_dev_config_done(&got);
        /* And there are no VMs yet, but they can be made. */
        assert_int_equal(hp_store_vm_list(s, &v, &n), 0);
        assert_null(v);
        assert_int_equal(n, 0);
        assert_int_equal(hp_store_vm_create(s, "win11", SPEC1), 0);
        hp_store_close(s);

        free(version);
        version = raw_text(path, "SELECT version FROM schema_version");
        assert_string_equal(version, "12");
        /* 5: VMs are placed on hosts; 7: their names are the store's, and
         * they have a desired state, an epoch and a reported state; 8: the
         * hosts their power-on failed on; 10: the host they move off. */
        cols = raw_text(path, "SELECT group_concat(name, ',') FROM pragma_table_info('vms')");
        assert_string_equal(cols, "host,name,spec,state,pid,qmp_path,started_at,created_at,"
                                  "updated_at,desired,epoch,reported_state,reported_ms,start_failures,moving_from");
        free(cols);
        /* 4: who did what, and the API's tokens; 5: on which host; 11: the tokens' roles; 12: their
         * limits. */
        cols = raw_text(path, "SELECT group_concat(name, ',') FROM pragma_table_info('events')");
        assert_string_equal(cols, "id,at,kind,subject,message,actor,host");
        free(cols);
        cols = raw_text(path, "SELECT group_concat(name, ',') FROM pragma_table_info('tokens')");
        assert_string_equal(cols, "name,hash,created_at,last_used_at,role,hosts,vms");
        counts = raw_text(path, "SELECT (SELECT count(*) FROM devices) || ' ' || "
                                "(SELECT count(*) FROM device_attrs) || ' ' || "
                                "(SELECT count(*) FROM events)");
        assert_string_equal(counts, "2 1 1");
        assert_holders(path, A "=win11 " C "=-");

        /* Current now: read-only opens it and sees the VM. */
        assert_int_equal(hp_store_open_readonly(path, &s, NULL), 0);
        assert_int_equal(hp_store_vm_list(s, &v, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].name, "win11");
        hp_vm_records_free(v, n);
        hp_store_close(s);
}

static void test_vm_roundtrip(void **state)
{
        _cleanup_free_ char *path = store_new("vms");
        struct hp_vm_record got = {0}, *v = NULL;
        struct hp_store *s;
        int64_t before = time(NULL);
        size_t n = 0;

        (void)state;
        s = open_ok(path);
        assert_int_equal(hp_store_vm_create(s, "win11", SPEC1), 0);
        assert_int_equal(hp_store_vm_create(s, "alpine", ""), 0); /* the spec is opaque */
        assert_int_equal(hp_store_vm_create(s, "media", SPEC2), 0);

        assert_int_equal(hp_store_vm_get(s, "win11", &got), 0);
        assert_string_equal(got.name, "win11");
        assert_string_equal(got.spec_json, SPEC1);
        assert_string_equal(got.state, "off");
        assert_int_equal(got.pid, 0);
        assert_null(got.qmp_path);
        assert_int_equal(got.started_at, 0);
        assert_true(got.created_at >= before && got.created_at <= time(NULL));
        assert_int_equal(got.updated_at, got.created_at);
        hp_vm_record_done(&got);
        hp_vm_record_done(&got); /* idempotent on a zeroed one */
        hp_vm_record_done(NULL);

        assert_int_equal(hp_store_vm_list(s, &v, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(v[0].name, "alpine");
        assert_string_equal(v[0].spec_json, "");
        assert_string_equal(v[1].name, "media");
        assert_string_equal(v[1].spec_json, SPEC2);
        assert_string_equal(v[2].name, "win11");
        hp_vm_records_free(v, n);
        hp_vm_records_free(NULL, 0);

        assert_int_equal(hp_store_vm_update_spec(s, "win11", SPEC2), 0);
        assert_int_equal(hp_store_vm_set_runtime(s, "win11", "running", 4242,
                                                 "/run/hwpass/win11.qmp", 1700000123),
                         0);
        hp_store_close(s);

        /* Reopened, the changes are there. */
        s = open_ok(path);
        assert_int_equal(hp_store_vm_get(s, "win11", &got), 0);
        assert_string_equal(got.spec_json, SPEC2);
        assert_string_equal(got.state, "running");
        assert_int_equal(got.pid, 4242);
        assert_string_equal(got.qmp_path, "/run/hwpass/win11.qmp");
        assert_int_equal(got.started_at, 1700000123);
        assert_true(got.updated_at >= got.created_at && got.updated_at <= time(NULL));
        hp_vm_record_done(&got);
        /* Back off: no pid, no socket. */
        assert_int_equal(hp_store_vm_set_runtime(s, "win11", "off", 0, NULL, 0), 0);
        assert_int_equal(hp_store_vm_get(s, "win11", &got), 0);
        assert_string_equal(got.state, "off");
        assert_int_equal(got.pid, 0);
        assert_null(got.qmp_path);
        hp_vm_record_done(&got);

        assert_int_equal(hp_store_vm_delete(s, "media"), 0);
        assert_int_equal(hp_store_vm_get(s, "media", &got), -ENOENT);
        hp_store_close(s);
        assert_vm_names(path, "alpine win11");
}

static void test_vm_errors(void **state)
{
        _cleanup_free_ char *path = store_new("vmerr");
        struct hp_vm_record got = {0};
        struct hp_store *s, *ro = NULL;

        (void)state;
        s = open_ok(path);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC1), 0);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC2), -EEXIST);
        assert_int_equal(hp_store_vm_create(s, "", SPEC1), -EINVAL);
        assert_int_equal(hp_store_vm_create(s, NULL, SPEC1), -EINVAL);
        assert_int_equal(hp_store_vm_create(s, "vm2", NULL), -EINVAL);

        assert_int_equal(hp_store_vm_get(s, "nope", &got), -ENOENT);
        assert_int_equal(hp_store_vm_get(s, "", &got), -EINVAL);
        assert_int_equal(hp_store_vm_update_spec(s, "nope", SPEC2), -ENOENT);
        assert_int_equal(hp_store_vm_update_spec(s, "vm1", NULL), -EINVAL);
        assert_int_equal(hp_store_vm_set_runtime(s, "nope", "running", 1, NULL, 1), -ENOENT);
        assert_int_equal(hp_store_vm_delete(s, "nope"), -ENOENT);
        assert_int_equal(hp_store_vm_delete(s, ""), -EINVAL);

        /* Bad runtime values are refused before they reach the row. */
        assert_int_equal(hp_store_vm_set_runtime(s, "vm1", "paused", 1, NULL, 1), -EINVAL);
        assert_int_equal(hp_store_vm_set_runtime(s, "vm1", "RUNNING", 1, NULL, 1), -EINVAL);
        assert_int_equal(hp_store_vm_set_runtime(s, "vm1", "", 1, NULL, 1), -EINVAL);
        assert_int_equal(hp_store_vm_set_runtime(s, "vm1", NULL, 1, NULL, 1), -EINVAL);
        assert_int_equal(hp_store_vm_set_runtime(s, "vm1", "running", -1, NULL, 1), -EINVAL);
        assert_int_equal(hp_store_vm_set_runtime(s, "vm1", "running", 1, NULL, -1), -EINVAL);

        /* Nothing of that changed vm1. */
        assert_int_equal(hp_store_vm_get(s, "vm1", &got), 0);
        assert_string_equal(got.spec_json, SPEC1);
        assert_string_equal(got.state, "off");
        assert_int_equal(got.pid, 0);
        hp_vm_record_done(&got);
        hp_store_close(s);
        assert_vm_names(path, "vm1");

        /* The schema refuses a bad state even from outside the store. */
        if (test_on_pg()) {
#if HP_HAVE_LIBPQ
                PGconn *c = pg_connect_ok(path);
                PGresult *res = PQexec(c, "UPDATE vms SET state = 'paused'");

                assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23514");
                PQclear(res);
                PQfinish(c);
#endif
        } else {
                sqlite3 *db = raw_open(path);

                assert_int_equal(sqlite3_exec(db, "UPDATE vms SET state = 'paused'", NULL, NULL,
                                              NULL) & 0xff,
                                 SQLITE_CONSTRAINT);
                assert_int_equal(sqlite3_close(db), SQLITE_OK);
        }

        /* Read-only: reads work, writes are -EROFS. */
        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), 0);
        assert_int_equal(hp_store_vm_get(ro, "vm1", &got), 0);
        hp_vm_record_done(&got);
        assert_int_equal(hp_store_vm_create(ro, "vm2", SPEC1), -EROFS);
        assert_int_equal(hp_store_vm_update_spec(ro, "vm1", SPEC2), -EROFS);
        assert_int_equal(hp_store_vm_delete(ro, "vm1"), -EROFS);
        assert_int_equal(hp_store_release_devices(ro, "vm1"), -EROFS);
        hp_store_close(ro);
}

static void test_assign(void **state)
{
        _cleanup_free_ char *path = store_new("assign");
        char *const ab[] = {A, B}, *const abc[] = {A, B, C}, *const da[] = {D, A};
        char *const dmissing[] = {D, MISSING}, *const bad[] = {D, "0000:0A:00.0"};
        char *const dd[] = {D, D}, *const c_only[] = {C};
        struct hp_store *s;
        char *blame = NULL;

        (void)state;
        s = open_with_devices(path);

        /* Free devices are assigned; again, and with one more, is fine. */
        assert_int_equal(hp_store_assign_devices(s, "vm1", ab, 2, &blame), 0);
        assert_null(blame);
        assert_holders(path, A "=vm1 " B "=vm1 " C "=- " D "=-");
        assert_int_equal(hp_store_assign_devices(s, "vm1", abc, 3, &blame), 0);
        assert_null(blame);
        assert_int_equal(hp_store_assign_devices(s, "vm1", NULL, 0, &blame), 0);
        assert_holders(path, A "=vm1 " B "=vm1 " C "=vm1 " D "=-");

        /* Another VM: the holder is named, and D (before A in the list) stays free. */
        assert_int_equal(hp_store_assign_devices(s, "vm2", da, 2, &blame), -EBUSY);
        assert_string_equal(blame, A " (held by vm1)");
        free(TAKE_PTR(blame));
        assert_holders(path, A "=vm1 " B "=vm1 " C "=vm1 " D "=-");
        assert_int_equal(hp_store_assign_devices(s, "vm2", da, 2, NULL), -EBUSY);

        /* A device without a row. */
        assert_int_equal(hp_store_assign_devices(s, "vm2", dmissing, 2, &blame), -ENOENT);
        assert_string_equal(blame, MISSING);
        free(TAKE_PTR(blame));
        /* A non-canonical address. */
        assert_int_equal(hp_store_assign_devices(s, "vm2", bad, 2, &blame), -EINVAL);
        assert_string_equal(blame, "0000:0A:00.0");
        free(TAKE_PTR(blame));
        /* A VM without a row: its devices could never be released by delete. */
        assert_int_equal(hp_store_assign_devices(s, "ghost", c_only, 1, &blame), -ENOENT);
        assert_null(blame);
        assert_int_equal(hp_store_assign_devices(s, "", c_only, 1, &blame), -EINVAL);
        assert_null(blame);
        assert_int_equal(hp_store_assign_devices(s, "vm2", NULL, 1, &blame), -EINVAL);
        assert_holders(path, A "=vm1 " B "=vm1 " C "=vm1 " D "=-");

        /* The same address twice in one call is one assignment. */
        assert_int_equal(hp_store_assign_devices(s, "vm2", dd, 2, &blame), 0);
        assert_holders(path, A "=vm1 " B "=vm1 " C "=vm1 " D "=vm2");

        /* Inside the caller's transaction: a failing assign undoes only itself,
         * a rollback undoes everything. */
        assert_int_equal(hp_store_release_devices(s, "vm2"), 1);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_vm_create(s, "vm3", SPEC1), 0);
        assert_int_equal(hp_store_assign_devices(s, "vm3", dd, 2, NULL), 0);
        assert_int_equal(hp_store_assign_devices(s, "vm3", da, 2, &blame), -EBUSY);
        free(TAKE_PTR(blame));
        assert_int_equal(hp_store_rollback(s), 0);
        assert_vm_names(path, "vm1 vm2");
        assert_holders(path, A "=vm1 " B "=vm1 " C "=vm1 " D "=-");
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_vm_create(s, "vm3", SPEC1), 0);
        assert_int_equal(hp_store_assign_devices(s, "vm3", dd, 2, NULL), 0);
        assert_int_equal(hp_store_assign_devices(s, "vm3", da, 2, NULL), -EBUSY);
        assert_int_equal(hp_store_commit(s), 0);
        assert_holders(path, A "=vm1 " B "=vm1 " C "=vm1 " D "=vm3");
        hp_store_close(s);
}

static void test_release_and_delete(void **state)
{
        _cleanup_free_ char *path = store_new("release");
        char *const ab[] = {A, B}, *const c_only[] = {C}, *const d_only[] = {D};
        struct hp_dev_config got = {0};
        struct hp_store *s;

        (void)state;
        s = open_with_devices(path);
        assert_int_equal(hp_store_assign_devices(s, "vm1", ab, 2, NULL), 0);
        assert_int_equal(hp_store_assign_devices(s, "vm2", c_only, 1, NULL), 0);

        /* Release frees only that VM's. */
        assert_int_equal(hp_store_release_devices(s, "vm1"), 2);
        assert_holders(path, A "=- " B "=- " C "=vm2 " D "=-");
        assert_int_equal(hp_store_release_devices(s, "vm1"), 0);
        assert_int_equal(hp_store_release_devices(s, "ghost"), 0);
        assert_int_equal(hp_store_release_devices(s, ""), -EINVAL);
        /* A released device takes a new holder. */
        assert_int_equal(hp_store_assign_devices(s, "vm2", ab, 2, NULL), 0);
        assert_holders(path, A "=vm2 " B "=vm2 " C "=vm2 " D "=-");

        /* Delete releases, and leaves the other VM's devices alone. */
        assert_int_equal(hp_store_assign_devices(s, "vm1", d_only, 1, NULL), 0);
        assert_int_equal(hp_store_vm_delete(s, "vm2"), 0);
        assert_holders(path, A "=- " B "=- " C "=- " D "=vm1");
        assert_vm_names(path, "vm1");
        assert_int_equal(hp_store_vm_delete(s, "vm2"), -ENOENT);
        assert_int_equal(hp_store_device_get(s, A, &got), 0); /* the rows stay */
        assert_null(got.assigned_vm);
        hp_dev_config_done(&got);

        /* A delete rolled back by the caller keeps the VM and its devices. */
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_vm_delete(s, "vm1"), 0);
        assert_holders(path, A "=- " B "=- " C "=- " D "=vm1"); /* uncommitted */
        assert_int_equal(hp_store_rollback(s), 0);
        assert_vm_names(path, "vm1");
        assert_holders(path, A "=- " B "=- " C "=- " D "=vm1");
        hp_store_close(s);
}

/* Two connections, as hwpassd and the CLI would hold: the device goes to one VM only. */
static void test_two_connections(void **state)
{
        _cleanup_free_ char *path = store_new("two");
        char *const a_only[] = {A}, *const b_only[] = {B}, *const c_only[] = {C};
        struct hp_store *s1, *s2;
        char *blame = NULL;

        (void)state;
        s1 = open_with_devices(path);
        s2 = open_ok(path);

        assert_int_equal(hp_store_assign_devices(s1, "vm1", a_only, 1, NULL), 0);
        assert_int_equal(hp_store_assign_devices(s2, "vm2", a_only, 1, &blame), -EBUSY);
        assert_string_equal(blame, A " (held by vm1)");
        free(TAKE_PTR(blame));

        /* While s1's assignment is uncommitted, s2 cannot even read-then-write:
         * it waits for the lock, then gives up without naming a holder. */
        assert_int_equal(hp_store_begin(s1), 0);
        assert_int_equal(hp_store_assign_devices(s1, "vm1", b_only, 1, NULL), 0);
        assert_int_equal(hp_store_set_busy_timeout(s2, 200), 0);
        assert_int_equal(hp_store_assign_devices(s2, "vm2", b_only, 1, &blame), -EBUSY);
        assert_null(blame);
        assert_int_equal(hp_store_commit(s1), 0);
        assert_int_equal(hp_store_assign_devices(s2, "vm2", b_only, 1, &blame), -EBUSY);
        assert_string_equal(blame, B " (held by vm1)");
        free(TAKE_PTR(blame));
        assert_int_equal(hp_store_set_busy_timeout(s2, 5000), 0);
        hp_store_close(s1);

        /* Another process assigns C and commits while this one waits: the
         * wait ends with the other's assignment seen, not overwritten. */
        {
                int fds[2], status = -1;
                double t0, waited;
                char byte = 0;
                pid_t pid;

                assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        struct hp_store *w = NULL;
                        int ok = hp_store_open(path, &w, NULL) == 0 && hp_store_begin(w) == 0 &&
                                 hp_store_assign_devices(w, "vm1", c_only, 1, NULL) == 0;

                        ok = ok && write(fds[1], "x", 1) == 1;
                        usleep(500 * 1000);
                        ok = ok && hp_store_commit(w) == 0;
                        hp_store_close(w);
                        _exit(ok ? 0 : 1);
                }
                close(fds[1]);
                assert_int_equal(read(fds[0], &byte, 1), 1);
                close(fds[0]);
                t0 = now_s();
                assert_int_equal(hp_store_assign_devices(s2, "vm2", c_only, 1, &blame), -EBUSY);
                waited = now_s() - t0;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                assert_true(waited >= 0.3);
                assert_string_equal(blame, C " (held by vm1)");
                free(TAKE_PTR(blame));
        }
        hp_store_close(s2);
        assert_holders(path, A "=vm1 " B "=vm1 " C "=vm1 " D "=-");
}

int main(void)
{
        const struct CMUnitTest sqlite_only[] = {
                cmocka_unit_test(test_migrate_v2),
        };
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vm_roundtrip),
                cmocka_unit_test(test_vm_errors),
                cmocka_unit_test(test_assign),
                cmocka_unit_test(test_release_and_delete),
                cmocka_unit_test(test_two_connections),
        };

        return run_store_tests("store-vm", sqlite_only, ELEMENTSOF(sqlite_only), tests,
                               ELEMENTSOF(tests));
}

/* Unit tests: the store's hosts (schema 5): the upgrade of a schema 4 SQLite
 * file (raw SQLite connections build the old file and look at the new), and
 * several hosts in one store, on either backend (store-url.h). */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"

#include "store-tmp.h"
#include "store-url.h"

#define A     "0000:01:00.0"
#define B     "0000:02:00.0"
#define SPEC1 "{\"vcpus\":4,\"memory\":\"8G\"}"
#define SPEC2 "{\"vcpus\":1,\"memory\":\"1G\"}"

/* The tokens' texts, so the test can check them after the upgrade. */
static char tok_ci[HP_TOKEN_LEN + 1], tok_web[HP_TOKEN_LEN + 1];

/* A file as hwpass wrote it at schema version 4: migrations 1 to 4 as
 * shipped, with an assigned device and a quarantined one (attributes on
 * both), a running VM and one that is off, two tokens, three events. */
static void create_v4(const char *path)
{
        char h_ci[HP_TOKEN_HASH_LEN + 1], h_web[HP_TOKEN_HASH_LEN + 1];
        _cleanup_free_ char *sql = NULL;
        sqlite3 *db = NULL;

        assert_int_equal(hp_token_generate(tok_ci), 0);
        assert_int_equal(hp_token_generate(tok_web), 0);
        assert_int_equal(hp_token_hash(tok_ci, h_ci), 0);
        assert_int_equal(hp_token_hash(tok_web, h_web), 0);
        assert_true(asprintf(&sql,
                             "%s%s"
                             "INSERT INTO schema_version (id, version) VALUES (1, 4);\n"
                             "INSERT INTO devices VALUES ('" A "', 4318, 8708, 5208, 65535, "
                             "'1a-2b-3c-ff-fe-00-00-01', 'PCIe x16 slot 1', 1, 'nvidia', 'gpu-a', "
                             "'ok', 'win11', 1700000000, NULL);\n"
                             "INSERT INTO devices VALUES ('" B
                             "', 32902, 5427, 0, 0, NULL, NULL, 0, "
                             "'igb', NULL, 'quarantined', NULL, 1700000001, 'reboot required');\n"
                             "INSERT INTO device_attrs VALUES ('" A "', 'zone', 'b'), ('" A
                             "', 'rack', "
                             "'r12'), ('" B "', 'owner', 'ops');\n"
                             "INSERT INTO vms VALUES ('win11', '" SPEC1 "', 'running', 4242, "
                             "'/run/hwpass/win11.qmp', 1700000100, 1700000002, 1700000100);\n"
                             "INSERT INTO vms (name, spec, created_at, updated_at) "
                             "VALUES ('alpine', '" SPEC2 "', 1700000003, 1700000003);\n"
                             "INSERT INTO tokens VALUES ('ci', '%s', 1700000004, 1700000200), "
                             "('web', '%s', 1700000005, 0);\n"
                             "INSERT INTO events (at, kind, subject, message, actor) VALUES "
                             "(1700000000, 'device-label', '" A "', 'gpu-a', 'root'), "
                             "(1700000002, 'vm-created', 'win11', NULL, 'uid 1000'), "
                             "(1700000004, 'token-created', 'ci', NULL, NULL);\n",
                             SCHEMA_V1_SQL, SCHEMA_V2_TO_V4_SQL, h_ci, h_web) > 0);
        assert_int_equal(
                sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* What a second open must leave as it is: the schema, the local host's row,
 * how many rows each table has, and when each device last changed. */
static char *fingerprint(const char *path)
{
        return raw_text(path,
                        "SELECT (SELECT version FROM schema_version) || '#' || "
                        "(SELECT group_concat(sql, ';') FROM sqlite_master) || '#' || "
                        "(SELECT group_concat(id || ' ' || name || ' ' || created_at) FROM hosts) "
                        "|| '#' || (SELECT count(*) FROM devices) || ' ' || "
                        "(SELECT count(*) FROM device_attrs) || ' ' || (SELECT count(*) FROM vms) "
                        "|| ' ' || (SELECT count(*) FROM tokens) || ' ' || "
                        "(SELECT count(*) FROM events) || '#' || "
                        "(SELECT group_concat(updated_at) FROM devices)");
}

static void assert_devices_v4(struct hp_store *s)
{
        struct hp_dev_config got = { 0 }, *v = NULL;
        size_t n = 0;

        assert_int_equal(hp_store_device_get(s, A, &got), 0);
        assert_int_equal(got.vendor_id, 0x10de);
        assert_int_equal(got.device_id, 0x2204);
        assert_int_equal(got.subsystem_vendor_id, 0x1458);
        assert_int_equal(got.subsystem_device_id, 0xffff);
        assert_string_equal(got.serial, "1a-2b-3c-ff-fe-00-00-01");
        assert_string_equal(got.slot, "PCIe x16 slot 1");
        assert_true(got.desired);
        assert_string_equal(got.host_driver, "nvidia");
        assert_string_equal(got.label, "gpu-a");
        assert_string_equal(got.health, "ok");
        assert_null(got.reason);
        assert_string_equal(got.assigned_vm, "win11");
        assert_int_equal(got.updated_at, 1700000000);
        assert_int_equal(hp_strv_length(got.attrs), 2);
        assert_string_equal(got.attrs[0], "rack=r12");
        assert_string_equal(got.attrs[1], "zone=b");
        hp_dev_config_done(&got);

        assert_int_equal(hp_store_device_get(s, B, &got), 0);
        assert_int_equal(got.vendor_id, 0x8086);
        assert_int_equal(got.device_id, 0x1533);
        assert_null(got.serial);
        assert_null(got.slot);
        assert_false(got.desired);
        assert_string_equal(got.host_driver, "igb");
        assert_null(got.label);
        assert_string_equal(got.health, "quarantined");
        assert_string_equal(got.reason, "reboot required");
        assert_null(got.assigned_vm);
        assert_int_equal(got.updated_at, 1700000001);
        assert_int_equal(hp_strv_length(got.attrs), 1);
        assert_string_equal(got.attrs[0], "owner=ops");
        hp_dev_config_done(&got);

        assert_int_equal(hp_store_device_list(s, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0].address, A);
        assert_string_equal(v[0].attrs[1], "zone=b");
        assert_string_equal(v[1].address, B);
        assert_string_equal(v[1].attrs[0], "owner=ops");
        hp_dev_configs_free(v, n);
}

static void assert_vms_v4(struct hp_store *s)
{
        struct hp_vm_record *v = NULL;
        size_t n = 0;

        assert_int_equal(hp_store_vm_list(s, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0].name, "alpine");
        assert_string_equal(v[0].spec_json, SPEC2);
        assert_string_equal(v[0].state, "off");
        assert_int_equal(v[0].pid, 0);
        assert_null(v[0].qmp_path);
        assert_int_equal(v[0].started_at, 0);
        assert_int_equal(v[0].created_at, 1700000003);
        assert_int_equal(v[0].updated_at, 1700000003);
        assert_string_equal(v[1].name, "win11");
        assert_string_equal(v[1].spec_json, SPEC1);
        assert_string_equal(v[1].state, "running");
        assert_int_equal(v[1].pid, 4242);
        assert_string_equal(v[1].qmp_path, "/run/hwpass/win11.qmp");
        assert_int_equal(v[1].started_at, 1700000100);
        assert_int_equal(v[1].created_at, 1700000002);
        assert_int_equal(v[1].updated_at, 1700000100);
        hp_vm_records_free(v, n);
}

static void assert_tokens_v4(struct hp_store *s)
{
        char hash[HP_TOKEN_HASH_LEN + 1];
        struct hp_token_info *t = NULL, ti = { 0 };
        size_t n = 0;

        assert_int_equal(hp_store_token_list(s, &t, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(t[0].name, "ci");
        assert_int_equal(t[0].created_at, 1700000004);
        assert_int_equal(t[0].last_used_at, 1700000200);
        assert_string_equal(t[1].name, "web");
        assert_int_equal(t[1].created_at, 1700000005);
        assert_int_equal(t[1].last_used_at, 0);
        /* Made before roles, when a token could do everything: admin. */
        assert_int_equal(t[0].role, HP_TOKEN_ADMIN);
        assert_int_equal(t[1].role, HP_TOKEN_ADMIN);
        hp_token_infos_free(t, n);
        /* The hashes came along: the tokens still authenticate. */
        assert_int_equal(hp_token_hash(tok_web, hash), 0);
        assert_int_equal(hp_store_token_check(s, hash, &ti), 0);
        assert_string_equal(ti.name, "web");
        assert_int_equal(ti.role, HP_TOKEN_ADMIN);
        hp_token_info_done(&ti);
}

static void assert_events_v4(struct hp_store *s)
{
        struct hp_event *e = NULL;
        size_t n = 0;

        assert_int_equal(hp_store_event_list(s, 0, 100, &e, &n), 0);
        assert_int_equal(n, 5);
        assert_int_equal(e[0].at, 1700000000);
        assert_string_equal(e[0].kind, "device-label");
        assert_string_equal(e[0].subject, A);
        assert_string_equal(e[0].message, "gpu-a");
        assert_string_equal(e[0].actor, "root");
        assert_string_equal(e[1].kind, "vm-created");
        assert_null(e[1].message);
        assert_string_equal(e[1].actor, "uid 1000");
        assert_string_equal(e[2].kind, "token-created");
        assert_null(e[2].actor);
        /* Schema 11 says, per token, that it became admin. */
        for (size_t i = 3; i < 5; i++) {
                assert_string_equal(e[i].kind, "token-role");
                assert_string_equal(e[i].subject, i == 3 ? "ci" : "web");
                assert_non_null(strstr(e[i].message, "it is now admin"));
                assert_non_null(strstr(e[i].message, "--role operator or viewer"));
                assert_string_equal(e[i].actor, "upgrade");
                assert_true(e[i].at > 1700000005);
        }
        for (size_t i = 0; i < 5; i++) {
                assert_int_equal(e[i].id, (int64_t)i + 1);
                assert_string_equal(e[i].host, HP_STORE_LOCAL_HOST);
        }
        hp_events_free(e, n);
}

static void test_migrate_v4(void **state)
{
        _cleanup_free_ char *path = path_in("v4.db"), *error = NULL, *v = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL, *leftover = NULL, *fk = NULL;
        struct hp_store *s = NULL;
        char *conflict = NULL;

        (void)state;
        create_v4(path);

        /* Read-only cannot upgrade it: refused as older, the file left at 4. */
        assert_int_equal(hp_store_open_readonly(path, &s, &error), -EPROTONOSUPPORT);
        assert_null(s);
        assert_non_null(strstr(error, path));
        assert_non_null(strstr(error, "schema version 4,"));
        assert_non_null(strstr(error, "older"));
        assert_non_null(strstr(error, "start hwpassd once"));
        v = raw_text(path, "SELECT version FROM schema_version");
        assert_string_equal(v, "4");

        /* A read-write open upgrades it; every row is the local host's. */
        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        assert_string_equal(hp_store_host(s), HP_STORE_LOCAL_HOST);
        assert_devices_v4(s);
        assert_vms_v4(s);
        assert_tokens_v4(s);
        assert_events_v4(s);
        hp_store_close(s);
        leftover = raw_text(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v4'");
        assert_string_equal(leftover, "0");
        fk = raw_text(path, "SELECT count(*) FROM pragma_foreign_key_check");
        assert_string_equal(fk, "0");
        free(v);
        v = raw_text(path, "SELECT group_concat(host) FROM (SELECT host FROM devices UNION ALL "
                           "SELECT host FROM device_attrs UNION ALL SELECT host FROM vms UNION "
                           "ALL SELECT host FROM events)");
        assert_string_equal(v, "1,1,1,1,1,1,1,1,1,1,1,1");

        /* A second open migrates nothing and writes nothing. */
        before = fingerprint(path);
        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        hp_store_close(s);
        after = fingerprint(path);
        assert_string_equal(before, after);

        /* Read-only opens the current file and reads the same rows. */
        assert_int_equal(hp_store_open_readonly(path, &s, NULL), 0);
        assert_string_equal(hp_store_host(s), HP_STORE_LOCAL_HOST);
        assert_devices_v4(s);
        assert_vms_v4(s);
        hp_store_close(s);

        /* The assignment holds: another VM cannot take the device, and
         * deleting its VM frees it. */
        s = open_ok(path);
        assert_int_equal(
                hp_store_assign_devices(s, "alpine", (char *[]){ (char *)A }, 1, &conflict),
                -EBUSY);
        assert_string_equal(conflict, A " (held by win11)");
        free(conflict);
        assert_int_equal(hp_store_vm_delete(s, "win11"), 0);
        assert_int_equal(hp_store_assign_devices(s, "alpine", (char *[]){ (char *)A }, 1, NULL), 0);
        hp_store_close(s);
}

static void put_device(struct hp_store *s, const char *address, const char *label, const char *attr)
{
        struct hp_dev_config c = { 0 };
        char *attrs[] = { (char *)attr, NULL };

        snprintf(c.address, sizeof(c.address), "%s", address);
        c.health = (char *)"ok";
        c.label = (char *)label;
        c.attrs = attrs;
        assert_int_equal(hp_store_device_put(s, &c), 0);
}

static void assert_device(struct hp_store *s, const char *address, const char *label,
                          const char *attr, const char *vm)
{
        struct hp_dev_config got = { 0 };

        assert_int_equal(hp_store_device_get(s, address, &got), 0);
        assert_string_equal(got.label, label);
        assert_string_equal(got.attrs[0], attr);
        assert_null(got.attrs[1]);
        if (vm)
                assert_string_equal(got.assigned_vm, vm);
        else
                assert_null(got.assigned_vm);
        hp_dev_config_done(&got);
}

/* Two hosts in one store: the same address on each is a different row, a
 * VM name is the store's (schema 7), and nothing done on one host reaches
 * the other. */
static void test_hosts(void **state)
{
        _cleanup_free_ char *path = store_new("hosts"), *attrs = NULL, *hosts = NULL;
        char long_name[HP_STORE_HOST_NAME_MAX + 2];
        struct hp_dev_config got = { 0 }, *v = NULL;
        struct hp_vm_record rec = { 0 };
        struct hp_event *e = NULL;
        struct hp_store *s, *ro = NULL;
        char *conflict = NULL;
        size_t n = 0;

        (void)state;
        s = open_ok(path);
        assert_string_equal(hp_store_host(s), HP_STORE_LOCAL_HOST);
        put_device(s, A, "local-a", "side=local");
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC1), 0);
        assert_int_equal(hp_store_assign_devices(s, "vm1", (char *[]){ (char *)A }, 1, NULL), 0);

        assert_int_equal(hp_store_host_add(s, "gpu-02.example"), 0);
        assert_int_equal(hp_store_host_add(s, "gpu-02.example"), -EEXIST);
        assert_int_equal(hp_store_host_add(s, HP_STORE_LOCAL_HOST), -EEXIST);
        assert_int_equal(hp_store_host_add(s, "bad name"), -EINVAL);
        assert_int_equal(hp_store_host_add(s, ""), -EINVAL);
        assert_int_equal(hp_store_host_add(s, NULL), -EINVAL);
        memset(long_name, 'h', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        assert_int_equal(hp_store_host_add(s, long_name), -EINVAL);
        long_name[sizeof(long_name) - 2] = '\0';
        assert_int_equal(hp_store_host_add(s, long_name), 0);       /* 253 is allowed */
        assert_string_equal(hp_store_host(s), HP_STORE_LOCAL_HOST); /* adding does not switch */
        assert_int_equal(hp_store_set_host(s, "gpu-03"), -ENOENT);
        assert_int_equal(hp_store_set_host(s, "a/b"), -EINVAL);
        assert_string_equal(hp_store_host(s), HP_STORE_LOCAL_HOST);

        /* On the second host: nothing yet, then rows of its own. */
        assert_int_equal(hp_store_set_host(s, "gpu-02.example"), 0);
        assert_string_equal(hp_store_host(s), "gpu-02.example");
        assert_int_equal(hp_store_device_get(s, A, &got), -ENOENT);
        assert_int_equal(hp_store_device_list(s, &v, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(hp_store_vm_get(s, "vm1", &rec), -ENOENT);
        put_device(s, A, "remote-a", "side=remote");
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC2), -EEXIST); /* the local one's */
        assert_int_equal(hp_store_vm_create(s, "vm2", SPEC2), 0);
        /* Local vm1 holds the local A, not this host's. */
        assert_int_equal(hp_store_assign_devices(s, "vm2", (char *[]){ (char *)A }, 1, NULL), 0);
        /* B is no device of this host. */
        assert_int_equal(hp_store_assign_devices(s, "vm2", (char *[]){ (char *)B }, 1, &conflict),
                         -ENOENT);
        assert_string_equal(conflict, B);
        free(conflict);
        assert_int_equal(hp_store_event_add(s, "device-label", A, "remote-a"), 0);
        assert_device(s, A, "remote-a", "side=remote", "vm2");

        /* Back on the local host, its rows are as they were. */
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_device(s, A, "local-a", "side=local", "vm1");
        assert_int_equal(hp_store_vm_get(s, "vm1", &rec), 0);
        assert_string_equal(rec.spec_json, SPEC1);
        hp_vm_record_done(&rec);
        assert_int_equal(hp_store_event_add(s, "device-label", A, "local-a"), 0);
        assert_int_equal(hp_store_release_devices(s, "vm1"), 1);
        assert_device(s, A, "local-a", "side=local", NULL);

        /* Deletes on the second host leave the local host's rows alone. */
        assert_int_equal(hp_store_set_host(s, "gpu-02.example"), 0);
        assert_device(s, A, "remote-a", "side=remote", "vm2");
        assert_int_equal(hp_store_vm_delete(s, "vm1"), -ENOENT); /* not this host's */
        assert_int_equal(hp_store_device_delete(s, A), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_device(s, A, "local-a", "side=local", NULL);
        assert_int_equal(hp_store_vm_get(s, "vm1", &rec), 0);
        hp_vm_record_done(&rec);

        /* The event log is the whole store's, each event with its host. */
        assert_int_equal(hp_store_event_list(s, 0, 100, &e, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(e[0].host, "gpu-02.example");
        assert_string_equal(e[0].message, "remote-a");
        assert_string_equal(e[1].host, HP_STORE_LOCAL_HOST);
        hp_events_free(e, n);
        hp_store_close(s);

        /* One row left (raw_text_any() wants exactly one). */
        attrs = raw_text_any(path, "SELECT h.name || '=' || a.value FROM device_attrs "
                                   "AS a JOIN hosts AS h ON h.id = a.host");
        assert_string_equal(attrs, "local=local");
        hosts = raw_text_any(path, "SELECT count(*) FROM hosts");
        assert_string_equal(hosts, "3");

        /* A new connection starts on the local host; a read-only one can switch. */
        s = open_ok(path);
        assert_string_equal(hp_store_host(s), HP_STORE_LOCAL_HOST);
        hp_store_close(s);
        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), 0);
        assert_int_equal(hp_store_set_host(ro, "gpu-02.example"), 0);
        assert_int_equal(hp_store_vm_get(ro, "vm2", &rec), 0);
        hp_vm_record_done(&rec);
        assert_int_equal(hp_store_host_add(ro, "gpu-04"), -EROFS);
        hp_store_close(ro);
}

int main(void)
{
        const struct CMUnitTest sqlite_only[] = {
                cmocka_unit_test(test_migrate_v4),
        };
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hosts),
        };

        return run_store_tests("store-host", sqlite_only, ELEMENTSOF(sqlite_only), tests,
                               ELEMENTSOF(tests));
}

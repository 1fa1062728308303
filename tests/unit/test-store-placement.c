/* Unit tests: VMs as the cluster's objects (schema 7): names unique in the
 * store, placement and its epochs (the power-on's claims are
 * test-store-claims.c's), unplacing, desired state, reports of the
 * current claim only, the per-host calls blind to other hosts' and unplaced
 * VMs, the cluster's settings placement reads (schema 9), and the upgrade
 * of a store written at schema 6. On either backend
 * (store-url.h); what was committed is read by a connection of its own. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

#include "store-tmp.h"
#include "store-url.h"
#include "store-rows.h"
#include "store-schema-v5.h"
#include "store-schema-v6.h"

#include "two-hosts.h"

/* The names hp_store_vm_list() gives on host (the connection stays there). */
static void assert_host_vms(struct hp_store *s, const char *host, const char *want)
{
        _cleanup_free_ char *got = NULL;

        assert_int_equal(hp_store_set_host(s, host), 0);
        got = vm_names(s);
        assert_string_equal(got, want);
}

static void test_names_unique(void **state)
{
        _cleanup_free_ char *path = store_new("vm_unique");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        struct hp_cluster_vm v = {0};
        int64_t before = time(NULL);

        (void)state;
        assert_int_equal(hp_store_vm_create(s, "web", SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "batch", NULL, SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "db", "gpu-01", "{}"), 0);

        /* A name is taken on every host, and by an unplaced VM. */
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        assert_int_equal(hp_store_vm_create(s, "web", SPEC), -EEXIST);
        assert_int_equal(hp_store_vm_create(s, "batch", SPEC), -EEXIST);
        assert_int_equal(hp_store_cluster_vm_create(s, "web", "gpu-01", SPEC), -EEXIST);
        assert_int_equal(hp_store_cluster_vm_create(s, "db", NULL, SPEC), -EEXIST);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_int_equal(hp_store_vm_create(s, "db", SPEC), -EEXIST);

        /* Unknown host, bad arguments. */
        assert_int_equal(hp_store_cluster_vm_create(s, "x", "gpu-99", SPEC), -ENOENT);
        assert_int_equal(hp_store_cluster_vm_create(s, "x", "bad host", SPEC), -EINVAL);
        assert_int_equal(hp_store_cluster_vm_create(s, "", NULL, SPEC), -EINVAL);
        assert_int_equal(hp_store_cluster_vm_create(s, "x", NULL, NULL), -EINVAL);
        assert_int_equal(hp_store_cluster_vm_get(s, "x", &v), -ENOENT);
        assert_int_equal(hp_store_cluster_vm_get(s, "", &v), -EINVAL);
        assert_cluster(path, "batch@-:off:0 db@gpu-01:off:0 web@local:off:0");

        /* A new VM: off, never claimed, nothing reported. */
        assert_int_equal(hp_store_cluster_vm_get(s, "db", &v), 0);
        assert_string_equal(v.name, "db");
        assert_string_equal(v.host, "gpu-01");
        assert_string_equal(v.spec_json, "{}");
        assert_string_equal(v.state, "off");
        assert_string_equal(v.desired, "off");
        assert_null(v.reported_state);
        assert_int_equal(v.epoch, 0);
        assert_int_equal(v.reported_ms, 0);
        assert_int_equal(v.pid, 0);
        assert_int_equal(v.started_at, 0);
        assert_true(v.created_at >= before && v.created_at <= time(NULL));
        assert_int_equal(v.updated_at, v.created_at);
        hp_cluster_vm_done(&v);
        hp_cluster_vm_done(&v); /* idempotent on a zeroed one */
        hp_cluster_vm_done(NULL);
        assert_int_equal(hp_store_cluster_vm_get(s, "batch", &v), 0);
        assert_null(v.host);
        hp_cluster_vm_done(&v);
        hp_cluster_vms_free(NULL, 0);

        /* Deleted, the name is free again, on any host. */
        assert_int_equal(hp_store_vm_delete(s, "web"), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "web", "gpu-01", SPEC), 0);
        assert_cluster(path, "batch@-:off:0 db@gpu-01:off:0 web@gpu-01:off:0");
}

/* The per-host calls see the VMs placed on the connection's host only. */
static void test_per_host_views(void **state)
{
        _cleanup_free_ char *path = store_new("vm_per_host");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        char *const a_only[] = {A};
        struct hp_vm_record r = {0};
        char *blame = NULL;

        (void)state;
        assert_int_equal(hp_store_vm_create(s, "web", SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "db", "gpu-01", SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "batch", NULL, SPEC), 0);
        assert_host_vms(s, HP_STORE_LOCAL_HOST, "web");
        assert_host_vms(s, "gpu-01", "db");

        /* From local: db (gpu-01's) and batch (unplaced) are not there. */
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        for (size_t i = 0; i < 2; i++) {
                const char *name = i == 0 ? "db" : "batch";

                assert_int_equal(hp_store_vm_get(s, name, &r), -ENOENT);
                assert_int_equal(hp_store_vm_update_spec(s, name, "{\"x\":1}"), -ENOENT);
                assert_int_equal(hp_store_vm_set_runtime(s, name, "running", 7, NULL, 1), -ENOENT);
                assert_int_equal(hp_store_vm_delete(s, name), -ENOENT);
                /* Nor can local's devices be assigned to them. */
                assert_int_equal(hp_store_assign_devices(s, name, a_only, 1, &blame), -ENOENT);
                assert_null(blame);
        }
        assert_cluster(path, "batch@-:off:0 db@gpu-01:off:0 web@local:off:0");
        assert_holders(path, "gpu-01/" A "=- gpu-01/" B "=- local/" A "=- local/" B "=-");

        /* On gpu-01, db is its own. */
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        assert_int_equal(hp_store_vm_set_runtime(s, "db", "running", 7, NULL, 1), 0);
        assert_int_equal(hp_store_assign_devices(s, "db", a_only, 1, NULL), 0);
        assert_int_equal(hp_store_vm_get(s, "web", &r), -ENOENT);
        assert_int_equal(hp_store_vm_get(s, "db", &r), 0);
        assert_string_equal(r.state, "running");
        hp_vm_record_done(&r);
        assert_holders(path, "gpu-01/" A "=db gpu-01/" B "=- local/" A "=- local/" B "=-");

        /* Deleted from its host, it lets go of every device that names it,
         * a row put on another host included: a VM made later with its name
         * must not find them held. */
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        put_device(s, B, "db");
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        assert_int_equal(hp_store_vm_delete(s, "db"), 0);
        assert_cluster(path, "batch@-:off:0 web@local:off:0");
        assert_holders(path, "gpu-01/" A "=- gpu-01/" B "=- local/" A "=- local/" B "=-");
}

/* Each claim raises the epoch; a VM holding devices elsewhere is not moved. */
static void test_place(void **state)
{
        _cleanup_free_ char *path = store_new("vm_place");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        char *const a_only[] = {A}, *const b_only[] = {B};
        struct hp_cluster_vm v = {0};
        int64_t epoch = 0;

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        assert_int_equal(hp_store_vm_place(s, "web", "gpu-01", &epoch), 0);
        assert_int_equal(epoch, 1);
        assert_cluster(path, "web@gpu-01:on:1");
        assert_host_vms(s, "gpu-01", "web");
        assert_host_vms(s, HP_STORE_LOCAL_HOST, "");

        /* Unknown VM or host; bad arguments; nothing changes. */
        epoch = 99;
        assert_int_equal(hp_store_vm_place(s, "nope", "gpu-01", &epoch), -ENOENT);
        assert_int_equal(hp_store_vm_place(s, "web", "gpu-99", &epoch), -ENOENT);
        assert_int_equal(hp_store_vm_place(s, "web", "bad host", &epoch), -EINVAL);
        assert_int_equal(hp_store_vm_place(s, "", "gpu-01", &epoch), -EINVAL);
        assert_int_equal(epoch, 99);
        assert_cluster(path, "web@gpu-01:on:1");

        /* The claim of devices on gpu-01; another claim there keeps them. */
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        assert_int_equal(hp_store_assign_devices(s, "web", a_only, 1, NULL), 0);
        assert_int_equal(hp_store_vm_place(s, "web", "gpu-01", NULL), 0);
        assert_cluster(path, "web@gpu-01:on:2");

        /* Moving it while it holds gpu-01's device: refused, nothing changed. */
        epoch = 99;
        assert_int_equal(hp_store_vm_place(s, "web", HP_STORE_LOCAL_HOST, &epoch), -EBUSY);
        assert_int_equal(epoch, 99);
        assert_cluster(path, "web@gpu-01:on:2");
        assert_holders(path, "gpu-01/" A "=web gpu-01/" B "=- local/" A "=- local/" B "=-");

        /* Released, it moves: a claim is place then assign, in one transaction. */
        assert_int_equal(hp_store_release_devices(s, "web"), 1);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_int_equal(hp_store_vm_place(s, "web", HP_STORE_LOCAL_HOST, &epoch), 0);
        assert_int_equal(epoch, 3);
        assert_int_equal(hp_store_assign_devices(s, "web", b_only, 1, NULL), 0);
        assert_int_equal(hp_store_rollback(s), 0);
        assert_cluster(path, "web@gpu-01:on:2");
        assert_holders(path, "gpu-01/" A "=- gpu-01/" B "=- local/" A "=- local/" B "=-");
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_vm_place(s, "web", HP_STORE_LOCAL_HOST, &epoch), 0);
        assert_int_equal(epoch, 3);
        assert_int_equal(hp_store_assign_devices(s, "web", b_only, 1, NULL), 0);
        assert_int_equal(hp_store_commit(s), 0);
        assert_cluster(path, "web@local:on:3");
        assert_holders(path, "gpu-01/" A "=- gpu-01/" B "=- local/" A "=- local/" B "=web");
        assert_int_equal(hp_store_cluster_vm_get(s, "web", &v), 0);
        assert_true(v.updated_at >= v.created_at);
        hp_cluster_vm_done(&v);
}

/* Unplacing frees the devices the VM holds on every host. */
static void test_unplace(void **state)
{
        _cleanup_free_ char *path = store_new("vm_unplace");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        char *const a_only[] = {A};

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "db", NULL, SPEC), 0);
        assert_int_equal(hp_store_vm_place(s, "web", "gpu-01", NULL), 0);
        assert_int_equal(hp_store_vm_place(s, "db", "gpu-01", NULL), 0);
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        assert_int_equal(hp_store_assign_devices(s, "web", a_only, 1, NULL), 0);
        put_device(s, B, "db");
        /* A row written with a holder on another host (a device put as it was). */
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        put_device(s, A, "web");
        assert_holders(path, "gpu-01/" A "=web gpu-01/" B "=db local/" A "=web local/" B "=-");

        assert_int_equal(hp_store_vm_unplace(s, "web", false), 0);
        assert_cluster(path, "db@gpu-01:on:1 web@-:off:1");
        assert_holders(path, "gpu-01/" A "=- gpu-01/" B "=db local/" A "=- local/" B "=-");
        assert_host_vms(s, "gpu-01", "db");

        /* A pinned VM keeps its host. */
        assert_int_equal(hp_store_vm_unplace(s, "db", true), 0);
        assert_cluster(path, "db@gpu-01:off:1 web@-:off:1");
        assert_holders(path, "gpu-01/" A "=- gpu-01/" B "=- local/" A "=- local/" B "=-");
        assert_host_vms(s, "gpu-01", "db");
        /* Again: nothing more to do, still fine. */
        assert_int_equal(hp_store_vm_unplace(s, "web", false), 0);
        assert_int_equal(hp_store_vm_unplace(s, "nope", false), -ENOENT);
        assert_int_equal(hp_store_vm_unplace(s, "", true), -EINVAL);
}

static void test_set_desired(void **state)
{
        _cleanup_free_ char *path = store_new("vm_desired");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", "gpu-01", SPEC), 0);
        assert_int_equal(hp_store_vm_set_desired(s, "web", "on"), 0);
        assert_cluster(path, "web@gpu-01:on:0");
        assert_int_equal(hp_store_vm_set_desired(s, "web", "maybe"), -EINVAL);
        assert_int_equal(hp_store_vm_set_desired(s, "web", "ON"), -EINVAL);
        assert_int_equal(hp_store_vm_set_desired(s, "web", NULL), -EINVAL);
        assert_int_equal(hp_store_vm_set_desired(s, "nope", "on"), -ENOENT);
        assert_cluster(path, "web@gpu-01:on:0");
        assert_int_equal(hp_store_vm_set_desired(s, "web", "off"), 0);
        assert_cluster(path, "web@gpu-01:off:0");
}

static void assert_failures(struct hp_store *s, const char *name, const char *want)
{
        struct hp_cluster_vm v = {0};

        assert_int_equal(hp_store_cluster_vm_get(s, name, &v), 0);
        if (want)
                assert_string_equal(v.start_failures, want);
        else
                assert_null(v.start_failures);
        hp_cluster_vm_done(&v);
}

/* A VM's start failures are kept as given, in the list too, until cleared. */
static void test_start_failures(void **state)
{
        _cleanup_free_ char *path = store_new("vm_failures");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        struct hp_cluster_vm *v = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        assert_failures(s, "web", NULL);
        assert_int_equal(hp_store_vm_set_start_failures(s, "web", "[{\"host\":\"gpu-01\"}]"), 0);
        assert_failures(s, "web", "[{\"host\":\"gpu-01\"}]");
        assert_int_equal(hp_store_cluster_vm_list(s, &v, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].start_failures, "[{\"host\":\"gpu-01\"}]");
        hp_cluster_vms_free(v, n);
        /* A claim leaves them: the caller clears them when a power-on is asked anew. */
        assert_int_equal(hp_store_vm_place(s, "web", "gpu-01", NULL), 0);
        assert_failures(s, "web", "[{\"host\":\"gpu-01\"}]");
        assert_int_equal(hp_store_vm_set_start_failures(s, "nope", "[]"), -ENOENT);
        assert_int_equal(hp_store_vm_set_start_failures(s, "web", NULL), 0);
        assert_failures(s, "web", NULL);
}

/* The host a VM moves off (schema 10): kept as given until cleared; an
 * unplace that takes the VM off its host forgets what that host reported. */
static void test_moving(void **state)
{
        _cleanup_free_ char *path = store_new("vm_moving");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        struct hp_cluster_vm v = {0};

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        assert_int_equal(hp_store_vm_place(s, "web", "gpu-01", NULL), 0);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, "running"), 0);
        assert_int_equal(hp_store_vm_set_moving(s, "web", "gpu-01"), 0);
        assert_int_equal(hp_store_cluster_vm_get(s, "web", &v), 0);
        assert_string_equal(v.moving_from, "gpu-01");
        assert_string_equal(v.reported_state, "running");
        hp_cluster_vm_done(&v);
        assert_int_equal(hp_store_vm_set_moving(s, "nope", "gpu-01"), -ENOENT);
        assert_int_equal(hp_store_vm_set_moving(s, "web", "bad host"), -EINVAL);
        assert_int_equal(hp_store_vm_unplace(s, "web", false), 0);
        assert_int_equal(hp_store_cluster_vm_get(s, "web", &v), 0);
        assert_null(v.host);
        assert_null(v.reported_state);
        assert_int_equal(v.reported_ms, 0);
        assert_string_equal(v.moving_from, "gpu-01");
        hp_cluster_vm_done(&v);
        assert_int_equal(hp_store_vm_set_moving(s, "web", NULL), 0);
        assert_int_equal(hp_store_cluster_vm_get(s, "web", &v), 0);
        assert_null(v.moving_from);
        hp_cluster_vm_done(&v);
}

static void assert_reported(struct hp_store *s, const char *name, const char *state,
                            int64_t after_ms)
{
        struct hp_cluster_vm v = {0};

        assert_int_equal(hp_store_cluster_vm_get(s, name, &v), 0);
        if (!state) {
                assert_null(v.reported_state);
                assert_int_equal(v.reported_ms, 0);
        } else {
                assert_non_null(v.reported_state);
                assert_string_equal(v.reported_state, state);
                /* The database's clock on PostgreSQL: the same machine's, here. */
                assert_true(v.reported_ms >= after_ms - 1000);
                assert_true(v.reported_ms <= (int64_t)time(NULL) * 1000 + 1000);
        }
        hp_cluster_vm_done(&v);
}

/* Only a report of the current claim, from the host it is placed on, counts. */
static void test_report(void **state)
{
        _cleanup_free_ char *path = store_new("vm_report");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        int64_t t0 = (int64_t)time(NULL) * 1000, epoch = 0;

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        /* Unplaced: no host's report counts. */
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 0, "off"), HP_STORE_REPORT_STALE);
        assert_reported(s, "web", NULL, 0);

        assert_int_equal(hp_store_vm_place(s, "web", "gpu-01", &epoch), 0);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, "starting"), 0);
        assert_reported(s, "web", "starting", t0);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, "running"), 0);
        assert_reported(s, "web", "running", t0);

        /* Stale: an older epoch, a newer one, another host, an unknown host. */
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 0, "off"), HP_STORE_REPORT_STALE);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 2, "off"), HP_STORE_REPORT_STALE);
        assert_int_equal(hp_store_vm_report(s, HP_STORE_LOCAL_HOST, "web", 1, "off"),
                         HP_STORE_REPORT_STALE);
        assert_int_equal(hp_store_vm_report(s, "gpu-99", "web", 1, "off"), HP_STORE_REPORT_STALE);
        assert_reported(s, "web", "running", t0);

        /* Errors. */
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "nope", 1, "off"), -ENOENT);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", -1, "off"), -EINVAL);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, ""), -EINVAL);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, "a b"), -EINVAL);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, NULL), -EINVAL);
        assert_int_equal(hp_store_vm_report(s, "bad host", "web", 1, "off"), -EINVAL);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "", 1, "off"), -EINVAL);

        /* A new claim: the old run's state is gone, its reports are stale. */
        assert_int_equal(hp_store_vm_place(s, "web", HP_STORE_LOCAL_HOST, &epoch), 0);
        assert_int_equal(epoch, 2);
        assert_reported(s, "web", NULL, 0);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, "stopping"),
                         HP_STORE_REPORT_STALE);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 2, "running"),
                         HP_STORE_REPORT_STALE);
        assert_reported(s, "web", NULL, 0);
        assert_int_equal(hp_store_vm_report(s, HP_STORE_LOCAL_HOST, "web", 2, "running"), 0);
        assert_reported(s, "web", "running", t0);
}

/* The setting key has on a connection of its own (what another controller
 * reads), or NULL when it is not set. */
static void assert_setting(const char *path, const char *key, const char *want)
{
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_free_ char *got = NULL;
        int r = hp_store_setting_get(s, key, &got);

        if (!want) {
                assert_int_equal(r, -ENOENT);
                assert_null(got);
                return;
        }
        assert_int_equal(r, 0);
        assert_string_equal(got, want);
}

/* Settings are kept as given, replaced, removed; a rolled-back transaction
 * leaves them as they were; keys are checked; read-only reads them only. */
static void assert_setting_of(struct hp_store *s, const char *key, const char *want)
{
        _cleanup_free_ char *value = NULL;

        assert_int_equal(hp_store_setting_get(s, key, &value), 0);
        assert_string_equal(value, want);
}

static void test_settings(void **state)
{
        _cleanup_free_ char *path = store_new("settings");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_(hp_store_closep) struct hp_store *ro = NULL, *other = NULL;
        _cleanup_free_ char *value = NULL;
        char key[HP_STORE_SETTING_KEY_MAX + 2] = { 0 };

        (void)state;
        assert_setting(path, "placement", NULL);
        assert_int_equal(hp_store_setting_set(s, "placement", "consolidation"), 0);
        assert_setting(path, "placement", "consolidation");
        assert_int_equal(hp_store_setting_set(s, "placement", "performance"), 0);
        assert_setting(path, "placement", "performance");
        assert_int_equal(hp_store_setting_set(s, "other.key_1-x", "v"), 0);
        assert_setting(path, "other.key_1-x", "v");

        /* In the caller's transaction: undone with it. */
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_setting_set(s, "placement", "consolidation"), 0);
        assert_int_equal(hp_store_setting_get(s, "placement", &value), 0);
        assert_string_equal(value, "consolidation");
        assert_int_equal(hp_store_rollback(s), 0);
        assert_setting(path, "placement", "performance");

        /* Removed; removing again is no error. */
        assert_int_equal(hp_store_setting_set(s, "other.key_1-x", NULL), 0);
        assert_setting(path, "other.key_1-x", NULL);
        assert_int_equal(hp_store_setting_set(s, "other.key_1-x", NULL), 0);
        assert_setting(path, "placement", "performance");

        assert_int_equal(hp_store_setting_set(s, "", "v"), -EINVAL);
        assert_int_equal(hp_store_setting_set(s, "Placement", "v"), -EINVAL);
        assert_int_equal(hp_store_setting_set(s, "a b", "v"), -EINVAL);
        assert_int_equal(hp_store_setting_set(s, NULL, "v"), -EINVAL);
        assert_int_equal(hp_store_setting_get(s, "a'b", &value), -EINVAL);
        memset(key, 'k', HP_STORE_SETTING_KEY_MAX);
        assert_int_equal(hp_store_setting_set(s, key, "v"), 0);
        key[HP_STORE_SETTING_KEY_MAX] = 'k'; /* one more */
        assert_int_equal(hp_store_setting_set(s, key, "v"), -EINVAL);
        assert_int_equal(hp_store_setting_set(s, key + 1, NULL), 0);

        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), 0);
        free(value);
        value = NULL;
        assert_int_equal(hp_store_setting_get(ro, "placement", &value), 0);
        assert_string_equal(value, "performance");
        assert_int_equal(hp_store_setting_set(ro, "placement", "consolidation"), -EROFS);
        assert_setting(path, "placement", "performance");

        /* Another handle's change in this process: seen at once, committed
         * alone or in a transaction. Another process's (a controller's):
         * at once inside a transaction, and outside one within a second
         * (a connection reads them all at once, and keeps them). */
        assert_setting_of(s, "placement", "performance");
        assert_int_equal(hp_store_setting_set(other = open_ok(path), "placement", "consolidation"),
                         0);
        assert_setting_of(s, "placement", "consolidation");
        assert_int_equal(hp_store_begin(other), 0);
        assert_int_equal(hp_store_setting_set(other, "placement", "performance"), 0);
        assert_setting_of(s, "placement", "consolidation");
        assert_int_equal(hp_store_commit(other), 0);
        assert_setting_of(s, "placement", "performance");
        raw_exec_any(path, "UPDATE settings SET value = 'consolidation' WHERE key = 'placement'");
        assert_int_equal(hp_store_begin(s), 0);
        assert_setting_of(s, "placement", "consolidation");
        assert_int_equal(hp_store_rollback(s), 0);
        usleep(1100 * 1000);
        assert_setting_of(s, "placement", "consolidation");
}

/* A read-only connection reads the cluster's VMs and writes none. */
static void test_readonly(void **state)
{
        _cleanup_free_ char *path = store_new("vm_cluster_ro");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        _cleanup_(hp_store_closep) struct hp_store *ro = NULL;
        struct hp_cluster_vm *v = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", "gpu-01", SPEC), 0);
        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), 0);
        assert_int_equal(hp_store_cluster_vm_list(ro, &v, &n), 0);
        assert_int_equal(n, 1);
        hp_cluster_vms_free(v, n);
        assert_int_equal(hp_store_cluster_vm_create(ro, "db", NULL, SPEC), -EROFS);
        assert_int_equal(hp_store_vm_place(ro, "web", "gpu-01", NULL), -EROFS);
        assert_int_equal(hp_store_vm_unplace(ro, "web", false), -EROFS);
        assert_int_equal(hp_store_vm_set_desired(ro, "web", "on"), -EROFS);
        assert_int_equal(hp_store_vm_report(ro, "gpu-01", "web", 0, "off"), -EROFS);
        assert_cluster(path, "web@gpu-01:off:0");
}

/* A store at schema 6: hosts local and gpu-01, with VMs in each state and
 * devices they hold, then more_rows. */
static void create_v6(const char *path, const char *more_rows)
{
        static const char rows[] =
                "INSERT INTO schema_version (id, version) VALUES (1, 6);\n"
                "INSERT INTO hosts (id, name, created_at) VALUES (7, 'gpu-01', 1700000000);\n"
                "INSERT INTO vms (host, name, spec, state, pid, started_at, created_at, "
                "updated_at) VALUES "
                "(1, 'win11', '{}', 'running', 4242, 1700000100, 1700000002, 1700000003), "
                "(7, 'db', '{\"a\":1}', 'off', 0, 0, 1700000004, 1700000004), "
                "(7, 'web', '{}', 'starting', 99, 1700000200, 1700000005, 1700000005), "
                "(7, 'old', '{}', 'stopping', 98, 1700000300, 1700000006, 1700000006);\n"
                "INSERT INTO devices (host, address, desired, assigned_vm, updated_at) VALUES "
                "(1, '" A "', true, 'win11', 1700000001), "
                "(7, '" A "', true, 'web', 1700000001);\n";

        raw_create_any(path, SCHEMA_V1_SQL SCHEMA_V2_TO_V4_SQL SCHEMA_V5_SQL SCHEMA_V6_SQL,
                       PG_SCHEMA_V1_TO_V5_SQL PG_SCHEMA_V6_SQL, rows);
        if (*more_rows)
                raw_exec_any(path, more_rows);
}

/* Every VM keeps its host and runtime; a running or starting one is wanted on. */
static void test_migrate_v6(void **state)
{
        _cleanup_free_ char *path = store_new("migrate_v6");
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_store *ro = NULL;
        struct hp_cluster_vm v = {0};
        struct hp_vm_record r = {0};
        char *const a_only[] = {A};

        (void)state;
        create_v6(path, "");
        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), -EPROTONOSUPPORT);
        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        assert_int_equal(raw_int_any(path, "SELECT version FROM schema_version"), 12);
        assert_cluster(path, "db@gpu-01:off:0 old@gpu-01:off:0 web@gpu-01:on:0 "
                             "win11@local:on:0");
        assert_int_equal(hp_store_cluster_vm_get(s, "win11", &v), 0);
        assert_string_equal(v.state, "running");
        assert_int_equal(v.pid, 4242);
        assert_int_equal(v.started_at, 1700000100);
        assert_int_equal(v.created_at, 1700000002);
        assert_int_equal(v.updated_at, 1700000003);
        assert_null(v.reported_state);
        assert_int_equal(v.reported_ms, 0);
        hp_cluster_vm_done(&v);
        assert_holders(path, "gpu-01/" A "=web local/" A "=win11");
        /* 9: the settings, none set yet. */
        assert_setting(path, "placement", NULL);

        /* The per-host calls work as before on each host. */
        assert_host_vms(s, HP_STORE_LOCAL_HOST, "win11");
        assert_host_vms(s, "gpu-01", "db old web");
        assert_int_equal(hp_store_vm_get(s, "db", &r), 0);
        assert_string_equal(r.spec_json, "{\"a\":1}");
        hp_vm_record_done(&r);
        assert_int_equal(hp_store_assign_devices(s, "db", a_only, 1, NULL), -EBUSY);
        assert_int_equal(hp_store_vm_create(s, "win11", "{}"), -EEXIST);
        /* The new columns work: a claim. */
        assert_int_equal(hp_store_vm_place(s, "db", "gpu-01", NULL), 0);
        assert_cluster(path, "db@gpu-01:on:1 old@gpu-01:off:0 web@gpu-01:on:0 "
                             "win11@local:on:0");
        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), 0);
        hp_store_close(ro);
}

/* One name on two hosts: which one to keep is the operator's to say, so the
 * upgrade is refused with the name, and the store stays at 6 as it was. */
static void test_migrate_v6_duplicate(void **state)
{
        _cleanup_free_ char *path = store_new("migrate_v6_dup");
        struct hp_store *s = NULL;
        char *error = NULL;

        (void)state;
        create_v6(path, "INSERT INTO hosts (id, name, created_at) VALUES (8, 'gpu-02', 1);\n"
                        "INSERT INTO vms (host, name, spec, created_at, updated_at) VALUES "
                        "(8, 'db', '{}', 1, 1), (1, 'db', '{}', 1, 1);\n");
        assert_int_equal(hp_store_open(path, &s, &error), -EBADMSG);
        assert_null(s);
        assert_non_null(error);
        assert_non_null(strstr(error, "schema version 7"));
        assert_non_null(strstr(error, "\"db\""));
        assert_non_null(strstr(error, "3 hosts"));
        assert_non_null(strstr(error, "\"gpu-01\""));
        free(error);
        assert_int_equal(raw_int_any(path, "SELECT version FROM schema_version"), 6);
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM vms"), 6);
        /* Once one name is left, it upgrades. */
        raw_exec_any(path, "DELETE FROM vms WHERE name = 'db' AND host <> 7");
        s = open_ok(path);
        hp_store_close(s);
        assert_cluster(path, "db@gpu-01:off:0 old@gpu-01:off:0 web@gpu-01:on:0 "
                             "win11@local:on:0");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_unique),   cmocka_unit_test(test_per_host_views),
                cmocka_unit_test(test_place),          cmocka_unit_test(test_unplace),
                cmocka_unit_test(test_set_desired),    cmocka_unit_test(test_report),
                cmocka_unit_test(test_start_failures), cmocka_unit_test(test_moving),
                cmocka_unit_test(test_settings),       cmocka_unit_test(test_readonly),
                cmocka_unit_test(test_migrate_v6),     cmocka_unit_test(test_migrate_v6_duplicate),
        };

        return run_store_tests("store-placement", NULL, 0, tests, ELEMENTSOF(tests));
}

/* Unit tests: VMs as the cluster's objects (schema 7): names unique in the
 * store, placement and its epochs, unplacing, desired state, reports of the
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

/* Every VM of the store as committed: "NAME@HOST:DESIRED:EPOCH", HOST "-"
 * when unplaced, by name. */
static char *cluster_view(const char *path)
{
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        struct hp_cluster_vm *v = NULL;
        char *got = NULL;
        size_t n = 0, size = 0;
        FILE *f = open_memstream(&got, &size);

        assert_non_null(f);
        assert_int_equal(hp_store_cluster_vm_list(s, &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s@%s:%s:%lld", i ? " " : "", v[i].name,
                        v[i].host ? v[i].host : "-", v[i].desired, (long long)v[i].epoch);
        assert_int_equal(fclose(f), 0);
        hp_cluster_vms_free(v, n);
        return got;
}

static void assert_cluster(const char *path, const char *want)
{
        _cleanup_free_ char *got = cluster_view(path);

        assert_string_equal(got, want);
}

/* Every device of every host and its holder: "HOST/ADDRESS=VM" ("-" free). */
static void assert_holders(const char *path, const char *want)
{
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        struct hp_host_info *h = NULL;
        _cleanup_free_ char *got = NULL;
        size_t nh = 0, size = 0;
        FILE *f = open_memstream(&got, &size);
        bool first = true;

        assert_non_null(f);
        assert_int_equal(hp_store_host_list(s, &h, &nh), 0);
        for (size_t i = 0; i < nh; i++) {
                struct hp_dev_config *d = NULL;
                size_t nd = 0;

                assert_int_equal(hp_store_set_host(s, h[i].name), 0);
                assert_int_equal(hp_store_device_list(s, &d, &nd), 0);
                for (size_t j = 0; j < nd; j++, first = false)
                        fprintf(f, "%s%s/%s=%s", first ? "" : " ", h[i].name, d[j].address,
                                d[j].assigned_vm ? d[j].assigned_vm : "-");
                hp_dev_configs_free(d, nd);
        }
        hp_host_infos_free(h, nh);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(got, want);
}

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

/* One claim inside a transaction, as hp_ctl's power-on makes it: kept on
 * commit; a refused one is rolled back by its caller. */
static int claim_in_tx(struct hp_store *s, const struct hp_store_claim *c, int64_t *epoch,
                       char **conflict)
{
        int r;

        assert_int_equal(hp_store_begin(s), 0);
        r = hp_store_claim(s, c, epoch, conflict);
        if (r >= 0)
                assert_int_equal(hp_store_commit(s), 0);
        else
                assert_int_equal(hp_store_rollback(s), 0);
        return r;
}

static int events_of(const char *path, const char *kind)
{
        char sql[160];

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM events e JOIN hosts h ON h.id = e.host WHERE e.kind = '%s' "
                 "AND h.name = 'gpu-01' AND e.subject = 'web'",
                 kind);
        return (int)raw_int_any(path, sql);
}

/* The claim in one step: every refusal leaves everything as it was, in
 * the order the controller checks (the VM, then the host, then devices). */
static void test_claim(void **state)
{
        _cleanup_free_ char *path = store_new("claim");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        _cleanup_free_ char *conflict = NULL;
        char *const a_b[] = {A, B}, *const a_only[] = {A}, *const missing[] = {"0000:09:00.0"};
        struct hp_store_claim c = {.vm = "web", .host = "gpu-01", .addrs = a_b, .n = 2,
                                   .event_kind = "vm-placed"};
        struct hp_cluster_vm v = {0};
        char hash[65];
        int64_t epoch = 99;

        (void)state;
        memset(hash, 'c', 64);
        hash[64] = '\0';
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "db", NULL, SPEC), 0);
        assert_int_equal(hp_store_vm_set_start_failures(s, "web", "[\"it failed\"]"), 0);

        /* No such VM, no such host; bad arguments. */
        c.vm = "nope";
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -ENOENT);
        c.vm = "web";
        c.host = "gpu-99";
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -ENOENT);
        c.check_host = true;
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EHOSTUNREACH);
        c.host = "gpu-01";
        assert_int_equal(hp_store_claim(s, &(struct hp_store_claim){.vm = "web", .host = "gpu-01"},
                                        &epoch, NULL),
                         -EINVAL);
        /* A host that joined but is not up, then not ready, then in maintenance. */
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EHOSTUNREACH);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-01", hash), 0);
        assert_int_equal(hp_store_host_renew(s, "gpu-01", 600000, NULL), 0);
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EHOSTUNREACH);
        assert_int_equal(hp_store_host_set_ready(s, "gpu-01", true), 0);
        assert_int_equal(hp_store_host_set_maintenance(s, "gpu-01", true), 0);
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EHOSTUNREACH);
        assert_int_equal(hp_store_host_set_maintenance(s, "gpu-01", false), 0);

        /* A device another VM holds, or one the host does not have: named. */
        assert_int_equal(hp_store_vm_place(s, "db", "gpu-01", NULL), 0);
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        assert_int_equal(hp_store_assign_devices(s, "db", (char *const[]){B}, 1, NULL), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EBUSY);
        assert_string_equal(conflict, B " (held by db)");
        free(TAKE_PTR(conflict));
        c.addrs = missing;
        c.n = 1;
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -ENOENT);
        assert_string_equal(conflict, "0000:09:00.0");
        free(TAKE_PTR(conflict));
        assert_int_equal(epoch, 99);
        assert_cluster(path, "db@gpu-01:on:1 web@-:off:0");
        assert_holders(path, "gpu-01/" A "=- gpu-01/" B "=db local/" A "=- local/" B "=-");
        assert_int_equal(events_of(path, "vm-placed"), 0);

        /* Claimed: placed at its next epoch, its device held, its failures
         * forgotten, the event on its host. */
        c.addrs = a_only;
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), 0);
        assert_null(conflict);
        assert_int_equal(epoch, 1);
        assert_cluster(path, "db@gpu-01:on:1 web@gpu-01:on:1");
        assert_holders(path, "gpu-01/" A "=web gpu-01/" B "=db local/" A "=- local/" B "=-");
        assert_int_equal(events_of(path, "vm-placed"), 1);
        assert_int_equal(hp_store_cluster_vm_get(s, "web", &v), 0);
        assert_null(v.start_failures);
        hp_cluster_vm_done(&v);

        /* On already. Off again but holding gpu-01's device: not elsewhere. */
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EALREADY);
        assert_int_equal(hp_store_vm_set_desired(s, "web", "off"), 0);
        c.host = HP_STORE_LOCAL_HOST;
        c.check_host = false;
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EBUSY);
        assert_null(conflict);
        assert_cluster(path, "db@gpu-01:on:1 web@gpu-01:off:1");
        assert_int_equal(events_of(path, "vm-placed"), 1);
}

static void assert_held_on(struct hp_store *s, const char *vm, const char *want)
{
        _cleanup_free_ char *host = NULL;

        assert_int_equal(hp_store_vm_held_on(s, vm, &host), want ? 1 : 0);
        if (want)
                assert_string_equal(host, want);
        else
                assert_null(host);
}

/* A stop is carried out by the VM's host: until it reports the run off,
 * the VM is off in the store but its last run may go on, holding its
 * devices. A power-on claimed then (a stop and a start close together)
 * gave the new run other devices on top of the old run's, which were
 * never given back (the host's later "off" was of an older epoch); or,
 * for a VM with no devices, could have run it twice. Refused until the
 * report comes, on any host, alone or among claims committed together. */
static void test_claim_after_stop(void **state)
{
        _cleanup_free_ char *path = store_new("claim_after_stop");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        _cleanup_free_ char *conflict = NULL;
        char *const a_only[] = { A }, *const b_only[] = { B };
        struct hp_store_claim c = {
                .vm = "web", .host = "gpu-01", .addrs = a_only, .n = 1, .event_kind = "vm-placed"
        };
        struct hp_store_claim both[] = {
                { .vm = "ci", .host = "gpu-01", .event_kind = "vm-placed" },
                { .vm = "web",
                  .host = "gpu-01",
                  .addrs = b_only,
                  .n = 1,
                  .event_kind = "vm-placed" },
        };
        struct hp_store_claim_result res[ELEMENTSOF(both)] = { 0 };
        int64_t epoch = 0;

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "ci", NULL, SPEC), 0);
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), 0);
        assert_int_equal(epoch, 1);
        assert_held_on(s, "web", "gpu-01");
        assert_held_on(s, "ci", NULL);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, "running"), 0);

        /* Stopped (desired off), not yet reported off: another device of the
         * same host, the same one, another host, each refused, no conflict named. */
        assert_int_equal(hp_store_vm_set_desired(s, "web", "off"), 0);
        c.addrs = b_only;
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EBUSY);
        assert_null(conflict);
        c.addrs = a_only;
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EBUSY);
        assert_null(conflict);
        c.host = HP_STORE_LOCAL_HOST;
        assert_int_equal(claim_in_tx(s, &c, &epoch, &conflict), -EBUSY);
        assert_null(conflict);
        assert_cluster(path, "ci@-:off:0 web@gpu-01:off:1");
        assert_holders(path, "gpu-01/" A "=web gpu-01/" B "=- local/" A "=- local/" B "=-");
        assert_int_equal(events_of(path, "vm-placed"), 1);

        /* A VM without devices whose host reports it running after its stop:
         * refused too, here among claims committed together (the one after it
         * judged on its own: web still holds A). */
        assert_int_equal(claim_in_tx(s, &both[0], &epoch, &conflict), 0);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "ci", 1, "running"), 0);
        assert_int_equal(hp_store_vm_set_desired(s, "ci", "off"), 0);
        assert_held_on(s, "ci", NULL);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_claims(s, both, ELEMENTSOF(both), res), 0);
        assert_int_equal(hp_store_commit(s), 0);
        assert_int_equal(res[0].r, -EBUSY);
        assert_null(res[0].conflict);
        assert_int_equal(res[1].r, -EBUSY);
        assert_null(res[1].conflict);
        hp_store_claim_result_done(&res[0]);
        hp_store_claim_result_done(&res[1]);
        assert_cluster(path, "ci@gpu-01:off:1 web@gpu-01:off:1");

        /* The host reports both runs off (the controller then gives their
         * devices back): claimed together, web holding B only. */
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "web", 1, "off"), 0);
        assert_int_equal(hp_store_vm_unplace(s, "web", false), 0);
        assert_int_equal(hp_store_vm_report(s, "gpu-01", "ci", 1, "off"), 0);
        assert_int_equal(hp_store_vm_unplace(s, "ci", false), 0);
        assert_held_on(s, "web", NULL);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_claims(s, both, ELEMENTSOF(both), res), 0);
        assert_int_equal(hp_store_commit(s), 0);
        assert_int_equal(res[0].r, 0);
        assert_int_equal(res[1].r, 0);
        assert_int_equal(res[1].epoch, 2);
        assert_cluster(path, "ci@gpu-01:on:2 web@gpu-01:on:2");
        assert_holders(path, "gpu-01/" A "=- gpu-01/" B "=web local/" A "=- local/" B "=-");
        assert_held_on(s, "web", "gpu-01");
        assert_int_equal(hp_store_vm_held_on(s, "", NULL), -EINVAL);
}

/* Claims in one transaction, as the controller batches power-ons: each
 * judged after the ones before it, a refused one leaving nothing of itself
 * (on SQLite, the VM it placed before its device was found missing), the
 * transaction going on to the next. */
static void test_claims(void **state)
{
        _cleanup_free_ char *path = store_new("claims");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        char *const a_only[] = {A}, *const b_only[] = {B}, *const b_missing[] = {B, "0000:09:00.0"},
                    *const bad[] = {"zz"};
        const struct hp_store_claim c[] = {
                {.vm = "web", .host = "gpu-01", .addrs = a_only, .n = 1, .event_kind = "vm-placed"},
                {.vm = "db", .host = "gpu-01", .addrs = a_only, .n = 1, .event_kind = "vm-placed"},
                {.vm = "db", .host = "gpu-01", .addrs = b_missing, .n = 2, .event_kind = "vm-placed"},
                {.vm = "ci", .host = "gpu-01", .addrs = bad, .n = 1, .event_kind = "vm-placed"},
                {.vm = "db", .host = "gpu-01", .addrs = b_only, .n = 1, .event_kind = "vm-placed"},
                {.vm = "web", .host = "gpu-01", .addrs = a_only, .n = 1, .event_kind = "vm-placed"},
        };
        struct hp_store_claim_result res[ELEMENTSOF(c)] = {0};

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "db", NULL, SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "ci", NULL, SPEC), 0);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_claims(s, c, ELEMENTSOF(c), res), 0);
        assert_int_equal(hp_store_commit(s), 0);

        assert_int_equal(res[0].r, 0);
        assert_int_equal(res[0].epoch, 1);
        assert_int_equal(res[1].r, -EBUSY);
        assert_string_equal(res[1].conflict, A " (held by web)");
        assert_int_equal(res[2].r, -ENOENT);
        assert_string_equal(res[2].conflict, "0000:09:00.0");
        assert_int_equal(res[3].r, -EINVAL);
        assert_string_equal(res[3].conflict, "zz");
        assert_int_equal(res[4].r, 0);
        assert_int_equal(res[4].epoch, 1);
        assert_null(res[4].conflict);
        assert_int_equal(res[5].r, -EALREADY);
        assert_cluster(path, "ci@-:off:0 db@gpu-01:on:1 web@gpu-01:on:1");
        assert_holders(path, "gpu-01/" A "=web gpu-01/" B "=db local/" A "=- local/" B "=-");
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM events WHERE kind = 'vm-placed'"), 2);
        for (size_t i = 0; i < ELEMENTSOF(res); i++)
                hp_store_claim_result_done(&res[i]);
}

/* Claims that each hold are claimed as one by one (on PostgreSQL, in one
 * statement): each VM on its host at its next epoch, its devices held, an
 * event each in their order with its message, actor and host, the event
 * ids following the last. */
static void test_claims_all_hold(void **state)
{
        _cleanup_free_ char *path = store_new("claims_all");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        char *const a_only[] = { A }, *const b_only[] = { B }, *const both[] = { A, B };
        const struct hp_store_claim c[] = {
                { .vm = "web",
                  .host = "gpu-01",
                  .addrs = a_only,
                  .n = 1,
                  .event_kind = "vm-placed" },
                { .vm = "db",
                  .host = "gpu-01",
                  .addrs = b_only,
                  .n = 1,
                  .event_kind = "vm-placed",
                  .event_message = "a \"quoted\" \\ one" },
                { .vm = "ci",
                  .host = HP_STORE_LOCAL_HOST,
                  .addrs = both,
                  .n = 2,
                  .event_kind = "vm-restarted" },
        };
        struct hp_store_claim_result res[ELEMENTSOF(c)] = { 0 };
        struct hp_event *e = NULL;
        int64_t epoch = 0, last;
        size_t n = 0;

        (void)state;
        assert_int_equal(hp_store_cluster_vm_create(s, "web", NULL, SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "db", NULL, SPEC), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "ci", NULL, SPEC), 0);
        /* db ran before: its next epoch is 2. */
        assert_int_equal(hp_store_vm_place(s, "db", "gpu-01", &epoch), 0);
        assert_int_equal(hp_store_vm_unplace(s, "db", false), 0);
        assert_int_equal(hp_store_event_add(s, "mark", "x", NULL), 0);
        assert_int_equal(hp_store_set_actor(s, "tester"), 0);
        last = raw_int_any(path, "SELECT max(id) FROM events");
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_claims(s, c, ELEMENTSOF(c), res), 0);
        assert_int_equal(hp_store_commit(s), 0);

        for (size_t i = 0; i < ELEMENTSOF(res); i++) {
                assert_int_equal(res[i].r, 0);
                assert_null(res[i].conflict);
        }
        assert_int_equal(res[0].epoch, 1);
        assert_int_equal(res[1].epoch, 2);
        assert_int_equal(res[2].epoch, 1);
        assert_cluster(path, "ci@local:on:1 db@gpu-01:on:2 web@gpu-01:on:1");
        assert_holders(path, "gpu-01/" A "=web gpu-01/" B "=db local/" A "=ci local/" B "=ci");
        assert_int_equal(hp_store_event_list(s, last, 10, &e, &n), 0);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(e[i].id, last + 1 + (int64_t)i);
                assert_string_equal(e[i].subject, c[i].vm);
                assert_string_equal(e[i].kind, c[i].event_kind);
                assert_string_equal(e[i].host, c[i].host);
                assert_string_equal(e[i].actor, "tester");
        }
        assert_null(e[0].message);
        assert_string_equal(e[1].message, "a \"quoted\" \\ one");
        hp_events_free(e, n);
        for (size_t i = 0; i < ELEMENTSOF(res); i++)
                hp_store_claim_result_done(&res[i]);
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
                cmocka_unit_test(test_claim),          cmocka_unit_test(test_claim_after_stop),
                cmocka_unit_test(test_claims),         cmocka_unit_test(test_claims_all_hold),
                cmocka_unit_test(test_set_desired),    cmocka_unit_test(test_report),
                cmocka_unit_test(test_start_failures), cmocka_unit_test(test_moving),
                cmocka_unit_test(test_settings),       cmocka_unit_test(test_readonly),
                cmocka_unit_test(test_migrate_v6),     cmocka_unit_test(test_migrate_v6_duplicate),
        };

        return run_store_tests("store-placement", NULL, 0, tests, ELEMENTSOF(tests));
}

/* Unit tests: HA's duty (ctl/ha.c) against a store on either backend
 * (store-url.h), with hosts whose leases the test renews itself and no
 * agents: the fence refuses a leader that lost the lease; a new leader
 * waits a lease and a margin before it fails anyone; a failed host's
 * dynamic VMs wait as pending restart and are placed on a live host
 * highest restart priority first, a level after the one above it runs;
 * the pinned VM is claimed again on its host; "disabled" and
 * "leave-running" stay; a second controller does nothing while the first
 * leads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ctl/ctl-internal.h"
#include "ctl/ctl.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "vm/spec.h"
#include "vm/specjson.h"

#include "store-tmp.h"
#include "store-url.h"

#define LEASE_MS 400

static void test_fence(void **state)
{
        _cleanup_free_ char *path = store_new("fence");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        int64_t ta = 0, tb = 0;

        (void)state;
        assert_int_equal(hp_store_leader_acquire(s, "ctl-a", 200, &ta, NULL), 0);
        assert_int_equal(hp_ctl_fence_check(s, &(struct hp_ctl_fence){ "ctl-a", ta, 200 }), 0);
        /* A token that is not the lease's is refused, whoever asks. */
        assert_int_equal(hp_ctl_fence_check(s, &(struct hp_ctl_fence){ "ctl-a", ta + 1, 200 }), -ENOLCK);
        assert_int_equal(hp_ctl_fence_check(s, &(struct hp_ctl_fence){ "ctl-b", ta, 200 }), -ENOLCK);
        usleep(400 * 1000);
        assert_int_equal(hp_store_leader_acquire(s, "ctl-b", 60000, &tb, NULL), 0);
        assert_true(tb > ta);
        /* ctl-a stalled past its lease: its writes are refused now. */
        assert_int_equal(hp_ctl_fence_check(s, &(struct hp_ctl_fence){ "ctl-a", ta, 200 }), -ENOLCK);
        assert_int_equal(hp_ctl_fence_check(s, &(struct hp_ctl_fence){ "ctl-b", tb, 60000 }), 0);
}

static void host_ok(struct hp_store *s, const char *name, int64_t lease_ms)
{
        char hash[65];

        assert_int_equal(hp_store_host_add(s, name), 0);
        memset(hash, name[1], 64); /* a SHA-256 in hex, one per host */
        hash[64] = '\0';
        assert_int_equal(hp_store_host_set_credential(s, name, hash), 0);
        assert_int_equal(hp_store_host_renew(s, name, lease_ms, NULL), 0);
        assert_int_equal(hp_store_host_set_ready(s, name, true), 0);
}

/* VM name running on h1 at epoch 1 (reported so), with extra JSON fields. */
static void running_on_h1(struct hp_store *s, const char *name, const char *fields, bool pinned)
{
        char spec[512];
        int64_t epoch = 0;

        snprintf(spec, sizeof(spec), "{\"name\": \"%s\", \"memory_mib\": 64, \"vcpus\": 1%s%s}", name,
                 fields ? ", " : "", fields ? fields : "");
        assert_int_equal(hp_store_cluster_vm_create(s, name, pinned ? "h1" : NULL, spec), 0);
        assert_int_equal(hp_store_vm_place(s, name, "h1", &epoch), 0);
        assert_int_equal(epoch, 1);
        assert_int_equal(hp_store_vm_report(s, "h1", name, 1, "running"), 0);
}

static void vm_is(struct hp_store *s, const char *name, const char *host, const char *desired, int64_t epoch)
{
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = { 0 };

        assert_int_equal(hp_store_cluster_vm_get(s, name, &v), 0);
        if (!host)
                assert_null(v.host);
        else {
                assert_non_null(v.host);
                assert_string_equal(v.host, host);
        }
        assert_string_equal(v.desired, desired);
        assert_int_equal(v.epoch, epoch);
}

static int events_of(const char *path, const char *kind)
{
        char sql[200];

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE kind = '%s'", kind);
        return (int)raw_int_any(path, sql);
}

static void test_restart(void **state)
{
        _cleanup_free_ char *path = store_new("restart");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_(hp_ctl_ha_freep) struct hp_ctl_ha *ha = NULL, *other = NULL;
        struct hp_ops_ctx c = { .db = path, .actor = "test" };
        struct hp_ctl_config cfg = { .heartbeat_ms = 50, .lease_ms = LEASE_MS };

        (void)state;
        host_ok(s, "h1", LEASE_MS);
        host_ok(s, "h2", 600000);
        running_on_h1(s, "hi", "\"restart_priority\": \"high\"", false);
        running_on_h1(s, "lo", "\"restart_priority\": \"low\"", false);
        running_on_h1(s, "dis", "\"restart_priority\": \"disabled\"", false);
        running_on_h1(s, "left", "\"isolation\": \"leave-running\"", false);
        running_on_h1(s, "pin", "\"pci\": [{\"index\": 0, \"kind\": \"static\", \"address\": \"0000:01:00.0\"}]", true);

        assert_int_equal(hp_ctl_ha_new("ctl-a", &ha), 0);
        assert_int_equal(hp_ctl_ha_new("ctl-b", &other), 0);
        assert_int_equal(hp_ctl_ha_tick(&c, &cfg, ha), 0);
        assert_true(hp_ctl_ha_leading(ha));
        assert_int_equal(hp_ctl_ha_tick(&c, &cfg, other), 0);
        assert_false(hp_ctl_ha_leading(other));
        assert_int_equal(events_of(path, "ha-leader"), 1);

        /* h1 is silent from now on, and failed once silent for its lease and
         * as long again; the new leader gives every host that margin too,
         * from when it began to lead. Ticks every 50 ms, as hwpassd's do. */
        usleep(LEASE_MS * 1000);
        assert_int_equal(hp_ctl_ha_tick(&c, &cfg, ha), 0);
        assert_int_equal(events_of(path, "host-failed"), 0);
        vm_is(s, "hi", "h1", "on", 1);
        for (int i = 0; i < 100 && events_of(path, "host-failed") == 0; i++) {
                usleep(50 * 1000);
                assert_int_equal(hp_ctl_ha_tick(&c, &cfg, ha), 0);
        }
        assert_int_equal(events_of(path, "host-failed"), 1);
        vm_is(s, "hi", "h2", "on", 2); /* placed on the live host at once */
        vm_is(s, "lo", NULL, "on", 1); /* pending: waits until hi runs */
        vm_is(s, "dis", "h1", "on", 1);
        vm_is(s, "left", "h1", "on", 1);
        vm_is(s, "pin", "h1", "on", 2); /* claimed again where it is pinned */
        assert_int_equal(events_of(path, "vm-not-restarted"), 2);
        assert_int_equal(events_of(path, "vm-restarted"), 1);

        /* The other controller does nothing while this one leads. */
        assert_int_equal(hp_ctl_ha_tick(&c, &cfg, other), 0);
        assert_false(hp_ctl_ha_leading(other));
        vm_is(s, "lo", NULL, "on", 1);
        assert_int_equal(hp_ctl_ha_tick(&c, &cfg, ha), 0);
        vm_is(s, "lo", NULL, "on", 1);
        vm_is(s, "pin", "h1", "on", 2); /* once: its host has not run epoch 2 */
        assert_int_equal(events_of(path, "vm-restart-pending"), 1); /* said once */

        /* hi runs on h2: lo's turn. */
        assert_int_equal(hp_store_vm_report(s, "h2", "hi", 2, "running"), 0);
        assert_int_equal(hp_ctl_ha_tick(&c, &cfg, ha), 0);
        vm_is(s, "lo", "h2", "on", 2);
        assert_int_equal(events_of(path, "vm-restarted"), 2);
        assert_int_equal(events_of(path, "host-failed"), 1);
}

/* A VM asking for devices of pci (a JSON list of entries). */
static void spec_of(const char *name, const char *pci, struct hp_vm_spec *ret)
{
        _cleanup_free_ char *doc = NULL, *err = NULL;

        assert_true(asprintf(&doc, "{\"name\": \"%s\", \"memory_mib\": 64, \"vcpus\": 1, \"pci\": %s}", name, pci) > 0);
        if (hp_vm_spec_from_document(doc, ret, &err) < 0)
                fail_msg("%s: %s", doc, err);
}

/* Which lower restarts a higher one without a host holds back. */
static void test_competes(void **state)
{
        static const struct {
                const char *hi, *lo;
                bool competes;
        } cases[] = {
                /* the same device and label */
                { "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2\"], \"label\": \"train\"}]",
                  "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2\"], \"label\": \"train\"}]", true },
                /* another label: other devices */
                { "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2\"], \"label\": \"train\"}]",
                  "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2\"], \"label\": \"infer\"}]", false },
                /* no label takes labelled ones too */
                { "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2\"], \"label\": \"train\"}]",
                  "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2\"]}]", true },
                /* one alternative in common is enough */
                { "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b5\", \"10de:20b2\"]}]",
                  "[{\"index\": 1, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2\"]}]", true },
                /* other devices */
                { "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b5\"]}]",
                  "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"1b36:0010\"]}]", false },
                /* subsystem IDs that differ */
                { "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2:10de:1463\"]}]",
                  "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2:10de:147f\"]}]", false },
                /* a static entry takes no device another asks for */
                { "[{\"index\": 0, \"kind\": \"dynamic\", \"allowed\": [\"10de:20b2\"]}]",
                  "[{\"index\": 0, \"kind\": \"static\", \"address\": \"0000:07:00.0\"}]", false },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec hi = { 0 }, lo = { 0 };

                spec_of("hi", cases[i].hi, &hi);
                spec_of("lo", cases[i].lo, &lo);
                if (hp_ctl_restart_competes(&hi, &lo) != cases[i].competes)
                        fail_msg("case %zu: competes should be %d", i, cases[i].competes);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fence),
                cmocka_unit_test(test_restart),
                cmocka_unit_test(test_competes),
        };

        return run_store_tests("ha", NULL, 0, tests, ELEMENTSOF(tests));
}

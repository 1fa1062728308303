/* Unit tests: a host's heartbeat at the controller (ctl/heartbeat.c)
 * against a store on either backend (store-url.h), with a host the test
 * makes itself and no agent: what the host says of a run is recorded once,
 * said again it changes nothing and the answer stays the same, a run at
 * another epoch is not this claim's, and a run that ended gives the VM's
 * devices back; the lease and the ready flag come with every heartbeat; a
 * run the host is to stop is named in "stops" when asked to power off, and
 * in no list when it runs elsewhere now; a pinned VM stopped before its
 * host started it is given back once. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "ctl/ctl-internal.h"
#include "ctl/ctl.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

#include "store-tmp.h"
#include "store-url.h"

#define VFS 2
#include "cluster-host.h"

#define VM_SPEC                                                                                    \
        "{\"name\": \"vm1\", \"memory_mib\": 64, \"vcpus\": 1, \"pci\": [{\"index\": 0, "          \
        "\"kind\": \"dynamic\", \"allowed\": [\"15b3:101c\"]}]}"

/* h1 with its VFs, and vm1 placed there with the first, as a power-on's
 * claim leaves it. */
static int64_t vm_placed(struct hp_store *s)
{
        char *addrs[] = { "0000:05:00.0", NULL };
        int64_t epoch = 0;

        host_with_vfs(s, "h1");
        assert_int_equal(hp_store_cluster_vm_create(s, "vm1", NULL, VM_SPEC), 0);
        assert_int_equal(hp_store_vm_place(s, "vm1", "h1", &epoch), 0);
        assert_int_equal(hp_store_set_host(s, "h1"), 0);
        assert_int_equal(hp_store_assign_devices(s, "vm1", addrs, 1, NULL), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        return epoch;
}

/* h1's heartbeat saying vm1 is in state at epoch; its answer. */
static json_t *beat(const char *db, bool ready, int64_t epoch, const char *state)
{
        struct hp_ops_ctx c = { .db = db, .actor = "test" };
        struct hp_ctl_config cfg = { 0 };
        _cleanup_(json_decrefp) json_t *body =
                json_pack("{s:i, s:s, s:b, s:[{s:s, s:I, s:s}]}", "protocol", HP_CLUSTER_PROTOCOL,
                          "host", "h1", "ready", ready, "vms", "name", "vm1", "epoch",
                          (json_int_t)epoch, "state", state);
        json_t *answer = NULL;
        int r;

        assert_non_null(body);
        r = hp_ctl_heartbeat(&c, &cfg, "h1", body, &answer);
        if (r < 0)
                fail_msg("heartbeat: %s", c.error.message ? c.error.message : strerror(-r));
        hp_op_error_done(&c.error);
        assert_non_null(answer);
        return answer;
}

/* The answer's VMs to run: "vm1@epoch", or "" for none. */
static void assert_answer_runs(json_t *answer, int64_t epoch)
{
        json_t *vms = json_object_get(answer, "vms");

        assert_true(json_is_array(vms));
        if (epoch == 0) {
                assert_int_equal(json_array_size(vms), 0);
                return;
        }
        assert_int_equal(json_array_size(vms), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(vms, 0), "name")),
                            "vm1");
        assert_int_equal(json_integer_value(json_object_get(json_array_get(vms, 0), "epoch")),
                         epoch);
        assert_true(json_is_object(json_object_get(json_array_get(vms, 0), "spec")));
        /* Dynamic: HA restarts it elsewhere should h1 fail (the agent's fence stops it). */
        assert_true(json_is_true(json_object_get(json_array_get(vms, 0), "elsewhere")));
        assert_int_equal(json_array_size(json_object_get(answer, "devices")), VFS);
}

static void assert_vm(struct hp_store *s, const char *host, int64_t epoch, const char *reported)
{
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = { 0 };

        assert_int_equal(hp_store_cluster_vm_get(s, "vm1", &v), 0);
        if (host)
                assert_string_equal(v.host, host);
        else
                assert_null(v.host);
        assert_int_equal(v.epoch, epoch);
        if (reported)
                assert_string_equal(v.reported_state, reported);
        else
                assert_null(v.reported_state);
}

static void assert_vf0_held_by(struct hp_store *s, const char *vm)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config d = { 0 };

        assert_int_equal(hp_store_set_host(s, "h1"), 0);
        assert_int_equal(hp_store_device_get(s, "0000:05:00.0", &d), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        if (vm)
                assert_string_equal(d.assigned_vm, vm);
        else
                assert_null(d.assigned_vm);
}

static bool host_ready(struct hp_store *s)
{
        struct hp_host_info *h = NULL;
        size_t n = 0;
        bool ready = false;

        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (streq(h[i].name, "h1"))
                        ready = h[i].ready && h[i].lease_live;
        hp_host_infos_free(h, n);
        return ready;
}

static void test_runs(void **state)
{
        _cleanup_free_ char *path = store_new("runs");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        json_t *answer;
        int64_t epoch;

        (void)state;
        epoch = vm_placed(s);
        assert_vm(s, "h1", epoch, NULL);

        /* Said for the first time: recorded. */
        answer = beat(path, true, epoch, "running");
        assert_answer_runs(answer, epoch);
        json_decref(answer);
        assert_vm(s, "h1", epoch, "running");
        assert_true(host_ready(s));

        /* Said again: the same answer, the same state (a heartbeat with
         * nothing new writes nothing but its lease). */
        for (int i = 0; i < 3; i++) {
                answer = beat(path, true, epoch, "running");
                assert_answer_runs(answer, epoch);
                json_decref(answer);
                assert_vm(s, "h1", epoch, "running");
        }

        /* Another epoch's run (an older copy) is not this claim's. */
        answer = beat(path, true, epoch + 7, "off");
        assert_answer_runs(answer, epoch);
        json_decref(answer);
        assert_vm(s, "h1", epoch, "running");
        assert_vf0_held_by(s, "vm1");

        /* Starting again is a new state of the same run: recorded. */
        answer = beat(path, true, epoch, "starting");
        json_decref(answer);
        assert_vm(s, "h1", epoch, "starting");

        /* Ended on the host: its devices given back, nothing left to run
         * there, in the same heartbeat's answer. */
        answer = beat(path, false, epoch, "off");
        assert_answer_runs(answer, 0);
        json_decref(answer);
        assert_vm(s, NULL, epoch, NULL);
        assert_vf0_held_by(s, NULL);
        assert_false(host_ready(s));

        /* Its old run said again changes nothing. */
        answer = beat(path, true, epoch, "off");
        assert_answer_runs(answer, 0);
        json_decref(answer);
        assert_vm(s, NULL, epoch, NULL);
        assert_true(host_ready(s));
}

static size_t events_of(struct hp_store *s, const char *kind, const char *subject)
{
        struct hp_event *e = NULL;
        size_t n = 0, count = 0;

        assert_int_equal(hp_store_event_list(s, 0, 1000, &e, &n), 0);
        for (size_t i = 0; i < n; i++)
                count += streq(e[i].kind, kind) && e[i].subject && streq(e[i].subject, subject);
        hp_events_free(e, n);
        return count;
}

/* A VM pinned to h1 by a static entry, claimed there and stopped before h1
 * started it (so h1 never reports it): its claim is given back once, at
 * the next heartbeat, and it stays off on h1. It keeps its host, so the
 * run is recorded off at its epoch: not found unstarted again at every
 * heartbeat after (an event each, as a lab run once showed). */
static void test_unstarted_pinned(void **state)
{
        _cleanup_free_ char *path = store_new("unstarted");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = { 0 };
        char *addrs[] = { "0000:05:00.0", NULL };
        int64_t epoch = 0;

        (void)state;
        host_with_vfs(s, "h1");
        assert_int_equal(
                hp_store_cluster_vm_create(s, "pin", "h1",
                                           "{\"name\": \"pin\", \"memory_mib\": 64, \"vcpus\": 1, "
                                           "\"pci\": [{\"index\": 0, \"kind\": \"static\", "
                                           "\"address\": \"0000:05:00.0\"}]}"),
                0);
        assert_int_equal(hp_store_vm_place(s, "pin", "h1", &epoch), 0);
        assert_int_equal(hp_store_set_host(s, "h1"), 0);
        assert_int_equal(hp_store_assign_devices(s, "pin", addrs, 1, NULL), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_int_equal(hp_store_vm_set_desired(s, "pin", "off"), 0);

        for (int i = 0; i < 3; i++) {
                json_decref(beat(path, true, 1, "running")); /* of vm1, which is no VM here */
                assert_int_equal(events_of(s, "vm-stopped", "pin"), 1);
        }
        assert_int_equal(hp_store_cluster_vm_get(s, "pin", &v), 0);
        assert_string_equal(v.host, "h1");
        assert_string_equal(v.desired, "off");
        assert_int_equal(v.epoch, epoch);
        assert_string_equal(v.reported_state, "off");
        assert_vf0_held_by(s, NULL);
}

static json_t *stops_of(json_t *answer)
{
        json_t *stops = json_object_get(answer, "stops");

        assert_true(json_is_object(stops));
        return stops;
}

/* How the answer has the host stop a run: a VM asked to power off is in
 * "stops" (the host stops it by ACPI); a VM given up there (HA restarts it
 * elsewhere: its host failed) is in neither list, and the host powers its
 * run off at once (agent-runs.h). */
static void test_stops(void **state)
{
        _cleanup_free_ char *path = store_new("stops");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        json_t *answer;
        int64_t epoch;

        (void)state;
        epoch = vm_placed(s);
        answer = beat(path, true, epoch, "running");
        assert_answer_runs(answer, epoch);
        assert_int_equal(json_object_size(stops_of(answer)), 0);
        json_decref(answer);

        assert_int_equal(hp_store_vm_set_desired(s, "vm1", "off"), 0);
        answer = beat(path, true, epoch, "running");
        assert_answer_runs(answer, 0);
        assert_int_equal(json_object_size(stops_of(answer)), 1);
        assert_true(json_is_object(json_object_get(stops_of(answer), "vm1")));
        json_decref(answer);

        /* Wanted on again, and given up on h1 as HA does when h1 failed. */
        assert_int_equal(hp_store_vm_set_desired(s, "vm1", "on"), 0);
        assert_int_equal(hp_store_vm_unplace(s, "vm1", false), 0);
        answer = beat(path, true, epoch, "running");
        assert_answer_runs(answer, 0);
        assert_int_equal(json_object_size(stops_of(answer)), 0);
        json_decref(answer);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runs),
                cmocka_unit_test(test_stops),
                cmocka_unit_test(test_unstarted_pinned),
        };

        return run_store_tests("heartbeat", NULL, 0, tests, ELEMENTSOF(tests));
}

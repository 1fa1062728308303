/* Unit tests: a power-on's claim of a cluster VM (hp_store_claim(),
 * hp_store_claims()): in one step, each refusal leaving everything as it
 * was, in the order the controller checks; refused while the VM's last run
 * has not ended; batched claims judged one after the other. On either
 * backend (store-url.h); what was committed is read by a connection of its
 * own. */
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

#include "two-hosts.h"

/* A claim placing vm on host with the devices of the array addrs, recorded as "vm-placed". */
#define PLACED(vm_, host_, addrs_)                                                                 \
        {                                                                                          \
                .vm = vm_, .host = host_, .addrs = addrs_, .n = ELEMENTSOF(addrs_),                \
                .event_kind = "vm-placed"                                                          \
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
        char *const a_b[] = { A, B }, *const a_only[] = { A },
                    *const missing[] = { "0000:09:00.0" };
        struct hp_store_claim c = {
                .vm = "web", .host = "gpu-01", .addrs = a_b, .n = 2, .event_kind = "vm-placed"
        };
        struct hp_cluster_vm v = { 0 };
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
        assert_int_equal(hp_store_claim(s,
                                        &(struct hp_store_claim){ .vm = "web", .host = "gpu-01" },
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
        assert_int_equal(hp_store_assign_devices(s, "db", (char *const[]){ B }, 1, NULL), 0);
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
                PLACED("web", "gpu-01", b_only),
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
        char *const a_only[] = { A }, *const b_only[] = { B },
                    *const b_missing[] = { B, "0000:09:00.0" }, *const bad[] = { "zz" };
        const struct hp_store_claim c[] = {
                PLACED("web", "gpu-01", a_only),   PLACED("db", "gpu-01", a_only),
                PLACED("db", "gpu-01", b_missing), PLACED("ci", "gpu-01", bad),
                PLACED("db", "gpu-01", b_only),    PLACED("web", "gpu-01", a_only),
        };
        struct hp_store_claim_result res[ELEMENTSOF(c)] = { 0 };

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
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM events WHERE kind = 'vm-placed'"),
                         2);
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
                PLACED("web", "gpu-01", a_only),
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_claim),
                cmocka_unit_test(test_claim_after_stop),
                cmocka_unit_test(test_claims),
                cmocka_unit_test(test_claims_all_hold),
        };

        return run_store_tests("store-claims", NULL, 0, tests, ELEMENTSOF(tests));
}

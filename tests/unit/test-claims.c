/* Unit tests: power-ons' claims committed together (ctl/claims.c) against
 * a store on either backend (store-url.h). Threads of one process, each
 * with its own connection as a controller's request threads have, claim
 * while the event log's turn is held elsewhere: when it is free, the
 * claims that queued meanwhile commit in one transaction, each judged on
 * its own (one refused leaves the others claimed). */
#include <errno.h>
#include <pthread.h>
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
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

#include "store-tmp.h"
#include "store-url.h"

#define CLAIMS 8

struct claimer {
        const char *db;
        char vm[8], addr[16];
        int r;
        int64_t epoch;
        char *conflict;
};

static void *claim_thread(void *arg)
{
        struct claimer *c = arg;
        struct hp_store *s = NULL;
        char *addrs[] = { c->addr, NULL };

        c->r = hp_store_open(c->db, &s, NULL);
        if (c->r < 0)
                return NULL;
        c->r = hp_ctl_claim(s, c->db,
                            &(struct hp_store_claim){ .vm = c->vm,
                                                      .host = "h1",
                                                      .addrs = addrs,
                                                      .n = 1,
                                                      .event_kind = "vm-placed" },
                            &c->epoch, &c->conflict);
        hp_store_close(s);
        return NULL;
}

/* How many transactions wrote the VMs that are on (PostgreSQL: a row's
 * xmin is the transaction that wrote it last). */
static long writers(const char *db)
{
        return raw_int_any(db, "SELECT count(DISTINCT xmin::text) FROM vms WHERE desired = 'on' "
                               "AND name LIKE 'vm%'");
}

static void test_group_commit(void **state)
{
        _cleanup_free_ char *path = store_new("claims");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path), *holder = open_ok(path);
        struct claimer c[CLAIMS] = { 0 };
        pthread_t t[CLAIMS];
        char *held[] = { "0000:05:00.7" };
        int64_t epoch = 0;

        (void)state;
        assert_int_equal(hp_store_host_add(s, "h1"), 0);
        assert_int_equal(hp_store_set_host(s, "h1"), 0);
        for (int i = 0; i < CLAIMS; i++) {
                char *no_attrs[] = { NULL };
                struct hp_dev_config d = { .vendor_id = 0x15b3,
                                           .device_id = 0x101c,
                                           .desired = true,
                                           .attrs = no_attrs,
                                           .health = (char *)"ok" };

                snprintf(d.address, sizeof(d.address), "0000:05:00.%d", i);
                assert_int_equal(hp_store_device_put(s, &d), 0);
        }
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_int_equal(hp_store_cluster_vm_create(s, "other", NULL,
                                                    "{\"name\": \"other\", \"memory_mib\": 64}"),
                         0);
        assert_int_equal(hp_store_vm_place(s, "other", "h1", &epoch), 0);
        assert_int_equal(hp_store_set_host(s, "h1"), 0);
        assert_int_equal(hp_store_assign_devices(s, "other", held, 1, NULL), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);

        for (int i = 0; i < CLAIMS; i++) {
                char spec[64];

                c[i].db = path;
                snprintf(c[i].vm, sizeof(c[i].vm), "vm%d", i);
                snprintf(c[i].addr, sizeof(c[i].addr), "0000:05:00.%d", i);
                snprintf(spec, sizeof(spec), "{\"name\": \"%s\", \"memory_mib\": 64}", c[i].vm);
                assert_int_equal(hp_store_cluster_vm_create(s, c[i].vm, NULL, spec), 0);
        }

        /* The event log's turn held by another writer while every claim is asked. */
        assert_int_equal(hp_store_begin(holder), 0);
        assert_int_equal(hp_store_events_turn(holder), 0);
        assert_int_equal(hp_store_event_add(holder, "test", "holder", NULL), 0);
        for (int i = 0; i < CLAIMS; i++)
                assert_int_equal(pthread_create(&t[i], NULL, claim_thread, &c[i]), 0);
        usleep(1000 * 1000);
        assert_int_equal(hp_store_commit(holder), 0);
        for (int i = 0; i < CLAIMS; i++)
                assert_int_equal(pthread_join(t[i], NULL), 0);

        /* Each judged on its own: the one asking for a held VF refused, named. */
        for (int i = 0; i < CLAIMS - 1; i++) {
                assert_int_equal(c[i].r, 0);
                assert_int_equal(c[i].epoch, 1);
                assert_null(c[i].conflict);
        }
        assert_int_equal(c[CLAIMS - 1].r, -EBUSY);
        assert_string_equal(c[CLAIMS - 1].conflict, "0000:05:00.7 (held by other)");
        free(c[CLAIMS - 1].conflict);
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM events WHERE kind = 'vm-placed'"),
                         CLAIMS - 1);
        /* The first claim's thread took the turn alone; the others queued
         * and committed together after it. */
        if (test_on_pg())
                assert_in_range(writers(path), 1, 3);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_group_commit),
        };

        return run_store_tests("claims", NULL, 0, tests, ELEMENTSOF(tests));
}

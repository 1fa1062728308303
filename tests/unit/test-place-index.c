/* The indexed placement (alloc/index.h) against hp_place(), on generated
 * clusters with a fixed seed: for every VM placed one after another, the
 * index picks the host hp_place() ranks first (or none when none fits), with
 * the same alternatives and pools and the same NUMA answer; each placement
 * is then taken from both, and hosts change (a heartbeat's new counts, a
 * state, memory), leave and come back between placements. Many ties (few
 * memory sizes, few device counts) put the name's tie-break to work. Both
 * of the index's ways are counted, so neither goes untested: the sets, and
 * hp_place() over every host for what they cannot order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc/index.h"
#include "alloc/place.h"
#include "request-oracle.h"

#define CLUSTERS 400
#define MAXHOSTS 40
#define VMS 40

static const char *labels[] = { NULL, "a", "b" };

struct host {
        char name[16];
        bool present;
        struct oracle_pools pools;
        struct hp_place_host h;
};

struct cluster {
        struct host hosts[MAXHOSTS];
        size_t n;
        bool unknown_memory; /* some hosts cannot tell: every pick falls back */
        struct hp_place_index *x;
};

static size_t via_sets, via_fallback, none_fit;

static void gen_host(struct cluster *c, struct host *t)
{
        static const uint64_t mem[] = { 512, 2048, 2048, 8192, 65536 };

        oracle_gen_pools(&t->pools, false);
        for (size_t p = 0; p < t->pools.n; p++)
                t->pools.v[p].label = labels[rnd(3)];
        t->h = (struct hp_place_host){
                .name = t->name,
                .connected = rnd(10) != 0,
                .ready = rnd(12) != 0,
                .maintenance = rnd(15) == 0,
                .failed = rnd(20) == 0,
                .memory_mib = c->unknown_memory && rnd(4) == 0 ? HP_PLACE_MEMORY_UNKNOWN : mem[rnd(5)],
                .pools = t->pools.v,
                .n_pools = t->pools.n,
        };
}

static void index_set(struct cluster *c, struct host *t)
{
        size_t slot;

        assert_int_equal(hp_place_index_set(c->x, &t->h, &slot), 0);
        t->present = true;
}

/* A request the sets can order: every entry asks for one ID, with the same
 * label (or none); sometimes a same-switch or a same-NUMA group. */
static void gen_simple(struct oracle_request *q)
{
        uint16_t id = (uint16_t)(1 + rnd(3));
        const char *label = labels[rnd(3)];

        memset(q, 0, sizeof(*q));
        q->ne = 1 + rnd(2);
        for (size_t e = 0; e < q->ne; e++) {
                q->ids[e][0] = (struct hp_pci_id_match){ 0x10de, id, 0, 0 };
                q->e[e] = (struct hp_vm_pci){ .index = (int)e,
                                              .kind = HP_VM_PCI_DYNAMIC,
                                              .allowed = q->ids[e],
                                              .n_allowed = 1,
                                              .count = 1 + rnd(3),
                                              .label = (char *)label,
                                              .same_switch = rnd(4) == 0 ? (char *)"s" : NULL,
                                              .same_numa = rnd(8) == 0 ? (char *)"n" : NULL };
        }
}

/* Hosts whose name ends in an odd digit, for the VMs that filter. */
static enum hp_place_reason odd_out(void *userdata, const char *host)
{
        (void)userdata;
        return (host[strlen(host) - 1] - '0') % 2 ? HP_PLACE_PATHS : HP_PLACE_FITS;
}

static void place_one(struct cluster *c, enum hp_place_policy policy)
{
        struct hp_place_host hosts[MAXHOSTS];
        struct host *by[MAXHOSTS];
        struct oracle_request q;
        struct hp_place_result res = { 0 };
        struct hp_place_pick pick = { 0 };
        bool filtered = rnd(5) == 0;
        struct hp_place_vm vm = { .name = "vm", .memory_mib = 256u << rnd(5) };
        size_t n = 0;
        int r;

        if (rnd(3) == 0)
                oracle_gen_request(&q, false);
        else
                gen_simple(&q);
        vm.pci = q.e;
        vm.n_pci = rnd(10) == 0 ? 0 : q.ne;
        for (size_t i = 0; i < c->n; i++)
                if (c->hosts[i].present) {
                        by[n] = &c->hosts[i];
                        hosts[n] = c->hosts[i].h;
                        if (filtered && odd_out(NULL, hosts[n].name) != HP_PLACE_FITS)
                                hosts[n].start_failed = "filtered";
                        n++;
                }
        assert_int_equal(hp_place(&vm, hosts, n, policy, &res), 0);
        r = hp_place_index_pick(c->x, &vm, policy, filtered ? odd_out : NULL, NULL, &pick);
        if (res.n_order == 0) {
                if (r != -ENODEV)
                        fail_msg("hp_place: no host fits (%s); the index picked %s (%d)", res.why,
                                 r == 0 ? pick.name : "-", r);
                none_fit++;
        } else {
                const struct hp_place_verdict *v = &res.verdicts[res.order[0]];
                struct host *won = by[res.order[0]];

                if (r != 0)
                        fail_msg("hp_place: %s; the index: %d", res.why, r);
                if (strcmp(pick.name, won->name) != 0)
                        fail_msg("hp_place: %s; the index picked %s (%s)", res.why, pick.name,
                                 pick.fallback ? "fallback" : "sets");
                assert_int_equal(pick.numa_local, v->score.numa_local);
                for (size_t e = 0; e < vm.n_pci; e++)
                        assert_int_equal(pick.alt[e], v->alt[e]);
                for (size_t d = 0; d < pick.n_dev; d++)
                        assert_int_equal(pick.pool[d], v->pool[d]);
                *(pick.fallback ? &via_fallback : &via_sets) += 1;
                /* Taken from both. */
                for (size_t d = 0; d < pick.n_dev; d++)
                        won->pools.v[pick.pool[d]].n_free--;
                if (won->h.memory_mib != HP_PLACE_MEMORY_UNKNOWN)
                        won->h.memory_mib -= won->h.memory_mib > vm.memory_mib ? vm.memory_mib : won->h.memory_mib;
                assert_int_equal(hp_place_index_take(c->x, &pick, vm.memory_mib), 0);
        }
        hp_place_pick_done(&pick);
        hp_place_result_done(&res);
}

static void test_same_as_hp_place(void **state)
{
        (void)state;
        for (unsigned k = 0; k < CLUSTERS; k++) {
                struct cluster c = { .n = 1 + rnd(MAXHOSTS), .unknown_memory = k % 10 == 9 };

                assert_int_equal(hp_place_index_new(&c.x), 0);
                for (size_t i = 0; i < c.n; i++) {
                        /* Names not in the order they are added. */
                        snprintf(c.hosts[i].name, sizeof(c.hosts[i].name), "h%02zu", (i * 7) % MAXHOSTS);
                        gen_host(&c, &c.hosts[i]);
                        index_set(&c, &c.hosts[i]);
                }
                for (unsigned v = 0; v < VMS; v++) {
                        struct host *t = &c.hosts[rnd((unsigned)c.n)];

                        place_one(&c, rnd(2) ? HP_PLACE_PERFORMANCE : HP_PLACE_CONSOLIDATION);
                        switch (rnd(8)) {
                        case 0: /* a heartbeat with other counts, state and memory */
                                gen_host(&c, t);
                                index_set(&c, t);
                                break;
                        case 1: /* gone, or back */
                                if (t->present) {
                                        assert_int_equal(hp_place_index_remove(c.x, t->name), 0);
                                        t->present = false;
                                } else {
                                        index_set(&c, t);
                                }
                                break;
                        }
                }
                hp_place_index_free(c.x);
        }
        print_message("# %zu picks by the sets, %zu by hp_place() over every host, %zu where none fit\n", via_sets,
                      via_fallback, none_fit);
        assert_true(via_sets > 3000);
        assert_true(via_fallback > 500);
        assert_true(none_fit > 100);
}

static void test_remove_unknown(void **state)
{
        struct hp_place_index *x;

        (void)state;
        assert_int_equal(hp_place_index_new(&x), 0);
        assert_int_equal(hp_place_index_remove(x, "nowhere"), -ENOENT);
        hp_place_index_free(x);
}

/* The walk's steps are the hosts it judged: one on a cluster of identical
 * hosts, however many there are. */
static void test_one_step(void **state)
{
        struct hp_alloc_pool pool = { .vendor_id = 0x10de, .device_id = 0x20b5, .numa_node = 0, .n_free = 8 };
        struct hp_pci_id_match id = { 0x10de, 0x20b5, 0, 0 };
        struct hp_vm_pci e = { .kind = HP_VM_PCI_DYNAMIC, .allowed = &id, .n_allowed = 1, .count = 2 };
        struct hp_place_vm vm = { .name = "vm", .memory_mib = 64, .pci = &e, .n_pci = 1 };
        struct hp_place_index *x;
        char name[16];

        (void)state;
        assert_int_equal(hp_place_index_new(&x), 0);
        for (unsigned i = 0; i < 5000; i++) {
                struct hp_place_host h = { .name = name, .connected = true, .ready = true, .memory_mib = 1 << 20,
                                           .pools = &pool, .n_pools = 1 };

                snprintf(name, sizeof(name), "host-%04u", i);
                assert_int_equal(hp_place_index_set(x, &h, NULL), 0);
        }
        for (unsigned i = 0; i < 100; i++) {
                struct hp_place_pick p;

                assert_int_equal(hp_place_index_pick(x, &vm, HP_PLACE_PERFORMANCE, NULL, NULL, &p), 0);
                assert_false(p.fallback);
                assert_int_equal(p.examined, 1);
                /* Spread: each takes a host none took yet, first by name. */
                snprintf(name, sizeof(name), "host-%04u", i);
                assert_string_equal(p.name, name);
                assert_int_equal(hp_place_index_take(x, &p, 64), 0);
                hp_place_pick_done(&p);
        }
        hp_place_index_free(x);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_as_hp_place),
                cmocka_unit_test(test_remove_unknown),
                cmocka_unit_test(test_one_step),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

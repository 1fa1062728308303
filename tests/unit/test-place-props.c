/* Property tests of placement across hosts (alloc/place.h) on generated
 * clusters, with a fixed seed: every host's verdict is the first filter it
 * fails, checked apart (the devices by the brute-force oracle of
 * request-oracle.h); a VM that fits somewhere is placed, on a host that
 * fits; the candidates are exactly the hosts that fit, ranked by locality
 * and policy; and VMs placed one after another (claims that lose a race
 * moving on to the next candidate) never get one device twice, each fitting
 * until the oracle says the cluster is full. Then worked examples with the
 * exact words. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc/place.h"
#include "request-oracle.h"

#define CLUSTERS 2000
#define MAXH 6

static char *path_sets[][3] = {
        { NULL },
        { (char *)"/srv/vm/a.img", NULL },
        { (char *)"/srv/vm/a.img", (char *)"/srv/vm/kernel", NULL },
        { (char *)"/srv/vm/kernel", NULL },
};
static const char *host_names[MAXH] = { "gpu-01", "gpu-02", "gpu-03", "gpu-04", "gpu-05", "gpu-06" };

struct cluster {
        struct oracle_pools pools[MAXH];
        struct hp_place_host hosts[MAXH];
        size_t nh;
        struct oracle_request q;
        struct hp_place_vm vm;
        enum hp_place_policy policy;
};

static uint64_t pick_u64(const uint64_t *v, size_t n)
{
        return v[rnd((unsigned)n)];
}

static void gen_cluster(struct cluster *c, bool healthy)
{
        static const uint64_t mem[] = { HP_PLACE_MEMORY_UNKNOWN, 512, 2048, 8192, 65536 };
        static const uint64_t page[] = { 0, 2048, 2048, 1048576 };

        memset(c, 0, sizeof(*c));
        c->nh = 1 + rnd(MAXH);
        for (size_t i = 0; i < c->nh; i++) {
                struct hp_place_host *h = &c->hosts[i];

                oracle_gen_pools(&c->pools[i], false);
                *h = (struct hp_place_host){
                        .name = host_names[i],
                        .connected = healthy || rnd(10) != 0,
                        .ready = healthy || rnd(10) != 0,
                        .maintenance = !healthy && rnd(10) == 0,
                        .failed = !healthy && rnd(15) == 0,
                        .start_failed = !healthy && rnd(12) == 0 ? "qemu exited" : NULL,
                        .note = rnd(2) ? "last heartbeat 12 s ago" : NULL,
                        .memory_mib = pick_u64(mem + healthy, ELEMENTSOF(mem) - healthy),
                        .hugepages_free = rnd(3) * 1024,
                        .hugepage_kib = pick_u64(page, ELEMENTSOF(page)),
                        .paths = healthy || rnd(3) == 0 ? NULL : path_sets[rnd(4)],
                        .pools = c->pools[i].v,
                        .n_pools = c->pools[i].n,
                };
        }
        oracle_gen_request(&c->q, false);
        c->vm = (struct hp_place_vm){
                .name = "vm",
                .memory_mib = rnd(2) ? 1024 : 4096,
                .hugepages = !healthy && rnd(4) == 0,
                .hugepage_kib = rnd(3) == 0 ? 2048 : 0,
                .paths = path_sets[rnd(4)],
                .pci = c->q.e,
                .n_pci = rnd(8) == 0 ? 0 : c->q.ne,
        };
        if (!healthy && rnd(5) == 0) {
                c->vm.pinned_host = host_names[rnd(MAXH)];
                c->vm.static_free = rnd(2);
                c->vm.static_why = c->vm.static_free ? NULL : "pciPassthru7: device 0000:0c:00.0 is another VM's";
        }
        c->policy = rnd(2) ? HP_PLACE_PERFORMANCE : HP_PLACE_CONSOLIDATION;
}

/* The first filter a host fails, told apart from place.c; and for the
 * devices, whether it fits by the oracle (*ret_alt its alternatives). */
static enum hp_place_reason expected(const struct cluster *c, size_t i, size_t *ret_alt)
{
        const struct hp_place_host *h = &c->hosts[i];
        const struct hp_place_vm *vm = &c->vm;
        struct oracle_request q = c->q;

        if (h->failed)
                return HP_PLACE_FAILED;
        if (!h->connected)
                return HP_PLACE_NOT_CONNECTED;
        if (h->maintenance)
                return HP_PLACE_MAINTENANCE;
        if (!h->ready)
                return HP_PLACE_NOT_READY;
        if (h->start_failed)
                return HP_PLACE_START_FAILED;
        if (vm->pinned_host && !streq(vm->pinned_host, h->name))
                return HP_PLACE_PINNED;
        if (vm->pinned_host && !vm->static_free)
                return HP_PLACE_STATIC;
        if (vm->hugepages ? h->hugepage_kib == 0 || (vm->hugepage_kib && vm->hugepage_kib != h->hugepage_kib) ||
                                    vm->memory_mib * 1024 > h->hugepages_free * h->hugepage_kib
                          : h->memory_mib != HP_PLACE_MEMORY_UNKNOWN && h->memory_mib < vm->memory_mib)
                return HP_PLACE_MEMORY;
        for (size_t k = 0; vm->paths[k] && h->paths; k++)
                if (!hp_strv_contains(h->paths, vm->paths[k]))
                        return HP_PLACE_PATHS;
        q.ne = vm->n_pci;
        for (size_t e = 0; e < q.ne; e++) {
                size_t best = 0;

                for (size_t a = 0; a < q.e[e].n_allowed; a++) {
                        size_t n = 0;

                        for (size_t p = 0; p < h->n_pools; p++)
                                n += hp_alloc_pool_fits(&q.e[e], a, &h->pools[p]) ? h->pools[p].n_free : 0;
                        best = n > best ? n : best;
                }
                if (best < hp_vm_pci_count(&q.e[e]))
                        return HP_PLACE_DEVICES;
        }
        for (size_t e = 0; e < q.ne; e++)
                q.e[e].allowed = q.ids[e]; /* into this copy */
        return oracle_solve(&q, h->pools, h->n_pools, ret_alt) ? HP_PLACE_FITS : HP_PLACE_REQUEST;
}

/* Words of each filter's message, so a reason is never told wrongly. */
static const char *reason_words(enum hp_place_reason r)
{
        static const char *const words[HP_PLACE_REASON_MAX] = {
                [HP_PLACE_FITS] = ": fits: ",
                [HP_PLACE_FAILED] = ": failed",
                [HP_PLACE_NOT_CONNECTED] = ": not connected",
                [HP_PLACE_MAINTENANCE] = ": in maintenance",
                [HP_PLACE_NOT_READY] = ": not ready",
                [HP_PLACE_START_FAILED] = ": the VM's start failed here: qemu exited",
                [HP_PLACE_PINNED] = "is pinned to",
                [HP_PLACE_STATIC] = ": pciPassthru7: device 0000:0c:00.0 is another VM's",
                [HP_PLACE_MEMORY] = ", needs ",
                [HP_PLACE_PATHS] = ": does not see /srv/vm/",
                [HP_PLACE_DEVICES] = ", needs ",
                [HP_PLACE_REQUEST] = ": pciPassthru",
        };
        return words[r];
}

static size_t free_matching(const struct cluster *c, size_t i)
{
        const struct hp_place_host *h = &c->hosts[i];
        size_t n = 0;

        for (size_t p = 0; p < h->n_pools; p++) {
                bool any = false;

                for (size_t e = 0; e < c->vm.n_pci; e++)
                        for (size_t a = 0; a < c->q.e[e].n_allowed; a++)
                                any = any || hp_alloc_pool_fits(&c->q.e[e], a, &h->pools[p]);
                n += any ? h->pools[p].n_free : 0;
        }
        return n;
}

/* All its devices can share a NUMA node with the alternatives it gets
 * anyway: asked only of a VM that names no NUMA group. */
static bool numa_local(const struct cluster *c, size_t i, const size_t *alt)
{
        struct oracle_request q = c->q;
        size_t alt2[MAXE];

        q.ne = c->vm.n_pci;
        for (size_t e = 0; e < q.ne; e++) {
                if (c->q.e[e].same_numa)
                        return false;
                q.e[e].allowed = q.ids[e];
                q.e[e].same_numa = (char *)"g";
        }
        return q.ne > 0 && oracle_solve(&q, c->hosts[i].pools, c->hosts[i].n_pools, alt2) &&
               memcmp(alt, alt2, q.ne * sizeof(*alt)) == 0;
}

static void check_cluster(int n, const struct cluster *c, const struct hp_place_result *res, size_t *counts)
{
        size_t n_fit = 0;
        bool local[MAXH] = { false };

        assert_int_equal(res->n_verdicts, c->nh);
        for (size_t i = 0; i < c->nh; i++) {
                const struct hp_place_verdict *v = &res->verdicts[i];
                size_t alt[MAXE] = { 0 };
                enum hp_place_reason want = expected(c, i, alt);
                struct oracle_request q = c->q;

                if (v->reason != want)
                        fail_msg("cluster %d, %s: reason %s, expected %s (%s)", n, c->hosts[i].name,
                                 hp_place_reason_name(v->reason), hp_place_reason_name(want), v->message);
                counts[want]++;
                assert_true(strncmp(v->message, c->hosts[i].name, strlen(c->hosts[i].name)) == 0);
                if (!strstr(v->message, reason_words(want)))
                        fail_msg("cluster %d: '%s' does not say '%s'", n, v->message, reason_words(want));
                if (want != HP_PLACE_FITS) {
                        assert_null(v->alt);
                        continue;
                }
                n_fit++;
                /* What it would take is valid there, with the first alternatives that can be met. */
                q.ne = c->vm.n_pci;
                oracle_check_valid(&q, c->hosts[i].pools, c->hosts[i].n_pools, v->alt, v->pool);
                for (size_t e = 0; e < q.ne; e++)
                        assert_int_equal(v->alt[e], alt[e]);
                assert_int_equal(v->score.free_devices, free_matching(c, i));
                local[i] = numa_local(c, i, alt);
                if (v->score.numa_local != local[i])
                        fail_msg("cluster %d, %s: NUMA locality %d, expected %d", n, c->hosts[i].name,
                                 v->score.numa_local, local[i]);
        }
        /* Exactly the hosts that fit are candidates, each once. */
        assert_int_equal(res->n_order, n_fit);
        for (size_t k = 0; k < res->n_order; k++) {
                assert_true(res->order[k] < c->nh);
                assert_int_equal(res->verdicts[res->order[k]].reason, HP_PLACE_FITS);
                for (size_t j = 0; j < k; j++)
                        assert_true(res->order[j] != res->order[k]);
        }
        if (n_fit == 0) {
                assert_true(strncmp(res->why, "no host can take VM 'vm'", 24) == 0);
                return;
        }
        assert_true(strncmp(res->why, c->hosts[res->order[0]].name, 6) == 0 && strstr(res->why, " wins: "));
        /* Ranked: locality, then the policy on free matching devices, then memory, then name. */
        for (size_t k = 0; k + 1 < res->n_order; k++) {
                const struct hp_place_score *a = &res->verdicts[res->order[k]].score,
                                            *b = &res->verdicts[res->order[k + 1]].score;
                bool perf = c->policy == HP_PLACE_PERFORMANCE;

                assert_true(a->numa_local >= b->numa_local);
                if (a->numa_local != b->numa_local)
                        continue;
                assert_true(perf ? a->free_devices >= b->free_devices : a->free_devices <= b->free_devices);
                if (a->free_devices != b->free_devices)
                        continue;
                assert_true(perf ? a->free_mib >= b->free_mib : a->free_mib <= b->free_mib);
                if (a->free_mib == b->free_mib)
                        assert_true(strcmp(c->hosts[res->order[k]].name, c->hosts[res->order[k + 1]].name) < 0);
        }
        /* The winner: local when any is, and the most (fewest) free among those as local. */
        for (size_t i = 0; i < c->nh; i++) {
                const struct hp_place_verdict *w = &res->verdicts[res->order[0]], *v = &res->verdicts[i];

                if (v->reason != HP_PLACE_FITS)
                        continue;
                assert_true(w->score.numa_local || !v->score.numa_local);
                if (v->score.numa_local == w->score.numa_local)
                        assert_true(c->policy == HP_PLACE_PERFORMANCE ? w->score.free_devices >= v->score.free_devices
                                                                      : w->score.free_devices <= v->score.free_devices);
        }
}

static void test_verdicts_against_oracle(void **state)
{
        size_t counts[HP_PLACE_REASON_MAX] = { 0 };

        (void)state;
        for (int n = 0; n < CLUSTERS; n++) {
                _cleanup_(hp_place_result_done) struct hp_place_result res = { 0 };
                struct cluster c;

                gen_cluster(&c, n % 2 == 0);
                assert_int_equal(hp_place(&c.vm, c.hosts, c.nh, c.policy, &res), 0);
                check_cluster(n, &c, &res, counts);
        }
        /* The generator reaches every filter. */
        for (size_t r = 0; r < HP_PLACE_REASON_MAX; r++) {
                print_message("# %s: %zu hosts\n", hp_place_reason_name(r), counts[r]);
                assert_true(counts[r] > 20);
        }
}

/* Devices as identities: pool p of host h hands out ids[h][p][n_free - 1]
 * first; a claim that takes one twice is caught by used[]. */
struct ledger {
        unsigned ids[MAXH][MAXP][4];
        bool used[MAXH * MAXP * 4];
};

static void claim(struct cluster *c, struct ledger *l, size_t h, const struct hp_place_verdict *v)
{
        size_t k = 0;

        for (size_t e = 0; e < c->vm.n_pci; e++)
                for (unsigned d = 0; d < hp_vm_pci_count(&c->q.e[e]); d++, k++) {
                        struct hp_alloc_pool *p = &c->pools[h].v[v->pool[k]];
                        unsigned id;

                        assert_true(p->n_free > 0);
                        id = l->ids[h][v->pool[k]][--p->n_free];
                        if (l->used[id])
                                fail_msg("device %u given twice", id);
                        l->used[id] = true;
                }
        c->hosts[h].memory_mib -= c->vm.memory_mib;
}

/* A race lost on host h: another controller took what the VM would have. */
static void lose_race(struct cluster *c, struct ledger *l, size_t h, const struct hp_place_verdict *v)
{
        for (size_t k = 0; k < c->vm.n_pci; k++)
                while (c->pools[h].v[v->pool[k]].n_free > 0)
                        l->used[l->ids[h][v->pool[k]][--c->pools[h].v[v->pool[k]].n_free]] = true;
}

static void test_fill_cluster(void **state)
{
        size_t placed = 0, races = 0;

        (void)state;
        for (int n = 0; n < CLUSTERS / 2; n++) {
                struct cluster c;
                struct ledger l = { 0 };
                unsigned next = 0;
                size_t alt[MAXE];
                bool full = false;

                gen_cluster(&c, true);
                for (size_t h = 0; h < c.nh; h++)
                        for (size_t p = 0; p < c.pools[h].n; p++)
                                for (size_t k = 0; k < c.pools[h].v[p].n_free; k++)
                                        l.ids[h][p][k] = next++;
                for (int round = 0; !full; round++) {
                        _cleanup_(hp_place_result_done) struct hp_place_result res = { 0 };
                        size_t counts[HP_PLACE_REASON_MAX] = { 0 }, k = 0;

                        /* Ends: each VM takes devices, or memory when it has none. */
                        assert_true(round < 1000);
                        assert_int_equal(hp_place(&c.vm, c.hosts, c.nh, c.policy, &res), 0);
                        check_cluster(n, &c, &res, counts);
                        if (res.n_order == 0) {
                                /* Full: no host can take it, says the oracle too. */
                                for (size_t h = 0; h < c.nh; h++)
                                        assert_true(expected(&c, h, alt) != HP_PLACE_FITS);
                                full = true;
                                continue;
                        }
                        /* A claim that loses a race goes to the next candidate,
                         * whose verdict still holds: nothing of it changed. */
                        if (res.n_order > 1 && rnd(4) == 0) {
                                lose_race(&c, &l, res.order[0], &res.verdicts[res.order[0]]);
                                races++;
                                k = 1;
                        }
                        claim(&c, &l, res.order[k], &res.verdicts[res.order[k]]);
                        placed++;
                }
        }
        print_message("# %zu VMs placed, %zu races lost\n", placed, races);
        assert_true(placed > CLUSTERS && races > 50);
}

static struct hp_pci_id_match a100 = { 0x10de, 0x20b5, 0, 0 };

static struct hp_vm_pci gpus(unsigned count)
{
        return (struct hp_vm_pci){ .index = 0, .kind = HP_VM_PCI_DYNAMIC, .allowed = &a100, .n_allowed = 1,
                                   .label = (char *)"training", .count = count };
}

static struct hp_alloc_pool pool(int node, size_t n_free)
{
        return (struct hp_alloc_pool){ .vendor_id = 0x10de, .device_id = 0x20b5, .label = "training",
                                       .numa_node = node, .n_free = n_free };
}

static struct hp_place_host host(const char *name, const struct hp_alloc_pool *pools, size_t n)
{
        return (struct hp_place_host){ .name = name, .connected = true, .ready = true, .memory_mib = 65536,
                                       .pools = pools, .n_pools = n };
}

/* Places vm on the hosts (res emptied first) and checks the winner's why. */
static void place_why(const struct hp_place_vm *vm, const struct hp_place_host *h, size_t n,
                      enum hp_place_policy policy, struct hp_place_result *res, const char *why)
{
        hp_place_result_done(res);
        assert_int_equal(hp_place(vm, h, n, policy, res), 0);
        assert_string_equal(res->why, why);
}

/* The words of each verdict and of the winner, and both policies. */
static void test_messages(void **state)
{
        static char *sees_nothing[] = { NULL };
        struct hp_alloc_pool p1[] = { pool(0, 4) }, p2[] = { pool(0, 4) }, p3[] = { pool(1, 2) },
                             p4[] = { pool(0, 4) }, p5[] = { pool(0, 4) }, p7[] = { pool(0, 8) };
        struct hp_place_host h[] = { host("gpu-01", p1, 1), host("gpu-02", p2, 1), host("gpu-03", p3, 1),
                                     host("gpu-04", p4, 1), host("gpu-05", p5, 1), host("gpu-07", p7, 1),
                                     host("gpu-08", p3, 1) };
        struct hp_vm_pci e = gpus(4);
        char *paths[] = { (char *)"/srv/vm/a.img", NULL };
        struct hp_place_vm vm = { .name = "train", .memory_mib = 2048, .paths = paths, .pci = &e, .n_pci = 1 };
        struct hp_place_result res = { 0 };

        (void)state;
        h[1].connected = false;
        h[1].note = "last heartbeat 12 s ago";
        h[3].memory_mib = 512;
        h[4].paths = sees_nothing;
        h[5].maintenance = true;
        assert_int_equal(hp_place(&vm, h, ELEMENTSOF(h), HP_PLACE_PERFORMANCE, &res), 0);
        assert_string_equal(res.verdicts[0].message,
                            "gpu-01: fits: 4 free 10de:20b5 with label 'training', 65536 MiB free, devices on NUMA node 0");
        assert_string_equal(res.verdicts[1].message, "gpu-02: not connected (last heartbeat 12 s ago)");
        assert_string_equal(res.verdicts[2].message, "gpu-03: 2 free 10de:20b5 with label 'training', needs 4 (pciPassthru0)");
        assert_int_equal(res.verdicts[2].reason, HP_PLACE_DEVICES);
        assert_string_equal(res.verdicts[3].message, "gpu-04: 512 MiB free, needs 2048 MiB");
        assert_string_equal(res.verdicts[4].message, "gpu-05: does not see /srv/vm/a.img");
        assert_string_equal(res.verdicts[5].message, "gpu-07: in maintenance");
        assert_string_equal(res.why, "gpu-01 wins: the only host of 7 that fits; 4 free 10de:20b5 with label "
                                     "'training', 65536 MiB free, devices on NUMA node 0");
        hp_place_result_done(&res);

        /* Two GPUs: gpu-01 (4 free) spreads, gpu-03 (2 free) packs. */
        e = gpus(2);
        place_why(&vm, h, ELEMENTSOF(h), HP_PLACE_PERFORMANCE, &res,
                  "gpu-01 wins: 4 free 10de:20b5 with label 'training' (most free: performance policy), 65536 MiB "
                  "free, devices on NUMA node 0");
        assert_int_equal(res.n_order, 3);
        /* Packing: as few free devices on gpu-03 as on gpu-08; less memory. */
        h[6].memory_mib = 131072;
        place_why(&vm, h, ELEMENTSOF(h), HP_PLACE_CONSOLIDATION, &res,
                  "gpu-03 wins: 2 free 10de:20b5 with label 'training', 65536 MiB free (least free memory: "
                  "consolidation policy), devices on NUMA node 1");
        assert_int_equal(res.order[1], 6);
        assert_int_equal(res.order[2], 0);
        /* All the same: by name. */
        h[6].memory_mib = 65536;
        place_why(&vm, h, ELEMENTSOF(h), HP_PLACE_CONSOLIDATION, &res,
                  "gpu-03 wins: 2 free 10de:20b5 with label 'training', 65536 MiB free, devices on NUMA node 1 (as "
                  "good as gpu-08: first by name)");
        /* None fits: how many hosts each filter turned away. */
        e = gpus(9);
        place_why(&vm, h, ELEMENTSOF(h), HP_PLACE_PERFORMANCE, &res,
                  "no host can take VM 'train': of 7 hosts, 1 not connected, 1 in maintenance, 1 without the memory, "
                  "1 not seeing its disks or kernel, 3 with too few free matching devices");
        assert_int_equal(res.n_order, 0);
        hp_place_result_done(&res);
}

/* Locality before the policy: four GPUs on four nodes lose to two on one. */
static void test_numa_locality(void **state)
{
        struct hp_alloc_pool spread[] = { pool(0, 1), pool(1, 1), pool(2, 1), pool(3, 1) }, one[] = { pool(0, 2) };
        struct hp_place_host h[] = { host("wide", spread, 4), host("narrow", one, 1) };
        struct hp_vm_pci e = gpus(2);
        struct hp_place_vm vm = { .name = "v", .memory_mib = 1024, .pci = &e, .n_pci = 1 };
        struct hp_place_result res = { 0 };

        (void)state;
        assert_int_equal(hp_place(&vm, h, 2, HP_PLACE_PERFORMANCE, &res), 0);
        assert_int_equal(res.n_order, 2);
        assert_int_equal(res.order[0], 1);
        assert_string_equal(res.why, "narrow wins: 2 free 10de:20b5 with label 'training', 65536 MiB free, devices on "
                                     "NUMA node 0 (wide cannot keep them on one node)");
        assert_string_equal(res.verdicts[0].message, "wide: fits: 4 free 10de:20b5 with label 'training', 65536 MiB "
                                                     "free, devices not all on one known NUMA node");
        hp_place_result_done(&res);
        /* A VM with a NUMA group of its own: the policy alone. */
        e.same_numa = (char *)"g";
        e.count = 1;
        assert_int_equal(hp_place(&vm, h, 2, HP_PLACE_PERFORMANCE, &res), 0);
        assert_int_equal(res.order[0], 0);
        hp_place_result_done(&res);
}

/* Thousands of hosts in one call (no timing: the work is one pass). */
static void test_many_hosts(void **state)
{
        enum { N = 5000 };
        static struct hp_alloc_pool pools[N][2];
        static struct hp_place_host h[N];
        static char names[N][16];
        struct hp_vm_pci e = gpus(3);
        struct hp_place_vm vm = { .name = "v", .memory_mib = 1024, .pci = &e, .n_pci = 1 };
        struct hp_place_result res = { 0 };

        (void)state;
        for (size_t i = 0; i < N; i++) {
                snprintf(names[i], sizeof(names[i]), "h%05zu", i);
                pools[i][0] = pool(0, i % 5);
                pools[i][1] = pool(1, i % 3);
                h[i] = host(names[i], pools[i], 2);
        }
        assert_int_equal(hp_place(&vm, h, N, HP_PLACE_PERFORMANCE, &res), 0);
        assert_int_equal(res.n_verdicts, N);
        /* Three in all: node 0 has i % 5, node 1 i % 3. */
        for (size_t i = 0; i < N; i++)
                assert_int_equal(res.verdicts[i].reason == HP_PLACE_FITS, i % 5 + i % 3 >= 3);
        /* First those with three on node 0 (i % 5 >= 3), the most free
         * first (4 + 2: i % 15 == 14), the lowest name first. */
        assert_string_equal(h[res.order[0]].name, "h00014");
        assert_true(res.verdicts[res.order[0]].score.numa_local);
        hp_place_result_done(&res);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_verdicts_against_oracle),
                cmocka_unit_test(test_fill_cluster),
                cmocka_unit_test(test_messages),
                cmocka_unit_test(test_numa_locality),
                cmocka_unit_test(test_many_hosts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

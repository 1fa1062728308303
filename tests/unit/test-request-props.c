/* Property tests of the request matcher (alloc/request.h) on many generated
 * hosts, with a fixed seed: a request that fits is placed (checked against a
 * brute-force oracle that tries every device for every wanted one), the
 * alternatives chosen are the first in order that can be met, the
 * constraints and capacities hold, and power-on's hp_alloc_assign never
 * hands out one device twice. And the worst cases for a search over
 * combinations: 8 of 8 identical GPUs, 64 of 64 VFs, answer at once. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "alloc/request.h"
#include "alloc/select.h"
#include "host/pci.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"

#define INSTANCES 3000
#define MAXP 6
#define MAXE 3
#define MAXDEV 64

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (unsigned)(rng % n);
}

static char *gold[] = { (char *)"tier=gold", NULL };
static const char *switches[] = { "", "0000:05:00.0", "0000:45:00.0" };
static const char *group_names[] = { NULL, "g", "h" };

struct instance {
        struct hp_alloc_pool pools[MAXP];
        size_t np;
        struct hp_vm_pci e[MAXE];
        struct hp_pci_id_match ids[MAXE][3];
        size_t ne;
};

static void generate(struct instance *in, bool slots)
{
        memset(in, 0, sizeof(*in));
        in->np = 1 + rnd(MAXP);
        for (size_t p = 0; p < in->np; p++)
                in->pools[p] = (struct hp_alloc_pool){
                        .vendor_id = 0x10de,
                        .device_id = (uint16_t)(1 + rnd(3)),
                        .attrs = rnd(4) == 0 ? gold : NULL,
                        .numa_node = rnd(8) == 0 ? -1 : (int)rnd(2),
                        .pcie_switch = switches[rnd(3)],
                        .whole_slot = slots && rnd(3) == 0,
                        .n_free = rnd(4),
                };
        in->ne = 1 + rnd(MAXE);
        for (size_t e = 0; e < in->ne; e++) {
                struct hp_vm_pci *x = &in->e[e];
                unsigned first = rnd(3);

                *x = (struct hp_vm_pci){ .index = (int)e, .kind = HP_VM_PCI_DYNAMIC, .allowed = in->ids[e],
                                         .n_allowed = 1 + rnd(3), .count = 1 + rnd(2) };
                /* Distinct alternatives, in a random order. */
                for (size_t a = 0; a < x->n_allowed; a++)
                        in->ids[e][a] = (struct hp_pci_id_match){ 0x10de, (uint16_t)(1 + (first + a) % 3), 0, 0 };
                x->attrs = rnd(5) == 0 ? gold : NULL;
                x->same_numa = (char *)group_names[rnd(3)];
                x->same_switch = (char *)group_names[rnd(4) == 0 ? 1 : 0];
                x->all_functions = slots && rnd(6) == 0;
        }
}

/* The oracle: every wanted device tried on every free device. */
struct oracle {
        const struct instance *in;
        size_t dev_pool[MAXDEV];
        size_t nd;
        bool used[MAXDEV];
        size_t alt[MAXE];
        int numa_of[3];          /* per group name: the node its devices share, or -2 */
        const char *switch_of[3];
};

static size_t group_index(const char *name)
{
        return !name ? 0 : streq(name, "g") ? 1 : 2;
}

static bool place(struct oracle *o, size_t e, unsigned c, size_t from)
{
        const struct hp_vm_pci *x;

        if (e == o->in->ne)
                return true;
        x = &o->in->e[e];
        if (c == hp_vm_pci_count(x))
                return place(o, e + 1, 0, 0);
        /* The devices of one entry in increasing order: no order twice. */
        for (size_t d = from; d < o->nd; d++) {
                const struct hp_alloc_pool *p = &o->in->pools[o->dev_pool[d]];
                size_t gn = group_index(x->same_numa), gs = group_index(x->same_switch);
                int old_numa = o->numa_of[gn];
                const char *old_sw = o->switch_of[gs];

                if (o->used[d] || !hp_alloc_pool_fits(x, o->alt[e], p))
                        continue;
                if (gn && (p->numa_node < 0 || (old_numa != -2 && old_numa != p->numa_node)))
                        continue;
                if (gs && (!p->pcie_switch[0] || (old_sw && !streq(old_sw, p->pcie_switch))))
                        continue;
                o->used[d] = true;
                if (gn)
                        o->numa_of[gn] = p->numa_node;
                if (gs)
                        o->switch_of[gs] = p->pcie_switch;
                if (place(o, e, c + 1, d + 1))
                        return true;
                o->used[d] = false;
                o->numa_of[gn] = old_numa;
                o->switch_of[gs] = old_sw;
        }
        return false;
}

/* The first vector of alternatives (entry 0 first) that can be met. */
static bool oracle_solve(const struct instance *in, size_t *ret_alt)
{
        struct oracle o = { .in = in };

        for (size_t p = 0; p < in->np; p++)
                for (size_t k = 0; k < in->pools[p].n_free; k++)
                        o.dev_pool[o.nd++] = p;
        for (;;) {
                memset(o.used, 0, sizeof(o.used));
                for (size_t g = 0; g < 3; g++) {
                        o.numa_of[g] = -2;
                        o.switch_of[g] = NULL;
                }
                if (place(&o, 0, 0, 0)) {
                        memcpy(ret_alt, o.alt, in->ne * sizeof(*ret_alt));
                        return true;
                }
                /* The next vector, the last entry turning fastest. */
                size_t e = in->ne;
                while (e > 0 && ++o.alt[e - 1] == in->e[e - 1].n_allowed)
                        o.alt[--e] = 0;
                if (e == 0)
                        return false;
        }
}

/* What the matcher returned keeps every rule. */
static void check_valid(const struct instance *in, const size_t *alt, const size_t *pool)
{
        size_t taken[MAXP] = { 0 }, k = 0;
        int numa[3] = { -2, -2, -2 };
        const char *sw[3] = { NULL, NULL, NULL };

        for (size_t e = 0; e < in->ne; e++) {
                const struct hp_vm_pci *x = &in->e[e];
                size_t gn = group_index(x->same_numa), gs = group_index(x->same_switch);

                assert_true(alt[e] < x->n_allowed);
                for (unsigned c = 0; c < hp_vm_pci_count(x); c++, k++) {
                        const struct hp_alloc_pool *p = &in->pools[pool[k]];

                        assert_true(pool[k] < in->np);
                        assert_true(hp_alloc_pool_fits(x, alt[e], p));
                        taken[pool[k]]++;
                        if (gn) {
                                assert_true(p->numa_node >= 0);
                                assert_true(numa[gn] == -2 || numa[gn] == p->numa_node);
                                numa[gn] = p->numa_node;
                        }
                        if (gs) {
                                assert_true(p->pcie_switch[0]);
                                assert_true(!sw[gs] || streq(sw[gs], p->pcie_switch));
                                sw[gs] = p->pcie_switch;
                        }
                }
        }
        /* Never more devices of a pool than it has free: no device twice. */
        for (size_t p = 0; p < in->np; p++)
                assert_true(taken[p] <= in->pools[p].n_free);
}

static void test_matcher_against_oracle(void **state)
{
        size_t placed = 0, refused = 0, later_alt = 0;

        (void)state;
        for (int i = 0; i < INSTANCES; i++) {
                struct instance in;
                size_t alt[MAXE], want_alt[MAXE], pool[MAXE * 2];
                char *error = NULL;
                bool fits;
                int r;

                generate(&in, true);
                fits = oracle_solve(&in, want_alt);
                r = hp_alloc_request_place(in.e, in.ne, in.pools, in.np, alt, pool, &error);
                if (fits != (r == 0))
                        fail_msg("instance %d: the oracle says %s, the matcher %d (%s)", i,
                                 fits ? "it fits" : "it does not", r, error ? error : "");
                if (!fits) {
                        /* The error names an entry. */
                        assert_int_equal(r, -ENODEV);
                        assert_non_null(error);
                        assert_true(strncmp(error, "pciPassthru", 11) == 0);
                        free(error);
                        refused++;
                        continue;
                }
                assert_null(error);
                check_valid(&in, alt, pool);
                /* Alternatives in order: the first vector that can be met. */
                for (size_t e = 0; e < in.ne; e++) {
                        if (alt[e] != want_alt[e])
                                fail_msg("instance %d: entry %zu got alternative %zu, the first that fits is %zu",
                                         i, e, alt[e], want_alt[e]);
                        later_alt += alt[e] > 0;
                }
                placed++;
        }
        /* The generator reaches both answers and later alternatives. */
        print_message("# %zu placed, %zu refused, %zu entries on a later alternative\n", placed, refused, later_alt);
        assert_true(placed > INSTANCES / 5 && refused > INSTANCES / 5 && later_alt > 50);
}

/* Power-on's hp_alloc_assign on the same hosts, each pool's free devices
 * made candidates: the same answer, and distinct addresses. */
static void test_assign_distinct(void **state)
{
        static struct hp_pci_dev devs[MAXP * 4];
        static struct hp_alloc_candidate cands[MAXP * 4];

        (void)state;
        for (int i = 0; i < INSTANCES; i++) {
                struct instance in;
                size_t want_alt[MAXE], nc = 0, n_dev = 0;
                char out[MAXE * 2][HP_SBDF_LEN], *error = NULL;
                bool fits;
                int r;

                generate(&in, false);
                for (size_t p = 0; p < in.np; p++)
                        for (size_t k = 0; k < in.pools[p].n_free; k++, nc++) {
                                const struct hp_alloc_pool *pl = &in.pools[p];

                                devs[nc] = (struct hp_pci_dev){ .vendor_id = pl->vendor_id, .device_id = pl->device_id,
                                                                .numa_node = pl->numa_node,
                                                                .addr = { 0, (uint8_t)(nc + 1), 0, 0 } };
                                hp_pci_addr_format(&devs[nc].addr, devs[nc].address);
                                snprintf(devs[nc].pcie_switch, HP_SBDF_LEN, "%s", pl->pcie_switch);
                                cands[nc] = (struct hp_alloc_candidate){ .dev = &devs[nc], .attrs = pl->attrs,
                                                                         .passthrough_active = true };
                        }
                for (size_t e = 0; e < in.ne; e++)
                        n_dev += hp_vm_pci_count(&in.e[e]);
                fits = oracle_solve(&in, want_alt);
                r = hp_alloc_assign("vm", in.e, in.ne, cands, nc, out, &error);
                if (fits != (r == 0))
                        fail_msg("instance %d: the oracle says %s, assign %d (%s)", i, fits ? "it fits" : "it does not",
                                 r, error ? error : "");
                free(error);
                for (size_t a = 0; fits && a < n_dev; a++)
                        for (size_t b = a + 1; b < n_dev; b++)
                                if (streq(out[a], out[b]))
                                        fail_msg("instance %d: %s given twice", i, out[a]);
        }
}

static double ms_since(const struct timespec *t0)
{
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* n of n identical devices as one pool, and as n entries of one device. */
static void place_identical(unsigned n, bool one_entry)
{
        static struct hp_pci_id_match vf = { 0x15b3, 0x101c, 0, 0 };
        static struct hp_vm_pci e[64];
        struct hp_alloc_pool pool = { .vendor_id = 0x15b3, .device_id = 0x101c, .numa_node = 0, .n_free = n };
        size_t alt[64], out[64], ne = one_entry ? 1 : n;
        struct timespec t0;
        char *error = NULL;

        for (size_t i = 0; i < ne; i++)
                e[i] = (struct hp_vm_pci){ .index = (int)i, .kind = HP_VM_PCI_DYNAMIC, .allowed = &vf, .n_allowed = 1,
                                           .count = one_entry ? n : 1, .same_numa = (char *)"g" };
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(hp_alloc_request_place(e, ne, &pool, 1, alt, out, &error), 0);
        print_message("# %u of %u identical devices, %s: %.3f ms\n", n, n, one_entry ? "one entry" : "one entry each",
                      ms_since(&t0));
        assert_true(ms_since(&t0) < 1000);
        for (unsigned i = 0; i < n; i++)
                assert_int_equal(out[i], 0);
        /* One more than there are: refused as fast, naming the entry. */
        pool.n_free = n - 1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(hp_alloc_request_place(e, ne, &pool, 1, alt, out, &error), -ENODEV);
        assert_true(ms_since(&t0) < 1000);
        assert_non_null(error);
        assert_true(strncmp(error, "pciPassthru", 11) == 0);
        free(error);
}

static void test_worst_cases(void **state)
{
        (void)state;
        place_identical(8, true);
        place_identical(64, true);
        place_identical(64, false);
}

/* The DGX: eight A100s, each below its own switch, four per NUMA node, as
 * eight pools; eight entries of one GPU in one NUMA group cannot be placed,
 * and the search says so at once instead of trying 8! orders. */
static void test_worst_case_groups(void **state)
{
        static struct hp_pci_id_match a100 = { 0x10de, 0x20b2, 0, 0 };
        static const char *sw[8] = { "0000:05:00.0", "0000:0d:00.0", "0000:45:00.0", "0000:4c:00.0",
                                     "0000:85:00.0", "0000:8e:00.0", "0000:b5:00.0", "0000:bb:00.0" };
        struct hp_alloc_pool pools[8];
        struct hp_vm_pci e[8];
        size_t alt[8], out[8];
        struct timespec t0;
        char *error = NULL;

        (void)state;
        for (int i = 0; i < 8; i++) {
                pools[i] = (struct hp_alloc_pool){ .vendor_id = 0x10de, .device_id = 0x20b2, .numa_node = i / 4,
                                                   .pcie_switch = sw[i], .n_free = 1 };
                e[i] = (struct hp_vm_pci){ .index = i, .kind = HP_VM_PCI_DYNAMIC, .allowed = &a100, .n_allowed = 1,
                                           .same_numa = (char *)"g" };
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(hp_alloc_request_place(e, 8, pools, 8, alt, out, &error), -ENODEV);
        print_message("# 8 GPUs on one NUMA node of a 4+4 host: refused in %.3f ms: %s\n", ms_since(&t0), error);
        assert_true(ms_since(&t0) < 1000);
        assert_non_null(strstr(error, "pciPassthru0: group 'g' (same NUMA node) cannot be met"));
        free(error);
        /* Four of them fit, on node 0. */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(hp_alloc_request_place(e, 4, pools, 8, alt, out, &error), 0);
        assert_true(ms_since(&t0) < 1000);
        for (int i = 0; i < 4; i++)
                assert_int_equal(pools[out[i]].numa_node, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_matcher_against_oracle),
                cmocka_unit_test(test_assign_distinct),
                cmocka_unit_test(test_worst_cases),
                cmocka_unit_test(test_worst_case_groups),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

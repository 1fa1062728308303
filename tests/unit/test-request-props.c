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
#include "request-oracle.h"
#include "host/pci.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"

#define INSTANCES 3000

struct instance {
        struct oracle_pools h;
        struct oracle_request q;
};

static void generate(struct instance *in, bool slots)
{
        oracle_gen_pools(&in->h, slots);
        oracle_gen_request(&in->q, slots);
}

static bool solve(const struct instance *in, size_t *ret_alt)
{
        return oracle_solve(&in->q, in->h.v, in->h.n, ret_alt);
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
                fits = solve(&in, want_alt);
                r = hp_alloc_request_place(in.q.e, in.q.ne, in.h.v, in.h.n, alt, pool, &error);
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
                oracle_check_valid(&in.q, in.h.v, in.h.n, alt, pool);
                /* Alternatives in order: the first vector that can be met. */
                for (size_t e = 0; e < in.q.ne; e++) {
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
                for (size_t p = 0; p < in.h.n; p++)
                        for (size_t k = 0; k < in.h.v[p].n_free; k++, nc++) {
                                const struct hp_alloc_pool *pl = &in.h.v[p];

                                devs[nc] = (struct hp_pci_dev){ .vendor_id = pl->vendor_id, .device_id = pl->device_id,
                                                                .numa_node = pl->numa_node,
                                                                .addr = { 0, (uint8_t)(nc + 1), 0, 0 } };
                                hp_pci_addr_format(&devs[nc].addr, devs[nc].address);
                                snprintf(devs[nc].pcie_switch, HP_SBDF_LEN, "%s", pl->pcie_switch);
                                cands[nc] = (struct hp_alloc_candidate){ .dev = &devs[nc], .attrs = pl->attrs,
                                                                         .passthrough_active = true };
                        }
                for (size_t e = 0; e < in.q.ne; e++)
                        n_dev += hp_vm_pci_count(&in.q.e[e]);
                fits = solve(&in, want_alt);
                r = hp_alloc_assign("vm", in.q.e, in.q.ne, cands, nc, out, &error);
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

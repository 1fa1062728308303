/* Unit tests: the request language at power-on (hp_alloc_assign and
 * hp_alloc_choose on devices built in memory): alternatives in order, counts,
 * attributes, same-NUMA and same-switch groups, whole multi-function slots,
 * and what the errors name. The matcher's properties on generated hosts are
 * in test-request-props.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc/select.h"
#include "host/pci.h"
#include "vm/spec.h"

#define MAX 32

static struct hp_pci_dev devs[MAX];
static struct hp_alloc_candidate cands[MAX];
static size_t n_cands;
static struct hp_vm_pci entries[MAX];
static struct hp_pci_id_match ids[MAX][4];
static size_t n_entries;
static char out[MAX][HP_SBDF_LEN];

static const struct hp_pci_id_match A100 = { 0x10de, 0x20b2, 0, 0 };
static const struct hp_pci_id_match H100 = { 0x10de, 0x2331, 0, 0 };
static const struct hp_pci_id_match CX6 = { 0x15b3, 0x101b, 0, 0 };

static int reset(void **state)
{
        (void)state;
        memset(devs, 0, sizeof(devs));
        memset(cands, 0, sizeof(cands));
        memset(entries, 0, sizeof(entries));
        memset(ids, 0, sizeof(ids));
        n_cands = n_entries = 0;
        return 0;
}

/* A device enabled for passthrough, free and healthy (add in address order). */
static struct hp_alloc_candidate *cand(const char *addr, struct hp_pci_id_match id, int numa, const char *sw)
{
        struct hp_pci_dev *d = &devs[n_cands];
        struct hp_alloc_candidate *c = &cands[n_cands++];

        assert_true(n_cands <= MAX);
        *d = (struct hp_pci_dev){ .vendor_id = id.vendor_id, .device_id = id.device_id, .class = 0x030200,
                                  .iommu_group = (int)n_cands, .numa_node = numa };
        assert_int_equal(hp_pci_addr_parse(addr, &d->addr), 0);
        hp_pci_addr_format(&d->addr, d->address);
        snprintf(d->pcie_switch, sizeof(d->pcie_switch), "%s", sw ? sw : "");
        *c = (struct hp_alloc_candidate){ .dev = d, .passthrough_active = true };
        return c;
}

/* A dynamic entry with up to three alternatives (a, then b, then c). */
static struct hp_vm_pci *want(unsigned count, struct hp_pci_id_match a, const struct hp_pci_id_match *b,
                              const struct hp_pci_id_match *c)
{
        struct hp_vm_pci *e = &entries[n_entries];

        ids[n_entries][0] = a;
        if (b)
                ids[n_entries][1] = *b;
        if (c)
                ids[n_entries][2] = *c;
        *e = (struct hp_vm_pci){ .index = (int)n_entries, .kind = HP_VM_PCI_DYNAMIC, .rombar = -1,
                                 .allowed = ids[n_entries], .n_allowed = c ? 3 : b ? 2 : 1, .count = count };
        n_entries++;
        return e;
}

static void assign_ok(void)
{
        char *error = (char *)"unset";

        memset(out, 0, sizeof(out));
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, n_cands, out, &error), 0);
        assert_null(error);
}

static void expect_error(const char *says)
{
        char *error = NULL;

        memset(out, 'x', sizeof(out));
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, n_cands, out, &error), -ENODEV);
        assert_non_null(error);
        if (!strstr(error, says))
                fail_msg("\"%s\" does not say \"%s\"", error, says);
        for (size_t i = 0; i < sizeof(out); i++)
                assert_int_equal(((char *)out)[i], 'x');
        free(error);
}

/* The first alternative wins even when the second has the lower address:
 * before, allowed IDs were one unordered set taken in address order. */
static void test_alternatives_in_order(void **state)
{
        (void)state;
        cand("0000:07:00.0", A100, 0, NULL);
        cand("0000:87:00.0", H100, 1, NULL);
        want(1, H100, &A100, NULL);
        assign_ok();
        assert_string_equal(out[0], "0000:87:00.0");
        /* The preferred one busy: the next alternative. */
        cands[1].assigned_vm = "other";
        assign_ok();
        assert_string_equal(out[0], "0000:07:00.0");
}

/* An alternative is taken only when the whole request stays satisfiable:
 * pci0 prefers A100, but pci1 can only have the A100, so pci0 gets an H100. */
static void test_alternative_leaves_room(void **state)
{
        (void)state;
        cand("0000:07:00.0", A100, 0, NULL);
        cand("0000:87:00.0", H100, 1, NULL);
        want(1, A100, &H100, NULL);
        want(1, A100, NULL, NULL);
        assign_ok();
        assert_string_equal(out[0], "0000:87:00.0");
        assert_string_equal(out[1], "0000:07:00.0");
}

/* A count takes that many devices of one alternative, in address order. */
static void test_count(void **state)
{
        (void)state;
        cand("0000:07:00.0", A100, 0, NULL);
        cand("0000:0f:00.0", A100, 0, NULL);
        cand("0000:47:00.0", H100, 0, NULL);
        cand("0000:87:00.0", A100, 1, NULL);
        want(3, A100, &H100, NULL);
        want(1, H100, NULL, NULL);
        assign_ok();
        assert_string_equal(out[0], "0000:07:00.0");
        assert_string_equal(out[1], "0000:0f:00.0");
        assert_string_equal(out[2], "0000:87:00.0");
        assert_string_equal(out[3], "0000:47:00.0");
        /* Alone: three of one kind are not there. */
        cands[3].assigned_vm = "other";
        n_entries = 1;
        expect_error("pciPassthru0: needs 3 free devices of 10de:20b2 or 10de:2331: the host has 2 of one "
                     "alternative; free some or lower its count");
        /* Three devices for three wanted, but pci0's two of one kind leave pci1 none. */
        reset(NULL);
        cand("0000:07:00.0", A100, 0, NULL);
        cand("0000:0f:00.0", A100, 0, NULL);
        cand("0000:47:00.0", H100, 0, NULL);
        want(2, A100, &H100, NULL);
        want(1, A100, NULL, NULL);
        expect_error("pciPassthru0: its alternatives and groups cannot all be met together with the other entries");
        /* More than there are at all: the matching's message, device by device. */
        reset(NULL);
        cand("0000:07:00.0", A100, 0, NULL);
        cand("0000:0f:00.0", A100, 0, NULL)->assigned_vm = "train";
        want(2, A100, NULL, NULL);
        expect_error("pciPassthru0: no free device for 10de:20b2: 2 devices match: 0000:07:00.0 is taken by "
                     "pciPassthru0 of this VM, 0000:0f:00.0 is assigned to VM 'train'; power off VM 'train'");
}

/* Each device of a count must be of one alternative. */
static void test_count_one_alternative(void **state)
{
        (void)state;
        cand("0000:07:00.0", A100, 0, NULL);
        cand("0000:87:00.0", H100, 1, NULL);
        want(2, A100, &H100, NULL);
        expect_error("pciPassthru0: needs 2 free devices of 10de:20b2 or 10de:2331: the host has 1 of one "
                     "alternative; free some or lower its count");
}

static void test_attributes(void **state)
{
        static char *gold[] = { (char *)"rack=r1", (char *)"tier=gold", NULL };
        static char *silver[] = { (char *)"tier=silver", NULL };
        static char *want_gold[] = { (char *)"tier=gold", NULL };

        (void)state;
        cand("0000:07:00.0", A100, 0, NULL)->attrs = silver;
        cand("0000:0f:00.0", A100, 0, NULL);
        cand("0000:87:00.0", A100, 1, NULL)->attrs = gold;
        want(1, A100, NULL, NULL)->attrs = want_gold;
        assign_ok();
        assert_string_equal(out[0], "0000:87:00.0");
        cands[2].attrs = NULL;
        expect_error("pciPassthru0: no free device for 10de:20b2 with attributes tier=gold: no device matches; "
                     "3 devices have these IDs but not every attribute asked for: set them with 'hwpass device "
                     "attr 0000:07:00.0 tier=gold'");
}

/* Entries naming one group share a NUMA node, all their devices. */
static void test_same_numa(void **state)
{
        (void)state;
        cand("0000:07:00.0", A100, 0, NULL);
        cand("0000:0c:00.0", CX6, 0, NULL);
        cand("0000:87:00.0", A100, 1, NULL);
        cand("0000:90:00.0", A100, 1, NULL);
        cand("0000:94:00.0", CX6, 1, NULL);
        want(2, A100, NULL, NULL)->same_numa = (char *)"g";
        want(1, CX6, NULL, NULL)->same_numa = (char *)"g";
        assign_ok();
        assert_string_equal(out[0], "0000:87:00.0");
        assert_string_equal(out[1], "0000:90:00.0");
        assert_string_equal(out[2], "0000:94:00.0");
        /* Node 1's NIC taken: two A100 and a NIC on one node exist no more. */
        cands[4].assigned_vm = "other";
        expect_error("pciPassthru0: group 'g' (same NUMA node) cannot be met: no NUMA node has free devices for "
                     "pciPassthru0 (2) pciPassthru1 (1); free matching devices: node 0 has 2, node 1 has 2; "
                     "lower the counts or split the group");
        /* An entry alone in a group: its own devices share a node. */
        entries[1].same_numa = NULL;
        assign_ok();
        assert_string_equal(out[0], "0000:87:00.0");
        assert_string_equal(out[1], "0000:90:00.0");
        assert_string_equal(out[2], "0000:0c:00.0");
}

static void test_same_switch(void **state)
{
        (void)state;
        cand("0000:07:00.0", A100, 0, "0000:05:00.0");
        cand("0000:0c:00.0", CX6, 0, "0000:0a:00.0");
        cand("0000:47:00.0", A100, 0, "0000:45:00.0");
        cand("0000:48:00.0", CX6, 0, "0000:45:00.0");
        cand("0000:63:00.0", CX6, 0, NULL);
        want(1, A100, NULL, NULL)->same_switch = (char *)"s";
        want(1, CX6, NULL, NULL)->same_switch = (char *)"s";
        assign_ok();
        assert_string_equal(out[0], "0000:47:00.0");
        assert_string_equal(out[1], "0000:48:00.0");
        cands[3].quarantined = true;
        expect_error("pciPassthru0: group 's' (same PCIe switch) cannot be met: no PCIe switch has free devices "
                     "for pciPassthru0 (1) pciPassthru1 (1); free matching devices: switch 0000:05:00.0 has 1, "
                     "switch 0000:0a:00.0 has 1, switch 0000:45:00.0 has 1");
}

/* --all-functions: function 0 of a multi-function slot whose every function
 * is free, and the plan holds every function. */
static void test_all_functions(void **state)
{
        struct hp_pci_inventory inv;
        struct hp_vm_pci *plan = NULL;
        char(*addrs)[HP_SBDF_LEN] = NULL, *error = NULL;
        size_t n = 0;

        (void)state;
        cand("0000:12:00.0", CX6, 0, NULL);                     /* single function */
        cand("0000:61:00.0", CX6, 0, NULL);                     /* two functions, .1 busy */
        cand("0000:61:00.1", CX6, 0, NULL)->assigned_vm = "x";
        cand("0000:e1:00.0", CX6, 1, NULL);                     /* two functions, free */
        cand("0000:e1:00.1", CX6, 1, NULL);
        inv = (struct hp_pci_inventory){ .devs = devs, .n_devs = n_cands };
        want(1, CX6, NULL, NULL)->all_functions = true;
        assert_int_equal(hp_alloc_choose("vm1", entries, n_entries, &inv, cands, n_cands, &plan, &addrs, &n, &error),
                         0);
        assert_int_equal(n, 2);
        assert_string_equal(addrs[0], "0000:e1:00.0");
        assert_string_equal(addrs[1], "0000:e1:00.1");
        assert_true(plan[0].in_slot && plan[0].function == 0);
        assert_true(plan[1].in_slot && plan[1].function == 1);
        free(plan);
        free(addrs);
        /* Another entry may not take a function of that slot. */
        want(1, CX6, NULL, NULL);
        cands[0].assigned_vm = cands[1].assigned_vm = "y";
        assert_int_equal(hp_alloc_choose("vm1", entries, n_entries, &inv, cands, n_cands, &plan, &addrs, &n, &error),
                         -ENODEV);
        assert_non_null(strstr(error, "pciPassthru1: 0000:e1:00.1 is a function of 0000:e1:00, which "
                                      "pciPassthru0 takes whole"));
        free(error);
}

/* A count in the plan: one entry per device, copy 0..n-1, same index. */
static void test_plan_copies(void **state)
{
        struct hp_pci_inventory inv;
        struct hp_vm_pci *plan = NULL;
        char(*addrs)[HP_SBDF_LEN] = NULL, *error = NULL;
        size_t n = 0;

        (void)state;
        for (int i = 0; i < 8; i++) {
                char a[HP_SBDF_LEN];

                snprintf(a, sizeof(a), "0000:%02x:00.0", 0x10 * (i + 1));
                cand(a, A100, i / 4, NULL);
        }
        inv = (struct hp_pci_inventory){ .devs = devs, .n_devs = n_cands };
        want(8, A100, NULL, NULL);
        assert_int_equal(hp_alloc_choose("vm1", entries, n_entries, &inv, cands, n_cands, &plan, &addrs, &n, &error),
                         0);
        assert_int_equal(n, 8);
        for (unsigned i = 0; i < 8; i++) {
                assert_int_equal(plan[i].index, 0);
                assert_int_equal(plan[i].copy, i);
                assert_string_equal(addrs[i], devs[i].address);
        }
        free(plan);
        free(addrs);
}

/* Without a group of its own, a request's devices share a NUMA node when
 * they can: the lowest addresses span two nodes, the two on node 1 are
 * taken; not at the price of a preferred alternative. */
static void test_numa_locality(void **state)
{
        (void)state;
        cand("0000:07:00.0", A100, 0, NULL);
        cand("0000:87:00.0", A100, 1, NULL);
        cand("0000:90:00.0", A100, 1, NULL);
        cand("0000:b7:00.0", H100, 0, NULL);
        want(2, A100, NULL, NULL);
        assign_ok();
        assert_string_equal(out[0], "0000:87:00.0");
        assert_string_equal(out[1], "0000:90:00.0");
        /* Three A100s cannot share a node; the H100 would let them, but
         * the A100 is preferred: three A100s, across the nodes. */
        want(1, A100, &H100, NULL);
        assign_ok();
        for (int i = 0; i < 3; i++)
                assert_string_not_equal(out[i], "0000:b7:00.0");
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_alternatives_in_order), T(test_alternative_leaves_room), T(test_count),
                T(test_count_one_alternative), T(test_attributes),              T(test_same_numa),
                T(test_same_switch),           T(test_all_functions),           T(test_plan_copies),
                T(test_numa_locality),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

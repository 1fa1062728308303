/* Unit tests: every passthrough verdict rule and the IOMMU grouping, on
 * inventories built in memory (the rules are pure functions). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/iommu.h"
#include "host/pci.h"
#include "util/strutil.h"

static struct hp_pci_dev devs[16];
static struct hp_pci_inventory inv = { .devs = devs };

static struct hp_pci_dev *add(const char *addr, uint32_t class, int group, bool reset)
{
        struct hp_pci_dev *d = &devs[inv.n_devs++];

        *d = (struct hp_pci_dev){ .class = class, .iommu_group = group, .has_reset = reset,
                                  .numa_node = -1 };
        assert_int_equal(hp_pci_addr_parse(addr, &d->addr), 0);
        hp_pci_addr_format(&d->addr, d->address);
        return d;
}

static int reset_inv(void **state)
{
        (void)state;
        memset(devs, 0, sizeof(devs));
        inv.n_devs = 0;
        return 0;
}

/* Asserts the verdict of d, and that some reason (or note) contains text. */
static void expect(const struct hp_pci_dev *d, bool capable, const char *blocker,
                   const char *reason_text, const char *note_text)
{
        struct hp_verdict v = { 0 };
        bool found;

        assert_int_equal(hp_pci_verdict(&inv, d, &v), 0);
        if (v.capable != capable)
                fail_msg("%s: capable=%d, expected %d (first reason: %s)", d->address, v.capable,
                         capable, v.reasons[0] ? v.reasons[0] : "none");
        if (blocker)
                assert_string_equal(v.blocker, blocker);
        else
                assert_null(v.blocker);
        assert_int_equal(hp_strv_length(v.reasons) == 0, capable);
        if (reason_text) {
                found = false;
                for (size_t i = 0; v.reasons[i]; i++)
                        found |= strstr(v.reasons[i], reason_text) != NULL;
                if (!found)
                        fail_msg("%s: no reason mentions '%s'", d->address, reason_text);
        }
        if (note_text) {
                found = false;
                for (size_t i = 0; v.notes[i]; i++)
                        found |= strstr(v.notes[i], note_text) != NULL;
                if (!found)
                        fail_msg("%s: no note mentions '%s'", d->address, note_text);
        }
        hp_verdict_done(&v);
}

static void test_isolated_endpoint(void **state)
{
        (void)state;
        add("0000:00:01.0", 0x060400, 1, false);
        expect(add("0000:01:00.0", 0x010802, 2, true), true, NULL, NULL, NULL);
}

static void test_no_group(void **state)
{
        (void)state;
        expect(add("0000:00:02.0", 0x010000, -1, false), false, "no IOMMU group", "IOMMU is off",
               NULL);
}

static void test_bridges_and_host_devices(void **state)
{
        (void)state;
        expect(add("0000:00:00.0", 0x060000, 0, false), false, "bridge", "host bridge", NULL);
        expect(add("0000:00:01.0", 0x060400, 1, true), false, "bridge", "PCI bridge", NULL);
        expect(add("0000:00:1f.0", 0x060100, 5, false), false, "bridge", "ISA", NULL);
        expect(add("0000:00:1f.4", 0x0c0500, 5, false), false, "host device", "SMBus", NULL);
        expect(add("0000:00:1f.2", 0x050000, 6, false), false, "host device", "memory controller",
               NULL);
        /* Not a PCI bridge: NVSwitch-style "other bridge" devices can be passed. */
        expect(add("0000:05:00.0", 0x068000, 7, true), true, NULL, NULL, NULL);
}

static void test_no_reset(void **state)
{
        (void)state;
        expect(add("0000:03:00.0", 0x040300, 3, false), false, "no reset method", "cannot reset",
               NULL);
}

static void test_gpu_with_audio_goes_together(void **state)
{
        struct hp_pci_dev *gpu;

        (void)state;
        add("0000:00:01.0", 0x060400, 1, true); /* the root port shares the group */
        gpu = add("0000:01:00.0", 0x030000, 1, true);
        gpu->boot_vga = true;
        add("0000:01:00.1", 0x040300, 1, true);
        expect(gpu, true, NULL, NULL, "goes together with 0000:01:00.1");
        expect(gpu, true, NULL, NULL, "boot display");
        expect(&devs[2], true, NULL, NULL, "goes together with 0000:01:00.0");
}

static void test_shared_group(void **state)
{
        (void)state;
        add("0000:00:1c.0", 0x060400, 12, true);
        add("0000:00:1c.4", 0x060400, 12, true);
        add("0000:02:00.0", 0x020000, 12, true);
        add("0000:03:00.0", 0x0c0330, 12, true);
        expect(&devs[2], false, "shared group", "it also holds 0000:03:00.0", NULL);
        expect(&devs[3], false, "shared group", "no ACS isolation", NULL);
}

static void test_several_reasons(void **state)
{
        struct hp_verdict v = { 0 };

        (void)state;
        add("0000:04:00.0", 0x020000, -1, false);
        assert_int_equal(hp_pci_verdict(&inv, &devs[0], &v), 0);
        assert_false(v.capable);
        assert_string_equal(v.blocker, "no IOMMU group");
        assert_int_equal(hp_strv_length(v.reasons), 2);
        hp_verdict_done(&v);
}

static void test_vf_note(void **state)
{
        struct hp_pci_dev *vf;

        (void)state;
        add("0000:41:00.0", 0x020000, 40, true);
        vf = add("0000:41:00.2", 0x020000, 41, true);
        vf->physfn = (char *)"0000:41:00.0";
        expect(vf, true, NULL, NULL, "virtual function of 0000:41:00.0");
        vf->physfn = NULL;
}

static void test_groups(void **state)
{
        struct hp_iommu_group *g = NULL;
        size_t n = 0;

        (void)state;
        add("0000:00:00.0", 0x060000, 0, false);
        add("0000:00:01.0", 0x060400, 1, true);
        add("0000:01:00.0", 0x030000, 1, true);
        add("0000:01:00.1", 0x040300, 1, true);
        add("0000:00:1c.0", 0x060400, 12, true);
        add("0000:02:00.0", 0x020000, 12, true);
        add("0000:03:00.0", 0x010802, -1, true);
        assert_int_equal(hp_iommu_groups(&inv, &g, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(g[0].id, 0);
        assert_int_equal(g[0].n_endpoints, 0);
        assert_true(hp_iommu_group_isolated(&g[0]));
        assert_int_equal(g[1].id, 1);
        assert_int_equal(g[1].n_members, 3);
        assert_int_equal(g[1].n_endpoints, 2);
        assert_false(hp_iommu_group_isolated(&g[1]));
        assert_int_equal(g[2].id, 12);
        assert_int_equal(g[2].n_endpoints, 1);
        assert_true(hp_iommu_group_isolated(&g[2]));
        hp_iommu_groups_free(g, n);
}

static void test_class_filters(void **state)
{
        enum hp_pci_class_filter f;

        (void)state;
        assert_int_equal(hp_pci_class_filter_from_string("gpu", &f), 0);
        assert_true(hp_pci_dev_matches_class(add("0000:01:00.0", 0x030200, 1, true), f));
        assert_false(hp_pci_dev_matches_class(add("0000:01:00.1", 0x040300, 1, true), f));
        assert_int_equal(hp_pci_class_filter_from_string("audio", &f), 0);
        assert_true(hp_pci_dev_matches_class(&devs[1], f));
        assert_int_equal(hp_pci_class_filter_from_string("usb", &f), 0);
        assert_true(hp_pci_dev_matches_class(add("0000:00:14.0", 0x0c0330, 2, true), f));
        assert_false(hp_pci_dev_matches_class(add("0000:00:1f.4", 0x0c0500, 3, true), f));
        assert_int_equal(hp_pci_class_filter_from_string("storage", &f), 0);
        assert_true(hp_pci_dev_matches_class(add("0000:02:00.0", 0x010802, 4, true), f));
        assert_int_equal(hp_pci_class_filter_from_string("net", &f), 0);
        assert_true(hp_pci_dev_matches_class(add("0000:03:00.0", 0x020000, 5, true), f));
        assert_int_equal(hp_pci_class_filter_from_string("fpga", &f), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup(fn, reset_inv)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_isolated_endpoint), T(test_no_group), T(test_bridges_and_host_devices),
                T(test_no_reset), T(test_gpu_with_audio_goes_together), T(test_shared_group),
                T(test_several_reasons), T(test_vf_note), T(test_groups), T(test_class_filters),
        };

        return cmocka_run_group_tests_name("verdict", tests, NULL, NULL);
}

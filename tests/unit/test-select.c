/* Unit tests: choosing a VM's devices at power-on, on devices and candidate
 * states built in memory (static and dynamic entries, labels, sub-IDs, the
 * matching that keeps a narrow entry from being starved, and the messages). */
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

#define MAX 16

static struct hp_pci_dev devs[MAX];
static struct hp_alloc_candidate cands[MAX];
static size_t n_cands;
static struct hp_vm_pci entries[MAX];
static struct hp_pci_id_match ids[MAX][4];
static size_t n_entries;

static const struct hp_pci_id_match QEMU_NVME = { 0x1b36, 0x0010, 0, 0 };
static const struct hp_pci_id_match E1000E = { 0x8086, 0x10d3, 0, 0 };

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

/* A device that is enabled for passthrough, free and healthy. */
static struct hp_alloc_candidate *cand(const char *addr, struct hp_pci_id_match id, const char *label)
{
        struct hp_pci_dev *d = &devs[n_cands];
        struct hp_alloc_candidate *c = &cands[n_cands++];

        assert_true(n_cands <= MAX);
        *d = (struct hp_pci_dev){ .vendor_id = id.vendor_id, .device_id = id.device_id,
                                  .subsystem_vendor_id = id.subsystem_vendor_id,
                                  .subsystem_device_id = id.subsystem_device_id,
                                  .class = 0x010802, .iommu_group = (int)n_cands, .numa_node = -1 };
        assert_int_equal(hp_pci_addr_parse(addr, &d->addr), 0);
        hp_pci_addr_format(&d->addr, d->address);
        *c = (struct hp_alloc_candidate){ .dev = d, .label = label, .passthrough_active = true };
        return c;
}

static struct hp_vm_pci *entry_static(const char *addr)
{
        struct hp_vm_pci *e = &entries[n_entries];

        *e = (struct hp_vm_pci){ .index = (int)n_entries, .kind = HP_VM_PCI_STATIC, .rombar = -1 };
        snprintf(e->address, sizeof(e->address), "%s", addr);
        n_entries++;
        return e;
}

static struct hp_vm_pci *entry_dynamic(const char *label, struct hp_pci_id_match a,
                                       const struct hp_pci_id_match *b)
{
        struct hp_vm_pci *e = &entries[n_entries];

        ids[n_entries][0] = a;
        if (b)
                ids[n_entries][1] = *b;
        *e = (struct hp_vm_pci){ .index = (int)n_entries, .kind = HP_VM_PCI_DYNAMIC, .rombar = -1,
                                 .allowed = ids[n_entries], .n_allowed = b ? 2 : 1,
                                 .label = (char *)label };
        n_entries++;
        return e;
}

static char out[MAX][HP_SBDF_LEN];

static void assign_ok(const char *vm)
{
        char *error = (char *)"unset";

        memset(out, 0, sizeof(out));
        assert_int_equal(hp_alloc_assign(vm, entries, n_entries, cands, n_cands, out, &error), 0);
        assert_null(error);
}

/* Fails with -ENODEV; returns the message (the caller frees it). The
 * addresses are not written. */
static char *assign_fails(const char *vm)
{
        char *error = NULL;

        memset(out, 'x', sizeof(out));
        assert_int_equal(hp_alloc_assign(vm, entries, n_entries, cands, n_cands, out, &error), -ENODEV);
        assert_non_null(error);
        for (size_t i = 0; i < sizeof(out); i++)
                assert_int_equal(((char *)out)[i], 'x');
        return error;
}

static void expect_error(const char *vm, const char *want)
{
        char *error = assign_fails(vm);

        assert_string_equal(error, want);
        free(error);
}

static void test_static_ok(void **state)
{
        (void)state;
        cand("0000:01:00.0", QEMU_NVME, NULL);
        cand("0000:02:00.0", QEMU_NVME, NULL);
        entry_static("0000:02:00.0");
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:02:00.0");
        /* The short form names the same device. */
        reset(NULL);
        cand("0000:02:00.0", QEMU_NVME, NULL);
        entry_static("02:00.0");
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:02:00.0");
}

static void test_static_not_active(void **state)
{
        (void)state;
        cand("0000:02:00.0", QEMU_NVME, NULL)->passthrough_active = false;
        entry_static("0000:02:00.0");
        expect_error("vm1", "pciPassthru0: device 0000:02:00.0 is not available: it is not enabled for "
                            "passthrough; enable 0000:02:00.0 with 'hwpass device passthrough enable "
                            "0000:02:00.0'");
}

/* Enabled, but the host took it back (a manual rebind) or its group is not
 * viable: the error says so and how to bind it again, not "enable it". */
static void test_static_binding_lost(void **state)
{
        static char host_driver[] = "snd_hda_intel", vfio[] = "vfio-pci";
        struct hp_alloc_candidate *c;

        (void)state;
        c = cand("0000:02:00.1", QEMU_NVME, NULL);
        c->passthrough_active = false;
        c->passthrough_desired = true;
        devs[0].driver = host_driver;
        entry_static("0000:02:00.1");
        expect_error("vm1", "pciPassthru0: device 0000:02:00.1 is not available: it is enabled for passthrough, "
                            "but the host's driver snd_hda_intel has it now; bind 0000:02:00.1 (and its IOMMU "
                            "group) to vfio-pci again with 'hwpass device passthrough enable 0000:02:00.1'");
        /* On vfio-pci, but another function of its group went back to the
         * host: that one is named, and it is what to bind again. */
        devs[0].driver = vfio;
        devs[0].iommu_group = 7;
        c->group_blocker = &devs[1];
        cand("0000:02:00.0", QEMU_NVME, NULL)->passthrough_active = false;
        devs[1].driver = host_driver;
        expect_error("vm1", "pciPassthru0: device 0000:02:00.1 is not available: it is enabled for passthrough, "
                            "but its IOMMU group 7 is not viable: the host's driver snd_hda_intel has "
                            "0000:02:00.0 now; bind 0000:02:00.0 (and its IOMMU group) to vfio-pci again with "
                            "'hwpass device passthrough enable 0000:02:00.0'");
        c->group_blocker = NULL;
        devs[0].driver = NULL;
        expect_error("vm1", "pciPassthru0: device 0000:02:00.1 is not available: it is enabled for passthrough, "
                            "but not bound to vfio-pci; bind 0000:02:00.1 (and its IOMMU group) to vfio-pci "
                            "again with 'hwpass device passthrough enable 0000:02:00.1'");
}

static void test_static_assigned_elsewhere(void **state)
{
        (void)state;
        cand("0000:02:00.0", QEMU_NVME, NULL)->assigned_vm = "other";
        entry_static("0000:02:00.0");
        expect_error("vm1", "pciPassthru0: device 0000:02:00.0 is not available: it is assigned to VM "
                            "'other'; power off VM 'other' to free 0000:02:00.0");
}

static void test_static_assigned_here(void **state)
{
        (void)state;
        cand("0000:02:00.0", QEMU_NVME, NULL)->assigned_vm = "vm1";
        entry_static("0000:02:00.0");
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:02:00.0");
}

static void test_static_quarantined(void **state)
{
        (void)state;
        cand("0000:02:00.0", QEMU_NVME, NULL)->quarantined = true;
        entry_static("0000:02:00.0");
        expect_error("vm1", "pciPassthru0: device 0000:02:00.0 is not available: it is quarantined; "
                            "0000:02:00.0 failed to reset and is quarantined: once it works again (a power cycle "
                            "of the host or the slot), 'hwpass device clear 0000:02:00.0'");
        /* Everything at once is said at once. */
        cands[0].assigned_vm = "other";
        cands[0].passthrough_active = false;
        expect_error("vm1", "pciPassthru0: device 0000:02:00.0 is not available: it is assigned to VM "
                            "'other' and not enabled for passthrough and quarantined; power off VM "
                            "'other' to free 0000:02:00.0; enable 0000:02:00.0 with 'hwpass device "
                            "passthrough enable 0000:02:00.0'; 0000:02:00.0 failed to reset and is "
                            "quarantined: once it works again (a power cycle of the host or the slot), "
                            "'hwpass device clear 0000:02:00.0'");
}

static void test_static_missing_or_twice(void **state)
{
        (void)state;
        cand("0000:02:00.0", QEMU_NVME, NULL);
        entry_static("03:00.0");
        expect_error("vm1", "pciPassthru0: device 0000:03:00.0 is not on this host; check the address "
                            "with 'hwpass device list'");
        reset(NULL);
        cand("0000:02:00.0", QEMU_NVME, NULL);
        entry_static("0000:02:00.0");
        entry_static("0000:02:00.0");
        expect_error("vm1", "pciPassthru1: device 0000:02:00.0 is not available: it is taken by "
                            "pciPassthru0 of this VM; another entry of this VM names the same device: "
                            "remove one of them");
}

static void test_dynamic_by_id(void **state)
{
        (void)state;
        cand("0000:01:00.0", E1000E, NULL);
        cand("0000:02:00.0", QEMU_NVME, NULL)->passthrough_active = false;
        cand("0000:03:00.0", QEMU_NVME, "fast");
        cand("0000:04:00.0", QEMU_NVME, NULL);
        entry_dynamic(NULL, QEMU_NVME, NULL); /* no label: any label will do */
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:03:00.0");
        /* Held by this VM already (a power-on after a crash) still counts as free. */
        cands[2].assigned_vm = "vm1";
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:03:00.0");
        cands[2].assigned_vm = "vm2";
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:04:00.0");
}

static void test_label_must_match(void **state)
{
        (void)state;
        cand("0000:01:00.0", QEMU_NVME, NULL);
        cand("0000:02:00.0", QEMU_NVME, "slow");
        cand("0000:03:00.0", QEMU_NVME, "fast");
        cand("0000:04:00.0", E1000E, "fast");
        entry_dynamic("fast", QEMU_NVME, NULL);
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:03:00.0");
        /* Labels are exact. */
        cands[2].label = "Fast";
        expect_error("vm1", "pciPassthru0: no free device for 1b36:0010 with label 'fast': no device "
                            "matches; 3 devices have these IDs but another label or none: label one "
                            "with 'hwpass device label 0000:01:00.0 fast'");
        /* An empty label asks for none. */
        entries[0].label = (char *)"";
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:01:00.0");
}

static void test_label_several_entries(void **state)
{
        char *error;

        (void)state;
        cand("0000:01:00.0", QEMU_NVME, "fast");
        cand("0000:02:00.0", QEMU_NVME, "slow");
        cand("0000:03:00.0", QEMU_NVME, "fast");
        cand("0000:04:00.0", QEMU_NVME, "fast");
        cand("0000:05:00.0", QEMU_NVME, "fast")->assigned_vm = "other";
        cand("0000:06:00.0", QEMU_NVME, "fast")->passthrough_active = false;
        cand("0000:07:00.0", QEMU_NVME, "fast")->quarantined = true;
        entry_dynamic("fast", QEMU_NVME, NULL);
        entry_dynamic("fast", QEMU_NVME, NULL);
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:01:00.0");
        assert_string_equal(out[1], "0000:03:00.0");
        /* A third entry for the same label gets another one. */
        entry_dynamic("fast", QEMU_NVME, NULL);
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:01:00.0");
        assert_string_equal(out[1], "0000:03:00.0");
        assert_string_equal(out[2], "0000:04:00.0");
        /* A fourth finds none, and says what it looked for and why each is unavailable. */
        entry_dynamic("fast", QEMU_NVME, NULL);
        error = assign_fails("vm1");
        assert_string_equal(error,
                            "pciPassthru3: no free device for 1b36:0010 with label 'fast': 6 devices "
                            "match: 0000:01:00.0 is taken by pciPassthru0 of this VM, 0000:03:00.0 is "
                            "taken by pciPassthru1 of this VM, 0000:04:00.0 is taken by pciPassthru2 of "
                            "this VM, 0000:05:00.0 is assigned to VM 'other', 0000:06:00.0 is not enabled "
                            "for passthrough, 0000:07:00.0 is quarantined; power off VM 'other' to free "
                            "0000:05:00.0; enable 0000:06:00.0 with 'hwpass device passthrough enable "
                            "0000:06:00.0'; 0000:07:00.0 failed to reset and is quarantined: once it "
                            "works again (a power cycle of the host or the slot), 'hwpass device clear "
                            "0000:07:00.0'");
        free(error);
        /* With only this VM's own entries in the way, it says so. */
        n_cands = 4;
        expect_error("vm1", "pciPassthru3: no free device for 1b36:0010 with label 'fast': 3 devices "
                            "match: 0000:01:00.0 is taken by pciPassthru0 of this VM, 0000:03:00.0 is "
                            "taken by pciPassthru1 of this VM, 0000:04:00.0 is taken by pciPassthru2 of "
                            "this VM; this VM asks for more such devices than the host has: add one to "
                            "the host or remove pciPassthru3");
}

static void test_no_such_ids(void **state)
{
        static const struct hp_pci_id_match gpu = { 0x10de, 0x2206, 0x1043, 0x87ac };

        (void)state;
        cand("0000:01:00.0", QEMU_NVME, NULL);
        entry_dynamic(NULL, gpu, &E1000E);
        expect_error("vm1", "pciPassthru0: no free device for 10de:2206:1043:87ac or 8086:10d3: no device "
                            "matches; no device on this host has these IDs: compare them with 'hwpass "
                            "device list'");
}

static void test_narrow_not_starved(void **state)
{
        static const struct hp_pci_id_match a = { 0x10de, 0x2206, 0, 0 }, b = { 0x10de, 0x2204, 0, 0 };

        (void)state;
        cand("0000:01:00.0", a, NULL); /* A */
        cand("0000:02:00.0", b, NULL); /* B */
        entry_dynamic(NULL, a, &b);    /* wide: A or B */
        entry_dynamic(NULL, a, NULL);  /* narrow: A only */
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:02:00.0");
        assert_string_equal(out[1], "0000:01:00.0");

        /* A static entry is not starved by a dynamic one tried first either. */
        reset(NULL);
        cand("0000:01:00.0", QEMU_NVME, NULL);
        cand("0000:02:00.0", QEMU_NVME, NULL);
        entry_dynamic(NULL, QEMU_NVME, NULL);
        entry_static("0000:01:00.0");
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:02:00.0");
        assert_string_equal(out[1], "0000:01:00.0");
}

static void test_entries_tried_by_index(void **state)
{
        static const struct hp_pci_id_match a = { 0x10de, 0x2206, 0, 0 };

        (void)state;
        cand("0000:01:00.0", a, NULL);
        cand("0000:02:00.0", a, NULL);
        entry_dynamic(NULL, a, NULL)->index = 5;
        entry_dynamic(NULL, a, NULL)->index = 2;
        assign_ok("vm1");
        /* pciPassthru2 is tried first and gets the lower address; results stay by position. */
        assert_string_equal(out[0], "0000:02:00.0");
        assert_string_equal(out[1], "0000:01:00.0");
}

static void test_deterministic(void **state)
{
        static const char *const addrs[] = { "0000:01:00.0", "0000:02:00.0", "0000:0a:00.0",
                                             "0001:00:01.0" };
        static const int perms[][4] = { { 0, 1, 2, 3 }, { 3, 2, 1, 0 }, { 2, 0, 3, 1 }, { 1, 3, 0, 2 } };

        (void)state;
        for (size_t p = 0; p < sizeof(perms) / sizeof(perms[0]); p++) {
                reset(NULL);
                for (size_t i = 0; i < 4; i++)
                        cand(addrs[perms[p][i]], QEMU_NVME, "fast");
                entry_dynamic("fast", QEMU_NVME, NULL);
                entry_dynamic(NULL, QEMU_NVME, NULL);
                entry_dynamic("fast", QEMU_NVME, NULL);
                for (int run = 0; run < 2; run++) {
                        assign_ok("vm1");
                        assert_string_equal(out[0], "0000:01:00.0");
                        assert_string_equal(out[1], "0000:02:00.0");
                        assert_string_equal(out[2], "0000:0a:00.0");
                }
        }
}

static void test_sub_ids(void **state)
{
        static const struct hp_pci_id_match asus = { 0x10de, 0x2206, 0x1043, 0x87ac },
                                             gigabyte = { 0x10de, 0x2206, 0x1458, 0x4000 },
                                             any = { 0x10de, 0x2206, 0, 0 },
                                             asus_any = { 0x10de, 0x2206, 0x1043, 0 };

        (void)state;
        cand("0000:01:00.0", gigabyte, NULL);
        cand("0000:02:00.0", asus, NULL);
        assert_true(hp_pci_id_match_dev(&any, &devs[0]));
        assert_true(hp_pci_id_match_dev(&any, &devs[1]));
        assert_false(hp_pci_id_match_dev(&asus, &devs[0]));
        assert_true(hp_pci_id_match_dev(&asus, &devs[1]));
        assert_true(hp_pci_id_match_dev(&asus_any, &devs[1]));
        assert_false(hp_pci_id_match_dev(&asus_any, &devs[0]));
        assert_false(hp_pci_id_match_dev(&QEMU_NVME, &devs[0]));

        entry_dynamic(NULL, asus, NULL);
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:02:00.0");
        entries[0].allowed[0] = any;
        assign_ok("vm1");
        assert_string_equal(out[0], "0000:01:00.0");
}

static void test_empty(void **state)
{
        char *error = (char *)"unset";

        (void)state;
        assert_int_equal(hp_alloc_assign("vm1", NULL, 0, NULL, 0, NULL, &error), 0);
        assert_null(error);
        cand("0000:01:00.0", QEMU_NVME, NULL);
        assert_int_equal(hp_alloc_assign("vm1", entries, 0, cands, n_cands, out, NULL), 0);
        /* Entries and no devices at all. */
        reset(NULL);
        entry_dynamic(NULL, QEMU_NVME, NULL);
        expect_error("vm1", "pciPassthru0: no free device for 1b36:0010: no device matches; no device on "
                            "this host has these IDs: compare them with 'hwpass device list'");
}

static void test_bad_input(void **state)
{
        char *error = NULL;

        (void)state;
        cand("0000:01:00.0", QEMU_NVME, NULL);
        entry_static("01:00");
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, n_cands, out, &error), -EINVAL);
        assert_string_equal(error, "pciPassthru0: '01:00' is not a PCI address (DDDD:BB:DD.F)");
        free(error);

        /* An address that is not even terminated is refused, not read past. */
        memset(entries[0].address, '1', sizeof(entries[0].address));
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, n_cands, out, &error), -EINVAL);
        assert_string_equal(error, "pciPassthru0: '111111111111' is not a PCI address (DDDD:BB:DD.F)");
        free(error);

        reset(NULL);
        cand("0000:01:00.0", QEMU_NVME, NULL);
        entry_dynamic(NULL, QEMU_NVME, NULL)->n_allowed = 0;
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, n_cands, out, &error), -EINVAL);
        assert_non_null(strstr(error, "needs at least one allowed"));
        free(error);

        reset(NULL);
        cand("0000:01:00.0", QEMU_NVME, NULL);
        cand("01:00.0", QEMU_NVME, NULL);
        entry_dynamic(NULL, QEMU_NVME, NULL);
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, n_cands, out, &error), -EINVAL);
        assert_string_equal(error, "device 0000:01:00.0 is offered twice");
        free(error);

        cands[1].dev = NULL;
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, n_cands, out, NULL), -EINVAL);
        assert_int_equal(hp_alloc_assign(NULL, entries, n_entries, cands, 1, out, NULL), -EINVAL);
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, 1, NULL, NULL), -EINVAL);
        assert_int_equal(hp_alloc_assign("vm1", NULL, 1, cands, 1, out, NULL), -EINVAL);
        assert_int_equal(hp_alloc_assign("vm1", entries, 1, NULL, 1, out, NULL), -EINVAL);
        /* Without a place for the message the answer is the same. */
        cands[1].dev = &devs[1];
        n_cands = 1;
        cands[0].quarantined = true;
        assert_int_equal(hp_alloc_assign("vm1", entries, n_entries, cands, n_cands, out, NULL), -ENODEV);
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_static_ok),          T(test_static_not_active),
        T(test_static_binding_lost),
                T(test_static_assigned_elsewhere), T(test_static_assigned_here),
                T(test_static_quarantined), T(test_static_missing_or_twice),
                T(test_dynamic_by_id),      T(test_label_must_match),
                T(test_label_several_entries), T(test_no_such_ids),
                T(test_narrow_not_starved), T(test_entries_tried_by_index),
                T(test_deterministic),      T(test_sub_ids),
                T(test_empty),              T(test_bad_input),
        };

        return cmocka_run_group_tests_name("select", tests, NULL, NULL);
}

/* Golden-file tests of the QEMU argv for many VM shapes: one argument per
 * line in tests/golden/qemu/SHAPE.argv; HWPASS_REGEN=1 rewrites them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "vm/mmio.h"
#include "vm/qemu.h"
#include "vm/spec.h"

static char *no_disks[] = { NULL };

static void golden(const char *shape, char **argv)
{
        char path[512], *expected = NULL, *actual = NULL;
        size_t len = 0, n = 0;
        FILE *f = open_memstream(&actual, &len);

        assert_non_null(f);
        for (size_t i = 0; argv[i]; i++)
                fprintf(f, "%s\n", argv[i]);
        fclose(f);
        snprintf(path, sizeof(path), "%s/%s.argv", GOLDEN_DIR, shape);
        if (getenv("HWPASS_REGEN")) {
                f = fopen(path, "we");
                assert_non_null(f);
                fputs(actual, f);
                fclose(f);
        }
        f = fopen(path, "re");
        if (!f)
                fail_msg("no golden file %s (run with HWPASS_REGEN=1)", path);
        expected = calloc(1, 65536);
        assert_non_null(expected);
        n = fread(expected, 1, 65535, f);
        fclose(f);
        expected[n] = '\0';
        if (!streq(expected, actual))
                fail_msg("%s: argv differs from %s:\n%s", shape, path, actual);
        free(expected);
        free(actual);
}

static struct hp_vm_spec base(const char *name, uint64_t mib, unsigned vcpus, enum hp_vm_firmware fw)
{
        struct hp_vm_spec s = { .memory_mib = mib, .vcpus = vcpus, .firmware = fw, .disks = no_disks,
                                .device_limit = HP_VM_DEFAULT_DEVICE_LIMIT, .autostart_order = -1 };

        snprintf(s.name, sizeof(s.name), "%s", name);
        return s;
}

static void test_desktop_gpu(void **state)
{
        char *disks[] = { (char *)"/var/lib/hwpass/images/win11.qcow2", NULL };
        struct hp_vm_pci pci[] = {
                { .index = 0, .kind = HP_VM_PCI_STATIC, .address = "0000:0c:00.0", .primary_display = true, .rombar = -1 },
                { .index = 1, .kind = HP_VM_PCI_STATIC, .address = "0000:0c:00.1", .rombar = -1 },
        };
        struct hp_vm_usb usb[] = { { .index = 0, .kind = HP_VM_USB_ID, .vendor_id = 0x046d, .product_id = 0xc52b },
                                   { .index = 1, .kind = HP_VM_USB_PORT, .bus = 3, .port = (char *)"5.2" } };
        struct hp_qemu_usb_host hosts[] = { { .vendor_id = 0x046d, .product_id = 0xc52b },
                                            { .by_port = true, .bus = 3, .port = "5.2" } };
        const char addrs[][13] = { "0000:0c:00.0", "0000:0c:00.1" };
        struct hp_mmio_plan mmio = { .needed = 288ull << 20, .window = 2ull << 30 };
        struct hp_vm_spec s = base("desktop", 16384, 8, HP_VM_FIRMWARE_EFI);
        struct hp_qemu_config c = { .binary = "qemu-system-x86_64", .accel = "kvm", .run_dir = "/run/hwpass/vms/desktop",
                                    .ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd",
                                    .ovmf_vars = "/var/lib/hwpass/vms/desktop/OVMF_VARS.fd", .pci = addrs,
                                    .usb = hosts, .mmio = &mmio };
        char **argv = NULL;

        (void)state;
        s.disks = disks;
        s.pci = pci;
        s.n_pci = 2;
        s.usb = usb;
        s.n_usb = 2;
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), 0);
        golden("desktop-gpu", argv);
        hp_strv_free(argv);
}

static void test_probe_bios(void **state)
{
        struct hp_vm_pci pci[] = { { .index = 0, .kind = HP_VM_PCI_STATIC, .address = "0000:02:00.0", .rombar = 0 } };
        const char addrs[][13] = { "0000:02:00.0" };
        struct hp_vm_spec s = base("probe", 64, 1, HP_VM_FIRMWARE_BIOS);
        struct hp_qemu_config c = { .binary = "qemu-system-x86_64", .accel = "tcg", .run_dir = "/run/hwpass/vms/probe",
                                    .pci = addrs };
        char **argv = NULL;

        (void)state;
        s.kernel = (char *)"/usr/lib/hwpass/probe-guest";
        s.append = (char *)"exit";
        s.pci = pci;
        s.n_pci = 1;
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), 0);
        golden("probe-bios", argv);
        hp_strv_free(argv);
}

static void test_four_gpus_large_bars(void **state)
{
        struct hp_pci_id_match a100 = { .vendor_id = 0x10de, .device_id = 0x20b2 };
        struct hp_vm_pci pci[4];
        const char addrs[][13] = { "0000:07:00.0", "0000:0f:00.0", "0000:47:00.0", "0000:4e:00.0" };
        struct hp_mmio_plan mmio = { .needed = 513ull << 30, .window = 1024ull << 30, .needs_efi = true };
        struct hp_vm_spec s = base("train-01", 491520, 64, HP_VM_FIRMWARE_EFI);
        struct hp_qemu_config c = { .binary = "qemu-system-x86_64", .accel = "kvm", .run_dir = "/run/hwpass/vms/train-01",
                                    .ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd",
                                    .ovmf_vars = "/var/lib/hwpass/vms/train-01/OVMF_VARS.fd", .pci = addrs,
                                    .mmio = &mmio };
        char **argv = NULL;

        (void)state;
        s.hugepages = true; /* 480 GiB for a training VM: from 1 GiB pages */
        for (int i = 0; i < 4; i++)
                pci[i] = (struct hp_vm_pci){ .index = i, .kind = HP_VM_PCI_DYNAMIC, .allowed = &a100,
                                             .n_allowed = 1, .label = (char *)"a100", .rombar = -1 };
        s.pci = pci;
        s.n_pci = 4;
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), 0);
        golden("four-gpus-large-bars", argv);
        hp_strv_free(argv);
}

static void test_romfile_and_escaping(void **state)
{
        char *disks[] = { (char *)"/srv/vm,images/a.img", (char *)"/srv/b.img", NULL };
        struct hp_vm_pci pci[] = { { .index = 3, .kind = HP_VM_PCI_STATIC, .address = "0000:01:00.0", .rombar = 1,
                                     .romfile = (char *)"/srv/roms/gpu,patched.rom" } };
        const char addrs[][13] = { "0000:01:00.0" };
        struct hp_vm_spec s = base("rom-test", 4096, 2, HP_VM_FIRMWARE_BIOS);
        struct hp_qemu_config c = { .binary = "/usr/bin/qemu-system-x86_64", .accel = "kvm",
                                    .run_dir = "/run/hwpass/vms/rom-test", .pci = addrs };
        char **argv = NULL;

        (void)state;
        s.disks = disks;
        s.pci = pci;
        s.n_pci = 1;
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), 0);
        golden("romfile-and-escaping", argv);
        hp_strv_free(argv);
}

static void test_usb_by_serial_and_plain(void **state)
{
        struct hp_vm_usb usb[] = { { .index = 0, .kind = HP_VM_USB_ID, .vendor_id = 0x0781, .product_id = 0x5583,
                                     .serial = (char *)"4C530001" } };
        struct hp_qemu_usb_host hosts[] = { { .bus = 2, .hostaddr = 5, .vendor_id = 0x0781, .product_id = 0x5583 } };
        struct hp_vm_spec s = base("usb-only", 2048, 2, HP_VM_FIRMWARE_BIOS);
        struct hp_qemu_config c = { .binary = "qemu-system-x86_64", .accel = "kvm", .run_dir = "/run/hwpass/vms/usb-only",
                                    .usb = hosts };
        char **argv = NULL;

        (void)state;
        s.usb = usb;
        s.n_usb = 1;
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), 0);
        golden("usb-by-serial", argv);
        hp_strv_free(argv);
}

/* A slot entry expanded by the plan: one root port, the functions at their
 * own numbers, function 0 multi-function and the only one with x-vga. */
static void test_gpu_slot(void **state)
{
        struct hp_vm_pci pci[] = {
                { .index = 0, .kind = HP_VM_PCI_STATIC, .address = "0000:0c:00.0", .primary_display = true,
                  .rombar = 0, .in_slot = true, .function = 0 },
                { .index = 0, .kind = HP_VM_PCI_STATIC, .address = "0000:0c:00.1", .primary_display = true,
                  .rombar = 0, .in_slot = true, .function = 1 },
                { .index = 1, .kind = HP_VM_PCI_STATIC, .address = "0000:0d:00.0", .rombar = -1 },
        };
        const char addrs[][13] = { "0000:0c:00.0", "0000:0c:00.1", "0000:0d:00.0" };
        struct hp_vm_spec s = base("slot", 4096, 2, HP_VM_FIRMWARE_BIOS);
        struct hp_qemu_config c = { .binary = "qemu-system-x86_64", .accel = "kvm", .run_dir = "/run/hwpass/vms/slot",
                                    .pci = addrs };
        char **argv = NULL;

        (void)state;
        s.pci = pci;
        s.n_pci = 3;
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), 0);
        golden("gpu-slot", argv);
        hp_strv_free(argv);
}

static void test_missing_pieces(void **state)
{
        struct hp_vm_spec s = base("efi", 1024, 1, HP_VM_FIRMWARE_EFI);
        struct hp_vm_pci pci[] = { { .index = 0, .kind = HP_VM_PCI_STATIC, .address = "0000:01:00.0", .rombar = -1 } };
        struct hp_qemu_config c = { .binary = "qemu-system-x86_64", .accel = "kvm", .run_dir = "/run/x" };
        char **argv = NULL;

        (void)state;
        /* EFI without OVMF paths, devices without their addresses: refused. */
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), -EINVAL);
        /* Auto is decided at power-on: never built as it is (it would boot BIOS). */
        s.firmware = HP_VM_FIRMWARE_AUTO;
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), -EINVAL);
        s.firmware = HP_VM_FIRMWARE_BIOS;
        s.pci = pci;
        s.n_pci = 1;
        assert_int_equal(hp_qemu_argv(&s, &c, &argv), -EINVAL);
        assert_null(argv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_desktop_gpu),          cmocka_unit_test(test_probe_bios),
                cmocka_unit_test(test_four_gpus_large_bars), cmocka_unit_test(test_romfile_and_escaping),
                cmocka_unit_test(test_usb_by_serial_and_plain), cmocka_unit_test(test_missing_pieces),
                cmocka_unit_test(test_gpu_slot),
        };

        return cmocka_run_group_tests_name("qemu", tests, NULL, NULL);
}

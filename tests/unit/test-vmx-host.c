/* Unit tests: static .vmx entries held against this host by the vendorId and
 * deviceId VMware recorded. The host is a desktop with the GPU of the VMware
 * host at another address and a Wi-Fi card where ESXi had the GPU. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/macro.h"
#include "vmx-helpers.h"

#define GPU(id) "pciPassthru0.present = \"TRUE\"\npciPassthru0.id = \"" id "\"\n" \
                "pciPassthru0.vendorId = \"0x10de\"\npciPassthru0.deviceId = \"0x2206\"\n"

static struct hp_pci_dev devs[] = {
        { .address = "0000:06:00.0", .vendor_id = 0x8086, .device_id = 0x2723,
          .vendor_name = (char *)"Intel Corporation", .device_name = (char *)"Wi-Fi 6 AX200" },
        { .address = "0000:0c:00.0", .vendor_id = 0x10de, .device_id = 0x2206,
          .vendor_name = (char *)"NVIDIA Corporation",
          .device_name = (char *)"GA102 [GeForce RTX 3080]" },
        { .address = "0000:10:00.0", .vendor_id = 0x10de, .device_id = 0x2206 },
};
static struct hp_pci_inventory inv = { .devs = devs, .n_devs = ELEMENTSOF(devs) };

static int setup(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(devs); i++)
                if (hp_pci_addr_parse(devs[i].address, &devs[i].addr) < 0)
                        return -1;
        vmx_test_host = &inv;
        return 0;
}

/* ESXi's "00000:006:00.0" is the desktop's Wi-Fi card: not taken. */
static void test_other_device_there(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };
        const char *w;

        (void)state;
        parse_ok(BASE GPU("00000:006:00.0"), NULL, &x);
        assert_int_equal(x.spec.n_pci, 1);
        assert_int_equal(x.spec.pci[0].index, 0);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_DYNAMIC);
        assert_int_equal(x.spec.pci[0].n_allowed, 1);
        assert_int_equal(x.spec.pci[0].allowed[0].vendor_id, 0x10de);
        assert_int_equal(x.spec.pci[0].allowed[0].device_id, 0x2206);
        assert_int_equal(x.spec.pci[0].allowed[0].subsystem_vendor_id, 0);
        assert_int_equal(n_warnings(&x), 1);
        w = warning(&x, "pciPassthru0.id = \"00000:006:00.0\" is 0000:06:00.0, which on this host is "
                        "Intel Corporation Wi-Fi 6 AX200 (8086:2723), not the "
                        "10de:2206 VMware recorded",
                    "imported as Dynamic DirectPath I/O, any free 10de:2206 at power-on (as "
                    "'hwpass vm add-pci t --allowed 10de:2206' adds it)");
        assert_non_null(strstr(w, "Devices of this host that match: 0000:0c:00.0 (NVIDIA Corporation "
                                  "GA102 [GeForce RTX 3080], 10de:2206), 0000:10:00.0 (10de:2206)"));
        assert_non_null(strstr(w, "'hwpass vm remove-device t pci0' and 'hwpass vm add-pci t "
                                  "--address SBDF'"));
}

/* The address names no device here; nor does any device match. */
static void test_nothing_there(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE GPU("00000:101:00.0"), NULL, &x);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_DYNAMIC);
        warning(&x, "is 0000:65:00.0, which on this host is no device", "0000:0c:00.0 (NVIDIA");
        hp_vmx_import_done(&x);

        parse_ok(BASE "pciPassthru3.present = \"TRUE\"\npciPassthru3.id = \"0000:06:00.0\"\n"
                      "pciPassthru3.vendorId = \"0x15b3\"\npciPassthru3.deviceId = \"0x101d\"\n",
                 NULL, &x);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_DYNAMIC);
        assert_int_equal(x.spec.pci[0].allowed[0].vendor_id, 0x15b3);
        warning(&x, "pci3 is imported as Dynamic DirectPath I/O, any free 15b3:101d",
                "No device of this host matches: the VM will not start until one does");
}

/* The recorded device is at the address: kept, without a word. */
static void test_same_device(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE GPU("0000:0c:00.0"), NULL, &x);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_STATIC);
        assert_string_equal(x.spec.pci[0].address, "0000:0c:00.0");
        assert_int_equal(n_warnings(&x), 0);
        hp_vmx_import_done(&x);

        /* "10:00.0" reads 0000:0a:00.0 in decimal; the device is at its hex
         * reading, so that one is taken, and there is nothing to guess. */
        parse_ok(BASE GPU("10:00.0"), NULL, &x);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_STATIC);
        assert_string_equal(x.spec.pci[0].address, "0000:10:00.0");
        assert_int_equal(n_warnings(&x), 0);
}

/* Without recorded IDs there is nothing to check: the address stays. */
static void test_no_ids(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE "pciPassthru0.present = \"TRUE\"\npciPassthru0.id = \"0000:06:00.0\"\n", NULL,
                 &x);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_STATIC);
        assert_string_equal(x.spec.pci[0].address, "0000:06:00.0");
        assert_int_equal(n_warnings(&x), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_other_device_there), cmocka_unit_test(test_nothing_there),
                cmocka_unit_test(test_same_device),        cmocka_unit_test(test_no_ids),
        };

        return cmocka_run_group_tests_name("vmx-host", tests, setup, NULL);
}

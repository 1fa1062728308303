/* Unit tests: .vmx import. Each sample in tests/fixtures/vmx parses to exactly
 * the spec and warnings listed here; then the syntax, the forms VMware writes
 * addresses and IDs in, and every refusal, each naming the offending key. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/specjson.h"
#include "vm/vmx.h"
#include "vmx-helpers.h"

static void expect_id(const struct hp_pci_id_match *m, uint16_t v, uint16_t d, uint16_t sv,
                      uint16_t sd)
{
        assert_int_equal(m->vendor_id, v);
        assert_int_equal(m->device_id, d);
        assert_int_equal(m->subsystem_vendor_id, sv);
        assert_int_equal(m->subsystem_device_id, sd);
}

static void test_desktop_gpu(void **state)
{
        _cleanup_free_ char *text = slurp("desktop-gpu.vmx");
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };
        const struct hp_vm_spec *s = &x.spec;

        (void)state;
        parse_ok(text, NULL, &x);
        assert_string_equal(s->name, "Gaming-PC-RTX-3080");
        assert_true(s->memory_mib == 16384);
        assert_int_equal(s->vcpus, 8);
        assert_int_equal(s->firmware, HP_VM_FIRMWARE_EFI);
        assert_null(s->disks[0]);
        assert_int_equal(s->device_limit, HP_VM_DEFAULT_DEVICE_LIMIT);
        assert_int_equal(s->autostart_order, -1);
        assert_int_equal(s->n_pci, 2);
        assert_int_equal(s->pci[0].index, 0);
        assert_int_equal(s->pci[0].kind, HP_VM_PCI_STATIC);
        assert_string_equal(s->pci[0].address, "0000:65:00.0"); /* "00000:101:00.0": decimal */
        assert_int_equal(s->pci[1].index, 1);
        assert_string_equal(s->pci[1].address, "0000:65:00.1");
        for (size_t i = 0; i < 2; i++) {
                assert_null(s->pci[i].label);
                assert_int_equal(s->pci[i].n_allowed, 0);
                assert_false(s->pci[i].primary_display);
                assert_int_equal(s->pci[i].rombar, -1);
        }
        assert_int_equal(s->n_usb, 2);
        assert_int_equal(s->usb[0].index, 0);
        assert_int_equal(s->usb[0].kind, HP_VM_USB_ID);
        assert_int_equal(s->usb[0].vendor_id, 0x046d);
        assert_int_equal(s->usb[0].product_id, 0xc52b);
        assert_null(s->usb[0].serial);
        assert_int_equal(s->usb[1].index, 1);
        assert_int_equal(s->usb[1].vendor_id, 0x1b1c);
        assert_int_equal(s->usb[1].product_id, 0x1b2d);

        assert_int_equal(n_warnings(&x), 6);
        warning(&x, "displayName = \"Gaming PC (RTX 3080)\"", "'Gaming-PC-RTX-3080'");
        warning(&x, "pciPassthru.use64bitMMIO = \"TRUE\" and pciPassthru.64bitMMIOSizeGB = \"64\"",
                "were not carried over: hwpass sizes the 64-bit MMIO window from the devices' "
                "BARs");
        warning(&x, "nvme0:0.fileName = \"Gaming PC.vmdk\": VMDK disks are not carried over",
                "(qemu-img convert -O qcow2 \"Gaming PC.vmdk\" \"Gaming PC.qcow2\") and import the "
                "VM with the image: 'hwpass vm import-vmx FILE.vmx --disk \"Gaming PC.qcow2\"'");
        warning(&x, "ethernet0 (vmxnet3 on \"VM Network\") was not carried over", NULL);
        warning(&x, "sched.mem.min = \"16384\"", "always reserves");
        warning(&x, "hypervisor.cpuid.v0 = \"FALSE\"", "hides nothing");
        no_warning(&x, ".iso"); /* a CD image is no disk of the VM */
        no_warning(&x, "EFI");  /* the firmware is EFI already */
}

static void test_dynamic(void **state)
{
        _cleanup_free_ char *text = slurp("dynamic-ai.vmx");
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };
        const struct hp_vm_spec *s = &x.spec;

        (void)state;
        parse_ok(text, NULL, &x);
        assert_string_equal(s->name, "ml-train-01");
        assert_true(s->memory_mib == 262144);
        assert_int_equal(s->vcpus, 32);
        assert_int_equal(s->firmware, HP_VM_FIRMWARE_EFI);
        assert_int_equal(s->n_usb, 0);
        assert_int_equal(s->n_pci, 3); /* pciPassthru2 is present = "FALSE" */

        assert_int_equal(s->pci[0].index, 0);
        assert_int_equal(s->pci[0].kind, HP_VM_PCI_DYNAMIC);
        assert_int_equal(s->pci[0].n_allowed, 2);
        expect_id(&s->pci[0].allowed[0], 0x10de, 0x20b5, 0, 0);
        expect_id(&s->pci[0].allowed[1], 0x10de, 0x20f1, 0, 0);
        assert_string_equal(s->pci[0].label, "Training");

        assert_int_equal(s->pci[1].index, 1);
        assert_int_equal(s->pci[1].kind, HP_VM_PCI_DYNAMIC);
        assert_int_equal(s->pci[1].n_allowed, 1);
        expect_id(&s->pci[1].allowed[0], 0x10de, 0x2236, 0x10de, 0x1482);
        assert_null(s->pci[1].label); /* customLabel = "" */

        assert_int_equal(s->pci[2].index, 3); /* VMware's N is kept */
        assert_int_equal(s->pci[2].kind, HP_VM_PCI_DYNAMIC);
        assert_int_equal(s->pci[2].n_allowed, 1);
        expect_id(&s->pci[2].allowed[0], 0x15b3, 0x101d, 0, 0);
        assert_null(s->pci[2].label);

        assert_int_equal(n_warnings(&x), 3);
        warning(&x, "pciPassthru.use64bitMMIO = \"TRUE\" and pciPassthru.64bitMMIOSizeGB = \"256\"",
                "'hwpass vm show ml-train-01'");
        warning(&x, "scsi0:0.fileName = \"ml-train-01.vmdk\"",
                "qemu-img convert -O qcow2 \"ml-train-01.vmdk\" \"ml-train-01.qcow2\") and import the "
                "VM with the image: 'hwpass vm import-vmx FILE.vmx --disk \"ml-train-01.qcow2\"'");
        warning(&x, "sched.mem.min = \"262144\"", NULL);
        no_warning(&x, "secureBoot"); /* "FALSE" */
}

static void test_legacy(void **state)
{
        _cleanup_free_ char *text = slurp("legacy-unsupported.vmx");
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };
        const struct hp_vm_spec *s = &x.spec;

        (void)state;
        parse_ok(text, NULL, &x);
        assert_string_equal(s->name, "Legacy-Box"); /* DisplayName "Legacy |22Box|22" */
        assert_true(s->memory_mib == 8192);         /* MemSize */
        assert_int_equal(s->vcpus, 4);              /* NumVCPUs */
        assert_int_equal(s->firmware, HP_VM_FIRMWARE_BIOS);
        assert_int_equal(s->n_pci, 1);
        assert_int_equal(s->pci[0].index, 0);
        assert_int_equal(s->pci[0].kind, HP_VM_PCI_STATIC);
        assert_string_equal(s->pci[0].address, "0000:42:00.0");
        assert_null(s->pci[0].label);
        assert_int_equal(s->n_usb, 1);
        assert_int_equal(s->usb[0].index, 2);
        assert_int_equal(s->usb[0].vendor_id, 0x0fce);
        assert_int_equal(s->usb[0].product_id, 0x31f4);

        assert_int_equal(n_warnings(&x), 15);
        warning(&x, "DisplayName = \"Legacy \"Box\"\"", "'Legacy-Box'");
        warning(&x, "pciPassthru0.id = \"0:66:0.0\" is taken as 0000:42:00.0",
                "'hwpass vm add-pci Legacy-Box --address 0000:66:00.0'");
        warning(&x, "pciPassthru0.id", "(10de:1b38)");
        warning(&x, "pciPassthru1.vgpu = \"grid_t4-4q\"", "not carried over");
        warning(&x, "pciPassthru2.pfId = \"00000:026:00.1\"", "virtual function of 0000:1a:00.1");
        warning(&x, "pciPassthru.use64bitMMIO = \"TRUE\" was not carried over", NULL);
        warning(&x, "pciPassthru.use64bitMMIO = \"TRUE\" with BIOS firmware", "512G");
        warning(&x, "usb.autoConnect.device0 = \"path:1/2\"",
                "'hwpass vm add-usb Legacy-Box --id VID:PID'");
        warning(&x, "usb.autoConnect.device3 = \"name:Sony Xperia\"", "not carried over");
        warning(&x, "scsi0:0.fileName = \"legacy-000002.vmdk\" is a snapshot's disk",
                "convert the current state to one image (qemu-img convert -O qcow2 "
                "\"legacy-000002.vmdk\" \"legacy.qcow2\") and import the VM with the image: "
                "'hwpass vm import-vmx FILE.vmx --disk \"legacy.qcow2\"'");
        warning(&x, "scsi0:1.fileName = \"/vmfs/volumes/datastore2/Legacy Box/data disk.vmdk\"",
                "qemu-img convert -O qcow2 \"/vmfs/volumes/datastore2/Legacy Box/data disk.vmdk\" "
                "\"data disk.qcow2\"");
        warning(&x, "ethernet0 (e1000) was not carried over", NULL);
        warning(&x, "hypervisor.cpuid.v0 = \"FALSE\"", NULL);
        warning(&x, "svga.present = \"TRUE\"", "'hwpass vm log Legacy-Box'");
        warning(&x, "vtpm.present = \"TRUE\"", "no TPM");
        warning(&x, "checkpoint.vmState = \"legacy-box-5c3f2a1b.vmss\"", "suspended");
        no_warning(&x, "customLabel");             /* a label only picks among devices */
        no_warning(&x, "old.vmdk");                /* scsi0:2 is not present */
        no_warning(&x, "ethernet1");               /* nor is ethernet1 */
        no_warning(&x, "usb.autoConnect.device1"); /* "": an emptied slot */
}

static void test_syntax(void **state)
{
        /* CRLF, a byte order mark, comments, blank lines, any key case, an
         * unquoted value and a comment after a quoted one. */
        static const char text[] = "\xef\xbb\xbf.encoding = \"UTF-8\"\r\n"
                                   "# a comment\r\n"
                                   "\r\n"
                                   "   # an indented comment\r\n"
                                   "DISPLAYNAME=\"web\"\r\n"
                                   "\tMemSize   =   2048\r\n"
                                   "numVCPUs = \"2\"   # two\r\n"
                                   "FIRMWARE = \"EFI\"\r\n"
                                   "guestOS = \"other-64\"";
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(text, NULL, &x);
        assert_string_equal(x.spec.name, "web");
        assert_true(x.spec.memory_mib == 2048);
        assert_int_equal(x.spec.vcpus, 2);
        assert_int_equal(x.spec.firmware, HP_VM_FIRMWARE_EFI);
        assert_int_equal(n_warnings(&x), 0);
        hp_vmx_import_done(&x);

        /* Defaults: one vCPU, BIOS; an empty file section is fine. */
        parse_ok(BASE, NULL, &x);
        assert_int_equal(x.spec.vcpus, 1);
        assert_int_equal(x.spec.firmware, HP_VM_FIRMWARE_BIOS);
        assert_int_equal(x.spec.n_pci, 0);
        assert_int_equal(x.spec.n_usb, 0);
        assert_int_equal(n_warnings(&x), 0);
}

static void test_escapes(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE "pciPassthru0.present = \"TRUE\"\n"
                      "pciPassthru0.allowedDevices = \"0x10de:0x2206\"\n"
                      "pciPassthru0.customLabel = \"GPU|20pool|7C1|22a|22|23\"\n",
                 NULL, &x);
        assert_string_equal(x.spec.pci[0].label, "GPU pool|1\"a\"#");
        hp_vmx_import_done(&x);

        parse_bad(BASE "x = \"a|zz\"\n", "line 3", "|XX");
        parse_bad(BASE "x = \"a|4\"\n", "line 3", NULL);
        parse_bad(BASE "x = \"a|g1\"\n", "line 3", NULL);
        parse_bad(BASE "x = \"a|\"\n", "line 3", NULL);
        parse_bad(BASE "x = \"a|00b\"\n", "line 3", NULL); /* no NUL inside a C string */
}

static void expect_name(const char *display, const char *expected)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        assert_true(asprintf(&text, "displayName = \"%s\"\nmemsize = \"512\"\n", display) > 0);
        parse_ok(text, NULL, &x);
        assert_string_equal(x.spec.name, expected);
        assert_true(hp_vm_name_valid(x.spec.name));
        /* Told only when the name differs from displayName. */
        assert_int_equal(n_warnings(&x), strcmp(display, expected) == 0 ? 0 : 1);
}

static void test_names(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        expect_name("Gaming PC (RTX 3080)", "Gaming-PC-RTX-3080");
        expect_name("db_01.prod", "db_01.prod");
        expect_name("  --web   server--  ", "web-server");
        expect_name("a - b", "a-b");
        expect_name("_hidden.", "hidden");
        expect_name("\303\234berserver 2", "berserver-2"); /* "Überserver" */
        expect_name("VM \xe6\x97\xa5\xe6\x9c\xac", "VM");
        /* Cut at HP_VM_NAME_MAX, never leaving a '-' at the end or joining two words. */
        expect_name("0123456789 0123456789 0123456789 0123456789 0123456789",
                    "0123456789-0123456789-0123456789-0123456789-0123");
        expect_name("0123456789012345678901234567890123456789012345 7",
                    "0123456789012345678901234567890123456789012345-7");
        expect_name("01234567890123456789012345678901234567890123456 7",
                    "01234567890123456789012345678901234567890123456");
        expect_name("Windows|7C11", "Windows-11");

        /* A name given wins, and is checked. */
        parse_ok("displayName = \"Gaming PC\"\nmemsize = \"512\"\n", "gpu-vm", &x);
        assert_string_equal(x.spec.name, "gpu-vm");
        assert_int_equal(n_warnings(&x), 0);
        hp_vmx_import_done(&x);
        parse_ok("memsize = \"512\"\n", "nameless", &x);
        assert_string_equal(x.spec.name, "nameless");

        parse_bad("memsize = \"512\"\n", "displayName", "--name");
        parse_bad("displayName = \"\"\nmemsize = \"512\"\n", "displayName", "--name");
        parse_bad("displayName = \"???\"\nmemsize = \"512\"\n", "displayName = \"???\"", "--name");
}

static void test_bad_given_name(void **state)
{
        struct hp_vmx_import x = { .spec = { .vcpus = 77 } };
        char *err = NULL;

        (void)state;
        assert_int_equal(hp_vmx_parse(BASE, "bad name", NULL, &x, &err), -EINVAL);
        assert_non_null(strstr(err, "'bad name'"));
        assert_int_equal(x.spec.vcpus, 77);
        free(err);
        assert_int_equal(hp_vmx_parse(NULL, NULL, NULL, &x, &err), -EINVAL);
        assert_null(err);
}

/* expected NULL: refused. other: the hex reading named in the warning, or NULL for none. */
static void expect_address(const char *id, const char *expected, const char *other)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        assert_true(asprintf(&text,
                             BASE "pciPassthru0.present = \"TRUE\"\npciPassthru0.id = \"%s\"\n",
                             id) > 0);
        if (!expected) {
                _cleanup_free_ char *quoted = NULL;

                assert_true(asprintf(&quoted, "pciPassthru0.id = \"%s\"", id) > 0);
                parse_bad(text, quoted, "line 4");
                return;
        }
        parse_ok(text, NULL, &x);
        assert_int_equal(x.spec.n_pci, 1);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_STATIC);
        assert_string_equal(x.spec.pci[0].address, expected);
        if (other)
                warning(&x, expected, other);
        else
                assert_int_equal(n_warnings(&x), 0);
}

static void test_addresses(void **state)
{
        (void)state;
        /* The SBDF lspci and esxcli show: hex. */
        expect_address("0000:65:00.0", "0000:65:00.0", NULL);
        expect_address("0000:AF:00.0", "0000:af:00.0", NULL);
        expect_address("0001:02:1f.7", "0001:02:1f.7", NULL);
        /* vSphere 6.7 on: decimal, padded. */
        expect_address("00000:101:00.0", "0000:65:00.0", NULL);
        expect_address("00000:026:01.2", "0000:1a:01.2", NULL);
        expect_address("00000:002:00.1", "0000:02:00.1", NULL);
        expect_address("00000:000:17.0", "0000:00:11.0", NULL);
        /* Earlier vSphere: decimal, unpadded. */
        expect_address("130:00.0", "0000:82:00.0", NULL);
        expect_address("06:00.0", "0000:06:00.0", NULL); /* the same in hex */
        expect_address("0:66:0.0", "0000:42:00.0", "0000:66:00.0");
        expect_address("65:00.0", "0000:41:00.0", "0000:65:00.0");
        expect_address("10:00.0", "0000:0a:00.0", "0000:10:00.0");
        expect_address("00:31.0", "0000:00:1f.0", NULL); /* slot 0x31 does not exist */
        /* Hex letters: hex. */
        expect_address("af:00.1", "0000:af:00.1", NULL);
        expect_address("00:1f.3", "0000:00:1f.3", NULL);

        expect_address("65:00", NULL, NULL);
        expect_address("65.00.0", NULL, NULL);
        expect_address("0000:65:00.8", NULL, NULL);
        expect_address("0000:65:20.0", NULL, NULL);
        expect_address("256:00.0", NULL, NULL);
        expect_address("00000:0af:00.0", NULL, NULL);
        expect_address("00000:101:00.10", NULL, NULL);
        expect_address("0000:65:00.0 ", NULL, NULL);
        expect_address(":65:00.0", NULL, NULL);
        expect_address("1:2:3:4.0", NULL, NULL);
        expect_address("g5:00.0", NULL, NULL);
        expect_address("000000:65:00.0", NULL, NULL);
        expect_address("-1:00.0", NULL, NULL);
}

static void expect_allowed(const char *allowed, size_t n, const struct hp_pci_id_match *ids)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        assert_true(asprintf(&text,
                             BASE "pciPassthru0.present = \"TRUE\"\n"
                                  "pciPassthru0.allowedDevices = \"%s\"\n",
                             allowed) > 0);
        if (n == 0) {
                parse_bad(text, "pciPassthru0.allowedDevices", allowed);
                return;
        }
        parse_ok(text, NULL, &x);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_DYNAMIC);
        assert_int_equal(x.spec.pci[0].n_allowed, n);
        for (size_t i = 0; i < n; i++)
                expect_id(&x.spec.pci[0].allowed[i], ids[i].vendor_id, ids[i].device_id,
                          ids[i].subsystem_vendor_id, ids[i].subsystem_device_id);
}

static void test_allowed(void **state)
{
        static const struct hp_pci_id_match gpu = { 0x10de, 0x2206, 0, 0 },
                                            asus = { 0x10de, 0x2206, 0x1043, 0x87ac },
                                            amd = { 0x1002, 0x73bf, 0, 0 },
                                            short_ids = { 0x0bda, 0x0043, 0, 0 };
        const struct hp_pci_id_match two[] = { gpu, amd };

        (void)state;
        expect_allowed("0x10de:0x2206", 1, &gpu);
        expect_allowed("10de:2206", 1, &gpu);
        expect_allowed("0x10de:0x2206:0x0000:0x0000", 1, &gpu);
        expect_allowed("0x10DE:0x2206:0x1043:0x87AC", 1, &asus);
        expect_allowed(" 0x10de:0x2206 , 0x1002:0x73bf ", 2, two);
        expect_allowed("0xbda:0x43", 1, &short_ids);

        expect_allowed("0x10de", 0, NULL);
        expect_allowed("0x10de:0x2206:0x1043", 0, NULL);
        expect_allowed("0x10de:0x2206:0x1043:0x87ac:0xa1", 0, NULL);
        expect_allowed("0x10de:0x2206,", 0, NULL);
        expect_allowed(",0x10de:0x2206", 0, NULL);
        expect_allowed("0x0000:0x2206", 0, NULL);
        expect_allowed("0xffff:0x2206", 0, NULL);
        expect_allowed("0x10de:0x12345", 0, NULL);
        expect_allowed("0x10de:zz", 0, NULL);
        expect_allowed("0x10de:0x", 0, NULL);
        expect_allowed("0x10de;0x2206", 0, NULL);
        expect_allowed("0x10de::0x2206", 0, NULL);
}

static void test_vendor_device(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE
                 "pciPassthru5.present = \"TRUE\"\npciPassthru5.vendorId = \"0x10de\"\n"
                 "pciPassthru5.deviceId = \"0x1eb8\"\npciPassthru5.customLabel = \"inference\"\n",
                 NULL, &x);
        assert_int_equal(x.spec.n_pci, 1);
        assert_int_equal(x.spec.pci[0].index, 5);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_DYNAMIC);
        assert_int_equal(x.spec.pci[0].n_allowed, 1);
        expect_id(&x.spec.pci[0].allowed[0], 0x10de, 0x1eb8, 0, 0);
        assert_string_equal(x.spec.pci[0].label, "inference");
        hp_vmx_import_done(&x);

        parse_ok(BASE "pciPassthru0.present = \"TRUE\"\npciPassthru0.vendorId = \"0x10de\"\n"
                      "pciPassthru0.deviceId = \"0x1b38\"\npciPassthru0.subVendorId = \"0x10de\"\n"
                      "pciPassthru0.subDeviceId = \"0x11d9\"\n",
                 NULL, &x);
        expect_id(&x.spec.pci[0].allowed[0], 0x10de, 0x1b38, 0x10de, 0x11d9);

        parse_bad(BASE "pciPassthru0.present = \"TRUE\"\npciPassthru0.vendorId = \"0x10de\"\n",
                  "pciPassthru0.vendorId", "deviceId");
        parse_bad(BASE "pciPassthru0.present = \"TRUE\"\npciPassthru0.deviceId = \"0x1eb8\"\n",
                  "pciPassthru0.deviceId", "vendorId");
        parse_bad(BASE "pciPassthru0.present = \"TRUE\"\npciPassthru0.vendorId = \"0x0\"\n"
                       "pciPassthru0.deviceId = \"0x1eb8\"\n",
                  "pciPassthru0.vendorId = \"0x0\"", NULL);
        parse_bad(BASE "pciPassthru0.present = \"TRUE\"\n"
                       "pciPassthru0.vendorId = \"0x10de:0x1eb8,0x10de\"\n"
                       "pciPassthru0.deviceId = \"0x1eb8\"\n",
                  "pciPassthru0.vendorId", NULL);
}

static void test_pci_entries(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        /* Off or without present: skipped without a word, as VMware does. */
        parse_ok(BASE "pciPassthru0.present = \"FALSE\"\npciPassthru0.id = \"zz\"\n"
                      "pciPassthru1.id = \"0000:01:00.0\"\n",
                 NULL, &x);
        assert_int_equal(x.spec.n_pci, 0);
        assert_int_equal(n_warnings(&x), 0);
        hp_vmx_import_done(&x);

        /* Numbered as in the file, in order. */
        parse_ok(BASE "pciPassthru10.present = \"TRUE\"\npciPassthru10.id = \"0000:0a:00.0\"\n"
                      "pciPassthru2.present = \"true\"\npciPassthru2.id = \"0000:02:00.0\"\n"
                      "pciPassthru1.present = \"TRUE\"\n"
                      "pciPassthru1.allowedDevices = \"0x8086:0x1572\"\n",
                 NULL, &x);
        assert_int_equal(x.spec.n_pci, 3);
        assert_int_equal(x.spec.pci[0].index, 1);
        assert_int_equal(x.spec.pci[1].index, 2);
        assert_string_equal(x.spec.pci[1].address, "0000:02:00.0");
        assert_int_equal(x.spec.pci[2].index, 10);
        assert_string_equal(x.spec.pci[2].address, "0000:0a:00.0");
        hp_vmx_import_done(&x);

        /* allowedDevices wins over an id, with a word. */
        parse_ok(BASE "pciPassthru0.present = \"TRUE\"\npciPassthru0.id = \"00000:101:00.0\"\n"
                      "pciPassthru0.allowedDevices = \"0x10de:0x2206\"\n",
                 NULL, &x);
        assert_int_equal(x.spec.pci[0].kind, HP_VM_PCI_DYNAMIC);
        warning(&x, "pciPassthru0.id = \"00000:101:00.0\" is not used", "Dynamic DirectPath I/O");

        parse_bad(BASE "pciPassthru0.present = \"maybe\"\npciPassthru0.id = \"0000:01:00.0\"\n",
                  "line 3: pciPassthru0.present = \"maybe\"", NULL);
        parse_bad(BASE "pciPassthru0.present = \"TRUE\"\n", "line 3: pciPassthru0.present",
                  "no id, allowedDevices");
        parse_bad(BASE "pciPassthru0.present = \"TRUE\"\npciPassthru0.id = \"0000:65:00.0\"\n"
                       "pciPassthru1.present = \"TRUE\"\npciPassthru1.id = \"00000:101:00.0\"\n",
                  "line 5: pciPassthru0 and pciPassthru1 are both 0000:65:00.0", NULL);
        parse_bad(BASE "pciPassthru300.present = \"TRUE\"\npciPassthru300.id = \"0000:65:00.0\"\n",
                  "pciPassthru300.present", "0 to 254");
}

static void expect_usb(const char *value, uint16_t vid, uint16_t pid, const char *warning_text)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        assert_true(asprintf(&text, BASE "usb.autoConnect.device4 = \"%s\"\n", value) > 0);
        parse_ok(text, NULL, &x);
        if (warning_text) {
                assert_int_equal(x.spec.n_usb, 0);
                warning(&x, "usb.autoConnect.device4", warning_text);
                return;
        }
        assert_int_equal(x.spec.n_usb, vid ? 1 : 0);
        assert_int_equal(n_warnings(&x), 0);
        if (vid) {
                assert_int_equal(x.spec.usb[0].index, 4);
                assert_int_equal(x.spec.usb[0].kind, HP_VM_USB_ID);
                assert_int_equal(x.spec.usb[0].vendor_id, vid);
                assert_int_equal(x.spec.usb[0].product_id, pid);
        }
}

static void test_usb(void **state)
{
        (void)state;
        expect_usb("vid:0x046d pid:0xc52b", 0x046d, 0xc52b, NULL);
        expect_usb("VID:0x046D PID:0xC52B", 0x046d, 0xc52b, NULL);
        expect_usb("pid:0xc52b vid:0x046d", 0x046d, 0xc52b, NULL);
        expect_usb("vid:0fce pid:31f4 autoclean:1", 0x0fce, 0x31f4, NULL);
        expect_usb("0x0a12:0x0001", 0x0a12, 0x0001, NULL);
        expect_usb("0xbda:0x9210", 0x0bda, 0x9210, NULL);
        expect_usb("0x082B:0x0007 autoclean:0", 0x082b, 0x0007, NULL);
        expect_usb("", 0, 0, NULL);
        expect_usb("path:1/2", 0, 0, "port of the VMware host");
        expect_usb("path:1/2 autoclean:1", 0, 0, "port of the VMware host");
        expect_usb("vid:0x046d", 0, 0, "no vendor and product ID");
        expect_usb("vid:0x0000 pid:0x0001", 0, 0, "no vendor and product ID");
        expect_usb("vid:0x12345 pid:0x0001", 0, 0, "no vendor and product ID");
        expect_usb("autoclean:1", 0, 0, "no vendor and product ID");
}

static void test_mmio(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE "pciPassthru.use64bitMMIO = \"TRUE\"\n"
                      "pciPassthru.64bitMMIOSizeGB = \"128\"\n",
                 NULL, &x);
        assert_int_equal(n_warnings(&x), 2);
        warning(&x, "pciPassthru.64bitMMIOSizeGB = \"128\" were not carried over",
                "'hwpass vm show t'");
        warning(&x, "with BIOS firmware", "firmware = \"efi\"");
        hp_vmx_import_done(&x);

        parse_ok(BASE "firmware = \"efi\"\npciPassthru.use64bitMMIO = \"TRUE\"\n", NULL, &x);
        assert_int_equal(n_warnings(&x), 1);
        warning(&x, "pciPassthru.use64bitMMIO = \"TRUE\" was not carried over", NULL);
        hp_vmx_import_done(&x);

        parse_ok(BASE "pciPassthru.64bitMMIOSizeGB = \"32\"\n", NULL, &x);
        assert_int_equal(n_warnings(&x), 1);
        warning(&x, "pciPassthru.64bitMMIOSizeGB = \"32\" was not carried over", NULL);
        hp_vmx_import_done(&x);

        parse_ok(BASE "pciPassthru.use64bitMMIO = \"FALSE\"\n", NULL, &x);
        assert_int_equal(n_warnings(&x), 0);
}

static void test_disks(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE "sata0:0.present = \"TRUE\"\n"
                      "sata0:0.fileName = \"C:\\VMs\\Win 11\\Win 11-000001.vmdk\"\n"
                      "ide1:0.present = \"TRUE\"\nide1:0.fileName = \"bob's.vmdk\"\n"
                      "ide0:0.present = \"TRUE\"\nide0:0.deviceType = \"atapi-cdrom\"\n"
                      "ide0:0.fileName = \"auto detect\"\n"
                      "scsi1:3.present = \"TRUE\"\nscsi1:3.fileName = \"\"\n"
                      "scsi0:0.fileName = \"not-present.vmdk\"\n",
                 NULL, &x);
        assert_null(x.spec.disks[0]);
        assert_int_equal(n_warnings(&x), 2);
        warning(&x, "sata0:0.fileName", "\"C:\\VMs\\Win 11\\Win 11-000001.vmdk\" \"Win 11.qcow2\"");
        warning(&x, "ide1:0.fileName = \"bob's.vmdk\"", "\"bob's.vmdk\" \"bob's.qcow2\"");
}

/* Switched off, they need no word; on, one each. */
static void test_settings(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE "sched.mem.pin = \"FALSE\"\nsched.mem.min = \"0\"\n"
                      "hypervisor.cpuid.v0 = \"TRUE\"\nsvga.present = \"FALSE\"\n"
                      "vtpm.present = \"FALSE\"\nethernet0.present = \"FALSE\"\n"
                      "checkpoint.vmState = \"\"\n",
                 NULL, &x);
        assert_int_equal(n_warnings(&x), 0);
        hp_vmx_import_done(&x);

        parse_ok(BASE "sched.mem.min = \"0\"\nsched.mem.pin = \"TRUE\"\n"
                      "ethernet3.present = \"TRUE\"\n",
                 NULL, &x);
        assert_int_equal(n_warnings(&x), 2);
        warning(&x, "sched.mem.pin = \"TRUE\" (memory reservation)", "always reserves");
        warning(&x, "ethernet3 (virtual NIC) was not carried over", "'hwpass vm add-pci t'");
}

static void test_errors(void **state)
{
        (void)state;
        parse_bad("displayName = \"t\"\n", "memsize", NULL);
        parse_bad("displayName = \"t\"\nmemSize = \"lots\"\n", "line 2: memSize = \"lots\"", "MiB");
        parse_bad("displayName = \"t\"\nmemsize = \"0\"\n", "memsize = \"0\"", NULL);
        parse_bad(BASE "numvcpus = \"0\"\n", "line 3: numvcpus = \"0\"", NULL);
        parse_bad(BASE "numvcpus = \"2000\"\n", "numvcpus = \"2000\"", NULL);
        parse_bad(BASE "numvcpus = \"0x4\"\n", "numvcpus = \"0x4\"", NULL);
        parse_bad(BASE "firmware = \"uefi\"\n", "line 3: firmware = \"uefi\"",
                  "\"bios\" and \"efi\"");
        parse_bad(BASE "just some words\n", "line 3", "key = \"value\"");
        parse_bad(BASE "= \"x\"\n", "line 3", "not a key");
        parse_bad(BASE "two words = \"x\"\n", "line 3", "\"two words\" is not a key");
        parse_bad("displayName = \"t\nmemsize = \"1024\"\n", "line 1", "closing quote");
        parse_bad(BASE "x = \"a\" \"b\"\n", "line 3", "one key = \"value\" per line");
        parse_bad("memsize = \"1024\"\ndisplayName = \"t\"\nMEMSIZE = \"2048\"\n",
                  "line 3: MEMSIZE repeats the key of line 1", "memsize");
        parse_bad(BASE "encryption.keySafe = \"vmware:key/list/(pair/(null/...))\"\n",
                  "line 3: encryption.keySafe", "encrypted");
}

static void append(char **text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **text, const char *fmt, ...)
{
        char *line = NULL, *more = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&line, fmt, ap);
        va_end(ap);
        assert_true(n > 0);
        assert_true(asprintf(&more, "%s%s", *text, line) > 0);
        free(line);
        free(*text);
        *text = more;
}

static void add_pci(char **text, int from, int n)
{
        for (int i = from; i < from + n; i++)
                append(text,
                       "pciPassthru%d.present = \"TRUE\"\npciPassthru%d.id = \"0000:%02x:00.0\"\n",
                       i, i, i);
}

static void test_device_limit(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };
        char *text = strdup(BASE);

        (void)state;
        assert_non_null(text);
        add_pci(&text, 0, HP_VM_DEFAULT_DEVICE_LIMIT);
        parse_ok(text, NULL, &x);
        assert_int_equal(x.spec.n_pci, HP_VM_DEFAULT_DEVICE_LIMIT);
        add_pci(&text, HP_VM_DEFAULT_DEVICE_LIMIT, 1);
        parse_bad(text, "17 devices (17 PCI, 0 USB)", "the 16 a hwpass VM takes");
        free(text);

        text = strdup(BASE);
        assert_non_null(text);
        add_pci(&text, 0, 12);
        for (int i = 0; i < 5; i++)
                append(&text, "usb.autoConnect.device%d = \"vid:0x1234 pid:0x%04x\"\n", i, i);
        parse_bad(text, "17 devices (12 PCI, 5 USB)", NULL);
        free(text);
}

/* What imports is what the store takes back. */
static void test_roundtrip(void **state)
{
        static const char *const files[] = { "desktop-gpu.vmx", "dynamic-ai.vmx",
                                             "legacy-unsupported.vmx" };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *text = slurp(files[i]), *json = NULL, *again = NULL,
                                    *err = NULL;
                _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec back = { .autostart_order = -1 };

                parse_ok(text, NULL, &x);
                assert_int_equal(hp_vm_spec_to_text(&x.spec, &json), 0);
                assert_int_equal(hp_vm_spec_from_text(json, &back, &err), 0);
                assert_int_equal(hp_vm_spec_to_text(&back, &again), 0);
                assert_string_equal(json, again);
        }
}

static void test_done(void **state)
{
        struct hp_vmx_import x = { 0 };

        (void)state;
        hp_vmx_import_done(NULL);
        parse_ok(BASE "usb.autoConnect.device0 = \"path:1/2\"\n", NULL, &x);
        hp_vmx_import_done(&x); /* ASan: nothing leaks */
        assert_null(x.warnings);
        hp_vmx_import_done(&x);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_desktop_gpu),    cmocka_unit_test(test_dynamic),
                cmocka_unit_test(test_legacy),         cmocka_unit_test(test_syntax),
                cmocka_unit_test(test_escapes),        cmocka_unit_test(test_names),
                cmocka_unit_test(test_bad_given_name), cmocka_unit_test(test_addresses),
                cmocka_unit_test(test_allowed),        cmocka_unit_test(test_vendor_device),
                cmocka_unit_test(test_pci_entries),    cmocka_unit_test(test_usb),
                cmocka_unit_test(test_mmio),           cmocka_unit_test(test_settings),
                cmocka_unit_test(test_disks),          cmocka_unit_test(test_errors),
                cmocka_unit_test(test_device_limit),   cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_done),
        };

        return cmocka_run_group_tests_name("vmx", tests, NULL, NULL);
}

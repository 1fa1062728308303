/* Unit tests: --romfile checks at power-on, against the device chosen for a
 * dynamic entry (the CLI tests cover definition: a fixture host cannot
 * start a VM with devices). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ops/ops.h"
#include "ops/vm.h"
#include "util/hostroot.h"
#include "vm/optionrom.h"
#include "vm/spec.h"

#include "rom-image.h"

/* A one-image ROM of 512 bytes for vendor:device, code type code. */
static void write_rom(const char *path, uint16_t vendor, uint16_t device, uint8_t code)
{
        uint8_t p[512];
        FILE *f = fopen(path, "we");

        put_image(p, 0, 1, vendor, device, code, true);
        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, sizeof(p), f), sizeof(p));
        fclose(f);
}

static void test_power_on(void **state)
{
        char dir[] = "/tmp/hp-rom-XXXXXX", rom[64];
        struct hp_pci_id_match allowed = { .vendor_id = 0x10de, .device_id = 0x2206 };
        struct hp_vm_pci e = { .index = 3, .kind = HP_VM_PCI_DYNAMIC, .allowed = &allowed, .n_allowed = 1,
                               .rombar = -1, .romfile = rom };
        struct hp_vm_spec s = { .name = "v", .firmware = HP_VM_FIRMWARE_BIOS, .pci = &e, .n_pci = 1 };
        const char addrs[1][HP_SBDF_LEN] = { "0000:0c:00.1" };
        struct hp_ops_ctx c = { 0 };

        (void)state;
        assert_int_equal(hp_host_open(FIXTURES_DIR "/desktop", &c.host), 0);
        assert_non_null(mkdtemp(dir));
        snprintf(rom, sizeof(rom), "%s/gpu.rom", dir);
        write_rom(rom, 0x10de, 0x2206, HP_ROM_CODE_BIOS);

        /* The GPU's ROM fits the allowed ID, so the definition takes it... */
        assert_int_equal(hp_ops_vm_check_romfiles(&c, &s, NULL, NULL), 0);
        /* ...but power-on chose its audio function: refused, naming both. */
        assert_int_equal(hp_ops_vm_check_romfiles(&c, &s, NULL, addrs), -EINVAL);
        assert_int_equal(c.error.kind, HP_OP_INVALID);
        assert_non_null(strstr(c.error.message, "cannot start 'v': pci3: ROM file"));
        assert_non_null(strstr(c.error.message, "is for 10de:2206 (image at offset 0x0), but device "
                                                "0000:0c:00.1 is 10de:1aef"));
        hp_op_error_done(&c.error);

        /* An EFI VM needs an EFI image. */
        s.firmware = HP_VM_FIRMWARE_EFI;
        assert_int_equal(hp_ops_vm_check_romfiles(&c, &s, NULL, NULL), -EINVAL);
        assert_non_null(strstr(c.error.message, "holds no EFI image (only x86 BIOS)"));
        hp_op_error_done(&c.error);
        write_rom(rom, 0x10de, 0x2206, HP_ROM_CODE_EFI);
        assert_int_equal(hp_ops_vm_check_romfiles(&c, &s, NULL, NULL), 0);

        /* A file gone by power-on; not there at definition passes. */
        unlink(rom);
        assert_int_equal(hp_ops_vm_check_romfiles(&c, &s, NULL, NULL), 0);
        assert_int_equal(hp_ops_vm_check_romfiles(&c, &s, NULL, addrs), -ENOENT);
        assert_non_null(strstr(c.error.message, "does not exist"));
        hp_op_error_done(&c.error);
        rmdir(dir);
        hp_host_free(c.host);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_power_on),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

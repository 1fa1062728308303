/* Unit tests: option ROM images built in memory, parsed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm/optionrom.h"

#include "rom-image.h"

static uint8_t rom[64 * 1024];

static void test_bios_only(void **state)
{
        struct hp_rom_info info;
        char err[256] = "";

        (void)state;
        put_image(rom, 0, 64, 0x10de, 0x2206, HP_ROM_CODE_BIOS, true);
        assert_int_equal(hp_rom_parse(rom, 64 * 512, &info, err, sizeof(err)), 0);
        assert_int_equal(info.n_images, 1);
        assert_true(info.has_bios);
        assert_false(info.has_efi);
        assert_null(hp_rom_mismatch(&info, 0x10de, 0x2206));
        /* A dump padded past its last image still parses. */
        assert_int_equal(hp_rom_parse(rom, sizeof(rom), &info, err, sizeof(err)), 0);
        assert_int_equal(info.n_images, 1);
}

static void test_chained_bios_efi(void **state)
{
        struct hp_rom_info info;
        char err[256] = "", name[32];

        (void)state;
        put_image(rom, 0, 64, 0x10de, 0x2206, HP_ROM_CODE_BIOS, false);
        put_image(rom, 64 * 512, 32, 0x10de, 0x2206, HP_ROM_CODE_EFI, true);
        assert_int_equal(hp_rom_parse(rom, 96 * 512, &info, err, sizeof(err)), 0);
        assert_int_equal(info.n_images, 2);
        assert_true(info.has_bios);
        assert_true(info.has_efi);
        assert_int_equal(info.images[1].offset, 64 * 512);
        assert_string_equal(hp_rom_code_type_name(info.images[1].code_type, name, sizeof(name)), "EFI");
        assert_string_equal(hp_rom_code_type_name(0x7f, name, sizeof(name)), "code type 0x7f");
}

static void test_wrong_ids(void **state)
{
        const struct hp_rom_image *bad;
        struct hp_rom_info info;
        char err[256] = "";

        (void)state;
        put_image(rom, 0, 64, 0x10de, 0x2206, HP_ROM_CODE_BIOS, false);
        put_image(rom, 64 * 512, 32, 0x10de, 0x1c81, HP_ROM_CODE_EFI, true);
        assert_int_equal(hp_rom_parse(rom, 96 * 512, &info, err, sizeof(err)), 0);
        bad = hp_rom_mismatch(&info, 0x10de, 0x2206);
        assert_non_null(bad);
        assert_int_equal(bad->device_id, 0x1c81);
        assert_non_null(hp_rom_mismatch(&info, 0x1002, 0x73bf));
}

static void test_bad(void **state)
{
        struct hp_rom_info info;
        char err[256] = "";

        (void)state;
        put_image(rom, 0, 64, 0x10de, 0x2206, HP_ROM_CODE_BIOS, true);
        rom[1] = 0x00;
        assert_int_equal(hp_rom_parse(rom, 64 * 512, &info, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "at offset 0: no option ROM signature 55 AA (found 55 00)");

        put_image(rom, 0, 64, 0x10de, 0x2206, HP_ROM_CODE_BIOS, true);
        memcpy(rom + 0x40, "XXXX", 4);
        assert_int_equal(hp_rom_parse(rom, 64 * 512, &info, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "no PCI Data Structure (\"PCIR\") at offset 0x40"));

        /* The second image is missing: the first says more follow. */
        put_image(rom, 0, 64, 0x10de, 0x2206, HP_ROM_CODE_BIOS, false);
        memset(rom + 64 * 512, 0xff, 512);
        assert_int_equal(hp_rom_parse(rom, 65 * 512, &info, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "image 2 at offset 0x8000: no option ROM signature"));

        /* Image length past the end of the file. */
        put_image(rom, 0, 64, 0x10de, 0x2206, HP_ROM_CODE_BIOS, true);
        assert_int_equal(hp_rom_parse(rom, 1024, &info, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "runs past the end of the file (1024 bytes)"));

        assert_int_equal(hp_rom_parse(rom, 10, &info, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "too short"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bios_only),
                cmocka_unit_test(test_chained_bios_efi),
                cmocka_unit_test(test_wrong_ids),
                cmocka_unit_test(test_bad),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: the 64-bit MMIO window, from devices built in memory (BAR
 * layouts of the lab's pci-testdev and of real GPUs). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>

#include "host/pci.h"
#include "vm/mmio.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

static struct hp_pci_dev devs[8];
static const struct hp_pci_dev *ptrs[8];

static int reset(void **state)
{
        (void)state;
        memset(devs, 0, sizeof(devs));
        for (size_t i = 0; i < 8; i++)
                ptrs[i] = &devs[i];
        return 0;
}

static void bar(struct hp_pci_dev *d, int index, uint64_t size, bool is_io, bool is_64bit)
{
        assert_true(d->n_bars < 6);
        d->bars[d->n_bars++] = (struct hp_pci_bar){ .index = index, .size = size, .is_io = is_io,
                                                    .is_64bit = is_64bit, .prefetchable = is_64bit };
}

static struct hp_mmio_plan plan_ok(size_t n)
{
        struct hp_mmio_plan p;

        assert_int_equal(hp_mmio_plan(ptrs, n, &p), 0);
        return p;
}

static void expect_line(const struct hp_mmio_plan *p, const char *want)
{
        char *s = NULL;

        assert_int_equal(hp_mmio_describe(p, &s), 0);
        assert_string_equal(s, want);
        free(s);
}

static void test_no_devices(void **state)
{
        struct hp_mmio_plan p = { .needed = 1, .window = 1, .needs_efi = true };

        (void)state;
        assert_int_equal(hp_mmio_plan(NULL, 0, &p), 0);
        assert_true(p.needed == 0 && p.window == 0);
        assert_false(p.needs_efi);
        expect_line(&p, "64-bit MMIO window not needed (no 64-bit BARs)");
}

static void test_only_32bit_bars(void **state)
{
        struct hp_mmio_plan p;

        (void)state;
        bar(&devs[0], 0, 128 * KiB, false, false); /* e1000e: 32-bit memory */
        bar(&devs[0], 2, 32, true, false);         /* and an I/O port range */
        bar(&devs[1], 0, 256 * MiB, false, false);
        bar(&devs[1], 1, 4 * GiB, true, true);     /* nonsense "64-bit I/O": ignored */
        p = plan_ok(2);
        assert_true(p.needed == 0);
        assert_true(p.window == 0);
        assert_false(p.needs_efi);
}

static void test_one_small_bar(void **state)
{
        struct hp_mmio_plan p;

        (void)state;
        bar(&devs[0], 0, 16 * KiB, false, true); /* NVMe */
        p = plan_ok(1);
        /* 16 KiB + max(4 KiB, 1 GiB) headroom, rounded up: 2 GiB. */
        assert_true(p.needed == 16 * KiB);
        assert_true(p.window == 2 * GiB);
        assert_false(p.needs_efi);
        expect_line(&p, "64-bit MMIO window 2 GiB (BARs need 16 KiB; EFI not needed)");
}

static void test_exact_headroom_boundary(void **state)
{
        struct hp_mmio_plan p;

        (void)state;
        /* 4 GiB needs 1 GiB of headroom: 5 GiB -> 8 GiB. */
        bar(&devs[0], 0, 4 * GiB, false, true);
        p = plan_ok(1);
        assert_true(p.window == 8 * GiB);
        /* 512 MiB + 1 GiB (more than 25%) = 1.5 GiB -> 2 GiB. */
        reset(NULL);
        bar(&devs[0], 0, 512 * MiB, false, true);
        p = plan_ok(1);
        assert_true(p.window == 2 * GiB);
}

static void test_pci_testdev(void **state)
{
        struct hp_mmio_plan p;

        (void)state;
        /* The lab's pci-testdev with a 32 GiB 64-bit BAR, and an NVMe next to it. */
        bar(&devs[0], 0, 4 * KiB, false, false);
        bar(&devs[0], 1, 256, true, false);
        bar(&devs[0], 2, 32 * GiB, false, true);
        bar(&devs[1], 0, 16 * KiB, false, true);
        p = plan_ok(2);
        /* 32 GiB + 16 KiB, + 25% = 40 GiB + 20 KiB, rounded up: 64 GiB. */
        assert_true(p.needed == 32 * GiB + 16 * KiB);
        assert_true(p.window == 64 * GiB);
        assert_false(p.needs_efi);
        expect_line(&p, "64-bit MMIO window 64 GiB (BARs need 32 GiB + 16 KiB; EFI not needed)");
}

static void test_eight_a100(void **state)
{
        struct hp_mmio_plan p;

        (void)state;
        for (size_t i = 0; i < 8; i++) {
                bar(&devs[i], 0, 16 * MiB, false, false); /* registers: 32-bit */
                bar(&devs[i], 1, 128 * GiB, false, true); /* VRAM */
                bar(&devs[i], 3, 32 * MiB, false, true);
        }
        p = plan_ok(8);
        assert_true(p.needed == 1 * TiB + 256 * MiB);
        assert_true(p.window == 2 * TiB);
        assert_true(p.needs_efi);
        expect_line(&p, "64-bit MMIO window 2 TiB (BARs need 1 TiB + 256 MiB; "
                        "EFI needed: BIOS maps at most 512 GiB)");
}

static void test_bios_limit(void **state)
{
        struct hp_mmio_plan p;

        (void)state;
        /* 400 GiB + 25% = 500 GiB -> 512 GiB: within what SeaBIOS maps. */
        bar(&devs[0], 1, 256 * GiB, false, true);
        bar(&devs[1], 1, 128 * GiB, false, true);
        bar(&devs[2], 1, 16 * GiB, false, true);
        p = plan_ok(3);
        assert_true(p.window == 512 * GiB);
        assert_true(p.window == HP_MMIO_BIOS_MAX);
        assert_false(p.needs_efi);
        /* 16 GiB more: 416 GiB + 25% = 520 GiB -> 1 TiB, beyond BIOS. */
        bar(&devs[3], 1, 16 * GiB, false, true);
        p = plan_ok(4);
        assert_true(p.window == 1 * TiB);
        assert_true(p.needs_efi);
}

static void test_alignment(void **state)
{
        struct hp_mmio_plan p;

        (void)state;
        /* Placed in the given order the 1 GiB BAR would start at 1 GiB, after
         * 16 KiB and its padding: 2 GiB. Largest first it is exact. */
        bar(&devs[0], 0, 16 * KiB, false, true);
        bar(&devs[1], 0, 1 * GiB, false, true);
        p = plan_ok(2);
        assert_true(p.needed == 1 * GiB + 16 * KiB);
        assert_true(p.window == 4 * GiB);
        /* A size that is not a power of two (never from real hardware) is still
         * aligned: 3 KiB aligned to 4 KiB after 16 KiB, then 1 GiB first. */
        bar(&devs[2], 0, 3 * KiB, false, true);
        p = plan_ok(3);
        assert_true(p.needed == 1 * GiB + 16 * KiB + 3 * KiB);
        /* Devices given in any order give the same plan. */
        ptrs[0] = &devs[2];
        ptrs[2] = &devs[0];
        assert_true(plan_ok(3).needed == p.needed);
}

static void test_overflow(void **state)
{
        struct hp_mmio_plan p = { .needed = 7, .window = 7 };

        (void)state;
        /* 2^63 needs a 2^64 window: it must not wrap to 0. */
        bar(&devs[0], 0, 1ULL << 63, false, true);
        assert_int_equal(hp_mmio_plan(ptrs, 1, &p), -EOVERFLOW);
        assert_true(p.needed == 7 && p.window == 7); /* untouched on failure */
        /* Two of them do not even fit as BARs. */
        bar(&devs[1], 0, 1ULL << 63, false, true);
        assert_int_equal(hp_mmio_plan(ptrs, 2, &p), -EOVERFLOW);
        /* The largest that fits: 2^62 + 25% -> 2^63. */
        reset(NULL);
        bar(&devs[0], 0, 1ULL << 62, false, true);
        p = plan_ok(1);
        assert_true(p.window == 1ULL << 63);
        expect_line(&p, "64-bit MMIO window 8 EiB (BARs need 4 EiB; "
                        "EFI needed: BIOS maps at most 512 GiB)");
        /* A BAR larger than 2^63 cannot be aligned at all. */
        devs[0].bars[0].size = (1ULL << 63) + 1;
        assert_int_equal(hp_mmio_plan(ptrs, 1, &p), -EOVERFLOW);
}

static void test_bad_input(void **state)
{
        struct hp_mmio_plan p;
        const struct hp_pci_dev *none[] = { NULL };

        (void)state;
        assert_int_equal(hp_mmio_plan(NULL, 1, &p), -EINVAL);
        assert_int_equal(hp_mmio_plan(none, 1, &p), -EINVAL);
        assert_int_equal(hp_mmio_plan(ptrs, 1, NULL), -EINVAL);
        assert_int_equal(hp_mmio_describe(NULL, NULL), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

/* Firmware auto: EFI when the window needs it, naming the device with the
 * largest BAR; an explicit choice stays, with the same reason (for the
 * refusal of BIOS). */
static void expect_firmware(enum hp_vm_firmware configured, size_t n, enum hp_vm_firmware want,
                            const char *want_why)
{
        struct hp_mmio_plan p = plan_ok(n);
        enum hp_vm_firmware got = HP_VM_FIRMWARE_AUTO;
        char *why = NULL;

        assert_int_equal(hp_mmio_firmware(configured, &p, ptrs, n, &got, &why), 0);
        assert_int_equal(got, want);
        assert_string_equal(why, want_why);
        free(why);
}

static void test_firmware_auto(void **state)
{
        static const char *const four = "0000:00:02.0's 256 GiB BAR needs a 1 TiB 64-bit MMIO window, larger than "
                                        "the 512 GiB BIOS maps";
        const char *lab = "the devices' 64-bit BARs fit in a 64 GiB window, within the 512 GiB BIOS maps";

        (void)state;
        expect_firmware(HP_VM_FIRMWARE_AUTO, 0, HP_VM_FIRMWARE_BIOS, "no device has a 64-bit BAR");
        /* The lab's pci-testdev: 32 GiB, a 64 GiB window, within BIOS. */
        bar(&devs[0], 0, 4 * KiB, false, false);
        bar(&devs[0], 2, 32 * GiB, false, true);
        expect_firmware(HP_VM_FIRMWARE_AUTO, 1, HP_VM_FIRMWARE_BIOS, lab);
        expect_firmware(HP_VM_FIRMWARE_EFI, 1, HP_VM_FIRMWARE_EFI, lab);
        /* Three 128 GiB GPUs and one of 256 GiB (the one named) need 1 TiB: EFI. */
        reset(NULL);
        for (size_t i = 0; i < 4; i++) {
                snprintf(devs[i].address, sizeof(devs[i].address), "0000:00:%02zx.0", i);
                bar(&devs[i], 0, 16 * MiB, false, false);
                bar(&devs[i], 1, i == 2 ? 256 * GiB : 128 * GiB, false, true);
                bar(&devs[i], 3, 32 * MiB, false, true);
        }
        expect_firmware(HP_VM_FIRMWARE_AUTO, 4, HP_VM_FIRMWARE_EFI, four);
        expect_firmware(HP_VM_FIRMWARE_BIOS, 4, HP_VM_FIRMWARE_BIOS, four);
        expect_firmware(HP_VM_FIRMWARE_EFI, 4, HP_VM_FIRMWARE_EFI, four);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_no_devices),  T(test_only_32bit_bars), T(test_one_small_bar),
                T(test_exact_headroom_boundary), T(test_pci_testdev), T(test_eight_a100),
                T(test_bios_limit),  T(test_alignment),       T(test_overflow),
                T(test_bad_input),   T(test_firmware_auto),
        };

        return cmocka_run_group_tests_name("mmio", tests, NULL, NULL);
}

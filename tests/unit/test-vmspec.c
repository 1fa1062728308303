/* Unit tests: the VM spec parsers (names, PCI IDs, USB ports, memory sizes),
 * each with what it must take and what it must refuse, and the destructors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/strutil.h"
#include "vm/spec.h"

static void test_name(void **state)
{
        static const char *const good[] = { "a", "Z", "7", "win11", "gpu-vm_01.test", "a-", "a.", "a_",
                                            "0123456789abcdef0123456789ABCDEF0123456789abcdef" };
        static const char *const bad[] = { "", "-a", "_a", ".a", "a b", "a/b", "a:b", "..", "a\n",
                                           "vm\xc3\xa9", "0123456789abcdef0123456789ABCDEF0123456789abcdefX" };

        (void)state;
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                assert_true(hp_vm_name_valid(good[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(hp_vm_name_valid(bad[i]));
        assert_false(hp_vm_name_valid(NULL));
        assert_int_equal(strlen(good[8]), HP_VM_NAME_MAX);
}

static void test_pci_id_valid(void **state)
{
        struct hp_pci_id_match m;

        (void)state;
        assert_int_equal(hp_pci_id_match_parse("10de:2206", &m), 0);
        assert_int_equal(m.vendor_id, 0x10de);
        assert_int_equal(m.device_id, 0x2206);
        assert_int_equal(m.subsystem_vendor_id, 0);
        assert_int_equal(m.subsystem_device_id, 0);

        assert_int_equal(hp_pci_id_match_parse("10de:2206:1043:87ac", &m), 0);
        assert_int_equal(m.vendor_id, 0x10de);
        assert_int_equal(m.device_id, 0x2206);
        assert_int_equal(m.subsystem_vendor_id, 0x1043);
        assert_int_equal(m.subsystem_device_id, 0x87ac);

        assert_int_equal(hp_pci_id_match_parse("1B36:0010", &m), 0);
        assert_int_equal(m.vendor_id, 0x1b36);
        assert_int_equal(m.device_id, 0x0010);
        assert_int_equal(hp_pci_id_match_parse("8086:ffff:0000:0000", &m), 0);
        assert_int_equal(m.device_id, 0xffff);
}

static void test_pci_id_invalid(void **state)
{
        static const char *const bad[] = {
                "",          "10de",           "10de:",          ":2206",        "10de:220",
                "10de:22060", "10de:2206:1043", "10de:2206:1043:87ac:0001",      "10de:2206:",
                "10de-2206", " 10de:2206",     "10de:2206 ",     "10de:22g6",    "0x10de:2206",
                "+0de:2206", "10de::2206",     "10de:2206:1043:87a", "0000:2206", "ffff:2206",
                "10de:2206\n",
        };
        struct hp_pci_id_match m = { .vendor_id = 0x1234 };

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(hp_pci_id_match_parse(bad[i], &m), -EINVAL);
                assert_int_equal(m.vendor_id, 0x1234); /* untouched */
        }
        assert_int_equal(hp_pci_id_match_parse(NULL, &m), -EINVAL);
}

static void expect_port(const char *s, int bus, const char *port)
{
        char *p = NULL;
        int b = -1;

        assert_int_equal(hp_usb_port_parse(s, &b, &p), 0);
        assert_int_equal(b, bus);
        assert_string_equal(p, port);
        free(p);
}

static void test_usb_port_valid(void **state)
{
        (void)state;
        expect_port("1-2.3", 1, "2.3");
        expect_port("1-2", 1, "2");
        expect_port("3-10", 3, "10");
        expect_port("127-31", 127, "31");
        expect_port("2-1.2.3.4.5.6.7", 2, "1.2.3.4.5.6.7");
        expect_port("12-31.1.31", 12, "31.1.31");
}

static void test_usb_port_invalid(void **state)
{
        static const char *const bad[] = {
                "",        "1",          "1-",          "-2",        "0-1",       "128-1",
                "1-0",     "1-32",       "1-2.",        "1-.2",      "1-2..3",    "01-2",
                "1-02",    "1-2.03",     "1-1.2.3.4.5.6.7.8",       "1-2:1.0",   "usb1",
                "1 -2",    "1-2 ",       "a-2",         "1-b",       "1--2",      "1-2-3",
                "+1-2",    "1-+2",       "99999999999-1", "1-99999999999",
        };
        char *p = (char *)"untouched";
        int b = -7;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(hp_usb_port_parse(bad[i], &b, &p), -EINVAL);
                assert_int_equal(b, -7);
                assert_string_equal(p, "untouched");
        }
        assert_int_equal(hp_usb_port_parse(NULL, &b, &p), -EINVAL);
}

static void expect_size(const char *s, uint64_t mib)
{
        uint64_t v = 0;

        assert_int_equal(hp_size_parse_mib(s, &v), 0);
        assert_true(v == mib);
}

static void test_size_valid(void **state)
{
        (void)state;
        expect_size("64G", 65536);
        expect_size("2048M", 2048);
        expect_size("512", 512);
        expect_size("1T", 1048576);
        expect_size("1", 1);
        expect_size("4g", 4096);
        expect_size("16GiB", 16384);
        expect_size("2tib", 2097152);
        expect_size("100MiB", 100);
        /* The largest whose byte count fits in 64 bits. */
        expect_size("17592186044415", UINT64_MAX >> 20);
        expect_size("17179869183G", (UINT64_MAX >> 30) << 10);
}

static void test_size_invalid(void **state)
{
        static const struct {
                const char *s;
                int r;
        } bad[] = {
                { "", -EINVAL },       { "0", -EINVAL },      { "0G", -EINVAL },   { "000", -EINVAL },
                { "G", -EINVAL },      { "-1G", -EINVAL },    { "+1G", -EINVAL },  { " 1G", -EINVAL },
                { "1G ", -EINVAL },    { "1 G", -EINVAL },    { "1K", -EINVAL },   { "1GB", -EINVAL },
                { "1P", -EINVAL },     { "1.5G", -EINVAL },   { "0x10", -EINVAL }, { "1Gi", -EINVAL },
                { "1GiBs", -EINVAL },  { "1GG", -EINVAL },    { "ten", -EINVAL },  { "1e3", -EINVAL },
                { "17592186044416", -ERANGE },                { "17179869184G", -ERANGE },
                { "16777216T", -ERANGE },                     { "99999999999999999999", -ERANGE },
                { "999999999999999999999999999999M", -ERANGE },
        };
        uint64_t v = 42;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(hp_size_parse_mib(bad[i].s, &v), bad[i].r);
                assert_true(v == 42);
        }
        assert_int_equal(hp_size_parse_mib(NULL, &v), -EINVAL);
}

static void test_done(void **state)
{
        struct hp_vm_spec s = { .autostart_order = -1 };

        (void)state;
        /* An empty spec, a NULL one, and done twice are all fine. */
        hp_vm_spec_done(&s);
        hp_vm_spec_done(NULL);
        hp_vm_pci_done(NULL);
        hp_vm_usb_done(NULL);

        s.disks = calloc(1, sizeof(char *));
        assert_non_null(s.disks);
        assert_int_equal(hp_strv_push(&s.disks, "/var/lib/vm.qcow2"), 0);
        s.kernel = strdup("vmlinuz");
        s.pci = calloc(2, sizeof(*s.pci));
        assert_non_null(s.pci);
        s.n_pci = 2;
        s.pci[0] = (struct hp_vm_pci){ .kind = HP_VM_PCI_STATIC, .romfile = strdup("gpu.rom") };
        s.pci[1] = (struct hp_vm_pci){ .kind = HP_VM_PCI_DYNAMIC, .label = strdup("fast"), .n_allowed = 1,
                                       .allowed = calloc(1, sizeof(struct hp_pci_id_match)) };
        s.usb = calloc(1, sizeof(*s.usb));
        assert_non_null(s.usb);
        s.n_usb = 1;
        assert_int_equal(hp_usb_port_parse("1-2.3", &s.usb[0].bus, &s.usb[0].port), 0);
        s.usb[0].serial = strdup("ABC");
        hp_vm_spec_done(&s); /* ASan: nothing leaks */
        assert_null(s.disks);
        assert_null(s.pci);
        assert_int_equal(s.n_pci, 0);
        assert_null(s.usb);
        hp_vm_spec_done(&s);
}

/* The UTF-8 jansson takes, no more: a spec that passes can be stored. */
static void test_text_valid(void **state)
{
        static const char *const good[] = { "", "/srv/vm.qcow2", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                            "\xf4\x8f\xbf\xbf" };
        static const char *const bad[] = {
                "\xff",         "a\xc3",         "\xc0\xaf",          /* overlong '/' */
                "\xe0\x80\xaf", "\xed\xa0\x80", /* a surrogate */ "\xf4\x90\x80\x80", /* past U+10FFFF */
                "\xc3\x28",     "\x80",
        };
        struct hp_vm_spec s = { .autostart_order = -1 };
        char *disks[] = { (char *)"/ok.img", (char *)"/bad\xfe.img", NULL };
        char *msg = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                assert_true(hp_vm_text_valid(good[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(hp_vm_text_valid(bad[i]));
        s.disks = disks;
        assert_int_equal(hp_vm_spec_text_check(&s, &msg), -EINVAL);
        assert_non_null(msg);
        assert_non_null(strstr(msg, "invalid --disk '/bad\\xfe.img'"));
        free(msg);
        disks[1] = NULL;
        s.append = (char *)"console=ttyS0 \xe9";
        assert_int_equal(hp_vm_spec_text_check(&s, &msg), -EINVAL);
        assert_non_null(strstr(msg, "invalid --append 'console=ttyS0 \\xe9'"));
        free(msg);
        s.append = (char *)"console=ttyS0";
        assert_int_equal(hp_vm_spec_text_check(&s, &msg), 0);
}

static struct hp_vm_pci static_entry(const char *address)
{
        struct hp_vm_pci p = { .kind = HP_VM_PCI_STATIC, .rombar = -1 };

        snprintf(p.address, sizeof(p.address), "%s", address);
        return p;
}

/* Static entries follow their moved devices; a swap moves each once. */
static void test_follow_moves(void **state)
{
        struct hp_vm_pci pci[] = { static_entry("0000:03:00.0"), static_entry("0000:02:00.0"),
                                   static_entry("0000:07:00.0"), { .kind = HP_VM_PCI_DYNAMIC, .rombar = -1 } };
        const struct hp_vm_pci_move moves[] = { { "0000:03:00.0", "0000:02:00.0" },
                                                { "0000:02:00.0", "0000:03:00.0" } };
        const char stored[][13] = { "0000:02:00.0", "0000:03:00.0", "0000:07:00.0" };

        (void)state;
        snprintf(pci[3].address, sizeof(pci[3].address), "0000:03:00.0"); /* not read for a dynamic entry */
        assert_int_equal(hp_vm_pci_follow_moves(pci, 4, moves, 2, stored, 3), 2);
        assert_string_equal(pci[0].address, "0000:02:00.0");
        assert_string_equal(pci[1].address, "0000:03:00.0");
        assert_string_equal(pci[2].address, "0000:07:00.0");
        assert_string_equal(pci[3].address, "0000:03:00.0");
        assert_int_equal(hp_vm_pci_follow_moves(pci, 4, NULL, 0, stored, 3), 0);
}

/* A slot entry follows only when all its stored functions moved together,
 * keeping their function numbers. */
static void test_follow_slot(void **state)
{
        const char stored[][13] = { "0000:0c:00.0", "0000:0c:00.1", "0000:0d:00.0" };
        const struct hp_vm_pci_move whole[] = { { "0000:0c:00.0", "0000:41:00.0" },
                                                { "0000:0c:00.1", "0000:41:00.1" } };
        const struct hp_vm_pci_move part[] = { { "0000:0c:00.0", "0000:41:00.0" } };
        const struct hp_vm_pci_move split[] = { { "0000:0c:00.0", "0000:41:00.0" },
                                                { "0000:0c:00.1", "0000:42:00.1" } };
        const struct hp_vm_pci_move renumbered[] = { { "0000:0c:00.0", "0000:41:00.1" },
                                                     { "0000:0c:00.1", "0000:41:00.0" } };
        struct hp_vm_pci p = static_entry("0000:0c:00");

        (void)state;
        assert_int_equal(hp_vm_pci_follow_moves(&p, 1, part, 1, stored, 3), 0);
        assert_int_equal(hp_vm_pci_follow_moves(&p, 1, split, 2, stored, 3), 0);
        assert_int_equal(hp_vm_pci_follow_moves(&p, 1, renumbered, 2, stored, 3), 0);
        assert_string_equal(p.address, "0000:0c:00");
        assert_int_equal(hp_vm_pci_follow_moves(&p, 1, whole, 2, stored, 3), 1);
        assert_string_equal(p.address, "0000:41:00");
        /* A function entry of the slot follows its function alone. */
        p = static_entry("0000:0c:00.1");
        assert_int_equal(hp_vm_pci_follow_moves(&p, 1, split, 2, stored, 3), 1);
        assert_string_equal(p.address, "0000:42:00.1");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_name),          cmocka_unit_test(test_pci_id_valid),
                cmocka_unit_test(test_pci_id_invalid), cmocka_unit_test(test_usb_port_valid),
                cmocka_unit_test(test_usb_port_invalid), cmocka_unit_test(test_size_valid),
                cmocka_unit_test(test_size_invalid),  cmocka_unit_test(test_done),
                cmocka_unit_test(test_text_valid),
                cmocka_unit_test(test_follow_moves),  cmocka_unit_test(test_follow_slot),
        };

        return cmocka_run_group_tests_name("vmspec", tests, NULL, NULL);
}

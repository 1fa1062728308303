/* Unit tests: PCI address parsing is strict; nothing malformed gets through. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "host/pci.h"

static void test_valid(void **state)
{
        struct hp_pci_addr a;
        char buf[HP_SBDF_LEN];

        (void)state;
        assert_int_equal(hp_pci_addr_parse("0000:01:00.0", &a), 0);
        assert_int_equal(a.domain, 0);
        assert_int_equal(a.bus, 1);
        assert_int_equal(a.dev, 0);
        assert_int_equal(a.fn, 0);
        assert_int_equal(hp_pci_addr_parse("10000:01:00.0", &a), -EINVAL);
        assert_int_equal(hp_pci_addr_parse("ffff:fe:1f.7", &a), 0);
        hp_pci_addr_format(&a, buf);
        assert_string_equal(buf, "ffff:fe:1f.7");
        assert_int_equal(hp_pci_addr_parse("0000:AF:00.1", &a), 0);
        hp_pci_addr_format(&a, buf);
        assert_string_equal(buf, "0000:af:00.1");
        /* Short form: domain 0. */
        assert_int_equal(hp_pci_addr_parse("41:00.2", &a), 0);
        hp_pci_addr_format(&a, buf);
        assert_string_equal(buf, "0000:41:00.2");
}

static void test_invalid(void **state)
{
        static const char *const bad[] = {
                "01:00",        "0000:zz:00.0", "../..",         "",
                "0000:01:00",   "0000:01:20.0", "0000:01:00.8",  "0000:01:00.0 ",
                " 0000:01:00.0", "0000-01-00.0", "000:01:00.0",  "0000:001:00.0",
                "0000:01:00.0/", "0000:01:0g.0", "0000:01:00.00", "g000:01:00.0",
        };
        struct hp_pci_addr a;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (hp_pci_addr_parse(bad[i], &a) != -EINVAL)
                        fail_msg("accepted malformed address '%s'", bad[i]);
        }
        assert_int_equal(hp_pci_addr_parse(NULL, &a), -EINVAL);
}

static void test_order(void **state)
{
        struct hp_pci_addr a, b;

        (void)state;
        assert_int_equal(hp_pci_addr_parse("0000:00:1f.3", &a), 0);
        assert_int_equal(hp_pci_addr_parse("0000:01:00.0", &b), 0);
        assert_true(hp_pci_addr_cmp(&a, &b) < 0);
        assert_true(hp_pci_addr_cmp(&b, &a) > 0);
        assert_int_equal(hp_pci_addr_cmp(&a, &a), 0);
        assert_int_equal(hp_pci_addr_parse("0001:00:00.0", &b), 0);
        assert_true(hp_pci_addr_cmp(&a, &b) < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_order),
        };

        return cmocka_run_group_tests_name("pciaddr", tests, NULL, NULL);
}

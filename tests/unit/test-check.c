/* Unit tests: the readiness report on fixture hosts. The CLI-level variants
 * (one broken thing each) are in tests/check-variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "host/check.h"
#include "host/pci.h"
#include "util/hostroot.h"
#include "util/macro.h"

static struct hp_check_report *report(const char *fixture)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        struct hp_check_report *rep = NULL;

        assert_int_equal(hp_host_open(fixture, &h), 0);
        assert_int_equal(hp_pci_scan(h, NULL, &inv), 0);
        assert_int_equal(hp_host_check(h, inv, &rep), 0);
        return rep;
}

static void test_no_iommu(void **state)
{
        _cleanup_(hp_check_report_freep) struct hp_check_report *rep = report(FIXTURES_DIR "/build-machine");
        const struct hp_check *first = NULL;

        (void)state;
        assert_false(hp_check_report_ok(rep));
        for (size_t i = 0; i < rep->n_checks && !first; i++)
                if (rep->checks[i].level == HP_CHECK_FAIL)
                        first = &rep->checks[i];
        assert_non_null(first);
        assert_string_equal(first->id, "iommu-firmware");
        assert_non_null(strstr(first->message, "does not support passthrough"));
        assert_non_null(strstr(first->fix, "firmware setup"));
        assert_non_null(strstr(first->fix, "kernel command line"));
}

static void test_ready_desktop(void **state)
{
        _cleanup_(hp_check_report_freep) struct hp_check_report *rep = report(FIXTURES_DIR "/desktop");

        (void)state;
        assert_true(hp_check_report_ok(rep));
        assert_true(rep->n_checks >= 12);
        for (size_t i = 0; i < rep->n_checks; i++) {
                const struct hp_check *c = &rep->checks[i];

                assert_non_null(c->message);
                /* Every line that does not pass says what to do. */
                if (c->level != HP_CHECK_PASS)
                        assert_non_null(c->fix);
                else
                        assert_null(c->fix);
        }
        assert_string_equal(hp_check_level_to_string(HP_CHECK_WARN), "WARN");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_iommu),
                cmocka_unit_test(test_ready_desktop),
        };

        return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}

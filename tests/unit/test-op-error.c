/* How an operation's failure reaches the front ends (ops/ops.h): a store
 * transaction that lost to other writers every time it was tried is "busy,
 * try again" (HTTP 503, exit 3), and comes back as that through the API;
 * any other failure, and a busy device (sysfs), stays a host error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ops/ops.h"

static void test_store_busy(void **state)
{
        struct hp_ops_ctx c = { 0 };

        (void)state;
        assert_int_equal(hp_op_store_error(&c, -EBUSY, "cannot claim %s for VM '%s'", "gpu-01", "vm1"), -EBUSY);
        assert_int_equal(c.error.kind, HP_OP_BUSY);
        assert_string_equal(c.error.message, "cannot claim gpu-01 for VM 'vm1': the state database stayed busy "
                                             "with other writers; try again");
        assert_int_equal(hp_op_http_status(c.error.kind), 503);
        assert_string_equal(hp_op_api_code(&c.error), "busy");
        assert_int_equal(hp_op_exit_code(c.error.kind), 3);
        /* Through the API, the CLI takes it back as the same kind. */
        assert_int_equal(hp_op_kind_from_api(503, "busy", false), HP_OP_BUSY);
        hp_op_error_done(&c.error);
}

static void test_other_failures(void **state)
{
        struct hp_ops_ctx c = { 0 };

        (void)state;
        assert_int_equal(hp_op_store_error(&c, -EIO, "cannot record the heartbeat of %s", "gpu-01"), -EIO);
        assert_int_equal(c.error.kind, HP_OP_HOST);
        assert_int_equal(hp_op_http_status(c.error.kind), 500);
        hp_op_error_done(&c.error);
        /* A device busy in sysfs is no database to wait for. */
        assert_int_equal(hp_op_host_error(&c, -EBUSY, "cannot unbind %s", "0000:01:00.0"), -EBUSY);
        assert_int_equal(c.error.kind, HP_OP_HOST);
        assert_string_equal(c.error.message, "cannot unbind 0000:01:00.0: Device or resource busy");
        hp_op_error_done(&c.error);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_store_busy),
                cmocka_unit_test(test_other_failures),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: the agent's lease kept across its restarts (daemon/
 * agent-lease.c): read back as written in the same boot; another boot's, a
 * renewal in the future, or none at all is no lease; a damaged file says so;
 * and when the fence and the watchdog act after the last renewal. */
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

#include "daemon/agent-lease.h"
#include "util/macro.h"

static char dir[] = "/tmp/hwpass-agent-lease.XXXXXX";

static void put(const char *text)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/agent-lease.json", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_kept(void **state)
{
        struct hp_agent_lease l = { .boot_id = "boot-1",
                                    .renewed_ms = 5000,
                                    .heartbeat_ms = 500,
                                    .lease_ms = 2000,
                                    .margin_ms = 1000 };
        struct hp_agent_lease got = { 0 };

        (void)state;
        assert_int_equal(hp_agent_lease_load(dir, "boot-1", 6000, &got), -ENOENT);
        assert_int_equal(hp_agent_lease_save(dir, &l), 0);
        assert_int_equal(hp_agent_lease_load(dir, "boot-1", 6000, &got), 0);
        assert_string_equal(got.boot_id, "boot-1");
        assert_int_equal(got.renewed_ms, 5000);
        assert_int_equal(got.heartbeat_ms, 500);
        assert_int_equal(got.lease_ms, 2000);
        assert_int_equal(got.margin_ms, 1000);

        /* A newer renewal replaces it whole. */
        l.renewed_ms = 7000;
        assert_int_equal(hp_agent_lease_save(dir, &l), 0);
        assert_int_equal(hp_agent_lease_load(dir, "boot-1", 7000, &got), 0);
        assert_int_equal(got.renewed_ms, 7000);

        /* Another boot's monotonic time means nothing here; nor does one
         * that has not come yet (output untouched). */
        got.renewed_ms = 1;
        assert_int_equal(hp_agent_lease_load(dir, "boot-2", 9000, &got), -ENOENT);
        assert_int_equal(hp_agent_lease_load(dir, "boot-1", 6999, &got), -ENOENT);
        assert_int_equal(got.renewed_ms, 1);
}

static void test_damaged(void **state)
{
        struct hp_agent_lease got = { 0 };

        (void)state;
        put("{\"boot_id\": \"boot-1\", \"renewed_ms\": 5");
        assert_int_equal(hp_agent_lease_load(dir, "boot-1", 6000, &got), -EBADMSG);
        put("[]");
        assert_int_equal(hp_agent_lease_load(dir, "boot-1", 6000, &got), -EBADMSG);
        put("{\"boot_id\": \"boot-1\", \"renewed_ms\": 5000, \"heartbeat_ms\": 0, \"lease_ms\": "
            "2000, "
            "\"margin_ms\": 1000}");
        assert_int_equal(hp_agent_lease_load(dir, "boot-1", 6000, &got), -EBADMSG);
}

/* The lease and margin less two heartbeats, at least a second: the
 * profiles' figures in docs/cluster.md ("Watchdog"). */
static void test_fence_after(void **state)
{
        (void)state;
        assert_int_equal(hp_agent_fence_after_ms(1000, 5000, 5000), 8000); /* default */
        assert_int_equal(hp_agent_fence_after_ms(500, 2000, 1000), 2000);  /* fast */
        assert_int_equal(hp_agent_fence_after_ms(300, 3000, 3000), 5400);
        assert_int_equal(hp_agent_fence_after_ms(1000, 2000, 0), 1000);
}

static int setup(void **state)
{
        (void)state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        char path[256];

        (void)state;
        snprintf(path, sizeof(path), "%s/agent-lease.json", dir);
        unlink(path);
        return rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kept),
                cmocka_unit_test(test_damaged),
                cmocka_unit_test(test_fence_after),
        };

        return cmocka_run_group_tests_name("agent-lease", tests, setup, teardown);
}

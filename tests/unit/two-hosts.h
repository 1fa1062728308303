/* Shared by the store's placement tests: two hosts with two devices
 * each. Include after store-tmp.h and store-rows.h. */
#pragma once

#include "store/store.h"

#define A    "0000:01:00.0"
#define B    "0000:02:00.0"
#define SPEC "{\"vcpus\":2}"

/* A store with hosts local and gpu-01, each with devices A and B, free. */
static struct hp_store *open_two_hosts(const char *path)
{
        struct hp_store *s = open_ok(path);

        assert_int_equal(hp_store_host_add(s, "gpu-01"), 0);
        put_device(s, A, NULL);
        put_device(s, B, NULL);
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        put_device(s, A, NULL);
        put_device(s, B, NULL);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        return s;
}

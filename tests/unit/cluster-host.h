/* Shared by the controller's unit tests: a cluster host made directly in
 * the store, as its join and first heartbeat would have left it. Define VFS
 * (how many VFs each host has) before including; include after store-tmp.h. */
#pragma once

#include <jansson.h>
#include <string.h>

#include "store/store.h"
#include "util/macro.h"

/* A live, ready host with VFS ConnectX VFs set for passthrough and bound
 * to vfio-pci, as its agent would have reported them. */
static void host_with_vfs(struct hp_store *s, const char *name)
{
        _cleanup_(json_decrefp) json_t *report = json_pack("{s:[], s:{s:I}}", "devices", "memory",
                                                           "available_mib", (json_int_t)1 << 20);
        _cleanup_free_ char *text = NULL;
        char hash[65];

        assert_int_equal(hp_store_host_add(s, name), 0);
        memset(hash, name[1], 64);
        hash[64] = '\0';
        assert_int_equal(hp_store_host_set_credential(s, name, hash), 0);
        assert_int_equal(hp_store_host_renew(s, name, 600000, NULL), 0);
        assert_int_equal(hp_store_host_set_ready(s, name, true), 0);
        assert_int_equal(hp_store_set_host(s, name), 0);
        for (int i = 0; i < VFS; i++) {
                char *no_attrs[] = { NULL };
                struct hp_dev_config c = { .vendor_id = 0x15b3,
                                           .device_id = 0x101c,
                                           .desired = true,
                                           .attrs = no_attrs,
                                           .health = (char *)"ok" };

                snprintf(c.address, sizeof(c.address), "0000:05:00.%d", i);
                assert_int_equal(hp_store_device_put(s, &c), 0);
                assert_int_equal(
                        json_array_append_new(json_object_get(report, "devices"),
                                              json_pack("{s:s, s:s, s:s, s:{s:b}}", "address",
                                                        c.address, "vendor_id", "15b3", "device_id",
                                                        "101c", "passthrough", "active", 1)),
                        0);
        }
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        text = json_dumps(report, JSON_COMPACT);
        assert_non_null(text);
        assert_int_equal(hp_store_host_report(s, name, text), 0);
}

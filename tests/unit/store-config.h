/* Shared by the store's unit tests: a device record filled with every field,
 * its comparison, and files written behind the store's back. Include after
 * store-tmp.h. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

static inline void raw_exec(const char *path, const char *sql)
{
        sqlite3 *db = raw_open(path);

        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

#define REASON "reboot required: the nvidia driver will not let go of it"

static inline void config_fill(struct hp_dev_config *c, const char *address, const char *label,
                               const char *const *attrs)
{
        *c = (struct hp_dev_config){0};
        snprintf(c->address, sizeof(c->address), "%s", address);
        c->vendor_id = 0x10de;
        c->device_id = 0x2204;
        c->subsystem_vendor_id = 0x1458;
        c->subsystem_device_id = 0xffff;
        c->serial = strdup("1a-2b-3c-ff-fe-00-00-01");
        c->slot = strdup("PCIe x16 slot 1");
        c->desired = true;
        c->host_driver = strdup("nvidia");
        c->label = label ? strdup(label) : NULL;
        c->health = strdup("quarantined");
        c->reason = strdup(REASON);
        c->assigned_vm = strdup("win11");
        c->attrs = calloc(1, sizeof(char *));
        assert_non_null(c->attrs);
        for (size_t i = 0; attrs && attrs[i]; i++)
                assert_int_equal(hp_strv_push(&c->attrs, attrs[i]), 0);
}

static inline void assert_str_or_null(const char *a, const char *b)
{
        if (!a || !b)
                assert_ptr_equal(a, b);
        else
                assert_string_equal(a, b);
}

/* Every field but updated_at, which put sets. */
static inline void assert_config_equal(const struct hp_dev_config *a, const struct hp_dev_config *b)
{
        assert_string_equal(a->address, b->address);
        assert_int_equal(a->vendor_id, b->vendor_id);
        assert_int_equal(a->device_id, b->device_id);
        assert_int_equal(a->subsystem_vendor_id, b->subsystem_vendor_id);
        assert_int_equal(a->subsystem_device_id, b->subsystem_device_id);
        assert_str_or_null(a->serial, b->serial);
        assert_str_or_null(a->slot, b->slot);
        assert_int_equal(a->desired, b->desired);
        assert_str_or_null(a->host_driver, b->host_driver);
        assert_str_or_null(a->label, b->label);
        assert_non_null(a->health);
        assert_string_equal(a->health, b->health);
        assert_str_or_null(a->reason, b->reason);
        assert_str_or_null(a->assigned_vm, b->assigned_vm);
        assert_non_null(a->attrs);
        assert_non_null(b->attrs);
        assert_int_equal(hp_strv_length(a->attrs), hp_strv_length(b->attrs));
        for (size_t i = 0; a->attrs[i]; i++)
                assert_string_equal(a->attrs[i], b->attrs[i]);
}

static inline void write_file(const char *path, const char *content, size_t repeat)
{
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        assert_non_null(f);
        for (size_t i = 0; i < repeat; i++)
                assert_true(fputs(content, f) >= 0);
}

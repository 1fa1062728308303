/* Shared by the store's unit tests: rows written and read through the
 * store itself, on either backend. Include after store-tmp.h. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

/* Puts a device at address of the connection's host, held by vm (NULL: free). */
static inline void put_device(struct hp_store *s, const char *address, const char *vm)
{
        struct hp_dev_config c = {0};

        snprintf(c.address, sizeof(c.address), "%s", address);
        c.health = (char *)"ok";
        c.assigned_vm = (char *)vm;
        assert_int_equal(hp_store_device_put(s, &c), 0);
}

/* The names hp_store_vm_list() gives on s's host, space-separated; malloc'd. */
static inline char *vm_names(struct hp_store *s)
{
        struct hp_vm_record *v = NULL;
        char *got = NULL;
        size_t n = 0, size = 0;
        FILE *f = open_memstream(&got, &size);

        assert_non_null(f);
        assert_int_equal(hp_store_vm_list(s, &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i ? " " : "", v[i].name);
        assert_int_equal(fclose(f), 0);
        hp_vm_records_free(v, n);
        return got;
}

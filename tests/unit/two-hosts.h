/* Shared by the store's placement tests: two hosts with two devices
 * each. Include after store-tmp.h and store-rows.h. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "store/store.h"
#include "util/macro.h"

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

/* Every VM of the store as committed: "NAME@HOST:DESIRED:EPOCH", HOST "-"
 * when unplaced, by name. */
static inline char *cluster_view(const char *path)
{
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        struct hp_cluster_vm *v = NULL;
        char *got = NULL;
        size_t n = 0, size = 0;
        FILE *f = open_memstream(&got, &size);

        assert_non_null(f);
        assert_int_equal(hp_store_cluster_vm_list(s, &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s@%s:%s:%lld", i ? " " : "", v[i].name, v[i].host ? v[i].host : "-",
                        v[i].desired, (long long)v[i].epoch);
        assert_int_equal(fclose(f), 0);
        hp_cluster_vms_free(v, n);
        return got;
}

static inline void assert_cluster(const char *path, const char *want)
{
        _cleanup_free_ char *got = cluster_view(path);

        assert_string_equal(got, want);
}

/* Every device of every host and its holder: "HOST/ADDRESS=VM" ("-" free). */
static inline void assert_holders(const char *path, const char *want)
{
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        struct hp_host_info *h = NULL;
        _cleanup_free_ char *got = NULL;
        size_t nh = 0, size = 0;
        FILE *f = open_memstream(&got, &size);
        bool first = true;

        assert_non_null(f);
        assert_int_equal(hp_store_host_list(s, &h, &nh), 0);
        for (size_t i = 0; i < nh; i++) {
                struct hp_dev_config *d = NULL;
                size_t nd = 0;

                assert_int_equal(hp_store_set_host(s, h[i].name), 0);
                assert_int_equal(hp_store_device_list(s, &d, &nd), 0);
                for (size_t j = 0; j < nd; j++, first = false)
                        fprintf(f, "%s%s/%s=%s", first ? "" : " ", h[i].name, d[j].address,
                                d[j].assigned_vm ? d[j].assigned_vm : "-");
                hp_dev_configs_free(d, nd);
        }
        hp_host_infos_free(h, nh);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(got, want);
}

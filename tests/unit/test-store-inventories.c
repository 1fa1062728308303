/* Unit tests: every host's device rows and last report read at once
 * (hp_store_inventories(), a controller's picture of the cluster), and the
 * reports the caller has not sent again. On either backend (store-url.h). */
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
#include <sqlite3.h>

#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

#include "store-tmp.h"
#include "store-url.h"
#include "store-rows.h"
#include "two-hosts.h"

/* Every host's rows and report at once are what each host's reads give:
 * its own devices with their attributes and holders, none for a host
 * without devices, the report as stored. */
static void test_inventories(void **state)
{
        _cleanup_free_ char *path = store_new("inventories");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        char *attrs[] = { "rack=r1", "zone=z2", NULL };
        struct hp_dev_config c = { .health = (char *)"ok",
                                   .label = (char *)"fast",
                                   .attrs = attrs };
        struct hp_store_inventory *v = NULL;
        size_t n = 0, seen = 0;

        (void)state;
        assert_int_equal(hp_store_host_add(s, "bare"), 0);
        assert_int_equal(hp_store_host_report(s, "gpu-01", "{\"devices\": []}"), 0);
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        snprintf(c.address, sizeof(c.address), "%s", B);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_int_equal(hp_store_inventories(s, NULL, 0, &v, &n), 0);
        for (size_t i = 0; i < n; i++) {
                struct hp_dev_config *d = NULL;
                size_t nd = 0;

                assert_int_equal(hp_store_set_host(s, v[i].host), 0);
                assert_int_equal(hp_store_device_list(s, &d, &nd), 0);
                assert_int_equal(v[i].n_rows, nd);
                for (size_t j = 0; j < nd; j++) {
                        assert_string_equal(v[i].rows[j].address, d[j].address);
                        assert_int_equal(hp_strv_length(v[i].rows[j].attrs),
                                         hp_strv_length(d[j].attrs));
                        for (size_t k = 0; d[j].attrs[k]; k++)
                                assert_string_equal(v[i].rows[j].attrs[k], d[j].attrs[k]);
                        assert_true((v[i].rows[j].label == NULL) == (d[j].label == NULL));
                }
                hp_dev_configs_free(d, nd);
                if (streq(v[i].host, "gpu-01")) {
                        seen++;
                        assert_string_equal(v[i].report_json, "{\"devices\": []}");
                        assert_string_equal(v[i].key.host, "gpu-01");
                        assert_true(v[i].key.at_ms > 0);
                        assert_int_equal(v[i].key.len, strlen("{\"devices\": []}"));
                        assert_false(v[i].report_kept);
                        assert_int_equal(nd, 2);
                        assert_string_equal(v[i].rows[1].label, "fast");
                        assert_string_equal(v[i].rows[1].attrs[1], "zone=z2");
                } else if (streq(v[i].host, "bare")) {
                        seen++;
                        assert_null(v[i].rows);
                        assert_null(v[i].report_json);
                } else {
                        assert_string_equal(v[i].host, HP_STORE_LOCAL_HOST);
                        assert_int_equal(nd, 2);
                }
        }
        assert_int_equal(n, 3);
        assert_int_equal(seen, 2);
        hp_store_inventories_free(v, n);
}

/* host's inventory in v, n. */
static struct hp_store_inventory *inventory_of(struct hp_store_inventory *v, size_t n,
                                               const char *host)
{
        for (size_t i = 0; i < n; i++)
                if (streq(v[i].host, host))
                        return &v[i];
        fail_msg("no inventory of %s", host);
        return NULL;
}

/* A report the caller names as it has it (when it came, its length) is
 * not sent again; another one (older, of another length, or a new report
 * since) is. */
static void test_inventories_known(void **state)
{
        _cleanup_free_ char *path = store_new("inventories_known");
        _cleanup_(hp_store_closep) struct hp_store *s = open_two_hosts(path);
        struct hp_store_inventory *v = NULL, *i;
        struct hp_store_report_key known[3];
        size_t n = 0;

        (void)state;
        assert_int_equal(hp_store_host_add(s, "bare"), 0);
        assert_int_equal(hp_store_host_report(s, "gpu-01", "{\"devices\": []}"), 0);
        assert_int_equal(hp_store_inventories(s, NULL, 0, &v, &n), 0);
        known[0] = inventory_of(v, n, "gpu-01")->key;
        known[0].host = "gpu-01";
        known[1] = (struct hp_store_report_key){ .host = "bare" };
        hp_store_inventories_free(v, n);

        assert_int_equal(hp_store_inventories(s, known, 2, &v, &n), 0);
        i = inventory_of(v, n, "gpu-01");
        assert_true(i->report_kept);
        assert_null(i->report_json);
        assert_int_equal(i->key.at_ms, known[0].at_ms);
        assert_int_equal(i->n_rows, 2); /* the rows come all the same */
        i = inventory_of(v, n, "bare");
        assert_false(i->report_kept);
        assert_null(i->report_json);
        hp_store_inventories_free(v, n);

        /* Not the one stored: sent. */
        known[2] = known[0];
        known[2].len++;
        assert_int_equal(hp_store_inventories(s, &known[2], 1, &v, &n), 0);
        i = inventory_of(v, n, "gpu-01");
        assert_false(i->report_kept);
        assert_string_equal(i->report_json, "{\"devices\": []}");
        hp_store_inventories_free(v, n);
        known[2] = known[0];
        known[2].at_ms--;
        assert_int_equal(hp_store_inventories(s, &known[2], 1, &v, &n), 0);
        assert_false(inventory_of(v, n, "gpu-01")->report_kept);
        hp_store_inventories_free(v, n);

        /* A new report (of the same length): sent. */
        usleep(5000);
        assert_int_equal(hp_store_host_report(s, "gpu-01", "{\"devices\": [1]}"), 0);
        assert_int_equal(hp_store_inventories(s, known, 1, &v, &n), 0);
        i = inventory_of(v, n, "gpu-01");
        assert_false(i->report_kept);
        assert_string_equal(i->report_json, "{\"devices\": [1]}");
        hp_store_inventories_free(v, n);

        known[1].host = "bad\"name";
        assert_int_equal(hp_store_inventories(s, known, 2, &v, &n), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_inventories),
                cmocka_unit_test(test_inventories_known),
        };

        return run_store_tests("store-inventories", NULL, 0, tests, ELEMENTSOF(tests));
}

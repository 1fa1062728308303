/* Unit tests: the /metrics text from counts (exact output, cumulative
 * buckets, floats that read back as the same number). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/metrics.h"
#include "host/state.h"
#include "util/macro.h"

static char *render(const struct hp_metrics *m)
{
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(hp_metrics_render(m, &text, &len), 0);
        assert_non_null(text);
        assert_int_equal(strlen(text), len);
        return text;
}

static void test_exact(void **state)
{
        static const char want[] =
                "# HELP hwpass_devices PCI functions of this host by passthrough state, "
                "as hwpass device list shows it.\n"
                "# TYPE hwpass_devices gauge\n"
                "hwpass_devices{state=\"host\"} 3\n"
                "hwpass_devices{state=\"pending\"} 1\n"
                "hwpass_devices{state=\"passthrough\"} 2\n"
                "hwpass_devices{state=\"passthrough!\"} 0\n"
                "# HELP hwpass_devices_quarantined PCI functions quarantined after a failed reset "
                "(see hwpass device clear).\n"
                "# TYPE hwpass_devices_quarantined gauge\n"
                "hwpass_devices_quarantined 1\n"
                "# HELP hwpass_vms VMs of this host by state.\n"
                "# TYPE hwpass_vms gauge\n"
                "hwpass_vms{state=\"off\"} 2\n"
                "hwpass_vms{state=\"starting\"} 0\n"
                "hwpass_vms{state=\"running\"} 1\n"
                "hwpass_vms{state=\"stopping\"} 0\n"
                "# HELP hwpass_power_on_seconds Successful VM power-ons through this daemon "
                "since it started: seconds to answer.\n"
                "# TYPE hwpass_power_on_seconds histogram\n"
                "hwpass_power_on_seconds_bucket{le=\"0.1\"} 1\n"
                "hwpass_power_on_seconds_bucket{le=\"0.25\"} 2\n"
                "hwpass_power_on_seconds_bucket{le=\"0.5\"} 3\n"
                "hwpass_power_on_seconds_bucket{le=\"1\"} 3\n"
                "hwpass_power_on_seconds_bucket{le=\"2.5\"} 3\n"
                "hwpass_power_on_seconds_bucket{le=\"5\"} 3\n"
                "hwpass_power_on_seconds_bucket{le=\"10\"} 3\n"
                "hwpass_power_on_seconds_bucket{le=\"30\"} 3\n"
                "hwpass_power_on_seconds_bucket{le=\"60\"} 3\n"
                "hwpass_power_on_seconds_bucket{le=\"120\"} 3\n"
                "hwpass_power_on_seconds_bucket{le=\"+Inf\"} 4\n"
                "hwpass_power_on_seconds_sum 200.625\n"
                "hwpass_power_on_seconds_count 4\n"
                "# HELP hwpass_power_on_failures_total VM power-ons through this daemon "
                "since it started that were refused or failed.\n"
                "# TYPE hwpass_power_on_failures_total counter\n"
                "hwpass_power_on_failures_total 1\n"
                "# HELP hwpass_api_requests_total API requests answered since the daemon "
                "started, by HTTP status.\n"
                "# TYPE hwpass_api_requests_total counter\n"
                "hwpass_api_requests_total{code=\"200\"} 5\n"
                "hwpass_api_requests_total{code=\"404\"} 1\n";
        _cleanup_free_ struct hp_metrics *m = calloc(1, sizeof(*m));
        _cleanup_free_ char *text = NULL;

        (void)state;
        assert_non_null(m);
        m->devices[HP_DEV_MODE_HOST] = 3;
        m->devices[HP_DEV_MODE_PENDING] = 1;
        m->devices[HP_DEV_MODE_PASSTHROUGH] = 2;
        m->quarantined = 1;
        m->vms[HP_VM_OFF] = 2;
        m->vms[HP_VM_RUNNING] = 1;
        /* Exact in binary, so the sum is too. */
        hp_histogram_observe(&m->counters.power_on, 0.0625);
        hp_histogram_observe(&m->counters.power_on, 0.25 + 0.0625);
        hp_histogram_observe(&m->counters.power_on, 0.25);
        hp_histogram_observe(&m->counters.power_on, 200);
        m->counters.power_on_failures = 1;
        m->counters.requests[200] = 5;
        m->counters.requests[404] = 1;
        text = render(m);
        assert_string_equal(text, want);
}

/* Every known state is there at zero; no request has been counted yet. */
static void test_empty(void **state)
{
        _cleanup_free_ struct hp_metrics *m = calloc(1, sizeof(*m));
        _cleanup_free_ char *text = NULL;

        (void)state;
        assert_non_null(m);
        text = render(m);
        assert_non_null(strstr(text, "\nhwpass_devices{state=\"passthrough!\"} 0\n"));
        assert_non_null(strstr(text, "\nhwpass_vms{state=\"stopping\"} 0\n"));
        assert_non_null(strstr(text, "\nhwpass_power_on_seconds_bucket{le=\"+Inf\"} 0\n"
                                     "hwpass_power_on_seconds_sum 0\n"
                                     "hwpass_power_on_seconds_count 0\n"));
        assert_non_null(strstr(text, "\nhwpass_power_on_failures_total 0\n"));
        assert_null(strstr(text, "hwpass_api_requests_total{"));
        /* The text ends with its last line's newline. */
        assert_true(text[strlen(text) - 1] == '\n');
}

/* The bucket lines read back in order: bound and cumulative count. */
static size_t read_buckets(const char *text, double *bounds, uint64_t *counts, size_t max)
{
        static const char key[] = "\nhwpass_power_on_seconds_bucket{le=\"";
        size_t n = 0;

        for (const char *p = strstr(text, key); p && n < max; p = strstr(p + 1, key)) {
                const char *le = p + strlen(key);

                bounds[n] = strtod(le, NULL); /* "+Inf" reads as infinity */
                counts[n] = strtoull(strstr(le, "} ") + 2, NULL, 10);
                n++;
        }
        return n;
}

static uint64_t read_value(const char *text, const char *name)
{
        _cleanup_free_ char *key = NULL;
        const char *p;

        assert_true(asprintf(&key, "\n%s ", name) > 0);
        p = strstr(text, key);
        assert_non_null(p);
        return strtoull(p + strlen(key), NULL, 10);
}

/* A bucket counts every observation up to its bound (bounds included), so
 * the counts never fall and +Inf is the count. */
static void test_cumulative(void **state)
{
        static const double seen[] = { 0,   0.1, 0.1000001, 0.2, 0.25, 0.7, 1,   1,   3,   4.9,
                                       9.5, 10,  11,        29,  45,   119, 120, 121, 3600 };
        _cleanup_free_ struct hp_metrics *m = calloc(1, sizeof(*m));
        _cleanup_free_ char *text = NULL;
        double bounds[32];
        uint64_t counts[32];
        size_t n;

        (void)state;
        assert_non_null(m);
        for (size_t i = 0; i < ELEMENTSOF(seen); i++)
                hp_histogram_observe(&m->counters.power_on, seen[i]);
        text = render(m);
        n = read_buckets(text, bounds, counts, ELEMENTSOF(bounds));
        assert_int_equal(n, HP_POWER_ON_BUCKETS + 1);
        for (size_t b = 0; b < n; b++) {
                uint64_t want = 0;

                for (size_t i = 0; i < ELEMENTSOF(seen); i++)
                        want += seen[i] <= bounds[b];
                assert_true(b == n - 1 || bounds[b] == hp_power_on_bounds[b]);
                assert_true(b == 0 || counts[b] >= counts[b - 1]);
                assert_int_equal(counts[b], want);
        }
        assert_true(isinf(bounds[n - 1]));
        assert_int_equal(counts[n - 1], ELEMENTSOF(seen));
        assert_int_equal(read_value(text, "hwpass_power_on_seconds_count"), ELEMENTSOF(seen));
        /* Exactly on a bound: that bucket (le is "less than or equal"). */
        assert_int_equal(counts[0], 2);
        assert_int_equal(counts[3], 8);
}

/* The sum reads back as the same double: short when it can be. */
static void test_sum_format(void **state)
{
        _cleanup_free_ struct hp_metrics *m = calloc(1, sizeof(*m));
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        (void)state;
        assert_non_null(m);
        hp_histogram_observe(&m->counters.power_on, 0.1);
        hp_histogram_observe(&m->counters.power_on, 0.2);
        text = render(m);
        assert_non_null(strstr(text, "\nhwpass_power_on_seconds_sum 0.30000000000000004\n"));
        memset(&m->counters.power_on, 0, sizeof(m->counters.power_on));
        hp_histogram_observe(&m->counters.power_on, 0.35);
        hp_histogram_observe(&m->counters.power_on, 1e-9);
        text2 = render(m);
        assert_non_null(strstr(text2, "\nhwpass_power_on_seconds_sum 0.350000001\n"));
}

static void test_names(void **state)
{
        (void)state;
        assert_int_equal(hp_vm_state_index("off"), HP_VM_OFF);
        assert_int_equal(hp_vm_state_index("starting"), HP_VM_STARTING);
        assert_int_equal(hp_vm_state_index("running"), HP_VM_RUNNING);
        assert_int_equal(hp_vm_state_index("stopping"), HP_VM_STOPPING);
        assert_int_equal(hp_vm_state_index("paused"), -1);
        assert_int_equal(hp_vm_state_index(""), -1);
        /* The words of `device list`'s mode column. */
        assert_int_equal(hp_dev_mode_of(&(struct hp_dev_state){ 0 }), HP_DEV_MODE_HOST);
        assert_int_equal(hp_dev_mode_of(&(struct hp_dev_state){ .desired = true }),
                         HP_DEV_MODE_PENDING);
        assert_int_equal(hp_dev_mode_of(&(struct hp_dev_state){ .desired = true, .active = true }),
                         HP_DEV_MODE_PASSTHROUGH);
        assert_int_equal(hp_dev_mode_of(&(struct hp_dev_state){ .active = true }),
                         HP_DEV_MODE_UNWANTED);
        assert_string_equal(hp_dev_mode_name(HP_DEV_MODE_HOST), "host");
        assert_string_equal(hp_dev_mode_name(HP_DEV_MODE_PENDING), "pending");
        assert_string_equal(hp_dev_mode_name(HP_DEV_MODE_PASSTHROUGH), "passthrough");
        assert_string_equal(hp_dev_mode_name(HP_DEV_MODE_UNWANTED), "passthrough!");
        assert_null(hp_dev_mode_name(HP_DEV_MODE_MAX));
}

/* A controller: the cluster's hosts and their devices, one line per host
 * and state, its VMs; the daemon's counters as on a host. */
static void test_cluster(void **state)
{
        static const char want[] =
                "# HELP hwpass_hosts Hosts of the cluster by state, as hwpass host list shows it.\n"
                "# TYPE hwpass_hosts gauge\n"
                "hwpass_hosts{state=\"connected\"} 1\n"
                "hwpass_hosts{state=\"disconnected\"} 0\n"
                "hwpass_hosts{state=\"maintenance\"} 0\n"
                "hwpass_hosts{state=\"failed\"} 1\n"
                "# HELP hwpass_host_heartbeat_age_seconds Seconds since each host's last "
                "heartbeat, "
                "by this controller's clock (none before its first).\n"
                "# TYPE hwpass_host_heartbeat_age_seconds gauge\n"
                "hwpass_host_heartbeat_age_seconds{host=\"gpu-a\"} 0.25\n"
                "# HELP hwpass_devices PCI functions of each host by passthrough state, "
                "as hwpass device list --host shows it.\n"
                "# TYPE hwpass_devices gauge\n"
                "hwpass_devices{host=\"gpu-a\",state=\"host\"} 50\n"
                "hwpass_devices{host=\"gpu-a\",state=\"pending\"} 0\n"
                "hwpass_devices{host=\"gpu-a\",state=\"passthrough\"} 1\n"
                "hwpass_devices{host=\"gpu-a\",state=\"passthrough!\"} 0\n"
                "hwpass_devices{host=\"odd\\\"x\\\\\",state=\"host\"} 0\n"
                "hwpass_devices{host=\"odd\\\"x\\\\\",state=\"pending\"} 2\n"
                "hwpass_devices{host=\"odd\\\"x\\\\\",state=\"passthrough\"} 0\n"
                "hwpass_devices{host=\"odd\\\"x\\\\\",state=\"passthrough!\"} 0\n"
                "# HELP hwpass_devices_quarantined PCI functions of each host quarantined after a "
                "failed "
                "reset (see hwpass device clear).\n"
                "# TYPE hwpass_devices_quarantined gauge\n"
                "hwpass_devices_quarantined{host=\"gpu-a\"} 0\n"
                "hwpass_devices_quarantined{host=\"odd\\\"x\\\\\"} 1\n"
                "# HELP hwpass_vms VMs of the cluster by state, as their hosts report them "
                "(off until a host reports a run).\n"
                "# TYPE hwpass_vms gauge\n"
                "hwpass_vms{state=\"off\"} 2\n"
                "hwpass_vms{state=\"starting\"} 0\n"
                "hwpass_vms{state=\"running\"} 1\n"
                "hwpass_vms{state=\"stopping\"} 0\n"
                "# HELP hwpass_vms_desired VMs of the cluster by the state asked for (vm start, vm "
                "stop).\n"
                "# TYPE hwpass_vms_desired gauge\n"
                "hwpass_vms_desired{state=\"on\"} 1\n"
                "hwpass_vms_desired{state=\"off\"} 2\n"
                "# HELP hwpass_ha_pending_restarts VMs wanted on that are on no host: HA restarts "
                "each once a "
                "host can take it (hwpass vm explain says why none can now).\n"
                "# TYPE hwpass_ha_pending_restarts gauge\n"
                "hwpass_ha_pending_restarts 1\n"
                "# HELP hwpass_power_on_seconds ";
        /* A name the store would refuse, to show the escaping. */
        char name_a[] = "gpu-a", name_b[] = "odd\"x\\";
        struct hp_ctl_host_metrics hosts[2] = {
                { .name = name_a, .state = HP_HOST_CONNECTED, .heartbeat = true, .heartbeat_age_ms = 250,
                  .devices = { [HP_DEV_MODE_HOST] = 50, [HP_DEV_MODE_PASSTHROUGH] = 1 } },
                { .name = name_b, .state = HP_HOST_FAILED, .devices = { [HP_DEV_MODE_PENDING] = 2 },
                  .quarantined = 1 },
        };
        struct hp_ctl_metrics cm = { .hosts = hosts,
                                     .n_hosts = 2,
                                     .vms_desired_on = 1,
                                     .vms_desired_off = 2,
                                     .vms_pending_restart = 1 };
        _cleanup_free_ struct hp_metrics *m = calloc(1, sizeof(*m));
        _cleanup_free_ char *text = NULL;

        (void)state;
        assert_non_null(m);
        cm.hosts_by_state[HP_HOST_CONNECTED] = 1;
        cm.hosts_by_state[HP_HOST_FAILED] = 1;
        m->cluster = &cm;
        m->vms[HP_VM_OFF] = 2;
        m->vms[HP_VM_RUNNING] = 1;
        m->counters.requests[200] = 3;
        text = render(m);
        assert_memory_equal(text, want, strlen(want));
        assert_non_null(strstr(text, "\nhwpass_api_requests_total{code=\"200\"} 3\n"));
        /* Nothing of a standalone host's families without a host label. */
        assert_null(strstr(text, "\nhwpass_devices{state="));
        assert_null(strstr(text, "\nhwpass_devices_quarantined "));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exact),      cmocka_unit_test(test_empty),
                cmocka_unit_test(test_cumulative), cmocka_unit_test(test_sum_format),
                cmocka_unit_test(test_names),      cmocka_unit_test(test_cluster),
        };

        return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}

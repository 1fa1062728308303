/* hwpassd's metrics in the Prometheus text format (0.0.4): what the host
 * holds now (devices by state, VMs by state), or on a controller what the
 * cluster holds (hosts by state, each host's devices, the cluster's VMs),
 * and what the daemon counted since it started (power-ons, requests).
 * Rendering is pure: counts in, text out. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ctl/ctl.h"
#include "host/state.h"

#define HP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The power-on histogram's upper bounds in seconds; +Inf comes after. */
#define HP_POWER_ON_BUCKETS 10
extern const double hp_power_on_bounds[HP_POWER_ON_BUCKETS];

/* Counts per bucket, not cumulative (the text adds them up); the last one
 * is above every bound. */
struct hp_histogram {
        uint64_t buckets[HP_POWER_ON_BUCKETS + 1];
        double sum;
};
void hp_histogram_observe(struct hp_histogram *h, double seconds);

/* The API statuses counted: every one below this. */
#define HP_API_STATUS_MAX 600

/* What the daemon counts while it serves, under struct hp_api's lock. */
struct hp_api_counters {
        struct hp_histogram power_on;         /* successful VM starts */
        uint64_t power_on_failures;           /* VM starts run that did not succeed */
        uint64_t requests[HP_API_STATUS_MAX]; /* answers by HTTP status */
};

/* The VM states the store knows, in the order they are shown. */
enum hp_vm_state_index {
        HP_VM_OFF,
        HP_VM_STARTING,
        HP_VM_RUNNING,
        HP_VM_STOPPING,
        HP_VM_STATE_MAX,
};
/* The index of a stored state, or -1 for one this code does not know. */
int hp_vm_state_index(const char *state);

struct hp_metrics {
        size_t devices[HP_DEV_MODE_MAX]; /* PCI functions by hp_dev_mode (standalone) */
        size_t quarantined;              /* (standalone) */
        size_t vms[HP_VM_STATE_MAX];
        /* A controller's: its hosts and their devices, VMs by desired
         * state (devices and quarantined above are then unused). NULL on a
         * standalone host. */
        const struct hp_ctl_metrics *cluster;
        struct hp_api_counters counters;
};

/* The exposition text (malloc'd, NUL-terminated) and its length. */
int hp_metrics_render(const struct hp_metrics *m, char **ret, size_t *ret_len);

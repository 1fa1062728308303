/* GET /metrics: the Prometheus text format (0.0.4). The host's devices and
 * VMs are counted at each scrape from what GET /v1/devices and /v1/vms read
 * (on a controller: the cluster's hosts, their devices and the cluster's
 * VMs, src/ctl/metrics.c); power-ons and requests are counted as the daemon
 * serves them. Label values are fixed words, but for host names, which are
 * escaped as the format says. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api-internal.h"
#include "ctl/ctl.h"
#include "host/view.h"
#include "host/pci.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"

/* From a VM without devices under TCG (a fraction of a second) to one that
 * preallocates hundreds of GiB of memory (minutes). */
const double hp_power_on_bounds[HP_POWER_ON_BUCKETS] = {
        0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120
};

static const char *const vm_states[HP_VM_STATE_MAX] = {
        [HP_VM_OFF] = "off",
        [HP_VM_STARTING] = "starting",
        [HP_VM_RUNNING] = "running",
        [HP_VM_STOPPING] = "stopping",
};

int hp_vm_state_index(const char *state)
{
        for (int i = 0; i < HP_VM_STATE_MAX; i++)
                if (streq(state, vm_states[i]))
                        return i;
        return -1;
}

void hp_histogram_observe(struct hp_histogram *h, double seconds)
{
        size_t i = 0;

        while (i < HP_POWER_ON_BUCKETS && !(seconds <= hp_power_on_bounds[i]))
                i++;
        h->buckets[i]++;
        h->sum += seconds;
}

/* A float as Prometheus reads it: the shortest of %.15g and %.17g that reads
 * back as the same number (0.1 stays "0.1"), "+Inf", "NaN". */
static void format_float(double v, char buf[32])
{
        if (isnan(v)) {
                snprintf(buf, 32, "NaN");
                return;
        }
        if (isinf(v)) {
                snprintf(buf, 32, "%sInf", v > 0 ? "+" : "-");
                return;
        }
        snprintf(buf, 32, "%.15g", v);
        if (strtod(buf, NULL) != v)
                snprintf(buf, 32, "%.17g", v);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram(FILE *f, const char *name, const struct hp_histogram *h)
{
        uint64_t cumulative = 0;
        char le[32], sum[32];

        for (size_t i = 0; i <= HP_POWER_ON_BUCKETS; i++) {
                cumulative += h->buckets[i];
                format_float(i < HP_POWER_ON_BUCKETS ? hp_power_on_bounds[i] : INFINITY, le);
                fprintf(f, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name, le, cumulative);
        }
        format_float(h->sum, sum);
        fprintf(f, "%s_sum %s\n%s_count %" PRIu64 "\n", name, sum, name, cumulative);
}

/* A host's name as a label value: backslash, double quote and newline escaped. */
static void host_label(FILE *f, const char *name)
{
        fputs("{host=\"", f);
        for (const char *p = name; *p; p++)
                if (*p == '\\' || *p == '"')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
        fputc('"', f);
}

/* This host's devices and VMs (a standalone host). */
static void render_host(FILE *f, const struct hp_metrics *m)
{
        header(f, "hwpass_devices", "gauge",
               "PCI functions of this host by passthrough state, as hwpass device list shows it.");
        for (int i = 0; i < HP_DEV_MODE_MAX; i++)
                fprintf(f, "hwpass_devices{state=\"%s\"} %zu\n", hp_dev_mode_name(i),
                        m->devices[i]);
        header(f, "hwpass_devices_quarantined", "gauge",
               "PCI functions quarantined after a failed reset (see hwpass device clear).");
        fprintf(f, "hwpass_devices_quarantined %zu\n", m->quarantined);
        header(f, "hwpass_vms", "gauge", "VMs of this host by state.");
        for (int i = 0; i < HP_VM_STATE_MAX; i++)
                fprintf(f, "hwpass_vms{state=\"%s\"} %zu\n", vm_states[i], m->vms[i]);
}

/* The cluster's hosts, their devices, and its VMs (a controller). */
static void render_cluster(FILE *f, const struct hp_metrics *m)
{
        const struct hp_ctl_metrics *c = m->cluster;
        char age[32];

        header(f, "hwpass_hosts", "gauge",
               "Hosts of the cluster by state, as hwpass host list shows it.");
        for (int i = 0; i < HP_HOST_STATE_MAX; i++)
                fprintf(f, "hwpass_hosts{state=\"%s\"} %zu\n", hp_ctl_host_state_name(i),
                        c->hosts_by_state[i]);
        header(f, "hwpass_host_heartbeat_age_seconds", "gauge",
               "Seconds since each host's last heartbeat, by this controller's clock (none before "
               "its first).");
        for (size_t h = 0; h < c->n_hosts; h++) {
                if (!c->hosts[h].heartbeat)
                        continue;
                format_float((double)c->hosts[h].heartbeat_age_ms / 1000, age);
                fputs("hwpass_host_heartbeat_age_seconds", f);
                host_label(f, c->hosts[h].name);
                fprintf(f, "} %s\n", age);
        }
        header(f, "hwpass_devices", "gauge",
               "PCI functions of each host by passthrough state, as hwpass device list --host "
               "shows it.");
        for (size_t h = 0; h < c->n_hosts; h++)
                for (int i = 0; i < HP_DEV_MODE_MAX; i++) {
                        fputs("hwpass_devices", f);
                        host_label(f, c->hosts[h].name);
                        fprintf(f, ",state=\"%s\"} %zu\n", hp_dev_mode_name(i),
                                c->hosts[h].devices[i]);
                }
        header(f, "hwpass_devices_quarantined", "gauge",
               "PCI functions of each host quarantined after a failed reset (see hwpass device "
               "clear).");
        for (size_t h = 0; h < c->n_hosts; h++) {
                fputs("hwpass_devices_quarantined", f);
                host_label(f, c->hosts[h].name);
                fprintf(f, "} %zu\n", c->hosts[h].quarantined);
        }
        header(f, "hwpass_vms", "gauge",
               "VMs of the cluster by state, as their hosts report them (off until a host reports "
               "a run).");
        for (int i = 0; i < HP_VM_STATE_MAX; i++)
                fprintf(f, "hwpass_vms{state=\"%s\"} %zu\n", vm_states[i], m->vms[i]);
        header(f, "hwpass_vms_desired", "gauge",
               "VMs of the cluster by the state asked for (vm start, vm stop).");
        fprintf(f, "hwpass_vms_desired{state=\"on\"} %zu\nhwpass_vms_desired{state=\"off\"} %zu\n",
                c->vms_desired_on, c->vms_desired_off);
        header(f, "hwpass_ha_pending_restarts", "gauge",
               "VMs wanted on that are on no host: HA restarts each once a host can take it "
               "(hwpass vm explain says why none can now).");
        fprintf(f, "hwpass_ha_pending_restarts %zu\n", c->vms_pending_restart);
}

static void render(FILE *f, const struct hp_metrics *m)
{
        const struct hp_api_counters *c = &m->counters;

        if (m->cluster)
                render_cluster(f, m);
        else
                render_host(f, m);
        header(f, "hwpass_power_on_seconds", "histogram",
               "Successful VM power-ons through this daemon since it started: seconds to answer.");
        histogram(f, "hwpass_power_on_seconds", &c->power_on);
        header(f, "hwpass_power_on_failures_total", "counter",
               "VM power-ons through this daemon since it started that were refused or failed.");
        fprintf(f, "hwpass_power_on_failures_total %" PRIu64 "\n", c->power_on_failures);
        header(f, "hwpass_api_requests_total", "counter",
               "API requests answered since the daemon started, by HTTP status.");
        for (unsigned code = 0; code < HP_API_STATUS_MAX; code++)
                if (c->requests[code])
                        fprintf(f, "hwpass_api_requests_total{code=\"%u\"} %" PRIu64 "\n", code,
                                c->requests[code]);
}

int hp_metrics_render(const struct hp_metrics *m, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        int r;

        if (!f)
                return -errno;
        render(f, m);
        r = ferror(f) ? -EIO : 0;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}

/* Devices by state, from the view GET /v1/devices reads. */
static int count_devices(struct hp_api *a, struct hp_metrics *m, char **ret_error)
{
        _cleanup_(hp_view_done) struct hp_view v = { 0 };
        struct hp_host_state st;
        int r;

        r = hp_view_load(a->host, NULL, a->db_path, &v, ret_error);
        if (r < 0)
                return r;
        st = hp_view_state(&v);
        for (size_t i = 0; i < v.inv->n_devs; i++) {
                const struct hp_pci_dev *d = &v.inv->devs[i];
                const struct hp_dev_config *c = hp_host_state_config(&st, d->address);
                _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };

                r = hp_dev_state_of(&st, d, c, &s);
                if (r < 0)
                        return r;
                m->devices[hp_dev_mode_of(&s)]++;
                if (c && streq(c->health, "quarantined"))
                        m->quarantined++;
        }
        return 0;
}

/* VMs by their stored state, as GET /v1/vms shows them. */
static int count_vms(struct hp_api *a, struct hp_metrics *m, char **ret_error)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        int r;

        r = hp_store_open_readonly(a->db_path, &s, ret_error);
        if (r == -ENOENT)
                return 0; /* no database yet: no VMs */
        if (r < 0)
                return r;
        r = hp_store_vm_list(s, &recs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                int state = hp_vm_state_index(recs[i].state);

                if (state >= 0)
                        m->vms[state]++;
        }
        hp_vm_records_free(recs, n);
        return 0;
}

/* A controller's counts, from the cluster's store; an error reply in *err. */
static int count_cluster(struct hp_api *a, const struct hp_api_request *req, struct hp_metrics *m,
                         struct hp_ctl_metrics *cm, struct hp_api_reply *err)
{
        char actor[300];
        struct hp_ops_ctx ctx;
        int r;

        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ctl_metrics(&ctx, &a->ctl, cm);
        if (r < 0) {
                *err = hp_api_op_reply(&ctx, r, NULL, 200);
                return r;
        }
        for (size_t i = 0; cm->vm_states[i]; i++) {
                int state = hp_vm_state_index(cm->vm_states[i]);

                if (state >= 0)
                        m->vms[state]++;
        }
        m->cluster = cm;
        return 0;
}

struct hp_api_reply hp_api_metrics(struct hp_api *a, const struct hp_api_request *req)
{
        _cleanup_free_ struct hp_metrics *m = calloc(1, sizeof(*m));
        _cleanup_free_ char *dev_err = NULL, *vm_err = NULL;
        _cleanup_(hp_ctl_metrics_done) struct hp_ctl_metrics cm = { 0 };
        struct hp_api_reply err;
        char *text;
        size_t len;
        int r;

        if (!m)
                return hp_api_error(500, "internal", "out of memory");
        if (a->role == HP_ROLE_CONTROLLER) {
                if (count_cluster(a, req, m, &cm, &err) < 0)
                        return err;
        } else {
                r = count_devices(a, m, &dev_err);
                if (r < 0)
                        return hp_api_error(500, "host-unreadable", "%s",
                                            dev_err ? dev_err : strerror(-r));
                r = count_vms(a, m, &vm_err);
                if (r < 0)
                        return hp_api_error(500, "store-unreadable", "%s",
                                            vm_err ? vm_err : strerror(-r));
        }
        pthread_mutex_lock(&a->metrics_lock);
        m->counters = a->counters;
        pthread_mutex_unlock(&a->metrics_lock);
        r = hp_metrics_render(m, &text, &len);
        if (r < 0)
                return hp_api_error(500, "internal", "cannot render the metrics: %s", strerror(-r));
        return (struct hp_api_reply){ .status = 200,
                                      .text = text,
                                      .text_len = len,
                                      .content_type = HP_METRICS_CONTENT_TYPE };
}

void hp_api_power_on_observe(struct hp_api *a, const struct timespec *start, bool ok)
{
        struct timespec now;
        double seconds;

        clock_gettime(CLOCK_MONOTONIC, &now);
        seconds =
                (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
        pthread_mutex_lock(&a->metrics_lock);
        if (ok)
                hp_histogram_observe(&a->counters.power_on, seconds);
        else
                a->counters.power_on_failures++;
        pthread_mutex_unlock(&a->metrics_lock);
}

void hp_api_request_count(struct hp_api *a, unsigned status)
{
        if (status >= HP_API_STATUS_MAX)
                return;
        pthread_mutex_lock(&a->metrics_lock);
        a->counters.requests[status]++;
        pthread_mutex_unlock(&a->metrics_lock);
}

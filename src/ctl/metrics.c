/* What a controller's GET /metrics counts (ctl.h), read at each scrape
 * from the same rows and reports GET /v1/hosts, /v1/devices and /v1/vms
 * read, so the numbers and the lists never disagree. The rendering is
 * src/api/metrics.c's, one for both roles. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-internal.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

void hp_ctl_metrics_done(struct hp_ctl_metrics *m)
{
        for (size_t i = 0; m->hosts && i < m->n_hosts; i++)
                free(m->hosts[i].name);
        free(m->hosts);
        hp_strv_free(m->vm_states);
        *m = (struct hp_ctl_metrics){ 0 };
}

/* The host's devices by mode, from the documents device list --host shows:
 * desired as the cluster set it, active as the host reported it. */
static int count_devices(struct hp_store *s, struct hp_ctl_host_metrics *h)
{
        _cleanup_(json_decrefp) json_t *docs = json_array();
        json_t *d;
        size_t i;
        int r;

        if (!docs)
                return -ENOMEM;
        r = hp_ctl_host_devices(s, h->name, docs);
        if (r < 0)
                return r;
        json_array_foreach(docs, i, d) {
                json_t *pt = json_object_get(d, "passthrough");
                const char *health = json_string_value(json_object_get(d, "health"));
                struct hp_dev_state st = { .desired = json_is_true(json_object_get(pt, "desired")),
                                           .active = json_is_true(json_object_get(pt, "active")) };

                h->devices[hp_dev_mode_of(&st)]++;
                if (health && streq(health, "quarantined"))
                        h->quarantined++;
        }
        return 0;
}

static int count_hosts(struct hp_store *s, const struct hp_ctl_config *cfg, struct hp_ctl_metrics *m)
{
        struct hp_host_info *h = NULL;
        size_t n = 0;
        int r = hp_store_host_list(s, &h, &n);

        if (r >= 0 && !(m->hosts = calloc(n + 1, sizeof(*m->hosts))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct hp_ctl_host_metrics *hm = &m->hosts[m->n_hosts];

                if (!hp_ctl_host_shown(&h[i]))
                        continue;
                if (!(hm->name = strdup(h[i].name))) {
                        r = -ENOMEM;
                        break;
                }
                m->n_hosts++;
                hm->state = hp_ctl_host_state(&h[i], hp_ctl_margin_ms(cfg));
                hm->heartbeat = h[i].heartbeat_ms > 0;
                hm->heartbeat_age_ms = hm->heartbeat ? h[i].now_ms - h[i].heartbeat_ms : 0;
                m->hosts_by_state[hm->state]++;
                r = count_devices(s, hm);
        }
        hp_host_infos_free(h, n);
        return r;
}

static int count_vms(struct hp_store *s, struct hp_ctl_metrics *m)
{
        struct hp_cluster_vm *v = NULL;
        size_t n = 0;
        int r = hp_store_cluster_vm_list(s, &v, &n);

        if (r >= 0 && !(m->vm_states = calloc(n + 1, sizeof(char *))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                /* As vm list shows it: what its host last reported at this epoch, off before. */
                if (!(m->vm_states[i] = strdup(v[i].reported_state ? v[i].reported_state : "off")))
                        r = -ENOMEM;
                else if (streq(v[i].desired, "on")) {
                        m->vms_desired_on++;
                        /* As vm list shows it: pending-restart. */
                        if (hp_ctl_vm_pending(&v[i]))
                                m->vms_pending_restart++;
                } else
                        m->vms_desired_off++;
        }
        hp_cluster_vms_free(v, n);
        return r;
}

int hp_ctl_metrics(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, struct hp_ctl_metrics *ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_ctl_metrics_done) struct hp_ctl_metrics m = { 0 };
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        r = count_hosts(s, cfg, &m);
        if (r >= 0)
                r = count_vms(s, &m);
        if (r == -ENOMEM)
                return hp_op_oom(c);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot read the cluster's hosts, devices and VMs");
        *ret = m;
        m = (struct hp_ctl_metrics){ 0 };
        return 0;
}

/* Maintenance mode (docs/cluster.md "Maintenance"): a host in maintenance
 * takes no new VMs (placement's filter), and the HA leader moves its
 * dynamic VMs off it: each is asked to stop there (desired off, marked
 * moving_from the host), its host stops it (ACPI, forced after the agent's
 * timeout), and the heartbeat that reports it off makes it wait for a host
 * (pending restart), where HA's placement puts it, highest restart
 * priority first. A VM pinned by static entries cannot move: entering
 * maintenance is refused while one runs there, naming them, unless the
 * caller waits for them to be stopped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-internal.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

/* The VMs on host that are wanted on, split into those pinned there and those that can move. */
static int on_host(struct hp_store *s, const char *host, json_t *pinned, json_t *moving)
{
        struct hp_cluster_vm *v = NULL;
        size_t n = 0;
        int r = hp_store_cluster_vm_list(s, &v, &n);

        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
                _cleanup_free_ char *err = NULL;
                bool pin;

                if (!v[i].host || !streq(v[i].host, host) || !streq(v[i].desired, "on"))
                        continue;
                pin = hp_vm_spec_from_text(v[i].spec_json, &spec, &err) >= 0 && hp_vm_spec_has_static(&spec);
                if (json_array_append_new(pin ? pinned : moving, json_string(v[i].name)) < 0)
                        r = -ENOMEM;
        }
        hp_cluster_vms_free(v, n);
        return r;
}

struct enter {
        const char *host;
        bool on, wait;
        json_t *pinned, *moving;
        bool refused;
};

static int maintenance_tx(struct hp_store *s, void *userdata)
{
        struct enter *e = userdata;
        struct hp_host_info *hosts = NULL;
        size_t n = 0;
        bool found = false, was = false;
        int r = hp_store_host_list(s, &hosts, &n);

        for (size_t i = 0; r >= 0 && i < n; i++)
                if (streq(hosts[i].name, e->host) && hp_ctl_host_shown(&hosts[i])) {
                        found = true;
                        was = hosts[i].maintenance;
                }
        hp_host_infos_free(hosts, n);
        if (r < 0)
                return r;
        if (!found)
                return -ENOENT;
        json_array_clear(e->pinned);
        json_array_clear(e->moving);
        r = on_host(s, e->host, e->pinned, e->moving);
        if (r < 0)
                return r;
        e->refused = e->on && !e->wait && json_array_size(e->pinned) > 0;
        if (e->refused || was == e->on)
                return 0;
        r = hp_store_host_set_maintenance(s, e->host, e->on);
        if (r >= 0)
                r = hp_ctl_event_on(s, e->host, e->on ? "host-maintenance-entered" : "host-maintenance-exited", e->host,
                                    e->on ? "no new VMs; its dynamic VMs move to other hosts" : NULL);
        return r;
}

static char *names_text(json_t *a)
{
        char *out = strdup(""), *next;
        json_t *v;
        size_t i;

        json_array_foreach(a, i, v) {
                if (!out || asprintf(&next, "%s%s'%s'", out, i ? ", " : "", json_string_value(v)) < 0) {
                        free(out);
                        return NULL;
                }
                free(out);
                out = next;
        }
        return out;
}

int hp_ctl_host_maintenance(struct hp_ops_ctx *c, const char *host, bool on, bool wait, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct enter e = { .host = host, .on = on, .wait = wait, .pinned = json_array(), .moving = json_array() };
        int r = e.pinned && e.moving ? hp_ops_store_open(c, &s) : -ENOMEM;

        if (r >= 0)
                r = hp_store_transact(s, maintenance_tx, &e);
        if (r == -ENOENT)
                r = hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-host", r, "no host '%.64s' in the cluster", host);
        else if (r < 0)
                r = hp_op_store_error(c, r, "cannot set the maintenance of host '%s'", host);
        else if (e.refused) {
                _cleanup_free_ char *names = names_text(e.pinned);

                r = hp_op_fail(c, HP_OP_CONFLICT, -EBUSY,
                               "host '%s' runs VMs its static entries pin there, which cannot move: %s; stop them "
                               "('hwpass vm stop'), or enter maintenance with --wait (the host takes no new VMs "
                               "meanwhile, and its other VMs move)",
                               host, names ? names : "?");
                hp_op_set_detail(c, json_pack("{s:O}", "pinned", e.pinned));
        }
        if (r >= 0) {
                *ret = json_pack("{s:s, s:b, s:O*, s:O}", "host", host, "maintenance", on, "moving", on ? e.moving : NULL,
                                 "pinned", e.pinned);
                if (!*ret)
                        r = hp_op_oom(c);
        }
        json_decref(e.pinned);
        json_decref(e.moving);
        return r;
}

struct move {
        const struct hp_ctl_fence *fence;
        const char *vm, *host;
        int64_t epoch;
};

static int move_tx(struct hp_store *s, void *userdata)
{
        const struct move *m = userdata;
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm now = { 0 };
        _cleanup_free_ char *msg = NULL;
        int r = hp_ctl_fence_check(s, m->fence);

        if (r >= 0)
                r = hp_store_cluster_vm_get(s, m->vm, &now);
        if (r < 0)
                return r;
        if (!streq(now.desired, "on") || !now.host || !streq(now.host, m->host) || now.epoch != m->epoch)
                return -ESTALE;
        r = hp_store_vm_set_desired(s, m->vm, "off");
        if (r >= 0)
                r = hp_store_vm_set_moving(s, m->vm, m->host);
        if (r >= 0 && asprintf(&msg, "stopping it on %s (maintenance, epoch %lld): it restarts on another host",
                               m->host, (long long)m->epoch) < 0)
                r = -ENOMEM;
        return r < 0 ? r : hp_ctl_event_on(s, m->host, "vm-moving", m->vm, msg);
}

int hp_ctl_maintenance_moves(struct hp_store *s, const struct hp_ctl_fence *fence, const char *host,
                             struct hp_cluster_vm *vms, size_t n_vms)
{
        for (size_t i = 0; i < n_vms; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
                _cleanup_free_ char *err = NULL;
                struct move m = { .fence = fence, .vm = vms[i].name, .host = host, .epoch = vms[i].epoch };
                int r;

                if (!vms[i].host || !streq(vms[i].host, host) || !streq(vms[i].desired, "on"))
                        continue;
                if (hp_vm_spec_from_text(vms[i].spec_json, &spec, &err) < 0 || hp_vm_spec_has_static(&spec))
                        continue;
                r = hp_store_transact(s, move_tx, &m);
                if (r == -ENOLCK || (r < 0 && r != -ESTALE && r != -ENOENT))
                        return r;
        }
        return 0;
}

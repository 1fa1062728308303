/* The cluster's hosts and devices as a controller shows them, and device
 * settings made through a controller. A device's document is the one its
 * host reported (what it is, its driver, NUMA node, switch), with the
 * cluster's settings of it laid over (heartbeat.c says who decides what). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl-internal.h"
#include "host/pci.h"
#include "ops/device.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/specjson.h"

int hp_ctl_profile(const char *name, struct hp_ctl_config *cfg)
{
        if (streq(name, "default"))
                *cfg = (struct hp_ctl_config){ .heartbeat_ms = HP_HEARTBEAT_MS_DEFAULT, .lease_ms = HP_LEASE_MS_DEFAULT,
                                               .controllers = cfg->controllers };
        else if (streq(name, "fast"))
                *cfg = (struct hp_ctl_config){ .heartbeat_ms = 500, .lease_ms = 2000, .margin_ms = 1000,
                                               .controllers = cfg->controllers };
        else
                return -EINVAL;
        return 0;
}

int64_t hp_ctl_heartbeat_ms(const struct hp_ctl_config *cfg)
{
        return cfg->heartbeat_ms ?: HP_HEARTBEAT_MS_DEFAULT;
}

int64_t hp_ctl_lease_ms(const struct hp_ctl_config *cfg)
{
        return cfg->lease_ms ?: HP_LEASE_MS_DEFAULT;
}

int64_t hp_ctl_margin_ms(const struct hp_ctl_config *cfg)
{
        return cfg->margin_ms ?: hp_ctl_lease_ms(cfg);
}

bool hp_ctl_host_shown(const struct hp_host_info *h)
{
        return h->has_credential;
}

const char *hp_ctl_host_state_name(enum hp_ctl_host_state st)
{
        static const char *const names[HP_HOST_STATE_MAX] = {
                [HP_HOST_CONNECTED] = "connected",
                [HP_HOST_DISCONNECTED] = "disconnected",
                [HP_HOST_MAINTENANCE] = "maintenance",
                [HP_HOST_FAILED] = "failed",
        };

        return (unsigned)st < HP_HOST_STATE_MAX ? names[st] : NULL;
}

bool hp_ctl_host_silent(const struct hp_host_info *h, int64_t margin_ms)
{
        return h->heartbeat_ms > 0 && !h->lease_live && h->now_ms - h->lease_expires_ms > margin_ms;
}

enum hp_ctl_host_state hp_ctl_host_state(const struct hp_host_info *h, int64_t margin_ms)
{
        if (h->maintenance)
                return HP_HOST_MAINTENANCE;
        if (h->lease_live)
                return HP_HOST_CONNECTED;
        return hp_ctl_host_silent(h, margin_ms) ? HP_HOST_FAILED : HP_HOST_DISCONNECTED;
}

/* Whether the host reports row's device bound to vfio-pci now. */
static bool active(const struct hp_ctl_host_devs *h, const struct hp_dev_config *row)
{
        for (size_t k = 0; k < h->n; k++)
                if (streq(h->cands[k].dev->address, row->address))
                        return h->cands[k].passthrough_active;
        return false;
}

/* The host's pools: devices set for passthrough, by vendor:device and
 * label, with how many are free as placement counts them (bound to
 * vfio-pci on the host, healthy, assigned to no VM). */
static json_t *pools_of(const struct hp_ctl_host_devs *h)
{
        const struct hp_dev_config *d = h->rows;
        json_t *pools = json_array(), *p = NULL;
        size_t i, k;

        for (i = 0; pools && i < h->n_rows; i++) {
                bool free_ = streq(d[i].health, "ok") && !d[i].assigned_vm && active(h, &d[i]);
                char vendor[5], device[5];

                if (!d[i].desired)
                        continue;
                snprintf(vendor, sizeof(vendor), "%04x", d[i].vendor_id);
                snprintf(device, sizeof(device), "%04x", d[i].device_id);
                json_array_foreach(pools, k, p) {
                        const char *label = json_string_value(json_object_get(p, "label"));

                        if (streq(json_string_value(json_object_get(p, "vendor_id")), vendor) &&
                            streq(json_string_value(json_object_get(p, "device_id")), device) &&
                            (label == d[i].label || (label && d[i].label && streq(label, d[i].label))))
                                break;
                }
                if (k == json_array_size(pools)) {
                        p = json_pack("{s:s, s:s, s:s?, s:i, s:i}", "vendor_id", vendor, "device_id", device, "label",
                                      d[i].label, "free", 0, "total", 0);
                        if (!p || json_array_append_new(pools, p) < 0)
                                goto oom;
                }
                json_object_set_new(p, "total", json_integer(json_integer_value(json_object_get(p, "total")) + 1));
                if (free_)
                        json_object_set_new(p, "free", json_integer(json_integer_value(json_object_get(p, "free")) + 1));
        }
        return pools;
oom:
        json_decref(pools);
        return NULL;
}

static json_t *host_json(struct hp_store *s, const struct hp_host_info *h, int64_t margin_ms)
{
        _cleanup_(hp_ctl_host_devs_done) struct hp_ctl_host_devs devs = { 0 };
        json_t *report, *pools = NULL, *doc;

        if (hp_ctl_host_devs_load(s, h->name, &devs) < 0 || !(pools = pools_of(&devs)))
                return NULL;
        report = devs.report;
        doc = json_pack("{s:s, s:s, s:b, s:b, s:I, s:o?, s:O?, s:O?, s:o, s:i}", "name", h->name, "state",
                        hp_ctl_host_state_name(hp_ctl_host_state(h, margin_ms)), "ready", h->ready, "maintenance", h->maintenance,
                        "last_heartbeat_ms", (json_int_t)h->heartbeat_ms, "heartbeat_age_ms",
                        h->heartbeat_ms ? json_integer(h->now_ms - h->heartbeat_ms) : NULL, "memory",
                        json_object_get(report, "memory"), "version", json_object_get(report, "version"), "pools",
                        pools, "devices", (int)json_array_size(json_object_get(report, "devices")));
        return doc;
}

int hp_ctl_hosts(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_host_info *h = NULL;
        size_t n = 0;
        json_t *hosts = json_array();
        int r = hp_ops_store_open(c, &s);

        if (r >= 0 && (r = hp_store_host_list(s, &h, &n)) < 0)
                r = hp_op_store_error(c, r, "cannot read the cluster's hosts");
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (hp_ctl_host_shown(&h[i]) && (!hosts || json_array_append_new(
                                                       hosts, host_json(s, &h[i], hp_ctl_margin_ms(cfg))) < 0))
                        r = hp_op_oom(c);
        hp_host_infos_free(h, n);
        if (r < 0) {
                json_decref(hosts);
                return r;
        }
        *ret = json_pack("{s:o}", "hosts", hosts);
        return *ret ? 0 : hp_op_oom(c);
}

/* The cluster's settings of a device over the document its host reported. */
static void overlay(json_t *doc, const struct hp_dev_config *d)
{
        json_t *pt = json_object_get(doc, "passthrough");

        json_object_set_new(doc, "label", d->label ? json_string(d->label) : json_null());
        json_object_set_new(doc, "attributes", hp_attrs_to_json(d->attrs));
        json_object_set_new(doc, "assigned_vm", d->assigned_vm ? json_string(d->assigned_vm) : json_null());
        json_object_set_new(doc, "health", json_string(d->health));
        if (json_is_object(pt))
                json_object_set_new(pt, "desired", json_boolean(d->desired));
}

int hp_ctl_host_devices(struct hp_store *s, const char *host, json_t *out)
{
        _cleanup_(json_decrefp) json_t *report = hp_ctl_report(s, host);
        struct hp_dev_config *d = NULL;
        size_t n = 0, i;
        json_t *doc;
        int r = hp_store_set_host(s, host);

        if (r >= 0)
                r = hp_store_device_list(s, &d, &n);
        json_array_foreach(json_object_get(report, "devices"), i, doc) {
                const char *addr = json_string_value(json_object_get(doc, "address"));
                json_t *copy = json_deep_copy(doc);

                if (r < 0 || !addr || !copy) {
                        json_decref(copy);
                        r = r < 0 ? r : addr ? -ENOMEM : 0;
                        continue;
                }
                for (size_t k = 0; k < n; k++)
                        if (streq(d[k].address, addr))
                                overlay(copy, &d[k]);
                json_object_set_new(copy, "host", json_string(host));
                if (json_array_append_new(out, copy) < 0)
                        r = -ENOMEM;
        }
        hp_dev_configs_free(d, n);
        return r;
}

/* -ENOENT with the error set when the cluster has no such host. */
static int known_host(struct hp_ops_ctx *c, struct hp_store *s, const char *host)
{
        int r = hp_store_host_name_is_valid(host) ? hp_store_set_host(s, host) : -ENOENT;

        if (r == -ENOENT)
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-host", r,
                                       "no host '%.64s' in the cluster (see 'hwpass host list')", host);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot read the cluster's hosts");
        return 0;
}

int hp_ctl_devices(struct hp_ops_ctx *c, const char *host, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(json_decrefp) json_t *out = json_array();
        struct hp_host_info *h = NULL;
        size_t n = 0;
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        if (!out)
                return hp_op_oom(c);
        if (host) {
                r = known_host(c, s, host);
                if (r >= 0 && (r = hp_ctl_host_devices(s, host, out)) < 0)
                        r = hp_op_store_error(c, r, "cannot read the devices of %s", host);
                if (r < 0)
                        return r;
        } else {
                r = hp_store_host_list(s, &h, &n);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        if (hp_ctl_host_shown(&h[i]))
                                r = hp_ctl_host_devices(s, h[i].name, out);
                hp_host_infos_free(h, n);
                if (r < 0)
                        return hp_op_store_error(c, r, "cannot read the cluster's devices");
        }
        *ret = json_pack("{s:O}", "devices", out);
        return *ret ? 0 : hp_op_oom(c);
}

/* A new row for a device the host reported but nobody configured yet. */
static int row_from_report(struct hp_ops_ctx *c, struct hp_store *s, const char *host, const char *address,
                           struct hp_dev_config *ret)
{
        _cleanup_(json_decrefp) json_t *report = hp_ctl_report(s, host);
        json_t *doc;
        size_t i;

        json_array_foreach(json_object_get(report, "devices"), i, doc) {
                const char *a = json_string_value(json_object_get(doc, "address"));

                if (!a || !streq(a, address))
                        continue;
                *ret = (struct hp_dev_config){ 0 };
                snprintf(ret->address, sizeof(ret->address), "%s", address);
                if (hp_ctl_id16(doc, "vendor_id", &ret->vendor_id) < 0 || hp_ctl_id16(doc, "device_id", &ret->device_id) < 0 ||
                    hp_ctl_id16(doc, "subsystem_vendor_id", &ret->subsystem_vendor_id) < 0 ||
                    hp_ctl_id16(doc, "subsystem_device_id", &ret->subsystem_device_id) < 0)
                        return hp_op_fail(c, HP_OP_HOST, -EBADMSG, "%s reported device %s without its IDs", host,
                                          address);
                ret->attrs = calloc(1, sizeof(char *));
                ret->health = strdup("ok");
                return ret->attrs && ret->health ? 0 : hp_op_oom(c);
        }
        return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-device", -ENOENT,
                               "%s has reported no PCI device %s (see 'hwpass device list --host %s')", host, address,
                               host);
}

enum setting { SET_LABEL, SET_ATTRS, SET_PASSTHROUGH };

struct change {
        struct hp_ops_ctx *c;
        const char *host, *address;
        enum setting what;
        const char *label;
        char *const *set, *const *unset;
        bool enabled;
        json_t *doc; /* the row as stored, the answer */
};

static int change_tx(struct hp_store *s, void *userdata)
{
        struct change *ch = userdata;
        _cleanup_(hp_dev_config_done) struct hp_dev_config d = { 0 };
        const char *event = NULL;
        int r = known_host(ch->c, s, ch->host);

        if (r < 0)
                return r;
        r = hp_store_device_get(s, ch->address, &d);
        if (r == -ENOENT)
                r = row_from_report(ch->c, s, ch->host, ch->address, &d);
        else if (r < 0)
                r = hp_op_store_error(ch->c, r, "cannot read device %s of %s", ch->address,
                                      ch->host);
        if (r < 0)
                return r;
        switch (ch->what) {
        case SET_LABEL:
                free(d.label);
                d.label = ch->label ? strdup(ch->label) : NULL;
                if (ch->label && !d.label)
                        return hp_op_oom(ch->c);
                event = ch->label ? ch->label : "label removed";
                break;
        case SET_ATTRS:
                if (hp_ops_attrs_change(&d.attrs, ch->set, ch->unset) < 0)
                        return hp_op_oom(ch->c);
                event = hp_strv_length(ch->set) ? "attributes set" : "attributes removed";
                break;
        case SET_PASSTHROUGH:
                if (!ch->enabled && d.assigned_vm)
                        return hp_op_fail(ch->c, HP_OP_CONFLICT, -EADDRINUSE,
                                          "%s of %s is assigned to VM '%s': stop it first", ch->address, ch->host,
                                          d.assigned_vm);
                d.desired = ch->enabled;
                event = ch->enabled ? "passthrough asked for" : "passthrough no longer asked for";
                break;
        }
        r = hp_store_device_put(s, &d);
        if (r >= 0)
                r = hp_store_event_add(s, ch->what == SET_PASSTHROUGH ? "device-passthrough" : "device-label",
                                       ch->address, event);
        if (r < 0)
                return r == -EBUSY || r == -ECANCELED
                               ? r
                               : hp_op_store_error(ch->c, r, "cannot store %s of %s", ch->address,
                                                   ch->host);
        json_decref(ch->doc);
        ch->doc = hp_ctl_config_to_json(&d);
        if (ch->doc)
                json_object_set_new(ch->doc, "host", json_string(ch->host));
        return ch->doc ? 0 : hp_op_oom(ch->c);
}

static int change(struct change *ch, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        char canon[HP_SBDF_LEN];
        struct hp_pci_addr pa;
        int r;

        if (!ch->host)
                return hp_op_fail(ch->c, HP_OP_INVALID, -EINVAL,
                                  "a controller serves many hosts: say whose device %s this is (--host NAME)",
                                  ch->address);
        if (hp_pci_addr_parse(ch->address, &pa) < 0)
                return hp_op_fail(ch->c, HP_OP_INVALID, -EINVAL, "invalid PCI address '%.32s': expected DDDD:BB:DD.F",
                                  ch->address);
        hp_pci_addr_format(&pa, canon);
        ch->address = canon;
        r = hp_ops_store_open(ch->c, &s);
        if (r < 0)
                return r;
        r = hp_store_transact(s, change_tx, ch);
        if (r < 0) {
                json_decref(ch->doc);
                return ch->c->error.message ? r
                                            : hp_op_store_error(ch->c, r, "cannot store %s of %s",
                                                                canon, ch->host);
        }
        *ret = ch->doc;
        return 0;
}

int hp_ctl_device_label(struct hp_ops_ctx *c, const char *host, const char *address, const char *label,
                        json_t **ret)
{
        int r = hp_ops_device_check_label(c, label);

        return r < 0 ? r
                     : change(&(struct change){ .c = c, .host = host, .address = address, .what = SET_LABEL,
                                                .label = label },
                              ret);
}

int hp_ctl_device_attr(struct hp_ops_ctx *c, const char *host, const char *address, char *const *set,
                       char *const *unset, json_t **ret)
{
        int r = hp_ops_device_check_attrs(c, set, unset);

        return r < 0 ? r
                     : change(&(struct change){ .c = c, .host = host, .address = address, .what = SET_ATTRS,
                                                .set = set, .unset = unset },
                              ret);
}

int hp_ctl_device_passthrough(struct hp_ops_ctx *c, const char *host, const char *address, bool enabled,
                              json_t **ret)
{
        return change(&(struct change){ .c = c, .host = host, .address = address, .what = SET_PASSTHROUGH,
                                        .enabled = enabled },
                      ret);
}

struct removal {
        struct hp_ops_ctx *c;
        const char *host;
};

/* The host's credential revoked, its devices' rows dropped: refused while a
 * VM is placed on or pinned to it. */
static int remove_tx(struct hp_store *s, void *userdata)
{
        struct removal *rm = userdata;
        struct hp_cluster_vm *v = NULL;
        struct hp_dev_config *d = NULL;
        size_t n = 0, nd = 0;
        int r = known_host(rm->c, s, rm->host);

        if (r < 0)
                return r;
        r = hp_store_cluster_vm_list(s, &v, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (v[i].host && streq(v[i].host, rm->host))
                        r = hp_op_fail(rm->c, HP_OP_CONFLICT, -EADDRINUSE,
                                       "VM '%s' is %s %s: %s it first", v[i].name,
                                       streq(v[i].desired, "on") ? "placed on" : "pinned to", rm->host,
                                       streq(v[i].desired, "on") ? "stop" : "delete");
        hp_cluster_vms_free(v, n);
        if (r >= 0)
                r = hp_store_device_list(s, &d, &nd);
        for (size_t i = 0; r >= 0 && i < nd; i++)
                r = hp_store_device_delete(s, d[i].address);
        hp_dev_configs_free(d, nd);
        if (r >= 0)
                r = hp_store_host_revoke(s, rm->host);
        if (r >= 0)
                r = hp_store_host_report(s, rm->host, "{}");
        if (r >= 0)
                r = hp_store_event_add(s, "host-removed", rm->host, NULL);
        (void)hp_store_set_host(s, HP_STORE_LOCAL_HOST);
        return r;
}

int hp_ctl_host_remove(struct hp_ops_ctx *c, const char *host, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        if (!hp_store_host_name_is_valid(host) || streq(host, HP_STORE_LOCAL_HOST))
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-host", -ENOENT, "no host '%.64s' in the cluster", host);
        r = hp_store_transact(s, remove_tx, &(struct removal){ .c = c, .host = host });
        if (r < 0)
                return c->error.message ? r
                                        : hp_op_store_error(c, r, "cannot remove host '%s'", host);
        *ret = json_pack("{s:s, s:b}", "host", host, "removed", 1);
        return *ret ? 0 : hp_op_oom(c);
}

/* JSON views of PCI devices, IOMMU groups, the USB tree and readiness checks.
 * IDs are 4 lowercase hex digits without 0x; absent values are null. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/acs.h"
#include "host/check.h"
#include "host/iommu.h"
#include "host/moves.h"
#include "host/pci.h"
#include "host/plan.h"
#include "host/state.h"
#include "store/store.h"
#include "host/usb.h"
#include "util/macro.h"
#include "util/strutil.h"

/* jansson's json_object_set_new() takes ownership even on failure. */
static int put(json_t *o, const char *key, json_t *v)
{
        return v ? json_object_set_new(o, key, v) : -1;
}

/* Stored text as a JSON string. An older version stored text that is not
 * UTF-8, which jansson refuses: each bad byte shows as U+FFFD, the mark
 * Unicode has for "a character was lost here", so the document still exists. */
static json_t *text(const char *s)
{
        _cleanup_free_ char *fixed = NULL;
        json_t *j = json_string(s);

        if (j || !s || hp_utf8_length(s, NULL) != -EILSEQ)
                return j;
        fixed = hp_utf8_replace(s);
        return fixed ? json_string(fixed) : NULL;
}

static json_t *str_or_null(const char *s)
{
        return s ? text(s) : json_null();
}

static json_t *hex(unsigned v, int width)
{
        char buf[16];

        snprintf(buf, sizeof(buf), "%0*x", width, v);
        return json_string(buf);
}

static json_t *int_or_null(int v)
{
        return v >= 0 ? json_integer(v) : json_null();
}

static json_t *strv(char *const *v)
{
        json_t *a = json_array();

        for (size_t i = 0; a && v && v[i]; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *bars(const struct hp_pci_dev *d)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < d->n_bars; i++) {
                const struct hp_pci_bar *b = &d->bars[i];
                json_t *o = json_object();

                if (!o || put(o, "index", json_integer(b->index)) < 0 ||
                    put(o, "size", json_integer((json_int_t)b->size)) < 0 ||
                    put(o, "is_64bit", json_boolean(b->is_64bit)) < 0 ||
                    put(o, "prefetchable", json_boolean(b->prefetchable)) < 0 ||
                    put(o, "type", json_string(b->is_io ? "io" : "memory")) < 0 ||
                    put(o, "address", json_integer((json_int_t)b->start)) < 0) {
                        json_decref(o);
                        json_decref(a);
                        return NULL;
                }
                if (json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *group_members(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d)
{
        json_t *a = json_array();

        for (size_t i = 0; a && d->iommu_group >= 0 && i < inv->n_devs; i++) {
                const struct hp_pci_dev *o = &inv->devs[i];

                if (o != d && o->iommu_group == d->iommu_group &&
                    json_array_append_new(a, json_string(o->address)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *sriov(const struct hp_pci_dev *d)
{
        json_t *o;

        if (!d->is_pf)
                return json_null();
        o = json_object();
        if (!o || put(o, "total_vfs", json_integer(d->sriov_total_vfs)) < 0 ||
            put(o, "num_vfs", json_integer(d->sriov_num_vfs)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *verdict(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d)
{
        _cleanup_(hp_verdict_done) struct hp_verdict v = { 0 };
        json_t *o;

        if (hp_pci_verdict(inv, d, &v) < 0)
                return NULL;
        o = json_object();
        if (!o || put(o, "capable", json_boolean(v.capable)) < 0 ||
            put(o, "reasons", strv(v.reasons)) < 0 || put(o, "notes", strv(v.notes)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *attributes(const struct hp_dev_config *c)
{
        json_t *o = json_object();

        for (size_t i = 0; o && c && c->attrs[i]; i++) {
                const char *eq = strchr(c->attrs[i], '=');
                _cleanup_free_ char *key = eq ? strndup(c->attrs[i], (size_t)(eq - c->attrs[i])) : NULL;
                _cleanup_free_ char *shown_key = key ? hp_utf8_replace(key) : NULL;

                if (!shown_key || json_object_set_new(o, shown_key, text(eq + 1)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

json_t *hp_json_dev_state(const struct hp_host_state *st, const struct hp_pci_dev *d,
                          const struct hp_dev_config *c)
{
        _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };
        json_t *o = json_object(), *pt = json_object();

        if (!o || !pt || hp_dev_state_of(st, d, c, &s) < 0 ||
            put(pt, "desired", json_boolean(s.desired)) < 0 ||
            put(pt, "active", json_boolean(s.active)) < 0 ||
            put(pt, "reason", str_or_null(s.reason)) < 0) {
                json_decref(pt);
                json_decref(o);
                return NULL;
        }
        const char *moved = d ? hp_host_state_moved_from(st, d) : NULL;

        if (put(o, "passthrough", pt) < 0 ||
            put(o, "label", str_or_null(c ? c->label : NULL)) < 0 ||
            put(o, "label_moved_from", str_or_null(moved)) < 0 ||
            put(o, "attributes", attributes(c)) < 0 ||
            put(o, "assigned_vm", str_or_null(c ? c->assigned_vm : NULL)) < 0 ||
            put(o, "health", text(c ? c->health : "ok")) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* The stored entries d may be (same IDs, nothing to tell them apart):
 * [{"address": where stored, "label", "why"}], [] when none. */
static json_t *may_be(const struct hp_host_state *st, const struct hp_pci_dev *d)
{
        json_t *a = json_array();

        for (const struct hp_dev_match *m = NULL; a && (m = hp_host_state_may_be_next(st, d, m));) {
                const struct hp_dev_config *c = hp_host_state_config(st, m->from);
                json_t *o = json_object();

                if (!o || put(o, "address", json_string(m->from)) < 0 ||
                    put(o, "label", str_or_null(c->label)) < 0 || put(o, "why", json_string(m->why)) < 0 ||
                    json_array_append_new(a, o) < 0) {
                        json_decref(o);
                        json_decref(a);
                        a = NULL;
                }
        }
        return a;
}

json_t *hp_json_pci_dev(const struct hp_host_state *st, const struct hp_pci_dev *d)
{
        const struct hp_pci_inventory *inv = st->inv;
        json_t *o = json_object(), *state;

        if (!o || put(o, "address", json_string(d->address)) < 0 ||
            put(o, "vendor_id", hex(d->vendor_id, 4)) < 0 ||
            put(o, "device_id", hex(d->device_id, 4)) < 0 ||
            put(o, "subsystem_vendor_id", hex(d->subsystem_vendor_id, 4)) < 0 ||
            put(o, "subsystem_device_id", hex(d->subsystem_device_id, 4)) < 0 ||
            put(o, "class", hex(d->class, 6)) < 0 || put(o, "revision", hex(d->revision, 2)) < 0 ||
            put(o, "vendor_name", str_or_null(d->vendor_name)) < 0 ||
            put(o, "device_name", str_or_null(d->device_name)) < 0 ||
            put(o, "subsystem_vendor_name", str_or_null(d->subsystem_vendor_name)) < 0 ||
            put(o, "subsystem_name", str_or_null(d->subsystem_name)) < 0 ||
            put(o, "class_name", str_or_null(d->class_name)) < 0 ||
            put(o, "driver", str_or_null(d->driver)) < 0 ||
            put(o, "driver_override", str_or_null(d->driver_override)) < 0 ||
            put(o, "iommu_group", int_or_null(d->iommu_group)) < 0 ||
            put(o, "iommu_group_members", group_members(inv, d)) < 0 ||
            put(o, "numa_node", int_or_null(d->numa_node)) < 0 ||
            put(o, "boot_vga", json_boolean(d->boot_vga)) < 0 ||
            put(o, "reset_methods", strv(d->reset_methods)) < 0 ||
            put(o, "bars", bars(d)) < 0 ||
            put(o, "rom_size", d->rom_size ? json_integer((json_int_t)d->rom_size) : json_null()) < 0 ||
            put(o, "sriov", sriov(d)) < 0 || put(o, "physfn", str_or_null(d->physfn)) < 0 ||
            put(o, "physical_slot", str_or_null(d->slot)) < 0 ||
            put(o, "parent", str_or_null(d->parent)) < 0 ||
            put(o, "pcie_switch", str_or_null(d->pcie_switch[0] ? d->pcie_switch : NULL)) < 0 ||
            put(o, "is_bridge", json_boolean(hp_pci_dev_is_bridge(d))) < 0 ||
            put(o, "verdict", verdict(inv, d)) < 0 || put(o, "may_be", may_be(st, d)) < 0) {
                json_decref(o);
                return NULL;
        }
        /* The stored state, flattened into the device. */
        state = hp_json_dev_state(st, d, hp_host_state_config(st, d->address));
        if (!state || json_object_update(o, state) < 0) {
                json_decref(state);
                json_decref(o);
                return NULL;
        }
        json_decref(state);
        return o;
}

static json_t *isolation_object(const struct hp_isolation *iso)
{
        json_t *o = json_object();

        if (!o || put(o, "cause", json_string(hp_isolation_cause_name(iso->cause))) < 0 ||
            put(o, "culprit", iso->culprit[0] ? json_string(iso->culprit) : json_null()) < 0 ||
            put(o, "why", str_or_null(iso->why)) < 0 || put(o, "fix", str_or_null(iso->fix)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *hp_json_pci_dev_detail(const struct hp_host *h, const struct hp_host_state *st,
                               const struct hp_pci_dev *d)
{
        _cleanup_(hp_isolation_done) struct hp_isolation iso = { 0 };
        json_t *o;

        if (hp_acs_explain(h, st->inv, d, &iso) < 0)
                return NULL;
        o = hp_json_pci_dev(st, d);
        if (o && put(o, "isolation", iso.cause == HP_ISOLATION_OK ? json_null() : isolation_object(&iso)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *missing_devices(const struct hp_host_state *st)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < st->n_configs; i++) {
                const struct hp_dev_config *c = &st->configs[i];
                json_t *m, *state;

                if (hp_pci_find(st->inv, c->address))
                        continue;
                m = json_object();
                state = hp_json_dev_state(st, NULL, c);
                if (!m || !state || put(m, "address", json_string(c->address)) < 0 ||
                    put(m, "vendor_id", hex(c->vendor_id, 4)) < 0 ||
                    put(m, "device_id", hex(c->device_id, 4)) < 0 || json_object_update(m, state) < 0) {
                        json_decref(m);
                        m = NULL;
                }
                json_decref(state);
                if (json_array_append_new(a, m) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

json_t *hp_json_pci_devices(const struct hp_host_state *st,
                            bool (*filter)(const struct hp_pci_dev *d, const void *userdata),
                            const void *userdata)
{
        const struct hp_pci_inventory *inv = st->inv;
        json_t *a = json_array(), *o = json_object();

        if (!a || !o)
                goto fail;
        for (size_t i = 0; i < inv->n_devs; i++) {
                if (filter && !filter(&inv->devs[i], userdata))
                        continue;
                if (json_array_append_new(a, hp_json_pci_dev(st, &inv->devs[i])) < 0)
                        goto fail;
        }
        if (json_object_set_new(o, "devices", a) < 0 || put(o, "missing_devices", missing_devices(st)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
fail:
        json_decref(a);
        json_decref(o);
        return NULL;
}

/* Why a group is not isolated: [] when it is. */
static json_t *isolation_json(const struct hp_host *h, const struct hp_pci_inventory *inv,
                              const struct hp_iommu_group *g)
{
        struct hp_group_isolation *v = NULL;
        size_t n = 0;
        json_t *a;

        if (hp_acs_explain_group(h, inv, g, &v, &n) < 0)
                return NULL;
        a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                const struct hp_isolation *iso = &v[i].iso;
                json_t *o = json_object();

                if (!o || put(o, "cause", json_string(hp_isolation_cause_name(iso->cause))) < 0 ||
                    put(o, "culprit", iso->culprit[0] ? json_string(iso->culprit) : json_null()) < 0 ||
                    put(o, "devices", strv(v[i].devices)) < 0 || put(o, "why", str_or_null(iso->why)) < 0 ||
                    put(o, "fix", str_or_null(iso->fix)) < 0 || json_array_append_new(a, o) < 0) {
                        json_decref(o);
                        json_decref(a);
                        a = NULL;
                }
        }
        hp_group_isolation_free(v, n);
        return a;
}

static json_t *group_json(const struct hp_host *h, const struct hp_pci_inventory *inv,
                          const struct hp_iommu_group *g)
{
        json_t *o = json_object(), *devs = json_array();

        for (size_t i = 0; o && devs && i < g->n_members; i++) {
                const struct hp_pci_dev *d = &inv->devs[g->members[i]];
                json_t *m = json_object();

                if (!m || put(m, "address", json_string(d->address)) < 0 ||
                    put(m, "vendor_id", hex(d->vendor_id, 4)) < 0 ||
                    put(m, "device_id", hex(d->device_id, 4)) < 0 ||
                    put(m, "class", hex(d->class, 6)) < 0 ||
                    put(m, "class_name", str_or_null(d->class_name)) < 0 ||
                    put(m, "vendor_name", str_or_null(d->vendor_name)) < 0 ||
                    put(m, "device_name", str_or_null(d->device_name)) < 0 ||
                    put(m, "driver", str_or_null(d->driver)) < 0 ||
                    put(m, "is_bridge", json_boolean(hp_pci_dev_is_bridge(d))) < 0) {
                        json_decref(m);
                        m = NULL;
                }
                if (json_array_append_new(devs, m) < 0) {
                        json_decref(devs);
                        json_decref(o);
                        return NULL;
                }
        }
        if (!o || put(o, "group", json_integer(g->id)) < 0 ||
            put(o, "isolated", json_boolean(hp_iommu_group_isolated(g))) < 0 ||
            put(o, "endpoints", json_integer((json_int_t)g->n_endpoints)) < 0 ||
            put(o, "devices", devs) < 0 || put(o, "isolation", isolation_json(h, inv, g)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *hp_json_iommu_groups(const struct hp_host *h, const struct hp_pci_inventory *inv)
{
        struct hp_iommu_group *groups = NULL;
        size_t n = 0;
        json_t *a, *o;

        if (hp_iommu_groups(inv, &groups, &n) < 0)
                return NULL;
        a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, group_json(h, inv, &groups[i])) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        hp_iommu_groups_free(groups, n);
        o = json_object();
        if (!o || put(o, "groups", a) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *usb_dev_json(const struct hp_usb_dev *d)
{
        json_t *o = json_object();

        if (!o || put(o, "name", json_string(d->name)) < 0 ||
            put(o, "port_path", json_string(d->port_path)) < 0 ||
            put(o, "parent", str_or_null(d->parent)) < 0 || put(o, "bus", json_integer(d->busnum)) < 0 ||
            put(o, "devnum", json_integer(d->devnum)) < 0 ||
            put(o, "vendor_id", hex(d->vendor_id, 4)) < 0 ||
            put(o, "product_id", hex(d->product_id, 4)) < 0 ||
            put(o, "manufacturer", str_or_null(d->manufacturer)) < 0 ||
            put(o, "product", str_or_null(d->product)) < 0 ||
            put(o, "serial", str_or_null(d->serial)) < 0 ||
            put(o, "speed", str_or_null(d->speed)) < 0 ||
            put(o, "usb_version", str_or_null(d->version)) < 0 ||
            put(o, "device_class", hex(d->device_class, 2)) < 0 ||
            put(o, "hub_ports", json_integer(d->maxchild)) < 0 ||
            put(o, "drivers", strv(d->drivers)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* Buses of one controller (root hubs whose controller is addr, or that have
 * none when addr is NULL), each with the devices on it. */
static json_t *usb_buses(const struct hp_usb_inventory *usb, const char *addr)
{
        json_t *buses = json_array();

        for (size_t i = 0; buses && i < usb->n_devs; i++) {
                const struct hp_usb_dev *hub = &usb->devs[i];
                json_t *b, *devs;

                if (!hp_usb_root_hub_of(hub, addr))
                        continue;
                b = json_object();
                devs = json_array();
                for (size_t j = 0; b && devs && j < usb->n_devs; j++)
                        if (!usb->devs[j].is_root_hub && usb->devs[j].busnum == hub->busnum &&
                            json_array_append_new(devs, usb_dev_json(&usb->devs[j])) < 0) {
                                json_decref(devs);
                                devs = NULL;
                        }
                if (!b || !devs || put(b, "bus", json_integer(hub->busnum)) < 0 ||
                    put(b, "usb_version", str_or_null(hub->version)) < 0 ||
                    put(b, "speed", str_or_null(hub->speed)) < 0 ||
                    put(b, "ports", json_integer(hub->maxchild)) < 0) {
                        json_decref(devs);
                        json_decref(b);
                        json_decref(buses);
                        return NULL;
                }
                if (put(b, "devices", devs) < 0) {
                        json_decref(b);
                        b = NULL;
                }
                if (json_array_append_new(buses, b) < 0) {
                        json_decref(buses);
                        return NULL;
                }
        }
        return buses;
}

static json_t *controller_json(const struct hp_usb_inventory *usb, const struct hp_pci_inventory *inv,
                               const char *addr)
{
        const struct hp_pci_dev *d = addr ? hp_pci_find(inv, addr) : NULL;
        json_t *o = json_object();

        if (!o || put(o, "address", str_or_null(addr)) < 0 ||
            put(o, "vendor_id", d ? hex(d->vendor_id, 4) : json_null()) < 0 ||
            put(o, "device_id", d ? hex(d->device_id, 4) : json_null()) < 0 ||
            put(o, "name", str_or_null(d ? d->device_name : NULL)) < 0 ||
            put(o, "driver", str_or_null(d ? d->driver : NULL)) < 0 ||
            put(o, "iommu_group", d ? int_or_null(d->iommu_group) : json_null()) < 0 ||
            put(o, "buses", usb_buses(usb, addr)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *hp_json_usb(const struct hp_usb_inventory *usb, const struct hp_pci_inventory *inv)
{
        json_t *a = json_array(), *o;
        bool orphans = false;

        /* Controllers in PCI address order: every USB-class function, even one
         * with no bus (unbound, or already passed through). */
        for (size_t i = 0; a && i < inv->n_devs; i++)
                if (hp_pci_dev_matches_class(&inv->devs[i], HP_CLASS_USB) &&
                    json_array_append_new(a, controller_json(usb, inv, inv->devs[i].address)) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        for (size_t i = 0; i < usb->n_devs; i++)
                orphans |= hp_usb_root_hub_of(&usb->devs[i], NULL);
        if (a && orphans && json_array_append_new(a, controller_json(usb, inv, NULL)) < 0) {
                json_decref(a);
                a = NULL;
        }
        o = json_object();
        if (!o || put(o, "controllers", a) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *hp_json_check_report(const struct hp_check_report *rep)
{
        json_t *a = json_array(), *o = json_object();

        for (size_t i = 0; a && i < rep->n_checks; i++) {
                const struct hp_check *c = &rep->checks[i];
                json_t *e = json_object();

                if (!e || put(e, "id", json_string(c->id)) < 0 ||
                    put(e, "title", json_string(c->title)) < 0 ||
                    put(e, "level", json_string(hp_check_level_to_string(c->level))) < 0 ||
                    put(e, "message", str_or_null(c->message)) < 0 ||
                    put(e, "fix", str_or_null(c->fix)) < 0) {
                        json_decref(e);
                        e = NULL;
                }
                if (json_array_append_new(a, e) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        }
        if (!o || put(o, "passthrough_ready", json_boolean(hp_check_report_ok(rep))) < 0 ||
            put(o, "checks", a) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *hp_json_plan(const struct hp_plan *p, bool dry_run, bool applied)
{
        json_t *steps = json_array();

        for (size_t i = 0; steps && i < p->n_steps; i++) {
                const struct hp_plan_step *st = &p->steps[i];

                if (json_array_append_new(steps, json_pack("{s:s, s:s?, s:s?, s:b}", "address", st->address,
                                                           "from_driver", st->from_driver, "to_driver",
                                                           st->to_driver, "requested", st->requested)) < 0) {
                        json_decref(steps);
                        return NULL;
                }
        }
        if (!steps)
                return NULL;
        return json_pack("{s:s, s:b, s:b, s:b, s:o, s:o, s:o, s:o, s:o}", "action",
                         p->action == HP_PLAN_ENABLE ? "enable" : "disable", "dry_run", dry_run, "applicable",
                         hp_plan_applicable(p), "applied", applied, "steps", steps, "unchanged", strv(p->unchanged),
                         "warnings", strv(p->warnings), "refusals", strv(p->refusals), "errors", strv(p->errors));
}

json_t *hp_json_events(const struct hp_event *e, size_t n)
{
        json_t *list = json_array();

        for (size_t i = 0; list && i < n; i++)
                if (json_array_append_new(list, json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)e[i].id,
                                                          "at", (json_int_t)e[i].at, "kind", text(e[i].kind),
                                                          "subject", str_or_null(e[i].subject), "message",
                                                          str_or_null(e[i].message), "actor",
                                                          str_or_null(e[i].actor), "host",
                                                          str_or_null(e[i].host))) < 0) {
                        json_decref(list);
                        return NULL;
                }
        return list ? json_pack("{s:o}", "events", list) : NULL;
}

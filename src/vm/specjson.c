/* VM specs to and from JSON. Parsing is strict: unknown fields, wrong types and
 * out-of-range values are refused with the field named, so a spec that loads is
 * a spec the rest of hwpass can trust. */
#include "specjson.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/pci.h"
#include "spec.h"
#include "util/macro.h"
#include "util/strutil.h"

static json_t *str_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
}

static json_t *id_match_json(const struct hp_pci_id_match *m)
{
        char buf[32];

        if (m->subsystem_vendor_id || m->subsystem_device_id)
                snprintf(buf, sizeof(buf), "%04x:%04x:%04x:%04x", m->vendor_id, m->device_id,
                         m->subsystem_vendor_id, m->subsystem_device_id);
        else
                snprintf(buf, sizeof(buf), "%04x:%04x", m->vendor_id, m->device_id);
        return json_string(buf);
}

json_t *hp_attrs_to_json(char *const *attrs)
{
        json_t *o = json_object();

        for (size_t i = 0; o && attrs && attrs[i]; i++) {
                const char *eq = strchr(attrs[i], '=');
                _cleanup_free_ char *key = eq ? strndup(attrs[i], (size_t)(eq - attrs[i])) : NULL;

                if (!key || json_object_set_new(o, key, json_string(eq + 1)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

/* {"same_numa": "g", "same_switch": "h"}, the kinds the entry names. */
static json_t *groups_json(const struct hp_vm_pci *p)
{
        json_t *o = json_object();

        if (o && ((p->same_numa && json_object_set_new(o, "same_numa", json_string(p->same_numa)) < 0) ||
                  (p->same_switch && json_object_set_new(o, "same_switch", json_string(p->same_switch)) < 0))) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *hp_vm_pci_to_json(const struct hp_vm_pci *p)
{
        json_t *o, *allowed = json_array(), *attrs = hp_attrs_to_json(p->attrs), *groups = groups_json(p);

        for (size_t i = 0; allowed && i < p->n_allowed; i++)
                if (json_array_append_new(allowed, id_match_json(&p->allowed[i])) < 0)
                        goto fail;
        if (!allowed || !attrs || !groups)
                goto fail;
        /* allowed is in order: the first alternative that can be satisfied wins. */
        o = json_pack("{s:i, s:s, s:o, s:o, s:i, s:o, s:o, s:b, s:o, s:b, s:o, s:o}", "index", p->index, "kind",
                      p->kind == HP_VM_PCI_STATIC ? "static" : "dynamic", "address",
                      p->kind == HP_VM_PCI_STATIC ? json_string(p->address) : json_null(), "allowed",
                      allowed, "count", (int)hp_vm_pci_count(p), "label", str_or_null(p->label), "attrs", attrs,
                      "all_functions", p->all_functions, "groups", groups, "primary_display", p->primary_display,
                      "rombar", p->rombar < 0 ? json_null() : json_integer(p->rombar), "romfile",
                      str_or_null(p->romfile));
        return o;
fail:
        json_decref(allowed);
        json_decref(attrs);
        json_decref(groups);
        return NULL;
}

json_t *hp_vm_usb_to_json(const struct hp_vm_usb *u)
{
        char vid[8], pid[8];

        if (u->kind == HP_VM_USB_PORT)
                return json_pack("{s:i, s:s, s:i, s:s}", "index", u->index, "kind", "port", "bus", u->bus,
                                 "port", u->port);
        snprintf(vid, sizeof(vid), "%04x", u->vendor_id);
        snprintf(pid, sizeof(pid), "%04x", u->product_id);
        return json_pack("{s:i, s:s, s:s, s:s, s:o}", "index", u->index, "kind", "id", "vendor_id", vid,
                         "product_id", pid, "serial", str_or_null(u->serial));
}

json_t *hp_vm_spec_to_json(const struct hp_vm_spec *s)
{
        json_t *disks = json_array(), *pci = json_array(), *usb = json_array();

        for (size_t i = 0; disks && s->disks[i]; i++)
                if (json_array_append_new(disks, json_string(s->disks[i])) < 0)
                        goto fail;
        for (size_t i = 0; pci && i < s->n_pci; i++)
                if (json_array_append_new(pci, hp_vm_pci_to_json(&s->pci[i])) < 0)
                        goto fail;
        for (size_t i = 0; usb && i < s->n_usb; i++)
                if (json_array_append_new(usb, hp_vm_usb_to_json(&s->usb[i])) < 0)
                        goto fail;
        if (!disks || !pci || !usb)
                goto fail;
        /* "placement", "restart_priority" and "isolation" only when the VM
         * names one other than the default: a VM that does not is written
         * as before they existed. */
        return json_pack("{s:s, s:I, s:b, s:i, s:s, s:o, s:o, s:o, s:i, s:o, s:s*, s:s*, s:s*, s:o, s:o}", "name",
                         s->name,
                         "memory_mib", (json_int_t)s->memory_mib, "hugepages", s->hugepages, "vcpus",
                         (int)s->vcpus, "firmware",
                         hp_vm_firmware_to_string(s->firmware), "disks", disks, "kernel",
                         str_or_null(s->kernel), "append", str_or_null(s->append), "device_limit",
                         (int)s->device_limit, "autostart",
                         s->autostart_order < 0 ? json_null()
                                                : json_pack("{s:i, s:i}", "order", s->autostart_order,
                                                            "delay", (int)s->autostart_delay),
                         "placement", hp_vm_placement_to_string(s->placement), "restart_priority",
                         s->restart_priority == HP_VM_RESTART_MEDIUM ? NULL
                                                                     : hp_vm_restart_to_string(s->restart_priority),
                         "isolation",
                         s->isolation == HP_VM_ISOLATION_POWER_OFF ? NULL : hp_vm_isolation_to_string(s->isolation),
                         "pci", pci, "usb", usb);
fail:
        json_decref(disks);
        json_decref(pci);
        json_decref(usb);
        return NULL;
}

int hp_vm_spec_to_text(const struct hp_vm_spec *s, char **ret)
{
        json_t *j = hp_vm_spec_to_json(s);

        if (!j)
                return -ENOMEM;
        *ret = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        return *ret ? 0 : -ENOMEM;
}

/* Only the keys listed may appear. */
static int known_keys(const json_t *o, const char *const *keys, const char *what, char **ret_error)
{
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)o, key, v) {
                bool ok = false;

                (void)v;
                for (size_t i = 0; keys[i]; i++)
                        ok |= streq(key, keys[i]);
                if (!ok)
                        return hp_errorf(ret_error, -EINVAL, "%s: unknown field '%s'", what, key);
        }
        return 0;
}

static int opt_string(const json_t *o, const char *key, char **ret, const char *what, char **ret_error)
{
        const json_t *v = json_object_get(o, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return hp_errorf(ret_error, -EINVAL, "%s: '%s' must be a string", what, key);
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

/* An integer member in [min, max]; when absent (or null) and not required,
 * *ret keeps its default. A value out of range is refused, never wrapped. */
static int int_member(const json_t *o, const char *key, bool required, json_int_t min, json_int_t max,
                      json_int_t *ret)
{
        const json_t *v = json_object_get(o, key);

        if (!v || json_is_null(v))
                return required ? -EINVAL : 0;
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return -EINVAL;
        *ret = json_integer_value(v);
        return 0;
}

/* Absent, null, or of the type. */
static bool optional_is(const json_t *v, bool (*is)(const json_t *))
{
        return !v || json_is_null(v) || is(v);
}

static bool is_array(const json_t *v)
{
        return json_is_array(v);
}

static bool is_boolean(const json_t *v)
{
        return json_is_boolean(v);
}

static bool is_object(const json_t *v)
{
        return json_is_object(v);
}

/* "0000:0c:00.0" as the host's inventory writes it. */
static bool canonical_sbdf(const char *a)
{
        struct hp_pci_addr pa;
        char canon[HP_SBDF_LEN];

        if (!a || strlen(a) != HP_SBDF_LEN - 1 || hp_pci_addr_parse(a, &pa) < 0)
                return false;
        hp_pci_addr_format(&pa, canon);
        return streq(a, canon);
}

/* "count", "attrs", "all_functions", "groups": absent in documents written
 * before them, which then mean one device, no attributes, no group. */
static int request_from_json(const json_t *o, struct hp_vm_pci *p, char **ret_error)
{
        const json_t *attrs = json_object_get(o, "attrs"), *groups = json_object_get(o, "groups");
        json_int_t count = 1;
        const char *key;
        json_t *v;

        if (int_member(o, "count", false, 1, HP_VM_PCI_MAX_COUNT, &count) < 0)
                return hp_errorf(ret_error, -EINVAL, "pci%d: 'count' must be 1 to %d", p->index, HP_VM_PCI_MAX_COUNT);
        p->count = (unsigned)count;
        if (!optional_is(json_object_get(o, "all_functions"), is_boolean))
                return hp_errorf(ret_error, -EINVAL, "pci%d: 'all_functions' must be true or false", p->index);
        p->all_functions = json_is_true(json_object_get(o, "all_functions"));
        if (!optional_is(attrs, is_object) || !optional_is(groups, is_object))
                return hp_errorf(ret_error, -EINVAL, "pci%d: 'attrs' and 'groups' must be objects", p->index);
        json_object_foreach((json_t *)attrs, key, v) {
                if (!json_is_string(v) || strchr(key, '='))
                        return hp_errorf(ret_error, -EINVAL,
                                         "pci%d: attribute '%s' must be a string, its key without '='", p->index, key);
                if (!p->attrs && !(p->attrs = calloc(1, sizeof(char *))))
                        return -ENOMEM;
                if (hp_strv_pushf(&p->attrs, "%s=%s", key, json_string_value(v)) < 0)
                        return -ENOMEM;
        }
        json_object_foreach((json_t *)groups, key, v) {
                char **slot = streq(key, "same_numa") ? &p->same_numa : streq(key, "same_switch") ? &p->same_switch : NULL;

                if (!slot)
                        return hp_errorf(ret_error, -EINVAL,
                                         "pci%d: unknown group kind '%s': \"same_numa\" or \"same_switch\"", p->index,
                                         key);
                if (json_is_null(v))
                        continue;
                if (!json_is_string(v))
                        return hp_errorf(ret_error, -EINVAL, "pci%d: group '%s' must name a group (a string)", p->index,
                                         key);
                if (!(*slot = strdup(json_string_value(v))))
                        return -ENOMEM;
        }
        return 0;
}

int hp_vm_pci_from_json(const json_t *o, struct hp_vm_pci *p, char **ret_error)
{
        static const char *const keys[] = { "index",         "kind",   "address",         "allowed",
                                            "count",         "label",  "attrs",           "all_functions",
                                            "groups",        "rombar", "primary_display", "romfile",
                                            NULL };
        const char *kind = json_string_value(json_object_get(o, "kind"));
        const json_t *allowed = json_object_get(o, "allowed"), *rombar = json_object_get(o, "rombar");
        json_int_t index;
        int r;

        *p = (struct hp_vm_pci){ .rombar = -1 };
        if (!json_is_object(o))
                return hp_errorf(ret_error, -EINVAL, "pci: each entry must be an object");
        r = known_keys(o, keys, "pci", ret_error);
        if (r < 0)
                return r;
        if (int_member(o, "index", true, 0, INT_MAX, &index) < 0)
                return hp_errorf(ret_error, -EINVAL, "pci: 'index' must be a non-negative integer");
        p->index = (int)index;
        if (!optional_is(json_object_get(o, "primary_display"), is_boolean))
                return hp_errorf(ret_error, -EINVAL, "pci%d: 'primary_display' must be true or false", p->index);
        p->primary_display = json_is_true(json_object_get(o, "primary_display"));
        if (rombar && !json_is_null(rombar)) {
                if (!json_is_integer(rombar) || json_integer_value(rombar) < 0 || json_integer_value(rombar) > 1)
                        return hp_errorf(ret_error, -EINVAL, "pci%d: 'rombar' must be 0, 1 or null", p->index);
                p->rombar = (int)json_integer_value(rombar);
        }
        r = opt_string(o, "label", &p->label, "pci", ret_error);
        if (r >= 0)
                r = opt_string(o, "romfile", &p->romfile, "pci", ret_error);
        if (r < 0)
                return r;
        if (kind && streq(kind, "static")) {
                const char *a = json_string_value(json_object_get(o, "address"));

                p->kind = HP_VM_PCI_STATIC;
                if (!canonical_sbdf(a) && !hp_pci_slot_canonical(a))
                        return hp_errorf(ret_error, -EINVAL,
                                         "pci%d: a static entry needs 'address' (dddd:bb:dd.f, or dddd:bb:dd for "
                                         "every function of the slot, lower-case hex)",
                                         p->index);
                snprintf(p->address, sizeof(p->address), "%s", a);
                return request_from_json(o, p, ret_error);
        }
        if (!kind || !streq(kind, "dynamic"))
                return hp_errorf(ret_error, -EINVAL, "pci%d: 'kind' must be \"static\" or \"dynamic\"", p->index);
        p->kind = HP_VM_PCI_DYNAMIC;
        if (!json_is_array(allowed) || json_array_size(allowed) == 0)
                return hp_errorf(ret_error, -EINVAL, "pci%d: a dynamic entry needs 'allowed' IDs", p->index);
        p->allowed = calloc(json_array_size(allowed), sizeof(*p->allowed));
        if (!p->allowed)
                return -ENOMEM;
        for (size_t i = 0; i < json_array_size(allowed); i++) {
                const char *id = json_string_value(json_array_get(allowed, i));

                if (!id || hp_pci_id_match_parse(id, &p->allowed[p->n_allowed]) < 0)
                        return hp_errorf(ret_error, -EINVAL, "pci%d: allowed ID %zu is not vvvv:dddd[:ssss:ssss]", p->index, i);
                p->n_allowed++;
        }
        return request_from_json(o, p, ret_error);
}

int hp_vm_usb_from_json(const json_t *o, struct hp_vm_usb *u, char **ret_error)
{
        static const char *const keys[] = { "index", "kind", "vendor_id", "product_id", "serial", "bus", "port", NULL };
        const char *kind = json_string_value(json_object_get(o, "kind"));
        json_int_t index, bus;
        uint64_t v;
        int r;

        *u = (struct hp_vm_usb){ 0 };
        if (!json_is_object(o))
                return hp_errorf(ret_error, -EINVAL, "usb: each entry must be an object");
        r = known_keys(o, keys, "usb", ret_error);
        if (r < 0)
                return r;
        if (int_member(o, "index", true, 0, INT_MAX, &index) < 0)
                return hp_errorf(ret_error, -EINVAL, "usb: 'index' must be a non-negative integer");
        u->index = (int)index;
        if (kind && streq(kind, "port")) {
                const char *port = json_string_value(json_object_get(o, "port"));
                char text[64];
                int n;

                u->kind = HP_VM_USB_PORT;
                /* The text hp_usb_port_parse reads, whole: the ranges are its own. */
                if (int_member(o, "bus", true, 0, INT_MAX, &bus) < 0 || !port ||
                    (n = snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT "-%s", bus, port)) < 0 ||
                    (size_t)n >= sizeof(text) || hp_usb_port_parse(text, &u->bus, &u->port) < 0)
                        return hp_errorf(ret_error, -EINVAL, "usb%d: 'bus' and 'port' do not name a USB port", u->index);
                return 0;
        }
        if (!kind || !streq(kind, "id"))
                return hp_errorf(ret_error, -EINVAL, "usb%d: 'kind' must be \"id\" or \"port\"", u->index);
        u->kind = HP_VM_USB_ID;
        if (hp_parse_u64(json_string_value(json_object_get(o, "vendor_id")), 16, &v) < 0 || v > 0xffff)
                return hp_errorf(ret_error, -EINVAL, "usb%d: 'vendor_id' must be 4 hex digits", u->index);
        u->vendor_id = (uint16_t)v;
        if (hp_parse_u64(json_string_value(json_object_get(o, "product_id")), 16, &v) < 0 || v > 0xffff)
                return hp_errorf(ret_error, -EINVAL, "usb%d: 'product_id' must be 4 hex digits", u->index);
        u->product_id = (uint16_t)v;
        return opt_string(o, "serial", &u->serial, "usb", ret_error);
}

int hp_vm_spec_from_json(const json_t *j, struct hp_vm_spec *ret, char **ret_error)
{
        static const char *const keys[] = { "name",   "memory_mib",   "hugepages", "vcpus", "firmware",
                                            "disks",  "kernel",       "append",    "device_limit",
                                            "autostart", "placement", "restart_priority", "isolation", "pci", "usb", NULL };
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { .autostart_order = -1 };
        const char *name = json_string_value(json_object_get(j, "name"));
        const char *fw = json_string_value(json_object_get(j, "firmware"));
        const json_t *placement = json_object_get(j, "placement"), *restart = json_object_get(j, "restart_priority"),
                     *isolation = json_object_get(j, "isolation");
        const json_t *disks = json_object_get(j, "disks"), *pci = json_object_get(j, "pci"),
                     *usb = json_object_get(j, "usb"), *autostart = json_object_get(j, "autostart");
        json_int_t mem, vcpus, limit = HP_VM_DEFAULT_DEVICE_LIMIT;
        int r;

        *ret_error = NULL;
        if (!json_is_object(j))
                return hp_errorf(ret_error, -EINVAL, "a VM must be a JSON object");
        r = known_keys(j, keys, "vm", ret_error);
        if (r < 0)
                return r;
        if (!name || !hp_vm_name_valid(name))
                return hp_errorf(ret_error, -EINVAL, "vm: 'name' must be 1-%d letters, digits, '-', '_' or '.'", HP_VM_NAME_MAX);
        snprintf(s.name, sizeof(s.name), "%s", name);
        if (int_member(j, "memory_mib", true, 1, (json_int_t)HP_VM_MAX_MEMORY_MIB, &mem) < 0)
                return hp_errorf(ret_error, -EINVAL, "vm %s: 'memory_mib' must be 1 to %" PRIu64, name,
                                 HP_VM_MAX_MEMORY_MIB);
        if (int_member(j, "vcpus", true, 1, HP_VM_MAX_VCPUS, &vcpus) < 0)
                return hp_errorf(ret_error, -EINVAL, "vm %s: 'vcpus' must be 1 to %d", name, HP_VM_MAX_VCPUS);
        if (int_member(j, "device_limit", false, 1, HP_VM_MAX_DEVICE_LIMIT, &limit) < 0)
                return hp_errorf(ret_error, -EINVAL, "vm %s: 'device_limit' must be 1 to %d", name,
                                 HP_VM_MAX_DEVICE_LIMIT);
        if (!optional_is(disks, is_array) || !optional_is(pci, is_array) || !optional_is(usb, is_array))
                return hp_errorf(ret_error, -EINVAL, "vm %s: 'disks', 'pci' and 'usb' must be arrays", name);
        s.memory_mib = (uint64_t)mem;
        s.vcpus = (unsigned)vcpus;
        s.device_limit = (unsigned)limit;
        if (!optional_is(json_object_get(j, "hugepages"), is_boolean))
                return hp_errorf(ret_error, -EINVAL, "vm %s: 'hugepages' must be true or false", name);
        s.hugepages = json_is_true(json_object_get(j, "hugepages"));
        /* A document without it is a new VM's: auto, as vm create gives. */
        s.firmware = HP_VM_FIRMWARE_AUTO;
        if ((json_object_get(j, "firmware") || fw) && hp_vm_firmware_from_string(fw, &s.firmware) < 0)
                return hp_errorf(ret_error, -EINVAL,
                                 "vm %s: 'firmware' must be \"auto\" (EFI when the devices need it), \"bios\" or "
                                 "\"efi\"",
                                 name);
        /* Absent or null: the cluster's. */
        if (placement && !json_is_null(placement) &&
            hp_vm_placement_from_string(json_string_value(placement), &s.placement) < 0)
                return hp_errorf(ret_error, -EINVAL,
                                 "vm %s: 'placement' must be \"performance\" (spread over the hosts), "
                                 "\"consolidation\" (packed on few) or null (the cluster's)",
                                 name);
        /* Absent or null: the defaults, medium and power-off. */
        if (restart && !json_is_null(restart) &&
            hp_vm_restart_from_string(json_string_value(restart), &s.restart_priority) < 0)
                return hp_errorf(ret_error, -EINVAL,
                                 "vm %s: 'restart_priority' must be \"highest\", \"high\", \"medium\", \"low\", "
                                 "\"lowest\" or \"disabled\" (not restarted when its host fails)",
                                 name);
        if (isolation && !json_is_null(isolation) &&
            hp_vm_isolation_from_string(json_string_value(isolation), &s.isolation) < 0)
                return hp_errorf(ret_error, -EINVAL,
                                 "vm %s: 'isolation' must be \"power-off\", \"shutdown\" or \"leave-running\" "
                                 "(what its host does when cut off from the cluster)",
                                 name);
        s.disks = calloc(1, sizeof(char *));
        if (!s.disks)
                return -ENOMEM;
        for (size_t i = 0; json_is_array(disks) && i < json_array_size(disks); i++) {
                const char *d = json_string_value(json_array_get(disks, i));

                if (!d || !*d)
                        return hp_errorf(ret_error, -EINVAL, "vm %s: disk %zu must be a path", name, i);
                if (hp_strv_push(&s.disks, d) < 0)
                        return -ENOMEM;
        }
        if ((r = opt_string(j, "kernel", &s.kernel, "vm", ret_error)) < 0 ||
            (r = opt_string(j, "append", &s.append, "vm", ret_error)) < 0)
                return r;
        if (autostart && !json_is_null(autostart)) {
                static const char *const autostart_keys[] = { "order", "delay", NULL };
                json_int_t order, delay = 0;

                if (!json_is_object(autostart))
                        return hp_errorf(ret_error, -EINVAL, "vm %s: 'autostart' must be an object or null", name);
                r = known_keys(autostart, autostart_keys, "autostart", ret_error);
                if (r < 0)
                        return r;
                if (int_member(autostart, "order", true, 0, HP_VM_MAX_AUTOSTART_ORDER, &order) < 0 ||
                    int_member(autostart, "delay", false, 0, HP_VM_MAX_AUTOSTART_DELAY, &delay) < 0)
                        return hp_errorf(ret_error, -EINVAL,
                                         "vm %s: autostart 'order' must be 0 to %d and 'delay' 0 to %d seconds",
                                         name, HP_VM_MAX_AUTOSTART_ORDER, HP_VM_MAX_AUTOSTART_DELAY);
                s.autostart_order = (int)order;
                s.autostart_delay = (unsigned)delay;
        }
        if (json_is_array(pci) && json_array_size(pci) > 0) {
                s.pci = calloc(json_array_size(pci), sizeof(*s.pci));
                if (!s.pci)
                        return -ENOMEM;
                for (size_t i = 0; i < json_array_size(pci); i++, s.n_pci++) {
                        r = hp_vm_pci_from_json(json_array_get(pci, i), &s.pci[i], ret_error);
                        /* An entry added alone is checked when the VM takes it
                         * (hp_vm_add_pci), under the index it gets there. */
                        if (r >= 0)
                                r = hp_vm_pci_request_check(&s.pci[i], ret_error);
                        if (r < 0) {
                                s.n_pci++; /* its parts are freed with the spec */
                                return r;
                        }
                }
        }
        if (json_is_array(usb) && json_array_size(usb) > 0) {
                s.usb = calloc(json_array_size(usb), sizeof(*s.usb));
                if (!s.usb)
                        return -ENOMEM;
                for (size_t i = 0; i < json_array_size(usb); i++, s.n_usb++) {
                        r = hp_vm_usb_from_json(json_array_get(usb, i), &s.usb[i], ret_error);
                        if (r < 0) {
                                s.n_usb++;
                                return r;
                        }
                }
        }
        *ret = s;
        s = (struct hp_vm_spec){ 0 };
        return 0;
}

static int from_text(const char *text, bool document, struct hp_vm_spec *ret, char **ret_error)
{
        json_error_t e;
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
        int r;

        if (!j) {
                *ret_error = NULL;
                if (asprintf(ret_error, "%s is not valid JSON: %s (line %d)", document ? "the VM" : "the stored VM",
                             e.text, e.line) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        if (document && json_is_string(json_object_get(j, "state")))
                (void)json_object_del(j, "state");
        r = hp_vm_spec_from_json(j, ret, ret_error);
        json_decref(j);
        return r;
}

int hp_vm_spec_from_text(const char *text, struct hp_vm_spec *ret, char **ret_error)
{
        return from_text(text, false, ret, ret_error);
}

int hp_vm_spec_from_document(const char *text, struct hp_vm_spec *ret, char **ret_error)
{
        return from_text(text, true, ret, ret_error);
}

json_t *hp_vm_to_json(const struct hp_vm_spec *s, const char *state)
{
        json_t *j = hp_vm_spec_to_json(s);

        if (j && json_object_set_new(j, "state", json_string(state)) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

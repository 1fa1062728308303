/* The custom hardware label (vSphere's customLabel), free key=value
 * attributes, and clearing a quarantine: stored with the device's identity,
 * so a changed device is noticed later. Each is one store transaction (read,
 * change, write), so nothing another process writes in between is lost. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "host/bind.h"
#include "host/json.h"
#include "host/pci.h"
#include "host/state.h"
#include "host/view.h"
#include "lock.h"
#include "ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"

/* What is wrong with text meant as a label or an attribute value (at most
 * max characters, UTF-8, no control character), as a message; NULL when it
 * is fine. The store and JSON hold UTF-8 only; control characters would
 * drive the terminal of whoever lists the devices. */
static int check_text(struct hp_ops_ctx *c, const char *what, const char *s, int max)
{
        _cleanup_free_ char *shown = hp_escape(s);
        size_t bad = 0;
        int n = hp_utf8_length(s, &bad);

        if (!shown)
                return hp_op_oom(c);
        if (n == -EILSEQ)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "invalid %s '%s': not UTF-8 text (byte 0x%02x at offset %zu); use UTF-8", what,
                                  shown, (unsigned char)s[bad], bad);
        if (n == 0 || n > max)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "invalid %s '%s': %d characters, expected 1 to %d", what,
                                  shown, n, max);
        if (hp_utf8_has_control(s))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "invalid %s '%s': it holds a control character; use 1 to %d printable characters",
                                  what, shown, max);
        return 0;
}

static int no_device(struct hp_ops_ctx *c, const char *address, bool looked_in_store)
{
        return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-device", -ENOENT, "no PCI device %s on this host%s", address,
                               looked_in_store ? ", and nothing stored for it" : "");
}

/* The device's stored record (a new one, not yet stored, when it was never
 * configured), inside a store transaction the caller commits or rolls back,
 * its identity taken from the hardware; *inv: the inventory it was found in
 * (the caller's to free). absent_ok: a device gone from the host is still
 * found by its stored entry (removing a label or attributes from it), its
 * identity left as stored. Entries whose device moved follow it first. */
static int config_load(struct hp_ops_ctx *c, const char *address, bool absent_ok, struct hp_pci_inventory **inv,
                       struct hp_store **ret_store, struct hp_dev_config *ret)
{
        const struct hp_pci_dev *d;
        int r;

        r = hp_pci_scan(c->host, c->names, inv);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read the PCI devices under '%s'", c->host_root);
        d = hp_pci_find(*inv, address);
        if (!d && !absent_ok)
                return no_device(c, address, false);
        r = hp_ops_store_open(c, ret_store);
        if (r < 0)
                return r;
        r = hp_ops_follow_moves(c, *ret_store, *inv);
        if (r < 0)
                return r;
        r = hp_store_begin(*ret_store);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot lock the stored state in '%s'", c->db);
        r = hp_store_device_get(*ret_store, address, ret);
        if (r == -ENOENT && !d) {
                (void)hp_store_rollback(*ret_store);
                return no_device(c, address, true);
        }
        if (r == -ENOENT) {
                *ret = (struct hp_dev_config){ 0 };
                memcpy(ret->address, d->address, HP_SBDF_LEN);
                ret->attrs = calloc(1, sizeof(char *));
                ret->health = strdup("ok");
                if (!ret->attrs || !ret->health)
                        return hp_op_oom(c);
        } else if (r < 0) {
                return hp_op_host_error(c, r, "cannot read the stored state in '%s'", c->db);
        }
        if (!d)
                return 0;
        if (!ret->serial)
                (void)hp_pci_read_serial(c->host, d, &ret->serial);
        ret->vendor_id = d->vendor_id;
        ret->device_id = d->device_id;
        ret->subsystem_vendor_id = d->subsystem_vendor_id;
        ret->subsystem_device_id = d->subsystem_device_id;
        if (d->slot && !ret->slot && !(ret->slot = strdup(d->slot)))
                return hp_op_oom(c);
        return 0;
}

static int save(struct hp_ops_ctx *c, struct hp_store *s, const struct hp_dev_config *cfg, const char *kind,
                const char *event)
{
        int r = hp_store_device_put(s, cfg);

        if (r >= 0)
                r = hp_store_event_add(s, kind, cfg->address, event);
        if (r >= 0)
                r = hp_store_commit(s);
        if (r < 0) {
                (void)hp_store_rollback(s);
                return hp_op_host_error(c, r, "cannot store %s in '%s'", cfg->address, c->db);
        }
        return 0;
}

/* The device's document, from an inventory already read (taken). */
static int answer(struct hp_ops_ctx *c, struct hp_pci_inventory *inv, const char *address, json_t **ret)
{
        _cleanup_(hp_view_done) struct hp_view v = { .inv = inv };
        _cleanup_free_ char *err = NULL;
        const struct hp_pci_dev *d = hp_pci_find(inv, address);
        struct hp_host_state st;
        int r;

        if (!d) {
                /* A stored entry of a device gone from the host. */
                *ret = json_pack("{s:s, s:b}", "address", address, "absent", true);
                return *ret ? 0 : hp_op_oom(c);
        }
        r = hp_view_load(c->host, c->names, c->db, &v, &err);
        if (r < 0)
                return hp_op_fail(c, HP_OP_HOST, r, "%s", err ? err : strerror(-r));
        st = hp_view_state(&v);
        *ret = hp_json_pci_dev_detail(c->host, &st, d);
        return *ret ? 0 : hp_op_oom(c);
}

int hp_ops_device_check_label(struct hp_ops_ctx *c, const char *label)
{
        return label ? check_text(c, "label", label, HP_LABEL_MAX) : 0;
}

int hp_ops_device_label(struct hp_ops_ctx *c, const char *address, const char *label, json_t **ret)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };
        int r;

        r = hp_ops_device_check_label(c, label);
        if (r < 0)
                return r;
        r = config_load(c, address, !label, &inv, &s, &cfg);
        if (r < 0)
                return r;
        free(cfg.label);
        cfg.label = label ? strdup(label) : NULL;
        if (label && !cfg.label)
                return hp_op_oom(c);
        r = save(c, s, &cfg, "device-label", label ? label : "label removed");
        if (r < 0)
                return r;
        return answer(c, TAKE_PTR(inv), cfg.address, ret);
}

/* attrs with key set to value (value NULL: removed). */
static int set_attr(char ***attrs, const char *key, size_t klen, const char *value)
{
        _cleanup_strv_free_ char **out = calloc(1, sizeof(char *));
        _cleanup_free_ char *kv = NULL;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; (*attrs)[i]; i++) {
                const char *a = (*attrs)[i];

                if (strncmp(a, key, klen) == 0 && a[klen] == '=')
                        continue;
                if (hp_strv_push(&out, a) < 0)
                        return -ENOMEM;
        }
        if (value) {
                if (asprintf(&kv, "%.*s=%s", (int)klen, key, value) < 0)
                        return -ENOMEM;
                if (hp_strv_push(&out, kv) < 0)
                        return -ENOMEM;
        }
        hp_strv_free(*attrs);
        *attrs = TAKE_PTR(out);
        return 0;
}

int hp_ops_attrs_change(char ***attrs, char *const *set, char *const *unset)
{
        for (size_t i = 0; set && set[i]; i++)
                if (set_attr(attrs, set[i], (size_t)(strchr(set[i], '=') - set[i]), strchr(set[i], '=') + 1) < 0)
                        return -ENOMEM;
        for (size_t i = 0; unset && unset[i]; i++)
                if (set_attr(attrs, unset[i], strlen(unset[i]), NULL) < 0)
                        return -ENOMEM;
        return 0;
}

static int check_attrs(struct hp_ops_ctx *c, char *const *v, bool unset)
{
        for (size_t i = 0; v && v[i]; i++) {
                const char *eq = strchr(v[i], '=');
                _cleanup_free_ char *shown = NULL, *what = NULL;
                int r;

                if (unset ? hp_vm_attr_key_valid(v[i], strlen(v[i]))
                          : eq && hp_vm_attr_key_valid(v[i], (size_t)(eq - v[i]))) {
                        if (unset)
                                continue;
                        if (asprintf(&what, "value of attribute '%.*s'", (int)(eq - v[i]), v[i]) < 0)
                                return hp_op_oom(c);
                        r = check_text(c, what, eq + 1, HP_ATTR_VALUE_MAX);
                        if (r < 0)
                                return r;
                        continue;
                }
                shown = hp_escape(v[i]);
                if (!shown)
                        return hp_op_oom(c);
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "invalid attribute '%s': expected %s with a key of 1 to %d characters a-z 0-9 _ . -",
                                  shown, unset ? "KEY" : "KEY=VALUE", HP_ATTR_KEY_MAX);
        }
        return 0;
}

int hp_ops_device_check_attrs(struct hp_ops_ctx *c, char *const *set, char *const *unset)
{
        int r;

        if (hp_strv_length(set) + hp_strv_length(unset) == 0)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "no attribute to set or remove");
        r = check_attrs(c, set, false);
        return r < 0 ? r : check_attrs(c, unset, true);
}

int hp_ops_device_attr(struct hp_ops_ctx *c, const char *address, char *const *set, char *const *unset,
                       json_t **ret)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };
        int r;

        r = hp_ops_device_check_attrs(c, set, unset);
        if (r >= 0)
                r = config_load(c, address, !hp_strv_length(set), &inv, &s, &cfg);
        if (r < 0)
                return r;
        if (hp_ops_attrs_change(&cfg.attrs, set, unset) < 0)
                return hp_op_oom(c);
        r = save(c, s, &cfg, "device-label", hp_strv_length(set) ? "attributes set" : "attributes removed");
        if (r < 0)
                return r;
        return answer(c, TAKE_PTR(inv), cfg.address, ret);
}

int hp_ops_device_clear(struct hp_ops_ctx *c, const char *address, bool force, json_t **ret)
{
        _cleanup_(hp_ops_unlock) struct hp_ops_lock lock = { 0 };
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };
        char *one[] = { (char *)address, NULL };
        int r;

        /* The reset is a change of the device: its group is held. */
        r = hp_ops_lock_groups(c, one, 1, "device clear", &lock);
        if (r >= 0)
                r = config_load(c, address, false, &inv, &s, &cfg);
        if (r < 0)
                return r;
        if (!streq(cfg.health, "quarantined")) {
                (void)hp_store_rollback(s);
                *ret = json_pack("{s:s, s:s, s:b, s:b}", "address", cfg.address, "health", cfg.health, "reset_tried",
                                 false, "was_quarantined", false);
                return *ret ? 0 : hp_op_oom(c);
        }
        if (cfg.assigned_vm) {
                (void)hp_store_rollback(s);
                return hp_op_fail(c, HP_OP_CONFLICT, -EBUSY, "%s is assigned to VM '%s': stop it first (hwpass vm stop %s)",
                                  cfg.address, cfg.assigned_vm, cfg.assigned_vm);
        }
        int reset = r = force ? 0 : hp_pci_reset(c->host, cfg.address);

        if (r < 0) {
                (void)hp_store_rollback(s);
                return hp_op_fail(c, HP_OP_FAILED, r,
                                  "%s: the reset still fails (%s): it stays quarantined. Power-cycle the host (or the "
                                  "slot), then clear it again; --force clears it without a reset",
                                  cfg.address, strerror(-r));
        }
        free(cfg.health);
        cfg.health = strdup("ok");
        free(cfg.reason);
        cfg.reason = NULL;
        if (!cfg.health)
                return hp_op_oom(c);
        r = save(c, s, &cfg, "device-cleared",
                 force ? "forced, without a reset" : reset == 0 ? "no reset method: cleared without a reset" : "reset worked");
        if (r < 0)
                return r;
        *ret = json_pack("{s:s, s:s, s:b, s:b}", "address", cfg.address, "health", "ok", "reset_tried", reset > 0,
                         "was_quarantined", true);
        return *ret ? 0 : hp_op_oom(c);
}

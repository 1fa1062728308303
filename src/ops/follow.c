/* Stored device entries following their devices to new PCI addresses: by
 * themselves when the identity matches exactly (host apply at boot, and the
 * writes that see it), by 'hwpass device adopt' when it is only possible,
 * and 'hwpass device forget' for an entry whose device is gone. Each
 * re-keying is one store transaction with its events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "host/moves.h"
#include "host/pci.h"
#include "host/state.h"
#include "host/view.h"
#include "ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

/* The entry at from, stored again at d's address with d's identity. The
 * caller holds the transaction. */
static int rekey(struct hp_store *s, const struct hp_dev_config *from, const struct hp_pci_dev *d,
                 const char *serial, const char *kind)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config c = { 0 };
        char msg[64];
        int r = hp_dev_config_copy(from, &c);

        if (r < 0)
                return r;
        memcpy(c.address, d->address, HP_SBDF_LEN);
        free(c.slot);
        c.slot = d->slot ? strdup(d->slot) : NULL;
        free(c.reason);
        c.reason = NULL;
        if (serial && (!c.serial || !streq(c.serial, serial))) {
                free(c.serial);
                c.serial = strdup(serial);
        }
        if ((d->slot && !c.slot) || (serial && !c.serial))
                return -ENOMEM;
        r = hp_store_device_put(s, &c);
        snprintf(msg, sizeof(msg), "%s -> %s", from->address, d->address);
        return r < 0 ? r : hp_store_event_add(s, kind, d->address, msg);
}

int hp_ops_follow_moves(struct hp_ops_ctx *c, struct hp_store *s, const struct hp_pci_inventory *inv)
{
        struct hp_dev_config *configs = NULL;
        struct hp_dev_match *m = NULL;
        char **serials = NULL;
        size_t n = 0, n_m = 0, moved = 0;
        int r = hp_store_begin(s);

        if (r >= 0)
                r = hp_store_device_list(s, &configs, &n);
        if (r >= 0)
                r = hp_view_read_serials(c->host, inv, configs, n, &serials);
        if (r >= 0) {
                struct hp_host_state st = { .inv = inv, .configs = configs, .n_configs = n, .serials = serials };

                r = hp_dev_match_all(&st, &m, &n_m);
        }
        /* All old entries out first: in a swap each new address is an old one. */
        for (size_t i = 0; r >= 0 && i < n_m; i++)
                if (m[i].kind == HP_DEV_MATCH_MOVED)
                        r = hp_store_device_delete(s, m[i].from);
        for (size_t i = 0; r >= 0 && i < n_m; i++) {
                const struct hp_pci_dev *d = hp_pci_find(inv, m[i].to);
                size_t k = 0;

                if (m[i].kind != HP_DEV_MATCH_MOVED)
                        continue;
                while (!streq(configs[k].address, m[i].from))
                        k++;
                r = rekey(s, &configs[k], d, serials[d - inv->devs], "device-moved");
                moved++;
        }
        if (r >= 0)
                r = moved ? hp_store_commit(s) : hp_store_rollback(s);
        if (r < 0)
                (void)hp_store_rollback(s);
        free(m);
        hp_view_serials_free(inv, serials);
        hp_dev_configs_free(configs, n);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot record the devices that moved in '%s'", c->db);
        return (int)moved;
}

int hp_ops_follow_moves_unrecorded(struct hp_ops_ctx *c, const struct hp_pci_inventory *inv,
                                   struct hp_dev_config *configs, size_t n)
{
        _cleanup_free_ struct hp_dev_match *m = NULL;
        char **serials = NULL;
        size_t n_m = 0;
        int r = hp_view_read_serials(c->host, inv, configs, n, &serials);

        if (r >= 0) {
                struct hp_host_state st = { .inv = inv, .configs = configs, .n_configs = n, .serials = serials };

                r = hp_dev_match_all(&st, &m, &n_m);
        }
        hp_view_serials_free(inv, serials);
        if (r >= 0)
                r = hp_dev_matches_rekey(m, n_m, configs, n);
        return r < 0 ? hp_op_oom(c) : 0;
}

/* A failed adopt or forget: nothing of it stays. */
static int undo(struct hp_store *s, int r)
{
        (void)hp_store_rollback(s);
        return r;
}

/* The stored entry at address in s's open transaction; a failed op when none. */
static int stored_entry(struct hp_ops_ctx *c, struct hp_store *s, const char *address, struct hp_dev_config *ret)
{
        int r = hp_store_device_get(s, address, ret);

        if (r == -ENOENT)
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-entry", -ENOENT,
                                       "nothing is stored for %s: 'hwpass device list' shows the stored entries "
                                       "whose device is not where they say",
                                       address);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read the stored state in '%s'", c->db);
        if (ret->assigned_vm)
                return hp_op_fail(c, HP_OP_CONFLICT, -EBUSY,
                                  "%s is assigned to VM '%s': stop it first (hwpass vm stop %s)", address,
                                  ret->assigned_vm, ret->assigned_vm);
        return 0;
}

/* The device at address is the one its entry was given: same IDs, and no
 * other serial than the one recorded. */
static bool in_place(struct hp_ops_ctx *c, const struct hp_pci_inventory *inv, const struct hp_dev_config *cfg)
{
        const struct hp_pci_dev *d = hp_pci_find(inv, cfg->address);
        _cleanup_free_ char *serial = NULL;

        if (!d || !hp_dev_config_matches(cfg, d))
                return false;
        (void)hp_pci_read_serial(c->host, d, &serial);
        return !cfg->serial || !serial || streq(cfg->serial, serial);
}

static int open_scanned(struct hp_ops_ctx *c, struct hp_pci_inventory **inv, struct hp_store **s)
{
        int r = hp_pci_scan(c->host, c->names, inv);

        if (r < 0)
                return hp_op_host_error(c, r, "cannot read the PCI devices under '%s'", c->host_root);
        r = hp_ops_store_open(c, s);
        if (r < 0)
                return r;
        r = hp_store_begin(*s);
        return r < 0 ? hp_op_host_error(c, r, "cannot lock the stored state in '%s'", c->db) : 0;
}

int hp_ops_device_adopt(struct hp_ops_ctx *c, const char *address, const char *from, json_t **ret)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config old = { 0 }, own = { 0 };
        _cleanup_free_ char *serial = NULL;
        const struct hp_pci_dev *d;
        int r;

        if (streq(address, from))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "%s cannot adopt its own entry: name the old address "
                                  "with --from", address);
        r = open_scanned(c, &inv, &s);
        if (r < 0)
                return r;
        d = hp_pci_find(inv, address);
        if (!d)
                return undo(s, hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-device", -ENOENT,
                                               "no PCI device %s on this host", address));
        r = stored_entry(c, s, from, &old);
        if (r < 0)
                return undo(s, r);
        if (!hp_dev_config_matches(&old, d))
                return undo(s, hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                          "%s is %04x:%04x (subsystem %04x:%04x), but %s was stored for %04x:%04x "
                                          "(subsystem %04x:%04x): not the same kind of device",
                                          address, d->vendor_id, d->device_id, d->subsystem_vendor_id,
                                          d->subsystem_device_id, from, old.vendor_id, old.device_id,
                                          old.subsystem_vendor_id, old.subsystem_device_id));
        if (in_place(c, inv, &old))
                return undo(s, hp_op_fail(c, HP_OP_CONFLICT, -EEXIST,
                                          "the device stored at %s is still there: nothing to adopt", from));
        r = hp_store_device_get(s, address, &own);
        if (r >= 0)
                return undo(s, hp_op_fail(c, HP_OP_CONFLICT, -EEXIST,
                                          "%s has a stored entry of its own: forget it first (hwpass device "
                                          "forget %s)",
                                          address, address));
        (void)hp_pci_read_serial(c->host, d, &serial);
        r = hp_store_device_delete(s, from);
        if (r >= 0)
                r = rekey(s, &old, d, serial, "device-adopted");
        if (r >= 0)
                r = hp_store_commit(s);
        if (r < 0)
                return undo(s, hp_op_host_error(c, r, "cannot store %s in '%s'", address, c->db));
        *ret = json_pack("{s:s, s:s, s:s?, s:b}", "address", address, "from", from, "label", old.label, "desired",
                         old.desired);
        return *ret ? 0 : hp_op_oom(c);
}

int hp_ops_device_forget(struct hp_ops_ctx *c, const char *address, json_t **ret)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };
        int r = open_scanned(c, &inv, &s);

        if (r < 0)
                return r;
        r = stored_entry(c, s, address, &cfg);
        if (r < 0)
                return undo(s, r);
        /* Forgotten while on vfio-pci, nothing would ever give it back. */
        if (cfg.desired && in_place(c, inv, &cfg))
                return undo(s, hp_op_fail(c, HP_OP_CONFLICT, -EBUSY,
                                          "%s is here and set for passthrough: disable it first (hwpass device "
                                          "passthrough disable %s)",
                                          address, address));
        r = hp_store_device_delete(s, address);
        if (r >= 0)
                r = hp_store_event_add(s, "device-forgotten", address, cfg.label ? cfg.label : "no label");
        if (r >= 0)
                r = hp_store_commit(s);
        if (r < 0)
                return undo(s, hp_op_host_error(c, r, "cannot forget %s in '%s'", address, c->db));
        *ret = json_pack("{s:s, s:b}", "address", address, "forgotten", true);
        return *ret ? 0 : hp_op_oom(c);
}

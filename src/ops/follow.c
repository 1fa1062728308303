/* Stored device entries following their devices to new PCI addresses: by
 * themselves when the identity matches exactly (host apply at boot, vm
 * start, and the writes that see it), by 'hwpass device adopt' when it is
 * only possible, and 'hwpass device forget' for an entry whose device is
 * gone. Each re-keying is one store transaction with its events, and the
 * VMs' static entries naming the old address follow in it. */
#include <errno.h>
#include <stdio.h>
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
#include "vm.h"
#include "vm/spec.h"
#include "vm/specjson.h"
#include "vm/supervise.h"

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

/* One VM's static entries rewritten for the moves, with an event each. A
 * VM stored damaged is left as it is: its own commands say so. */
static int follow_vm(struct hp_store *s, const struct hp_vm_record *rec, const struct hp_vm_pci_move *mv,
                     size_t n_mv, const char (*stored)[HP_SBDF_LEN], size_t n_stored)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { .autostart_order = -1 };
        _cleanup_free_ char(*old)[HP_SBDF_LEN] = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL;
        int r = hp_vm_spec_from_text(rec->spec_json, &spec, &err);

        if (r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        old = calloc(spec.n_pci + 1, sizeof(*old));
        if (!old)
                return -ENOMEM;
        for (size_t k = 0; k < spec.n_pci; k++)
                memcpy(old[k], spec.pci[k].address, HP_SBDF_LEN);
        if (hp_vm_pci_follow_moves(spec.pci, spec.n_pci, mv, n_mv, stored, n_stored) == 0)
                return 0;
        r = hp_vm_spec_to_text(&spec, &text);
        if (r >= 0)
                r = hp_store_vm_update_spec(s, rec->name, text);
        for (size_t k = 0; r >= 0 && k < spec.n_pci; k++) {
                char msg[64];

                if (streq(old[k], spec.pci[k].address))
                        continue;
                snprintf(msg, sizeof(msg), "pci%d: %s -> %s", spec.pci[k].index, old[k], spec.pci[k].address);
                r = hp_store_event_add(s, "vm-device-followed", rec->name, msg);
        }
        return r;
}

/* Every VM's static entries naming a moved device (or a whole moved slot)
 * name its new address, in the caller's transaction. stored: the device
 * entries' addresses before the moves. A running VM keeps its run: the
 * entries it holds never move (host/moves.h), as a device cannot leave its
 * slot while a guest has it, so only entries it does not hold can follow. */
static int follow_vms(struct hp_store *s, const struct hp_vm_pci_move *mv, size_t n_mv,
                      const struct hp_dev_config *configs, size_t n_configs)
{
        _cleanup_free_ char(*stored)[HP_SBDF_LEN] = calloc(n_configs + 1, sizeof(*stored));
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        int r = stored ? hp_store_vm_list(s, &recs, &n) : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < n_configs; i++)
                memcpy(stored[i], configs[i].address, HP_SBDF_LEN);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = follow_vm(s, &recs[i], mv, n_mv, (const char(*)[HP_SBDF_LEN])stored, n_configs);
        hp_vm_records_free(recs, n);
        return r;
}

/* VMs recorded as running whose supervisor is gone (the host rebooted
 * under them) are put right first: their devices are free to follow. */
static int settle_vms(struct hp_store *s, const char *run_dir)
{
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        int r = hp_store_vm_list(s, &recs, &n);

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = hp_vm_record_settle(s, run_dir, &recs[i]);
        hp_vm_records_free(recs, n);
        return r;
}

int hp_ops_follow_moves(struct hp_ops_ctx *c, struct hp_store *s, const struct hp_pci_inventory *inv)
{
        struct hp_dev_config *configs = NULL;
        struct hp_dev_match *m = NULL;
        _cleanup_free_ struct hp_vm_pci_move *mv = NULL;
        char **serials = NULL;
        size_t n = 0, n_m = 0, moved = 0;
        int r = hp_store_begin(s);

        if (r >= 0)
                r = settle_vms(s, c->run_dir);
        if (r >= 0)
                r = hp_store_device_list(s, &configs, &n);
        if (r >= 0)
                r = hp_view_read_serials(c->host, inv, configs, n, &serials);
        if (r >= 0) {
                struct hp_host_state st = { .inv = inv, .configs = configs, .n_configs = n, .serials = serials };

                r = hp_dev_match_all(&st, &m, &n_m);
        }
        if (r >= 0 && !(mv = calloc(n_m + 1, sizeof(*mv))))
                r = -ENOMEM;
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
                memcpy(mv[moved].from, m[i].from, HP_SBDF_LEN);
                memcpy(mv[moved].to, m[i].to, HP_SBDF_LEN);
                moved++;
        }
        if (r >= 0 && moved)
                r = follow_vms(s, mv, moved, configs, n);
        /* Settling a lost VM is worth keeping, moves or not. */
        if (r >= 0)
                r = hp_store_commit(s);
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

/* The VMs' static entries follow an adopted entry: stored is what the
 * store held before, the adopted entry at from included. */
static int follow_adopted(struct hp_store *s, const char *from, const char *address)
{
        struct hp_vm_pci_move mv = { 0 };
        struct hp_dev_config *configs = NULL, *all;
        size_t n = 0;
        int r = hp_store_device_list(s, &configs, &n);

        if (r < 0)
                return r;
        memcpy(mv.from, from, HP_SBDF_LEN);
        memcpy(mv.to, address, HP_SBDF_LEN);
        all = reallocarray(configs, n + 1, sizeof(*configs));
        if (!all) {
                hp_dev_configs_free(configs, n);
                return -ENOMEM;
        }
        configs = all;
        configs[n] = (struct hp_dev_config){ 0 };
        memcpy(configs[n].address, from, HP_SBDF_LEN);
        r = follow_vms(s, &mv, 1, configs, n + 1);
        hp_dev_configs_free(configs, n + 1);
        return r;
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
                r = follow_adopted(s, from, address);
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

/* The moves the view found and the store has not recorded, with the
 * entries' addresses as stored (before them). */
static int view_moves(const struct hp_view *view, struct hp_vm_pci_move **ret_mv, size_t *ret_n,
                      char (**ret_stored)[HP_SBDF_LEN])
{
        _cleanup_free_ struct hp_vm_pci_move *mv = calloc(view->n_matches + 1, sizeof(*mv));
        _cleanup_free_ char(*stored)[HP_SBDF_LEN] = calloc(view->n_configs + 1, sizeof(*stored));
        size_t n = 0;

        if (!mv || !stored)
                return -ENOMEM;
        for (size_t i = 0; i < view->n_matches; i++)
                if (view->matches[i].kind == HP_DEV_MATCH_MOVED) {
                        memcpy(mv[n].from, view->matches[i].from, HP_SBDF_LEN);
                        memcpy(mv[n++].to, view->matches[i].to, HP_SBDF_LEN);
                }
        for (size_t i = 0; i < view->n_configs; i++) {
                memcpy(stored[i], view->configs[i].address, HP_SBDF_LEN);
                for (size_t k = 0; k < n; k++)
                        if (streq(mv[k].to, view->configs[i].address))
                                memcpy(stored[i], mv[k].from, HP_SBDF_LEN);
        }
        *ret_mv = TAKE_PTR(mv);
        *ret_n = n;
        *ret_stored = TAKE_PTR(stored);
        return 0;
}

int hp_ops_vm_entries_followed(const struct hp_view *view, const struct hp_vm_spec *s, struct hp_vm_pci **ret)
{
        _cleanup_free_ struct hp_vm_pci *pci = calloc(s->n_pci + 1, sizeof(*pci));
        _cleanup_free_ struct hp_vm_pci_move *mv = NULL;
        _cleanup_free_ char(*stored)[HP_SBDF_LEN] = NULL;
        size_t n_mv = 0;
        int r;

        if (!pci)
                return -ENOMEM;
        if (s->n_pci > 0)
                memcpy(pci, s->pci, s->n_pci * sizeof(*pci));
        r = view_moves(view, &mv, &n_mv, &stored);
        if (r < 0)
                return r;
        (void)hp_vm_pci_follow_moves(pci, s->n_pci, mv, n_mv, (const char(*)[HP_SBDF_LEN])stored, view->n_configs);
        *ret = TAKE_PTR(pci);
        return 0;
}

/* The entry as the spec has it followed a move: its address (a slot's
 * prefix) is not what the spec says. */
static bool followed_a_move(const struct hp_vm_spec *s, const struct hp_vm_pci *p)
{
        for (size_t k = 0; k < s->n_pci; k++)
                if (s->pci[k].index == p->index)
                        return strncmp(s->pci[k].address, p->address, strlen(s->pci[k].address)) != 0;
        return false;
}

/* The match whose stored entry was at the static entry's address. */
static const struct hp_dev_match *match_from(const struct hp_view *view, const struct hp_vm_pci *p)
{
        struct hp_pci_addr a;
        char address[HP_SBDF_LEN];

        if (p->kind != HP_VM_PCI_STATIC || hp_pci_addr_parse(p->address, &a) < 0)
                return NULL;
        hp_pci_addr_format(&a, address);
        for (size_t k = 0; k < view->n_matches; k++)
                if (streq(view->matches[k].from, address))
                        return &view->matches[k];
        return NULL;
}

int hp_ops_vm_check_moved(const struct hp_view *view, const struct hp_vm_spec *s, const struct hp_vm_pci *pci,
                          size_t n, char **ret_why)
{
        const char *vm = s->name;

        for (size_t i = 0; i < n; i++) {
                const struct hp_dev_match *m = match_from(view, &pci[i]);
                int r = 0;

                if (!m || followed_a_move(s, &pci[i]))
                        continue;
                if (m->kind == HP_DEV_MATCH_MOVED)
                        r = asprintf(ret_why, "pciPassthru%d: the device stored at %s moved to %s, and the entry did "
                                              "not follow it (a slot entry follows only when every function "
                                              "moved together): name where it is now ('hwpass vm remove-device %s "
                                              "pci%d', then 'hwpass vm add-pci %s --address ...')",
                                     pci[i].index, m->from, m->to, vm, pci[i].index, vm);
                else if (m->kind == HP_DEV_MATCH_UNCERTAIN)
                        r = asprintf(ret_why, "pciPassthru%d: the device stored at %s is not there; it may be the "
                                              "device now at %s (same IDs, %s): if it is, run 'hwpass device adopt "
                                              "%s --from %s' and start again; if it is gone, 'hwpass device forget "
                                              "%s'",
                                     pci[i].index, m->from, m->to, m->why, m->to, m->from, m->from);
                else
                        r = asprintf(ret_why, "pciPassthru%d: the device stored at %s is gone from this host (%s): "
                                              "put it back, or remove the entry ('hwpass vm remove-device %s pci%d'); "
                                              "'hwpass device list' shows what is there",
                                     pci[i].index, m->from,
                                     hp_pci_find(view->inv, m->from) ? "another kind of device is there now"
                                                                      : "no device is there",
                                     vm, pci[i].index);
                if (r < 0) {
                        *ret_why = NULL;
                        return -ENOMEM;
                }
                return -ENODEV;
        }
        return 0;
}

/* Operations on the host's PCI devices: passthrough on and off (with the
 * undo of a failed apply), the stored state applied again, labels,
 * attributes, and clearing a quarantine. Each answers with the document the
 * API gives and the CLI renders (host/json.h), or a typed error (ops.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct hp_ops_ctx;
struct hp_dev_config;
struct hp_pci_inventory;
struct hp_store;
struct hp_plan;

struct hp_ops_passthrough {
        bool enable;
        char *const *addresses; /* canonical; NULL-terminated */
        bool force, dry_run;
};

/* Plans the change of the devices and the rest of their IOMMU groups, and,
 * unless a dry run, records the desired state and applies it, holding the
 * groups' locks throughout. A refused plan is HP_OP_REFUSED with the plan as
 * detail; a failed apply is undone (HP_OP_FAILED, the plan as detail). *ret:
 * the plan document, "applied" true once applied. */
int hp_ops_passthrough(struct hp_ops_ctx *c, const struct hp_ops_passthrough *req, json_t **ret);

/* The stored desired state applied again, device by device (at boot). *ret:
 * {"configured": N, "devices": [{"address", "result", ...}], "changed": N,
 * "not_applied": N}; result is "gone", "hardware-changed", "refused",
 * "failed" or "applied", with the plan where there was one. A device not
 * applied is no error of the operation: the document says so. */
int hp_ops_host_apply(struct hp_ops_ctx *c, bool dry_run, json_t **ret);

/* The last steps of a failed apply, taken back in reverse (exposed for its
 * unit test): each device goes back to the driver it had. */
void hp_ops_plan_undo(const struct hp_ops_ctx *c, const struct hp_plan *p);

/* The probe guest: HWPASS_PROBE_GUEST, then the installed copy, then beside
 * an installed or a freshly built hwpass; -ENOENT when none is found. */
int hp_ops_probe_guest_path(char *buf, size_t size);

/* label NULL removes it. *ret: the device's document. */
int hp_ops_device_label(struct hp_ops_ctx *c, const char *address, const char *label, json_t **ret);
/* The checks of hp_ops_device_label() and hp_ops_device_attr() alone, for a
 * front end that must refuse bad text before it can build a request: labels
 * and values are UTF-8, 1 to HP_LABEL_MAX (HP_ATTR_VALUE_MAX) characters
 * (code points, not bytes), no control character. */
int hp_ops_device_check_label(struct hp_ops_ctx *c, const char *label);
int hp_ops_device_check_attrs(struct hp_ops_ctx *c, char *const *set, char *const *unset);
/* Sets each "key=value" of set, then removes each key of unset (either may
 * be NULL). Every entry is checked before anything is stored. *ret: the
 * device's document. */
int hp_ops_device_attr(struct hp_ops_ctx *c, const char *address, char *const *set, char *const *unset,
                       json_t **ret);
/* *attrs (a stored configuration's "key=value" list) with each of set
 * (checked already) set, then each key of unset removed; -ENOMEM. */
int hp_ops_attrs_change(char ***attrs, char *const *set, char *const *unset);
/* A quarantined device back in service once a reset works (force: without
 * trying one). *ret: {"address", "health", "reset_tried", "was_quarantined"}. */
int hp_ops_device_clear(struct hp_ops_ctx *c, const char *address, bool force, json_t **ret);

/* Boots the probe guest with the device (on vfio-pci, free, healthy) for at
 * most timeout_s (1 to 600). *ret: {"address", "id", "device_name", "works",
 * "verdict", "guest": {bus, dev, fn, vendor_id, device_id, class} or null,
 * "bars": [...], "registers", "seconds", "warning"?}: a device that does not
 * work is an answer, not an error. */
int hp_ops_device_probe(struct hp_ops_ctx *c, const char *address, unsigned timeout_s, json_t **ret);

/* The modprobe lines that give vfio-pci the enabled devices at boot,
 * written to etc/modprobe.d/hwpass-vfio.conf unless a dry run. *ret:
 * {"path", "text" (null: none needed), "warnings", "dry_run", "written"}. */
int hp_ops_host_boot_config(struct hp_ops_ctx *c, bool dry_run, json_t **ret);

#define HP_LABEL_MAX 64 /* characters */
#define HP_ATTR_KEY_MAX 32
#define HP_ATTR_VALUE_MAX 128 /* characters */

/* Stored entries whose device moved (same IDs and serial, host/moves.h)
 * re-keyed to its new address in one transaction of s, with a
 * "device-moved" event each. The number moved, or a failed op. */
int hp_ops_follow_moves(struct hp_ops_ctx *c, struct hp_store *s, const struct hp_pci_inventory *inv);
/* The same on configs in memory only (a dry run). */
int hp_ops_follow_moves_unrecorded(struct hp_ops_ctx *c, const struct hp_pci_inventory *inv,
                                   struct hp_dev_config *configs, size_t n);
/* The stored entry at from (its device not there) given to the device at
 * address: same IDs required, address without an entry of its own, from not
 * assigned to a VM. One transaction, a "device-adopted" event. */
int hp_ops_device_adopt(struct hp_ops_ctx *c, const char *address, const char *from, json_t **ret);
/* Drops the stored entry at address: refused while a VM holds it, or while
 * its device is here and set for passthrough. */
int hp_ops_device_forget(struct hp_ops_ctx *c, const char *address, json_t **ret);

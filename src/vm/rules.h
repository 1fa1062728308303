/* The VM rules the seeds impose (DESIGN.md §5), as pure functions of a spec
 * and its state: a VM changes only while it is off, holds at most its device
 * limit, never names one address twice, and one with passthrough devices is
 * never suspended, snapshotted or migrated. Each refusal is -errno with
 * *ret_error (malloc'd) saying what to do. */
#pragma once

#include <stdbool.h>

struct hp_vm_pci;
struct hp_vm_spec;
struct hp_vm_usb;

/* -EBUSY unless state is "off"; what: "devices are added", "it is changed". */
int hp_vm_rule_off(const struct hp_vm_spec *s, const char *state, const char *what, char **ret_error);
/* -ENOSPC when the VM has no room for `more` devices. */
int hp_vm_rule_room(const struct hp_vm_spec *s, unsigned more, char **ret_error);
/* -ENOSPC when the VM holds more devices than limit would allow. */
int hp_vm_rule_limit(const struct hp_vm_spec *s, unsigned limit, char **ret_error);

/* Adds e (taken on success: *e is zeroed) at the next free index, after the
 * rules: room, and a static address not there already (-EEXIST). Returns
 * the index. */
int hp_vm_add_pci(struct hp_vm_spec *s, struct hp_vm_pci *e, char **ret_error);
int hp_vm_add_usb(struct hp_vm_spec *s, struct hp_vm_usb *e, char **ret_error);
/* Removes "pciN" or "usbN": -EINVAL for a malformed one, -ENOENT when the VM
 * has none. */
int hp_vm_remove_device(struct hp_vm_spec *s, const char *which, char **ret_error);

bool hp_vm_has_passthrough(const struct hp_vm_spec *s);
/* suspend, snapshot, migrate: always refused (-EPERM), saying why. */
int hp_vm_rule_state_op(const struct hp_vm_spec *s, const char *op, char **ret_error);

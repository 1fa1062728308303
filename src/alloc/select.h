/* Choosing the devices of a VM at power-on: static entries take their own
 * address, dynamic entries any free device that matches (DESIGN.md §5, §6).
 * Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "host/pci.h"
#include "vm/spec.h"

struct hp_alloc_candidate {
        const struct hp_pci_dev *dev;
        const char *label;       /* the device's stored label, or NULL */
        bool passthrough_active; /* enabled, and bound to vfio-pci with a viable group */
        bool passthrough_desired; /* enabled (when not active: the binding was lost) */
        const struct hp_pci_dev *group_blocker; /* not active because this one, in its IOMMU
                                                 * group, is on a host driver; or NULL */
        const char *assigned_vm; /* VM that holds it now, or NULL */
        bool quarantined;
};

/* Assigns one distinct device to every PCI entry of a VM, or none at all:
 * static entries need exactly their address (active, free or already this
 * VM's, healthy); dynamic entries any such device matching one of `allowed`
 * (zero sub-IDs match any) and the label when the entry has one (NULL or ""
 * for none).
 *
 * Deterministic: among the valid complete assignments, the one a maximum
 * bipartite matching (Kuhn's algorithm) finds when entries are tried in the
 * order of their index and candidates in address order, each entry taking a
 * free device before it moves an earlier entry to another; so a narrow entry
 * is not starved by a wide one tried first, and identical entries get devices
 * in address order. ret_addresses[i] is the address for entries[i], written
 * only on success.
 *
 * *ret_error (may be NULL) is set to NULL first; on failure it is a malloc'd
 * message that names the entry (pciPassthru<index>), what it looked for
 * ("1b36:0010 with label 'fast'"), how many devices match and why each is
 * unavailable (assigned to VM x, not enabled for passthrough, quarantined,
 * taken by another entry of this VM), and what to do.
 *
 * -ENODEV when there is no valid assignment, -EINVAL for bad input (an entry
 * without a valid address or allowed IDs, a candidate without a device, the
 * same address given twice), -ENOMEM. */
int hp_alloc_assign(const char *vm, const struct hp_vm_pci *entries, size_t n_entries,
                    const struct hp_alloc_candidate *cands, size_t n_cands,
                    char (*ret_addresses)[HP_SBDF_LEN], char **ret_error);

/* The entries as hp_alloc_assign and the QEMU argv take them: a slot entry
 * becomes one static entry per function the host has there (its index,
 * in_slot, the function and its full address; options copied), the others
 * stay as they are. Shallow copies sharing the entries' strings: free only
 * the array. -ENODEV and *ret_error (what to do) when a slot has no
 * function 0 on this host. */
int hp_alloc_expand_slots(const char *vm, const struct hp_vm_pci *entries, size_t n_entries,
                          const struct hp_pci_inventory *inv, struct hp_vm_pci **ret, size_t *ret_n,
                          char **ret_error);

/* Does the device carry these IDs? A zero sub-ID matches any. */
bool hp_pci_id_match_dev(const struct hp_pci_id_match *m, const struct hp_pci_dev *d);

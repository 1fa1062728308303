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
        char *const *attrs;      /* its stored "key=value" attributes, or NULL */
        bool passthrough_active; /* enabled, and bound to vfio-pci with a viable group */
        bool passthrough_desired; /* enabled (when not active: the binding was lost) */
        const struct hp_pci_dev *group_blocker; /* not active because this one, in its IOMMU
                                                 * group, is on a host driver; or NULL */
        const char *assigned_vm; /* VM that holds it now, or NULL */
        bool quarantined;
};

/* Assigns distinct devices to every PCI entry of a VM, or none at all:
 * static entries need exactly their address (active, free or already this
 * VM's, healthy); dynamic entries hp_vm_pci_count() such devices matching
 * one of `allowed` (zero sub-IDs match any), the label when the entry has
 * one (NULL or "" for none) and the attributes it asks for, placed by the
 * request matcher (request.h: alternatives in order, groups, whole slots)
 * on the free devices pooled, as the cluster places them.
 *
 * Deterministic. First a maximum bipartite matching (Kuhn's algorithm) of
 * every device wanted (an entry with a count is that many) to candidates,
 * entries in the order of their index and candidates in address order, shows
 * whether there are enough devices at all, and if not, which entry lacks one
 * and why each matching device is unavailable. Then static entries keep their
 * address and the dynamic ones get the request matcher's pools, handed out in
 * address order (identical entries: pciPassthru0 the lowest). ret_addresses
 * holds one address per device, entry after entry (an entry with count n
 * takes n in a row), written only on success.
 *
 * *ret_error (may be NULL) is set to NULL first; on failure it is a malloc'd
 * message that names the entry (pciPassthru<index>), what it looked for
 * ("1b36:0010 with label 'fast'"), how many devices match and why each is
 * unavailable (assigned to VM x, not enabled for passthrough, quarantined,
 * taken by another entry of this VM), and what to do.
 *
 * When there are devices enough but the request's own rules cannot be met
 * (one alternative per entry, a group's NUMA node or switch, whole slots),
 * the message is the request matcher's: the entry and the constraint.
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

/* The dynamic half of hp_alloc_assign: addrs (one per device, as there)
 * holds the static entries' addresses; the dynamic entries' are written. */
int hp_alloc_place_dynamic(const char *vm, const struct hp_vm_pci *entries, size_t n_entries,
                           const struct hp_alloc_candidate *cands, size_t n_cands,
                           char (*addrs)[HP_SBDF_LEN], char **ret_error);

/* What power-on plans with: the spec's entries expanded (slots into their
 * functions), assigned (hp_alloc_assign), and expanded again into one plan
 * entry per device: an entry with a count into copies (copy 0..n-1, same
 * index), an --all-functions entry into the functions of the slot it got
 * (in_slot, function). *ret_plan (shallow copies sharing the spec's
 * strings: free only the array) and *ret_addrs have *ret_n items. Errors as
 * hp_alloc_expand_slots and hp_alloc_assign. */
int hp_alloc_choose(const char *vm, const struct hp_vm_pci *entries, size_t n_entries,
                    const struct hp_pci_inventory *inv, const struct hp_alloc_candidate *cands, size_t n_cands,
                    struct hp_vm_pci **ret_plan, char (**ret_addrs)[HP_SBDF_LEN], size_t *ret_n, char **ret_error);

/* A host's free devices as the request matcher (request.h) and placement
 * across hosts (place.h) take them: the candidates vm can use (active,
 * healthy, free or already its own) that are not taken (a static entry's;
 * taken may be NULL), grouped into pools of interchangeable ones, each with
 * its candidates in address order (pools in the order of their first). */
struct hp_alloc_pool;
struct hp_alloc_pools {
        struct hp_alloc_pool *v;
        size_t n;
        size_t **addrs; /* per pool: candidate indices, address order */
        size_t *next;   /* per pool: the next one to hand out */
};
int hp_alloc_pools_make(const char *vm, const struct hp_alloc_candidate *cands, size_t n, const bool *taken,
                        struct hp_alloc_pools *ret);
void hp_alloc_pools_done(struct hp_alloc_pools *p);
/* The next candidate (its index) of pool, in address order: what the
 * matcher's answer hands out, device after device. */
size_t hp_alloc_pools_take(struct hp_alloc_pools *p, size_t pool);

/* The dynamic entries of entries[0..n) in the order of their index, as the
 * request matcher takes them: shallow copies sharing the entries' strings
 * (free only the array), and (ret_from, may be NULL) where each was. */
int hp_alloc_dynamic_entries(const struct hp_vm_pci *entries, size_t n, struct hp_vm_pci **ret, size_t **ret_from,
                             size_t *ret_n);

/* Does the device carry these IDs? A zero sub-ID matches any. */
bool hp_pci_id_match_dev(const struct hp_pci_id_match *m, const struct hp_pci_dev *d);

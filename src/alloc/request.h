/* The per-host half of placement (DESIGN.md §6): which pools of a host's
 * free devices give a VM's dynamic PCI entries what they ask for. The
 * standalone power-on and the cluster's controller call the same function.
 * Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/spec.h"

struct hp_text;

/* Interchangeable free devices of one host: the same IDs, label, attributes,
 * NUMA node and PCIe switch, and (for --all-functions) the same answer to
 * "is it function 0 of a multi-function slot whose every function is free".
 * The caller hands out addresses from a pool in its own order. */
struct hp_alloc_pool {
        uint16_t vendor_id, device_id;
        uint16_t subsystem_vendor_id, subsystem_device_id;
        const char *label;       /* or NULL */
        char *const *attrs;      /* "key=value", NULL-terminated; NULL for none */
        int numa_node;           /* -1 when unknown: no same-numa group can use it */
        const char *pcie_switch; /* switch upstream port address; NULL or "" for none */
        bool whole_slot;
        size_t n_free;
};

/* Does the pool's device carry what entry e asks with its alternative alt
 * (IDs, label, attributes, whole slot)? Groups are not looked at. */
bool hp_alloc_pool_fits(const struct hp_vm_pci *e, size_t alt, const struct hp_alloc_pool *p);

/* Places the entries (dynamic ones, in the order given: the order of their
 * index) on the pools:
 *   - each entry takes hp_vm_pci_count() devices, all of one alternative;
 *   - alternatives are tried in order: an entry gets the first alternative
 *     with which the whole request can still be met (with the entries before
 *     it keeping theirs), as Kubernetes DRA's firstAvailable;
 *   - the devices of all entries that name one same_numa group (and all the
 *     devices of one such entry) share one NUMA node; one same_switch group,
 *     one PCIe switch;
 *   - no pool gives more than n_free devices.
 * A pool is a capacity, never a list of devices: the search is a maximum flow
 * from entries to pools, tried for each choice of alternatives and group
 * values, pruned by the flow of what is still open; so 64 identical VFs is
 * one flow, not 64! orders.
 *
 * ret_alt[i] (n_entries) is the alternative entry i got; ret_pool
 * (sum of the counts) is, entry after entry, the pool of each of its devices,
 * in pool order. Both written only on success.
 *
 * -ENODEV when the request cannot be met, with *ret_error (may be NULL) a
 * malloc'd message that names the entry (pciPassthru<index>) and the
 * constraint that could not be met (too few matching free devices, together
 * with other entries, a group's NUMA node or switch), with the numbers.
 * -E2BIG when the search was cut off (a request with very many
 * alternatives and groups), -EINVAL for an entry that is not dynamic,
 * -ENOMEM. */
int hp_alloc_request_place(const struct hp_vm_pci *entries, size_t n_entries, const struct hp_alloc_pool *pools,
                           size_t n_pools, size_t *ret_alt, size_t *ret_pool, char **ret_error);

/* The same, with the devices on one NUMA node when they can be without
 * giving up an alternative the plain answer has: for a request that names
 * no same-NUMA group of its own, the answer of all its entries in one such
 * group is taken when its alternatives are the plain answer's (*ret_local
 * true then). Placement prefers such hosts (place.h) and power-on takes
 * these devices, so both name the same. */
int hp_alloc_request_place_local(const struct hp_vm_pci *entries, size_t n_entries, const struct hp_alloc_pool *pools,
                                 size_t n_pools, size_t *ret_alt, size_t *ret_pool, bool *ret_local, char **ret_error);

/* What entry e asks for, as the matcher's messages say it: "10de:20b2 or
 * 10de:20b0 with label 'a' and attributes k=v"; with alt < n_allowed, that
 * alternative's IDs alone (SIZE_MAX: every alternative). */
void hp_alloc_text_wanted(struct hp_text *t, const struct hp_vm_pci *e, size_t alt);

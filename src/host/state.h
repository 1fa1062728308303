/* The passthrough state of a device (DESIGN.md §4): what the operator asked
 * for (the store), what the kernel does now (the inventory), and why they
 * differ, in words a user can act on. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hp_dev_config;
struct hp_pci_dev;
struct hp_pci_inventory;

struct hp_dev_state {
        bool desired;   /* passthrough asked for */
        bool active;    /* bound to vfio-pci now, and its IOMMU group viable */
        char *reason;   /* why desired != active, or NULL */
};

void hp_dev_state_done(struct hp_dev_state *s);

/* The state in one word, as `hwpass device list` shows it and /metrics
 * counts it: "host", "pending" (asked for, not active yet), "passthrough",
 * or "passthrough!" (on vfio-pci and viable, though not asked for). */
enum hp_dev_mode {
        HP_DEV_MODE_HOST,
        HP_DEV_MODE_PENDING,
        HP_DEV_MODE_PASSTHROUGH,
        HP_DEV_MODE_UNWANTED,
        HP_DEV_MODE_MAX,
};
enum hp_dev_mode hp_dev_mode_of(const struct hp_dev_state *s);
const char *hp_dev_mode_name(enum hp_dev_mode m);

/* The inventory together with what the store holds about it. */
struct hp_host_state {
        const struct hp_pci_inventory *inv;
        const struct hp_dev_config *configs; /* by address */
        size_t n_configs;
        char *const *serials; /* parallel to inv->devs (entries may be NULL), or NULL */
};
const struct hp_dev_config *hp_host_state_config(const struct hp_host_state *s, const char *address);

/* d: the device at the configured address now (NULL: gone); c: its stored
 * configuration (NULL: never configured). */
int hp_dev_state_of(const struct hp_host_state *st, const struct hp_pci_dev *d,
                    const struct hp_dev_config *c, struct hp_dev_state *ret);

/* Where the device a configuration was given to is now, when its address no
 * longer holds it (addresses renumbered after a hardware change): the one
 * device with the same IDs and the same serial (or, without serials, the same
 * physical slot) that has no configuration of its own. NULL when there is
 * none, or more than one. Its label follows it; passthrough never does. */
const struct hp_pci_dev *hp_dev_config_moved_to(const struct hp_host_state *st,
                                                const struct hp_dev_config *c);
/* The configuration whose device moved to d, or NULL. */
const struct hp_dev_config *hp_host_state_moved_here(const struct hp_host_state *st,
                                                     const struct hp_pci_dev *d);
/* Some configuration's device is gone or changed: serials are worth reading. */
bool hp_host_state_needs_serials(const struct hp_host_state *st);

/* The stored identity still describes the device at that address. */
bool hp_dev_config_matches(const struct hp_dev_config *c, const struct hp_pci_dev *d);

/* Every endpoint of the group is on vfio-pci or has no driver (bridges may
 * stay). *ret_blocker (may be NULL) gets the first device that is not. */
bool hp_pci_group_viable(const struct hp_pci_inventory *inv, int group,
                         const struct hp_pci_dev **ret_blocker);

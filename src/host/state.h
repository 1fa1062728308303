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
        const struct hp_dev_match *matches; /* entries not at their device's address (host/moves.h) */
        size_t n_matches;
};
const struct hp_dev_config *hp_host_state_config(const struct hp_host_state *s, const char *address);

/* d: the device at the configured address now (NULL: gone); c: its stored
 * configuration (NULL: never configured). */
int hp_dev_state_of(const struct hp_host_state *st, const struct hp_pci_dev *d,
                    const struct hp_dev_config *c, struct hp_dev_state *ret);

/* The stored address d's entry came from, when the view moved it here
 * (not recorded yet: the next write or 'hwpass host apply' does), or NULL. */
const char *hp_host_state_moved_from(const struct hp_host_state *st, const struct hp_pci_dev *d);
/* The stored entries, not at their devices, that d may be (same IDs,
 * nothing to tell them apart; the match says why): the operator decides
 * with 'hwpass device adopt'. One after another: prev NULL for the first,
 * then the match returned last; NULL after the last. */
const struct hp_dev_match *hp_host_state_may_be_next(const struct hp_host_state *st, const struct hp_pci_dev *d,
                                                     const struct hp_dev_match *prev);

/* The stored identity still describes the device at that address. */
bool hp_dev_config_matches(const struct hp_dev_config *c, const struct hp_pci_dev *d);

/* Every endpoint of the group is on vfio-pci or has no driver (bridges may
 * stay). *ret_blocker (may be NULL) gets the first device that is not. */
bool hp_pci_group_viable(const struct hp_pci_inventory *inv, int group,
                         const struct hp_pci_dev **ret_blocker);

/* IOMMU groups and the per-device passthrough verdict: pure functions of a
 * PCI inventory, so every rule is tested on fixtures. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hp_pci_dev;
struct hp_pci_inventory;

struct hp_iommu_group {
        int id;
        size_t *members; /* indices into inv->devs, in address order */
        size_t n_members;
        size_t n_endpoints; /* members that are not bridges */
};

/* Groups in ascending id order; devices without a group are not in any. */
int hp_iommu_groups(const struct hp_pci_inventory *inv, struct hp_iommu_group **ret, size_t *ret_n);
void hp_iommu_groups_free(struct hp_iommu_group *g, size_t n);

/* A group is isolated when it holds at most one endpoint. */
static inline bool hp_iommu_group_isolated(const struct hp_iommu_group *g)
{
        return g->n_endpoints <= 1;
}

/* What the host itself needs, by class ("an SMBus controller: the host needs
 * it"); NULL when the class is not one of them. */
const char *hp_pci_host_class_reason(const struct hp_pci_dev *d);

struct hp_verdict {
        bool capable;
        const char *blocker; /* a few words for the first reason: "shared group" */
        char **reasons; /* why not; empty when capable */
        char **notes;   /* what the user should know even when capable */
};

int hp_pci_verdict(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d,
                   struct hp_verdict *ret);
void hp_verdict_done(struct hp_verdict *v);

/* Passthrough plans: what enabling or disabling passthrough of some devices
 * would do, as a pure function of the inventory, the host's own uses of its
 * devices and the stored state. Applying a plan is bind.c's job. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pci.h"

struct hp_dev_config;
struct hp_host_uses;

enum hp_plan_action {
        HP_PLAN_ENABLE,  /* to vfio-pci */
        HP_PLAN_DISABLE, /* back to the host driver */
};

struct hp_plan_step {
        char address[HP_SBDF_LEN];
        char *from_driver; /* bound now, or NULL */
        char *to_driver;   /* "vfio-pci", the remembered host driver, or NULL: the kernel's choice */
        bool requested;    /* named by the user, not pulled in by its group */
};

struct hp_plan {
        enum hp_plan_action action;
        struct hp_plan_step *steps; /* devices that change, in address order */
        size_t n_steps;
        char **unchanged; /* addresses already where they should be */
        char **warnings;  /* what the user should know; the plan still applies */
        char **refusals;  /* why it may not be applied without --force */
        char **errors;    /* why it can never be applied */
};

struct hp_plan_input {
        const struct hp_pci_inventory *inv;
        const struct hp_host_uses *uses;        /* may be NULL: no host use known */
        const struct hp_dev_config *configs;    /* stored state, any order */
        size_t n_configs;
};

/* Plans action for the devices at addresses (canonical SBDFs) and the rest of
 * their IOMMU groups. With force, refusals become warnings; errors stay. */
int hp_plan_passthrough(const struct hp_plan_input *in, enum hp_plan_action action,
                        char *const *addresses, bool force, struct hp_plan **ret);
void hp_plan_free(struct hp_plan *p);
static inline void hp_plan_freep(struct hp_plan **p)
{
        hp_plan_free(*p);
}
/* No errors and no refusals: the plan may be applied. */
bool hp_plan_applicable(const struct hp_plan *p);

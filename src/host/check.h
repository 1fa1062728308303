/* Passthrough readiness of a host: one result per check, each with the exact
 * fix when it does not pass (the virt-host-validate idea, complete for VFIO). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hp_host;
struct hp_pci_inventory;

enum hp_check_level {
        HP_CHECK_PASS,
        HP_CHECK_WARN,
        HP_CHECK_FAIL,
};

struct hp_check {
        const char *id;    /* stable identifier: "iommu-firmware" */
        const char *title; /* "IOMMU in firmware (ACPI DMAR/IVRS)" */
        enum hp_check_level level;
        char *message;     /* what was found */
        char *fix;         /* what to do; NULL when the check passes */
};

struct hp_check_report {
        struct hp_check *checks;
        size_t n_checks;
};

int hp_host_check(const struct hp_host *h, const struct hp_pci_inventory *inv,
                  struct hp_check_report **ret);
void hp_check_report_free(struct hp_check_report *r);
static inline void hp_check_report_freep(struct hp_check_report **r)
{
        hp_check_report_free(*r);
}

/* The host can do passthrough: no check failed. */
bool hp_check_report_ok(const struct hp_check_report *r);
const char *hp_check_level_to_string(enum hp_check_level l);

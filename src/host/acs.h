/* Why an IOMMU group holds more than one device: the PCIe ports on a
 * device's way to the root and their Access Control Services (ACS), read
 * from config space, and what would isolate the device. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommu.h"
#include "pci.h"

struct hp_host;

/* ACS capability/control bits the kernel requires of a port (REQ_ACS_FLAGS). */
#define HP_ACS_SV 0x0001 /* Source Validation */
#define HP_ACS_RR 0x0004 /* P2P Request Redirect */
#define HP_ACS_CR 0x0008 /* P2P Completion Redirect */
#define HP_ACS_UF 0x0010 /* Upstream Forwarding */
#define HP_ACS_REQUIRED (HP_ACS_SV | HP_ACS_RR | HP_ACS_CR | HP_ACS_UF)

/* PCIe device/port types (PCIe capability register, bits 7:4). */
#define HP_PCIE_ROOT_PORT 0x4
#define HP_PCIE_UPSTREAM 0x5
#define HP_PCIE_DOWNSTREAM 0x6
#define HP_PCIE_TO_PCI_BRIDGE 0x7

enum hp_acs_state {
        HP_ACS_UNREADABLE, /* config space too short (beyond 64 bytes needs root) */
        HP_ACS_NOT_PCIE,   /* conventional PCI: no PCIe capability */
        HP_ACS_ABSENT,     /* PCIe without an ACS capability */
        HP_ACS_INCOMPLETE, /* ACS present, a required control unsupported or off */
        HP_ACS_ENABLED,
};

struct hp_acs_info {
        enum hp_acs_state state;
        int pcie_type; /* HP_PCIE_*, -1 when not PCIe or unreadable */
        bool multifunction;
        uint16_t cap, ctrl; /* ACS Capability and Control registers */
};

/* Pure: parses len bytes of config space. */
void hp_acs_parse(const uint8_t *cfg, size_t len, struct hp_acs_info *ret);
/* Reads sys/bus/pci/devices/ADDR/config. A missing or short file is
 * HP_ACS_UNREADABLE, not an error. */
int hp_acs_read(const struct hp_host *h, const char *address, struct hp_acs_info *ret);
/* Whether the kernel counts this function as isolating what is below it. */
bool hp_acs_isolates(const struct hp_acs_info *a);
/* "Request Redirect, Upstream Forwarding": the required controls not on. */
void hp_acs_missing(const struct hp_acs_info *a, char *buf, size_t size);

enum hp_isolation_cause {
        HP_ISOLATION_OK,         /* nothing on the path breaks isolation */
        HP_ISOLATION_FUNCTIONS,  /* only the functions of its own slot share the group */
        HP_ISOLATION_NO_ACS,     /* a port (or multi-function device) lacks ACS */
        HP_ISOLATION_PCI_BRIDGE, /* behind a conventional PCI bridge */
        HP_ISOLATION_UNREADABLE, /* a port's config space could not be read */
};

struct hp_isolation {
        enum hp_isolation_cause cause;
        char culprit[HP_SBDF_LEN]; /* the function that breaks the group, "" if none */
        char *why;                 /* NULL when cause is HP_ISOLATION_OK */
        char *fix;
};

const char *hp_isolation_cause_name(enum hp_isolation_cause c);

/* Walks from d up to the root (the parents of its sysfs path) and says
 * which function breaks its group and what would isolate it. */
int hp_acs_explain(const struct hp_host *h, const struct hp_pci_inventory *inv,
                   const struct hp_pci_dev *d, struct hp_isolation *ret);
void hp_isolation_done(struct hp_isolation *iso);

/* The non-isolated group g, explained: one entry per distinct cause and
 * culprit, with the endpoints it holds together. Empty for an isolated group. */
struct hp_group_isolation {
        struct hp_isolation iso;
        char **devices; /* endpoint addresses */
};
int hp_acs_explain_group(const struct hp_host *h, const struct hp_pci_inventory *inv,
                         const struct hp_iommu_group *g, struct hp_group_isolation **ret,
                         size_t *ret_n);
void hp_group_isolation_free(struct hp_group_isolation *v, size_t n);

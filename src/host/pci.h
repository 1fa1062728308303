/* PCI inventory: every PCI function of the host as sysfs describes it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_host;
struct hp_names;

#define HP_SBDF_LEN 13 /* "0000:01:00.0" + NUL */

struct hp_pci_addr {
        uint16_t domain;
        uint8_t bus, dev, fn;
};

/* Parses "DDDD:BB:DD.F" or "BB:DD.F" (domain 0). Strict: hex digits of the
 * right width, device <= 1f, function <= 7, nothing else. */
int hp_pci_addr_parse(const char *s, struct hp_pci_addr *ret);
void hp_pci_addr_format(const struct hp_pci_addr *a, char buf[HP_SBDF_LEN]);
int hp_pci_addr_cmp(const struct hp_pci_addr *a, const struct hp_pci_addr *b);
/* The PCI function a sysfs device path hangs off: the next-to-last component
 * of ".../0000:00:14.0/usb1" when it is a full address. false when it is not
 * (a root bus, a platform device). */
bool hp_pci_addr_parent_of_path(const char *path, char ret[HP_SBDF_LEN]);

struct hp_pci_bar {
        int index; /* 0-5, or 6 for the expansion ROM */
        uint64_t start;
        uint64_t size;
        bool is_io;
        bool is_64bit;
        bool prefetchable;
};

struct hp_pci_dev {
        struct hp_pci_addr addr;
        char address[HP_SBDF_LEN];
        uint16_t vendor_id, device_id;
        uint16_t subsystem_vendor_id, subsystem_device_id;
        uint32_t class; /* class << 16 | subclass << 8 | prog-if */
        uint8_t revision;

        char *vendor_name, *device_name, *subsystem_vendor_name, *subsystem_name, *class_name;

        char *driver;          /* NULL when no driver is bound */
        char *driver_override; /* NULL when unset */
        int iommu_group;       /* -1 when the device has none */
        int numa_node;         /* -1 when unknown */
        bool boot_vga;
        bool has_reset;        /* the kernel can reset it (reset attribute present) */
        char **reset_methods;  /* from reset_method; never NULL */
        char *slot;            /* physical slot name, or NULL */
        char *parent;          /* address of the bridge above, NULL on a root bus */
        /* The PCIe switch it sits below: the address of the nearest switch
         * upstream port above it; "" when none (a root port, a root bus, or
         * config space that could not be read). */
        char pcie_switch[HP_SBDF_LEN];
        char *sysfs_path;      /* "devices/pci0000:00/0000:00:01.0/..." */
        bool uevent_read;      /* IDs and driver came from the uevent file */

        struct hp_pci_bar bars[6];
        size_t n_bars;
        uint64_t rom_size;

        bool is_pf;  /* SR-IOV physical function */
        int sriov_total_vfs, sriov_num_vfs;
        char *physfn; /* address of the PF when this is a VF */
};

struct hp_pci_inventory {
        struct hp_pci_dev *devs; /* sorted by address */
        size_t n_devs;
        bool has_iommu; /* the host has IOMMU groups at all */
};

/* Reads every PCI function below sys/bus/pci/devices. names may be NULL. */
int hp_pci_scan(const struct hp_host *h, struct hp_names *names, struct hp_pci_inventory **ret);
void hp_pci_inventory_free(struct hp_pci_inventory *inv);
static inline void hp_pci_inventory_freep(struct hp_pci_inventory **p)
{
        hp_pci_inventory_free(*p);
}

/* Fills every device's pcie_switch from its bridges' PCIe port types (config
 * space: upstream port 5, downstream 6, root port 4). Part of a scan. */
int hp_pci_topology_fill(const struct hp_host *h, struct hp_pci_inventory *inv);

const struct hp_pci_dev *hp_pci_find(const struct hp_pci_inventory *inv, const char *address);

/* Class predicates. */
bool hp_pci_dev_is_bridge(const struct hp_pci_dev *d);
enum hp_pci_class_filter {
        HP_CLASS_ANY,
        HP_CLASS_GPU,
        HP_CLASS_NET,
        HP_CLASS_STORAGE,
        HP_CLASS_USB,
        HP_CLASS_AUDIO,
};
int hp_pci_class_filter_from_string(const char *s, enum hp_pci_class_filter *ret);
bool hp_pci_dev_matches_class(const struct hp_pci_dev *d, enum hp_pci_class_filter f);

/* A serial number that names this very device wherever it is plugged: the
 * PCIe Device Serial Number from config space, else the NVMe controller's
 * serial, else the permanent MAC of its network interface. *ret is NULL when
 * the device has none. Read on demand: it is not part of a scan. */
int hp_pci_read_serial(const struct hp_host *h, const struct hp_pci_dev *d, char **ret);

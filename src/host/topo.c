/* Where a PCI function sits in the PCIe tree, for the placement constraints
 * (DESIGN.md §6, "same PCIe switch"): the switch above it is the nearest
 * switch upstream port on its way to the root, as the kernel's sysfs nesting
 * (the parent chain) and each bridge's PCIe capability (port type) show. Two
 * devices below one upstream port talk peer to peer without the root complex. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acs.h"
#include "pci.h"

#define MAX_DEPTH 32

/* Per device, the port type of bridges (-1 for the others or unread). */
static int port_type(const struct hp_host *h, const struct hp_pci_inventory *inv, int *types, const char *address)
{
        const struct hp_pci_dev *p = hp_pci_find(inv, address);
        struct hp_acs_info a;
        size_t i;

        if (!p)
                return -1;
        i = (size_t)(p - inv->devs);
        if (types[i] == -2) {
                types[i] = -1;
                if (hp_acs_read(h, p->address, &a) >= 0)
                        types[i] = a.pcie_type;
        }
        return types[i];
}

int hp_pci_topology_fill(const struct hp_host *h, struct hp_pci_inventory *inv)
{
        int *types = malloc((inv->n_devs + 1) * sizeof(*types));

        if (!types)
                return -ENOMEM;
        /* Each bridge's config space is read once, when a device below it asks. */
        for (size_t i = 0; i < inv->n_devs; i++)
                types[i] = -2;
        for (size_t i = 0; i < inv->n_devs; i++) {
                struct hp_pci_dev *d = &inv->devs[i];
                const char *up = d->parent;

                d->pcie_switch[0] = '\0';
                for (int depth = 0; up && depth < MAX_DEPTH; depth++) {
                        const struct hp_pci_dev *p = hp_pci_find(inv, up);

                        if (!p)
                                break;
                        if (port_type(h, inv, types, up) == HP_PCIE_UPSTREAM) {
                                memcpy(d->pcie_switch, p->address, HP_SBDF_LEN);
                                break;
                        }
                        up = p->parent;
                }
        }
        free(types);
        return 0;
}

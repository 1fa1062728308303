/* hwpass iommu list: the IOMMU groups, marking the ones that are not isolated. */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "host/acs.h"
#include "host/json.h"
#include "host/iommu.h"
#include "host/pci.h"
#include "util/macro.h"

/* Under a group that is not isolated: what breaks it and what would help. */
static int print_isolation(struct hp_cli *c, const struct hp_pci_inventory *inv,
                           const struct hp_iommu_group *g)
{
        struct hp_group_isolation *v = NULL;
        size_t n = 0;
        int r = hp_acs_explain_group(c->host, inv, g, &v, &n);

        if (r < 0)
                return hp_cli_error(r, "cannot read the PCIe ports above IOMMU group %d", g->id);
        for (size_t i = 0; i < n; i++) {
                printf("  why (");
                for (size_t j = 0; v[i].devices[j]; j++)
                        printf("%s%s", j ? ", " : "", v[i].devices[j]);
                printf("): %s\n    fix: %s\n", v[i].iso.why, v[i].iso.fix);
        }
        hp_group_isolation_free(v, n);
        return HP_EXIT_OK;
}

int hp_cmd_iommu_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        struct hp_iommu_group *groups = NULL;
        size_t n = 0;
        int r;

        r = hp_cli_no_args("iommu list", argc, argv);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_cli_scan_pci(c, &inv);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(hp_json_iommu_groups(c->host, inv));
        r = hp_iommu_groups(inv, &groups, &n);
        if (r < 0)
                return hp_cli_error(r, "cannot group the devices");
        if (n == 0)
                printf("No IOMMU groups: the IOMMU is off or absent. Run 'hwpass host check' to see why.\n");
        for (size_t i = 0; i < n; i++) {
                const struct hp_iommu_group *g = &groups[i];

                if (hp_iommu_group_isolated(g))
                        printf("IOMMU group %d\n", g->id);
                else
                        printf("IOMMU group %d  NOT ISOLATED: %zu endpoints can only be passed through together\n",
                               g->id, g->n_endpoints);
                for (size_t j = 0; j < g->n_members; j++) {
                        const struct hp_pci_dev *d = &inv->devs[g->members[j]];

                        printf("  %s  %04x:%04x  %-30s %s %s%s%s%s\n", d->address, d->vendor_id,
                               d->device_id, d->class_name ? d->class_name : "",
                               d->vendor_name ? d->vendor_name : "[unknown vendor]",
                               d->device_name ? d->device_name : "[unknown device]",
                               d->driver ? " [" : "", d->driver ? d->driver : "", d->driver ? "]" : "");
                }
                r = print_isolation(c, inv, g);
                if (r != HP_EXIT_OK)
                        break;
        }
        hp_iommu_groups_free(groups, n);
        return r;
}

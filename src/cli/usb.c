/* hwpass usb list: controller -> bus -> port -> device, so a user sees which
 * physical ports go along when a whole controller is passed through. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/json.h"
#include "cli.h"
#include "host/pci.h"
#include "host/usb.h"
#include "util/hostroot.h"
#include "util/macro.h"

static const char *speed_text(const char *mbps, char *buf, size_t size)
{
        if (!mbps)
                return "?";
        if (strlen(mbps) > 3 && streq(mbps + strlen(mbps) - 3, "000"))
                snprintf(buf, size, "%.*s Gb/s", (int)strlen(mbps) - 3, mbps);
        else
                snprintf(buf, size, "%s Mb/s", mbps);
        return buf;
}

static void print_device(const struct hp_usb_dev *d)
{
        char speed[32];
        size_t depth = 0;

        for (const char *p = d->port_path; *p; p++)
                depth += *p == '.';
        printf("      %*sport %-6s %04x:%04x %s%s%s", (int)(depth * 2), "", d->port_path, d->vendor_id,
               d->product_id, d->manufacturer ? d->manufacturer : "", d->manufacturer ? " " : "",
               d->product ? d->product : "[no name]");
        if (d->serial)
                printf(" serial=%s", d->serial);
        printf("  %s", speed_text(d->speed, speed, sizeof(speed)));
        if (d->maxchild > 0)
                printf("  hub, %d ports", d->maxchild);
        for (size_t i = 0; d->drivers[i]; i++)
                printf("%s%s", i ? "," : "  [", d->drivers[i]);
        printf("%s\n", d->drivers[0] ? "]" : "");
}

static void print_buses(const struct hp_usb_inventory *usb, const char *addr)
{
        bool any = false;

        for (size_t i = 0; i < usb->n_devs; i++) {
                const struct hp_usb_dev *hub = &usb->devs[i];
                char speed[32];
                bool empty = true;

                if (!hp_usb_root_hub_of(hub, addr))
                        continue;
                any = true;
                printf("  bus %d: USB %s, %s, %d ports\n", hub->busnum, hub->version ? hub->version : "?",
                       speed_text(hub->speed, speed, sizeof(speed)), hub->maxchild);
                for (size_t j = 0; j < usb->n_devs; j++)
                        if (!usb->devs[j].is_root_hub && usb->devs[j].busnum == hub->busnum) {
                                print_device(&usb->devs[j]);
                                empty = false;
                        }
                if (empty)
                        printf("      (nothing plugged in)\n");
        }
        if (!any)
                printf("  no USB bus: the controller has no host driver bound\n");
}

int hp_cmd_usb_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *usb = NULL;
        bool orphans = false, any = false;
        int r;

        r = hp_cli_no_args("usb list", argc, argv);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_cli_scan_pci(c, &inv);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_usb_scan(c->host, &usb);
        if (r < 0)
                return hp_cli_error(r, "cannot read the USB devices under '%s'", c->host_root);
        if (c->json)
                return hp_cli_print_json(hp_json_usb(usb, inv));
        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *d = &inv->devs[i];

                if (!hp_pci_dev_matches_class(d, HP_CLASS_USB))
                        continue;
                any = true;
                printf("%s %s %s", d->address, d->vendor_name ? d->vendor_name : "[unknown vendor]",
                       d->device_name ? d->device_name : "[unknown device]");
                if (d->driver)
                        printf(" [%s]", d->driver);
                if (d->iommu_group >= 0)
                        printf(" (IOMMU group %d)", d->iommu_group);
                printf("\n");
                print_buses(usb, d->address);
        }
        for (size_t i = 0; i < usb->n_devs; i++)
                orphans |= hp_usb_root_hub_of(&usb->devs[i], NULL);
        if (orphans) {
                printf("not on PCI (virtual or platform controllers)\n");
                print_buses(usb, NULL);
                any = true;
        }
        if (!any)
                printf("No USB controllers on this host.\n");
        return HP_EXIT_OK;
}

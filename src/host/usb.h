/* USB inventory: every USB device under sys/bus/usb/devices, and which PCI
 * controller each root hub (bus) hangs off. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_host;

struct hp_usb_dev {
        char *name;       /* kernel name: "usb1" for a root hub, "1-4.2" */
        char *parent;     /* kernel name of the hub above; NULL for a root hub */
        char *controller; /* root hubs: PCI address of the host controller, or NULL */
        int busnum, devnum;
        char *port_path;  /* "4.2" (devpath); "0" for a root hub */
        uint16_t vendor_id, product_id;
        char *manufacturer, *product, *serial;
        char *speed;      /* Mb/s as the kernel prints it: "1.5", "12", "480", "5000" */
        char *version;    /* USB version: "2.00" */
        unsigned device_class;
        int maxchild;     /* ports, when a hub */
        char **drivers;   /* drivers of its interfaces ("usbhid", "usb-storage"); never NULL */
        bool is_root_hub;
};

struct hp_usb_inventory {
        struct hp_usb_dev *devs; /* by bus, then port path */
        size_t n_devs;
};

int hp_usb_scan(const struct hp_host *h, struct hp_usb_inventory **ret);
void hp_usb_inventory_free(struct hp_usb_inventory *inv);
static inline void hp_usb_inventory_freep(struct hp_usb_inventory **p)
{
        hp_usb_inventory_free(*p);
}

/* A root hub (a bus) of the controller at PCI address addr; with addr NULL,
 * a root hub that is not on PCI (a virtual or platform controller). */
bool hp_usb_root_hub_of(const struct hp_usb_dev *d, const char *addr);

/* "4.2" < "4.10" < "5": compares port paths numerically, component by component. */
int hp_usb_port_path_cmp(const char *a, const char *b);

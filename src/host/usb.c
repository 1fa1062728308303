/* USB inventory from sys/bus/usb/devices (Documentation/ABI/stable/sysfs-bus-usb). */
#include "usb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

static void usb_dev_done(struct hp_usb_dev *d)
{
        free(d->name);
        free(d->parent);
        free(d->controller);
        free(d->port_path);
        free(d->manufacturer);
        free(d->product);
        free(d->serial);
        free(d->speed);
        free(d->version);
        hp_strv_free(d->drivers);
}

void hp_usb_inventory_free(struct hp_usb_inventory *inv)
{
        if (!inv)
                return;
        for (size_t i = 0; i < inv->n_devs; i++)
                usb_dev_done(&inv->devs[i]);
        free(inv->devs);
        free(inv);
}

bool hp_usb_root_hub_of(const struct hp_usb_dev *d, const char *addr)
{
        if (!d->is_root_hub)
                return false;
        if (!addr)
                return !d->controller;
        return d->controller && streq(d->controller, addr);
}

int hp_usb_port_path_cmp(const char *a, const char *b)
{
        for (;;) {
                char *ea, *eb;
                unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);

                if (x != y)
                        return x < y ? -1 : 1;
                if (*ea != '.' || *eb != '.')
                        return (*ea == '.') - (*eb == '.');
                a = ea + 1;
                b = eb + 1;
        }
}

static int cmp_usb(const void *pa, const void *pb)
{
        const struct hp_usb_dev *a = pa, *b = pb;

        if (a->busnum != b->busnum)
                return a->busnum < b->busnum ? -1 : 1;
        if (a->is_root_hub != b->is_root_hub)
                return a->is_root_hub ? -1 : 1;
        return hp_usb_port_path_cmp(a->port_path, b->port_path);
}

static int dup_attr(int dfd, const char *name, char **ret)
{
        char buf[256];
        const char *s = buf;
        int r = hp_attr_read(dfd, name, buf, sizeof(buf));

        *ret = NULL;
        if (r == -ENOENT || r == 0)
                return 0;
        if (r < 0)
                return r;
        while (*s == ' ') /* "version" is printed as " 2.00" */
                s++;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* Parent of "1-4.2" is "1-4"; of "1-4" is "usb1". */
static int parent_name(const char *name, int busnum, char **ret)
{
        const char *dot = strrchr(name, '.');
        char buf[64];

        if (dot)
                snprintf(buf, sizeof(buf), "%.*s", (int)(dot - name), name);
        else
                snprintf(buf, sizeof(buf), "usb%d", busnum);
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* The root hub's sysfs path ends in <controller>/usbN. */
static int controller_of(const struct hp_host *h, const char *name, char **ret)
{
        char rel[128], target[4096], addr[HP_SBDF_LEN];
        int r;

        *ret = NULL;
        snprintf(rel, sizeof(rel), "sys/bus/usb/devices/%s", name);
        r = hp_host_readlink(h, rel, target, sizeof(target));
        if (r < 0)
                return r;
        if (!hp_pci_addr_parent_of_path(target, addr))
                return 0;
        *ret = strdup(addr);
        return *ret ? 0 : -ENOMEM;
}

static int read_usb_dev(const struct hp_host *h, const char *name, struct hp_usb_dev *d)
{
        _cleanup_close_ int dfd = -1;
        unsigned long long v;
        char rel[128];
        int r, i;

        d->name = strdup(name);
        d->drivers = calloc(1, sizeof(char *));
        if (!d->name || !d->drivers)
                return -ENOMEM;
        snprintf(rel, sizeof(rel), "sys/bus/usb/devices/%s", name);
        dfd = hp_host_openat(h, rel, O_PATH | O_DIRECTORY);
        if (dfd < 0)
                return dfd;
        if (hp_attr_read_int(dfd, "busnum", &i) < 0)
                return -EBADMSG;
        d->busnum = i;
        if (hp_attr_read_int(dfd, "devnum", &i) >= 0)
                d->devnum = i;
        if (hp_attr_read_hex(dfd, "idVendor", &v) >= 0)
                d->vendor_id = (uint16_t)v;
        if (hp_attr_read_hex(dfd, "idProduct", &v) >= 0)
                d->product_id = (uint16_t)v;
        if (hp_attr_read_hex(dfd, "bDeviceClass", &v) >= 0)
                d->device_class = (unsigned)v;
        if (hp_attr_read_int(dfd, "maxchild", &i) >= 0)
                d->maxchild = i;
        if ((r = dup_attr(dfd, "devpath", &d->port_path)) < 0 ||
            (r = dup_attr(dfd, "manufacturer", &d->manufacturer)) < 0 ||
            (r = dup_attr(dfd, "product", &d->product)) < 0 ||
            (r = dup_attr(dfd, "serial", &d->serial)) < 0 ||
            (r = dup_attr(dfd, "speed", &d->speed)) < 0 ||
            (r = dup_attr(dfd, "version", &d->version)) < 0)
                return r;
        if (!d->port_path) {
                d->port_path = strdup("0");
                if (!d->port_path)
                        return -ENOMEM;
        }
        d->is_root_hub = hp_startswith(name, "usb");
        if (d->is_root_hub)
                return controller_of(h, name, &d->controller);
        return parent_name(name, d->busnum, &d->parent);
}

/* Interfaces are named "<device>:<config>.<interface>"; their drivers say
 * what the device is used as. */
static int add_interface_driver(const struct hp_host *h, struct hp_usb_inventory *inv,
                                const char *name)
{
        char rel[160], drv[128];
        size_t len = (size_t)(strchr(name, ':') - name);
        _cleanup_close_ int dfd = -1;

        snprintf(rel, sizeof(rel), "sys/bus/usb/devices/%s", name);
        dfd = hp_host_openat(h, rel, O_PATH | O_DIRECTORY);
        if (dfd < 0 || hp_attr_link_base(dfd, "driver", drv, sizeof(drv)) < 0)
                return 0;
        for (size_t i = 0; i < inv->n_devs; i++) {
                struct hp_usb_dev *d = &inv->devs[i];

                if (strlen(d->name) == len && strncmp(d->name, name, len) == 0) {
                        if (d->is_root_hub || hp_strv_contains(d->drivers, drv))
                                return 0;
                        return hp_strv_push(&d->drivers, drv);
                }
        }
        return 0;
}

int hp_usb_scan(const struct hp_host *h, struct hp_usb_inventory **ret)
{
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *inv = calloc(1, sizeof(*inv));
        _cleanup_strv_free_ char **names = NULL;
        size_t n;
        int r;

        if (!inv)
                return -ENOMEM;
        r = hp_host_list_dir(h, "sys/bus/usb/devices", &names);
        if (r < 0)
                return r;
        n = hp_strv_length(names);
        inv->devs = calloc(n ? n : 1, sizeof(*inv->devs));
        if (!inv->devs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (strchr(names[i], ':'))
                        continue;
                r = read_usb_dev(h, names[i], &inv->devs[inv->n_devs++]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++)
                if (strchr(names[i], ':')) {
                        r = add_interface_driver(h, inv, names[i]);
                        if (r < 0)
                                return r;
                }
        if (inv->n_devs > 1) /* none: no array (qsort wants one) */
                qsort(inv->devs, inv->n_devs, sizeof(*inv->devs), cmp_usb);
        *ret = TAKE_PTR(inv);
        return 0;
}

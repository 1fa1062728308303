/* PCI inventory from sysfs: sys/bus/pci/devices/<SBDF>/ and the files the
 * kernel puts there (Documentation/ABI/testing/sysfs-bus-pci). */
#include "pci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

/* IORESOURCE_* bits of the resource file's flags column (include/linux/ioport.h). */
#define IORESOURCE_IO 0x00000100ULL
#define IORESOURCE_MEM 0x00000200ULL
#define IORESOURCE_PREFETCH 0x00002000ULL
#define IORESOURCE_MEM_64 0x00100000ULL

static int hexfield(const char *s, size_t n, unsigned max, unsigned *ret)
{
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                unsigned d;

                if (c >= '0' && c <= '9')
                        d = (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (unsigned)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        d = (unsigned)(c - 'A' + 10);
                else
                        return -EINVAL;
                v = v * 16 + d;
        }
        if (v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

int hp_pci_addr_parse(const char *s, struct hp_pci_addr *ret)
{
        unsigned dom = 0, bus, dev, fn;
        size_t len;

        if (!s)
                return -EINVAL;
        len = strlen(s);
        if (len == 12) {
                if (s[4] != ':' || hexfield(s, 4, 0xffff, &dom) < 0)
                        return -EINVAL;
                s += 5;
                len -= 5;
        }
        if (len != 7 || s[2] != ':' || s[5] != '.')
                return -EINVAL;
        if (hexfield(s, 2, 0xff, &bus) < 0 || hexfield(s + 3, 2, 0x1f, &dev) < 0 ||
            hexfield(s + 6, 1, 7, &fn) < 0)
                return -EINVAL;
        *ret = (struct hp_pci_addr){ .domain = (uint16_t)dom, .bus = (uint8_t)bus,
                                     .dev = (uint8_t)dev, .fn = (uint8_t)fn };
        return 0;
}

void hp_pci_addr_format(const struct hp_pci_addr *a, char buf[HP_SBDF_LEN])
{
        snprintf(buf, HP_SBDF_LEN, "%04x:%02x:%02x.%x", a->domain, a->bus, a->dev & 0x1fu, a->fn & 7u);
}

bool hp_pci_addr_parent_of_path(const char *path, char ret[HP_SBDF_LEN])
{
        const char *last = strrchr(path, '/'), *prev = NULL;
        struct hp_pci_addr a;
        char buf[HP_SBDF_LEN];

        if (!last)
                return false;
        for (const char *p = path; p < last; p++)
                if (*p == '/')
                        prev = p;
        if (!prev || last - prev - 1 != HP_SBDF_LEN - 1)
                return false;
        memcpy(buf, prev + 1, HP_SBDF_LEN - 1);
        buf[HP_SBDF_LEN - 1] = '\0';
        if (hp_pci_addr_parse(buf, &a) < 0)
                return false;
        memcpy(ret, buf, HP_SBDF_LEN);
        return true;
}

int hp_pci_addr_cmp(const struct hp_pci_addr *a, const struct hp_pci_addr *b)
{
        uint64_t ka = (uint64_t)a->domain << 16 | (unsigned)a->bus << 8 | (unsigned)a->dev << 3 | a->fn;
        uint64_t kb = (uint64_t)b->domain << 16 | (unsigned)b->bus << 8 | (unsigned)b->dev << 3 | b->fn;

        return ka < kb ? -1 : ka > kb;
}

static void pci_dev_done(struct hp_pci_dev *d)
{
        free(d->vendor_name);
        free(d->device_name);
        free(d->subsystem_vendor_name);
        free(d->subsystem_name);
        free(d->class_name);
        free(d->driver);
        free(d->driver_override);
        hp_strv_free(d->reset_methods);
        free(d->slot);
        free(d->parent);
        free(d->sysfs_path);
        free(d->physfn);
}

void hp_pci_inventory_free(struct hp_pci_inventory *inv)
{
        if (!inv)
                return;
        for (size_t i = 0; i < inv->n_devs; i++)
                pci_dev_done(&inv->devs[i]);
        free(inv->devs);
        free(inv);
}

const struct hp_pci_dev *hp_pci_find(const struct hp_pci_inventory *inv, const char *address)
{
        struct hp_pci_addr a;

        if (hp_pci_addr_parse(address, &a) < 0)
                return NULL;
        for (size_t i = 0; i < inv->n_devs; i++)
                if (hp_pci_addr_cmp(&inv->devs[i].addr, &a) == 0)
                        return &inv->devs[i];
        return NULL;
}

/* Physical slots: sys/bus/pci/slots/<name>/address holds "DDDD:BB:DD". */
struct slot {
        char address[11];
        char *name;
};

static void slots_free(struct slot *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(s[i].name);
        free(s);
}

static int read_slots(const struct hp_host *h, struct slot **ret, size_t *ret_n)
{
        _cleanup_close_ int fd = hp_host_openat(h, "sys/bus/pci/slots", O_RDONLY | O_DIRECTORY);
        struct slot *slots = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *dir;

        *ret = NULL;
        *ret_n = 0;
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        dir = fdopendir(fd);
        if (!dir)
                return -errno;
        fd = -1; /* owned by dir now */
        while ((de = readdir(dir))) {
                _cleanup_close_ int sfd = -1;
                char addr[64];
                struct slot *ns;

                if (de->d_name[0] == '.')
                        continue;
                sfd = openat(dirfd(dir), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (sfd < 0 || hp_attr_read(sfd, "address", addr, sizeof(addr)) != 10)
                        continue;
                ns = realloc(slots, (n + 1) * sizeof(*slots));
                if (!ns)
                        goto oom;
                slots = ns;
                memcpy(slots[n].address, addr, sizeof(slots[n].address));
                slots[n].name = strdup(de->d_name);
                if (!slots[n].name)
                        goto oom;
                n++;
        }
        closedir(dir);
        *ret = slots;
        *ret_n = n;
        return 0;
oom:
        closedir(dir);
        slots_free(slots, n);
        return -ENOMEM;
}

static int read_resources(int dfd, struct hp_pci_dev *d)
{
        char buf[4096];
        const char *p = buf;
        int r = hp_attr_read(dfd, "resource", buf, sizeof(buf));

        if (r < 0)
                return r == -ENOENT ? 0 : r;
        /* One "0xSTART 0xEND 0xFLAGS" line per resource: BARs 0-5, then the ROM. */
        for (int index = 0; index <= 6 && *p; index++) {
                unsigned long long v[3], start, end, flags;

                for (int i = 0; i < 3; i++) {
                        char *e;

                        errno = 0;
                        v[i] = strtoull(p, &e, 16);
                        if (errno || e == p || (*e != ' ' && *e != '\n' && *e != '\0'))
                                return -EBADMSG;
                        p = e;
                }
                while (*p == ' ' || *p == '\n')
                        p++;
                start = v[0];
                end = v[1];
                flags = v[2];
                if (end == 0 || end < start || !(flags & (IORESOURCE_IO | IORESOURCE_MEM)))
                        continue;
                if (index == 6) {
                        d->rom_size = end - start + 1;
                        continue;
                }
                d->bars[d->n_bars++] = (struct hp_pci_bar){
                        .index = index,
                        .start = start,
                        .size = end - start + 1,
                        .is_io = (flags & IORESOURCE_IO) != 0,
                        .is_64bit = (flags & IORESOURCE_MEM_64) != 0,
                        .prefetchable = (flags & IORESOURCE_PREFETCH) != 0,
                };
        }
        return 0;
}

static int read_optional_string(int dfd, const char *name, char **ret)
{
        char buf[256];
        int r = hp_attr_read(dfd, name, buf, sizeof(buf));

        *ret = NULL;
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (r == 0 || streq(buf, "(null)"))
                return 0;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

static int read_optional_link(int dfd, const char *name, char **ret)
{
        char buf[256];
        int r = hp_attr_link_base(dfd, name, buf, sizeof(buf));

        *ret = NULL;
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* sys/bus/pci/devices/X links to ../../../devices/pci0000:00/0000:00:01.0/X;
 * the component before X is the parent bridge when it is an address. */
static int set_topology(int devicesfd, const char *name, struct hp_pci_dev *d)
{
        char target[4096], parent[HP_SBDF_LEN];
        const char *dev;
        ssize_t n = readlinkat(devicesfd, name, target, sizeof(target) - 1);

        if (n < 0)
                return -errno;
        target[n] = '\0';
        dev = strstr(target, "devices/");
        d->sysfs_path = strdup(dev ? dev : target);
        if (!d->sysfs_path)
                return -ENOMEM;
        if (!hp_pci_addr_parent_of_path(target, parent))
                return 0;
        d->parent = strdup(parent);
        return d->parent ? 0 : -ENOMEM;
}

/* "KEY=HHHH:HHHH" or "KEY=HHHHHH" from a uevent text; false when absent. */
static bool uevent_hex(const char *uevent, const char *key, unsigned long long *a,
                       unsigned long long *b)
{
        size_t klen = strlen(key);
        char *end;

        for (const char *p = uevent; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (strncmp(p, key, klen) != 0 || p[klen] != '=')
                        continue;
                *a = strtoull(p + klen + 1, &end, 16);
                if (end == p + klen + 1)
                        return false;
                if (!b)
                        return *end == '\n' || *end == '\0';
                if (*end != ':')
                        return false;
                *b = strtoull(end + 1, &end, 16);
                return *end == '\n' || *end == '\0';
        }
        return false;
}

/* The device's uevent holds the kernel's own view of its IDs, class and
 * driver in one read; the single-value files are the fallback. */
static int read_ids(int dfd, struct hp_pci_dev *d)
{
        static const char *const files[] = { "vendor", "device", "subsystem_vendor",
                                             "subsystem_device", "class", "revision" };
        unsigned long long v[ELEMENTSOF(files)] = { 0 };
        bool have[ELEMENTSOF(files)] = { false };
        char uevent[1024];
        int r;

        r = hp_attr_read(dfd, "uevent", uevent, sizeof(uevent));
        if (r == -EBADFD) /* not a file: the tree is broken, not an old kernel */
                return r;
        if (r >= 0) {
                have[0] = have[1] = uevent_hex(uevent, "PCI_ID", &v[0], &v[1]);
                have[2] = have[3] = uevent_hex(uevent, "PCI_SUBSYS_ID", &v[2], &v[3]);
                have[4] = uevent_hex(uevent, "PCI_CLASS", &v[4], NULL);
                if (have[0] && have[4]) {
                        const char *drv = strstr(uevent, "DRIVER=");

                        d->uevent_read = true;
                        if (drv && (drv == uevent || drv[-1] == '\n')) {
                                d->driver = strndup(drv + 7, strcspn(drv + 7, "\n"));
                                if (!d->driver)
                                        return -ENOMEM;
                        }
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (have[i])
                        continue;
                r = hp_attr_read_hex(dfd, files[i], &v[i]);
                /* Only the identity is mandatory; old kernels lack some files. */
                if (r < 0 && (i < 2 || i == 4 || r != -ENOENT))
                        return r;
        }
        d->vendor_id = (uint16_t)v[0];
        d->device_id = (uint16_t)v[1];
        d->subsystem_vendor_id = (uint16_t)v[2];
        d->subsystem_device_id = (uint16_t)v[3];
        d->class = (uint32_t)v[4] & 0xffffff;
        d->revision = (uint8_t)v[5];
        return 0;
}

static int read_dev(const struct hp_host *h, int devicesfd, const char *name,
                    const struct slot *slots, size_t n_slots, struct hp_pci_dev *d)
{
        _cleanup_close_ int dfd = -1;
        char rel[64], buf[256];
        int r, v;

        d->iommu_group = -1;
        d->numa_node = -1;
        d->sriov_total_vfs = d->sriov_num_vfs = -1;
        hp_pci_addr_format(&d->addr, d->address);

        r = set_topology(devicesfd, name, d);
        if (r < 0)
                return r;
        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", name);
        dfd = hp_host_openat(h, rel, O_PATH | O_DIRECTORY);
        if (dfd < 0)
                return dfd;

        r = read_ids(dfd, d);
        if (r < 0)
                return r;
        if (!d->uevent_read) {
                r = read_optional_link(dfd, "driver", &d->driver);
                if (r < 0)
                        return r;
        }
        r = read_optional_string(dfd, "driver_override", &d->driver_override);
        if (r < 0)
                return r;
        r = hp_attr_link_base(dfd, "iommu_group", buf, sizeof(buf));
        if (r >= 0 && hp_parse_int(buf, &v) >= 0 && v >= 0)
                d->iommu_group = v;
        if (hp_attr_read_int(dfd, "numa_node", &v) >= 0 && v >= 0)
                d->numa_node = v;
        /* The kernel has boot_vga only for display devices. */
        if ((d->class >> 16) == 0x03 && hp_attr_read_int(dfd, "boot_vga", &v) >= 0)
                d->boot_vga = v == 1;
        r = hp_attr_read(dfd, "reset_method", buf, sizeof(buf));
        if (r < 0 && r != -ENOENT)
                return r;
        /* reset_method lists the methods (empty: none, or all turned off);
         * without it (kernels before 5.15), "reset" says there is one. */
        d->has_reset = r >= 0 ? buf[strspn(buf, " \n")] != '\0' : hp_attr_exists(dfd, "reset");
        r = hp_strv_split(r >= 0 ? buf : "", &d->reset_methods);
        if (r < 0)
                return r;
        r = read_resources(dfd, d);
        if (r < 0)
                return r;

        if (hp_attr_read_int(dfd, "sriov_totalvfs", &v) >= 0) {
                d->is_pf = true;
                d->sriov_total_vfs = v;
                d->sriov_num_vfs = hp_attr_read_int(dfd, "sriov_numvfs", &v) >= 0 ? v : 0;
        }
        r = read_optional_link(dfd, "physfn", &d->physfn);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_slots; i++)
                if (strncmp(slots[i].address, d->address, 10) == 0) {
                        d->slot = strdup(slots[i].name);
                        if (!d->slot)
                                return -ENOMEM;
                        break;
                }
        return 0;
}

static int cmp_dev(const void *a, const void *b)
{
        return hp_pci_addr_cmp(&((const struct hp_pci_dev *)a)->addr,
                               &((const struct hp_pci_dev *)b)->addr);
}

static bool same_bus(const struct hp_pci_dev *a, const struct hp_pci_dev *b)
{
        return a->addr.domain == b->addr.domain && a->addr.bus == b->addr.bus;
}

/* The kernel lists "bus" for a function that was alone on its bus when it
 * was found, but resets the bus only while it still is (a neighbour found
 * later makes the reset fail): a function whose only method is a bus reset
 * and that shares its bus has none that works. */
static void bus_resets(struct hp_pci_inventory *inv)
{
        for (size_t i = 0; i < inv->n_devs; i++) {
                struct hp_pci_dev *d = &inv->devs[i];
                bool alone = true;

                if (!d->has_reset || hp_strv_length(d->reset_methods) != 1 || !streq(d->reset_methods[0], "bus"))
                        continue;
                for (size_t k = 0; alone && k < inv->n_devs; k++)
                        alone = k == i || !same_bus(d, &inv->devs[k]);
                d->has_reset = alone;
        }
}

int hp_pci_scan(const struct hp_host *h, struct hp_names *names, struct hp_pci_inventory **ret)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = calloc(1, sizeof(*inv));
        _cleanup_close_ int fd = -1;
        struct slot *slots = NULL;
        size_t n_slots = 0, cap = 0;
        struct dirent *de;
        DIR *dir;
        int r;

        if (!inv)
                return -ENOMEM;
        fd = hp_host_openat(h, "sys/bus/pci/devices", O_RDONLY | O_DIRECTORY);
        if (fd == -ENOENT) {
                *ret = TAKE_PTR(inv);
                return 0;
        }
        if (fd < 0)
                return fd;
        r = read_slots(h, &slots, &n_slots);
        if (r < 0)
                return r;
        dir = fdopendir(fd);
        if (!dir) {
                slots_free(slots, n_slots);
                return -errno;
        }
        fd = -1;
        r = 0;
        while ((de = readdir(dir))) {
                struct hp_pci_addr a;
                struct hp_pci_dev *d;

                if (hp_pci_addr_parse(de->d_name, &a) < 0 || strlen(de->d_name) != 12)
                        continue;
                if (inv->n_devs == cap) {
                        struct hp_pci_dev *nd;

                        cap = cap ? cap * 2 : 64;
                        nd = realloc(inv->devs, cap * sizeof(*nd));
                        if (!nd) {
                                r = -ENOMEM;
                                break;
                        }
                        inv->devs = nd;
                }
                d = &inv->devs[inv->n_devs++];
                *d = (struct hp_pci_dev){ .addr = a };
                r = read_dev(h, dirfd(dir), de->d_name, slots, n_slots, d);
                if (r == -ENOENT) {
                        /* Gone since readdir (hot-unplug), or a link that leads
                         * nowhere inside the host root: not a device. */
                        pci_dev_done(d);
                        inv->n_devs--;
                        r = 0;
                        continue;
                }
                if (r >= 0 && names)
                        r = hp_names_fill(names, d);
                if (r < 0)
                        break;
                if (d->iommu_group >= 0)
                        inv->has_iommu = true;
        }
        closedir(dir);
        slots_free(slots, n_slots);
        if (r < 0)
                return r;
        if (inv->n_devs > 1) /* no devices: no array to sort (qsort wants one) */
                qsort(inv->devs, inv->n_devs, sizeof(*inv->devs), cmp_dev);
        bus_resets(inv);
        r = hp_pci_topology_fill(h, inv);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(inv);
        return 0;
}

bool hp_pci_dev_is_bridge(const struct hp_pci_dev *d)
{
        switch (d->class >> 8) {
        case 0x0600: /* host bridge */
        case 0x0601: /* ISA bridge */
        case 0x0602: /* EISA */
        case 0x0603: /* MicroChannel */
        case 0x0604: /* PCI-to-PCI bridge */
        case 0x0605: /* PCMCIA */
        case 0x0606: /* NuBus */
        case 0x0607: /* CardBus */
        case 0x0609: /* semi-transparent PCI-to-PCI */
                return true;
        default:
                return false;
        }
}

int hp_pci_class_filter_from_string(const char *s, enum hp_pci_class_filter *ret)
{
        static const struct {
                const char *name;
                enum hp_pci_class_filter f;
        } table[] = {
                { "gpu", HP_CLASS_GPU },       { "net", HP_CLASS_NET },
                { "storage", HP_CLASS_STORAGE }, { "usb", HP_CLASS_USB },
                { "audio", HP_CLASS_AUDIO },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(s, table[i].name)) {
                        *ret = table[i].f;
                        return 0;
                }
        return -EINVAL;
}

bool hp_pci_dev_matches_class(const struct hp_pci_dev *d, enum hp_pci_class_filter f)
{
        unsigned base = d->class >> 16, sub = (d->class >> 8) & 0xff;

        switch (f) {
        case HP_CLASS_ANY:
                return true;
        case HP_CLASS_GPU:
                return base == 0x03;
        case HP_CLASS_NET:
                return base == 0x02;
        case HP_CLASS_STORAGE:
                return base == 0x01;
        case HP_CLASS_USB:
                return base == 0x0c && sub == 0x03;
        case HP_CLASS_AUDIO:
                return base == 0x04 && (sub == 0x01 || sub == 0x03);
        }
        return false;
}

/* Device serial numbers, so stored labels and desired state can be checked
 * against the very device they were given to (DESIGN.md §4). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pci.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

#define PCI_EXT_CAP_START 0x100
#define PCI_EXT_CAP_ID_DSN 0x0003

/* The Device Serial Number extended capability: two dwords after its header. */
static int read_dsn(const struct hp_host *h, const char *address, char **ret)
{
        _cleanup_close_ int fd = -1;
        uint8_t cfg[4096];
        char rel[128];
        ssize_t n;
        unsigned off = PCI_EXT_CAP_START;

        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", address);
        fd = hp_host_openat(h, rel, O_RDONLY);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        n = pread(fd, cfg, sizeof(cfg), 0);
        if (n < 0)
                return -errno;
        /* At most 960 capabilities fit; a loop in a broken list ends there. */
        for (int i = 0; i < 960 && off >= PCI_EXT_CAP_START && off + 12 <= (size_t)n; i++) {
                uint32_t hdr, lo, hi;

                memcpy(&hdr, cfg + off, 4);
                if (hdr == 0 || hdr == 0xffffffff)
                        break;
                if ((hdr & 0xffff) == PCI_EXT_CAP_ID_DSN) {
                        memcpy(&lo, cfg + off + 4, 4);
                        memcpy(&hi, cfg + off + 8, 4);
                        if (asprintf(ret, "dsn:%08" PRIx32 "%08" PRIx32, hi, lo) < 0)
                                return -ENOMEM;
                        return 1;
                }
                off = hdr >> 20;
        }
        return 0;
}

/* The first line of the one file a glob-like subdirectory holds:
 * sys/bus/pci/devices/X/<dir>/<any>/<file>. */
static int read_child_attr(const struct hp_host *h, const char *address, const char *dir,
                           const char *file, const char *prefix, char **ret)
{
        _cleanup_strv_free_ char **children = NULL;
        char rel[256];
        int r;

        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/%s", address, dir);
        r = hp_host_list_dir(h, rel, &children);
        if (r < 0)
                return r;
        for (size_t i = 0; children[i]; i++) {
                _cleanup_free_ char *text = NULL;

                snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/%s/%s/%s", address, dir, children[i], file);
                if (hp_host_read(h, rel, &text) < 0 || !*hp_strstrip(text))
                        continue;
                if (asprintf(ret, "%s%s", prefix, text) < 0)
                        return -ENOMEM;
                return 1;
        }
        return 0;
}

int hp_pci_read_serial(const struct hp_host *h, const struct hp_pci_dev *d, char **ret)
{
        int r;

        *ret = NULL;
        r = read_dsn(h, d->address, ret);
        if (r == 0)
                r = read_child_attr(h, d->address, "nvme", "serial", "nvme:", ret);
        if (r == 0)
                r = read_child_attr(h, d->address, "net", "address", "mac:", ret);
        return r < 0 ? r : 0;
}

/* A function's config space as the ACS and topology code need it: the
 * PCIe capability's port type and the ACS capability's registers, parsed
 * from the bytes sysfs gives (an unprivileged reader gets only the first 64,
 * which is reported, not an error). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "acs.h"
#include "util/hostroot.h"
#include "util/macro.h"

#define PCI_HEADER_TYPE 0x0e
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_EXP 0x10
#define PCI_EXT_CAP_START 0x100
#define PCI_EXT_CAP_ID_ACS 0x000d
#define PCI_STD_HEADER 0x40

static uint16_t rd16(const uint8_t *cfg, size_t off)
{
        return (uint16_t)(cfg[off] | cfg[off + 1] << 8);
}

static uint32_t rd32(const uint8_t *cfg, size_t off)
{
        return (uint32_t)rd16(cfg, off) | (uint32_t)rd16(cfg, off + 2) << 16;
}

/* Offset of the PCIe capability, 0 when absent, -1 when the list runs
 * past what could be read. */
static int find_pcie_cap(const uint8_t *cfg, size_t len)
{
        unsigned off;

        if (!(rd16(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST))
                return 0;
        off = cfg[PCI_CAP_PTR] & ~3u;
        /* At most 48 capabilities fit in 256 bytes; a loop ends there. */
        for (int i = 0; i < 48 && off >= PCI_STD_HEADER; i++) {
                if (off + 4 > len)
                        return -1;
                if (cfg[off] == PCI_CAP_ID_EXP)
                        return (int)off;
                off = cfg[off + 1] & ~3u;
        }
        return 0;
}

void hp_acs_parse(const uint8_t *cfg, size_t len, struct hp_acs_info *ret)
{
        struct hp_acs_info a = { .state = HP_ACS_UNREADABLE, .pcie_type = -1 };
        unsigned off = PCI_EXT_CAP_START;
        int exp;

        if (len < PCI_STD_HEADER) {
                *ret = a;
                return;
        }
        a.multifunction = cfg[PCI_HEADER_TYPE] & 0x80;
        exp = find_pcie_cap(cfg, len);
        if (exp < 0) {
                *ret = a;
                return;
        }
        if (exp == 0) {
                a.state = HP_ACS_NOT_PCIE;
                *ret = a;
                return;
        }
        a.pcie_type = (rd16(cfg, (size_t)exp + 2) >> 4) & 0xf;
        if (len < PCI_EXT_CAP_START + 4) {
                *ret = a; /* PCIe, but the extended space was not readable */
                return;
        }
        a.state = HP_ACS_ABSENT;
        /* At most 960 capabilities fit; a loop in a broken list ends there. */
        for (int i = 0; i < 960 && off >= PCI_EXT_CAP_START && off + 8 <= len; i++) {
                uint32_t hdr = rd32(cfg, off);

                if (hdr == 0 || hdr == 0xffffffff)
                        break;
                if ((hdr & 0xffff) == PCI_EXT_CAP_ID_ACS) {
                        a.cap = rd16(cfg, off + 4);
                        a.ctrl = rd16(cfg, off + 6);
                        a.state = (a.ctrl & HP_ACS_REQUIRED) == HP_ACS_REQUIRED ? HP_ACS_ENABLED
                                                                               : HP_ACS_INCOMPLETE;
                        break;
                }
                off = hdr >> 20;
        }
        *ret = a;
}

int hp_acs_read(const struct hp_host *h, const char *address, struct hp_acs_info *ret)
{
        _cleanup_close_ int fd = -1;
        uint8_t cfg[4096];
        char rel[128];
        ssize_t n;

        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", address);
        fd = hp_host_openat(h, rel, O_RDONLY);
        if (fd == -ENOENT || fd == -EACCES || fd == -EPERM) {
                hp_acs_parse(cfg, 0, ret);
                return 0;
        }
        if (fd < 0)
                return fd;
        n = pread(fd, cfg, sizeof(cfg), 0);
        if (n < 0)
                return -errno;
        hp_acs_parse(cfg, (size_t)n, ret);
        return 0;
}


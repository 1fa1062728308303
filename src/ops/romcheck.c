/* --romfile checks: the file must be a PCI option ROM for the device it goes
 * with, and hold an EFI image when the VM boots EFI. A wrong ROM otherwise
 * shows up as a guest that hangs or a blank screen, with nothing in a log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops.h"
#include "storage.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/optionrom.h"

#define ROM_MAX_SIZE (16u << 20) /* the largest expansion ROM BAR */

/* The whole file; -ENOENT as is, other failures reported. */
static int read_rom(struct hp_ops_ctx *c, const char *path, uint8_t **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t len = 0;

        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 || fstat(fd, &st) < 0)
                return hp_op_fail(c, HP_OP_INVALID, -errno, "ROM file '%s' cannot be read: %s: fix its path or permissions",
                                  path, strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_size > ROM_MAX_SIZE)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "ROM file '%s' is %s: give an option ROM image file (at most 16 MiB)", path,
                                  S_ISREG(st.st_mode) ? "larger than any option ROM" : "not a regular file");
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return hp_op_oom(c);
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

                if (n < 0)
                        return hp_op_fail(c, HP_OP_INVALID, -errno, "ROM file '%s' cannot be read: %s", path,
                                          strerror(errno));
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* vendor:device of a host device from sysfs; false when unknown. */
static bool host_ids(struct hp_ops_ctx *c, const char *address, uint16_t *vendor, uint16_t *device)
{
        const char *names[] = { "vendor", "device" };
        uint16_t *out[] = { vendor, device };

        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *text = NULL;
                char rel[128];
                uint64_t v;

                snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/%s", address, names[i]);
                if (hp_host_read(c->host, rel, &text) < 0 || hp_parse_u64(hp_strstrip(text), 16, &v) < 0 ||
                    v > 0xffff)
                        return false;
                *out[i] = (uint16_t)v;
        }
        return true;
}

/* The IDs the ROM is for: the device's (a static entry or the device chosen
 * at power-on), else any of a dynamic entry's allowed IDs. */
static int check_ids(struct hp_ops_ctx *c, const char *where, const char *path, const struct hp_rom_info *info,
                     const struct hp_vm_pci *e, const char *address)
{
        const struct hp_rom_image *bad = NULL;
        uint16_t vendor, device;
        char wanted[256] = "";

        if (address) {
                if (!host_ids(c, address, &vendor, &device) || !(bad = hp_rom_mismatch(info, vendor, device)))
                        return 0;
                snprintf(wanted, sizeof(wanted), "device %s is %04x:%04x", address, vendor, device);
        } else {
                size_t len = 0;

                for (size_t i = 0; i < e->n_allowed; i++) {
                        bad = hp_rom_mismatch(info, e->allowed[i].vendor_id, e->allowed[i].device_id);
                        if (!bad)
                                return 0;
                        snprintf(wanted + len, sizeof(wanted) - len, "%s%04x:%04x", i ? ", " : "the allowed IDs are ",
                                 e->allowed[i].vendor_id, e->allowed[i].device_id);
                        len = strlen(wanted);
                }
                if (!bad)
                        return 0;
                bad = hp_rom_mismatch(info, e->allowed[0].vendor_id, e->allowed[0].device_id);
        }
        return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                          "%s: ROM file '%s' is for %04x:%04x (image at offset 0x%zx), but %s: give the ROM of "
                          "that very card model (dump it with 'echo 1 > rom; cat rom' in its sysfs directory)",
                          where, path, bad->vendor_id, bad->device_id, bad->offset, wanted);
}

static int check_entry(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const struct hp_vm_pci *e,
                       const char *address, bool at_power_on)
{
        _cleanup_free_ uint8_t *buf = NULL;
        struct hp_rom_info info;
        char where[96], err[256], kinds[128] = "", name[32];
        size_t len = 0;
        int r;

        snprintf(where, sizeof(where), at_power_on ? "cannot start '%s': pci%d" : "cannot add it to VM '%s'",
                 s->name, e->index);
        /* Where it is, before a byte of it is read. */
        snprintf(name, sizeof(name), "pci%d's ROM file", e->index);
        r = hp_ops_storage_check(c, name, e->romfile, true,
                                 at_power_on ? HP_OP_REFUSED : HP_OP_INVALID);
        if (r < 0)
                return r;
        r = read_rom(c, e->romfile, &buf, &len);
        if (r == -ENOENT && !at_power_on)
                return 0; /* not visible here yet: checked at power-on */
        if (r == -ENOENT)
                return hp_op_fail(c, HP_OP_INVALID, r, "%s: ROM file '%s' does not exist: put it there or remove "
                                  "the device and add it again without --romfile", where, e->romfile);
        if (r < 0)
                return r;
        if (hp_rom_parse(buf, len, &info, err, sizeof(err)) < 0)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "%s: ROM file '%s' is not a PCI option ROM: %s: give a ROM image dumped from "
                                  "the card or taken from its vendor's firmware",
                                  where, e->romfile, err);
        r = check_ids(c, where, e->romfile, &info, e, e->kind == HP_VM_PCI_STATIC ? e->address : address);
        if (r < 0 || s->firmware != HP_VM_FIRMWARE_EFI || info.has_efi)
                return r;
        for (size_t i = 0; i < info.n_images; i++) {
                const char *k = hp_rom_code_type_name(info.images[i].code_type, name, sizeof(name));

                if (!strstr(kinds, k))
                        snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds), "%s%s", i ? ", " : "", k);
        }
        return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                          "%s: ROM file '%s' holds no EFI image (only %s), and VM '%s' boots with EFI firmware, "
                          "which cannot run it: give a ROM with an EFI image (a newer vendor ROM with UEFI/GOP "
                          "support) or use BIOS firmware",
                          where, e->romfile, kinds, s->name);
}

int hp_ops_vm_check_romfiles(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const struct hp_vm_pci *only,
                             const char (*addrs)[HP_SBDF_LEN])
{
        if (only)
                return only->romfile ? check_entry(c, s, only, NULL, false) : 0;
        for (size_t i = 0; i < s->n_pci; i++) {
                int r;

                if (!s->pci[i].romfile)
                        continue;
                r = check_entry(c, s, &s->pci[i], addrs ? addrs[i] : NULL, addrs != NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

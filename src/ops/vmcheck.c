/* Checks a VM definition must pass when it is made or changed (vm create,
 * vm set, vm add-usb) and that power-on repeats for what can change in
 * between (the host's USB devices). A stored spec is never checked when it
 * is read: a VM stored before a check existed still loads and shows. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/usb.h"
#include "ops.h"
#include "storage.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"

int hp_ops_vm_check_memory(struct hp_ops_ctx *c, uint64_t memory_mib)
{
        if (memory_mib < HP_VM_MIN_MEMORY_MIB)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "memory %" PRIu64 " MiB is too little: a VM needs at least %d MiB for its "
                                  "firmware and kernel",
                                  memory_mib, HP_VM_MIN_MEMORY_MIB);
        if (memory_mib > HP_VM_MAX_DEFINED_MEMORY_MIB)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "memory %" PRIu64 " MiB is more than any host can give: at most %" PRIu64
                                  " MiB (64T), what x86-64 Linux addresses",
                                  memory_mib, HP_VM_MAX_DEFINED_MEMORY_MIB);
        return 0;
}

/* what: "--disk", "--kernel". The file is opened as QEMU will, for reading;
 * a regular file, or a block device for a disk. */
static int check_file(struct hp_ops_ctx *c, const char *what, const char *path, bool block_ok)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (stat(path, &st) < 0 && errno == ENOENT)
                return hp_op_fail(c, HP_OP_INVALID, -ENOENT,
                                  "%s '%s' does not exist: give the path of an existing %s%s", what, path,
                                  block_ok ? "image or block device" : "kernel image",
                                  block_ok ? " (create an image with 'qemu-img create -f qcow2 PATH SIZE')" : "");
        if (stat(path, &st) < 0) {
                int e = errno;

                return hp_op_fail(c, HP_OP_INVALID, -e, "%s '%s' cannot be read: %s: fix its path or permissions",
                                  what, path, strerror(e));
        }
        if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode)))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "%s '%s' is not a regular file%s: give %s", what, path,
                                  block_ok ? " or block device" : "",
                                  block_ok ? "an image file or a block device" : "a kernel image file");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return hp_op_fail(c, HP_OP_INVALID, -errno, "%s '%s' cannot be opened for reading: %s: fix it or %s",
                                  what, path, strerror(errno), "give another");
        return 0;
}

int hp_ops_vm_check_definition(struct hp_ops_ctx *c, const struct hp_vm_spec *s)
{
        _cleanup_free_ char *msg = NULL;
        int r = hp_vm_spec_text_check(s, &msg);

        if (r < 0)
                return msg ? hp_op_fail(c, HP_OP_INVALID, r, "%s", msg) : hp_op_oom(c);
        for (size_t i = 0; i < s->n_pci; i++)
                if ((r = hp_vm_pci_request_check(&s->pci[i], &msg)) < 0)
                        return msg ? hp_op_fail(c, HP_OP_INVALID, r, "%s", msg) : hp_op_oom(c);
        /* Each device of an entry's count counts. */
        if (hp_vm_spec_device_count(s) > s->device_limit)
                return hp_op_fail(c, HP_OP_INVALID, -ENOSPC,
                                  "VM '%s' asks for %zu devices, more than its device limit of %u: raise "
                                  "'device_limit' (at most %d) or lower the counts",
                                  s->name, hp_vm_spec_device_count(s), s->device_limit, HP_VM_MAX_DEVICE_LIMIT);
        r = hp_ops_vm_check_memory(c, s->memory_mib);
        for (size_t i = 0; r >= 0 && s->disks && s->disks[i]; i++)
                r = check_file(c, "--disk", s->disks[i], true);
        if (r >= 0 && s->kernel)
                r = check_file(c, "--kernel", s->kernel, false);
        /* Where they are: a ROM file not here yet is its host's to check, at power-on. */
        if (r >= 0)
                r = hp_ops_storage_check_spec(c, s, true, HP_OP_INVALID);
        return r;
}

/* "1, 2, 3": the buses (root hubs) the host has; 0 when it shows none. */
static size_t usb_buses(const struct hp_usb_inventory *inv, char *buf, size_t size)
{
        size_t n = 0, o = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < inv->n_devs; i++) {
                if (!inv->devs[i].is_root_hub)
                        continue;
                if (o < size)
                        o += (size_t)snprintf(buf + o, size - o, "%s%d", n ? ", " : "", inv->devs[i].busnum);
                n++;
        }
        return n;
}

static bool has_bus(const struct hp_usb_inventory *inv, int bus)
{
        for (size_t i = 0; i < inv->n_devs; i++)
                if (inv->devs[i].is_root_hub && inv->devs[i].busnum == bus)
                        return true;
        return false;
}

int hp_ops_usb_entry_check(struct hp_ops_ctx *c, const char *vm, const struct hp_vm_usb *u,
                           const struct hp_usb_inventory *inv, bool at_power_on)
{
        enum hp_op_kind kind = at_power_on ? HP_OP_CONFLICT : HP_OP_INVALID;
        const struct hp_usb_dev *first = NULL, *second = NULL;
        char buses[256], where[64];

        if (at_power_on)
                snprintf(where, sizeof(where), "cannot start '%s': usb%d", vm, u->index);
        else
                snprintf(where, sizeof(where), "cannot add it to VM '%s'", vm);
        if (u->kind == HP_VM_USB_PORT) {
                if (usb_buses(inv, buses, sizeof(buses)) == 0 || has_bus(inv, u->bus))
                        return 0;
                return hp_op_fail(c, kind, -ENODEV,
                                  "%s: this host has no USB bus %d (port %d-%s); its buses are %s: give a port on "
                                  "one of them (see 'hwpass usb list')",
                                  where, u->bus, u->bus, u->port, buses);
        }
        if (u->serial)
                return 0;
        for (size_t i = 0; i < inv->n_devs && !second; i++) {
                const struct hp_usb_dev *d = &inv->devs[i];

                if (d->is_root_hub || d->vendor_id != u->vendor_id || d->product_id != u->product_id)
                        continue;
                if (!first)
                        first = d;
                else
                        second = d;
        }
        if (!second)
                return 0;
        return hp_op_fail(c, kind, -ENOTUNIQ,
                          "%s: USB ID %04x:%04x matches more than one plugged-in device (%s at port %s%s%s, %s at "
                          "port %s%s%s): name one with its serial (--id %04x:%04x:SERIAL) or by --port",
                          where, u->vendor_id, u->product_id, first->product ? first->product : "a device",
                          first->name, first->serial ? ", serial " : "", first->serial ? first->serial : "",
                          second->product ? second->product : "a device", second->name,
                          second->serial ? ", serial " : "", second->serial ? second->serial : "", u->vendor_id,
                          u->product_id);
}

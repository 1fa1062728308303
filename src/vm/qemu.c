/* QEMU argv for a passthrough VM: q35, one pcie-root-port per passed-through
 * device (so each sits in its own slot, as on real hardware), vfio-pci with
 * x-vga/rombar/romfile, qemu-xhci + usb-host, OVMF with a per-VM vars copy and
 * the computed 64-bit MMIO window, memory locked, a QMP socket and a serial log. */
#include "qemu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio.h"
#include "spec.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

/* QEMU's option syntax escapes a comma by doubling it. */
static char *qemu_escape(const char *s)
{
        size_t n = strlen(s), commas = 0;
        char *out, *o;

        for (const char *p = s; *p; p++)
                commas += *p == ',';
        out = malloc(n + commas + 1);
        if (!out)
                return NULL;
        o = out;
        for (const char *p = s; *p; p++) {
                *o++ = *p;
                if (*p == ',')
                        *o++ = ',';
        }
        *o = '\0';
        return out;
}

static int add_machine(char ***argv, const struct hp_vm_spec *s, const struct hp_qemu_config *c)
{
        bool kvm = streq(c->accel, "kvm");
        int r;

        /* Under TCG (nested labs), the translation cache is locked along with
         * the guest's memory: QEMU's default of 1 GiB per VM is cut to 128 MiB. */
        if ((r = hp_strv_pushf(argv, "%s", c->binary)) < 0 ||
            (r = hp_strv_pushf(argv, "-name")) < 0 ||
            (r = hp_strv_pushf(argv, "%s,debug-threads=on", s->name)) < 0 ||
            (r = hp_strv_pushf(argv, "-machine")) < 0 || (r = hp_strv_pushf(argv, "q35")) < 0 ||
            (r = hp_strv_pushf(argv, "-accel")) < 0 ||
            (r = hp_strv_pushf(argv, "%s%s", c->accel,
                               kvm ? ",kernel-irqchip=on" : ",tb-size=128")) < 0 ||
            (r = hp_strv_pushf(argv, "-cpu")) < 0 ||
            (r = hp_strv_pushf(argv, "%s", kvm ? "host" : "max")) < 0 ||
            (r = hp_strv_pushf(argv, "-smp")) < 0 ||
            (r = hp_strv_pushf(argv, "%u", s->vcpus)) < 0 || (r = hp_strv_pushf(argv, "-m")) < 0 ||
            (r = hp_strv_pushf(argv, "%" PRIu64 "M", s->memory_mib)) < 0 ||
            /* Passthrough pins all guest memory for DMA: reserve and lock it up front. */
            (r = hp_strv_pushf(argv, "-overcommit")) < 0 ||
            (r = hp_strv_pushf(argv, "mem-lock=on")) < 0 ||
            (r = hp_strv_pushf(argv, "-nodefaults")) < 0 ||
            (r = hp_strv_pushf(argv, "-no-user-config")) < 0 ||
            (r = hp_strv_pushf(argv, "-display")) < 0 || (r = hp_strv_pushf(argv, "none")) < 0)
                return r;
        /* QEMU's seccomp filter, as libvirt sets it: no obsolete calls, no
         * setuid, no processes of its own, no scheduler or affinity changes. */
        if ((r = hp_strv_pushf(argv, "-sandbox")) < 0 ||
            (r = hp_strv_pushf(argv, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
                                     "resourcecontrol=deny")) < 0)
                return r;
        /* Hugepages: the guest's memory is a preallocated hugetlb memfd (from
         * the host's default hugepage pool), which needs no hugetlbfs mount
         * QEMU's user could write to. */
        if (s->hugepages && ((r = hp_strv_pushf(argv, "-object")) < 0 ||
                             (r = hp_strv_pushf(argv,
                                                "memory-backend-memfd,id=hp-mem,size=%" PRIu64
                                                "M,hugetlb=on,prealloc=on",
                                                s->memory_mib)) < 0 ||
                             (r = hp_strv_pushf(argv, "-machine")) < 0 ||
                             (r = hp_strv_pushf(argv, "memory-backend=hp-mem")) < 0))
                return r;
        return 0;
}

static int add_firmware(char ***argv, const struct hp_vm_spec *s, const struct hp_qemu_config *c)
{
        _cleanup_free_ char *code = NULL, *vars = NULL;
        int r;

        if (c->mmio && c->mmio->window > 0) {
                /* The window must hold every 64-bit BAR; q35's default is smaller for large GPUs.
                 */
                if ((r = hp_strv_pushf(argv, "-global")) < 0 ||
                    (r = hp_strv_pushf(argv, "q35-pcihost.pci-hole64-size=%" PRIu64,
                                       c->mmio->window)) < 0)
                        return r;
        }
        if (s->firmware == HP_VM_FIRMWARE_AUTO)
                return -EINVAL; /* decided at power-on (hp_mmio_firmware), never here */
        if (s->firmware != HP_VM_FIRMWARE_EFI)
                return 0;
        if (!c->ovmf_code || !c->ovmf_vars)
                return -EINVAL;
        code = qemu_escape(c->ovmf_code);
        vars = qemu_escape(c->ovmf_vars);
        if (!code || !vars)
                return -ENOMEM;
        if ((r = hp_strv_pushf(argv, "-drive")) < 0 ||
            (r = hp_strv_pushf(argv, "if=pflash,format=raw,unit=0,readonly=on,file=%s", code)) <
                    0 ||
            (r = hp_strv_pushf(argv, "-drive")) < 0 ||
            (r = hp_strv_pushf(argv, "if=pflash,format=raw,unit=1,file=%s", vars)) < 0)
                return r;
        if (c->mmio && c->mmio->window > 0 &&
            ((r = hp_strv_pushf(argv, "-fw_cfg")) < 0 ||
             (r = hp_strv_pushf(argv, "name=opt/ovmf/X-PciMmio64Mb,string=%" PRIu64,
                                c->mmio->window >> 20)) < 0))
                return r;
        return 0;
}

static int add_disks_and_kernel(char ***argv, const struct hp_vm_spec *s)
{
        int r;

        for (size_t i = 0; s->disks[i]; i++) {
                _cleanup_free_ char *file = qemu_escape(s->disks[i]);
                size_t len = strlen(s->disks[i]);
                bool qcow2 = len > 6 && streq(s->disks[i] + len - 6, ".qcow2");

                if (!file)
                        return -ENOMEM;
                if ((r = hp_strv_pushf(argv, "-drive")) < 0 ||
                    (r = hp_strv_pushf(argv, "file=%s,if=none,id=disk%zu,format=%s", file, i,
                                       qcow2 ? "qcow2" : "raw")) < 0 ||
                    (r = hp_strv_pushf(argv, "-device")) < 0 ||
                    (r = hp_strv_pushf(argv, "virtio-blk-pci,drive=disk%zu", i)) < 0)
                        return r;
        }
        if (s->kernel) {
                if ((r = hp_strv_pushf(argv, "-kernel")) < 0 ||
                    (r = hp_strv_pushf(argv, "%s", s->kernel)) < 0)
                        return r;
                if (s->append && ((r = hp_strv_pushf(argv, "-append")) < 0 ||
                                  (r = hp_strv_pushf(argv, "%s", s->append)) < 0))
                        return r;
        }
        return 0;
}

/* The root port of plan entry i: "hp-rpN" and chassis N+1 for the first (or
 * only) device of entry N, as before counts existed; "hp-rpN-C" for copy C
 * of an entry with a count, with the lowest chassis numbers no entry's
 * first root port uses, in plan order. */
static bool new_port(const struct hp_vm_spec *s, size_t i)
{
        const struct hp_vm_pci *p = &s->pci[i], *q = i ? &s->pci[i - 1] : NULL;

        return !p->in_slot || !q || q->index != p->index || q->copy != p->copy;
}

static bool chassis_taken(const struct hp_vm_spec *s, int chassis)
{
        for (size_t k = 0; k < s->n_pci; k++)
                if (s->pci[k].copy == 0 && s->pci[k].index + 1 == chassis)
                        return true;
        return false;
}

static int port_of(const struct hp_vm_spec *s, size_t i, char *id, size_t size, int *ret_chassis)
{
        const struct hp_vm_pci *p = &s->pci[i];
        int chassis = 0;

        if (p->copy == 0) {
                snprintf(id, size, "hp-rp%d", p->index);
                *ret_chassis = p->index + 1;
                return 0;
        }
        snprintf(id, size, "hp-rp%d-%u", p->index, p->copy);
        for (size_t k = 0; k <= i; k++) {
                if (s->pci[k].copy == 0 || !new_port(s, k))
                        continue;
                do
                        chassis++;
                while (chassis_taken(s, chassis));
        }
        /* The chassis number is 8 bits. */
        if (chassis > 255)
                return -E2BIG;
        *ret_chassis = chassis;
        return 0;
}

/* One vfio-pci device, on its own root port; the functions of a slot entry
 * (the plan gives them one after another, with the entry's index) share
 * one, at their own function numbers, function 0 marked multi-function, so
 * the guest sees the device as the hardware is. The display, ROM and BAR
 * options go to function 0. The copies of an entry with a count each have
 * their own root port. */
static int add_pci_entry(char ***argv, const struct hp_vm_spec *s, size_t i, const char (*addrs)[13])
{
        const struct hp_vm_pci *p = &s->pci[i];
        bool main_fn = !p->in_slot || p->function == 0;
        _cleanup_free_ char *romfile = p->romfile && main_fn ? qemu_escape(p->romfile) : NULL;
        char extra[64] = "", id[48], slot[48] = "", port[32], copy[16] = "";
        int r, chassis;

        if (p->romfile && main_fn && !romfile)
                return -ENOMEM;
        if (!addrs || strlen(addrs[i]) != 12)
                return -EINVAL;
        r = port_of(s, i, port, sizeof(port), &chassis);
        if (r < 0)
                return r;
        if (p->rombar >= 0 && main_fn)
                snprintf(extra, sizeof(extra), ",rombar=%d", p->rombar);
        if (p->copy > 0)
                snprintf(copy, sizeof(copy), "-%u", p->copy);
        if (p->in_slot) {
                snprintf(id, sizeof(id), "hostdev%d%s.%u", p->index, copy, p->function);
                snprintf(slot, sizeof(slot), ",addr=00.%u%s", p->function,
                         p->function == 0 ? ",multifunction=on" : "");
        } else
                snprintf(id, sizeof(id), "hostdev%d%s", p->index, copy);
        if (new_port(s, i) &&
            ((r = hp_strv_pushf(argv, "-device")) < 0 ||
             (r = hp_strv_pushf(argv, "pcie-root-port,id=%s,bus=pcie.0,chassis=%d,slot=%d,hotplug=off", port,
                                chassis, chassis)) < 0))
                return r;
        if ((r = hp_strv_pushf(argv, "-device")) < 0 ||
            (r = hp_strv_pushf(argv, "vfio-pci,host=%s,bus=%s%s,id=%s%s%s%s%s", addrs[i], port, slot, id,
                               p->primary_display && main_fn ? ",x-vga=on" : "", extra, romfile ? ",romfile=" : "",
                               romfile ? romfile : "")) < 0)
                return r;
        return 0;
}

/* DESIGN.md §5: no suspend and no hot-plug for a VM with passthrough
 * devices. The guest is offered no S3/S4 (a device's state would not survive
 * them) and the root ports refuse hot-plug, so neither the guest nor a QMP
 * client can unplug a device while it runs. (vfio-pci itself blocks
 * migration and snapshots.) */
static int add_pci(char ***argv, const struct hp_vm_spec *s, const struct hp_qemu_config *c)
{
        int r;

        if (s->n_pci > 0 && ((r = hp_strv_pushf(argv, "-global")) < 0 ||
                             (r = hp_strv_pushf(argv, "ICH9-LPC.disable_s3=1")) < 0 ||
                             (r = hp_strv_pushf(argv, "-global")) < 0 ||
                             (r = hp_strv_pushf(argv, "ICH9-LPC.disable_s4=1")) < 0))
                return r;

        for (size_t i = 0; i < s->n_pci; i++)
                if ((r = add_pci_entry(argv, s, i, c->pci)) < 0)
                        return r;
        return 0;
}

static int add_usb(char ***argv, const struct hp_vm_spec *s, const struct hp_qemu_config *c)
{
        int r;

        if (s->n_usb == 0)
                return 0;
        if (!c->usb)
                return -EINVAL;
        if ((r = hp_strv_pushf(argv, "-device")) < 0 ||
            (r = hp_strv_pushf(argv, "qemu-xhci,id=hp-xhci")) < 0)
                return r;
        for (size_t i = 0; i < s->n_usb; i++) {
                const struct hp_qemu_usb_host *u = &c->usb[i];

                if ((r = hp_strv_pushf(argv, "-device")) < 0)
                        return r;
                if (u->by_port)
                        r = hp_strv_pushf(argv,
                                          "usb-host,bus=hp-xhci.0,id=usb%d,hostbus=%d,hostport=%s",
                                          s->usb[i].index, u->bus, u->port);
                else if (u->hostaddr > 0)
                        r = hp_strv_pushf(argv,
                                          "usb-host,bus=hp-xhci.0,id=usb%d,hostbus=%d,hostaddr=%d",
                                          s->usb[i].index, u->bus, u->hostaddr);
                else
                        r = hp_strv_pushf(
                                argv,
                                "usb-host,bus=hp-xhci.0,id=usb%d,vendorid=0x%04x,productid=0x%04x",
                                s->usb[i].index, u->vendor_id, u->product_id);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_control(char ***argv, const struct hp_qemu_config *c)
{
        _cleanup_free_ char *dir = qemu_escape(c->run_dir);
        int r;

        if (!dir)
                return -ENOMEM;
        if ((r = hp_strv_pushf(argv, "-chardev")) < 0 ||
            (r = hp_strv_pushf(argv, "socket,id=qmp,path=%s/qmp.sock,server=on,wait=off", dir)) <
                    0 ||
            (r = hp_strv_pushf(argv, "-mon")) < 0 ||
            (r = hp_strv_pushf(argv, "chardev=qmp,mode=control")) < 0 ||
            (r = hp_strv_pushf(argv, "-chardev")) < 0 ||
            (r = hp_strv_pushf(argv, "file,id=serial0,path=%s/serial.log", dir)) < 0 ||
            (r = hp_strv_pushf(argv, "-serial")) < 0 ||
            (r = hp_strv_pushf(argv, "chardev:serial0")) < 0 ||
            (r = hp_strv_pushf(argv, "-pidfile")) < 0 ||
            (r = hp_strv_pushf(argv, "%s/qemu.pid", c->run_dir)) < 0)
                return r;
        return 0;
}

int hp_qemu_argv(const struct hp_vm_spec *s, const struct hp_qemu_config *c, char ***ret)
{
        _cleanup_strv_free_ char **argv = calloc(1, sizeof(char *));
        int r;

        if (!argv)
                return -ENOMEM;
        if (!c->binary || !c->accel || !c->run_dir)
                return -EINVAL;
        if ((r = add_machine(&argv, s, c)) < 0 || (r = add_firmware(&argv, s, c)) < 0 ||
            (r = add_disks_and_kernel(&argv, s)) < 0 || (r = add_pci(&argv, s, c)) < 0 ||
            (r = add_usb(&argv, s, c)) < 0 || (r = add_control(&argv, c)) < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* The QEMU command line of a VM with its passthrough devices: built as an
 * argv (never through a shell), a pure function of the spec and what was
 * resolved at power-on, so it is tested against golden files. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/hostroot.h"

/* The QEMU binary for x86-64 guests, found on PATH. */
#define HP_QEMU_BINARY "qemu-system-x86_64"

struct hp_mmio_plan;
struct hp_vm_spec;

/* A USB entry resolved to a device on the host. */
struct hp_qemu_usb_host {
        bool by_port;          /* hostbus + hostport */
        int bus;
        const char *port;      /* "2.3" */
        uint16_t vendor_id, product_id; /* by ID (with a serial: resolved to bus + address) */
        int hostaddr;          /* > 0 when an ID + serial was resolved to one device */
};

struct hp_qemu_config {
        const char *binary;      /* "qemu-system-x86_64" */
        const char *accel;       /* "kvm" or "tcg" */
        const char *run_dir;     /* per VM: qmp.sock, qemu.pid, serial.log */
        const char *ovmf_code;   /* EFI only */
        const char *ovmf_vars;   /* EFI only: this VM's own copy of the vars store */
        const char (*pci)[13];   /* the address assigned to each spec->pci[i] */
        const struct hp_qemu_usb_host *usb; /* one per spec->usb[i] */
        const struct hp_mmio_plan *mmio;    /* NULL: no 64-bit BARs */
};

/* NULL-terminated argv; -EINVAL when the config lacks what the spec needs. */
int hp_qemu_argv(const struct hp_vm_spec *s, const struct hp_qemu_config *c, char ***ret);

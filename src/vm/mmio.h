/* The guest's 64-bit MMIO window, sized from the devices assigned to the VM
 * (vSphere makes users guess 64bitMMIOSizeGB). Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/spec.h"

struct hp_pci_dev;

/* What SeaBIOS is sure to map: its build-time pci-hole64 window runs from
 * BUILD_PCIMEM64_START (512 GiB) to BUILD_PCIMEM64_END (1 TiB), 512 GiB in
 * all. Newer SeaBIOS releases move and grow the window up to the guest's
 * physical address bits, but only when they trust the phys-bits the CPU
 * reports, which depends on the QEMU version and the host CPU; hwpass does not
 * count on that and picks EFI (OVMF, whose window it sets) above this size. */
#define HP_MMIO_BIOS_MAX (512ULL << 30)

/* Headroom on top of the BARs: the guest's own 64-bit resources and hotplug
 * slack. At least a quarter of what the BARs need, and at least 1 GiB. */
#define HP_MMIO_HEADROOM_MIN (1ULL << 30)

struct hp_mmio_plan {
        /* Bytes: every 64-bit memory BAR, each aligned to its size, largest first. */
        uint64_t needed;
        /* Bytes: needed plus headroom, rounded up to a power of two; 0 when no 64-bit BARs. */
        uint64_t window;
        /* The window is larger than what BIOS (SeaBIOS) boot maps: HP_MMIO_BIOS_MAX. */
        bool needs_efi;
};

/* Sizes the window for the given devices (BARs of SR-IOV VFs count only when
 * the VFs themselves are given). -EINVAL for a NULL device, -EOVERFLOW when
 * the window does not fit in 64 bits. */
int hp_mmio_plan(const struct hp_pci_dev *const *devs, size_t n, struct hp_mmio_plan *ret);

/* One line for `vm show`:
 * "64-bit MMIO window 64 GiB (BARs need 32 GiB + 16 KiB; EFI not needed)". */
int hp_mmio_describe(const struct hp_mmio_plan *p, char **ret);

/* The firmware a power-on boots: configured, unless it is AUTO, which
 * becomes EFI when p needs_efi and BIOS otherwise (devs and n: the devices
 * p was planned for). *ret_why (malloc'd) says what the devices need, e.g.
 * "0000:06:00.0's 512 GiB BAR needs a 1 TiB 64-bit MMIO window, larger than
 * the 512 GiB BIOS maps", or "no device has a 64-bit BAR": why AUTO chose,
 * or why a VM set to BIOS cannot start. */
int hp_mmio_firmware(enum hp_vm_firmware configured, const struct hp_mmio_plan *p,
                     const struct hp_pci_dev *const *devs, size_t n, enum hp_vm_firmware *ret, char **ret_why);

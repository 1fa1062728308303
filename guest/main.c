/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - what the probe guest does, in order: list every PCI function,
 * exercise the devices it knows, say "PROBE done", then exit QEMU or halt.
 *
 * Output contract (one line each, lowercase hex, bare "\n"):
 *   PROBE start
 *   PROBE dev=BB:DD.F id=VVVV:DDDD class=CCCCCC bars=I:KIND:0xADDR/0xSIZE,...
 *       KIND is io, mem32 or mem64, with "p" appended if prefetchable; the
 *       list is empty when the function implements no BAR
 *   PROBE relocate dev=BB:DD.F bar=I from=0x... to=0x...
 *   PROBE nvme dev=BB:DD.F cap=0x... vs=0x...
 *   PROBE nvme dev=BB:DD.F identify=ok vid=VVVV sn="..." mn="..."
 *   PROBE nvme dev=BB:DD.F identify=fail reason=WHY [sct=0x. sc=0x..]
 *   PROBE e1000e dev=BB:DD.F status=0x........   (e1000 for 8086:100e)
 *   PROBE e1000e dev=BB:DD.F status=fail reason=WHY
 *   PROBE xhci dev=BB:DD.F ports=N connected=PORT:SPEED,...   (see xhci.c)
 *   PROBE done
 * With the word "exit" on the command line (-append exit), it then writes to
 * isa-debug-exit: QEMU exits 33 if every check passed, 35 if one failed
 * (see PG_EXIT_* in probe.h). With "acpi" it halts until the ACPI power
 * button (QEMU's system_powerdown) and then powers the VM off:
 *   PROBE acpi pm=0x... power-button=on
 *   PROBE acpi power-button: powering off
 * Otherwise it halts with interrupts off, a guest that ignores the power
 * button and stays up until the VM is stopped by force.
 */
#include "probe.h"

#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_INFO_MEMORY 0x1u
#define MB_INFO_CMDLINE 0x4u

#define MAX_FUNCTIONS 256
#define PCI_CLASS_NVME 0x010802u
#define PCI_CLASS_XHCI 0x0c0330u
#define E1000_STATUS 0x8

/* The start of the multiboot (v1) information structure. */
struct multiboot_info {
        uint32_t flags;
        uint32_t mem_lower; /* KiB below 1 MiB */
        uint32_t mem_upper; /* KiB from 1 MiB to the first hole */
        uint32_t boot_device;
        uint32_t cmdline; /* address of a NUL-terminated string */
};

static struct pg_pci_dev functions[MAX_FUNCTIONS];

/* True if @word appears in @s delimited by spaces or the ends. QEMU passes
 * "<kernel path> <-append text>", so the path is never mistaken for it. */
static bool has_word(const char *s, const char *word) {
        while (*s) {
                const char *w = word;

                while (*s == ' ')
                        s++;
                while (*w && *s == *w)
                        s++, w++;
                if (!*w && (*s == ' ' || !*s))
                        return true;
                while (*s && *s != ' ')
                        s++;
        }
        return false;
}

static bool probe_e1000(struct pg_pci_dev *d, const char *model) {
        const char *reason = NULL;
        uint32_t bar = pg_pci_map_bar(d, 0, &reason), status;

        if (bar == 0) {
                pg_printf("PROBE %s dev=%02x:%02x.%x status=fail reason=%s\n", model, d->bus,
                          d->dev, d->fn, reason);
                return false;
        }
        status = pg_mmio_read32(bar + E1000_STATUS);
        pg_printf("PROBE %s dev=%02x:%02x.%x status=0x%08x\n", model, d->bus, d->dev, d->fn,
                  status);
        return status != 0xffffffffu; /* all ones: nothing answered */
}

/* Runs the check for a device we know; false only if a check failed. */
static bool probe_known(struct pg_pci_dev *d) {
        if (d->class == PCI_CLASS_NVME)
                return pg_nvme_probe(d);
        if (d->class == PCI_CLASS_XHCI)
                return pg_xhci_probe(d);
        if (d->vendor == 0x8086 && d->device == 0x10d3)
                return probe_e1000(d, "e1000e");
        if (d->vendor == 0x8086 && d->device == 0x100e)
                return probe_e1000(d, "e1000");
        return true; /* e.g. pci-testdev 1b36:0005: its BAR line is the check */
}

static const char *read_multiboot(uint32_t magic, uint32_t info_addr) {
        const struct multiboot_info *mbi = (const struct multiboot_info *) (uintptr_t) info_addr;

        if (magic != MB_BOOT_MAGIC)
                return ""; /* not multiboot: no info to trust */
        if (mbi->flags & MB_INFO_MEMORY) {
                uint64_t top = (1024ull + mbi->mem_upper) * 1024;
                pg_ram_top = top > 0xffffffffull ? 0xffffffffu : (uint32_t) top;
        }
        if (mbi->flags & MB_INFO_CMDLINE)
                return (const char *) (uintptr_t) mbi->cmdline;
        return "";
}

void pg_main(uint32_t magic, uint32_t info_addr) {
        const char *cmdline;
        unsigned n, failures = 0;

        pg_console_init();
        pg_clock_init();
        cmdline = read_multiboot(magic, info_addr);
        pg_printf("\nPROBE start\n"); /* firmware may have left a partial line */

        n = pg_pci_scan(functions, MAX_FUNCTIONS);
        for (unsigned i = 0; i < n; i++)
                pg_pci_print(&functions[i]);
        for (unsigned i = 0; i < n; i++)
                if (!probe_known(&functions[i]))
                        failures++;

        pg_printf("PROBE done\n");
        if (has_word(cmdline, "exit"))
                pg_outb(PG_EXIT_PORT, failures ? PG_EXIT_FAILURE : PG_EXIT_SUCCESS);
        /* Asked to: the ACPI power button powers the VM off. */
        if (has_word(cmdline, "acpi") && pg_acpi_setup(functions, n))
                pg_acpi_wait_power_button();

        /* No isa-debug-exit, or not asked to exit: stay up, doing nothing. */
        for (;;)
                __asm__ volatile("cli; hlt");
}

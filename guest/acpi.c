/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * acpi.c - the ACPI power button, for a probe guest started with "acpi" on
 * its command line: it halts, woken only by the button's interrupt (SCI),
 * and then powers the VM off (S5), as a guest OS does on QEMU's
 * system_powerdown. Without "acpi" the guest ignores the button, which the
 * tests of a stop that must wait out its ACPI timeout rely on.
 *
 * The chipset's power management registers are where the firmware put them
 * (PMBASE of ICH9's LPC bridge on q35, of PIIX4's PM function on pc). The
 * 8259 PICs are set up anew: vectors 0x20-0x2f, every line masked but the
 * cascade and the SCI's (IRQ 9). Halting with interrupts on needs an IDT;
 * every vector but the SCI's goes to a stub that acknowledges and returns.
 */
#include "probe.h"

#define PCI_VENDOR_INTEL 0x8086
#define ICH9_LPC 0x2918
#define PIIX4_PM 0x7113
#define PMBASE_REG 0x40

#define PM1_STS 0x00
#define PM1_EN 0x02
#define PM1_CNT 0x04
#define PWRBTN 0x0100 /* PM1_STS and PM1_EN */
#define SCI_EN 0x0001
#define SLP_TYP_MASK 0x1c00
#define SLP_EN 0x2000 /* with SLP_TYP 0: QEMU's S5, soft off */

#define PIC1 0x20
#define PIC2 0xa0
#define PIC_EOI 0x20
#define IRQ_BASE 0x20
#define SCI_IRQ 9

struct idt_gate {
        uint16_t offset_low;
        uint16_t selector;
        uint8_t zero;
        uint8_t type; /* present, ring 0, 32-bit interrupt gate */
        uint16_t offset_high;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static uint16_t pm_base;
volatile uint16_t pg_acpi_pm1_sts_port; /* read by the SCI stub (start.S) */
volatile uint32_t pg_acpi_button;       /* set by the SCI stub */

void pg_acpi_sci_stub(void);
void pg_acpi_ignore_stub(void);

static void gate(unsigned vector, void (*handler)(void)) {
        uint32_t a = (uint32_t) (uintptr_t) handler;

        idt[vector] = (struct idt_gate){ .offset_low = (uint16_t) a, .selector = 0x08,
                                         .type = 0x8e, .offset_high = (uint16_t) (a >> 16) };
}

static void pic_setup(void) {
        pg_outb(PIC1, 0x11); /* ICW1: edge or level per ELCR, cascade, ICW4 */
        pg_outb(PIC2, 0x11);
        pg_outb(PIC1 + 1, IRQ_BASE);
        pg_outb(PIC2 + 1, IRQ_BASE + 8);
        pg_outb(PIC1 + 1, 0x04); /* the slave on IRQ 2 */
        pg_outb(PIC2 + 1, 0x02);
        pg_outb(PIC1 + 1, 0x01); /* 8086 mode */
        pg_outb(PIC2 + 1, 0x01);
        pg_outb(PIC1 + 1, (uint8_t) ~(1u << 2));
        pg_outb(PIC2 + 1, (uint8_t) ~(1u << (SCI_IRQ - 8)));
}

/* The power management I/O base the firmware set, 0 when there is none. */
static uint16_t find_pm_base(const struct pg_pci_dev *fns, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                const struct pg_pci_dev *d = &fns[i];

                if (d->vendor == PCI_VENDOR_INTEL && (d->device == ICH9_LPC || d->device == PIIX4_PM))
                        return (uint16_t) (pg_pci_read32(d, PMBASE_REG) & 0xffc0);
        }
        return 0;
}

bool pg_acpi_setup(const struct pg_pci_dev *fns, unsigned n) {
        struct {
                uint16_t limit;
                uint32_t base;
        } __attribute__((packed)) desc = { sizeof(idt) - 1, (uint32_t) (uintptr_t) idt };

        pm_base = find_pm_base(fns, n);
        if (!pm_base) {
                pg_printf("PROBE acpi status=fail reason=no-pm-base\n");
                return false;
        }
        pg_acpi_pm1_sts_port = (uint16_t) (pm_base + PM1_STS);
        for (unsigned v = 0; v < 256; v++)
                gate(v, pg_acpi_ignore_stub);
        gate(IRQ_BASE + SCI_IRQ, pg_acpi_sci_stub);
        __asm__ volatile("lidt %0" : : "m"(desc));
        pic_setup();
        pg_outw(pm_base + PM1_STS, PWRBTN); /* a press from before is forgotten */
        pg_outw(pm_base + PM1_EN, (uint16_t) (pg_inw(pm_base + PM1_EN) | PWRBTN));
        pg_outw(pm_base + PM1_CNT, (uint16_t) (pg_inw(pm_base + PM1_CNT) | SCI_EN));
        pg_printf("PROBE acpi pm=0x%x power-button=on\n", pm_base);
        return true;
}

void pg_acpi_wait_power_button(void) {
        while (!pg_acpi_button)
                __asm__ volatile("sti; hlt; cli");
        pg_printf("PROBE acpi power-button: powering off\n");
        pg_outw(pm_base + PM1_CNT, (uint16_t) ((pg_inw(pm_base + PM1_CNT) & ~SLP_TYP_MASK) | SLP_EN));
        for (;;)
                __asm__ volatile("cli; hlt");
}

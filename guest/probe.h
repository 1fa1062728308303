/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe.h - shared declarations of the probe guest.
 *
 * The probe guest is the bare-metal multiboot program the lab boots as the
 * nested (L2) guest to prove that passed-through PCI devices work. It runs in
 * 32-bit protected mode with flat segments and paging off, so a pointer is a
 * physical address and can be handed to a device for DMA as it is.
 *
 * Names shared between its files use the pg_ prefix ("probe guest"): this is a
 * separate freestanding binary, and hp_ stays reserved for libhwpass.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * isa-debug-exit (iobase 0xf4) turns the byte written into QEMU's exit status
 * (value << 1) | 1. Status 1 is also what QEMU returns for its own errors, so
 * success is a value nothing else produces.
 */
#define PG_EXIT_PORT 0xf4
#define PG_EXIT_SUCCESS 0x10 /* QEMU exits with status 33 */
#define PG_EXIT_FAILURE 0x11 /* QEMU exits with status 35: a device check failed */

/* ---- port and memory-mapped I/O ---- */

static inline void pg_outb(uint16_t port, uint8_t v) {
        __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t pg_inb(uint16_t port) {
        uint8_t v;
        __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
        return v;
}

static inline void pg_outw(uint16_t port, uint16_t v) {
        __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint16_t pg_inw(uint16_t port) {
        uint16_t v;
        __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
        return v;
}

static inline void pg_outl(uint16_t port, uint32_t v) {
        __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t pg_inl(uint16_t port) {
        uint32_t v;
        __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
        return v;
}

static inline uint32_t pg_mmio_read32(uint32_t addr) {
        return *(volatile uint32_t *) (uintptr_t) addr;
}

static inline void pg_mmio_write32(uint32_t addr, uint32_t v) {
        *(volatile uint32_t *) (uintptr_t) addr = v;
}

/* Keeps the compiler from moving memory accesses across a device handoff;
 * x86 keeps DMA coherent, so no cache maintenance is needed. */
static inline void pg_barrier(void) {
        __asm__ volatile("" : : : "memory");
}

/* ---- libc.c: no system headers here, gcc ships no <string.h> ---- */

void *memset(void *s, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* ---- console.c: COM1 (mirrored to debugcon 0xe9) and a tiny printf ---- */

void pg_console_init(void);
/* Supports %s %c %u %d %x %lx %llx with optional 0-padding and width. */
void pg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- clock.c: a millisecond clock from the PIT, read by polling ---- */

void pg_clock_init(void);
/* Milliseconds since pg_clock_init(); call at least every 50 ms to keep it exact. */
uint32_t pg_clock_ms(void);

/* ---- pci.c: legacy 0xCF8/0xCFC config access and the bus scan ---- */

enum pg_bar_kind { PG_BAR_IO, PG_BAR_MEM32, PG_BAR_MEM64 };

struct pg_bar {
        uint8_t index;
        enum pg_bar_kind kind;
        bool prefetchable;
        uint64_t addr;
        uint64_t size;
};

/* A bridge's forwarding window, kept only so relocated BARs avoid it. */
struct pg_window {
        uint64_t base;
        uint64_t limit; /* inclusive; limit < base means closed */
};

struct pg_pci_dev {
        uint8_t bus, dev, fn;
        uint16_t vendor, device;
        uint32_t class; /* base class, subclass, prog-if */
        uint8_t header_type;
        unsigned n_bars;
        struct pg_bar bars[6];
        struct pg_window windows[2]; /* memory and prefetchable, bridges only */
};

#define PG_PCI_COMMAND 0x04
#define PG_PCI_COMMAND_IO 0x0001
#define PG_PCI_COMMAND_MEMORY 0x0002
#define PG_PCI_COMMAND_MASTER 0x0004
#define PG_PCI_COMMAND_INTX_DISABLE 0x0400

uint32_t pg_pci_read32(const struct pg_pci_dev *d, uint8_t off);
void pg_pci_write32(const struct pg_pci_dev *d, uint8_t off, uint32_t v);
uint16_t pg_pci_read16(const struct pg_pci_dev *d, uint8_t off);
void pg_pci_write16(const struct pg_pci_dev *d, uint8_t off, uint16_t v);

/* Fills the device table; returns the number of functions found. */
unsigned pg_pci_scan(struct pg_pci_dev *table, unsigned max);
void pg_pci_print(const struct pg_pci_dev *d);
/*
 * Makes memory BAR @index reachable from 32-bit code, moving it below 4 GiB
 * if it is unassigned or high, and enables memory decoding. Returns its
 * address, or 0 with *ret_reason set.
 */
uint32_t pg_pci_map_bar(struct pg_pci_dev *d, unsigned index, const char **ret_reason);
/* Lowest address relocated BARs may use: the top of RAM below 4 GiB. */
extern uint32_t pg_ram_top;

/* ---- nvme.c: NVMe bring-up and IDENTIFY; false if the check failed ---- */

bool pg_nvme_probe(struct pg_pci_dev *d);
/* Prints the root ports with a device connected (xhci.c). */
bool pg_xhci_probe(struct pg_pci_dev *d);

/* ---- acpi.c: the power button, for a guest started with "acpi" ---- */

/* Finds the chipset's power management registers and readies the button's
 * interrupt; false (said on the console) when there are none. */
bool pg_acpi_setup(const struct pg_pci_dev *fns, unsigned n);
/* Halts until the button is pressed, then powers the VM off (S5). */
void pg_acpi_wait_power_button(void) __attribute__((noreturn));

/* ---- main.c: entered from start.S with the multiboot magic and info ---- */

void pg_main(uint32_t magic, uint32_t info_addr) __attribute__((noreturn));

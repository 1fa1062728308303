/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pci.c - the probe guest's view of PCI: config access, scan, BAR sizing and
 * moving a BAR where 32-bit code can reach it.
 *
 * Configuration space goes through the legacy 0xCF8/0xCFC ports, which every
 * PC machine type has and which need no ACPI tables. The scan tries every
 * bus number rather than following bridges: the firmware (SeaBIOS under
 * -kernel) has already numbered the buses, and 256 x 32 reads are cheap.
 */
#include "probe.h"

#define CONFIG_ADDRESS 0xcf8
#define CONFIG_DATA 0xcfc

#define PCI_VENDOR_ID 0x00
#define PCI_CLASS_REVISION 0x08
#define PCI_HEADER_DWORD 0x0c /* the header type is its third byte */
#define PCI_BAR0 0x10
#define PCI_BRIDGE_MEM_WINDOW 0x20
#define PCI_BRIDGE_PREF_WINDOW 0x24
#define PCI_BRIDGE_PREF_BASE_UPPER 0x28
#define PCI_BRIDGE_PREF_LIMIT_UPPER 0x2c

/*
 * Where relocated BARs go: above the firmware's MMCONFIG (0xb0000000 on q35)
 * and RAM, below the IOAPIC/LAPIC/BIOS area at 0xfec00000. SeaBIOS fills the
 * 32-bit window from its top down, so the bottom of this range is usually
 * free; every candidate is checked against the BARs and bridge windows found
 * by the scan all the same. (Expansion ROM BARs are not checked: SeaBIOS
 * leaves them disabled once it has run them.)
 */
#define RELOC_START 0xe0000000ull
#define RELOC_END 0xfec00000ull
#define FOUR_GIB 0x100000000ull

uint32_t pg_ram_top;

/* The scan's table, remembered so relocation can avoid every other BAR. */
static struct pg_pci_dev *devs;
static unsigned n_devs;

static uint32_t config_address(const struct pg_pci_dev *d, uint8_t off) {
        return 0x80000000u | (uint32_t) d->bus << 16 | (uint32_t) d->dev << 11 |
               (uint32_t) d->fn << 8 | (off & 0xfcu);
}

uint32_t pg_pci_read32(const struct pg_pci_dev *d, uint8_t off) {
        pg_outl(CONFIG_ADDRESS, config_address(d, off));
        return pg_inl(CONFIG_DATA);
}

void pg_pci_write32(const struct pg_pci_dev *d, uint8_t off, uint32_t v) {
        pg_outl(CONFIG_ADDRESS, config_address(d, off));
        pg_outl(CONFIG_DATA, v);
}

/* 16-bit accesses matter for COMMAND: a 32-bit write would also hit STATUS. */
uint16_t pg_pci_read16(const struct pg_pci_dev *d, uint8_t off) {
        pg_outl(CONFIG_ADDRESS, config_address(d, off));
        return pg_inw((uint16_t) (CONFIG_DATA + (off & 2)));
}

void pg_pci_write16(const struct pg_pci_dev *d, uint8_t off, uint16_t v) {
        pg_outl(CONFIG_ADDRESS, config_address(d, off));
        pg_outw((uint16_t) (CONFIG_DATA + (off & 2)), v);
}

/* Reads what the BAR register at @off decodes after writing all ones. */
static uint32_t probe_mask(const struct pg_pci_dev *d, uint8_t off, uint32_t *ret_orig) {
        uint32_t orig = pg_pci_read32(d, off), mask;

        pg_pci_write32(d, off, 0xffffffffu);
        mask = pg_pci_read32(d, off);
        pg_pci_write32(d, off, orig);
        *ret_orig = orig;
        return mask;
}

/*
 * Standard sizing: write all ones, see which address bits stick. Decoding is
 * off meanwhile so the device never answers at the all-ones address.
 */
static void size_bars(struct pg_pci_dev *d, unsigned count) {
        uint16_t cmd = pg_pci_read16(d, PG_PCI_COMMAND);

        pg_pci_write16(d, PG_PCI_COMMAND,
                       cmd & (uint16_t) ~(PG_PCI_COMMAND_IO | PG_PCI_COMMAND_MEMORY));

        for (unsigned i = 0; i < count; i++) {
                uint8_t off = (uint8_t) (PCI_BAR0 + 4 * i);
                struct pg_bar b = { .index = (uint8_t) i };
                uint32_t orig, mask = probe_mask(d, off, &orig);

                if (mask == 0)
                        continue; /* not implemented */

                if (orig & 1) {
                        uint32_t m = mask & ~3u;
                        if (!(m & 0xffff0000u))
                                m |= 0xffff0000u; /* 16-bit I/O decoder */
                        b.kind = PG_BAR_IO;
                        b.addr = orig & ~3u;
                        b.size = (uint32_t) (~m + 1);
                } else if ((orig & 6) == 4 && i + 1 < count) {
                        uint32_t orig_hi, mask_hi = probe_mask(d, (uint8_t) (off + 4), &orig_hi);
                        /* 64 bits: a BAR can be larger than 4 GiB */
                        uint64_t m = (uint64_t) mask_hi << 32 | (mask & ~0xfu);
                        b.kind = PG_BAR_MEM64;
                        b.addr = (uint64_t) orig_hi << 32 | (orig & ~0xfu);
                        b.size = ~m + 1;
                        i++; /* the upper half is not a BAR of its own */
                } else {
                        b.kind = PG_BAR_MEM32;
                        b.addr = orig & ~0xfu;
                        b.size = (uint32_t) (~(mask & ~0xfu) + 1);
                }
                b.prefetchable = b.kind != PG_BAR_IO && (orig & 8);
                if (b.size != 0)
                        d->bars[d->n_bars++] = b;
        }

        pg_pci_write16(d, PG_PCI_COMMAND, cmd);
}

/* Memory windows of a PCI-to-PCI bridge, in 1 MiB granules. */
static void read_windows(struct pg_pci_dev *d) {
        uint32_t mem = pg_pci_read32(d, PCI_BRIDGE_MEM_WINDOW);
        uint32_t pref = pg_pci_read32(d, PCI_BRIDGE_PREF_WINDOW);

        d->windows[0].base = (mem & 0xfff0u) << 16;
        d->windows[0].limit = (mem & 0xfff00000u) | 0xfffffu;
        d->windows[1].base = (pref & 0xfff0u) << 16;
        d->windows[1].limit = (pref & 0xfff00000u) | 0xfffffu;
        if ((pref & 0xf) == 1) { /* 64-bit prefetchable window */
                d->windows[1].base |= (uint64_t) pg_pci_read32(d, PCI_BRIDGE_PREF_BASE_UPPER) << 32;
                d->windows[1].limit |= (uint64_t) pg_pci_read32(d, PCI_BRIDGE_PREF_LIMIT_UPPER)
                                       << 32;
        }
}

/* Fills @d for an existing function; false if nothing answers there. */
static bool read_function(struct pg_pci_dev *d) {
        uint32_t id = pg_pci_read32(d, PCI_VENDOR_ID);

        if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
                return false;
        d->vendor = (uint16_t) id;
        d->device = (uint16_t) (id >> 16);
        d->class = pg_pci_read32(d, PCI_CLASS_REVISION) >> 8;
        d->header_type = (uint8_t) (pg_pci_read32(d, PCI_HEADER_DWORD) >> 16);

        switch (d->header_type & 0x7f) {
        case 0:
                size_bars(d, 6);
                break;
        case 1:
                size_bars(d, 2);
                read_windows(d);
                break;
        default: /* CardBus: nothing the lab uses */
                break;
        }
        return true;
}

unsigned pg_pci_scan(struct pg_pci_dev *table, unsigned max) {
        unsigned n = 0;

        for (unsigned bus = 0; bus < 256; bus++)
                for (unsigned dev = 0; dev < 32; dev++)
                        for (unsigned fn = 0; fn < 8 && n < max; fn++) {
                                struct pg_pci_dev *d = &table[n];

                                *d = (struct pg_pci_dev) {
                                        .bus = (uint8_t) bus,
                                        .dev = (uint8_t) dev,
                                        .fn = (uint8_t) fn,
                                };
                                if (!read_function(d)) {
                                        if (fn == 0)
                                                break;
                                        continue;
                                }
                                n++;
                                /* Functions 1-7 exist only on multifunction devices. */
                                if (fn == 0 && !(d->header_type & 0x80))
                                        break;
                        }

        devs = table;
        n_devs = n;
        return n;
}

static const char *kind_name(enum pg_bar_kind kind) {
        switch (kind) {
        case PG_BAR_IO:
                return "io";
        case PG_BAR_MEM32:
                return "mem32";
        case PG_BAR_MEM64:
                return "mem64";
        }
        return "?";
}

void pg_pci_print(const struct pg_pci_dev *d) {
        pg_printf("PROBE dev=%02x:%02x.%x id=%04x:%04x class=%06x bars=", d->bus, d->dev, d->fn,
                  d->vendor, d->device, d->class);
        for (unsigned i = 0; i < d->n_bars; i++) {
                const struct pg_bar *b = &d->bars[i];
                pg_printf("%s%u:%s%s:0x%llx/0x%llx", i ? "," : "", b->index, kind_name(b->kind),
                          b->prefetchable ? "p" : "", b->addr, b->size);
        }
        pg_printf("\n");
}

static bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
        return a < b + b_size && b < a + a_size;
}

static bool address_in_use(uint64_t addr, uint64_t size) {
        for (unsigned i = 0; i < n_devs; i++) {
                const struct pg_pci_dev *d = &devs[i];

                for (unsigned j = 0; j < d->n_bars; j++) {
                        const struct pg_bar *b = &d->bars[j];
                        if (b->kind != PG_BAR_IO && b->addr != 0 &&
                            ranges_overlap(addr, size, b->addr, b->size))
                                return true;
                }
                for (unsigned j = 0; j < 2; j++) {
                        const struct pg_window *w = &d->windows[j];
                        if (w->limit > w->base &&
                            ranges_overlap(addr, size, w->base, w->limit - w->base + 1))
                                return true;
                }
        }
        return false;
}

/* First naturally aligned free range of @size in the relocation area, or 0. */
static uint64_t find_free(uint64_t size) {
        uint64_t start = RELOC_START > pg_ram_top ? RELOC_START : pg_ram_top;

        if (size < 16)
                size = 16;
        start = (start + size - 1) & ~(size - 1); /* BAR sizes are powers of two */
        for (uint64_t a = start; a + size <= RELOC_END; a += size)
                if (!address_in_use(a, size))
                        return a;
        return 0;
}

uint32_t pg_pci_map_bar(struct pg_pci_dev *d, unsigned index, const char **ret_reason) {
        struct pg_bar *b = NULL;
        uint16_t cmd = pg_pci_read16(d, PG_PCI_COMMAND);

        for (unsigned i = 0; i < d->n_bars; i++)
                if (d->bars[i].index == index)
                        b = &d->bars[i];
        if (!b || b->kind == PG_BAR_IO) {
                *ret_reason = "no-memory-bar";
                return 0;
        }

        if (b->addr == 0 || b->addr + b->size > FOUR_GIB) {
                uint8_t off = (uint8_t) (PCI_BAR0 + 4 * index);
                uint64_t addr;

                /* Behind a bridge the new address would also need the bridge
                 * windows reprogrammed; SeaBIOS only puts bus-0 BARs high. */
                if (d->bus != 0) {
                        *ret_reason = "bar-high-behind-bridge";
                        return 0;
                }
                addr = find_free(b->size);
                if (addr == 0) {
                        *ret_reason = "no-free-address-below-4g";
                        return 0;
                }
                pg_printf("PROBE relocate dev=%02x:%02x.%x bar=%u from=0x%llx to=0x%llx\n", d->bus,
                          d->dev, d->fn, index, b->addr, addr);
                pg_pci_write16(d, PG_PCI_COMMAND, cmd & (uint16_t) ~PG_PCI_COMMAND_MEMORY);
                pg_pci_write32(d, off, (uint32_t) addr);
                if (b->kind == PG_BAR_MEM64)
                        pg_pci_write32(d, (uint8_t) (off + 4), 0);
                b->addr = addr;
        }

        pg_pci_write16(d, PG_PCI_COMMAND, cmd | PG_PCI_COMMAND_MEMORY);
        return (uint32_t) b->addr;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xhci.c - which root ports of an xHCI controller have a device connected,
 * read from the PORTSC registers (xHCI 1.2, section 5.4.8) without starting
 * the controller: the port status is kept current from reset on. This is how
 * the guest shows that a USB device given to the VM reached it.
 *
 *   PROBE xhci dev=BB:DD.F ports=N connected=P[:SPEED],...   (none: connected=)
 */
#include "probe.h"

#define XHCI_HCSPARAMS1 0x04
#define XHCI_PORTSC(op, n) ((op) + 0x400u + 0x10u * ((n) - 1))
#define PORTSC_CCS 0x1u
#define PORTSC_SPEED(v) (((v) >> 10) & 0xfu)

bool pg_xhci_probe(struct pg_pci_dev *d) {
        const char *reason = NULL;
        uint32_t bar = pg_pci_map_bar(d, 0, &reason), op, ports;
        bool first = true;

        if (bar == 0) {
                pg_printf("PROBE xhci dev=%02x:%02x.%x status=fail reason=%s\n", d->bus, d->dev, d->fn,
                          reason);
                return false;
        }
        op = bar + (pg_mmio_read32(bar) & 0xffu); /* CAPLENGTH */
        ports = pg_mmio_read32(bar + XHCI_HCSPARAMS1) >> 24;
        pg_printf("PROBE xhci dev=%02x:%02x.%x ports=%u connected=", d->bus, d->dev, d->fn, ports);
        for (uint32_t n = 1; n <= ports; n++) {
                uint32_t v = pg_mmio_read32(XHCI_PORTSC(op, n));

                if (v == 0xffffffffu || !(v & PORTSC_CCS))
                        continue;
                pg_printf("%s%u:%u", first ? "" : ",", n, PORTSC_SPEED(v));
                first = false;
        }
        pg_printf("\n");
        return ports != 0 && ports != 0xffu;
}

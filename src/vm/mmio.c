/* The guest's 64-bit MMIO window: the 64-bit memory BARs of the assigned
 * devices, packed largest first, plus headroom, rounded up to a power of two.
 * Pure: no I/O. */
#include "mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/pci.h"
#include "util/macro.h"

/* The smallest power of two >= x (1 for 0); 0 when it does not fit. */
static uint64_t pow2_ceil(uint64_t x)
{
        uint64_t p = 1;

        if (x > (1ULL << 63))
                return 0;
        while (p < x)
                p <<= 1;
        return p;
}

static int cmp_desc(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? 1 : x > y ? -1 : 0;
}

static bool bar_counts(const struct hp_pci_bar *b)
{
        return !b->is_io && b->is_64bit && b->size > 0 && b->index >= 0 && b->index < 6;
}

/* Lays the BARs out one after the other, each aligned to its size (a BAR's
 * size is a power of two; anything else is aligned to the next one). Largest
 * first, every offset is already aligned for the next BAR, so nothing is
 * lost to padding and the sum is exact. */
static int pack(uint64_t *sizes, size_t n, uint64_t *ret)
{
        uint64_t end = 0;

        qsort(sizes, n, sizeof(*sizes), cmp_desc);
        for (size_t i = 0; i < n; i++) {
                uint64_t align = pow2_ceil(sizes[i]);

                if (align == 0)
                        return -EOVERFLOW;
                if (end % align != 0) {
                        uint64_t pad = align - end % align;

                        if (end > UINT64_MAX - pad)
                                return -EOVERFLOW;
                        end += pad;
                }
                if (end > UINT64_MAX - sizes[i])
                        return -EOVERFLOW;
                end += sizes[i];
        }
        *ret = end;
        return 0;
}

int hp_mmio_plan(const struct hp_pci_dev *const *devs, size_t n, struct hp_mmio_plan *ret)
{
        _cleanup_free_ uint64_t *sizes = NULL;
        uint64_t needed = 0, headroom, window;
        size_t n_sizes = 0;
        int r;

        if ((n > 0 && !devs) || !ret)
                return -EINVAL;
        if (n > SIZE_MAX / ELEMENTSOF(devs[0]->bars) / sizeof(*sizes))
                return -EOVERFLOW;
        sizes = calloc(n * ELEMENTSOF(devs[0]->bars) + 1, sizeof(*sizes));
        if (!sizes)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct hp_pci_dev *d = devs[i];

                if (!d || d->n_bars > ELEMENTSOF(d->bars))
                        return -EINVAL;
                for (size_t b = 0; b < d->n_bars; b++)
                        if (bar_counts(&d->bars[b]))
                                sizes[n_sizes++] = d->bars[b].size;
        }
        if (n_sizes == 0) {
                *ret = (struct hp_mmio_plan){ 0 };
                return 0;
        }
        r = pack(sizes, n_sizes, &needed);
        if (r < 0)
                return r;

        headroom = needed / 4 + (needed % 4 != 0);
        if (headroom < HP_MMIO_HEADROOM_MIN)
                headroom = HP_MMIO_HEADROOM_MIN;
        if (needed > UINT64_MAX - headroom)
                return -EOVERFLOW;
        window = pow2_ceil(needed + headroom);
        if (window == 0)
                return -EOVERFLOW;

        *ret = (struct hp_mmio_plan){
                .needed = needed,
                .window = window,
                .needs_efi = window > HP_MMIO_BIOS_MAX,
        };
        return 0;
}

/* "32 GiB + 16 KiB": the binary units a byte count is made of, largest first. */
static void format_bytes(uint64_t bytes, char *buf, size_t size)
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        size_t len = 0;

        buf[0] = '\0';
        if (bytes == 0) {
                snprintf(buf, size, "0 B");
                return;
        }
        for (int u = (int)ELEMENTSOF(units) - 1; u >= 0; u--) {
                uint64_t part = (bytes >> (10 * u)) & (u == 6 ? 0xf : 0x3ff);
                int w;

                if (part == 0)
                        continue;
                w = snprintf(buf + len, size - len, "%s%" PRIu64 " %s", len ? " + " : "", part,
                             units[u]);
                if (w < 0 || (size_t)w >= size - len)
                        return;
                len += (size_t)w;
        }
}

int hp_mmio_describe(const struct hp_mmio_plan *p, char **ret)
{
        char window[96], needed[96];
        char *s = NULL;
        int n;

        if (!p || !ret)
                return -EINVAL;
        if (p->window == 0) {
                s = strdup("64-bit MMIO window not needed (no 64-bit BARs)");
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }
        format_bytes(p->window, window, sizeof(window));
        format_bytes(p->needed, needed, sizeof(needed));
        if (p->needs_efi)
                n = asprintf(&s, "64-bit MMIO window %s (BARs need %s; "
                                 "EFI needed: BIOS maps at most %llu GiB)",
                             window, needed, HP_MMIO_BIOS_MAX >> 30);
        else
                n = asprintf(&s, "64-bit MMIO window %s (BARs need %s; EFI not needed)", window,
                             needed);
        if (n < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int hp_mmio_firmware(enum hp_vm_firmware configured, const struct hp_mmio_plan *p,
                     const struct hp_pci_dev *const *devs, size_t n, enum hp_vm_firmware *ret, char **ret_why)
{
        const struct hp_pci_dev *big = NULL;
        char window[96], bar[96], bios[96];
        uint64_t largest = 0;
        char *why = NULL;
        int k = 0;

        if (!p || !ret || !ret_why || (n > 0 && !devs))
                return -EINVAL;
        /* The device to name: the one with the largest 64-bit BAR. */
        for (size_t i = 0; i < n; i++)
                for (size_t b = 0; devs[i] && b < devs[i]->n_bars && b < ELEMENTSOF(devs[i]->bars); b++)
                        if (bar_counts(&devs[i]->bars[b]) && devs[i]->bars[b].size > largest) {
                                largest = devs[i]->bars[b].size;
                                big = devs[i];
                        }
        format_bytes(p->window, window, sizeof(window));
        format_bytes(largest, bar, sizeof(bar));
        format_bytes(HP_MMIO_BIOS_MAX, bios, sizeof(bios));
        if (p->window == 0 || !big)
                k = asprintf(&why, "no device has a 64-bit BAR");
        else if (p->needs_efi)
                k = asprintf(&why, "%s's %s BAR needs a %s 64-bit MMIO window, larger than the %s BIOS maps",
                             big->address, bar, window, bios);
        else
                k = asprintf(&why, "the devices' 64-bit BARs fit in a %s window, within the %s BIOS maps", window,
                             bios);
        if (k < 0)
                return -ENOMEM;
        *ret = configured != HP_VM_FIRMWARE_AUTO ? configured
               : p->needs_efi                    ? HP_VM_FIRMWARE_EFI
                                                 : HP_VM_FIRMWARE_BIOS;
        *ret_why = why;
        return 0;
}

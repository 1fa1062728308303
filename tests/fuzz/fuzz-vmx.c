/* libFuzzer target: the text of a VMware .vmx file as `hwpass vm import-vmx`
 * reads it: the settings table (hp_vmx_table_load) and the import into a VM
 * spec (hp_vmx_parse), once without a host and once against a small fixed
 * inventory, so that static entries are held against the devices there
 * (vmxhost.c). Beyond crashes and leaks it checks: every key of the table is
 * found again by its name in any case; a refusal says why and leaves the
 * output alone; an import names the VM as asked, loads back from its text to
 * the same text, imports the same entries with or without the host, and
 * imports under --name whenever it imports under its displayName. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "vm/specjson.h"
#include "vm/vmx.h"
#include "vm/vmxtable.h"

#include "spec-round-trip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEV(b, s, f, sbdf, v, d, vn, dn)                                                           \
        {                                                                                          \
                .addr = { .bus = (b), .dev = (s), .fn = (f) }, .address = (sbdf),                  \
                .vendor_id = (v), .device_id = (d), .vendor_name = (vn), .device_name = (dn),      \
                .iommu_group = -1, .numa_node = -1                                                 \
        }

/* A desktop with the GPU of tests/fixtures/vmx/desktop-gpu.vmx at 65:00.0
 * (what vSphere writes as bus 101), a P40 at 42:00.0 (bus 66) and other
 * devices at the addresses the other reading of those buses names. Sorted
 * by address. */
static struct hp_pci_dev host_devs[] = {
        DEV(0x00, 0x1f, 3, "0000:00:1f.3", 0x8086, 0xa348, "Intel Corporation",
            "Cannon Lake PCH cAVS"),
        DEV(0x06, 0x00, 0, "0000:06:00.0", 0x8086, 0x2723, "Intel Corporation", "Wi-Fi 6 AX200"),
        DEV(0x42, 0x00, 0, "0000:42:00.0", 0x10de, 0x1b38, NULL, NULL),
        DEV(0x65, 0x00, 0, "0000:65:00.0", 0x10de, 0x2206, "NVIDIA Corporation",
            "GA102 [GeForce RTX 3080]"),
        DEV(0x65, 0x00, 1, "0000:65:00.1", 0x10de, 0x1aef, "NVIDIA Corporation",
            "GA102 High Definition Audio"),
        DEV(0x66, 0x00, 0, "0000:66:00.0", 0x15b3, 0x101d, "Mellanox Technologies",
            "MT2892 [ConnectX-6 Dx]"),
};
static const struct hp_pci_inventory host = { .devs = host_devs,
                                              .n_devs = ELEMENTSOF(host_devs),
                                              .has_iommu = true };

/* Every entry is what a look-up of its key finds, in lower and upper case. */
static void check_table(const char *text)
{
        _cleanup_(hp_vmx_table_done) struct hp_vmx_table t = { 0 };
        _cleanup_free_ char *err = NULL;
        int r = hp_vmx_table_load(text, &t, &err);

        if (r < 0) {
                if ((r == -EINVAL) != (err != NULL) || t.e)
                        abort();
                return;
        }
        if (err)
                abort();
        for (size_t i = 0; i < t.n; i++) {
                _cleanup_free_ char *lower = strdup(t.e[i].key), *upper = strdup(t.e[i].key);

                if (!lower || !upper)
                        return;
                for (char *p = lower, *q = upper; *p; p++, q++) {
                        *p = (char)tolower((unsigned char)*p);
                        *q = (char)toupper((unsigned char)*q);
                }
                if (hp_vmx_table_find(&t, t.e[i].key) != &t.e[i] ||
                    hp_vmx_table_find(&t, lower) != &t.e[i] ||
                    hp_vmx_table_find(&t, upper) != &t.e[i])
                        abort();
        }
}

/* 0 with *x filled (warnings never NULL), or the refusal, which says why
 * (-EINVAL) and leaves *x as it was. */
static int import(const char *text, const char *name, const struct hp_pci_inventory *inv,
                  struct hp_vmx_import *x)
{
        _cleanup_free_ char *err = NULL;
        int r;

        *x = (struct hp_vmx_import){ .spec = { .vcpus = 77 } };
        r = hp_vmx_parse(text, name, inv, x, &err);
        if (r < 0) {
                if ((r == -EINVAL) != (err != NULL) || x->spec.vcpus != 77 || x->warnings)
                        abort();
                *x = (struct hp_vmx_import){ 0 };
                return r;
        }
        if (err || !x->warnings || (name && !streq(x->spec.name, name)))
                abort();
        for (size_t i = 0; x->warnings[i]; i++)
                if (!*x->warnings[i])
                        abort();
        check_round_trip(&x->spec);
        return 0;
}

/* The host changes which device a static entry takes, never which entries
 * there are. */
static void check_same_entries(const struct hp_vm_spec *a, const struct hp_vm_spec *b)
{
        if (a->n_pci != b->n_pci || a->n_usb != b->n_usb || !streq(a->name, b->name) ||
            a->memory_mib != b->memory_mib || a->vcpus != b->vcpus)
                abort();
        for (size_t i = 0; i < a->n_pci; i++)
                if (a->pci[i].index != b->pci[i].index)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import plain = { 0 }, held = { 0 },
                                                           named = { 0 };
        _cleanup_free_ char *text = malloc(size + 1);
        int r1, r2;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        check_table(text);
        r1 = import(text, NULL, NULL, &plain);
        r2 = import(text, NULL, &host, &held);
        if (r1 == 0 && r2 == 0)
                check_same_entries(&plain.spec, &held.spec);
        /* --name: the displayName is not needed then. */
        if (import(text, "imported-vm", NULL, &named) < 0 && r1 == 0)
                abort();
        return 0;
}

/* A static .vmx entry held against this host by the IDs VMware recorded:
 * ESXi writes addresses such as "00000:006:00.0", which on a desktop is
 * usually the Wi-Fi card. A user migrating wants the same kind of device,
 * not whatever sits at that address, so a mismatch becomes Dynamic
 * DirectPath I/O with the recorded IDs, and the warning says so. */
#include "vmxhost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"

static bool has_ids(const struct hp_pci_dev *d, unsigned vid, unsigned did)
{
        return d && d->vendor_id == vid && d->device_id == did;
}

/* "NVIDIA Corporation GA102 [GeForce RTX 3080] (10de:2206)", after the
 * address and in the parentheses when with_address. */
static int describe(const struct hp_pci_dev *d, bool with_address, char **ret)
{
        _cleanup_free_ char *name = NULL;
        char ids[16];

        snprintf(ids, sizeof(ids), "%04x:%04x", d->vendor_id, d->device_id);
        if (d->vendor_name && d->device_name &&
            asprintf(&name, "%s %s", d->vendor_name, d->device_name) < 0)
                return -ENOMEM;
        if (with_address)
                return asprintf(ret, "%s (%s%s%s)", d->address, name ? name : "", name ? ", " : "",
                                ids) < 0 ? -ENOMEM : 0;
        if (!name)
                return asprintf(ret, "a %s device", ids) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "%s (%s)", name, ids) < 0 ? -ENOMEM : 0;
}

/* The devices of host with vid:did, "A (...), B (...)", or NULL for none. */
static int matching(const struct hp_pci_inventory *host, unsigned vid, unsigned did, char **ret)
{
        _cleanup_free_ char *list = NULL;

        for (size_t i = 0; i < host->n_devs; i++) {
                _cleanup_free_ char *one = NULL;
                char *more;

                if (!has_ids(&host->devs[i], vid, did))
                        continue;
                if (describe(&host->devs[i], true, &one) < 0 ||
                    asprintf(&more, "%s%s%s", list ? list : "", list ? ", " : "", one) < 0)
                        return -ENOMEM;
                free(list);
                list = more;
        }
        *ret = TAKE_PTR(list);
        return 0;
}

int hp_vmx_pci_check_host(const struct hp_pci_inventory *host, struct hp_vm_pci *p,
                          const char *other, unsigned vid, unsigned did, const char *key,
                          const char *value, const char *vm, char ***w)
{
        const struct hp_pci_dev *at = hp_pci_find(host, p->address);
        _cleanup_free_ char *here = NULL, *same = NULL, *tail = NULL;
        char address[HP_SBDF_LEN];

        if (has_ids(at, vid, did))
                return 0;
        if (*other && has_ids(hp_pci_find(host, other), vid, did)) {
                /* The bus number was hex after all (typed by hand, not by vSphere). */
                memcpy(p->address, other, HP_SBDF_LEN);
                return 0;
        }
        if ((at && describe(at, false, &here) < 0) || matching(host, vid, did, &same) < 0)
                return -ENOMEM;
        memcpy(address, p->address, HP_SBDF_LEN);
        p->allowed = calloc(1, sizeof(*p->allowed));
        if (!p->allowed)
                return -ENOMEM;
        p->kind = HP_VM_PCI_DYNAMIC;
        p->address[0] = '\0';
        p->allowed[0] = (struct hp_pci_id_match){ .vendor_id = (uint16_t)vid,
                                                  .device_id = (uint16_t)did };
        p->n_allowed = 1;
        if (same ? asprintf(&tail, "Devices of this host that match: %s; to tie the VM to one of them: "
                            "'hwpass vm remove-device %s pci%d' and 'hwpass vm add-pci %s --address "
                            "SBDF'", same, vm, p->index, vm) < 0
                 : !(tail = strdup("No device of this host matches: the VM will not start until "
                                   "one does ('hwpass device list' shows the devices)")))
                return -ENOMEM;
        return hp_strv_pushf(w, "%s = \"%s\" is %s%s%s%s, which on this host is %s, not the %04x:%04x "
                    "VMware recorded: the address is not taken; pci%d is imported as Dynamic "
                    "DirectPath I/O, any free %04x:%04x at power-on (as 'hwpass vm add-pci %s "
                    "--allowed %04x:%04x' adds it). %s",
                    key, value, address, *other ? " (" : "", other, *other ? " read in hex)" : "",
                    here ? here : "no device", vid, did, p->index, vid, did, vm, vid, did, tail);
}

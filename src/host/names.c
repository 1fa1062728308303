/* Device names from pciutils' pci.ids through libpci. Only the name database
 * of libpci is used: hwpass reads sysfs itself, under its host root. */
#include "names.h"

#include <errno.h>
#include <pci/pci.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"
#include "util/macro.h"

struct hp_names {
        struct pci_access *pacc;
};

/* libpci's default handlers print and exit; a library must do neither. */
static void names_quiet(char *msg, ...)
{
        (void)msg;
}

static void names_error(char *msg, ...) __attribute__((noreturn));
static void names_error(char *msg, ...)
{
        (void)msg;
        /* Only reached from access methods, which hwpass never initialises. */
        abort();
}

int hp_names_new(const char *ids_path, struct hp_names **ret)
{
        _cleanup_free_ struct hp_names *n = calloc(1, sizeof(*n));

        if (!n)
                return -ENOMEM;
        n->pacc = pci_alloc();
        if (!n->pacc)
                return -ENOMEM;
        n->pacc->error = names_error;
        n->pacc->warning = names_quiet;
        n->pacc->debug = names_quiet;
        if (ids_path) {
                char *p = strdup(ids_path);

                if (!p) {
                        pci_cleanup(n->pacc);
                        return -ENOMEM;
                }
                pci_set_name_list_path(n->pacc, p, 1);
        }
        *ret = TAKE_PTR(n);
        return 0;
}

void hp_names_free(struct hp_names *n)
{
        if (!n)
                return;
        pci_cleanup(n->pacc);
        free(n);
}

/* Deterministic: the local pci.ids only, no udev hwdb, no DNS. */
#define LOOKUP_FLAGS (PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB)

static int dup_name(const char *s, char **ret)
{
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int hp_names_fill(struct hp_names *n, struct hp_pci_dev *d)
{
        char buf[256];
        int r;

        r = dup_name(pci_lookup_name(n->pacc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | LOOKUP_FLAGS,
                                     d->vendor_id),
                     &d->vendor_name);
        if (r < 0)
                return r;
        r = dup_name(pci_lookup_name(n->pacc, buf, sizeof(buf), PCI_LOOKUP_DEVICE | LOOKUP_FLAGS,
                                     d->vendor_id, d->device_id),
                     &d->device_name);
        if (r < 0)
                return r;
        if (d->subsystem_vendor_id && d->subsystem_vendor_id != 0xffff) {
                r = dup_name(pci_lookup_name(n->pacc, buf, sizeof(buf),
                                             PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | LOOKUP_FLAGS,
                                             d->subsystem_vendor_id),
                             &d->subsystem_vendor_name);
                if (r < 0)
                        return r;
                r = dup_name(pci_lookup_name(n->pacc, buf, sizeof(buf),
                                             PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE | LOOKUP_FLAGS,
                                             d->vendor_id, d->device_id, d->subsystem_vendor_id,
                                             d->subsystem_device_id),
                             &d->subsystem_name);
                if (r < 0)
                        return r;
        }
        return dup_name(pci_lookup_name(n->pacc, buf, sizeof(buf), PCI_LOOKUP_CLASS | LOOKUP_FLAGS,
                                        (int)(d->class >> 8)),
                        &d->class_name);
}

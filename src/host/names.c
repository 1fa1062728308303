/* Device names from pciutils' pci.ids through libpci. Only the name database
 * of libpci is used: hwpass reads sysfs itself, under its host root. libpci
 * (and the libudev and zlib it pulls in) is opened the first time a name is
 * looked up, so the commands that print none -- vm start, the supervisor --
 * do not pay for loading it. */
#include "names.h"

#include <dlfcn.h>
#include <errno.h>
#include <pci/pci.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"
#include "util/macro.h"

#define LIBPCI_SONAME "libpci.so.3"

struct hp_names {
        /* libpci's name cache is not thread-safe: the API's threads take turns. */
        pthread_mutex_t lock;
        char *ids_path; /* NULL: libpci's default */
        bool tried;     /* libpci opened (or found missing) */
        void *lib;
        struct pci_access *pacc;
        void (*cleanup)(struct pci_access *);
        char *(*lookup)(struct pci_access *, char *, int, int, ...);
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
        if (ids_path && !(n->ids_path = strdup(ids_path)))
                return -ENOMEM;
        pthread_mutex_init(&n->lock, NULL);
        *ret = TAKE_PTR(n);
        return 0;
}

/* Opens libpci and its name list once; without libpci, names stay unknown. */
static int names_open(struct hp_names *n)
{
        struct pci_access *(*alloc)(void);
        void (*set_path)(struct pci_access *, char *, int);

        if (n->tried)
                return n->pacc ? 0 : -ENOENT;
        n->tried = true;
        n->lib = dlopen(LIBPCI_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!n->lib)
                return -ENOENT;
        alloc = (struct pci_access * (*)(void)) dlsym(n->lib, "pci_alloc");
        set_path = (void (*)(struct pci_access *, char *, int))dlsym(n->lib, "pci_set_name_list_path");
        n->cleanup = (void (*)(struct pci_access *))dlsym(n->lib, "pci_cleanup");
        n->lookup = (char *(*)(struct pci_access *, char *, int, int, ...))dlsym(n->lib, "pci_lookup_name");
        if (!alloc || !set_path || !n->cleanup || !n->lookup || !(n->pacc = alloc()))
                return -ENOENT;
        n->pacc->error = names_error;
        n->pacc->warning = names_quiet;
        n->pacc->debug = names_quiet;
        if (n->ids_path) {
                char *p = strdup(n->ids_path);

                if (!p)
                        return -ENOMEM;
                set_path(n->pacc, p, 1);
        }
        return 0;
}

void hp_names_free(struct hp_names *n)
{
        if (!n)
                return;
        if (n->pacc)
                n->cleanup(n->pacc);
        if (n->lib)
                dlclose(n->lib);
        pthread_mutex_destroy(&n->lock);
        free(n->ids_path);
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

static int fill(struct hp_names *n, struct hp_pci_dev *d)
{
        char buf[256];
        int r = names_open(n);

        if (r == -ENOENT)
                return 0; /* no libpci: the names stay unknown, the rest is right */
        if (r < 0)
                return r;

        r = dup_name(n->lookup(n->pacc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | LOOKUP_FLAGS,
                                     d->vendor_id),
                     &d->vendor_name);
        if (r < 0)
                return r;
        r = dup_name(n->lookup(n->pacc, buf, sizeof(buf), PCI_LOOKUP_DEVICE | LOOKUP_FLAGS,
                                     d->vendor_id, d->device_id),
                     &d->device_name);
        if (r < 0)
                return r;
        if (d->subsystem_vendor_id && d->subsystem_vendor_id != 0xffff) {
                r = dup_name(n->lookup(n->pacc, buf, sizeof(buf),
                                             PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | LOOKUP_FLAGS,
                                             d->subsystem_vendor_id),
                             &d->subsystem_vendor_name);
                if (r < 0)
                        return r;
                r = dup_name(n->lookup(n->pacc, buf, sizeof(buf),
                                             PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE | LOOKUP_FLAGS,
                                             d->vendor_id, d->device_id, d->subsystem_vendor_id,
                                             d->subsystem_device_id),
                             &d->subsystem_name);
                if (r < 0)
                        return r;
        }
        return dup_name(n->lookup(n->pacc, buf, sizeof(buf), PCI_LOOKUP_CLASS | LOOKUP_FLAGS,
                                        (int)(d->class >> 8)),
                        &d->class_name);
}

int hp_names_fill(struct hp_names *n, struct hp_pci_dev *d)
{
        int r;

        pthread_mutex_lock(&n->lock);
        r = fill(n, d);
        pthread_mutex_unlock(&n->lock);
        return r;
}

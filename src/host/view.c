/* Loading the inventory and the stored configurations together. */
#include "view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/pci.h"
#include "host/state.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

static int load_configs(const char *db_path, struct hp_view *v, char **ret_error)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        int r = hp_store_open_readonly(db_path, &s, ret_error);

        if (r == -ENOENT) {
                free(*ret_error);
                *ret_error = NULL;
                return 0; /* nothing configured yet */
        }
        if (r == -EPROTONOSUPPORT) {
                /* Written by an older hwpass: a read-write open upgrades it. */
                free(*ret_error);
                *ret_error = NULL;
                r = hp_store_open(db_path, &s, ret_error);
        }
        if (r < 0)
                return r;
        r = hp_store_device_list(s, &v->configs, &v->n_configs);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot read the stored state in '%s': %s", db_path,
                                 strerror(-r));
        return 0;
}

int hp_view_load(const struct hp_host *h, struct hp_names *names, const char *db_path, struct hp_view *ret,
                 char **ret_error)
{
        struct hp_host_state st;
        int r;

        *ret_error = NULL;
        if (!ret->inv) {
                r = hp_pci_scan(h, names, &ret->inv);
                if (r < 0)
                        return hp_errorf(ret_error, r, "cannot read the PCI devices: %s", hp_host_strerror(r));
        }
        r = load_configs(db_path, ret, ret_error);
        if (r < 0)
                return r;
        st = hp_view_state(ret); /* serials not read yet */
        if (!hp_host_state_needs_serials(&st))
                return 0;
        /* Only to follow devices whose address changed: serials cost I/O. */
        ret->serials = calloc(ret->inv->n_devs + 1, sizeof(char *));
        if (!ret->serials)
                return -ENOMEM;
        for (size_t i = 0; i < ret->inv->n_devs; i++)
                (void)hp_pci_read_serial(h, &ret->inv->devs[i], &ret->serials[i]);
        return 0;
}

void hp_view_done(struct hp_view *v)
{
        for (size_t i = 0; v->serials && v->inv && i < v->inv->n_devs; i++)
                free(v->serials[i]);
        free(v->serials);
        hp_dev_configs_free(v->configs, v->n_configs);
        hp_pci_inventory_free(v->inv);
        *v = (struct hp_view){ 0 };
}

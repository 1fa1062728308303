/* Loading the inventory and the stored configurations together. */
#include "view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/moves.h"
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
        r = hp_view_read_serials(h, ret->inv, ret->configs, ret->n_configs, &ret->serials);
        if (r < 0)
                return r;
        st = hp_view_state(ret);
        r = hp_dev_match_all(&st, &ret->matches, &ret->n_matches);
        if (r < 0)
                return r;
        return hp_dev_matches_rekey(ret->matches, ret->n_matches, ret->configs, ret->n_configs);
}

static bool ids_configured(const struct hp_pci_dev *d, const struct hp_dev_config *configs, size_t n)
{
        for (size_t k = 0; k < n; k++)
                if (configs[k].vendor_id == d->vendor_id && configs[k].device_id == d->device_id &&
                    configs[k].subsystem_vendor_id == d->subsystem_vendor_id &&
                    configs[k].subsystem_device_id == d->subsystem_device_id)
                        return true;
        return false;
}

int hp_view_read_serials(const struct hp_host *h, const struct hp_pci_inventory *inv,
                         const struct hp_dev_config *configs, size_t n, char ***ret)
{
        *ret = NULL;
        if (n == 0)
                return 0;
        *ret = calloc(inv->n_devs + 1, sizeof(char *));
        if (!*ret)
                return -ENOMEM;
        /* Serials cost I/O: only of devices an entry may belong to. */
        for (size_t i = 0; i < inv->n_devs; i++)
                if (ids_configured(&inv->devs[i], configs, n))
                        (void)hp_pci_read_serial(h, &inv->devs[i], &(*ret)[i]);
        return 0;
}

void hp_view_serials_free(const struct hp_pci_inventory *inv, char **serials)
{
        for (size_t i = 0; serials && i < inv->n_devs; i++)
                free(serials[i]);
        free(serials);
}

void hp_view_done(struct hp_view *v)
{
        if (v->inv)
                hp_view_serials_free(v->inv, v->serials);
        free(v->matches);
        hp_dev_configs_free(v->configs, v->n_configs);
        hp_pci_inventory_free(v->inv);
        *v = (struct hp_view){ 0 };
}

/* Stored device entries following their devices to new PCI addresses: by
 * themselves when the identity matches exactly (host apply at boot, and the
 * writes that see it), by 'hwpass device adopt' when it is only possible,
 * and 'hwpass device forget' for an entry whose device is gone. Each
 * re-keying is one store transaction with its events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "host/moves.h"
#include "host/pci.h"
#include "host/state.h"
#include "host/view.h"
#include "ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

/* The entry at from, stored again at d's address with d's identity. The
 * caller holds the transaction. */
static int rekey(struct hp_store *s, const struct hp_dev_config *from, const struct hp_pci_dev *d,
                 const char *serial, const char *kind)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config c = { 0 };
        char msg[64];
        int r = hp_dev_config_copy(from, &c);

        if (r < 0)
                return r;
        memcpy(c.address, d->address, HP_SBDF_LEN);
        free(c.slot);
        c.slot = d->slot ? strdup(d->slot) : NULL;
        free(c.reason);
        c.reason = NULL;
        if (serial && (!c.serial || !streq(c.serial, serial))) {
                free(c.serial);
                c.serial = strdup(serial);
        }
        if ((d->slot && !c.slot) || (serial && !c.serial))
                return -ENOMEM;
        r = hp_store_device_put(s, &c);
        snprintf(msg, sizeof(msg), "%s -> %s", from->address, d->address);
        return r < 0 ? r : hp_store_event_add(s, kind, d->address, msg);
}

int hp_ops_follow_moves(struct hp_ops_ctx *c, struct hp_store *s, const struct hp_pci_inventory *inv)
{
        struct hp_dev_config *configs = NULL;
        struct hp_dev_match *m = NULL;
        char **serials = NULL;
        size_t n = 0, n_m = 0, moved = 0;
        int r = hp_store_begin(s);

        if (r >= 0)
                r = hp_store_device_list(s, &configs, &n);
        if (r >= 0)
                r = hp_view_read_serials(c->host, inv, configs, n, &serials);
        if (r >= 0) {
                struct hp_host_state st = { .inv = inv, .configs = configs, .n_configs = n, .serials = serials };

                r = hp_dev_match_all(&st, &m, &n_m);
        }
        /* All old entries out first: in a swap each new address is an old one. */
        for (size_t i = 0; r >= 0 && i < n_m; i++)
                if (m[i].kind == HP_DEV_MATCH_MOVED)
                        r = hp_store_device_delete(s, m[i].from);
        for (size_t i = 0; r >= 0 && i < n_m; i++) {
                const struct hp_pci_dev *d = hp_pci_find(inv, m[i].to);
                size_t k = 0;

                if (m[i].kind != HP_DEV_MATCH_MOVED)
                        continue;
                while (!streq(configs[k].address, m[i].from))
                        k++;
                r = rekey(s, &configs[k], d, serials[d - inv->devs], "device-moved");
                moved++;
        }
        if (r >= 0)
                r = moved ? hp_store_commit(s) : hp_store_rollback(s);
        if (r < 0)
                (void)hp_store_rollback(s);
        free(m);
        hp_view_serials_free(inv, serials);
        hp_dev_configs_free(configs, n);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot record the devices that moved in '%s'", c->db);
        return (int)moved;
}

int hp_ops_follow_moves_unrecorded(struct hp_ops_ctx *c, const struct hp_pci_inventory *inv,
                                   struct hp_dev_config *configs, size_t n)
{
        _cleanup_free_ struct hp_dev_match *m = NULL;
        char **serials = NULL;
        size_t n_m = 0;
        int r = hp_view_read_serials(c->host, inv, configs, n, &serials);

        if (r >= 0) {
                struct hp_host_state st = { .inv = inv, .configs = configs, .n_configs = n, .serials = serials };

                r = hp_dev_match_all(&st, &m, &n_m);
        }
        hp_view_serials_free(inv, serials);
        if (r < 0)
                return hp_op_oom(c);
        for (size_t i = 0; i < n_m; i++)
                for (size_t k = 0; m[i].kind == HP_DEV_MATCH_MOVED && k < n; k++)
                        if (streq(configs[k].address, m[i].from)) {
                                memcpy(configs[k].address, m[i].to, HP_SBDF_LEN);
                                break;
                        }
        return 0;
}

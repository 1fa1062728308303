/* hwpass device clear: a device whose reset failed after a VM stopped is
 * quarantined (never assigned again). Clearing it tries the reset once more
 * and returns it to service only when that works, unless the operator says
 * it is fine with --force (after a power cycle that sysfs cannot see). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host/bind.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

int hp_cmd_device_clear(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };
        bool force = argc == 3 && streq(argv[2], "--force");
        int r;

        if (argc < 2 || argc > 3 || (argc == 3 && !force))
                return hp_cli_usage_error("usage: hwpass device clear SBDF [--force]");
        r = hp_cli_device_config_load(c, argv[1], &s, &cfg);
        if (r != HP_EXIT_OK)
                return r;
        if (!streq(cfg.health, "quarantined")) {
                (void)hp_store_rollback(s);
                if (!c->json)
                        printf("%s is not quarantined (health: %s): nothing to clear.\n",
                               cfg.address, cfg.health);
                return HP_EXIT_OK;
        }
        if (cfg.assigned_vm) {
                (void)hp_store_rollback(s);
                return hp_cli_usage_error(
                        "%s is assigned to VM '%s': stop it first (hwpass vm stop %s)", cfg.address,
                        cfg.assigned_vm, cfg.assigned_vm);
        }
        r = force ? 0 : hp_pci_reset(c->host, cfg.address);
        if (r < 0) {
                (void)hp_store_rollback(s);
                fprintf(stderr,
                        "hwpass: %s: the reset still fails (%s): it stays quarantined. Power-cycle "
                        "the host "
                        "(or the slot), then clear it again; --force clears it without a reset\n",
                        cfg.address, strerror(-r));
                return HP_EXIT_FAIL;
        }
        free(cfg.health);
        cfg.health = strdup("ok");
        free(cfg.reason);
        cfg.reason = NULL;
        if (!cfg.health)
                r = -ENOMEM;
        if (r >= 0)
                r = hp_store_device_put(s, &cfg);
        if (r >= 0)
                r = hp_store_event_add(s, "device-cleared", cfg.address,
                                       force ? "forced, without a reset" : "reset worked");
        if (r >= 0)
                r = hp_store_commit(s);
        if (r < 0) {
                (void)hp_store_rollback(s);
                return hp_cli_error(r, "cannot store %s in '%s'", cfg.address, c->db_path);
        }
        if (c->json)
                return hp_cli_print_json(json_pack("{s:s, s:s, s:b}", "address", cfg.address,
                                                   "health", "ok", "reset_tried", !force));
        printf("%s is back in service%s.\n", cfg.address,
               force ? " (forced: no reset was tried)" : ": its reset worked");
        return HP_EXIT_OK;
}

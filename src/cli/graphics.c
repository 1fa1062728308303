/* hwpass graphics device list: display devices with their mode (host or
 * passthrough) and the VM that owns them (esxcli graphics device list). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "host/pci.h"
#include "host/state.h"
#include "store/store.h"
#include "table.h"
#include "util/macro.h"

int hp_cmd_graphics_device_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_state_done) struct hp_cli_state cs = { 0 };
        _cleanup_(hp_table_freep) struct hp_table *t = NULL;
        json_t *list = NULL;
        int r;

        if (argc < 2 || !streq(argv[1], "list"))
                return hp_cli_usage_error("usage: hwpass graphics device list");
        r = hp_cli_no_args("graphics device list", argc - 1, argv + 1);
        if (r == HP_EXIT_OK)
                r = hp_cli_state_load(c, &cs);
        if (r != HP_EXIT_OK)
                return r;
        const struct hp_pci_inventory *inv = cs.inv;
        struct hp_host_state st = { .inv = inv, .configs = cs.configs, .n_configs = cs.n_configs,
                                   .serials = cs.serials };
        if (c->json)
                list = json_array();
        else
                t = hp_table_new(7, (const char *const[]){ "ADDRESS", "ID", "DRIVER", "BOOT", "MODE", "VM", "NAME" });
        for (size_t i = 0; (list || t) && i < inv->n_devs; i++) {
                const struct hp_pci_dev *d = &inv->devs[i];
                const struct hp_dev_config *cfg = hp_host_state_config(&st, d->address);
                _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };
                const char *mode;
                char id[16];

                if (!hp_pci_dev_matches_class(d, HP_CLASS_GPU))
                        continue;
                r = hp_dev_state_of(&st, d, cfg, &s);
                if (r < 0)
                        break;
                mode = s.active ? "passthrough" : "host";
                snprintf(id, sizeof(id), "%04x:%04x", d->vendor_id, d->device_id);
                if (list) {
                        json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:b, s:s, s:b, s:s?}", "address",
                                              d->address, "id", id, "name", d->device_name, "driver",
                                              d->driver, "boot_vga", d->boot_vga, "mode", mode,
                                              "passthrough_enabled", s.desired, "assigned_vm",
                                              cfg ? cfg->assigned_vm : NULL);
                        if (json_array_append_new(list, o) < 0)
                                r = -ENOMEM;
                } else {
                        r = hp_table_add(t, (const char *const[]){ d->address, id, d->driver,
                                                                   d->boot_vga ? "yes" : "no", mode,
                                                                   cfg ? cfg->assigned_vm : NULL,
                                                                   d->device_name });
                }
                if (r < 0)
                        break;
        }
        if ((!list && !t) || r < 0) {
                json_decref(list);
                return hp_cli_error(r < 0 ? r : -ENOMEM, "cannot list the display devices");
        }
        if (list)
                return hp_cli_print_json(json_pack("{s:o}", "graphics_devices", list));
        hp_table_print(t, stdout);
        return HP_EXIT_OK;
}

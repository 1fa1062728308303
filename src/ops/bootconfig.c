/* The boot-time alternative for host drivers that grab a device before
 * userspace (a built-in driver, a GPU driver in the initramfs): vfio-pci
 * claims the enabled devices' IDs first, through modprobe options and soft
 * dependencies, written to etc/modprobe.d/hwpass-vfio.conf; the initramfs
 * must then be rebuilt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "host/pci.h"
#include "host/view.h"
#include "ops.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

#define CONF_DIR "etc/modprobe.d"
#define CONF_NAME "hwpass-vfio.conf"

static int build(const struct hp_pci_inventory *inv, const struct hp_dev_config *configs, size_t n,
                 char **ret_text, char ***warnings)
{
        _cleanup_strv_free_ char **ids = calloc(1, sizeof(char *)), **drivers = calloc(1, sizeof(char *));
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f;

        if (!ids || !drivers)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char id[16];

                if (!configs[i].desired)
                        continue;
                snprintf(id, sizeof(id), "%04x:%04x", configs[i].vendor_id, configs[i].device_id);
                if (!hp_strv_contains(ids, id) && hp_strv_push(&ids, id) < 0)
                        return -ENOMEM;
                if (configs[i].host_driver && !streq(configs[i].host_driver, "vfio-pci") &&
                    !hp_strv_contains(drivers, configs[i].host_driver) &&
                    hp_strv_push(&drivers, configs[i].host_driver) < 0)
                        return -ENOMEM;
        }
        /* ids= takes every device with those IDs: say which others it catches. */
        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *d = &inv->devs[i];
                bool desired = false;
                char id[16], msg[256];

                snprintf(id, sizeof(id), "%04x:%04x", d->vendor_id, d->device_id);
                for (size_t j = 0; j < n; j++)
                        desired |= configs[j].desired && streq(configs[j].address, d->address);
                if (!desired && hp_strv_contains(ids, id)) {
                        snprintf(msg, sizeof(msg), "ids=%s also takes %s, which is not enabled for passthrough",
                                 id, d->address);
                        if (hp_strv_push(warnings, msg) < 0)
                                return -ENOMEM;
                }
        }
        if (!ids[0]) {
                *ret_text = NULL;
                return 0;
        }
        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# Written by 'hwpass host boot-config': vfio-pci claims the devices enabled\n"
                   "# for passthrough before their host drivers load. Rebuild the initramfs after\n"
                   "# changing it (update-initramfs -u).\n");
        fprintf(f, "options vfio-pci ids=");
        for (size_t i = 0; ids[i]; i++)
                fprintf(f, "%s%s", i ? "," : "", ids[i]);
        fprintf(f, "\n");
        for (size_t i = 0; drivers[i]; i++)
                fprintf(f, "softdep %s pre: vfio-pci\n", drivers[i]);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret_text = TAKE_PTR(text);
        return 0;
}

int hp_ops_host_boot_config(struct hp_ops_ctx *c, bool dry_run, json_t **ret)
{
        _cleanup_(hp_view_done) struct hp_view v = { 0 };
        _cleanup_strv_free_ char **warnings = calloc(1, sizeof(char *));
        _cleanup_free_ char *text = NULL, *err = NULL;
        json_t *list;
        int r;

        if (!warnings)
                return hp_op_oom(c);
        r = hp_view_load(c->host, c->names, c->db, &v, &err);
        if (r < 0)
                return hp_op_fail(c, HP_OP_HOST, r, "%s", err ? err : strerror(-r));
        r = build(v.inv, v.configs, v.n_configs, &text, &warnings);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot build the boot configuration");
        if (text && !dry_run && (r = hp_host_replace_file(c->host, CONF_DIR, CONF_NAME, text)) < 0)
                return hp_op_host_error(c, r, "cannot write %s/%s under '%s'", CONF_DIR, CONF_NAME, c->host_root);
        list = json_array();
        for (size_t i = 0; list && warnings[i]; i++)
                if (json_array_append_new(list, json_string(warnings[i])) < 0) {
                        json_decref(list);
                        list = NULL;
                }
        *ret = list ? json_pack("{s:s, s:s?, s:o, s:b, s:b}", "path", "/" CONF_DIR "/" CONF_NAME, "text", text,
                                "warnings", list, "dry_run", dry_run, "written", text && !dry_run)
                    : NULL;
        return *ret ? 0 : hp_op_oom(c);
}

/* hwpass device label | attr: the custom hardware label (vSphere's
 * customLabel) and free key=value attributes, stored with the device's
 * identity so they can be checked against the hardware later. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host/pci.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

#define LABEL_MAX 64
#define KEY_MAX 32
#define VALUE_MAX 128

static bool printable(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static bool valid_key(const char *s, size_t n)
{
        if (n == 0 || n > KEY_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

int hp_cli_device_config_load(struct hp_cli *c, const char *arg, struct hp_store **ret_store,
                              struct hp_dev_config *ret)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        const struct hp_pci_dev *d;
        const char *canonical;
        int r;

        r = hp_cli_find_device(c, arg, &inv, &d);
        if (r != HP_EXIT_OK)
                return r;
        canonical = d->address;
        r = hp_cli_open_store(c, ret_store);
        if (r != HP_EXIT_OK)
                return r;
        /* Read, change, write in one transaction: nothing (an assignment by
         * hwpassd) slips in between and is overwritten. */
        r = hp_store_begin(*ret_store);
        if (r < 0)
                return hp_cli_error(r, "cannot lock the stored state in '%s'", c->db_path);
        r = hp_store_device_get(*ret_store, canonical, ret);
        if (r == -ENOENT) {
                *ret = (struct hp_dev_config){ 0 };
                memcpy(ret->address, canonical, HP_SBDF_LEN);
                ret->attrs = calloc(1, sizeof(char *));
                ret->health = strdup("ok");
                if (!ret->attrs || !ret->health)
                        return hp_cli_error(-ENOMEM, "out of memory");
        } else if (r < 0) {
                return hp_cli_error(r, "cannot read the stored state in '%s'", c->db_path);
        }
        /* The identity goes with the label, so a changed device is noticed. */
        if (!ret->serial)
                (void)hp_pci_read_serial(c->host, d, &ret->serial);
        ret->vendor_id = d->vendor_id;
        ret->device_id = d->device_id;
        ret->subsystem_vendor_id = d->subsystem_vendor_id;
        ret->subsystem_device_id = d->subsystem_device_id;
        if (d->slot && !ret->slot && !(ret->slot = strdup(d->slot)))
                return hp_cli_error(-ENOMEM, "out of memory");
        return HP_EXIT_OK;
}

static int save(struct hp_cli *c, struct hp_store *s, const struct hp_dev_config *cfg,
                const char *event)
{
        int r = hp_store_device_put(s, cfg);

        if (r >= 0)
                r = hp_store_event_add(s, "device-label", cfg->address, event);
        if (r >= 0)
                r = hp_store_commit(s);
        if (r < 0) {
                (void)hp_store_rollback(s);
                return hp_cli_error(r, "cannot store %s in '%s'", cfg->address, c->db_path);
        }
        return HP_EXIT_OK;
}

int hp_cmd_device_label(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };
        bool unset;
        int r;

        if (argc != 3)
                return hp_cli_usage_error("usage: hwpass device label SBDF TEXT | hwpass device label SBDF --unset");
        unset = streq(argv[2], "--unset");
        if (!unset && !printable(argv[2], LABEL_MAX))
                return hp_cli_usage_error("invalid label '%s': 1 to %d printable characters", argv[2], LABEL_MAX);
        r = hp_cli_device_config_load(c, argv[1], &s, &cfg);
        if (r != HP_EXIT_OK)
                return r;
        free(cfg.label);
        cfg.label = unset ? NULL : strdup(argv[2]);
        if (!unset && !cfg.label)
                return hp_cli_error(-ENOMEM, "out of memory");
        r = save(c, s, &cfg, unset ? "label removed" : argv[2]);
        if (r == HP_EXIT_OK && c->json)
                return hp_cli_print_device_json(c, cfg.address);
        if (r == HP_EXIT_OK)
                printf("%s: %s\n", cfg.address, unset ? "label removed" : cfg.label);
        return r;
}

/* attrs with key set to value (value NULL: removed). */
static int set_attr(char ***attrs, const char *key, size_t klen, const char *value)
{
        _cleanup_strv_free_ char **out = calloc(1, sizeof(char *));
        _cleanup_free_ char *kv = NULL;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; (*attrs)[i]; i++) {
                const char *a = (*attrs)[i];

                if (strncmp(a, key, klen) == 0 && a[klen] == '=')
                        continue;
                if (hp_strv_push(&out, a) < 0)
                        return -ENOMEM;
        }
        if (value) {
                if (asprintf(&kv, "%.*s=%s", (int)klen, key, value) < 0)
                        return -ENOMEM;
                if (hp_strv_push(&out, kv) < 0)
                        return -ENOMEM;
        }
        hp_strv_free(*attrs);
        *attrs = TAKE_PTR(out);
        return 0;
}

int hp_cmd_device_attr(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };
        bool unset = argc > 2 && streq(argv[2], "--unset");
        int first = unset ? 3 : 2, r;

        if (argc <= first)
                return hp_cli_usage_error("usage: hwpass device attr SBDF KEY=VALUE... | hwpass device attr SBDF --unset KEY...");
        /* Every argument is checked before anything is stored. */
        for (int i = first; i < argc; i++) {
                const char *eq = strchr(argv[i], '=');

                if (unset ? !valid_key(argv[i], strlen(argv[i])) : !eq || !valid_key(argv[i], (size_t)(eq - argv[i])))
                        return hp_cli_usage_error("invalid attribute '%s': expected %s with a key of 1 to %d "
                                                  "characters a-z 0-9 _ . -",
                                                  argv[i], unset ? "KEY" : "KEY=VALUE", KEY_MAX);
                if (!unset && !printable(eq + 1, VALUE_MAX))
                        return hp_cli_usage_error("invalid value in '%s': 1 to %d printable characters", argv[i],
                                                  VALUE_MAX);
        }
        r = hp_cli_device_config_load(c, argv[1], &s, &cfg);
        if (r != HP_EXIT_OK)
                return r;
        for (int i = first; i < argc; i++) {
                const char *eq = strchr(argv[i], '=');

                r = set_attr(&cfg.attrs, argv[i], unset ? strlen(argv[i]) : (size_t)(eq - argv[i]),
                             unset ? NULL : eq + 1);
                if (r < 0)
                        return hp_cli_error(r, "out of memory");
        }
        r = save(c, s, &cfg, unset ? "attributes removed" : "attributes set");
        if (r == HP_EXIT_OK && c->json)
                return hp_cli_print_device_json(c, cfg.address);
        if (r == HP_EXIT_OK)
                for (size_t i = 0; cfg.attrs[i]; i++)
                        printf("%s: %s\n", cfg.address, cfg.attrs[i]);
        return r;
}

/* hwpass device passthrough enable|disable SBDF... and hwpass host apply:
 * plan (pure), show, record the desired state, apply, verify. A failed apply
 * is undone, so the host and the store stay as they were. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "api/hostjson.h"
#include "host/bind.h"
#include "host/hostuse.h"
#include "host/pci.h"
#include "host/plan.h"
#include "host/state.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

static const char *action_name(enum hp_plan_action a)
{
        return a == HP_PLAN_ENABLE ? "enable" : "disable";
}

static void print_plan(const struct hp_plan *p, bool dry_run)
{
        printf("%s passthrough%s:\n", p->action == HP_PLAN_ENABLE ? "Enable" : "Disable",
               dry_run ? " (dry run: nothing is changed)" : "");
        for (size_t i = 0; i < p->n_steps; i++) {
                const struct hp_plan_step *s = &p->steps[i];

                printf("  %s  %s -> %s%s\n", s->address, s->from_driver ? s->from_driver : "(no driver)",
                       s->to_driver ? s->to_driver : "(the kernel's choice)",
                       s->requested ? "" : "  (same IOMMU group)");
        }
        for (size_t i = 0; p->unchanged[i]; i++)
                printf("  %s  already %s\n", p->unchanged[i],
                       p->action == HP_PLAN_ENABLE ? "on vfio-pci" : "with the host");
        if (p->n_steps == 0 && !p->unchanged[0] && !p->errors[0])
                printf("  nothing to do\n");
        for (size_t i = 0; p->warnings[i]; i++)
                printf("warning: %s\n", p->warnings[i]);
        for (size_t i = 0; p->refusals[i]; i++)
                printf("refused: %s\n", p->refusals[i]);
        if (p->refusals[0])
                printf("Nothing was changed. Add --force to do it anyway.\n");
        for (size_t i = 0; p->errors[i]; i++)
                printf("error: %s\n", p->errors[i]);
}

static int load_configs(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n)
{
        *ret = NULL;
        *ret_n = 0;
        return s ? hp_store_device_list(s, ret, ret_n) : 0;
}

/* The stored record of d after this plan: desired, and the host driver to
 * come back to remembered the first time it leaves it. */
static int record_desired(struct hp_store *s, const struct hp_host *host, const struct hp_pci_dev *d,
                          const char *from_driver, bool desired)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config c = { 0 };
        int r = hp_store_device_get(s, d->address, &c);

        if (r == -ENOENT && !desired)
                return 0; /* never configured: nothing to record */
        if (r == -ENOENT) {
                memcpy(c.address, d->address, HP_SBDF_LEN);
                c.attrs = calloc(1, sizeof(char *));
                c.health = strdup("ok");
                if (!c.attrs || !c.health)
                        return -ENOMEM;
        } else if (r < 0) {
                return r;
        }
        if (!c.serial)
                (void)hp_pci_read_serial(host, d, &c.serial);
        c.vendor_id = d->vendor_id;
        c.device_id = d->device_id;
        c.subsystem_vendor_id = d->subsystem_vendor_id;
        c.subsystem_device_id = d->subsystem_device_id;
        if (d->slot && (!c.slot || !streq(c.slot, d->slot))) {
                free(c.slot);
                c.slot = strdup(d->slot);
                if (!c.slot)
                        return -ENOMEM;
        }
        c.desired = desired;
        /* A new attempt: the reason of the last failed one no longer holds. */
        free(c.reason);
        c.reason = NULL;
        if (desired && from_driver && !streq(from_driver, "vfio-pci")) {
                free(c.host_driver);
                c.host_driver = strdup(from_driver);
                if (!c.host_driver)
                        return -ENOMEM;
        }
        return hp_store_device_put(s, &c);
}

/* Undo of a partly applied plan: each step done, in reverse, back to where it was. */
static void undo_steps(const struct hp_host *h, const struct hp_plan *p)
{
        struct hp_plan back = { .action = p->action == HP_PLAN_ENABLE ? HP_PLAN_DISABLE : HP_PLAN_ENABLE };

        for (size_t i = p->n_steps; i-- > 0;) {
                const struct hp_plan_step *s = &p->steps[i];
                struct hp_plan_step rs = { .from_driver = s->to_driver, .to_driver = s->from_driver };
                _cleanup_free_ char *err = NULL;

                memcpy(rs.address, s->address, HP_SBDF_LEN);
                back.steps = &rs;
                back.n_steps = 1;
                (void)hp_plan_apply(h, &back, &err);
        }
}

struct run {
        struct hp_cli *c;
        struct hp_pci_inventory *inv;
        struct hp_host_uses *uses;
        struct hp_store *store;
        struct hp_dev_config *configs;
        size_t n_configs;
};

static void run_done(struct run *r)
{
        hp_dev_configs_free(r->configs, r->n_configs);
        hp_store_close(r->store);
        hp_host_uses_free(r->uses);
        hp_pci_inventory_free(r->inv);
}

static const char *boot_vga_of(const struct hp_pci_inventory *inv)
{
        for (size_t i = 0; i < inv->n_devs; i++)
                if (inv->devs[i].boot_vga)
                        return inv->devs[i].address;
        return NULL;
}

/* Inventory, host uses and stored state; the store is opened for writing
 * unless only reading (a dry run). */
static int run_open(struct run *run, bool write)
{
        _cleanup_free_ char *err = NULL;
        int r = hp_cli_scan_pci(run->c, &run->inv);

        if (r != HP_EXIT_OK)
                return r;
        r = hp_host_uses_scan(run->c->host, boot_vga_of(run->inv), &run->uses);
        if (r < 0)
                return hp_cli_error(r, "cannot find what the host uses under '%s'", run->c->host_root);
        if (write) {
                r = hp_cli_open_store(run->c, &run->store);
                if (r != HP_EXIT_OK)
                        return r;
        } else {
                r = hp_store_open_readonly(run->c->db_path, &run->store, &err);
                if (r == -ENOENT)
                        return HP_EXIT_OK;
                if (r < 0) {
                        fprintf(stderr, "hwpass: %s\n", err ? err : strerror(-r));
                        return HP_EXIT_ERROR;
                }
        }
        r = load_configs(run->store, &run->configs, &run->n_configs);
        if (r < 0)
                return hp_cli_error(r, "cannot read the stored state in '%s'", run->c->db_path);
        return HP_EXIT_OK;
}

/* Remembers why the stored desired state of address could not be applied. */
static void store_reason(struct run *run, const char *address, const char *reason)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config c = { 0 };

        if (hp_store_device_get(run->store, address, &c) < 0)
                return;
        free(c.reason);
        c.reason = strdup(reason);
        if (c.reason)
                (void)hp_store_device_put(run->store, &c);
}

/* Records the desired state of every device the plan touches or leaves as it
 * is, then applies; on failure everything is put back and *ret_error (may be
 * NULL) says why. */
static int record_and_apply(struct run *run, const struct hp_plan *p, char **ret_error)
{
        bool desired = p->action == HP_PLAN_ENABLE;
        _cleanup_free_ char *err = NULL;
        int r;

        r = hp_store_begin(run->store);
        for (size_t i = 0; r >= 0 && i < p->n_steps; i++)
                r = record_desired(run->store, run->c->host, hp_pci_find(run->inv, p->steps[i].address),
                                   p->steps[i].from_driver, desired);
        for (size_t i = 0; r >= 0 && p->unchanged[i]; i++)
                r = record_desired(run->store, run->c->host, hp_pci_find(run->inv, p->unchanged[i]), NULL, desired);
        if (r < 0) {
                (void)hp_store_rollback(run->store);
                return hp_cli_error(r, "cannot record the desired state in '%s'", run->c->db_path);
        }
        r = hp_store_commit(run->store);
        if (r < 0)
                return hp_cli_error(r, "cannot record the desired state in '%s'", run->c->db_path);

        r = hp_plan_apply(run->c->host, p, &err);
        if (r < 0) {
                fprintf(stderr, "hwpass: %s\n", err ? err : strerror(-r));
                undo_steps(run->c->host, p);
                /* The store goes back to what it held before. */
                if (hp_store_begin(run->store) >= 0) {
                        for (size_t i = 0; i < p->n_steps; i++) {
                                bool had = false;

                                for (size_t j = 0; j < run->n_configs; j++)
                                        if (streq(run->configs[j].address, p->steps[i].address)) {
                                                (void)hp_store_device_put(run->store, &run->configs[j]);
                                                had = true;
                                        }
                                if (!had)
                                        (void)hp_store_device_delete(run->store, p->steps[i].address);
                        }
                        (void)hp_store_commit(run->store);
                }
                fprintf(stderr, "hwpass: nothing was changed: the devices are back where they were\n");
                (void)hp_store_event_add(run->store, "passthrough-failed", p->steps[0].address,
                                         err ? err : strerror(-r));
                if (ret_error)
                        *ret_error = TAKE_PTR(err);
                return HP_EXIT_FAIL;
        }
        for (size_t i = 0; i < p->n_steps; i++) {
                char msg[256];

                snprintf(msg, sizeof(msg), "%s -> %s", p->steps[i].from_driver ? p->steps[i].from_driver : "none",
                         p->steps[i].to_driver ? p->steps[i].to_driver : "host");
                (void)hp_store_event_add(run->store, desired ? "passthrough-enabled" : "passthrough-disabled",
                                         p->steps[i].address, msg);
        }
        if (!run->c->json)
                printf("Done: %zu device%s %s.\n", p->n_steps, p->n_steps == 1 ? "" : "s",
               desired ? "handed to vfio-pci" : "given back to the host");
        return HP_EXIT_OK;
}

/* --json: the plan as a document, applied unless refused or a dry run; why it
 * was refused also goes to stderr. */
static int plan_json(struct run *run, const struct hp_plan *p, bool dry_run)
{
        bool applicable = hp_plan_applicable(p);
        int r = HP_EXIT_OK;

        for (size_t i = 0; p->refusals[i]; i++)
                fprintf(stderr, "hwpass: refused: %s\n", p->refusals[i]);
        for (size_t i = 0; p->errors[i]; i++)
                fprintf(stderr, "hwpass: %s\n", p->errors[i]);
        if (p->refusals[0])
                fprintf(stderr, "hwpass: nothing was changed (--force, or \"force\": true, overrides a refusal)\n");
        if (!applicable) {
                (void)hp_cli_print_json(hp_json_plan(p, dry_run, false));
                return HP_EXIT_FAIL;
        }
        if (!dry_run)
                r = record_and_apply(run, p, NULL);
        if (r != HP_EXIT_OK)
                return r;
        return hp_cli_print_json(hp_json_plan(p, dry_run, !dry_run));
}

int hp_cmd_device_passthrough(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(run_done) struct run run = { .c = c };
        _cleanup_(hp_plan_freep) struct hp_plan *p = NULL;
        _cleanup_strv_free_ char **addresses = calloc(1, sizeof(char *));
        enum hp_plan_action action;
        bool dry_run = false, force = false;
        int r;

        if (!addresses)
                return hp_cli_error(-ENOMEM, "out of memory");
        if (argc < 2 || (!streq(argv[1], "enable") && !streq(argv[1], "disable")))
                return hp_cli_usage_error("usage: hwpass device passthrough enable|disable SBDF... [--dry-run] [--force]");
        action = streq(argv[1], "enable") ? HP_PLAN_ENABLE : HP_PLAN_DISABLE;
        for (int i = 2; i < argc; i++) {
                char canonical[HP_SBDF_LEN];

                if (streq(argv[i], "--dry-run")) {
                        dry_run = true;
                } else if (streq(argv[i], "--force")) {
                        force = true;
                } else if (argv[i][0] == '-') {
                        return hp_cli_usage_error("'device passthrough' does not take '%s' (see 'hwpass --help')",
                                                  argv[i]);
                } else if ((r = hp_cli_parse_address(argv[i], canonical)) != HP_EXIT_OK) {
                        return r;
                } else {
                        if (hp_strv_push(&addresses, canonical) < 0)
                                return hp_cli_error(-ENOMEM, "out of memory");
                }
        }
        if (!addresses[0])
                return hp_cli_usage_error("'device passthrough %s' needs at least one PCI address", argv[1]);
        r = run_open(&run, !dry_run);
        if (r != HP_EXIT_OK)
                return r;
        for (size_t i = 0; addresses[i]; i++)
                if (!hp_pci_find(run.inv, addresses[i]))
                        return hp_cli_usage_error("no PCI device %s on this host (see 'hwpass device list')",
                                                  addresses[i]);
        r = hp_plan_passthrough(&(struct hp_plan_input){ .inv = run.inv, .uses = run.uses,
                                                         .configs = run.configs, .n_configs = run.n_configs },
                                action, addresses, force, &p);
        if (r < 0)
                return hp_cli_error(r, "cannot plan passthrough %s", action_name(action));
        if (c->json)
                return plan_json(&run, p, dry_run);
        print_plan(p, dry_run);
        if (!hp_plan_applicable(p))
                return HP_EXIT_FAIL;
        if (dry_run)
                return HP_EXIT_OK;
        return record_and_apply(&run, p, NULL);
}

/* hwpass host apply: the stored desired state, applied again (at boot, by the
 * hwpass-apply unit, before any VM starts). Idempotent. A device that is gone
 * or whose IDs changed is reported and never bound. */
int hp_cmd_host_apply(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(run_done) struct run run = { .c = c };
        bool dry_run = argc == 2 && streq(argv[1], "--dry-run");
        size_t applied = 0, skipped = 0;
        int r, rc = HP_EXIT_OK;

        if (argc > 1 && !dry_run)
                return hp_cli_usage_error("'host apply' does not take '%s' (see 'hwpass --help')", argv[1]);
        r = run_open(&run, !dry_run);
        if (r != HP_EXIT_OK)
                return r;
        if (run.n_configs == 0) {
                printf("Nothing is configured: nothing to apply.\n");
                return HP_EXIT_OK;
        }
        for (size_t i = 0; i < run.n_configs; i++) {
                const struct hp_dev_config *cfg = &run.configs[i];
                const struct hp_pci_dev *d = hp_pci_find(run.inv, cfg->address);
                _cleanup_(hp_plan_freep) struct hp_plan *p = NULL;
                char *one[] = { (char *)cfg->address, NULL };
                bool on_vfio = d && d->driver && streq(d->driver, "vfio-pci");

                if (!d) {
                        printf("%s: gone (configured as %04x:%04x): not applied\n", cfg->address,
                               cfg->vendor_id, cfg->device_id);
                        skipped++;
                        rc = HP_EXIT_FAIL;
                        continue;
                }
                if (!hp_dev_config_matches(cfg, d)) {
                        printf("%s: hardware changed (now %04x:%04x, configured as %04x:%04x): not applied; "
                               "enable it again if it is meant\n",
                               cfg->address, d->vendor_id, d->device_id, cfg->vendor_id, cfg->device_id);
                        skipped++;
                        rc = HP_EXIT_FAIL;
                        continue;
                }
                if (!cfg->desired && !on_vfio && !(!d->driver && cfg->host_driver))
                        continue; /* with the host, as asked */
                r = hp_plan_passthrough(&(struct hp_plan_input){ .inv = run.inv, .uses = run.uses,
                                                                 .configs = run.configs,
                                                                 .n_configs = run.n_configs },
                                        cfg->desired ? HP_PLAN_ENABLE : HP_PLAN_DISABLE, one, false, &p);
                if (r < 0)
                        return hp_cli_error(r, "cannot plan %s", cfg->address);
                if (p->n_steps == 0 && hp_plan_applicable(p))
                        continue;
                print_plan(p, dry_run);
                if (!hp_plan_applicable(p)) {
                        char why[1024];

                        snprintf(why, sizeof(why), "not applied by 'hwpass host apply': %s",
                                 p->errors[0] ? p->errors[0] : p->refusals[0]);
                        if (!dry_run)
                                store_reason(&run, cfg->address, why);
                        skipped++;
                        rc = HP_EXIT_FAIL;
                        continue;
                }
                if (dry_run)
                        continue;
                _cleanup_free_ char *err = NULL;
                r = record_and_apply(&run, p, &err);
                if (r != HP_EXIT_OK) {
                        if (err)
                                store_reason(&run, cfg->address, err);
                        rc = r;
                        continue;
                }
                applied += p->n_steps;
                /* The next device's plan must see what this one changed. */
                hp_pci_inventory_free(run.inv);
                run.inv = NULL;
                r = hp_cli_scan_pci(c, &run.inv);
                if (r != HP_EXIT_OK)
                        return r;
        }
        printf("host apply: %zu device%s changed, %zu not applied.\n", applied, applied == 1 ? "" : "s", skipped);
        return rc;
}

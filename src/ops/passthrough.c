/* Passthrough on and off, and the stored state applied again: plan (pure),
 * record the desired state, apply, verify. The IOMMU groups' locks are held
 * from the plan to the apply, so two changes of one group, from any two
 * processes, happen one after the other, each planned on what the other
 * left. A failed apply is undone, so the host and the store stay as they
 * were. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "host/bind.h"
#include "host/hostuse.h"
#include "host/json.h"
#include "host/pci.h"
#include "host/plan.h"
#include "host/state.h"
#include "lock.h"
#include "ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

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

void hp_ops_plan_undo(const struct hp_ops_ctx *c, const struct hp_plan *p)
{
        struct hp_plan back = { .action = p->action == HP_PLAN_ENABLE ? HP_PLAN_DISABLE : HP_PLAN_ENABLE };

        for (size_t i = p->n_steps; i-- > 0;) {
                const struct hp_plan_step *s = &p->steps[i];
                struct hp_plan_step rs = { .from_driver = s->to_driver, .to_driver = s->from_driver };
                _cleanup_free_ char *err = NULL;

                memcpy(rs.address, s->address, HP_SBDF_LEN);
                back.steps = &rs;
                back.n_steps = 1;
                (void)hp_plan_apply(c->host, &back, &err);
        }
}

/* What a change reads before it plans: the inventory, the host's own uses
 * of its devices, and the stored state (a store opened for writing unless
 * only reading: a dry run). */
struct run {
        struct hp_ops_ctx *c;
        struct hp_pci_inventory *inv;
        struct hp_host_uses *uses;
        struct hp_store *store; /* NULL: nothing stored, read-only */
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

static int scan(struct run *run)
{
        struct hp_ops_ctx *c = run->c;
        int r;

        hp_pci_inventory_free(run->inv);
        run->inv = NULL;
        r = hp_pci_scan(c->host, c->names, &run->inv);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read the PCI devices under '%s'", c->host_root);
        return 0;
}

/* The stored state, (re)read. */
static int load_configs(struct run *run)
{
        int r;

        hp_dev_configs_free(run->configs, run->n_configs);
        run->configs = NULL;
        run->n_configs = 0;
        r = run->store ? hp_store_device_list(run->store, &run->configs, &run->n_configs) : 0;
        if (r < 0)
                return hp_op_host_error(run->c, r, "cannot read the stored state in '%s'", run->c->db);
        return 0;
}

static int run_open(struct run *run, bool write)
{
        struct hp_ops_ctx *c = run->c;
        int r = scan(run);

        if (r < 0)
                return r;
        r = hp_host_uses_scan(c->host, boot_vga_of(run->inv), &run->uses);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot find what the host uses under '%s'", c->host_root);
        r = write ? hp_ops_store_open(c, &run->store) : hp_ops_store_open_readonly(c, &run->store);
        if (r >= 0 && write)
                r = hp_ops_follow_moves(c, run->store, run->inv);
        if (r >= 0)
                r = load_configs(run);
        if (r >= 0 && !write)
                r = hp_ops_follow_moves_unrecorded(c, run->inv, run->configs, run->n_configs);
        return r < 0 ? r : 0;
}

static int plan(struct run *run, enum hp_plan_action action, char *const *addresses, bool force,
                struct hp_plan **ret)
{
        int r = hp_plan_passthrough(&(struct hp_plan_input){ .inv = run->inv, .uses = run->uses,
                                                             .configs = run->configs, .n_configs = run->n_configs },
                                    action, addresses, force, ret);

        if (r < 0)
                return hp_op_host_error(run->c, r, "cannot plan passthrough %s",
                                        action == HP_PLAN_ENABLE ? "enable" : "disable");
        return 0;
}

/* Remembers why the stored desired state of address could not be applied. */
static void store_reason(struct run *run, const char *address, const char *reason)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config c = { 0 };

        /* Read, change, write in one transaction: a label set meanwhile stays. */
        if (hp_store_begin(run->store) < 0)
                return;
        if (hp_store_device_get(run->store, address, &c) >= 0) {
                free(c.reason);
                c.reason = strdup(reason);
                if (c.reason)
                        (void)hp_store_device_put(run->store, &c);
        }
        if (hp_store_commit(run->store) < 0)
                (void)hp_store_rollback(run->store);
}

/* One device's record back to what it was before the plan was recorded. */
static void unrecord_one(struct run *run, const char *address)
{
        for (size_t j = 0; j < run->n_configs; j++)
                if (streq(run->configs[j].address, address)) {
                        (void)hp_store_device_put(run->store, &run->configs[j]);
                        return;
                }
        (void)hp_store_device_delete(run->store, address);
}

/* The store back to what it held before the plan was recorded: the devices
 * that moved and those of their groups that were already in place. */
static void unrecord(struct run *run, const struct hp_plan *p)
{
        if (hp_store_begin(run->store) < 0)
                return;
        for (size_t i = 0; i < p->n_steps; i++)
                unrecord_one(run, p->steps[i].address);
        for (size_t i = 0; p->unchanged[i]; i++)
                unrecord_one(run, p->unchanged[i]);
        if (hp_store_commit(run->store) < 0)
                (void)hp_store_rollback(run->store);
}

/* Records the desired state of every device the plan touches or leaves as it
 * is, then applies; on failure everything is put back and the error says
 * why, *ret_error (may be NULL) the apply's own words. */
static int record_and_apply(struct run *run, const struct hp_plan *p, char **ret_error)
{
        struct hp_ops_ctx *c = run->c;
        bool desired = p->action == HP_PLAN_ENABLE;
        _cleanup_free_ char *err = NULL;
        int r;

        r = hp_store_begin(run->store);
        for (size_t i = 0; r >= 0 && i < p->n_steps; i++)
                r = record_desired(run->store, c->host, hp_pci_find(run->inv, p->steps[i].address),
                                   p->steps[i].from_driver, desired);
        for (size_t i = 0; r >= 0 && p->unchanged[i]; i++)
                r = record_desired(run->store, c->host, hp_pci_find(run->inv, p->unchanged[i]), NULL, desired);
        if (r >= 0)
                r = hp_store_commit(run->store);
        if (r < 0) {
                (void)hp_store_rollback(run->store);
                return hp_op_host_error(c, r, "cannot record the desired state in '%s'", c->db);
        }
        r = hp_plan_apply(c->host, p, &err);
        if (r < 0) {
                hp_ops_plan_undo(c, p);
                unrecord(run, p);
                (void)hp_store_event_add(run->store, "passthrough-failed", p->steps[0].address,
                                         err ? err : strerror(-r));
                r = hp_op_fail(c, HP_OP_FAILED, r, "%s\nnothing was changed: the devices are back where they were",
                               err ? err : strerror(-r));
                if (ret_error)
                        *ret_error = TAKE_PTR(err);
                return r;
        }
        for (size_t i = 0; i < p->n_steps; i++) {
                char msg[256];

                snprintf(msg, sizeof(msg), "%s -> %s", p->steps[i].from_driver ? p->steps[i].from_driver : "none",
                         p->steps[i].to_driver ? p->steps[i].to_driver : "host");
                (void)hp_store_event_add(run->store, desired ? "passthrough-enabled" : "passthrough-disabled",
                                         p->steps[i].address, msg);
        }
        return 0;
}

/* A plan that may not be applied: every reason, one a line. */
static int refuse(struct hp_ops_ctx *c, const struct hp_plan *p)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return hp_op_oom(c);
        for (size_t i = 0; p->refusals[i]; i++)
                fprintf(f, "%srefused: %s", ftell(f) ? "\n" : "", p->refusals[i]);
        for (size_t i = 0; p->errors[i]; i++)
                fprintf(f, "%s%s", ftell(f) ? "\n" : "", p->errors[i]);
        if (p->refusals[0])
                fprintf(f, "\nnothing was changed (--force, or \"force\": true, overrides a refusal)");
        if (fclose(f) != 0 || !text)
                return hp_op_oom(c);
        hp_op_fail(c, HP_OP_REFUSED, -EPERM, "%s", text);
        return -EPERM;
}

/* The addresses of devices on the host, and (disabling only) those of
 * devices gone from it that have a stored entry. */
static int split_absent(struct run *run, const struct hp_ops_passthrough *req, char ***present, char ***absent)
{
        struct hp_ops_ctx *c = run->c;

        *present = calloc(1, sizeof(char *));
        *absent = calloc(1, sizeof(char *));
        if (!*present || !*absent)
                return hp_op_oom(c);
        for (size_t i = 0; req->addresses[i]; i++) {
                const char *a = req->addresses[i];
                bool stored = false;

                for (size_t k = 0; k < run->n_configs; k++)
                        stored |= streq(run->configs[k].address, a);
                if (!hp_pci_find(run->inv, a) && !(stored && !req->enable))
                        return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-device", -ENOENT,
                                               "no PCI device %s on this host%s", a,
                                               stored ? ": its stored entry can be disabled or forgotten, not enabled"
                                                      : "");
                if (hp_strv_push(hp_pci_find(run->inv, a) ? present : absent, a) < 0)
                        return hp_op_oom(c);
        }
        return 0;
}

/* Stored entries of absent devices no longer ask for passthrough. */
static int disable_stored(struct run *run, char *const *absent)
{
        int r = hp_store_begin(run->store);

        for (size_t i = 0; r >= 0 && absent[i]; i++) {
                _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };

                r = hp_store_device_get(run->store, absent[i], &cfg);
                if (r < 0)
                        break;
                cfg.desired = false;
                free(cfg.reason);
                cfg.reason = NULL;
                r = hp_store_device_put(run->store, &cfg);
                if (r >= 0)
                        r = hp_store_event_add(run->store, "passthrough-disabled", absent[i],
                                               "stored entry only: the device is not on this host");
        }
        if (r >= 0)
                r = hp_store_commit(run->store);
        if (r < 0) {
                (void)hp_store_rollback(run->store);
                return hp_op_host_error(run->c, r, "cannot record the desired state in '%s'", run->c->db);
        }
        return 0;
}

static int absent_answer(struct hp_ops_ctx *c, bool dry_run, char *const *absent, json_t **ret)
{
        json_t *warnings = json_array();

        for (size_t i = 0; warnings && absent[i]; i++) {
                _cleanup_free_ char *w = NULL;

                if (asprintf(&w, "%s is not on this host: its stored entry no longer asks for passthrough "
                                 "('hwpass device forget %s' drops it)",
                             absent[i], absent[i]) < 0 ||
                    json_array_append_new(warnings, json_string(w)) < 0) {
                        json_decref(warnings);
                        return hp_op_oom(c);
                }
        }
        *ret = json_pack("{s:s, s:b, s:b, s:[], s:[], s:o, s:[], s:[]}", "action", "disable", "dry_run", dry_run,
                         "applied", !dry_run, "steps", "unchanged", "warnings", warnings, "refusals", "errors");
        return *ret ? 0 : hp_op_oom(c);
}

int hp_ops_passthrough(struct hp_ops_ctx *c, const struct hp_ops_passthrough *req, json_t **ret)
{
        _cleanup_(run_done) struct run run = { .c = c };
        _cleanup_(hp_ops_unlock) struct hp_ops_lock lock = { 0 };
        _cleanup_(hp_plan_freep) struct hp_plan *p = NULL;
        _cleanup_strv_free_ char **present = NULL, **absent = NULL;
        size_t n = hp_strv_length(req->addresses);
        json_t *doc;
        int r;

        if (n == 0)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "'device passthrough %s' needs at least one PCI address",
                                  req->enable ? "enable" : "disable");
        /* The groups first, then what they hold now: whoever held them is done. */
        if (!req->dry_run) {
                r = hp_ops_lock_groups(c, req->addresses, n, req->enable ? "passthrough enable" : "passthrough disable",
                                       &lock);
                if (r < 0)
                        return r;
        }
        r = run_open(&run, !req->dry_run);
        if (r < 0)
                return r;
        r = split_absent(&run, req, &present, &absent);
        if (r < 0)
                return r;
        if (absent[0] && !req->dry_run) {
                r = disable_stored(&run, absent);
                if (r < 0)
                        return r;
        }
        if (!present[0])
                return absent_answer(c, req->dry_run, absent, ret);
        r = plan(&run, req->enable ? HP_PLAN_ENABLE : HP_PLAN_DISABLE, present, req->force, &p);
        if (r < 0)
                return r;
        if (!hp_plan_applicable(p)) {
                r = refuse(c, p);
                hp_op_set_detail(c, hp_json_plan(p, req->dry_run, false));
                return r;
        }
        if (!req->dry_run) {
                r = record_and_apply(&run, p, NULL);
                if (r < 0) {
                        hp_op_set_detail(c, hp_json_plan(p, false, false));
                        return r;
                }
        }
        doc = hp_json_plan(p, req->dry_run, !req->dry_run);
        if (!doc)
                return hp_op_oom(c);
        *ret = doc;
        return 0;
}

/* One configured device's line in host apply's answer. */
static int entry(json_t *list, const struct hp_dev_config *cfg, const char *result, const struct hp_pci_dev *d,
                 const struct hp_plan *p, bool dry_run, const char *error)
{
        char was[16], now[16];
        json_t *e;

        snprintf(was, sizeof(was), "%04x:%04x", cfg->vendor_id, cfg->device_id);
        if (d)
                snprintf(now, sizeof(now), "%04x:%04x", d->vendor_id, d->device_id);
        e = json_pack("{s:s, s:s, s:s, s:s?, s:o?, s:s?}", "address", cfg->address, "result", result,
                      "configured_ids", was, "ids", d ? now : NULL, "plan",
                      p ? hp_json_plan(p, dry_run, streq(result, "applied") && !dry_run) : NULL, "error", error);
        return e && json_array_append_new(list, e) == 0 ? 0 : -ENOMEM;
}

int hp_ops_host_apply(struct hp_ops_ctx *c, bool dry_run, json_t **ret)
{
        _cleanup_(run_done) struct run run = { .c = c };
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_strv_free_ char **addresses = NULL;
        size_t applied = 0, skipped = 0, absent = 0, configured;
        int r;

        if (!list)
                return hp_op_oom(c);
        r = run_open(&run, !dry_run);
        if (r < 0)
                return r;
        /* The devices configured when it began; each is read again under its
         * group's lock, as every change of passthrough reads what it plans on. */
        addresses = calloc(run.n_configs + 1, sizeof(char *));
        if (!addresses)
                return hp_op_oom(c);
        for (size_t i = 0; i < run.n_configs; i++)
                if (hp_strv_push(&addresses, run.configs[i].address) < 0)
                        return hp_op_oom(c);
        configured = run.n_configs;
        for (size_t i = 0; addresses[i]; i++) {
                _cleanup_(hp_ops_unlock) struct hp_ops_lock lock = { 0 };
                _cleanup_(hp_plan_freep) struct hp_plan *p = NULL;
                _cleanup_free_ char *err = NULL;
                char *one[] = { addresses[i], NULL };
                const struct hp_dev_config *cfg = NULL;
                const struct hp_pci_dev *d;
                bool on_vfio;

                if (!dry_run) {
                        r = hp_ops_lock_groups(c, one, 1, "host apply", &lock);
                        if (r >= 0)
                                r = scan(&run);
                        if (r >= 0)
                                r = load_configs(&run);
                        if (r < 0)
                                return r;
                }
                for (size_t k = 0; k < run.n_configs; k++)
                        if (streq(run.configs[k].address, addresses[i]))
                                cfg = &run.configs[k];
                if (!cfg)
                        continue; /* forgotten meanwhile */
                d = hp_pci_find(run.inv, cfg->address);
                if (!d) {
                        absent++;
                        if (entry(list, cfg, "gone", NULL, NULL, dry_run, NULL) < 0)
                                return hp_op_oom(c);
                        continue;
                }
                if (!hp_dev_config_matches(cfg, d)) {
                        absent++;
                        if (entry(list, cfg, "hardware-changed", d, NULL, dry_run, NULL) < 0)
                                return hp_op_oom(c);
                        continue;
                }
                on_vfio = d->driver && streq(d->driver, "vfio-pci");
                if (!cfg->desired && !on_vfio && !(!d->driver && cfg->host_driver))
                        continue; /* with the host, as asked */
                r = plan(&run, cfg->desired ? HP_PLAN_ENABLE : HP_PLAN_DISABLE, one, false, &p);
                if (r < 0)
                        return r;
                if (p->n_steps == 0 && hp_plan_applicable(p))
                        continue;
                if (!hp_plan_applicable(p)) {
                        char why[1024];

                        snprintf(why, sizeof(why), "not applied by 'hwpass host apply': %s",
                                 p->errors[0] ? p->errors[0] : p->refusals[0]);
                        if (!dry_run)
                                store_reason(&run, cfg->address, why);
                        skipped++;
                        if (entry(list, cfg, "refused", d, p, dry_run, NULL) < 0)
                                return hp_op_oom(c);
                        continue;
                }
                if (!dry_run && record_and_apply(&run, p, &err) < 0) {
                        if (c->error.kind == HP_OP_HOST)
                                return -EIO;
                        if (err)
                                store_reason(&run, cfg->address, err);
                        skipped++;
                        if (entry(list, cfg, "failed", d, p, dry_run, c->error.message) < 0)
                                return hp_op_oom(c);
                        hp_op_error_done(&c->error);
                        continue;
                }
                if (!dry_run)
                        applied += p->n_steps;
                if (entry(list, cfg, "applied", d, p, dry_run, NULL) < 0)
                        return hp_op_oom(c);
        }
        /* Absent devices are warned about, not failed: a boot without them is no failure. */
        *ret = json_pack("{s:b, s:i, s:O, s:i, s:i, s:i}", "dry_run", dry_run, "configured", (json_int_t)configured,
                         "devices", list, "changed", (json_int_t)applied, "not_applied", (json_int_t)skipped,
                         "absent", (json_int_t)absent);
        return *ret ? 0 : hp_op_oom(c);
}

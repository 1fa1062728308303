/* hwpass graphics device list | vm list: display devices with their mode
 * (host or passthrough) and the VM that owns them (esxcli graphics device
 * list), and the VMs with display devices and the device each holds (esxcli
 * graphics vm list). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "host/pci.h"
#include "host/state.h"
#include "store/store.h"
#include "table.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/specjson.h"

int hp_cmd_graphics_device_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_state_done) struct hp_view cs = { 0 };
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
        struct hp_host_state st = hp_view_state(&cs);
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

/* A display entry: a display device by address, or IDs a display device on
 * this host has, or one asked to be the primary display. */
static const struct hp_pci_dev *display_of(const struct hp_pci_inventory *inv, const struct hp_vm_pci *p,
                                           bool *ret_display)
{
        *ret_display = p->primary_display;
        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *d = &inv->devs[i];

                if (!hp_pci_dev_matches_class(d, HP_CLASS_GPU))
                        continue;
                if (p->kind == HP_VM_PCI_STATIC && streq(d->address, p->address)) {
                        *ret_display = true;
                        return d;
                }
                for (size_t k = 0; p->kind == HP_VM_PCI_DYNAMIC && k < p->n_allowed; k++)
                        if (d->vendor_id == p->allowed[k].vendor_id && d->device_id == p->allowed[k].device_id)
                                *ret_display = true;
        }
        return NULL;
}

/* The display device a running VM holds for entry p: the static one, or an
 * assigned display device the entry allows. */
static const struct hp_pci_dev *held_by(const struct hp_view *cs, const char *vm, const struct hp_vm_pci *p)
{
        for (size_t i = 0; i < cs->n_configs; i++) {
                const struct hp_dev_config *cfg = &cs->configs[i];
                const struct hp_pci_dev *d;

                if (!cfg->assigned_vm || !streq(cfg->assigned_vm, vm) || !(d = hp_pci_find(cs->inv, cfg->address)))
                        continue;
                if (p->kind == HP_VM_PCI_STATIC && streq(d->address, p->address))
                        return d;
                for (size_t k = 0; p->kind == HP_VM_PCI_DYNAMIC && k < p->n_allowed; k++)
                        if (d->vendor_id == p->allowed[k].vendor_id && d->device_id == p->allowed[k].device_id &&
                            hp_pci_dev_matches_class(d, HP_CLASS_GPU))
                                return d;
        }
        return NULL;
}

struct vm_list_out {
        const struct hp_view *cs;
        json_t *list;
        struct hp_table *t;
};

static int vm_list_one(const struct hp_vm_record *rec, const struct hp_vm_spec *s, void *userdata)
{
        struct vm_list_out *o = userdata;
        int r = 0;

        for (size_t k = 0; r >= 0 && k < s->n_pci; k++) {
                const struct hp_vm_pci *p = &s->pci[k];
                const struct hp_pci_dev *d, *held = NULL;
                char entry[16], asks[512];
                bool display;

                d = display_of(o->cs->inv, p, &display);
                if (!display)
                        continue;
                if (!streq(rec->state, "off"))
                        held = held_by(o->cs, s->name, p);
                snprintf(entry, sizeof(entry), "pci%d", p->index);
                hp_cli_vm_describe_pci(p, asks, sizeof(asks));
                d = held ? held : d;
                if (o->list)
                        r = json_array_append_new(
                                o->list, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:b, s:s?}", "vm", s->name, "state",
                                                   rec->state, "entry", entry, "asks_for", asks, "holds",
                                                   held ? held->address : NULL, "primary_display",
                                                   p->primary_display, "name", d ? d->device_name : NULL));
                else
                        r = hp_table_add(o->t, (const char *const[]){ s->name, rec->state, entry, asks,
                                                                      held ? held->address : "-",
                                                                      d ? d->device_name : NULL });
        }
        return r < 0 ? -ENOMEM : 0;
}

static int vm_list(struct hp_cli *c)
{
        _cleanup_(hp_cli_state_done) struct hp_view cs = { 0 };
        _cleanup_(hp_table_freep) struct hp_table *t = NULL;
        struct vm_list_out o = { .cs = &cs };
        int r = hp_cli_state_load(c, &cs);

        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                o.list = json_array();
        else
                o.t = t = hp_table_new(6, (const char *const[]){ "VM", "STATE", "ENTRY", "ASKS FOR", "HOLDS", "NAME" });
        if (!o.list && !o.t)
                return hp_cli_error(-ENOMEM, "out of memory");
        r = hp_cli_vm_each(c, vm_list_one, &o);
        if (r != HP_EXIT_OK) {
                json_decref(o.list);
                return r;
        }
        if (o.list)
                return hp_cli_print_json(json_pack("{s:o}", "graphics_vms", o.list));
        hp_table_print(t, stdout);
        return HP_EXIT_OK;
}

int hp_cmd_graphics_vm_list(struct hp_cli *c, int argc, char **argv)
{
        int r;

        if (argc < 2 || !streq(argv[1], "list"))
                return hp_cli_usage_error("usage: hwpass graphics vm list");
        r = hp_cli_no_args("graphics vm list", argc - 1, argv + 1);
        return r == HP_EXIT_OK ? vm_list(c) : r;
}

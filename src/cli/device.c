/* hwpass device list | show: the PCI functions of the host. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "host/moves.h"
#include "host/json.h"
#include "cli.h"
#include "host/acs.h"
#include "host/iommu.h"
#include "host/pci.h"
#include "host/state.h"
#include "ops/device.h"
#include "store/store.h"
#include "table.h"
#include "util/macro.h"
#include "util/strutil.h"

static bool class_filter(const struct hp_pci_dev *d, const void *userdata)
{
        return hp_pci_dev_matches_class(d, *(const enum hp_pci_class_filter *)userdata);
}

static size_t group_size(const struct hp_pci_inventory *inv, int group)
{
        size_t n = 0;

        for (size_t i = 0; group >= 0 && i < inv->n_devs; i++)
                if (inv->devs[i].iommu_group == group)
                        n++;
        return n;
}

static void device_name(const struct hp_pci_dev *d, char *buf, size_t size)
{
        snprintf(buf, size, "%s %s", d->vendor_name ? d->vendor_name : "[unknown vendor]",
                 d->device_name ? d->device_name : "[unknown device]");
}

static int list_row(struct hp_table *t, const struct hp_host_state *st, const struct hp_pci_dev *d)
{
        const struct hp_pci_inventory *inv = st->inv;
        const struct hp_dev_config *c = hp_host_state_config(st, d->address);
        _cleanup_(hp_verdict_done) struct hp_verdict v = { 0 };
        _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };
        char id[16], group[48] = "-", numa[16] = "-", verdict[64], name[512];
        size_t members = group_size(inv, d->iommu_group);
        int r = hp_pci_verdict(inv, d, &v);

        if (r < 0)
                return r;
        r = hp_dev_state_of(st, d, c, &s);
        if (r < 0)
                return r;
        snprintf(id, sizeof(id), "%04x:%04x", d->vendor_id, d->device_id);
        if (d->iommu_group >= 0 && members > 1)
                snprintf(group, sizeof(group), "%d (+%zu)", d->iommu_group, members - 1);
        else if (d->iommu_group >= 0)
                snprintf(group, sizeof(group), "%d", d->iommu_group);
        if (d->numa_node >= 0)
                snprintf(numa, sizeof(numa), "%d", d->numa_node);
        snprintf(verdict, sizeof(verdict), "%s%s", v.capable ? "capable" : "no: ",
                 v.capable ? "" : v.blocker);
        device_name(d, name, sizeof(name));
        /* A label follows its device to a new address. */
        const char *moved = hp_host_state_moved_from(st, d);
        const char *text = c ? c->label : NULL;
        char label[HP_LABEL_MAX * 4 + 16]; /* up to 4 bytes a character */

        const char *mode = hp_dev_mode_name(hp_dev_mode_of(&s));

        snprintf(label, sizeof(label), "%s%s", text ? text : "-", text && moved ? " (moved)" : "");
        return hp_table_add(t, (const char *const[]){ d->address, id, d->class_name, d->driver, group,
                                                      numa, verdict, mode, label, name });
}

/* Under the table: why a device is not in the mode it was asked for, and
 * configured devices that are gone. */
static int print_reasons(const struct hp_host_state *st, enum hp_pci_class_filter filter)
{
        bool header = false;

        for (size_t i = 0; i < st->n_configs; i++) {
                const struct hp_dev_config *c = &st->configs[i];
                const struct hp_pci_dev *d = hp_pci_find(st->inv, c->address);
                _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };
                int r;

                if (d && !hp_pci_dev_matches_class(d, filter))
                        continue;
                r = hp_dev_state_of(st, d, c, &s);
                if (r < 0)
                        return r;
                if (!s.reason)
                        continue;
                if (!header)
                        printf("\n");
                header = true;
                _cleanup_free_ char *label = c->label ? hp_escape(c->label) : NULL;

                printf("%s%s%s%s: %s\n", c->address, label ? " (" : "", label ? label : "", label ? ")" : "",
                       s.reason);
        }
        return 0;
}

static int print_table_and_reasons(const struct hp_table *t, const struct hp_host_state *st,
                                   enum hp_pci_class_filter filter)
{
        hp_table_print(t, stdout);
        return print_reasons(st, filter);
}

int hp_cmd_device_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_state_done) struct hp_view cs = { 0 };
        _cleanup_(hp_table_freep) struct hp_table *t = NULL;
        enum hp_pci_class_filter filter = HP_CLASS_ANY;
        int r;

        if (c->controller) {
                if (argc > 1)
                        return hp_cli_usage_error("with --controller, 'device list' takes only --host NAME");
                return hp_cli_cluster_device_list(c);
        }

        for (int i = 1; i < argc; i++) {
                const char *value = NULL;

                if (streq(argv[i], "--class") && i + 1 < argc)
                        value = argv[++i];
                else if (hp_startswith(argv[i], "--class="))
                        value = argv[i] + strlen("--class=");
                else if (streq(argv[i], "--class"))
                        return hp_cli_usage_error("--class needs one of gpu, net, storage, usb, audio");
                else
                        return hp_cli_usage_error("'device list' does not take '%s' (see 'hwpass --help')",
                                                  argv[i]);
                if (hp_pci_class_filter_from_string(value, &filter) < 0)
                        return hp_cli_usage_error("unknown class '%s': use gpu, net, storage, usb or audio",
                                                  value);
        }
        r = hp_cli_state_load(c, &cs);
        if (r != HP_EXIT_OK)
                return r;
        const struct hp_pci_inventory *inv = cs.inv;
        struct hp_host_state st = hp_view_state(&cs);
        if (c->json)
                return hp_cli_print_json(hp_json_pci_devices(&st, class_filter, &filter));
        t = hp_table_new(10, (const char *const[]){ "ADDRESS", "ID", "CLASS", "DRIVER", "GROUP", "NUMA",
                                                     "PASSTHROUGH", "MODE", "LABEL", "NAME" });
        for (size_t i = 0; t && i < inv->n_devs; i++) {
                if (!hp_pci_dev_matches_class(&inv->devs[i], filter))
                        continue;
                r = list_row(t, &st, &inv->devs[i]);
                if (r < 0)
                        break;
        }
        if (t && r >= 0)
                r = print_table_and_reasons(t, &st, filter);
        if (!t || r < 0)
                return hp_cli_error(t ? r : -ENOMEM, "cannot build the table");
        if (!inv->has_iommu && inv->n_devs > 0)
                printf("\nNo device has an IOMMU group: the IOMMU is off or absent. "
                       "Run 'hwpass host check' to see why.\n");
        return HP_EXIT_OK;
}

static void show_bars(const struct hp_pci_dev *d)
{
        char size[32];

        if (d->n_bars == 0 && d->rom_size == 0) {
                printf("BARs:            none\n");
                return;
        }
        printf("BARs:\n");
        for (size_t i = 0; i < d->n_bars; i++) {
                const struct hp_pci_bar *b = &d->bars[i];

                hp_format_size(b->size, size, sizeof(size));
                printf("  %d: %-6s %s%s%s at 0x%" PRIx64 "\n", b->index, size,
                       b->is_io ? "I/O" : b->is_64bit ? "memory, 64-bit" : "memory, 32-bit",
                       b->prefetchable ? ", prefetchable" : "", "", b->start);
        }
        if (d->rom_size) {
                hp_format_size(d->rom_size, size, sizeof(size));
                printf("  ROM: %s\n", size);
        }
}

/* The group, its other members, and when another endpoint shares it, what
 * breaks it and what would isolate d (iso, from hp_acs_explain). */
static void show_group(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d,
                       const struct hp_isolation *iso)
{
        if (d->iommu_group < 0) {
                printf("IOMMU group:     none\n");
                return;
        }
        printf("IOMMU group:     %d\n", d->iommu_group);
        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *o = &inv->devs[i];
                char name[512];

                if (o == d || o->iommu_group != d->iommu_group)
                        continue;
                device_name(o, name, sizeof(name));
                printf("  also in group: %s %s%s\n", o->address, name,
                       hp_pci_dev_is_bridge(o) ? " (bridge)" : "");
        }
        if (iso->cause != HP_ISOLATION_OK)
                printf("  not isolated:  %s\n  to isolate:    %s\n", iso->why, iso->fix);
}

static void show_state(const struct hp_dev_state *s, const struct hp_dev_config *c)
{
        printf("Mode:            %s (passthrough %s, %s)\n", hp_dev_mode_name(hp_dev_mode_of(s)),
               s->desired ? "enabled" : "not enabled", s->active ? "active" : "not active");
        if (s->reason)
                printf("  why: %s\n", s->reason);
        if (!c)
                return;
        _cleanup_free_ char *label = hp_escape(c->label ? c->label : "-");

        printf("Label:           %s\n", label ? label : "?");
        for (size_t i = 0; c->attrs[i]; i++) {
                _cleanup_free_ char *attr = hp_escape(c->attrs[i]);

                printf("%s %s\n", i ? "                ": "Attributes:     ", attr ? attr : "?");
        }
        if (c->host_driver)
                printf("Host driver:     %s (when given back)\n", c->host_driver);
        printf("Assigned to:     %s\n", c->assigned_vm ? c->assigned_vm : "-");
        printf("Health:          %s\n", c->health);
}

/* The stored entries this device may be, why hwpass cannot tell, and the
 * command that says which it is. */
static void show_may_be(const struct hp_host_state *st, const struct hp_pci_dev *d)
{
        for (const struct hp_dev_match *m = NULL; (m = hp_host_state_may_be_next(st, d, m));) {
                const struct hp_dev_config *old = hp_host_state_config(st, m->from);
                _cleanup_free_ char *label = old && old->label ? hp_escape(old->label) : NULL;

                printf("May be:          the device stored at %s%s%s%s (same IDs, %s): if it is, run "
                       "'hwpass device adopt %s --from %s'\n",
                       m->from, label ? " (" : "", label ? label : "", label ? ")" : "", m->why, d->address, m->from);
        }
}

static int show_text(struct hp_cli *cli, const struct hp_host_state *st, const struct hp_pci_dev *d)
{
        const struct hp_pci_inventory *inv = st->inv;
        const struct hp_dev_config *c = hp_host_state_config(st, d->address);
        _cleanup_(hp_verdict_done) struct hp_verdict v = { 0 };
        _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };
        _cleanup_(hp_isolation_done) struct hp_isolation iso = { 0 };
        char name[512];
        int r = hp_pci_verdict(inv, d, &v);

        if (r >= 0)
                r = hp_dev_state_of(st, d, c, &s);
        if (r < 0)
                return hp_cli_error(r, "cannot judge %s", d->address);
        r = hp_acs_explain(cli->host, inv, d, &iso);
        if (r < 0)
                return hp_cli_error(r, "cannot read the PCIe ports above %s", d->address);
        device_name(d, name, sizeof(name));
        printf("Address:         %s\n", d->address);
        printf("Name:            %s (rev %02x)\n", name, d->revision);
        printf("Vendor:Device:   %04x:%04x\n", d->vendor_id, d->device_id);
        printf("Subsystem:       %04x:%04x %s\n", d->subsystem_vendor_id, d->subsystem_device_id,
               d->subsystem_name ? d->subsystem_name : d->subsystem_vendor_name ? d->subsystem_vendor_name : "");
        printf("Class:           %06x %s\n", d->class, d->class_name ? d->class_name : "");
        printf("Driver:          %s%s%s\n", d->driver ? d->driver : "none",
               d->driver_override ? ", override " : "", d->driver_override ? d->driver_override : "");
        show_group(inv, d, &iso);
        if (d->numa_node >= 0)
                printf("NUMA node:       %d\n", d->numa_node);
        else
                printf("NUMA node:       -\n");
        printf("Boot VGA:        %s\n", d->boot_vga ? "yes" : "no");
        printf("Reset methods:   ");
        for (size_t i = 0; d->reset_methods[i]; i++)
                printf("%s%s", i ? " " : "", d->reset_methods[i]);
        printf("%s\n", d->reset_methods[0] ? "" : d->has_reset ? "(kernel default)" : "none");
        if (d->is_pf)
                printf("SR-IOV:          physical function, %d of %d VFs enabled\n", d->sriov_num_vfs,
                       d->sriov_total_vfs);
        if (d->physfn)
                printf("SR-IOV:          virtual function of %s\n", d->physfn);
        printf("Physical slot:   %s\n", d->slot ? d->slot : "-");
        printf("Parent:          %s\n", d->parent ? d->parent : "root bus");
        printf("PCIe switch:     %s\n", d->pcie_switch[0] ? d->pcie_switch : "-");
        show_bars(d);
        printf("Passthrough:     %s\n", v.capable ? "capable" : "not capable");
        for (size_t i = 0; v.reasons[i]; i++)
                printf("  why not: %s\n", v.reasons[i]);
        for (size_t i = 0; v.notes[i]; i++)
                printf("  note: %s\n", v.notes[i]);
        show_state(&s, c);
        show_may_be(st, d);
        return HP_EXIT_OK;
}

int hp_cmd_device_show(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_state_done) struct hp_view cs = { 0 };
        const struct hp_pci_dev *d;
        int r;

        if (argc != 2)
                return hp_cli_usage_error("'device show' needs one PCI address, e.g. 0000:01:00.0");
        r = hp_cli_find_device(c, argv[1], &cs.inv, &d);
        if (r == HP_EXIT_OK)
                r = hp_cli_state_load(c, &cs);
        if (r != HP_EXIT_OK)
                return r;
        struct hp_host_state st = hp_view_state(&cs);
        return c->json ? hp_cli_print_json(hp_json_pci_dev_detail(c->host, &st, d)) : show_text(c, &st, d);
}

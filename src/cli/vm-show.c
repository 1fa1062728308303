/* hwpass vm show | list: a VM as defined, with what power-on would take now
 * (the devices, the 64-bit MMIO window, the QEMU command line). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/specjson.h"

void hp_cli_vm_describe_pci(const struct hp_vm_pci *p, char *buf, size_t size)
{
        size_t len;

        if (p->kind == HP_VM_PCI_STATIC) {
                snprintf(buf, size, "static   %s%s", p->address,
                         hp_vm_pci_is_slot(p) ? " (all functions)" : "");
        } else {
                snprintf(buf, size, "dynamic  ");
                for (size_t i = 0; i < p->n_allowed; i++) {
                        len = strlen(buf);
                        snprintf(buf + len, size - len, "%s%04x:%04x", i ? "," : "",
                                 p->allowed[i].vendor_id, p->allowed[i].device_id);
                }
                len = strlen(buf);
                if (p->count > 1)
                        snprintf(buf + len, size - len, " count %u", p->count);
                len = strlen(buf);
                if (p->label)
                        snprintf(buf + len, size - len, " label '%s'", p->label);
                for (size_t i = 0; p->attrs && p->attrs[i]; i++) {
                        len = strlen(buf);
                        snprintf(buf + len, size - len, " attr %s", p->attrs[i]);
                }
                len = strlen(buf);
                snprintf(buf + len, size - len, "%s%s%s%s%s%s", p->same_numa ? ", same NUMA node as group '" : "",
                         p->same_numa ? p->same_numa : "", p->same_numa ? "'" : "",
                         p->same_switch ? ", same PCIe switch as group '" : "", p->same_switch ? p->same_switch : "",
                         p->same_switch ? "'" : "");
                len = strlen(buf);
                if (p->all_functions)
                        snprintf(buf + len, size - len, ", all functions");
        }
        len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s%s%s", p->primary_display ? ", primary display" : "",
                 p->rombar == 0   ? ", rombar off"
                 : p->rombar == 1 ? ", rombar on"
                                  : "",
                 p->romfile ? ", romfile " : "", p->romfile ? p->romfile : "");
}

static int print_argv(struct hp_cli *c, const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p)
{
        _cleanup_strv_free_ char **argv = NULL;
        int r = hp_ops_vm_qemu_argv(&c->ops, v, p, &argv);

        if (r < 0)
                return hp_cli_op_failed(c);
        for (size_t i = 0; argv[i]; i++)
                printf("%s%s", i ? " \\\n    " : "", argv[i]);
        printf("\n");
        return HP_EXIT_OK;
}

static const char *firmware_name(const char *fw)
{
        return fw && streq(fw, "efi") ? "EFI (OVMF)" : "BIOS (SeaBIOS)";
}

/* As configured; for auto, what power-on would choose now (p, NULL when
 * no devices can be chosen) and why; then what this or the last run booted. */
static void print_firmware(const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p, json_t *last)
{
        const char *run = hp_cli_str(last, "firmware"), *why = hp_cli_str(last, "reason");

        if (v->spec.firmware != HP_VM_FIRMWARE_AUTO)
                printf("Firmware:    %s\n", firmware_name(hp_vm_firmware_to_string(v->spec.firmware)));
        else if (p)
                printf("Firmware:    auto: %s at power-on now, because %s\n",
                       firmware_name(hp_vm_firmware_to_string(p->firmware)), p->firmware_why);
        else
                printf("Firmware:    auto (EFI when the devices need it)\n");
        if (!run)
                return;
        printf("%s    %s", streq(v->rec.state, "off") ? "Last run:" : "This run:", firmware_name(run));
        if (json_is_true(json_object_get(last, "chosen")) && why)
                printf(", chosen because %s", why);
        printf("\n");
}

int hp_cmd_vm_show(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        _cleanup_(hp_ops_vm_plan_done) struct hp_ops_vm_plan p = { 0 };
        _cleanup_(json_decrefp) json_t *last = NULL;
        _cleanup_free_ char *mmio_text = NULL;
        bool want_argv = argc == 3 && streq(argv[2], "--qemu-argv");
        int r, chosen;

        if (argc < 2 || (argc == 3 && !want_argv) || argc > 3)
                return hp_cli_usage_error("usage: hwpass vm show NAME [--qemu-argv]");
        if (c->controller && !want_argv)
                return hp_cli_vm_name_check(argv[1]) ?: hp_cli_cluster_vms(c, argv[1]);
        r = hp_cli_vm_read(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        chosen = hp_ops_vm_plan(&c->ops, &v, &p);
        if (chosen < 0 && !p.error)
                return hp_cli_op_failed(c);
        if (chosen >= 0)
                (void)hp_mmio_describe(&p.mmio, &mmio_text);
        last = hp_ops_vm_firmware_last(&c->ops, v.spec.name);
        if (want_argv) {
                if (chosen < 0) {
                        fprintf(stderr, "hwpass: %s\n", p.error ? p.error : strerror(-chosen));
                        return HP_EXIT_FAIL;
                }
                return print_argv(c, &v, &p);
        }
        if (c->json) {
                json_t *j = hp_vm_to_json(&v.spec, v.rec.state), *devs = json_array();

                /* A slot entry's functions one after another. */
                for (size_t i = 0; j && devs && chosen >= 0 && i < p.n_pci; i++)
                        json_array_append_new(devs, json_string(p.addrs[i]));
                if (!j || !devs || json_object_set_new(j, "devices_now", chosen >= 0 ? devs : json_null()) < 0 ||
                    json_object_set_new(j, "devices_error",
                                        p.error ? json_string(p.error) : json_null()) < 0 ||
                    json_object_set_new(j, "mmio64_window",
                                        json_integer((json_int_t)p.mmio.window)) < 0 ||
                    json_object_set_new(j, "mmio64_needs_efi", json_boolean(p.mmio.needs_efi)) < 0 ||
                    json_object_set_new(j, "firmware_now",
                                        chosen >= 0 ? hp_ops_vm_firmware_json(&v, &p) : json_null()) < 0 ||
                    json_object_set_new(j, "firmware_run", last ? json_incref(last) : json_null()) < 0) {
                        json_decref(j);
                        return hp_cli_error(-ENOMEM, "out of memory");
                }
                if (chosen < 0)
                        json_decref(devs);
                return hp_cli_print_json(j);
        }
        printf("VM:          %s\n", v.spec.name);
        printf("State:       %s\n", v.rec.state);
        printf("Memory:      %" PRIu64 " MiB (all of it reserved and locked at power-on%s)\n",
               v.spec.memory_mib, v.spec.hugepages ? ", from hugepages" : "");
        printf("vCPUs:       %u\n", v.spec.vcpus);
        print_firmware(&v, chosen >= 0 ? &p : NULL, last);
        for (size_t i = 0; v.spec.disks[i]; i++)
                printf("Disk:        %s\n", v.spec.disks[i]);
        if (v.spec.kernel)
                printf("Kernel:      %s%s%s\n", v.spec.kernel, v.spec.append ? " " : "",
                       v.spec.append ? v.spec.append : "");
        if (v.spec.autostart_order >= 0)
                printf("Autostart:   order %d, delay %u s\n", v.spec.autostart_order,
                       v.spec.autostart_delay);
        else
                printf("Autostart:   no\n");
        if (v.spec.placement != HP_VM_PLACEMENT_CLUSTER)
                printf("Placement:   %s (its own, over the cluster's)\n", hp_vm_placement_to_string(v.spec.placement));
        if (v.spec.restart_priority != HP_VM_RESTART_MEDIUM || v.spec.isolation != HP_VM_ISOLATION_POWER_OFF)
                printf("HA:          restart priority %s, isolation %s\n", hp_vm_restart_to_string(v.spec.restart_priority),
                       hp_vm_isolation_to_string(v.spec.isolation));
        printf("Devices:     %zu of %u\n", hp_vm_spec_device_count(&v.spec), v.spec.device_limit);
        for (size_t i = 0; i < v.spec.n_pci; i++) {
                char text[512];

                hp_cli_vm_describe_pci(&v.spec.pci[i], text, sizeof(text));
                printf("  pci%-3d %s", v.spec.pci[i].index, text);
                /* What it takes now: a slot entry, each of its functions. */
                for (size_t k = 0, n = 0; chosen >= 0 && k < p.n_pci; k++)
                        if (p.pci[k].index == v.spec.pci[i].index)
                                printf("%s%s", n++ ? ", " : "  -> ", p.addrs[k]);
                printf("\n");
        }
        for (size_t i = 0; i < v.spec.n_usb; i++) {
                const struct hp_vm_usb *u = &v.spec.usb[i];

                if (u->kind == HP_VM_USB_PORT)
                        printf("  usb%-3d port     %d-%s\n", u->index, u->bus, u->port);
                else
                        printf("  usb%-3d id       %04x:%04x%s%s\n", u->index, u->vendor_id,
                               u->product_id, u->serial ? " serial " : "",
                               u->serial ? u->serial : "");
        }
        if (chosen < 0)
                printf("Power-on now: would fail: %s\n", p.error ? p.error : strerror(-chosen));
        if (mmio_text)
                printf("MMIO:        %s\n", mmio_text);
        if (chosen >= 0 && p.mmio.needs_efi && v.spec.firmware == HP_VM_FIRMWARE_BIOS)
                printf("warning: VM '%s' is set to BIOS firmware, and %s: it will not start until "
                       "'hwpass vm set %s --firmware auto' (or efi)\n",
                       v.spec.name, p.firmware_why, v.spec.name);
        return HP_EXIT_OK;
}

struct list_out {
        json_t *list;
        struct hp_table *t;
};

static int list_one(const struct hp_vm_record *rec, const struct hp_vm_spec *s, void *userdata)
{
        struct list_out *o = userdata;
        char mem[32], vcpus[16], devs[16], autostart[16];
        json_t *j;

        if (o->list) {
                j = hp_vm_to_json(s, rec->state);
                return j && json_array_append_new(o->list, j) == 0 ? 0 : -ENOMEM;
        }
        snprintf(mem, sizeof(mem), "%" PRIu64 "M", s->memory_mib);
        snprintf(vcpus, sizeof(vcpus), "%u", s->vcpus);
        snprintf(devs, sizeof(devs), "%zu", hp_vm_spec_device_count(s));
        snprintf(autostart, sizeof(autostart), "%d", s->autostart_order);
        return hp_table_add(o->t,
                            (const char *const[]){ s->name, rec->state, mem, vcpus, devs,
                                                   s->autostart_order >= 0 ? autostart : "-" });
}

int hp_cmd_vm_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_table_freep) struct hp_table *t = NULL;
        struct list_out o = { 0 };
        int r = hp_cli_no_args("vm list", argc, argv);

        if (r != HP_EXIT_OK)
                return r;
        if (c->controller)
                return hp_cli_cluster_vms(c, NULL);
        if (c->json)
                o.list = json_array();
        else
                o.t = t = hp_table_new(6, (const char *const[]){ "NAME", "STATE", "MEMORY", "VCPUS",
                                                                 "DEVICES", "AUTOSTART" });
        if (!o.list && !o.t)
                return hp_cli_error(-ENOMEM, "out of memory");
        r = hp_cli_vm_each(c, list_one, &o);
        if (r != HP_EXIT_OK) {
                json_decref(o.list);
                return r;
        }
        if (o.list)
                return hp_cli_print_json(json_pack("{s:o}", "vms", o.list));
        hp_table_print(t, stdout);
        return HP_EXIT_OK;
}

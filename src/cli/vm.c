/* hwpass vm create | set | add-pci | add-usb | remove-device | delete |
 * autostart: VM definitions in the store. Devices change only while the VM is
 * off; every entry is checked before anything is stored. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/pci.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/firmware.h"
#include "vm/specjson.h"
#include "vm/supervise.h"

void hp_cli_vm_done(struct hp_cli_vm *v)
{
        hp_vm_spec_done(&v->spec);
        hp_vm_record_done(&v->rec);
        hp_store_close(v->store);
}

int hp_cli_vm_load(struct hp_cli *c, const char *name, struct hp_cli_vm *ret)
{
        _cleanup_free_ char *err = NULL;
        int r;

        if (!hp_vm_name_valid(name))
                return hp_cli_usage_error("invalid VM name '%s': 1-%d letters, digits, '-', '_' or '.'", name,
                                          HP_VM_NAME_MAX);
        r = hp_cli_open_store(c, &ret->store);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_vm_get(ret->store, name, &ret->rec);
        if (r == -ENOENT)
                return hp_cli_usage_error("no VM '%s' (see 'hwpass vm list')", name);
        if (r < 0)
                return hp_cli_error(r, "cannot read VM '%s'", name);
        r = hp_vm_spec_from_text(ret->rec.spec_json, &ret->spec, &err);
        if (r < 0)
                return hp_cli_error(r, "VM '%s' is stored damaged: %s", name, err ? err : "?");
        r = hp_vm_record_settle(ret->store, &ret->rec);
        if (r < 0)
                return hp_cli_error(r, "out of memory");
        return HP_EXIT_OK;
}

int hp_cli_vm_print_json(const struct hp_vm_spec *s, const char *state)
{
        json_t *j = hp_vm_to_json(s, state);

        return j ? hp_cli_print_json(j) : hp_cli_error(-ENOMEM, "out of memory");
}

int hp_cli_vm_save(struct hp_cli *c, struct hp_cli_vm *v)
{
        _cleanup_free_ char *text = NULL;
        int r = hp_vm_spec_to_text(&v->spec, &text);

        if (r >= 0)
                r = hp_store_vm_update_spec(v->store, v->spec.name, text);
        if (r < 0)
                return hp_cli_error(r, "cannot store VM '%s' in '%s'", v->spec.name, c->db_path);
        return c->json ? hp_cli_vm_print_json(&v->spec, v->rec.state) : HP_EXIT_OK;
}

int hp_cli_vm_require_off(const struct hp_cli_vm *v, const char *what)
{
        if (!streq(v->rec.state, "off"))
                return hp_cli_usage_error("VM '%s' is %s: %s only while it is off (hwpass vm stop %s)",
                                          v->spec.name, v->rec.state, what, v->spec.name);
        return HP_EXIT_OK;
}

bool hp_cli_vm_has_passthrough(const struct hp_vm_spec *s)
{
        return s->n_pci > 0;
}

/* A VM whose devices are about to change: it must be off and have room. */
static int vm_load_for_new_device(struct hp_cli *c, const char *name, struct hp_cli_vm *ret)
{
        int r = hp_cli_vm_load(c, name, ret);

        if (r == HP_EXIT_OK)
                r = hp_cli_vm_require_off(ret, "devices are added");
        if (r == HP_EXIT_OK && ret->spec.n_pci + ret->spec.n_usb >= ret->spec.device_limit)
                r = hp_cli_usage_error("VM '%s' already has %zu devices, its limit: remove one first",
                                       ret->spec.name, ret->spec.n_pci + ret->spec.n_usb);
        return r;
}

static int next_index(const struct hp_vm_spec *s, bool pci)
{
        int max = -1;

        for (size_t i = 0; pci && i < s->n_pci; i++)
                max = s->pci[i].index > max ? s->pci[i].index : max;
        for (size_t i = 0; !pci && i < s->n_usb; i++)
                max = s->usb[i].index > max ? s->usb[i].index : max;
        return max + 1;
}

/* The per-VM device limit: PCI and USB entries together. */
static int parse_device_limit(const char *arg, unsigned *ret)
{
        uint64_t n;

        if (hp_parse_u64(arg, 10, &n) < 0 || n == 0 || n > HP_VM_MAX_DEVICE_LIMIT) {
                (void)hp_cli_usage_error("invalid --device-limit '%s': 1 to %d", arg, HP_VM_MAX_DEVICE_LIMIT);
                return -EINVAL;
        }
        *ret = (unsigned)n;
        return 0;
}

/* --vcpus and --memory, as vm create and vm set take them. */
static int parse_vcpus(const char *arg, unsigned *ret)
{
        uint64_t n;

        if (hp_parse_u64(arg, 10, &n) < 0 || n == 0 || n > HP_VM_MAX_VCPUS) {
                (void)hp_cli_usage_error("invalid vCPU count '%s': 1 to %d", arg, HP_VM_MAX_VCPUS);
                return -EINVAL;
        }
        *ret = (unsigned)n;
        return 0;
}

static int parse_memory(const char *arg, uint64_t *ret)
{
        if (hp_size_parse_mib(arg, ret) < 0) {
                (void)hp_cli_usage_error("invalid memory size '%s': e.g. 4096M or 16G", arg);
                return -EINVAL;
        }
        return 0;
}

int hp_cli_vm_each(struct hp_cli *c, hp_cli_vm_fn fn, void *userdata)
{
        _cleanup_(hp_store_closep) struct hp_store *store = NULL;
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        int r = hp_cli_open_store(c, &store);

        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_vm_list(store, &recs, &n);
        if (r < 0)
                return hp_cli_error(r, "cannot list the VMs in '%s'", c->db_path);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
                _cleanup_free_ char *err = NULL;

                if (hp_vm_spec_from_text(recs[i].spec_json, &s, &err) < 0) {
                        fprintf(stderr, "hwpass: skipping VM '%s': it is stored damaged: %s\n", recs[i].name,
                                err ? err : "?");
                        continue;
                }
                r = fn(&recs[i], &s, userdata);
        }
        hp_vm_records_free(recs, n);
        return r < 0 ? hp_cli_error(r, "cannot list the VMs") : HP_EXIT_OK;
}

int hp_cli_vm_store_new(struct hp_cli *c, const struct hp_vm_spec *s, const char *event)
{
        _cleanup_(hp_store_closep) struct hp_store *store = NULL;
        _cleanup_free_ char *text = NULL;
        int r = hp_vm_spec_to_text(s, &text);

        if (r < 0)
                return hp_cli_error(r, "out of memory");
        r = hp_cli_open_store(c, &store);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_vm_create(store, s->name, text);
        if (r == -EEXIST)
                return hp_cli_usage_error("a VM named '%s' exists already", s->name);
        if (r < 0)
                return hp_cli_error(r, "cannot store VM '%s' in '%s'", s->name, c->db_path);
        (void)hp_store_event_add(store, event, s->name, NULL);
        return c->json ? hp_cli_vm_print_json(s, "off") : HP_EXIT_OK;
}

int hp_cmd_vm_create(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { .vcpus = 1, .autostart_order = -1,
                                                           .device_limit = HP_VM_DEFAULT_DEVICE_LIMIT };
        const char *v;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm create NAME --memory SIZE --vcpus N [--firmware bios|efi] "
                                          "[--disk PATH]... [--kernel FILE [--append ARGS]] [--hugepages] [--device-limit N]");
        if (!hp_vm_name_valid(argv[1]))
                return hp_cli_usage_error("invalid VM name '%s': 1-%d letters, digits, '-', '_' or '.'", argv[1],
                                          HP_VM_NAME_MAX);
        snprintf(s.name, sizeof(s.name), "%s", argv[1]);
        s.disks = calloc(1, sizeof(char *));
        if (!s.disks)
                return hp_cli_error(-ENOMEM, "out of memory");
        for (int i = 2; i < argc; i++) {
                if ((v = hp_cli_opt_value(argc, argv, &i, "--memory", &err))) {
                        if (parse_memory(v, &s.memory_mib) < 0)
                                return HP_EXIT_USAGE;
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--vcpus", &err))) {
                        if (parse_vcpus(v, &s.vcpus) < 0)
                                return HP_EXIT_USAGE;
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--device-limit", &err))) {
                        if (parse_device_limit(v, &s.device_limit) < 0)
                                return HP_EXIT_USAGE;
                } else if (streq(argv[i], "--hugepages")) {
                        s.hugepages = true;
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--firmware", &err))) {
                        if (!streq(v, "bios") && !streq(v, "efi"))
                                return hp_cli_usage_error("invalid firmware '%s': bios or efi", v);
                        s.firmware = streq(v, "efi") ? HP_VM_FIRMWARE_EFI : HP_VM_FIRMWARE_BIOS;
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--disk", &err))) {
                        if (!*v || hp_strv_push(&s.disks, v) < 0)
                                return hp_cli_usage_error("invalid disk '%s'", v);
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--kernel", &err))) {
                        free(s.kernel);
                        s.kernel = strdup(v);
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--append", &err))) {
                        free(s.append);
                        s.append = strdup(v);
                } else {
                        return err ? err : hp_cli_usage_error("'vm create' does not take '%s'", argv[i]);
                }
                if (err)
                        return err;
        }
        if (err)
                return err;
        if (s.memory_mib == 0)
                return hp_cli_usage_error("'vm create' needs --memory SIZE, e.g. --memory 8G");
        if (s.append && !s.kernel)
                return hp_cli_usage_error("--append goes with --kernel");
        r = hp_cli_vm_store_new(c, &s, "vm-created");
        if (r == HP_EXIT_OK && !c->json)
                printf("VM '%s' created: %" PRIu64 " MiB, %u vCPU%s, %s.\n", s.name, s.memory_mib, s.vcpus,
                       s.vcpus == 1 ? "" : "s", s.firmware == HP_VM_FIRMWARE_EFI ? "EFI" : "BIOS");
        return r;
}

/* The whole text of path ("-": stdin), at most 1 MiB. */
static int read_document(const char *path, char **ret)
{
        _cleanup_close_ int fd = streq(path, "-") ? -1 : open(path, O_RDONLY | O_CLOEXEC);

        if (!streq(path, "-") && fd < 0)
                return -errno;
        return hp_read_all(fd >= 0 ? fd : STDIN_FILENO, 1024 * 1024, ret, NULL);
}

/* hwpass vm define FILE|-: a VM from its JSON document, as 'vm list --json'
 * and GET /v1/vms/NAME give it (and as POST /v1/vms takes it). */
int hp_cmd_vm_define(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_free_ char *text = NULL, *err = NULL;
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm define FILE.json (or - for stdin)");
        r = read_document(argv[1], &text);
        if (r == -EFBIG)
                return hp_cli_usage_error("'%s' is larger than 1 MiB: not a VM document", argv[1]);
        if (r < 0)
                return hp_cli_error(r, "cannot read '%s'", argv[1]);
        r = hp_vm_spec_from_document(text, &s, &err);
        if (r == -ENOMEM)
                return hp_cli_error(r, "out of memory");
        if (r < 0)
                return hp_cli_usage_error("'%s' is not a VM document: %s", argv[1], err ? err : "?");
        r = hp_cli_vm_store_new(c, &s, "vm-created");
        if (r == HP_EXIT_OK && !c->json)
                printf("VM '%s' created: %" PRIu64 " MiB, %u vCPU%s, %s, %zu PCI and %zu USB device%s.\n", s.name,
                       s.memory_mib, s.vcpus, s.vcpus == 1 ? "" : "s",
                       s.firmware == HP_VM_FIRMWARE_EFI ? "EFI" : "BIOS", s.n_pci, s.n_usb,
                       s.n_pci + s.n_usb == 1 ? "" : "s");
        return r;
}

int hp_cmd_vm_set(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        const char *memory = NULL, *vcpus = NULL, *limit = NULL, *huge = NULL, *val;
        int r, err = 0;

        if (argc < 3 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm set NAME [--memory SIZE] [--vcpus N] [--hugepages on|off] [--device-limit N]");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--memory", &err)))
                        memory = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--vcpus", &err)))
                        vcpus = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--device-limit", &err)))
                        limit = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--hugepages", &err)))
                        huge = val;
                else if (!err)
                        err = hp_cli_usage_error("'vm set' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        r = hp_cli_vm_load(c, argv[1], &v);
        if (r == HP_EXIT_OK)
                r = hp_cli_vm_require_off(&v, "it is changed");
        if (r != HP_EXIT_OK)
                return r;
        if (memory && parse_memory(memory, &v.spec.memory_mib) < 0)
                return HP_EXIT_USAGE;
        if (vcpus && parse_vcpus(vcpus, &v.spec.vcpus) < 0)
                return HP_EXIT_USAGE;
        if (huge) {
                if (!streq(huge, "on") && !streq(huge, "off"))
                        return hp_cli_usage_error("invalid --hugepages '%s': on or off", huge);
                v.spec.hugepages = streq(huge, "on");
        }
        if (limit) {
                if (parse_device_limit(limit, &v.spec.device_limit) < 0)
                        return HP_EXIT_USAGE;
                if (v.spec.n_pci + v.spec.n_usb > v.spec.device_limit)
                        return hp_cli_usage_error("VM '%s' has %zu devices: remove some before lowering its limit to %u",
                                                  v.spec.name, v.spec.n_pci + v.spec.n_usb, v.spec.device_limit);
        }
        return hp_cli_vm_save(c, &v);
}

int hp_cmd_vm_add_pci(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        struct hp_vm_pci e = { .rombar = -1 };
        const char *address = NULL, *allowed = NULL, *val;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm add-pci NAME --address SBDF | --allowed VID:DID[,...] "
                                          "[--label TEXT] [--primary-display] [--rombar on|off] [--romfile PATH]");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--address", &err)))
                        address = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--allowed", &err)))
                        allowed = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--label", &err)))
                        e.label = strdup(val);
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--romfile", &err)))
                        e.romfile = strdup(val);
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--rombar", &err))) {
                        if (!streq(val, "on") && !streq(val, "off")) {
                                hp_vm_pci_done(&e);
                                return hp_cli_usage_error("invalid --rombar '%s': on or off", val);
                        }
                        e.rombar = streq(val, "on");
                } else if (streq(argv[i], "--primary-display"))
                        e.primary_display = true;
                else if (!err)
                        err = hp_cli_usage_error("'vm add-pci' does not take '%s'", argv[i]);
                if (err) {
                        hp_vm_pci_done(&e);
                        return err;
                }
        }
        if (!address == !allowed) {
                hp_vm_pci_done(&e);
                return hp_cli_usage_error("'vm add-pci' needs either --address SBDF or --allowed VID:DID");
        }
        if (address && e.label) {
                hp_vm_pci_done(&e);
                return hp_cli_usage_error("--label goes with --allowed: a device by address is that device");
        }
        if (address) {
                const struct hp_pci_dev *d;

                e.kind = HP_VM_PCI_STATIC;
                r = hp_cli_find_device(c, address, &inv, &d);
                if (r != HP_EXIT_OK) {
                        hp_vm_pci_done(&e);
                        return r;
                }
                memcpy(e.address, d->address, HP_SBDF_LEN);
        } else {
                /* Commas separate the allowed IDs. */
                _cleanup_strv_free_ char **ids = calloc(1, sizeof(char *));

                e.kind = HP_VM_PCI_DYNAMIC;
                for (const char *p = allowed; ids && *p;) {
                        const char *comma = strchr(p, ',');
                        size_t len = comma ? (size_t)(comma - p) : strlen(p);
                        _cleanup_free_ char *one = strndup(p, len);

                        if (!one || hp_strv_push(&ids, one) < 0)
                                break;
                        p += len + (comma ? 1 : 0);
                }
                e.allowed = calloc(hp_strv_length(ids) + 1, sizeof(*e.allowed));
                for (size_t i = 0; e.allowed && ids && ids[i]; i++) {
                        if (hp_pci_id_match_parse(ids[i], &e.allowed[e.n_allowed]) < 0) {
                                r = hp_cli_usage_error("invalid ID '%s' in --allowed: VID:DID or VID:DID:SVID:SDID in hex",
                                                       ids[i]);
                                hp_vm_pci_done(&e);
                                return r;
                        }
                        e.n_allowed++;
                }
                if (!e.allowed || e.n_allowed == 0) {
                        hp_vm_pci_done(&e);
                        return hp_cli_usage_error("--allowed needs at least one VID:DID");
                }
        }
        r = vm_load_for_new_device(c, argv[1], &v);
        if (r != HP_EXIT_OK) {
                hp_vm_pci_done(&e);
                return r;
        }
        for (size_t i = 0; address && i < v.spec.n_pci; i++)
                if (v.spec.pci[i].kind == HP_VM_PCI_STATIC && streq(v.spec.pci[i].address, e.address)) {
                        r = hp_cli_usage_error("VM '%s' has %s already (pci%d)", v.spec.name, e.address,
                                               v.spec.pci[i].index);
                        hp_vm_pci_done(&e);
                        return r;
                }
        e.index = next_index(&v.spec, true);
        struct hp_vm_pci *np = realloc(v.spec.pci, (v.spec.n_pci + 1) * sizeof(*np));
        if (!np) {
                hp_vm_pci_done(&e);
                return hp_cli_error(-ENOMEM, "out of memory");
        }
        v.spec.pci = np;
        v.spec.pci[v.spec.n_pci++] = e;
        r = hp_cli_vm_save(c, &v);
        if (r == HP_EXIT_OK && !c->json)
                printf("VM '%s': pci%d added.\n", v.spec.name, e.index);
        return r;
}

int hp_cmd_vm_add_usb(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        struct hp_vm_usb e = { 0 };
        const char *id = NULL, *port = NULL, *val;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm add-usb NAME --id VID:PID[:SERIAL] | --port BUS-PORT[.PORT...]");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--id", &err)))
                        id = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--port", &err)))
                        port = val;
                else if (!err)
                        err = hp_cli_usage_error("'vm add-usb' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        if (!id == !port)
                return hp_cli_usage_error("'vm add-usb' needs either --id VID:PID[:SERIAL] or --port BUS-PORT");
        if (port) {
                e.kind = HP_VM_USB_PORT;
                if (hp_usb_port_parse(port, &e.bus, &e.port) < 0)
                        return hp_cli_usage_error("invalid USB port '%s': BUS-PORT[.PORT...], e.g. 1-2.3 (see 'hwpass usb list')",
                                                  port);
        } else {
                uint64_t vid, pid;
                char vbuf[5], pbuf[5];
                const char *serial = strlen(id) > 10 && id[9] == ':' ? id + 10 : NULL;

                e.kind = HP_VM_USB_ID;
                if (strlen(id) < 9 || id[4] != ':' || (strlen(id) > 9 && !serial))
                        return hp_cli_usage_error("invalid USB ID '%s': VID:PID[:SERIAL] in hex, e.g. 046d:c52b", id);
                memcpy(vbuf, id, 4);
                vbuf[4] = '\0';
                memcpy(pbuf, id + 5, 4);
                pbuf[4] = '\0';
                if (hp_parse_u64(vbuf, 16, &vid) < 0 || hp_parse_u64(pbuf, 16, &pid) < 0)
                        return hp_cli_usage_error("invalid USB ID '%s': VID:PID[:SERIAL] in hex, e.g. 046d:c52b", id);
                e.vendor_id = (uint16_t)vid;
                e.product_id = (uint16_t)pid;
                if (serial && !(e.serial = strdup(serial)))
                        return hp_cli_error(-ENOMEM, "out of memory");
        }
        r = vm_load_for_new_device(c, argv[1], &v);
        if (r != HP_EXIT_OK) {
                hp_vm_usb_done(&e);
                return r;
        }
        e.index = next_index(&v.spec, false);
        struct hp_vm_usb *nu = realloc(v.spec.usb, (v.spec.n_usb + 1) * sizeof(*nu));
        if (!nu) {
                hp_vm_usb_done(&e);
                return hp_cli_error(-ENOMEM, "out of memory");
        }
        v.spec.usb = nu;
        v.spec.usb[v.spec.n_usb++] = e;
        r = hp_cli_vm_save(c, &v);
        if (r == HP_EXIT_OK && !c->json)
                printf("VM '%s': usb%d added.\n", v.spec.name, e.index);
        return r;
}

int hp_cmd_vm_remove_device(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        uint64_t index;
        bool pci;
        int r;

        if (argc != 3)
                return hp_cli_usage_error("usage: hwpass vm remove-device NAME pciN|usbN");
        pci = hp_startswith(argv[2], "pci");
        if ((!pci && !hp_startswith(argv[2], "usb")) || hp_parse_u64(argv[2] + 3, 10, &index) < 0)
                return hp_cli_usage_error("invalid device '%s': pciN or usbN as 'hwpass vm show' lists them", argv[2]);
        r = hp_cli_vm_load(c, argv[1], &v);
        if (r == HP_EXIT_OK)
                r = hp_cli_vm_require_off(&v, "devices are removed");
        if (r != HP_EXIT_OK)
                return r;
        for (size_t i = 0; pci && i < v.spec.n_pci; i++)
                if ((uint64_t)v.spec.pci[i].index == index) {
                        hp_vm_pci_done(&v.spec.pci[i]);
                        memmove(&v.spec.pci[i], &v.spec.pci[i + 1], (v.spec.n_pci - i - 1) * sizeof(*v.spec.pci));
                        v.spec.n_pci--;
                        return hp_cli_vm_save(c, &v);
                }
        for (size_t i = 0; !pci && i < v.spec.n_usb; i++)
                if ((uint64_t)v.spec.usb[i].index == index) {
                        hp_vm_usb_done(&v.spec.usb[i]);
                        memmove(&v.spec.usb[i], &v.spec.usb[i + 1], (v.spec.n_usb - i - 1) * sizeof(*v.spec.usb));
                        v.spec.n_usb--;
                        return hp_cli_vm_save(c, &v);
                }
        return hp_cli_usage_error("VM '%s' has no %s (see 'hwpass vm show %s')", v.spec.name, argv[2], v.spec.name);
}

int hp_cmd_vm_delete(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        char run_dir[256], vars[256];
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm delete NAME");
        r = hp_cli_vm_load(c, argv[1], &v);
        if (r == HP_EXIT_OK)
                r = hp_cli_vm_require_off(&v, "it is deleted");
        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_vm_delete(v.store, v.spec.name);
        if (r < 0)
                return hp_cli_error(r, "cannot delete VM '%s'", v.spec.name);
        hp_cli_vm_paths(v.spec.name, run_dir, vars, sizeof(run_dir));
        if (hp_vm_firmware_remove(vars) < 0)
                fprintf(stderr, "hwpass: warning: could not remove '%s' of deleted VM '%s'\n", vars, v.spec.name);
        (void)hp_store_event_add(v.store, "vm-deleted", v.spec.name, NULL);
        if (c->json)
                return hp_cli_print_json(json_pack("{s:s, s:b}", "name", v.spec.name, "deleted", 1));
        printf("VM '%s' deleted.\n", v.spec.name);
        return HP_EXIT_OK;
}

int hp_cmd_vm_autostart(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        int order = -2, err = 0, r;
        uint64_t delay = 0, n;
        const char *val;

        if (argc < 3 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm autostart NAME --order N [--delay SECONDS] | NAME --off");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--order", &err))) {
                        if (hp_parse_u64(val, 10, &n) < 0 || n > HP_VM_MAX_AUTOSTART_ORDER)
                                return hp_cli_usage_error("invalid --order '%s': 0 to %d", val,
                                                          HP_VM_MAX_AUTOSTART_ORDER);
                        order = (int)n;
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--delay", &err))) {
                        if (hp_parse_u64(val, 10, &delay) < 0 || delay > HP_VM_MAX_AUTOSTART_DELAY)
                                return hp_cli_usage_error("invalid --delay '%s': 0 to %d seconds", val,
                                                          HP_VM_MAX_AUTOSTART_DELAY);
                } else if (streq(argv[i], "--off")) {
                        order = -1;
                } else if (!err) {
                        err = hp_cli_usage_error("'vm autostart' does not take '%s'", argv[i]);
                }
                if (err)
                        return err;
        }
        if (order == -2)
                return hp_cli_usage_error("'vm autostart' needs --order N or --off");
        r = hp_cli_vm_load(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        v.spec.autostart_order = order;
        v.spec.autostart_delay = order < 0 ? 0 : (unsigned)delay;
        return hp_cli_vm_save(c, &v);
}

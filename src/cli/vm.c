/* hwpass vm create | add-pci | add-usb | remove-device | list | show | delete |
 * autostart: VM definitions in the store. Devices change only while the VM is
 * off; every entry is checked before anything is stored. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/select.h"
#include "cli.h"
#include "host/pci.h"
#include "host/state.h"
#include "store/store.h"
#include "table.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/mmio.h"
#include "vm/qemu.h"
#include "vm/qmp.h"
#include "vm/supervise.h"
#include "vm/spec.h"
#include "vm/specjson.h"

#define RUN_DIR "/run/hwpass/vms"
#define STATE_DIR "/var/lib/hwpass/vms"
#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"

/* A VM loaded from the store, with its record. */
struct vm {
        struct hp_store *store;
        struct hp_vm_record rec;
        struct hp_vm_spec spec;
};

static void vm_done(struct vm *v)
{
        hp_vm_spec_done(&v->spec);
        hp_vm_record_done(&v->rec);
        hp_store_close(v->store);
}

static int vm_load(struct hp_cli *c, const char *name, struct vm *ret)
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
        /* Recorded as up, but its supervisor is gone without recording the
         * end (killed): the record is put right. */
        if (!streq(ret->rec.state, "off") && ret->rec.pid > 0 && kill((pid_t)ret->rec.pid, 0) < 0 &&
            errno == ESRCH) {
                (void)hp_store_release_devices(ret->store, name);
                (void)hp_store_vm_set_runtime(ret->store, name, "off", 0, NULL, 0);
                (void)hp_store_event_add(ret->store, "vm-lost", name,
                                         "its supervisor was gone without recording the end; devices released");
                free(ret->rec.state);
                ret->rec.state = strdup("off");
                if (!ret->rec.state)
                        return hp_cli_error(-ENOMEM, "out of memory");
        }
        return HP_EXIT_OK;
}

static int vm_save(struct hp_cli *c, struct vm *v)
{
        _cleanup_free_ char *text = NULL;
        int r = hp_vm_spec_to_text(&v->spec, &text);

        if (r >= 0)
                r = hp_store_vm_update_spec(v->store, v->spec.name, text);
        if (r < 0)
                return hp_cli_error(r, "cannot store VM '%s' in '%s'", v->spec.name, c->db_path);
        return HP_EXIT_OK;
}

static int require_off(const struct vm *v, const char *what)
{
        if (!streq(v->rec.state, "off"))
                return hp_cli_usage_error("VM '%s' is %s: %s only while it is off (hwpass vm stop %s)",
                                          v->spec.name, v->rec.state, what, v->spec.name);
        return HP_EXIT_OK;
}

/* A VM whose devices are about to change: it must be off and have room. */
static int vm_load_for_new_device(struct hp_cli *c, const char *name, struct vm *ret)
{
        int r = vm_load(c, name, ret);

        if (r == HP_EXIT_OK)
                r = require_off(ret, "devices are added");
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

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]; NULL when argv[*i] is not --opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, int *ret_error)
{
        size_t len = strlen(opt);

        if (strncmp(argv[*i], opt, len) != 0)
                return NULL;
        if (argv[*i][len] == '=')
                return argv[*i] + len + 1;
        if (argv[*i][len] != '\0')
                return NULL;
        if (*i + 1 >= argc) {
                *ret_error = hp_cli_usage_error("%s needs a value", opt);
                return NULL;
        }
        return argv[++*i];
}

int hp_cmd_vm_create(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { .vcpus = 1, .autostart_order = -1,
                                                           .device_limit = HP_VM_DEFAULT_DEVICE_LIMIT };
        _cleanup_(hp_store_closep) struct hp_store *store = NULL;
        _cleanup_free_ char *text = NULL;
        const char *v;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm create NAME --memory SIZE --vcpus N [--firmware bios|efi] "
                                          "[--disk PATH]... [--kernel FILE [--append ARGS]]");
        if (!hp_vm_name_valid(argv[1]))
                return hp_cli_usage_error("invalid VM name '%s': 1-%d letters, digits, '-', '_' or '.'", argv[1],
                                          HP_VM_NAME_MAX);
        snprintf(s.name, sizeof(s.name), "%s", argv[1]);
        s.disks = calloc(1, sizeof(char *));
        if (!s.disks)
                return hp_cli_error(-ENOMEM, "out of memory");
        for (int i = 2; i < argc; i++) {
                uint64_t n;

                if ((v = opt_value(argc, argv, &i, "--memory", &err))) {
                        if (hp_size_parse_mib(v, &n) < 0)
                                return hp_cli_usage_error("invalid memory size '%s': e.g. 4096M or 16G", v);
                        s.memory_mib = n;
                } else if ((v = opt_value(argc, argv, &i, "--vcpus", &err))) {
                        if (hp_parse_u64(v, 10, &n) < 0 || n == 0 || n > 1024)
                                return hp_cli_usage_error("invalid vCPU count '%s': 1 to 1024", v);
                        s.vcpus = (unsigned)n;
                } else if ((v = opt_value(argc, argv, &i, "--firmware", &err))) {
                        if (!streq(v, "bios") && !streq(v, "efi"))
                                return hp_cli_usage_error("invalid firmware '%s': bios or efi", v);
                        s.firmware = streq(v, "efi") ? HP_VM_FIRMWARE_EFI : HP_VM_FIRMWARE_BIOS;
                } else if ((v = opt_value(argc, argv, &i, "--disk", &err))) {
                        if (!*v || hp_strv_push(&s.disks, v) < 0)
                                return hp_cli_usage_error("invalid disk '%s'", v);
                } else if ((v = opt_value(argc, argv, &i, "--kernel", &err))) {
                        free(s.kernel);
                        s.kernel = strdup(v);
                } else if ((v = opt_value(argc, argv, &i, "--append", &err))) {
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
        r = hp_vm_spec_to_text(&s, &text);
        if (r < 0)
                return hp_cli_error(r, "out of memory");
        r = hp_cli_open_store(c, &store);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_vm_create(store, s.name, text);
        if (r == -EEXIST)
                return hp_cli_usage_error("a VM named '%s' exists already", s.name);
        if (r < 0)
                return hp_cli_error(r, "cannot store VM '%s' in '%s'", s.name, c->db_path);
        (void)hp_store_event_add(store, "vm-created", s.name, NULL);
        if (!c->json)
                printf("VM '%s' created: %" PRIu64 " MiB, %u vCPU%s, %s.\n", s.name, s.memory_mib, s.vcpus,
                       s.vcpus == 1 ? "" : "s", s.firmware == HP_VM_FIRMWARE_EFI ? "EFI" : "BIOS");
        return HP_EXIT_OK;
}

int hp_cmd_vm_add_pci(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        struct hp_vm_pci e = { .rombar = -1 };
        const char *address = NULL, *allowed = NULL, *val;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm add-pci NAME --address SBDF | --allowed VID:DID[,...] "
                                          "[--label TEXT] [--primary-display] [--rombar on|off] [--romfile PATH]");
        for (int i = 2; i < argc; i++) {
                if ((val = opt_value(argc, argv, &i, "--address", &err)))
                        address = val;
                else if ((val = opt_value(argc, argv, &i, "--allowed", &err)))
                        allowed = val;
                else if ((val = opt_value(argc, argv, &i, "--label", &err)))
                        e.label = strdup(val);
                else if ((val = opt_value(argc, argv, &i, "--romfile", &err)))
                        e.romfile = strdup(val);
                else if ((val = opt_value(argc, argv, &i, "--rombar", &err))) {
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
        r = vm_save(c, &v);
        if (r == HP_EXIT_OK && !c->json)
                printf("VM '%s': pci%d added.\n", v.spec.name, e.index);
        return r;
}

int hp_cmd_vm_add_usb(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        struct hp_vm_usb e = { 0 };
        const char *id = NULL, *port = NULL, *val;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm add-usb NAME --id VID:PID[:SERIAL] | --port BUS-PORT[.PORT...]");
        for (int i = 2; i < argc; i++) {
                if ((val = opt_value(argc, argv, &i, "--id", &err)))
                        id = val;
                else if ((val = opt_value(argc, argv, &i, "--port", &err)))
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
        r = vm_save(c, &v);
        if (r == HP_EXIT_OK && !c->json)
                printf("VM '%s': usb%d added.\n", v.spec.name, e.index);
        return r;
}

int hp_cmd_vm_remove_device(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        uint64_t index;
        bool pci;
        int r;

        if (argc != 3)
                return hp_cli_usage_error("usage: hwpass vm remove-device NAME pciN|usbN");
        pci = hp_startswith(argv[2], "pci");
        if ((!pci && !hp_startswith(argv[2], "usb")) || hp_parse_u64(argv[2] + 3, 10, &index) < 0)
                return hp_cli_usage_error("invalid device '%s': pciN or usbN as 'hwpass vm show' lists them", argv[2]);
        r = vm_load(c, argv[1], &v);
        if (r == HP_EXIT_OK)
                r = require_off(&v, "devices are removed");
        if (r != HP_EXIT_OK)
                return r;
        for (size_t i = 0; pci && i < v.spec.n_pci; i++)
                if ((uint64_t)v.spec.pci[i].index == index) {
                        hp_vm_pci_done(&v.spec.pci[i]);
                        memmove(&v.spec.pci[i], &v.spec.pci[i + 1], (v.spec.n_pci - i - 1) * sizeof(*v.spec.pci));
                        v.spec.n_pci--;
                        return vm_save(c, &v);
                }
        for (size_t i = 0; !pci && i < v.spec.n_usb; i++)
                if ((uint64_t)v.spec.usb[i].index == index) {
                        hp_vm_usb_done(&v.spec.usb[i]);
                        memmove(&v.spec.usb[i], &v.spec.usb[i + 1], (v.spec.n_usb - i - 1) * sizeof(*v.spec.usb));
                        v.spec.n_usb--;
                        return vm_save(c, &v);
                }
        return hp_cli_usage_error("VM '%s' has no %s (see 'hwpass vm show %s')", v.spec.name, argv[2], v.spec.name);
}

int hp_cmd_vm_delete(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm delete NAME");
        r = vm_load(c, argv[1], &v);
        if (r == HP_EXIT_OK)
                r = require_off(&v, "it is deleted");
        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_vm_delete(v.store, v.spec.name);
        if (r < 0)
                return hp_cli_error(r, "cannot delete VM '%s'", v.spec.name);
        (void)hp_store_event_add(v.store, "vm-deleted", v.spec.name, NULL);
        if (!c->json)
                printf("VM '%s' deleted.\n", v.spec.name);
        return HP_EXIT_OK;
}

int hp_cmd_vm_autostart(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        int order = -2, err = 0, r;
        uint64_t delay = 0, n;
        const char *val;

        if (argc < 3 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm autostart NAME --order N [--delay SECONDS] | NAME --off");
        for (int i = 2; i < argc; i++) {
                if ((val = opt_value(argc, argv, &i, "--order", &err))) {
                        if (hp_parse_u64(val, 10, &n) < 0 || n > 9999)
                                return hp_cli_usage_error("invalid --order '%s': 0 to 9999", val);
                        order = (int)n;
                } else if ((val = opt_value(argc, argv, &i, "--delay", &err))) {
                        if (hp_parse_u64(val, 10, &delay) < 0 || delay > 3600)
                                return hp_cli_usage_error("invalid --delay '%s': 0 to 3600 seconds", val);
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
        r = vm_load(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        v.spec.autostart_order = order;
        v.spec.autostart_delay = order < 0 ? 0 : (unsigned)delay;
        return vm_save(c, &v);
}

/* What power-on would choose now: candidates from the inventory and the store. */
static int choose_devices(struct hp_cli *c, const struct vm *v, struct hp_cli_state *cs,
                          char (**ret)[HP_SBDF_LEN], char **ret_error)
{
        _cleanup_free_ struct hp_alloc_candidate *cands = NULL;
        _cleanup_free_ char(*addrs)[HP_SBDF_LEN] = NULL;
        struct hp_host_state st;
        int r = hp_cli_state_load(c, cs);

        if (r != HP_EXIT_OK)
                return -EIO;
        st = (struct hp_host_state){ .inv = cs->inv, .configs = cs->configs, .n_configs = cs->n_configs,
                                     .serials = cs->serials };
        cands = calloc(cs->inv->n_devs + 1, sizeof(*cands));
        addrs = calloc(v->spec.n_pci + 1, sizeof(*addrs));
        if (!cands || !addrs)
                return -ENOMEM;
        for (size_t i = 0; i < cs->inv->n_devs; i++) {
                const struct hp_pci_dev *d = &cs->inv->devs[i];
                const struct hp_dev_config *cfg = hp_host_state_config(&st, d->address);
                _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };

                r = hp_dev_state_of(&st, d, cfg, &s);
                if (r < 0)
                        return r;
                cands[i] = (struct hp_alloc_candidate){
                        .dev = d,
                        .label = cfg ? cfg->label : NULL,
                        .passthrough_active = s.desired && s.active,
                        .assigned_vm = cfg ? cfg->assigned_vm : NULL,
                        .quarantined = cfg && streq(cfg->health, "quarantined"),
                };
        }
        r = hp_alloc_assign(v->spec.name, v->spec.pci, v->spec.n_pci, cands, cs->inv->n_devs, addrs, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(addrs);
        return 0;
}

static int mmio_of(const struct hp_pci_inventory *inv, const struct vm *v, char (*addrs)[HP_SBDF_LEN],
                   struct hp_mmio_plan *ret)
{
        _cleanup_free_ const struct hp_pci_dev **devs = calloc(v->spec.n_pci + 1, sizeof(*devs));

        if (!devs)
                return -ENOMEM;
        for (size_t i = 0; i < v->spec.n_pci; i++)
                if (!(devs[i] = hp_pci_find(inv, addrs[i])))
                        return -ENODEV;
        return hp_mmio_plan(devs, v->spec.n_pci, ret);
}

static void describe_pci(const struct hp_vm_pci *p, char *buf, size_t size)
{
        size_t len;

        if (p->kind == HP_VM_PCI_STATIC) {
                snprintf(buf, size, "static   %s", p->address);
        } else {
                snprintf(buf, size, "dynamic  ");
                for (size_t i = 0; i < p->n_allowed; i++) {
                        len = strlen(buf);
                        snprintf(buf + len, size - len, "%s%04x:%04x", i ? "," : "", p->allowed[i].vendor_id,
                                 p->allowed[i].device_id);
                }
                len = strlen(buf);
                if (p->label)
                        snprintf(buf + len, size - len, " label '%s'", p->label);
        }
        len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s%s%s", p->primary_display ? ", primary display" : "",
                 p->rombar == 0 ? ", rombar off" : p->rombar == 1 ? ", rombar on" : "",
                 p->romfile ? ", romfile " : "", p->romfile ? p->romfile : "");
}

static int print_argv(struct hp_cli *c, const struct vm *v, const struct hp_cli_state *cs,
                      char (*addrs)[HP_SBDF_LEN], const struct hp_mmio_plan *mmio)
{
        _cleanup_free_ struct hp_qemu_usb_host *usb = calloc(v->spec.n_usb + 1, sizeof(*usb));
        _cleanup_strv_free_ char **argv = NULL;
        char run_dir[256], vars[256];
        int r;

        (void)cs;
        if (!usb)
                return hp_cli_error(-ENOMEM, "out of memory");
        for (size_t i = 0; i < v->spec.n_usb; i++) {
                const struct hp_vm_usb *u = &v->spec.usb[i];

                usb[i] = (struct hp_qemu_usb_host){ .by_port = u->kind == HP_VM_USB_PORT, .bus = u->bus,
                                                    .port = u->port, .vendor_id = u->vendor_id,
                                                    .product_id = u->product_id };
        }
        snprintf(run_dir, sizeof(run_dir), RUN_DIR "/%s", v->spec.name);
        snprintf(vars, sizeof(vars), STATE_DIR "/%s/OVMF_VARS.fd", v->spec.name);
        r = hp_qemu_argv(&v->spec,
                         &(struct hp_qemu_config){ .binary = HP_QEMU_BINARY,
                                                   .accel = hp_host_exists(c->host, "dev/kvm") ? "kvm" : "tcg",
                                                   .run_dir = run_dir, .ovmf_code = OVMF_CODE, .ovmf_vars = vars,
                                                   .pci = (const char(*)[HP_SBDF_LEN])addrs, .usb = usb,
                                                   .mmio = mmio },
                         &argv);
        if (r < 0)
                return hp_cli_error(r, "cannot build the QEMU command line of '%s'", v->spec.name);
        for (size_t i = 0; argv[i]; i++)
                printf("%s%s", i ? " \\\n    " : "", argv[i]);
        printf("\n");
        return HP_EXIT_OK;
}

int hp_cmd_vm_show(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        _cleanup_(hp_cli_state_done) struct hp_cli_state cs = { 0 };
        _cleanup_free_ char(*addrs)[HP_SBDF_LEN] = NULL;
        _cleanup_free_ char *choose_error = NULL, *mmio_text = NULL;
        struct hp_mmio_plan mmio = { 0 };
        bool want_argv = argc == 3 && streq(argv[2], "--qemu-argv");
        int r, chosen;

        if (argc < 2 || (argc == 3 && !want_argv) || argc > 3)
                return hp_cli_usage_error("usage: hwpass vm show NAME [--qemu-argv]");
        r = vm_load(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_cli_open(c);
        if (r != HP_EXIT_OK)
                return r;
        chosen = choose_devices(c, &v, &cs, &addrs, &choose_error);
        if (chosen == -EIO)
                return HP_EXIT_ERROR;
        if (chosen >= 0 && mmio_of(cs.inv, &v, addrs, &mmio) >= 0)
                (void)hp_mmio_describe(&mmio, &mmio_text);
        if (want_argv) {
                if (chosen < 0) {
                        fprintf(stderr, "hwpass: %s\n", choose_error ? choose_error : strerror(-chosen));
                        return HP_EXIT_FAIL;
                }
                return print_argv(c, &v, &cs, addrs, &mmio);
        }
        if (c->json) {
                json_t *j = hp_vm_spec_to_json(&v.spec), *devs = json_array();

                for (size_t i = 0; j && devs && chosen >= 0 && i < v.spec.n_pci; i++)
                        json_array_append_new(devs, json_string(addrs[i]));
                if (!j || !devs || json_object_set_new(j, "state", json_string(v.rec.state)) < 0 ||
                    json_object_set_new(j, "devices_now", chosen >= 0 ? devs : json_null()) < 0 ||
                    json_object_set_new(j, "devices_error", choose_error ? json_string(choose_error) : json_null()) < 0 ||
                    json_object_set_new(j, "mmio64_window", json_integer((json_int_t)mmio.window)) < 0 ||
                    json_object_set_new(j, "mmio64_needs_efi", json_boolean(mmio.needs_efi)) < 0) {
                        json_decref(j);
                        return hp_cli_error(-ENOMEM, "out of memory");
                }
                if (chosen < 0)
                        json_decref(devs);
                return hp_cli_print_json(j);
        }
        printf("VM:          %s\n", v.spec.name);
        printf("State:       %s\n", v.rec.state);
        printf("Memory:      %" PRIu64 " MiB (all of it reserved and locked at power-on)\n", v.spec.memory_mib);
        printf("vCPUs:       %u\n", v.spec.vcpus);
        printf("Firmware:    %s\n", v.spec.firmware == HP_VM_FIRMWARE_EFI ? "EFI (OVMF)" : "BIOS (SeaBIOS)");
        for (size_t i = 0; v.spec.disks[i]; i++)
                printf("Disk:        %s\n", v.spec.disks[i]);
        if (v.spec.kernel)
                printf("Kernel:      %s%s%s\n", v.spec.kernel, v.spec.append ? " " : "", v.spec.append ? v.spec.append : "");
        if (v.spec.autostart_order >= 0)
                printf("Autostart:   order %d, delay %u s\n", v.spec.autostart_order, v.spec.autostart_delay);
        else
                printf("Autostart:   no\n");
        printf("Devices:     %zu of %u\n", v.spec.n_pci + v.spec.n_usb, v.spec.device_limit);
        for (size_t i = 0; i < v.spec.n_pci; i++) {
                char text[512];

                describe_pci(&v.spec.pci[i], text, sizeof(text));
                printf("  pci%-3d %s%s%s\n", v.spec.pci[i].index, text, chosen >= 0 ? "  -> " : "",
                       chosen >= 0 ? addrs[i] : "");
        }
        for (size_t i = 0; i < v.spec.n_usb; i++) {
                const struct hp_vm_usb *u = &v.spec.usb[i];

                if (u->kind == HP_VM_USB_PORT)
                        printf("  usb%-3d port     %d-%s\n", u->index, u->bus, u->port);
                else
                        printf("  usb%-3d id       %04x:%04x%s%s\n", u->index, u->vendor_id, u->product_id,
                               u->serial ? " serial " : "", u->serial ? u->serial : "");
        }
        if (chosen < 0)
                printf("Power-on now: would fail: %s\n", choose_error ? choose_error : strerror(-chosen));
        if (mmio_text)
                printf("MMIO:        %s\n", mmio_text);
        if (mmio.needs_efi && v.spec.firmware != HP_VM_FIRMWARE_EFI)
                printf("warning: the devices' BARs need EFI firmware: recreate the VM with --firmware efi\n");
        return HP_EXIT_OK;
}

int hp_cmd_vm_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_store_closep) struct hp_store *store = NULL;
        _cleanup_(hp_table_freep) struct hp_table *t = NULL;
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        json_t *list = NULL;
        int r = hp_cli_no_args("vm list", argc, argv);

        if (r != HP_EXIT_OK)
                return r;
        r = hp_cli_open_store(c, &store);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_vm_list(store, &recs, &n);
        if (r < 0)
                return hp_cli_error(r, "cannot list the VMs in '%s'", c->db_path);
        if (c->json)
                list = json_array();
        else
                t = hp_table_new(6, (const char *const[]){ "NAME", "STATE", "MEMORY", "VCPUS", "DEVICES", "AUTOSTART" });
        for (size_t i = 0; (list || t) && i < n; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
                _cleanup_free_ char *err = NULL;
                char mem[32], vcpus[16], devs[16], autostart[16];

                if (hp_vm_spec_from_text(recs[i].spec_json, &s, &err) < 0)
                        continue;
                if (list) {
                        json_t *j = hp_vm_spec_to_json(&s);

                        if (j)
                                json_object_set_new(j, "state", json_string(recs[i].state));
                        json_array_append_new(list, j);
                        continue;
                }
                snprintf(mem, sizeof(mem), "%" PRIu64 "M", s.memory_mib);
                snprintf(vcpus, sizeof(vcpus), "%u", s.vcpus);
                snprintf(devs, sizeof(devs), "%zu", s.n_pci + s.n_usb);
                snprintf(autostart, sizeof(autostart), "%d", s.autostart_order);
                hp_table_add(t, (const char *const[]){ s.name, recs[i].state, mem, vcpus, devs,
                                                       s.autostart_order >= 0 ? autostart : "-" });
        }
        hp_vm_records_free(recs, n);
        if (list)
                return hp_cli_print_json(json_pack("{s:o}", "vms", list));
        if (!t)
                return hp_cli_error(-ENOMEM, "out of memory");
        hp_table_print(t, stdout);
        return HP_EXIT_OK;
}

/* MemAvailable in MiB, from proc/meminfo. */
static int mem_available_mib(const struct hp_host *h, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        const char *p;
        uint64_t kib;
        char num[32];

        if (hp_host_read(h, "proc/meminfo", &text) < 0 || !(p = strstr(text, "MemAvailable:")))
                return -ENOENT;
        if (sscanf(p + strlen("MemAvailable:"), "%31s", num) != 1 || hp_parse_u64(num, 10, &kib) < 0)
                return -EBADMSG;
        *ret = kib / 1024;
        return 0;
}

/* The VM reserves all its memory: refused, with the numbers, when the host
 * cannot (available memory less what other running VMs reserve). */
static int admit_memory(struct hp_cli *c, const struct vm *v)
{
        struct hp_vm_record *recs = NULL;
        uint64_t avail = 0, reserved = 0;
        size_t n = 0;

        if (mem_available_mib(c->host, &avail) < 0 || hp_store_vm_list(v->store, &recs, &n) < 0)
                return HP_EXIT_OK; /* nothing to judge by: QEMU's own allocation decides */
        for (size_t i = 0; i < n; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
                _cleanup_free_ char *err = NULL;

                if (streq(recs[i].name, v->spec.name) || streq(recs[i].state, "off"))
                        continue;
                if (hp_vm_spec_from_text(recs[i].spec_json, &s, &err) >= 0)
                        reserved += s.memory_mib;
        }
        hp_vm_records_free(recs, n);
        if (v->spec.memory_mib + reserved > avail)
                return hp_cli_usage_error("VM '%s' needs %" PRIu64 " MiB reserved; the host has %" PRIu64
                                          " MiB available and running VMs reserve %" PRIu64 " MiB of it: "
                                          "stop a VM or give this one less memory",
                                          v->spec.name, v->spec.memory_mib, avail, reserved);
        return HP_EXIT_OK;
}

int hp_cmd_vm_start(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        _cleanup_(hp_cli_state_done) struct hp_cli_state cs = { 0 };
        _cleanup_free_ char(*addrs)[HP_SBDF_LEN] = NULL;
        _cleanup_free_ char *err = NULL, *conflict = NULL;
        _cleanup_free_ struct hp_qemu_usb_host *usb = NULL;
        _cleanup_strv_free_ char **qargv = NULL, **assigned = calloc(1, sizeof(char *));
        struct hp_mmio_plan mmio = { 0 };
        const char *accel = getenv("HWPASS_QEMU_ACCEL");
        char run_dir[256], vars[256];
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm start NAME");
        r = vm_load(c, argv[1], &v);
        if (r == HP_EXIT_OK)
                r = hp_cli_open(c);
        if (r == HP_EXIT_OK && !streq(v.rec.state, "off"))
                r = hp_cli_usage_error("VM '%s' is %s already", v.spec.name, v.rec.state);
        if (r == HP_EXIT_OK)
                r = admit_memory(c, &v);
        if (r != HP_EXIT_OK)
                return r;
        r = choose_devices(c, &v, &cs, &addrs, &err);
        if (r == -EIO)
                return HP_EXIT_ERROR;
        if (r < 0) {
                fprintf(stderr, "hwpass: cannot start '%s': %s\n", v.spec.name, err ? err : strerror(-r));
                return HP_EXIT_FAIL;
        }
        r = mmio_of(cs.inv, &v, addrs, &mmio);
        if (r < 0)
                return hp_cli_error(r, "cannot size the MMIO window of '%s'", v.spec.name);
        if (mmio.needs_efi && v.spec.firmware != HP_VM_FIRMWARE_EFI)
                return hp_cli_usage_error("VM '%s' needs EFI firmware for its devices' BARs: recreate it with --firmware efi",
                                          v.spec.name);
        for (size_t i = 0; i < v.spec.n_pci; i++)
                if (!assigned || hp_strv_push(&assigned, addrs[i]) < 0)
                        return hp_cli_error(-ENOMEM, "out of memory");
        /* A transaction: two starts never win the same device. */
        r = hp_store_assign_devices(v.store, v.spec.name, assigned, v.spec.n_pci, &conflict);
        if (r < 0) {
                fprintf(stderr, "hwpass: cannot start '%s': %s%s%s\n", v.spec.name, strerror(-r),
                        conflict ? ": " : "", conflict ? conflict : "");
                return HP_EXIT_FAIL;
        }
        usb = calloc(v.spec.n_usb + 1, sizeof(*usb));
        if (!usb)
                return hp_cli_error(-ENOMEM, "out of memory");
        for (size_t i = 0; i < v.spec.n_usb; i++)
                usb[i] = (struct hp_qemu_usb_host){ .by_port = v.spec.usb[i].kind == HP_VM_USB_PORT,
                                                    .bus = v.spec.usb[i].bus, .port = v.spec.usb[i].port,
                                                    .vendor_id = v.spec.usb[i].vendor_id,
                                                    .product_id = v.spec.usb[i].product_id };
        snprintf(run_dir, sizeof(run_dir), RUN_DIR "/%s", v.spec.name);
        snprintf(vars, sizeof(vars), STATE_DIR "/%s/OVMF_VARS.fd", v.spec.name);
        (void)mkdir("/run/hwpass", 0700);
        (void)mkdir(RUN_DIR, 0700);
        r = hp_qemu_argv(&v.spec,
                         &(struct hp_qemu_config){ .binary = HP_QEMU_BINARY,
                                                   .accel = accel ? accel
                                                                  : hp_host_exists(c->host, "dev/kvm") ? "kvm" : "tcg",
                                                   .run_dir = run_dir, .ovmf_code = OVMF_CODE, .ovmf_vars = vars,
                                                   .pci = (const char(*)[HP_SBDF_LEN])addrs, .usb = usb,
                                                   .mmio = &mmio },
                         &qargv);
        if (r >= 0) {
                _cleanup_free_ char *lerr = NULL;

                r = hp_vm_launch(&(struct hp_vm_launch){ .name = v.spec.name, .argv = qargv, .run_dir = run_dir,
                                                         .db_path = c->db_path, .host_root = c->host_root,
                                                         .devices = addrs, .n_devices = v.spec.n_pci },
                                 60000, &lerr);
                if (r < 0) {
                        fprintf(stderr, "hwpass: '%s' did not start: %s", v.spec.name, lerr ? lerr : strerror(-r));
                        return HP_EXIT_FAIL;
                }
        } else {
                (void)hp_store_release_devices(v.store, v.spec.name);
                return hp_cli_error(r, "cannot build the QEMU command line of '%s'", v.spec.name);
        }
        if (!c->json)
                printf("VM '%s' is running.\n", v.spec.name);
        return HP_EXIT_OK;
}

/* Without QMP: QEMU's pid from its pid file. */
static void kill_qemu(const char *name)
{
        char path[512], buf[32] = "";
        uint64_t pid;
        int fd;
        ssize_t n;

        snprintf(path, sizeof(path), RUN_DIR "/%s/qemu.pid", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        if (hp_parse_u64(buf, 10, &pid) >= 0 && pid > 1)
                kill((pid_t)pid, SIGKILL);
}

int hp_cmd_vm_stop(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        _cleanup_(hp_qmp_closep) struct hp_qmp *q = NULL;
        bool force = false, lost = false;
        uint64_t timeout = 30;
        const char *val;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm stop NAME [--force] [--timeout SECONDS]");
        for (int i = 2; i < argc; i++) {
                if (streq(argv[i], "--force"))
                        force = true;
                else if ((val = opt_value(argc, argv, &i, "--timeout", &err))) {
                        if (hp_parse_u64(val, 10, &timeout) < 0 || timeout > 3600)
                                return hp_cli_usage_error("invalid --timeout '%s': 0 to 3600 seconds", val);
                } else if (!err)
                        err = hp_cli_usage_error("'vm stop' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        r = vm_load(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        if (streq(v.rec.state, "off"))
                return c->json ? HP_EXIT_OK : (printf("VM '%s' is off already.\n", v.spec.name), HP_EXIT_OK);
        if (v.rec.qmp_path && hp_qmp_connect(v.rec.qmp_path, 5000, &q) >= 0)
                /* A guest that ignores ACPI is forced after the timeout. */
                (void)hp_qmp_execute(q, force ? "quit" : "system_powerdown", NULL, 5000, NULL, NULL);
        /* The supervisor records "off" once QEMU is gone and the devices are reset. */
        for (uint64_t waited = 0;; waited += 100) {
                hp_vm_record_done(&v.rec);
                r = hp_store_vm_get(v.store, v.spec.name, &v.rec);
                if (r < 0)
                        return hp_cli_error(r, "cannot read VM '%s'", v.spec.name);
                if (streq(v.rec.state, "off") ||
                    (v.rec.pid > 0 && kill((pid_t)v.rec.pid, 0) < 0 && errno == ESRCH)) {
                        /* Gone: if the supervisor could not record it, do it here. */
                        lost = !streq(v.rec.state, "off");
                        (void)hp_store_release_devices(v.store, v.spec.name);
                        (void)hp_store_vm_set_runtime(v.store, v.spec.name, "off", 0, NULL, 0);
                        break;
                }
                if (waited == timeout * 1000 && !force) {
                        fprintf(stderr, "hwpass: '%s' did not power off within %" PRIu64 " s: forcing it\n",
                                v.spec.name, timeout);
                        force = true;
                        if (q)
                                (void)hp_qmp_execute(q, "quit", NULL, 5000, NULL, NULL);
                        else
                                kill_qemu(v.spec.name);
                }
                if (waited > timeout * 1000 + 30000)
                        return hp_cli_error(-ETIMEDOUT, "'%s' is still %s", v.spec.name, v.rec.state);
                nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
        if (!c->json)
                printf(lost ? "VM '%s' is off; its devices are free (its supervisor was gone: they were not reset).\n"
                            : "VM '%s' is off; its devices are reset and free.\n",
                       v.spec.name);
        return HP_EXIT_OK;
}

int hp_cmd_vm_log(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(vm_done) struct vm v = { 0 };
        char path[512], buf[4096];
        ssize_t n;
        int fd, r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm log NAME");
        r = vm_load(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        snprintf(path, sizeof(path), RUN_DIR "/%s/serial.log", v.spec.name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return hp_cli_usage_error("VM '%s' has no console log yet (it has not run since boot)", v.spec.name);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t)n, stdout);
        close(fd);
        return HP_EXIT_OK;
}

/* The supervisor, started by hp_vm_launch() with its status pipe on fd 3. */
int hp_cmd_vm_supervise(struct hp_cli *c, int argc, char **argv)
{
        (void)c;
        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm supervise RUN_DIR (started by 'hwpass vm start')");
        return hp_vm_supervise(argv[1], 3) < 0 ? HP_EXIT_ERROR : HP_EXIT_OK;
}

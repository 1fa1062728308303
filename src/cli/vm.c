/* hwpass vm create | define | set | add-pci | add-usb | remove-device |
 * delete | autostart: the arguments, checked before anything is asked; the
 * operation (src/ops/vm.c, here or in hwpassd) applies the VM rules. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/pci.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/specjson.h"

int hp_cli_vm_read(struct hp_cli *c, const char *name, struct hp_ops_vm *ret)
{
        struct hp_ops_ctx *ctx;
        int r = hp_cli_ops(c, &ctx);

        if (r != HP_EXIT_OK)
                return r;
        return hp_ops_vm_load(ctx, name, "read", false, ret) < 0 ? hp_cli_op_failed(c) : HP_EXIT_OK;
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

/* A route's path for the VM: "/v1/vms/NAME" + suffix. */
static void vm_route(struct hp_cli_route *r, const char *method, const char *name, const char *suffix, json_t *body)
{
        r->method = method;
        snprintf(r->path, sizeof(r->path), "/v1/vms/%s%s", name, suffix);
        r->body = body;
}

int hp_cli_vm_name_check(const char *name)
{
        if (!hp_vm_name_valid(name))
                return hp_cli_usage_error("invalid VM name '%s': 1-%d letters, digits, '-', '_' or '.'", name,
                                          HP_VM_NAME_MAX);
        return HP_EXIT_OK;
}

struct create_arg {
        const struct hp_vm_spec *spec;
        const char *event;
};

static int run_create(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        struct create_arg *a = arg;

        return hp_ops_vm_create(ctx, a->spec, a->event, ret);
}

int hp_cli_vm_create(struct hp_cli *c, const struct hp_vm_spec *s, const char *event, json_t **ret)
{
        struct hp_cli_route route = { .method = "POST" };
        struct create_arg a = { s, event };
        _cleanup_free_ char *msg = NULL;

        /* Before the JSON body: jansson takes nothing that is not UTF-8. */
        if (hp_vm_spec_text_check(s, &msg) < 0)
                return msg ? hp_cli_usage_error("%s", msg) : hp_cli_error(-ENOMEM, "out of memory");
        route.body = hp_vm_spec_to_json(s);

        /* The API records what it creates as created, an import as imported. */
        snprintf(route.path, sizeof(route.path), "/v1/vms%s", streq(event, "vm-imported") ? "?from=vmx" : "");
        return hp_cli_write(c, &route, run_create, &a, ret);
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

#define FIRMWARE_CHOICES "invalid firmware '%s': auto (EFI when the VM's devices need it), bios or efi"
#define PLACEMENT_CHOICES                                                                                              \
        "invalid --placement '%s': performance (spread over the hosts) or consolidation (packed on few)%s"

/* "BIOS", "EFI", "firmware auto" (EFI when its devices need it). */
static const char *firmware_text(enum hp_vm_firmware f)
{
        return f == HP_VM_FIRMWARE_EFI ? "EFI" : f == HP_VM_FIRMWARE_AUTO ? "firmware auto" : "BIOS";
}

/* The VM as --json shows it after a change, or nothing: an exit code. */
static int print_vm(struct hp_cli *c, json_t **doc)
{
        return c->json ? hp_cli_print_json(TAKE_PTR(*doc)) : HP_EXIT_OK;
}

int hp_cmd_vm_create(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { .vcpus = 1, .autostart_order = -1,
                                                           .firmware = HP_VM_FIRMWARE_AUTO,
                                                           .device_limit = HP_VM_DEFAULT_DEVICE_LIMIT };
        _cleanup_(json_decrefp) json_t *doc = NULL;
        const char *v;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage("vm", "create");
        if ((r = hp_cli_vm_name_check(argv[1])) != HP_EXIT_OK)
                return r;
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
                        if (hp_vm_firmware_from_string(v, &s.firmware) < 0)
                                return hp_cli_usage_error(FIRMWARE_CHOICES, v);
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--placement", &err))) {
                        if (hp_vm_placement_from_string(v, &s.placement) < 0)
                                return hp_cli_usage_error(PLACEMENT_CHOICES, v, "");
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--restart-priority", &err))) {
                        if (hp_vm_restart_from_string(v, &s.restart_priority) < 0)
                                return hp_cli_usage_error("invalid --restart-priority '%s': highest, high, medium, "
                                                          "low, lowest or disabled (not restarted when its host fails)",
                                                          v);
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--isolation", &err))) {
                        if (hp_vm_isolation_from_string(v, &s.isolation) < 0)
                                return hp_cli_usage_error("invalid --isolation '%s': power-off, shutdown or "
                                                          "leave-running (what its host does when cut off)",
                                                          v);
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
        r = hp_cli_vm_create(c, &s, "vm-created", &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        printf("VM '%s' created: %" PRIu64 " MiB, %u vCPU%s, %s%s%s.\n", s.name, s.memory_mib, s.vcpus,
               s.vcpus == 1 ? "" : "s", firmware_text(s.firmware),
               s.placement != HP_VM_PLACEMENT_CLUSTER ? ", placement " : "", hp_vm_placement_to_string(s.placement) ?: "");
        return HP_EXIT_OK;
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
        _cleanup_(json_decrefp) json_t *doc = NULL;
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
        r = hp_cli_vm_create(c, &s, "vm-created", &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        printf("VM '%s' created: %" PRIu64 " MiB, %u vCPU%s, %s, %zu PCI and %zu USB device%s.\n", s.name,
               s.memory_mib, s.vcpus, s.vcpus == 1 ? "" : "s", firmware_text(s.firmware),
               s.n_pci, s.n_usb, s.n_pci + s.n_usb == 1 ? "" : "s");
        return HP_EXIT_OK;
}

struct set_arg {
        const char *name;
        struct hp_ops_vm_settings set;
};

static int run_set(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        struct set_arg *a = arg;

        return hp_ops_vm_set(ctx, a->name, &a->set, ret);
}

int hp_cmd_vm_set(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct set_arg a = { .set = { .hugepages = -1 } };
        struct hp_cli_route route;
        const char *memory = NULL, *vcpus = NULL, *limit = NULL, *huge = NULL, *fw = NULL, *placement = NULL, *val;
        int r, err = 0;

        if (argc < 3 || argv[1][0] == '-')
                return hp_cli_usage("vm", "set");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--memory", &err)))
                        memory = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--vcpus", &err)))
                        vcpus = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--device-limit", &err)))
                        limit = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--hugepages", &err)))
                        huge = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--firmware", &err)))
                        fw = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--placement", &err)))
                        placement = val;
                else if (!err)
                        err = hp_cli_usage_error("'vm set' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        a.name = argv[1];
        if ((r = hp_cli_vm_name_check(a.name)) != HP_EXIT_OK)
                return r;
        if ((memory && parse_memory(memory, &a.set.memory_mib) < 0) || (vcpus && parse_vcpus(vcpus, &a.set.vcpus) < 0) ||
            (limit && parse_device_limit(limit, &a.set.device_limit) < 0))
                return HP_EXIT_USAGE;
        if (huge && !streq(huge, "on") && !streq(huge, "off"))
                return hp_cli_usage_error("invalid --hugepages '%s': on or off", huge);
        if (huge)
                a.set.hugepages = streq(huge, "on");
        if (fw && hp_vm_firmware_from_string(fw, &a.set.firmware) < 0)
                return hp_cli_usage_error(FIRMWARE_CHOICES, fw);
        a.set.set_firmware = fw != NULL;
        /* "cluster": none of its own, the cluster's setting (null in the API). */
        if (placement && !streq(placement, "cluster") && hp_vm_placement_from_string(placement, &a.set.placement) < 0)
                return hp_cli_usage_error(PLACEMENT_CHOICES, placement, ", or cluster (the cluster's setting)");
        a.set.set_placement = placement != NULL;
        vm_route(&route, "PUT", a.name, "/settings",
                 json_pack("{s:o*, s:o*, s:o*, s:o*, s:s*, s:o*}", "memory_mib",
                           a.set.memory_mib ? json_integer((json_int_t)a.set.memory_mib) : NULL, "vcpus",
                           a.set.vcpus ? json_integer(a.set.vcpus) : NULL, "hugepages",
                           a.set.hugepages < 0 ? NULL : json_boolean(a.set.hugepages), "device_limit",
                           a.set.device_limit ? json_integer(a.set.device_limit) : NULL, "firmware", fw,
                           "placement",
                           !placement ? NULL
                           : a.set.placement == HP_VM_PLACEMENT_CLUSTER
                                   ? json_null()
                                   : json_string(hp_vm_placement_to_string(a.set.placement))));
        r = hp_cli_write(c, &route, run_set, &a, &doc);
        return r != HP_EXIT_OK ? r : print_vm(c, &doc);
}

struct add_arg {
        const char *name;
        struct hp_vm_pci pci;
        struct hp_vm_usb usb;
        bool is_pci;
        int index;
};

static void add_arg_done(struct add_arg *a)
{
        hp_vm_pci_done(&a->pci);
        hp_vm_usb_done(&a->usb);
}

static int run_add(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        struct add_arg *a = arg;

        return a->is_pci ? hp_ops_vm_add_pci(ctx, a->name, &a->pci, &a->index, ret)
                         : hp_ops_vm_add_usb(ctx, a->name, &a->usb, &a->index, ret);
}

/* Adds the entry; prints "VM 'x': pciN added." or the document. */
static int add_device(struct hp_cli *c, struct add_arg *a)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route;
        json_t *entry = a->is_pci ? hp_vm_pci_to_json(&a->pci) : hp_vm_usb_to_json(&a->usb), *list;
        int r;

        /* The index is the VM's to choose. */
        if (entry)
                json_object_del(entry, "index");
        vm_route(&route, "POST", a->name, a->is_pci ? "/pci" : "/usb", entry);
        a->index = -1;
        r = hp_cli_write(c, &route, run_add, a, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        /* Through hwpassd the answer says it: the new entry is the last. */
        list = json_object_get(doc, a->is_pci ? "pci" : "usb");
        if (a->index < 0)
                a->index = (int)json_integer_value(json_object_get(json_array_get(list, json_array_size(list) - 1),
                                                                    "index"));
        printf("VM '%s': %s%d added.\n", json_string_value(json_object_get(doc, "name")), a->is_pci ? "pci" : "usb",
               a->index);
        return HP_EXIT_OK;
}

/* --allowed VID:DID[,...] into e. */
static int parse_allowed(const char *allowed, struct hp_vm_pci *e)
{
        _cleanup_strv_free_ char **ids = calloc(1, sizeof(char *));

        for (const char *p = allowed; ids && *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                _cleanup_free_ char *one = strndup(p, len);

                if (!one || hp_strv_push(&ids, one) < 0)
                        return hp_cli_error(-ENOMEM, "out of memory");
                p += len + (comma ? 1 : 0);
        }
        e->allowed = calloc(hp_strv_length(ids) + 1, sizeof(*e->allowed));
        if (!ids || !e->allowed)
                return hp_cli_error(-ENOMEM, "out of memory");
        for (size_t i = 0; ids[i]; i++) {
                if (hp_pci_id_match_parse(ids[i], &e->allowed[e->n_allowed]) < 0)
                        return hp_cli_usage_error("invalid ID '%s' in --allowed: VID:DID or VID:DID:SVID:SDID in hex",
                                                  ids[i]);
                e->n_allowed++;
        }
        if (e->n_allowed == 0)
                return hp_cli_usage_error("--allowed needs at least one VID:DID");
        return HP_EXIT_OK;
}

/* SBDF, or DDDD:BB:DD for every function of the slot (stored without the
 * function). */
static int parse_static(const char *arg, char ret[HP_SBDF_LEN])
{
        char full[32];

        if (strlen(arg) > 12 || strchr(arg, '.'))
                return hp_cli_parse_address(arg, ret);
        snprintf(full, sizeof(full), "%s.0", arg);
        if (hp_cli_parse_address(full, ret) != HP_EXIT_OK)
                return hp_cli_usage_error("invalid PCI address '%s': expected DDDD:BB:DD.F for one function or "
                                          "DDDD:BB:DD for every function of the slot, in hex, e.g. 0000:01:00.0",
                                          arg);
        ret[10] = '\0';
        return HP_EXIT_OK;
}

int hp_cmd_vm_add_pci(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(add_arg_done) struct add_arg a = { .pci = { .rombar = -1 }, .is_pci = true };
        const char *address = NULL, *allowed = NULL, *val;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm add-pci NAME --address SBDF|DDDD:BB:DD | --allowed VID:DID[,...] "
                                          "[--count N] [--label TEXT] [--attr KEY=VALUE]... [--same-numa GROUP] "
                                          "[--same-switch GROUP] [--all-functions] [--primary-display] "
                                          "[--rombar on|off] [--romfile PATH]");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--address", &err)))
                        address = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--allowed", &err)))
                        allowed = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--label", &err))) {
                        free(a.pci.label);
                        a.pci.label = strdup(val);
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--romfile", &err))) {
                        free(a.pci.romfile);
                        a.pci.romfile = strdup(val);
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--rombar", &err))) {
                        if (!streq(val, "on") && !streq(val, "off"))
                                return hp_cli_usage_error("invalid --rombar '%s': on or off", val);
                        a.pci.rombar = streq(val, "on");
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--count", &err))) {
                        int n;

                        if (hp_parse_int(val, &n) < 0 || n < 1 || n > HP_VM_PCI_MAX_COUNT)
                                return hp_cli_usage_error("invalid --count '%s': 1 to %d devices", val,
                                                          HP_VM_PCI_MAX_COUNT);
                        a.pci.count = (unsigned)n;
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--attr", &err))) {
                        if ((!a.pci.attrs && !(a.pci.attrs = calloc(1, sizeof(char *)))) ||
                            hp_strv_push(&a.pci.attrs, val) < 0)
                                return hp_cli_error(-ENOMEM, "out of memory");
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--same-numa", &err))) {
                        free(a.pci.same_numa);
                        a.pci.same_numa = strdup(val);
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--same-switch", &err))) {
                        free(a.pci.same_switch);
                        a.pci.same_switch = strdup(val);
                } else if (streq(argv[i], "--all-functions"))
                        a.pci.all_functions = true;
                else if (streq(argv[i], "--primary-display"))
                        a.pci.primary_display = true;
                else if (!err)
                        err = hp_cli_usage_error("'vm add-pci' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        if (!address == !allowed)
                return hp_cli_usage_error("'vm add-pci' needs either --address SBDF or --allowed VID:DID");
        if (address && a.pci.label)
                return hp_cli_usage_error("--label goes with --allowed: a device by address is that device");
        if (address && (a.pci.count || a.pci.attrs || a.pci.same_numa || a.pci.same_switch || a.pci.all_functions))
                return hp_cli_usage_error("--count, --attr, --same-numa, --same-switch and --all-functions go with "
                                          "--allowed: a device by address is that device (DDDD:BB:DD takes every "
                                          "function of a slot)");
        a.name = argv[1];
        if ((r = hp_cli_vm_name_check(a.name)) != HP_EXIT_OK)
                return r;
        a.pci.kind = address ? HP_VM_PCI_STATIC : HP_VM_PCI_DYNAMIC;
        r = address ? parse_static(address, a.pci.address) : parse_allowed(allowed, &a.pci);
        return r != HP_EXIT_OK ? r : add_device(c, &a);
}

/* VID:PID[:SERIAL] into e. */
static int parse_usb_id(const char *id, struct hp_vm_usb *e)
{
        const char *serial = strlen(id) > 10 && id[9] == ':' ? id + 10 : NULL;
        char vbuf[5], pbuf[5];
        uint64_t vid, pid;

        e->kind = HP_VM_USB_ID;
        if (strlen(id) < 9 || id[4] != ':' || (strlen(id) > 9 && !serial))
                return hp_cli_usage_error("invalid USB ID '%s': VID:PID[:SERIAL] in hex, e.g. 046d:c52b", id);
        memcpy(vbuf, id, 4);
        vbuf[4] = '\0';
        memcpy(pbuf, id + 5, 4);
        pbuf[4] = '\0';
        if (hp_parse_u64(vbuf, 16, &vid) < 0 || hp_parse_u64(pbuf, 16, &pid) < 0)
                return hp_cli_usage_error("invalid USB ID '%s': VID:PID[:SERIAL] in hex, e.g. 046d:c52b", id);
        e->vendor_id = (uint16_t)vid;
        e->product_id = (uint16_t)pid;
        if (serial && !(e->serial = strdup(serial)))
                return hp_cli_error(-ENOMEM, "out of memory");
        return HP_EXIT_OK;
}

int hp_cmd_vm_add_usb(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(add_arg_done) struct add_arg a = { 0 };
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
                a.usb.kind = HP_VM_USB_PORT;
                if (hp_usb_port_parse(port, &a.usb.bus, &a.usb.port) < 0)
                        return hp_cli_usage_error("invalid USB port '%s': BUS-PORT[.PORT...], e.g. 1-2.3 (see 'hwpass usb list')",
                                                  port);
        } else if ((r = parse_usb_id(id, &a.usb)) != HP_EXIT_OK) {
                return r;
        }
        a.name = argv[1];
        if ((r = hp_cli_vm_name_check(a.name)) != HP_EXIT_OK)
                return r;
        return add_device(c, &a);
}

struct remove_arg {
        const char *name, *which;
};

static int run_remove(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        struct remove_arg *a = arg;

        return hp_ops_vm_remove_device(ctx, a->name, a->which, ret);
}

int hp_cmd_vm_remove_device(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct remove_arg a;
        struct hp_cli_route route;
        char suffix[64];
        uint64_t index;
        int r;

        if (argc != 3)
                return hp_cli_usage_error("usage: hwpass vm remove-device NAME pciN|usbN");
        if ((!hp_startswith(argv[2], "pci") && !hp_startswith(argv[2], "usb")) ||
            hp_parse_u64(argv[2] + 3, 10, &index) < 0)
                return hp_cli_usage_error("invalid device '%s': pciN or usbN as 'hwpass vm show' lists them", argv[2]);
        a = (struct remove_arg){ argv[1], argv[2] };
        if ((r = hp_cli_vm_name_check(a.name)) != HP_EXIT_OK)
                return r;
        snprintf(suffix, sizeof(suffix), "/devices/%s", a.which);
        vm_route(&route, "DELETE", a.name, suffix, NULL);
        r = hp_cli_write(c, &route, run_remove, &a, &doc);
        return r != HP_EXIT_OK ? r : print_vm(c, &doc);
}

static int run_delete(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        return hp_ops_vm_delete(ctx, arg, ret);
}

int hp_cmd_vm_delete(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route;
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm delete NAME");
        if ((r = hp_cli_vm_name_check(argv[1])) != HP_EXIT_OK)
                return r;
        vm_route(&route, "DELETE", argv[1], "", NULL);
        r = hp_cli_write(c, &route, run_delete, argv[1], &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        printf("VM '%s' deleted.\n", argv[1]);
        return HP_EXIT_OK;
}

struct autostart_arg {
        const char *name;
        int order;
        unsigned delay;
};

static int run_autostart(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        struct autostart_arg *a = arg;

        return hp_ops_vm_autostart(ctx, a->name, a->order, a->delay, ret);
}

int hp_cmd_vm_autostart(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct autostart_arg a = { .order = -2 };
        struct hp_cli_route route;
        uint64_t delay = 0, n;
        const char *val;
        int err = 0, r;

        if (argc < 3 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass vm autostart NAME --order N [--delay SECONDS] | NAME --off");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--order", &err))) {
                        if (hp_parse_u64(val, 10, &n) < 0 || n > HP_VM_MAX_AUTOSTART_ORDER)
                                return hp_cli_usage_error("invalid --order '%s': 0 to %d", val,
                                                          HP_VM_MAX_AUTOSTART_ORDER);
                        a.order = (int)n;
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--delay", &err))) {
                        if (hp_parse_u64(val, 10, &delay) < 0 || delay > HP_VM_MAX_AUTOSTART_DELAY)
                                return hp_cli_usage_error("invalid --delay '%s': 0 to %d seconds", val,
                                                          HP_VM_MAX_AUTOSTART_DELAY);
                } else if (streq(argv[i], "--off")) {
                        a.order = -1;
                } else if (!err) {
                        err = hp_cli_usage_error("'vm autostart' does not take '%s'", argv[i]);
                }
                if (err)
                        return err;
        }
        if (a.order == -2)
                return hp_cli_usage_error("'vm autostart' needs --order N or --off");
        a.name = argv[1];
        a.delay = (unsigned)delay;
        if ((r = hp_cli_vm_name_check(a.name)) != HP_EXIT_OK)
                return r;
        vm_route(&route, "PUT", a.name, "/autostart",
                 a.order < 0 ? json_pack("{s:n}", "order")
                             : json_pack("{s:i, s:i}", "order", a.order, "delay", (int)a.delay));
        r = hp_cli_write(c, &route, run_autostart, &a, &doc);
        return r != HP_EXIT_OK ? r : print_vm(c, &doc);
}

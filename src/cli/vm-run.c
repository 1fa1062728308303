/* hwpass vm start | stop | log | supervise: power-on chooses the devices,
 * admits the memory, assigns the devices in one transaction and hands QEMU to
 * a supervisor; power-off asks ACPI and forces after a timeout. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc/select.h"
#include "host/state.h"
#include "host/usb.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/firmware.h"
#include "vm/qemu.h"
#include "vm/qmp.h"
#include "vm/specjson.h"
#include "vm/supervise.h"

void hp_cli_vm_plan_done(struct hp_cli_vm_plan *p)
{
        hp_cli_state_done(&p->cs);
        free(p->addrs);
        free(p->error);
        *p = (struct hp_cli_vm_plan){ 0 };
}

static int choose_devices(const struct hp_cli_vm *v, struct hp_view *cs,
                          char (**ret)[HP_SBDF_LEN], char **ret_error)
{
        _cleanup_free_ struct hp_alloc_candidate *cands =
                calloc(cs->inv->n_devs + 1, sizeof(*cands));
        _cleanup_free_ char(*addrs)[HP_SBDF_LEN] = calloc(v->spec.n_pci + 1, sizeof(*addrs));
        struct hp_host_state st = hp_view_state(cs);
        int r;

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
        r = hp_alloc_assign(v->spec.name, v->spec.pci, v->spec.n_pci, cands, cs->inv->n_devs, addrs,
                            ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(addrs);
        return 0;
}

int hp_cli_vm_plan(struct hp_cli *c, const struct hp_cli_vm *v, struct hp_cli_vm_plan *p)
{
        _cleanup_free_ const struct hp_pci_dev **devs = NULL;
        int r;

        if (hp_cli_state_load(c, &p->cs) != HP_EXIT_OK)
                return -EIO;
        r = choose_devices(v, &p->cs, &p->addrs, &p->error);
        if (r < 0)
                return r;
        devs = calloc(v->spec.n_pci + 1, sizeof(*devs));
        if (!devs)
                return -ENOMEM;
        for (size_t i = 0; i < v->spec.n_pci; i++)
                if (!(devs[i] = hp_pci_find(p->cs.inv, p->addrs[i])))
                        return -ENODEV;
        return hp_mmio_plan(devs, v->spec.n_pci, &p->mmio);
}

/* USB entries as QEMU takes them; an ID with a serial names one device, so it
 * is resolved to where that device is plugged in now. */
static int usb_hosts(struct hp_cli *c, const struct hp_vm_spec *s, struct hp_qemu_usb_host **ret)
{
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *inv = NULL;
        _cleanup_free_ struct hp_qemu_usb_host *usb = calloc(s->n_usb + 1, sizeof(*usb));

        if (!usb)
                return hp_cli_error(-ENOMEM, "out of memory");
        for (size_t i = 0; i < s->n_usb; i++) {
                const struct hp_vm_usb *u = &s->usb[i];

                usb[i] = (struct hp_qemu_usb_host){ .by_port = u->kind == HP_VM_USB_PORT,
                                                    .bus = u->bus,
                                                    .port = u->port,
                                                    .vendor_id = u->vendor_id,
                                                    .product_id = u->product_id };
                if (u->kind != HP_VM_USB_ID || !u->serial)
                        continue;
                if (!inv && hp_usb_scan(c->host, &inv) < 0)
                        return hp_cli_error(-EIO, "cannot read the USB devices of this host");
                for (size_t k = 0; k < inv->n_devs; k++) {
                        const struct hp_usb_dev *d = &inv->devs[k];

                        if (d->vendor_id == u->vendor_id && d->product_id == u->product_id &&
                            d->serial && streq(d->serial, u->serial)) {
                                usb[i].bus = d->busnum;
                                usb[i].hostaddr = d->devnum;
                        }
                }
                if (usb[i].hostaddr == 0) {
                        fprintf(stderr,
                                "hwpass: VM '%s' usb%d: USB device %04x:%04x with serial '%s' is "
                                "not plugged "
                                "in: connect it (see 'hwpass usb list') or remove the entry\n",
                                s->name, u->index, u->vendor_id, u->product_id, u->serial);
                        return HP_EXIT_FAIL;
                }
        }
        *ret = TAKE_PTR(usb);
        return HP_EXIT_OK;
}

void hp_cli_vm_paths(const char *name, char *run_dir, char *vars, size_t size)
{
        snprintf(run_dir, size, HP_VM_RUN_DIR "/%s", name);
        snprintf(vars, size, HP_VM_STATE_DIR "/%s/OVMF_VARS.fd", name);
}

const char *hp_cli_qemu_accel(const struct hp_cli *c)
{
        const char *accel = getenv("HWPASS_QEMU_ACCEL");

        return accel ? accel : hp_host_exists(c->host, "dev/kvm") ? "kvm" : "tcg";
}

static int build_argv(struct hp_cli *c, const struct hp_cli_vm *v, const struct hp_cli_vm_plan *p,
                      const struct hp_qemu_usb_host *usb, char ***ret)
{
        const char *accel = hp_cli_qemu_accel(c);
        char run_dir[256], vars[256];

        hp_cli_vm_paths(v->spec.name, run_dir, vars, sizeof(run_dir));
        return hp_qemu_argv(&v->spec,
                            &(struct hp_qemu_config){ .binary = HP_QEMU_BINARY,
                                                      .accel = accel,
                                                      .run_dir = run_dir,
                                                      .ovmf_code = HP_OVMF_CODE,
                                                      .ovmf_vars = vars,
                                                      .pci = (const char(*)[HP_SBDF_LEN])p->addrs,
                                                      .usb = usb,
                                                      .mmio = &p->mmio },
                            ret);
}

int hp_cli_vm_qemu_argv(struct hp_cli *c, const struct hp_cli_vm *v, const struct hp_cli_vm_plan *p,
                        char ***ret)
{
        _cleanup_free_ struct hp_qemu_usb_host *usb = NULL;
        int r = usb_hosts(c, &v->spec, &usb);

        if (r != HP_EXIT_OK)
                return r;
        r = build_argv(c, v, p, usb, ret);
        if (r < 0)
                return hp_cli_error(r, "cannot build the QEMU command line of '%s'", v->spec.name);
        return HP_EXIT_OK;
}

/* A value of proc/meminfo's text ("MemAvailable", "HugePages_Free"): kB or a count. */
static int meminfo_value(const char *text, const char *key, uint64_t *ret)
{
        char want[64], num[32];
        const char *p;

        snprintf(want, sizeof(want), "\n%s:", key);
        if (!(p = strstr(text, want)))
                return -ENOENT;
        if (sscanf(p + strlen(want), "%31s", num) != 1 || hp_parse_u64(num, 10, ret) < 0)
                return -EBADMSG;
        return 0;
}

/* Hugepage memory comes from the host's free hugepages, which running VMs
 * have already taken (they preallocate). */
static int admit_hugepages(const struct hp_cli_vm *v, const char *meminfo)
{
        uint64_t free_pages = 0, page_kib = 0, need;

        if (!meminfo || meminfo_value(meminfo, "HugePages_Free", &free_pages) < 0 ||
            meminfo_value(meminfo, "Hugepagesize", &page_kib) < 0 || page_kib == 0)
                return hp_cli_usage_error("VM '%s' asks for hugepages and this host reports none: "
                                          "reserve them (sysctl vm.nr_hugepages) or 'hwpass vm set %s --hugepages off'",
                                          v->spec.name, v->spec.name);
        need = (v->spec.memory_mib * 1024 + page_kib - 1) / page_kib;
        if (need > free_pages)
                return hp_cli_usage_error("VM '%s' needs %" PRIu64 " hugepages of %" PRIu64 " kB for its %" PRIu64
                                          " MiB; the host has %" PRIu64 " free: reserve more (sysctl "
                                          "vm.nr_hugepages) or stop a VM that uses them",
                                          v->spec.name, need, page_kib, v->spec.memory_mib, free_pages);
        return HP_EXIT_OK;
}

/* The VM reserves all its memory: refused, with the numbers, when the host
 * cannot (available memory less what other running VMs reserve). */
static int admit_memory(struct hp_cli *c, const struct hp_cli_vm *v)
{
        _cleanup_free_ char *meminfo = NULL;
        struct hp_vm_record *recs = NULL;
        uint64_t avail = 0, reserved = 0;
        size_t n = 0;

        if (hp_host_read(c->host, "proc/meminfo", &meminfo) < 0)
                meminfo = NULL;
        if (v->spec.hugepages)
                return admit_hugepages(v, meminfo);
        if (!meminfo || meminfo_value(meminfo, "MemAvailable", &avail) < 0 ||
            hp_store_vm_list(v->store, &recs, &n) < 0)
                return HP_EXIT_OK; /* nothing to judge by: QEMU's own allocation decides */
        avail /= 1024;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
                _cleanup_free_ char *err = NULL;

                if (streq(recs[i].name, v->spec.name) || streq(recs[i].state, "off"))
                        continue;
                if (hp_vm_spec_from_text(recs[i].spec_json, &s, &err) >= 0 && !s.hugepages)
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

static int prepare_firmware(const struct hp_cli_vm *v)
{
        char run_dir[256], vars[256];
        const char *missing;
        int r;

        if (v->spec.firmware != HP_VM_FIRMWARE_EFI)
                return HP_EXIT_OK;
        hp_cli_vm_paths(v->spec.name, run_dir, vars, sizeof(run_dir));
        r = hp_vm_firmware_prepare(HP_OVMF_CODE, HP_OVMF_VARS_TEMPLATE, vars, &missing);
        if (r < 0 && missing)
                return hp_cli_usage_error(
                        "VM '%s' boots EFI, and '%s' is missing: install Debian's ovmf package",
                        v->spec.name, missing);
        if (r < 0)
                return hp_cli_error(r, "cannot create the EFI variable store '%s' of '%s'", vars,
                                    v->spec.name);
        return HP_EXIT_OK;
}

int hp_cli_vm_power_on(struct hp_cli *c, struct hp_cli_vm *v)
{
        _cleanup_(hp_cli_vm_plan_done) struct hp_cli_vm_plan p = { 0 };
        _cleanup_free_ struct hp_qemu_usb_host *usb = NULL;
        _cleanup_(hp_vm_launcher_cancel) struct hp_vm_launcher lr = { .fd = -1 };
        _cleanup_free_ char *conflict = NULL, *lerr = NULL;
        _cleanup_strv_free_ char **qargv = NULL, **assigned = calloc(1, sizeof(char *));
        char run_dir[256], vars[256];
        int r;

        c->no_names = true; /* power-on prints no device names: pci.ids is not read */
        r = hp_cli_open(c);
        if (r == HP_EXIT_OK && !streq(v->rec.state, "off"))
                r = hp_cli_usage_error("VM '%s' is %s already", v->spec.name, v->rec.state);
        if (r != HP_EXIT_OK)
                return r;
        hp_cli_vm_paths(v->spec.name, run_dir, vars, sizeof(run_dir));
        (void)mkdir("/run/hwpass", 0700);
        (void)mkdir(HP_VM_RUN_DIR, 0700);
        r = hp_vm_launcher_start(run_dir, &lr);
        if (r < 0)
                return hp_cli_error(r, "cannot start the supervisor of '%s'", v->spec.name);
        r = admit_memory(c, v);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_cli_vm_plan(c, v, &p);
        if (r == -EIO)
                return HP_EXIT_ERROR;
        if (r < 0 && p.error) {
                fprintf(stderr, "hwpass: cannot start '%s': %s\n", v->spec.name, p.error);
                return HP_EXIT_FAIL;
        }
        if (r < 0)
                return hp_cli_error(r, "cannot plan the devices of '%s'", v->spec.name);
        if (p.mmio.needs_efi && v->spec.firmware != HP_VM_FIRMWARE_EFI)
                return hp_cli_usage_error("VM '%s' needs EFI firmware for its devices' BARs: "
                                          "recreate it with --firmware efi",
                                          v->spec.name);
        r = prepare_firmware(v);
        if (r == HP_EXIT_OK)
                r = usb_hosts(c, &v->spec, &usb);
        if (r != HP_EXIT_OK)
                return r;
        r = build_argv(c, v, &p, usb, &qargv);
        if (r < 0)
                return hp_cli_error(r, "cannot build the QEMU command line of '%s'", v->spec.name);
        for (size_t i = 0; i < v->spec.n_pci; i++)
                if (!assigned || hp_strv_push(&assigned, p.addrs[i]) < 0)
                        return hp_cli_error(-ENOMEM, "out of memory");
        /* A transaction: two starts never win the same device. */
        r = hp_store_assign_devices(v->store, v->spec.name, assigned, v->spec.n_pci, &conflict);
        if (r < 0) {
                fprintf(stderr, "hwpass: cannot start '%s': %s%s%s\n", v->spec.name, strerror(-r),
                        conflict ? ": " : "", conflict ? conflict : "");
                return HP_EXIT_FAIL;
        }
        r = hp_vm_launch(&lr, &(struct hp_vm_launch){ .name = v->spec.name,
                                                 .argv = qargv,
                                                 .run_dir = run_dir,
                                                 .db_path = c->db_path,
                                                 .host_root = c->host_root,
                                                 .devices = p.addrs,
                                                 .n_devices = v->spec.n_pci,
                                                 .actor = hp_cli_actor() },
                         60000, &lerr);
        if (r < 0) {
                fprintf(stderr, "hwpass: '%s' did not start: %s", v->spec.name,
                        lerr ? lerr : strerror(-r));
                return HP_EXIT_FAIL;
        }
        return HP_EXIT_OK;
}

/* Without QMP: QEMU's pid from its pid file. */
static void kill_qemu(const char *name)
{
        char path[512], buf[32] = "";
        uint64_t pid;
        int fd;
        ssize_t n;

        snprintf(path, sizeof(path), HP_VM_RUN_DIR "/%s/qemu.pid", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        if (hp_parse_u64(buf, 10, &pid) >= 0 && pid > 1)
                kill((pid_t)pid, SIGKILL);
}

int hp_cli_vm_power_off(struct hp_cli *c, struct hp_cli_vm *v, bool force, uint64_t timeout_s,
                        bool *ret_lost)
{
        _cleanup_(hp_qmp_closep) struct hp_qmp *q = NULL;
        int r;

        (void)c;
        *ret_lost = false;
        if (v->rec.qmp_path && hp_qmp_connect(v->rec.qmp_path, 5000, &q) >= 0)
                /* A guest that ignores ACPI is forced after the timeout. */
                (void)hp_qmp_execute(q, force ? "quit" : "system_powerdown", NULL, 5000, NULL,
                                     NULL);
        /* The supervisor records "off" once QEMU is gone and the devices are reset. */
        for (uint64_t waited = 0;; waited += 100) {
                hp_vm_record_done(&v->rec);
                r = hp_store_vm_get(v->store, v->spec.name, &v->rec);
                if (r < 0)
                        return hp_cli_error(r, "cannot read VM '%s'", v->spec.name);
                if (streq(v->rec.state, "off") ||
                    (v->rec.pid > 0 && kill((pid_t)v->rec.pid, 0) < 0 && errno == ESRCH)) {
                        /* Gone: if the supervisor could not record it, do it here. */
                        *ret_lost = !streq(v->rec.state, "off");
                        (void)hp_store_release_devices(v->store, v->spec.name);
                        (void)hp_store_vm_set_runtime(v->store, v->spec.name, "off", 0, NULL, 0);
                        return HP_EXIT_OK;
                }
                if (waited == timeout_s * 1000 && !force) {
                        fprintf(stderr,
                                "hwpass: '%s' did not power off within %" PRIu64 " s: forcing it\n",
                                v->spec.name, timeout_s);
                        force = true;
                        if (q)
                                (void)hp_qmp_execute(q, "quit", NULL, 5000, NULL, NULL);
                        else
                                kill_qemu(v->spec.name);
                }
                if (waited > timeout_s * 1000 + 30000)
                        return hp_cli_error(-ETIMEDOUT, "'%s' is still %s", v->spec.name,
                                            v->rec.state);
                nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
}

int hp_cmd_vm_start(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm start NAME");
        r = hp_cli_vm_load(c, argv[1], &v);
        if (r == HP_EXIT_OK)
                r = hp_cli_vm_power_on(c, &v);
        if (r == HP_EXIT_OK && c->json)
                return hp_cli_vm_print_json(&v.spec, "running");
        if (r == HP_EXIT_OK)
                printf("VM '%s' is running.\n", v.spec.name);
        return r;
}

int hp_cmd_vm_stop(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        bool force = false, lost = false;
        uint64_t timeout = 30;
        const char *val;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error(
                        "usage: hwpass vm stop NAME [--force] [--timeout SECONDS]");
        for (int i = 2; i < argc; i++) {
                if (streq(argv[i], "--force"))
                        force = true;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--timeout", &err))) {
                        if (hp_parse_u64(val, 10, &timeout) < 0 || timeout > 3600)
                                return hp_cli_usage_error(
                                        "invalid --timeout '%s': 0 to 3600 seconds", val);
                } else if (!err)
                        err = hp_cli_usage_error("'vm stop' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        r = hp_cli_vm_load(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        if (streq(v.rec.state, "off"))
                return c->json ? hp_cli_vm_print_json(&v.spec, "off")
                               : (printf("VM '%s' is off already.\n", v.spec.name), HP_EXIT_OK);
        r = hp_cli_vm_power_off(c, &v, force, timeout, &lost);
        if (r == HP_EXIT_OK && c->json)
                return hp_cli_vm_print_json(&v.spec, "off");
        if (r == HP_EXIT_OK && !c->json)
                printf(lost ? "VM '%s' is off; its devices are free (its supervisor was gone: they "
                              "were not reset).\n"
                            : "VM '%s' is off; its devices are reset and free.\n",
                       v.spec.name);
        return r;
}

int hp_cmd_vm_log(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        char path[512], buf[4096];
        ssize_t n;
        int fd, r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm log NAME");
        r = hp_cli_vm_load(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        snprintf(path, sizeof(path), HP_VM_RUN_DIR "/%s/serial.log", v.spec.name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return hp_cli_usage_error(
                        "VM '%s' has no console log yet (it has not run since boot)", v.spec.name);
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
                return hp_cli_usage_error(
                        "usage: hwpass vm supervise RUN_DIR (started by 'hwpass vm start')");
        return hp_vm_supervise(argv[1], 3) < 0 ? HP_EXIT_ERROR : HP_EXIT_OK;
}

/* vm suspend | snapshot | migrate: refused for a VM with passthrough devices
 * (DESIGN.md §5): a passed-through device's state lives in the hardware, so
 * it cannot be saved with the VM or carried to another host. */
int hp_cmd_vm_state_op(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm %s NAME", argv[0]);
        r = hp_cli_vm_load(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        if (hp_cli_vm_has_passthrough(&v.spec))
                return hp_cli_usage_error(
                        "VM '%s' has %zu passthrough device%s: %s is refused, because a "
                        "passed-through device's state cannot be saved or moved with the VM; "
                        "stop the VM instead (hwpass vm stop %s)",
                        v.spec.name, v.spec.n_pci, v.spec.n_pci == 1 ? "" : "s", argv[0],
                        v.spec.name);
        return hp_cli_usage_error(
                "VM '%s': hwpass does not %s VMs (it has none to offer for VMs without "
                "passthrough devices either); stop the VM instead (hwpass vm stop %s)",
                v.spec.name, argv[0], v.spec.name);
}

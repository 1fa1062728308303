/* device probe: boots the probe guest (guest/) with just that device passed
 * through and reports what the guest saw: its IDs, its BARs next to the
 * host's, and the device's own registers where the guest knows the device
 * (NVMe IDENTIFY by DMA, e1000e STATUS, xHCI ports). The probe is a
 * short-lived VM that holds the device like any VM (its lock and its
 * assignment), then resets and releases it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "host/pci.h"
#include "host/state.h"
#include "host/view.h"
#include "ops.h"
#include "qemuuser.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/probe.h"
#include "vm/qemu.h"
#include "vm/specjson.h"
#include "vm/supervise.h"

#define PROBE_EXIT_PASS 33 /* the guest's isa-debug-exit codes (guest/probe.h) */

int hp_ops_probe_guest_path(char *buf, size_t size)
{
        const char *env = getenv("HWPASS_PROBE_GUEST");
        char self[4096], *slash;

        if (env) {
                snprintf(buf, size, "%s", env);
                return access(buf, R_OK) < 0 ? -errno : 0;
        }
        snprintf(buf, size, "%s/probe-guest", HP_PKGLIBDIR);
        if (access(buf, R_OK) == 0)
                return 0;
        if (hp_self_exe(self, sizeof(self)) < 0 || !(slash = strrchr(self, '/')))
                return -ENOENT;
        *slash = '\0';
        if (snprintf(buf, size, "%s/../lib/hwpass/probe-guest", self) < (int)size &&
            access(buf, R_OK) == 0)
                return 0;
        if (snprintf(buf, size, "%s/guest/probe-guest", self) < (int)size && access(buf, R_OK) == 0)
                return 0;
        return -ENOENT;
}

/* The device is free to probe: on vfio-pci, not held, not quarantined. */
static int check_probeable(struct hp_ops_ctx *c, struct hp_view *v, const struct hp_pci_dev *d)
{
        struct hp_host_state st = hp_view_state(v);
        const struct hp_dev_config *cfg = hp_host_state_config(&st, d->address);

        if (!d->driver || !streq(d->driver, "vfio-pci"))
                return hp_op_fail(c, HP_OP_CONFLICT, -EBUSY,
                                  "%s is not in passthrough mode (driver: %s): enable it first (hwpass device "
                                  "passthrough enable %s)",
                                  d->address, d->driver ? d->driver : "none", d->address);
        if (cfg && cfg->assigned_vm)
                return hp_op_fail(c, HP_OP_CONFLICT, -EBUSY, "%s is in use by VM '%s': stop it first (hwpass vm stop %s)",
                                  d->address, cfg->assigned_vm, cfg->assigned_vm);
        if (cfg && streq(cfg->health, "quarantined"))
                return hp_op_fail(c, HP_OP_CONFLICT, -EBUSY, "%s is quarantined: %s", d->address,
                                  cfg->reason ? cfg->reason : "see 'hwpass device show'");
        return 0;
}

static void format_size(uint64_t size, char *buf, size_t len)
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        size_t u = 0;

        while (size >= 1024 && size % 1024 == 0 && u + 1 < ELEMENTSOF(units)) {
                size /= 1024;
                u++;
        }
        snprintf(buf, len, "%" PRIu64 " %s", size, units[u]);
}

/* Each host BAR next to the guest's: size and address. */
/* How long QEMU may take to start the probe guest, whatever the guest's
 * timeout: it maps the device's BARs first, which takes over a minute for
 * a 32 GiB BAR in an emulated host. */
#define PROBE_START_TIMEOUT_S 300

static json_t *compare_bars(const struct hp_pci_dev *d, const struct hp_probe_fn *f, size_t *ret_bad)
{
        json_t *bars = json_array();

        *ret_bad = 0;
        for (size_t i = 0; bars && i < d->n_bars; i++) {
                const struct hp_pci_bar *hb = &d->bars[i];
                const struct hp_probe_bar *gb = NULL;
                char hs[32], gs[32] = "-";
                bool ok;

                if (hb->index > 5 || hb->size == 0)
                        continue;
                for (size_t k = 0; f && k < f->n_bars; k++)
                        if ((int)f->bars[k].index == hb->index)
                                gb = &f->bars[k];
                ok = gb && gb->size == hb->size && gb->addr != 0;
                *ret_bad += !ok;
                format_size(hb->size, hs, sizeof(hs));
                if (gb)
                        format_size(gb->size, gs, sizeof(gs));
                if (json_array_append_new(
                            bars, json_pack("{s:i, s:I, s:o, s:o, s:b, s:s, s:s, s:s, s:s}", "index", hb->index,
                                            "host_size", (json_int_t)hb->size, "guest_size",
                                            gb ? json_integer((json_int_t)gb->size) : json_null(), "guest_address",
                                            gb ? json_integer((json_int_t)gb->addr) : json_null(), "ok", ok,
                                            "kind", gb ? gb->kind : "-",
                                            "host_size_text", hs, "guest_size_text", gs, "state",
                                            ok                     ? "ok"
                                            : !gb                  ? "MISSING"
                                            : gb->size != hb->size ? "SIZE DIFFERS"
                                                                   : "NOT ASSIGNED")) < 0) {
                        json_decref(bars);
                        bars = NULL;
                }
        }
        return bars;
}

/* The probe as a VM of its own, named for the device, so the store holds the
 * device for it the way it does for any VM, and 'vm list' shows it while it
 * runs: 64 MiB, the probe guest, the device without its option ROM (that is
 * not what is probed, and SeaBIOS running it costs time). */
static int probe_spec(const struct hp_pci_dev *d, const char *guest, struct hp_vm_spec *ret)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = {
                .memory_mib = 64, .vcpus = 1, .autostart_order = -1, .device_limit = 1
        };
        char *p;

        snprintf(s.name, sizeof(s.name), "probe-%s", d->address);
        for (p = s.name; *p; p++)
                if (*p == ':')
                        *p = '-';
        s.disks = calloc(1, sizeof(char *));
        s.kernel = strdup(guest);
        s.append = strdup("exit");
        s.pci = calloc(1, sizeof(*s.pci));
        if (!s.disks || !s.kernel || !s.append || !s.pci)
                return -ENOMEM;
        s.pci[0] = (struct hp_vm_pci){ .kind = HP_VM_PCI_STATIC, .rombar = 0 };
        memcpy(s.pci[0].address, d->address, HP_SBDF_LEN);
        s.n_pci = 1;
        *ret = s;
        s = (struct hp_vm_spec){ 0 };
        return 0;
}

/* Runs the guest with the device; *ret_status is QEMU's exit status. */
static int run_guest(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const struct hp_pci_dev *d,
                     const char *run_dir, int timeout_s, int *ret_status, bool *ret_refused)
{
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_(hp_ops_qemu_user_done) struct hp_ops_qemu_user qu = { 0 };
        _cleanup_free_ char *err = NULL;
        struct hp_mmio_plan mmio = { 0 };
        const struct hp_pci_dev *devs[] = { d };
        char addr[HP_SBDF_LEN], log[768], serial[768];
        struct hp_vm_user u = HP_VM_USER_NONE;
        int r;

        memcpy(addr, d->address, HP_SBDF_LEN);
        r = hp_mmio_plan(devs, 1, &mmio);
        if (r < 0)
                return r;
        r = hp_qemu_argv(s,
                         &(struct hp_qemu_config){ .binary = HP_QEMU_BINARY,
                                                   .accel = hp_ops_qemu_accel(c),
                                                   .run_dir = run_dir,
                                                   .pci = (const char(*)[HP_SBDF_LEN]) & addr,
                                                   .mmio = &mmio },
                         &argv);
        if (r >= 0)
                r = hp_strv_push(&argv, "-device");
        if (r >= 0)
                r = hp_strv_push(&argv, "isa-debug-exit,iobase=0xf4,iosize=0x04");
        if (r >= 0)
                r = hp_strv_push(&argv, "-no-reboot");
        if (r < 0)
                return r;
        snprintf(log, sizeof(log), "%s/qemu.log", run_dir);
        snprintf(serial, sizeof(serial), "%s/serial.log", run_dir);
        /* Its QEMU as a user of its own, as a VM's (ops/qemuuser.h). */
        r = hp_ops_qemu_user_plan(c, s, (const char(*)[HP_SBDF_LEN]) & addr, 1, NULL, run_dir, NULL, NULL, NULL,
                                  &qu);
        *ret_refused = r < 0;
        if (r < 0)
                return r;
        if (hp_vm_user_start(qu.users_dir, &qu.users, s->name, qu.own, qu.memlock, &u, &err) < 0) {
                *ret_refused = true;
                return hp_op_fail(c, HP_OP_FAILED, -EPERM, "cannot run the probe guest for %s: %s", addr,
                                  err ? err : "no QEMU user");
        }
        /* The timeout is the guest's; QEMU gets its own limit to start it. */
        r = hp_probe_run(argv, &u, log, serial, PROBE_START_TIMEOUT_S * 1000, timeout_s * 1000, ret_status);
        hp_vm_user_release(&u);
        return r;
}

/* The probe's VM record, with the device held for it; a record left by a
 * probe that was killed is put right and replaced. The probe VM's lock is
 * held by the caller. */
static int hold(struct hp_ops_ctx *c, struct hp_store *store, const struct hp_vm_spec *s, char (*addr)[HP_SBDF_LEN])
{
        _cleanup_(hp_vm_record_done) struct hp_vm_record old = { 0 };
        _cleanup_free_ char *conflict = NULL, *text = NULL;
        int r;

        if (hp_vm_spec_to_text(s, &text) < 0)
                return hp_op_oom(c);
        if (hp_store_vm_get(store, s->name, &old) >= 0) {
                if (hp_vm_record_settle(store, c->run_dir, &old) < 0)
                        return hp_op_oom(c);
                if (!streq(old.spec_json, text))
                        return hp_op_fail(c, HP_OP_CONFLICT, -EEXIST,
                                          "a VM named '%s' exists and is not a probe: delete it (hwpass vm delete "
                                          "%s) to probe %s",
                                          s->name, s->name, addr[0]);
                if (!streq(old.state, "off"))
                        return hp_op_fail(c, HP_OP_CONFLICT, -EBUSY, "a probe of %s is running already (VM '%s')",
                                          addr[0], s->name);
                if (hp_store_vm_delete(store, s->name) < 0)
                        return hp_op_host_error(c, -EIO, "cannot remove the old probe record '%s'", s->name);
        }
        r = hp_store_vm_create(store, s->name, text);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot store VM '%s' in '%s'", s->name, c->db);
        (void)hp_store_event_add(store, "device-probe", s->name, NULL);
        r = hp_store_assign_devices(store, s->name, (char *[]){ addr[0], NULL }, 1, &conflict);
        if (r >= 0)
                r = hp_store_vm_set_runtime(store, s->name, "running", getpid(), NULL, (int64_t)time(NULL));
        if (r < 0) {
                (void)hp_store_release_devices(store, s->name);
                (void)hp_store_vm_delete(store, s->name);
                return hp_op_fail(c, HP_OP_CONFLICT, r, "%s cannot be held for the probe: %s%s%s", addr[0],
                                  strerror(-r), conflict ? ": " : "", conflict ? conflict : "");
        }
        return 0;
}

/* What the guest saw, as the answer. */
static json_t *answer(const struct hp_pci_dev *d, const struct hp_probe_report *rep, int status, int run_r,
                      size_t quarantined, double seconds)
{
        const struct hp_probe_fn *f = hp_probe_find(rep, d->vendor_id, d->device_id);
        const char *verdict;
        size_t bad_bars;
        json_t *bars = compare_bars(d, f, &bad_bars);
        char id[16];
        bool works;

        snprintf(id, sizeof(id), "%04x:%04x", d->vendor_id, d->device_id);
        works = run_r >= 0 && rep->done && f && bad_bars == 0 && status == PROBE_EXIT_PASS && quarantined == 0;
        verdict = run_r == -ETIME             ? "QEMU did not start the guest in time (its device's BARs may be too large for this host)"
                  : run_r == -ETIMEDOUT       ? "the guest did not finish in time"
                  : !rep->done                ? "the guest did not finish its probe"
                  : !f                        ? "the guest did not see the device"
                  : bad_bars                  ? "the guest's BARs differ from the host's"
                  : status != PROBE_EXIT_PASS ? "a check of the device's registers failed"
                  : quarantined               ? "the reset after the probe failed: the device is quarantined"
                                              : "passthrough works";
        return json_pack("{s:s, s:s, s:s?, s:b, s:s, s:o?, s:o?, s:s?, s:f}", "address", d->address, "id", id,
                         "device_name", d->device_name, "works", works, "verdict", verdict, "guest",
                         f ? json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "bus", f->bus, "dev", f->dev, "fn", f->fn,
                                       "vendor_id", f->vendor_id, "device_id", f->device_id, "class", f->class)
                           : NULL,
                         "bars", bars, "registers", f ? f->detail : NULL, "seconds", seconds);
}

int hp_ops_device_probe(struct hp_ops_ctx *c, const char *address, unsigned timeout_s, json_t **ret)
{
        _cleanup_(hp_view_done) struct hp_view view = { 0 };
        _cleanup_(hp_ops_unlock) struct hp_ops_lock lock = { 0 };
        _cleanup_(hp_store_closep) struct hp_store *store = NULL;
        _cleanup_(hp_probe_report_done) struct hp_probe_report rep = { 0 };
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_free_ char *serial = NULL, *err = NULL, *warning = NULL;
        char guest[4096], run_dir[512], path[768], addr[1][HP_SBDF_LEN];
        const struct hp_pci_dev *d;
        size_t quarantined = 0;
        struct timespec t0, t1;
        int r, run_r, status = -1;
        bool refused = false;

        if (timeout_s == 0 || timeout_s > 600)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "invalid timeout %u: 1 to 600 seconds", timeout_s);
        snprintf(addr[0], HP_SBDF_LEN, "%s", address);
        r = hp_view_load(c->host, c->names, c->db, &view, &err);
        if (r < 0)
                return hp_op_fail(c, HP_OP_HOST, r, "%s", err ? err : strerror(-r));
        if (!(d = hp_pci_find(view.inv, address)))
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-device", -ENOENT, "no PCI device %s on this host",
                                       address);
        r = check_probeable(c, &view, d);
        if (r < 0)
                return r;
        if (hp_ops_probe_guest_path(guest, sizeof(guest)) < 0)
                return hp_op_fail(c, HP_OP_CONFLICT, -ENOENT,
                                  "the probe guest is not installed (looked in %s and beside hwpass): reinstall "
                                  "hwpass, or point HWPASS_PROBE_GUEST at it",
                                  HP_DATADIR);
        r = probe_spec(d, guest, &spec);
        if (r < 0)
                return hp_op_oom(c);
        r = hp_ops_lock_vm(c, spec.name, "device probe", &lock);
        if (r >= 0)
                r = hp_ops_store_open(c, &store);
        if (r >= 0)
                r = hold(c, store, &spec, addr);
        if (r < 0)
                return r;
        (void)hp_ops_vm_run_dir_make(c, spec.name, run_dir, sizeof(run_dir));
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run_r = run_guest(c, &spec, d, run_dir, (int)timeout_s, &status, &refused);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        r = hp_vm_reset_and_release(store, c->host_root, spec.name, addr, 1, &quarantined);
        if (r >= 0)
                r = hp_store_vm_delete(store, spec.name);
        /* The probe ran: what it saw is reported, with the store's trouble. */
        if (r < 0 && asprintf(&warning, "cannot release %s and remove VM '%s' in the store: %s", addr[0], spec.name,
                              strerror(-r)) < 0)
                warning = NULL;
        if (run_r < 0 && refused)
                return run_r; /* its error says why */
        if (run_r < 0 && run_r != -ETIMEDOUT && run_r != -ETIME)
                return hp_op_host_error(c, run_r, "cannot run the probe guest for %s", addr[0]);
        snprintf(path, sizeof(path), "%s/serial.log", run_dir);
        if (hp_attr_read_alloc(AT_FDCWD, path, &serial) < 0 || hp_probe_parse(serial, &rep) < 0)
                rep = (struct hp_probe_report){ 0 };
        *ret = answer(d, &rep, status, run_r, quarantined,
                      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (*ret && warning && json_object_set_new(*ret, "warning", json_string(warning)) < 0) {
                json_decref(*ret);
                *ret = NULL;
        }
        return *ret ? 0 : hp_op_oom(c);
}

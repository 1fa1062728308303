/* hwpass device probe SBDF: boots the probe guest (guest/) with just that
 * device passed through and reports what the guest saw: its IDs, its BARs
 * next to the host's, and the device's own registers where the guest knows
 * the device (NVMe IDENTIFY by DMA, e1000e STATUS, xHCI ports). The probe is
 * a short-lived VM that holds the device like any VM, then resets and
 * releases it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "host/pci.h"
#include "host/state.h"
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
#define PROBE_EXIT_FAIL 35

/* HWPASS_PROBE_GUEST, then the installed copy, then beside an installed or
 * a freshly built hwpass. */
static int find_probe_guest(char *buf, size_t size)
{
        const char *env = getenv("HWPASS_PROBE_GUEST");
        char self[4096], *slash;

        if (env) {
                snprintf(buf, size, "%s", env);
                return access(buf, R_OK) < 0 ? -errno : 0;
        }
        snprintf(buf, size, "%s/probe-guest", HP_DATADIR);
        if (access(buf, R_OK) == 0)
                return 0;
        if (hp_self_exe(self, sizeof(self)) < 0 || !(slash = strrchr(self, '/')))
                return -ENOENT;
        *slash = '\0';
        if (snprintf(buf, size, "%s/../share/hwpass/probe-guest", self) < (int)size &&
            access(buf, R_OK) == 0)
                return 0;
        if (snprintf(buf, size, "%s/guest/probe-guest", self) < (int)size && access(buf, R_OK) == 0)
                return 0;
        return -ENOENT;
}

/* The device is free to probe: on vfio-pci, not held, not quarantined. */
static int check_probeable(struct hp_view *cs, const struct hp_pci_dev *d)
{
        struct hp_host_state st = hp_view_state(cs);
        const struct hp_dev_config *cfg = hp_host_state_config(&st, d->address);
        _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };

        if (hp_dev_state_of(&st, d, cfg, &s) < 0)
                return hp_cli_error(-ENOMEM, "out of memory");
        if (!d->driver || !streq(d->driver, "vfio-pci"))
                return hp_cli_usage_error(
                        "%s is not in passthrough mode (driver: %s): enable it first "
                        "(hwpass device passthrough enable %s)",
                        d->address, d->driver ? d->driver : "none", d->address);
        if (cfg && cfg->assigned_vm)
                return hp_cli_usage_error(
                        "%s is in use by VM '%s': stop it first (hwpass vm stop %s)", d->address,
                        cfg->assigned_vm, cfg->assigned_vm);
        if (cfg && streq(cfg->health, "quarantined"))
                return hp_cli_usage_error("%s is quarantined: %s", d->address,
                                          cfg->reason ? cfg->reason : "see 'hwpass device show'");
        return HP_EXIT_OK;
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

/* Each host BAR is in the guest with its size and an address. */
static size_t compare_bars(const struct hp_pci_dev *d, const struct hp_probe_fn *f, json_t *jbars,
                           bool print)
{
        size_t bad = 0;

        for (size_t i = 0; i < d->n_bars; i++) {
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
                bad += !ok;
                format_size(hb->size, hs, sizeof(hs));
                if (gb)
                        format_size(gb->size, gs, sizeof(gs));
                if (print)
                        printf("  BAR%d  %-6s host %-9s guest %-9s at 0x%" PRIx64 "  %s\n",
                               hb->index, gb ? gb->kind : "-", hs, gs, gb ? gb->addr : 0,
                               ok                     ? "ok"
                               : !gb                  ? "MISSING"
                               : gb->size != hb->size ? "SIZE DIFFERS"
                                                      : "NOT ASSIGNED");
                json_array_append_new(jbars,
                                      json_pack("{s:i, s:I, s:I?, s:I?, s:b}", "index", hb->index,
                                                "host_size", (json_int_t)hb->size, "guest_size",
                                                gb ? (json_int_t)gb->size : 0, "guest_address",
                                                gb ? (json_int_t)gb->addr : 0, "ok", ok));
        }
        return bad;
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
static int run_guest(struct hp_cli *c, const struct hp_vm_spec *s, const struct hp_pci_dev *d,
                     const char *run_dir, int timeout_s, int *ret_status)
{
        _cleanup_strv_free_ char **argv = NULL;
        struct hp_mmio_plan mmio = { 0 };
        const struct hp_pci_dev *devs[] = { d };
        char addr[HP_SBDF_LEN], log[512];
        int r;

        memcpy(addr, d->address, HP_SBDF_LEN);
        r = hp_mmio_plan(devs, 1, &mmio);
        if (r < 0)
                return r;
        r = hp_qemu_argv(s,
                         &(struct hp_qemu_config){ .binary = HP_QEMU_BINARY,
                                                   .accel = hp_cli_qemu_accel(c),
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
        return hp_probe_run(argv, log, timeout_s * 1000, ret_status);
}

/* The probe's VM record, with the device held for it; a record left by a
 * probe that was killed is replaced. Exit code. */
static int hold(struct hp_cli *c, const struct hp_vm_spec *s, char (*addr)[HP_SBDF_LEN])
{
        _cleanup_(hp_cli_vm_done) struct hp_cli_vm old = { 0 };
        _cleanup_free_ char *conflict = NULL, *text = NULL;
        int r;

        if (hp_vm_spec_to_text(s, &text) < 0)
                return hp_cli_error(-ENOMEM, "out of memory");
        r = hp_cli_open_store(c, &old.store);
        if (r == HP_EXIT_OK && hp_store_vm_get(old.store, s->name, &old.rec) >= 0) {
                hp_cli_vm_done(&old);
                r = hp_cli_vm_load(c, s->name, &old); /* puts a dead probe's record right */
                if (r == HP_EXIT_OK && !streq(old.rec.spec_json, text))
                        return hp_cli_usage_error("a VM named '%s' exists and is not a probe: "
                                                  "delete it (hwpass vm delete %s) to probe %s",
                                                  s->name, s->name, addr[0]);
                if (r == HP_EXIT_OK && !streq(old.rec.state, "off"))
                        return hp_cli_usage_error("a probe of %s is running already (VM '%s')",
                                                  addr[0], s->name);
                if (r == HP_EXIT_OK && hp_store_vm_delete(old.store, s->name) < 0)
                        return hp_cli_error(-EIO, "cannot remove the old probe record '%s'",
                                            s->name);
        }
        if (r == HP_EXIT_OK)
                r = hp_cli_vm_store_new(c, s, "device-probe");
        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_assign_devices(old.store, s->name, (char *[]){ addr[0], NULL }, 1, &conflict);
        if (r >= 0)
                r = hp_store_vm_set_runtime(old.store, s->name, "running", getpid(), NULL,
                                            (int64_t)time(NULL));
        if (r < 0) {
                (void)hp_store_release_devices(old.store, s->name);
                (void)hp_store_vm_delete(old.store, s->name);
                return hp_cli_usage_error("%s cannot be held for the probe: %s%s%s", addr[0],
                                          strerror(-r), conflict ? ": " : "",
                                          conflict ? conflict : "");
        }
        return HP_EXIT_OK;
}

static int report(struct hp_cli *c, const struct hp_pci_dev *d, const struct hp_probe_report *rep,
                  int status, int run_r, size_t quarantined, double seconds)
{
        const struct hp_probe_fn *f = hp_probe_find(rep, d->vendor_id, d->device_id);
        json_t *jbars = json_array();
        size_t bad_bars;
        char id[16];
        const char *verdict;
        bool works;
        int r;

        if (!jbars)
                return hp_cli_error(-ENOMEM, "out of memory");
        snprintf(id, sizeof(id), "%04x:%04x", d->vendor_id, d->device_id);
        if (!c->json) {
                printf("Device:  %s  %04x:%04x %s\n", d->address, d->vendor_id, d->device_id,
                       d->device_name ? d->device_name : "");
                if (f)
                        printf("Guest:   saw it at %02x:%02x.%x as %04x:%04x, class %06x\n", f->bus,
                               f->dev, f->fn, f->vendor_id, f->device_id, f->class);
        }
        bad_bars = compare_bars(d, f, jbars, !c->json && f);
        works = run_r >= 0 && rep->done && f && bad_bars == 0 && status == PROBE_EXIT_PASS &&
                quarantined == 0;
        verdict = run_r == -ETIMEDOUT         ? "the guest did not finish in time"
                  : !rep->done                ? "the guest did not finish its probe"
                  : !f                        ? "the guest did not see the device"
                  : bad_bars                  ? "the guest's BARs differ from the host's"
                  : status != PROBE_EXIT_PASS ? "a check of the device's registers failed"
                  : quarantined ? "the reset after the probe failed: the device is quarantined"
                                : "passthrough works";
        if (c->json) {
                r = hp_cli_print_json(json_pack("{s:s, s:s, s:b, s:s, s:o, s:s?, s:f}", "address",
                                                d->address, "id", id, "works", works, "verdict",
                                                verdict, "bars", jbars, "registers",
                                                f ? f->detail : NULL, "seconds", seconds));
                return r != HP_EXIT_OK ? r : works ? HP_EXIT_OK : HP_EXIT_FAIL;
        }
        json_decref(jbars);
        if (f && f->detail) {
                printf("Registers:\n");
                for (const char *p = f->detail; *p;) {
                        size_t n = strcspn(p, "\n");

                        printf("  %.*s\n", (int)n, p);
                        p += n + (p[n] ? 1 : 0);
                }
        }
        printf("Result:  %s (%.1f s)\n", verdict, seconds);
        return works ? HP_EXIT_OK : HP_EXIT_FAIL;
}

int hp_cmd_device_probe(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_cli_state_done) struct hp_view cs = { 0 };
        _cleanup_(hp_store_closep) struct hp_store *store = NULL;
        _cleanup_(hp_probe_report_done) struct hp_probe_report rep = { 0 };
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_free_ char *serial = NULL;
        char guest[4096], run_dir[256], path[512], addr[1][HP_SBDF_LEN];
        const struct hp_pci_dev *d;
        uint64_t timeout = 60;
        size_t quarantined = 0;
        struct timespec t0, t1;
        int r, run_r, status = -1, err = 0;
        const char *val;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass device probe SBDF [--timeout SECONDS]");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--timeout", &err))) {
                        if (hp_parse_u64(val, 10, &timeout) < 0 || timeout == 0 || timeout > 600)
                                return hp_cli_usage_error(
                                        "invalid --timeout '%s': 1 to 600 seconds", val);
                } else if (!err)
                        err = hp_cli_usage_error("'device probe' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        r = hp_cli_parse_address(argv[1], addr[0]);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_cli_state_load(c, &cs);
        if (r != HP_EXIT_OK)
                return r;
        if (!(d = hp_pci_find(cs.inv, addr[0])))
                return hp_cli_usage_error(
                        "no PCI device %s on this host (see 'hwpass device list')", addr[0]);
        r = check_probeable(&cs, d);
        if (r != HP_EXIT_OK)
                return r;
        if (find_probe_guest(guest, sizeof(guest)) < 0)
                return hp_cli_usage_error(
                        "the probe guest is not installed (looked in %s and beside hwpass): "
                        "reinstall hwpass, or point HWPASS_PROBE_GUEST at it",
                        HP_DATADIR);
        r = probe_spec(d, guest, &spec);
        if (r < 0)
                return hp_cli_error(r, "out of memory");
        r = hp_cli_open_store(c, &store);
        if (r == HP_EXIT_OK)
                r = hold(c, &spec, addr);
        if (r != HP_EXIT_OK)
                return r;
        (void)mkdir("/run/hwpass", 0700);
        (void)mkdir(HP_VM_RUN_DIR, 0700);
        snprintf(run_dir, sizeof(run_dir), HP_VM_RUN_DIR "/%s", spec.name);
        (void)mkdir(run_dir, 0700);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run_r = run_guest(c, &spec, d, run_dir, (int)timeout, &status);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        r = hp_vm_reset_and_release(store, c->host_root, spec.name, addr, 1, &quarantined);
        if (r >= 0)
                r = hp_store_vm_delete(store, spec.name);
        if (r < 0)
                fprintf(stderr,
                        "hwpass: warning: cannot release %s and remove VM '%s' in the store: %s\n",
                        addr[0], spec.name, strerror(-r));
        if (run_r < 0 && run_r != -ETIMEDOUT)
                return hp_cli_error(run_r, "cannot run the probe guest for %s", addr[0]);
        snprintf(path, sizeof(path), "%s/serial.log", run_dir);
        if (hp_attr_read_alloc(AT_FDCWD, path, &serial) < 0 || hp_probe_parse(serial, &rep) < 0)
                rep = (struct hp_probe_report){ 0 };
        return report(c, d, &rep, status, run_r, quarantined,
                      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

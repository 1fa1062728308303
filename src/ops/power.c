/* Power-on and power-off. Power-on is two halves a cluster calls apart (a
 * controller claims, an agent launches): the claim admits the memory,
 * chooses the devices and assigns them in one store transaction, under the
 * devices' IOMMU group locks; the launch prepares the firmware, finds the USB
 * devices and hands QEMU to its supervisor. Power-off asks ACPI and forces
 * after a timeout; the supervisor resets and releases the devices. */
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
#include "host/pci.h"
#include "host/state.h"
#include "host/usb.h"
#include "device.h"
#include "ops.h"
#include "qemuuser.h"
#include "storage.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/firmware.h"
#include "vm/qemu.h"
#include "vm/qmp.h"
#include "vm/specjson.h"
#include "vm/supervise.h"

void hp_ops_vm_plan_done(struct hp_ops_vm_plan *p)
{
        hp_view_done(&p->view);
        free(p->pci); /* shallow copies of the spec's entries */
        free(p->addrs);
        free(p->firmware_why);
        free(p->error);
        *p = (struct hp_ops_vm_plan){ 0 };
}

void hp_ops_vm_run_file(const char *run_dir, const char *name, const char *file, char *buf, size_t size)
{
        snprintf(buf, size, "%s/vms/%s%s%s", run_dir, name, file ? "/" : "", file ? file : "");
}

int hp_ops_vm_run_dir_make(const struct hp_ops_ctx *c, const char *name, char *buf, size_t size)
{
        char vms[512];

        snprintf(vms, sizeof(vms), "%s/vms", c->run_dir);
        (void)mkdir(c->run_dir, 0700);
        (void)mkdir(vms, 0700);
        hp_ops_vm_run_file(c->run_dir, name, NULL, buf, size);
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                return -errno;
        return hp_vm_user_reclaim_dir(buf) < 0 ? -EPERM : 0;
}

void hp_ops_vm_paths(const struct hp_ops_ctx *c, const char *name, char *run_dir, char *vars, size_t size)
{
        hp_ops_vm_run_file(c->run_dir, name, NULL, run_dir, size);
        snprintf(vars, size, "%s/vms/%s/OVMF_VARS.fd", c->state_dir, name);
}

const char *hp_ops_qemu_accel(const struct hp_ops_ctx *c)
{
        const char *accel = getenv("HWPASS_QEMU_ACCEL");

        return accel ? accel : hp_host_exists(c->host, "dev/kvm") ? "kvm" : "tcg";
}

int hp_ops_vm_candidates(const struct hp_view *view, struct hp_alloc_candidate **ret)
{
        _cleanup_free_ struct hp_alloc_candidate *cands = calloc(view->inv->n_devs + 1, sizeof(*cands));
        struct hp_host_state st = hp_view_state(view);

        if (!cands)
                return -ENOMEM;
        for (size_t i = 0; i < view->inv->n_devs; i++) {
                const struct hp_pci_dev *d = &view->inv->devs[i];
                const struct hp_dev_config *cfg = hp_host_state_config(&st, d->address);
                _cleanup_(hp_dev_state_done) struct hp_dev_state s = { 0 };

                if (hp_dev_state_of(&st, d, cfg, &s) < 0)
                        return -ENOMEM;
                cands[i] = (struct hp_alloc_candidate){
                        .dev = d,
                        .label = cfg ? cfg->label : NULL,
                        .attrs = cfg ? cfg->attrs : NULL,
                        .passthrough_active = s.desired && s.active,
                        .passthrough_desired = s.desired,
                        .assigned_vm = cfg ? cfg->assigned_vm : NULL,
                        .quarantined = cfg && streq(cfg->health, "quarantined"),
                };
                if (s.desired && !s.active && d->driver && streq(d->driver, "vfio-pci"))
                        (void)hp_pci_group_viable(view->inv, d->iommu_group, &cands[i].group_blocker);
        }
        *ret = TAKE_PTR(cands);
        return 0;
}

int hp_ops_vm_entries_now(const struct hp_view *view, const struct hp_vm_spec *s, struct hp_vm_pci **ret_followed,
                          struct hp_vm_pci **ret_expanded, size_t *ret_n, char **ret_why)
{
        _cleanup_free_ struct hp_vm_pci *followed = NULL, *expanded = NULL;
        size_t n = 0;
        int r;

        *ret_why = NULL;
        /* Static entries where their devices are now (vm show, before a write records a move). */
        r = hp_ops_vm_entries_followed(view, s, &followed);
        if (r < 0)
                return r;
        /* Never another device standing at an entry's old address. */
        r = hp_alloc_expand_slots(s->name, followed, s->n_pci, view->inv, &expanded, &n, ret_why);
        if (r >= 0)
                r = hp_ops_vm_check_moved(view, s, expanded, n, ret_why);
        if (r < 0)
                return r;
        if (ret_followed)
                *ret_followed = TAKE_PTR(followed);
        *ret_expanded = TAKE_PTR(expanded);
        *ret_n = n;
        return 0;
}

static int choose_devices(struct hp_ops_ctx *c, const struct hp_ops_vm *v, struct hp_ops_vm_plan *p,
                          char (**ret)[HP_SBDF_LEN], char **ret_why)
{
        struct hp_view *view = &p->view;
        _cleanup_free_ struct hp_alloc_candidate *cands = NULL;
        _cleanup_free_ char(*addrs)[HP_SBDF_LEN] = NULL;
        _cleanup_free_ char *why = NULL;
        _cleanup_free_ struct hp_vm_pci *followed = NULL, *expanded = NULL;
        size_t n_expanded = 0;
        int r;

        if (hp_ops_vm_candidates(view, &cands) < 0)
                return hp_op_oom(c);
        r = hp_ops_vm_entries_now(view, &v->spec, &followed, &expanded, &n_expanded, &why);
        if (r >= 0)
                r = hp_alloc_choose(v->spec.name, followed, v->spec.n_pci, view->inv, cands, view->inv->n_devs,
                                    &p->pci, &addrs, &p->n_pci, &why);
        if (r < 0 && why) {
                hp_op_fail(c, HP_OP_FAILED, r, "cannot start '%s': %s", v->spec.name, why);
                *ret_why = TAKE_PTR(why);
                return r;
        }
        if (r < 0)
                return hp_op_host_error(c, r, "cannot plan the devices of '%s'", v->spec.name);
        *ret = TAKE_PTR(addrs);
        return 0;
}

int hp_ops_vm_plan(struct hp_ops_ctx *c, const struct hp_ops_vm *v, struct hp_ops_vm_plan *ret)
{
        _cleanup_free_ const struct hp_pci_dev **devs = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        /* No PCI entries, nothing to choose: the host's devices are not read. */
        if (v->spec.n_pci == 0) {
                ret->addrs = calloc(1, sizeof(*ret->addrs));
                if (!ret->addrs)
                        return hp_op_oom(c);
                r = hp_mmio_plan(NULL, 0, &ret->mmio);
                if (r >= 0)
                        r = hp_mmio_firmware(v->spec.firmware, &ret->mmio, NULL, 0, &ret->firmware,
                                             &ret->firmware_why);
                return r < 0 ? hp_op_host_error(c, r, "cannot plan the devices of '%s'", v->spec.name) : 0;
        }
        r = hp_view_load(c->host, c->names, c->db, &ret->view, &err);
        if (r < 0)
                return hp_op_fail(c, HP_OP_HOST, r, "%s", err ? err : strerror(-r));
        r = choose_devices(c, v, ret, &ret->addrs, &ret->error);
        if (r < 0)
                return r;
        devs = calloc(ret->n_pci + 1, sizeof(*devs));
        if (!devs)
                return hp_op_oom(c);
        for (size_t i = 0; i < ret->n_pci; i++)
                if (!(devs[i] = hp_pci_find(ret->view.inv, ret->addrs[i])))
                        return hp_op_host_error(c, -ENODEV, "cannot plan the devices of '%s'", v->spec.name);
        r = hp_mmio_plan(devs, ret->n_pci, &ret->mmio);
        if (r >= 0)
                r = hp_mmio_firmware(v->spec.firmware, &ret->mmio, devs, ret->n_pci, &ret->firmware,
                                     &ret->firmware_why);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot plan the devices of '%s'", v->spec.name);
        return 0;
}

/* USB entries as QEMU takes them; an ID with a serial names one device, so it
 * is resolved to where that device is plugged in now. Entries the host's
 * devices make unworkable (an ID matching two devices, a bus it does not
 * have) are refused here too: they may have been defined elsewhere or before
 * the devices changed. */
static int usb_hosts(struct hp_ops_ctx *c, const struct hp_vm_spec *s, struct hp_qemu_usb_host **ret)
{
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *inv = NULL;
        _cleanup_free_ struct hp_qemu_usb_host *usb = calloc(s->n_usb + 1, sizeof(*usb));
        int r;

        if (!usb)
                return hp_op_oom(c);
        for (size_t i = 0; i < s->n_usb; i++) {
                const struct hp_vm_usb *u = &s->usb[i];

                usb[i] = (struct hp_qemu_usb_host){ .by_port = u->kind == HP_VM_USB_PORT,
                                                    .bus = u->bus,
                                                    .port = u->port,
                                                    .vendor_id = u->vendor_id,
                                                    .product_id = u->product_id };
                if (!inv && hp_usb_scan(c->host, &inv) < 0) {
                        inv = NULL;
                        if (u->kind == HP_VM_USB_ID && u->serial)
                                return hp_op_host_error(c, -EIO, "cannot read the USB devices of this host");
                        continue; /* nothing to check it against: QEMU waits for the device */
                }
                if ((r = hp_ops_usb_entry_check(c, s->name, u, inv, true)) < 0)
                        return r;
                if (u->kind != HP_VM_USB_ID || !u->serial)
                        continue;
                for (size_t k = 0; k < inv->n_devs; k++) {
                        const struct hp_usb_dev *d = &inv->devs[k];

                        if (d->vendor_id == u->vendor_id && d->product_id == u->product_id && d->serial &&
                            streq(d->serial, u->serial)) {
                                usb[i].bus = d->busnum;
                                usb[i].hostaddr = d->devnum;
                        }
                }
                if (usb[i].hostaddr == 0)
                        return hp_op_fail(c, HP_OP_FAILED, -ENODEV,
                                          "VM '%s' usb%d: USB device %04x:%04x with serial '%s' is not plugged in: "
                                          "connect it (see 'hwpass usb list') or remove the entry",
                                          s->name, u->index, u->vendor_id, u->product_id, u->serial);
        }
        *ret = TAKE_PTR(usb);
        return 0;
}

static int build_argv(struct hp_ops_ctx *c, const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p,
                      const struct hp_qemu_usb_host *usb, char ***ret)
{
        /* With the plan's entries (a slot as its functions) and firmware. */
        struct hp_vm_spec spec = v->spec;
        char run_dir[512], vars[512], code[512], vars_template[512];
        int r;

        spec.pci = p->pci;
        spec.n_pci = p->n_pci;
        spec.firmware = p->firmware;
        hp_ops_vm_paths(c, v->spec.name, run_dir, vars, sizeof(run_dir));
        hp_ops_ovmf_paths(code, vars_template, sizeof(code));
        r = hp_qemu_argv(&spec,
                         &(struct hp_qemu_config){ .binary = HP_QEMU_BINARY,
                                                   .accel = hp_ops_qemu_accel(c),
                                                   .run_dir = run_dir,
                                                   .ovmf_code = code,
                                                   .ovmf_vars = vars,
                                                   .pci = (const char(*)[HP_SBDF_LEN])p->addrs,
                                                   .usb = usb,
                                                   .mmio = &p->mmio },
                         ret);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot build the QEMU command line of '%s'", v->spec.name);
        return 0;
}

int hp_ops_vm_qemu_argv(struct hp_ops_ctx *c, const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p,
                        char ***ret)
{
        _cleanup_free_ struct hp_qemu_usb_host *usb = NULL;
        int r = usb_hosts(c, &v->spec, &usb);

        return r < 0 ? r : build_argv(c, v, p, usb, ret);
}

/* Still on vfio-pci, now that their groups are held: a passthrough change
 * that ran between the choice and the lock is caught here. */
static int still_on_vfio(struct hp_ops_ctx *c, const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p)
{
        for (size_t i = 0; i < p->n_pci; i++) {
                char rel[128], target[256];
                const char *base;

                snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", p->addrs[i]);
                if (hp_host_readlink(c->host, rel, target, sizeof(target)) < 0)
                        target[0] = '\0';
                base = strrchr(target, '/');
                if (!streq(base ? base + 1 : target, "vfio-pci"))
                        return hp_op_fail(c, HP_OP_FAILED, -EAGAIN,
                                          "cannot start '%s': %s left vfio-pci while it was chosen (a passthrough "
                                          "change ran meanwhile): start it again",
                                          v->spec.name, p->addrs[i]);
        }
        return 0;
}

/* Devices that moved since the store last saw them (no host apply since
 * boot, no write that noticed) are recorded before any is chosen: the
 * assignment is by the stored address, and the VM's own static entries
 * may follow, so it is read again. The scan is the plan's. */
static int record_moves(struct hp_ops_ctx *c, struct hp_ops_vm *v, struct hp_ops_vm_plan *p)
{
        _cleanup_free_ char *err = NULL;
        char name[HP_VM_NAME_MAX + 1];
        int r;

        if (v->spec.n_pci == 0)
                return 0;
        r = hp_pci_scan(c->host, c->names, &p->view.inv);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read the PCI devices under '%s'", c->host_root);
        r = hp_ops_follow_moves(c, v->store, p->view.inv);
        if (r <= 0)
                return r;
        memcpy(name, v->spec.name, sizeof(name));
        hp_vm_record_done(&v->rec);
        hp_vm_spec_done(&v->spec);
        r = hp_store_vm_get(v->store, name, &v->rec);
        if (r >= 0)
                r = hp_vm_spec_from_text(v->rec.spec_json, &v->spec, &err);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read VM '%s' again", name);
        return 0;
}

int hp_ops_vm_claim(struct hp_ops_ctx *c, struct hp_ops_vm *v, struct hp_ops_vm_plan *ret)
{
        _cleanup_(hp_ops_unlock) struct hp_ops_lock groups = { 0 };
        _cleanup_strv_free_ char **assigned = calloc(1, sizeof(char *));
        _cleanup_free_ char *conflict = NULL;
        int r;

        if (!streq(v->rec.state, "off"))
                return hp_op_fail(c, HP_OP_CONFLICT, -EBUSY, "VM '%s' is %s already", v->spec.name, v->rec.state);
        if (!assigned)
                return hp_op_oom(c);
        /* Defined before storage directories were checked, or moved since: checked here, on its
         * host (a file not there at all is QEMU's to report). */
        r = hp_ops_storage_check_spec(c, &v->spec, true, HP_OP_REFUSED);
        if (r >= 0)
                r = hp_ops_vm_admit_memory(c, v);
        if (r >= 0)
                r = record_moves(c, v, ret);
        if (r >= 0)
                r = hp_ops_vm_plan(c, v, ret);
        if (r >= 0)
                r = hp_ops_vm_firmware_check(c, v, ret);
        if (r >= 0) {
                struct hp_vm_spec booted = v->spec; /* ROMs are checked against the firmware it boots */

                booted.firmware = ret->firmware;
                r = hp_ops_vm_check_romfiles(c, &booted, NULL, (const char (*)[HP_SBDF_LEN])ret->addrs);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < ret->n_pci; i++)
                if (hp_strv_push(&assigned, ret->addrs[i]) < 0)
                        return hp_op_oom(c);
        r = hp_ops_lock_groups(c, assigned, ret->n_pci, "vm start", &groups);
        if (r >= 0)
                r = still_on_vfio(c, v, ret);
        if (r < 0)
                return r;
        if (ret->n_pci == 0)
                return 0;
        /* A transaction: two starts never win the same device. */
        r = hp_store_assign_devices(v->store, v->spec.name, assigned, ret->n_pci, &conflict);
        if (r < 0)
                return hp_op_fail(c, HP_OP_FAILED, r, "cannot start '%s': %s%s%s", v->spec.name, strerror(-r),
                                  conflict ? ": " : "", conflict ? conflict : "");
        return 0;
}

/* QEMU's own user, for the plan's devices, firmware and ROM files. */
static int qemu_user(struct hp_ops_ctx *c, const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p,
                     const struct hp_qemu_usb_host *usb, struct hp_ops_qemu_user *ret)
{
        _cleanup_free_ const char **roms = calloc(p->n_pci + 1, sizeof(char *));
        struct hp_vm_spec spec = v->spec;
        char run_dir[512], vars[512], code[512], vars_template[512];
        size_t n_roms = 0;

        if (!roms)
                return hp_op_oom(c);
        spec.firmware = p->firmware;
        hp_ops_vm_paths(c, spec.name, run_dir, vars, sizeof(run_dir));
        hp_ops_ovmf_paths(code, vars_template, sizeof(code));
        for (size_t i = 0; i < p->n_pci; i++)
                if (p->pci[i].romfile)
                        roms[n_roms++] = p->pci[i].romfile;
        return hp_ops_qemu_user_plan(c, &spec, (const char(*)[HP_SBDF_LEN])p->addrs, p->n_pci, usb, run_dir,
                                     vars, roms, code, ret);
}

/* The launch with a supervisor started ahead of time (lr), so its exec
 * overlaps the claim. */
static int launch(struct hp_ops_ctx *c, struct hp_ops_vm *v, const struct hp_ops_vm_plan *p,
                  struct hp_vm_launcher *lr)
{
        _cleanup_free_ struct hp_qemu_usb_host *usb = NULL;
        _cleanup_strv_free_ char **qargv = NULL;
        _cleanup_free_ char *lerr = NULL, *fw_record = NULL, *fw_event = NULL;
        _cleanup_(hp_ops_qemu_user_done) struct hp_ops_qemu_user qu = { 0 };
        char run_dir[512], vars[512];
        int r;

        hp_ops_vm_paths(c, v->spec.name, run_dir, vars, sizeof(run_dir));
        r = hp_ops_vm_firmware_prepare(c, v, p);
        if (r >= 0)
                r = usb_hosts(c, &v->spec, &usb);
        if (r >= 0)
                r = build_argv(c, v, p, usb, &qargv);
        if (r >= 0 && hp_ops_vm_firmware_record(v, p, &fw_record, &fw_event) < 0)
                r = hp_op_oom(c);
        if (r >= 0)
                r = qemu_user(c, v, p, usb, &qu);
        if (r < 0) {
                /* The claim is given back: nothing ran. */
                (void)hp_store_release_devices(v->store, v->spec.name);
                return r;
        }
        r = hp_vm_launch(
                lr,
                &(struct hp_vm_launch){ .name = v->spec.name,
                                        .argv = qargv,
                                        .run_dir = run_dir,
                                        .db_path = c->db,
                                        .host_root = c->host_root,
                                        .devices = p->addrs,
                                        .n_devices = p->n_pci,
                                        .actor = c->actor,
                                        .record_file = "firmware.json",
                                        .record_text = fw_record,
                                        .event_kind = fw_event ? "vm-firmware" : NULL,
                                        .event_detail = fw_event,
                                        .users = qu.users,
                                        .users_dir = qu.users_dir,
                                        .own = qu.own,
                                        .memlock = qu.memlock },
                60000, &lerr);
        if (r < 0)
                return hp_op_fail(c, HP_OP_FAILED, r, "'%s' did not start: %s", v->spec.name,
                                  lerr ? hp_strstrip(lerr) : strerror(-r));
        return 0;
}

static int launcher_start(struct hp_ops_ctx *c, const char *name, struct hp_vm_launcher *lr)
{
        char run_dir[512];
        int r = hp_ops_vm_run_dir_make(c, name, run_dir, sizeof(run_dir));

        if (r >= 0)
                r = hp_vm_launcher_start(run_dir, c->single_threaded, lr);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot start the supervisor of '%s'", name);
        return 0;
}

int hp_ops_vm_launch(struct hp_ops_ctx *c, struct hp_ops_vm *v, const struct hp_ops_vm_plan *p)
{
        _cleanup_(hp_vm_launcher_cancel) struct hp_vm_launcher lr = { .fd = -1 };
        int r = launcher_start(c, v->spec.name, &lr);

        if (r < 0) {
                (void)hp_store_release_devices(v->store, v->spec.name);
                return r;
        }
        return launch(c, v, p, &lr);
}

/* Power-on with a supervisor already started (the claim refuses a VM that
 * is not off). */
static int power_on(struct hp_ops_ctx *c, struct hp_ops_vm *v, struct hp_vm_launcher *lr, json_t **ret_firmware)
{
        _cleanup_(hp_ops_vm_plan_done) struct hp_ops_vm_plan p = { 0 };
        int r;

        r = hp_ops_vm_claim(c, v, &p);
        if (r >= 0)
                r = launch(c, v, &p, lr);
        if (r >= 0 && ret_firmware && !(*ret_firmware = hp_ops_vm_firmware_json(v, &p)))
                return hp_op_oom(c);
        return r;
}

int hp_ops_vm_power_on(struct hp_ops_ctx *c, struct hp_ops_vm *v)
{
        _cleanup_(hp_vm_launcher_cancel) struct hp_vm_launcher lr = { .fd = -1 };
        int r = launcher_start(c, v->spec.name, &lr);

        return r < 0 ? r : power_on(c, v, &lr, NULL);
}

int hp_ops_vm_start(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        _cleanup_(hp_vm_launcher_cancel) struct hp_vm_launcher lr = { .fd = -1 };
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        _cleanup_(json_decrefp) json_t *fw = NULL;
        int r;

        /* The supervisor first: its exec and start-up overlap everything the
         * start reads and decides before QEMU runs. A start that does not
         * happen lets it go (it exits at once). */
        if (hp_vm_name_valid(name) && (r = launcher_start(c, name, &lr)) < 0)
                return r;
        r = hp_ops_vm_load(c, name, "vm start", true, &v);
        if (r < 0 && c->error.kind == HP_OP_NOT_FOUND) {
                char run_dir[512], vars[512];

                /* No such VM: the directory made for its supervisor goes too. */
                hp_vm_launcher_cancel(&lr);
                hp_ops_vm_paths(c, name, run_dir, vars, sizeof(run_dir));
                hp_ops_vm_remove_run_dir(run_dir);
        }
        if (r >= 0)
                r = power_on(c, &v, &lr, &fw);
        if (r < 0)
                return r;
        /* What it booted, and for auto why. */
        *ret = hp_vm_to_json(&v.spec, "running");
        if (*ret && json_object_set_new(*ret, "firmware_run", TAKE_PTR(fw)) < 0) {
                json_decref(*ret);
                *ret = NULL;
        }
        return *ret ? 0 : hp_op_oom(c);
}

/* Without QMP: QEMU's pid from its pid file. */
static void kill_qemu(const struct hp_ops_ctx *c, const char *name)
{
        uint64_t pid;

        if (hp_ops_vm_qemu_pid(c, name, &pid) >= 0)
                kill((pid_t)pid, SIGKILL);
}

static uint64_t now_ms(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* QEMU told to quit: through QMP when it answers there, else by its pid. */
static void force_off(const struct hp_ops_ctx *c, struct hp_qmp *q, const char *name)
{
        if (!q || hp_qmp_execute(q, "quit", NULL, 5000, NULL, NULL) < 0)
                kill_qemu(c, name);
}

int hp_ops_vm_power_off(struct hp_ops_ctx *c, struct hp_ops_vm *v, bool force, uint64_t timeout_s,
                        bool *ret_forced, bool *ret_lost)
{
        _cleanup_(hp_qmp_closep) struct hp_qmp *q = NULL;
        uint64_t start = now_ms(), deadline = start + timeout_s * 1000;
        bool forced = force;
        int r;

        *ret_lost = *ret_forced = false;
        if (v->rec.qmp_path && hp_qmp_connect(v->rec.qmp_path, 5000, &q) < 0)
                q = NULL;
        /* A guest that ignores ACPI is forced after the timeout. */
        if (force)
                force_off(c, q, v->spec.name);
        else if (q)
                (void)hp_qmp_execute(q, "system_powerdown", NULL, 5000, NULL, NULL);
        /* The supervisor records "off" once QEMU is gone and the devices are reset. */
        for (;;) {
                hp_vm_record_done(&v->rec);
                r = hp_store_vm_get(v->store, v->spec.name, &v->rec);
                if (r < 0)
                        return hp_op_host_error(c, r, "cannot read VM '%s'", v->spec.name);
                if (streq(v->rec.state, "off") ||
                    (v->rec.pid > 0 && kill((pid_t)v->rec.pid, 0) < 0 && errno == ESRCH)) {
                        /* Gone: if the supervisor could not record it, do it here. */
                        *ret_lost = !streq(v->rec.state, "off");
                        (void)hp_store_release_devices(v->store, v->spec.name);
                        (void)hp_store_vm_set_runtime(v->store, v->spec.name, "off", 0, NULL, 0);
                        return 0;
                }
                if (!forced && now_ms() >= deadline) {
                        forced = *ret_forced = true;
                        force_off(c, q, v->spec.name);
                }
                if (now_ms() >= deadline + 30000)
                        return hp_op_fail(c, HP_OP_FAILED, -ETIMEDOUT, "'%s' is still %s", v->spec.name, v->rec.state);
                nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
}

/* The addresses of the devices the VM holds now. */
static int held_devices(struct hp_store *s, const char *vm, char ***ret)
{
        struct hp_dev_config *cfg = NULL;
        char **held = calloc(1, sizeof(char *));
        size_t n = 0;
        int r = held ? hp_store_device_list(s, &cfg, &n) : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < n; i++)
                if (cfg[i].assigned_vm && streq(cfg[i].assigned_vm, vm))
                        r = hp_strv_push(&held, cfg[i].address);
        hp_dev_configs_free(cfg, n);
        if (r < 0) {
                hp_strv_free(held);
                return r;
        }
        *ret = held;
        return 0;
}

/* What the supervisor's resets did to the devices the VM let go, told
 * from what is left of them: quarantined (the reset failed), no reset
 * method (nothing was tried), or reset. */
static json_t *released(struct hp_ops_ctx *c, struct hp_store *s, char **held)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        json_t *a = json_array();

        if (hp_pci_scan(c->host, NULL, &inv) < 0)
                inv = NULL;
        for (size_t i = 0; a && held[i]; i++) {
                _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };
                const struct hp_pci_dev *d = inv ? hp_pci_find(inv, held[i]) : NULL;
                const char *reset = "done";

                if (hp_store_device_get(s, held[i], &cfg) >= 0 && streq(cfg.health, "quarantined"))
                        reset = "failed";
                else if (d && !d->has_reset)
                        reset = "none";
                if (json_array_append_new(a, json_pack("{s:s, s:s}", "address", held[i], "reset", reset)) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        }
        return a;
}

int hp_ops_vm_stop(struct hp_ops_ctx *c, const char *name, bool force, uint64_t timeout_s, json_t **ret)
{
        _cleanup_strv_free_ char **held = NULL;
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        bool lost = false, forced = false;
        int r;

        if (timeout_s > 3600)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "invalid timeout %" PRIu64 ": 0 to 3600 seconds",
                                  timeout_s);
        r = hp_ops_vm_load(c, name, "vm stop", true, &v);
        if (r < 0)
                return r;
        if (!streq(v.rec.state, "off")) {
                if (held_devices(v.store, name, &held) < 0)
                        return hp_op_host_error(c, -EIO, "cannot read the devices of VM '%s'", name);
                r = hp_ops_vm_power_off(c, &v, force, timeout_s, &forced, &lost);
                if (r < 0)
                        return r;
        }
        *ret = hp_vm_to_json(&v.spec, "off");
        /* Only when it happened: an answer for a VM that stopped as asked
         * (with no devices) stays as it was. A lost supervisor reset nothing. */
        if (*ret && ((lost && json_object_set_new(*ret, "lost", json_true()) < 0) ||
                     (forced && json_object_set_new(*ret, "forced_after", json_integer((json_int_t)timeout_s)) < 0) ||
                     (!lost && held && held[0] && json_object_set_new(*ret, "released", released(c, v.store, held)) < 0))) {
                json_decref(*ret);
                *ret = NULL;
        }
        return *ret ? 0 : hp_op_oom(c);
}

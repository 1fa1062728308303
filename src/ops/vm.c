/* VM definitions: create, set, add and remove devices, autostart, delete.
 * Each loads the VM under its lock, applies the rules (vm/rules.h) to the
 * spec, and stores it; nothing is stored when a rule refuses. */
#include "vm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/usb.h"
#include "ops.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/firmware.h"
#include "vm/rules.h"
#include "vm/specjson.h"
#include "vm/supervise.h"

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

void hp_ops_vm_done(struct hp_ops_vm *v)
{
        hp_vm_spec_done(&v->spec);
        hp_vm_record_done(&v->rec);
        hp_store_close(v->store);
        hp_ops_unlock(&v->lock);
        *v = (struct hp_ops_vm){ 0 };
}

static int bad_name(struct hp_ops_ctx *c, const char *name)
{
        return hp_op_fail_code(c, HP_OP_INVALID, "bad-name", -EINVAL,
                               "invalid VM name '%s': 1-%d letters, digits, '-', '_' or '.'", name, HP_VM_NAME_MAX);
}

int hp_ops_vm_load(struct hp_ops_ctx *c, const char *name, const char *what, bool lock, struct hp_ops_vm *ret)
{
        _cleanup_free_ char *err = NULL;
        int r;

        if (!hp_vm_name_valid(name))
                return bad_name(c, name);
        if (lock && (r = hp_ops_lock_vm(c, name, what, &ret->lock)) < 0)
                return r;
        r = hp_ops_store_open(c, &ret->store);
        if (r < 0)
                return r;
        r = hp_store_vm_get(ret->store, name, &ret->rec);
        if (r == -ENOENT)
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-vm", r, "no VM '%s'", name);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read VM '%s'", name);
        r = hp_vm_spec_from_text(ret->rec.spec_json, &ret->spec, &err);
        if (r < 0)
                return hp_op_fail(c, HP_OP_HOST, r, "VM '%s' is stored damaged: %s", name, err ? err : "?");
        r = hp_vm_record_settle(ret->store, c->run_dir, &ret->rec);
        if (r < 0)
                return hp_op_oom(c);
        return 0;
}

/* The VM's document as it is now. */
static int answer(struct hp_ops_ctx *c, const struct hp_ops_vm *v, json_t **ret)
{
        *ret = hp_vm_to_json(&v->spec, v->rec.state);
        return *ret ? 0 : hp_op_oom(c);
}

static int save(struct hp_ops_ctx *c, struct hp_ops_vm *v, json_t **ret)
{
        _cleanup_free_ char *text = NULL;
        int r = hp_vm_spec_to_text(&v->spec, &text);

        if (r >= 0)
                r = hp_store_vm_update_spec(v->store, v->spec.name, text);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot store VM '%s' in '%s'", v->spec.name, c->db);
        return answer(c, v, ret);
}

/* A rule's refusal (vm/rules.h) as the operation's error. */
static int refused(struct hp_ops_ctx *c, int r, char *msg)
{
        _cleanup_free_ char *m = msg;

        if (r == -ENOMEM || !m)
                return hp_op_oom(c);
        return hp_op_fail(c, r == -ENOENT || r == -EINVAL ? HP_OP_INVALID : HP_OP_CONFLICT, r, "%s", m);
}

static int require_off(struct hp_ops_ctx *c, const struct hp_ops_vm *v, const char *what)
{
        char *msg = NULL;
        int r = hp_vm_rule_off(&v->spec, v->rec.state, what, &msg);

        return r < 0 ? refused(c, r, msg) : 0;
}

int hp_ops_vm_create(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const char *event, json_t **ret)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        _cleanup_free_ char *text = NULL;
        int r;

        if (!hp_vm_name_valid(s->name))
                return bad_name(c, s->name);
        r = hp_ops_vm_check_definition(c, s);
        if (r >= 0)
                r = hp_ops_vm_check_romfiles(c, s, NULL, NULL);
        if (r < 0)
                return r;
        r = hp_ops_lock_vm(c, s->name, "vm create", &v.lock);
        if (r < 0)
                return r;
        r = hp_vm_spec_to_text(s, &text);
        if (r < 0)
                return hp_op_oom(c);
        r = hp_ops_store_open(c, &v.store);
        if (r < 0)
                return r;
        r = hp_store_vm_create(v.store, s->name, text);
        if (r == -EEXIST)
                return hp_op_fail(c, HP_OP_CONFLICT, r, "a VM named '%s' exists already", s->name);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot store VM '%s' in '%s'", s->name, c->db);
        (void)hp_store_event_add(v.store, event, s->name, NULL);
        *ret = hp_vm_to_json(s, "off");
        return *ret ? 0 : hp_op_oom(c);
}

int hp_ops_vm_set(struct hp_ops_ctx *c, const char *name, const struct hp_ops_vm_settings *set, json_t **ret)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        char *msg = NULL;
        int r;

        if (set->memory_mib && (r = hp_ops_vm_check_memory(c, set->memory_mib)) < 0)
                return r;
        r = hp_ops_vm_load(c, name, "vm set", true, &v);
        if (r >= 0)
                r = require_off(c, &v, "it is changed");
        if (r < 0)
                return r;
        if (set->device_limit && (r = hp_vm_rule_limit(&v.spec, set->device_limit, &msg)) < 0)
                return refused(c, r, msg);
        if (set->memory_mib)
                v.spec.memory_mib = set->memory_mib;
        if (set->vcpus)
                v.spec.vcpus = set->vcpus;
        if (set->hugepages >= 0)
                v.spec.hugepages = set->hugepages;
        if (set->device_limit)
                v.spec.device_limit = set->device_limit;
        /* The EFI vars store is made at the next EFI power-on; one from an
         * earlier EFI time is kept (the guest's boot entries). */
        if (set->set_firmware)
                v.spec.firmware = set->firmware;
        if (set->set_placement)
                v.spec.placement = set->placement;
        return save(c, &v, ret);
}

/* The static address must be a device of this host; a slot, its function 0. */
static int device_exists(struct hp_ops_ctx *c, const char *address)
{
        char rel[128];

        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s%s", address, strlen(address) == 10 ? ".0" : "");
        if (!hp_host_exists(c->host, rel))
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-device", -ENOENT, "no PCI device %s on this host",
                                       rel + strlen("sys/bus/pci/devices/"));
        return 0;
}

int hp_ops_vm_add_pci(struct hp_ops_ctx *c, const char *name, struct hp_vm_pci *e, int *ret_index, json_t **ret)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        char *msg = NULL;
        int r;

        if (e->kind == HP_VM_PCI_STATIC && e->label)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "--label goes with --allowed: a device by address is that device");
        if (e->kind == HP_VM_PCI_STATIC && (r = device_exists(c, e->address)) < 0)
                return r;
        r = hp_ops_vm_load(c, name, "vm add-pci", true, &v);
        if (r >= 0)
                r = require_off(c, &v, "devices are added");
        if (r >= 0)
                r = hp_ops_vm_check_romfiles(c, &v.spec, e, NULL);
        if (r < 0)
                return r;
        r = hp_vm_add_pci(&v.spec, e, &msg);
        if (r < 0)
                return refused(c, r, msg);
        *ret_index = r;
        return save(c, &v, ret);
}

int hp_ops_vm_add_usb(struct hp_ops_ctx *c, const char *name, struct hp_vm_usb *e, int *ret_index, json_t **ret)
{
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *inv = NULL;
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        char *msg = NULL;
        int r;

        r = hp_ops_vm_load(c, name, "vm add-usb", true, &v);
        if (r >= 0)
                r = require_off(c, &v, "devices are added");
        if (r < 0)
                return r;
        /* Checked against the devices when the host shows them. */
        if (hp_usb_scan(c->host, &inv) >= 0 && (r = hp_ops_usb_entry_check(c, name, e, inv, false)) < 0)
                return r;
        r = hp_vm_add_usb(&v.spec, e, &msg);
        if (r < 0)
                return refused(c, r, msg);
        *ret_index = r;
        return save(c, &v, ret);
}

int hp_ops_vm_remove_device(struct hp_ops_ctx *c, const char *name, const char *which, json_t **ret)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        char *msg = NULL;
        int r;

        r = hp_ops_vm_load(c, name, "vm remove-device", true, &v);
        if (r >= 0)
                r = require_off(c, &v, "devices are removed");
        if (r < 0)
                return r;
        r = hp_vm_remove_device(&v.spec, which, &msg);
        if (r < 0)
                return refused(c, r, msg);
        return save(c, &v, ret);
}

int hp_ops_vm_autostart(struct hp_ops_ctx *c, const char *name, int order, unsigned delay, json_t **ret)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        int r;

        if (order > HP_VM_MAX_AUTOSTART_ORDER || delay > HP_VM_MAX_AUTOSTART_DELAY)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "autostart order 0 to %d, delay 0 to %d seconds",
                                  HP_VM_MAX_AUTOSTART_ORDER, HP_VM_MAX_AUTOSTART_DELAY);
        r = hp_ops_vm_load(c, name, "vm autostart", true, &v);
        if (r < 0)
                return r;
        v.spec.autostart_order = order < 0 ? -1 : order;
        v.spec.autostart_delay = order < 0 ? 0 : delay;
        return save(c, &v, ret);
}

int hp_ops_vm_console_open(const char *run_dir, const char *name)
{
        _cleanup_close_ int fd = -1;
        char path[768];
        struct stat st;

        hp_ops_vm_run_file(run_dir, name, "serial.log", path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        return S_ISREG(st.st_mode) ? TAKE_FD(fd) : -EBADFD;
}

const char *hp_ops_vm_console_strerror(int r)
{
        if (r == -ELOOP || r == -EBADFD)
                return "it is not a regular file (a link or a device put there, not by hwpass): "
                       "stop the VM and start it again";
        return strerror(r < 0 ? -r : r);
}

void hp_ops_vm_remove_run_dir(const char *dir)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *e;

        while (d && (e = readdir(d)))
                if (e->d_name[0] != '.')
                        (void)unlinkat(dirfd(d), e->d_name, 0);
        (void)rmdir(dir);
}

int hp_ops_vm_delete(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        char run_dir[512], vars[512];
        int r;

        r = hp_ops_vm_load(c, name, "vm delete", true, &v);
        if (r >= 0)
                r = require_off(c, &v, "it is deleted");
        if (r < 0)
                return r;
        r = hp_store_vm_delete(v.store, v.spec.name);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot delete VM '%s'", v.spec.name);
        hp_ops_vm_paths(c, v.spec.name, run_dir, vars, sizeof(run_dir));
        /* The definition is gone either way; files left are only disk. */
        (void)hp_vm_firmware_remove(vars);
        hp_ops_vm_remove_run_dir(run_dir);
        (void)hp_store_event_add(v.store, "vm-deleted", v.spec.name, NULL);
        *ret = json_pack("{s:s, s:b}", "name", v.spec.name, "deleted", 1);
        return *ret ? 0 : hp_op_oom(c);
}

int hp_ops_vm_state_op(struct hp_ops_ctx *c, const char *name, const char *op)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        char *msg = NULL;
        int r = hp_ops_vm_load(c, name, op, false, &v);

        if (r < 0)
                return r;
        r = hp_vm_rule_state_op(&v.spec, op, &msg);
        return refused(c, r, msg);
}

/* What a VM's QEMU gets as its own user (vm/user.h): the range its uid comes
 * from, the files handed to it while the VM runs (its run directory, the
 * VFIO group files of its devices, its USB device nodes, its disks and EFI
 * variable store), how much memory it may lock, and the check, before
 * anything is started, that it can reach every file its command line names. */
#include "qemuuser.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/usb.h"
#include "ops.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/qemu.h"
#include "vm/spec.h"

static int users_get(struct hp_ops_ctx *c, struct hp_vm_users *ret)
{
        _cleanup_free_ char *err = NULL;
        int r = hp_vm_users_get(NULL, ret, &err);

        if (r < 0)
                return hp_op_fail(c, HP_OP_INVALID, r, "%s", err ? err : "bad QEMU users");
        return 0;
}

/* hwpass's own directories above a VM's files: searchable by anyone (not
 * listable), so QEMU's user gets to the files it was handed. */
static void searchable(const char *dir)
{
        struct stat st;

        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH))
                (void)chmod(dir, (st.st_mode & 07777) | S_IXGRP | S_IXOTH);
}

static void user_dirs(const struct hp_ops_ctx *c, const char *name)
{
        char path[768];

        searchable(c->run_dir);
        snprintf(path, sizeof(path), "%s/vms", c->run_dir);
        searchable(path);
        searchable(c->state_dir);
        snprintf(path, sizeof(path), "%s/vms", c->state_dir);
        searchable(path);
        snprintf(path, sizeof(path), "%s/vms/%s", c->state_dir, name);
        searchable(path);
}

/* A device node below the host root (rel "dev/vfio/12"), as an absolute path. */
static int push_dev(const struct hp_ops_ctx *c, char ***v, const char *rel)
{
        const char *root = c->host_root && !streq(c->host_root, "/") ? c->host_root : "";

        return hp_strv_pushf_unique(v, "%s/%s", root, rel);
}

static int push_usb(const struct hp_ops_ctx *c, const struct hp_vm_spec *s,
                    const struct hp_qemu_usb_host *usb, char ***v)
{
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *inv = NULL;

        if (s->n_usb == 0 || hp_usb_scan(c->host, &inv) < 0)
                return 0; /* none, or none plugged in that QEMU could open either */
        for (size_t i = 0; i < s->n_usb; i++)
                for (size_t k = 0; k < inv->n_devs; k++) {
                        const struct hp_usb_dev *d = &inv->devs[k];
                        bool match;

                        if (d->is_root_hub)
                                continue;
                        if (usb[i].by_port)
                                match = d->busnum == usb[i].bus && d->port_path &&
                                        streq(d->port_path, usb[i].port);
                        else if (usb[i].hostaddr > 0)
                                match = d->busnum == usb[i].bus && d->devnum == usb[i].hostaddr;
                        else /* by ID: QEMU takes whichever matches */
                                match = d->vendor_id == usb[i].vendor_id &&
                                        d->product_id == usb[i].product_id;
                        char rel[64];

                        snprintf(rel, sizeof(rel), "dev/bus/usb/%03d/%03d", d->busnum, d->devnum);
                        if (match && push_dev(c, v, rel) < 0)
                                return -ENOMEM;
                }
        return 0;
}

static int user_files(struct hp_ops_ctx *c, const struct hp_vm_spec *s,
                           const char (*addrs)[HP_SBDF_LEN], size_t n_addrs,
                           const struct hp_qemu_usb_host *usb, const char *run_dir,
                           const char *vars, char ***ret)
{
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        char resolved[PATH_MAX];

        /* Its directory, and the files of an earlier run it writes again. */
        if (!v || hp_strv_pushf(&v, "%s", run_dir) < 0 ||
            hp_strv_pushf(&v, "%s/serial.log", run_dir) < 0 ||
            hp_strv_pushf(&v, "%s/qemu.pid", run_dir) < 0)
                return hp_op_oom(c);
        for (size_t i = 0; i < n_addrs; i++) {
                char rel[128], target[256];
                const char *base;
                uint64_t group;

                snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/iommu_group", addrs[i]);
                if (hp_host_readlink(c->host, rel, target, sizeof(target)) < 0)
                        continue; /* no group: QEMU fails on the device, and says so */
                base = strrchr(target, '/');
                if (hp_parse_u64(base ? base + 1 : target, 10, &group) < 0 || group > INT32_MAX)
                        continue;
                snprintf(rel, sizeof(rel), "dev/vfio/%" PRIu64, group);
                if (push_dev(c, &v, rel) < 0)
                        return hp_op_oom(c);
        }
        if (push_usb(c, s, usb, &v) < 0)
                return hp_op_oom(c);
        /* The files it writes; the read-only ones (kernel, ROM files, EFI
         * code) it only reads, and they stay as they are. */
        for (size_t i = 0; s->disks[i]; i++)
                if (hp_strv_pushf_unique(
                            &v, "%s", realpath(s->disks[i], resolved) ? resolved : s->disks[i]) < 0)
                        return hp_op_oom(c);
        if (s->firmware == HP_VM_FIRMWARE_EFI && hp_strv_pushf(&v, "%s", vars) < 0)
                return hp_op_oom(c);
        *ret = TAKE_PTR(v);
        return 0;
}

static uint64_t memlock_of(const struct hp_vm_spec *s, size_t n_pci)
{
        /* The guest's memory, locked by mem-lock=on; again when devices are
         * assigned (VFIO counts what it pins on its own); and a GiB for QEMU
         * itself (its code, TCG's translation cache, ROMs), as libvirt allows. */
        return (s->memory_mib * (n_pci > 0 ? 2 : 1) + 1024) << 20;
}

static int reach(struct hp_ops_ctx *c, const struct hp_vm_users *u, const char *name,
                 const char *what, const char *path, bool want_read)
{
        _cleanup_free_ char *blocker = NULL;
        int r = hp_vm_user_can_reach(path, (uid_t)u->base, (gid_t)u->base, (gid_t)-1, want_read,
                                     &blocker);

        if (r == -ENOMEM)
                return hp_op_oom(c);
        if (r < 0)
                return hp_op_fail(
                        c, HP_OP_REFUSED, r,
                        "cannot start '%s': its QEMU runs as a user of its own (uid %u up), which "
                        "cannot %s its %s %s: %s stops it; let others %s it (chmod o+%s) or move "
                        "the "
                        "file where they can",
                        name, u->base, want_read ? "read" : "reach", what, path, blocker,
                        hp_startswith(blocker, "file") ? "read" : "search",
                        hp_startswith(blocker, "file") ? "r" : "x");
        return 0;
}

static int user_check(struct hp_ops_ctx *c, const struct hp_vm_users *u,
                           const struct hp_vm_spec *s, uint64_t memlock, char *const *own,
                           const char *const *romfiles, const char *ovmf_code)
{
        int r;

        uint64_t limit;

        if (u->count == 0)
                return 0;
        if (hp_vm_user_memlock_check(memlock, &limit) < 0)
                return hp_op_fail(
                        c, HP_OP_REFUSED, -EPERM,
                        "cannot start '%s': its QEMU runs as a user of its own, which must lock "
                        "%" PRIu64 " MiB, and the locked-memory limit here is %" PRIu64
                        " MiB, which hwpass may not raise (it lacks CAP_SYS_RESOURCE): run it with "
                        "that capability, as its systemd units do, or set " HP_VM_USERS_ENV
                        "=off to run QEMU as root",
                        s->name, memlock >> 20, limit >> 20);
        for (size_t i = 0; own[i]; i++) {
                size_t n = strlen(own[0]);

                /* The run directory's files: within reach once it is handed over. */
                if (i > 0 && strncmp(own[i], own[0], n) == 0 && own[i][n] == '/')
                        continue;
                if ((r = reach(c, u, s->name, i == 0 ? "run directory" : "file", own[i], false)) <
                    0)
                        return r;
        }
        if (s->kernel && (r = reach(c, u, s->name, "kernel", s->kernel, true)) < 0)
                return r;
        for (size_t i = 0; romfiles && romfiles[i]; i++)
                if ((r = reach(c, u, s->name, "ROM file", romfiles[i], true)) < 0)
                        return r;
        if (s->firmware == HP_VM_FIRMWARE_EFI && ovmf_code &&
            (r = reach(c, u, s->name, "EFI firmware", ovmf_code, true)) < 0)
                return r;
        return 0;
}

void hp_ops_qemu_user_done(struct hp_ops_qemu_user *q)
{
        hp_strv_free(q->own);
        q->own = NULL;
}

int hp_ops_qemu_user_plan(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const char (*addrs)[HP_SBDF_LEN],
                          size_t n_addrs, const struct hp_qemu_usb_host *usb, const char *run_dir,
                          const char *vars, const char *const *romfiles, const char *ovmf_code,
                          struct hp_ops_qemu_user *ret)
{
        int r;

        *ret = (struct hp_ops_qemu_user){ .memlock = memlock_of(s, n_addrs) };
        snprintf(ret->users_dir, sizeof(ret->users_dir), "%s/" HP_VM_USERS_DIR, c->run_dir);
        r = users_get(c, &ret->users);
        if (r < 0 || ret->users.count == 0)
                return r;
        user_dirs(c, s->name);
        r = user_files(c, s, addrs, n_addrs, usb, run_dir, vars, &ret->own);
        if (r >= 0)
                r = user_check(c, &ret->users, s, ret->memlock, ret->own, romfiles, ovmf_code);
        if (r < 0)
                hp_ops_qemu_user_done(ret);
        return r;
}

/* A VM's QEMU as a user of its own (vm/user.h): the range, the files it is
 * handed, its locked-memory limit, and whether it can reach its files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/pci.h"
#include "vm/user.h"

struct hp_ops_ctx;
struct hp_qemu_usb_host;
struct hp_vm_spec;

/* What a VM's QEMU gets as its user. */
struct hp_ops_qemu_user {
        struct hp_vm_users users; /* HWPASS_QEMU_USERS (hwpassd --qemu-users sets it), else the
                                   * default; count 0 when off */
        char **own;               /* what the user owns while the VM runs (NULL when off): the run
                                   * directory first, the VFIO group files of its devices, its USB
                                   * device nodes, its disks (resolved), with EFI its variables */
        uint64_t memlock;         /* the bytes its QEMU may lock (set when off too) */
        char users_dir[512];      /* RUN_DIR/users: the uids' lock files */
};
void hp_ops_qemu_user_done(struct hp_ops_qemu_user *q);

/* The plan for spec's QEMU, whose devices are addrs, USB entries usb (one
 * per spec entry, or NULL), EFI variables vars: hwpass's directories above
 * its files made searchable by anyone, then checked, before anything runs,
 * that the user can reach each file of own and read the kernel, romfiles
 * (NULL-terminated, or NULL) and ovmf_code (or NULL), and be let lock its
 * memory. HP_OP_INVALID for a bad range, HP_OP_REFUSED (saying what stops
 * it and the fix) when it could not; nothing is kept then. */
int hp_ops_qemu_user_plan(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const char (*addrs)[HP_SBDF_LEN],
                          size_t n_addrs, const struct hp_qemu_usb_host *usb, const char *run_dir,
                          const char *vars, const char *const *romfiles, const char *ovmf_code,
                          struct hp_ops_qemu_user *ret);

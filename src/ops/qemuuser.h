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

/* The range: HWPASS_QEMU_USERS (hwpassd --qemu-users sets it), else the
 * default; count 0 when off. HP_OP_INVALID for a bad setting. */
int hp_ops_qemu_users(struct hp_ops_ctx *c, struct hp_vm_users *ret);
/* Makes hwpass's directories above the VM's files searchable by anyone. */
void hp_ops_qemu_user_dirs(const struct hp_ops_ctx *c, const char *name);
/* What the user owns while the VM runs: run_dir first, then the VFIO group
 * files of addrs, the USB device nodes usb resolves to, the disks (resolved)
 * and, with EFI, the variable store vars. */
int hp_ops_qemu_user_files(struct hp_ops_ctx *c, const struct hp_vm_spec *s,
                           const char (*addrs)[HP_SBDF_LEN], size_t n_addrs,
                           const struct hp_qemu_usb_host *usb, const char *run_dir,
                           const char *vars, char ***ret);
/* The bytes its QEMU may lock. */
uint64_t hp_ops_qemu_memlock(const struct hp_vm_spec *s, size_t n_pci);
/* Refuses (HP_OP_REFUSED, saying what stops it and the fix) a start whose
 * QEMU user could not be let lock memlock bytes, could not reach a file of
 * own, or read its kernel, ROM files (NULL-terminated, or NULL) or EFI code. */
int hp_ops_qemu_user_check(struct hp_ops_ctx *c, const struct hp_vm_users *u,
                           const struct hp_vm_spec *s, uint64_t memlock, char *const *own,
                           const char *const *romfiles, const char *ovmf_code);

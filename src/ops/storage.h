/* Where a VM's files may lie on its host (docs: "Host paths"): under the
 * storage directories, in hwpass's own data directory (the probe guest's),
 * or, for a block device, on the allow-list. An API caller who may define
 * VMs could otherwise hand QEMU, which runs as root, any file of the host
 * (a disk "/etc/shadow"). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct hp_ops_ctx;
struct hp_vm_spec;

/* The storage directories when none are set: STATE_DIR/images. */
#define HP_STORAGE_DIR_DEFAULT "images"
/* Colon-separated lists, read when the context sets none (the CLI; hwpassd
 * takes them when given no --storage-dir, --block-device). */
#define HP_STORAGE_DIRS_ENV  "HWPASS_STORAGE_DIRS"
#define HP_BLOCK_DEVICES_ENV "HWPASS_BLOCK_DEVICES"

/* The storage directories as c has them: its own, else the environment's,
 * else STATE_DIR/images; then the probe guest's directory. NULL-terminated. */
int hp_ops_storage_dirs(const struct hp_ops_ctx *c, char ***ret);
/* The block devices allowed: c's own, else the environment's. */
int hp_ops_block_devices(const struct hp_ops_ctx *c, char ***ret);

/* Whether path, its symlinks resolved, lies under a storage directory, or
 * is an allowed block device. A path that does not resolve (not there) is
 * not allowed. */
bool hp_ops_storage_allows(const struct hp_ops_ctx *c, const char *path);

/* One of a VM's files: what names it ("disk", "kernel", "pci0's ROM
 * file"); missing_ok and kind as below. */
int hp_ops_storage_check(struct hp_ops_ctx *c, const char *what, const char *path, bool missing_ok,
                         int kind);
/* The VM's disks, kernel and ROM files each checked (error in c, saying
 * which file and how to allow it). missing_ok: a file not there is passed
 * over (a definition on a machine that does not see it: its host checks at
 * power-on). kind: what a refusal is (HP_OP_INVALID at definition,
 * HP_OP_REFUSED at power-on). */
int hp_ops_storage_check_spec(struct hp_ops_ctx *c, const struct hp_vm_spec *s, bool missing_ok,
                              int kind);

/* The host's VMs with files outside the storage directories (defined
 * before they were checked, or moved): {"vms": [{"name", "paths": [...]}]},
 * each also recorded as an event "vm-paths-outside" saying what to do. Their
 * power-on is refused until the files are moved or their directory allowed.
 * hwpassd runs it at start (after an upgrade, the first). */
int hp_ops_storage_audit(struct hp_ops_ctx *c, json_t **ret);

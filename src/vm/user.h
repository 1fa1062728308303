/* QEMU's own user. Each VM's QEMU runs under a uid of its own, taken from a
 * reserved range (as libvirt's dynamic ownership hands a VM its files, with
 * one user per VM instead of one for all): while the VM runs that user owns
 * its run directory, its /dev/vfio/N group files, its USB device nodes and
 * its writable images, and nothing else, so a guest that breaks out of QEMU
 * cannot open another VM's devices or disks, nor a free device's group. The
 * supervisor takes the uid (a lock file per uid under RUN_DIR/users, held
 * for the VM's life), hands the files over before QEMU starts and back when
 * it exits; a supervisor killed meanwhile leaves the lock file saying what to
 * hand back, and whoever takes that uid next does it first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The range: count 0 means off (QEMU runs as the supervisor, root). */
struct hp_vm_users {
        uint32_t base, count;
};

/* Outside the ranges systemd and Debian give to users, system services and
 * containers (0x70000000 up is left unassigned by both). Plain decimals:
 * they are printed in help texts. */
#define HP_VM_USERS_DEFAULT_BASE  1879048192
#define HP_VM_USERS_DEFAULT_COUNT 65536
#define HP_VM_USERS_ENV           "HWPASS_QEMU_USERS"
/* The uids' lock files, under the run directory. */
#define HP_VM_USERS_DIR "users"

/* "BASE:COUNT" or "off"; -EINVAL with a message in *ret_error otherwise. */
int hp_vm_users_parse(const char *s, struct hp_vm_users *ret, char **ret_error);
/* set, else $HWPASS_QEMU_USERS, else the default range; off when this
 * process is not root (it could not change user). */
int hp_vm_users_get(const char *set, struct hp_vm_users *ret, char **ret_error);

/* One VM's user, taken. */
struct hp_vm_user {
        uid_t uid;        /* its gid is the same number */
        gid_t kvm_gid;    /* the group of /dev/kvm (a supplementary group), or (gid_t)-1 */
        uint64_t memlock; /* bytes it may lock: the guest's memory and QEMU's own */
        int lock_fd;      /* RUN_DIR/users/UID, held while the VM runs; -1 when off */
        char *lock_path;
};
#define HP_VM_USER_NONE                                                                            \
        ((struct hp_vm_user){ .uid = (uid_t)-1, .kvm_gid = (gid_t)-1, .lock_fd = -1 })

/* Takes the lowest free uid of the range for vm: creates users_dir, locks
 * its file, hands back what a dead holder left. -EUSERS when every uid of
 * the range is taken. */
int hp_vm_user_take(const char *users_dir, const struct hp_vm_users *range, const char *vm,
                    const char *kvm_dev, struct hp_vm_user *ret);
/* Hands paths (absolute, symlinks not followed) to the user, recording each
 * one's owner in the lock file first. A path that does not exist is skipped;
 * any other failure hands back what was handed and returns -errno, with the
 * path in *ret_failed (borrowed from paths). */
int hp_vm_user_hand(struct hp_vm_user *u, char *const *paths, const char **ret_failed);
/* hp_vm_user_take() and hp_vm_user_hand() in one, with memlock set: with
 * range->count 0, *ret is the unchanged user (QEMU runs as this process)
 * with only the limit. On failure nothing stays taken or handed, and
 * *ret_error (malloc'd) says why and what to do. */
int hp_vm_user_start(const char *users_dir, const struct hp_vm_users *range, const char *vm,
                     char *const *own, uint64_t memlock, struct hp_vm_user *ret, char **ret_error);
/* Gives every handed path back to its owner (those still the user's), clears
 * the record and releases the uid. Accepts an unset user. */
void hp_vm_user_release(struct hp_vm_user *u);

/* The uids a dead supervisor of vm left taken (its hand-back never ran):
 * what their lock files record is handed back now, and the files cleared,
 * rather than when the uid is next taken. A uid still held is left alone.
 * Returns how many were, or -errno if users_dir cannot be read. */
int hp_vm_user_reclaim_vm(const char *users_dir, const char *vm);

/* A VM's run directory still owned by a QEMU user whose supervisor died
 * (its hand-back never ran): taken back, as hp_vm_user_release() would,
 * before anything is written there. 1 when it was, 0 when it is ours. */
int hp_vm_user_reclaim_dir(const char *dir);

/* Can a QEMU user be given a locked-memory limit of need bytes: the
 * current hard limit (*ret_limit) is at least that, or this process may
 * raise it? -EPERM when not. */
int hp_vm_user_memlock_check(uint64_t need, uint64_t *ret_limit);

/* In the forked child, just before exec: the memory lock limit, the user
 * and its groups, no new privileges, killed when the supervisor dies. */
int hp_vm_user_become(const struct hp_vm_user *u, pid_t supervisor);

/* argv exec'd in a forked child that becomes u (above), its stdin
 * /dev/null, stdout and stderr log_fd (-1: inherited); bin is its path, or
 * NULL to search PATH for argv[0]. -errno of a failure before the exec. */
int hp_vm_user_spawn(const struct hp_vm_user *u, const char *bin, char *const *argv, int log_fd,
                     pid_t *ret);

/* Can uid (and group gid, and supplementary group kvm_gid) reach path: search
 * every directory above it, and read it when want_read? -EACCES with
 * *ret_blocker (malloc'd) naming the directory or file that stops it and
 * its mode. */
int hp_vm_user_can_reach(const char *path, uid_t uid, gid_t gid, gid_t kvm_gid, bool want_read,
                         char **ret_blocker);

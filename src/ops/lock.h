/* Locks that fit the work and hold across processes (the CLI with no daemon,
 * hwpassd's threads, a supervisor): flock(2) on one file per IOMMU group or
 * VM under RUN_DIR/locks/. Each lock opens its own file, so two threads of
 * one process exclude each other as two processes do.
 *
 * Lock order, to never deadlock: a VM's lock first, then IOMMU groups in
 * ascending number (a device without a group counts by its address, after
 * every group). hp_ops_lock_groups() takes its groups in that order itself.
 *
 * A lock that stays busy past its wait is an HP_OP_CONFLICT naming the
 * operation that holds it, never an endless wait behind a slow one. */
#pragma once

#include <stddef.h>

struct hp_ops_ctx;

struct hp_ops_lock {
        int *fds;
        size_t n;
};
void hp_ops_unlock(struct hp_ops_lock *l); /* accepts a zeroed or released one */

/* How long a lock is waited for before the operation is refused. */
#define HP_OPS_LOCK_WAIT_MS 10000

/* The VM's lock; what describes the operation to whoever waits ("vm stop"). */
int hp_ops_lock_vm(struct hp_ops_ctx *c, const char *vm, const char *what, struct hp_ops_lock *ret);
/* The IOMMU groups of the devices at addresses (canonical; read from each
 * device's iommu_group link, which never changes while it exists; a device
 * that is not there is skipped), in lock order; added to *l, which may
 * already hold a VM's lock. */
int hp_ops_lock_groups(struct hp_ops_ctx *c, char *const *addresses, size_t n, const char *what,
                       struct hp_ops_lock *l);

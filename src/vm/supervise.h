/* Starting a VM's QEMU under a supervisor process that outlives the command:
 * it waits for QMP, records the VM as running, and when QEMU exits, resets and
 * releases the VM's devices (quarantining any that fail to reset) and records
 * the VM as off. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "user.h"

/* A running VM keeps its files in RUN_DIR/vms/NAME/ (qmp.sock, qemu.pid,
 * serial.log, qemu.log), the run directory being a setting (ops/ops.h). */

struct hp_store;
struct hp_vm_record;

struct hp_vm_launch {
        const char *name;
        char *const *argv;      /* QEMU */
        const char *run_dir;    /* qmp.sock, qemu.pid, serial.log, qemu.log */
        const char *db_path;    /* the supervisor opens its own store connection */
        const char *host_root;
        char (*devices)[13];    /* assigned PCI devices: reset and released at exit */
        size_t n_devices;
        const char *actor;      /* who started it: its events are recorded for them, or NULL */
        /* Recorded once QEMU runs, before the launch returns, so the command
         * has nothing left to write: a file of run_dir (its name, no '/')
         * with its text, and an event after "vm-started"; each NULL for none. */
        const char *record_file, *record_text;
        const char *event_kind, *event_detail;
        /* QEMU's own user (user.h), from this range (count 0: QEMU runs as
         * the supervisor), its lock files in users_dir; handed the paths of
         * own (its run directory, VFIO group files, USB device nodes,
         * writable images) while it runs. */
        struct hp_vm_users users;
        const char *users_dir;
        char *const *own;
        uint64_t memlock; /* bytes QEMU may lock; 0: as inherited */
};

/* The supervisor: a process in a session of its own, started ahead of time,
 * while the command still plans the start, so its start-up does not add to
 * the power-on. SQLite forbids using a database in a forked copy of a
 * process that has it open, and a fork of a process with other threads may
 * only exec: such a launcher (hwpassd) execs a fresh hwpass ('hwpass vm
 * supervise RUN_DIR'). A command of one thread with no store open yet forks
 * it, which is several milliseconds faster. */
struct hp_vm_launcher {
        pid_t pid; /* the process started: reaped when the launch ends (see reap()) */
        int fd; /* our end of its socket pair; -1 once handed over or cancelled */
        bool forked; /* a fork of this process, not an exec */
};
/* may_fork: the caller runs one thread (the store is checked here). */
int hp_vm_launcher_start(const char *run_dir, bool may_fork, struct hp_vm_launcher *ret);
/* The start did not happen: the waiting supervisor exits. Accepts a launcher
 * already handed over. */
void hp_vm_launcher_cancel(struct hp_vm_launcher *lr);
/* Hands the launch (RUN_DIR/launch.json) to the supervisor. Returns once QMP
 * reports the VM running (0), or the start failed: QEMU is gone, its devices
 * released, *ret_error (malloc'd) says why. */
int hp_vm_launch(struct hp_vm_launcher *lr, const struct hp_vm_launch *l, int timeout_ms, char **ret_error);

/* The supervisor's body, in the exec'd process: status goes to status_fd. */
int hp_vm_supervise(const char *run_dir, int status_fd);

/* After a guest used them: each device is reset (a device whose reset fails
 * is quarantined, counted in *ret_quarantined) and every device of vm is
 * released in the store. */
int hp_vm_reset_and_release(struct hp_store *s, const char *host_root, const char *vm, char (*devices)[13],
                            size_t n_devices, size_t *ret_quarantined);

/* Whether the record says the VM is up while its supervisor is gone
 * (killed without recording the end; its QEMU went with it). */
bool hp_vm_record_orphaned(const struct hp_vm_record *rec);
/* An orphaned record (above) is put right: devices released, state off,
 * a "vm-lost" event, and what its QEMU user was handed (group files,
 * images, its run directory under run_dir) given back; rec->state follows.
 * Returns 1 when it was put right, 0 when the record holds (off, or its
 * supervisor lives). */
int hp_vm_record_settle(struct hp_store *s, const char *run_dir, struct hp_vm_record *rec);

/* What an agent does to converge on a controller's answer (docs/cluster.md):
 * the VMs the host should run, each at an epoch, against what it runs and
 * the highest epoch it has ever run of each. Pure: no I/O.
 *
 * The epochs make it safe against stale orders: an answer from a controller
 * that has not seen a newer claim (a lower epoch than the host ran) is
 * refused, never carried out; a run whose epoch is below the desired one is
 * a stale copy (the VM was claimed again, perhaps elsewhere) and is stopped
 * before anything starts. An epoch runs at most once, anywhere: a run that
 * ended (the guest powered off, QEMU died, the start failed) is not started
 * again at the same epoch; the host reports it, and the controller claims
 * the VM again, with a new epoch, if it should run. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A run the controller wants on this host. */
struct hp_run_desired {
        const char *vm;
        int64_t epoch; /* >= 1 */
};

enum hp_run_state {
        HP_RUN_STARTING,
        HP_RUN_RUNNING,
        HP_RUN_STOPPING,
};

/* A run this host has now (a QEMU under its supervisor). */
struct hp_run_local {
        const char *vm;
        int64_t epoch;
        enum hp_run_state state;
};

/* The highest epoch of a VM this host ever started (or refused), from its
 * local record, written before the start is tried. */
struct hp_run_seen {
        const char *vm;
        int64_t epoch;
};

enum hp_reconcile_action {
        HP_RECONCILE_STOP,   /* stop the local run: stale, or not wanted here */
        HP_RECONCILE_START,  /* start the desired run (after every stop is done) */
        HP_RECONCILE_REFUSE, /* a desired run older than what this host ran: tell the controller */
};

struct hp_reconcile_step {
        enum hp_reconcile_action action;
        const char *vm;  /* points into the inputs */
        int64_t epoch;   /* STOP: the local run's; START/REFUSE: the desired one's */
        const char *why; /* a static phrase for logs and events */
};

/* The steps, stops first (in local order), then starts and refusals (in
 * desired order). A run that is desired at its own epoch needs nothing; a
 * run already stopping is left to finish; a desired run whose VM is still
 * running (or stopping) at an older epoch starts only after its stop, so it
 * is left for a later round; a desired run at an epoch that already ran
 * here and ended is left alone. -EINVAL for a VM named twice in desired or in
 * local, or an epoch below 1; -ENOMEM. *ret is NULL when nothing is to be done. */
int hp_reconcile_plan(const struct hp_run_desired *desired, size_t n_desired, const struct hp_run_local *local,
                      size_t n_local, const struct hp_run_seen *seen, size_t n_seen,
                      struct hp_reconcile_step **ret, size_t *ret_n);

/* The cluster's VMs on an agent's host (docs/cluster.md "Epochs"): the
 * local record of the highest epoch of each VM this host has started,
 * written before the start, what the heartbeat reports of them, and the
 * answer's VMs carried out with the reconcile plan (alloc/reconcile.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct hp_ops_ctx;

struct hp_agent_runs;

/* The record is STATE_DIR/cluster-runs.json; a missing one is empty. */
int hp_agent_runs_open(const struct hp_ops_ctx *ops, struct hp_agent_runs **ret);
void hp_agent_runs_free(struct hp_agent_runs *r);

/* The host's own VMs, those the cluster does not run here (not in the
 * record), for the cluster to adopt: [{"name", "spec", "state", "devices":
 * [the addresses it holds]}]. An existing standalone host that joins keeps
 * its VMs this way. */
json_t *hp_agent_runs_local_vms(struct hp_agent_runs *r, struct hp_ops_ctx *ops);
/* The cluster adopted vm at epoch (0: it is off): recorded as a run of
 * this host at that epoch, so a VM that runs is not started again. */
int hp_agent_runs_adopted(struct hp_agent_runs *r, const char *vm, int64_t epoch);

/* The heartbeat's "vms": [{"name", "epoch", "state", "error"?}] of every
 * VM in the record, its state from this host's store. */
json_t *hp_agent_runs_report(struct hp_agent_runs *r, struct hp_ops_ctx *ops);

/* The answer's "vms" ([{"name", "epoch", "spec", "elsewhere"}]: each
 * epoch recorded with whether HA would restart the VM on another host) and
 * "stops" ({"VM": {}}) carried out: stale or unwanted runs stopped, then the wanted ones
 * started at their epoch with the spec given (its devices named), each in a
 * thread of its own, so this returns at once; a VM whose start or stop
 * still runs is left to the next answer. A run stops by ACPI (forced after
 * a while) when its VM is in stops, asked to power off; one in neither
 * list, or at an older epoch than wanted, runs elsewhere now (the cluster
 * failed this host, or claimed the VM again): it is powered off at once.
 * stops NULL (a controller from before it was sent): every stop by ACPI.
 * Logged to stderr. True when the host is settled: no stop planned or
 * under way (a host is ready only then: its stale runs are gone). */
bool hp_agent_runs_apply(struct hp_agent_runs *r, struct hp_ops_ctx *ops, json_t *vms,
                         json_t *stops);

/* The isolation response (docs/cluster.md "Isolation"), for a host cut off
 * from the cluster (why says how) before its lease ends in left_ms (0: it
 * may have ended, as the fence finds): every cluster VM that
 * runs here, unless its isolation is "leave-running", is stopped in a
 * thread of its own: at once ("power-off", the default) or by ACPI first,
 * forced before the lease ends ("shutdown"). Each such run is recorded as
 * ended by isolation first, so it is never started again at its epoch and
 * is reported off with "isolated" (the cluster restarts it). With
 * elsewhere_only (the fence), only runs HA would restart on another host
 * (the answer's "elsewhere"; a pinned VM, or one HA leaves, cannot run
 * twice). Returns how many stops were begun. */
int hp_agent_runs_isolate(struct hp_agent_runs *r, struct hp_ops_ctx *ops, int64_t left_ms,
                          const char *why, bool elsewhere_only);
/* How many of the cluster's VMs here are not off: all of them, or only
 * those the isolation response is stopping (isolated_only). */
int hp_agent_runs_running(struct hp_agent_runs *r, struct hp_ops_ctx *ops, bool isolated_only);

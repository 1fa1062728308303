/* What the controller's files share. Not for use outside src/ctl/. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc/place.h"
#include "alloc/select.h"
#include "ctl.h"
#include "host/pci.h"

struct hp_cluster_vm;
struct hp_dev_config;
struct hp_host_info;
struct hp_store;
struct hp_store_claim;
struct hp_store_inventory;
struct hp_vm_spec;

/* A power-on's claim (hp_store_claim(), its outcome returned the same way),
 * committed with the claims other threads of this process make on db at
 * the same moment (claims.c); the calling thread may run them all, with s. */
int hp_ctl_claim(struct hp_store *s, const char *db, const struct hp_store_claim *c,
                 int64_t *ret_epoch, char **ret_conflict);

/* Hosts a controller shows: those that joined and were not removed (the
 * store's own "local" never joins). */
bool hp_ctl_host_shown(const struct hp_host_info *h);
/* Whether h heartbeat once and has been silent for its lease and
 * margin_ms (hp_ctl_margin_ms(): what keeps a slow host from being taken
 * for a dead one), by the database's clock when it was listed. */
bool hp_ctl_host_silent(const struct hp_host_info *h, int64_t margin_ms);
/* h's state: maintenance before all, then connected while its lease lives. */
enum hp_ctl_host_state hp_ctl_host_state(const struct hp_host_info *h, int64_t margin_ms);
/* The host's devices as GET /v1/devices?host=NAME shows them (each reported
 * document with the cluster's settings over it, and "host"), appended to
 * out. Switches the connection to host. */
int hp_ctl_host_devices(struct hp_store *s, const char *host, json_t *out);

/* The host's last report, parsed; NULL when it sent none (or it is damaged).
 * A reference to a document other threads may hold too: never changed. */
json_t *hp_ctl_report(struct hp_store *s, const char *host);
/* The same of the report's text (may be NULL) that came at at_ms (0: not
 * known), parsed only when the host's last one parsed was not this text. */
json_t *hp_ctl_report_parse(const char *host, const char *text, int64_t at_ms);
/* The memory a report says a new VM can have, or HP_PLACE_MEMORY_UNKNOWN. */
uint64_t hp_ctl_report_memory(json_t *report);

/* A host's devices as placement takes them (inventory.c): one candidate per
 * cluster row whose device the host reports, its identity and place from
 * the report, its settings from the row. */
struct hp_ctl_host_devs {
        struct hp_dev_config *rows;
        size_t n_rows;
        json_t *report;
        struct hp_pci_dev *devs; /* the candidates' devices */
        struct hp_alloc_candidate *cands;
        size_t n;
};
/* Switches the connection to host. */
int hp_ctl_host_devs_load(struct hp_store *s, const char *host, struct hp_ctl_host_devs *ret);
/* Every host's rows and report, sorted by host for hp_ctl_host_devs_from(). */
int hp_ctl_inventories_load(struct hp_store *s, struct hp_store_inventory **ret, size_t *ret_n);
/* host's devices from inventories inv[0..n) (its rows taken; none: no devices). */
int hp_ctl_host_devs_from(struct hp_store_inventory *inv, size_t n, const char *host,
                          struct hp_ctl_host_devs *ret);
/* The same, from rows read already: takes inv's rows and report (parsed; may be NULL). */
int hp_ctl_host_devs_make(struct hp_store_inventory *inv, json_t *report,
                          struct hp_ctl_host_devs *ret);
void hp_ctl_host_devs_done(struct hp_ctl_host_devs *h);

/* The spec of VM name (s, as stored) for its host to run: every
 * dynamic entry replaced by static ones naming the devices the VM holds
 * there, matched to the entries by the same matcher placement used; NULL
 * when they no longer match (a label changed since the claim). */
json_t *hp_ctl_resolved_spec(const char *name, const struct hp_vm_spec *s,
                             const struct hp_ctl_host_devs *h);

/* After VM name's start failed on its host at failed_epoch (the heartbeat
 * that said so gave the claim back and kept the failure): placed again,
 * on the best host where it has not failed in this power-on, unless it was
 * stopped or started again since. What happened goes to the events
 * ("vm-start-retried", "vm-start-given-up"), not to the caller: the host
 * whose heartbeat brought the failure is not the one to tell. 0, or -errno
 * when even the event could not be written. */
int hp_ctl_vm_retry(struct hp_ops_ctx *c, const char *name, int64_t failed_epoch);

/* VM name given up on its host and left waiting for one (pending
 * restart): its devices released, its host cleared, still wanted on, no
 * longer moving for a maintenance. Joins the caller's transaction. */
int hp_ctl_vm_pend(struct hp_store *s, const char *name);
/* Whether v waits for HA to restart it (pending restart): wanted on, on no host. */
bool hp_ctl_vm_pending(const struct hp_cluster_vm *v);

/* A refusal's hosts, as "; gpu-01: ...; gpu-02: ..." (an event has no detail); NULL: no memory. */
char *hp_ctl_verdicts_text(json_t *detail);

/* An event recorded for the host it concerns (host NULL: the cluster's own, "local"). */
int hp_ctl_event_on(struct hp_store *s, const char *host, const char *kind, const char *vm, const char *message);
/* "no VM 'NAME' in the cluster", as every cluster VM operation says it. */
int hp_ctl_no_vm(struct hp_ops_ctx *c, const char *name);

/* The HA leader's hold on its duties (ha.c): a write made under it renews
 * the leader lease in the write's own transaction first, and is refused
 * with -ENOLCK when another controller took the lease meanwhile (its
 * fencing token is not this one), so a leader that stalled cannot act. */
struct hp_ctl_fence {
        const char *holder;
        int64_t token, ttl_ms;
};
int hp_ctl_fence_check(struct hp_store *s, const struct hp_ctl_fence *f);

/* A VM waiting to restart (wanted on, on no host: its host failed) placed
 * and claimed as a power-on would, under the leader's fence, with the
 * event "vm-restarted": {"name", "host", "epoch", "devices", "why"}; or
 * HP_OP_REFUSED with each host's verdict when none can take it now, or
 * HP_OP_CONFLICT when it is not waiting any more (stopped, or placed by
 * another leader) or this controller no longer leads. */
int hp_ctl_vm_restart(struct hp_ops_ctx *c, const char *name, const struct hp_ctl_fence *f, json_t **ret);

/* The leader's part of maintenance (maintenance.c): each dynamic VM that
 * runs on host, which is in maintenance, asked to stop there to restart
 * elsewhere (desired off, moving_from host, fenced), with a "vm-moving"
 * event. 0, -ENOLCK when this controller no longer leads, -errno. */
int hp_ctl_maintenance_moves(struct hp_store *s, const struct hp_ctl_fence *fence, const char *host,
                             struct hp_cluster_vm *vms, size_t n_vms);

/* HA admission control (admission.c). The cluster's settings: how many
 * host failures to tolerate (0: none, the default; at most
 * HP_CTL_TOLERATE_MAX) and whether a power-on that breaks that is only
 * warned about (else refused). */
#define HP_CTL_TOLERATE_MAX 8
int hp_ctl_ha_settings(struct hp_store *s, unsigned *ret_tolerate, bool *ret_warn);
int hp_ctl_ha_settings_set(struct hp_store *s, unsigned tolerate, bool warn);
/* Whether starting vm on host with addrs keeps every failure scenario of
 * tolerate hosts down (hp_ctl_ha_settings()) that holds now: 0 (or
 * nothing to keep), 1 to warn (warn) or 2 to refuse, with *ret_why
 * (malloc'd) naming the scenario; -errno. */
int hp_ctl_admission_check(struct hp_store *s, unsigned tolerate, bool warn, const char *vm, const char *host,
                           char *const *addrs, char **ret_why);
/* Whether HA, when the VM's host fails, restarts it on another host: not
 * when its restart priority is disabled or its isolation leave-running (it
 * stays), nor when a static entry pins it to that host (it starts there
 * again). The agent's fence stops only such runs (heartbeat.c). */
bool hp_ctl_ha_restarts_elsewhere(const struct hp_vm_spec *spec);
/* Whether a dynamic entry of lo could take a device one of hi's asks for:
 * an ID both allow (subsystem IDs alike where both give them), and labels
 * that do not tell them apart. HA holds a lower restart back while a
 * higher one it competes with has no host. */
bool hp_ctl_restart_competes(const struct hp_vm_spec *hi, const struct hp_vm_spec *lo);

/* The controller's picture of the cluster for power-ons (model.c). A pick:
 * the host placement ranks first and the devices it gives the VM, taken
 * from the picture (the caller claims them in the store), with why it won. */
struct hp_ctl_model_pick {
        char *host;
        char **addrs;
        json_t *devices; /* [{"entry", "address"}] as a power-on answers */
        char *why;
        uint64_t claim; /* its claim, in flight until hp_ctl_model_claimed() */
};
void hp_ctl_model_pick_done(struct hp_ctl_model_pick *p);
/* Identical devices in a random order, so that claims made at once (on
 * two controllers, or from the picture) rarely reach for the same one. */
void hp_ctl_pools_shuffle(struct hp_alloc_pools *pools);
/* 1 with *ret set; 0 when the picture cannot place vm (no host fits, a
 * host has not said yet whether it sees the VM's files, the VM is pinned
 * or asks for hugepages): the caller judges every host. -errno. */
int hp_ctl_model_pick(struct hp_store *s, const char *db, const struct hp_place_vm *vm, enum hp_place_policy policy,
                      struct hp_ctl_model_pick *ret);
/* The claim of pick p committed or not: until then the picture, loaded
 * again meanwhile from a store that does not have it yet, keeps its
 * devices taken (a committed one's, until every load has seen it). */
void hp_ctl_model_claimed(struct hp_ctl_model_pick *p, bool committed);
/* The claims the picture lists, in flight or committed but perhaps unseen
 * by a load running (for tests). */
size_t hp_ctl_model_inflight_count(void);
/* Host loaded again: a claim there lost (a device taken meanwhile, the
 * host down), or was made by judging every host. */
void hp_ctl_model_reload(struct hp_store *s, const char *host);
/* A heartbeat of host: the picture is loaded again when it had the host
 * not connected, or not as ready. */
void hp_ctl_model_beat(const char *host, bool ready);

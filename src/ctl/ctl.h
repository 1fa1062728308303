/* The controller's logic (docs/cluster.md): hosts joining and reporting,
 * the cluster's inventory as the API shows it, device settings made through
 * a controller, join tokens. Each call is one or more store transactions on
 * the context's store (the cluster's PostgreSQL, or any store for tests);
 * like an operation it returns 0 with a document, or -errno with the typed
 * error in c->error, and never prints. The messages between agents and
 * controllers are built and read here too, so both ends share one
 * definition of them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/state.h"

struct hp_dev_config;
struct hp_ops_ctx;

/* The protocol agents and controllers speak: a controller serves its own
 * and the one before (none yet before 1). */
#define HP_CLUSTER_PROTOCOL 1
#define HP_CLUSTER_PROTOCOL_MIN 1

#define HP_HEARTBEAT_MS_DEFAULT 1000
#define HP_LEASE_MS_DEFAULT 5000
#define HP_JOIN_TOKEN_TTL_MS_DEFAULT (3600LL * 1000)

/* How fast hosts are watched (docs/cluster.md "HA settings"): agents
 * heartbeat every heartbeat_ms; a heartbeat renews a host's lease for
 * lease_ms; a host silent past its lease for margin_ms more is failed and
 * its VMs restart elsewhere. */
struct hp_ctl_config {
        int64_t heartbeat_ms, lease_ms; /* 0: the defaults */
        int64_t margin_ms;              /* 0: as long as the lease */
        char *const *controllers;       /* the URLs agents are told of, NULL-terminated, or NULL */
};

/* The named timings: "default" (1 s heartbeat, 5 s lease, failed 10 s
 * after the last heartbeat: a slow host is not failed over) and "fast"
 * (0.5 s, 2 s, failed 3 s after it). 0, or -EINVAL for another name. */
int hp_ctl_profile(const char *name, struct hp_ctl_config *cfg);
int64_t hp_ctl_heartbeat_ms(const struct hp_ctl_config *cfg);
int64_t hp_ctl_lease_ms(const struct hp_ctl_config *cfg);
int64_t hp_ctl_margin_ms(const struct hp_ctl_config *cfg);

/* 0 when body's "protocol" is one this controller speaks; otherwise
 * HP_OP_VERSION naming who has to upgrade (who: "the agent on gpu-03"). */
int hp_ctl_protocol_check(struct hp_ops_ctx *c, json_t *body, const char *who);

/* POST /v1/agent/join: {"protocol", "version", "host", "token"} ->
 * {"host", "credential", "controllers", "heartbeat_ms", "lease_ms", "margin_ms"}. The
 * token used, the host added (or a known one without a credential taken
 * back) and its new credential set, in one transaction. */
int hp_ctl_join(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, json_t *body, json_t **ret);

/* POST /v1/agent/heartbeat of host (its credential checked by the caller):
 * renews its lease, stores what it reports, and answers with what it
 * should hold (docs/cluster.md "Heartbeat"). */
int hp_ctl_heartbeat(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, const char *host, json_t *body,
                     json_t **ret);

/* A host's state as GET /v1/hosts and host list give it: maintenance when
 * set so; connected while its lease lives; failed once silent for its
 * lease and as long again; disconnected in between (or before it ever
 * heartbeat). */
enum hp_ctl_host_state {
        HP_HOST_CONNECTED,
        HP_HOST_DISCONNECTED,
        HP_HOST_MAINTENANCE,
        HP_HOST_FAILED,
        HP_HOST_STATE_MAX,
};
const char *hp_ctl_host_state_name(enum hp_ctl_host_state s);

/* GET /v1/hosts: {"hosts": [{"name", "state", "ready", "last_heartbeat_ms",
 * "heartbeat_age_ms", "memory", "pools": [{"vendor_id", "device_id",
 * "label", "free", "total"}], "devices"}]}. */
int hp_ctl_hosts(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, json_t **ret);

/* DELETE /v1/hosts/NAME: the host leaves the cluster: its credential
 * revoked (its agent is refused from then on), its devices' rows dropped.
 * Refused while a VM is placed on or pinned to it. It may join again,
 * under its name, with a new join token. */
int hp_ctl_host_remove(struct hp_ops_ctx *c, const char *host, json_t **ret);

/* PUT /v1/hosts/NAME/maintenance {"maintenance": true|false, "wait": bool}
 * (maintenance.c): in maintenance the host takes no new VMs and the HA
 * leader moves its dynamic VMs to other hosts (stopped there, restarted
 * by placement). Entering is refused (HP_OP_CONFLICT, detail {"pinned"})
 * while VMs pinned there by static entries run, unless wait: then it is
 * entered and the caller waits for them to be stopped. *ret: {"host",
 * "maintenance", "moving": [VMs that will move], "pinned": [VMs that stay
 * until stopped]}. */
int hp_ctl_host_maintenance(struct hp_ops_ctx *c, const char *host, bool on, bool wait, json_t **ret);

/* GET /v1/devices[?host=NAME] on a controller: every host's devices as it
 * reported them, with the cluster's settings of each, and "host". */
int hp_ctl_devices(struct hp_ops_ctx *c, const char *host, json_t **ret);

/* Settings of a device of host made through a controller; they reach the
 * host with its next heartbeat. label NULL removes it; set/unset as
 * hp_ops_device_attr() takes them. *ret: the device as stored. */
int hp_ctl_device_label(struct hp_ops_ctx *c, const char *host, const char *address, const char *label,
                        json_t **ret);
int hp_ctl_device_attr(struct hp_ops_ctx *c, const char *host, const char *address, char *const *set,
                       char *const *unset, json_t **ret);
int hp_ctl_device_passthrough(struct hp_ops_ctx *c, const char *host, const char *address, bool enabled,
                              json_t **ret);

/* The cluster's VMs (vms.c). define: the VM's JSON document, as `vm define`
 * takes it; host names where a VM with static entries is pinned (NULL for
 * none: a VM of dynamic entries only goes where placement puts it). vms:
 * {"vms": [...]} or, with a name, one VM: its definition, "host",
 * "desired", "epoch", "held_devices", and "state" as its host last reported
 * it at this epoch. start: placement across hosts and the claim (host,
 * epoch, devices in one transaction; the next host when another controller
 * took a device first): {"name", "host", "epoch", "devices", "why"}; the
 * host starts it on its next heartbeat. stop: desired off; the host stops
 * it and the devices go free once it reports it off. explain: the verdict
 * of every host, as the standalone vm explain gives it. */
int hp_ctl_vm_define(struct hp_ops_ctx *c, const char *document, const char *host, json_t **ret);
int hp_ctl_vms(struct hp_ops_ctx *c, const char *name, json_t **ret);
int hp_ctl_vm_start(struct hp_ops_ctx *c, const char *name, json_t **ret);
int hp_ctl_vm_stop(struct hp_ops_ctx *c, const char *name, json_t **ret);
int hp_ctl_vm_delete(struct hp_ops_ctx *c, const char *name, json_t **ret);
int hp_ctl_vm_explain(struct hp_ops_ctx *c, const char *name, json_t **ret);

/* HA (ha.c, docs/cluster.md "HA"): the duty of the one controller that
 * holds the leader lease, done by each controller's hwpassd every
 * heartbeat interval. holder names this controller (unique among them).
 * A tick takes or renews the lease and, when it leads (for a lease and a
 * margin already, so hosts could renew after an outage), restarts the VMs
 * of failed hosts and places those waiting to restart. 0 whether it leads
 * or not; -errno for a store that failed (the next tick tries again). */
struct hp_ctl_ha;
int hp_ctl_ha_new(const char *holder, struct hp_ctl_ha **ret);
void hp_ctl_ha_free(struct hp_ctl_ha *ha);
static inline void hp_ctl_ha_freep(struct hp_ctl_ha **ha)
{
        hp_ctl_ha_free(*ha);
}
int hp_ctl_ha_tick(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, struct hp_ctl_ha *ha);
bool hp_ctl_ha_leading(const struct hp_ctl_ha *ha);

/* HA admission control (admission.c). GET /v1/cluster/ha: {"tolerate",
 * "admission": "refuse" | "warn", "ok", "scenarios": [{"failed": [HOST...],
 * "ok", "restarts": [{"vm", "host" (null: none could take it), "why"}]}]}:
 * for each set of `tolerate` live hosts (each host when none is set),
 * whether every protected VM on them could restart on the others, and
 * where. PUT {"tolerate": 0..8, "admission": "refuse" | "warn"} (either):
 * the cluster's setting, with an event; *ret as GET. With tolerate N, a
 * power-on that would break a scenario that holds without it is refused
 * (or warned about), naming it. */
int hp_ctl_ha_status(struct hp_ops_ctx *c, json_t **ret);
int hp_ctl_ha_set(struct hp_ops_ctx *c, json_t *body, json_t **ret);

/* What a controller's GET /metrics counts, read at each scrape: the hosts
 * GET /v1/hosts shows, each with its state, the age of its last heartbeat
 * and its devices by passthrough mode as device list --host shows them
 * (what the host reported, under the cluster's settings); the cluster's
 * VMs by the state vm list shows (what their host reported at their
 * epoch, "off" until it has) and by the state asked for. */
struct hp_ctl_host_metrics {
        char *name;
        enum hp_ctl_host_state state;
        bool heartbeat;           /* it sent one; then: */
        int64_t heartbeat_age_ms; /* by the controller's clock, against the database's */
        size_t devices[HP_DEV_MODE_MAX];
        size_t quarantined;
};
struct hp_ctl_metrics {
        struct hp_ctl_host_metrics *hosts; /* sorted by name */
        size_t n_hosts;
        size_t hosts_by_state[HP_HOST_STATE_MAX];
        char **vm_states;                  /* one per VM, NULL-terminated; never NULL on success */
        size_t vms_desired_on, vms_desired_off;
        size_t vms_pending_restart; /* wanted on, on no host: HA looks for one */
};
int hp_ctl_metrics(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, struct hp_ctl_metrics *ret);
void hp_ctl_metrics_done(struct hp_ctl_metrics *m); /* accepts zeroed */

/* The cluster's settings (settings.c), which every controller reads from
 * the store. GET /v1/cluster/settings: {"placement"}, the policy VMs that
 * name none are placed by ("performance" until one is set). PUT: body
 * {"placement": "performance" | "consolidation"} (HP_OP_INVALID for
 * anything else), recorded with an event; *ret: the settings then. */
int hp_ctl_settings(struct hp_ops_ctx *c, json_t **ret);
int hp_ctl_settings_set(struct hp_ops_ctx *c, json_t *body, json_t **ret);

/* A join token, valid for ttl_ms (0: an hour), for one host: {"token",
 * "expires_ms"}. The token is shown this once. */
int hp_ctl_join_token_create(struct hp_ops_ctx *c, int64_t ttl_ms, json_t **ret);

/* A device's stored configuration as the heartbeat carries it, and back. */
/* A PCI ID as the documents give it ("10de") from j[key]; -EINVAL. */
int hp_ctl_id16(json_t *j, const char *key, uint16_t *ret);
json_t *hp_ctl_config_to_json(const struct hp_dev_config *d);
int hp_ctl_config_from_json(json_t *j, struct hp_dev_config *ret);

/* Something placement reads was changed through this controller (a
 * device's settings, a VM deleted, a host in maintenance or removed): the
 * next power-on loads the cluster's picture again (model.c). */
void hp_ctl_model_stale(void);
/* A VM was defined, adopted or deleted through this controller: the files
 * hosts are asked about are read again. */
void hp_ctl_vms_changed(void);

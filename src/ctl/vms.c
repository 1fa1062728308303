/* A cluster's VMs on a controller (docs/cluster.md "Placement and
 * power-on"): defined in the store, placed at power-on by placement across
 * hosts (alloc/place.h) over each host's devices as the controller holds
 * them (inventory.c), and claimed in one transaction: the VM's host, a new
 * epoch and its devices together, or, when another controller took a
 * device first, the next host. The host's agent learns of the claim in
 * its next heartbeat's answer and starts the VM with exactly those devices. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc/place.h"
#include "alloc/request.h"
#include "ctl-internal.h"
#include "ops/ops.h"
#include "ops/vm.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"
#include "vm/spec.h"
#include "vm/specjson.h"

/* How many hosts a power-on tries when claims lose races, and how many
 * times it judges every host again after losing on all of them. */
#define CLAIM_TRIES 4
#define CLAIM_ROUNDS 8
/* How long a power-on waits for hosts to say whether they see a new VM's
 * files: they are asked in the answer to their next heartbeat and say at
 * once, so a second or two at the default interval. */
#define PATHS_WAIT_MS 200
#define PATHS_WAITS 25

int hp_ctl_no_vm(struct hp_ops_ctx *c, const char *name)
{
        return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-vm", -ENOENT, "no VM '%.64s' in the cluster", name);
}

int hp_ctl_event_on(struct hp_store *s, const char *host, const char *kind, const char *vm, const char *message)
{
        int r = host ? hp_store_set_host(s, host) : 0;

        if (r >= 0)
                r = hp_store_event_add(s, kind, vm, message);
        if (host)
                (void)hp_store_set_host(s, HP_STORE_LOCAL_HOST);
        return r;
}

struct define {
        const char *name, *host, *text;
};

static int define_tx(struct hp_store *s, void *userdata)
{
        const struct define *d = userdata;
        int r = hp_store_cluster_vm_create(s, d->name, d->host, d->text);

        return r < 0 ? r : hp_ctl_event_on(s, d->host, "vm-created", d->name, d->host ? "pinned here by its static entries" : NULL);
}

int hp_ctl_vm_define(struct hp_ops_ctx *c, const char *document, const char *host, json_t **ret)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_(hp_store_closep) struct hp_store *st = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL;
        int r = hp_vm_spec_from_document(document, &s, &err);

        if (r < 0)
                return hp_op_fail(c, HP_OP_INVALID, r, "%s", err ? err : "out of memory");
        for (size_t i = 0; i < s.n_pci; i++)
                if (s.pci[i].kind == HP_VM_PCI_STATIC && hp_vm_pci_is_slot(&s.pci[i]))
                        return hp_op_fail(c, HP_OP_INVALID, -EOPNOTSUPP,
                                          "pciPassthru%d names a whole slot (%s): in a cluster, name each function "
                                          "of it for now",
                                          s.pci[i].index, s.pci[i].address);
        if (hp_vm_spec_has_static(&s) && !host)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "VM '%s' names a device by its address: say on which host (--host NAME); "
                                  "the VM is then pinned to it",
                                  s.name);
        r = hp_vm_spec_to_text(&s, &text);
        if (r >= 0)
                r = hp_ops_store_open(c, &st);
        if (r < 0)
                return c->error.message ? r : hp_op_oom(c);
        r = hp_store_transact(st, define_tx, &(struct define){ .name = s.name, .host = host, .text = text });
        if (r == -EEXIST)
                return hp_op_fail_code(c, HP_OP_CONFLICT, "vm-exists", r, "a VM named '%s' exists in the cluster",
                                       s.name);
        if (r == -ENOENT)
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-host", r, "no host '%.64s' in the cluster", host);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot store VM '%s'", s.name);
        hp_ctl_vms_changed();
        return hp_ctl_vms(c, s.name, ret);
}

/* The devices the VM holds on its host, as {"entry"?, "address"} (no entry known here). */
static json_t *held_devices(struct hp_store *s, const struct hp_cluster_vm *v)
{
        struct hp_dev_config *d = NULL;
        size_t n = 0;
        json_t *a = json_array();

        if (!v->host || hp_store_set_host(s, v->host) < 0 || hp_store_device_list(s, &d, &n) < 0)
                return a;
        for (size_t i = 0; a && i < n; i++)
                if (d[i].assigned_vm && streq(d[i].assigned_vm, v->name))
                        json_array_append_new(a, json_string(d[i].address));
        hp_dev_configs_free(d, n);
        return a;
}

static json_t *vm_json(struct hp_store *s, const struct hp_cluster_vm *v)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_free_ char *err = NULL;
        /* What its host last said it is, at this epoch; "off" before that,
         * or "pending-restart" while HA looks for a host (wanted on, on none). */
        const char *state = hp_ctl_vm_pending(v) ? "pending-restart"
                            : v->reported_state  ? v->reported_state
                                                 : "off";
        json_t *doc = hp_vm_spec_from_text(v->spec_json, &spec, &err) < 0
                              ? json_pack("{s:s, s:s?}", "name", v->name, "damaged", err)
                              : hp_vm_to_json(&spec, state);

        json_t *failures = v->start_failures ? json_loads(v->start_failures, 0, NULL) : NULL;

        if (doc && json_object_update_new(doc, json_pack("{s:s?, s:s, s:I, s:o, s:o, s:s?}", "host", v->host,
                                                          "desired", v->desired, "epoch", (json_int_t)v->epoch,
                                                          "held_devices", held_devices(s, v), "start_failures",
                                                          failures ?: json_array(), "moving_from",
                                                          v->moving_from)) < 0) {
                json_decref(doc);
                return NULL;
        }
        return doc;
}

int hp_ctl_vms(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_cluster_vm *v = NULL;
        size_t n = 0;
        json_t *list;
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        if (name) {
                _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm one = { 0 };

                r = hp_store_cluster_vm_get(s, name, &one);
                if (r == -ENOENT)
                        return hp_ctl_no_vm(c, name);
                if (r < 0)
                        return hp_op_store_error(c, r, "cannot read VM '%s'", name);
                *ret = vm_json(s, &one);
                return *ret ? 0 : hp_op_oom(c);
        }
        r = hp_store_cluster_vm_list(s, &v, &n);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot read the cluster's VMs");
        list = json_array();
        for (size_t i = 0; list && i < n; i++)
                if (json_array_append_new(list, vm_json(s, &v[i])) < 0) {
                        json_decref(list);
                        list = NULL;
                }
        hp_cluster_vms_free(v, n);
        *ret = list ? json_pack("{s:o}", "vms", list) : NULL;
        return *ret ? 0 : hp_op_oom(c);
}

/* Everything placement needs, for one VM over every host. */
struct placing {
        struct hp_cluster_vm vm;
        struct hp_vm_spec spec;
        struct hp_vm_pci *dyn; /* dynamic entries, by index */
        size_t n_dyn;
        char **paths;
        struct hp_host_info *infos;
        size_t n_infos;
        struct hp_ctl_host_devs *devs;   /* per host */
        struct hp_alloc_pools *pools;    /* per host */
        char (**statics)[HP_SBDF_LEN];   /* per host: the static entries' devices there, or NULL */
        char **static_why;               /* per host */
        char ***seen, ***unchecked;      /* per host: the VM's files it sees, and those it has not said */
        bool paths_pending;              /* some host that could take the VM has not said yet */
        bool retry;                      /* a power-on going on after a failed start: not where it failed */
        bool fast_lost;                  /* the claim picked from the picture lost (fast_start()) */
        const char *allowed; /* the only hosts it may go to (a token's limit), or NULL */
        json_t *failures;                /* the VM's start failures, parsed */
        struct hp_place_host *hosts;
        size_t n_hosts;
        char **notes;
        enum hp_place_policy policy;     /* the VM's own, else the cluster's, else performance */
        const char *policy_from;         /* "vm", "cluster", "default" */
        struct hp_place_result res;
};

static void placing_done(struct placing *p)
{
        for (size_t i = 0; i < p->n_hosts; i++) {
                if (p->devs)
                        hp_ctl_host_devs_done(&p->devs[i]);
                if (p->pools)
                        hp_alloc_pools_done(&p->pools[i]);
                if (p->statics)
                        free(p->statics[i]);
                if (p->static_why)
                        free(p->static_why[i]);
                if (p->notes)
                        free(p->notes[i]);
                if (p->seen)
                        hp_strv_free(p->seen[i]);
                if (p->unchecked)
                        hp_strv_free(p->unchecked[i]);
        }
        free(p->seen);
        free(p->unchecked);
        json_decref(p->failures);
        free(p->devs);
        free(p->pools);
        free(p->statics);
        free(p->static_why);
        free(p->notes);
        free(p->hosts);
        hp_host_infos_free(p->infos, p->n_infos);
        hp_place_result_done(&p->res);
        hp_strv_free(p->paths);
        free(p->dyn);
        hp_vm_spec_done(&p->spec);
        hp_cluster_vm_done(&p->vm);
}

/* The static entries' devices on the pinned host: free for the VM, or why not. */
static int pinned_statics(struct placing *p, size_t i, bool *taken)
{
        _cleanup_free_ struct hp_vm_pci *statics = calloc(p->spec.n_pci + 1, sizeof(*statics));
        size_t n = 0;
        int r;

        if (!statics || !(p->statics[i] = calloc(p->spec.n_pci + 1, sizeof(*p->statics[i]))))
                return -ENOMEM;
        for (size_t e = 0; e < p->spec.n_pci; e++)
                if (p->spec.pci[e].kind == HP_VM_PCI_STATIC)
                        statics[n++] = p->spec.pci[e];
        r = hp_alloc_assign(p->vm.name, statics, n, p->devs[i].cands, p->devs[i].n, p->statics[i],
                            &p->static_why[i]);
        if (r == -ENOMEM)
                return r;
        for (size_t k = 0; r >= 0 && k < p->devs[i].n; k++)
                for (size_t e = 0; e < n; e++)
                        if (streq(p->devs[i].cands[k].dev->address, p->statics[i][e]))
                                taken[k] = true;
        return 0;
}

/* Which of the VM's files host i said it sees, and which it has not said
 * yet (agents check the files the controller names in its answers). */
static int host_paths(struct placing *p, size_t i)
{
        json_t *said = json_object_get(p->devs[i].report, "paths");
        int r = 0;

        p->seen[i] = calloc(1, sizeof(char *));
        p->unchecked[i] = calloc(1, sizeof(char *));
        if (!p->seen[i] || !p->unchecked[i])
                return -ENOMEM;
        for (size_t k = 0; r >= 0 && p->paths[k]; k++) {
                json_t *v = json_object_get(said, p->paths[k]);

                if (json_is_true(v))
                        r = hp_strv_pushf_unique(&p->seen[i], "%s", p->paths[k]);
                else if (!v)
                        r = hp_strv_pushf_unique(&p->unchecked[i], "%s", p->paths[k]);
        }
        return r;
}

static int host_load(struct placing *p, struct hp_store_inventory *inv, size_t n_inv,
                     const struct hp_host_info *info, int64_t now_ms)
{
        size_t i = p->n_hosts, k;
        _cleanup_free_ bool *taken = NULL;
        const char *tried = NULL;
        json_t *hp, *f;
        int r = hp_ctl_host_devs_from(inv, n_inv, info->name, &p->devs[i]);

        if (r < 0)
                return r;
        taken = calloc(p->devs[i].n + 1, sizeof(*taken));
        if (!taken)
                return -ENOMEM;
        if (p->vm.host && streq(p->vm.host, info->name) && hp_vm_spec_has_static(&p->spec) &&
            (r = pinned_statics(p, i, taken)) < 0)
                return r;
        r = hp_alloc_pools_make(p->vm.name, p->devs[i].cands, p->devs[i].n, taken, &p->pools[i]);
        if (r >= 0)
                r = host_paths(p, i);
        if (r < 0)
                return r;
        if (!info->lease_live && info->heartbeat_ms > 0 &&
            asprintf(&p->notes[i], "last heartbeat %lld s ago", (long long)((now_ms - info->heartbeat_ms) / 1000)) < 0)
                return -ENOMEM;
        hp = json_object_get(json_object_get(p->devs[i].report, "memory"), "hugepages");
        json_array_foreach(p->retry ? p->failures : NULL, k, f)
                if (streq(json_string_value(json_object_get(f, "host")) ?: "", info->name))
                        tried = json_string_value(json_object_get(f, "error")) ?: "?";
        p->hosts[i] = (struct hp_place_host){
                .name = info->name,
                .connected = info->lease_live,
                .ready = info->ready,
                .maintenance = info->maintenance,
                .note = info->heartbeat_ms ? p->notes[i] : "never heartbeat",
                .start_failed = tried,
                .memory_mib = hp_ctl_report_memory(p->devs[i].report),
                .hugepages_free = (uint64_t)json_integer_value(json_object_get(hp, "free")),
                .hugepage_kib = (uint64_t)json_integer_value(json_object_get(hp, "size_kib")),
                .paths = p->seen[i],
                .paths_unchecked = p->unchecked[i],
                .pools = p->pools[i].v,
                .n_pools = p->pools[i].n,
        };
        p->n_hosts++;
        return 0;
}

/* The VM and what it asks of a host. */
static int vm_load(struct hp_store *s, const char *name, struct placing *p)
{
        _cleanup_free_ char *err = NULL;
        int r = hp_store_cluster_vm_get(s, name, &p->vm);

        if (r < 0)
                return r;
        r = hp_vm_spec_from_text(p->vm.spec_json, &p->spec, &err);
        if (r < 0)
                return -EBADMSG;
        p->failures = p->vm.start_failures ? json_loads(p->vm.start_failures, 0, NULL) : NULL;
        r = hp_alloc_dynamic_entries(p->spec.pci, p->spec.n_pci, &p->dyn, NULL, &p->n_dyn);
        if (r >= 0)
                r = hp_ops_place_policy(s, &p->spec, &p->policy, &p->policy_from);
        if (r >= 0)
                r = hp_vm_spec_paths(&p->spec, &p->paths);
        return r;
}

static struct hp_place_vm place_vm(const struct placing *p)
{
        return (struct hp_place_vm){
                .name = p->vm.name,
                .memory_mib = p->spec.memory_mib,
                .hugepages = p->spec.hugepages,
                .paths = p->paths,
                .pci = p->dyn,
                .n_pci = p->n_dyn,
                .pinned_host = hp_vm_spec_has_static(&p->spec) ? p->vm.host : NULL,
        };
}

/* Every host that joined, from their inventories, into p->hosts. */
static int hosts_load(struct placing *p, struct hp_store_inventory *inv, size_t n_inv)
{
        size_t n = p->n_infos;
        int64_t now = 0;
        int r;

        p->devs = calloc(n + 1, sizeof(*p->devs));
        p->pools = calloc(n + 1, sizeof(*p->pools));
        p->statics = calloc(n + 1, sizeof(*p->statics));
        p->static_why = calloc(n + 1, sizeof(*p->static_why));
        p->notes = calloc(n + 1, sizeof(*p->notes));
        p->hosts = calloc(n + 1, sizeof(*p->hosts));
        p->seen = calloc(n + 1, sizeof(*p->seen));
        p->unchecked = calloc(n + 1, sizeof(*p->unchecked));
        if (!p->devs || !p->pools || !p->statics || !p->static_why || !p->notes || !p->hosts || !p->seen ||
            !p->unchecked)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (p->infos[i].heartbeat_ms > now)
                        now = p->infos[i].heartbeat_ms;
        for (size_t i = 0; i < n; i++) {
                /* Only hosts that joined and were not removed (the store's own "local" never
                 * joins), and of those the ones the caller may use. */
                if (!p->infos[i].has_credential || !hp_token_list_has(p->allowed, p->infos[i].name))
                        continue;
                r = host_load(p, inv, n_inv, &p->infos[i], now);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every host judged for the VM loaded, best first in p->res: three reads
 * whatever the number of hosts. */
static int judge_hosts(struct hp_store *s, struct placing *p)
{
        struct hp_place_vm vm;
        struct hp_store_inventory *inv = NULL;
        size_t n_inv = 0;
        int r = hp_store_host_list(s, &p->infos, &p->n_infos);

        if (r >= 0)
                r = hp_ctl_inventories_load(s, &inv, &n_inv);
        if (r >= 0)
                r = hosts_load(p, inv, n_inv);
        hp_store_inventories_free(inv, n_inv);
        if (r < 0)
                return r;
        vm = place_vm(p);
        for (size_t i = 0; vm.pinned_host && i < p->n_hosts; i++)
                if (streq(p->hosts[i].name, vm.pinned_host)) {
                        vm.static_free = !p->static_why[i];
                        vm.static_why = p->static_why[i];
                }
        r = hp_place(&vm, p->hosts, p->n_hosts, p->policy, &p->res);
        for (size_t i = 0; r >= 0 && i < p->n_hosts; i++)
                if (p->res.verdicts[i].reason == HP_PLACE_PATHS && p->unchecked[i][0])
                        p->paths_pending = true;
        return r;
}

static int place(struct hp_store *s, const char *name, struct placing *p)
{
        int r = vm_load(s, name, p);

        return r < 0 ? r : judge_hosts(s, p);
}

/* The devices host i gives the VM, as placement chose them: statics, then
 * the dynamic entries' from their pools. */
static int chosen(struct placing *p, size_t i, bool spread, char ***ret, json_t **ret_doc)
{
        const struct hp_place_verdict *v = &p->res.verdicts[i];
        json_t *doc = json_array();
        size_t at = 0;

        if (spread)
                hp_ctl_pools_shuffle(&p->pools[i]); /* explain shows them in address order */

        for (size_t e = 0, k = 0; doc && p->statics[i] && e < p->spec.n_pci; e++)
                if (p->spec.pci[e].kind == HP_VM_PCI_STATIC) {
                        if (hp_strv_push(ret, p->statics[i][k]) < 0)
                                return -ENOMEM;
                        json_array_append_new(doc, hp_ops_place_device_json(p->spec.pci[e].index, p->statics[i][k++]));
                }
        for (size_t e = 0; doc && e < p->n_dyn; e++)
                for (unsigned d = 0; d < hp_vm_pci_count(&p->dyn[e]); d++, at++) {
                        size_t k = hp_alloc_pools_take(&p->pools[i], v->pool[at]);
                        const char *addr = p->devs[i].cands[k].dev->address;

                        if (hp_strv_push(ret, addr) < 0)
                                return -ENOMEM;
                        json_array_append_new(doc, hp_ops_place_device_json(p->dyn[e].index, addr));
                }
        if (!doc)
                return -ENOMEM;
        *ret_doc = doc;
        return 0;
}

/* The store opened and every host judged for the VM; the error in c. */
static int judged(struct hp_ops_ctx *c, const char *name, struct hp_store **s, struct placing *p)
{
        int r = hp_ops_store_open(c, s);

        if (r < 0)
                return r;
        p->allowed = c->hosts_allowed;
        r = place(*s, name, p);
        if (r == -ENOENT)
                return hp_ctl_no_vm(c, name);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot place VM '%s'", name);
        return 0;
}

int hp_ctl_vm_explain(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(placing_done) struct placing p = { 0 };
        json_t *list, *cands;
        int r = judged(c, name, &s, &p);

        /* As a power-on would: hosts new to the VM say first whether they see its files. */
        for (unsigned waits = 0; r >= 0 && p.paths_pending && waits < PATHS_WAITS; waits++) {
                placing_done(&p);
                p = (struct placing){ 0 };
                hp_store_close(TAKE_PTR(s));
                (void)usleep(PATHS_WAIT_MS * 1000);
                r = judged(c, name, &s, &p);
        }
        if (r < 0)
                return r;
        list = json_array();
        cands = json_array();
        for (size_t i = 0; list && i < p.res.n_verdicts; i++) {
                _cleanup_strv_free_ char **addrs = NULL;
                json_t *devs = NULL;

                if (p.res.verdicts[i].reason == HP_PLACE_FITS && chosen(&p, i, false, &addrs, &devs) < 0)
                        return hp_op_oom(c);
                json_array_append_new(list, hp_ops_place_verdict_json(p.hosts[i].name, &p.res.verdicts[i], devs));
        }
        for (size_t k = 0; cands && k < p.res.n_order; k++)
                json_array_append_new(cands, json_string(p.hosts[p.res.order[k]].name));
        /* A VM wanted on and on no host waits for HA to restart it. */
        *ret = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:o, s:o, s:s?, s:s}", "vm", name, "state",
                         p.vm.reported_state ? p.vm.reported_state : "off", "pending_restart",
                         hp_ctl_vm_pending(&p.vm), "restart_priority",
                         hp_vm_restart_to_string(p.spec.restart_priority), "policy",
                         hp_place_policy_name(p.policy), "policy_from", p.policy_from, "hosts", list, "candidates",
                         cands, "winner", p.res.n_order ? p.hosts[p.res.order[0]].name : NULL, "why", p.res.why);
        return *ret ? 0 : hp_op_oom(c);
}

struct claim {
        const char *vm, *host;
        char **addrs;
        int64_t epoch;
        char *conflict;
        /* 0: a power-on asked for now, which forgets the last one's
         * failures; otherwise the epoch whose start failed, which this
         * claim follows only when nothing happened to the VM since. */
        int64_t after_epoch;
        /* An HA restart: the VM is wanted on and on no host, and the
         * leader that places it still leads. */
        const struct hp_ctl_fence *restart;
        /* Placed from the controller's picture (model.c), which may be a
         * second old: the host must still take VMs (a power-on asked for,
         * the store's claim checks it). */
        bool check_host;
};

/* HA's restart, or a start after a failed one: more to check than a power-on's claim. */
static int claim_tx(struct hp_store *s, void *userdata)
{
        struct claim *cl = userdata;
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm now = { 0 };
        int r = hp_store_events_turn(s);

        if (r >= 0)
                r = hp_store_cluster_vm_get(s, cl->vm, &now);
        if (r < 0)
                return r;
        if (cl->restart) {
                r = hp_ctl_fence_check(s, cl->restart);
                if (r < 0)
                        return r;
                /* Stopped, or placed by another, since it was found waiting. */
                if (!streq(now.desired, "on") || now.host)
                        return -ESTALE;
        } else if (streq(now.desired, "on")) {
                /* Another controller powered it on meanwhile. */
                return -EALREADY;
        }
        /* Stopped, or claimed and failed again, since that start failed. */
        if (cl->after_epoch && (!now.start_failures || now.epoch != cl->after_epoch))
                return -ESTALE;
        if (!cl->after_epoch && now.start_failures)
                r = hp_store_vm_set_start_failures(s, cl->vm, NULL);
        if (r >= 0)
                r = hp_store_vm_place(s, cl->vm, cl->host, &cl->epoch);
        if (r >= 0)
                r = hp_store_set_host(s, cl->host);
        if (r >= 0) {
                free(cl->conflict);
                cl->conflict = NULL;
                r = hp_store_assign_devices(s, cl->vm, cl->addrs, hp_strv_length(cl->addrs), &cl->conflict);
                /* A device another VM holds: no conflict to retry here, the next host is tried. */
                if (r == -EBUSY && cl->conflict)
                        r = -EADDRINUSE;
        }
        if (r >= 0)
                r = hp_store_event_add(s, cl->restart ? "vm-restarted" : "vm-placed", cl->vm,
                                       cl->restart ? "placed again after its host failed" : NULL);
        (void)hp_store_set_host(s, HP_STORE_LOCAL_HOST);
        return r;
}

/* The claim made: a power-on asked for joins the claims this controller
 * commits together (claims.c); the others are transactions of their own. */
static int claim_now(struct hp_ops_ctx *c, struct hp_store *s, struct claim *cl)
{
        int r;

        if (cl->restart || cl->after_epoch)
                return hp_store_transact(s, claim_tx, cl);
        free(cl->conflict);
        cl->conflict = NULL;
        r = hp_ctl_claim(s, c->db,
                         &(struct hp_store_claim){ .vm = cl->vm,
                                                   .host = cl->host,
                                                   .addrs = cl->addrs,
                                                   .n = hp_strv_length(cl->addrs),
                                                   .check_host = cl->check_host,
                                                   .event_kind = "vm-placed" },
                         &cl->epoch, &cl->conflict);
        /* A device another VM holds: the next host is tried. */
        return r == -EBUSY && cl->conflict ? -EADDRINUSE : r;
}

/* A power-on refused while the VM's last run may not have ended: a stop
 * asked for that its host has not carried out and reported yet, or a claim
 * it has not reported at all. Its devices stay held until then, and a
 * claim now would give the new run devices on top of them (the store's
 * claim refuses it: -EBUSY with no conflict), or a VM without devices a
 * second run. host: where the devices are held, or the run's; why: what
 * shows it may still run there ("reported running", "its devices still
 * held"...). */
static int still_stopping(struct hp_ops_ctx *c, const char *name, const char *host, const char *why)
{
        host = host ?: "its last host";
        return hp_op_fail_code(
                c, HP_OP_CONFLICT, "still-stopping", -EBUSY,
                "VM '%s' has not stopped yet on %s (%s): power it on once its host reports it "
                "off ('hwpass vm list'); if %s is gone for good, remove it ('hwpass host remove "
                "%s')",
                name, host, why, host, host);
}

/* The store's refusal of a claim for that reason, with the host holding the devices. */
static int held_refusal(struct hp_ops_ctx *c, struct hp_store *s, const char *name)
{
        _cleanup_free_ char *held = NULL;

        (void)hp_store_vm_held_on(s, name, &held); /* unnamed, if it cannot be read */
        return still_stopping(c, name, held, "its devices still held");
}

/* A claim that failed, worded in c; 0 when it lost to another VM's claim
 * (or, from the picture, found its host down): another host is tried. */
static int claim_refused(struct hp_ops_ctx *c, struct hp_store *s, int r, const char *name,
                         struct claim *cl)
{
        if (r == -EALREADY)
                return hp_op_fail(c, HP_OP_CONFLICT, r, "VM '%s' was powered on meanwhile", name);
        if (r == -ESTALE)
                return hp_op_fail(c, HP_OP_CONFLICT, r, "VM '%s' was stopped or started again meanwhile", name);
        if (r == -ENOLCK)
                return hp_op_fail(c, HP_OP_CONFLICT, r, "this controller no longer leads HA");
        if (r == -EBUSY && !cl->conflict)
                return held_refusal(c, s, name);
        if (r == -EADDRINUSE || r == -EHOSTUNREACH)
                return 0;
        return hp_op_store_error(c, r, "cannot claim %s for VM '%s'", cl->host, name);
}

/* A power-on placed from the controller's picture of the cluster: 1 when
 * claimed (*ret), 0 when the caller judges every host (the picture cannot
 * place it, or its claim lost), or the error in c. */
static int fast_start(struct hp_ops_ctx *c, struct hp_store *s, const char *name, struct placing *p,
                      json_t **ret)
{
        _cleanup_(hp_ctl_model_pick_done) struct hp_ctl_model_pick mp = { 0 };
        struct hp_place_vm vm = place_vm(p);
        struct claim cl = { .vm = name, .check_host = true };
        int r;

        p->fast_lost = false;
        r = hp_ctl_model_pick(s, c->db, &vm, p->policy, &mp);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot place VM '%s'", name);
        if (r == 0)
                return 0;
        cl.host = mp.host;
        cl.addrs = mp.addrs;
        r = claim_now(c, s, &cl);
        free(cl.conflict);
        hp_ctl_model_claimed(&mp, r >= 0);
        if (r < 0) {
                r = claim_refused(c, s, r, name, &cl);
                if (r == 0) {
                        hp_ctl_model_reload(s, mp.host);
                        p->fast_lost = true;
                }
                return r;
        }
        *ret = json_pack("{s:s, s:s, s:I, s:O, s:s}", "name", name, "host", mp.host, "epoch", (json_int_t)cl.epoch,
                         "devices", mp.devices, "why", mp.why);
        return *ret ? 1 : hp_op_oom(c);
}

/* One round: every host judged afresh, then claims on the best hosts in
 * turn. -EAGAIN when every claim lost a race (*lost: the last device
 * another VM took first): the caller judges again. -EINPROGRESS, when
 * may_wait, for a host that has not said yet whether it sees the VM's files
 * (the VM is new to it: it says with its next heartbeat). */
static int start_round(struct hp_ops_ctx *c, const char *name, int64_t after_epoch,
                       const struct hp_ctl_fence *restart, bool may_wait, json_t **ret, char **lost, char **refused)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(placing_done) struct placing p = { .retry = after_epoch > 0,
                                                     .allowed = c->hosts_allowed };
        _cleanup_free_ char *held = NULL;
        unsigned tolerate = 0;
        bool warn = false;
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        r = vm_load(s, name, &p);
        if (r == -ENOENT)
                return hp_ctl_no_vm(c, name);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot place VM '%s'", name);
        if (restart && !hp_ctl_vm_pending(&p.vm))
                return hp_op_fail(c, HP_OP_CONFLICT, -ESTALE, "VM '%s' is not waiting to restart any more", name);
        if (!restart && hp_ctl_vm_pending(&p.vm))
                return hp_op_fail(c, HP_OP_CONFLICT, -EALREADY,
                                  "VM '%s' is on already, waiting to restart: its host failed (see 'hwpass vm "
                                  "explain %s'; 'hwpass vm stop %s' gives it up)",
                                  name, name, name);
        if (!restart && streq(p.vm.desired, "on"))
                return hp_op_fail(c, HP_OP_CONFLICT, -EALREADY, "VM '%s' is on already (host %s, epoch %lld)", name,
                                  p.vm.host ? p.vm.host : "?", (long long)p.vm.epoch);
        /* Said before placement (the store's claim refuses a VM whose devices
         * are held in any case): a run reported live, or one claimed on a host
         * that has not reported it yet, which may have started it all the same
         * (the host gives such a claim back at its next heartbeat when it did
         * not: b->unstarted in heartbeat.c). A VM on no host, most power-ons,
         * is read no more. */
        if (!restart && p.vm.reported_state && !streq(p.vm.reported_state, "off")) {
                _cleanup_free_ char *why = NULL;

                if (asprintf(&why, "reported %s", p.vm.reported_state) < 0)
                        return hp_op_oom(c);
                return still_stopping(c, name, p.vm.host, why);
        }
        if (!restart && p.vm.host && p.vm.epoch > 0 && !p.vm.reported_state) {
                bool devices = hp_store_vm_held_on(s, name, &held) > 0;

                return still_stopping(c, name, devices ? held : p.vm.host,
                                      devices ? "its devices still held"
                                              : "claimed there, its run not reported yet");
        }
        /* HA admission control, for a power-on asked for (not HA's restarts): its setting read once a round. */
        if (!restart && !after_epoch && (r = hp_ctl_ha_settings(s, &tolerate, &warn)) < 0)
                return hp_op_store_error(c, r, "cannot read the cluster's HA settings");
        /* The picture places a power-on asked for; HA's restarts, a start
         * after a failed one and admission control judge every host. A
         * claim that lost (another controller's took the device) is picked
         * again from the picture, that host loaded again, a few times. */
        for (unsigned k = 0;
             !restart && !after_epoch && tolerate == 0 && !p.allowed && k < CLAIM_TRIES; k++) {
                r = fast_start(c, s, name, &p, ret);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (!p.fast_lost)
                        break;
        }
        r = judge_hosts(s, &p);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot place VM '%s'", name);
        if (p.paths_pending && may_wait)
                return -EINPROGRESS;
        if (p.res.n_order == 0) {
                /* A refusal with what each host said, as vm explain gives it. */
                json_t *hosts = json_array();

                for (size_t i = 0; hosts && i < p.res.n_verdicts; i++)
                        json_array_append_new(hosts, hp_ops_place_verdict_json(p.hosts[i].name, &p.res.verdicts[i], NULL));
                r = hp_op_fail_code(c, HP_OP_REFUSED, "no-host", -ENODEV,
                                    "%s%s%s%s (see 'hwpass vm explain %s')", p.res.why,
                                    p.allowed ? " (of hosts " : "", p.allowed ?: "",
                                    p.allowed ? ", the ones this token may use)" : "", name);
                hp_op_set_detail(c, json_pack("{s:o}", "hosts", hosts ? hosts : json_array()));
                return r;
        }
        for (size_t k = 0; k < p.res.n_order && k < CLAIM_TRIES; k++) {
                size_t i = p.res.order[k];
                _cleanup_strv_free_ char **addrs = NULL;
                _cleanup_free_ char *warning = NULL;
                json_t *devs = NULL;
                struct claim cl = { .vm = name, .host = p.hosts[i].name, .after_epoch = after_epoch,
                                    .restart = restart };

                if (chosen(&p, i, true, &addrs, &devs) < 0)
                        return hp_op_oom(c);
                if (tolerate > 0) {
                        r = hp_ctl_admission_check(s, tolerate, warn, name, cl.host, addrs, &warning);
                        if (r < 0) {
                                json_decref(devs);
                                return hp_op_store_error(
                                        c, r, "cannot judge VM '%s' against HA's failure scenarios",
                                        name);
                        }
                        if (r == 2) {
                                json_decref(devs);
                                if (!*refused)
                                        *refused = TAKE_PTR(warning);
                                continue;
                        }
                }
                cl.addrs = addrs;
                r = claim_now(c, s, &cl);
                if (r >= 0) {
                        free(cl.conflict);
                        hp_ctl_model_reload(s, cl.host);
                        if (warning)
                                (void)hp_ctl_event_on(s, cl.host, "ha-admission-warning", name, warning);
                        *ret = json_pack("{s:s, s:s, s:I, s:o, s:s, s:s?}", "name", name, "host", cl.host, "epoch",
                                         (json_int_t)cl.epoch, "devices", devs, "why",
                                         k == 0 ? p.res.why : "the better hosts' devices were taken meanwhile",
                                         "warning", warning);
                        return *ret ? 0 : hp_op_oom(c);
                }
                json_decref(devs);
                r = claim_refused(c, s, r, name, &cl);
                if (r < 0) {
                        free(cl.conflict);
                        return r;
                }
                free(*lost);
                *lost = cl.conflict;
        }
        /* Every host that fits would break HA's failure scenarios. */
        if (*refused && !*lost) {
                r = hp_op_fail_code(c, HP_OP_REFUSED, "ha-admission", -ENOSPC, "%s", *refused);
                hp_op_set_detail(c, json_pack("{s:s}", "ha_admission", *refused));
                return r;
        }
        return -EAGAIN;
}

static int power_on(struct hp_ops_ctx *c, const char *name, int64_t after_epoch, const struct hp_ctl_fence *restart,
                    json_t **ret)
{
        _cleanup_free_ char *lost = NULL, *refused = NULL;
        unsigned waits = 0;

        for (unsigned round = 0; round < CLAIM_ROUNDS;) {
                int r = start_round(c, name, after_epoch, restart, !restart && waits < PATHS_WAITS, ret, &lost,
                                    &refused);

                if (r == -EINPROGRESS) {
                        waits++;
                        (void)usleep(PATHS_WAIT_MS * 1000);
                        continue;
                }
                if (r != -EAGAIN)
                        return r;
                round++;
        }
        return hp_op_fail_code(c, HP_OP_REFUSED, "lost-races", -EBUSY,
                               "VM '%s': the devices placement chose were taken by others meanwhile, %d times "
                               "(last: %s); try again",
                               name, CLAIM_ROUNDS, lost ? lost : "?");
}

int hp_ctl_vm_start(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        return power_on(c, name, 0, NULL, ret);
}

int hp_ctl_vm_restart(struct hp_ops_ctx *c, const char *name, const struct hp_ctl_fence *f, json_t **ret)
{
        /* A host new to the VM has said whether it sees its files long ago:
         * HA does not wait for one (the next pass sees it). */
        return power_on(c, name, 0, f, ret);
}

bool hp_ctl_vm_pending(const struct hp_cluster_vm *v)
{
        return streq(v->desired, "on") && !v->host;
}

int hp_ctl_vm_pend(struct hp_store *s, const char *name)
{
        int r = hp_store_vm_unplace(s, name, false);

        if (r >= 0)
                r = hp_store_vm_set_desired(s, name, "on");
        return r < 0 ? r : hp_store_vm_set_moving(s, name, NULL);
}

char *hp_ctl_verdicts_text(json_t *detail)
{
        char *out = strdup(""), *next;
        json_t *v;
        size_t i;

        json_array_foreach(json_object_get(detail, "hosts"), i, v) {
                if (!out || asprintf(&next, "%s; %s", out, json_string_value(json_object_get(v, "message")) ?: "?") < 0) {
                        free(out);
                        return NULL;
                }
                free(out);
                out = next;
        }
        return out;
}

int hp_ctl_vm_retry(struct hp_ops_ctx *c, const char *name, int64_t failed_epoch)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_free_ char *why = NULL, *hosts = NULL;
        int r = power_on(c, name, failed_epoch, NULL, &doc);

        if (r >= 0)
                r = asprintf(&why, "placed on %s (epoch %lld) after its start failed: %s",
                             json_string_value(json_object_get(doc, "host")),
                             (long long)json_integer_value(json_object_get(doc, "epoch")),
                             json_string_value(json_object_get(doc, "why")));
        else if (r != -ESTALE && (hosts = hp_ctl_verdicts_text(c->error.detail)))
                r = asprintf(&why, "not started: %s%s", c->error.message ?: strerror(-r), hosts);
        hp_op_error_done(&c->error);
        if (!why)
                return r < 0 ? r : -ENOMEM;
        r = hp_ops_store_open(c, &s);
        if (r >= 0)
                r = hp_ctl_event_on(s, json_string_value(json_object_get(doc, "host")),
                             doc ? "vm-start-retried" : "vm-start-given-up", name, why);
        hp_op_error_done(&c->error);
        return r;
}

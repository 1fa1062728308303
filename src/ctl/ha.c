/* HA, the leader's duty (docs/cluster.md "HA"): one controller at a time,
 * the holder of the leader lease, finds the hosts that failed (silent for
 * their lease and as long again) and restarts their VMs:
 *   - a dynamic VM is given up on its host (its devices there released)
 *     and waits, wanted on and on no host, "pending restart", until
 *     placement finds a host for it; highest restart priority first, and a
 *     level waits until the VMs restarted above it run;
 *   - a VM pinned by static entries has no other host: it is claimed again
 *     there, at a new epoch, and starts when its host returns;
 *   - restart priority "disabled" and isolation "leave-running" VMs are
 *     left as they are (the latter may still run on a host cut off from
 *     the cluster).
 * Every write is fenced by the lease's token (hp_ctl_fence_check()), so a
 * leader that stalled while another took over cannot act twice. What is
 * done goes to the events; this file never prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-internal.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

/* How long a restart priority level waits for the VMs restarted above it
 * to report running before it goes anyway (one that never boots must not
 * keep the others off for good). */
#define PRIORITY_WAIT_MS 60000
/* How many refused VMs of a higher priority are tried again before one of a lower. */
#define REFUSED_RETRIES 4

struct hp_ctl_ha {
        char *holder;
        int64_t token;
        int64_t leading_since; /* this process's monotonic ms; 0: not leading */
        int64_t renewed;       /* when the lease was last renewed (monotonic ms) */
        json_t *failed;        /* host -> true: announced failed */
        json_t *announced;     /* VM -> the message of its last "pending" event */
        json_t *restarting;    /* VM -> {"epoch", "priority", "at"}: placed by HA, not yet running */
};

int hp_ctl_ha_new(const char *holder, struct hp_ctl_ha **ret)
{
        _cleanup_(hp_ctl_ha_freep) struct hp_ctl_ha *ha = calloc(1, sizeof(*ha));

        if (!ha)
                return -ENOMEM;
        ha->holder = strdup(holder);
        ha->failed = json_object();
        ha->announced = json_object();
        ha->restarting = json_object();
        if (!ha->holder || !ha->failed || !ha->announced || !ha->restarting)
                return -ENOMEM;
        *ret = TAKE_PTR(ha);
        return 0;
}

void hp_ctl_ha_free(struct hp_ctl_ha *ha)
{
        if (!ha)
                return;
        free(ha->holder);
        json_decref(ha->failed);
        json_decref(ha->announced);
        json_decref(ha->restarting);
        free(ha);
}

bool hp_ctl_ha_leading(const struct hp_ctl_ha *ha)
{
        return ha->leading_since > 0;
}

int hp_ctl_fence_check(struct hp_store *s, const struct hp_ctl_fence *f)
{
        int64_t token = 0;
        int r = hp_store_leader_acquire(s, f->holder, f->ttl_ms, &token, NULL);

        if (r == -EBUSY || (r >= 0 && token != f->token))
                return -ENOLCK;
        return r < 0 ? r : 0;
}

/* What HA does with a VM on a failed host. */
enum on_failure {
        RESTART_ELSEWHERE,
        RESTART_THERE, /* pinned by static entries */
        LEAVE,         /* restart priority disabled, or isolation leave-running */
};

struct failed_vm {
        const struct hp_ctl_fence *fence;
        const char *vm, *host;
        int64_t epoch;
        enum on_failure what;
        bool moving; /* asked to stop there for the host's maintenance */
        char *message;
};

static int failed_vm_tx(struct hp_store *s, void *userdata)
{
        struct failed_vm *f = userdata;
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm now = { 0 };
        int64_t epoch = 0;
        int r = hp_ctl_fence_check(s, f->fence);

        if (r >= 0)
                r = hp_store_cluster_vm_get(s, f->vm, &now);
        if (r < 0)
                return r;
        /* A VM moving off the host for its maintenance, which the host
         * died before stopping: wanted on again, and waits for a host. */
        if (f->moving) {
                if (!now.moving_from || !now.host || !streq(now.host, f->host) || now.epoch != f->epoch)
                        return -ESTALE;
                r = hp_ctl_vm_pend(s, f->vm);
                return r < 0 ? r
                             : hp_ctl_event_on(s, f->host, "vm-host-failed", f->vm,
                                               "its host failed while it moved off for maintenance: restarting it "
                                               "elsewhere");
        }
        /* Stopped, or claimed again, since the pass read it. */
        if (!streq(now.desired, "on") || !now.host || !streq(now.host, f->host) || now.epoch != f->epoch)
                return -ESTALE;
        free(f->message);
        f->message = NULL;
        if (f->what == RESTART_THERE) {
                r = hp_store_vm_place(s, f->vm, f->host, &epoch);
                if (r >= 0 && asprintf(&f->message,
                                       "its host %s failed; its static entries pin it there: it starts again "
                                       "when the host returns (epoch %lld)",
                                       f->host, (long long)epoch) < 0)
                        r = -ENOMEM;
        } else {
                /* Its devices there go free; wanted on, on no host: pending restart. */
                r = hp_ctl_vm_pend(s, f->vm);
                if (r >= 0 && asprintf(&f->message, "its host %s failed (epoch %lld): restarting it elsewhere",
                                       f->host, (long long)f->epoch) < 0)
                        r = -ENOMEM;
        }
        return r < 0 ? r : hp_ctl_event_on(s, f->host, "vm-host-failed", f->vm, f->message);
}

static enum on_failure on_failure(const struct hp_vm_spec *spec)
{
        if (spec->restart_priority == HP_VM_RESTART_DISABLED || spec->isolation == HP_VM_ISOLATION_LEAVE_RUNNING)
                return LEAVE;
        return hp_vm_spec_has_static(spec) ? RESTART_THERE : RESTART_ELSEWHERE;
}

bool hp_ctl_ha_restarts_elsewhere(const struct hp_vm_spec *spec)
{
        return on_failure(spec) == RESTART_ELSEWHERE;
}

/* Once per VM and reason (why: a word for it, the message may carry
 * numbers that change each time): an event that says why HA leaves it
 * (kind) or why it still waits. */
static int announce(struct hp_ctl_ha *ha, struct hp_store *s, const char *host, const char *kind, const char *vm,
                    const char *why, const char *message)
{
        const char *was = json_string_value(json_object_get(ha->announced, vm));

        if (was && streq(was, why))
                return 0;
        if (json_object_set_new(ha->announced, vm, json_string(why)) < 0)
                return -ENOMEM;
        return hp_ctl_event_on(s, host, kind, vm, message);
}

/* The VMs placed on a host that failed. */
static int host_failed(struct hp_ctl_ha *ha, struct hp_store *s, const struct hp_ctl_fence *fence, const char *host,
                       struct hp_cluster_vm *vms, size_t n_vms)
{
        for (size_t i = 0; i < n_vms; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
                _cleanup_free_ char *err = NULL;
                struct failed_vm f = { .fence = fence, .vm = vms[i].name, .host = host, .epoch = vms[i].epoch };
                int r;

                if (vms[i].host && streq(vms[i].host, host) && vms[i].moving_from && streq(vms[i].desired, "off")) {
                        f.moving = true;
                        r = hp_store_transact(s, failed_vm_tx, &f);
                        if (r >= 0)
                                hp_ctl_model_stale(); /* its devices there given back */
                        if (r == -ENOLCK || (r < 0 && r != -ESTALE && r != -ENOENT))
                                return r;
                        continue;
                }
                if (!vms[i].host || !streq(vms[i].host, host) || !streq(vms[i].desired, "on"))
                        continue;
                if (hp_vm_spec_from_text(vms[i].spec_json, &spec, &err) < 0)
                        continue;
                f.what = on_failure(&spec);
                if (f.what == LEAVE) {
                        r = announce(ha, s, host, "vm-not-restarted", f.vm, "left",
                                     spec.restart_priority == HP_VM_RESTART_DISABLED
                                             ? "its host failed; its restart priority is disabled: it stays there"
                                             : "its host failed; its isolation response is leave-running: it is "
                                               "not restarted elsewhere until its host answers again");
                        if (r < 0)
                                return r;
                        continue;
                }
                /* A pinned VM's claim there is renewed once, after its host ran it at this epoch. */
                if (f.what == RESTART_THERE && !vms[i].reported_state)
                        continue;
                r = hp_store_transact(s, failed_vm_tx, &f);
                free(f.message);
                if (r >= 0)
                        hp_ctl_model_stale();
                if (r == -ENOLCK)
                        return r;
                if (r < 0 && r != -ESTALE && r != -ENOENT)
                        return r;
        }
        return 0;
}

/* The highest restart priority among the VMs HA placed that do not run yet;
 * INT32_MIN when none. Those that run, were stopped or claimed again, or
 * waited too long, are forgotten. */
static int waiting_priority(struct hp_ctl_ha *ha, struct hp_cluster_vm *vms, size_t n_vms)
{
        int top = INT32_MIN;
        const char *name;
        json_t *r, *tmp;

        json_object_foreach_safe(ha->restarting, tmp, name, r) {
                const struct hp_cluster_vm *v = NULL;

                for (size_t i = 0; i < n_vms; i++)
                        if (streq(vms[i].name, name))
                                v = &vms[i];
                if (!v || !streq(v->desired, "on") || v->epoch != json_integer_value(json_object_get(r, "epoch")) ||
                    (v->reported_state && !streq(v->reported_state, "starting")) ||
                    hp_mono_ms() - json_integer_value(json_object_get(r, "at")) > PRIORITY_WAIT_MS) {
                        json_object_del(ha->restarting, name);
                        continue;
                }
                if (json_integer_value(json_object_get(r, "priority")) > top)
                        top = (int)json_integer_value(json_object_get(r, "priority"));
        }
        return top;
}

struct pending {
        const char *name;
        int priority;
        struct hp_vm_spec spec;
        bool refused; /* no host could take it in this pass */
};

/* Whether two IDs match the same devices: equal vendor and device, and
 * subsystem IDs that either leaves open or both give alike. */
static bool ids_meet(const struct hp_pci_id_match *a, const struct hp_pci_id_match *b)
{
        return a->vendor_id == b->vendor_id && a->device_id == b->device_id &&
               (!a->subsystem_vendor_id || !b->subsystem_vendor_id ||
                (a->subsystem_vendor_id == b->subsystem_vendor_id &&
                 a->subsystem_device_id == b->subsystem_device_id));
}

bool hp_ctl_restart_competes(const struct hp_vm_spec *hi, const struct hp_vm_spec *lo)
{
        for (size_t i = 0; i < hi->n_pci; i++)
                for (size_t j = 0; j < lo->n_pci; j++) {
                        const struct hp_vm_pci *x = &hi->pci[i], *y = &lo->pci[j];

                        if (x->kind != HP_VM_PCI_DYNAMIC || y->kind != HP_VM_PCI_DYNAMIC ||
                            (x->label && y->label && !streq(x->label, y->label)))
                                continue;
                        for (size_t a = 0; a < x->n_allowed; a++)
                                for (size_t b = 0; b < y->n_allowed; b++)
                                        if (ids_meet(&x->allowed[a], &y->allowed[b]))
                                                return true;
                }
        return false;
}

static int by_priority(const void *a, const void *b)
{
        const struct pending *x = a, *y = b;

        if (x->priority != y->priority)
                return y->priority - x->priority;
        return strcmp(x->name, y->name);
}

/* One restart tried: 1 when placed (and remembered as restarting), 0 when
 * no host can take it now (its reason in an event), 2 when it failed
 * otherwise (a claim that lost, a busy store: tried again next pass),
 * -ENOLCK when this controller no longer leads, -errno. */
static int restart_one(struct hp_ctl_ha *ha, struct hp_ops_ctx *c, struct hp_store *s,
                       const struct hp_ctl_fence *fence, const struct pending *p)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_free_ char *why = NULL, *hosts = NULL;
        int r = hp_ctl_vm_restart(c, p->name, fence, &doc);

        if (r >= 0) {
                hp_op_error_done(&c->error);
                json_object_del(ha->announced, p->name);
                return json_object_set_new(ha->restarting, p->name,
                                           json_pack("{s:I, s:i, s:I}", "epoch",
                                                     json_integer_value(json_object_get(doc, "epoch")), "priority",
                                                     p->priority, "at", (json_int_t)hp_mono_ms())) < 0
                               ? -ENOMEM
                               : 1;
        }
        if (c->error.kind == HP_OP_REFUSED) {
                hosts = hp_ctl_verdicts_text(c->error.detail);
                hp_op_error_done(&c->error);
                if (asprintf(&why, "no host can take it now%s", hosts ? hosts : "") < 0)
                        return -ENOMEM;
                r = announce(ha, s, NULL, "vm-restart-pending", p->name, "no-host", why);
                return r < 0 ? r : 0;
        }
        hp_op_error_done(&c->error);
        /* Stopped, or placed by another leader, meanwhile: nothing to do. */
        if (r == -ESTALE || r == -EALREADY)
                return 0;
        return r == -ENOLCK || r == -ENOMEM ? r : 2;
}

/* restart_one(), its outcome kept: refused, or the priority the next
 * levels wait for raised to its own. */
static int restart_tried(struct hp_ctl_ha *ha, struct hp_ops_ctx *c, struct hp_store *s,
                         const struct hp_ctl_fence *fence, struct pending *p, int *top)
{
        int r = restart_one(ha, c, s, fence, p);

        if (r < 0)
                return r;
        p->refused = r == 0;
        if (r == 1 && p->priority > *top)
                *top = p->priority;
        return r;
}

/* restart_pending()'s pass over p, sorted, until the time given. */
static int restart_pass(struct hp_ctl_ha *ha, struct hp_ops_ctx *c, struct hp_store *s,
                        const struct hp_ctl_fence *fence, struct pending *p, size_t n, int top, int64_t until)
{
        int r;

        /* The rest in the next tick, so the lease is renewed in time. */
        for (size_t i = 0; i < n && hp_mono_ms() < until; i++) {
                _cleanup_free_ char *why = NULL;
                const struct pending *held = NULL;

                for (size_t k = 0, tried = 0; k < i && tried < REFUSED_RETRIES; k++)
                        if (p[k].refused && p[k].priority > p[i].priority) {
                                tried++;
                                r = restart_tried(ha, c, s, fence, &p[k], &top);
                                if (r < 0 || r == 2)
                                        return r < 0 ? r : 0;
                        }
                for (size_t k = 0; k < i && !held; k++)
                        if (p[k].refused && p[k].priority > p[i].priority && hp_ctl_restart_competes(&p[k].spec, &p[i].spec))
                                held = &p[k];
                if (held) {
                        if (asprintf(&why, "waits for VM '%s' (restart priority %s), which asks for the same devices "
                                           "and has no host yet",
                                     held->name, hp_vm_restart_to_string(held->priority)) < 0)
                                return -ENOMEM;
                        r = announce(ha, s, NULL, "vm-restart-pending", p[i].name, held->name, why);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (p[i].priority < top) {
                        if (asprintf(&why, "waits until the VMs of restart priority %s restarted before it run",
                                     hp_vm_restart_to_string(top)) < 0)
                                return -ENOMEM;
                        r = announce(ha, s, NULL, "vm-restart-pending", p[i].name, hp_vm_restart_to_string(top), why);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* A failure that is not "no host" ends the pass: the lower
                 * levels wait for the next one, not to take what this VM asked for. */
                r = restart_tried(ha, c, s, fence, &p[i], &top);
                if (r < 0 || r == 2)
                        return r < 0 ? r : 0;
        }
        return 0;
}

/* Each VM waiting to restart, highest priority first: placed, or still
 * waiting with its reason in an event. Before each, the VMs of a higher
 * priority that found no host in this pass are tried again (at most a
 * few): a device set free meanwhile goes to them first. One of them still
 * without a host holds back every lower VM that asks for the same kind of
 * device (a device freed between the two tries must not go to the lower
 * one); lower VMs that ask for other devices go on. */
static int restart_pending(struct hp_ctl_ha *ha, struct hp_ops_ctx *c, struct hp_store *s,
                           const struct hp_ctl_fence *fence, struct hp_cluster_vm *vms, size_t n_vms,
                           int64_t budget_ms)
{
        int64_t start = hp_mono_ms();
        _cleanup_free_ struct pending *p = calloc(n_vms + 1, sizeof(*p));
        size_t n = 0;
        int top = waiting_priority(ha, vms, n_vms), r = 0;

        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < n_vms; i++) {
                _cleanup_free_ char *err = NULL;

                if (!streq(vms[i].desired, "on") || vms[i].host)
                        continue;
                if (hp_vm_spec_from_text(vms[i].spec_json, &p[n].spec, &err) < 0) {
                        hp_vm_spec_done(&p[n].spec);
                        continue;
                }
                p[n].name = vms[i].name;
                p[n].priority = p[n].spec.restart_priority;
                n++;
        }
        qsort(p, n, sizeof(*p), by_priority);
        r = restart_pass(ha, c, s, fence, p, n, top, start + budget_ms);
        for (size_t i = 0; i < n; i++)
                hp_vm_spec_done(&p[i].spec);
        return r;
}

/* Whether host h failed: a host the cluster shows that is silent (its
 * maintenance flag does not matter). */
static bool failed(const struct hp_host_info *h, int64_t margin_ms)
{
        return hp_ctl_host_shown(h) && hp_ctl_host_silent(h, margin_ms);
}

/* 1 when this controller leads (the lease taken or renewed), 0 when another
 * does, -errno when the store could not say (then nothing is done). */
static int lead(struct hp_ctl_ha *ha, struct hp_store *s, int64_t ttl_ms, int64_t lease_ms)
{
        _cleanup_free_ char *message = NULL, *other = NULL;
        int64_t token = 0, now = hp_mono_ms();
        int r = hp_store_leader_acquire(s, ha->holder, ttl_ms, &token, &other);

        if (r == -EBUSY && other) {
                ha->leading_since = 0;
                return 0;
        }
        if (r < 0)
                return r;
        if (ha->leading_since && token == ha->token) {
                /* No other took it meanwhile (the token would have grown), but
                 * hosts could not renew their leases either while this one
                 * could not reach the store: a margin again. */
                if (now - ha->renewed > lease_ms)
                        ha->leading_since = now;
                ha->renewed = now;
                return 1;
        }
        /* Leading anew: what the last leader knew is not this one's. */
        ha->leading_since = now;
        ha->renewed = now;
        ha->token = token;
        json_object_clear(ha->failed);
        json_object_clear(ha->announced);
        json_object_clear(ha->restarting);
        if (asprintf(&message, "controller %s leads HA (fencing token %lld)", ha->holder, (long long)token) < 0)
                return -ENOMEM;
        r = hp_ctl_event_on(s, NULL, "ha-leader", NULL, message);
        return r < 0 ? r : 1;
}

int hp_ctl_ha_tick(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, struct hp_ctl_ha *ha)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_host_info *hosts = NULL;
        struct hp_cluster_vm *vms = NULL;
        size_t n_hosts = 0, n_vms = 0;
        int64_t lease_ms = hp_ctl_lease_ms(cfg);
        /* The leader's lease outlives a tick that places many VMs; one that
         * dies is replaced after it (each restart's claim renews it). */
        struct hp_ctl_fence fence = { .holder = ha->holder, .ttl_ms = 2 * lease_ms };
        int r = hp_ops_store_open(c, &s);

        if (r < 0) {
                ha->leading_since = 0;
                return r;
        }
        r = lead(ha, s, fence.ttl_ms, lease_ms);
        if (r <= 0)
                return r;
        fence.token = ha->token;
        r = hp_store_host_list(s, &hosts, &n_hosts);
        if (r >= 0)
                r = hp_store_cluster_vm_list(s, &vms, &n_vms);
        /* A new leader (or one back after the database was away) first
         * gives every host a lease and a margin to renew: hosts could not
         * heartbeat while no controller could write. */
        for (size_t i = 0; r >= 0 && hp_mono_ms() - ha->leading_since >= lease_ms + hp_ctl_margin_ms(cfg) &&
                            i < n_hosts; i++) {
                _cleanup_free_ char *message = NULL;

                if (!failed(&hosts[i], hp_ctl_margin_ms(cfg))) {
                        json_object_del(ha->failed, hosts[i].name);
                        /* A live host in maintenance: its dynamic VMs move off. */
                        if (hosts[i].maintenance)
                                r = hp_ctl_maintenance_moves(s, &fence, hosts[i].name, vms, n_vms);
                        continue;
                }
                if (!json_object_get(ha->failed, hosts[i].name)) {
                        if (asprintf(&message, "no heartbeat for %lld s: its VMs are restarted elsewhere",
                                     (long long)((hosts[i].now_ms - hosts[i].heartbeat_ms) / 1000)) < 0 ||
                            json_object_set_new(ha->failed, hosts[i].name, json_true()) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        r = hp_ctl_event_on(s, hosts[i].name, "host-failed", NULL, message);
                }
                if (r >= 0)
                        r = host_failed(ha, s, &fence, hosts[i].name, vms, n_vms);
        }
        /* What the passes above changed, read again. */
        hp_cluster_vms_free(vms, n_vms);
        vms = NULL;
        n_vms = 0;
        if (r >= 0)
                r = hp_store_cluster_vm_list(s, &vms, &n_vms);
        if (r >= 0)
                r = restart_pending(ha, c, s, &fence, vms, n_vms, lease_ms / 2);
        if (r == -ENOLCK)
                ha->leading_since = 0;
        hp_cluster_vms_free(vms, n_vms);
        hp_host_infos_free(hosts, n_hosts);
        return r == -ENOLCK ? 0 : r;
}

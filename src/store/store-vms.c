/* The store's front for VMs: the VMs of the connection's host, their
 * devices, and the cluster's VMs (store.h), checked here as store.c checks
 * the rest, then handed to the backend. */
/* The store knows a VM's name only as a key (the vm layer validates it), a
 * host's name as store.c does, and the few words of state it stores. */
#include "store-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"

void hp_vm_record_done(struct hp_vm_record *r)
{
        if (!r)
                return;
        free(r->name);
        free(r->spec_json);
        free(r->state);
        free(r->qmp_path);
        *r = (struct hp_vm_record){0};
}

void hp_vm_records_free(struct hp_vm_record *r, size_t n)
{
        if (!r)
                return;
        for (size_t i = 0; i < n; i++)
                hp_vm_record_done(&r[i]);
        free(r);
}

/* The vm layer validates names; the store only refuses what it cannot key on. */
static bool vm_name_is_valid(const char *name)
{
        return name && *name;
}

static bool vm_state_is_valid(const char *state)
{
        static const char *const states[] = {"off", "starting", "running", "stopping"};

        if (!state)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                if (streq(state, states[i]))
                        return true;
        return false;
}

int hp_store_vm_get(struct hp_store *s, const char *name, struct hp_vm_record *ret)
{
        if (!vm_name_is_valid(name))
                return -EINVAL;
        return s->backend->vm_get(s, name, ret);
}

int hp_store_vm_list(struct hp_store *s, struct hp_vm_record **ret, size_t *ret_n)
{
        return s->backend->vm_list(s, ret, ret_n);
}

int hp_store_vm_create(struct hp_store *s, const char *name, const char *spec_json)
{
        if (!vm_name_is_valid(name) || !spec_json)
                return -EINVAL;
        return s->backend->vm_create(s, name, spec_json);
}

int hp_store_vm_update_spec(struct hp_store *s, const char *name, const char *spec_json)
{
        if (!vm_name_is_valid(name) || !spec_json)
                return -EINVAL;
        return s->backend->vm_update_spec(s, name, spec_json);
}

int hp_store_vm_set_runtime(struct hp_store *s, const char *name, const char *state, int64_t pid,
                            const char *qmp_path, int64_t started_at)
{
        if (!vm_name_is_valid(name) || !vm_state_is_valid(state) || pid < 0 || started_at < 0)
                return -EINVAL;
        return s->backend->vm_set_runtime(s, name, state, pid, qmp_path, started_at);
}

int hp_store_vm_delete(struct hp_store *s, const char *name)
{
        if (!vm_name_is_valid(name))
                return -EINVAL;
        return s->backend->vm_delete(s, name);
}

int hp_store_cluster_vm_delete(struct hp_store *s, const char *name)
{
        if (!vm_name_is_valid(name))
                return -EINVAL;
        return s->backend->cluster_vm_delete(s, name);
}

int hp_store_assign_devices(struct hp_store *s, const char *vm, char *const *addresses, size_t n,
                            char **ret_conflict)
{
        if (!vm_name_is_valid(vm) || (n > 0 && !addresses))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!addresses[i])
                        return -EINVAL;
                if (!hp_store_address_is_valid(addresses[i]))
                        return hp_errorf(ret_conflict, -EINVAL, "%s", addresses[i]);
        }
        return s->backend->assign_devices(s, vm, addresses, n, ret_conflict);
}

int hp_store_release_devices(struct hp_store *s, const char *vm)
{
        if (!vm_name_is_valid(vm))
                return -EINVAL;
        return s->backend->release_devices(s, vm);
}

void hp_cluster_vm_done(struct hp_cluster_vm *v)
{
        if (!v)
                return;
        free(v->name);
        free(v->host);
        free(v->spec_json);
        free(v->state);
        free(v->desired);
        free(v->reported_state);
        free(v->start_failures);
        free(v->moving_from);
        *v = (struct hp_cluster_vm){0};
}

void hp_cluster_vms_free(struct hp_cluster_vm *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                hp_cluster_vm_done(&v[i]);
        free(v);
}

int hp_store_cluster_vm_list(struct hp_store *s, struct hp_cluster_vm **ret, size_t *ret_n)
{
        return s->backend->cluster_vm_list(s, NULL, ret, ret_n);
}

int hp_store_cluster_vm_list_on(struct hp_store *s, const char *host, struct hp_cluster_vm **ret, size_t *ret_n)
{
        return host ? s->backend->cluster_vm_list(s, host, ret, ret_n) : -EINVAL;
}

int hp_store_cluster_vm_get(struct hp_store *s, const char *name, struct hp_cluster_vm *ret)
{
        if (!vm_name_is_valid(name))
                return -EINVAL;
        return s->backend->cluster_vm_get(s, name, ret);
}

int hp_store_cluster_vm_create(struct hp_store *s, const char *name, const char *host,
                               const char *spec_json)
{
        if (!vm_name_is_valid(name) || !spec_json || (host && !hp_store_host_name_is_valid(host)))
                return -EINVAL;
        return s->backend->cluster_vm_create(s, name, host, spec_json);
}

int hp_store_vm_place(struct hp_store *s, const char *name, const char *host, int64_t *ret_epoch)
{
        int64_t epoch;
        int r;

        if (!vm_name_is_valid(name) || !hp_store_host_name_is_valid(host))
                return -EINVAL;
        r = s->backend->vm_place(s, name, host, &epoch);
        if (r < 0)
                return r;
        if (ret_epoch)
                *ret_epoch = epoch;
        return 0;
}

int hp_store_vm_held_on(struct hp_store *s, const char *name, char **ret_host)
{
        return vm_name_is_valid(name) ? s->backend->vm_held_on(s, name, ret_host) : -EINVAL;
}

/* Whether the VM's last run may still go on (hp_store_claim()'s -EBUSY). */
static int last_run_open(struct hp_store *s, const struct hp_cluster_vm *v)
{
        if (v->reported_state && !streq(v->reported_state, "off"))
                return 1;
        return hp_store_vm_held_on(s, v->name, NULL);
}

/* SQLite's steps cost no round trips: its claim is made of them. */
int hp_store_claim_steps(struct hp_store *s, const struct hp_store_claim *c, int64_t *ret_epoch,
                         char **ret_conflict)
{
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = { 0 };
        struct hp_host_info h = { 0 };
        int r = hp_store_cluster_vm_get(s, c->vm, &v);

        if (r < 0)
                return r;
        if (streq(v.desired, "on"))
                return -EALREADY;
        if (c->check_host) {
                r = hp_store_host_get(s, c->host, &h);
                free(h.name);
                if (r == -ENOENT || (r >= 0 && !(h.has_credential && h.lease_live && h.ready &&
                                                 !h.maintenance)))
                        return -EHOSTUNREACH;
                if (r < 0)
                        return r;
        }
        if (v.start_failures)
                r = hp_store_vm_set_start_failures(s, c->vm, NULL);
        if (r >= 0)
                r = hp_store_vm_place(s, c->vm, c->host, ret_epoch);
        /* After the place, which finds a missing host first (PostgreSQL's order);
         * the caller's savepoint undoes it. */
        if (r >= 0)
                r = last_run_open(s, &v);
        if (r > 0)
                r = -EBUSY;
        if (r >= 0)
                r = hp_store_set_host(s, c->host);
        if (r >= 0)
                r = hp_store_assign_devices(s, c->vm, c->addrs, c->n, ret_conflict);
        if (r >= 0)
                r = hp_store_event_add(s, c->event_kind, c->vm, c->event_message);
        (void)hp_store_set_host(s, HP_STORE_LOCAL_HOST);
        return r;
}

void hp_store_claim_result_done(struct hp_store_claim_result *res)
{
        free(res->conflict);
        *res = (struct hp_store_claim_result){ 0 };
}

/* Whether c is a claim to judge; ret (may be NULL) says why not. */
static bool claim_valid(const struct hp_store_claim *c, struct hp_store_claim_result *ret)
{
        if (!c || !vm_name_is_valid(c->vm) || !hp_store_host_name_is_valid(c->host) ||
            (c->n > 0 && !c->addrs) || !c->event_kind || !*c->event_kind) {
                if (ret)
                        ret->r = -EINVAL;
                return false;
        }
        for (size_t i = 0; i < c->n; i++)
                if (!c->addrs[i] || !hp_store_address_is_valid(c->addrs[i])) {
                        if (ret)
                                ret->r = hp_errorf(&ret->conflict, -EINVAL, "%s",
                                                   c->addrs[i] ? c->addrs[i] : "");
                        return false;
                }
        return true;
}

/* One claim judged: < 0 only when the transaction is lost. */
static int claim_one(struct hp_store *s, const struct hp_store_claim *c,
                     struct hp_store_claim_result *ret)
{
        hp_store_claim_result_done(ret);
        if (!claim_valid(c, ret))
                return 0;
        return s->backend->claim(s, c, ret);
}

/* Every claim of c[0..n) at once, when the backend can and each is valid:
 * 1 when every one was claimed so, 0 when they are to be judged one by
 * one, < 0 when the transaction is lost. */
static int claim_all(struct hp_store *s, const struct hp_store_claim *c, size_t n,
                     struct hp_store_claim_result *ret)
{
        if (n < 2 || !s->backend->claim_all)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!claim_valid(&c[i], NULL))
                        return 0;
        for (size_t i = 0; i < n; i++)
                hp_store_claim_result_done(&ret[i]);
        return s->backend->claim_all(s, c, n, ret);
}

int hp_store_claim_result_give(struct hp_store_claim_result *res, int r, int64_t *ret_epoch,
                               char **ret_conflict)
{
        if (r >= 0)
                r = res->r;
        if (r >= 0 && ret_epoch)
                *ret_epoch = res->epoch;
        if (r < 0 && res->conflict && ret_conflict)
                *ret_conflict = TAKE_PTR(res->conflict);
        hp_store_claim_result_done(res);
        return r;
}

int hp_store_claim(struct hp_store *s, const struct hp_store_claim *c, int64_t *ret_epoch,
                   char **ret_conflict)
{
        struct hp_store_claim_result res = { 0 };

        return hp_store_claim_result_give(&res, claim_one(s, c, &res), ret_epoch, ret_conflict);
}

int hp_store_claims(struct hp_store *s, const struct hp_store_claim *c, size_t n,
                    struct hp_store_claim_result *ret)
{
        int r;

        if (n > 0 && (!c || !ret))
                return -EINVAL;
        r = claim_all(s, c, n, ret);
        if (r != 0)
                return r < 0 ? r : 0;
        for (size_t i = 0; i < n; i++) {
                r = claim_one(s, &c[i], &ret[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hp_store_vm_unplace(struct hp_store *s, const char *name, bool keep_host)
{
        if (!vm_name_is_valid(name))
                return -EINVAL;
        return s->backend->vm_unplace(s, name, keep_host);
}

int hp_store_vm_set_desired(struct hp_store *s, const char *name, const char *desired)
{
        if (!vm_name_is_valid(name) || !desired ||
            !(streq(desired, "on") || streq(desired, "off")))
                return -EINVAL;
        return s->backend->vm_set_desired(s, name, desired);
}

int hp_store_vm_set_moving(struct hp_store *s, const char *name, const char *host)
{
        if (!vm_name_is_valid(name) || (host && !hp_store_host_name_is_valid(host)))
                return -EINVAL;
        return s->backend->vm_set_moving(s, name, host);
}

int hp_store_vm_set_start_failures(struct hp_store *s, const char *name, const char *failures)
{
        if (!vm_name_is_valid(name))
                return -EINVAL;
        return s->backend->vm_set_start_failures(s, name, failures);
}

/* What an agent may report as a run's state: a word, not a message. */
static bool reported_state_is_valid(const char *state)
{
        size_t n;

        if (!state)
                return false;
        n = strspn(state, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
        return n > 0 && n <= 64 && state[n] == '\0';
}

int hp_store_vm_report(struct hp_store *s, const char *host, const char *name, int64_t epoch,
                       const char *state)
{
        if (!hp_store_host_name_is_valid(host) || !vm_name_is_valid(name) || epoch < 0 ||
            !reported_state_is_valid(state))
                return -EINVAL;
        return s->backend->vm_report(s, host, name, epoch, state);
}

int hp_store_vm_names_clash(char **ret_error, const char *display, const char *name,
                            int64_t n_hosts, const char *first_host, const char *last_host)
{
        return hp_errorf(ret_error, -EBADMSG,
                         "Failed to upgrade state database \"%s\" to schema version 7: VM names "
                         "are unique in the store from then on, and \"%s\" names a VM on %lld "
                         "hosts (among them \"%s\" and \"%s\"); keep one of them (delete the "
                         "others with the hwpass that wrote the store), then start again",
                         display, name, (long long)n_hosts, first_host, last_host);
}

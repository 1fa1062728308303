/* HA admission control (docs/cluster.md "Admission control"): the cluster
 * setting "tolerate N host failures" keeps room to restart every protected
 * VM when any N hosts fail. A scenario (a set of N live hosts down) holds
 * when placement, run as HA would run it (highest restart priority first,
 * each VM taking its devices and memory on the host it gets), finds a
 * host for every protected VM of the hosts down among the others' free
 * devices. A power-on that would break a scenario that holds without it is
 * refused or warned about, as the setting says; `cluster ha status` shows
 * every scenario. A protected VM: wanted on, dynamic, restart priority not
 * disabled, isolation not leave-running. Hosts are judged on their
 * devices and memory (a VM's files are assumed seen where it restarts). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/place.h"
#include "alloc/request.h"
#include "ctl-internal.h"
#include "ops/ops.h"
#include "ops/vm.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

/* Scenarios judged at most (hosts choose N). */
#define SCENARIOS_MAX 2000

#define SETTING_TOLERATE "ha.tolerate"
#define SETTING_ADMISSION "ha.admission"

struct sim_vm {
        const char *name, *host;
        struct hp_vm_spec spec;
        struct hp_vm_pci *dyn;
        size_t n_dyn;
        bool protect;
};

struct sim {
        struct hp_host_info *infos;
        size_t n_infos;
        size_t *live; /* indices into infos of the hosts that may fail (and take VMs) */
        size_t n_live;
        struct hp_ctl_host_devs *devs; /* per infos entry (only live ones loaded) */
        struct hp_cluster_vm *vms;
        size_t n_vms;
        struct sim_vm *v; /* per vms entry */
        enum hp_place_policy policy;
};

static void sim_done(struct sim *m)
{
        for (size_t i = 0; m->devs && i < m->n_infos; i++)
                hp_ctl_host_devs_done(&m->devs[i]);
        for (size_t i = 0; m->v && i < m->n_vms; i++) {
                hp_vm_spec_done(&m->v[i].spec);
                free(m->v[i].dyn);
        }
        free(m->v);
        free(m->devs);
        free(m->live);
        hp_cluster_vms_free(m->vms, m->n_vms);
        hp_host_infos_free(m->infos, m->n_infos);
}

static int sim_load(struct hp_store *s, struct sim *m)
{
        struct hp_vm_spec none = { .placement = HP_VM_PLACEMENT_CLUSTER };
        struct hp_store_inventory *inv = NULL;
        size_t n_inv = 0;
        const char *from;
        int r = hp_store_host_list(s, &m->infos, &m->n_infos);

        if (r >= 0)
                r = hp_store_cluster_vm_list(s, &m->vms, &m->n_vms);
        if (r >= 0)
                r = hp_ops_place_policy(s, &none, &m->policy, &from);
        if (r < 0)
                return r;
        m->live = calloc(m->n_infos + 1, sizeof(*m->live));
        m->devs = calloc(m->n_infos + 1, sizeof(*m->devs));
        m->v = calloc(m->n_vms + 1, sizeof(*m->v));
        if (!m->live || !m->devs || !m->v)
                return -ENOMEM;
        r = hp_ctl_inventories_load(s, &inv, &n_inv);
        for (size_t i = 0; r >= 0 && i < m->n_infos; i++) {
                const struct hp_host_info *h = &m->infos[i];

                if (!hp_ctl_host_shown(h) || !h->lease_live || !h->ready || h->maintenance)
                        continue;
                r = hp_ctl_host_devs_from(inv, n_inv, h->name, &m->devs[i]);
                if (r >= 0)
                        m->live[m->n_live++] = i;
        }
        hp_store_inventories_free(inv, n_inv);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_vms; i++) {
                struct sim_vm *v = &m->v[i];
                _cleanup_free_ char *err = NULL;

                v->name = m->vms[i].name;
                v->host = m->vms[i].host;
                if (hp_vm_spec_from_text(m->vms[i].spec_json, &v->spec, &err) < 0)
                        continue;
                r = hp_alloc_dynamic_entries(v->spec.pci, v->spec.n_pci, &v->dyn, NULL, &v->n_dyn);
                if (r < 0)
                        return r;
                v->protect = streq(m->vms[i].desired, "on") && v->host && !hp_vm_spec_has_static(&v->spec) &&
                             v->spec.restart_priority != HP_VM_RESTART_DISABLED &&
                             v->spec.isolation != HP_VM_ISOLATION_LEAVE_RUNNING;
        }
        return 0;
}

/* The power-on being judged: VM v would run on host (an infos index) with
 * these devices, restarted elsewhere when that host fails if protect. */
struct extra {
        const struct sim_vm *v;
        size_t host;
        char *const *addrs;
        bool protect;
};

static bool is_down(const bool *down, const struct sim *m, const char *host)
{
        for (size_t i = 0; host && i < m->n_infos; i++)
                if (down[i] && streq(m->infos[i].name, host))
                        return true;
        return false;
}

static int by_priority(const void *a, const void *b)
{
        const struct sim_vm *x = *(const struct sim_vm *const *)a, *y = *(const struct sim_vm *const *)b;

        if (x->spec.restart_priority != y->spec.restart_priority)
                return (int)y->spec.restart_priority - (int)x->spec.restart_priority;
        return strcmp(x->name, y->name);
}

/* A VM's memory taken on host h (what it has, at most; unknown stays unknown). */
static void take_mib(struct hp_place_host *h, uint64_t mib)
{
        if (h->memory_mib != HP_PLACE_MEMORY_UNKNOWN)
                h->memory_mib -= h->memory_mib > mib ? mib : h->memory_mib;
}

/* The scenario with the hosts down[] failed: {"failed": [...], "ok", "restarts": [{"vm", "host", "why"}]}. */
static int scenario(const struct sim *m, const bool *down, const struct extra *x, json_t **ret)
{
        _cleanup_free_ struct hp_alloc_pools *pools = calloc(m->n_infos + 1, sizeof(*pools));
        _cleanup_free_ struct hp_place_host *hosts = calloc(m->n_infos + 1, sizeof(*hosts));
        _cleanup_free_ const struct sim_vm **todo = calloc(m->n_vms + 2, sizeof(*todo));
        json_t *failed = json_array(), *restarts = json_array();
        size_t n = 0, n_todo = 0;
        bool ok = true;
        int r = 0;

        if (!pools || !hosts || !todo || !failed || !restarts) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t k = 0; k < m->n_live; k++) {
                size_t i = m->live[k];
                const struct hp_ctl_host_devs *d = &m->devs[i];
                _cleanup_free_ bool *taken = calloc(d->n + 1, sizeof(*taken));
                json_t *mem = json_object_get(json_object_get(d->report, "memory"), "available_mib");

                if (!taken) {
                        r = -ENOMEM;
                        goto out;
                }
                if (down[i]) {
                        json_array_append_new(failed, json_string(m->infos[i].name));
                        continue;
                }
                /* The power-on's devices are not free on its host. */
                for (size_t c = 0; x && x->host == i && c < d->n; c++)
                        taken[c] = hp_strv_contains(x->addrs, d->cands[c].dev->address);
                r = hp_alloc_pools_make("", d->cands, d->n, taken, &pools[n]);
                if (r < 0)
                        goto out;
                hosts[n] = (struct hp_place_host){
                        .name = m->infos[i].name,
                        .connected = true,
                        .ready = true,
                        .memory_mib = json_is_integer(mem) ? (uint64_t)json_integer_value(mem) : HP_PLACE_MEMORY_UNKNOWN,
                        .pools = pools[n].v,
                        .n_pools = pools[n].n,
                };
                if (x && x->host == i)
                        take_mib(&hosts[n], x->v->spec.memory_mib);
                n++;
        }
        for (size_t i = 0; i < m->n_vms; i++)
                if (m->v[i].protect && is_down(down, m, m->v[i].host) && (!x || x->v != &m->v[i]))
                        todo[n_todo++] = &m->v[i];
        if (x && x->protect && down[x->host])
                todo[n_todo++] = x->v;
        qsort(todo, n_todo, sizeof(*todo), by_priority);
        for (size_t t = 0; t < n_todo; t++) {
                const struct sim_vm *v = todo[t];
                struct hp_place_vm pv = { .name = v->name, .memory_mib = v->spec.memory_mib,
                                          .hugepages = v->spec.hugepages, .pci = v->dyn, .n_pci = v->n_dyn };
                struct hp_place_result res = { 0 };
                size_t best, dev = 0;

                r = hp_place(&pv, hosts, n, m->policy, &res);
                if (r < 0)
                        goto out;
                if (res.n_order == 0) {
                        ok = false;
                        json_array_append_new(restarts, json_pack("{s:s, s:n, s:s}", "vm", v->name, "host", "why",
                                                                  res.why ? res.why : "no host"));
                        hp_place_result_done(&res);
                        continue;
                }
                best = res.order[0];
                json_array_append_new(restarts, json_pack("{s:s, s:s}", "vm", v->name, "host", hosts[best].name));
                /* It takes its devices and memory there: the next VM finds them gone. */
                for (size_t e = 0; e < v->n_dyn; e++)
                        for (unsigned d = 0; d < hp_vm_pci_count(&v->dyn[e]); d++, dev++) {
                                size_t q = res.verdicts[best].pool[dev];

                                (void)hp_alloc_pools_take(&pools[best], q);
                                pools[best].v[q].n_free--;
                        }
                take_mib(&hosts[best], v->spec.memory_mib);
                hp_place_result_done(&res);
        }
        *ret = json_pack("{s:O, s:b, s:O}", "failed", failed, "ok", ok, "restarts", restarts);
        r = *ret ? 0 : -ENOMEM;
out:
        for (size_t k = 0; k < n; k++)
                hp_alloc_pools_done(&pools[k]);
        json_decref(failed);
        json_decref(restarts);
        return r;
}

/* Every scenario of tolerate hosts down among the live ones, into *ret
 * (an array); the next combination of k indices out of n in c[]. */
static bool next_combination(size_t *c, size_t k, size_t n)
{
        for (size_t i = k; i-- > 0;)
                if (c[i] < n - k + i) {
                        c[i]++;
                        for (size_t j = i + 1; j < k; j++)
                                c[j] = c[j - 1] + 1;
                        return true;
                }
        return false;
}

static int scenarios(const struct sim *m, unsigned tolerate, const struct extra *x, json_t **ret)
{
        _cleanup_free_ size_t *c = calloc(tolerate + 1, sizeof(*c));
        _cleanup_free_ bool *down = calloc(m->n_infos + 1, sizeof(*down));
        json_t *all = json_array();
        unsigned count = 0;
        int r = 0;

        if (!c || !down || !all) {
                json_decref(all);
                return -ENOMEM;
        }
        *ret = all;
        if (tolerate == 0 || tolerate > m->n_live)
                return 0;
        for (size_t i = 0; i < tolerate; i++)
                c[i] = i;
        do {
                json_t *one = NULL;

                memset(down, 0, (m->n_infos + 1) * sizeof(*down));
                for (size_t i = 0; i < tolerate; i++)
                        down[m->live[c[i]]] = true;
                r = scenario(m, down, x, &one);
                if (r < 0 || json_array_append_new(all, one) < 0)
                        return r < 0 ? r : -ENOMEM;
        } while (++count < SCENARIOS_MAX && next_combination(c, tolerate, m->n_live));
        return 0;
}

int hp_ctl_ha_settings(struct hp_store *s, unsigned *ret_tolerate, bool *ret_warn)
{
        _cleanup_free_ char *t = NULL, *a = NULL;
        int r = hp_store_setting_get(s, SETTING_TOLERATE, &t);

        *ret_tolerate = 0;
        *ret_warn = false;
        if (r < 0 && r != -ENOENT)
                return r;
        if (t && (*ret_tolerate = (unsigned)strtoul(t, NULL, 10)) > HP_CTL_TOLERATE_MAX)
                *ret_tolerate = HP_CTL_TOLERATE_MAX;
        r = hp_store_setting_get(s, SETTING_ADMISSION, &a);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret_warn = a && streq(a, "warn");
        return 0;
}

int hp_ctl_ha_settings_set(struct hp_store *s, unsigned tolerate, bool warn)
{
        char text[16];
        int r;

        snprintf(text, sizeof(text), "%u", tolerate);
        r = hp_store_setting_set(s, SETTING_TOLERATE, tolerate ? text : NULL);
        return r < 0 ? r : hp_store_setting_set(s, SETTING_ADMISSION, warn ? "warn" : NULL);
}

int hp_ctl_ha_status(struct hp_ops_ctx *c, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(sim_done) struct sim m = { 0 };
        json_t *all = NULL;
        unsigned tolerate;
        bool warn, ok = true;
        size_t i;
        json_t *one;
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        r = hp_ctl_ha_settings(s, &tolerate, &warn);
        if (r >= 0)
                r = sim_load(s, &m);
        /* Each live host's failure is shown even when none is tolerated. */
        if (r >= 0)
                r = scenarios(&m, tolerate ? tolerate : 1, NULL, &all);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot judge the cluster's failure scenarios");
        json_array_foreach(all, i, one)
                ok = ok && json_is_true(json_object_get(one, "ok"));
        *ret = json_pack("{s:i, s:s, s:b, s:o}", "tolerate", (int)tolerate, "admission", warn ? "warn" : "refuse",
                         "ok", ok, "scenarios", all);
        return *ret ? 0 : hp_op_oom(c);
}

/* "gpu-a and gpu-b" from a scenario's "failed". */
static char *hosts_text(json_t *failed)
{
        char *out = strdup(""), *next;
        json_t *h;
        size_t i;

        json_array_foreach(failed, i, h) {
                if (!out || asprintf(&next, "%s%s%s", out, i == 0 ? "" : i + 1 == json_array_size(failed) ? " and " : ", ",
                                     json_string_value(h)) < 0) {
                        free(out);
                        return NULL;
                }
                free(out);
                out = next;
        }
        return out;
}

int hp_ctl_admission_check(struct hp_store *s, unsigned tolerate, bool warn, const char *vm, const char *host,
                           char *const *addrs, char **ret_why)
{
        _cleanup_(sim_done) struct sim m = { 0 };
        _cleanup_(json_decrefp) json_t *before = NULL, *after = NULL;
        struct sim_vm none = { .name = vm };
        struct extra x = { .v = &none, .addrs = addrs };
        json_t *one;
        size_t i;
        int r;

        *ret_why = NULL;
        if (tolerate == 0)
                return 0;
        r = sim_load(s, &m);
        if (r < 0)
                return r;
        for (i = 0; i < m.n_vms; i++)
                if (streq(m.v[i].name, vm) && m.v[i].spec.name[0])
                        x.v = &m.v[i];
        x.host = m.n_infos; /* none, unless it is one of them */
        for (i = 0; i < m.n_infos; i++)
                if (streq(m.infos[i].name, host))
                        x.host = i;
        /* Restarted elsewhere if its host fails; its devices leave less room for the others anyway. */
        x.protect = x.v != &none && !hp_vm_spec_has_static(&x.v->spec) &&
                    x.v->spec.restart_priority != HP_VM_RESTART_DISABLED &&
                    x.v->spec.isolation != HP_VM_ISOLATION_LEAVE_RUNNING;
        r = scenarios(&m, tolerate, NULL, &before);
        if (r >= 0)
                r = scenarios(&m, tolerate, &x, &after);
        if (r < 0)
                return r;
        json_array_foreach(after, i, one) {
                json_t *was = json_array_get(before, i), *rs = NULL;
                _cleanup_free_ char *hosts = NULL;
                size_t k;

                if (json_is_true(json_object_get(one, "ok")) || !json_is_true(json_object_get(was, "ok")))
                        continue;
                hosts = hosts_text(json_object_get(one, "failed"));
                json_array_foreach(json_object_get(one, "restarts"), k, rs)
                        if (json_is_null(json_object_get(rs, "host")))
                                break;
                if (asprintf(ret_why,
                             "starting VM '%s' on %s would leave no room to restart VM '%s' if %s failed (%s); the "
                             "cluster tolerates %u host failure%s ('hwpass cluster ha status' shows every case)",
                             vm, host, json_string_value(json_object_get(rs, "vm")) ?: "?", hosts ? hosts : "?",
                             json_string_value(json_object_get(rs, "why")) ?: "no host", tolerate,
                             tolerate == 1 ? "" : "s") < 0)
                        return -ENOMEM;
                return warn ? 1 : 2;
        }
        return 0;
}

struct ha_set {
        unsigned tolerate;
        bool warn;
};

static int ha_set_tx(struct hp_store *s, void *userdata)
{
        const struct ha_set *h = userdata;
        _cleanup_free_ char *message = NULL;
        int r = hp_ctl_ha_settings_set(s, h->tolerate, h->warn);

        if (r >= 0 && asprintf(&message, "HA tolerates %u host failure%s, admission %s", h->tolerate,
                               h->tolerate == 1 ? "" : "s", h->warn ? "warns" : "refuses") < 0)
                r = -ENOMEM;
        return r < 0 ? r : hp_store_event_add(s, "cluster-settings-changed", "ha", message);
}

int hp_ctl_ha_set(struct hp_ops_ctx *c, json_t *body, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        json_t *t = json_object_get(body, "tolerate"), *a = json_object_get(body, "admission");
        struct ha_set h;
        int r;

        if ((t && (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > HP_CTL_TOLERATE_MAX)) ||
            (a && (!json_is_string(a) || (!streq(json_string_value(a), "refuse") && !streq(json_string_value(a), "warn")))))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "\"tolerate\" is how many host failures to keep room for, 0 to %d; \"admission\" is "
                                  "\"refuse\" (a power-on that breaks it is refused) or \"warn\"",
                                  HP_CTL_TOLERATE_MAX);
        r = hp_ops_store_open(c, &s);
        if (r >= 0)
                r = hp_ctl_ha_settings(s, &h.tolerate, &h.warn);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot read the cluster's HA settings");
        if (t)
                h.tolerate = (unsigned)json_integer_value(t);
        if (a)
                h.warn = streq(json_string_value(a), "warn");
        r = hp_store_transact(s, ha_set_tx, &h);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot store the cluster's HA settings");
        hp_store_close(TAKE_PTR(s));
        return hp_ctl_ha_status(c, ret);
}

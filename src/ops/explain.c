/* vm explain: where power-on could place a VM, host by host, and why
 * (alloc/place.h). Standalone there is one host, "local", this one, built as
 * power-on sees it: its free devices pooled (hp_ops_vm_candidates,
 * hp_alloc_pools_make), the memory admission judges by
 * (hp_ops_memory_room), which of the VM's disks and kernel it sees, and
 * whether its static entries' devices are free (hp_alloc_assign). A read:
 * nothing is claimed or locked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc/place.h"
#include "alloc/select.h"
#include "ops.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"

#define LOCAL "local"

/* This host as placement takes it, and what its answer names. */
struct local {
        struct hp_view view;
        struct hp_alloc_candidate *cands;
        size_t n_cands;
        struct hp_alloc_pools pools;
        struct hp_vm_pci *dyn; /* the dynamic entries, by index */
        size_t n_dyn;
        struct hp_vm_pci *statics; /* the static entries, slots as their functions */
        size_t n_statics;
        char (*static_addrs)[HP_SBDF_LEN];
        char *static_why;
        char **paths, **seen;
};

static void local_done(struct local *l)
{
        hp_view_done(&l->view);
        free(l->cands);
        hp_alloc_pools_done(&l->pools);
        free(l->dyn);
        free(l->statics);
        free(l->static_addrs);
        free(l->static_why);
        hp_strv_free(l->paths);
        hp_strv_free(l->seen);
}

/* The VM's disks, kernel and ROM files, and those of them this host sees. */
static int paths(const struct hp_vm_spec *s, struct local *l)
{
        struct stat st;

        l->seen = calloc(1, sizeof(char *));
        if (!l->seen || hp_vm_spec_paths(s, &l->paths) < 0)
                return -ENOMEM;
        for (size_t i = 0; l->paths[i]; i++)
                if (stat(l->paths[i], &st) == 0 && hp_strv_push(&l->seen, l->paths[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* The static entries' devices, when the VM has any: free for it or why not. */
static int statics(const struct hp_vm_spec *s, struct local *l, bool *taken)
{
        _cleanup_free_ struct hp_vm_pci *expanded = NULL;
        size_t n = 0;
        int r = hp_ops_vm_entries_now(&l->view, s, NULL, &expanded, &n, &l->static_why);

        if (r == -ENOMEM || (r < 0 && !l->static_why))
                return -ENOMEM;
        if (r < 0)
                return 0;
        l->statics = calloc(n + 1, sizeof(*l->statics));
        if (!l->statics)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (expanded[i].kind == HP_VM_PCI_STATIC)
                        l->statics[l->n_statics++] = expanded[i];
        l->static_addrs = calloc(l->n_statics + 1, sizeof(*l->static_addrs));
        if (!l->static_addrs)
                return -ENOMEM;
        r = hp_alloc_assign(s->name, l->statics, l->n_statics, l->cands, l->n_cands, l->static_addrs,
                            &l->static_why);
        if (r == -ENOMEM)
                return r;
        for (size_t k = 0; r >= 0 && k < l->n_cands; k++)
                for (size_t i = 0; i < l->n_statics; i++)
                        if (streq(l->cands[k].dev->address, l->static_addrs[i]))
                                taken[k] = true;
        return 0;
}

/* The host's devices: free ones pooled, static ones judged. */
static int devices(struct hp_ops_ctx *c, const struct hp_vm_spec *s, struct local *l)
{
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ bool *taken = NULL;
        int r;

        r = hp_alloc_dynamic_entries(s->pci, s->n_pci, &l->dyn, NULL, &l->n_dyn);
        if (r < 0)
                return hp_op_oom(c);
        if (s->n_pci == 0)
                return 0;
        r = hp_view_load(c->host, c->names, c->db, &l->view, &err);
        if (r < 0)
                return hp_op_fail(c, HP_OP_HOST, r, "%s", err ? err : strerror(-r));
        l->n_cands = l->view.inv->n_devs;
        taken = calloc(l->n_cands + 1, sizeof(*taken));
        if (!taken || hp_ops_vm_candidates(&l->view, &l->cands) < 0)
                return hp_op_oom(c);
        if (hp_vm_spec_has_static(s) && statics(s, l, taken) < 0)
                return hp_op_oom(c);
        if (hp_alloc_pools_make(s->name, l->cands, l->n_cands, taken, &l->pools) < 0)
                return hp_op_oom(c);
        return 0;
}

json_t *hp_ops_place_device_json(int index, const char *address)
{
        char entry[32];

        snprintf(entry, sizeof(entry), "pci%d", index);
        return json_pack("{s:s, s:s}", "entry", entry, "address", address);
}

/* What the VM would get here: the static entries' devices, then the
 * dynamic ones' from the pools the placement chose. */
static json_t *devices_json(struct local *l, const struct hp_place_verdict *v)
{
        json_t *a = json_array();
        size_t at = 0;

        for (size_t i = 0; a && i < l->n_statics; i++)
                if (json_array_append_new(a, hp_ops_place_device_json(l->statics[i].index, l->static_addrs[i])) < 0)
                        goto oom;
        for (size_t e = 0; a && e < l->n_dyn; e++)
                for (unsigned d = 0; d < hp_vm_pci_count(&l->dyn[e]); d++, at++) {
                        size_t k = hp_alloc_pools_take(&l->pools, v->pool[at]);

                        if (json_array_append_new(a, hp_ops_place_device_json(l->dyn[e].index, l->cands[k].dev->address)) < 0)
                                goto oom;
                }
        return a;
oom:
        json_decref(a);
        return NULL;
}

json_t *hp_ops_place_verdict_json(const char *host, const struct hp_place_verdict *v, json_t *devs)
{
        bool fits = v->reason == HP_PLACE_FITS;
        json_t *score = fits ? json_pack("{s:b, s:I, s:I}", "numa_local", v->score.numa_local, "free_devices",
                                         (json_int_t)v->score.free_devices, "free_mib",
                                         (json_int_t)v->score.free_mib)
                             : json_null();

        return json_pack("{s:s, s:b, s:s, s:s, s:o?, s:o?, s:o}", "host", host, "fits", fits, "reason",
                         hp_place_reason_name(v->reason), "message", v->message, "score", score, "numa_node",
                         fits && v->numa_node >= 0 ? json_integer(v->numa_node) : json_null(), "devices",
                         devs ? devs : json_array());
}

static json_t *result_json(const struct hp_ops_vm *v, const struct hp_place_host *hosts,
                           const struct hp_place_result *res, struct local *l, enum hp_place_policy policy,
                           const char *policy_from)
{
        json_t *list = json_array(), *cands = json_array();

        for (size_t i = 0; list && i < res->n_verdicts; i++) {
                const struct hp_place_verdict *vd = &res->verdicts[i];
                json_t *devs = vd->reason == HP_PLACE_FITS ? devices_json(l, vd) : NULL;

                if (json_array_append_new(list, hp_ops_place_verdict_json(hosts[i].name, vd, devs)) < 0) {
                        json_decref(list);
                        list = NULL;
                }
        }
        for (size_t k = 0; cands && k < res->n_order; k++)
                if (json_array_append_new(cands, json_string(hosts[res->order[k]].name)) < 0) {
                        json_decref(cands);
                        cands = NULL;
                }
        if (!list || !cands) {
                json_decref(list);
                json_decref(cands);
                return NULL;
        }
        return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s?, s:s}", "vm", v->spec.name, "state", v->rec.state,
                         "policy", hp_place_policy_name(policy), "policy_from", policy_from, "hosts", list,
                         "candidates", cands, "winner", res->n_order ? hosts[res->order[0]].name : NULL, "why",
                         res->why);
}

int hp_ops_place_policy(struct hp_store *s, const struct hp_vm_spec *spec, enum hp_place_policy *ret,
                        const char **ret_from)
{
        _cleanup_free_ char *value = NULL;
        int r;

        if (spec->placement != HP_VM_PLACEMENT_CLUSTER) {
                *ret = spec->placement == HP_VM_PLACEMENT_CONSOLIDATION ? HP_PLACE_CONSOLIDATION
                                                                        : HP_PLACE_PERFORMANCE;
                *ret_from = "vm";
                return 0;
        }
        r = hp_store_setting_get(s, HP_OPS_SETTING_PLACEMENT, &value);
        if (r == -ENOENT) {
                *ret = HP_PLACE_PERFORMANCE;
                *ret_from = "default";
                return 0;
        }
        if (r < 0)
                return r;
        if (hp_place_policy_from_string(value, ret) < 0)
                return -EBADMSG;
        *ret_from = "cluster";
        return 0;
}

int hp_ops_vm_explain(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        _cleanup_(local_done) struct local l = { 0 };
        _cleanup_(hp_place_result_done) struct hp_place_result res = { 0 };
        struct hp_ops_memory_room m;
        enum hp_place_policy policy;
        struct hp_place_host host;
        const char *policy_from;
        struct hp_place_vm vm;
        int r;

        r = hp_ops_vm_load(c, name, "vm explain", false, &v);
        if (r < 0)
                return r;
        r = hp_ops_place_policy(v.store, &v.spec, &policy, &policy_from);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read the placement policy of VM '%s'", name);
        if (paths(&v.spec, &l) < 0)
                return hp_op_oom(c);
        r = devices(c, &v.spec, &l);
        if (r < 0)
                return r;
        hp_ops_memory_room(c, v.store, name, &m);
        host = (struct hp_place_host){
                .name = LOCAL,
                .connected = true,
                .ready = true,
                .memory_mib = !m.known                        ? HP_PLACE_MEMORY_UNKNOWN
                              : m.available_mib > m.pending_mib ? m.available_mib - m.pending_mib
                                                                : 0,
                .hugepages_free = m.hugepages_free,
                .hugepage_kib = m.hugepage_kib,
                .paths = l.seen,
                .pools = l.pools.v,
                .n_pools = l.pools.n,
        };
        vm = (struct hp_place_vm){
                .name = v.spec.name,
                .memory_mib = v.spec.memory_mib,
                .hugepages = v.spec.hugepages,
                .paths = l.paths,
                .pci = l.dyn,
                .n_pci = l.n_dyn,
                .pinned_host = hp_vm_spec_has_static(&v.spec) ? LOCAL : NULL,
                .static_free = !l.static_why,
                .static_why = l.static_why,
        };
        r = hp_place(&vm, &host, 1, policy, &res);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot place VM '%s'", name);
        *ret = result_json(&v, &host, &res, &l, policy, policy_from);
        return *ret ? 0 : hp_op_oom(c);
}

/* The devices of a VM at power-on, as the plan and the QEMU argv take them:
 * slot entries become their functions, static entries take their address,
 * dynamic entries go through the request matcher (request.h) on the host's
 * free devices grouped into pools, as the cluster's controller places them,
 * and then an entry with a count becomes one plan entry per device and an
 * --all-functions entry the functions of the slot it got. Pure: no I/O. */
#include "select.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "util/macro.h"
#include "util/strutil.h"

#define NONE SIZE_MAX

void hp_alloc_pools_done(struct hp_alloc_pools *p)
{
        for (size_t i = 0; p->addrs && i < p->n; i++)
                free(p->addrs[i]);
        free(p->addrs);
        free(p->v);
        free(p->next);
        *p = (struct hp_alloc_pools){ 0 };
}

size_t hp_alloc_pools_take(struct hp_alloc_pools *p, size_t pool)
{
        return p->addrs[pool][p->next[pool]++];
}

static bool same_strv(char *const *a, char *const *b)
{
        size_t na = a ? hp_strv_length(a) : 0, nb = b ? hp_strv_length(b) : 0;

        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!hp_strv_contains(b, a[i]))
                        return false;
        return true;
}

static bool same_text(const char *a, const char *b)
{
        return (a && a[0] ? a : "")[0] == '\0' ? !(b && b[0]) : b && streq(a, b);
}

static bool usable(const char *vm, const struct hp_alloc_candidate *c)
{
        return c->passthrough_active && !c->quarantined && !(c->assigned_vm && !streq(c->assigned_vm, vm));
}

/* Function 0 of a multi-function slot whose every function is usable and
 * not taken by a static entry. */
static bool whole_slot(const char *vm, const struct hp_alloc_candidate *cands, size_t n, size_t k,
                       const bool *taken)
{
        const struct hp_pci_addr *a = &cands[k].dev->addr;
        size_t fns = 0;

        if (a->fn != 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                const struct hp_pci_addr *b = &cands[i].dev->addr;

                if (b->domain != a->domain || b->bus != a->bus || b->dev != a->dev)
                        continue;
                if (!usable(vm, &cands[i]) || (taken && taken[i]))
                        return false;
                fns++;
        }
        return fns > 1;
}

static size_t *order_of(const struct hp_alloc_candidate *cands, size_t n);

/* Candidates are taken in address order, so pools and their addresses come
 * out in address order. */
int hp_alloc_pools_make(const char *vm, const struct hp_alloc_candidate *cands, size_t n, const bool *taken,
                        struct hp_alloc_pools *ret)
{
        _cleanup_(hp_alloc_pools_done) struct hp_alloc_pools pools = { 0 };
        struct hp_alloc_pools *p = &pools;
        _cleanup_free_ size_t *cand_order = order_of(cands, n);

        if (!cand_order)
                return -ENOMEM;
        p->v = calloc(n + 1, sizeof(*p->v));
        p->addrs = calloc(n + 1, sizeof(*p->addrs));
        p->next = calloc(n + 1, sizeof(*p->next));
        if (!p->v || !p->addrs || !p->next)
                return -ENOMEM;
        for (size_t o = 0; o < n; o++) {
                size_t k = cand_order[o];
                const struct hp_alloc_candidate *c = &cands[k];
                struct hp_alloc_pool key;
                size_t i;

                if (!usable(vm, c) || (taken && taken[k]))
                        continue;
                key = (struct hp_alloc_pool){
                        .vendor_id = c->dev->vendor_id,
                        .device_id = c->dev->device_id,
                        .subsystem_vendor_id = c->dev->subsystem_vendor_id,
                        .subsystem_device_id = c->dev->subsystem_device_id,
                        .label = c->label && c->label[0] ? c->label : NULL,
                        .attrs = c->attrs,
                        .numa_node = c->dev->numa_node,
                        .pcie_switch = c->dev->pcie_switch,
                        .whole_slot = whole_slot(vm, cands, n, k, taken),
                };
                for (i = 0; i < p->n; i++) {
                        const struct hp_alloc_pool *q = &p->v[i];

                        if (q->vendor_id == key.vendor_id && q->device_id == key.device_id &&
                            q->subsystem_vendor_id == key.subsystem_vendor_id &&
                            q->subsystem_device_id == key.subsystem_device_id && same_text(q->label, key.label) &&
                            same_strv(q->attrs, key.attrs) && q->numa_node == key.numa_node &&
                            streq(q->pcie_switch, key.pcie_switch) && q->whole_slot == key.whole_slot)
                                break;
                }
                if (i == p->n) {
                        p->v[p->n] = key;
                        p->addrs[p->n] = calloc(n + 1, sizeof(size_t));
                        if (!p->addrs[p->n++])
                                return -ENOMEM;
                }
                p->addrs[i][p->v[i].n_free++] = k;
        }
        *ret = pools;
        pools = (struct hp_alloc_pools){ 0 };
        return 0;
}

static int addr_cmp_cand(const struct hp_alloc_candidate *cands, size_t a, size_t b)
{
        return hp_pci_addr_cmp(&cands[a].dev->addr, &cands[b].dev->addr);
}

/* Candidates in address order (insertion sort: a host has hundreds). */
static size_t *order_of(const struct hp_alloc_candidate *cands, size_t n)
{
        size_t *o = calloc(n + 1, sizeof(*o));

        for (size_t i = 0; o && i < n; i++) {
                size_t j = i;

                for (; j > 0 && addr_cmp_cand(cands, i, o[j - 1]) < 0; j--)
                        o[j] = o[j - 1];
                o[j] = i;
        }
        return o;
}

int hp_alloc_dynamic_entries(const struct hp_vm_pci *entries, size_t n, struct hp_vm_pci **ret, size_t **ret_from,
                             size_t *ret_n)
{
        _cleanup_free_ struct hp_vm_pci *want = calloc(n + 1, sizeof(*want));
        _cleanup_free_ size_t *from = calloc(n + 1, sizeof(*from));
        size_t m = 0;

        if (!want || !from)
                return -ENOMEM;
        for (size_t e = 0; e < n; e++)
                if (entries[e].kind == HP_VM_PCI_DYNAMIC) {
                        from[m] = e;
                        want[m++] = entries[e];
                }
        for (size_t i = 1; i < m; i++)
                for (size_t j = i; j > 0 && want[j].index < want[j - 1].index; j--) {
                        struct hp_vm_pci t = want[j];
                        size_t d = from[j];

                        want[j] = want[j - 1], from[j] = from[j - 1];
                        want[j - 1] = t, from[j - 1] = d;
                }
        *ret = TAKE_PTR(want);
        if (ret_from)
                *ret_from = TAKE_PTR(from);
        *ret_n = m;
        return 0;
}

int hp_alloc_place_dynamic(const char *vm, const struct hp_vm_pci *entries, size_t n_entries,
                           const struct hp_alloc_candidate *cands, size_t n_cands,
                           char (*addrs)[HP_SBDF_LEN], char **ret_error)
{
        _cleanup_(hp_alloc_pools_done) struct hp_alloc_pools pools = { 0 };
        _cleanup_free_ size_t *dyn = NULL, *alt = NULL, *pool = NULL, *first = NULL;
        _cleanup_free_ bool *taken = calloc(n_cands + 1, sizeof(*taken));
        _cleanup_free_ struct hp_vm_pci *want = NULL;
        size_t n_dyn = 0, n_dev = 0, at = 0;
        bool local;
        int r;

        if (ret_error)
                *ret_error = NULL;
        first = calloc(n_entries + 1, sizeof(*first));
        if (!taken || !first)
                return -ENOMEM;
        /* Static entries hold their addresses (hp_alloc_assign chose them). */
        for (size_t e = 0; e < n_entries; e++) {
                first[e] = at;
                at += hp_vm_pci_count(&entries[e]);
                if (entries[e].kind == HP_VM_PCI_STATIC) {
                        for (size_t k = 0; k < n_cands; k++)
                                if (streq(cands[k].dev->address, addrs[first[e]]))
                                        taken[k] = true;
                        continue;
                }
                n_dev += hp_vm_pci_count(&entries[e]);
        }
        r = hp_alloc_dynamic_entries(entries, n_entries, &want, &dyn, &n_dyn);
        if (r >= 0)
                r = hp_alloc_pools_make(vm, cands, n_cands, taken, &pools);
        if (r < 0)
                return r;
        alt = calloc(n_dyn + 1, sizeof(*alt));
        pool = calloc(n_dev + 1, sizeof(*pool));
        if (!alt || !pool)
                return -ENOMEM;
        /* On one NUMA node when they can be, as placement prefers (place.h). */
        r = hp_alloc_request_place_local(want, n_dyn, pools.v, pools.n, alt, pool, &local, ret_error);
        if (r < 0)
                return r;
        at = 0;
        for (size_t i = 0; i < n_dyn; i++)
                for (unsigned c = 0; c < hp_vm_pci_count(&want[i]); c++, at++)
                        memcpy(addrs[first[dyn[i]] + c], cands[hp_alloc_pools_take(&pools, pool[at])].dev->address,
                               HP_SBDF_LEN);
        return 0;
}

/* The functions of the slot of address (function 0) on this host. */
static size_t slot_functions(const struct hp_pci_inventory *inv, const char *address, unsigned *ret)
{
        size_t n = 0;

        for (unsigned fn = 0; fn < 8; fn++) {
                char a[HP_SBDF_LEN];

                snprintf(a, sizeof(a), "%.10s.%u", address, fn);
                if (hp_pci_find(inv, a))
                        ret[n++] = fn;
        }
        return n;
}

/* Another device of the plan is a function of the slot an --all-functions
 * entry takes whole. */
static int slot_conflict(const char *vm, const struct hp_vm_pci *each, char (*addrs)[HP_SBDF_LEN], size_t n,
                         char **ret_error)
{
        for (size_t i = 0; i < n; i++) {
                if (!each[i].all_functions)
                        continue;
                for (size_t k = 0; k < n; k++)
                        if (k != i && strncmp(addrs[k], addrs[i], 10) == 0)
                                return hp_errorf(ret_error, -ENODEV,
                                                 "pciPassthru%d: %s is a function of %.10s, which pciPassthru%d "
                                                 "takes whole (--all-functions): give the entries different "
                                                 "allowed IDs or remove one (hwpass vm remove-device %s pci%d)",
                                                 each[k].index, addrs[k], addrs[i], each[i].index, vm,
                                                 each[k].index);
        }
        return 0;
}

int hp_alloc_choose(const char *vm, const struct hp_vm_pci *entries, size_t n_entries,
                    const struct hp_pci_inventory *inv, const struct hp_alloc_candidate *cands, size_t n_cands,
                    struct hp_vm_pci **ret_plan, char (**ret_addrs)[HP_SBDF_LEN], size_t *ret_n, char **ret_error)
{
        _cleanup_free_ struct hp_vm_pci *slots = NULL, *each = NULL, *plan = NULL;
        _cleanup_free_ char(*addrs)[HP_SBDF_LEN] = NULL;
        _cleanup_free_ char(*out)[HP_SBDF_LEN] = NULL;
        size_t n_slots = 0, n_dev = 0, n = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = hp_alloc_expand_slots(vm, entries, n_entries, inv, &slots, &n_slots, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_slots; i++)
                n_dev += hp_vm_pci_count(&slots[i]);
        addrs = calloc(n_dev + 1, sizeof(*addrs));
        each = calloc(n_dev + 1, sizeof(*each));
        /* At most 8 functions a device. */
        plan = calloc(n_dev * 8 + 1, sizeof(*plan));
        out = calloc(n_dev * 8 + 1, sizeof(*out));
        if (!addrs || !each || !plan || !out)
                return -ENOMEM;
        r = hp_alloc_assign(vm, slots, n_slots, cands, n_cands, addrs, ret_error);
        if (r < 0)
                return r;
        n_dev = 0;
        for (size_t i = 0; i < n_slots; i++)
                for (unsigned c = 0; c < hp_vm_pci_count(&slots[i]); c++) {
                        each[n_dev] = slots[i];
                        each[n_dev++].copy = c;
                }
        r = slot_conflict(vm, each, addrs, n_dev, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_dev; i++) {
                unsigned fns[8];
                size_t nf;

                if (!each[i].all_functions) {
                        plan[n] = each[i];
                        memcpy(out[n++], addrs[i], HP_SBDF_LEN);
                        continue;
                }
                nf = slot_functions(inv, addrs[i], fns);
                for (size_t f = 0; f < nf; f++) {
                        plan[n] = each[i];
                        plan[n].in_slot = true;
                        plan[n].function = fns[f];
                        snprintf(out[n++], HP_SBDF_LEN, "%.10s.%u", addrs[i], fns[f]);
                }
        }
        *ret_plan = TAKE_PTR(plan);
        *ret_addrs = TAKE_PTR(out);
        *ret_n = n;
        return 0;
}

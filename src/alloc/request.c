/* Placing a VM's dynamic PCI entries on one host's pools of free devices:
 * see request.h. The search fixes, in order, each entry's alternative (in
 * the entry's order) and then each constraint group's NUMA node or switch
 * (in ascending order); before going deeper it checks with a maximum flow
 * (entries -> pools, capacities count and n_free) that the request is still
 * satisfiable with what is open relaxed (an open alternative: any; an open
 * group: any value). The first complete choice whose flow carries every
 * device is the answer: the earliest alternatives that can be met. */
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util/macro.h"
#include "util/strutil.h"

#define NONE SIZE_MAX
/* Search nodes before giving up; each costs one flow of at most 64 paths. */
#define MAX_NODES 100000

struct group {
        bool is_switch;
        const char *name;
        size_t value; /* index into the domain, or NONE while open */
        size_t first_entry;
};

struct search {
        const struct hp_vm_pci *entries;
        size_t ne;
        const struct hp_alloc_pool *pools;
        size_t np;
        size_t *alt_off;  /* per entry: its first row in fit */
        bool *fit;        /* [(alt_off[e] + a) * np + p] */
        bool *anyfit;     /* [e * np + p] */
        size_t *alt;      /* per entry: fixed alternative or NONE */
        size_t *numa_grp; /* per entry: group index or NONE */
        size_t *sw_grp;
        struct group *groups;
        size_t ng;
        int *numas; /* distinct NUMA nodes of the pools, ascending */
        size_t n_numas;
        const char **switches; /* distinct switches, ascending */
        size_t n_switches;
        /* What the flow looks at: entries taking part, groups enforced. */
        bool *active;
        size_t only_group; /* NONE: every group; else that one alone */
        bool groups_on;
        /* The flow. */
        size_t *flow; /* [e * np + p] */
        size_t *left; /* per pool */
        bool *seen_e, *seen_p;
        unsigned long nodes;
};

static void search_done(struct search *s)
{
        free(s->alt_off);
        free(s->fit);
        free(s->anyfit);
        free(s->alt);
        free(s->numa_grp);
        free(s->sw_grp);
        free(s->groups);
        free(s->numas);
        free(s->switches);
        free(s->active);
        free(s->flow);
        free(s->left);
        free(s->seen_e);
        free(s->seen_p);
}

static bool has_switch(const struct hp_alloc_pool *p)
{
        return p->pcie_switch && p->pcie_switch[0];
}

bool hp_alloc_pool_fits(const struct hp_vm_pci *e, size_t alt, const struct hp_alloc_pool *p)
{
        const struct hp_pci_id_match *m = &e->allowed[alt];

        if (m->vendor_id != p->vendor_id || m->device_id != p->device_id ||
            (m->subsystem_vendor_id && m->subsystem_vendor_id != p->subsystem_vendor_id) ||
            (m->subsystem_device_id && m->subsystem_device_id != p->subsystem_device_id))
                return false;
        if (e->label && e->label[0] && !(p->label && streq(p->label, e->label)))
                return false;
        if (e->all_functions && !p->whole_slot)
                return false;
        return hp_vm_pci_attrs_match(e, p->attrs);
}

/* Can entry e take a device of pool p, given what is fixed now? */
static bool edge(const struct search *s, size_t e, size_t p)
{
        const struct hp_alloc_pool *pool = &s->pools[p];
        size_t g;

        if (s->alt[e] == NONE ? !s->anyfit[e * s->np + p] : !s->fit[(s->alt_off[e] + s->alt[e]) * s->np + p])
                return false;
        if (!s->groups_on)
                return true;
        g = s->numa_grp[e];
        if (g != NONE && (s->only_group == NONE || s->only_group == g)) {
                if (pool->numa_node < 0)
                        return false;
                if (s->groups[g].value != NONE && pool->numa_node != s->numas[s->groups[g].value])
                        return false;
        }
        g = s->sw_grp[e];
        if (g != NONE && (s->only_group == NONE || s->only_group == g)) {
                if (!has_switch(pool))
                        return false;
                if (s->groups[g].value != NONE && !streq(pool->pcie_switch, s->switches[s->groups[g].value]))
                        return false;
        }
        return true;
}

/* An augmenting path from entry e to the sink for up to amount devices: a
 * pool with room, or a pool another entry uses that can move elsewhere.
 * Depth is at most the entry count. Returns what it moved. */
static size_t push(struct search *s, size_t e, size_t amount)
{
        s->seen_e[e] = true;
        for (size_t p = 0; p < s->np; p++)
                if (!s->seen_p[p] && s->left[p] > 0 && edge(s, e, p)) {
                        size_t take = amount < s->left[p] ? amount : s->left[p];

                        s->left[p] -= take;
                        s->flow[e * s->np + p] += take;
                        return take;
                }
        for (size_t p = 0; p < s->np; p++) {
                if (s->seen_p[p] || !edge(s, e, p))
                        continue;
                s->seen_p[p] = true;
                for (size_t o = 0; o < s->ne; o++) {
                        size_t *f = &s->flow[o * s->np + p], got;

                        if (*f == 0 || s->seen_e[o])
                                continue;
                        got = push(s, o, amount < *f ? amount : *f);
                        if (got > 0) {
                                *f -= got;
                                s->flow[e * s->np + p] += got;
                                return got;
                        }
                }
        }
        return 0;
}

/* The maximum flow with what is fixed now: does every active entry get its count? */
static bool feasible(struct search *s)
{
        memset(s->flow, 0, s->ne * s->np * sizeof(*s->flow));
        for (size_t p = 0; p < s->np; p++)
                s->left[p] = s->pools[p].n_free;
        for (size_t e = 0; e < s->ne; e++) {
                size_t need = s->active[e] ? hp_vm_pci_count(&s->entries[e]) : 0;

                while (need > 0) {
                        size_t got;

                        memset(s->seen_e, 0, s->ne * sizeof(*s->seen_e));
                        memset(s->seen_p, 0, s->np * sizeof(*s->seen_p));
                        got = push(s, e, need);
                        if (got == 0)
                                return false;
                        need -= got;
                }
        }
        return true;
}

static size_t domain_size(const struct search *s, const struct group *g)
{
        return g->is_switch ? s->n_switches : s->n_numas;
}

/* 1 when a complete choice was found (the flow holds it), 0 when none below
 * this node, -E2BIG when cut off. */
static int dfs(struct search *s, size_t k)
{
        int r;

        if (++s->nodes > MAX_NODES)
                return -E2BIG;
        if (!feasible(s))
                return 0;
        if (k == s->ne + s->ng)
                return 1;
        if (k < s->ne) {
                for (size_t a = 0; a < s->entries[k].n_allowed; a++) {
                        s->alt[k] = a;
                        r = dfs(s, k + 1);
                        if (r != 0)
                                return r;
                }
                s->alt[k] = NONE;
                return 0;
        }
        for (size_t v = 0; v < domain_size(s, &s->groups[k - s->ne]); v++) {
                s->groups[k - s->ne].value = v;
                r = dfs(s, k + 1);
                if (r != 0)
                        return r;
        }
        s->groups[k - s->ne].value = NONE;
        return 0;
}

static size_t group_of(struct search *s, bool is_switch, const char *name, size_t e)
{
        if (!name)
                return NONE;
        for (size_t g = 0; g < s->ng; g++)
                if (s->groups[g].is_switch == is_switch && streq(s->groups[g].name, name))
                        return g;
        s->groups[s->ng] = (struct group){ .is_switch = is_switch, .name = name, .value = NONE, .first_entry = e };
        return s->ng++;
}

static int cmp_int(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;

        return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct NUMA nodes and switches of the pools, ascending. */
static void domains(struct search *s)
{
        for (size_t p = 0; p < s->np; p++) {
                const struct hp_alloc_pool *pool = &s->pools[p];
                bool seen = false;

                for (size_t i = 0; i < s->n_numas && !seen; i++)
                        seen = s->numas[i] == pool->numa_node;
                if (!seen && pool->numa_node >= 0)
                        s->numas[s->n_numas++] = pool->numa_node;
                seen = false;
                for (size_t i = 0; i < s->n_switches && !seen; i++)
                        seen = streq(s->switches[i], pool->pcie_switch);
                if (!seen && has_switch(pool))
                        s->switches[s->n_switches++] = pool->pcie_switch;
        }
        qsort(s->numas, s->n_numas, sizeof(*s->numas), cmp_int);
        qsort(s->switches, s->n_switches, sizeof(*s->switches), cmp_str);
}

static int search_init(struct search *s)
{
        size_t ne = s->ne, np = s->np, rows = 0;

        for (size_t e = 0; e < ne; e++) {
                if (s->entries[e].kind != HP_VM_PCI_DYNAMIC || s->entries[e].n_allowed == 0)
                        return -EINVAL;
                rows += s->entries[e].n_allowed;
        }
        if ((np > 0 && (ne > SIZE_MAX / np || rows > SIZE_MAX / np)))
                return -ENOMEM;
        s->alt_off = calloc(ne + 1, sizeof(*s->alt_off));
        s->fit = calloc(rows * np + 1, sizeof(*s->fit));
        s->anyfit = calloc(ne * np + 1, sizeof(*s->anyfit));
        s->alt = calloc(ne + 1, sizeof(*s->alt));
        s->numa_grp = calloc(ne + 1, sizeof(*s->numa_grp));
        s->sw_grp = calloc(ne + 1, sizeof(*s->sw_grp));
        s->groups = calloc(2 * ne + 1, sizeof(*s->groups));
        s->numas = calloc(np + 1, sizeof(*s->numas));
        s->switches = calloc(np + 1, sizeof(*s->switches));
        s->active = calloc(ne + 1, sizeof(*s->active));
        s->flow = calloc(ne * np + 1, sizeof(*s->flow));
        s->left = calloc(np + 1, sizeof(*s->left));
        s->seen_e = calloc(ne + 1, sizeof(*s->seen_e));
        s->seen_p = calloc(np + 1, sizeof(*s->seen_p));
        if (!s->alt_off || !s->fit || !s->anyfit || !s->alt || !s->numa_grp || !s->sw_grp || !s->groups ||
            !s->numas || !s->switches || !s->active || !s->flow || !s->left || !s->seen_e || !s->seen_p)
                return -ENOMEM;
        rows = 0;
        for (size_t e = 0; e < ne; e++) {
                const struct hp_vm_pci *en = &s->entries[e];

                s->alt_off[e] = rows;
                for (size_t a = 0; a < en->n_allowed; a++, rows++)
                        for (size_t p = 0; p < np; p++)
                                if (hp_alloc_pool_fits(en, a, &s->pools[p]))
                                        s->fit[rows * np + p] = s->anyfit[e * np + p] = true;
                s->alt[e] = NONE;
                s->active[e] = true;
                s->numa_grp[e] = group_of(s, false, en->same_numa, e);
                s->sw_grp[e] = group_of(s, true, en->same_switch, e);
        }
        s->only_group = NONE;
        s->groups_on = true;
        domains(s);
        return 0;
}

void hp_alloc_text_wanted(struct hp_text *t, const struct hp_vm_pci *e, size_t alt)
{
        for (size_t i = 0; i < e->n_allowed; i++) {
                const struct hp_pci_id_match *a = &e->allowed[i];

                if (alt != NONE && i != alt)
                        continue;
                hp_text_add(t, "%s%04x:%04x", i && alt == NONE ? " or " : "", a->vendor_id, a->device_id);
                if (a->subsystem_vendor_id || a->subsystem_device_id)
                        hp_text_add(t, ":%04x:%04x", a->subsystem_vendor_id, a->subsystem_device_id);
        }
        if (e->label && e->label[0])
                hp_text_add(t, " with label '%s'", e->label);
        for (size_t i = 0; e->attrs && e->attrs[i]; i++)
                hp_text_add(t, "%s%s", i ? ", " : e->label && e->label[0] ? " and attributes " : " with attributes ",
                            e->attrs[i]);
        if (e->all_functions)
                hp_text_add(t, ", each function 0 of a multi-function device with every function free");
}

/* Free devices of the pools entry e fits with alternative alt (NONE: any). */
static size_t free_for(const struct search *s, size_t e, size_t alt)
{
        size_t n = 0;

        for (size_t p = 0; p < s->np; p++)
                if (alt == NONE ? s->anyfit[e * s->np + p] : s->fit[(s->alt_off[e] + alt) * s->np + p])
                        n += s->pools[p].n_free;
        return n;
}

static bool share_pools(const struct search *s, size_t a, size_t b)
{
        for (size_t p = 0; p < s->np; p++)
                if (s->anyfit[a * s->np + p] && s->anyfit[b * s->np + p])
                        return true;
        return false;
}

static int finish(struct hp_text *t, char **ret_error)
{
        if (t->oom)
                return -ENOMEM;
        if (ret_error)
                *ret_error = t->s;
        else
                free(t->s);
        return -ENODEV;
}

/* An entry that cannot be met even alone, without groups. */
static bool explain_alone(struct search *s, struct hp_text *t)
{
        s->groups_on = false;
        for (size_t e = 0; e < s->ne; e++) {
                const struct hp_vm_pci *en = &s->entries[e];
                unsigned count = hp_vm_pci_count(en);
                size_t best = 0;
                bool ok = false;

                for (size_t o = 0; o < s->ne; o++)
                        s->active[o] = o == e;
                for (size_t a = 0; a < en->n_allowed && !ok; a++) {
                        s->alt[e] = a;
                        ok = feasible(s);
                        best = free_for(s, e, a) > best ? free_for(s, e, a) : best;
                }
                s->alt[e] = NONE;
                if (ok)
                        continue;
                hp_text_add(t, "pciPassthru%d: needs %u free device%s of ", en->index, count, count == 1 ? "" : "s");
                hp_alloc_text_wanted(t, en, NONE);
                if (best == 0)
                        hp_text_add(t, ": no free device matches; compare with 'hwpass device list'");
                else
                        hp_text_add(t, ": the host has %zu%s; free some or lower its count", best,
                                    en->n_allowed > 1 ? " of one alternative" : "");
                return true;
        }
        return false;
}

/* Entries that want the same devices and together need more than there are. */
static bool explain_together(struct search *s, struct hp_text *t)
{
        for (size_t e = 0; e < s->ne; e++) {
                size_t wanted = 0, n_free = 0;

                for (size_t o = 0; o < s->ne; o++)
                        s->active[o] = o <= e;
                if (feasible(s))
                        continue;
                hp_text_add(t, "pciPassthru%d: too few free devices for it together with", s->entries[e].index);
                for (size_t o = 0; o < e; o++)
                        if (share_pools(s, o, e))
                                hp_text_add(t, " pciPassthru%d", s->entries[o].index);
                for (size_t p = 0; p < s->np; p++) {
                        bool used = false;

                        for (size_t o = 0; o <= e && !used; o++)
                                used = s->anyfit[o * s->np + p] && share_pools(s, o, e);
                        n_free += used ? s->pools[p].n_free : 0;
                }
                for (size_t o = 0; o <= e; o++)
                        wanted += share_pools(s, o, e) ? hp_vm_pci_count(&s->entries[o]) : 0;
                hp_text_add(t, " (entries that can take the same devices): they need %zu, %zu free match; "
                               "free some or lower a count", wanted, n_free);
                return true;
        }
        return false;
}

/* A group that no NUMA node (switch) can hold, even with the others open. */
static bool explain_group(struct search *s, struct hp_text *t)
{
        for (size_t e = 0; e < s->ne; e++)
                s->active[e] = true;
        s->groups_on = true;
        for (size_t g = 0; g < s->ng; g++) {
                struct group *gr = &s->groups[g];
                const char *what = gr->is_switch ? "PCIe switch" : "NUMA node";
                bool ok = false;

                s->only_group = g;
                for (size_t v = 0; v < domain_size(s, gr) && !ok; v++) {
                        gr->value = v;
                        ok = feasible(s);
                }
                gr->value = NONE;
                if (ok)
                        continue;
                hp_text_add(t, "pciPassthru%d: group '%s' (same %s) cannot be met: no %s has free devices for",
                            s->entries[gr->first_entry].index, gr->name, what, what);
                for (size_t e = 0; e < s->ne; e++)
                        if ((gr->is_switch ? s->sw_grp[e] : s->numa_grp[e]) == g)
                                hp_text_add(t, " pciPassthru%d (%u)", s->entries[e].index,
                                            hp_vm_pci_count(&s->entries[e]));
                if (domain_size(s, gr) == 0)
                        hp_text_add(t, "; no free device here %s", gr->is_switch ? "sits below a PCIe switch"
                                                                               : "has a known NUMA node");
                for (size_t v = 0; v < domain_size(s, gr); v++) {
                        size_t n = 0;

                        for (size_t p = 0; p < s->np; p++) {
                                const struct hp_alloc_pool *pool = &s->pools[p];
                                bool in = gr->is_switch ? has_switch(pool) && streq(pool->pcie_switch, s->switches[v])
                                                        : pool->numa_node == s->numas[v];
                                bool fits = false;

                                for (size_t e = 0; e < s->ne && in && !fits; e++)
                                        fits = (gr->is_switch ? s->sw_grp[e] : s->numa_grp[e]) == g &&
                                               s->anyfit[e * s->np + p];
                                n += fits ? pool->n_free : 0;
                        }
                        if (gr->is_switch)
                                hp_text_add(t, "%sswitch %s has %zu", v ? ", " : "; free matching devices: ",
                                            s->switches[v], n);
                        else
                                hp_text_add(t, "%snode %d has %zu", v ? ", " : "; free matching devices: ",
                                            s->numas[v], n);
                }
                hp_text_add(t, "; lower the counts or split the group");
                return true;
        }
        return false;
}

/* Why the search found nothing: the first of these that shows it. */
static int explain(struct search *s, char **ret_error)
{
        struct hp_text t = { 0 };
        size_t e = 0;

        for (size_t i = 0; i < s->ne; i++)
                s->alt[i] = NONE;
        for (size_t g = 0; g < s->ng; g++)
                s->groups[g].value = NONE;
        if (explain_alone(s, &t) || explain_together(s, &t) || explain_group(s, &t))
                return finish(&t, ret_error);
        while (e + 1 < s->ne && s->entries[e].n_allowed < 2 && !s->entries[e].same_numa &&
               !s->entries[e].same_switch)
                e++;
        hp_text_add(&t, "pciPassthru%d: its alternatives and groups cannot all be met together with the other "
                        "entries (each entry takes all its devices of one alternative, and each group one NUMA node "
                        "or switch): lower a count or drop a group",
                    s->ne ? s->entries[e].index : -1);
        return finish(&t, ret_error);
}

int hp_alloc_request_place(const struct hp_vm_pci *entries, size_t n_entries, const struct hp_alloc_pool *pools,
                           size_t n_pools, size_t *ret_alt, size_t *ret_pool, char **ret_error)
{
        _cleanup_(search_done) struct search s = { .entries = entries, .ne = n_entries, .pools = pools, .np = n_pools };
        size_t k = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if ((n_entries > 0 && (!entries || !ret_alt || !ret_pool)) || (n_pools > 0 && !pools))
                return -EINVAL;
        r = search_init(&s);
        if (r < 0)
                return r;
        r = dfs(&s, 0);
        if (r == -E2BIG)
                return hp_errorf(ret_error, -E2BIG,
                                 "the request has too many combinations of alternatives and groups to try "
                                 "(more than %d): give the entries fewer alternatives or groups",
                                 MAX_NODES);
        if (r == 0)
                return explain(&s, ret_error);
        for (size_t e = 0; e < n_entries; e++) {
                ret_alt[e] = s.alt[e];
                for (size_t p = 0; p < n_pools; p++)
                        for (size_t i = 0; i < s.flow[e * n_pools + p]; i++)
                                ret_pool[k++] = p;
        }
        return 0;
}

int hp_alloc_request_place_local(const struct hp_vm_pci *entries, size_t n_entries, const struct hp_alloc_pool *pools,
                                 size_t n_pools, size_t *ret_alt, size_t *ret_pool, bool *ret_local, char **ret_error)
{
        _cleanup_free_ struct hp_vm_pci *grouped = NULL;
        _cleanup_free_ size_t *alt = NULL, *pool = NULL;
        size_t n_dev = 0;
        int r = hp_alloc_request_place(entries, n_entries, pools, n_pools, ret_alt, ret_pool, ret_error);

        *ret_local = false;
        if (r < 0 || n_entries == 0)
                return r;
        for (size_t e = 0; e < n_entries; e++) {
                if (entries[e].same_numa)
                        return 0;
                n_dev += hp_vm_pci_count(&entries[e]);
        }
        grouped = calloc(n_entries, sizeof(*grouped));
        alt = calloc(n_entries, sizeof(*alt));
        pool = calloc(n_dev + 1, sizeof(*pool));
        if (!grouped || !alt || !pool)
                return -ENOMEM;
        for (size_t e = 0; e < n_entries; e++) {
                grouped[e] = entries[e];
                grouped[e].same_numa = (char *)"locality";
        }
        r = hp_alloc_request_place(grouped, n_entries, pools, n_pools, alt, pool, NULL);
        if (r == -ENOMEM)
                return r;
        if (r == 0 && memcmp(alt, ret_alt, n_entries * sizeof(*alt)) == 0) {
                memcpy(ret_pool, pool, n_dev * sizeof(*pool));
                *ret_local = true;
        }
        return 0;
}

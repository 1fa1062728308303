/* Choosing the devices of a VM at power-on. Every entry is a vertex on one
 * side, every candidate device on the other, an edge where the device would do;
 * a maximum bipartite matching (Kuhn's augmenting paths) gives every entry its
 * own device, or shows which entry cannot have one. Pure: no I/O. */
#include "select.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "text.h"
#include "util/macro.h"
#include "util/strutil.h"

#define NONE SIZE_MAX

struct matcher {
        const char *vm;
        const struct hp_vm_pci *entries;
        size_t n_entries;
        const struct hp_alloc_candidate *cands;
        size_t n_cands;
        struct hp_pci_addr *entry_addr; /* the address of each static entry */
        size_t *entry_order;            /* entries in the order of their index */
        size_t *cand_order;             /* candidates in address order */
        bool *edge;                     /* [e * n_cands + k]: entry e can take cand_order[k] */
        size_t *owner;                  /* per k: the entry that holds it, or NONE */
        bool *visited;                  /* per k, during one search for an augmenting path */
};

static void matcher_done(struct matcher *m)
{
        free(m->entry_addr);
        free(m->entry_order);
        free(m->cand_order);
        free(m->edge);
        free(m->owner);
        free(m->visited);
}

bool hp_pci_id_match_dev(const struct hp_pci_id_match *m, const struct hp_pci_dev *d)
{
        return m->vendor_id == d->vendor_id && m->device_id == d->device_id &&
               (m->subsystem_vendor_id == 0 || m->subsystem_vendor_id == d->subsystem_vendor_id) &&
               (m->subsystem_device_id == 0 || m->subsystem_device_id == d->subsystem_device_id);
}

static bool has_label(const struct hp_vm_pci *p)
{
        return p->label && p->label[0];
}

static bool ids_match(const struct hp_vm_pci *p, const struct hp_pci_dev *d)
{
        for (size_t i = 0; i < p->n_allowed; i++)
                if (hp_pci_id_match_dev(&p->allowed[i], d))
                        return true;
        return false;
}

/* Is this the device the entry asks for, free or not? */
static bool wants(const struct matcher *m, size_t e, const struct hp_alloc_candidate *c)
{
        const struct hp_vm_pci *p = &m->entries[e];

        if (p->kind == HP_VM_PCI_STATIC)
                return hp_pci_addr_cmp(&m->entry_addr[e], &c->dev->addr) == 0;
        return ids_match(p, c->dev) && (!has_label(p) || (c->label && streq(c->label, p->label))) &&
               hp_vm_pci_attrs_match(p, c->attrs);
}

static bool assigned_elsewhere(const struct matcher *m, const struct hp_alloc_candidate *c)
{
        return c->assigned_vm && !streq(c->assigned_vm, m->vm);
}

static bool available(const struct matcher *m, const struct hp_alloc_candidate *c)
{
        return c->passthrough_active && !c->quarantined && !assigned_elsewhere(m, c);
}

/* Kuhn's step: finds entry e a device, moving earlier entries to other
 * devices of theirs when that frees one. A free device is taken before any
 * move is tried (the usual greedy first pass, which changes no result's
 * size): so identical entries get devices in address order, pciPassthru0 the
 * lowest, and an entry is moved only when a later one needs its device.
 * Depth is at most the entry count. */
static bool augment(struct matcher *m, size_t e)
{
        const bool *edge = &m->edge[e * m->n_cands];

        for (size_t k = 0; k < m->n_cands; k++)
                if (edge[k] && !m->visited[k] && m->owner[k] == NONE) {
                        m->visited[k] = true;
                        m->owner[k] = e;
                        return true;
                }
        for (size_t k = 0; k < m->n_cands; k++) {
                if (!edge[k] || m->visited[k])
                        continue;
                m->visited[k] = true;
                if (m->owner[k] == NONE || augment(m, m->owner[k])) {
                        m->owner[k] = e;
                        return true;
                }
        }
        return false;
}

/* An enabled device that is not on vfio-pci (or whose group is not viable)
 * now: the host took it back, or an apply did not finish. */
static void add_lost_binding(struct hp_text *t, const char *sep, const struct hp_alloc_candidate *c)
{
        const struct hp_pci_dev *d = c->dev, *b = c->group_blocker;

        if (d->driver && !streq(d->driver, "vfio-pci"))
                hp_text_add(t, "%senabled for passthrough, but the host's driver %s has it now", sep, d->driver);
        else if (b)
                hp_text_add(t, "%senabled for passthrough, but its IOMMU group %d is not viable: the host's driver %s "
                       "has %s now", sep, d->iommu_group, b->driver ? b->driver : "?", b->address);
        else
                hp_text_add(t, "%senabled for passthrough, but not bound to vfio-pci", sep);
}

/* "assigned to VM 'x' and quarantined": why one matching device is not
 * this entry's. Once the search failed, a free one is held by another entry. */
static void add_reasons(struct hp_text *t, const struct matcher *m, size_t k)
{
        const struct hp_alloc_candidate *c = &m->cands[m->cand_order[k]];
        const char *sep = "";

        if (assigned_elsewhere(m, c)) {
                hp_text_add(t, "assigned to VM '%s'", c->assigned_vm);
                sep = " and ";
        }
        if (!c->passthrough_active && !c->passthrough_desired) {
                hp_text_add(t, "%snot enabled for passthrough", sep);
                sep = " and ";
        } else if (!c->passthrough_active) {
                add_lost_binding(t, sep, c);
                sep = " and ";
        }
        if (c->quarantined) {
                hp_text_add(t, "%squarantined", sep);
                sep = " and ";
        }
        if (!*sep && m->owner[k] != NONE)
                hp_text_add(t, "taken by pciPassthru%d of this VM", m->entries[m->owner[k]].index);
}

/* What to do, for the first matching device each remedy applies to. */
static void add_hints(struct hp_text *t, const struct matcher *m, size_t e)
{
        const struct hp_alloc_candidate *elsewhere = NULL, *inactive = NULL, *sick = NULL;
        size_t taken = 0;

        for (size_t k = 0; k < m->n_cands; k++) {
                const struct hp_alloc_candidate *c = &m->cands[m->cand_order[k]];

                if (!wants(m, e, c))
                        continue;
                if (assigned_elsewhere(m, c) && !elsewhere)
                        elsewhere = c;
                if (!c->passthrough_active && !inactive)
                        inactive = c;
                if (c->quarantined && !sick)
                        sick = c;
                if (available(m, c))
                        taken++;
        }
        if (elsewhere)
                hp_text_add(t, "; power off VM '%s' to free %s", elsewhere->assigned_vm,
                    elsewhere->dev->address);
        if (inactive && inactive->passthrough_desired) {
                const char *a = inactive->group_blocker ? inactive->group_blocker->address : inactive->dev->address;

                hp_text_add(t, "; bind %s (and its IOMMU group) to vfio-pci again with 'hwpass device passthrough "
                       "enable %s'",
                    a, a);
        } else if (inactive) {
                hp_text_add(t, "; enable %s with 'hwpass device passthrough enable %s'",
                    inactive->dev->address, inactive->dev->address);
        }
        if (sick)
                hp_text_add(t, "; %s failed to reset and is quarantined: once it works again (a power cycle "
                       "of the host or the slot), 'hwpass device clear %s'",
                    sick->dev->address, sick->dev->address);
        if (taken > 0 && m->entries[e].kind == HP_VM_PCI_STATIC)
                hp_text_add(t, "; another entry of this VM names the same device: remove one of them");
        else if (taken > 0 && !elsewhere && !inactive && !sick)
                hp_text_add(t, "; this VM asks for more such devices than the host has: "
                       "add one to the host or remove pciPassthru%d",
                    m->entries[e].index);
}

/* Why no device is left for entry e, and what to do. */
static int explain(const struct matcher *m, size_t e, char **ret_error)
{
        const struct hp_vm_pci *p = &m->entries[e];
        struct hp_text t = { 0 };
        const struct hp_alloc_candidate *other_label = NULL, *no_attrs = NULL;
        size_t n_match = 0, n_ids = 0, n_no_attrs = 0;
        const char *sep = "";

        if (!ret_error)
                return -ENODEV;
        for (size_t k = 0; k < m->n_cands; k++) {
                const struct hp_alloc_candidate *c = &m->cands[m->cand_order[k]];

                if (wants(m, e, c))
                        n_match++;
                else if (p->kind == HP_VM_PCI_DYNAMIC && ids_match(p, c->dev) && has_label(p) &&
                         !(c->label && streq(c->label, p->label)) && n_ids++ == 0)
                        other_label = c;
                else if (p->kind == HP_VM_PCI_DYNAMIC && ids_match(p, c->dev) && n_no_attrs++ == 0)
                        no_attrs = c; /* the label is right: an attribute is missing */
        }

        if (p->kind == HP_VM_PCI_STATIC) {
                char address[HP_SBDF_LEN];

                hp_pci_addr_format(&m->entry_addr[e], address);
                if (n_match == 0)
                        return hp_errorf(ret_error, -ENODEV,
                                    "pciPassthru%d: device %s is not on this host; "
                                    "check the address with 'hwpass device list'",
                                    p->index, address);
                hp_text_add(&t, "pciPassthru%d: device %s is not available: it is ", p->index, address);
        } else {
                hp_text_add(&t, "pciPassthru%d: no free device for ", p->index);
                hp_alloc_text_wanted(&t, p, SIZE_MAX);
                if (n_match == 0)
                        hp_text_add(&t, ": no device matches");
                else
                        hp_text_add(&t, ": %zu %s: ", n_match,
                            n_match == 1 ? "device matches" : "devices match");
        }

        for (size_t k = 0; k < m->n_cands; k++) {
                const struct hp_alloc_candidate *c = &m->cands[m->cand_order[k]];

                if (!wants(m, e, c))
                        continue;
                if (p->kind == HP_VM_PCI_STATIC) {
                        add_reasons(&t, m, k);
                        continue;
                }
                hp_text_add(&t, "%s%s is ", sep, c->dev->address);
                add_reasons(&t, m, k);
                sep = ", ";
        }

        if (n_match > 0)
                add_hints(&t, m, e);
        else if (no_attrs && !other_label)
                hp_text_add(&t, "; %zu %s these IDs%s but not every attribute asked for: set them with "
                                "'hwpass device attr %s %s'",
                            n_no_attrs, n_no_attrs == 1 ? "device has" : "devices have",
                            has_label(p) ? " and label" : "", no_attrs->dev->address, p->attrs[0]);
        else if (other_label)
                hp_text_add(&t, "; %zu %s these IDs but another label or none: "
                        "label one with 'hwpass device label %s %s'",
                    n_ids, n_ids == 1 ? "device has" : "devices have", other_label->dev->address,
                    p->label);
        else
                hp_text_add(&t, "; no device on this host has these IDs: "
                        "compare them with 'hwpass device list'");

        if (t.oom)
                return -ENOMEM;
        *ret_error = t.s;
        return -ENODEV;
}

/* Sorts idx[0..n) by less(), stably (insertion sort: the lists are short). */
static void sort_indices(size_t *idx, size_t n, const struct matcher *m,
                         bool (*less)(const struct matcher *m, size_t a, size_t b))
{
        for (size_t i = 1; i < n; i++) {
                size_t v = idx[i], j = i;

                for (; j > 0 && less(m, v, idx[j - 1]); j--)
                        idx[j] = idx[j - 1];
                idx[j] = v;
        }
}

static bool entry_less(const struct matcher *m, size_t a, size_t b)
{
        return m->entries[a].index < m->entries[b].index;
}

static bool cand_less(const struct matcher *m, size_t a, size_t b)
{
        return hp_pci_addr_cmp(&m->cands[a].dev->addr, &m->cands[b].dev->addr) < 0;
}

static int check_input(struct matcher *m, char **ret_error)
{
        for (size_t e = 0; e < m->n_entries; e++) {
                const struct hp_vm_pci *p = &m->entries[e];

                if (p->kind == HP_VM_PCI_STATIC) {
                        if (!memchr(p->address, '\0', sizeof(p->address)) ||
                            hp_pci_addr_parse(p->address, &m->entry_addr[e]) < 0)
                                return hp_errorf(ret_error, -EINVAL,
                                            "pciPassthru%d: '%.12s' is not a PCI address "
                                            "(DDDD:BB:DD.F)",
                                            p->index, p->address);
                } else if (p->kind == HP_VM_PCI_DYNAMIC) {
                        if (p->n_allowed == 0 || !p->allowed)
                                return hp_errorf(ret_error, -EINVAL,
                                            "pciPassthru%d: a dynamic entry needs at least "
                                            "one allowed vendor:device ID",
                                            p->index);
                } else {
                        return hp_errorf(ret_error, -EINVAL, "pciPassthru%d: unknown kind of entry",
                                    p->index);
                }
        }
        for (size_t k = 1; k < m->n_cands; k++) {
                const struct hp_pci_dev *a = m->cands[m->cand_order[k - 1]].dev;
                const struct hp_pci_dev *b = m->cands[m->cand_order[k]].dev;

                if (hp_pci_addr_cmp(&a->addr, &b->addr) == 0)
                        return hp_errorf(ret_error, -EINVAL, "device %s is offered twice", b->address);
        }
        return 0;
}

static int matcher_init(struct matcher *m)
{
        size_t ne = m->n_entries, nc = m->n_cands;

        if (nc > 0 && ne > SIZE_MAX / nc)
                return -ENOMEM;
        m->entry_addr = calloc(ne + 1, sizeof(*m->entry_addr));
        m->entry_order = calloc(ne + 1, sizeof(*m->entry_order));
        m->cand_order = calloc(nc + 1, sizeof(*m->cand_order));
        m->edge = calloc(ne * nc + 1, sizeof(*m->edge));
        m->owner = calloc(nc + 1, sizeof(*m->owner));
        m->visited = calloc(nc + 1, sizeof(*m->visited));
        if (!m->entry_addr || !m->entry_order || !m->cand_order || !m->edge || !m->owner ||
            !m->visited)
                return -ENOMEM;
        for (size_t e = 0; e < ne; e++)
                m->entry_order[e] = e;
        for (size_t k = 0; k < nc; k++) {
                m->cand_order[k] = k;
                m->owner[k] = NONE;
        }
        return 0;
}

int hp_alloc_assign(const char *vm, const struct hp_vm_pci *entries, size_t n_entries,
                    const struct hp_alloc_candidate *cands, size_t n_cands,
                    char (*ret_addresses)[HP_SBDF_LEN], char **ret_error)
{
        _cleanup_(matcher_done) struct matcher m = {
                .vm = vm,
                .cands = cands,
                .n_cands = n_cands,
        };
        _cleanup_free_ char(*chosen)[HP_SBDF_LEN] = NULL;
        _cleanup_free_ struct hp_vm_pci *each = NULL;
        size_t n_dev = 0;
        bool dynamic = false;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!vm || (n_entries > 0 && (!entries || !ret_addresses)) || (n_cands > 0 && !cands))
                return -EINVAL;
        /* The matching sees one entry per device: a count of n is n copies. */
        for (size_t e = 0; e < n_entries; e++)
                n_dev += hp_vm_pci_count(&entries[e]);
        each = calloc(n_dev + 1, sizeof(*each));
        if (!each)
                return -ENOMEM;
        n_dev = 0;
        for (size_t e = 0; e < n_entries; e++) {
                dynamic |= entries[e].kind == HP_VM_PCI_DYNAMIC;
                for (unsigned c = 0; c < hp_vm_pci_count(&entries[e]); c++)
                        each[n_dev++] = entries[e];
        }
        m.entries = each;
        m.n_entries = n_dev;
        r = matcher_init(&m);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_cands; i++)
                if (!cands[i].dev)
                        return hp_errorf(ret_error, -EINVAL, "candidate %zu has no device", i);
        sort_indices(m.entry_order, n_dev, &m, entry_less);
        sort_indices(m.cand_order, n_cands, &m, cand_less);
        r = check_input(&m, ret_error);
        if (r < 0)
                return r;

        for (size_t e = 0; e < n_dev; e++)
                for (size_t k = 0; k < n_cands; k++) {
                        const struct hp_alloc_candidate *c = &cands[m.cand_order[k]];

                        m.edge[e * n_cands + k] = wants(&m, e, c) && available(&m, c);
                }
        for (size_t i = 0; i < n_dev; i++) {
                size_t e = m.entry_order[i];

                memset(m.visited, 0, n_cands * sizeof(*m.visited));
                if (!augment(&m, e))
                        return explain(&m, e, ret_error);
        }

        chosen = calloc(n_dev + 1, sizeof(*chosen));
        if (!chosen)
                return -ENOMEM;
        for (size_t k = 0; k < n_cands; k++)
                if (m.owner[k] != NONE)
                        hp_pci_addr_format(&cands[m.cand_order[k]].dev->addr, chosen[m.owner[k]]);
        /* Enough devices: the dynamic entries as the request matcher places them. */
        if (dynamic && (r = hp_alloc_place_dynamic(vm, entries, n_entries, cands, n_cands, chosen, ret_error)) < 0)
                return r;
        if (n_dev > 0)
                memcpy(ret_addresses, chosen, n_dev * sizeof(*chosen));
        return 0;
}

int hp_alloc_expand_slots(const char *vm, const struct hp_vm_pci *entries, size_t n_entries,
                          const struct hp_pci_inventory *inv, struct hp_vm_pci **ret, size_t *ret_n,
                          char **ret_error)
{
        /* At most 8 functions a slot. */
        _cleanup_free_ struct hp_vm_pci *out = calloc(n_entries * 8 + 1, sizeof(*out));
        size_t n = 0;

        if (ret_error)
                *ret_error = NULL;
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n_entries; i++) {
                const struct hp_vm_pci *e = &entries[i];
                size_t first = n;

                if (!hp_vm_pci_is_slot(e)) {
                        out[n++] = *e;
                        continue;
                }
                for (unsigned fn = 0; fn < 8; fn++) {
                        char addr[HP_SBDF_LEN];

                        snprintf(addr, sizeof(addr), "%.10s.%u", e->address, fn);
                        if (!hp_pci_find(inv, addr))
                                continue;
                        out[n] = *e;
                        out[n].in_slot = true;
                        out[n].function = fn;
                        memcpy(out[n].address, addr, HP_SBDF_LEN);
                        n++;
                }
                if (n == first || out[first].function != 0) {
                        if (ret_error && asprintf(ret_error,
                                                  "pciPassthru%d (slot %s): this host has no device %s.0: remove "
                                                  "the entry (hwpass vm remove-device %s pci%d)",
                                                  e->index, e->address, e->address, vm, e->index) < 0)
                                *ret_error = NULL;
                        return -ENODEV;
                }
        }
        *ret = TAKE_PTR(out);
        *ret_n = n;
        return 0;
}

/* A VM's spec as its host runs it: the dynamic entries replaced by static
 * ones that name the devices the claim gave it there, so the host starts it
 * with exactly those. Which device goes to which entry is asked of the same
 * matcher placement used, over the VM's own devices alone: the claim took
 * devices that meet the request, so it finds the mapping again from the
 * store's rows, and nothing beyond the claim has to be kept. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/request.h"
#include "ctl-internal.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

/* The static entry a dynamic one becomes for one device. */
static json_t *static_entry(const struct hp_vm_pci *dyn, int index, const char *address)
{
        struct hp_vm_pci e = {
                .index = index,
                .kind = HP_VM_PCI_STATIC,
                .primary_display = dyn->primary_display,
                .rombar = dyn->rombar,
                .romfile = dyn->romfile,
        };

        /* An --all-functions entry takes the whole slot of its device. */
        snprintf(e.address, sizeof(e.address), "%.*s", dyn->all_functions ? 10 : 12, address);
        return hp_vm_pci_to_json(&e);
}

static int max_index(const struct hp_vm_spec *s)
{
        int m = -1;

        for (size_t i = 0; i < s->n_pci; i++)
                if (s->pci[i].index > m)
                        m = s->pci[i].index;
        for (size_t i = 0; i < s->n_usb; i++)
                if (s->usb[i].index > m)
                        m = s->usb[i].index;
        return m;
}

json_t *hp_ctl_resolved_spec(const char *name, const struct hp_vm_spec *s,
                             const struct hp_ctl_host_devs *h)
{
        _cleanup_(hp_alloc_pools_done) struct hp_alloc_pools pools = { 0 };
        _cleanup_free_ struct hp_vm_pci *dyn = NULL;
        _cleanup_free_ bool *taken = NULL;
        _cleanup_free_ size_t *alt = NULL, *pool = NULL;
        _cleanup_(json_decrefp) json_t *doc = NULL, *pci = NULL;
        size_t n_dyn = 0, n_devs = 0, at = 0;
        int next;

        if (hp_alloc_dynamic_entries(s->pci, s->n_pci, &dyn, NULL, &n_dyn) < 0)
                return NULL;
        doc = hp_vm_spec_to_json(s);
        pci = json_array();
        taken = calloc(h->n + 1, sizeof(*taken));
        if (!doc || !pci || !taken)
                return NULL;
        /* Only the VM's own devices, not those its static entries name. */
        for (size_t k = 0; k < h->n; k++) {
                taken[k] = !h->cands[k].assigned_vm || !streq(h->cands[k].assigned_vm, name);
                for (size_t e = 0; e < s->n_pci; e++)
                        if (s->pci[e].kind == HP_VM_PCI_STATIC &&
                            streq(s->pci[e].address, h->cands[k].dev->address))
                                taken[k] = true;
        }
        for (size_t e = 0; e < n_dyn; e++)
                n_devs += hp_vm_pci_count(&dyn[e]);
        alt = calloc(n_dyn + 1, sizeof(*alt));
        pool = calloc(n_devs + 1, sizeof(*pool));
        if (!alt || !pool || hp_alloc_pools_make(name, h->cands, h->n, taken, &pools) < 0)
                return NULL;
        if (n_dyn > 0 && hp_alloc_request_place(dyn, n_dyn, pools.v, pools.n, alt, pool, NULL) < 0)
                return NULL;
        next = max_index(s) + 1;
        for (size_t e = 0; e < s->n_pci; e++)
                if (s->pci[e].kind == HP_VM_PCI_STATIC)
                        json_array_append_new(pci, hp_vm_pci_to_json(&s->pci[e]));
        for (size_t e = 0; e < n_dyn; e++)
                for (unsigned d = 0; d < hp_vm_pci_count(&dyn[e]); d++, at++) {
                        size_t k = hp_alloc_pools_take(&pools, pool[at]);

                        json_array_append_new(pci, static_entry(&dyn[e], d == 0 ? dyn[e].index : next++,
                                                                h->cands[k].dev->address));
                }
        if (json_object_set(doc, "pci", pci) < 0)
                return NULL;
        return TAKE_PTR(doc);
}

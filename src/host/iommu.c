/* IOMMU groups and the passthrough verdict of one device. */
#include "iommu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"
#include "util/macro.h"
#include "util/strutil.h"

static int cmp_group(const void *a, const void *b)
{
        const struct hp_iommu_group *x = a, *y = b;

        return (x->id > y->id) - (x->id < y->id);
}

void hp_iommu_groups_free(struct hp_iommu_group *g, size_t n)
{
        for (size_t i = 0; g && i < n; i++)
                free(g[i].members);
        free(g);
}

int hp_iommu_groups(const struct hp_pci_inventory *inv, struct hp_iommu_group **ret, size_t *ret_n)
{
        struct hp_iommu_group *groups = NULL;
        size_t n = 0;

        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *d = &inv->devs[i];
                struct hp_iommu_group *g = NULL;
                size_t *nm;

                if (d->iommu_group < 0)
                        continue;
                for (size_t j = 0; j < n; j++)
                        if (groups[j].id == d->iommu_group)
                                g = &groups[j];
                if (!g) {
                        struct hp_iommu_group *ng = realloc(groups, (n + 1) * sizeof(*groups));

                        if (!ng)
                                goto oom;
                        groups = ng;
                        g = &groups[n++];
                        *g = (struct hp_iommu_group){ .id = d->iommu_group };
                }
                nm = realloc(g->members, (g->n_members + 1) * sizeof(*nm));
                if (!nm)
                        goto oom;
                g->members = nm;
                g->members[g->n_members++] = i;
                if (!hp_pci_dev_is_bridge(d))
                        g->n_endpoints++;
        }
        if (n > 1)
                qsort(groups, n, sizeof(*groups), cmp_group);
        *ret = groups;
        *ret_n = n;
        return 0;
oom:
        hp_iommu_groups_free(groups, n);
        return -ENOMEM;
}

void hp_verdict_done(struct hp_verdict *v)
{
        hp_strv_free(v->reasons);
        hp_strv_free(v->notes);
        *v = (struct hp_verdict){ 0 };
}

const char *hp_pci_host_class_reason(const struct hp_pci_dev *d)
{
        switch (d->class >> 8) {
        case 0x0600:
                return "a host bridge: it stays with the host";
        case 0x0601:
                return "an ISA/LPC bridge: the host needs it";
        case 0x0604:
        case 0x0609:
                return "a PCI bridge or port: bridges stay with the host; pass the devices behind it";
        case 0x0c05:
                return "an SMBus controller: the host needs it";
        default:
                break;
        }
        if (hp_pci_dev_is_bridge(d))
                return "a bridge: bridges stay with the host";
        if ((d->class >> 16) == 0x05)
                return "a memory controller: the host needs it";
        return NULL;
}

static bool same_slot(const struct hp_pci_dev *a, const struct hp_pci_dev *b)
{
        return a->addr.domain == b->addr.domain && a->addr.bus == b->addr.bus &&
               a->addr.dev == b->addr.dev;
}

static bool has_sibling_function(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d)
{
        for (size_t i = 0; i < inv->n_devs; i++)
                if (&inv->devs[i] != d && same_slot(&inv->devs[i], d) &&
                    !inv->devs[i].physfn && !d->physfn)
                        return true;
        return false;
}

/* Endpoints sharing d's group: functions of d's own slot go with it (a GPU
 * and its HDMI audio), anything else means the group is not isolated. */
static int group_rules(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d,
                       struct hp_verdict *v)
{
        char siblings[512] = "", strangers[512] = "";
        size_t n_siblings = 0, n_strangers = 0;
        char msg[1280];

        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *o = &inv->devs[i];
                char *list;
                size_t *count;

                if (o == d || o->iommu_group != d->iommu_group || hp_pci_dev_is_bridge(o))
                        continue;
                list = same_slot(o, d) ? siblings : strangers;
                count = same_slot(o, d) ? &n_siblings : &n_strangers;
                if (*count < 6) {
                        size_t len = strlen(list);

                        snprintf(list + len, sizeof(siblings) - len, "%s%s", *count ? ", " : "",
                                 o->address);
                } else if (*count == 6) {
                        size_t len = strlen(list);

                        snprintf(list + len, sizeof(siblings) - len, ", ...");
                }
                (*count)++;
        }
        if (n_strangers > 0) {
                v->blocker = v->blocker ? v->blocker : "shared group";
                snprintf(msg, sizeof(msg),
                         "shared IOMMU group %d: it also holds %s%s%s (no ACS isolation); "
                         "they can only be passed through together",
                         d->iommu_group, strangers, n_siblings ? ", " : "", siblings);
                return hp_strv_push(&v->reasons, msg);
        }
        if (n_siblings > 0) {
                snprintf(msg, sizeof(msg), "goes together with %s (same IOMMU group %d)",
                         siblings, d->iommu_group);
                return hp_strv_push(&v->notes, msg);
        }
        return 0;
}

int hp_pci_verdict(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d,
                   struct hp_verdict *ret)
{
        _cleanup_(hp_verdict_done) struct hp_verdict v = { 0 };
        const char *host_reason = hp_pci_host_class_reason(d);
        char msg[256];
        int r;

        v.reasons = calloc(1, sizeof(char *));
        v.notes = calloc(1, sizeof(char *));
        if (!v.reasons || !v.notes)
                return -ENOMEM;
        if (d->iommu_group < 0) {
                v.blocker = "no IOMMU group";
                r = hp_strv_push(&v.reasons, "no IOMMU group: the IOMMU is off or absent "
                                             "(see 'hwpass host check')");
                if (r < 0)
                        return r;
        }
        if (host_reason) {
                v.blocker = v.blocker ? v.blocker : hp_pci_dev_is_bridge(d) ? "bridge" : "host device";
                r = hp_strv_push(&v.reasons, host_reason);
                if (r < 0)
                        return r;
        }
        if (!host_reason && !d->has_reset) {
                /* A function without a reset of its own is reset with its
                 * slot (a bus reset) when all functions go to one VM. */
                if (has_sibling_function(inv, d)) {
                        r = hp_strv_push(&v.notes, "no reset of its own: it is reset together "
                                                   "with the other functions of its slot");
                } else {
                        v.blocker = v.blocker ? v.blocker : "no reset method";
                        r = hp_strv_push(&v.reasons,
                                         "no reset method: the kernel cannot reset it between VMs");
                }
                if (r < 0)
                        return r;
        }
        if (!host_reason && d->iommu_group >= 0) {
                r = group_rules(inv, d, &v);
                if (r < 0)
                        return r;
        }
        if (d->physfn) {
                snprintf(msg, sizeof(msg), "an SR-IOV virtual function of %s", d->physfn);
                r = hp_strv_push(&v.notes, msg);
                if (r < 0)
                        return r;
        }
        if (d->boot_vga) {
                r = hp_strv_push(&v.notes, "the boot display: the host console may hold it");
                if (r < 0)
                        return r;
        }
        if (d->driver && streq(d->driver, "vfio-pci")) {
                r = hp_strv_push(&v.notes, "bound to vfio-pci now");
                if (r < 0)
                        return r;
        }
        v.capable = hp_strv_length(v.reasons) == 0;
        *ret = v;
        v = (struct hp_verdict){ 0 };
        return 0;
}

/* Passthrough plans: the whole IOMMU group moves together (bridges stay), each
 * device's host driver is remembered for the way back, and whatever the host
 * needs is refused unless forced. Pure: no I/O. */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostuse.h"
#include "iommu.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

#define VFIO_DRIVER "vfio-pci"

void hp_plan_free(struct hp_plan *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_steps; i++) {
                free(p->steps[i].from_driver);
                free(p->steps[i].to_driver);
        }
        free(p->steps);
        hp_strv_free(p->unchanged);
        hp_strv_free(p->warnings);
        hp_strv_free(p->refusals);
        hp_strv_free(p->errors);
        free(p);
}

bool hp_plan_applicable(const struct hp_plan *p)
{
        return hp_strv_length(p->errors) == 0 && hp_strv_length(p->refusals) == 0;
}

static const struct hp_dev_config *config_of(const struct hp_plan_input *in, const char *address)
{
        for (size_t i = 0; i < in->n_configs; i++)
                if (streq(in->configs[i].address, address))
                        return &in->configs[i];
        return NULL;
}

static bool planned(const struct hp_plan *p, const char *address)
{
        for (size_t i = 0; i < p->n_steps; i++)
                if (streq(p->steps[i].address, address))
                        return true;
        return hp_strv_contains(p->unchanged, address);
}

static int add_step(struct hp_plan *p, const struct hp_pci_dev *d, const char *to, bool requested)
{
        struct hp_plan_step *ns = realloc(p->steps, (p->n_steps + 1) * sizeof(*ns));
        struct hp_plan_step *s;

        if (!ns)
                return -ENOMEM;
        p->steps = ns;
        s = &p->steps[p->n_steps];
        *s = (struct hp_plan_step){ .requested = requested };
        memcpy(s->address, d->address, HP_SBDF_LEN);
        s->from_driver = d->driver ? strdup(d->driver) : NULL;
        s->to_driver = to ? strdup(to) : NULL;
        if ((d->driver && !s->from_driver) || (to && !s->to_driver)) {
                free(s->from_driver);
                free(s->to_driver);
                return -ENOMEM;
        }
        p->n_steps++;
        return 0;
}

/* Refusal without force, warning with it. */
static int refuse(struct hp_plan *p, bool force, const char *msg)
{
        return hp_strv_contains(force ? p->warnings : p->refusals, msg)
                       ? 0
                       : hp_strv_push(force ? &p->warnings : &p->refusals, msg);
}

static int interlocks(const struct hp_plan_input *in, struct hp_plan *p, const struct hp_pci_dev *m,
                      bool force)
{
        const struct hp_host_use *use = NULL;
        size_t n;

        if (!in->uses)
                return 0;
        n = hp_host_uses_of(in->uses, m->address, &use);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *what = NULL, *msg = NULL;
                int r = hp_host_use_describe(&use[i], &what);

                if (r < 0)
                        return r;
                if (asprintf(&msg, "%s is %s", m->address, what) < 0)
                        return -ENOMEM;
                r = refuse(p, force, msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The bridges of a group stay where they are: PCI bridges are allowed in a
 * viable group, and so is any device without a driver. */
static bool stays(const struct hp_pci_dev *m)
{
        unsigned cls = m->class >> 8;

        if (cls == 0x0604 || cls == 0x0609)
                return true;
        return hp_pci_dev_is_bridge(m) && !m->driver;
}

static int plan_enable_group(const struct hp_plan_input *in, struct hp_plan *p,
                             const struct hp_pci_dev *d, char *const *requested, bool force)
{
        const struct hp_pci_inventory *inv = in->inv;
        const char *reason = hp_pci_host_class_reason(d);
        char msg[512];
        int r;

        if (d->iommu_group < 0)
                return hp_strv_pushf_unique(&p->errors,
                                            "%s has no IOMMU group: the IOMMU is off or absent "
                                            "(see 'hwpass host check')",
                                            d->address);
        if ((d->class >> 8) == 0x0604 || (d->class >> 8) == 0x0609)
                return hp_strv_pushf_unique(
                        &p->errors,
                        "%s is a PCI bridge: vfio-pci cannot take bridges; pass the "
                        "devices behind it",
                        d->address);
        if (reason) {
                snprintf(msg, sizeof(msg), "%s is %s", d->address, reason);
                r = refuse(p, force, msg);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *m = &inv->devs[i];
                bool asked = hp_strv_contains(requested, m->address);

                if (m->iommu_group != d->iommu_group || (m != d && stays(m)) ||
                    planned(p, m->address))
                        continue;
                if (m != d && !asked) {
                        reason = hp_pci_host_class_reason(m);
                        if (reason) {
                                snprintf(msg, sizeof(msg), "IOMMU group %d also holds %s, %s",
                                         m->iommu_group, m->address, reason);
                                r = refuse(p, force, msg);
                        } else {
                                r = hp_strv_pushf_unique(
                                        &p->warnings,
                                        "%s %s goes along: it is in the same IOMMU group %d",
                                        m->address, m->device_name ? m->device_name : "",
                                        m->iommu_group);
                        }
                        if (r < 0)
                                return r;
                }
                r = interlocks(in, p, m, force);
                if (r < 0)
                        return r;
                if (m->driver && streq(m->driver, VFIO_DRIVER))
                        r = hp_strv_push(&p->unchanged, m->address);
                else
                        r = add_step(p, m, VFIO_DRIVER, asked || m == d);
                if (r >= 0 && !m->has_reset && !(m->driver && streq(m->driver, VFIO_DRIVER)))
                        r = hp_strv_pushf_unique(&p->warnings,
                                                 "%s has no reset method: hwpass cannot reset it between VMs, so "
                                                 "each VM gets it as the last one left it (QEMU resets it with its "
                                                 "bus only when one VM gets every device below its bridge)",
                                                 m->address);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int plan_disable_group(const struct hp_plan_input *in, struct hp_plan *p,
                              const struct hp_pci_dev *d, char *const *requested)
{
        const struct hp_pci_inventory *inv = in->inv;
        int r;

        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *m = &inv->devs[i];
                const struct hp_dev_config *c = config_of(in, m->address);
                bool asked = hp_strv_contains(requested, m->address);
                bool on_vfio = m->driver && streq(m->driver, VFIO_DRIVER);

                if (m != d && (d->iommu_group < 0 || m->iommu_group != d->iommu_group))
                        continue;
                if (stays(m) || planned(p, m->address))
                        continue;
                if (c && c->assigned_vm) {
                        r = hp_strv_pushf_unique(&p->errors,
                                                 "%s is assigned to VM '%s': stop the VM first",
                                                 m->address, c->assigned_vm);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Unbound but configured: an apply stopped half-way; finish it. */
                if (on_vfio || (!m->driver && c && c->host_driver)) {
                        if (m != d && !asked) {
                                r = hp_strv_pushf_unique(
                                        &p->warnings,
                                        "%s goes back too: it is in the same IOMMU group %d",
                                        m->address, m->iommu_group);
                                if (r < 0)
                                        return r;
                        }
                        r = add_step(p, m, c ? c->host_driver : NULL, asked || m == d);
                } else {
                        r = hp_strv_push(&p->unchanged, m->address);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int hp_plan_passthrough(const struct hp_plan_input *in, enum hp_plan_action action,
                        char *const *addresses, bool force, struct hp_plan **ret)
{
        _cleanup_(hp_plan_freep) struct hp_plan *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->action = action;
        p->unchanged = calloc(1, sizeof(char *));
        p->warnings = calloc(1, sizeof(char *));
        p->refusals = calloc(1, sizeof(char *));
        p->errors = calloc(1, sizeof(char *));
        if (!p->unchanged || !p->warnings || !p->refusals || !p->errors)
                return -ENOMEM;
        for (size_t i = 0; addresses && addresses[i]; i++) {
                const struct hp_pci_dev *d = hp_pci_find(in->inv, addresses[i]);

                if (!d) {
                        r = hp_strv_pushf_unique(
                                &p->errors,
                                "no PCI device %s on this host (see 'hwpass device list')",
                                addresses[i]);
                } else if (planned(p, d->address)) {
                        continue;
                } else if (action == HP_PLAN_ENABLE) {
                        r = plan_enable_group(in, p, d, addresses, force);
                } else {
                        r = plan_disable_group(in, p, d, addresses);
                }
                if (r < 0)
                        return r;
        }
        if (action == HP_PLAN_ENABLE)
                for (size_t i = 0; i < p->n_steps; i++) {
                        const struct hp_pci_dev *d = hp_pci_find(in->inv, p->steps[i].address);

                        if (d && d->boot_vga) {
                                r = hp_strv_pushf_unique(
                                        &p->warnings,
                                        "%s is the boot display: the host loses its console "
                                        "on it",
                                        d->address);
                                if (r < 0)
                                        return r;
                        }
                }
        *ret = TAKE_PTR(p);
        return 0;
}

/* Desired versus active passthrough state, and the reason between them. */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moves.h"
#include "pci.h"
#include "store/store.h"
#include "util/macro.h"

static bool same_ids(const struct hp_dev_config *c, const struct hp_pci_dev *d);

void hp_dev_state_done(struct hp_dev_state *s)
{
        free(s->reason);
        s->reason = NULL;
}

enum hp_dev_mode hp_dev_mode_of(const struct hp_dev_state *s)
{
        if (s->active)
                return s->desired ? HP_DEV_MODE_PASSTHROUGH : HP_DEV_MODE_UNWANTED;
        return s->desired ? HP_DEV_MODE_PENDING : HP_DEV_MODE_HOST;
}

const char *hp_dev_mode_name(enum hp_dev_mode m)
{
        static const char *const names[HP_DEV_MODE_MAX] = {
                [HP_DEV_MODE_HOST] = "host",
                [HP_DEV_MODE_PENDING] = "pending",
                [HP_DEV_MODE_PASSTHROUGH] = "passthrough",
                [HP_DEV_MODE_UNWANTED] = "passthrough!",
        };

        return (unsigned)m < HP_DEV_MODE_MAX ? names[m] : NULL;
}

const struct hp_dev_config *hp_host_state_config(const struct hp_host_state *s, const char *address)
{
        for (size_t i = 0; i < s->n_configs; i++)
                if (streq(s->configs[i].address, address))
                        return &s->configs[i];
        return NULL;
}

bool hp_dev_config_matches(const struct hp_dev_config *c, const struct hp_pci_dev *d)
{
        return same_ids(c, d);
}

static bool on_vfio(const struct hp_pci_dev *d)
{
        return d->driver && streq(d->driver, "vfio-pci");
}

bool hp_pci_group_viable(const struct hp_pci_inventory *inv, int group,
                         const struct hp_pci_dev **ret_blocker)
{
        if (group < 0)
                return false;
        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *m = &inv->devs[i];
                unsigned cls = m->class >> 8;

                if (m->iommu_group != group || !m->driver || on_vfio(m))
                        continue;
                /* vfio allows bridges driven by pcieport in a viable group. */
                if ((cls == 0x0604 || cls == 0x0609) && streq(m->driver, "pcieport"))
                        continue;
                if (ret_blocker)
                        *ret_blocker = m;
                return false;
        }
        return true;
}

static bool same_ids(const struct hp_dev_config *c, const struct hp_pci_dev *d)
{
        return c->vendor_id == d->vendor_id && c->device_id == d->device_id &&
               c->subsystem_vendor_id == d->subsystem_vendor_id &&
               c->subsystem_device_id == d->subsystem_device_id;
}

const char *hp_host_state_moved_from(const struct hp_host_state *st, const struct hp_pci_dev *d)
{
        for (size_t i = 0; i < st->n_matches; i++)
                if (st->matches[i].kind == HP_DEV_MATCH_MOVED && streq(st->matches[i].to, d->address))
                        return st->matches[i].from;
        return NULL;
}

const struct hp_dev_match *hp_host_state_may_be_next(const struct hp_host_state *st, const struct hp_pci_dev *d,
                                                     const struct hp_dev_match *prev)
{
        for (size_t i = prev ? (size_t)(prev - st->matches) + 1 : 0; i < st->n_matches; i++) {
                const struct hp_dev_match *m = &st->matches[i];
                const struct hp_dev_config *c = hp_host_state_config(st, m->from);

                if (m->kind != HP_DEV_MATCH_UNCERTAIN || !c || !same_ids(c, d))
                        continue;
                if (streq(m->to, d->address) || !hp_host_state_config(st, d->address))
                        return m;
        }
        return NULL;
}

/* Why an entry is not at its device: what it may be, and what to run. */
static int unmatched_reason(const struct hp_dev_config *c, const struct hp_pci_dev *d,
                            const struct hp_dev_match *m, char **ret)
{
        if (m && m->kind == HP_DEV_MATCH_UNCERTAIN)
                return asprintf(ret, "not found at its address: it may be the device now at %s (same IDs, %s%s%s): "
                                     "if it is, run 'hwpass device adopt %s --from %s'; if it is gone, 'hwpass "
                                     "device forget %s'",
                                m->to, m->why, m->n_candidates > 1 ? ", one of " : "",
                                m->n_candidates > 1 ? "several" : "", m->to, c->address, c->address);
        if (!d)
                return asprintf(ret, "the device is gone: %04x:%04x was configured at %s; it is never bound "
                                     "elsewhere by itself: 'hwpass device forget %s' drops its entry",
                                c->vendor_id, c->device_id, c->address, c->address);
        return asprintf(ret, "hardware changed: %s is now %04x:%04x, configured as %04x:%04x; it is not bound "
                             "until enabled again ('hwpass device forget %s' drops the old entry)",
                        d->address, d->vendor_id, d->device_id, c->vendor_id, c->device_id, c->address);
}

int hp_dev_state_of(const struct hp_host_state *st, const struct hp_pci_dev *d,
                    const struct hp_dev_config *c, struct hp_dev_state *ret)
{
        const struct hp_pci_inventory *inv = st->inv;
        const struct hp_dev_match *m = c ? hp_dev_match_unmoved(st->matches, st->n_matches, c->address) : NULL;
        const struct hp_pci_dev *blocker = NULL;
        char *reason = NULL;
        int n = 0;

        *ret = (struct hp_dev_state){ .desired = c && c->desired };
        if (c && (!d || m || !hp_dev_config_matches(c, d))) {
                if (d)
                        ret->active = on_vfio(d) && hp_pci_group_viable(inv, d->iommu_group, NULL) &&
                                      hp_dev_config_matches(c, d);
                n = unmatched_reason(c, d, m, &reason);
                goto out;
        }
        if (!d)
                goto out;
        ret->active = on_vfio(d) && hp_pci_group_viable(inv, d->iommu_group, &blocker);
        if (ret->desired && !ret->active) {
                if (c->reason)
                        n = (reason = strdup(c->reason)) ? 0 : -1;
                else if (on_vfio(d) && blocker)
                        n = asprintf(&reason, "IOMMU group %d is not viable: %s is still on %s",
                                     d->iommu_group, blocker->address, blocker->driver);
                else if (d->iommu_group < 0)
                        n = asprintf(&reason, "no IOMMU group: the IOMMU is off (see 'hwpass host check')");
                else if (d->driver)
                        n = asprintf(&reason, "not applied: %s still drives it; run 'hwpass host apply' (a "
                                              "driver that will not let go needs a reboot: see 'hwpass host "
                                              "boot-config')",
                                     d->driver);
                else
                        n = asprintf(&reason, "not applied: no driver holds it; run 'hwpass host apply'");
        } else if (!ret->desired && on_vfio(d)) {
                n = asprintf(&reason, "on vfio-pci without being enabled: run 'hwpass host apply' to give "
                                      "it back, or enable it");
        }
out:
        if (n < 0)
                return -ENOMEM;
        ret->reason = reason;
        return 0;
}

/* ACS on the way from a device to the root: which port breaks its IOMMU
 * group and what would isolate it. The kernel puts a device in its own group
 * only when every root and downstream port above it (and every multi-function
 * device on the way) has ACS Source Validation, Request Redirect, Completion
 * Redirect and Upstream Forwarding on; a conventional PCI bridge hides the
 * devices behind it under its own requester ID. (Config space is read in
 * pcicfg.c.) */
#include "acs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

#define MAX_PATH_DEPTH 32

bool hp_acs_isolates(const struct hp_acs_info *a)
{
        if (a->state == HP_ACS_ENABLED)
                return true;
        if (a->state == HP_ACS_UNREADABLE || a->state == HP_ACS_NOT_PCIE)
                return false;
        /* Only ports route peer-to-peer traffic; an upstream port or an
         * endpoint matters only when it has sibling functions. */
        if (a->pcie_type == HP_PCIE_ROOT_PORT || a->pcie_type == HP_PCIE_DOWNSTREAM)
                return false;
        return !a->multifunction;
}

void hp_acs_missing(const struct hp_acs_info *a, char *buf, size_t size)
{
        static const struct {
                uint16_t bit;
                const char *name;
        } names[] = { { HP_ACS_SV, "Source Validation" },
                      { HP_ACS_RR, "Request Redirect" },
                      { HP_ACS_CR, "Completion Redirect" },
                      { HP_ACS_UF, "Upstream Forwarding" } };
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                if (a->ctrl & names[i].bit)
                        continue;
                snprintf(buf + len, size - len, "%s%s%s", len ? ", " : "", names[i].name,
                         a->cap & names[i].bit ? " (off)" : " (unsupported)");
                len = strlen(buf);
        }
}

const char *hp_isolation_cause_name(enum hp_isolation_cause c)
{
        switch (c) {
        case HP_ISOLATION_OK:
                return "isolated";
        case HP_ISOLATION_FUNCTIONS:
                return "functions";
        case HP_ISOLATION_NO_ACS:
                return "no-acs";
        case HP_ISOLATION_PCI_BRIDGE:
                return "pci-bridge";
        case HP_ISOLATION_UNREADABLE:
                return "unreadable";
        }
        return "unknown";
}

void hp_isolation_done(struct hp_isolation *iso)
{
        free(iso->why);
        free(iso->fix);
        *iso = (struct hp_isolation){ 0 };
}

static const char *kind_of(const struct hp_acs_info *a)
{
        switch (a->pcie_type) {
        case HP_PCIE_ROOT_PORT:
                return "root port";
        case HP_PCIE_DOWNSTREAM:
                return "switch downstream port";
        case HP_PCIE_UPSTREAM:
                return "multi-function switch upstream port";
        default:
                return "multi-function device";
        }
}

/* "no ACS capability" or "ACS without Request Redirect (off), ..." */
static void lack_text(const struct hp_acs_info *a, char *buf, size_t size)
{
        char missing[160];

        if (a->state == HP_ACS_ABSENT) {
                snprintf(buf, size, "has no ACS capability");
                return;
        }
        hp_acs_missing(a, missing, sizeof(missing));
        snprintf(buf, size, "has ACS without %s", missing);
}

/* Whether p and everything above it isolate what is below p. */
static int path_isolates(const struct hp_host *h, const struct hp_pci_inventory *inv,
                         const struct hp_pci_dev *p, bool *ret)
{
        for (int depth = 0; p && depth < MAX_PATH_DEPTH; depth++) {
                struct hp_acs_info a;
                int r = hp_acs_read(h, p->address, &a);

                if (r < 0)
                        return r;
                if (!hp_acs_isolates(&a)) {
                        *ret = false;
                        return 0;
                }
                p = p->parent ? hp_pci_find(inv, p->parent) : NULL;
        }
        *ret = true;
        return 0;
}

static bool on_path(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d,
                    const char *address)
{
        for (int depth = 0; d && depth < MAX_PATH_DEPTH; depth++) {
                if (streq(d->address, address))
                        return true;
                d = d->parent ? hp_pci_find(inv, d->parent) : NULL;
        }
        return false;
}

/* Ports with ACS on their whole way to the root, not above d: root ports
 * of the root bus (the CPU's lanes) first. */
static int other_slots(const struct hp_host *h, const struct hp_pci_inventory *inv,
                       const struct hp_pci_dev *d, char *buf, size_t size)
{
        size_t n = 0, len;

        buf[0] = '\0';
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < inv->n_devs && n < 3; i++) {
                        const struct hp_pci_dev *p = &inv->devs[i];
                        struct hp_acs_info a;
                        bool ok;
                        int r;

                        if (!hp_pci_dev_is_bridge(p) || (pass == 0) != !p->parent ||
                            on_path(inv, d, p->address))
                                continue;
                        r = hp_acs_read(h, p->address, &a);
                        if (r < 0)
                                return r;
                        if (a.pcie_type != HP_PCIE_ROOT_PORT && a.pcie_type != HP_PCIE_DOWNSTREAM)
                                continue;
                        r = path_isolates(h, inv, p, &ok);
                        if (r < 0)
                                return r;
                        if (!ok)
                                continue;
                        len = strlen(buf);
                        snprintf(buf + len, size - len, "%s%s", n ? ", " : "", p->address);
                        n++;
                }
        return (int)n;
}

/* A multi-function device is named by its function 0, so that all its
 * functions report one culprit. */
static void culprit_of(const struct hp_pci_dev *p, const struct hp_acs_info *a, char ret[HP_SBDF_LEN])
{
        memcpy(ret, p->address, HP_SBDF_LEN);
        if (a->pcie_type != HP_PCIE_ROOT_PORT && a->pcie_type != HP_PCIE_DOWNSTREAM)
                ret[HP_SBDF_LEN - 2] = '0';
}

/* The other endpoints in d's group: 0 none, 1 only functions of d's own
 * slot, 2 some from elsewhere. */
static int group_company(const struct hp_pci_inventory *inv, const struct hp_pci_dev *d)
{
        int company = 0;

        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *o = &inv->devs[i];

                if (o == d || o->iommu_group != d->iommu_group || hp_pci_dev_is_bridge(o))
                        continue;
                if (o->addr.bus != d->addr.bus || o->addr.dev != d->addr.dev ||
                    o->addr.domain != d->addr.domain)
                        return 2;
                company = 1;
        }
        return company;
}

static int explain_no_acs(const struct hp_host *h, const struct hp_pci_inventory *inv,
                          const struct hp_pci_dev *d, const char *why, struct hp_isolation *iso)
{
        char slots[64];
        int n = other_slots(h, inv, d, slots, sizeof(slots));

        if (n < 0)
                return n;
        if (asprintf(&iso->why, "%s", why) < 0)
                return -ENOMEM;
        if (n > 0 && asprintf(&iso->fix,
                              "move it to a slot whose path to the root has ACS, such as one below %s "
                              "(root ports of the root bus are the CPU's own lanes, not the chipset's)",
                              slots) < 0)
                return -ENOMEM;
        if (n == 0 && asprintf(&iso->fix, "no port of this host has ACS all the way to the root: "
                                          "pass the whole group through together") < 0)
                return -ENOMEM;
        return 0;
}

int hp_acs_explain(const struct hp_host *h, const struct hp_pci_inventory *inv,
                   const struct hp_pci_dev *d, struct hp_isolation *ret)
{
        _cleanup_(hp_isolation_done) struct hp_isolation iso = { 0 };
        const struct hp_pci_dev *p = d;
        char why[512] = "", lack[256];
        const char *unreadable = NULL;
        int r;

        if (d->iommu_group < 0 || group_company(inv, d) == 0)
                goto done;
        if (group_company(inv, d) == 1) {
                iso.cause = HP_ISOLATION_FUNCTIONS;
                memcpy(iso.culprit, d->address, HP_SBDF_LEN);
                iso.culprit[HP_SBDF_LEN - 2] = '0';
                if (asprintf(&iso.why, "only functions of the device in slot %.10s share the group: "
                                       "it has no ACS between its functions", d->address) < 0 ||
                    asprintf(&iso.fix, "pass its functions through together") < 0)
                        return -ENOMEM;
                goto done;
        }
        /* From d itself (a multi-function device) up to the root bus. */
        for (int depth = 0; p && depth < MAX_PATH_DEPTH; depth++) {
                struct hp_acs_info a;

                r = hp_acs_read(h, p->address, &a);
                if (r < 0)
                        return r;
                if (p != d && hp_pci_dev_is_bridge(p) &&
                    (a.state == HP_ACS_NOT_PCIE || a.pcie_type == HP_PCIE_TO_PCI_BRIDGE)) {
                        iso.cause = HP_ISOLATION_PCI_BRIDGE;
                        memcpy(iso.culprit, p->address, HP_SBDF_LEN);
                        if (asprintf(&iso.why, "%s is a conventional PCI bridge: the devices behind it "
                                               "share its requester ID", p->address) < 0 ||
                            asprintf(&iso.fix, "devices behind a conventional PCI bridge can never be "
                                               "separated: pass them through together") < 0)
                                return -ENOMEM;
                        goto done;
                }
                if (a.state == HP_ACS_UNREADABLE) {
                        unreadable = unreadable ? unreadable : p->address;
                } else if (!hp_acs_isolates(&a) && (p != d || a.multifunction) &&
                           a.state != HP_ACS_NOT_PCIE) {
                        size_t len = strlen(why);

                        if (iso.culprit[0] == '\0') {
                                lack_text(&a, lack, sizeof(lack));
                                culprit_of(p, &a, iso.culprit);
                                snprintf(why, sizeof(why), "%s (%s) %s", iso.culprit, kind_of(&a), lack);
                        } else if (!strstr(why, "; above it")) {
                                snprintf(why + len, sizeof(why) - len, "; above it, %s lacks ACS too",
                                         p->address);
                        }
                }
                p = p->parent ? hp_pci_find(inv, p->parent) : NULL;
        }
        if (iso.culprit[0]) {
                iso.cause = HP_ISOLATION_NO_ACS;
                r = explain_no_acs(h, inv, d, why, &iso);
                if (r < 0)
                        return r;
        } else if (unreadable) {
                iso.cause = HP_ISOLATION_UNREADABLE;
                memcpy(iso.culprit, unreadable, HP_SBDF_LEN);
                if (asprintf(&iso.why, "the config space of %s could not be read past its first "
                                       "bytes, so its ACS is unknown", unreadable) < 0 ||
                    asprintf(&iso.fix, "run as root to see which port lacks ACS") < 0)
                        return -ENOMEM;
        } else {
                iso.cause = HP_ISOLATION_OK; /* nothing seen: the kernel may apply a quirk */
        }
done:
        *ret = iso;
        iso = (struct hp_isolation){ 0 };
        return 0;
}

void hp_group_isolation_free(struct hp_group_isolation *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                hp_isolation_done(&v[i].iso);
                hp_strv_free(v[i].devices);
        }
        free(v);
}

static int add_device(struct hp_group_isolation **v, size_t *n, struct hp_isolation *iso,
                      const char *address)
{
        struct hp_group_isolation *nv;

        for (size_t i = 0; i < *n; i++)
                if ((*v)[i].iso.cause == iso->cause && streq((*v)[i].iso.culprit, iso->culprit))
                        return hp_strv_push(&(*v)[i].devices, address);
        nv = realloc(*v, (*n + 1) * sizeof(**v));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = (struct hp_group_isolation){ .iso = *iso };
        *iso = (struct hp_isolation){ 0 };
        (*n)++;
        return hp_strv_push(&nv[*n - 1].devices, address);
}

int hp_acs_explain_group(const struct hp_host *h, const struct hp_pci_inventory *inv,
                         const struct hp_iommu_group *g, struct hp_group_isolation **ret,
                         size_t *ret_n)
{
        struct hp_group_isolation *v = NULL;
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; !hp_iommu_group_isolated(g) && i < g->n_members && r >= 0; i++) {
                const struct hp_pci_dev *d = &inv->devs[g->members[i]];
                _cleanup_(hp_isolation_done) struct hp_isolation iso = { 0 };

                if (hp_pci_dev_is_bridge(d))
                        continue;
                r = hp_acs_explain(h, inv, d, &iso);
                if (r >= 0 && iso.cause != HP_ISOLATION_OK)
                        r = add_device(&v, &n, &iso, d->address);
        }
        if (r < 0) {
                hp_group_isolation_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Following stored device entries to the addresses their devices moved to. */
#include "moves.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "host/state.h"
#include "store/store.h"
#include "util/macro.h"

struct work {
        const struct hp_host_state *st;
        bool *displaced;  /* by config index */
        ssize_t *target;  /* by config index: the device index it moves to, or -1 */
        ssize_t *own;     /* by device index: the config stored at its address, or -1 */
};

static bool same_ids(const struct hp_dev_config *c, const struct hp_pci_dev *d)
{
        return c->vendor_id == d->vendor_id && c->device_id == d->device_id &&
               c->subsystem_vendor_id == d->subsystem_vendor_id &&
               c->subsystem_device_id == d->subsystem_device_id;
}

static const char *serial_of(const struct hp_host_state *st, size_t i)
{
        return st->serials ? st->serials[i] : NULL;
}

static ssize_t dev_index(const struct hp_host_state *st, const char *address)
{
        const struct hp_pci_dev *d = hp_pci_find(st->inv, address);

        return d ? d - st->inv->devs : -1;
}

/* Another device of the same IDs carries the serial c was recorded with. */
static bool serial_elsewhere(const struct hp_host_state *st, const struct hp_dev_config *c, ssize_t at)
{
        for (size_t i = 0; c->serial && i < st->inv->n_devs; i++)
                if ((ssize_t)i != at && same_ids(c, &st->inv->devs[i]) && serial_of(st, i) &&
                    streq(serial_of(st, i), c->serial))
                        return true;
        return false;
}

/* Its device is not the one at its address: absent, other IDs, or (when
 * that serial is found elsewhere) another serial. An entry a VM holds is
 * where that VM's run was given it: a device cannot move while a guest
 * holds it through VFIO, so the entry stays until the run ends. */
static bool displaced(const struct hp_host_state *st, const struct hp_dev_config *c)
{
        ssize_t at = dev_index(st, c->address);
        const char *s;

        if (c->assigned_vm)
                return false;
        if (at < 0 || !same_ids(c, &st->inv->devs[at]))
                return true;
        s = serial_of(st, at);
        return c->serial && s && !streq(c->serial, s) && serial_elsewhere(st, c, at);
}

static bool is_free(const struct work *w, size_t i)
{
        return w->own[i] < 0 || w->displaced[w->own[i]];
}

/* Devices entry k may be: exact (same serial) or loose (a serial unknown). */
static size_t candidates(const struct work *w, size_t k, bool exact, ssize_t *first)
{
        const struct hp_dev_config *c = &w->st->configs[k];
        size_t n = 0;

        *first = -1;
        for (size_t i = 0; i < w->st->inv->n_devs; i++) {
                const char *s = serial_of(w->st, i);
                bool taken = false;

                if (!is_free(w, i) || streq(w->st->inv->devs[i].address, c->address) ||
                    !same_ids(c, &w->st->inv->devs[i]))
                        continue;
                if (exact ? !(c->serial && s && streq(c->serial, s)) : (c->serial && s))
                        continue;
                for (size_t j = 0; !exact && j < w->st->n_configs; j++)
                        taken |= w->target[j] == (ssize_t)i;
                if (taken)
                        continue; /* another entry follows it */
                if (*first < 0)
                        *first = (ssize_t)i;
                n++;
        }
        return n;
}

/* Moves onto a device whose own entry stays, or that two entries claim,
 * are not taken: undone until none is left. */
static void settle(struct work *w, const char **why)
{
        for (bool changed = true; changed;) {
                changed = false;
                for (size_t k = 0; k < w->st->n_configs; k++) {
                        ssize_t t = w->target[k], own;

                        if (t < 0)
                                continue;
                        own = w->own[t];
                        for (size_t j = 0; j < w->st->n_configs; j++)
                                if (j != k && w->target[j] == t) {
                                        why[k] = why[j] = "several entries";
                                        w->target[j] = -1;
                                }
                        if (!why[k] && own >= 0 && w->target[own] < 0)
                                why[k] = "address taken";
                        if (why[k]) {
                                w->target[k] = -1;
                                changed = true;
                        }
                }
        }
}

/* A device elsewhere with k's serial, though its address keeps an entry of its own. */
static ssize_t taken_by_serial(const struct work *w, size_t k)
{
        const struct hp_dev_config *c = &w->st->configs[k];

        for (size_t i = 0; c->serial && i < w->st->inv->n_devs; i++)
                if (!streq(w->st->inv->devs[i].address, c->address) && same_ids(c, &w->st->inv->devs[i]) &&
                    serial_of(w->st, i) && streq(serial_of(w->st, i), c->serial))
                        return (ssize_t)i;
        return -1;
}

static void fill(const struct work *w, size_t k, const char *why, struct hp_dev_match *m)
{
        const struct hp_dev_config *c = &w->st->configs[k];
        ssize_t first = -1;

        *m = (struct hp_dev_match){ .kind = HP_DEV_MATCH_STALE };
        memcpy(m->from, c->address, HP_SBDF_LEN);
        if (w->target[k] >= 0) {
                m->kind = HP_DEV_MATCH_MOVED;
                memcpy(m->to, w->st->inv->devs[w->target[k]].address, HP_SBDF_LEN);
                return;
        }
        m->n_candidates = candidates(w, k, true, &first);
        if (m->n_candidates == 0 || why) {
                m->n_candidates += candidates(w, k, false, first < 0 ? &first : &(ssize_t){ 0 });
                if (!why)
                        why = m->n_candidates > 1 ? "several devices" : "no serial";
        } else {
                why = "several devices";
        }
        if (m->n_candidates == 0 && (first = taken_by_serial(w, k)) >= 0) {
                m->n_candidates = 1;
                why = "address taken";
        }
        if (m->n_candidates > 0) {
                m->kind = HP_DEV_MATCH_UNCERTAIN;
                m->why = why;
                memcpy(m->to, w->st->inv->devs[first].address, HP_SBDF_LEN);
        }
}

int hp_dev_match_all(const struct hp_host_state *st, struct hp_dev_match **ret, size_t *ret_n)
{
        size_t nc = st->n_configs, nd = st->inv->n_devs, n = 0;
        _cleanup_free_ bool *disp = calloc(nc + 1, sizeof(bool));
        _cleanup_free_ ssize_t *target = calloc(nc + 1, sizeof(ssize_t));
        _cleanup_free_ ssize_t *own = calloc(nd + 1, sizeof(ssize_t));
        _cleanup_free_ const char **why = calloc(nc + 1, sizeof(char *));
        _cleanup_free_ struct hp_dev_match *m = calloc(nc + 1, sizeof(*m));
        struct work w = { .st = st, .displaced = disp, .target = target, .own = own };

        *ret = NULL;
        *ret_n = 0;
        if (!disp || !target || !own || !why || !m)
                return -ENOMEM;
        for (size_t i = 0; i < nd; i++) {
                const struct hp_dev_config *c = hp_host_state_config(st, st->inv->devs[i].address);

                own[i] = c ? c - st->configs : -1;
        }
        for (size_t k = 0; k < nc; k++)
                disp[k] = displaced(st, &st->configs[k]);
        for (size_t k = 0; k < nc; k++) {
                ssize_t first;

                target[k] = -1;
                if (disp[k] && candidates(&w, k, true, &first) == 1)
                        target[k] = first;
        }
        settle(&w, why);
        for (size_t k = 0; k < nc; k++) {
                if (!disp[k])
                        continue;
                fill(&w, k, why[k], &m[n]);
                /* An entry whose serial was found elsewhere but cannot follow it stays. */
                if (m[n].kind == HP_DEV_MATCH_STALE && dev_index(st, m[n].from) >= 0 &&
                    same_ids(&st->configs[k], &st->inv->devs[dev_index(st, m[n].from)]))
                        continue;
                n++;
        }
        if (n > 0) {
                *ret = TAKE_PTR(m);
                *ret_n = n;
        }
        return 0;
}

int hp_dev_matches_rekey(const struct hp_dev_match *m, size_t n, struct hp_dev_config *configs, size_t n_configs)
{
        _cleanup_free_ ssize_t *k = calloc(n + 1, sizeof(ssize_t));

        if (!k)
                return -ENOMEM;
        /* Every entry found before any moves: in a swap, one's new address is another's old one. */
        for (size_t i = 0; i < n; i++) {
                k[i] = -1;
                for (size_t j = 0; m[i].kind == HP_DEV_MATCH_MOVED && j < n_configs; j++)
                        if (streq(configs[j].address, m[i].from))
                                k[i] = (ssize_t)j;
        }
        for (size_t i = 0; i < n; i++)
                if (k[i] >= 0)
                        memcpy(configs[k[i]].address, m[i].to, HP_SBDF_LEN);
        return 0;
}

const struct hp_dev_match *hp_dev_match_unmoved(const struct hp_dev_match *m, size_t n, const char *address)
{
        for (size_t i = 0; i < n; i++)
                if (m[i].kind != HP_DEV_MATCH_MOVED && streq(m[i].from, address))
                        return &m[i];
        return NULL;
}

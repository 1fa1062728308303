/* Small generated hosts (pools of free devices) and requests (dynamic PCI
 * entries), and a brute-force oracle that tries every free device for every
 * wanted one: what the property tests of the request matcher
 * (test-request-props.c) and of placement across hosts (test-place-props.c)
 * check the code against. A fixed-seed PRNG: every run is the same. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "alloc/request.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"

#define MAXP 6
#define MAXE 3
#define MAXDEV 64

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static inline unsigned rnd(unsigned n)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (unsigned)(rng % n);
}

static char *gold[] = { (char *)"tier=gold", NULL };
static const char *switches[] = { "", "0000:05:00.0", "0000:45:00.0" };
static const char *group_names[] = { NULL, "g", "h" };

/* A host's free devices. */
struct oracle_pools {
        struct hp_alloc_pool v[MAXP];
        size_t n;
};

/* A VM's dynamic entries (allowed points into ids: never copied). */
struct oracle_request {
        struct hp_vm_pci e[MAXE];
        struct hp_pci_id_match ids[MAXE][3];
        size_t ne;
};

static inline void oracle_gen_pools(struct oracle_pools *h, bool slots)
{
        memset(h, 0, sizeof(*h));
        h->n = 1 + rnd(MAXP);
        for (size_t p = 0; p < h->n; p++)
                h->v[p] = (struct hp_alloc_pool){
                        .vendor_id = 0x10de,
                        .device_id = (uint16_t)(1 + rnd(3)),
                        .attrs = rnd(4) == 0 ? gold : NULL,
                        .numa_node = rnd(8) == 0 ? -1 : (int)rnd(2),
                        .pcie_switch = switches[rnd(3)],
                        .whole_slot = slots && rnd(3) == 0,
                        .n_free = rnd(4),
                };
}

static inline void oracle_gen_request(struct oracle_request *q, bool slots)
{
        memset(q, 0, sizeof(*q));
        q->ne = 1 + rnd(MAXE);
        for (size_t e = 0; e < q->ne; e++) {
                struct hp_vm_pci *x = &q->e[e];
                unsigned first = rnd(3);

                *x = (struct hp_vm_pci){ .index = (int)e, .kind = HP_VM_PCI_DYNAMIC, .allowed = q->ids[e],
                                         .n_allowed = 1 + rnd(3), .count = 1 + rnd(2) };
                /* Distinct alternatives, in a random order. */
                for (size_t a = 0; a < x->n_allowed; a++)
                        q->ids[e][a] = (struct hp_pci_id_match){ 0x10de, (uint16_t)(1 + (first + a) % 3), 0, 0 };
                x->attrs = rnd(5) == 0 ? gold : NULL;
                x->same_numa = (char *)group_names[rnd(3)];
                x->same_switch = (char *)group_names[rnd(4) == 0 ? 1 : 0];
                x->all_functions = slots && rnd(6) == 0;
        }
}

/* The oracle: every wanted device tried on every free device. */
struct oracle {
        const struct oracle_request *q;
        const struct hp_alloc_pool *pools;
        size_t dev_pool[MAXDEV];
        size_t nd;
        bool used[MAXDEV];
        size_t alt[MAXE];
        int numa_of[3];          /* per group name: the node its devices share, or -2 */
        const char *switch_of[3];
};

static inline size_t group_index(const char *name)
{
        return !name ? 0 : streq(name, "g") ? 1 : 2;
}

static inline bool oracle_place(struct oracle *o, size_t e, unsigned c, size_t from)
{
        const struct hp_vm_pci *x;

        if (e == o->q->ne)
                return true;
        x = &o->q->e[e];
        if (c == hp_vm_pci_count(x))
                return oracle_place(o, e + 1, 0, 0);
        /* The devices of one entry in increasing order: no order twice. */
        for (size_t d = from; d < o->nd; d++) {
                const struct hp_alloc_pool *p = &o->pools[o->dev_pool[d]];
                size_t gn = group_index(x->same_numa), gs = group_index(x->same_switch);
                int old_numa = o->numa_of[gn];
                const char *old_sw = o->switch_of[gs];

                if (o->used[d] || !hp_alloc_pool_fits(x, o->alt[e], p))
                        continue;
                if (gn && (p->numa_node < 0 || (old_numa != -2 && old_numa != p->numa_node)))
                        continue;
                if (gs && (!p->pcie_switch[0] || (old_sw && !streq(old_sw, p->pcie_switch))))
                        continue;
                o->used[d] = true;
                if (gn)
                        o->numa_of[gn] = p->numa_node;
                if (gs)
                        o->switch_of[gs] = p->pcie_switch;
                if (oracle_place(o, e, c + 1, d + 1))
                        return true;
                o->used[d] = false;
                o->numa_of[gn] = old_numa;
                o->switch_of[gs] = old_sw;
        }
        return false;
}

/* The first vector of alternatives (entry 0 first) with which the request
 * can be met on these pools. */
static inline bool oracle_solve(const struct oracle_request *q, const struct hp_alloc_pool *pools, size_t np,
                                size_t *ret_alt)
{
        struct oracle o = { .q = q, .pools = pools };

        for (size_t p = 0; p < np; p++)
                for (size_t k = 0; k < pools[p].n_free; k++)
                        o.dev_pool[o.nd++] = p;
        for (;;) {
                memset(o.used, 0, sizeof(o.used));
                for (size_t g = 0; g < 3; g++) {
                        o.numa_of[g] = -2;
                        o.switch_of[g] = NULL;
                }
                if (oracle_place(&o, 0, 0, 0)) {
                        memcpy(ret_alt, o.alt, q->ne * sizeof(*ret_alt));
                        return true;
                }
                /* The next vector, the last entry turning fastest. */
                size_t e = q->ne;
                while (e > 0 && ++o.alt[e - 1] == q->e[e - 1].n_allowed)
                        o.alt[--e] = 0;
                if (e == 0)
                        return false;
        }
}

/* What the matcher returned (alt per entry, pool per device) keeps every
 * rule on these pools. */
static inline void oracle_check_valid(const struct oracle_request *q, const struct hp_alloc_pool *pools, size_t np,
                                      const size_t *alt, const size_t *pool)
{
        size_t taken[MAXP] = { 0 }, k = 0;
        int numa[3] = { -2, -2, -2 };
        const char *sw[3] = { NULL, NULL, NULL };

        for (size_t e = 0; e < q->ne; e++) {
                const struct hp_vm_pci *x = &q->e[e];
                size_t gn = group_index(x->same_numa), gs = group_index(x->same_switch);

                assert_true(alt[e] < x->n_allowed);
                for (unsigned c = 0; c < hp_vm_pci_count(x); c++, k++) {
                        const struct hp_alloc_pool *p = &pools[pool[k]];

                        assert_true(pool[k] < np);
                        assert_true(hp_alloc_pool_fits(x, alt[e], p));
                        taken[pool[k]]++;
                        if (gn) {
                                assert_true(p->numa_node >= 0);
                                assert_true(numa[gn] == -2 || numa[gn] == p->numa_node);
                                numa[gn] = p->numa_node;
                        }
                        if (gs) {
                                assert_true(p->pcie_switch[0]);
                                assert_true(!sw[gs] || streq(sw[gs], p->pcie_switch));
                                sw[gs] = p->pcie_switch;
                        }
                }
        }
        /* Never more devices of a pool than it has free: no device twice. */
        for (size_t p = 0; p < np; p++)
                assert_true(taken[p] <= pools[p].n_free);
}

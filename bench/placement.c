/* bench/placement's in-process half: a placement engine on generated
 * clusters, every decision timed alone. Each VM placed takes its devices
 * from the host chosen, so the cluster fills as the run goes, as it would in
 * a controller. The engine: the indexed one (alloc/index.h, the default), or
 * hp_place(), which judges every host and says why (`vm explain`'s).
 *
 *   bench-placement SHAPE [--hosts N] [--vms N] [--engine index|hp_place]
 *
 * Shapes (issue 16):
 *   a     N hosts (500) x 10 identical devices, one-device VMs until full
 *   b     N hosts (2,500) x 8 GPUs on two PCIe switches, half labelled
 *         'training' and half 'inference'; VMs ask for 1, 2, 4 or 8 GPUs of
 *         one label, every fourth of up to 4 on one switch (--vms, 20,000)
 *   c8    N hosts (100), one of them with 8 identical free GPUs: 8 of 8
 *   c64   N hosts (100), one of them with a NIC of 64 free VFs: 64 of 64
 * Prints one line of JSON: placements, placements per second, p50/p99/max
 * per decision, the hosts the index's matcher ran on, the engine's memory
 * (the cluster as it is handed over, the heap the index holds, what the
 * heap grew by while placing) and the index's set-up time. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc/index.h"
#include "alloc/place.h"
#include "util/macro.h"

struct cluster {
        struct hp_place_host *hosts;
        struct hp_alloc_pool *pools; /* every host's, host after host */
        size_t n_hosts, pools_per_host;
        char (*names)[32];
};

static uint64_t now_ns(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static size_t heap_bytes(void)
{
        struct mallinfo2 m = mallinfo2();

        return m.uordblks + m.hblkhd;
}

/* free[k]: the free devices of each of a host's pools; label and switch of
 * pool k given by the shape. */
static int cluster_make(struct cluster *c, size_t n_hosts, size_t per_host, const size_t *free,
                        const char *const *labels, const char *const *switches, uint16_t device_id)
{
        c->n_hosts = n_hosts;
        c->pools_per_host = per_host;
        c->hosts = calloc(n_hosts, sizeof(*c->hosts));
        c->pools = calloc(n_hosts * per_host, sizeof(*c->pools));
        c->names = calloc(n_hosts, sizeof(*c->names));
        if (!c->hosts || !c->pools || !c->names)
                return -ENOMEM;
        for (size_t h = 0; h < n_hosts; h++) {
                struct hp_alloc_pool *p = &c->pools[h * per_host];

                snprintf(c->names[h], sizeof(c->names[h]), "host-%05zu", h);
                for (size_t k = 0; k < per_host; k++)
                        p[k] = (struct hp_alloc_pool){
                                .vendor_id = 0x10de,
                                .device_id = device_id,
                                .subsystem_vendor_id = 0x10de,
                                .subsystem_device_id = 0x1000,
                                .label = labels ? labels[h % 2] : NULL,
                                .numa_node = (int)(k % 2),
                                .pcie_switch = switches ? switches[k] : NULL,
                                .n_free = free[k],
                        };
                c->hosts[h] = (struct hp_place_host){
                        .name = c->names[h],
                        .connected = true,
                        .ready = true,
                        .memory_mib = 1u << 20,
                        .pools = p,
                        .n_pools = per_host,
                };
        }
        return 0;
}

static void cluster_done(struct cluster *c)
{
        free(c->hosts);
        free(c->pools);
        free(c->names);
}

/* The devices the verdict chose taken from the host's pools. */
static void take(struct cluster *c, size_t h, const struct hp_place_verdict *v, size_t n_dev)
{
        struct hp_alloc_pool *p = &c->pools[h * c->pools_per_host];

        for (size_t d = 0; d < n_dev; d++)
                p[v->pool[d]].n_free--;
        c->hosts[h].memory_mib -= 64;
}

static int by_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

struct request {
        struct hp_pci_id_match id;
        struct hp_vm_pci entry;
};

static void request_make(struct request *r, uint16_t device_id, unsigned count, const char *label, bool same_switch)
{
        r->id = (struct hp_pci_id_match){ .vendor_id = 0x10de, .device_id = device_id };
        r->entry = (struct hp_vm_pci){
                .kind = HP_VM_PCI_DYNAMIC,
                .allowed = &r->id,
                .n_allowed = 1,
                .count = count,
                .label = (char *)label,
                .same_switch = same_switch ? (char *)"sw" : NULL,
        };
}

int main(int argc, char **argv)
{
        static const char *const labels[] = { "training", "inference" };
        static const char *const switches[] = { "0000:10:00.0", "0000:20:00.0" };
        const char *shape = argc > 1 ? argv[1] : "", *engine = "index";
        size_t n_hosts = 0, n_vms = 0, placed = 0, asked = 0, examined = 0, fell_back = 0, held = 0;
        struct hp_place_index *x = NULL;
        struct cluster c = { 0 };
        uint64_t *ns, total = 0, setup = 0;
        size_t before, data;
        int r;

        for (int i = 2; i + 1 < argc; i += 2)
                if (streq(argv[i], "--hosts"))
                        n_hosts = strtoul(argv[i + 1], NULL, 10);
                else if (streq(argv[i], "--vms"))
                        n_vms = strtoul(argv[i + 1], NULL, 10);
                else if (streq(argv[i], "--engine"))
                        engine = argv[i + 1];
        if (streq(shape, "a")) {
                size_t free[] = { 10 };

                n_hosts = n_hosts ?: 500;
                r = cluster_make(&c, n_hosts, 1, free, NULL, NULL, 0x20b5);
                n_vms = n_vms ?: n_hosts * 10;
        } else if (streq(shape, "b")) {
                /* A pool per switch (and NUMA node): 4 + 4 GPUs. */
                size_t free[] = { 4, 4 };

                n_hosts = n_hosts ?: 2500;
                r = cluster_make(&c, n_hosts, 2, free, labels, switches, 0x20b5);
                n_vms = n_vms ?: 20000;
        } else if (streq(shape, "c8") || streq(shape, "c64")) {
                size_t free[] = { 0 };

                n_hosts = n_hosts ?: 100;
                r = cluster_make(&c, n_hosts, 1, free, NULL, NULL, 0x20b5);
                if (r >= 0)
                        c.pools[n_hosts / 2].n_free = streq(shape, "c8") ? 8 : 64;
                n_vms = 1;
        } else {
                fprintf(stderr, "usage: bench-placement a|b|c8|c64 [--hosts N] [--vms N] [--engine index|hp_place]\n");
                return 2;
        }
        ns = calloc(n_vms + 1, sizeof(*ns));
        if (r < 0 || !ns) {
                fprintf(stderr, "bench-placement: out of memory\n");
                return 1;
        }
        data = c.n_hosts * (sizeof(*c.hosts) + c.pools_per_host * sizeof(*c.pools) + sizeof(*c.names));
        before = heap_bytes();
        if (streq(engine, "index")) {
                uint64_t t = now_ns();

                r = hp_place_index_new(&x);
                for (size_t h = 0; r >= 0 && h < c.n_hosts; h++)
                        r = hp_place_index_set(x, &c.hosts[h], NULL);
                setup = now_ns() - t;
                held = heap_bytes() - before;
                if (r < 0) {
                        fprintf(stderr, "bench-placement: %s\n", strerror(-r));
                        return 1;
                }
        } else if (!streq(engine, "hp_place")) {
                fprintf(stderr, "bench-placement: no engine '%s' (index or hp_place)\n", engine);
                return 2;
        }
        for (size_t i = 0; i < n_vms; i++) {
                static const unsigned sizes[] = { 1, 2, 4, 8 };
                struct hp_place_vm vm = { .name = "vm", .memory_mib = 64 };
                struct hp_place_result res = { 0 };
                struct request q;
                uint64_t t;

                if (streq(shape, "a"))
                        request_make(&q, 0x20b5, 1, NULL, false);
                else if (streq(shape, "b")) {
                        unsigned n = sizes[i % 4];

                        /* Of every 16, the 2- and 4-GPU VMs of the first 4 on one switch. */
                        request_make(&q, 0x20b5, n, labels[(i / 4) % 2], i % 16 < 4 && n > 1 && n <= 4);
                }
                else
                        request_make(&q, 0x20b5, streq(shape, "c8") ? 8 : 64, NULL, false);
                vm.pci = &q.entry;
                vm.n_pci = 1;
                if (x) {
                        struct hp_place_pick pick = { 0 };

                        t = now_ns();
                        r = hp_place_index_pick(x, &vm, HP_PLACE_PERFORMANCE, NULL, NULL, &pick);
                        if (r >= 0)
                                r = hp_place_index_take(x, &pick, vm.memory_mib);
                        ns[i] = now_ns() - t;
                        placed += r >= 0;
                        examined += pick.examined;
                        fell_back += pick.fallback;
                        hp_place_pick_done(&pick);
                        r = r == -ENODEV ? 0 : r;
                } else {
                        t = now_ns();
                        r = hp_place(&vm, c.hosts, c.n_hosts, HP_PLACE_PERFORMANCE, &res);
                        if (r >= 0 && res.n_order > 0)
                                take(&c, res.order[0], &res.verdicts[res.order[0]], hp_vm_pci_count(&q.entry));
                        ns[i] = now_ns() - t;
                        placed += r >= 0 && res.n_order > 0;
                        hp_place_result_done(&res);
                }
                total += ns[i];
                asked++;
                if (r < 0) {
                        fprintf(stderr, "bench-placement: %s\n", strerror(-r));
                        return 1;
                }
        }
        qsort(ns, asked, sizeof(*ns), by_u64);
        printf("{\"engine\": \"%s\", \"shape\": \"%s\", \"hosts\": %zu, \"vms\": %zu, \"placed\": %zu, "
               "\"per_s\": %.1f, \"p50_us\": %.2f, \"p99_us\": %.2f, \"max_us\": %.2f, \"examined_per_vm\": %.2f, "
               "\"fallbacks\": %zu, \"cluster_bytes\": %zu, \"index_bytes\": %zu, \"index_setup_ms\": %.1f, "
               "\"heap_growth_bytes\": %zd}\n",
               engine, shape, c.n_hosts, asked, placed, asked / (total / 1e9), ns[asked / 2] / 1e3,
               ns[asked * 99 / 100] / 1e3, ns[asked - 1] / 1e3, (double)examined / (double)asked, fell_back, data,
               held, setup / 1e6, (ssize_t)(heap_bytes() - before - held));
        hp_place_index_free(x);
        free(ns);
        cluster_done(&c);
        return 0;
}

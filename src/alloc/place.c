/* Placement across hosts: see place.h. Each host is judged alone (filters,
 * then the matcher on its pools), so the work is one pass over the hosts;
 * the hosts that fit are then sorted by the policy. */
#include "place.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util/macro.h"
#include "util/strutil.h"

#define NONE SIZE_MAX

/* Each reason's name in the JSON, and how the summary counts the hosts
 * it turned away. */
static const struct {
        const char *name, *counted;
} reasons[HP_PLACE_REASON_MAX] = {
        [HP_PLACE_FITS] = { "fits", "fitting" },
        [HP_PLACE_FAILED] = { "failed", "failed" },
        [HP_PLACE_NOT_CONNECTED] = { "not-connected", "not connected" },
        [HP_PLACE_MAINTENANCE] = { "maintenance", "in maintenance" },
        [HP_PLACE_NOT_READY] = { "not-ready", "not ready" },
        [HP_PLACE_START_FAILED] = { "start-failed", "where its start failed" },
        [HP_PLACE_PINNED] = { "pinned", "not the host its static entries pin it to" },
        [HP_PLACE_STATIC] = { "static-devices", "without its static devices free" },
        [HP_PLACE_MEMORY] = { "memory", "without the memory" },
        [HP_PLACE_PATHS] = { "paths", "not seeing its disks or kernel" },
        [HP_PLACE_DEVICES] = { "devices", "with too few free matching devices" },
        [HP_PLACE_REQUEST] = { "request", "unable to meet its request together" },
};

const char *hp_place_reason_name(enum hp_place_reason r)
{
        return r < HP_PLACE_REASON_MAX ? reasons[r].name : "unknown";
}

const char *hp_place_policy_name(enum hp_place_policy p)
{
        return p == HP_PLACE_CONSOLIDATION ? "consolidation" : "performance";
}

int hp_place_policy_from_string(const char *s, enum hp_place_policy *ret)
{
        if (streq(s, "performance"))
                *ret = HP_PLACE_PERFORMANCE;
        else if (streq(s, "consolidation"))
                *ret = HP_PLACE_CONSOLIDATION;
        else
                return -EINVAL;
        return 0;
}

void hp_place_result_done(struct hp_place_result *r)
{
        for (size_t i = 0; r->verdicts && i < r->n_verdicts; i++) {
                free(r->verdicts[i].message);
                free(r->verdicts[i].alt);
                free(r->verdicts[i].pool);
        }
        free(r->verdicts);
        free(r->order);
        free(r->why);
        *r = (struct hp_place_result){ 0 };
}

/* What every host is judged with. */
struct ctx {
        const struct hp_place_vm *vm;
        const struct hp_place_host *hosts;
        struct hp_place_verdict *verdicts;
        enum hp_place_policy policy;
        size_t n_dev;
        size_t *alt_off; /* per entry: its first row in free_alt */
        size_t n_rows;
        size_t *free_alt; /* per entry and alternative: free devices of this host that fit */
};

static void ctx_done(struct ctx *x)
{
        free(x->alt_off);
        free(x->free_alt);
}

static int ctx_init(struct ctx *x)
{
        const struct hp_place_vm *vm = x->vm;
        size_t rows = 0;

        for (size_t e = 0; e < vm->n_pci; e++) {
                if (vm->pci[e].kind != HP_VM_PCI_DYNAMIC || vm->pci[e].n_allowed == 0)
                        return -EINVAL;
                x->n_dev += hp_vm_pci_count(&vm->pci[e]);
                rows += vm->pci[e].n_allowed;
        }
        x->n_rows = rows;
        x->alt_off = calloc(vm->n_pci + 1, sizeof(*x->alt_off));
        x->free_alt = calloc(rows + 1, sizeof(*x->free_alt));
        if (!x->alt_off || !x->free_alt)
                return -ENOMEM;
        rows = 0;
        for (size_t e = 0; e < vm->n_pci; e++) {
                x->alt_off[e] = rows;
                rows += vm->pci[e].n_allowed;
        }
        return 0;
}

static enum hp_place_reason filter_state(const struct hp_place_host *h, struct hp_text *t)
{
        enum hp_place_reason r = h->failed       ? HP_PLACE_FAILED
                                 : !h->connected ? HP_PLACE_NOT_CONNECTED
                                 : h->maintenance ? HP_PLACE_MAINTENANCE
                                 : !h->ready      ? HP_PLACE_NOT_READY
                                                  : HP_PLACE_FITS;

        if (r == HP_PLACE_FITS)
                return r;
        hp_text_add(t, "%s", r == HP_PLACE_FAILED          ? "failed"
                             : r == HP_PLACE_NOT_CONNECTED ? "not connected"
                             : r == HP_PLACE_MAINTENANCE   ? "in maintenance"
                                                           : "not ready (it puts right what it runs first)");
        if (h->note)
                hp_text_add(t, " (%s)", h->note);
        return r;
}

static enum hp_place_reason filter_tried(const struct hp_place_host *h, struct hp_text *t)
{
        if (!h->start_failed)
                return HP_PLACE_FITS;
        hp_text_add(t, "the VM's start failed here: %s", h->start_failed);
        return HP_PLACE_START_FAILED;
}

static enum hp_place_reason filter_pin(const struct hp_place_vm *vm, const struct hp_place_host *h,
                                       struct hp_text *t)
{
        if (!vm->pinned_host)
                return HP_PLACE_FITS;
        if (!streq(vm->pinned_host, h->name)) {
                hp_text_add(t, "VM '%s' is pinned to %s by its static entries", vm->name, vm->pinned_host);
                return HP_PLACE_PINNED;
        }
        if (vm->static_free)
                return HP_PLACE_FITS;
        hp_text_add(t, "%s", vm->static_why ? vm->static_why : "its static devices are not free");
        return HP_PLACE_STATIC;
}

static uint64_t pages_for(uint64_t mib, uint64_t page_kib)
{
        return (mib * 1024 + page_kib - 1) / page_kib;
}

static enum hp_place_reason filter_memory(const struct hp_place_vm *vm, const struct hp_place_host *h,
                                          struct hp_text *t)
{
        if (!vm->hugepages) {
                if (h->memory_mib == HP_PLACE_MEMORY_UNKNOWN || h->memory_mib >= vm->memory_mib)
                        return HP_PLACE_FITS;
                hp_text_add(t, "%" PRIu64 " MiB free, needs %" PRIu64 " MiB", h->memory_mib, vm->memory_mib);
        } else if (h->hugepage_kib == 0) {
                hp_text_add(t, "no hugepages reserved, needs %" PRIu64 " MiB of them", vm->memory_mib);
        } else if (vm->hugepage_kib && vm->hugepage_kib != h->hugepage_kib) {
                hp_text_add(t, "hugepages of %" PRIu64 " kB, needs %" PRIu64 " kB ones", h->hugepage_kib,
                            vm->hugepage_kib);
        } else if (pages_for(vm->memory_mib, h->hugepage_kib) > h->hugepages_free) {
                hp_text_add(t, "%" PRIu64 " free hugepages of %" PRIu64 " kB, needs %" PRIu64 " (%" PRIu64 " MiB)",
                            h->hugepages_free, h->hugepage_kib, pages_for(vm->memory_mib, h->hugepage_kib),
                            vm->memory_mib);
        } else {
                return HP_PLACE_FITS;
        }
        return HP_PLACE_MEMORY;
}

static enum hp_place_reason filter_paths(const struct hp_place_vm *vm, const struct hp_place_host *h,
                                         struct hp_text *t)
{
        for (size_t i = 0; vm->paths && h->paths && vm->paths[i]; i++)
                if (!hp_strv_contains(h->paths, vm->paths[i])) {
                        if (hp_strv_contains(h->paths_unchecked, vm->paths[i]))
                                hp_text_add(t, "has not said yet whether it sees %s", vm->paths[i]);
                        else
                                hp_text_add(t, "does not see %s", vm->paths[i]);
                        return HP_PLACE_PATHS;
                }
        return HP_PLACE_FITS;
}

/* One pass over the pools: the free devices per entry and alternative
 * (x->free_alt) and the free matching devices (any entry, any alternative). */
static size_t count_free(struct ctx *x, const struct hp_place_host *h)
{
        const struct hp_place_vm *vm = x->vm;
        size_t total = 0;

        memset(x->free_alt, 0, x->n_rows * sizeof(*x->free_alt));
        for (size_t p = 0; p < h->n_pools; p++) {
                bool any = false;

                for (size_t e = 0; e < vm->n_pci; e++)
                        for (size_t a = 0; a < vm->pci[e].n_allowed; a++)
                                if (hp_alloc_pool_fits(&vm->pci[e], a, &h->pools[p])) {
                                        x->free_alt[x->alt_off[e] + a] += h->pools[p].n_free;
                                        any = true;
                                }
                total += any ? h->pools[p].n_free : 0;
        }
        return total;
}

/* An entry that has fewer free devices of its best alternative than its
 * count, on its own: the matcher cannot do better. */
static enum hp_place_reason filter_counts(const struct ctx *x, struct hp_text *t)
{
        for (size_t e = 0; e < x->vm->n_pci; e++) {
                const struct hp_vm_pci *en = &x->vm->pci[e];
                size_t best = 0;

                for (size_t a = 0; a < en->n_allowed; a++)
                        best = x->free_alt[x->alt_off[e] + a] > best ? x->free_alt[x->alt_off[e] + a] : best;
                if (best >= hp_vm_pci_count(en))
                        continue;
                hp_text_add(t, "%s%zu free ", en->n_allowed > 1 ? "at most " : "", best);
                if (en->n_allowed > 1)
                        hp_text_add(t, "of one of ");
                hp_alloc_text_wanted(t, en, NONE);
                hp_text_add(t, ", needs %u (pciPassthru%d)", hp_vm_pci_count(en), en->index);
                return HP_PLACE_DEVICES;
        }
        return HP_PLACE_FITS;
}

/* The matcher on the host's pools, its devices on one NUMA node when they
 * can be (hp_alloc_request_place_local). */
static int match(struct ctx *x, const struct hp_place_host *h, struct hp_place_verdict *v, struct hp_text *t)
{
        const struct hp_place_vm *vm = x->vm;
        _cleanup_free_ char *err = NULL;
        int r;

        v->alt = calloc(vm->n_pci + 1, sizeof(*v->alt));
        v->pool = calloc(x->n_dev + 1, sizeof(*v->pool));
        if (!v->alt || !v->pool)
                return -ENOMEM;
        r = hp_alloc_request_place_local(vm->pci, vm->n_pci, h->pools, h->n_pools, v->alt, v->pool,
                                         &v->score.numa_local, &err);
        if (r == -ENODEV || r == -E2BIG) {
                if (!err)
                        return -ENOMEM;
                hp_text_add(t, "%s", err);
                v->reason = HP_PLACE_REQUEST;
                return 0;
        }
        if (r < 0)
                return r;
        v->numa_node = x->n_dev ? h->pools[v->pool[0]].numa_node : -1;
        for (size_t d = 1; d < x->n_dev; d++)
                if (h->pools[v->pool[d]].numa_node != v->numa_node)
                        v->numa_node = -1;
        return 0;
}

static int judge(struct ctx *x, const struct hp_place_host *h, struct hp_place_verdict *v)
{
        const struct hp_place_vm *vm = x->vm;
        struct hp_text t = { 0 };
        int r = 0;

        v->numa_node = -1;
        hp_text_add(&t, "%s: ", h->name);
        v->reason = filter_state(h, &t);
        if (v->reason == HP_PLACE_FITS)
                v->reason = filter_tried(h, &t);
        if (v->reason == HP_PLACE_FITS)
                v->reason = filter_pin(vm, h, &t);
        if (v->reason == HP_PLACE_FITS)
                v->reason = filter_memory(vm, h, &t);
        if (v->reason == HP_PLACE_FITS)
                v->reason = filter_paths(vm, h, &t);
        if (v->reason == HP_PLACE_FITS) {
                v->score.free_devices = count_free(x, h);
                v->reason = filter_counts(x, &t);
        }
        if (v->reason == HP_PLACE_FITS && vm->n_pci > 0)
                r = match(x, h, v, &t);
        if (r >= 0 && v->reason == HP_PLACE_FITS)
                v->score.free_mib = vm->hugepages ? h->hugepages_free * h->hugepage_kib / 1024
                                    : h->memory_mib == HP_PLACE_MEMORY_UNKNOWN ? 0
                                                                               : h->memory_mib;
        if (r < 0 || v->reason != HP_PLACE_FITS) {
                free(v->alt);
                free(v->pool);
                v->alt = v->pool = NULL;
                v->score = (struct hp_place_score){ 0 };
        }
        if (r < 0) {
                free(t.s);
                return r;
        }
        v->message = t.s; /* completed by describe() when it fits */
        return t.oom ? -ENOMEM : 0;
}

enum decided_by { BY_NONE, BY_NUMA, BY_DEVICES, BY_MEMORY, BY_NAME };

/* < 0 when host a ranks before host b; *ret_by: what told them apart. */
static int rank(const struct ctx *x, size_t a, size_t b, enum decided_by *ret_by)
{
        const struct hp_place_score *sa = &x->verdicts[a].score, *sb = &x->verdicts[b].score;
        int sign = x->policy == HP_PLACE_CONSOLIDATION ? 1 : -1, c;

        *ret_by = BY_NUMA;
        if (sa->numa_local != sb->numa_local)
                return sa->numa_local ? -1 : 1;
        *ret_by = BY_DEVICES;
        if (sa->free_devices != sb->free_devices)
                return sign * (sa->free_devices < sb->free_devices ? -1 : 1);
        *ret_by = BY_MEMORY;
        if (sa->free_mib != sb->free_mib)
                return sign * (sa->free_mib < sb->free_mib ? -1 : 1);
        *ret_by = BY_NAME;
        c = strcmp(x->hosts[a].name, x->hosts[b].name);
        return c ? c : (a > b) - (a < b);
}

static int rank_cmp(const void *a, const void *b, void *userdata)
{
        enum decided_by by;

        return rank(userdata, *(const size_t *)a, *(const size_t *)b, &by);
}

/* "4 free 10de:20b5 with label 'training'" per entry (the alternative it
 * got; one entry asking what another does is said once), then the memory,
 * then the NUMA node; by (and other, the next best) say what decided. */
static void add_fit(struct hp_text *t, const struct ctx *x, size_t host, enum decided_by by, const char *other)
{
        const struct hp_place_vm *vm = x->vm;
        const struct hp_place_host *h = &x->hosts[host];
        const struct hp_place_verdict *v = &x->verdicts[host];
        bool policy_most = x->policy == HP_PLACE_PERFORMANCE;
        size_t start = t->len;

        for (size_t e = 0; e < vm->n_pci; e++) {
                struct hp_text piece = { 0 };
                size_t n = 0;

                for (size_t p = 0; p < h->n_pools; p++)
                        n += hp_alloc_pool_fits(&vm->pci[e], v->alt[e], &h->pools[p]) ? h->pools[p].n_free : 0;
                hp_text_add(&piece, "%zu free ", n);
                hp_alloc_text_wanted(&piece, &vm->pci[e], v->alt[e]);
                if (piece.s && t->s && !strstr(t->s + start, piece.s))
                        hp_text_add(t, "%s%s", t->len > start ? ", " : "", piece.s);
                t->oom = t->oom || piece.oom;
                free(piece.s);
        }
        if (by == BY_DEVICES)
                hp_text_add(t, " (%s free: %s policy)", policy_most ? "most" : "fewest",
                            hp_place_policy_name(x->policy));
        if (vm->hugepages)
                hp_text_add(t, "%s%" PRIu64 " free hugepages of %" PRIu64 " kB", t->len > start ? ", " : "",
                            h->hugepages_free, h->hugepage_kib);
        else if (h->memory_mib != HP_PLACE_MEMORY_UNKNOWN)
                hp_text_add(t, "%s%" PRIu64 " MiB free", t->len > start ? ", " : "", h->memory_mib);
        if (by == BY_MEMORY)
                hp_text_add(t, " (%s free memory: %s policy)", policy_most ? "most" : "least",
                            hp_place_policy_name(x->policy));
        if (x->n_dev > 0 && v->numa_node >= 0)
                hp_text_add(t, "%sdevices on NUMA node %d", t->len > start ? ", " : "", v->numa_node);
        else if (x->n_dev > 0)
                hp_text_add(t, "%sdevices not all on one known NUMA node", t->len > start ? ", " : "");
        if (by == BY_NUMA)
                hp_text_add(t, " (%s cannot keep them on one node)", other);
        if (by == BY_NAME)
                hp_text_add(t, " (as good as %s: first by name)", other);
}

/* A host that fits: "gpu-01: fits: " and what it offers. */
static int describe(const struct ctx *x, size_t host)
{
        struct hp_place_verdict *v = &x->verdicts[host];
        struct hp_text t = { .s = v->message, .len = strlen(v->message) };

        hp_text_add(&t, "fits: ");
        add_fit(&t, x, host, BY_NONE, NULL);
        v->message = t.s;
        return t.oom ? -ENOMEM : 0;
}

/* The winner and what made it win; or, when none fits, how many hosts
 * each filter turned away. */
static char *why(const struct ctx *x, size_t n_hosts, const size_t *order, size_t n_order)
{
        struct hp_text t = { 0 };
        size_t count[HP_PLACE_REASON_MAX] = { 0 };
        enum decided_by by = BY_NONE;
        bool first = true;

        if (n_order > 0) {
                hp_text_add(&t, "%s wins: ", x->hosts[order[0]].name);
                if (n_order == 1)
                        hp_text_add(&t, "the only host of %zu that fits; ", n_hosts);
                else
                        (void)rank(x, order[0], order[1], &by);
                add_fit(&t, x, order[0], by, n_order > 1 ? x->hosts[order[1]].name : NULL);
                return t.s;
        }
        hp_text_add(&t, "no host can take VM '%s'", x->vm->name);
        if (n_hosts == 0) {
                hp_text_add(&t, ": there are no hosts");
                return t.s;
        }
        for (size_t i = 0; i < n_hosts; i++)
                count[x->verdicts[i].reason]++;
        hp_text_add(&t, ": of %zu host%s,", n_hosts, n_hosts == 1 ? "" : "s");
        for (size_t r = HP_PLACE_FITS + 1; r < HP_PLACE_REASON_MAX; r++)
                if (count[r]) {
                        hp_text_add(&t, "%s %zu %s", first ? "" : ",", count[r], reasons[r].counted);
                        first = false;
                }
        return t.s;
}

int hp_place(const struct hp_place_vm *vm, const struct hp_place_host *hosts, size_t n_hosts,
             enum hp_place_policy policy, struct hp_place_result *ret)
{
        _cleanup_(hp_place_result_done) struct hp_place_result res = { 0 };
        _cleanup_(ctx_done) struct ctx x = { .vm = vm, .hosts = hosts, .policy = policy };
        int r;

        if (!vm || !vm->name || (vm->n_pci > 0 && !vm->pci) || (n_hosts > 0 && !hosts))
                return -EINVAL;
        for (size_t i = 0; i < n_hosts; i++)
                if (!hosts[i].name || (hosts[i].n_pools > 0 && !hosts[i].pools))
                        return -EINVAL;
        r = ctx_init(&x);
        if (r < 0)
                return r;
        res.verdicts = calloc(n_hosts + 1, sizeof(*res.verdicts));
        res.order = calloc(n_hosts + 1, sizeof(*res.order));
        if (!res.verdicts || !res.order)
                return -ENOMEM;
        res.n_verdicts = n_hosts;
        x.verdicts = res.verdicts;
        for (size_t i = 0; i < n_hosts; i++) {
                r = judge(&x, &hosts[i], &res.verdicts[i]);
                if (r < 0)
                        return r;
                if (res.verdicts[i].reason == HP_PLACE_FITS)
                        res.order[res.n_order++] = i;
        }
        for (size_t k = 0; k < res.n_order; k++)
                if ((r = describe(&x, res.order[k])) < 0)
                        return r;
        qsort_r(res.order, res.n_order, sizeof(*res.order), rank_cmp, &x);
        res.why = why(&x, n_hosts, res.order, res.n_order);
        if (!res.why)
                return -ENOMEM;
        *ret = res;
        res = (struct hp_place_result){ 0 };
        return 0;
}

/* Placement at scale: see index.h. */
#include "index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"

/* A set's key: free devices of the class (12 bits), free memory in MiB (36),
 * the name's rank (16; reversed for the performance policy, so that in both
 * policies the first name wins among equals). Unique: one rank a host. */
#define F_SHIFT 52
#define M_SHIFT 16
#define F_MAX ((UINT64_C(1) << 12) - 1)
#define M_MAX ((UINT64_C(1) << 36) - 1)
#define RANK_MAX 0xffffu
#define KEY_F(k) ((k) >> F_SHIFT)
#define KEY_M(k) (((k) >> M_SHIFT) & M_MAX)
/* "Most free devices of the class on one NUMA node" values kept apart. */
#define V_MAX 64
#define NIL 0u
#define BUCKET(v) ((v) < V_MAX ? (size_t)(v) : (size_t)V_MAX)

struct node {
        uint64_t key;
        uint32_t left, right, prio;
};

/* Two treaps (roots) of the same hosts, one per policy. */
struct sets {
        uint32_t root[2];
};

struct klass {
        struct hp_alloc_pool id; /* IDs, label, attrs, whole_slot; n_free unused */
};

/* The hosts ordered for the requests that fit one set of classes, made when
 * the first such request comes: a request's free devices are those of the
 * classes it fits, however many. */
struct view {
        bool *member; /* per class, as many as there were when it was made */
        size_t n_member;
        struct sets by_numa[V_MAX + 1];
};

/* A host's devices of one view. */
struct hview {
        uint32_t view;
        uint64_t free, numa_max;
        uint64_t key[2]; /* as inserted (when free > 0 and the host is up) */
};

struct host {
        char *name;
        bool live, up;
        uint64_t memory_mib, hugepages_free, hugepage_kib;
        bool connected, ready, maintenance, failed;
        struct hp_alloc_pool *pools;
        uint32_t *pool_class;
        size_t n_pools;
        struct hview *hv;
        size_t n_hv;
        uint32_t rank;
        uint64_t null_key[2]; /* in the set of every host up (a VM without devices) */
};

struct hp_place_index {
        struct host *hosts;
        size_t n_hosts, cap_hosts, n_live;
        struct klass *classes;
        size_t n_classes;
        struct view *views;
        size_t n_views;
        bool views_stale; /* a class new since they were made: made again */
        struct sets all;
        struct node *nodes;
        size_t n_nodes, cap_nodes;
        uint32_t free_nodes;
        uint32_t *by_rank;
        uint32_t *table; /* name -> host + 1, open addressing; names are never taken out */
        size_t table_cap;
        bool dirty;            /* a new name: ranks and sets to rebuild */
        size_t unknown_memory; /* hosts up whose memory is unknown */
        size_t too_big;        /* hosts up whose numbers do not fit a key */
        uint32_t seed;
};

enum { PERF, CONS };

static uint32_t next_prio(struct hp_place_index *x)
{
        /* xorshift32: the treaps' balance, not security */
        x->seed ^= x->seed << 13;
        x->seed ^= x->seed >> 17;
        x->seed ^= x->seed << 5;
        return x->seed;
}

static int node_new(struct hp_place_index *x, uint64_t key, uint32_t *ret)
{
        uint32_t n;

        if (x->free_nodes != NIL) {
                n = x->free_nodes;
                x->free_nodes = x->nodes[n].left;
        } else {
                if (x->n_nodes == x->cap_nodes) {
                        size_t cap = x->cap_nodes ? x->cap_nodes * 2 : 1024;
                        struct node *v = realloc(x->nodes, cap * sizeof(*v));

                        if (!v || cap > UINT32_MAX)
                                return -ENOMEM;
                        x->nodes = v;
                        x->cap_nodes = cap;
                        if (x->n_nodes == 0)
                                x->n_nodes = 1; /* node 0 is NIL */
                }
                n = (uint32_t)x->n_nodes++;
        }
        x->nodes[n] = (struct node){ .key = key, .prio = next_prio(x) };
        *ret = n;
        return 0;
}

/* l: the keys < key; r: the rest. */
static void split(struct node *t, uint32_t root, uint64_t key, uint32_t *l, uint32_t *r)
{
        if (root == NIL) {
                *l = *r = NIL;
        } else if (t[root].key < key) {
                split(t, t[root].right, key, &t[root].right, r);
                *l = root;
        } else {
                split(t, t[root].left, key, l, &t[root].left);
                *r = root;
        }
}

static uint32_t merge(struct node *t, uint32_t a, uint32_t b)
{
        if (a == NIL || b == NIL)
                return a == NIL ? b : a;
        if (t[a].prio > t[b].prio) {
                t[a].right = merge(t, t[a].right, b);
                return a;
        }
        t[b].left = merge(t, a, t[b].left);
        return b;
}

static int set_insert(struct hp_place_index *x, uint32_t *root, uint64_t key)
{
        uint32_t n, l, r;
        int rc = node_new(x, key, &n);

        if (rc < 0)
                return rc;
        split(x->nodes, *root, key, &l, &r);
        *root = merge(x->nodes, merge(x->nodes, l, n), r);
        return 0;
}

static void set_erase(struct hp_place_index *x, uint32_t *root, uint64_t key)
{
        uint32_t l, m, r;

        split(x->nodes, *root, key, &l, &r);
        split(x->nodes, r, key + 1, &m, &r);
        if (m != NIL) {
                x->nodes[m].left = x->free_nodes;
                x->free_nodes = m;
        }
        *root = merge(x->nodes, l, r);
}

/* The largest key < bound, or false. */
static bool set_below(const struct node *t, uint32_t n, uint64_t bound, uint64_t *ret)
{
        bool found = false;

        while (n != NIL)
                if (t[n].key < bound) {
                        *ret = t[n].key;
                        found = true;
                        n = t[n].right;
                } else {
                        n = t[n].left;
                }
        return found;
}

/* The smallest key >= bound, or false. */
static bool set_from(const struct node *t, uint32_t n, uint64_t bound, uint64_t *ret)
{
        bool found = false;

        while (n != NIL)
                if (t[n].key >= bound) {
                        *ret = t[n].key;
                        found = true;
                        n = t[n].left;
                } else {
                        n = t[n].right;
                }
        return found;
}

static uint64_t key_make(uint64_t f, uint64_t m, uint32_t rank, int order)
{
        return f << F_SHIFT | m << M_SHIFT | (order == PERF ? RANK_MAX - rank : rank);
}

static uint32_t key_rank(uint64_t k, int order)
{
        return order == PERF ? RANK_MAX - (uint32_t)(k & RANK_MAX) : (uint32_t)(k & RANK_MAX);
}

static bool attrs_equal(char *const *a, char *const *b)
{
        size_t na = 0, nb = 0;

        for (; a && a[na]; na++)
                if (!hp_strv_contains(b, a[na]))
                        return false;
        for (; b && b[nb]; nb++)
                ;
        return na == nb;
}

static bool same_class(const struct hp_alloc_pool *a, const struct hp_alloc_pool *b)
{
        return a->vendor_id == b->vendor_id && a->device_id == b->device_id &&
               a->subsystem_vendor_id == b->subsystem_vendor_id && a->subsystem_device_id == b->subsystem_device_id &&
               a->whole_slot == b->whole_slot && streq(a->label ?: "", b->label ?: "") && attrs_equal(a->attrs, b->attrs);
}

static void pool_done(struct hp_alloc_pool *p)
{
        free((char *)p->label);
        free((char *)p->pcie_switch);
        hp_strv_free((char **)p->attrs);
}

static int pool_copy(const struct hp_alloc_pool *src, struct hp_alloc_pool *dst)
{
        char **attrs = NULL;
        int r = 0;

        for (size_t i = 0; r >= 0 && src->attrs && src->attrs[i]; i++)
                r = hp_strv_push(&attrs, src->attrs[i]);
        *dst = *src;
        dst->label = src->label ? strdup(src->label) : NULL;
        dst->pcie_switch = src->pcie_switch ? strdup(src->pcie_switch) : NULL;
        dst->attrs = attrs;
        if (r < 0 || (src->label && !dst->label) || (src->pcie_switch && !dst->pcie_switch)) {
                pool_done(dst);
                return -ENOMEM;
        }
        return 0;
}

static int class_of(struct hp_place_index *x, const struct hp_alloc_pool *p, uint32_t *ret)
{
        struct klass *v;
        int r;

        for (size_t k = 0; k < x->n_classes; k++)
                if (same_class(&x->classes[k].id, p)) {
                        *ret = (uint32_t)k;
                        return 0;
                }
        v = realloc(x->classes, (x->n_classes + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        x->classes = v;
        v += x->n_classes;
        *v = (struct klass){ 0 };
        r = pool_copy(p, &v->id);
        if (r < 0)
                return r;
        v->id.numa_node = -1;
        free((char *)v->id.pcie_switch);
        v->id.pcie_switch = NULL;
        *ret = (uint32_t)x->n_classes++;
        /* The views do not say whether they take it. */
        x->views_stale = x->dirty = true;
        return 0;
}

static uint64_t hash(const char *s)
{
        uint64_t h = 1469598103934665603u;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211u;
        return h;
}

/* The slot of name in the table: its entry, or the empty one it would take. */
static uint32_t *table_slot(struct hp_place_index *x, const char *name)
{
        size_t i = hash(name) & (x->table_cap - 1);

        while (x->table[i] && !streq(x->hosts[x->table[i] - 1].name, name))
                i = (i + 1) & (x->table_cap - 1);
        return &x->table[i];
}

static int table_grow(struct hp_place_index *x)
{
        size_t cap = x->table_cap ? x->table_cap * 2 : 64;
        uint32_t *old = x->table;
        size_t old_cap = x->table_cap;

        x->table = calloc(cap, sizeof(*x->table));
        if (!x->table) {
                x->table = old;
                return -ENOMEM;
        }
        x->table_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
                if (old[i])
                        *table_slot(x, x->hosts[old[i] - 1].name) = old[i];
        free(old);
        return 0;
}

int hp_place_index_new(struct hp_place_index **ret)
{
        struct hp_place_index *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        x->seed = 2463534242u;
        *ret = x;
        return 0;
}

static void host_pools_done(struct host *h)
{
        for (size_t p = 0; p < h->n_pools; p++)
                pool_done(&h->pools[p]);
        free(h->pools);
        free(h->pool_class);
        free(h->hv);
        h->pools = NULL;
        h->pool_class = NULL;
        h->hv = NULL;
        h->n_pools = h->n_hv = 0;
}

static void views_drop(struct hp_place_index *x)
{
        for (size_t v = 0; v < x->n_views; v++)
                free(x->views[v].member);
        free(x->views);
        x->views = NULL;
        x->n_views = 0;
        for (size_t i = 0; i < x->n_hosts; i++) {
                free(x->hosts[i].hv);
                x->hosts[i].hv = NULL;
                x->hosts[i].n_hv = 0;
        }
}

void hp_place_index_free(struct hp_place_index *x)
{
        if (!x)
                return;
        for (size_t i = 0; i < x->n_hosts; i++) {
                host_pools_done(&x->hosts[i]);
                free(x->hosts[i].name);
        }
        for (size_t k = 0; k < x->n_classes; k++)
                pool_done(&x->classes[k].id);
        views_drop(x);
        free(x->hosts);
        free(x->classes);
        free(x->nodes);
        free(x->by_rank);
        free(x->table);
        free(x);
}

static bool in_view(const struct view *v, uint32_t klass)
{
        return klass < v->n_member && v->member[klass];
}

/* The host out of every set it is in. */
static void host_unlist(struct hp_place_index *x, struct host *h)
{
        if (!h->up || x->dirty)
                return;
        for (int o = PERF; o <= CONS; o++)
                set_erase(x, &x->all.root[o], h->null_key[o]);
        for (size_t c = 0; c < h->n_hv; c++)
                if (h->hv[c].free > 0) {
                        struct sets *s = &x->views[h->hv[c].view].by_numa[BUCKET(h->hv[c].numa_max)];

                        for (int o = PERF; o <= CONS; o++)
                                set_erase(x, &s->root[o], h->hv[c].key[o]);
                }
}

static int hv_list(struct hp_place_index *x, const struct host *h, struct hview *hv)
{
        struct sets *s = &x->views[hv->view].by_numa[BUCKET(hv->numa_max)];
        int r = 0;

        if (hv->free == 0)
                return 0;
        for (int o = PERF; o <= CONS && r >= 0; o++) {
                hv->key[o] = key_make(hv->free & F_MAX, h->memory_mib & M_MAX, h->rank, o);
                r = set_insert(x, &s->root[o], hv->key[o]);
        }
        return r;
}

/* The host into the sets, by its counts as they are now. */
static int host_list(struct hp_place_index *x, struct host *h)
{
        int r = 0;

        if (!h->up || x->dirty)
                return 0;
        for (int o = PERF; o <= CONS && r >= 0; o++) {
                h->null_key[o] = key_make(0, h->memory_mib & M_MAX, h->rank, o);
                r = set_insert(x, &x->all.root[o], h->null_key[o]);
        }
        for (size_t c = 0; r >= 0 && c < h->n_hv; c++)
                r = hv_list(x, h, &h->hv[c]);
        return r;
}

/* The view's free devices on the host, and the most of them on one NUMA node. */
static void hv_count(const struct hp_place_index *x, const struct host *h, struct hview *hv)
{
        const struct view *v = &x->views[hv->view];

        hv->free = hv->numa_max = 0;
        for (size_t p = 0; p < h->n_pools; p++) {
                uint64_t on_node = 0;

                if (!in_view(v, h->pool_class[p]))
                        continue;
                hv->free += h->pools[p].n_free;
                for (size_t q = 0; h->pools[p].numa_node >= 0 && q < h->n_pools; q++)
                        if (h->pools[q].numa_node == h->pools[p].numa_node && in_view(v, h->pool_class[q]))
                                on_node += h->pools[q].n_free;
                hv->numa_max = on_node > hv->numa_max ? on_node : hv->numa_max;
        }
}

/* The views' counts from the pools; the counts of hosts the keys cannot
 * order (every view's free devices are at most all of the host's). */
static void host_count(struct hp_place_index *x, struct host *h, int sign)
{
        uint64_t all = 0;

        for (size_t c = 0; c < h->n_hv; c++)
                hv_count(x, h, &h->hv[c]);
        for (size_t p = 0; p < h->n_pools; p++)
                all += h->pools[p].n_free;
        if (h->up) {
                x->unknown_memory += (size_t)(sign * (h->memory_mib == HP_PLACE_MEMORY_UNKNOWN));
                x->too_big += (size_t)(sign * (all >= F_MAX || (h->memory_mib != HP_PLACE_MEMORY_UNKNOWN &&
                                                                 h->memory_mib > M_MAX)));
        }
}

/* The views with a class of the host's: its entries. */
static int host_views(struct hp_place_index *x, struct host *h)
{
        free(h->hv);
        h->n_hv = 0;
        h->hv = calloc(x->n_views + 1, sizeof(*h->hv));
        if (!h->hv)
                return -ENOMEM;
        for (size_t v = 0; v < x->n_views; v++)
                for (size_t p = 0; p < h->n_pools; p++)
                        if (in_view(&x->views[v], h->pool_class[p])) {
                                h->hv[h->n_hv++].view = (uint32_t)v;
                                break;
                        }
        return 0;
}

static int host_fill(struct hp_place_index *x, struct host *h, const struct hp_place_host *src)
{
        int r;

        h->connected = src->connected;
        h->ready = src->ready;
        h->maintenance = src->maintenance;
        h->failed = src->failed;
        h->up = src->connected && src->ready && !src->maintenance && !src->failed;
        h->memory_mib = src->memory_mib;
        h->hugepages_free = src->hugepages_free;
        h->hugepage_kib = src->hugepage_kib;
        h->pools = calloc(src->n_pools + 1, sizeof(*h->pools));
        h->pool_class = calloc(src->n_pools + 1, sizeof(*h->pool_class));
        if (!h->pools || !h->pool_class)
                return -ENOMEM;
        for (size_t p = 0; p < src->n_pools; p++) {
                r = pool_copy(&src->pools[p], &h->pools[p]);
                if (r < 0)
                        return r;
                h->n_pools++;
                r = class_of(x, &src->pools[p], &h->pool_class[p]);
                if (r < 0)
                        return r;
        }
        r = host_views(x, h);
        if (r < 0)
                return r;
        host_count(x, h, +1);
        return 0;
}

int hp_place_index_set(struct hp_place_index *x, const struct hp_place_host *src, size_t *ret_host)
{
        uint32_t *slot;
        struct host *h;
        int r;

        if (!src->name || (src->n_pools > 0 && !src->pools))
                return -EINVAL;
        if ((x->n_hosts + 1) * 2 > x->table_cap && (r = table_grow(x)) < 0)
                return r;
        slot = table_slot(x, src->name);
        if (*slot == 0) {
                struct host *v = x->hosts;

                if (x->n_hosts == x->cap_hosts) {
                        size_t cap = x->cap_hosts ? x->cap_hosts * 2 : 64;

                        v = realloc(x->hosts, cap * sizeof(*v));
                        if (!v)
                                return -ENOMEM;
                        x->hosts = v;
                        x->cap_hosts = cap;
                }
                v[x->n_hosts] = (struct host){ .name = strdup(src->name) };
                if (!v[x->n_hosts].name)
                        return -ENOMEM;
                *slot = (uint32_t)++x->n_hosts;
                x->dirty = true; /* its name takes a rank */
        }
        h = &x->hosts[*slot - 1];
        if (h->live) {
                host_unlist(x, h);
                host_count(x, h, -1);
        } else {
                x->n_live++;
                x->dirty = true;
        }
        host_pools_done(h);
        h->live = true;
        r = host_fill(x, h, src);
        if (r < 0) {
                /* Not half there: a host with no pools, down, until set again. */
                host_pools_done(h);
                h->up = false;
                x->dirty = true;
                return r;
        }
        r = host_list(x, h);
        if (r < 0)
                return r;
        if (ret_host)
                *ret_host = *slot - 1;
        return 0;
}

int hp_place_index_remove(struct hp_place_index *x, const char *name)
{
        uint32_t *slot;
        struct host *h;

        if (x->table_cap == 0 || *(slot = table_slot(x, name)) == 0 || !x->hosts[*slot - 1].live)
                return -ENOENT;
        h = &x->hosts[*slot - 1];
        host_unlist(x, h);
        host_count(x, h, -1);
        host_pools_done(h);
        h->live = h->up = false;
        x->n_live--;
        return 0;
}

static int by_name(const void *a, const void *b, void *userdata)
{
        const struct host *hosts = userdata;

        return strcmp(hosts[*(const uint32_t *)a].name, hosts[*(const uint32_t *)b].name);
}

/* Ranks by name, and every set again. */
static int rebuild(struct hp_place_index *x)
{
        uint32_t *v = realloc(x->by_rank, (x->n_hosts + 1) * sizeof(*v));
        size_t n = 0;
        int r = 0;

        if (!v)
                return -ENOMEM;
        x->by_rank = v;
        for (size_t i = 0; i < x->n_hosts; i++)
                if (x->hosts[i].live)
                        v[n++] = (uint32_t)i;
        qsort_r(v, n, sizeof(*v), by_name, x->hosts);
        for (size_t k = 0; k < n; k++)
                x->hosts[v[k]].rank = k < RANK_MAX ? (uint32_t)k : RANK_MAX;
        x->n_nodes = x->n_nodes ? 1 : 0;
        x->free_nodes = NIL;
        x->all = (struct sets){ 0 };
        if (x->views_stale)
                views_drop(x);
        x->views_stale = false;
        for (size_t k = 0; k < x->n_views; k++)
                memset(x->views[k].by_numa, 0, sizeof(x->views[k].by_numa));
        x->dirty = false;
        for (size_t k = 0; r >= 0 && k < n; k++)
                r = host_list(x, &x->hosts[v[k]]);
        if (r < 0)
                x->dirty = true;
        return r;
}

void hp_place_pick_done(struct hp_place_pick *p)
{
        free(p->alt);
        free(p->pool);
        *p = (struct hp_place_pick){ 0 };
}

/* One set walked in a policy's order, over the hosts with at least f free
 * devices and m MiB free memory. */
struct cursor {
        uint32_t root;
        bool done;
        uint64_t key;
};

static void cursor_settle(const struct node *t, struct cursor *c, int order, uint64_t f, uint64_t m)
{
        while (!c->done) {
                uint64_t kf = KEY_F(c->key);

                if (kf < f && order == PERF) {
                        c->done = true;
                } else if (KEY_M(c->key) >= m) {
                        return;
                } else if (order == PERF) {
                        /* The rest of this count has less memory still: the next count down. */
                        c->done = !set_below(t, c->root, kf << F_SHIFT, &c->key);
                } else {
                        c->done = !set_from(t, c->root, kf << F_SHIFT | m << M_SHIFT, &c->key);
                }
        }
}

static void cursor_start(const struct node *t, struct cursor *c, uint32_t root, int order, uint64_t f, uint64_t m)
{
        *c = (struct cursor){ .root = root };
        if (order == PERF)
                c->done = !set_below(t, root, UINT64_MAX, &c->key);
        else
                c->done = !set_from(t, root, f << F_SHIFT | m << M_SHIFT, &c->key);
        cursor_settle(t, c, order, f, m);
}

static void cursor_next(const struct node *t, struct cursor *c, int order, uint64_t f, uint64_t m)
{
        if (order == PERF)
                c->done = !set_below(t, c->root, c->key, &c->key);
        else
                c->done = !set_from(t, c->root, c->key + 1, &c->key);
        cursor_settle(t, c, order, f, m);
}

/* The hosts of the sets walked together, best first, until the matcher
 * takes one (local only: it must keep the devices on one NUMA node). */
static int walk(struct hp_place_index *x, const struct hp_place_vm *vm, int order, struct sets *const *sets, size_t n_sets,
                uint64_t f, bool local_only, hp_place_index_filter filter, void *userdata, struct hp_place_pick *p)
{
        struct cursor cur[V_MAX + 1];

        for (size_t i = 0; i < n_sets; i++)
                cursor_start(x->nodes, &cur[i], sets[i]->root[order], order, f, vm->memory_mib);
        for (;;) {
                size_t best = SIZE_MAX;
                struct host *h;
                bool local = false;
                int r;

                for (size_t i = 0; i < n_sets; i++)
                        if (!cur[i].done && (best == SIZE_MAX || (order == PERF ? cur[i].key > cur[best].key
                                                                                 : cur[i].key < cur[best].key)))
                                best = i;
                if (best == SIZE_MAX)
                        return -ENODEV;
                h = &x->hosts[x->by_rank[key_rank(cur[best].key, order)]];
                cursor_next(x->nodes, &cur[best], order, f, vm->memory_mib);
                if (filter && filter(userdata, h->name) != HP_PLACE_FITS)
                        continue;
                if (vm->n_pci == 0)
                        r = 0;
                else {
                        _cleanup_free_ char *err = NULL;

                        p->examined++;
                        r = hp_alloc_request_place_local(vm->pci, vm->n_pci, h->pools, h->n_pools, p->alt, p->pool,
                                                         &local, &err);
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || (local_only && !local))
                        continue;
                p->host = (size_t)(h - x->hosts);
                p->name = h->name;
                p->numa_local = local;
                return 0;
        }
}

/* hp_place() over every host: what the sets cannot order. */
static int fallback(struct hp_place_index *x, const struct hp_place_vm *vm, enum hp_place_policy policy,
                    hp_place_index_filter filter, void *userdata, struct hp_place_pick *p)
{
        _cleanup_free_ struct hp_place_host *hosts = calloc(x->n_live + 1, sizeof(*hosts));
        _cleanup_free_ size_t *slot = calloc(x->n_live + 1, sizeof(*slot));
        _cleanup_(hp_place_result_done) struct hp_place_result res = { 0 };
        size_t n = 0;
        int r;

        if (!hosts || !slot)
                return -ENOMEM;
        for (size_t i = 0; i < x->n_hosts; i++) {
                const struct host *h = &x->hosts[i];
                enum hp_place_reason why = HP_PLACE_FITS;

                if (!h->live)
                        continue;
                if (filter)
                        why = filter(userdata, h->name);
                slot[n] = i;
                hosts[n++] = (struct hp_place_host){
                        .name = h->name,
                        .connected = h->connected,
                        .ready = h->ready,
                        .maintenance = h->maintenance,
                        .failed = h->failed,
                        .start_failed = why == HP_PLACE_FITS ? NULL : "not for this VM",
                        .memory_mib = h->memory_mib,
                        .hugepages_free = h->hugepages_free,
                        .hugepage_kib = h->hugepage_kib,
                        .pools = h->pools,
                        .n_pools = h->n_pools,
                };
        }
        r = hp_place(vm, hosts, n, policy, &res);
        if (r < 0)
                return r;
        if (res.n_order == 0)
                return -ENODEV;
        p->fallback = true;
        p->host = slot[res.order[0]];
        p->name = x->hosts[p->host].name;
        p->numa_local = res.verdicts[res.order[0]].score.numa_local;
        if (vm->n_pci > 0) {
                memcpy(p->alt, res.verdicts[res.order[0]].alt, vm->n_pci * sizeof(*p->alt));
                memcpy(p->pool, res.verdicts[res.order[0]].pool, p->n_dev * sizeof(*p->pool));
        }
        return 0;
}

/* The view of the classes some entry fits with some alternative: found,
 * or made (every host's counts of it into its sets). 0, or -ENODEV when no
 * class fits. */
static int view_of(struct hp_place_index *x, const struct hp_place_vm *vm, size_t *ret)
{
        _cleanup_free_ bool *member = calloc(x->n_classes + 1, sizeof(*member));
        struct view *views;
        bool any = false;
        int r = 0;

        if (!member)
                return -ENOMEM;
        for (size_t k = 0; k < x->n_classes; k++) {
                for (size_t e = 0; e < vm->n_pci && !member[k]; e++)
                        for (size_t a = 0; a < vm->pci[e].n_allowed && !member[k]; a++)
                                member[k] = hp_alloc_pool_fits(&vm->pci[e], a, &x->classes[k].id);
                any = any || member[k];
        }
        if (!any)
                return -ENODEV;
        for (size_t v = 0; v < x->n_views; v++)
                if (x->views[v].n_member == x->n_classes &&
                    memcmp(x->views[v].member, member, x->n_classes * sizeof(*member)) == 0) {
                        *ret = v;
                        return 0;
                }
        views = realloc(x->views, (x->n_views + 1) * sizeof(*views));
        if (!views)
                return -ENOMEM;
        x->views = views;
        views[x->n_views] = (struct view){ .member = TAKE_PTR(member), .n_member = x->n_classes };
        *ret = x->n_views++;
        for (size_t i = 0; r >= 0 && i < x->n_hosts; i++) {
                struct host *h = &x->hosts[i];
                struct hview *hv;
                bool member_pool = false;

                if (!h->live)
                        continue;

                for (size_t p = 0; p < h->n_pools && !member_pool; p++)
                        member_pool = in_view(&x->views[*ret], h->pool_class[p]);
                if (!member_pool)
                        continue; /* none of its classes here: no entry */
                hv = realloc(h->hv, (h->n_hv + 1) * sizeof(*hv));
                if (!hv)
                        return -ENOMEM;
                h->hv = hv;
                hv += h->n_hv++;
                *hv = (struct hview){ .view = (uint32_t)*ret };
                hv_count(x, h, hv);
                if (h->up)
                        r = hv_list(x, h, hv);
        }
        if (r < 0)
                x->dirty = true; /* the sets made again at the next pick */
        return r;
}

int hp_place_index_pick(struct hp_place_index *x, const struct hp_place_vm *vm, enum hp_place_policy policy,
                        hp_place_index_filter filter, void *userdata, struct hp_place_pick *ret)
{
        _cleanup_(hp_place_pick_done) struct hp_place_pick p = { 0 };
        int order = policy == HP_PLACE_CONSOLIDATION ? CONS : PERF, r;
        struct sets *sets[V_MAX + 1];
        size_t view = 0;

        if (!vm || !vm->name || (vm->n_pci > 0 && !vm->pci))
                return -EINVAL;
        for (size_t e = 0; e < vm->n_pci; e++) {
                if (vm->pci[e].kind != HP_VM_PCI_DYNAMIC || vm->pci[e].n_allowed == 0)
                        return -EINVAL;
                p.n_dev += hp_vm_pci_count(&vm->pci[e]);
        }
        p.alt = calloc(vm->n_pci + 1, sizeof(*p.alt));
        p.pool = calloc(p.n_dev + 1, sizeof(*p.pool));
        if (!p.alt || !p.pool)
                return -ENOMEM;
        if (x->dirty && (r = rebuild(x)) < 0)
                return r;
        if (vm->pinned_host || vm->hugepages || vm->memory_mib > M_MAX || x->unknown_memory || x->too_big ||
            x->n_live > RANK_MAX + 1)
                r = fallback(x, vm, policy, filter, userdata, &p);
        else if (vm->n_pci > 0 && (r = view_of(x, vm, &view)) < 0)
                ; /* -ENODEV: no class fits, so no host */
        else if (vm->n_pci == 0) {
                sets[0] = &x->all;
                r = walk(x, vm, order, sets, 1, 0, false, filter, userdata, &p);
        } else {
                /* First the hosts that could keep every device on one NUMA
                 * node (unless the VM groups them itself: then none is "local"). */
                size_t n = 0, need = BUCKET(p.n_dev);
                bool grouped = false;

                for (size_t e = 0; e < vm->n_pci; e++)
                        grouped = grouped || vm->pci[e].same_numa;
                for (size_t v = need; !grouped && v <= V_MAX; v++)
                        sets[n++] = &x->views[view].by_numa[v];
                r = n ? walk(x, vm, order, sets, n, p.n_dev, true, filter, userdata, &p) : -ENODEV;
                if (r == -ENODEV) {
                        for (size_t v = 0; v <= V_MAX; v++)
                                sets[v] = &x->views[view].by_numa[v];
                        r = walk(x, vm, order, sets, V_MAX + 1, p.n_dev, false, filter, userdata, &p);
                }
        }
        if (r < 0)
                return r;
        *ret = p;
        p = (struct hp_place_pick){ 0 };
        return 0;
}

int hp_place_index_take(struct hp_place_index *x, const struct hp_place_pick *pick, uint64_t memory_mib)
{
        struct host *h;

        if (pick->host >= x->n_hosts || !x->hosts[pick->host].live)
                return -ENOENT;
        h = &x->hosts[pick->host];
        for (size_t d = 0; d < pick->n_dev; d++)
                if (pick->pool[d] >= h->n_pools || h->pools[pick->pool[d]].n_free == 0)
                        return -EINVAL;
        host_unlist(x, h);
        host_count(x, h, -1);
        for (size_t d = 0; d < pick->n_dev; d++)
                h->pools[pick->pool[d]].n_free--;
        if (h->memory_mib != HP_PLACE_MEMORY_UNKNOWN)
                h->memory_mib = h->memory_mib > memory_mib ? h->memory_mib - memory_mib : 0;
        host_count(x, h, +1);
        return host_list(x, h);
}

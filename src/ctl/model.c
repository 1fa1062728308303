/* The controller's picture of the cluster for power-ons (issue 16): every
 * host's state, free memory and device pools, loaded from the store and
 * kept in the placement index (alloc/index.h), so that a power-on reads
 * the few hosts that can win instead of loading and judging every host.
 *
 * The picture is a hint, the store stays the judge: a claim still assigns
 * in one transaction that fails on a device another VM took, and checks
 * the host it picked is up, ready and not in maintenance. It is loaded
 * again when it is older than MODEL_TTL_MS (another controller's claims,
 * a lease that ran out), at once when this controller changed something
 * placement reads (hp_ctl_model_stale(): a device's settings, a VM's run
 * ended, a heartbeat with an inventory, a host in or out of maintenance),
 * and host by host when a claim there lost. A claim picked from it is in
 * flight until it commits: a picture loaded meanwhile, from a store that
 * does not have it yet, takes its devices all the same, or two power-ons
 * would reach for one device. A power-on it cannot place is
 * judged over every host by the caller, so a refusal always comes from the
 * store's state, with every host's reason. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/index.h"
#include "ctl-internal.h"
#include "ops/ops.h"
#include "ops/vm.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/macro.h"
#include "util/strutil.h"

#define MODEL_TTL_MS 1000

struct mhost {
        char *name;
        struct hp_ctl_host_devs devs;
        struct hp_alloc_pools pools;
        struct hp_place_host place; /* pools are pools.v (their n_free kept with the index's) */
        size_t number;              /* in the index */
};

struct model {
        char *db;
        struct hp_place_index *x;
        struct mhost *hosts; /* sorted by name */
        size_t n;
        int64_t built_ms;
        uint64_t generation; /* the stale marks it saw */
};

/* A claim picked from the picture: its devices and memory. */
struct inflight {
        uint64_t id;
        char *db, *host;
        char **addrs;
        uint64_t memory_mib;
        int64_t done_ms; /* when it committed; 0 while it runs */
        struct inflight *next;
};

/* The loads of the picture running now, by when each began: a committed
 * claim stays listed while one that began before it committed (and may not
 * have seen it) runs; a load that begins later reads it in the store.
 * unlisted: loads running that could not be listed (no memory): none is
 * forgotten while one runs. */
static int64_t *loads;
static size_t n_loads, unlisted;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;       /* current, generation, inflight */
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER; /* one load at a time */
static struct model *current;
static uint64_t generation = 1;
static struct inflight *inflight;
static uint64_t inflight_last;

static void mhost_done(struct mhost *h)
{
        free(h->name);
        hp_ctl_host_devs_done(&h->devs);
        hp_alloc_pools_done(&h->pools);
        *h = (struct mhost){ 0 };
}

static void model_free(struct model *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n; i++)
                mhost_done(&m->hosts[i]);
        free(m->hosts);
        hp_place_index_free(m->x);
        free(m->db);
        free(m);
}

void hp_ctl_model_stale(void)
{
        pthread_mutex_lock(&lock);
        generation++;
        pthread_mutex_unlock(&lock);
}

void hp_ctl_pools_shuffle(struct hp_alloc_pools *pools)
{
        for (size_t q = 0; q < pools->n; q++)
                for (size_t k = pools->v[q].n_free; k > 1; k--) {
                        size_t j = (size_t)random() % k, t = pools->addrs[q][k - 1];

                        pools->addrs[q][k - 1] = pools->addrs[q][j];
                        pools->addrs[q][j] = t;
                }
}

/* Host info's devices and report (devs, taken), as a power-on that names
 * no device of its own finds them. */
static int mhost_make(const struct hp_host_info *info, struct hp_ctl_host_devs *devs,
                      struct mhost *ret)
{
        _cleanup_(mhost_done) struct mhost h = { .devs = *devs };
        json_t *hp;
        int r;

        *devs = (struct hp_ctl_host_devs){ 0 };
        h.name = strdup(info->name);
        if (!h.name)
                return -ENOMEM;
        r = hp_alloc_pools_make("", h.devs.cands, h.devs.n, NULL, &h.pools);
        if (r < 0)
                return r;
        hp_ctl_pools_shuffle(&h.pools);
        hp = json_object_get(json_object_get(h.devs.report, "memory"), "hugepages");
        h.place = (struct hp_place_host){
                .name = h.name,
                .connected = info->lease_live,
                .ready = info->ready,
                .maintenance = info->maintenance,
                .memory_mib = hp_ctl_report_memory(h.devs.report),
                .hugepages_free = (uint64_t)json_integer_value(json_object_get(hp, "free")),
                .hugepage_kib = (uint64_t)json_integer_value(json_object_get(hp, "size_kib")),
                .pools = h.pools.v,
                .n_pools = h.pools.n,
        };
        *ret = h;
        h = (struct mhost){ 0 };
        return 0;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(((const struct mhost *)a)->name, ((const struct mhost *)b)->name);
}

static struct mhost *find(struct model *m, const char *name)
{
        struct mhost key = { .name = (char *)name };

        return m->n ? bsearch(&key, m->hosts, m->n, sizeof(*m->hosts), name_cmp) : NULL;
}

/* h's free memory, as the index keeps it, less mib taken. */
static void memory_taken(struct mhost *h, uint64_t mib)
{
        if (h->place.memory_mib != HP_PLACE_MEMORY_UNKNOWN)
                h->place.memory_mib = h->place.memory_mib > mib ? h->place.memory_mib - mib : 0;
}

/* Takes the device at addr from h, when the picture has it free. */
static void take_addr(struct model *m, struct mhost *h, const char *addr)
{
        for (size_t q = 0; q < h->pools.n; q++) {
                size_t *a = h->pools.addrs[q], first = h->pools.next[q];

                for (size_t j = first; j < first + h->pools.v[q].n_free; j++) {
                        size_t t = a[j];

                        if (!streq(h->devs.cands[t].dev->address, addr))
                                continue;
                        a[j] = a[first];
                        a[first] = t;
                        h->pools.next[q]++;
                        h->pools.v[q].n_free--;
                        (void)hp_place_index_take(m->x,
                                                  &(struct hp_place_pick){ .host = h->number,
                                                                           .pool = &q,
                                                                           .n_dev = 1 },
                                                  0);
                        return;
                }
        }
}

/* The claims in flight, or committed since `since` (when a load that may
 * not have seen them began), taken from m: all hosts', or only's. Under lock. */
static void take_inflight(struct model *m, int64_t since, const char *only)
{
        for (struct inflight *e = inflight; e; e = e->next) {
                struct mhost *h;

                if ((e->done_ms && e->done_ms < since) || !streq(e->db, m->db) ||
                    (only && !streq(e->host, only)))
                        continue;
                h = find(m, e->host);
                if (!h)
                        continue;
                for (size_t k = 0; e->addrs && e->addrs[k]; k++)
                        take_addr(m, h, e->addrs[k]);
                (void)hp_place_index_take(m->x, &(struct hp_place_pick){ .host = h->number },
                                          e->memory_mib);
                memory_taken(h, e->memory_mib);
        }
}

static void inflight_free(struct inflight *e)
{
        free(e->db);
        free(e->host);
        hp_strv_free(e->addrs);
        free(e);
}

/* Forgets the committed claims every running load has seen. Under lock. */
static void inflight_prune(void)
{
        int64_t oldest = INT64_MAX;

        if (unlisted)
                return;
        for (size_t i = 0; i < n_loads; i++)
                if (loads[i] < oldest)
                        oldest = loads[i];
        for (struct inflight **e = &inflight; *e;) {
                struct inflight *it = *e;

                if (it->done_ms && it->done_ms < oldest) {
                        *e = it->next;
                        inflight_free(it);
                        continue;
                }
                e = &it->next;
        }
}

/* A load begins: when, listed. Under lock. */
static int64_t load_begins(void)
{
        int64_t now = hp_mono_ms(), *grown = reallocarray(loads, n_loads + 1, sizeof(*loads));

        if (!grown) {
                unlisted++;
                return now;
        }
        loads = grown;
        loads[n_loads++] = now;
        return now;
}

/* The load that began at begun ended. Under lock. */
static void load_ends(int64_t begun)
{
        size_t i = 0;

        while (i < n_loads && loads[i] != begun)
                i++;
        if (i < n_loads)
                loads[i] = loads[--n_loads];
        else if (unlisted > 0)
                unlisted--;
        inflight_prune();
}

size_t hp_ctl_model_inflight_count(void)
{
        size_t n = 0;

        pthread_mutex_lock(&lock);
        for (struct inflight *e = inflight; e; e = e->next)
                n++;
        pthread_mutex_unlock(&lock);
        return n;
}

/* A claim picked from the picture, in flight from now. Under lock. */
static int claim_begins(const char *db, const char *host, char *const *addrs, uint64_t memory_mib,
                        uint64_t *ret_id)
{
        struct inflight *e = calloc(1, sizeof(*e));

        if (!e || !(e->db = strdup(db)) || !(e->host = strdup(host)) ||
            hp_strv_copy(addrs, &e->addrs) < 0) {
                if (e)
                        inflight_free(e);
                return -ENOMEM;
        }
        e->id = *ret_id = ++inflight_last;
        e->memory_mib = memory_mib;
        e->next = inflight;
        inflight = e;
        return 0;
}

void hp_ctl_model_claimed(struct hp_ctl_model_pick *p, bool committed)
{
        int64_t now = hp_mono_ms();

        pthread_mutex_lock(&lock);
        for (struct inflight **e = &inflight; *e; e = &(*e)->next) {
                struct inflight *it = *e;

                if (it->id != p->claim)
                        continue;
                if (committed) {
                        it->done_ms = now;
                } else {
                        *e = it->next;
                        inflight_free(it);
                }
                break;
        }
        inflight_prune();
        pthread_mutex_unlock(&lock);
        p->claim = 0;
}

/* Every host that joined, from the store: three reads whatever their number. */
static int model_load(struct hp_store *s, const char *db, uint64_t gen, struct model **ret)
{
        struct hp_host_info *infos = NULL;
        struct hp_store_inventory *inv = NULL;
        size_t n_infos = 0, n_inv = 0;
        struct model *m = calloc(1, sizeof(*m));
        int r = m ? 0 : -ENOMEM;

        if (r >= 0 && !(m->db = strdup(db)))
                r = -ENOMEM;
        if (r >= 0)
                r = hp_place_index_new(&m->x);
        if (r >= 0)
                r = hp_store_host_list(s, &infos, &n_infos);
        if (r >= 0)
                r = hp_ctl_inventories_load(s, &inv, &n_inv);
        if (r >= 0 && !(m->hosts = calloc(n_infos + 1, sizeof(*m->hosts))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n_infos; i++) {
                struct hp_ctl_host_devs devs = { 0 };

                if (!infos[i].has_credential)
                        continue;
                r = hp_ctl_host_devs_from(inv, n_inv, infos[i].name, &devs);
                if (r >= 0)
                        r = mhost_make(&infos[i], &devs, &m->hosts[m->n]);
                hp_ctl_host_devs_done(&devs);
                if (r >= 0)
                        r = hp_place_index_set(m->x, &m->hosts[m->n].place, &m->hosts[m->n].number);
                if (r >= 0)
                        m->n++;
        }
        hp_host_infos_free(infos, n_infos);
        hp_store_inventories_free(inv, n_inv);
        if (r < 0) {
                model_free(m);
                return r;
        }
        /* For find(): the list comes in the database's collation, which need not be strcmp()'s. */
        qsort(m->hosts, m->n, sizeof(*m->hosts), name_cmp);
        m->built_ms = hp_mono_ms();
        m->generation = gen;
        *ret = m;
        return 0;
}

/* Whether the picture must be loaded before a pick (outdated) or should be
 * (old); the generation it would be loaded at. */
static uint64_t judge_current(const char *db, bool *ret_outdated, bool *ret_old)
{
        uint64_t gen;

        pthread_mutex_lock(&lock);
        gen = generation;
        *ret_outdated = !current || current->generation != gen || !streq(current->db, db);
        *ret_old = current && hp_mono_ms() - current->built_ms > MODEL_TTL_MS;
        pthread_mutex_unlock(&lock);
        return gen;
}

/* A picture of db no older than MODEL_TTL_MS and loaded since the last
 * stale mark. Only an outdated one waits for a load another thread does; an
 * old one is used meanwhile. */
static int model_fresh(struct hp_store *s, const char *db)
{
        struct model *m = NULL, *old = NULL;
        bool outdated, old_enough;
        uint64_t gen;
        int64_t begun;
        int r;

        (void)judge_current(db, &outdated, &old_enough);
        if (!outdated && !old_enough)
                return 0;
        if (outdated)
                pthread_mutex_lock(&build_lock);
        else if (pthread_mutex_trylock(&build_lock) != 0)
                return 0;
        /* Another thread may have loaded it while this one waited. */
        gen = judge_current(db, &outdated, &old_enough);
        pthread_mutex_lock(&lock);
        begun = load_begins();
        pthread_mutex_unlock(&lock);
        r = outdated || old_enough ? model_load(s, db, gen, &m) : 0;
        pthread_mutex_lock(&lock);
        if (m) {
                take_inflight(m, begun, NULL);
                old = current;
                current = m;
        }
        load_ends(begun);
        pthread_mutex_unlock(&lock);
        model_free(old);
        pthread_mutex_unlock(&build_lock);
        return r;
}

void hp_ctl_model_beat(const char *host, bool ready)
{
        struct mhost *h;

        pthread_mutex_lock(&lock);
        h = current ? find(current, host) : NULL;
        /* A host placement did not take (new, silent, not ready) that can now. */
        if (current && (!h || !h->place.connected || h->place.ready != ready))
                generation++;
        pthread_mutex_unlock(&lock);
}

void hp_ctl_model_reload(struct hp_store *s, const char *host)
{
        struct hp_host_info info = { 0 };
        struct mhost fresh = { 0 }, *h;
        int64_t begun;
        bool any;
        int r;

        pthread_mutex_lock(&lock);
        any = current != NULL;
        if (any)
                begun = load_begins();
        pthread_mutex_unlock(&lock);
        if (!any)
                return;
        r = hp_store_host_get(s, host, &info);

        if (r >= 0 && info.has_credential) {
                struct hp_ctl_host_devs devs = { 0 };

                r = hp_ctl_host_devs_load(s, host, &devs);
                if (r >= 0)
                        r = mhost_make(&info, &devs, &fresh);
                hp_ctl_host_devs_done(&devs);
        } else if (r >= 0)
                r = -ENOENT;
        free(info.name);
        (void)hp_store_set_host(s, HP_STORE_LOCAL_HOST);
        pthread_mutex_lock(&lock);
        h = current ? find(current, host) : NULL;
        if (h && r >= 0) {
                r = hp_place_index_set(current->x, &fresh.place, &fresh.number);
                if (r >= 0) {
                        mhost_done(h);
                        *h = fresh;
                        fresh = (struct mhost){ 0 };
                        take_inflight(current, begun, host);
                }
        }
        if (h && r < 0)
                generation++; /* whatever it is, the next power-on loads it all */
        load_ends(begun);
        pthread_mutex_unlock(&lock);
        mhost_done(&fresh);
}

struct filter {
        struct model *m;
        char *const *paths;
        const char *exclude;
        bool unchecked; /* a host was passed over for files it has not said it sees */
};

/* Does the host see every file of the VM (it says so in its report)? */
static enum hp_place_reason sees(void *userdata, const char *host)
{
        struct filter *f = userdata;
        struct mhost *h = find(f->m, host);
        json_t *said;

        if (!h || (f->exclude && streq(host, f->exclude)))
                return HP_PLACE_START_FAILED; /* not one of the hosts asked about */
        said = json_object_get(h->devs.report, "paths");
        for (size_t k = 0; f->paths && f->paths[k]; k++) {
                json_t *v = json_object_get(said, f->paths[k]);

                if (!json_is_true(v)) {
                        if (!v)
                                f->unchecked = true;
                        return HP_PLACE_PATHS;
                }
        }
        return HP_PLACE_FITS;
}

void hp_ctl_model_pick_done(struct hp_ctl_model_pick *p)
{
        if (p->claim)
                hp_ctl_model_claimed(p, false);
        free(p->host);
        free(p->why);
        hp_strv_free(p->addrs);
        json_decref(p->devices);
        *p = (struct hp_ctl_model_pick){ 0 };
}

/* The winner's devices taken from the picture, in the order placement
 * chose them (entry after entry): the caller claims them. */
static int take(struct model *m, struct mhost *h, const struct hp_place_vm *vm, const struct hp_place_verdict *v,
                struct hp_ctl_model_pick *ret)
{
        size_t at = 0;
        int r;

        ret->devices = json_array();
        if (!ret->devices || !(ret->host = strdup(h->name)))
                return -ENOMEM;
        for (size_t e = 0; e < vm->n_pci; e++)
                for (unsigned d = 0; d < hp_vm_pci_count(&vm->pci[e]); d++, at++) {
                        size_t k = hp_alloc_pools_take(&h->pools, v->pool[at]);
                        const char *addr = h->devs.cands[k].dev->address;

                        h->pools.v[v->pool[at]].n_free--;
                        if (hp_strv_push(&ret->addrs, addr) < 0 ||
                            json_array_append_new(ret->devices, hp_ops_place_device_json(vm->pci[e].index, addr)) < 0)
                                return -ENOMEM;
                }
        r = hp_place_index_take(m->x, &(struct hp_place_pick){ .host = h->number, .pool = v->pool, .n_dev = at },
                                vm->memory_mib);
        if (r >= 0)
                memory_taken(h, vm->memory_mib);
        return r < 0 ? r : claim_begins(m->db, h->name, ret->addrs, vm->memory_mib, &ret->claim);
}

/* The winner, and the host placement ranks next (what the winner's "why"
 * is worded against), judged again by hp_place() for its words and pools. */
static int pick_locked(struct model *m, const struct hp_place_vm *vm, enum hp_place_policy policy,
                       struct hp_ctl_model_pick *ret)
{
        _cleanup_(hp_place_pick_done) struct hp_place_pick first = { 0 }, second = { 0 };
        _cleanup_(hp_place_result_done) struct hp_place_result res = { 0 };
        struct filter f = { .m = m, .paths = vm->paths };
        struct hp_place_host two[2];
        struct mhost *h, *next;
        int r = hp_place_index_pick(m->x, vm, policy, sees, &f, &first);

        if (r < 0 || f.unchecked)
                return r == -ENODEV || f.unchecked ? 0 : r;
        h = find(m, first.name);
        if (!h)
                return 0;
        f.exclude = h->name;
        r = hp_place_index_pick(m->x, vm, policy, sees, &f, &second);
        if (r == -ENODEV || f.unchecked)
                return 0; /* the only host that fits: "the only one of N" is worded over every host */
        if (r < 0)
                return r;
        next = find(m, second.name);
        if (!next)
                return 0;
        two[0] = h->place;
        two[1] = next->place;
        for (size_t i = 0; i < 2; i++)
                two[i].paths = NULL; /* both see the VM's files, the filter said */
        r = hp_place(vm, two, 2, policy, &res);
        if (r < 0)
                return r;
        if (res.n_order == 0 || res.order[0] != 0)
                return 0;
        r = take(m, h, vm, &res.verdicts[0], ret);
        if (r < 0)
                generation++; /* half taken: loaded again before the next pick */
        if (r >= 0 && !(ret->why = strdup(res.why)))
                r = -ENOMEM;
        return r < 0 ? r : 1;
}

int hp_ctl_model_pick(struct hp_store *s, const char *db, const struct hp_place_vm *vm, enum hp_place_policy policy,
                      struct hp_ctl_model_pick *ret)
{
        _cleanup_(hp_ctl_model_pick_done) struct hp_ctl_model_pick p = { 0 };
        int r;

        if (vm->pinned_host || vm->hugepages)
                return 0;
        r = model_fresh(s, db);
        if (r < 0)
                return r;
        pthread_mutex_lock(&lock);
        r = current ? pick_locked(current, vm, policy, &p) : 0;
        pthread_mutex_unlock(&lock);
        if (r <= 0)
                return r;
        *ret = p;
        p = (struct hp_ctl_model_pick){ 0 };
        return 1;
}

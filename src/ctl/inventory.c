/* A host's devices as placement takes them, from what the controller
 * holds: the cluster's rows (settings, assignments, health) and the
 * documents the host reported (what each device is, where it sits: NUMA
 * node, PCIe switch, whether it is bound to vfio-pci now). Only devices
 * with both become candidates: a device the host no longer reports is not
 * placed on. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-internal.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

void hp_ctl_host_devs_done(struct hp_ctl_host_devs *h)
{
        hp_dev_configs_free(h->rows, h->n_rows);
        free(h->devs);
        free(h->cands);
        json_decref(h->report);
        *h = (struct hp_ctl_host_devs){ 0 };
}

/* Each host's last report as parsed, by the text's hash: a host sends its
 * report again only when something in it changed, and the picture, every
 * full judgement and every heartbeat's answer read it, so each text is
 * parsed once, and read from the store once (hp_ctl_inventories_load()
 * names the ones it has). Shared, never changed (jansson counts references
 * atomically); one entry per host, sorted by name, never removed. */
struct parsed {
        char *host;
        uint64_t hash;
        size_t len;
        int64_t at_ms; /* when it came; 0: not known */
        json_t *doc;
};

static pthread_mutex_t parsed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct parsed *parsed;
static size_t n_parsed, n_parsed_max;

static uint64_t text_hash(const char *text, size_t len)
{
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)text[i]) * 0x100000001b3ULL;
        return h;
}

/* Where host's entry is, or would go. Under parsed_lock. */
static size_t parsed_find(const char *host, bool *ret_found)
{
        size_t lo = 0, hi = n_parsed;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(parsed[mid].host, host);

                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

/* doc (a reference taken) as host's report of that text. Under parsed_lock. */
static void parsed_keep(const char *host, uint64_t hash, size_t len, int64_t at_ms, json_t *doc)
{
        bool found;
        size_t i = parsed_find(host, &found);

        if (!found) {
                char *name = strdup(host);

                if (!name)
                        return;
                if (n_parsed == n_parsed_max) {
                        size_t max = n_parsed_max ? 2 * n_parsed_max : 64;
                        struct parsed *grown = realloc(parsed, max * sizeof(*parsed));

                        if (!grown) {
                                free(name);
                                return;
                        }
                        parsed = grown;
                        n_parsed_max = max;
                }
                memmove(&parsed[i + 1], &parsed[i], (n_parsed - i) * sizeof(*parsed));
                n_parsed++;
                parsed[i] = (struct parsed){ .host = name };
        }
        json_decref(parsed[i].doc);
        parsed[i].hash = hash;
        parsed[i].len = len;
        parsed[i].at_ms = at_ms;
        parsed[i].doc = json_incref(doc);
}

json_t *hp_ctl_report_parse(const char *host, const char *text, int64_t at_ms)
{
        size_t len;
        uint64_t hash;
        json_t *doc = NULL;
        bool found;
        size_t i;

        if (!text)
                return NULL;
        len = strlen(text);
        hash = text_hash(text, len);
        pthread_mutex_lock(&parsed_lock);
        i = parsed_find(host, &found);
        if (found && parsed[i].hash == hash && parsed[i].len == len) {
                doc = json_incref(parsed[i].doc);
                if (at_ms > 0)
                        parsed[i].at_ms = at_ms;
        }
        pthread_mutex_unlock(&parsed_lock);
        if (doc)
                return doc;
        /* A damaged report reports nothing (and is not kept). */
        doc = json_loads(text, 0, NULL);
        if (doc) {
                pthread_mutex_lock(&parsed_lock);
                parsed_keep(host, hash, len, at_ms, doc);
                pthread_mutex_unlock(&parsed_lock);
        }
        return doc;
}

json_t *hp_ctl_report(struct hp_store *s, const char *host)
{
        _cleanup_free_ char *text = NULL;
        int64_t at = 0;

        if (hp_store_host_report_get(s, host, &text, &at) < 0)
                return NULL;
        return hp_ctl_report_parse(host, text, at);
}

uint64_t hp_ctl_report_memory(json_t *report)
{
        json_t *v = json_object_get(json_object_get(report, "memory"), "available_mib");

        return json_is_integer(v) ? (uint64_t)json_integer_value(v) : HP_PLACE_MEMORY_UNKNOWN;
}

/* The reported document of address, or NULL. */
static json_t *doc_of(json_t *report, const char *address)
{
        json_t *d;
        size_t i;

        json_array_foreach(json_object_get(report, "devices"), i, d) {
                const char *a = json_string_value(json_object_get(d, "address"));

                if (a && streq(a, address))
                        return d;
        }
        return NULL;
}

static void dev_from(const struct hp_dev_config *row, json_t *doc, struct hp_pci_dev *d)
{
        json_t *numa = json_object_get(doc, "numa_node");
        const char *sw = json_string_value(json_object_get(doc, "pcie_switch"));

        *d = (struct hp_pci_dev){ .iommu_group = -1 };
        (void)hp_pci_addr_parse(row->address, &d->addr);
        snprintf(d->address, sizeof(d->address), "%s", row->address);
        d->vendor_id = row->vendor_id;
        d->device_id = row->device_id;
        d->subsystem_vendor_id = row->subsystem_vendor_id;
        d->subsystem_device_id = row->subsystem_device_id;
        d->numa_node = json_is_integer(numa) ? (int)json_integer_value(numa) : -1;
        snprintf(d->pcie_switch, sizeof(d->pcie_switch), "%s", sw ? sw : "");
}

int hp_ctl_host_devs_load(struct hp_store *s, const char *host, struct hp_ctl_host_devs *ret)
{
        struct hp_store_inventory inv = { 0 };
        int r = hp_store_set_host(s, host);

        if (r >= 0)
                r = hp_store_device_list(s, &inv.rows, &inv.n_rows);
        if (r < 0)
                return r;
        return hp_ctl_host_devs_make(&inv, hp_ctl_report(s, host), ret);
}

static int inventory_cmp(const void *a, const void *b)
{
        return strcmp(((const struct hp_store_inventory *)a)->host,
                      ((const struct hp_store_inventory *)b)->host);
}

/* The reports kept here, as the store names them. */
static int parsed_keys(struct hp_store_report_key **ret, size_t *ret_n)
{
        struct hp_store_report_key *k;
        size_t n = 0;

        pthread_mutex_lock(&parsed_lock);
        k = calloc(n_parsed + 1, sizeof(*k));
        for (size_t i = 0; k && i < n_parsed; i++)
                if (parsed[i].at_ms > 0)
                        k[n++] = (struct hp_store_report_key){ .host = parsed[i].host,
                                                               .at_ms = parsed[i].at_ms,
                                                               .len = (int64_t)parsed[i].len };
        pthread_mutex_unlock(&parsed_lock);
        if (!k)
                return -ENOMEM;
        *ret = k;
        *ret_n = n;
        return 0;
}

/* The report the store said host's kept one is: the last parsed here (or
 * one newer, that another thread read meanwhile). */
static json_t *parsed_kept(const char *host)
{
        json_t *doc = NULL;
        bool found;
        size_t i;

        pthread_mutex_lock(&parsed_lock);
        i = parsed_find(host, &found);
        if (found)
                doc = json_incref(parsed[i].doc);
        pthread_mutex_unlock(&parsed_lock);
        return doc;
}

int hp_ctl_inventories_load(struct hp_store *s, struct hp_store_inventory **ret, size_t *ret_n)
{
        _cleanup_free_ struct hp_store_report_key *known = NULL;
        size_t n_known = 0;
        int r = parsed_keys(&known, &n_known);

        if (r >= 0)
                r = hp_store_inventories(s, known, n_known, ret, ret_n);

        if (r >= 0 && *ret_n > 0)
                qsort(*ret, *ret_n, sizeof(**ret), inventory_cmp);
        return r;
}

int hp_ctl_host_devs_from(struct hp_store_inventory *inv, size_t n, const char *host,
                          struct hp_ctl_host_devs *ret)
{
        struct hp_store_inventory key = { .host = (char *)host }, none = { 0 }, *found;

        found = n ? bsearch(&key, inv, n, sizeof(*inv), inventory_cmp) : NULL;
        if (!found)
                found = &none;
        return hp_ctl_host_devs_make(
                found,
                found->report_kept
                        ? parsed_kept(host)
                        : hp_ctl_report_parse(host, found->report_json, found->key.at_ms),
                ret);
}

int hp_ctl_host_devs_make(struct hp_store_inventory *inv, json_t *report,
                          struct hp_ctl_host_devs *ret)
{
        _cleanup_(hp_ctl_host_devs_done) struct hp_ctl_host_devs h = { 0 };

        h.rows = TAKE_PTR(inv->rows);
        h.n_rows = inv->n_rows;
        inv->n_rows = 0;
        h.report = report;
        h.devs = calloc(h.n_rows + 1, sizeof(*h.devs));
        h.cands = calloc(h.n_rows + 1, sizeof(*h.cands));
        if (!h.devs || !h.cands)
                return -ENOMEM;
        for (size_t i = 0; i < h.n_rows; i++) {
                const struct hp_dev_config *row = &h.rows[i];
                json_t *doc = doc_of(h.report, row->address);

                if (!doc)
                        continue;
                dev_from(row, doc, &h.devs[h.n]);
                h.cands[h.n] = (struct hp_alloc_candidate){
                        .dev = &h.devs[h.n],
                        .label = row->label,
                        .attrs = row->attrs,
                        .passthrough_active =
                                row->desired &&
                                json_is_true(json_object_get(json_object_get(doc, "passthrough"), "active")),
                        .passthrough_desired = row->desired,
                        .assigned_vm = row->assigned_vm,
                        .quarantined = !streq(row->health, "ok"),
                };
                h.n++;
        }
        *ret = h;
        h = (struct hp_ctl_host_devs){ 0 };
        return 0;
}

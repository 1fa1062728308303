/* A host's heartbeat (docs/cluster.md "Heartbeat"): in one transaction its
 * lease is renewed, what it reports is stored, and the answer says what it
 * should hold. Who decides what, for a device of a host:
 *   - the cluster (these rows): desired passthrough, label, attributes, the
 *     VM it is assigned to; set through a controller, sent to the host;
 *   - the host: what the device is (IDs, serial, slot), its health, why its
 *     desired state could not be applied, the driver it came with.
 * A device the cluster has no row for yet takes the host's settings: a
 * standalone host that joins keeps its labels, attributes and desired state. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-internal.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

struct beat {
        const char *host;
        json_t *body;
        int64_t lease_ms;
        json_t *devices, *vms; /* the answer's, built inside */
        json_t *stops;         /* {"VM": {}}: placed here and asked to stop (the answer's) */
        char **paths;          /* every cluster VM's files, sorted */
        json_t *retry;         /* {"VM": epoch}: started here and failed, to place again once committed */
        json_t *adopted;       /* {"VM": epoch}: the host's own VMs the cluster took, for the answer */
        json_t *unstarted;     /* {"VM": epoch}: stopped before the host started them (see answer_vms) */
        struct hp_cluster_vm
                *here; /* the VMs placed on the host, read before anything is written */
        size_t n_here;
        bool here_current;     /* nothing written since: the answer is made from them */
        bool ends_run;         /* a run it says is over: its claim given back, an event written */
        bool changed;          /* wrote what placement reads: devices, a report, a claim given back or taken */
};

/* How many hosts one power-on tries when starts fail on them. */
#define START_HOSTS_MAX 3

static bool str_eq(const char *a, const char *b)
{
        return a == b || (a && b && streq(a, b));
}

/* The host's facts about a device into the cluster's row; whether any changed. */
static int merge_facts(struct hp_dev_config *row, const struct hp_dev_config *from, bool *ret_changed)
{
        const struct {
                char **dst;
                const char *src;
        } strs[] = {
                { &row->serial, from->serial },
                { &row->slot, from->slot },
                { &row->host_driver, from->host_driver },
                { &row->reason, from->reason },
                { &row->health, from->health },
        };

        if (row->vendor_id != from->vendor_id || row->device_id != from->device_id ||
            row->subsystem_vendor_id != from->subsystem_vendor_id ||
            row->subsystem_device_id != from->subsystem_device_id) {
                row->vendor_id = from->vendor_id;
                row->device_id = from->device_id;
                row->subsystem_vendor_id = from->subsystem_vendor_id;
                row->subsystem_device_id = from->subsystem_device_id;
                *ret_changed = true;
        }
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                if (str_eq(*strs[i].dst, strs[i].src))
                        continue;
                free(*strs[i].dst);
                *strs[i].dst = strs[i].src ? strdup(strs[i].src) : NULL;
                if (strs[i].src && !*strs[i].dst)
                        return -ENOMEM;
                *ret_changed = true;
        }
        return 0;
}

/* One device configuration the host reported. */
static int take_config(struct hp_store *s, json_t *j)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config from = { 0 }, row = { 0 };
        bool changed = false;
        int r = hp_ctl_config_from_json(j, &from);

        if (r < 0)
                return r;
        r = hp_store_device_get(s, from.address, &row);
        if (r == -ENOENT) {
                /* Assignments are the cluster's: none comes from a host. */
                free(from.assigned_vm);
                from.assigned_vm = NULL;
                return hp_store_device_put(s, &from);
        }
        if (r >= 0)
                r = merge_facts(&row, &from, &changed);
        if (r >= 0 && changed)
                r = hp_store_device_put(s, &row);
        return r;
}

static int answer_devices(const struct hp_store_inventory *inv, json_t **ret)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < inv->n_rows; i++)
                if (json_array_append_new(a, hp_ctl_config_to_json(&inv->rows[i])) < 0) {
                        json_decref(a);
                        return -ENOMEM;
                }
        *ret = a;
        return a ? 0 : -ENOMEM;
}

static bool pinned(const struct hp_cluster_vm *v)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_free_ char *err = NULL;

        if (hp_vm_spec_from_text(v->spec_json, &spec, &err) < 0)
                return v->host != NULL;
        return hp_vm_spec_has_static(&spec);
}

static int not_adopted(struct hp_store *s, const char *name, const char *why)
{
        return hp_store_event_add(s, "vm-not-adopted", name, why);
}

/* Whether every device the host's own VM holds is free in the cluster. */
static int devices_free(struct hp_store *s, json_t *devices, const char *name, char **ret_why)
{
        json_t *d;
        size_t i;

        json_array_foreach(devices, i, d) {
                _cleanup_(hp_dev_config_done) struct hp_dev_config row = { 0 };
                int r = json_string_value(d) ? hp_store_device_get(s, json_string_value(d), &row) : -EINVAL;

                if (r == -ENOENT || r == -EINVAL)
                        return asprintf(ret_why, "it holds %s, which the cluster does not know of this host",
                                        json_string_value(d) ?: "?") < 0 ? -ENOMEM : 0;
                if (r < 0)
                        return r;
                if (row.assigned_vm && !streq(row.assigned_vm, name))
                        return asprintf(ret_why, "it holds %s, which the cluster gave to VM '%s'", row.address,
                                        row.assigned_vm) < 0 ? -ENOMEM : 0;
        }
        return 0;
}

/* One of the host's own VMs (a standalone host that joined): the cluster
 * takes it as it is. It stays on this host when it runs (placed here at
 * its first epoch, holding the devices it holds) or when its static entries
 * pin it; otherwise it is unplaced, placed anew at its next power-on. A
 * name the cluster has for another VM is not taken: the event says so. */
static int adopt(struct beat *b, struct hp_store *s, json_t *lv)
{
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm have = { 0 };
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_free_ char *err = NULL, *text = NULL, *why = NULL, **addrs = NULL;
        const char *name = json_string_value(json_object_get(lv, "name")),
                   *state = json_string_value(json_object_get(lv, "state"));
        json_t *devices = json_object_get(lv, "devices"), *d;
        bool runs = state && !streq(state, "off"), pin;
        int64_t epoch = 0;
        size_t i, n = 0;
        int r;

        if (!name || !hp_vm_name_valid(name))
                return 0;
        r = hp_store_cluster_vm_get(s, name, &have);
        if (r >= 0 && have.host && streq(have.host, b->host))
                /* Adopted before; the answer that said so was lost. */
                return json_object_set_new(b->adopted, name, json_integer(runs ? have.epoch : 0)) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                return asprintf(&why, "the cluster has a VM named '%s' (%s %s): rename one of them (vm delete, vm "
                                      "define under a new name)",
                                name, have.host ? "on" : "not placed", have.host ?: "anywhere") < 0
                               ? -ENOMEM
                               : not_adopted(s, name, why);
        if (r != -ENOENT)
                return r;
        if (hp_vm_spec_from_json(json_object_get(lv, "spec"), &spec, &err) < 0)
                return not_adopted(s, name, err ?: "its definition is not one");
        if (runs && (r = devices_free(s, devices, name, &why)) < 0)
                return r;
        if (why)
                return not_adopted(s, name, why);
        pin = hp_vm_spec_has_static(&spec);
        r = hp_vm_spec_to_text(&spec, &text);
        if (r >= 0)
                r = hp_store_cluster_vm_create(s, name, runs || pin ? b->host : NULL, text);
        if (r >= 0 && runs) {
                addrs = calloc(json_array_size(devices) + 1, sizeof(char *));
                if (!addrs)
                        return -ENOMEM;
                json_array_foreach(devices, i, d)
                        addrs[n++] = (char *)json_string_value(d);
                r = hp_store_vm_place(s, name, b->host, &epoch);
                if (r >= 0 && n > 0)
                        r = hp_store_assign_devices(s, name, addrs, n, NULL);
                if (r >= 0)
                        r = hp_store_vm_report(s, b->host, name, epoch, state);
        }
        if (r >= 0 && asprintf(&why, "%s%s", runs ? "runs here" : "off", pin ? ", pinned here by its static entries"
                                             : runs ? "" : ", not placed: it goes where its next power-on places it") < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = hp_store_event_add(s, "vm-adopted", name, why);
        b->changed = true;
        hp_ctl_vms_changed();
        if (r >= 0 && json_object_set_new(b->adopted, name, json_integer(epoch)) < 0)
                r = -ENOMEM;
        return r;
}

/* The VM's start at its current epoch failed on b's host with error: the
 * claim given back and the failure kept with the VM; a dynamic VM is placed
 * again once this heartbeat is committed, on a host it has not failed on,
 * up to START_HOSTS_MAX hosts in all. A pinned VM has no other host: it
 * stays off on its own. */
static int start_failed(struct beat *b, struct hp_store *s, const struct hp_cluster_vm *v, const char *error)
{
        _cleanup_(json_decrefp) json_t *failures = v->start_failures ? json_loads(v->start_failures, 0, NULL) : NULL;
        _cleanup_free_ char *text = NULL, *msg = NULL;
        bool pin = pinned(v);
        int r;

        if (!json_is_array(failures)) {
                json_decref(failures);
                failures = json_array();
        }
        if (!failures || json_array_append_new(failures, json_pack("{s:s, s:I, s:s}", "host", b->host, "epoch",
                                                                   (json_int_t)v->epoch, "error", error)) < 0 ||
            !(text = json_dumps(failures, JSON_COMPACT)))
                return -ENOMEM;
        r = hp_store_vm_set_start_failures(s, v->name, text);
        if (r >= 0)
                r = hp_store_vm_unplace(s, v->name, pin);
        if (r < 0)
                return r;
        if (asprintf(&msg, "epoch %lld: %s%s", (long long)v->epoch, error,
                     pin                                          ? " (pinned here by its static entries: it stays off)"
                     : json_array_size(failures) >= START_HOSTS_MAX ? " (tried on as many hosts as a power-on tries: it stays off)"
                                                                    : "; the next host is tried") < 0)
                return -ENOMEM;
        r = hp_store_event_add(s, "vm-start-failed", v->name, msg);
        if (r >= 0 && !pin && json_array_size(failures) < START_HOSTS_MAX &&
            json_object_set_new(b->retry, v->name, json_integer(v->epoch)) < 0)
                r = -ENOMEM;
        return r;
}

/* A run the host stopped because it was cut off from the cluster (its
 * isolation response): the VM is still wanted on, so it is restarted, as
 * HA would after a failure: a dynamic VM waits for a host (pending
 * restart), a pinned one is claimed again on its host. */
static int isolated(struct beat *b, struct hp_store *s, const struct hp_cluster_vm *v)
{
        bool pin = pinned(v);
        int r = pin ? hp_store_vm_place(s, v->name, b->host, NULL) : hp_ctl_vm_pend(s, v->name);

        return r < 0 ? r
                     : hp_store_event_add(s, "vm-isolated", v->name,
                                          pin ? "its host was cut off from the cluster and stopped it; it starts "
                                                "there again (pinned by its static entries)"
                                              : "its host was cut off from the cluster and stopped it; it is "
                                                "restarted where placement finds room");
}

/* A VM its host stopped for the host's maintenance: it waits for another
 * host (pending restart), where HA's placement puts it. */
static int moved_off(struct hp_store *s, const struct hp_cluster_vm *v)
{
        _cleanup_free_ char *msg = NULL;
        int r = hp_ctl_vm_pend(s, v->name);

        if (r >= 0 && asprintf(&msg, "stopped on %s for its maintenance: restarting it on another host",
                               v->moving_from) < 0)
                r = -ENOMEM;
        return r < 0 ? r : hp_store_event_add(s, "vm-moved-off", v->name, msg);
}

static const struct hp_cluster_vm *here_find(const struct beat *b, const char *name)
{
        for (size_t i = 0; i < b->n_here; i++)
                if (streq(b->here[i].name, name))
                        return &b->here[i];
        return NULL;
}

/* Whether the heartbeat has anything to write: an inventory, the host's own
 * VMs, or a run whose state is new. A run is recorded only for the VM's
 * current claim on this host (hp_store_vm_report()), and that claim's
 * reported state changes only through this host's heartbeats, which come
 * one after the other: a run that b->here shows as said already stays
 * said. Most heartbeats of a settled cluster say only what they said
 * before, and cost no transaction. */
static bool beat_writes(struct beat *b)
{
        bool writes = json_array_size(json_object_get(b->body, "configs")) > 0 ||
                      json_object_get(b->body, "devices") ||
                      json_array_size(json_object_get(b->body, "local_vms")) > 0;
        json_t *run;
        size_t i;

        json_array_foreach (json_object_get(b->body, "vms"), i, run) {
                const char *name = json_string_value(json_object_get(run, "name")),
                           *state = json_string_value(json_object_get(run, "state"));
                json_int_t epoch = json_integer_value(json_object_get(run, "epoch"));
                const struct hp_cluster_vm *v;

                if (!name || !state || epoch < 1)
                        continue; /* a VM of the host's own, outside the cluster */
                v = here_find(b, name);
                /* Not placed here, or at another epoch: nothing to record (see take_run()). */
                if (!v || v->epoch != epoch)
                        continue;
                if (!v->reported_state || !streq(v->reported_state, state)) {
                        writes = true;
                        b->ends_run = b->ends_run || streq(state, "off");
                }
        }
        return writes;
}

/* What the host says of a VM it runs or ran: recorded for its current
 * epoch. A run that is over (off) gives its devices back: the VM was
 * stopped, or its run ended on the host (its guest powered off, its start
 * failed); it is claimed again, at a new epoch, when it is started again. */
static int take_run(struct beat *b, struct hp_store *s, json_t *run)
{
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = { 0 };
        const char *host = b->host, *name = json_string_value(json_object_get(run, "name")),
                   *state = json_string_value(json_object_get(run, "state")),
                   *error = json_string_value(json_object_get(run, "error"));
        json_int_t epoch = json_integer_value(json_object_get(run, "epoch"));
        int r;

        if (!name || !state || epoch < 1)
                return 0; /* a VM of the host's own, outside the cluster */
        r = hp_store_cluster_vm_get(s, name, &v);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        /* What it said last time: nothing to record (a host says it of every VM, every beat). */
        if (v.host && streq(v.host, host) && v.epoch == epoch && v.reported_state && streq(v.reported_state, state))
                return 0;
        r = hp_store_vm_report(s, host, name, epoch, state);
        if (r == -ENOENT || r == HP_STORE_REPORT_STALE)
                return 0;
        if (r < 0 || !streq(state, "off"))
                return r;
        b->changed = true;
        if (json_is_true(json_object_get(run, "isolated")) && streq(v.desired, "on"))
                return isolated(b, s, &v);
        if (v.moving_from && streq(v.moving_from, host))
                return moved_off(s, &v);
        if (error && streq(v.desired, "on"))
                return start_failed(b, s, &v, error);
        r = hp_store_vm_unplace(s, name, pinned(&v));
        if (r >= 0)
                r = hp_store_event_add(s, streq(v.desired, "on") ? "vm-run-ended" : "vm-stopped", name, NULL);
        return r;
}

/* The files of VM v, added to *paths (unique). */
static int vm_paths(const struct hp_cluster_vm *v, char ***paths)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_strv_free_ char **mine = NULL;
        _cleanup_free_ char *err = NULL;
        int r = 0;

        if (hp_vm_spec_from_text(v->spec_json, &spec, &err) < 0)
                return 0; /* a damaged VM: explain and start say so */
        if (hp_vm_spec_paths(&spec, &mine) < 0)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && mine[i]; i++)
                r = hp_strv_pushf_unique(paths, "%s", mine[i]);
        return r;
}

static int strcmp_ptr(const void *a, const void *b);

/* Every cluster VM's files, as each host is asked whether it sees them:
 * read again once a VM was defined, adopted or deleted through this
 * controller, or after PATHS_TTL_MS (another controller's), not at every
 * heartbeat of every host (which would read every VM's definition). */
#define PATHS_TTL_MS 1000

static pthread_mutex_t paths_lock = PTHREAD_MUTEX_INITIALIZER;
static char **paths_known;
static char *paths_db;
static uint64_t paths_generation = 1, paths_known_generation;
static int64_t paths_known_ms;
static bool paths_reading; /* a heartbeat reads them: the others answer with the last */

void hp_ctl_vms_changed(void)
{
        pthread_mutex_lock(&paths_lock);
        paths_generation++;
        pthread_mutex_unlock(&paths_lock);
}

static int every_path(struct hp_store *s, const char *db, char ***ret)
{
        _cleanup_strv_free_ char **paths = NULL;
        struct hp_cluster_vm *v = NULL;
        size_t n = 0;
        uint64_t gen;
        int r;

        pthread_mutex_lock(&paths_lock);
        gen = paths_generation;
        /* Only an outdated list makes a heartbeat wait for its reading; an old one is answered meanwhile. */
        if (paths_known && paths_db && streq(paths_db, db) && paths_known_generation == gen &&
            (paths_reading || hp_mono_ms() - paths_known_ms < PATHS_TTL_MS)) {
                r = hp_strv_copy(paths_known, ret);
                pthread_mutex_unlock(&paths_lock);
                return r;
        }
        paths_reading = true;
        pthread_mutex_unlock(&paths_lock);
        r = hp_store_cluster_vm_list(s, &v, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = vm_paths(&v[i], &paths);
        hp_cluster_vms_free(v, n);
        if (r >= 0 && !paths && !(paths = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        if (r < 0) {
                pthread_mutex_lock(&paths_lock);
                paths_reading = false;
                pthread_mutex_unlock(&paths_lock);
                return r;
        }
        qsort(paths, hp_strv_length(paths), sizeof(char *), strcmp_ptr);
        r = hp_strv_copy(paths, ret);
        pthread_mutex_lock(&paths_lock);
        if (r >= 0 && (!paths_db || !streq(paths_db, db))) {
                free(paths_db);
                paths_db = strdup(db);
        }
        if (r >= 0 && paths_db) {
                hp_strv_free(paths_known);
                paths_known = TAKE_PTR(paths);
                paths_known_generation = gen;
                paths_known_ms = hp_mono_ms();
        }
        paths_reading = false;
        pthread_mutex_unlock(&paths_lock);
        return r;
}

static int strcmp_ptr(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* v is placed on host, stopped, and the host never reported a run of it
 * at its epoch (a stop that came before the host started it). */
static bool off_unreported(const struct hp_cluster_vm *v, const char *host)
{
        return v->host && streq(v->host, host) && streq(v->desired, "off") && v->epoch > 0 && !v->reported_state;
}

/* The host said nothing of v at v's epoch in this heartbeat: it never ran it. */
static bool unreported(const struct beat *b, const struct hp_cluster_vm *v)
{
        size_t i;
        json_t *run;

        if (!json_is_array(json_object_get(b->body, "vms")))
                return false; /* a heartbeat that says nothing of its VMs */
        json_array_foreach(json_object_get(b->body, "vms"), i, run)
                if (streq(json_string_value(json_object_get(run, "name")) ?: "", v->name) &&
                    json_integer_value(json_object_get(run, "epoch")) == v->epoch)
                        return false;
        return true;
}

/* b->vms, the VMs this host should run: each placed here and on, at its
 * epoch, with its devices named; and b->paths, every VM's files, which each
 * host says it sees or not (placement only picks hosts that see a VM's
 * files). A VM placed here, stopped before the host ever started or
 * reported it (a stop right after the start), is noted in b->unstarted:
 * the host will never say it is off, so nothing else would give its claim
 * back. */
static int answer_vms(struct hp_store *s, const char *db, struct beat *b,
                      struct hp_store_inventory *inv)
{
        const char *host = b->host;
        _cleanup_(hp_ctl_host_devs_done) struct hp_ctl_host_devs devs = { 0 };
        struct hp_cluster_vm *v = NULL;
        size_t n = 0;
        bool loaded = false;
        json_t *a = json_array();
        int r = every_path(s, db, &b->paths);

        b->stops = json_object();
        if (!b->stops)
                r = -ENOMEM;

        if (r >= 0 && b->here_current) {
                v = TAKE_PTR(b->here);
                n = b->n_here;
                b->n_here = 0;
        } else if (r >= 0)
                r = hp_store_cluster_vm_list_on(s, host, &v, &n);
        for (size_t i = 0; r >= 0 && a && i < n; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec parsed = { 0 };
                _cleanup_free_ char *err = NULL;
                json_t *spec = NULL;
                bool readable, elsewhere;

                if (off_unreported(&v[i], host) && unreported(b, &v[i]) &&
                    json_object_set_new(b->unstarted, v[i].name, json_integer(v[i].epoch)) < 0)
                        r = -ENOMEM;
                if (!v[i].host || !streq(v[i].host, host))
                        continue;
                /* A stop asked (a power-off, a move for maintenance): the host
                 * stops it as asked. A run the host has that is in neither
                 * list runs elsewhere now: it stops it at once. */
                if (!streq(v[i].desired, "on")) {
                        if (json_object_set_new(b->stops, v[i].name, json_object()) < 0)
                                r = -ENOMEM;
                        continue;
                }
                if (!loaded && (r = hp_ctl_host_devs_make(inv, hp_ctl_report(s, host), &devs)) < 0)
                        break;
                loaded = true;
                readable = hp_vm_spec_from_text(v[i].spec_json, &parsed, &err) >= 0;
                if (readable)
                        spec = hp_ctl_resolved_spec(v[i].name, &parsed, &devs);
                /* Whether HA would run it on another host should this one
                 * fail: the agent's fence stops such a run when it cannot
                 * know its host was not failed (a spec that cannot be read:
                 * stopped rather than run twice). */
                elsewhere = !readable || hp_ctl_ha_restarts_elsewhere(&parsed);
                if (json_array_append_new(a, json_pack("{s:s, s:I, s:o?, s:b}", "name", v[i].name,
                                                       "epoch", (json_int_t)v[i].epoch, "spec",
                                                       spec, "elsewhere", elsewhere)) < 0)
                        r = -ENOMEM;
        }
        hp_cluster_vms_free(v, n);
        if (r < 0 || !a) {
                json_decref(a);
                json_decref(TAKE_PTR(b->stops));
                return r < 0 ? r : -ENOMEM;
        }
        b->vms = a;
        return 0;
}

/* The list's fingerprint: an agent that has this list is not sent it again. */
static void paths_hash(char *const *paths, char buf[static 17])
{
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

        for (size_t i = 0; paths && paths[i]; i++)
                for (const unsigned char *c = (const unsigned char *)paths[i];; c++) {
                        h = (h ^ (*c ? *c : '\n')) * 0x100000001b3ULL;
                        if (!*c)
                                break;
                }
        snprintf(buf, 17, "%016llx", (unsigned long long)h);
}

static int beat_tx(struct hp_store *s, void *userdata)
{
        struct beat *b = userdata;
        json_t *configs = json_object_get(b->body, "configs"), *j;
        _cleanup_free_ char *report = NULL;
        size_t i;
        int r;

        json_object_clear(b->retry); /* of a try of this transaction that was rolled back */
        json_object_clear(b->adopted);
        r = 0;
        if (json_array_size(configs) > 0 || json_object_get(b->body, "devices")) {
                /* An inventory writes the host's device rows, which claims
                 * read and write: it takes its turn with them (and with the
                 * other hosts' inventories, all at once when a cluster
                 * starts) rather than conflict and start again. */
                r = hp_store_events_turn(s);
                b->changed = true;
        } else if (b->ends_run) {
                r = hp_store_events_turn(
                        s); /* so does a run's end: its claim given back, an event */
        }
        if (r >= 0)
                r = hp_store_set_host(s, b->host);
        json_array_foreach(configs, i, j) {
                if (r < 0)
                        break;
                r = take_config(s, j);
        }
        if (r >= 0 && json_object_get(b->body, "devices")) {
                /* The report as the host sent it, without what is stored apart. */
                _cleanup_(json_decrefp) json_t *copy = json_copy(b->body);

                if (!copy)
                        return -ENOMEM;
                json_object_del(copy, "configs");
                json_object_del(copy, "seq");
                report = json_dumps(copy, JSON_COMPACT);
                r = report ? hp_store_host_report(s, b->host, report) : -ENOMEM;
        }
        json_array_foreach(json_object_get(b->body, "vms"), i, j) {
                if (r < 0)
                        break;
                r = take_run(b, s, j);
        }
        json_array_foreach(json_object_get(b->body, "local_vms"), i, j) {
                if (r < 0)
                        break;
                r = adopt(b, s, j);
        }
        (void)hp_store_set_host(s, HP_STORE_LOCAL_HOST);
        return r;
}

struct unstarted {
        const char *host, *vm;
        int64_t epoch;
};

/* Gives back the claim of a VM stopped before its host started it, if it
 * is still so: placed on that host at that epoch, off, nothing reported. */
static int unstarted_tx(struct hp_store *s, void *userdata)
{
        const struct unstarted *u = userdata;
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = { 0 };
        int r = hp_store_cluster_vm_get(s, u->vm, &v);

        if (r < 0)
                return r == -ENOENT ? 0 : r;
        if (!off_unreported(&v, u->host) || v.epoch != u->epoch)
                return 0;
        /* Off at that epoch: a pinned VM keeps its host, and its report (it
         * would be found unstarted again at every heartbeat, an event each). */
        r = hp_store_vm_report(s, u->host, u->vm, u->epoch, "off");
        if (r >= 0)
                r = hp_store_vm_unplace(s, u->vm, pinned(&v));
        return r < 0 ? r : hp_ctl_event_on(s, u->host, "vm-stopped", u->vm, "stopped before its host started it");
}

/* The answer, read after the heartbeat's writes are committed, outside their
 * transaction: it reads every VM and device of the host, which claims on
 * other controllers write all the time, and a transaction that read them
 * would lose to those claims again and again, and with it the host's lease.
 * Each read is consistent on its own; a claim that lands in between is in
 * the next answer. */
static int answer(struct hp_store *s, const char *db, struct beat *b)
{
        struct hp_store_inventory inv = { 0 };
        int r = hp_store_set_host(s, b->host);

        if (r >= 0)
                r = hp_store_device_list(s, &inv.rows, &inv.n_rows);
        if (r >= 0)
                r = answer_devices(&inv, &b->devices);
        if (r >= 0)
                r = answer_vms(s, db, b, &inv);
        hp_dev_configs_free(inv.rows, inv.n_rows);
        (void)hp_store_set_host(s, HP_STORE_LOCAL_HOST);
        return r;
}

int hp_ctl_heartbeat(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, const char *host, json_t *body,
                     json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct beat b = { .host = host, .body = body, .lease_ms = hp_ctl_lease_ms(cfg) };
        const char *named = json_string_value(json_object_get(body, "host"));
        json_t *configs = json_object_get(body, "configs"), *paths = NULL, *epoch;
        const char *vm;
        bool ready = json_is_true(json_object_get(body, "ready"));
        char who[300], hash[17];
        int r;

        snprintf(who, sizeof(who), "the agent on %s", host);
        r = hp_ctl_protocol_check(c, body, who);
        if (r < 0)
                return r;
        if (named && !streq(named, host))
                return hp_op_fail(c, HP_OP_AUTH, -EPERM,
                                  "this credential is host '%s''s, not '%.64s''s: each host sends its own", host,
                                  named);
        if (configs && !json_is_array(configs))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "\"configs\" is a list of device configurations");
        r = hp_ops_store_open(c, &s);
        if (r < 0)
                return r;
        b.retry = json_object();
        b.adopted = json_object();
        /* The lease first, on its own: renewed even when what the heartbeat
         * reports has to wait for claims it conflicts with, and the report's
         * transaction does not write the host's row that every claim reads. */
        r = b.retry && b.adopted ? hp_store_host_beat(s, host, b.lease_ms, ready, NULL) : -ENOMEM;
        if (r >= 0)
                r = hp_store_cluster_vm_list_on(s, host, &b.here, &b.n_here);
        b.here_current = r >= 0 && !beat_writes(&b);
        if (r >= 0 && !b.here_current)
                r = hp_store_transact(s, beat_tx, &b);
        if (r >= 0)
                hp_ctl_model_beat(host, ready);
        if (r >= 0 && b.changed)
                hp_ctl_model_stale();
        json_object_foreach(r >= 0 ? b.retry : NULL, vm, epoch)
                (void)hp_ctl_vm_retry(c, vm, json_integer_value(epoch));
        json_decref(b.retry);
        b.unstarted = json_object();
        if (r >= 0)
                r = b.unstarted ? answer(s, c->db, &b) : -ENOMEM;
        json_object_foreach(r >= 0 ? b.unstarted : NULL, vm, epoch)
                (void)hp_store_transact(s, unstarted_tx,
                                        &(struct unstarted){ .host = host, .vm = vm,
                                                             .epoch = json_integer_value(epoch) });
        if (r >= 0 && json_object_size(b.unstarted) > 0)
                hp_ctl_model_stale();
        json_decref(b.unstarted);
        hp_cluster_vms_free(b.here, b.n_here);
        if (r < 0)
                json_decref(b.adopted);
        if (r == -EINVAL)
                r = hp_op_fail(c, HP_OP_INVALID, r, "the heartbeat of %s carries a device configuration that is not one",
                               host);
        else if (r < 0)
                r = hp_op_store_error(c, r, "cannot record the heartbeat of %s", host);
        if (r < 0) {
                json_decref(b.devices);
                json_decref(b.vms);
                json_decref(b.stops);
                hp_strv_free(b.paths);
                return r;
        }
        paths_hash(b.paths, hash);
        /* The files to check go only when the host's list is not this one. */
        if (!streq(json_string_value(json_object_get(body, "paths_hash")) ?: "", hash)) {
                paths = json_array();
                for (size_t i = 0; paths && b.paths && b.paths[i]; i++)
                        json_array_append_new(paths, json_string(b.paths[i]));
        }
        hp_strv_free(b.paths);
        *ret = json_pack("{s:I, s:I, s:I, s:b, s:o, s:o, s:o, s:s, s:o?, s:o}", "lease_ms",
                         (json_int_t)b.lease_ms, "heartbeat_ms",
                         (json_int_t)hp_ctl_heartbeat_ms(cfg), "margin_ms",
                         (json_int_t)hp_ctl_margin_ms(cfg), "want_inventory", 0, "vms", b.vms,
                         "stops", b.stops, "devices", b.devices, "paths_hash", hash, "paths", paths,
                         "adopted", b.adopted);
        return *ret ? 0 : hp_op_oom(c);
}

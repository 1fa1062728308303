/* The agent's loop (agent.h): join once, then a heartbeat every interval.
 * Each heartbeat carries the host's memory and, when it changed since the
 * controller last took it, the whole inventory (devices as `device list`
 * shows them, and the stored configurations); the answer says which
 * settings each device should have, and the agent applies the difference
 * with the operations. An answer that arrives after the lease it grants
 * has run out is dropped (docs/cluster.md "Epochs"). Device settings are
 * applied in a thread of their own: a passthrough change can take seconds,
 * and a heartbeat that waited for it could cost the host its lease. */
#include "agent.h"
#include "agent-lease.h"
#include "agent-runs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/client.h"
#include "ctl/ctl.h"
#include "host/json.h"
#include "host/names.h"
#include "host/view.h"
#include "ops/device.h"
#include "ops/ops.h"
#include "ops/storage.h"
#include "ops/vm.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/io.h"
#include "util/clock.h"
#include "util/macro.h"
#include "util/reach.h"
#include "util/sched.h"
#include "util/strutil.h"
#include "util/watchdog.h"

#define CREDENTIAL_FILE "cluster-credential.json"
/* The memory's change that sends the inventory again. */
#define MEMORY_STEP_MIB 256
/* How long a first start waits for a controller to answer its join. */
#define JOIN_TRIES 60

struct hp_agent {
        struct hp_agent_config cfg;
        char **controllers;
        struct hp_ops_ctx ops;
        struct hp_names *names; /* the inventory shows names, as 'device list' does */
        char actor[64];
        struct hp_client *client; /* with the host's credential */
        char boot_id[64];
        int64_t heartbeat_ms, lease_ms, margin_ms, seq; /* the timings under lock */
        char *sent_inventory;     /* the inventory the controller has, as text; NULL: none yet */
        /* The devices' thread: the last answer's settings not yet applied,
         * what failed (address -> the setting and why, not tried again: the
         * thread's own), and a copy of that for the inventory. */
        struct hp_ops_ctx dev_ops, iso_ops;
        json_t *dev_todo, *failed, *failed_report;
        pthread_t dev_thread;
        bool dev_running, dev_stop;
        pthread_mutex_t dev_lock;
        pthread_cond_t dev_wake;
        struct hp_agent_runs *runs; /* the cluster's VMs here, their epochs */
        json_t *paths;            /* the cluster's VMs' files, which the inventory says are seen here */
        char paths_hash[17];      /* the controller's fingerprint of that list; "" before the first */
        bool beat_soon;           /* the list changed: say what is seen without waiting an interval */
        bool ready;
        bool lease_unkept; /* the last renewal could not be kept in the run directory (said once) */
        int64_t renewed; /* when the last heartbeat whose answer was taken was sent (monotonic ms),
                          * by this process or the one before it (agent-lease.h); under lock, for
                          * the isolation thread */
        int64_t inherited; /* the renewal the agent before this one made, restored; 0: none */
        /* The isolation thread: the renewal it last acted on, and when it last asked the network;
         * the watchdog it feeds, and whether it stopped feeding it. */
        int64_t isolated_for, asked;
        struct hp_watchdog *watchdog;
        bool starving;
        pthread_t iso_thread;
        bool iso_running;
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stop;
};

static void credential_path(const struct hp_agent *a, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", a->ops.state_dir, CREDENTIAL_FILE);
}

/* The kept credential; -ENOENT when the host never joined. */
static int credential_load(struct hp_agent *a, char **ret, char **ret_error)
{
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        const char *host, *cred;
        char path[1024];

        credential_path(a, path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : hp_errorf(ret_error, -errno, "cannot read '%s': %s", path, strerror(errno));
        if (hp_read_all(fd, 64 * 1024, &text, NULL) < 0 || !(j = json_loads(text, 0, NULL)) ||
            !(host = json_string_value(json_object_get(j, "host"))) ||
            !(cred = json_string_value(json_object_get(j, "credential"))))
                return hp_errorf(ret_error, -EBADMSG, "'%s' is damaged: remove the host ('hwpass host remove "
                                 "NAME' on a controller), delete the file and join again", path);
        if (!streq(host, a->cfg.name))
                return hp_errorf(ret_error, -EEXIST,
                                 "this host joined the cluster as '%s', not '%s': start it with --name %s, or "
                                 "remove it from the cluster and delete '%s' to join anew",
                                 host, a->cfg.name, host, path);
        *ret = strdup(cred);
        return *ret ? 0 : -ENOMEM;
}

/* The credential written before it is used: a crash after the join but
 * before this would leave a host that cannot heartbeat (remove and join
 * again), never one that heartbeats with a credential it then forgets. */
static int credential_save(struct hp_agent *a, json_t *answer, char **ret_error)
{
        _cleanup_free_ char *text = json_dumps(answer, JSON_INDENT(2) | JSON_SORT_KEYS);
        _cleanup_close_ int fd = -1;
        char path[1024], tmp[1100];

        credential_path(a, path, sizeof(path));
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        if (!text)
                return -ENOMEM;
        (void)mkdir(a->ops.state_dir, 0700);
        (void)unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || hp_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0)
                return hp_errorf(ret_error, -errno, "cannot keep the host's credential in '%s': %s", path,
                                 strerror(errno));
        return 0;
}

static int client_new(struct hp_agent *a, const char *bearer, struct hp_client **ret, char **ret_error)
{
        struct hp_client_options o = { .urls = a->controllers,
                                       .n_urls = hp_strv_length(a->controllers),
                                       .ca_file = a->cfg.ca_file,
                                       .bearer = bearer,
                                       .connect_timeout_ms = 2000,
                                       .timeout_ms = 10000 };

        return hp_client_new(&o, ret, ret_error);
}

/* An answer's error message, or a generic one. */
static const char *answer_message(json_t *answer)
{
        return json_string_value(json_object_get(json_object_get(answer, "error"), "message")) ?: "(no message)";
}

/* Waits ms for SIGTERM or SIGINT, which the caller blocks: true when one came. */
static bool stop_asked(int ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        return sigtimedwait(&set, NULL, &ts) > 0;
}

static int join(struct hp_agent *a, char **ret_credential, char **ret_error)
{
        _cleanup_(hp_client_freep) struct hp_client *c = NULL;
        _cleanup_(json_decrefp) json_t *body = NULL, *answer = NULL;
        long status = 0;
        int r;

        if (!a->cfg.join_token)
                return hp_errorf(ret_error, -ENOKEY,
                                 "this host has not joined a cluster yet: give --join-token TOKEN (make one with "
                                 "'hwpass cluster token create' on a controller)");
        r = client_new(a, NULL, &c, ret_error);
        if (r < 0)
                return r;
        body = json_pack("{s:i, s:s, s:s, s:s}", "protocol", HP_CLUSTER_PROTOCOL, "version", HP_VERSION, "host",
                         a->cfg.name, "token", a->cfg.join_token);
        if (!body)
                return -ENOMEM;
        for (int i = 0; i < JOIN_TRIES; i++) {
                free(*ret_error);
                *ret_error = NULL;
                json_decref(TAKE_PTR(answer));
                r = hp_client_call(c, "POST", "/v1/agent/join", body, &status, &answer, ret_error);
                if (r != -EHOSTUNREACH)
                        break;
                fprintf(stderr, "hwpassd: agent: no controller answers the join yet (%s); trying again\n", *ret_error);
                /* A second between tries; a stop asked meanwhile (the daemon
                 * blocks SIGTERM and SIGINT to take them in its loop) ends it. */
                if (stop_asked(1000))
                        return hp_errorf(ret_error, -EINTR, "stopped while waiting for a controller to answer the "
                                                            "join");
        }
        if (r < 0)
                return r;
        if (status != 201)
                return hp_errorf(ret_error, -EACCES, "the controller refused the join of '%s' (HTTP %ld): %s",
                                 a->cfg.name, status, answer_message(answer));
        if (!json_string_value(json_object_get(answer, "credential")))
                return hp_errorf(ret_error, -EBADMSG, "the controller's answer to the join holds no credential");
        r = credential_save(a, answer, ret_error);
        if (r < 0)
                return r;
        *ret_credential = strdup(json_string_value(json_object_get(answer, "credential")));
        fprintf(stderr, "hwpassd: agent: joined the cluster as '%s'\n", a->cfg.name);
        return *ret_credential ? 0 : -ENOMEM;
}

/* A file a VM here could use: a readable regular file or block device.
 * The cluster's VMs name files on storage shared between hosts, so these are
 * the paths as QEMU opens them, not under the host root the agent reads the
 * kernel's view from. */
static bool file_seen(struct hp_agent *a, const char *path)
{
        struct stat st;

        /* A file outside the storage directories is one this host may not give a VM: not seen. */
        return stat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) &&
               access(path, R_OK) == 0 && hp_ops_storage_allows(&a->ops, path);
}

/* {"PATH": seen?} for every file the controller asked about. */
static json_t *paths_seen(struct hp_agent *a)
{
        json_t *seen = json_object(), *p;
        size_t i;

        json_array_foreach(a->paths, i, p)
                if (seen && json_string_value(p))
                        json_object_set_new(seen, json_string_value(p),
                                            json_boolean(file_seen(a, json_string_value(p))));
        return seen;
}

/* The inventory: {"devices": [...as device list shows them], "configs":
 * [...], "paths": {...}, "local_vms": [...the host's own VMs, to adopt]}. */
static json_t *inventory(struct hp_agent *a)
{
        _cleanup_(hp_view_done) struct hp_view v = { 0 };
        _cleanup_free_ char *err = NULL;
        _cleanup_(json_decrefp) json_t *devs = NULL;
        struct hp_host_state st;
        json_t *configs = json_array();

        if (hp_view_load(a->ops.host, a->ops.names, a->ops.db, &v, &err) < 0) {
                fprintf(stderr, "hwpassd: agent: cannot read the host's devices: %s\n", err ? err : "?");
                json_decref(configs);
                return NULL;
        }
        st = hp_view_state(&v);
        devs = hp_json_pci_devices(&st, NULL, NULL);
        for (size_t i = 0; configs && i < v.n_configs; i++) {
                json_t *c = hp_ctl_config_to_json(&v.configs[i]);
                json_t *why;

                /* A setting from the cluster this host could not apply: why, for the operator. */
                pthread_mutex_lock(&a->dev_lock);
                why = json_object_get(a->failed_report, v.configs[i].address);
                if (c && json_is_string(why))
                        json_object_set_new(c, "reason", json_copy(why));
                pthread_mutex_unlock(&a->dev_lock);
                json_array_append_new(configs, c);
        }
        return json_pack("{s:O, s:o, s:o, s:o}", "devices", json_object_get(devs, "devices") ?: json_array(),
                         "configs", configs, "paths", paths_seen(a), "local_vms",
                         hp_agent_runs_local_vms(a->runs, &a->ops));
}

static json_t *heartbeat_body(struct hp_agent *a, bool *ret_full, char **ret_inventory_text)
{
        _cleanup_(json_decrefp) json_t *inv = inventory(a), *memory = NULL;
        json_t *body;

        if (hp_ops_host_memory(&a->ops, &memory) < 0)
                hp_op_error_done(&a->ops.error);
        body = json_pack("{s:i, s:s, s:s, s:s, s:I, s:b, s:O?, s:o}", "protocol", HP_CLUSTER_PROTOCOL, "version",
                         HP_VERSION, "host", a->cfg.name, "boot_id", a->boot_id, "seq", (json_int_t)++a->seq, "ready",
                         a->ready, "memory", memory, "vms", hp_agent_runs_report(a->runs, &a->ops));
        if (body && a->paths_hash[0])
                json_object_set_new(body, "paths_hash", json_string(a->paths_hash));
        *ret_full = false;
        if (body && inv) {
                /* Memory counts as changed when it moved by a step: it moves a
                 * little all the time, and the inventory is the heavy part. */
                json_int_t avail = json_integer_value(json_object_get(memory, "available_mib"));
                _cleanup_free_ char *text = NULL;

                json_object_set_new(inv, "memory_step", json_integer(avail / MEMORY_STEP_MIB));
                text = json_dumps(inv, JSON_COMPACT | JSON_SORT_KEYS);
                json_object_del(inv, "memory_step");

                /* The inventory goes when it changed, or the controller never took it. */
                if (text && (!a->sent_inventory || !streq(text, a->sent_inventory))) {
                        json_object_update(body, inv);
                        *ret_full = true;
                        *ret_inventory_text = TAKE_PTR(text);
                }
        }
        return body;
}

static bool str_eq(const char *x, const char *y)
{
        return x == y || (x && y && streq(x, y));
}

/* The difference between the attributes wanted and those held, as the attribute operation takes it. */
static int attrs_diff(json_t *want, char *const *have, char ***ret_set, char ***ret_unset)
{
        const char *key;
        json_t *v;

        json_object_foreach(want, key, v) {
                _cleanup_free_ char *kv = NULL;

                if (asprintf(&kv, "%s=%s", key, json_string_value(v) ?: "") < 0)
                        return -ENOMEM;
                if (!hp_strv_contains(have, kv) && hp_strv_push(ret_set, kv) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; have && have[i]; i++) {
                _cleanup_free_ char *k = strndup(have[i], strcspn(have[i], "="));

                if (!k)
                        return -ENOMEM;
                if (!json_object_get(want, k) && hp_strv_push(ret_unset, k) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* What an operation did, as the agent's log tells it; failures are
 * remembered per device and setting, and not tried again until the
 * cluster's setting changes. */
static void applied(struct hp_agent *a, const char *address, const char *what, int r, json_t *doc)
{
        json_decref(doc);
        if (r >= 0) {
                fprintf(stderr, "hwpassd: agent: %s: %s, as the cluster says\n", address, what);
                json_object_del(a->failed, address);
                return;
        }
        fprintf(stderr, "hwpassd: agent: %s: cannot set %s: %s\n", address, what,
                a->dev_ops.error.message ? a->dev_ops.error.message : strerror(-r));
        json_object_set_new(a->failed, address, json_sprintf("%s: %s", what, a->dev_ops.error.message ?: strerror(-r)));
        hp_op_error_done(&a->dev_ops.error);
        hp_op_error_done(&a->iso_ops.error);
}

/* One device's settings from the answer, applied where they differ. */
static void apply_device(struct hp_agent *a, json_t *want, const struct hp_dev_config *have)
{
        const char *address = json_string_value(json_object_get(want, "address"));
        const char *label = json_string_value(json_object_get(want, "label"));
        json_t *attrs = json_object_get(want, "attributes"), *doc = NULL;
        bool desired = json_is_true(json_object_get(want, "desired"));
        int r;

        if (!str_eq(label, have ? have->label : NULL)) {
                r = hp_ops_device_label(&a->dev_ops, address, label, &doc);
                applied(a, address, label ? "its label" : "no label", r, doc);
        }
        if (json_is_object(attrs)) {
                _cleanup_strv_free_ char **set = NULL, **unset = NULL;

                if (attrs_diff(attrs, have ? have->attrs : NULL, &set, &unset) >= 0 &&
                    hp_strv_length(set) + hp_strv_length(unset) > 0) {
                        doc = NULL;
                        r = hp_ops_device_attr(&a->dev_ops, address, set, unset, &doc);
                        applied(a, address, "its attributes", r, doc);
                }
        }
        if (desired == (have && have->desired) && hp_startswith(json_string_value(json_object_get(a->failed, address)) ?: "", "passthrough"))
                json_object_del(a->failed, address); /* the cluster took its wish back */
        if (desired != (have && have->desired)) {
                char *addrs[] = { (char *)address, NULL };
                const char *tried = json_string_value(json_object_get(a->failed, address));

                /* A passthrough change refused once is not tried every second. */
                if (tried && hp_startswith(tried, desired ? "passthrough on" : "passthrough off"))
                        return;
                doc = NULL;
                r = hp_ops_passthrough(&a->dev_ops, &(struct hp_ops_passthrough){ .enable = desired, .addresses = addrs },
                                       &doc);
                applied(a, address, desired ? "passthrough on" : "passthrough off", r, doc);
        }
}

/* The files to say whether they are seen, when the controller sent a new list. */
static void take_paths(struct hp_agent *a, json_t *answer)
{
        json_t *paths = json_object_get(answer, "paths");
        const char *hash = json_string_value(json_object_get(answer, "paths_hash"));

        if (!json_is_array(paths) || !hash)
                return;
        json_decref(a->paths);
        a->paths = json_incref(paths);
        snprintf(a->paths_hash, sizeof(a->paths_hash), "%s", hash);
        a->beat_soon = true;
}

/* Each device's settings from an answer, applied where they differ (the
 * devices' thread). */
static void apply_devices(struct hp_agent *a, json_t *devices)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_dev_config *have = NULL;
        size_t n = 0, i;
        json_t *want, *copy;

        if (hp_ops_store_open(&a->dev_ops, &s) < 0 || hp_store_device_list(s, &have, &n) < 0) {
                fprintf(stderr, "hwpassd: agent: cannot read this host's store: %s\n",
                        a->dev_ops.error.message ?: "?");
                hp_op_error_done(&a->dev_ops.error);
                return;
        }
        hp_store_close(TAKE_PTR(s)); /* the operations open their own */
        json_array_foreach(devices, i, want) {
                const char *address = json_string_value(json_object_get(want, "address"));
                const struct hp_dev_config *h = NULL;

                if (!address)
                        continue;
                for (size_t k = 0; k < n; k++)
                        if (streq(have[k].address, address))
                                h = &have[k];
                apply_device(a, want, h);
        }
        hp_dev_configs_free(have, n);
        copy = json_deep_copy(a->failed);
        pthread_mutex_lock(&a->dev_lock);
        if (copy) {
                json_decref(a->failed_report);
                a->failed_report = copy;
        }
        pthread_mutex_unlock(&a->dev_lock);
}

static void *devices_loop(void *userdata)
{
        struct hp_agent *a = userdata;

        pthread_mutex_lock(&a->dev_lock);
        for (;;) {
                json_t *todo;

                while (!a->dev_stop && !a->dev_todo)
                        pthread_cond_wait(&a->dev_wake, &a->dev_lock);
                if (a->dev_stop)
                        break;
                todo = TAKE_PTR(a->dev_todo);
                pthread_mutex_unlock(&a->dev_lock);
                apply_devices(a, todo);
                json_decref(todo);
                pthread_mutex_lock(&a->dev_lock);
        }
        pthread_mutex_unlock(&a->dev_lock);
        return NULL;
}

static void apply_answer(struct hp_agent *a, json_t *answer)
{
        json_t *devices = json_object_get(answer, "devices"), *epoch;
        const char *name;

        /* For the devices' thread; an answer not taken yet is replaced by this newer one. */
        if (json_is_array(devices)) {
                pthread_mutex_lock(&a->dev_lock);
                json_decref(a->dev_todo);
                a->dev_todo = json_deep_copy(devices);
                pthread_cond_signal(&a->dev_wake);
                pthread_mutex_unlock(&a->dev_lock);
        }
        take_paths(a, answer);
        json_object_foreach(json_object_get(answer, "adopted"), name, epoch) {
                if (hp_agent_runs_adopted(a->runs, name, json_integer_value(epoch)) < 0)
                        fprintf(stderr, "hwpassd: agent: VM '%s': cannot record that the cluster adopted it\n", name);
                else
                        fprintf(stderr, "hwpassd: agent: VM '%s' is the cluster's now (epoch %lld)\n", name,
                                (long long)json_integer_value(epoch));
        }
        /* Ready once its stale runs are gone after it (re)started; a stop asked later does not undo it. */
        if (hp_agent_runs_apply(a->runs, &a->ops, json_object_get(answer, "vms"),
                                json_object_get(answer, "stops")))
                a->ready = true;
}

/* A heartbeat that renewed nothing: once the lease of the last one that did
 * has run out, the cluster may have given this host's VMs to others (HA):
 * the host is not ready again until its stale runs are gone. */
static void not_renewed(struct hp_agent *a)
{
        if (a->ready && hp_mono_ms() - a->renewed >= a->lease_ms) {
                a->ready = false;
                fprintf(stderr, "hwpassd: agent: this host's lease ran out: not ready until it has stopped what "
                                "the cluster no longer runs here\n");
        }
}

/* The renewal kept where the next agent finds it, should this one die. */
static void keep_lease(struct hp_agent *a, int64_t renewed)
{
        struct hp_agent_lease l = { .renewed_ms = renewed };
        int r;

        snprintf(l.boot_id, sizeof(l.boot_id), "%s", a->boot_id);
        pthread_mutex_lock(&a->lock);
        l.heartbeat_ms = a->heartbeat_ms;
        l.lease_ms = a->lease_ms;
        l.margin_ms = a->margin_ms;
        pthread_mutex_unlock(&a->lock);
        r = hp_agent_lease_save(a->ops.run_dir, &l);
        if (r < 0 && !a->lease_unkept)
                fprintf(stderr,
                        "hwpassd: agent: cannot keep the lease in '%s': %s (an agent restarted "
                        "after a crash "
                        "counts its lease from its start)\n",
                        a->ops.run_dir, strerror(-r));
        a->lease_unkept = r < 0;
}

/* A restarted agent's lease is its predecessor's: the cluster's clock ran on. */
static void restore_lease(struct hp_agent *a)
{
        struct hp_agent_lease l;
        int64_t now = hp_mono_ms();

        if (hp_agent_lease_load(a->ops.run_dir, a->boot_id, now, &l) < 0)
                return;
        a->renewed = a->inherited = l.renewed_ms;
        a->heartbeat_ms = l.heartbeat_ms;
        a->lease_ms = l.lease_ms;
        a->margin_ms = l.margin_ms;
        fprintf(stderr,
                "hwpassd: agent: the lease was last renewed %lld ms ago (by the agent before this "
                "one)\n",
                (long long)(now - l.renewed_ms));
}

/* One heartbeat: sent, and its answer carried out while its lease lasts. */
static void beat(struct hp_agent *a)
{
        _cleanup_(json_decrefp) json_t *body = NULL, *answer = NULL;
        _cleanup_free_ char *err = NULL, *inv_text = NULL;
        bool full = false;
        long status = 0;
        int64_t sent, lease;
        int r;

        body = heartbeat_body(a, &full, &inv_text);
        if (!body)
                return;
        /* The lease counts from the request, not from reading the host for
         * it (a whole inventory can take a while). */
        sent = hp_mono_ms();
        r = hp_client_call(a->client, "POST", "/v1/agent/heartbeat", body, &status, &answer, &err);
        /* A heartbeat that took half its lease is close to costing it. */
        if (hp_mono_ms() - sent > a->lease_ms / 2)
                fprintf(stderr, "hwpassd: agent: the heartbeat took %lld ms (the lease is %lld ms)\n",
                        (long long)(hp_mono_ms() - sent), (long long)a->lease_ms);
        if (r < 0) {
                fprintf(stderr, "hwpassd: agent: heartbeat: %s\n", err ? err : strerror(-r));
                not_renewed(a);
                return;
        }
        if (status != 200) {
                fprintf(stderr, "hwpassd: agent: the controller %s refused the heartbeat (HTTP %ld): %s%s\n",
                        hp_client_current(a->client), status, answer_message(answer),
                        status == 401 ? " (was this host removed from the cluster? to join again, delete "
                                        CREDENTIAL_FILE " in the state directory and start with a new --join-token)"
                                      : "");
                not_renewed(a);
                return;
        }
        if (full) {
                free(a->sent_inventory);
                a->sent_inventory = TAKE_PTR(inv_text);
        }
        lease = json_integer_value(json_object_get(answer, "lease_ms"));
        if (lease > 0) {
                pthread_mutex_lock(&a->lock);
                a->lease_ms = lease;
                a->heartbeat_ms = json_integer_value(json_object_get(answer, "heartbeat_ms")) ?: a->heartbeat_ms;
                /* A controller before margins: as long as the lease. */
                a->margin_ms = json_integer_value(json_object_get(answer, "margin_ms")) ?: lease;
                pthread_mutex_unlock(&a->lock);
        }
        /* Acted on only within the lease it grants, counted from when it was asked. */
        if (hp_mono_ms() - sent >= a->lease_ms) {
                fprintf(stderr, "hwpassd: agent: the heartbeat's answer came after its lease ended: dropped\n");
                /* What it answered to the inventory (an adoption) is lost with it: send it again. */
                free(a->sent_inventory);
                a->sent_inventory = NULL;
                not_renewed(a);
                return;
        }
        pthread_mutex_lock(&a->lock);
        a->renewed = sent;
        pthread_mutex_unlock(&a->lock);
        keep_lease(a, sent);
        apply_answer(a, answer);
        if (hp_mono_ms() - sent > a->lease_ms / 2)
                fprintf(stderr, "hwpassd: agent: carrying out the heartbeat's answer took it to %lld ms (the lease "
                                "is %lld ms)\n",
                        (long long)(hp_mono_ms() - sent), (long long)a->lease_ms);
}

/* The lease's threads (the heartbeat and the isolation check) run ahead of
 * the host's VMs: a host busy with its own guests must still renew in time,
 * since a late renewal makes it power its VMs off as cut off, and a hung
 * one lets the watchdog reset it. Only these threads: a VM's start and stop
 * run at the usual priority (agent-runs.c), and so do the QEMUs they fork.
 * Without CAP_SYS_NICE they run as they were, each saying so once. */
#define LEASE_NICE (-10)

static void lease_priority(const char *thread)
{
        int r = hp_thread_nice(LEASE_NICE);

        if (r < 0)
                fprintf(stderr,
                        "hwpassd: agent: the %s runs at the usual priority (cannot set nice %d: "
                        "%s)\n",
                        thread, LEASE_NICE, strerror(-r));
}

static void *loop(void *userdata)
{
        struct hp_agent *a = userdata;
        struct timespec until;

        lease_priority("heartbeat");
        pthread_mutex_lock(&a->lock);
        while (!a->stop) {
                int64_t start = hp_mono_ms();

                pthread_mutex_unlock(&a->lock);
                beat(a);
                pthread_mutex_lock(&a->lock);
                /* The next beat one interval after this one began. */
                int64_t wait = a->heartbeat_ms - (hp_mono_ms() - start);
                if (wait < 0 || a->beat_soon)
                        wait = 0;
                a->beat_soon = false;
                until = hp_mono_after_ms(wait);
                while (!a->stop && pthread_cond_timedwait(&a->wake, &a->lock, &until) == 0)
                        ;
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

/* Whether this host is cut off: no controller answers on the network, nor
 * any isolation address (a refusal is an answer: the controller's process
 * may be down, its host and the network are not), within timeout_ms. */
static bool cut_off(struct hp_agent *a, int timeout_ms)
{
        _cleanup_strv_free_ char **where = NULL;

        for (size_t i = 0; a->controllers[i]; i++)
                if (hp_strv_push(&where, a->controllers[i]) < 0)
                        return false;
        for (size_t i = 0; a->cfg.isolation_addresses && a->cfg.isolation_addresses[i]; i++)
                if (hp_strv_push(&where, a->cfg.isolation_addresses[i]) < 0)
                        return false;
        return !hp_net_answers(where, timeout_ms);
}

/* The isolation thread (docs/cluster.md "Isolation"): once half a lease has
 * passed without a renewal, it asks the network whether this host is cut
 * off. If it is, the cluster will call the host failed once the lease and
 * its margin have passed, and restart its VMs elsewhere: they are stopped
 * here before the lease ends, so that none runs twice. If the network
 * answers, the controllers or their database are down, and the VMs keep
 * running: an outage of the cluster's own parts never powers it off. A
 * loaded host answers slowly: the network has half of what is left of the
 * lease to answer, the other half is for stopping the VMs. */
static void isolation_check(struct hp_agent *a)
{
        int64_t now = hp_mono_ms(), renewed, lease, left;
        bool renewed_since;
        int n;

        pthread_mutex_lock(&a->lock);
        renewed = a->renewed;
        lease = a->lease_ms;
        pthread_mutex_unlock(&a->lock);
        left = renewed + lease - now;
        if (renewed == 0 || a->isolated_for == renewed || now - renewed < lease / 2 || left <= 0 ||
            now - a->asked < lease / 4)
                return;
        a->asked = now;
        if (!cut_off(a, (int)(left / 2))) {
                fprintf(stderr, "hwpassd: agent: no renewal for %lld ms, but the network answers: the controllers "
                                "or their database are down; the VMs keep running\n",
                        (long long)(now - renewed));
                return;
        }
        /* A heartbeat answered while the network was asked: not cut off. */
        pthread_mutex_lock(&a->lock);
        renewed_since = a->renewed != renewed;
        pthread_mutex_unlock(&a->lock);
        if (renewed_since)
                return;
        a->isolated_for = renewed;
        left = renewed + lease - hp_mono_ms();
        n = hp_agent_runs_isolate(a->runs, &a->iso_ops, left,
                                  "the host was cut off from the cluster", false);
        fprintf(stderr, "hwpassd: agent: cut off from the cluster (no controller%s answers) with %lld ms of the "
                        "lease left: stopping %d VM%s (isolation response)\n",
                a->cfg.isolation_addresses ? " nor isolation address" : "", (long long)left, n, n == 1 ? "" : "s");
}

/* The fence (docs/cluster.md "Watchdog"): an agent restarted (a crash, an
 * upgrade) counts its lease from its predecessor's last renewal. When the
 * time after which the cluster may fail this host and restart its VMs
 * elsewhere has passed and no heartbeat of its own has renewed the lease
 * (it cannot know what the cluster did meanwhile), the runs HA would
 * restart elsewhere are stopped now, at once, as the watchdog would have
 * reset the host, so that none runs twice; they are recorded as the
 * isolation response's. Once it renewed, the isolation response decides. */
static void fence_check(struct hp_agent *a)
{
        int64_t now = hp_mono_ms(), renewed, inherited, after;
        int n;

        pthread_mutex_lock(&a->lock);
        renewed = a->renewed;
        inherited = a->inherited;
        after = hp_agent_fence_after_ms(a->heartbeat_ms, a->lease_ms, a->margin_ms);
        pthread_mutex_unlock(&a->lock);
        if (renewed == 0 || renewed != inherited || a->isolated_for == renewed ||
            now - renewed < after)
                return;
        a->isolated_for = renewed;
        n = hp_agent_runs_isolate(a->runs, &a->iso_ops, 0,
                                  "the agent was away longer than the cluster waits", true);
        fprintf(stderr,
                "hwpassd: agent: the lease was last renewed %lld ms ago, before this agent "
                "started, and no "
                "heartbeat has renewed it since: the cluster may fail this host now; stopping %d "
                "VM%s at once "
                "so that none runs twice\n",
                (long long)(now - renewed), n, n == 1 ? "" : "s");
}

/* The watchdog's timeout: the host must be reset before the cluster may
 * restart its VMs elsewhere (hp_agent_fence_after_ms()). */
static int watchdog_timeout(int64_t heartbeat_ms, int64_t lease_ms, int64_t margin_ms)
{
        return (int)(hp_agent_fence_after_ms(heartbeat_ms, lease_ms, margin_ms) / 1000);
}

/* Fed from the isolation thread (docs/cluster.md "Watchdog"): a hung agent
 * feeds it no more, nor does one whose isolation response has not stopped
 * its VMs by the lease's end (then with a timeout of a second): either way
 * the host is reset before the cluster restarts them elsewhere. */
static void watchdog_tick(struct hp_agent *a)
{
        int64_t now = hp_mono_ms(), renewed, heartbeat, lease, margin;
        int n = 0, r;

        if (!a->watchdog)
                return;
        pthread_mutex_lock(&a->lock);
        renewed = a->renewed;
        heartbeat = a->heartbeat_ms;
        lease = a->lease_ms;
        margin = a->margin_ms;
        pthread_mutex_unlock(&a->lock);
        if (renewed && a->isolated_for == renewed && now >= renewed + lease)
                n = hp_agent_runs_running(a->runs, &a->iso_ops, true);
        if (n > 0) {
                if (!a->starving) {
                        fprintf(stderr, "hwpassd: agent: %d VM%s the isolation response stops still run%s at the "
                                        "lease's end: the watchdog resets this host in a second, so that none runs "
                                        "twice\n",
                                n, n == 1 ? "" : "s", n == 1 ? "s" : "");
                        (void)hp_watchdog_set_timeout(a->watchdog, 1);
                        a->starving = true;
                }
                return;
        }
        if (a->starving)
                fprintf(stderr, "hwpassd: agent: the isolated VMs stopped: the watchdog is fed again\n");
        a->starving = false;
        r = hp_watchdog_set_timeout(a->watchdog, watchdog_timeout(heartbeat, lease, margin));
        if (r >= 0)
                r = hp_watchdog_feed(a->watchdog);
        if (r < 0)
                fprintf(stderr, "hwpassd: agent: cannot feed the watchdog: %s\n", strerror(-r));
}

static void *isolation_loop(void *userdata)
{
        struct hp_agent *a = userdata;
        struct timespec until;

        lease_priority("isolation check");
        pthread_mutex_lock(&a->lock);
        while (!a->stop) {
                pthread_mutex_unlock(&a->lock);
                fence_check(a);
                isolation_check(a);
                watchdog_tick(a);
                pthread_mutex_lock(&a->lock);
                until = hp_mono_after_ms(100);
                while (!a->stop && pthread_cond_timedwait(&a->wake, &a->lock, &until) == 0)
                        ;
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

static void read_boot_id(struct hp_agent *a)
{
        _cleanup_free_ char *id = NULL;

        if (hp_host_read(a->ops.host, "proc/sys/kernel/random/boot_id", &id) >= 0)
                snprintf(a->boot_id, sizeof(a->boot_id), "%s", hp_strstrip(id));
}

static int watchdog_error(const char *path, int r, char **ret_error)
{
        /* EPERM: the unit's device policy, which systemd resolves when it
         * starts the unit, from before the watchdog's driver was loaded. */
        const char *why =
                r == -ENOENT  ? " (no watchdog device here: 'modprobe softdog' gives one)"
                : r == -EBUSY ? " (another process holds it)"
                : r == -EPERM ? " (refused by the service's device policy: its driver was loaded "
                                "after hwpassd started; load it at boot, e.g. softdog in "
                                "/etc/modules-load.d/, and restart hwpassd)"
                              : "";

        return hp_errorf(ret_error, r, "cannot arm the watchdog '%s': %s%s", path, strerror(-r),
                         why);
}

int hp_agent_start(const struct hp_agent_config *cfg, struct hp_agent **ret, char **ret_error)
{
        _cleanup_(hp_agent_stopp) struct hp_agent *a = calloc(1, sizeof(*a));
        _cleanup_free_ char *credential = NULL;
        pthread_condattr_t ca;
        int r;

        *ret_error = NULL;
        if (!a)
                return -ENOMEM;
        pthread_mutex_init(&a->lock, NULL);
        pthread_mutex_init(&a->dev_lock, NULL);
        pthread_cond_init(&a->dev_wake, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&a->wake, &ca);
        pthread_condattr_destroy(&ca);
        a->cfg = *cfg;
        a->ops = *cfg->ops;
        a->ops.error = (struct hp_op_error){ 0 };
        snprintf(a->actor, sizeof(a->actor), "cluster");
        a->ops.actor = a->actor;
        if (hp_names_new(NULL, &a->names) >= 0)
                a->ops.names = a->names;
        a->heartbeat_ms = HP_HEARTBEAT_MS_DEFAULT;
        a->lease_ms = HP_LEASE_MS_DEFAULT;
        a->margin_ms = HP_LEASE_MS_DEFAULT;
        a->dev_ops = a->ops;
        a->iso_ops = a->ops;
        if (!(a->failed = json_object()) || !(a->failed_report = json_object()))
                return -ENOMEM;
        for (size_t i = 0; cfg->controllers[i]; i++)
                if (hp_strv_push(&a->controllers, cfg->controllers[i]) < 0)
                        return -ENOMEM;
        if (!hp_store_host_name_is_valid(cfg->name))
                return hp_errorf(ret_error, -EINVAL, "invalid host name '%.64s': 1-%d letters, digits, '-', '.' or '_'",
                                 cfg->name ?: "", HP_STORE_HOST_NAME_MAX);
        read_boot_id(a);
        restore_lease(a);
        /* Before a join that may wait for the controllers: it is armed later. */
        if (cfg->watchdog && access(cfg->watchdog, W_OK) < 0)
                return watchdog_error(cfg->watchdog, -errno, ret_error);
        r = hp_agent_runs_open(&a->ops, &a->runs);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot read the record of the cluster's VMs in '%s': %s",
                                 a->ops.state_dir, strerror(-r));
        r = credential_load(a, &credential, ret_error);
        if (r == -ENOENT)
                r = join(a, &credential, ret_error);
        if (r >= 0)
                r = client_new(a, credential, &a->client, ret_error);
        if (r < 0)
                return r;
        r = -pthread_create(&a->dev_thread, NULL, devices_loop, a);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot start the devices' thread: %s", strerror(-r));
        a->dev_running = true;
        r = -pthread_create(&a->thread, NULL, loop, a);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot start the heartbeat: %s", strerror(-r));
        a->running = true;
        /* Armed once the host is in the cluster, with the defaults' timeout
         * until a controller's answer gives the timings. */
        if (cfg->watchdog && (r = hp_watchdog_open(cfg->watchdog,
                                                   watchdog_timeout(a->heartbeat_ms, a->lease_ms, a->margin_ms),
                                                   &a->watchdog)) < 0)
                return watchdog_error(cfg->watchdog, r, ret_error);
        r = -pthread_create(&a->iso_thread, NULL, isolation_loop, a);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot start the isolation thread: %s", strerror(-r));
        a->iso_running = true;
        *ret = TAKE_PTR(a);
        return 0;
}

void hp_agent_stop(struct hp_agent *a)
{
        if (!a)
                return;
        /* The heartbeat and isolation threads wait on one condition. */
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_broadcast(&a->wake);
        pthread_mutex_unlock(&a->lock);
        if (a->running)
                pthread_join(a->thread, NULL);
        if (a->iso_running)
                pthread_join(a->iso_thread, NULL);
        if (a->dev_running) {
                pthread_mutex_lock(&a->dev_lock);
                a->dev_stop = true;
                pthread_cond_signal(&a->dev_wake);
                pthread_mutex_unlock(&a->dev_lock);
                pthread_join(a->dev_thread, NULL);
        }
        if (a->watchdog) {
                /* Disarmed when none of the cluster's VMs runs here. Otherwise
                 * it stays armed: an agent that is not back in time (a
                 * restart is) gets the host reset before the cluster restarts
                 * them elsewhere. */
                int n = hp_agent_runs_running(a->runs, &a->ops, false);

                if (n > 0)
                        fprintf(stderr, "hwpassd: agent: %d of the cluster's VMs run here: the watchdog stays armed "
                                        "and resets this host in %d s unless hwpassd is back\n",
                                n, hp_watchdog_timeout(a->watchdog));
                hp_watchdog_close(a->watchdog, n == 0);
        }
        hp_client_free(a->client);
        hp_names_free(a->names);
        hp_agent_runs_free(a->runs);
        hp_strv_free(a->controllers);
        free(a->sent_inventory);
        json_decref(a->failed);
        json_decref(a->failed_report);
        json_decref(a->dev_todo);
        json_decref(a->paths);
        hp_op_error_done(&a->dev_ops.error);
        pthread_cond_destroy(&a->dev_wake);
        pthread_mutex_destroy(&a->dev_lock);
        hp_op_error_done(&a->ops.error);
        pthread_cond_destroy(&a->wake);
        pthread_mutex_destroy(&a->lock);
        free(a);
}

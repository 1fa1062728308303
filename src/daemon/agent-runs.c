/* The cluster's VMs on an agent's host (agent-runs.h). The record keeps, per
 * VM, the highest epoch this host started (or tried to), and the last
 * start's error; it is written whole (a new file renamed over the old) and
 * synced before the start it announces, so a crash never forgets that an
 * epoch ran, and an epoch never runs twice.
 *
 * Starts and stops run in threads of their own, one per VM at a time: a
 * stop may wait out a guest's ACPI timeout and a start binds devices and
 * boots QEMU, and the heartbeat, which keeps the host's lease, must not
 * wait for either. While one runs, the VM is reported "starting" or
 * "stopping", whatever the store says yet. The record and the busy list
 * are shared with those threads under the lock. */
#include "agent-runs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc/reconcile.h"
#include "ops/ops.h"
#include "ops/vm.h"
#include "store/store.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/sched.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"
#include "vm/supervise.h"

#define RUNS_FILE "cluster-runs.json"
/* A stop the cluster asks for: ACPI first, forced after this. */
#define STOP_TIMEOUT_S 30

struct hp_agent_runs {
        char path[1024];
        pthread_mutex_t lock;
        pthread_cond_t idle; /* signalled when a job ends */
        json_t *record;      /* {"VM": {"epoch": N, "error": "..."?}} */
        json_t *busy;        /* {"VM": "starting" | "stopping"}: a job runs for it */
        unsigned jobs;
};

/* A start or a stop, in its own thread, with its own copy of the context. */
struct job {
        struct hp_agent_runs *runs;
        struct hp_ops_ctx ops;
        char *vm, *why;
        int64_t epoch;
        json_t *spec;       /* a start's; NULL for a stop */
        bool force;         /* a stop's: no ACPI first */
        uint64_t timeout_s; /* a stop's ACPI wait; 0: STOP_TIMEOUT_S */
};

int hp_agent_runs_open(const struct hp_ops_ctx *ops, struct hp_agent_runs **ret)
{
        _cleanup_free_ struct hp_agent_runs *r = calloc(1, sizeof(*r));
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;

        if (!r)
                return -ENOMEM;
        snprintf(r->path, sizeof(r->path), "%s/%s", ops->state_dir, RUNS_FILE);
        fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno != ENOENT)
                return -errno;
        if (fd >= 0 && hp_read_all(fd, 16 << 20, &text, NULL) < 0)
                return -EBADMSG;
        r->record = text ? json_loads(text, 0, NULL) : json_object();
        if (!json_is_object(r->record)) {
                json_decref(r->record);
                return -EBADMSG;
        }
        r->busy = json_object();
        if (!r->busy) {
                json_decref(r->record);
                return -ENOMEM;
        }
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->idle, NULL);
        *ret = TAKE_PTR(r);
        return 0;
}

void hp_agent_runs_free(struct hp_agent_runs *r)
{
        if (!r)
                return;
        /* The jobs hold r: a start or stop under way is let finish. */
        pthread_mutex_lock(&r->lock);
        while (r->jobs > 0)
                pthread_cond_wait(&r->idle, &r->lock);
        pthread_mutex_unlock(&r->lock);
        pthread_cond_destroy(&r->idle);
        pthread_mutex_destroy(&r->lock);
        json_decref(r->record);
        json_decref(r->busy);
        free(r);
}

static int save(struct hp_agent_runs *r)
{
        _cleanup_free_ char *text = json_dumps(r->record, JSON_COMPACT | JSON_SORT_KEYS);

        if (!text)
                return -ENOMEM;
        return hp_write_file_replace(r->path, text, strlen(text), true);
}

static json_int_t epoch_of(struct hp_agent_runs *r, const char *vm)
{
        return json_integer_value(json_object_get(json_object_get(r->record, vm), "epoch"));
}

/* A run whose supervisor is gone (killed: its QEMU went with it, as
 * hp_vm_user_become() sets up) though the host's record says it runs: put
 * right there (devices released, state off, a "vm-lost" event), as the
 * host's own commands would on their next look at it, so that the cluster
 * hears the run ended instead of keeping it placed, its devices held. */
static void settle_lost(struct hp_ops_ctx *ops, const char *vm)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };

        if (hp_ops_vm_load(ops, vm, "settle", false, &v) < 0) {
                fprintf(stderr, "hwpassd: VM '%s': its supervisor is gone; cannot record it: %s\n",
                        vm, ops->error.message);
                hp_op_error_done(&ops->error);
                return;
        }
        fprintf(stderr,
                "hwpassd: VM '%s': its supervisor was gone: recorded off, its devices released\n",
                vm);
}

json_t *hp_agent_runs_report(struct hp_agent_runs *r, struct hp_ops_ctx *ops)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        json_t *out = json_array(), *e;
        const char *vm;

        if (hp_ops_store_open_readonly(ops, &s) < 0)
                hp_op_error_done(&ops->error);
        pthread_mutex_lock(&r->lock);
        json_object_foreach(r->record, vm, e) {
                _cleanup_(hp_vm_record_done) struct hp_vm_record rec = { 0 };
                const char *state = json_string_value(json_object_get(r->busy, vm));

                if (!state)
                        state = s && hp_store_vm_get(s, vm, &rec) >= 0 ? rec.state : "off";
                if (rec.state && hp_vm_record_orphaned(&rec)) {
                        settle_lost(ops, vm);
                        state = "off";
                }
                json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:O?, s:O?}", "name", vm, "epoch",
                                                     json_integer_value(json_object_get(e, "epoch")), "state", state,
                                                     "error", json_object_get(e, "error"), "isolated",
                                                     json_object_get(e, "isolated")));
        }
        pthread_mutex_unlock(&r->lock);
        return out;
}

/* The epoch recorded, synced, before its start is tried: it runs at most
 * once. With it, whether HA would restart the VM elsewhere should this host
 * fail (the fence stops only such runs; unknown, an adopted one's: as if). */
static int record_epoch(struct hp_agent_runs *r, const char *name, int64_t epoch, bool elsewhere)
{
        json_t *entry = json_pack("{s:I, s:b}", "epoch", (json_int_t)epoch, "elsewhere", elsewhere);

        if (!entry || json_object_set_new(r->record, name, entry) < 0)
                return -ENOMEM;
        return save(r);
}

json_t *hp_agent_runs_local_vms(struct hp_agent_runs *r, struct hp_ops_ctx *ops)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_vm_record *v = NULL;
        struct hp_dev_config *d = NULL;
        size_t n = 0, nd = 0;
        json_t *out = json_array();

        if (hp_ops_store_open_readonly(ops, &s) < 0 || !s || hp_store_vm_list(s, &v, &n) < 0 ||
            hp_store_device_list(s, &d, &nd) < 0) {
                hp_op_error_done(&ops->error);
                hp_vm_records_free(v, n);
                return out;
        }
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; out && i < n; i++) {
                json_t *spec = json_loads(v[i].spec_json, 0, NULL), *held = json_array();

                if (json_object_get(r->record, v[i].name) || !spec || !held) {
                        json_decref(spec);
                        json_decref(held);
                        continue;
                }
                for (size_t k = 0; k < nd; k++)
                        if (d[k].assigned_vm && streq(d[k].assigned_vm, v[i].name))
                                json_array_append_new(held, json_string(d[k].address));
                json_array_append_new(out, json_pack("{s:s, s:o, s:s, s:o}", "name", v[i].name, "spec", spec, "state",
                                                     v[i].state, "devices", held));
        }
        pthread_mutex_unlock(&r->lock);
        hp_vm_records_free(v, n);
        hp_dev_configs_free(d, nd);
        return out;
}

int hp_agent_runs_adopted(struct hp_agent_runs *r, const char *vm, int64_t epoch)
{
        int rc = 0;

        pthread_mutex_lock(&r->lock);
        if (!json_object_get(r->record, vm))
                rc = record_epoch(r, vm, epoch, true);
        pthread_mutex_unlock(&r->lock);
        return rc;
}

/* The VM's definition on this host: the spec the cluster gave, stored
 * (made, or replaced while it is off). */
static int define(struct hp_ops_ctx *ops, const char *name, json_t *spec_doc, char **ret_error)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_vm_record_done) struct hp_vm_record rec = { 0 };
        _cleanup_free_ char *text = NULL;
        int r = hp_vm_spec_from_json(spec_doc, &spec, ret_error);

        if (r < 0)
                return r;
        if (!streq(spec.name, name))
                return hp_errorf(ret_error, -EINVAL, "the cluster's spec of '%s' names '%s'", name, spec.name);
        r = hp_vm_spec_to_text(&spec, &text);
        if (r >= 0)
                r = hp_ops_store_open(ops, &s);
        if (r < 0)
                return hp_errorf(ret_error, r, "%s", ops->error.message ?: strerror(-r));
        r = hp_store_vm_get(s, name, &rec);
        if (r == -ENOENT)
                r = hp_store_vm_create(s, name, text);
        else if (r >= 0 && !streq(rec.state, "off"))
                r = -EBUSY;
        else if (r >= 0)
                r = hp_store_vm_update_spec(s, name, text);
        return r < 0 ? hp_errorf(ret_error, r, "cannot store VM '%s' here: %s", name, strerror(-r)) : 0;
}

/* The control plane's tests on the fake kernel (tests/cluster-claims,
 * cluster-faults...), where QEMU cannot have a VFIO device: with
 * HWPASS_TEST_NO_QEMU set, a run is recorded as state, nothing started or
 * stopped; set to "devices", only the runs of VMs with devices are, and a
 * VM without starts its QEMU for real (its supervisor can then be killed). */
static bool recorded_only(struct hp_ops_ctx *ops, const char *name, json_t *spec)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_vm_record_done) struct hp_vm_record rec = { 0 };
        const char *how = getenv("HWPASS_TEST_NO_QEMU");

        if (!how || !streq(how, "devices"))
                return how != NULL;
        if (spec)
                return json_array_size(json_object_get(spec, "pci")) > 0 ||
                       json_array_size(json_object_get(spec, "usb")) > 0;
        /* A stop: the run was recorded only if no supervisor was recorded for it. */
        if (hp_ops_store_open_readonly(ops, &s) < 0 || hp_store_vm_get(s, name, &rec) < 0) {
                hp_op_error_done(&ops->error);
                return false;
        }
        return rec.pid <= 0;
}

static int no_qemu(struct hp_ops_ctx *ops, const char *name, const char *state, char **ret_error)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        int r = hp_ops_store_open(ops, &s);

        if (r >= 0)
                r = hp_store_vm_set_runtime(s, name, state, 0, NULL, streq(state, "off") ? 0 : (int64_t)time(NULL));
        hp_op_error_done(&ops->error);
        return r < 0 ? hp_errorf(ret_error, r, "cannot record VM '%s' as %s: %s", name, state, strerror(-r)) : 0;
}

/* The last start's error, on the record of that epoch. */
static void record_error(struct hp_agent_runs *r, const char *name, int64_t epoch, const char *err)
{
        json_t *entry;

        pthread_mutex_lock(&r->lock);
        entry = json_object_get(r->record, name);
        if (entry && json_integer_value(json_object_get(entry, "epoch")) == epoch) {
                json_object_set_new(entry, "error", json_string(err ?: "?"));
                (void)save(r);
        }
        pthread_mutex_unlock(&r->lock);
}

static void start(struct job *j)
{
        _cleanup_free_ char *err = NULL;
        json_t *doc = NULL;
        int rc = j->spec ? define(&j->ops, j->vm, j->spec, &err)
                         : hp_errorf(&err, -EINVAL, "the controller sent no spec");

        if (rc >= 0 && recorded_only(&j->ops, j->vm, j->spec)) {
                rc = no_qemu(&j->ops, j->vm, "running", &err);
        } else if (rc >= 0) {
                rc = hp_ops_vm_start(&j->ops, j->vm, &doc);
                if (rc < 0)
                        err = strdup(j->ops.error.message ?: strerror(-rc));
                hp_op_error_done(&j->ops.error);
                json_decref(doc);
        }
        if (rc < 0)
                record_error(j->runs, j->vm, j->epoch, err);
        fprintf(stderr, "hwpassd: agent: VM '%s' at epoch %lld: %s%s\n", j->vm, (long long)j->epoch,
                rc < 0 ? "start failed: " : "started", rc < 0 ? (err ?: "?") : "");
}

static void stop(struct job *j)
{
        _cleanup_free_ char *err = NULL;
        json_t *doc = NULL;
        int rc = recorded_only(&j->ops, j->vm, NULL)
                         ? no_qemu(&j->ops, j->vm, "off", &err)
                         : hp_ops_vm_stop(&j->ops, j->vm, j->force,
                                          j->timeout_s ? j->timeout_s : STOP_TIMEOUT_S, &doc);

        json_t *forced = json_object_get(doc, "forced_after");
        char how[96] = "";

        if (forced)
                snprintf(how, sizeof(how), " (forced after %" JSON_INTEGER_FORMAT " s: the guest ignored ACPI)",
                         json_integer_value(forced));
        fprintf(stderr, "hwpassd: agent: VM '%s' (%s): %s%s%s\n", j->vm, j->why, rc < 0 ? "stop failed: " : "stopped",
                rc < 0 ? (err ?: j->ops.error.message ?: strerror(-rc)) : "", how);
        hp_op_error_done(&j->ops.error);
        json_decref(doc);
}

static void job_free(struct job *j)
{
        hp_op_error_done(&j->ops.error);
        json_decref(j->spec);
        free(j->vm);
        free(j->why);
        free(j);
}

static void *job_main(void *userdata)
{
        struct job *j = userdata;
        struct hp_agent_runs *r = j->runs;

        /* Made by the heartbeat, ahead of the VMs (agent.c): back to the
         * usual priority, for the supervisor and QEMU this start forks. */
        (void)hp_thread_nice(0);
        if (j->epoch > 0)
                start(j);
        else
                stop(j);
        pthread_mutex_lock(&r->lock);
        json_object_del(r->busy, j->vm);
        r->jobs--;
        pthread_cond_broadcast(&r->idle);
        pthread_mutex_unlock(&r->lock);
        job_free(j);
        return NULL;
}

/* A start (epoch > 0) or a stop of vm in a thread of its own; the VM busy
 * until it ends. A stop may be forced, or given its ACPI wait (0: the
 * default). Called with the lock held. */
static int job_spawn(struct hp_agent_runs *r, const struct hp_ops_ctx *ops, const char *vm, int64_t epoch,
                     json_t *spec, const char *why, bool force, uint64_t timeout_s)
{
        struct job *j = calloc(1, sizeof(*j));
        pthread_attr_t attr;
        pthread_t t;
        int rc;

        if (!j || !(j->vm = strdup(vm)) || !(j->why = strdup(why ?: "")) ||
            json_object_set_new(r->busy, vm, json_string(epoch > 0 ? "starting" : "stopping")) < 0) {
                if (j)
                        job_free(j);
                return -ENOMEM;
        }
        j->runs = r;
        j->ops = *ops;
        j->ops.error = (struct hp_op_error){ 0 };
        j->epoch = epoch;
        j->spec = json_incref(spec);
        j->force = force;
        j->timeout_s = timeout_s;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = -pthread_create(&t, &attr, job_main, j);
        pthread_attr_destroy(&attr);
        if (rc < 0) {
                json_object_del(r->busy, vm);
                job_free(j);
                return rc;
        }
        r->jobs++;
        return 0;
}

/* The runs this host has now: recorded VMs that are not off. */
static int local_runs(struct hp_agent_runs *r, struct hp_ops_ctx *ops, struct hp_run_local **ret, size_t *ret_n,
                      struct hp_vm_record **ret_recs, size_t *ret_nrecs)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_run_local *l;
        size_t n = 0;
        int rc = hp_ops_store_open_readonly(ops, &s);

        *ret_recs = NULL;
        *ret_nrecs = 0;
        if (rc < 0 || !s) {
                hp_op_error_done(&ops->error);
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        rc = hp_store_vm_list(s, ret_recs, ret_nrecs);
        if (rc < 0)
                return rc;
        l = calloc(*ret_nrecs + 1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < *ret_nrecs; i++) {
                const struct hp_vm_record *v = &(*ret_recs)[i];
                json_int_t epoch = epoch_of(r, v->name);

                if (epoch < 1 || streq(v->state, "off"))
                        continue;
                l[n++] = (struct hp_run_local){ .vm = v->name,
                                                .epoch = epoch,
                                                .state = streq(v->state, "running")    ? HP_RUN_RUNNING
                                                         : streq(v->state, "stopping") ? HP_RUN_STOPPING
                                                                                       : HP_RUN_STARTING };
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

/* Whether the run of vm this host stops runs elsewhere now: wanted here at
 * a newer epoch, or neither wanted nor asked to stop (see
 * hp_agent_runs_apply). */
static bool runs_elsewhere(json_t *vms, json_t *stops, const char *vm)
{
        size_t i;
        json_t *e;

        json_array_foreach (vms, i, e)
                if (streq(json_string_value(json_object_get(e, "name")) ?: "", vm))
                        return true;
        return json_is_object(stops) && !json_object_get(stops, vm);
}

static bool apply_locked(struct hp_agent_runs *r, struct hp_ops_ctx *ops, json_t *vms,
                         json_t *stops)
{
        struct hp_vm_record *recs = NULL;
        struct hp_run_local *local = NULL;
        struct hp_reconcile_step *steps = NULL;
        size_t n_local = 0, n_recs = 0, n_steps = 0, n_want = 0, n_seen = 0, i;
        _cleanup_free_ struct hp_run_desired *want = calloc(json_array_size(vms) + 1, sizeof(*want));
        _cleanup_free_ struct hp_run_seen *seen = calloc(json_object_size(r->record) + 1, sizeof(*seen));
        const char *vm;
        json_t *e;
        bool settled = true;
        int rc;

        if (!want || !seen)
                return false;
        json_array_foreach(vms, i, e) {
                const char *name = json_string_value(json_object_get(e, "name"));
                json_int_t epoch = json_integer_value(json_object_get(e, "epoch"));

                if (name && epoch >= 1)
                        want[n_want++] = (struct hp_run_desired){ .vm = name, .epoch = epoch };
        }
        json_object_foreach(r->record, vm, e)
                seen[n_seen++] = (struct hp_run_seen){ .vm = vm, .epoch = json_integer_value(json_object_get(e, "epoch")) };
        rc = local_runs(r, ops, &local, &n_local, &recs, &n_recs);
        if (rc >= 0)
                rc = hp_reconcile_plan(want, n_want, local, n_local, seen, n_seen, &steps, &n_steps);
        if (rc < 0)
                fprintf(stderr, "hwpassd: agent: cannot plan the cluster's VMs: %s\n", strerror(-rc));
        json_object_foreach(r->busy, vm, e)
                if (streq(json_string_value(e), "stopping"))
                        settled = false;
        for (size_t k = 0; rc >= 0 && k < n_steps; k++) {
                const struct hp_reconcile_step *st = &steps[k];
                json_t *spec = NULL;
                int jr = 0;

                /* One job per VM at a time: the next beat plans again once it ended. */
                if (json_object_get(r->busy, st->vm) && st->action != HP_RECONCILE_REFUSE)
                        continue;
                switch (st->action) {
                case HP_RECONCILE_STOP: {
                        /* Its new run may be starting already: no ACPI wait. */
                        bool now = runs_elsewhere(vms, stops, st->vm);

                        settled = false;
                        jr = job_spawn(r, ops, st->vm, 0, NULL,
                                       now ? "it runs elsewhere now: powered off at once" : st->why,
                                       now, 0);
                        break;
                }
                case HP_RECONCILE_START: {
                        bool elsewhere = true;

                        json_array_foreach(vms, i, e)
                                if (streq(json_string_value(json_object_get(e, "name")) ?: "",
                                          st->vm)) {
                                        spec = json_object_get(e, "spec");
                                        elsewhere = !json_is_false(json_object_get(e, "elsewhere"));
                                }
                        if (record_epoch(r, st->vm, st->epoch, elsewhere) < 0) {
                                fprintf(stderr, "hwpassd: agent: VM '%s': cannot record epoch %lld in '%s': not started\n",
                                        st->vm, (long long)st->epoch, r->path);
                                break;
                        }
                        jr = job_spawn(r, ops, st->vm, st->epoch, spec, NULL, false, 0);
                        if (jr < 0)
                                record_error(r, st->vm, st->epoch, "the agent could not start a thread for it");
                        break;
                }
                case HP_RECONCILE_REFUSE:
                        fprintf(stderr, "hwpassd: agent: VM '%s' at epoch %lld refused: %s\n", st->vm,
                                (long long)st->epoch, st->why);
                        break;
                }
                if (jr < 0)
                        fprintf(stderr, "hwpassd: agent: VM '%s': cannot %s it: %s\n", st->vm,
                                st->action == HP_RECONCILE_STOP ? "stop" : "start", strerror(-jr));
        }
        free(steps);
        free(local);
        hp_vm_records_free(recs, n_recs);
        return settled && rc >= 0;
}

bool hp_agent_runs_apply(struct hp_agent_runs *r, struct hp_ops_ctx *ops, json_t *vms,
                         json_t *stops)
{
        bool settled;

        pthread_mutex_lock(&r->lock);
        settled = apply_locked(r, ops, vms, stops);
        pthread_mutex_unlock(&r->lock);
        return settled;
}

/* What the VM's isolation is, from its definition here (power-off when it
 * cannot be read: a VM is never left running by mistake). */
static enum hp_vm_isolation isolation_of(struct hp_store *s, const char *vm, bool *ret_running)
{
        _cleanup_(hp_vm_record_done) struct hp_vm_record rec = { 0 };
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_free_ char *err = NULL;

        *ret_running = false;
        if (!s || hp_store_vm_get(s, vm, &rec) < 0)
                return HP_VM_ISOLATION_POWER_OFF;
        *ret_running = !streq(rec.state, "off");
        if (hp_vm_spec_from_text(rec.spec_json, &spec, &err) < 0)
                return HP_VM_ISOLATION_POWER_OFF;
        return spec.isolation;
}

int hp_agent_runs_isolate(struct hp_agent_runs *r, struct hp_ops_ctx *ops, int64_t left_ms,
                          const char *why, bool elsewhere_only)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        const char *vm;
        json_t *e;
        int n = 0;

        if (hp_ops_store_open_readonly(ops, &s) < 0)
                hp_op_error_done(&ops->error);
        pthread_mutex_lock(&r->lock);
        json_object_foreach(r->record, vm, e) {
                bool running;
                enum hp_vm_isolation iso = isolation_of(s, vm, &running);

                if (!running || iso == HP_VM_ISOLATION_LEAVE_RUNNING ||
                    json_object_get(r->busy, vm) ||
                    (elsewhere_only && json_is_false(json_object_get(e, "elsewhere"))))
                        continue;
                json_object_set_new(e, "isolated", json_true());
                json_object_set_new(e, "error",
                                    json_sprintf("stopped by the isolation response: %s", why));
                if (save(r) < 0)
                        fprintf(stderr, "hwpassd: agent: cannot record VM '%s' as isolated in '%s'\n", vm, r->path);
                /* A shutdown is forced off a second before the lease ends. */
                if (job_spawn(r, ops, vm, 0, NULL,
                              iso == HP_VM_ISOLATION_SHUTDOWN ? "isolated: shut down" : "isolated: powered off",
                              iso != HP_VM_ISOLATION_SHUTDOWN,
                              left_ms > 2000 ? (uint64_t)(left_ms - 1000) / 1000 : 1) >= 0)
                        n++;
        }
        pthread_mutex_unlock(&r->lock);
        return n;
}

int hp_agent_runs_running(struct hp_agent_runs *r, struct hp_ops_ctx *ops, bool isolated_only)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        const char *vm;
        json_t *e;
        int n = 0;

        if (hp_ops_store_open_readonly(ops, &s) < 0)
                hp_op_error_done(&ops->error);
        pthread_mutex_lock(&r->lock);
        json_object_foreach(r->record, vm, e) {
                bool running;

                if (isolated_only && !json_is_true(json_object_get(e, "isolated")))
                        continue;
                (void)isolation_of(s, vm, &running);
                /* A store that cannot be read: counted as running, so the
                 * watchdog is never given up on by mistake. */
                n += running || !s;
        }
        pthread_mutex_unlock(&r->lock);
        return n;
}

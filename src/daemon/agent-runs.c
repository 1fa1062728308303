/* The cluster's VMs on an agent's host (agent-runs.h). The record keeps, per
 * VM, the highest epoch this host started (or tried to), and the last
 * start's error; it is written whole (a new file renamed over the old) and
 * synced before the start it announces, so a crash never forgets that an
 * epoch ran, and an epoch never runs twice. */
#include "agent-runs.h"

#include <errno.h>
#include <fcntl.h>
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
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

#define RUNS_FILE "cluster-runs.json"
/* A stop the cluster asks for: ACPI first, forced after this. */
#define STOP_TIMEOUT_S 30

struct hp_agent_runs {
        char path[1024];
        json_t *record; /* {"VM": {"epoch": N, "error": "..."?}} */
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
        *ret = TAKE_PTR(r);
        return 0;
}

void hp_agent_runs_free(struct hp_agent_runs *r)
{
        if (!r)
                return;
        json_decref(r->record);
        free(r);
}

static int save(struct hp_agent_runs *r)
{
        _cleanup_free_ char *text = json_dumps(r->record, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_close_ int fd = -1;
        char tmp[1100];

        if (!text)
                return -ENOMEM;
        snprintf(tmp, sizeof(tmp), "%s.tmp", r->path);
        (void)unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || hp_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0 || rename(tmp, r->path) < 0)
                return -errno;
        return 0;
}

static json_int_t epoch_of(struct hp_agent_runs *r, const char *vm)
{
        return json_integer_value(json_object_get(json_object_get(r->record, vm), "epoch"));
}

json_t *hp_agent_runs_report(struct hp_agent_runs *r, struct hp_ops_ctx *ops)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        json_t *out = json_array(), *e;
        const char *vm;

        if (hp_ops_store_open_readonly(ops, &s) < 0)
                hp_op_error_done(&ops->error);
        json_object_foreach(r->record, vm, e) {
                _cleanup_(hp_vm_record_done) struct hp_vm_record rec = { 0 };
                const char *state = s && hp_store_vm_get(s, vm, &rec) >= 0 ? rec.state : "off";

                json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:O?}", "name", vm, "epoch",
                                                     json_integer_value(json_object_get(e, "epoch")), "state", state,
                                                     "error", json_object_get(e, "error")));
        }
        return out;
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

static int no_qemu(struct hp_ops_ctx *ops, const char *name, char **ret_error)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        int r = hp_ops_store_open(ops, &s);

        if (r >= 0)
                r = hp_store_vm_set_runtime(s, name, "running", 0, NULL, (int64_t)time(NULL));
        hp_op_error_done(&ops->error);
        return r < 0 ? hp_errorf(ret_error, r, "cannot record VM '%s' as running: %s", name, strerror(-r)) : 0;
}

static void start(struct hp_agent_runs *r, struct hp_ops_ctx *ops, const char *name, int64_t epoch, json_t *spec)
{
        _cleanup_free_ char *err = NULL;
        json_t *doc = NULL, *entry = json_pack("{s:I}", "epoch", (json_int_t)epoch);
        int rc;

        /* The epoch is recorded before anything is tried: it runs at most once. */
        if (!entry || json_object_set_new(r->record, name, entry) < 0 || save(r) < 0) {
                fprintf(stderr, "hwpassd: agent: VM '%s': cannot record epoch %lld in '%s': not started\n", name,
                        (long long)epoch, r->path);
                return;
        }
        rc = spec ? define(ops, name, spec, &err) : hp_errorf(&err, -EINVAL, "the controller sent no spec");
        if (rc >= 0 && getenv("HWPASS_TEST_NO_QEMU")) {
                /* The claims test only (tests/cluster-claims): what it
                 * checks is the controllers' claims, not launches (those
                 * the lab shows), so the run is recorded, nothing started. */
                rc = no_qemu(ops, name, &err);
        } else if (rc >= 0) {
                rc = hp_ops_vm_start(ops, name, &doc);
                if (rc < 0)
                        err = strdup(ops->error.message ?: strerror(-rc));
                hp_op_error_done(&ops->error);
                json_decref(doc);
        }
        if (rc < 0) {
                json_object_set_new(entry, "error", json_string(err ?: "?"));
                (void)save(r);
        }
        fprintf(stderr, "hwpassd: agent: VM '%s' at epoch %lld: %s%s\n", name, (long long)epoch,
                rc < 0 ? "start failed: " : "started", rc < 0 ? (err ?: "?") : "");
}

static void stop(struct hp_ops_ctx *ops, const char *name, const char *why)
{
        json_t *doc = NULL;
        int rc = hp_ops_vm_stop(ops, name, false, STOP_TIMEOUT_S, &doc);

        fprintf(stderr, "hwpassd: agent: VM '%s' (%s): %s%s\n", name, why, rc < 0 ? "stop failed: " : "stopped",
                rc < 0 ? (ops->error.message ?: strerror(-rc)) : "");
        hp_op_error_done(&ops->error);
        json_decref(doc);
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

void hp_agent_runs_apply(struct hp_agent_runs *r, struct hp_ops_ctx *ops, json_t *vms)
{
        struct hp_vm_record *recs = NULL;
        struct hp_run_local *local = NULL;
        struct hp_reconcile_step *steps = NULL;
        size_t n_local = 0, n_recs = 0, n_steps = 0, n_want = 0, n_seen = 0, i;
        _cleanup_free_ struct hp_run_desired *want = calloc(json_array_size(vms) + 1, sizeof(*want));
        _cleanup_free_ struct hp_run_seen *seen = calloc(json_object_size(r->record) + 1, sizeof(*seen));
        const char *vm;
        json_t *e;
        int rc;

        if (!want || !seen)
                return;
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
        for (size_t k = 0; rc >= 0 && k < n_steps; k++) {
                const struct hp_reconcile_step *st = &steps[k];
                json_t *spec = NULL;

                switch (st->action) {
                case HP_RECONCILE_STOP:
                        stop(ops, st->vm, st->why);
                        break;
                case HP_RECONCILE_START:
                        json_array_foreach(vms, i, e)
                                if (streq(json_string_value(json_object_get(e, "name")) ?: "", st->vm))
                                        spec = json_object_get(e, "spec");
                        start(r, ops, st->vm, st->epoch, spec);
                        break;
                case HP_RECONCILE_REFUSE:
                        fprintf(stderr, "hwpassd: agent: VM '%s' at epoch %lld refused: %s\n", st->vm,
                                (long long)st->epoch, st->why);
                        break;
                }
        }
        free(steps);
        free(local);
        hp_vm_records_free(recs, n_recs);
}

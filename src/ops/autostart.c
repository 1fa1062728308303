/* The host's VM startup and shutdown. VMs with an autostart order start
 * lowest first (then by name), each followed by its delay before the next.
 * At shutdown every other VM that still runs stops first (it may depend on
 * them), then they stop in reverse order. One VM that fails does not hold
 * the others back; each VM is its own operation under its own lock. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/specjson.h"

struct entry {
        char name[HP_VM_NAME_MAX + 1];
        int order; /* INT32_MAX: none */
        unsigned delay;
};

static int entry_cmp(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;

        if (x->order != y->order)
                return x->order < y->order ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* Autostart VMs in start order; with everything, the others follow them (as
 * order INT32_MAX), so a reverse walk stops those first. A VM stored damaged
 * is skipped (it cannot be started or stopped by name either). */
static int load_entries(struct hp_ops_ctx *c, bool everything, struct entry **ret, size_t *ret_n)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ struct entry *list = NULL;
        struct hp_vm_record *recs = NULL;
        size_t n = 0, k = 0;
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        r = hp_store_vm_list(s, &recs, &n);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot list the VMs in '%s'", c->db);
        list = calloc(n + 1, sizeof(*list));
        for (size_t i = 0; list && i < n; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
                _cleanup_free_ char *err = NULL;

                if (hp_vm_spec_from_text(recs[i].spec_json, &spec, &err) < 0 ||
                    (spec.autostart_order < 0 && !everything))
                        continue;
                snprintf(list[k].name, sizeof(list[k].name), "%s", spec.name);
                list[k].order = spec.autostart_order < 0 ? INT32_MAX : spec.autostart_order;
                list[k].delay = spec.autostart_delay;
                k++;
        }
        hp_vm_records_free(recs, n);
        if (!list)
                return hp_op_oom(c);
        qsort(list, k, sizeof(*list), entry_cmp);
        *ret = TAKE_PTR(list);
        *ret_n = k;
        return 0;
}

/* One VM's outcome, given to progress and kept for the answer; a failure
 * carries the operation's error. */
static int report(struct hp_ops_ctx *c, json_t *list, const struct entry *e, const char *result,
                  const char *state, hp_ops_progress_fn progress, void *userdata)
{
        json_t *o = json_pack("{s:s, s:o?, s:s, s:s?, s:s?}", "name", e->name, "order",
                              e->order == INT32_MAX ? NULL : json_integer(e->order), "result", result, "state",
                              state, "error", streq(result, "failed") ? c->error.message : NULL);

        hp_op_error_done(&c->error);
        if (!o || json_array_append_new(list, o) < 0)
                return hp_op_oom(c);
        if (progress)
                progress(o, userdata);
        return 0;
}

static json_t *summary(json_t *list, size_t done, size_t failed)
{
        return json_pack("{s:O, s:i, s:i}", "vms", list, "done", (json_int_t)done, "failed", (json_int_t)failed);
}

int hp_ops_host_start_vms(struct hp_ops_ctx *c, hp_ops_progress_fn progress, void *userdata, json_t **ret)
{
        _cleanup_free_ struct entry *list = NULL;
        _cleanup_(json_decrefp) json_t *out = json_array();
        size_t n = 0, failed = 0, started = 0;
        int r = out ? load_entries(c, false, &list, &n) : hp_op_oom(c);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };

                r = hp_ops_vm_load(c, list[i].name, "host start-vms", true, &v);
                if (r >= 0 && !streq(v.rec.state, "off")) {
                        if (report(c, out, &list[i], "already", v.rec.state, progress, userdata) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (r >= 0)
                        r = hp_ops_vm_power_on(c, &v);
                if (r < 0) {
                        failed++;
                        if (report(c, out, &list[i], "failed", "off", progress, userdata) < 0)
                                return -ENOMEM;
                        continue;
                }
                started++;
                if (report(c, out, &list[i], "started", "running", progress, userdata) < 0)
                        return -ENOMEM;
                hp_ops_vm_done(&v); /* its lock is not held through the delay */
                /* The delay gives this VM's services time to come up before the next. */
                if (list[i].delay > 0 && i + 1 < n)
                        nanosleep(&(struct timespec){ .tv_sec = list[i].delay }, NULL);
        }
        *ret = summary(out, started, failed);
        return *ret ? 0 : hp_op_oom(c);
}

int hp_ops_host_stop_vms(struct hp_ops_ctx *c, uint64_t timeout_s, hp_ops_progress_fn progress, void *userdata,
                         json_t **ret)
{
        _cleanup_free_ struct entry *list = NULL;
        _cleanup_(json_decrefp) json_t *out = json_array();
        size_t n = 0, failed = 0, stopped = 0;
        int r = out ? load_entries(c, true, &list, &n) : hp_op_oom(c);

        if (r < 0)
                return r;
        for (size_t i = n; i-- > 0;) {
                _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
                bool forced = false, lost = false;

                r = hp_ops_vm_load(c, list[i].name, "host stop-vms", true, &v);
                if (r >= 0 && streq(v.rec.state, "off"))
                        continue;
                if (r >= 0)
                        r = hp_ops_vm_power_off(c, &v, false, timeout_s, &forced, &lost);
                if (r < 0) {
                        failed++;
                        if (report(c, out, &list[i], "failed", NULL, progress, userdata) < 0)
                                return -ENOMEM;
                        continue;
                }
                stopped++;
                /* "forced": it ignored ACPI for timeout_s and was stopped anyway. */
                if (report(c, out, &list[i], forced ? "forced" : "stopped", "off", progress, userdata) < 0)
                        return -ENOMEM;
        }
        *ret = summary(out, stopped, failed);
        return *ret ? 0 : hp_op_oom(c);
}

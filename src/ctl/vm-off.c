/* A cluster VM's power-off and removal on a controller (docs/cluster.md):
 * a stop only says the VM is wanted off (its host stops the run and
 * reports it, and only then are its devices given back); a VM is deleted
 * only once it is off everywhere. Power-on and placement are vms.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-internal.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

struct stop {
        const char *vm;
        bool was_on;
};

static int stop_tx(struct hp_store *s, void *userdata)
{
        struct stop *st = userdata;
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = { 0 };
        /* It writes the event log, as claims do: in turn with them rather
         * than in conflict (a stop of every VM at once would fail). */
        int r = hp_store_events_turn(s);

        if (r >= 0)
                r = hp_store_cluster_vm_get(s, st->vm, &v);
        if (r < 0)
                return r;
        st->was_on = streq(v.desired, "on");
        /* A power-off ends the power-on whose starts were failing: none is
         * tried again; and a move for maintenance: it stays off. */
        r = v.start_failures ? hp_store_vm_set_start_failures(s, st->vm, NULL) : 0;
        if (r >= 0 && v.moving_from)
                r = hp_store_vm_set_moving(s, st->vm, NULL);
        if (r < 0 || !st->was_on)
                return r;
        r = hp_store_vm_set_desired(s, st->vm, "off");
        if (r >= 0)
                r = hp_ctl_event_on(s, v.host, "vm-stop-asked", st->vm, NULL);
        return r;
}

int hp_ctl_vm_stop(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct stop st = { .vm = name };
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        r = hp_store_transact(s, stop_tx, &st);
        if (r == -ENOENT)
                return hp_ctl_no_vm(c, name);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot stop VM '%s'", name);
        return hp_ctl_vms(c, name, ret);
}

struct del {
        const char *vm;
        char *busy; /* why it cannot go: it runs */
};

static int delete_tx(struct hp_store *s, void *userdata)
{
        struct del *d = userdata;
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = { 0 };
        int r = hp_store_cluster_vm_get(s, d->vm, &v);

        if (r < 0)
                return r;
        if (streq(v.desired, "on") || (v.reported_state && !streq(v.reported_state, "off"))) {
                free(d->busy);
                d->busy = NULL;
                return asprintf(&d->busy, "VM '%s' is %s on %s: stop it first", d->vm,
                                v.reported_state ? v.reported_state : "on",
                                v.host ? v.host : "?") < 0
                               ? -ENOMEM
                               : -EADDRINUSE;
        }
        r = hp_store_cluster_vm_delete(s, d->vm);
        return r < 0 ? r : hp_ctl_event_on(s, v.host, "vm-deleted", d->vm, NULL);
}

int hp_ctl_vm_delete(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct del d = { .vm = name };
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        r = hp_store_transact(s, delete_tx, &d);
        if (r == -EADDRINUSE) {
                r = hp_op_fail(c, HP_OP_CONFLICT, -EBUSY, "%s", d.busy);
                free(d.busy);
                return r;
        }
        free(d.busy);
        if (r == -ENOENT)
                return hp_ctl_no_vm(c, name);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot delete VM '%s'", name);
        hp_ctl_vms_changed(); /* the picture of the cluster: after the route
                                 (hp_api_cluster_written()) */
        *ret = json_pack("{s:s, s:b}", "name", name, "deleted", 1);
        return *ret ? 0 : hp_op_oom(c);
}

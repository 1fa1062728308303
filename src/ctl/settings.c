/* The cluster's settings through a controller (GET and PUT
 * /v1/cluster/settings): for now the placement policy of the VMs that name
 * none of their own. Kept in the store (hp_store_setting_*), not in a
 * controller's options, so every controller places alike. */
#include <errno.h>
#include <stdlib.h>

#include "ctl-internal.h"
#include "ops/ops.h"
#include "ops/vm.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

static json_t *settings_json(enum hp_place_policy policy)
{
        return json_pack("{s:s}", "placement", hp_place_policy_name(policy));
}

/* The cluster's policy as stored, performance when none is. */
static int cluster_policy(struct hp_store *s, enum hp_place_policy *ret)
{
        /* A VM that names none takes the cluster's: ask as for one. */
        struct hp_vm_spec none = { .placement = HP_VM_PLACEMENT_CLUSTER };
        const char *from;

        return hp_ops_place_policy(s, &none, ret, &from);
}

int hp_ctl_settings(struct hp_ops_ctx *c, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        enum hp_place_policy policy;
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        r = cluster_policy(s, &policy);
        if (r == -EBADMSG)
                return hp_op_fail(c, HP_OP_HOST, r,
                                  "the cluster's stored placement policy is none hwpass knows: set it again with "
                                  "'hwpass cluster policy performance' (or consolidation)");
        if (r < 0)
                return hp_op_store_error(c, r, "cannot read the cluster's settings");
        *ret = settings_json(policy);
        return *ret ? 0 : hp_op_oom(c);
}

struct policy_set {
        enum hp_place_policy policy;
};

static int policy_tx(struct hp_store *s, void *userdata)
{
        const struct policy_set *p = userdata;
        enum hp_place_policy was = HP_PLACE_PERFORMANCE;
        _cleanup_free_ char *message = NULL;
        int r = cluster_policy(s, &was);

        /* A stored value hwpass does not know is replaced, and said so. */
        if (r < 0 && r != -EBADMSG)
                return r;
        if (asprintf(&message, "placement policy %s (was %s)", hp_place_policy_name(p->policy),
                     r == -EBADMSG ? "none hwpass knows" : hp_place_policy_name(was)) < 0)
                return -ENOMEM;
        r = hp_store_setting_set(s, HP_OPS_SETTING_PLACEMENT, hp_place_policy_name(p->policy));
        return r < 0 ? r : hp_store_event_add(s, "cluster-settings-changed", "placement", message);
}

int hp_ctl_settings_set(struct hp_ops_ctx *c, json_t *body, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        const char *want = json_string_value(json_object_get(body, "placement"));
        enum hp_place_policy policy;
        int r;

        if (!want || hp_place_policy_from_string(want, &policy) < 0)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "\"placement\" must be \"performance\" (spread VMs over the hosts) or "
                                  "\"consolidation\" (pack them on few)");
        r = hp_ops_store_open(c, &s);
        if (r < 0)
                return r;
        /* Retried when it meets another writer (the events' counter row). */
        r = hp_store_transact(s, policy_tx, &(struct policy_set){ .policy = policy });
        if (r < 0)
                return hp_op_store_error(c, r, "cannot store the cluster's placement policy");
        *ret = settings_json(policy);
        return *ret ? 0 : hp_op_oom(c);
}

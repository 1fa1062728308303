/* What agents and controllers send each other, read and written in one
 * place: the protocol check, and a device's stored configuration as a
 * heartbeat carries it (docs/cluster.md "Messages"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

int hp_ctl_protocol_check(struct hp_ops_ctx *c, json_t *body, const char *who)
{
        json_t *p = json_object_get(body, "protocol");
        json_int_t v = json_is_integer(p) ? json_integer_value(p) : -1;

        if (v >= HP_CLUSTER_PROTOCOL_MIN && v <= HP_CLUSTER_PROTOCOL)
                return 0;
        if (v > HP_CLUSTER_PROTOCOL)
                return hp_op_fail(c, HP_OP_VERSION, -EPROTONOSUPPORT,
                                  "%s speaks protocol %lld; this controller speaks %d-%d: upgrade hwpass on the "
                                  "controllers",
                                  who, (long long)v, HP_CLUSTER_PROTOCOL_MIN, HP_CLUSTER_PROTOCOL);
        if (v >= 0)
                return hp_op_fail(c, HP_OP_VERSION, -EPROTONOSUPPORT,
                                  "%s speaks protocol %lld; this controller speaks %d-%d: upgrade hwpass on it",
                                  who, (long long)v, HP_CLUSTER_PROTOCOL_MIN, HP_CLUSTER_PROTOCOL);
        return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "%s sent no \"protocol\" number", who);
}

json_t *hp_ctl_config_to_json(const struct hp_dev_config *d)
{
        char ids[4][5];

        /* Hex, as the device documents give them. */
        snprintf(ids[0], sizeof(ids[0]), "%04x", d->vendor_id);
        snprintf(ids[1], sizeof(ids[1]), "%04x", d->device_id);
        snprintf(ids[2], sizeof(ids[2]), "%04x", d->subsystem_vendor_id);
        snprintf(ids[3], sizeof(ids[3]), "%04x", d->subsystem_device_id);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:b, s:s?, s:s?, s:o, s:s, s:s?, s:s?}",
                         "address", d->address, "vendor_id", ids[0], "device_id", ids[1], "subsystem_vendor_id",
                         ids[2], "subsystem_device_id", ids[3], "serial", d->serial, "slot",
                         d->slot, "desired", d->desired, "host_driver", d->host_driver, "label", d->label,
                         "attributes", hp_attrs_to_json(d->attrs), "health", d->health, "reason", d->reason,
                         "assigned_vm", d->assigned_vm);
}

/* A string member into *dst (NULL when missing or null); -EINVAL when it is
 * there and not a string. */
static int opt_str(json_t *j, const char *key, char **dst)
{
        json_t *v = json_object_get(j, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return -EINVAL;
        *dst = strdup(json_string_value(v));
        return *dst ? 0 : -ENOMEM;
}

int hp_ctl_id16(json_t *j, const char *key, uint16_t *ret)
{
        const char *s = json_string_value(json_object_get(j, key));
        uint64_t v;

        if (!s || strlen(s) != 4 || hp_parse_u64(s, 16, &v) < 0 || v > 0xffff)
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

/* "key=value" strings by key, as the store gives them. */
static int attr_cmp(const void *a, const void *b)
{
        const char *x = *(char *const *)a, *y = *(char *const *)b;
        size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
        int r = memcmp(x, y, nx < ny ? nx : ny);

        return r ? r : (nx > ny) - (nx < ny);
}

int hp_ctl_config_from_json(json_t *j, struct hp_dev_config *ret)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config d = { 0 };
        const char *addr = json_string_value(json_object_get(j, "address")), *key;
        json_t *attrs = json_object_get(j, "attributes"), *v;
        int r = 0;

        if (!json_is_object(j) || !addr || strlen(addr) >= sizeof(d.address))
                return -EINVAL;
        snprintf(d.address, sizeof(d.address), "%s", addr);
        if (hp_ctl_id16(j, "vendor_id", &d.vendor_id) < 0 || hp_ctl_id16(j, "device_id", &d.device_id) < 0 ||
            hp_ctl_id16(j, "subsystem_vendor_id", &d.subsystem_vendor_id) < 0 ||
            hp_ctl_id16(j, "subsystem_device_id", &d.subsystem_device_id) < 0 ||
            !json_is_boolean(json_object_get(j, "desired")) || (attrs && !json_is_object(attrs)))
                return -EINVAL;
        d.desired = json_is_true(json_object_get(j, "desired"));
        const struct {
                const char *key;
                char **dst;
        } strs[] = {
                { "serial", &d.serial },   { "slot", &d.slot },     { "host_driver", &d.host_driver },
                { "label", &d.label },     { "health", &d.health }, { "reason", &d.reason },
                { "assigned_vm", &d.assigned_vm },
        };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(strs); i++)
                r = opt_str(j, strs[i].key, strs[i].dst);
        if (r < 0)
                return r;
        if (!d.health && !(d.health = strdup("ok")))
                return -ENOMEM;
        if (!(d.attrs = calloc(1, sizeof(char *))))
                return -ENOMEM;
        /* A key as 'device attr' takes it: one with '=' would read back as another attribute. */
        json_object_foreach(attrs, key, v) {
                if (!json_is_string(v) || !hp_vm_attr_key_valid(key, strlen(key)))
                        return -EINVAL;
                r = hp_strv_pushf(&d.attrs, "%s=%s", key, json_string_value(v));
                if (r < 0)
                        return r;
        }
        qsort(d.attrs, hp_strv_length(d.attrs), sizeof(char *), attr_cmp);
        *ret = d;
        d = (struct hp_dev_config){ 0 };
        return 0;
}

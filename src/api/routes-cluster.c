/* A controller's own routes (docs/cluster.md): the agents' join and
 * heartbeat, the cluster's hosts, join tokens and settings. A host's
 * credential opens only the agents' routes, and an API token never opens
 * those; the routes that act on the machine the daemon runs on (its VMs,
 * its sysfs) are not a controller's. Device reads and settings are the routes of routes.c,
 * which a controller serves for any host (?host=NAME). */
#include <errno.h>
#include <microhttpd.h>
#include <string.h>

#include "api/api-internal.h"
#include "ctl/ctl.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"

bool hp_api_join_path(struct hp_api *a, const char *method, const char *url)
{
        return a->role == HP_ROLE_CONTROLLER && streq(method, "POST") && streq(url, "/v1/agent/join");
}

/* The agents' routes: a body of the fields given, handed to the controller's call. */
static int join_op(struct hp_ops_ctx *ctx, struct hp_api *a, const struct hp_api_request *req, json_t *body,
                   json_t **ret)
{
        (void)req;
        return hp_ctl_join(ctx, &a->ctl, body, ret);
}

static int heartbeat_op(struct hp_ops_ctx *ctx, struct hp_api *a, const struct hp_api_request *req, json_t *body,
                        json_t **ret)
{
        return hp_ctl_heartbeat(ctx, &a->ctl, req->agent_host, body, ret);
}

static struct hp_api_reply agent_call(struct hp_api *a, const struct hp_api_request *req, const char *const *fields,
                                      int (*op)(struct hp_ops_ctx *ctx, struct hp_api *a,
                                                const struct hp_api_request *req, json_t *body, json_t **ret),
                                      unsigned ok_status)
{
        _cleanup_(json_decrefp) json_t *body = NULL;
        char actor[300];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        if (hp_api_body_object(req, fields, false, &body, &err) < 0)
                return err;
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = op(&ctx, a, req, body, &doc);
        return hp_api_op_reply(&ctx, r, doc, ok_status);
}

static const char *const join_fields[] = { "protocol", "version", "host", "token", NULL };
static const char *const heartbeat_fields[] = { "protocol", "version", "host", "boot_id", "seq", "ready", "memory",
                                                "devices", "configs", "paths", "paths_hash", "local_vms", "vms", NULL };

static struct hp_api_reply hosts(struct hp_api *a, const struct hp_api_request *req)
{
        char actor[300];
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ctl_hosts(&ctx, &a->ctl, &doc);
        if (r >= 0)
                hp_api_scope_filter(req, json_object_get(doc, "hosts"), NULL, "name", NULL);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

static struct hp_api_reply host_remove(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        char actor[300];
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ctl_host_remove(&ctx, name, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* PUT /v1/hosts/NAME/maintenance {"maintenance": bool, "wait": bool}. */
static struct hp_api_reply host_maintenance(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        static const char *const fields[] = { "maintenance", "wait", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        char actor[300];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *on, *wait, *doc = NULL;
        int r;

        if (hp_api_body_object(req, fields, false, &body, &err) < 0)
                return err;
        on = json_object_get(body, "maintenance");
        wait = json_object_get(body, "wait");
        if (!json_is_boolean(on) || (wait && !json_is_boolean(wait)))
                return hp_api_error(400, "bad-body", "\"maintenance\" is true or false, and \"wait\", if given, too");
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ctl_host_maintenance(&ctx, name, json_is_true(on), json_is_true(wait), &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/cluster/tokens {"ttl_s": N}: a join token. */
static struct hp_api_reply join_token(struct hp_api *a, const struct hp_api_request *req)
{
        static const char *const fields[] = { "ttl_s", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        char actor[300];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *ttl, *doc = NULL;
        int r;

        if (hp_api_body_object(req, fields, true, &body, &err) < 0)
                return err;
        ttl = json_object_get(body, "ttl_s");
        if (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
                    json_integer_value(ttl) > HP_STORE_TTL_MS_MAX / 1000))
                return hp_api_error(400, "bad-body", "\"ttl_s\" is a whole number of seconds from 1 to %lld",
                                    HP_STORE_TTL_MS_MAX / 1000);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ctl_join_token_create(&ctx, ttl ? json_integer_value(ttl) * 1000 : 0, &doc);
        return hp_api_op_reply(&ctx, r, doc, 201);
}

/* A document read with GET and set with PUT (a body of only these fields). */
static struct hp_api_reply get_put(struct hp_api *a, const struct hp_api_request *req, const char *const *fields,
                                   int (*get)(struct hp_ops_ctx *c, json_t **ret),
                                   int (*put)(struct hp_ops_ctx *c, json_t *body, json_t **ret))
{
        _cleanup_(json_decrefp) json_t *body = NULL;
        char actor[300];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        if (streq(req->method, "PUT") && hp_api_body_object(req, fields, false, &body, &err) < 0)
                return err;
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = body ? put(&ctx, body, &doc) : get(&ctx, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* GET /v1/cluster/ha: the failure scenarios; PUT {"tolerate", "admission"}. */
static const char *const ha_fields[] = { "tolerate", "admission", NULL };
/* GET /v1/cluster/settings; PUT {"placement": "performance" | "consolidation"}. */
static const char *const settings_fields[] = { "placement", NULL };

/* A controller's VM routes: the cluster's VMs. */
typedef int (*vm_call)(struct hp_ops_ctx *c, const char *name, json_t **ret);

static struct hp_api_reply vm_route(struct hp_api *a, const struct hp_api_request *req, vm_call call,
                                    const char *name, unsigned ok_status)
{
        char actor[300];
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        if (name && !hp_vm_name_valid(name))
                return hp_api_bad_name(name);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = call(&ctx, name, &doc);
        if (r >= 0 && !name) /* the list: the token's VMs only */
                hp_api_scope_filter(req, json_object_get(doc, "vms"), "name", "host", NULL);
        return hp_api_op_reply(&ctx, r, doc, ok_status);
}

static struct hp_api_reply vm_define(struct hp_api *a, const struct hp_api_request *req)
{
        _cleanup_free_ char *text = NULL;
        char actor[300];
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        if (!req->body)
                return hp_api_error(400, "bad-body", "POST /v1/vms needs the VM as a JSON object");
        if (!(text = strndup(req->body, req->body_len)))
                return hp_api_error(500, "internal", "out of memory");
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ctl_vm_define(&ctx, text, MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "host"), &doc);
        return hp_api_op_reply(&ctx, r, doc, 201);
}

static struct hp_api_reply vms(struct hp_api *a, const struct hp_api_request *req, bool *ret_handled)
{
        const char *m = req->method, *url = req->url;
        char name[256];

        *ret_handled = true;
        if (streq(url, "/v1/vms"))
                return streq(m, "GET")    ? vm_route(a, req, hp_ctl_vms, NULL, 200)
                       : streq(m, "POST") ? vm_define(a, req)
                                          : hp_api_method_error(req, "GET or POST");
        if (hp_api_segment(url, "/v1/vms/", "/start", name, sizeof(name)))
                return streq(m, "POST") ? vm_route(a, req, hp_ctl_vm_start, name, 200) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/vms/", "/stop", name, sizeof(name)))
                return streq(m, "POST") ? vm_route(a, req, hp_ctl_vm_stop, name, 200) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/vms/", "/explain", name, sizeof(name)))
                return streq(m, "GET") ? vm_route(a, req, hp_ctl_vm_explain, name, 200) : hp_api_method_error(req, "GET");
        if (hp_api_segment(url, "/v1/vms/", NULL, name, sizeof(name)))
                return streq(m, "GET")      ? vm_route(a, req, hp_ctl_vms, name, 200)
                       : streq(m, "DELETE") ? vm_route(a, req, hp_ctl_vm_delete, name, 200)
                                            : hp_api_method_error(req, "GET or DELETE");
        if (hp_startswith(url, "/v1/vms/"))
                return hp_api_error(501, "not-on-controller",
                                    "%s %s: a controller does not edit a VM piece by piece yet: change its document "
                                    "and define it again (vm delete, vm define)",
                                    m, url);
        *ret_handled = false;
        return (struct hp_api_reply){ 0 };
}

/* The routes that act on the machine the daemon runs on. */
static bool host_local(const char *url)
{
        static const char *const prefixes[] = { "/v1/host/", "/v1/usb", NULL };
        static const char *const device_acts[] = { "/clear", "/adopt", "/forget", "/probe", NULL };

        for (size_t i = 0; prefixes[i]; i++)
                if (hp_startswith(url, prefixes[i]))
                        return true;
        if (hp_startswith(url, "/v1/devices/"))
                for (size_t i = 0; device_acts[i]; i++) {
                        size_t n = strlen(url), k = strlen(device_acts[i]);

                        if (n > k && streq(url + n - k, device_acts[i]))
                                return true;
                }
        return false;
}

void hp_api_cluster_written(const struct hp_api_request *req)
{
        char name[256];

        if (streq(req->method, "GET") || streq(req->url, "/v1/agent/heartbeat") ||
            (streq(req->method, "POST") && hp_api_segment(req->url, "/v1/vms/", "/start", name, sizeof(name))))
                return;
        hp_ctl_model_stale();
}

struct hp_api_reply hp_api_route_cluster(struct hp_api *a, const struct hp_api_request *req, bool *ret_handled)
{
        const char *m = req->method, *url = req->url;
        bool agent_route = hp_startswith(url, "/v1/agent/");
        char name[256];

        *ret_handled = true;
        if (req->agent_host && !agent_route)
                return hp_api_error(403, "forbidden", "a host's credential opens the agents' routes only");
        if (streq(url, "/v1/agent/join"))
                return streq(m, "POST") ? agent_call(a, req, join_fields, join_op, 201)
                                        : hp_api_method_error(req, "POST");
        if (streq(url, "/v1/agent/heartbeat")) {
                if (!req->agent_host)
                        return hp_api_error(403, "forbidden",
                                            "a heartbeat comes with the host's credential, the one it got at join");
                return streq(m, "POST") ? agent_call(a, req, heartbeat_fields, heartbeat_op, 200)
                                        : hp_api_method_error(req, "POST");
        }
        if (hp_api_segment(url, "/v1/hosts/", "/maintenance", name, sizeof(name)))
                return streq(m, "PUT") ? host_maintenance(a, req, name) : hp_api_method_error(req, "PUT");
        if (hp_api_segment(url, "/v1/hosts/", NULL, name, sizeof(name)))
                return streq(m, "DELETE") ? host_remove(a, req, name) : hp_api_method_error(req, "DELETE");
        if (streq(url, "/v1/hosts"))
                return streq(m, "GET") ? hosts(a, req) : hp_api_method_error(req, "GET");
        if (streq(url, "/v1/cluster/tokens"))
                return streq(m, "POST") ? join_token(a, req)
                                        : hp_api_method_error(req, "POST");
        if (streq(url, "/v1/cluster/ha"))
                return streq(m, "GET") || streq(m, "PUT") ? get_put(a, req, ha_fields, hp_ctl_ha_status, hp_ctl_ha_set)
                                                          : hp_api_method_error(req, "GET or PUT");
        if (streq(url, "/v1/cluster/settings"))
                return streq(m, "GET") || streq(m, "PUT")
                               ? get_put(a, req, settings_fields, hp_ctl_settings, hp_ctl_settings_set)
                               : hp_api_method_error(req, "GET or PUT");
        if (hp_startswith(url, "/v1/vms")) {
                bool handled;
                struct hp_api_reply rep = vms(a, req, &handled);

                if (handled)
                        return rep;
        }
        if (host_local(url))
                return hp_api_error(501, "not-on-controller",
                                    "%s %s acts on one host: a controller does not serve it yet (ask the host's "
                                    "own hwpassd)",
                                    m, url);
        *ret_handled = false;
        return (struct hp_api_reply){ 0 };
}

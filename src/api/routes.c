/* The API's routes under /v1: reads answer from the host and the store
 * directly; writes are checked here (body, address, name, the device or VM
 * exists) and then run as the hwpass command does them (exec.c), so the API
 * and the CLI change the host by the same code. */
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "host/json.h"
#include "api/request.h"
#include "host/view.h"
#include "host/check.h"
#include "host/pci.h"
#include "host/state.h"
#include "ops/device.h"
#include "ops/ops.h"
#include "ops/token.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

static struct hp_api_reply host_check(struct hp_api *a)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_check_report_freep) struct hp_check_report *rep = NULL;
        int r;

        r = hp_pci_scan(a->host, a->names, &inv);
        if (r >= 0)
                r = hp_host_check(a->host, inv, &rep);
        if (r < 0)
                return hp_api_error(500, "host-unreadable", "cannot check the host: %s", hp_host_strerror(r));
        return hp_api_ok(hp_json_check_report(rep));
}

/* The view, or an error reply in *err. */
static int load_view(struct hp_api *a, struct hp_view *v, struct hp_api_reply *err)
{
        _cleanup_free_ char *msg = NULL;
        int r;

        r = hp_view_load(a->host, a->names, a->db_path, v, &msg);
        if (r < 0)
                *err = hp_api_error(500, "host-unreadable", "%s", msg ? msg : strerror(-r));
        return r;
}

/* A canonical address from a URL segment, or a 400 in *err. */
int hp_api_parse_address(const char *arg, char canon[HP_SBDF_LEN], struct hp_api_reply *err)
{
        struct hp_pci_addr pa;

        if (hp_pci_addr_parse(arg, &pa) < 0) {
                *err = hp_api_error(400, "bad-address", "invalid PCI address '%.64s': expected DDDD:BB:DD.F in hex",
                                    arg);
                return -EINVAL;
        }
        hp_pci_addr_format(&pa, canon);
        return 0;
}

/* ?host=NAME: on a controller, whose device a route means. */
static const char *host_arg(const struct hp_api_request *req)
{
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "host");
}

/* A controller's devices: every host's, or one host's, or one device. */
static struct hp_api_reply cluster_devices(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        char actor[300];
        struct hp_ops_ctx ctx;
        json_t *doc = NULL, *one = NULL, *d;
        size_t i;
        int r;

        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        if (address && !host_arg(req))
                return hp_api_error(400, "no-host", "a controller serves many hosts: say whose device %s is (?host=NAME)",
                                    address);
        r = hp_ctl_devices(&ctx, host_arg(req), &doc);
        if (r >= 0)
                hp_api_scope_filter(req, json_object_get(doc, "devices"), NULL, "host", NULL);
        if (r < 0 || !address)
                return hp_api_op_reply(&ctx, r, doc, 200);
        json_array_foreach(json_object_get(doc, "devices"), i, d)
                if (streq(json_string_value(json_object_get(d, "address")) ?: "", address))
                        one = json_incref(d);
        json_decref(doc);
        if (!one)
                return hp_api_error(404, "no-device", "%s has reported no PCI device %s", host_arg(req), address);
        return hp_api_ok(one);
}

static struct hp_api_reply devices(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        _cleanup_(hp_view_done) struct hp_view v = { 0 };
        struct hp_host_state st;
        char canon[HP_SBDF_LEN];
        const struct hp_pci_dev *d;
        struct hp_api_reply err;

        if (address && hp_api_parse_address(address, canon, &err) < 0)
                return err;
        if (a->role == HP_ROLE_CONTROLLER)
                return cluster_devices(a, req, address ? canon : NULL);
        if (load_view(a, &v, &err) < 0)
                return err;
        st = hp_view_state(&v);
        if (!address)
                return hp_api_ok(hp_json_pci_devices(&st, NULL, NULL));
        d = hp_pci_find(v.inv, canon);
        if (!d)
                return hp_api_error(404, "no-device", "no PCI device %s on this host", canon);
        return hp_api_ok(hp_json_pci_dev_detail(a->host, &st, d));
}

/* GET /v1/daemon: what this daemon is, so that a client (the web UI) knows
 * which routes it serves before it asks for them, and who the client is
 * to it: what its token's role lets it do. */
static struct hp_api_reply daemon_info(const struct hp_api *a, const struct hp_api_request *req)
{
        static const char *const roles[] = { [HP_ROLE_STANDALONE] = "standalone",
                                             [HP_ROLE_CONTROLLER] = "controller",
                                             [HP_ROLE_AGENT] = "agent" };

        json_t *doc = json_pack("{s:s, s:{s:s, s:s}}", "role", roles[a->role], "caller", "name",
                                req->actor, "role", hp_token_role_name(req->access));

        /* The caller's limits, when its token has any: the hosts and VMs it may act on. */
        if (doc && req->scope &&
            hp_ops_token_scope_json(req->scope, json_object_get(doc, "caller")) < 0) {
                json_decref(doc);
                doc = NULL;
        }
        return hp_api_ok(doc);
}

static json_t *vm_json(const struct hp_vm_record *rec)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_free_ char *err = NULL;

        if (hp_vm_spec_from_text(rec->spec_json, &s, &err) < 0)
                return json_pack("{s:s, s:s, s:s?}", "name", rec->name, "state", rec->state, "damaged", err);
        return hp_vm_to_json(&s, rec->state);
}

struct hp_api_reply hp_api_bad_name(const char *name)
{
        return hp_api_error(400, "bad-name", "invalid VM name '%.64s': 1-%d letters, digits, '-', '_' or '.'", name,
                            HP_VM_NAME_MAX);
}

static struct hp_api_reply vms(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        char local[HP_STORE_HOST_NAME_MAX + 1];
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        json_t *list;
        int r;

        if (name && !hp_vm_name_valid(name))
                return hp_api_bad_name(name);
        r = hp_store_open_readonly(a->db_path, &s, &err);
        if (r == -ENOENT)
                return name ? hp_api_error(404, "no-vm", "no VM '%s'", name) : hp_api_ok(json_pack("{s:[]}", "vms"));
        if (r < 0)
                return hp_api_error(500, "store-unreadable", "%s", err ? err : strerror(-r));
        if (name) {
                _cleanup_(hp_vm_record_done) struct hp_vm_record rec = { 0 };

                r = hp_store_vm_get(s, name, &rec);
                if (r == -ENOENT)
                        return hp_api_error(404, "no-vm", "no VM '%s'", name);
                if (r < 0)
                        return hp_api_error(500, "store-unreadable", "cannot read VM '%s': %s", name, strerror(-r));
                return hp_api_ok(vm_json(&rec));
        }
        r = hp_store_vm_list(s, &recs, &n);
        if (r < 0)
                return hp_api_error(500, "store-unreadable", "cannot list the VMs: %s", strerror(-r));
        list = json_array();
        for (size_t i = 0; list && i < n; i++)
                if (json_array_append_new(list, vm_json(&recs[i])) < 0) {
                        json_decref(list);
                        list = NULL;
                }
        hp_vm_records_free(recs, n);
        hp_api_local_host(local, sizeof(local));
        hp_api_scope_filter(req, list, "name", NULL, local);
        return hp_api_ok(list ? json_pack("{s:o}", "vms", list) : NULL);
}

/* How many of the newest events ?host= looks through for that host's. */
#define EVENTS_SCAN_MAX 100000

/* The newest limit events of host after since, as GET /v1/events gives
 * them. The store lists every host's: windows of newest events, each
 * larger, are read until one holds enough of host's or the log ends. */
static int host_events(struct hp_store *s, const char *host, int64_t since, size_t limit, json_t **ret)
{
        size_t window = limit;

        for (;;) {
                struct hp_event *e = NULL;
                _cleanup_free_ struct hp_event *kept = NULL;
                size_t n = 0, k = 0, from;
                int r = hp_store_event_list(s, since, window, &e, &n);

                if (r < 0)
                        return r;
                kept = calloc(n + 1, sizeof(*kept));
                for (size_t i = 0; kept && i < n; i++)
                        if (e[i].host && streq(e[i].host, host))
                                kept[k++] = e[i]; /* shallow: e owns the strings */
                if (kept && k < limit && n == window && window < EVENTS_SCAN_MAX) {
                        hp_events_free(e, n);
                        window = window > EVENTS_SCAN_MAX / 8 ? EVENTS_SCAN_MAX : window * 8;
                        continue;
                }
                from = k > limit ? k - limit : 0;
                *ret = kept ? hp_json_events(kept + from, k - from) : NULL;
                hp_events_free(e, n);
                return *ret ? 0 : -ENOMEM;
        }
}

/* ?since=ID&limit=N&host=NAME: the newest N (default 50) after event ID, of
 * every host or of NAME's, oldest first. */
static struct hp_api_reply events(struct hp_api *a, const struct hp_api_request *req)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        const char *since_arg = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "since"),
                   *limit_arg = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "limit"),
                   *host = host_arg(req);
        uint64_t since = 0, limit = 50;
        char local[HP_STORE_HOST_NAME_MAX + 1];
        struct hp_event *e = NULL;
        json_t *doc = NULL;
        size_t n = 0;
        int r;

        if (since_arg && (hp_parse_u64(since_arg, 10, &since) < 0 || since > INT64_MAX))
                return hp_api_error(400, "bad-query", "invalid since '%.64s': an event id", since_arg);
        if (limit_arg && (hp_parse_u64(limit_arg, 10, &limit) < 0 || limit == 0 || limit > 100000))
                return hp_api_error(400, "bad-query", "invalid limit '%.64s': 1 to 100000", limit_arg);
        if (host && !hp_store_host_name_is_valid(host))
                return hp_api_error(400, "bad-query", "invalid host '%.64s': 1-%d letters, digits, '-', '.' or '_'",
                                    host, HP_STORE_HOST_NAME_MAX);
        r = hp_store_open_readonly(a->db_path, &s, &err);
        if (r == -ENOENT)
                return hp_api_ok(hp_json_events(NULL, 0));
        if (r < 0)
                return hp_api_error(500, "store-unreadable", "%s", err ? err : strerror(-r));
        if (host && (r = hp_store_set_host(s, host)) == -ENOENT)
                return hp_api_error(404, "no-host", "no host '%s' in the store%s", host,
                                    a->role == HP_ROLE_CONTROLLER ? " (see 'hwpass host list')" : "");
        if (host && r >= 0)
                r = host_events(s, host, (int64_t)since, (size_t)limit, &doc);
        else if (r >= 0 && (r = hp_store_event_list(s, (int64_t)since, (size_t)limit, &e, &n)) >= 0) {
                doc = hp_json_events(e, n);
                hp_events_free(e, n);
        }
        if (r < 0)
                return hp_api_error(500, "store-unreadable", "cannot read the events: %s", strerror(-r));
        hp_api_local_host(local, sizeof(local));
        /* A host's own daemon records its host as the store's name for it: each is this machine. */
        hp_api_scope_filter(req, json_object_get(doc, "events"), "subject",
                            a->role == HP_ROLE_CONTROLLER ? "host" : NULL, local);
        return hp_api_ok(doc);
}

/* The body as an object with only the allowed fields; a 400 in *err. A
 * missing body is an empty object when empty_ok. */
int hp_api_body_object(const struct hp_api_request *req, const char *const *allowed, bool empty_ok, json_t **ret,
                       struct hp_api_reply *err)
{
        _cleanup_free_ char *msg = NULL;
        json_t *j = NULL;

        if (!req->body && empty_ok) {
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;
        }
        if (hp_api_body_parse(req->body, req->body_len, HP_API_DEPTH_MAX, &j, &msg) < 0 ||
            hp_api_fields_check(j, allowed, &msg) < 0) {
                json_decref(j);
                *err = hp_api_error(400, "bad-body", "%s %s: %s", req->method, req->url, msg ? msg : "out of memory");
                return -EINVAL;
        }
        *ret = j;
        return 0;
}

int hp_api_vm_exists(struct hp_api *a, const char *name, struct hp_api_reply *err)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_vm_record_done) struct hp_vm_record rec = { 0 };
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!hp_vm_name_valid(name)) {
                *err = hp_api_bad_name(name);
                return -EINVAL;
        }
        r = hp_store_open_readonly(a->db_path, &s, &msg);
        if (r >= 0)
                r = hp_store_vm_get(s, name, &rec);
        if (r == -ENOENT)
                *err = hp_api_error(404, "no-vm", "no VM '%s' (see GET /v1/vms)", name);
        else if (r < 0)
                *err = hp_api_error(500, "store-unreadable", "%s", msg ? msg : strerror(-r));
        return r;
}

void hp_api_ops_ctx(struct hp_api *a, const struct hp_api_request *req, char *actor, size_t size,
                    struct hp_ops_ctx *ret)
{
        snprintf(actor, size, "%s%s", req->actor ? req->actor : "hwpassd",
                 req->actor && !streq(req->actor, "hwpassd") ? " via hwpassd" : "");
        *ret = (struct hp_ops_ctx){ .host = a->host,
                                    .names = a->names,
                                    .host_root = a->host_root,
                                    .db = a->db_path,
                                    .run_dir = a->run_dir,
                                    .state_dir = a->state_dir,
                                    .actor = actor,
                                    .hosts_allowed = req->scope ? req->scope->hosts : NULL,
                                    .storage_dirs = a->storage_dirs,
                                    .block_devices = a->block_devices };
}

struct hp_api_reply hp_api_op_reply(struct hp_ops_ctx *ctx, int r, json_t *doc, unsigned ok_status)
{
        struct hp_op_error *e = &ctx->error;
        struct hp_api_reply rep;
        char msg[2048];
        size_t used = 0;

        if (r >= 0) {
                rep = hp_api_ok(doc);
                if (doc)
                        rep.status = ok_status;
                return rep;
        }
        json_decref(doc);
        msg[0] = '\0';
        for (const char *line = e->message ? e->message : "failed without saying why"; *line && used + 1 < sizeof(msg);) {
                const char *end = strchrnul(line, '\n');

                used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s%.*s", used ? "; " : "", (int)(end - line),
                                         line);
                line = *end ? end + 1 : end;
        }
        /* Where to look next, in the API's words. */
        if (e->code && streq(e->code, "no-vm"))
                snprintf(msg + used, sizeof(msg) - used, " (see GET /v1/vms)");
        rep = hp_api_error(hp_op_http_status(e->kind), hp_op_api_code(e), "%s", msg);
        if (e->detail && rep.body)
                json_object_set(json_object_get(rep.body, "error"), "detail", e->detail);
        hp_op_error_done(e);
        return rep;
}

/* PUT /v1/devices/{address}/passthrough {"enabled", "force", "dry_run"} */
static struct hp_api_reply put_passthrough(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        static const char *const fields[] = { "enabled", "force", "dry_run", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        char canon[HP_SBDF_LEN], actor[160];
        char *addresses[] = { canon, NULL };
        struct hp_ops_passthrough op = { .addresses = addresses };
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *enabled, *doc = NULL;
        int r;

        if (hp_api_parse_address(address, canon, &err) < 0 || hp_api_body_object(req, fields, false, &body, &err) < 0)
                return err;
        enabled = json_object_get(body, "enabled");
        if (!json_is_boolean(enabled))
                return hp_api_error(400, "bad-body", "\"enabled\" is required: true or false");
        if (hp_api_get_bool(body, "force", &op.force, &msg) < 0 || hp_api_get_bool(body, "dry_run", &op.dry_run, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        op.enable = json_is_true(enabled);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        if (a->role == HP_ROLE_CONTROLLER && (op.force || op.dry_run))
                return hp_api_error(400, "bad-body", "a controller records the desired state; \"force\" and "
                                                     "\"dry_run\" are for the host's own hwpassd");
        if (a->role == HP_ROLE_CONTROLLER)
                r = hp_ctl_device_passthrough(&ctx, host_arg(req), canon, op.enable, &doc);
        else
                r = hp_ops_passthrough(&ctx, &op, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* PUT /v1/devices/{address}/label {"label": "text" | null} */
static struct hp_api_reply put_label(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        static const char *const fields[] = { "label", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        char canon[HP_SBDF_LEN], actor[160];
        const char *label = NULL;
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        if (hp_api_parse_address(address, canon, &err) < 0 || hp_api_body_object(req, fields, false, &body, &err) < 0)
                return err;
        if (!json_object_get(body, "label"))
                return hp_api_error(400, "bad-body", "\"label\" is required: the text, or null to remove it");
        if (hp_api_get_string(body, "label", true, &label, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        if (label && (!*label || label[0] == '-'))
                return hp_api_error(400, "bad-body", "a label must not be empty or start with '-'");
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        if (a->role == HP_ROLE_CONTROLLER)
                r = hp_ctl_device_label(&ctx, host_arg(req), canon, label, &doc);
        else
                r = hp_ops_device_label(&ctx, canon, label, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* A list of strings from body[key] (absent: empty), into *ret. */
static int string_list(json_t *body, const char *key, char ***ret, struct hp_api_reply *err)
{
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        json_t *list = json_object_get(body, key), *e;
        size_t i;

        if (!v)
                return -ENOMEM;
        if (list && !json_is_array(list)) {
                *err = hp_api_error(400, "bad-body", "\"%s\" must be an array of strings", key);
                return -EINVAL;
        }
        json_array_foreach(list, i, e) {
                if (!json_is_string(e)) {
                        *err = hp_api_error(400, "bad-body", "\"%s\" must be an array of strings", key);
                        return -EINVAL;
                }
                if (hp_strv_push(&v, json_string_value(e)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* PUT /v1/devices/{address}/attributes {"set": {"key": "value"...}, "unset": ["key"...]} */
static struct hp_api_reply put_attributes(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        static const char *const fields[] = { "set", "unset", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_strv_free_ char **set = calloc(1, sizeof(char *)), **unset = NULL;
        char canon[HP_SBDF_LEN], actor[160];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *map, *v, *doc = NULL;
        const char *key;
        int r;

        if (hp_api_parse_address(address, canon, &err) < 0 || hp_api_body_object(req, fields, false, &body, &err) < 0)
                return err;
        map = json_object_get(body, "set");
        if (map && !json_is_object(map))
                return hp_api_error(400, "bad-body", "\"set\" must be an object of strings");
        json_object_foreach(map, key, v) {
                if (!json_is_string(v))
                        return hp_api_error(400, "bad-body", "\"set\": the value of \"%.32s\" must be a string", key);
                if (!set || hp_strv_pushf(&set, "%s=%s", key, json_string_value(v)) < 0)
                        return hp_api_error(500, "internal", "out of memory");
        }
        r = string_list(body, "unset", &unset, &err);
        if (r == -EINVAL)
                return err;
        if (r < 0 || !set)
                return hp_api_error(500, "internal", "out of memory");
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        if (a->role == HP_ROLE_CONTROLLER)
                r = hp_ctl_device_attr(&ctx, host_arg(req), canon, set, unset, &doc);
        else
                r = hp_ops_device_attr(&ctx, canon, set, unset, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/devices/{address}/clear {"force"} */
static struct hp_api_reply post_clear(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        static const char *const fields[] = { "force", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        char canon[HP_SBDF_LEN], actor[160];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        bool force = false;
        int r;

        if (hp_api_parse_address(address, canon, &err) < 0 || hp_api_body_object(req, fields, true, &body, &err) < 0)
                return err;
        if (hp_api_get_bool(body, "force", &force, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_device_clear(&ctx, canon, force, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/devices/{address}/adopt {"from": "OLD"}: the stored entry of OLD given to this device. */
static struct hp_api_reply post_adopt(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        static const char *const fields[] = { "from", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        char canon[HP_SBDF_LEN], from[HP_SBDF_LEN], actor[160];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        const char *text = NULL;
        int r;

        if (hp_api_parse_address(address, canon, &err) < 0 || hp_api_body_object(req, fields, false, &body, &err) < 0)
                return err;
        if (hp_api_get_string(body, "from", false, &text, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        if (!text)
                return hp_api_error(400, "bad-body", "\"from\" is required: the address of the stored entry to adopt");
        if (hp_api_parse_address(text, from, &err) < 0)
                return err;
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_device_adopt(&ctx, canon, from, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/devices/{address}/forget {}: the stored entry of a device that is gone, dropped. */
static struct hp_api_reply post_forget(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        static const char *const fields[] = { NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        char canon[HP_SBDF_LEN], actor[160];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        if (hp_api_parse_address(address, canon, &err) < 0 || hp_api_body_object(req, fields, true, &body, &err) < 0)
                return err;
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_device_forget(&ctx, canon, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/devices/{address}/probe {"timeout"} */
static struct hp_api_reply post_probe(struct hp_api *a, const struct hp_api_request *req, const char *address)
{
        static const char *const fields[] = { "timeout", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        unsigned long long timeout = 60;
        char canon[HP_SBDF_LEN], actor[160];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        if (hp_api_parse_address(address, canon, &err) < 0 || hp_api_body_object(req, fields, true, &body, &err) < 0)
                return err;
        if (hp_api_get_uint(body, "timeout", 600, &timeout, &msg) < 0 || timeout == 0)
                return hp_api_error(400, "bad-body", "%s", msg ? msg : "\"timeout\" must be 1 to 600 seconds");
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_device_probe(&ctx, canon, (unsigned)timeout, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/host/apply {"dry_run"}, POST /v1/host/boot-config {"dry_run"} */
static struct hp_api_reply post_host_apply(struct hp_api *a, const struct hp_api_request *req, bool boot_config)
{
        static const char *const fields[] = { "dry_run", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        char actor[160];
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        bool dry_run = false;
        int r;

        if (hp_api_body_object(req, fields, true, &body, &err) < 0)
                return err;
        if (hp_api_get_bool(body, "dry_run", &dry_run, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = boot_config ? hp_ops_host_boot_config(&ctx, dry_run, &doc) : hp_ops_host_apply(&ctx, dry_run, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/tokens {"name", "role"}, DELETE /v1/tokens/{name}: an admin's
 * (access.c); "role" is admin when not given, as before tokens had roles. */
static struct hp_api_reply tokens(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        static const char *const fields[] = { "name", "role", "hosts", "vms", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_strv_free_ char **hosts = NULL, **vms = NULL;
        _cleanup_free_ char *msg = NULL;
        enum hp_token_role role = HP_TOKEN_ADMIN;
        const char *role_name = NULL;
        struct hp_api_reply err = { 0 };
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        char actor[160];
        int r;

        if (!name) {
                if (hp_api_body_object(req, fields, false, &body, &err) < 0)
                        return err;
                if (hp_api_get_string(body, "name", false, &name, &msg) < 0 || !name)
                        return hp_api_error(400, "bad-body", "%s", msg ? msg : "\"name\" is required");
                if (hp_api_get_string(body, "role", false, &role_name, &msg) < 0)
                        return hp_api_error(400, "bad-body", "%s", msg);
                if (role_name && hp_token_role_from_name(role_name, &role) < 0)
                        return hp_api_error(400, "bad-role",
                                            "invalid role '%.32s': " HP_TOKEN_ROLES_HELP,
                                            role_name);
                /* Absent: no limit; given, even empty, the list (an empty one is refused). */
                if ((json_object_get(body, "hosts") &&
                     string_list(body, "hosts", &hosts, &err) < 0) ||
                    (json_object_get(body, "vms") && string_list(body, "vms", &vms, &err) < 0))
                        return err.status ? err : hp_api_error(500, "internal", "out of memory");
        }
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = body ? hp_ops_token_create(&ctx, name, role,
                                       &(struct hp_ops_token_limits){ .hosts = hosts, .vms = vms },
                                       &doc)
                 : hp_ops_token_revoke(&ctx, name, &doc);
        return hp_api_op_reply(&ctx, r, doc, body ? 201 : 200);
}

/* "/v1/devices/0000:01:00.0" with prefix "/v1/devices/": the rest, if it is
 * one non-empty path segment; with suffix, the segment before it. */
bool hp_api_segment(const char *url, const char *prefix, const char *suffix, char *buf, size_t size)
{
        const char *rest, *end;

        if (!hp_startswith(url, prefix))
                return false;
        rest = url + strlen(prefix);
        if (suffix) {
                size_t n = strlen(rest), m = strlen(suffix);

                if (n <= m || !streq(rest + n - m, suffix))
                        return false;
                end = rest + n - m;
        } else {
                end = rest + strlen(rest);
        }
        if (end == rest || memchr(rest, '/', (size_t)(end - rest)) || (size_t)(end - rest) >= size)
                return false;
        memcpy(buf, rest, (size_t)(end - rest));
        buf[end - rest] = '\0';
        return true;
}

/* "/v1/vms/NAME/devices/pciN": the VM's name and the device. */
static bool vm_device(const char *url, char *name, size_t name_size, char *dev, size_t dev_size)
{
        const char *rest, *mid, *d;

        if (!hp_startswith(url, "/v1/vms/"))
                return false;
        rest = url + strlen("/v1/vms/");
        mid = strstr(rest, "/devices/");
        if (!mid || mid == rest || (size_t)(mid - rest) >= name_size || memchr(rest, '/', (size_t)(mid - rest)))
                return false;
        d = mid + strlen("/devices/");
        if (!*d || strchr(d, '/') || strlen(d) >= dev_size)
                return false;
        memcpy(name, rest, (size_t)(mid - rest));
        name[mid - rest] = '\0';
        snprintf(dev, dev_size, "%s", d);
        return true;
}

struct hp_api_reply hp_api_method_error(const struct hp_api_request *req, const char *allowed)
{
        return hp_api_error(405, "method", "%s %s: only %s", req->method, req->url, allowed);
}

/* A CLI on this machine says which state it works on (Hwpass-Db,
 * Hwpass-Host-Root): a daemon answers only for its own. */
static bool serves_state(struct hp_api *a, const struct hp_api_request *req)
{
        const char *db = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Hwpass-Db"),
                   *root = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Hwpass-Host-Root");

        if (!req->local || (!db && !root))
                return true;
        return db && root && hp_store_same(db, a->db_path) && hp_same_file(root, a->host_root);
}

static struct hp_api_reply route(struct hp_api *a, const struct hp_api_request *req)
{
        const char *m = req->method, *url = req->url;
        bool get = streq(m, "GET"), put = streq(m, "PUT"), post = streq(m, "POST"), del = streq(m, "DELETE");
        struct hp_api_reply refusal;
        char arg[256], dev[32];

        if (!post && !put && !del && req->body)
                return hp_api_error(413, "body", "%s %s takes no request body", m, url);
        if (!serves_state(a, req))
                return hp_api_error(409, "other-state", "this daemon serves the database '%s' and host root '%s'",
                                    a->db_path, a->host_root);
        if (!hp_api_access_allowed(req, &refusal) || !hp_api_scope_allowed(a, req, &refusal))
                return refusal;
        if (a->role == HP_ROLE_CONTROLLER) {
                bool handled;
                struct hp_api_reply rep = hp_api_route_cluster(a, req, &handled);

                if (handled)
                        return rep;
        }
        if (streq(url, "/v1/daemon"))
                return get ? daemon_info(a, req) : hp_api_method_error(req, "GET");
        if (streq(url, "/v1/host/check"))
                return get ? host_check(a) : hp_api_method_error(req, "GET");
        if (streq(url, "/v1/devices"))
                return get ? devices(a, req, NULL) : hp_api_method_error(req, "GET");
        if (hp_api_segment(url, "/v1/devices/", "/passthrough", arg, sizeof(arg)))
                return put ? put_passthrough(a, req, arg) : hp_api_method_error(req, "PUT");
        if (hp_api_segment(url, "/v1/devices/", "/label", arg, sizeof(arg)))
                return put ? put_label(a, req, arg) : hp_api_method_error(req, "PUT");
        if (hp_api_segment(url, "/v1/devices/", "/attributes", arg, sizeof(arg)))
                return put ? put_attributes(a, req, arg) : hp_api_method_error(req, "PUT");
        if (hp_api_segment(url, "/v1/devices/", "/clear", arg, sizeof(arg)))
                return post ? post_clear(a, req, arg) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/devices/", "/adopt", arg, sizeof(arg)))
                return post ? post_adopt(a, req, arg) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/devices/", "/forget", arg, sizeof(arg)))
                return post ? post_forget(a, req, arg) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/devices/", "/probe", arg, sizeof(arg)))
                return post ? post_probe(a, req, arg) : hp_api_method_error(req, "POST");
        if (streq(url, "/v1/host/apply"))
                return post ? post_host_apply(a, req, false) : hp_api_method_error(req, "POST");
        if (streq(url, "/v1/host/boot-config"))
                return post ? post_host_apply(a, req, true) : hp_api_method_error(req, "POST");
        if (streq(url, "/v1/host/start-vms"))
                return post ? hp_api_host_vms(a, req, true) : hp_api_method_error(req, "POST");
        if (streq(url, "/v1/host/stop-vms"))
                return post ? hp_api_host_vms(a, req, false) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/devices/", NULL, arg, sizeof(arg)))
                return get ? devices(a, req, arg) : hp_api_method_error(req, "GET");
        if (streq(url, "/v1/vms"))
                return get    ? vms(a, req, NULL)
                       : post ? hp_api_post_vm(a, req)
                              : hp_api_method_error(req, "GET or POST");
        if (hp_api_segment(url, "/v1/vms/", "/start", arg, sizeof(arg)))
                return post ? hp_api_vm_start(a, req, arg) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/vms/", "/stop", arg, sizeof(arg)))
                return post ? hp_api_vm_stop(a, req, arg) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/vms/", "/settings", arg, sizeof(arg)))
                return put ? hp_api_vm_settings(a, req, arg) : hp_api_method_error(req, "PUT");
        if (hp_api_segment(url, "/v1/vms/", "/pci", arg, sizeof(arg)))
                return post ? hp_api_vm_add(a, req, arg, true) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/vms/", "/usb", arg, sizeof(arg)))
                return post ? hp_api_vm_add(a, req, arg, false) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/vms/", "/autostart", arg, sizeof(arg)))
                return put ? hp_api_vm_autostart(a, req, arg) : hp_api_method_error(req, "PUT");
        if (vm_device(url, arg, sizeof(arg), dev, sizeof(dev)))
                return del ? hp_api_vm_remove_device(a, req, arg, dev) : hp_api_method_error(req, "DELETE");
        if (hp_api_segment(url, "/v1/vms/", "/explain", arg, sizeof(arg)))
                return get ? hp_api_vm_explain(a, req, arg) : hp_api_method_error(req, "GET");
        if (hp_api_segment(url, "/v1/vms/", "/log", arg, sizeof(arg)))
                return get ? hp_api_vm_log(a, arg) : hp_api_method_error(req, "GET");
        if (hp_api_segment(url, "/v1/vms/", NULL, arg, sizeof(arg)))
                return get   ? vms(a, req, arg)
                       : del ? hp_api_vm_delete(a, req, arg)
                             : hp_api_method_error(req, "GET or DELETE");
        if (streq(url, "/v1/events"))
                return get ? events(a, req) : hp_api_method_error(req, "GET");
        if (streq(url, "/v1/usb"))
                return get ? hp_api_usb(a) : hp_api_method_error(req, "GET");
        if (streq(url, "/v1/tokens"))
                return post ? tokens(a, req, NULL) : hp_api_method_error(req, "POST");
        if (hp_api_segment(url, "/v1/tokens/", NULL, arg, sizeof(arg)))
                return del ? tokens(a, req, arg) : hp_api_method_error(req, "DELETE");
        if (streq(url, "/metrics"))
                return get ? hp_api_metrics(a, req) : hp_api_method_error(req, "GET");
        if (!hp_startswith(url, "/v1/"))
                return hp_api_web(a, req);
        return hp_api_error(404, "no-route",
                            "no such resource: %s %s (see /v1/devices, /v1/vms, /v1/events, /v1/host/check)", m,
                            url);
}

struct hp_api_reply hp_api_route(struct hp_api *a, const struct hp_api_request *req)
{
        struct hp_api_reply rep = route(a, req);

        if (a->role == HP_ROLE_CONTROLLER)
                hp_api_cluster_written(req);
        return rep;
}

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
#include "api/exec.h"
#include "host/json.h"
#include "api/request.h"
#include "host/view.h"
#include "host/check.h"
#include "host/pci.h"
#include "host/state.h"
#include "ops/device.h"
#include "ops/ops.h"
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
                return hp_api_error(500, "host-unreadable", "cannot check the host: %s", strerror(-r));
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
static int parse_address(const char *arg, char canon[HP_SBDF_LEN], struct hp_api_reply *err)
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

static struct hp_api_reply devices(struct hp_api *a, const char *address)
{
        _cleanup_(hp_view_done) struct hp_view v = { 0 };
        struct hp_host_state st;
        char canon[HP_SBDF_LEN];
        const struct hp_pci_dev *d;
        struct hp_api_reply err;

        if (address && parse_address(address, canon, &err) < 0)
                return err;
        if (load_view(a, &v, &err) < 0)
                return err;
        st = hp_view_state(&v);
        if (!address)
                return hp_api_ok(hp_json_pci_devices(&st, NULL, NULL));
        d = hp_pci_find(v.inv, canon);
        if (!d)
                return hp_api_error(404, "no-device", "no PCI device %s on this host", canon);
        return hp_api_ok(hp_json_pci_dev(&st, d));
}

static json_t *vm_json(const struct hp_vm_record *rec)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_free_ char *err = NULL;

        if (hp_vm_spec_from_text(rec->spec_json, &s, &err) < 0)
                return json_pack("{s:s, s:s, s:s?}", "name", rec->name, "state", rec->state, "damaged", err);
        return hp_vm_to_json(&s, rec->state);
}

static struct hp_api_reply bad_name(const char *name)
{
        return hp_api_error(400, "bad-name", "invalid VM name '%.64s': 1-%d letters, digits, '-', '_' or '.'", name,
                            HP_VM_NAME_MAX);
}

static struct hp_api_reply vms(struct hp_api *a, const char *name)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        json_t *list;
        int r;

        if (name && !hp_vm_name_valid(name))
                return bad_name(name);
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
        return hp_api_ok(list ? json_pack("{s:o}", "vms", list) : NULL);
}

/* ?since=ID&limit=N: the newest N (default 50) after event ID, oldest first. */
static struct hp_api_reply events(struct hp_api *a, const char *since_arg, const char *limit_arg)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        uint64_t since = 0, limit = 50;
        struct hp_event *e = NULL;
        struct hp_api_reply rep;
        size_t n = 0;
        int r;

        if (since_arg && (hp_parse_u64(since_arg, 10, &since) < 0 || since > INT64_MAX))
                return hp_api_error(400, "bad-query", "invalid since '%.64s': an event id", since_arg);
        if (limit_arg && (hp_parse_u64(limit_arg, 10, &limit) < 0 || limit == 0 || limit > 100000))
                return hp_api_error(400, "bad-query", "invalid limit '%.64s': 1 to 100000", limit_arg);
        r = hp_store_open_readonly(a->db_path, &s, &err);
        if (r == -ENOENT)
                return hp_api_ok(hp_json_events(NULL, 0));
        if (r < 0)
                return hp_api_error(500, "store-unreadable", "%s", err ? err : strerror(-r));
        r = hp_store_event_list(s, (int64_t)since, (size_t)limit, &e, &n);
        if (r < 0)
                return hp_api_error(500, "store-unreadable", "cannot read the events: %s", strerror(-r));
        rep = hp_api_ok(hp_json_events(e, n));
        hp_events_free(e, n);
        return rep;
}

/* The command's stderr as one message: "hwpass: " prefixes gone, lines
 * joined. */
static void error_text(const char *err, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (const char *line = err; *line && used + 1 < size;) {
                const char *end = strchrnul(line, '\n');
                const char *text = hp_startswith(line, "hwpass: ") ? line + 8 : line;

                if (end > text)
                        used += (size_t)snprintf(buf + used, size - used, "%s%.*s", used ? "; " : "",
                                                 (int)(end - text), text);
                line = *end ? end + 1 : end;
        }
        if (!buf[0])
                snprintf(buf, size, "the command failed without saying why");
}

/* Runs a write and turns its outcome into the reply: its JSON on success;
 * otherwise an error with its message, and its JSON (a refused plan) as
 * "detail". Exit 2 (refused input or state) and 1 (the answer is no: no_code,
 * "refused" or "failed") are 409: the API checked the request itself
 * before running it. */
static struct hp_api_reply run_write(struct hp_api *a, const struct hp_api_request *req, char **argv,
                                     const char *input, unsigned ok_status, const char *no_code)
{
        _cleanup_(hp_api_exec_result_done) struct hp_api_exec_result res = { 0 };
        struct hp_api_reply rep;
        json_t *out;
        char msg[1024];
        int r = hp_api_exec(a, argv, &(struct hp_api_exec_opts){ .input = input, .actor = req->actor }, &res);

        if (r < 0)
                return hp_api_error(500, "internal", "cannot run hwpass: %s", strerror(-r));
        out = json_loads(res.out, 0, NULL);
        if (res.exit_code == 0) {
                if (!out)
                        return hp_api_error(500, "internal", "hwpass %s %s gave no JSON", argv[0], argv[1]);
                rep = hp_api_ok(out);
                rep.status = ok_status;
                return rep;
        }
        error_text(res.err, msg, sizeof(msg));
        rep = res.exit_code == 1   ? hp_api_error(409, no_code, "%s", msg)
              : res.exit_code == 2 ? hp_api_error(409, "refused", "%s", msg)
              : res.exit_code == 3 ? hp_api_error(500, "host-error", "%s", msg)
                                   : hp_api_error(500, "crashed", "hwpass exited with status %d: %s", res.exit_code,
                                                  msg);
        if (out && rep.body)
                json_object_set_new(json_object_get(rep.body, "error"), "detail", out);
        else
                json_decref(out);
        return rep;
}

/* The body as an object with only the allowed fields; a 400 in *err. A
 * missing body is an empty object when empty_ok. */
static int body_object(const struct hp_api_request *req, const char *const *allowed, bool empty_ok, json_t **ret,
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
                *err = bad_name(name);
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
                                    .actor = actor };
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

        if (parse_address(address, canon, &err) < 0 || body_object(req, fields, false, &body, &err) < 0)
                return err;
        enabled = json_object_get(body, "enabled");
        if (!json_is_boolean(enabled))
                return hp_api_error(400, "bad-body", "\"enabled\" is required: true or false");
        if (hp_api_get_bool(body, "force", &op.force, &msg) < 0 || hp_api_get_bool(body, "dry_run", &op.dry_run, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        op.enable = json_is_true(enabled);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
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

        if (parse_address(address, canon, &err) < 0 || body_object(req, fields, false, &body, &err) < 0)
                return err;
        if (!json_object_get(body, "label"))
                return hp_api_error(400, "bad-body", "\"label\" is required: the text, or null to remove it");
        if (hp_api_get_string(body, "label", true, &label, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        if (label && (!*label || label[0] == '-'))
                return hp_api_error(400, "bad-body", "a label must not be empty or start with '-'");
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
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

        if (parse_address(address, canon, &err) < 0 || body_object(req, fields, false, &body, &err) < 0)
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

        if (parse_address(address, canon, &err) < 0 || body_object(req, fields, true, &body, &err) < 0)
                return err;
        if (hp_api_get_bool(body, "force", &force, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_device_clear(&ctx, canon, force, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/host/apply {"dry_run"} */
static struct hp_api_reply post_host_apply(struct hp_api *a, const struct hp_api_request *req)
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

        if (body_object(req, fields, true, &body, &err) < 0)
                return err;
        if (hp_api_get_bool(body, "dry_run", &dry_run, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_host_apply(&ctx, dry_run, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/vms: the VM's document, as GET /v1/vms/{name} gives it ("state"
 * ignored); checked here in full, then defined by 'hwpass vm define -'. */
static struct hp_api_reply post_vm(struct hp_api *a, const struct hp_api_request *req)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL, *text = NULL;
        char *argv[] = { "vm", "define", "-", "--json", NULL };

        if (!req->body)
                return hp_api_error(400, "bad-body", "POST /v1/vms needs the VM as a JSON object");
        if (hp_api_body_parse(req->body, req->body_len, HP_API_DEPTH_MAX, &body, &msg) < 0)
                return hp_api_error(400, "bad-body", "POST /v1/vms: %s", msg);
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
                return hp_api_error(500, "internal", "out of memory");
        if (hp_vm_spec_from_document(text, &s, &msg) < 0)
                return hp_api_error(400, "bad-vm", "%s", msg ? msg : "out of memory");
        return run_write(a, req, argv, text, 201, "failed");
}

/* POST /v1/vms/{name}/start, POST /v1/vms/{name}/stop {"force", "timeout"},
 * DELETE /v1/vms/{name} */
static struct hp_api_reply vm_action(struct hp_api *a, const struct hp_api_request *req, const char *name,
                                     const char *action)
{
        static const char *const none[] = { NULL }, *const stop_fields[] = { "force", "timeout", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        unsigned long long timeout = 30;
        bool force = false, stop = streq(action, "stop");
        char timeout_arg[32];
        struct hp_api_reply err, rep;
        struct timespec t0;

        if (hp_api_vm_exists(a, name, &err) < 0 || body_object(req, stop ? stop_fields : none, true, &body, &err) < 0)
                return err;
        if (hp_api_get_bool(body, "force", &force, &msg) < 0 ||
            hp_api_get_uint(body, "timeout", 3600, &timeout, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        snprintf(timeout_arg, sizeof(timeout_arg), "--timeout=%llu", timeout);
        char *argv[8] = { "vm", (char *)action, (char *)name, "--json" };
        size_t n = 4; /* as above */

        if (stop)
                argv[n++] = timeout_arg;
        if (stop && force)
                argv[n++] = "--force";
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rep = run_write(a, req, argv, NULL, 200, "failed");
        if (streq(action, "start"))
                hp_api_power_on_observe(a, &t0, rep.status == 200);
        return rep;
}

/* POST /v1/cli {"argv": [...], "db", "host_root", "cwd", "stdin"}: the hwpass
 * CLI's own route. A write command given to the CLI while the daemon runs is run here,
 * in order with every other write, and its exit status and output go back as
 * they are. Only on the Unix socket, and only for the state this daemon owns. */
static struct hp_api_reply post_cli(struct hp_api *a, const struct hp_api_request *req)
{
        static const char *const fields[] = { "argv", "db", "host_root", "cwd", "stdin", NULL };
        _cleanup_(hp_api_exec_result_done) struct hp_api_exec_result res = { 0 };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_strv_free_ char **argv = calloc(1, sizeof(char *));
        _cleanup_free_ char *msg = NULL;
        const char *db = NULL, *root = NULL, *cwd = NULL, *input = NULL;
        struct hp_api_reply err;
        struct timespec t0;
        json_t *list, *v;
        bool start;
        size_t i;
        int r;

        if (!req->local)
                return hp_api_error(403, "forbidden", "POST /v1/cli is served on the Unix socket only");
        if (body_object(req, fields, false, &body, &err) < 0)
                return err;
        if (hp_api_get_string(body, "db", false, &db, &msg) < 0 ||
            hp_api_get_string(body, "host_root", false, &root, &msg) < 0 ||
            hp_api_get_string(body, "cwd", false, &cwd, &msg) < 0 ||
            hp_api_get_string(body, "stdin", true, &input, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        if (cwd && cwd[0] != '/')
                return hp_api_error(400, "bad-body", "\"cwd\" must be an absolute path");
        if (!db || !root || !hp_same_file(db, a->db_path) || !hp_same_file(root, a->host_root))
                return hp_api_error(409, "other-state", "this daemon serves the database '%s' and host root '%s'",
                                    a->db_path, a->host_root);
        list = json_object_get(body, "argv");
        if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 256)
                return hp_api_error(400, "bad-body", "\"argv\" must be an array of 1 to 256 strings");
        json_array_foreach(list, i, v) {
                if (!json_is_string(v))
                        return hp_api_error(400, "bad-body", "\"argv\" must be an array of strings");
                if (!argv || hp_strv_push(&argv, json_string_value(v)) < 0)
                        return hp_api_error(500, "internal", "out of memory");
        }
        /* A start the CLI forwards is a power-on served here too. */
        start = hp_strv_length(argv) >= 3 && streq(argv[0], "vm") && streq(argv[1], "start");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = hp_api_exec(a, argv,
                        &(struct hp_api_exec_opts){ .input = input, .actor = req->actor, .cwd = cwd, .forwarded = true },
                        &res);
        if (r < 0)
                return hp_api_error(500, "internal", "cannot run hwpass: %s", strerror(-r));
        if (start)
                hp_api_power_on_observe(a, &t0, res.exit_code == 0);
        return hp_api_ok(json_pack("{s:i, s:s, s:s}", "exit", res.exit_code, "stdout", res.out, "stderr", res.err));
}

/* "/v1/devices/0000:01:00.0" with prefix "/v1/devices/": the rest, if it is
 * one non-empty path segment; with suffix, the segment before it. */
static bool segment(const char *url, const char *prefix, const char *suffix, char *buf, size_t size)
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

static struct hp_api_reply method_error(const struct hp_api_request *req, const char *allowed)
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
        return db && root && hp_same_file(db, a->db_path) && hp_same_file(root, a->host_root);
}

struct hp_api_reply hp_api_route(struct hp_api *a, const struct hp_api_request *req)
{
        const char *m = req->method, *url = req->url;
        bool get = streq(m, "GET"), put = streq(m, "PUT"), post = streq(m, "POST"), del = streq(m, "DELETE");
        char arg[256];

        if (!post && !put && !del && req->body)
                return hp_api_error(413, "body", "%s %s takes no request body", m, url);
        if (!serves_state(a, req))
                return hp_api_error(409, "other-state", "this daemon serves the database '%s' and host root '%s'",
                                    a->db_path, a->host_root);
        if (streq(url, "/v1/host/check"))
                return get ? host_check(a) : method_error(req, "GET");
        if (streq(url, "/v1/devices"))
                return get ? devices(a, NULL) : method_error(req, "GET");
        if (segment(url, "/v1/devices/", "/passthrough", arg, sizeof(arg)))
                return put ? put_passthrough(a, req, arg) : method_error(req, "PUT");
        if (segment(url, "/v1/devices/", "/label", arg, sizeof(arg)))
                return put ? put_label(a, req, arg) : method_error(req, "PUT");
        if (segment(url, "/v1/devices/", "/attributes", arg, sizeof(arg)))
                return put ? put_attributes(a, req, arg) : method_error(req, "PUT");
        if (segment(url, "/v1/devices/", "/clear", arg, sizeof(arg)))
                return post ? post_clear(a, req, arg) : method_error(req, "POST");
        if (streq(url, "/v1/host/apply"))
                return post ? post_host_apply(a, req) : method_error(req, "POST");
        if (segment(url, "/v1/devices/", NULL, arg, sizeof(arg)))
                return get ? devices(a, arg) : method_error(req, "GET");
        if (streq(url, "/v1/vms"))
                return get ? vms(a, NULL) : post ? post_vm(a, req) : method_error(req, "GET or POST");
        if (segment(url, "/v1/vms/", "/start", arg, sizeof(arg)))
                return post ? vm_action(a, req, arg, "start") : method_error(req, "POST");
        if (segment(url, "/v1/vms/", "/stop", arg, sizeof(arg)))
                return post ? vm_action(a, req, arg, "stop") : method_error(req, "POST");
        if (segment(url, "/v1/vms/", "/log", arg, sizeof(arg)))
                return get ? hp_api_vm_log(a, arg) : method_error(req, "GET");
        if (segment(url, "/v1/vms/", NULL, arg, sizeof(arg)))
                return get ? vms(a, arg) : del ? vm_action(a, req, arg, "delete") : method_error(req, "GET or DELETE");
        if (streq(url, "/v1/events"))
                return get ? events(a, MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "since"),
                                    MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "limit"))
                           : method_error(req, "GET");
        if (streq(url, "/v1/usb"))
                return get ? hp_api_usb(a) : method_error(req, "GET");
        if (streq(url, "/v1/cli"))
                return post ? post_cli(a, req) : method_error(req, "POST");
        if (streq(url, "/metrics"))
                return get ? hp_api_metrics(a) : method_error(req, "GET");
        if (!hp_startswith(url, "/v1/"))
                return hp_api_web(a, req);
        return hp_api_error(404, "no-route",
                            "no such resource: %s %s (see /v1/devices, /v1/vms, /v1/events, /v1/host/check)", m,
                            url);
}

/* The API's VM writes: each checks its body here and calls the operation
 * (src/ops/vm.h) in this thread, under the VM's own lock, so a slow stop of
 * one VM never holds back a write to another. And vm explain, an operation
 * that only reads. */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api-internal.h"
#include "api/request.h"
#include "ops/ops.h"
#include "ops/vm.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

/* POST /v1/vms: the VM's document, as GET /v1/vms/{name} gives it ("state"
 * ignored); ?from=vmx records it as imported. */
struct hp_api_reply hp_api_post_vm(struct hp_api *a, const struct hp_api_request *req)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL, *text = NULL;
        const char *from = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "from");
        char actor[160];
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        int r;

        if (!req->body)
                return hp_api_error(400, "bad-body", "POST /v1/vms needs the VM as a JSON object");
        if (hp_api_body_parse(req->body, req->body_len, HP_API_DEPTH_MAX, &body, &msg) < 0)
                return hp_api_error(400, "bad-body", "POST /v1/vms: %s", msg);
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
                return hp_api_error(500, "internal", "out of memory");
        if (hp_vm_spec_from_document(text, &s, &msg) < 0)
                return hp_api_error(400, "bad-vm", "%s", msg ? msg : "out of memory");
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_vm_create(&ctx, &s, from && streq(from, "vmx") ? "vm-imported" : "vm-created", &doc);
        return hp_api_op_reply(&ctx, r, doc, 201);
}

/* The VM exists (404 otherwise) and the body has only these fields. */
static int vm_request(struct hp_api *a, const struct hp_api_request *req, const char *name,
                      const char *const *fields, json_t **ret, struct hp_api_reply *err)
{
        if (hp_api_vm_exists(a, name, err) < 0)
                return -ENOENT;
        return hp_api_body_object(req, fields, true, ret, err);
}

struct hp_api_reply hp_api_vm_start(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        static const char *const none[] = { NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        struct hp_api_reply err, rep;
        struct hp_ops_ctx ctx;
        struct timespec t0;
        json_t *doc = NULL;
        char actor[160];
        int r;

        if (vm_request(a, req, name, none, &body, &err) < 0)
                return err;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_vm_start(&ctx, name, &doc);
        rep = hp_api_op_reply(&ctx, r, doc, 200);
        hp_api_power_on_observe(a, &t0, rep.status == 200);
        return rep;
}

/* POST /v1/vms/{name}/stop {"force", "timeout"} */
struct hp_api_reply hp_api_vm_stop(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        static const char *const fields[] = { "force", "timeout", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        unsigned long long timeout = 30;
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        bool force = false;
        char actor[160];
        int r;

        if (vm_request(a, req, name, fields, &body, &err) < 0)
                return err;
        if (hp_api_get_bool(body, "force", &force, &msg) < 0 || hp_api_get_uint(body, "timeout", 3600, &timeout, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_vm_stop(&ctx, name, force, timeout, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

struct hp_api_reply hp_api_vm_delete(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        static const char *const none[] = { NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        char actor[160];
        int r;

        if (vm_request(a, req, name, none, &body, &err) < 0)
                return err;
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_vm_delete(&ctx, name, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* A whole number from 1 to max at key, when there: *ret stays otherwise. */
static int positive(json_t *body, const char *key, unsigned long long max, unsigned long long *ret, char **msg)
{
        unsigned long long v = 0;

        if (!json_object_get(body, key))
                return 0;
        if (hp_api_get_uint(body, key, max, &v, msg) < 0 || v == 0) {
                free(*msg);
                return asprintf(msg, "\"%s\" must be a whole number from 1 to %llu", key, max) < 0 ? -ENOMEM : -EINVAL;
        }
        *ret = v;
        return 0;
}

/* PUT /v1/vms/{name}/settings {"memory_mib", "vcpus", "hugepages", "device_limit", "firmware",
 * "placement" (null: the cluster's)} */
struct hp_api_reply hp_api_vm_settings(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        static const char *const fields[] = { "memory_mib", "vcpus",    "hugepages", "device_limit",
                                              "firmware",   "placement", NULL };
        const char *fw = NULL, *placement = NULL;
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        unsigned long long memory = 0, vcpus = 0, limit = 0;
        struct hp_ops_vm_settings set = { .hugepages = -1 };
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        bool huge = false;
        char actor[160];
        int r;

        if (vm_request(a, req, name, fields, &body, &err) < 0)
                return err;
        if (positive(body, "memory_mib", HP_VM_MAX_MEMORY_MIB, &memory, &msg) < 0 ||
            positive(body, "vcpus", HP_VM_MAX_VCPUS, &vcpus, &msg) < 0 ||
            positive(body, "device_limit", HP_VM_MAX_DEVICE_LIMIT, &limit, &msg) < 0 ||
            hp_api_get_bool(body, "hugepages", &huge, &msg) < 0 ||
            hp_api_get_string(body, "firmware", false, &fw, &msg) < 0 ||
            hp_api_get_string(body, "placement", true, &placement, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg ? msg : "out of memory");
        if (fw && hp_vm_firmware_from_string(fw, &set.firmware) < 0)
                return hp_api_error(400, "bad-body",
                                    "invalid 'firmware' \"%s\": \"auto\" (EFI when the devices need it), \"bios\" "
                                    "or \"efi\"",
                                    fw);
        set.set_firmware = fw != NULL;
        if (placement && hp_vm_placement_from_string(placement, &set.placement) < 0)
                return hp_api_error(400, "bad-body",
                                    "invalid 'placement' \"%s\": \"performance\" (spread over the hosts), "
                                    "\"consolidation\" (packed on few), or null (the cluster's setting)",
                                    placement);
        set.set_placement = json_object_get(body, "placement") != NULL;
        set.memory_mib = memory;
        set.vcpus = (unsigned)vcpus;
        set.device_limit = (unsigned)limit;
        if (json_object_get(body, "hugepages"))
                set.hugepages = huge;
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_vm_set(&ctx, name, &set, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/vms/{name}/pci, /usb: one entry as the VM's document has it,
 * without "index" (the VM chooses it). */
struct hp_api_reply hp_api_vm_add(struct hp_api *a, const struct hp_api_request *req, const char *name, bool pci)
{
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        struct hp_vm_pci p = { 0 };
        struct hp_vm_usb u = { 0 };
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        char actor[160];
        int r, index;

        if (hp_api_vm_exists(a, name, &err) < 0)
                return err;
        if (!req->body || hp_api_body_parse(req->body, req->body_len, HP_API_DEPTH_MAX, &body, &msg) < 0 ||
            !json_is_object(body))
                return hp_api_error(400, "bad-body", "%s %s needs the device entry as a JSON object%s%s", req->method,
                                    req->url, msg ? ": " : "", msg ? msg : "");
        if (json_object_get(body, "index"))
                return hp_api_error(400, "bad-body", "\"index\" is the VM's to choose: leave it out");
        if (json_object_set_new(body, "index", json_integer(0)) < 0)
                return hp_api_error(500, "internal", "out of memory");
        r = pci ? hp_vm_pci_from_json(body, &p, &msg) : hp_vm_usb_from_json(body, &u, &msg);
        if (r < 0) {
                hp_vm_pci_done(&p);
                hp_vm_usb_done(&u);
                return hp_api_error(400, "bad-vm", "%s", msg ? msg : "out of memory");
        }
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = pci ? hp_ops_vm_add_pci(&ctx, name, &p, &index, &doc) : hp_ops_vm_add_usb(&ctx, name, &u, &index, &doc);
        hp_vm_pci_done(&p);
        hp_vm_usb_done(&u);
        return hp_api_op_reply(&ctx, r, doc, 201);
}

/* PUT /v1/vms/{name}/autostart {"order": N | null, "delay": S} */
struct hp_api_reply hp_api_vm_autostart(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        static const char *const fields[] = { "order", "delay", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        unsigned long long order = 0, delay = 0;
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        char actor[160];
        bool off;
        int r;

        if (vm_request(a, req, name, fields, &body, &err) < 0)
                return err;
        if (!json_object_get(body, "order"))
                return hp_api_error(400, "bad-body", "\"order\" is required: 0 to %d, or null for none",
                                    HP_VM_MAX_AUTOSTART_ORDER);
        off = json_is_null(json_object_get(body, "order"));
        if ((!off && hp_api_get_uint(body, "order", HP_VM_MAX_AUTOSTART_ORDER, &order, &msg) < 0) ||
            hp_api_get_uint(body, "delay", HP_VM_MAX_AUTOSTART_DELAY, &delay, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_vm_autostart(&ctx, name, off ? -1 : (int)order, (unsigned)delay, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

struct hp_api_reply hp_api_vm_remove_device(struct hp_api *a, const struct hp_api_request *req, const char *name,
                                            const char *which)
{
        static const char *const none[] = { NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        char actor[160];
        int r;

        if (vm_request(a, req, name, none, &body, &err) < 0)
                return err;
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_vm_remove_device(&ctx, name, which, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* POST /v1/host/start-vms, POST /v1/host/stop-vms {"timeout"} */
struct hp_api_reply hp_api_host_vms(struct hp_api *a, const struct hp_api_request *req, bool start)
{
        static const char *const none[] = { NULL }, *const stop_fields[] = { "timeout", NULL };
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        unsigned long long timeout = 60;
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        char actor[160];
        int r;

        if (hp_api_body_object(req, start ? none : stop_fields, true, &body, &err) < 0)
                return err;
        if (hp_api_get_uint(body, "timeout", 3600, &timeout, &msg) < 0)
                return hp_api_error(400, "bad-body", "%s", msg);
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = start ? hp_ops_host_start_vms(&ctx, NULL, NULL, &doc) : hp_ops_host_stop_vms(&ctx, timeout, NULL, NULL, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

/* GET /v1/vms/{name}/explain: where power-on could place it and why, the
 * document 'hwpass vm explain --json' prints. A read: no lock. */
struct hp_api_reply hp_api_vm_explain(struct hp_api *a, const struct hp_api_request *req, const char *name)
{
        struct hp_api_reply err;
        struct hp_ops_ctx ctx;
        json_t *doc = NULL;
        char actor[160];
        int r;

        if (hp_api_vm_exists(a, name, &err) < 0)
                return err;
        hp_api_ops_ctx(a, req, actor, sizeof(actor), &ctx);
        r = hp_ops_vm_explain(&ctx, name, &doc);
        return hp_api_op_reply(&ctx, r, doc, 200);
}

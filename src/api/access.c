/* Which role each request needs (util/token.h): reading is a viewer's;
 * powering and editing VMs (and the host's start-vms and stop-vms) and
 * labelling devices an operator's; everything else an admin's: the host's
 * passthrough, apply, probe and device recovery, the cluster's hosts and
 * settings, and the tokens. The agents' routes check their host's
 * credential themselves. A caller on the Unix socket is root or the
 * daemon's user: an admin.
 *
 * A token may also be limited to hosts and VMs (docs/cluster.md "Roles"):
 * it acts only on those (a VM of its list, on one of its hosts or on none
 * yet; a device or host route of one of its hosts), reads lists of those
 * only, and never the routes about the whole cluster or the tokens. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "api/api-internal.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

/* "/v1/devices/ADDR/label": the segment after prefix's is suffix. */
static bool device_route(const char *url, const char *suffix)
{
        char addr[64];

        return hp_api_segment(url, "/v1/devices/", suffix, addr, sizeof(addr));
}

enum hp_token_role hp_api_role_needed(const char *method, const char *url)
{
        if (streq(method, "GET") || streq(method, "HEAD"))
                return hp_startswith(url, "/v1/tokens") || hp_startswith(url, "/v1/cluster/tokens")
                               ? HP_TOKEN_ADMIN
                               : HP_TOKEN_VIEWER;
        if (hp_startswith(url, "/v1/agent/"))
                return HP_TOKEN_VIEWER;
        if (streq(url, "/v1/vms") || hp_startswith(url, "/v1/vms/") ||
            streq(url, "/v1/host/start-vms") || streq(url, "/v1/host/stop-vms") ||
            device_route(url, "/label") || device_route(url, "/attributes"))
                return HP_TOKEN_OPERATOR;
        return HP_TOKEN_ADMIN;
}

bool hp_api_access_allowed(const struct hp_api_request *req, struct hp_api_reply *ret_refusal)
{
        enum hp_token_role need = hp_api_role_needed(req->method, req->url);

        if (req->access >= need)
                return true;
        *ret_refusal = hp_api_error(
                403, "forbidden",
                "%s %s needs a token with the %s role; %s is a%s %s: ask an admin for one "
                "('hwpass token create NAME --role %s' on the host)",
                req->method, req->url, hp_token_role_name(need), req->actor,
                req->access == HP_TOKEN_OPERATOR || req->access == HP_TOKEN_ADMIN ? "n" : "",
                hp_token_role_name(req->access), hp_token_role_name(need));
        return false;
}

/* ---- A token's limits: the hosts and VMs it may act on (util/token.h). ---- */

static struct hp_api_reply out_of_scope(const struct hp_api_request *req, const char *why)
{
        _cleanup_free_ char *limits = hp_token_scope_text(req->scope);

        if (!limits)
                return hp_api_error(500, "internal", "out of memory");
        return hp_api_error(403, "out-of-scope",
                            "%s %s %s: %s is limited to %s (ask an admin for a token that may)",
                            req->method, req->url, why, req->actor, limits);
}

void hp_api_local_host(char *buf, size_t size)
{
        struct utsname u;

        snprintf(buf, size, "%s", uname(&u) == 0 ? u.nodename : "localhost");
}

bool hp_api_scope_has_host(const struct hp_api_request *req, const char *host)
{
        return !hp_token_scope_limited(req->scope) || hp_token_list_has(req->scope->hosts, host);
}

bool hp_api_scope_has_vm(const struct hp_api_request *req, const char *vm, const char *host)
{
        if (!hp_token_scope_limited(req->scope))
                return true;
        return hp_token_list_has(req->scope->vms, vm) &&
               (!host || hp_token_list_has(req->scope->hosts, host));
}

void hp_api_scope_filter(const struct hp_api_request *req, json_t *list, const char *name_key,
                         const char *host_key, const char *local)
{
        size_t i = 0;

        while (hp_token_scope_limited(req->scope) && i < json_array_size(list)) {
                json_t *e = json_array_get(list, i);
                const char *name = name_key ? json_string_value(json_object_get(e, name_key))
                                            : NULL,
                           *host = host_key ? json_string_value(json_object_get(e, host_key))
                                            : local;
                /* A VM on no host yet is one a host-limited token may start (on its hosts). */
                bool keep = (!name_key || !req->scope->vms ||
                             (name && hp_token_list_has(req->scope->vms, name))) &&
                            (!host || hp_token_list_has(req->scope->hosts, host));

                if (keep)
                        i++;
                else
                        json_array_remove(list, i);
        }
}

/* Routes about the whole cluster or the tokens: no limited token's. */
static bool whole(const char *method, const char *url)
{
        char name[256];

        return hp_startswith(url, "/v1/tokens") || hp_startswith(url, "/v1/cluster/") ||
               streq(url, "/metrics") ||
               (streq(method, "DELETE") &&
                hp_api_segment(url, "/v1/hosts/", NULL, name, sizeof(name)));
}

/* The host a host or device route acts on, into host; false: not one. A
 * controller's device routes name theirs (?host=); its hosts' maintenance
 * too; a host's own routes act on this machine. Reads of every host's
 * devices are filtered instead (routes.c). */
static bool acts_on_host(struct hp_api *a, const struct hp_api_request *req, char *host,
                         size_t size)
{
        const char *url = req->url;

        if (hp_api_segment(url, "/v1/hosts/", "/maintenance", host, size))
                return true;
        if (!streq(url, "/v1/devices") && !hp_startswith(url, "/v1/devices/") &&
            !hp_startswith(url, "/v1/host/") && !streq(url, "/v1/usb"))
                return false;
        if (a->role != HP_ROLE_CONTROLLER) {
                hp_api_local_host(host, size);
                return true;
        }
        snprintf(host, size, "%s",
                 MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "host") ?: "");
        return host[0] != '\0';
}

/* The VM a VM route names, into name (POST /v1/vms: the body's); false: not one. */
static bool acts_on_vm(const struct hp_api_request *req, char *name, size_t size)
{
        const char *rest;

        if (streq(req->url, "/v1/vms") && streq(req->method, "POST")) {
                /* As strict as the routes' parse: a name given twice is no name. */
                _cleanup_(json_decrefp) json_t *body =
                        req->body
                                ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL)
                                : NULL;

                snprintf(name, size, "%s", json_string_value(json_object_get(body, "name")) ?: "");
                return true;
        }
        if (!hp_startswith(req->url, "/v1/vms/"))
                return false;
        rest = req->url + strlen("/v1/vms/");
        snprintf(name, size, "%.*s", (int)strcspn(rest, "/"), rest);
        return true;
}

/* Where VM name is: its host, or "" when it has none (unplaced); -ENOENT
 * when there is no such VM. */
static int vm_host(struct hp_api *a, const struct hp_api_request *req, const char *name, char *host,
                   size_t size)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm vm = { 0 };
        int r;

        if (a->role != HP_ROLE_CONTROLLER) {
                hp_api_local_host(host, size);
                return 0;
        }
        if (streq(req->url, "/v1/vms")) { /* a definition: where it is pinned, if anywhere */
                snprintf(host, size, "%s",
                         MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "host")
                                 ?: "");
                return 0;
        }
        r = hp_store_open_readonly(a->db_path, &s, NULL);
        if (r >= 0)
                r = hp_store_cluster_vm_get(s, name, &vm);
        if (r < 0)
                return r;
        snprintf(host, size, "%s", vm.host ?: "");
        return 0;
}

bool hp_api_scope_allowed(struct hp_api *a, const struct hp_api_request *req,
                          struct hp_api_reply *ret_refusal)
{
        const struct hp_token_scope *sc = req->scope;
        bool read = streq(req->method, "GET") || streq(req->method, "HEAD");
        char name[256], host[HP_STORE_HOST_NAME_MAX + 1], why[600];
        int r;

        if (!hp_token_scope_limited(sc))
                return true;
        if (whole(req->method, req->url)) {
                *ret_refusal = out_of_scope(req, "is about the whole cluster");
                return false;
        }
        if (acts_on_host(a, req, host, sizeof(host))) {
                /* A token for VMs only reads the devices, to choose theirs. */
                if ((sc->hosts && hp_token_list_has(sc->hosts, host)) || (!sc->hosts && read))
                        return true;
                snprintf(why, sizeof(why), "acts on host %s", host);
                *ret_refusal = out_of_scope(req, why);
                return false;
        }
        if (!acts_on_vm(req, name, sizeof(name))) {
                if (read)
                        return true; /* lists, filtered by their routes */
                *ret_refusal = out_of_scope(req, "acts on none of its hosts or VMs");
                return false;
        }
        if (!name[0]) {
                /* A definition whose name cannot be read here is not let through for the route to
                 * read. */
                *ret_refusal = out_of_scope(req, "names no VM (a JSON object with one \"name\")");
                return false;
        }
        if (!hp_token_list_has(sc->vms, name)) {
                snprintf(why, sizeof(why), "acts on VM '%s'", name);
                *ret_refusal = out_of_scope(req, why);
                return false;
        }
        if (!sc->hosts)
                return true;
        r = vm_host(a, req, name, host, sizeof(host));
        if (r == -ENOENT || (r >= 0 && (!host[0] || hp_token_list_has(sc->hosts, host))))
                /* No such VM: the route says so; unplaced: its start is placed on the token's
                 * hosts. */
                return true;
        if (r < 0)
                *ret_refusal = hp_api_error(500, "store-unreadable", "cannot read VM '%s': %s",
                                            name, strerror(-r));
        else {
                snprintf(why, sizeof(why), "acts on VM '%s', which is on host %s", name, host);
                *ret_refusal = out_of_scope(req, why);
        }
        return false;
}

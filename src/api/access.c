/* Which role each request needs (util/token.h): reading is a viewer's;
 * powering and editing VMs (and the host's start-vms and stop-vms) and
 * labelling devices an operator's; everything else an admin's: the host's
 * passthrough, apply, probe and device recovery, the cluster's hosts and
 * settings, and the tokens. The agents' routes check their host's
 * credential themselves. A caller on the Unix socket is root or the
 * daemon's user: an admin. */
#include <string.h>

#include "api/api-internal.h"
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

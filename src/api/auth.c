/* Who asks: on the Unix socket the peer's credentials (root, or the daemon's
 * own user); on TCP the bearer token in the Authorization header, checked
 * against the store's hashes. */
#include <errno.h>
#include <microhttpd.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/token.h"

#define HOW_TO_GET_ONE "create one with 'hwpass token create NAME' on the host"

bool hp_api_peer_allowed(struct hp_api *a, struct MHD_Connection *conn, char *actor, size_t size)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        struct passwd pw, *found = NULL;
        char buf[1024];

        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found) == 0 && found)
                snprintf(actor, size, "%s", found->pw_name);
        else
                snprintf(actor, size, "uid %u", (unsigned)cred.uid);
        return cred.uid == 0 || cred.uid == a->uid;
}

/* The token after "Bearer " (the scheme in any case, RFC 7235), or NULL. */
static const char *bearer(const char *header)
{
        if (!header || strncasecmp(header, "Bearer ", 7) != 0)
                return NULL;
        header += 7;
        while (*header == ' ')
                header++;
        return *header ? header : NULL;
}

/* The name, role and limits of the stored token whose hash is the
 * presented token's; on a controller, else the host whose credential it is
 * (*ret_host true, the role viewer's: a credential opens the agents' routes
 * only). */
static int token_name(struct hp_api *a, const char *token, struct hp_token_info *ret,
                      bool *ret_host)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        char hash[HP_TOKEN_HASH_LEN + 1];
        int r = hp_token_hash(token, hash);

        if (r < 0)
                return r;
        /* A connection per check (hwpassd made the store at start): they are cheap, and the pool's threads share none. */
        r = hp_store_open(a->db_path, &s, NULL);
        if (r < 0)
                return r;
        *ret_host = false;
        r = hp_store_token_check(s, hash, ret);
        if (r != -ENOENT || a->role != HP_ROLE_CONTROLLER)
                return r;
        *ret_host = true;
        *ret = (struct hp_token_info){ .role = HP_TOKEN_VIEWER };
        return hp_store_host_check(s, hash, &ret->name);
}

static struct hp_api_reply unauthorized(const char *challenge, const char *msg)
{
        struct hp_api_reply rep = hp_api_error(401, "unauthorized", "%s", msg);

        rep.challenge = challenge;
        return rep;
}

bool hp_api_bearer_allowed(struct hp_api *a, struct MHD_Connection *conn, char *actor, size_t size,
                           char *agent_host, size_t host_size, enum hp_token_role *ret_access,
                           struct hp_token_scope *ret_scope, struct hp_api_reply *ret_refusal)
{
        const char *header =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *token = bearer(header);
        _cleanup_(hp_token_info_done) struct hp_token_info t = { 0 };
        bool is_host = false;
        int r;

        agent_host[0] = '\0';
        if (!token) {
                *ret_refusal = unauthorized("Bearer realm=\"hwpass\"",
                                            "this API needs a token over TCP: send 'Authorization: "
                                            "Bearer TOKEN'; " HOW_TO_GET_ONE);
                return false;
        }
        r = token_name(a, token, &t, &is_host);
        if (r == -ENOENT || r == -EINVAL) {
                *ret_refusal = unauthorized(
                        "Bearer realm=\"hwpass\", error=\"invalid_token\"",
                        "the token is not valid (mistyped, or revoked): " HOW_TO_GET_ONE);
                return false;
        }
        if (r < 0) {
                *ret_refusal =
                        hp_api_error(500, "internal", "cannot check the token: %s", strerror(-r));
                return false;
        }
        snprintf(actor, size, "%s %s", is_host ? "host" : "token", t.name);
        if (is_host)
                snprintf(agent_host, host_size, "%s", t.name);
        *ret_access = t.role;
        *ret_scope = t.scope;
        t.scope = (struct hp_token_scope){ 0 };
        return true;
}

/* A host joins the cluster: its join token is used, the host added and its
 * own credential set, all in one transaction, so a refused join leaves the
 * token usable and no host behind. Join tokens are made here too. */
#include <errno.h>
#include <string.h>

#include "ctl.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/token.h"

#define MAKE_ONE "make one with 'hwpass cluster token create' on a controller"

struct join {
        const char *host;
        char token_hash[HP_TOKEN_HASH_LEN + 1];
        char credential_hash[HP_TOKEN_HASH_LEN + 1];
        int failed_at; /* which step said no: for the message */
};

enum { AT_TOKEN = 1, AT_CREDENTIAL };

static int join_tx(struct hp_store *s, void *userdata)
{
        struct join *j = userdata;
        /* In turn with the other writers of the event log: a hundred hosts
         * joining at once queue rather than conflict and give up. */
        int r = hp_store_events_turn(s);

        if (r < 0)
                return r;
        j->failed_at = AT_TOKEN;
        r = hp_store_join_token_use(s, j->token_hash);
        if (r < 0)
                return r;
        j->failed_at = 0;
        r = hp_store_host_add(s, j->host);
        if (r < 0 && r != -EEXIST)
                return r;
        j->failed_at = AT_CREDENTIAL;
        r = hp_store_host_set_credential(s, j->host, j->credential_hash);
        if (r < 0)
                return r;
        j->failed_at = 0;
        r = hp_store_set_host(s, j->host);
        if (r >= 0)
                r = hp_store_event_add(s, "host-joined", j->host, NULL);
        (void)hp_store_set_host(s, HP_STORE_LOCAL_HOST);
        return r;
}

int hp_ctl_join(struct hp_ops_ctx *c, const struct hp_ctl_config *cfg, json_t *body, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        const char *host = json_string_value(json_object_get(body, "host")),
                   *token = json_string_value(json_object_get(body, "token"));
        char credential[HP_TOKEN_LEN + 1], who[300];
        struct join j = { .host = host };
        json_t *urls;
        int r;

        snprintf(who, sizeof(who), "the agent on %s", host ? host : "a joining host");
        r = hp_ctl_protocol_check(c, body, who);
        if (r < 0)
                return r;
        if (!hp_store_host_name_is_valid(host) || streq(host, HP_STORE_LOCAL_HOST))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "invalid host name '%.64s': 1-%d letters, digits, '-', '.' or '_', not '%s'",
                                  host ? host : "", HP_STORE_HOST_NAME_MAX, HP_STORE_LOCAL_HOST);
        if (!token || hp_token_hash(token, j.token_hash) < 0)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "the join asks for a \"token\": " MAKE_ONE);
        r = hp_token_generate(credential);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read random bytes for the host's credential");
        r = hp_token_hash(credential, j.credential_hash);
        if (r >= 0)
                r = hp_ops_store_open(c, &s);
        if (r >= 0)
                r = hp_store_transact(s, join_tx, &j);
        if (r == -ENOENT && j.failed_at == AT_TOKEN)
                r = hp_op_fail(c, HP_OP_AUTH, r, "the join token is not valid (used already, or never made): " MAKE_ONE);
        else if (r == -EKEYEXPIRED)
                r = hp_op_fail(c, HP_OP_AUTH, r, "the join token has expired: " MAKE_ONE);
        else if (r == -EEXIST && j.failed_at == AT_CREDENTIAL)
                r = hp_op_fail_code(c, HP_OP_CONFLICT, "host-exists", r,
                                    "a host named '%s' has joined already: give this host another name, or "
                                    "remove that one first ('hwpass host remove %s')",
                                    host, host);
        else if (r < 0 && !c->error.message)
                r = hp_op_store_error(c, r, "cannot add host '%s' to the cluster", host);
        if (r < 0) {
                explicit_bzero(credential, sizeof(credential));
                return r;
        }
        urls = json_array();
        for (size_t i = 0; urls && cfg->controllers && cfg->controllers[i]; i++)
                json_array_append_new(urls, json_string(cfg->controllers[i]));
        *ret = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I}", "host", host, "credential", credential, "controllers",
                         urls, "heartbeat_ms", (json_int_t)hp_ctl_heartbeat_ms(cfg), "lease_ms",
                         (json_int_t)hp_ctl_lease_ms(cfg), "margin_ms", (json_int_t)hp_ctl_margin_ms(cfg));
        explicit_bzero(credential, sizeof(credential));
        return *ret ? 0 : hp_op_oom(c);
}

struct token_add {
        const char *hash;
        int64_t ttl_ms, expires;
};

static int token_tx(struct hp_store *s, void *userdata)
{
        struct token_add *t = userdata;
        int r = hp_store_join_token_add(s, t->hash, t->ttl_ms, &t->expires);

        return r < 0 ? r : hp_store_event_add(s, "join-token-created", NULL, NULL);
}

int hp_ctl_join_token_create(struct hp_ops_ctx *c, int64_t ttl_ms, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        char token[HP_TOKEN_LEN + 1], hash[HP_TOKEN_HASH_LEN + 1];
        struct token_add t = { .hash = hash };
        int r;

        if (ttl_ms == 0)
                ttl_ms = HP_JOIN_TOKEN_TTL_MS_DEFAULT;
        if (ttl_ms < 0 || ttl_ms > HP_STORE_TTL_MS_MAX)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "a join token lasts from 1 ms to 30 days, not %lld ms",
                                  (long long)ttl_ms);
        r = hp_token_generate(token);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read random bytes for the join token");
        r = hp_token_hash(token, hash);
        if (r >= 0)
                r = hp_ops_store_open(c, &s);
        if (r < 0)
                return r;
        t.ttl_ms = ttl_ms;
        /* Retried when it meets another writer (the events' counter row). */
        r = hp_store_transact(s, token_tx, &t);
        if (r < 0) {
                explicit_bzero(token, sizeof(token));
                return hp_op_store_error(c, r, "cannot store the join token");
        }
        *ret = json_pack("{s:s, s:I}", "token", token, "expires_ms", (json_int_t)t.expires);
        explicit_bzero(token, sizeof(token));
        return *ret ? 0 : hp_op_oom(c);
}

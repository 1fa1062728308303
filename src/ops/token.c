/* The API's bearer tokens: made (shown once, its SHA-256 stored) and
 * revoked, each with its event in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"
#include "store/store.h"
#include "token.h"
#include "util/macro.h"
#include "util/token.h"

struct change {
        const char *kind, *name, *hash;
        enum hp_token_role role;
};

static int change_tx(struct hp_store *s, void *userdata)
{
        const struct change *ch = userdata;
        char message[32];
        int r = ch->hash ? hp_store_token_add(s, ch->name, ch->hash, ch->role)
                         : hp_store_token_revoke(s, ch->name);

        if (r < 0)
                return r;
        snprintf(message, sizeof(message), "role %s", hp_token_role_name(ch->role));
        return hp_store_event_add(s, ch->kind, ch->name, ch->hash ? message : NULL);
}

/* Adds (with a hash) or revokes the token and records kind, in one
 * transaction, retried when it meets another writer (a cluster's
 * heartbeats write events all the time). */
static int change(struct hp_store *s, const char *kind, const char *name, const char *hash,
                  enum hp_token_role role)
{
        return hp_store_transact(
                s, change_tx,
                &(struct change){ .kind = kind, .name = name, .hash = hash, .role = role });
}

static int check_name(struct hp_ops_ctx *c, const char *name)
{
        if (!hp_token_name_is_valid(name))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "invalid token name '%s': 1-%d letters, digits, '-', '_' or '.'",
                                  name, HP_TOKEN_NAME_MAX);
        return 0;
}

int hp_ops_token_create(struct hp_ops_ctx *c, const char *name, enum hp_token_role role,
                        json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        char token[HP_TOKEN_LEN + 1], hash[HP_TOKEN_HASH_LEN + 1];
        int r = check_name(c, name);

        if (r >= 0)
                r = hp_ops_store_open(c, &s);
        if (r < 0)
                return r;
        r = hp_token_generate(token);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read random bytes for the token");
        r = hp_token_hash(token, hash);
        if (r >= 0)
                r = change(s, "token-created", name, hash, role);
        if (r == -EEXIST)
                r = hp_op_fail(c, HP_OP_CONFLICT, r, "a token named '%s' exists: revoke it first or choose another name",
                               name);
        else if (r < 0)
                r = hp_op_host_error(c, r, "cannot store token '%s' in '%s'", name, c->db);
        else if (!(*ret = json_pack("{s:s, s:s, s:s}", "name", name, "role",
                                    hp_token_role_name(role), "token", token)))
                r = hp_op_oom(c);
        explicit_bzero(token, sizeof(token));
        return r;
}

int hp_ops_token_revoke(struct hp_ops_ctx *c, const char *name, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        int r = check_name(c, name);

        if (r >= 0)
                r = hp_ops_store_open(c, &s);
        if (r < 0)
                return r;
        r = change(s, "token-revoked", name, NULL, HP_TOKEN_VIEWER);
        if (r == -ENOENT)
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-token", r, "no token '%s'", name);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot revoke token '%s' in '%s'", name, c->db);
        *ret = json_pack("{s:s, s:b}", "name", name, "revoked", 1);
        return *ret ? 0 : hp_op_oom(c);
}

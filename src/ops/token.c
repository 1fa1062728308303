/* The API's bearer tokens: made (shown once, its SHA-256 stored) and
 * revoked, each with its event in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "store/store.h"
#include "token.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"
#include "vm/spec.h"

struct change {
        const char *kind, *name, *hash;
        enum hp_token_role role;
        const struct hp_token_scope *scope;
};

static int change_tx(struct hp_store *s, void *userdata)
{
        const struct change *ch = userdata;
        _cleanup_free_ char *message = NULL;
        int r = ch->hash ? hp_store_token_add(s, ch->name, ch->hash, ch->role, ch->scope)
                         : hp_store_token_revoke(s, ch->name);

        if (r < 0)
                return r;
        if (ch->hash && asprintf(&message, "role %s%s%s%s%s", hp_token_role_name(ch->role),
                                 ch->scope->hosts ? ", hosts " : "", ch->scope->hosts ?: "",
                                 ch->scope->vms ? ", VMs " : "", ch->scope->vms ?: "") < 0)
                return -ENOMEM;
        return hp_store_event_add(s, ch->kind, ch->name, message);
}

/* Adds (with a hash) or revokes the token and records kind, in one
 * transaction, retried when it meets another writer (a cluster's
 * heartbeats write events all the time). */
static int change(struct hp_store *s, const char *kind, const char *name, const char *hash,
                  enum hp_token_role role, const struct hp_token_scope *scope)
{
        return hp_store_transact(
                s, change_tx,
                &(struct change){
                        .kind = kind, .name = name, .hash = hash, .role = role, .scope = scope });
}

static int check_name(struct hp_ops_ctx *c, const char *name)
{
        if (!hp_token_name_is_valid(name))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "invalid token name '%s': 1-%d letters, digits, '-', '_' or '.'",
                                  name, HP_TOKEN_NAME_MAX);
        return 0;
}

/* names (NULL: no limit) as a scope list, each checked by valid(). */
static int limit_list(struct hp_ops_ctx *c, char *const *names, const char *what,
                      bool (*valid)(const char *), char **ret)
{
        size_t n = hp_strv_length(names);

        *ret = NULL;
        if (!names)
                return 0;
        if (n == 0)
                return hp_op_fail(
                        c, HP_OP_INVALID, -EINVAL,
                        "a token limited to no %s could do nothing: name at least one, or none for "
                        "no limit",
                        what);
        for (size_t i = 0; i < n; i++)
                if (!valid(names[i]))
                        return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                          "invalid %s name '%s' for the token's limit: letters, "
                                          "digits, '-', '_' "
                                          "and '.'",
                                          streq(what, "hosts") ? "host" : "VM", names[i]);
        return hp_token_list_join(names, n, ret) < 0 ? hp_op_oom(c) : 0;
}

static json_t *list_json(const char *list)
{
        _cleanup_free_ char *copy = strdup(list);
        json_t *a = json_array();

        if (!copy || !a)
                goto fail;
        for (char *p = copy, *end; p; p = end ? end + 1 : NULL) {
                end = strchr(p, ',');
                if (end)
                        *end = '\0';
                if (json_array_append_new(a, json_string(p)) < 0)
                        goto fail;
        }
        return a;
fail:
        json_decref(a);
        return NULL;
}

int hp_ops_token_scope_json(const struct hp_token_scope *scope, json_t *doc)
{
        if (scope->hosts && json_object_set_new(doc, "hosts", list_json(scope->hosts)) < 0)
                return -ENOMEM;
        if (scope->vms && json_object_set_new(doc, "vms", list_json(scope->vms)) < 0)
                return -ENOMEM;
        return 0;
}

int hp_ops_token_create(struct hp_ops_ctx *c, const char *name, enum hp_token_role role,
                        const struct hp_ops_token_limits *limits, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_token_scope_done) struct hp_token_scope scope = { 0 };
        char token[HP_TOKEN_LEN + 1], hash[HP_TOKEN_HASH_LEN + 1];
        int r = check_name(c, name);

        if (r >= 0 && limits)
                r = limit_list(c, limits->hosts, "hosts", hp_store_host_name_is_valid,
                               &scope.hosts);
        if (r >= 0 && limits)
                r = limit_list(c, limits->vms, "VMs", hp_vm_name_valid, &scope.vms);
        if (r >= 0)
                r = hp_ops_store_open(c, &s);
        if (r < 0)
                return r;
        r = hp_token_generate(token);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read random bytes for the token");
        r = hp_token_hash(token, hash);
        if (r >= 0)
                r = change(s, "token-created", name, hash, role, &scope);
        if (r == -EEXIST)
                r = hp_op_fail(c, HP_OP_CONFLICT, r, "a token named '%s' exists: revoke it first or choose another name",
                               name);
        else if (r < 0)
                r = hp_op_host_error(c, r, "cannot store token '%s' in '%s'", name, c->db);
        else {
                json_t *doc = json_pack("{s:s, s:s, s:s}", "name", name, "role",
                                        hp_token_role_name(role), "token", token);

                if (!doc || hp_ops_token_scope_json(&scope, doc) < 0) {
                        json_decref(doc);
                        r = hp_op_oom(c);
                } else
                        *ret = doc;
        }
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
        r = change(s, "token-revoked", name, NULL, HP_TOKEN_VIEWER, NULL);
        if (r == -ENOENT)
                return hp_op_fail_code(c, HP_OP_NOT_FOUND, "no-token", r, "no token '%s'", name);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot revoke token '%s' in '%s'", name, c->db);
        *ret = json_pack("{s:s, s:b}", "name", name, "revoked", 1);
        return *ret ? 0 : hp_op_oom(c);
}

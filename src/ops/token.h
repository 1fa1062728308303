/* Operations on the API's bearer tokens: made (by root, or an admin token
 * with no limits) and revoked. */
#pragma once

#include <jansson.h>

#include "util/token.h"

struct hp_ops_ctx;

/* Where a new token may act: hosts and vms NULL-terminated, NULL for no
 * limit (util/token.h). */
struct hp_ops_token_limits {
        char *const *hosts;
        char *const *vms;
};
/* *ret: {"name", "role", "token", "hosts"?, "vms"?}: the token itself, shown
 * this once; limits NULL: none. */
int hp_ops_token_create(struct hp_ops_ctx *c, const char *name, enum hp_token_role role,
                        const struct hp_ops_token_limits *limits, json_t **ret);
/* A token's limits as the API and the CLI show them: "hosts" and "vms"
 * arrays, set into doc only for a list that is set. */
int hp_ops_token_scope_json(const struct hp_token_scope *scope, json_t *doc);
/* *ret: {"name", "revoked": true}; HP_OP_NOT_FOUND ("no-token") when none. */
int hp_ops_token_revoke(struct hp_ops_ctx *c, const char *name, json_t **ret);

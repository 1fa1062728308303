/* Operations on the API's bearer tokens. Made on the host, by root or over
 * hwpassd's Unix socket (a token over TCP cannot make another). */
#pragma once

#include <jansson.h>

#include "util/token.h"

struct hp_ops_ctx;

/* *ret: {"name", "role", "token"}: the token itself, shown this once. */
int hp_ops_token_create(struct hp_ops_ctx *c, const char *name, enum hp_token_role role,
                        json_t **ret);
/* *ret: {"name", "revoked": true}; HP_OP_NOT_FOUND ("no-token") when none. */
int hp_ops_token_revoke(struct hp_ops_ctx *c, const char *name, json_t **ret);

/* The API's bearer tokens as text: made from the kernel's random bytes,
 * written "hwp_" + base64url, kept only as the hex SHA-256 of that text, and
 * compared without a timing that depends on where two values differ. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HP_TOKEN_PREFIX "hwp_"
#define HP_TOKEN_BYTES  32
/* "hwp_" + 43 base64url characters (32 bytes, no padding). */
#define HP_TOKEN_LEN (sizeof(HP_TOKEN_PREFIX) - 1 + (HP_TOKEN_BYTES * 4 + 2) / 3)
/* SHA-256 as lower-case hex. */
#define HP_TOKEN_HASH_LEN 64
#define HP_TOKEN_NAME_MAX 64

/* base64url (RFC 4648 §5) without padding; -ENOBUFS when out (with its NUL)
 * does not fit in size. */
int hp_base64url_encode(const uint8_t *in, size_t n, char *out, size_t size);

/* The token text for these bytes (pure). */
void hp_token_format(const uint8_t raw[HP_TOKEN_BYTES], char ret[HP_TOKEN_LEN + 1]);
/* A new token from getrandom(). */
int hp_token_generate(char ret[HP_TOKEN_LEN + 1]);
/* The hex SHA-256 of token's text, as the store keeps it. */
int hp_token_hash(const char *token, char ret[HP_TOKEN_HASH_LEN + 1]);
/* A hash as hp_token_hash() writes it: 64 lower-case hex digits. */
bool hp_token_hash_is_valid(const char *hash);
/* 1-64 of letters, digits, '-', '_' and '.'. */
bool hp_token_name_is_valid(const char *name);

/* What a token may do, each role all that the ones before it may:
 * viewer reads; operator also powers and edits VMs and labels devices;
 * admin also changes the host (passthrough, host apply, probe), the
 * cluster and the tokens. The store keeps the name. */
enum hp_token_role {
        HP_TOKEN_VIEWER,
        HP_TOKEN_OPERATOR,
        HP_TOKEN_ADMIN,
};
/* What the roles are, for a message that refuses another. */
#define HP_TOKEN_ROLES_HELP                                                                        \
        "admin (everything), operator (power and edit VMs, label devices) or viewer (read only)"
/* "viewer", "operator", "admin". */
const char *hp_token_role_name(enum hp_token_role role);
/* -EINVAL when name is none of them. */
int hp_token_role_from_name(const char *name, enum hp_token_role *ret);

/* Where a token may act, in a cluster (docs/cluster.md "Roles"): on these
 * hosts only, on these VMs only, or both; a NULL list is no limit. A list
 * is names joined by ',' (host and VM names hold none), sorted, each once,
 * as hp_token_list_join() writes it. */
struct hp_token_scope {
        char *hosts;
        char *vms;
};
void hp_token_scope_done(struct hp_token_scope *s);
/* Either list set. */
bool hp_token_scope_limited(const struct hp_token_scope *s);
/* "hosts gpu-1,gpu-2; VMs a,b", "" when s has no limits; NULL when out of memory. */
char *hp_token_scope_text(const struct hp_token_scope *s);
/* Whether list holds name (a name of one list entry, so never one with a
 * ','); a NULL list holds every name. */
bool hp_token_list_has(const char *list, const char *name);
/* names (n of them) sorted, each once, joined by ','; NULL when n is 0.
 * -EINVAL for an empty name or one with a ','. */
int hp_token_list_join(char *const *names, size_t n, char **ret);

/* Whether a and b hold the same n bytes, reading all of them whatever they hold. */
bool hp_memeq_const_time(const void *a, const void *b, size_t n);
/* Whether a hash read from the store is hash (a valid one), in constant
 * time; a damaged stored value of another length matches nothing. */
bool hp_token_hash_equal(const char *stored, const char *hash);

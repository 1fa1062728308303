/* Request bodies: JSON parsed strictly before any route acts on it. Pure:
 * no I/O, so the fuzzer drives these directly. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* One JSON object from data (not NUL-terminated): at most max_depth levels
 * of nesting, no duplicate keys, nothing after it. -EINVAL with *ret_error
 * (malloc'd) saying what is wrong and where. */
int hp_api_body_parse(const char *data, size_t len, size_t max_depth, json_t **ret, char **ret_error);

/* -EINVAL, naming the first key of obj not in allowed (NULL-terminated) and
 * listing the allowed ones. */
int hp_api_fields_check(const json_t *obj, const char *const *allowed, char **ret_error);

/* Optional members of a known type. Absent: the default stays. -EINVAL with
 * a message naming the key when present with another type or out of range. */
int hp_api_get_bool(const json_t *obj, const char *key, bool *ret, char **ret_error);
int hp_api_get_uint(const json_t *obj, const char *key, unsigned long long max, unsigned long long *ret,
                    char **ret_error);
/* A string, or null (*ret NULL) when null_ok. */
int hp_api_get_string(const json_t *obj, const char *key, bool null_ok, const char **ret, char **ret_error);

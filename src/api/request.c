/* Request bodies: strict JSON for the write routes. The nesting depth is
 * measured before jansson parses, so a deep document never recurses. */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"

/* The deepest nesting of [ and { outside strings. */
static size_t nesting(const char *data, size_t len, size_t stop_at)
{
        size_t depth = 0, deepest = 0;
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                char c = data[i];

                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                } else if (c == '"') {
                        in_string = true;
                } else if (c == '[' || c == '{') {
                        if (++depth > deepest)
                                deepest = depth;
                        if (deepest > stop_at)
                                break;
                } else if ((c == ']' || c == '}') && depth > 0) {
                        depth--;
                }
        }
        return deepest;
}

int hp_api_body_parse(const char *data, size_t len, size_t max_depth, json_t **ret, char **ret_error)
{
        json_error_t jerr;
        json_t *j;

        *ret_error = NULL;
        if (!data || len == 0)
                return hp_errorf(ret_error, -EINVAL, "the request needs a JSON object as its body");
        if (memchr(data, '\0', len))
                return hp_errorf(ret_error, -EINVAL, "the body holds a NUL byte: send JSON text");
        if (nesting(data, len, max_depth) > max_depth)
                return hp_errorf(ret_error, -EINVAL, "the body nests deeper than %zu levels", max_depth);
        j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return hp_errorf(ret_error, -EINVAL, "the body is not valid JSON: %s (line %d, column %d)",
                                 jerr.text, jerr.line, jerr.column);
        if (!json_is_object(j)) {
                json_decref(j);
                return hp_errorf(ret_error, -EINVAL, "the body must be a JSON object");
        }
        *ret = j;
        return 0;
}

int hp_api_fields_check(const json_t *obj, const char *const *allowed, char **ret_error)
{
        const char *key;
        json_t *val;

        *ret_error = NULL;
        json_object_foreach((json_t *)obj, key, val) {
                char list[256] = "";
                size_t used = 0;
                bool known = false;

                for (size_t i = 0; allowed[i] && !known; i++)
                        known = streq(key, allowed[i]);
                if (known)
                        continue;
                for (size_t i = 0; allowed[i] && used < sizeof(list); i++)
                        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"%s\"", i ? ", " : "",
                                                 allowed[i]);
                return hp_errorf(ret_error, -EINVAL, "unknown field \"%.64s\": this request takes %s", key,
                                 allowed[0] ? list : "no fields");
        }
        return 0;
}

int hp_api_get_bool(const json_t *obj, const char *key, bool *ret, char **ret_error)
{
        json_t *v = json_object_get(obj, key);

        *ret_error = NULL;
        if (!v)
                return 0;
        if (!json_is_boolean(v))
                return hp_errorf(ret_error, -EINVAL, "\"%s\" must be true or false", key);
        *ret = json_is_true(v);
        return 0;
}

int hp_api_get_uint(const json_t *obj, const char *key, unsigned long long max, unsigned long long *ret,
                    char **ret_error)
{
        json_t *v = json_object_get(obj, key);

        *ret_error = NULL;
        if (!v)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (unsigned long long)json_integer_value(v) > max)
                return hp_errorf(ret_error, -EINVAL, "\"%s\" must be a whole number from 0 to %llu", key, max);
        *ret = (unsigned long long)json_integer_value(v);
        return 0;
}

int hp_api_get_string(const json_t *obj, const char *key, bool null_ok, const char **ret, char **ret_error)
{
        json_t *v = json_object_get(obj, key);

        *ret_error = NULL;
        if (!v)
                return 0;
        if (json_is_null(v) && null_ok) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return hp_errorf(ret_error, -EINVAL, "\"%s\" must be a string%s", key, null_ok ? " or null" : "");
        *ret = json_string_value(v);
        return 0;
}

/* libFuzzer target: a request body as the write routes read it (strict
 * parse with the depth limit, the allowed fields, the typed getters, a VM
 * document as POST /v1/vms checks it) and the same bytes as a stored VM
 * spec. Beyond crashes and leaks it checks one property: a spec that loads
 * is written back as text that loads to the same text. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "api/request.h"
#include "util/macro.h"
#include "vm/spec.h"
#include "vm/specjson.h"

#include "spec-round-trip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void spec_from_text(const char *text)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_free_ char *err = NULL;

        if (hp_vm_spec_from_text(text, &s, &err) >= 0)
                check_round_trip(&s);
}

/* What the routes ask of a parsed body. */
static void body_fields(const json_t *j)
{
        static const char *const allowed[] = { "enabled", "force", "dry_run",
                                               "timeout", "label", NULL };
        static const char *const none[] = { NULL };
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL, *e6 = NULL;
        unsigned long long timeout = 30;
        const char *label = NULL, *db = NULL;
        bool force = false;

        (void)hp_api_fields_check(j, allowed, &e1);
        (void)hp_api_fields_check(j, none, &e2);
        (void)hp_api_get_bool(j, "force", &force, &e3);
        (void)hp_api_get_uint(j, "timeout", 3600, &timeout, &e4);
        (void)hp_api_get_string(j, "label", true, &label, &e5);
        (void)hp_api_get_string(j, "db", false, &db, &e6);
        if (timeout > 3600 || (label && !json_object_get(j, "label")))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL, *dumped = NULL;

        if (hp_api_body_parse((const char *)data, size, HP_API_DEPTH_MAX, &j, &err) >= 0) {
                if (!json_is_object(j))
                        abort();
                body_fields(j);
                /* POST /v1/vms: the body dumped, then read as a spec. */
                dumped = json_dumps(j, JSON_COMPACT);
                if (dumped)
                        spec_from_text(dumped);
        } else if (j || !err) {
                abort(); /* a refusal says why and gives nothing back */
        }
        /* The bytes as the store's text. */
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        spec_from_text(text);
        return 0;
}

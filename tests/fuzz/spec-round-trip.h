/* For the fuzz targets that load VM specs (fuzz-request, fuzz-vmx): a
 * property beyond crashes. */
#pragma once

#include <stdlib.h>

#include "util/macro.h"
#include "vm/spec.h"
#include "vm/specjson.h"

/* The spec written as text loads again, and writes the same text. */
static inline void check_round_trip(const struct hp_vm_spec *s)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec again = { 0 };
        _cleanup_free_ char *text = NULL, *text2 = NULL, *err = NULL;

        if (hp_vm_spec_to_text(s, &text) < 0)
                return; /* out of memory */
        if (hp_vm_spec_from_text(text, &again, &err) < 0 ||
            hp_vm_spec_to_text(&again, &text2) < 0 || !streq(text, text2))
                abort();
}

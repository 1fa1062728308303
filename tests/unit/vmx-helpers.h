/* Helpers of the .vmx import tests: parse a text and check the spec, the
 * warnings or the refusal. Included by each test-vmx*.c. */
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostroot.h"
#include "util/strutil.h"
#include "vm/vmx.h"

/* The host inventory parse_ok and parse_bad give the import; NULL: none. */
static const struct hp_pci_inventory *vmx_test_host;

#define VMX_DIR FIXTURES_DIR "/../vmx"
/* The smallest file that imports. */
#define BASE "displayName = \"t\"\nmemsize = \"1024\"\n"

static inline char *slurp(const char *name)
{
        char path[512], *buf = NULL;

        snprintf(path, sizeof(path), "%s/%s", VMX_DIR, name);
        if (hp_attr_read_alloc(AT_FDCWD, path, &buf) < 0)
                fail_msg("cannot read %s", path);
        return buf;
}

static inline void parse_ok(const char *text, const char *name, struct hp_vmx_import *x)
{
        char *err = NULL;
        int r = hp_vmx_parse(text, name, vmx_test_host, x, &err);

        if (r != 0)
                fail_msg("hp_vmx_parse: %d: %s", r, err ? err : "(no message)");
        assert_null(err);
        assert_non_null(x->warnings);
}

/* Fails unless text is refused with a message containing a and b; the output is untouched. */
static inline void parse_bad(const char *text, const char *a, const char *b)
{
        struct hp_vmx_import x = { .spec = { .vcpus = 77 } };
        char *err = NULL;
        int r = hp_vmx_parse(text, NULL, vmx_test_host, &x, &err);

        if (r != -EINVAL)
                fail_msg("expected -EINVAL, got %d for:\n%s", r, text);
        assert_non_null(err);
        if (!strstr(err, a) || (b && !strstr(err, b)))
                fail_msg("error \"%s\" does not mention \"%s\"%s%s", err, a, b ? " and " : "",
                         b ? b : "");
        assert_int_equal(x.spec.vcpus, 77);
        assert_null(x.warnings);
        free(err);
}

static inline size_t n_warnings(const struct hp_vmx_import *x)
{
        return hp_strv_length(x->warnings);
}

/* The one warning that mentions a (and b); fails unless there is exactly one. */
static inline const char *warning(const struct hp_vmx_import *x, const char *a, const char *b)
{
        const char *found = NULL;
        size_t n = 0;

        for (size_t i = 0; x->warnings[i]; i++)
                if (strstr(x->warnings[i], a) && (!b || strstr(x->warnings[i], b))) {
                        found = x->warnings[i];
                        n++;
                }
        if (n != 1) {
                for (size_t i = 0; x->warnings[i]; i++)
                        fprintf(stderr, "# warning: %s\n", x->warnings[i]);
                fail_msg("%zu warnings mention \"%s\"%s%s, expected 1", n, a, b ? " and " : "",
                         b ? b : "");
        }
        return found;
}

static inline void no_warning(const struct hp_vmx_import *x, const char *a)
{
        for (size_t i = 0; x->warnings[i]; i++)
                if (strstr(x->warnings[i], a))
                        fail_msg("unexpected warning: %s", x->warnings[i]);
}


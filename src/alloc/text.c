/* See text.h. */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"

void hp_text_add(struct hp_text *t, const char *fmt, ...)
{
        _cleanup_free_ char *piece = NULL;
        va_list ap;
        char *ns;
        int n;

        if (t->oom)
                return;
        va_start(ap, fmt);
        n = vasprintf(&piece, fmt, ap);
        va_end(ap);
        if (n < 0) {
                piece = NULL;
                goto oom;
        }
        ns = realloc(t->s, t->len + (size_t)n + 1);
        if (!ns)
                goto oom;
        memcpy(ns + t->len, piece, (size_t)n + 1);
        t->s = ns;
        t->len += (size_t)n;
        return;
oom:
        t->oom = true;
        free(t->s);
        t->s = NULL;
}

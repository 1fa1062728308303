/* A message that grows piece by piece, for the allocators' explanations. On
 * out of memory it is dropped: s is NULL and oom set. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hp_text {
        char *s;
        size_t len;
        bool oom;
};

void hp_text_add(struct hp_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

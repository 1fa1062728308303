/* The text of a .vmx file as a table of settings, read the way VMware reads
 * it: one `key = "value"` per line, keys compared without case, |XX escapes
 * decoded, '#' starting a comment outside quotes, a repeated key refused.
 * Look-ups go through a hash index, so a file of many keys loads in linear
 * time. Used by the import (vmx.c); no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hp_vmx_entry {
        char *key;   /* as written: messages quote it */
        char *value; /* escapes decoded */
        unsigned line;
};

struct hp_vmx_table {
        struct hp_vmx_entry *e; /* in file order */
        size_t n, cap;
        size_t *slot;  /* open addressing: index into e plus 1, 0 for empty */
        size_t n_slot; /* a power of two, more than twice n */
};

void hp_vmx_table_done(struct hp_vmx_table *t);

/* -EINVAL with *ret_error quoting the line and saying what to do; -ENOMEM. */
int hp_vmx_table_load(const char *text, struct hp_vmx_table *ret, char **ret_error);

/* The entry of key (any case), or NULL. */
const struct hp_vmx_entry *hp_vmx_table_find(const struct hp_vmx_table *t, const char *key);

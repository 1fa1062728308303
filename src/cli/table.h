/* Plain text tables: columns padded to their widest cell, the last one free. */
#pragma once

#include <stddef.h>
#include <stdio.h>

struct hp_table;

struct hp_table *hp_table_new(size_t n_cols, const char *const *headers);
/* Adds a row of n_cols cells (copied; NULL prints as "-"). */
int hp_table_add(struct hp_table *t, const char *const *cells);
void hp_table_print(const struct hp_table *t, FILE *f);
void hp_table_free(struct hp_table *t);
static inline void hp_table_freep(struct hp_table **t)
{
        hp_table_free(*t);
}

/* Plain text tables for list commands. Cells hold stored text (labels,
 * names), so each is escaped (hp_escape()) and measured in characters. */
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

struct hp_table {
        size_t n_cols, n_rows;
        char **cells; /* row-major, the header row first */
};

struct hp_table *hp_table_new(size_t n_cols, const char *const *headers)
{
        struct hp_table *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->n_cols = n_cols;
        if (hp_table_add(t, headers) < 0) {
                hp_table_free(t);
                return NULL;
        }
        return t;
}

int hp_table_add(struct hp_table *t, const char *const *cells)
{
        char **nc = realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(char *));

        if (!nc)
                return -ENOMEM;
        t->cells = nc;
        for (size_t i = 0; i < t->n_cols; i++) {
                char **cell = &t->cells[t->n_rows * t->n_cols + i];

                *cell = hp_escape(cells[i] ? cells[i] : "-");
                if (!*cell) {
                        for (size_t j = 0; j < i; j++)
                                free(t->cells[t->n_rows * t->n_cols + j]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

void hp_table_print(const struct hp_table *t, FILE *f)
{
        size_t width[32] = { 0 };

        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t c = 0; c < t->n_cols && c < 32; c++) {
                        int chars = hp_utf8_length(t->cells[r * t->n_cols + c], NULL);
                        size_t w = chars > 0 ? (size_t)chars : 0;

                        if (w > width[c])
                                width[c] = w;
                }
        for (size_t r = 0; r < t->n_rows; r++) {
                for (size_t c = 0; c < t->n_cols; c++) {
                        const char *cell = t->cells[r * t->n_cols + c];

                        if (c + 1 == t->n_cols)
                                fprintf(f, "%s\n", cell);
                        else /* padded by characters: printf's width counts bytes */
                                fprintf(f, "%s%*s  ", cell,
                                        (int)(width[c < 32 ? c : 31] - (size_t)hp_utf8_length(cell, NULL)), "");
                }
        }
}

void hp_table_free(struct hp_table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}

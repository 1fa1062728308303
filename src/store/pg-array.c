/* Array literals ("{...}") for a statement's parameters, several written
 * element by element at once: hp_pg_arrays_open(), elements, then
 * hp_pg_arrays_close(), which leaves each literal in a->text[]. */
#include "pg-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

int hp_pg_arrays_open(struct hp_pg_arrays *a, size_t n)
{
        *a = (struct hp_pg_arrays){ .n = n < HP_PG_ARRAYS_MAX ? n : HP_PG_ARRAYS_MAX };
        if (n > HP_PG_ARRAYS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                a->f[i] = open_memstream(&a->text[i], &a->size[i]);
                if (!a->f[i])
                        return -ENOMEM;
                fputc('{', a->f[i]);
        }
        return 0;
}

/* The separator before an element but the first. */
static void sep(struct hp_pg_arrays *a, size_t i)
{
        if (a->count[i]++ > 0)
                fputc(',', a->f[i]);
}

void hp_pg_array_text(struct hp_pg_arrays *a, size_t i, const char *v)
{
        sep(a, i);
        if (!v) {
                fputs("NULL", a->f[i]);
                return;
        }
        fputc('"', a->f[i]);
        for (; *v; v++) {
                if (*v == '"' || *v == '\\')
                        fputc('\\', a->f[i]);
                fputc(*v, a->f[i]);
        }
        fputc('"', a->f[i]);
}

void hp_pg_array_int(struct hp_pg_arrays *a, size_t i, int64_t v)
{
        sep(a, i);
        fprintf(a->f[i], "%" PRId64, v);
}

void hp_pg_array_bool(struct hp_pg_arrays *a, size_t i, bool v)
{
        sep(a, i);
        fputs(v ? "true" : "false", a->f[i]);
}

int hp_pg_arrays_close(struct hp_pg_arrays *a)
{
        int r = 0;

        for (size_t i = 0; i < a->n; i++) {
                if (!a->f[i]) {
                        r = -ENOMEM;
                        continue;
                }
                fputc('}', a->f[i]);
                if (fclose(a->f[i]) != 0)
                        r = -ENOMEM;
                a->f[i] = NULL;
        }
        return r;
}

void hp_pg_arrays_done(struct hp_pg_arrays *a)
{
        (void)hp_pg_arrays_close(a);
        for (size_t i = 0; i < a->n; i++)
                free(a->text[i]);
        *a = (struct hp_pg_arrays){ 0 };
}

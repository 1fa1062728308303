/* A .vmx file as a table of settings; the grammar is VMware's own:
 *   key = "quoted value"   # comment
 *   key = value            # comment (the value ends at a space, tab or '#')
 *   key =                  (an empty value)
 * Anything else after a value makes a line VMware ignores; here it is refused
 * with the line quoted, so nothing the user wrote is silently lost. */
#include "vmxtable.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/macro.h"
#include "util/strutil.h"

static void entry_done(struct hp_vmx_entry *e)
{
        free(e->key);
        free(e->value);
        *e = (struct hp_vmx_entry){ 0 };
}

void hp_vmx_table_done(struct hp_vmx_table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++)
                entry_done(&t->e[i]);
        free(t->e);
        free(t->slot);
        *t = (struct hp_vmx_table){ 0 };
}

static int hex_digit(char c)
{
        if (!isxdigit((unsigned char)c))
                return -1;
        return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* VMware writes '"', '|' and other special characters as |XX (hex). */
static int unescape(char *s)
{
        char *o = s;

        for (const char *p = s; *p; p++) {
                int hi, lo;

                if (*p != '|') {
                        *o++ = *p;
                        continue;
                }
                hi = hex_digit(p[1]);
                lo = hi < 0 ? -1 : hex_digit(p[2]);
                if (lo < 0 || (hi == 0 && lo == 0)) /* |00 would end the string */
                        return -EINVAL;
                *o++ = (char)(hi << 4 | lo);
                p += 2;
        }
        *o = '\0';
        return 0;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Past the value that starts at v (after '=' and blanks): *ret_end is where
 * the value ends (set to '\0' by the caller), the return value what follows
 * it after blanks; NULL when a quote is not closed. */
static char *value_end(char *v, char **ret_value, char **ret_end)
{
        char *end;

        if (*v == '"') {
                end = strchr(++v, '"');
                if (!end)
                        return NULL;
                *ret_value = v;
                *ret_end = end++;
        } else {
                end = v + strcspn(v, " \t#");
                *ret_value = v;
                *ret_end = end;
        }
        while (is_blank(*end))
                end++;
        return end;
}

/* One line: 0 with *ret filled, 1 for a blank or comment line, or -EINVAL. */
static int parse_line(const char *text, size_t len, unsigned no, struct hp_vmx_entry *ret,
                      char **ret_error)
{
        _cleanup_free_ char *line = strndup(text, len), *whole = NULL;
        _cleanup_(entry_done) struct hp_vmx_entry e = { 0 };
        char *p, *eq, *k, *v, *vend, *rest;

        if (!line)
                return -ENOMEM;
        for (p = hp_strstrip(line); isspace((unsigned char)*p); p++)
                ;
        if (*p == '\0' || *p == '#')
                return 1;
        eq = strchr(p, '=');
        if (!eq)
                return hp_errorf(ret_error, -EINVAL, "line %u: \"%.60s\" is not a setting: "
                            "each line must read key = \"value\"", no, p);
        if (!(whole = strdup(p)))
                return -ENOMEM;
        for (k = eq; k > p && isspace((unsigned char)k[-1]); k--)
                ;
        *k = '\0';
        if (*p == '\0' || strpbrk(p, " \t\"#"))
                return hp_errorf(ret_error, -EINVAL, "line %u: \"%.60s\" is not a key: "
                            "each line must read key = \"value\"", no, p);
        for (v = eq + 1; is_blank(*v); v++)
                ;
        rest = value_end(v, &v, &vend);
        if (!rest)
                return hp_errorf(ret_error, -EINVAL, "line %u: the value of %s has no closing quote",
                            no, p);
        if (*rest != '\0' && *rest != '#')
                return hp_errorf(ret_error, -EINVAL, "line %u: \"%.80s\": \"%.40s\" follows the value of %s, "
                            "and VMware ignores such a line: write one key = \"value\" per line, "
                            "quote a value that has spaces, start a comment with '#' (a '\"' "
                            "inside a value is written |22)", no, whole, rest, p);
        *vend = '\0';
        if (unescape(v) < 0)
                return hp_errorf(ret_error, -EINVAL, "line %u: the value of %s has a '|' that is no escape: "
                            "VMware writes |XX with two hex digits (|7C for '|')", no, p);
        e = (struct hp_vmx_entry){ .key = strdup(p), .value = strdup(v), .line = no };
        if (!e.key || !e.value)
                return -ENOMEM;
        *ret = e;
        e = (struct hp_vmx_entry){ 0 };
        return 0;
}

/* FNV-1a over the lower-case key: keys match without case. */
static size_t key_hash(const char *key)
{
        uint64_t h = 14695981039346656037ULL;

        for (const char *p = key; *p; p++)
                h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 1099511628211ULL;
        return (size_t)h;
}

/* The slot that holds key, or the empty slot where it would go. */
static size_t *slot_of(const struct hp_vmx_table *t, const char *key)
{
        size_t mask = t->n_slot - 1, i = key_hash(key) & mask;

        while (t->slot[i] && strcasecmp(t->e[t->slot[i] - 1].key, key) != 0)
                i = (i + 1) & mask;
        return &t->slot[i];
}

static int rehash(struct hp_vmx_table *t, size_t n_slot)
{
        size_t *slot = calloc(n_slot, sizeof(*slot));

        if (!slot)
                return -ENOMEM;
        free(t->slot);
        t->slot = slot;
        t->n_slot = n_slot;
        for (size_t i = 0; i < t->n; i++)
                *slot_of(t, t->e[i].key) = i + 1;
        return 0;
}

/* Takes e on success. */
static int table_add(struct hp_vmx_table *t, struct hp_vmx_entry *e)
{
        int r;

        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 64;
                struct hp_vmx_entry *ne = realloc(t->e, cap * sizeof(*ne));

                if (!ne)
                        return -ENOMEM;
                t->e = ne;
                t->cap = cap;
        }
        if ((t->n + 1) * 2 > t->n_slot && (r = rehash(t, t->n_slot ? t->n_slot * 2 : 128)) < 0)
                return r;
        t->e[t->n++] = *e;
        *slot_of(t, e->key) = t->n;
        *e = (struct hp_vmx_entry){ 0 };
        return 0;
}

const struct hp_vmx_entry *hp_vmx_table_find(const struct hp_vmx_table *t, const char *key)
{
        size_t *s;

        if (t->n_slot == 0)
                return NULL;
        s = slot_of(t, key);
        return *s ? &t->e[*s - 1] : NULL;
}

int hp_vmx_table_load(const char *text, struct hp_vmx_table *ret, char **ret_error)
{
        _cleanup_(hp_vmx_table_done) struct hp_vmx_table t = { 0 };
        const char *p = text;
        unsigned no = 0;

        if (hp_startswith(p, "\xef\xbb\xbf")) /* the byte order mark Windows editors write */
                p += 3;
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                _cleanup_(entry_done) struct hp_vmx_entry e = { 0 };
                const struct hp_vmx_entry *dup;
                int r = parse_line(p, len, ++no, &e, ret_error);

                p += len + (nl ? 1 : 0);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                dup = hp_vmx_table_find(&t, e.key);
                if (dup)
                        return hp_errorf(ret_error, -EINVAL, "line %u: %s repeats the key of line %u (%s), "
                                    "which VMware refuses too: delete one of the two lines",
                                    no, e.key, dup->line, dup->key);
                if ((r = table_add(&t, &e)) < 0)
                        return r;
        }
        *ret = t;
        t = (struct hp_vmx_table){ 0 };
        return 0;
}

/* Small string helpers: checked number parsing, string vectors, UTF-8 text
 * checked, and made safe to show. */
#include "strutil.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "macro.h"

int hp_parse_u64(const char *s, int base, uint64_t *ret)
{
        char *end = NULL;
        unsigned long long v;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char)*s))
                s++;
        if (*s == '\0' || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, base);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s)
                return -EINVAL;
        while (isspace((unsigned char)*end))
                end++;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int hp_parse_int(const char *s, int *ret)
{
        char *end = NULL;
        long v;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char)*s))
                s++;
        if (*s == '\0')
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno == ERANGE || v < INT32_MIN || v > INT32_MAX)
                return -ERANGE;
        if (errno != 0 || end == s)
                return -EINVAL;
        while (isspace((unsigned char)*end))
                end++;
        if (*end != '\0')
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

char *hp_strstrip(char *s)
{
        size_t n = strlen(s);

        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = '\0';
        return s;
}

bool hp_startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

int hp_strv_push(char ***v, const char *s)
{
        size_t n = hp_strv_length(*v);
        _cleanup_free_ char *copy = strdup(s);
        char **nv;

        if (!copy)
                return -ENOMEM;
        nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        nv[n] = TAKE_PTR(copy);
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

int hp_errorf(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return r;
}

static int strv_vpushf(char ***v, bool unique, const char *fmt, va_list ap)
{
        _cleanup_free_ char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                return -ENOMEM;
        return unique && hp_strv_contains(*v, s) ? 0 : hp_strv_push(v, s);
}

int hp_strv_pushf(char ***v, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vpushf(v, false, fmt, ap);
        va_end(ap);
        return r;
}

int hp_strv_pushf_unique(char ***v, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vpushf(v, true, fmt, ap);
        va_end(ap);
        return r;
}

int hp_strv_split(const char *s, char ***ret)
{
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        const char *p = s;

        if (!v)
                return -ENOMEM;
        for (;;) {
                char word[256];
                size_t n = 0;
                int r;

                while (isspace((unsigned char)*p))
                        p++;
                if (*p == '\0')
                        break;
                while (*p && !isspace((unsigned char)*p)) {
                        if (n + 1 < sizeof(word))
                                word[n++] = *p;
                        p++;
                }
                word[n] = '\0';
                r = hp_strv_push(&v, word);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

size_t hp_strv_length(char *const *v)
{
        size_t n = 0;

        if (!v)
                return 0;
        while (v[n])
                n++;
        return n;
}

int hp_strv_copy(char *const *v, char ***ret)
{
        char **c = calloc(hp_strv_length(v) + 1, sizeof(char *));

        for (size_t i = 0; c && v && v[i]; i++)
                if (!(c[i] = strdup(v[i]))) {
                        hp_strv_free(c);
                        return -ENOMEM;
                }
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

bool hp_strv_contains(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

void hp_strv_free(char **v)
{
        if (!v)
                return;
        for (size_t i = 0; v[i]; i++)
                free(v[i]);
        free(v);
}

void hp_format_size(uint64_t bytes, char *buf, size_t size)
{
        static const char units[] = "KMGTPE";
        uint64_t v = bytes;
        int u = -1;

        while (v >= 1024 && v % 1024 == 0 && u + 1 < (int)sizeof(units) - 1) {
                v /= 1024;
                u++;
        }
        if (u < 0)
                snprintf(buf, size, "%" PRIu64, v);
        else
                snprintf(buf, size, "%" PRIu64 "%c", v, units[u]);
}

/* The code point of the UTF-8 sequence at s and its length in bytes (1-4);
 * 0 when s does not start a well-formed one (stray continuation byte,
 * overlong form, surrogate, above U+10FFFF, cut short). */
static size_t utf8_decode(const char *s, uint32_t *ret_cp)
{
        const unsigned char *p = (const unsigned char *)s;
        uint32_t cp, min;
        size_t n;

        if (p[0] < 0x80) {
                *ret_cp = p[0];
                return 1;
        }
        if ((p[0] & 0xe0) == 0xc0)
                n = 2, cp = p[0] & 0x1f, min = 0x80;
        else if ((p[0] & 0xf0) == 0xe0)
                n = 3, cp = p[0] & 0x0f, min = 0x800;
        else if ((p[0] & 0xf8) == 0xf0)
                n = 4, cp = p[0] & 0x07, min = 0x10000;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return n;
}

bool hp_is_control(uint32_t cp)
{
        return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

int hp_utf8_length(const char *s, size_t *ret_bad_offset)
{
        size_t chars = 0;

        for (const char *p = s; *p; chars++) {
                uint32_t cp;
                size_t n = utf8_decode(p, &cp);

                if (n == 0) {
                        if (ret_bad_offset)
                                *ret_bad_offset = (size_t)(p - s);
                        return -EILSEQ;
                }
                p += n;
        }
        return chars > INT32_MAX ? -ERANGE : (int)chars;
}

bool hp_utf8_has_control(const char *s)
{
        for (const char *p = s; *p;) {
                uint32_t cp = 0;
                size_t n = utf8_decode(p, &cp);

                if (n && hp_is_control(cp))
                        return true;
                p += n ? n : 1;
        }
        return false;
}

/* s with each of its units made safe by emit(): a well-formed sequence
 * (n > 0, its code point cp) or one byte that is not UTF-8 (n == 0). */
static char *utf8_map(const char *s, void (*emit)(struct hp_buf *b, const char *p, size_t n, uint32_t cp, int *r))
{
        struct hp_buf b = { 0 };
        int r = hp_buf_append(&b, "", 0);

        for (const char *p = s; r >= 0 && *p;) {
                uint32_t cp = 0;
                size_t n = utf8_decode(p, &cp);

                emit(&b, p, n, cp, &r);
                p += n ? n : 1;
        }
        if (r < 0) {
                free(b.data);
                return NULL;
        }
        return b.data;
}

static void emit_replaced(struct hp_buf *b, const char *p, size_t n, uint32_t cp, int *r)
{
        (void)cp;
        *r = n ? hp_buf_append(b, p, n) : hp_buf_append(b, "\xef\xbf\xbd", 3); /* U+FFFD */
}

char *hp_utf8_replace(const char *s)
{
        return utf8_map(s, emit_replaced);
}

static void emit_escaped(struct hp_buf *b, const char *p, size_t n, uint32_t cp, int *r)
{
        char hex[4 * 4 + 1];
        size_t len = 0;

        if (n && !hp_is_control(cp)) {
                *r = hp_buf_append(b, p, n);
                return;
        }
        /* Every byte of the unit: a C1 control is two bytes in UTF-8. */
        for (size_t i = 0; i < (n ? n : 1); i++)
                len += (size_t)snprintf(hex + len, sizeof(hex) - len, "\\x%02x", (unsigned char)p[i]);
        *r = hp_buf_append(b, hex, len);
}

char *hp_escape(const char *s)
{
        return utf8_map(s, emit_escaped);
}

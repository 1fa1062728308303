/* Small string helpers: checked number parsing, string vectors. */
#include "strutil.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

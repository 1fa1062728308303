/* Bearer tokens as text. The token is shown once, when it is made; the store
 * keeps its SHA-256 only, so a copy of the database authenticates nobody. A
 * plain hash is enough: the 32 random bytes cannot be guessed, so there is
 * nothing for a salt or a slow hash to protect. */
#include "token.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "macro.h"

/* GnuTLS's SHA-256, opened on first use: loading GnuTLS and the eight
 * libraries it needs costs every process start ~3 ms, and of the CLI's
 * commands only the token ones hash (hwpassd has it loaded for TLS anyway). */
typedef int (*hash_fast_fn)(gnutls_digest_algorithm_t algorithm, const void *text, size_t len, void *digest);
static hash_fast_fn hash_fast;

static void open_gnutls(void)
{
        void *lib = dlopen("libgnutls.so.30", RTLD_NOW | RTLD_LOCAL);

        /* Kept open until exit. */
        if (lib)
                *(void **)&hash_fast = dlsym(lib, "gnutls_hash_fast");
}

int hp_base64url_encode(const uint8_t *in, size_t n, char *out, size_t size)
{
        static const char alphabet[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t len = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0), o = 0;

        if (size <= len)
                return -ENOBUFS;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16;

                if (i + 1 < n)
                        v |= (uint32_t)in[i + 1] << 8;
                if (i + 2 < n)
                        v |= in[i + 2];
                out[o++] = alphabet[v >> 18 & 63];
                out[o++] = alphabet[v >> 12 & 63];
                if (i + 1 < n)
                        out[o++] = alphabet[v >> 6 & 63];
                if (i + 2 < n)
                        out[o++] = alphabet[v & 63];
        }
        out[o] = '\0';
        return 0;
}

void hp_token_format(const uint8_t raw[HP_TOKEN_BYTES], char ret[HP_TOKEN_LEN + 1])
{
        const size_t prefix = strlen(HP_TOKEN_PREFIX);

        memcpy(ret, HP_TOKEN_PREFIX, prefix);
        /* Cannot fail: HP_TOKEN_LEN is computed for exactly these bytes. */
        (void)hp_base64url_encode(raw, HP_TOKEN_BYTES, ret + prefix, HP_TOKEN_LEN + 1 - prefix);
}

int hp_token_generate(char ret[HP_TOKEN_LEN + 1])
{
        uint8_t raw[HP_TOKEN_BYTES];
        size_t got = 0;

        while (got < sizeof(raw)) {
                ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                got += (size_t)n;
        }
        hp_token_format(raw, ret);
        explicit_bzero(raw, sizeof(raw));
        return 0;
}

int hp_token_hash(const char *token, char ret[HP_TOKEN_HASH_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        uint8_t digest[32];

        if (!token)
                return -EINVAL;
        pthread_once(&once, open_gnutls);
        if (!hash_fast)
                return -ENOENT;
        if (hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), digest) < 0)
                return -EIO;
        for (size_t i = 0; i < sizeof(digest); i++) {
                ret[2 * i] = hex[digest[i] >> 4];
                ret[2 * i + 1] = hex[digest[i] & 15];
        }
        ret[HP_TOKEN_HASH_LEN] = '\0';
        return 0;
}

bool hp_token_hash_is_valid(const char *hash)
{
        if (!hash || strlen(hash) != HP_TOKEN_HASH_LEN)
                return false;
        for (const char *p = hash; *p; p++)
                if (!(*p >= '0' && *p <= '9') && !(*p >= 'a' && *p <= 'f'))
                        return false;
        return true;
}

static const char *const role_names[] = {
        [HP_TOKEN_VIEWER] = "viewer",
        [HP_TOKEN_OPERATOR] = "operator",
        [HP_TOKEN_ADMIN] = "admin",
};

const char *hp_token_role_name(enum hp_token_role role)
{
        return (size_t)role < ELEMENTSOF(role_names) ? role_names[role] : "viewer";
}

int hp_token_role_from_name(const char *name, enum hp_token_role *ret)
{
        for (size_t i = 0; name && i < ELEMENTSOF(role_names); i++)
                if (streq(name, role_names[i])) {
                        *ret = (enum hp_token_role)i;
                        return 0;
                }
        return -EINVAL;
}

void hp_token_scope_done(struct hp_token_scope *s)
{
        free(s->hosts);
        free(s->vms);
        *s = (struct hp_token_scope){ 0 };
}

bool hp_token_scope_limited(const struct hp_token_scope *s)
{
        return s && (s->hosts || s->vms);
}

char *hp_token_scope_text(const struct hp_token_scope *s)
{
        char *text = NULL;

        if (asprintf(&text, "%s%s%s%s%s", s->hosts ? "hosts " : "", s->hosts ?: "",
                     s->hosts && s->vms ? "; " : "", s->vms ? "VMs " : "", s->vms ?: "") < 0)
                return NULL;
        return text;
}

bool hp_token_list_has(const char *list, const char *name)
{
        size_t n = strlen(name);

        if (!list)
                return true;
        if (n == 0 || strchr(name, ','))
                return false;
        for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
                        return true;
        return false;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int hp_token_list_join(char *const *names, size_t n, char **ret)
{
        _cleanup_free_ char **sorted = NULL;
        _cleanup_free_ char *out = NULL;
        size_t len = 0, at = 0;

        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (!names[i] || !names[i][0] || strchr(names[i], ','))
                        return -EINVAL;
                len += strlen(names[i]) + 1;
        }
        sorted = malloc(n * sizeof(*sorted));
        out = malloc(len);
        if (!sorted || !out)
                return -ENOMEM;
        memcpy(sorted, names, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), compare_names);
        for (size_t i = 0; i < n; i++) {
                size_t k = strlen(sorted[i]);

                if (i > 0 && streq(sorted[i], sorted[i - 1]))
                        continue;
                if (at > 0)
                        out[at++] = ',';
                memcpy(out + at, sorted[i], k);
                at += k;
        }
        out[at] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

bool hp_token_name_is_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > HP_TOKEN_NAME_MAX)
                return false;
        for (const char *p = name; *p; p++)
                if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
                    !(*p >= '0' && *p <= '9') && !strchr("-_.", *p))
                        return false;
        return true;
}

bool hp_token_hash_equal(const char *stored, const char *hash)
{
        return strlen(stored) == HP_TOKEN_HASH_LEN && hp_memeq_const_time(stored, hash, HP_TOKEN_HASH_LEN);
}

bool hp_memeq_const_time(const void *a, const void *b, size_t n)
{
        /* volatile: the compiler may not stop at the first difference. */
        const volatile uint8_t *x = a, *y = b;
        uint8_t diff = 0;

        for (size_t i = 0; i < n; i++)
                diff |= x[i] ^ y[i];
        return diff == 0;
}

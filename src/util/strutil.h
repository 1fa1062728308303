/* Small string helpers: checked number parsing, string vectors, UTF-8 text
 * checked, and made safe to show. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses an unsigned number in the given base (0 = auto) from the whole of s,
 * allowing surrounding white space. -EINVAL when s is not such a number,
 * -ERANGE when it does not fit. */
int hp_parse_u64(const char *s, int base, uint64_t *ret);
int hp_parse_int(const char *s, int *ret);

/* Strips trailing white space in place and returns s. */
char *hp_strstrip(char *s);

bool hp_startswith(const char *s, const char *prefix);

/* Appends a copy of s to the NULL-terminated vector *v. */
int hp_strv_push(char ***v, const char *s);
/* Sets *ret_error (when ret_error is not NULL) to a formatted message and
 * returns r: "return hp_errorf(ret_error, -EINVAL, "...", ...);". */
int hp_errorf(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Pushes a formatted string; the _unique form skips one already in v. */
int hp_strv_pushf(char ***v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hp_strv_pushf_unique(char ***v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Splits s at white space into a new vector (empty vector for an empty s). */
int hp_strv_split(const char *s, char ***ret);
size_t hp_strv_length(char *const *v);
/* A copy of v (NULL: an empty list): -ENOMEM. */
int hp_strv_copy(char *const *v, char ***ret);
bool hp_strv_contains(char *const *v, const char *s);
void hp_strv_free(char **v);
static inline void hp_strv_freep(char ***v)
{
        hp_strv_free(*v);
}
#define _cleanup_strv_free_ __attribute__((cleanup(hp_strv_freep)))

/* Formats a byte count as 16M, 64G... (exact powers of two stay exact). */
void hp_format_size(uint64_t bytes, char *buf, size_t size);

/* A control character: C0 (below U+0020), DEL, or C1 (U+0080-U+009F, which
 * some terminals obey as escape sequences too). */
bool hp_is_control(uint32_t cp);
/* The number of characters (code points) in s; -EILSEQ when s is not valid
 * UTF-8, with the offset of the first bad byte in *ret_bad_offset (may be NULL). */
int hp_utf8_length(const char *s, size_t *ret_bad_offset);
/* Whether s (UTF-8) holds a control character (hp_is_control()). */
bool hp_utf8_has_control(const char *s);
/* s with each byte that is not part of valid UTF-8 replaced by U+FFFD, for
 * text that must be UTF-8 (JSON). Malloc'd; NULL when out of memory. */
char *hp_utf8_replace(const char *s);
/* s made safe to quote in a one-line message: control characters (newline
 * included) and bytes that are not UTF-8 become \xNN; the rest is kept.
 * Malloc'd; NULL when out of memory. */
char *hp_escape(const char *s);

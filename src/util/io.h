/* Reading and writing whole: a growing buffer, everything an fd holds up to a
 * bound, all of a buffer written, and a file replaced whole. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Bytes gathered so far, NUL-terminated once anything was added. */
struct hp_buf {
        char *data;
        size_t len;
};

/* Appends n bytes; -ENOMEM leaves b as it was. Callers keep their own bound. */
int hp_buf_append(struct hp_buf *b, const void *data, size_t n);

/* Everything fd holds until end of file, NUL-terminated in *ret (length in
 * *ret_len, may be NULL). -EFBIG when it holds more than max bytes. What was
 * read is wiped before it is freed on failure: the file may be a key. */
int hp_read_all(int fd, size_t max, char **ret, size_t *ret_len);

/* Writes all n bytes, going on after short writes and EINTR; -errno. */
int hp_write_all(int fd, const void *data, size_t n);

/* Replaces the file at path with n bytes, mode 0600: written to PATH.tmp
 * (made anew, never through a link), flushed to disk first when sync, then
 * renamed over path, so a reader finds the old file or the new one whole.
 * -errno; the temporary file is gone on failure. */
int hp_write_file_replace(const char *path, const void *data, size_t n, bool sync);

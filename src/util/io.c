/* Reading whole: a growing buffer, and an fd read to its end within a bound. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hp_buf_append(struct hp_buf *b, const void *data, size_t n)
{
        char *grown = realloc(b->data, b->len + n + 1);

        if (!grown)
                return -ENOMEM;
        memcpy(grown + b->len, data, n);
        b->data = grown;
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int hp_read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
        struct hp_buf b = { 0 };
        char chunk[16384];
        int r = 0;

        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                else if (n == 0)
                        break;
                else if (b.len + (size_t)n > max)
                        r = -EFBIG;
                else
                        r = hp_buf_append(&b, chunk, (size_t)n);
                if (r < 0)
                        break;
        }
        explicit_bzero(chunk, sizeof(chunk));
        if (r >= 0 && !b.data)
                r = hp_buf_append(&b, "", 0); /* empty: "" */
        if (r < 0) {
                if (b.data)
                        explicit_bzero(b.data, b.len);
                free(b.data);
                return r;
        }
        *ret = b.data;
        if (ret_len)
                *ret_len = b.len;
        return 0;
}

int hp_write_all(int fd, const void *data, size_t n)
{
        const char *p = data;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EIO;
                p += k, n -= (size_t)k;
        }
        return 0;
}

int hp_write_file_replace(const char *path, const void *data, size_t n, bool sync)
{
        char tmp[4096];
        int fd, r;

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
                return -ENAMETOOLONG;
        (void)unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = hp_write_all(fd, data, n);
        if (r == 0 && sync && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

/* The host root: path resolution confined to a directory that stands in for "/". */
#include "hostroot.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "strutil.h"

static int openat_in_root(int rootfd, const char *relpath, int flags)
{
        struct open_how how = {
                .flags = (unsigned long long)(flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        static bool no_openat2;
        int fd;

        if (!no_openat2) {
                /* EAGAIN: a rename elsewhere raced a ".." lookup (the kernel
                 * cannot prove the walk stayed inside); asking again is safe. */
                for (int tries = 0; tries < 8; tries++) {
                        fd = (int)syscall(SYS_openat2, rootfd, relpath, &how, sizeof(how));
                        if (fd >= 0 || errno != EAGAIN)
                                break;
                }
                if (fd >= 0)
                        return fd;
                if (errno != ENOSYS)
                        return -errno;
                no_openat2 = true;
        }
        /* Kernels before 5.6: refuse what could climb out, follow the rest. */
        if (relpath[0] == '/' || strstr(relpath, ".."))
                return -EPERM;
        fd = openat(rootfd, relpath, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* The last file a reader refused as not regular, for hp_host_strerror(). */
static __thread char refused[4096];

/* fd (just opened as dir/name) when it is a regular file; else closed, the
 * file remembered, and -EBADFD. A FIFO, socket or device would block a read
 * (or never end), and sysfs and proc attributes are all regular files. */
static int regular_or_refuse(int fd, int dirfd, const char *dir, const char *name)
{
        char link[64], where[4096] = "";
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        if (S_ISREG(st.st_mode))
                return fd;
        close(fd);
        if (!dir) { /* this process's own view of the directory fd, not the host's */
                snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
                n = readlink(link, where, sizeof(where) - 1);
                where[n > 0 ? n : 0] = '\0';
                dir = where;
        }
        snprintf(refused, sizeof(refused), "%s%s%s", dir, *dir ? "/" : "", name);
        return -EBADFD;
}

const char *hp_host_strerror(int r)
{
        static __thread char msg[sizeof(refused) + 64];

        if (r != -EBADFD || !refused[0])
                return strerror(r < 0 ? -r : r);
        snprintf(msg, sizeof(msg), "not a regular file: %s", refused);
        return msg;
}

int hp_host_open(const char *path, struct hp_host **ret)
{
        _cleanup_free_ struct hp_host *h = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (faccessat(fd, "sys/bus", F_OK, 0) < 0 || faccessat(fd, "proc", F_OK, 0) < 0)
                return -EMEDIUMTYPE;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->path = strdup(path);
        if (!h->path)
                return -ENOMEM;
        h->fd = TAKE_FD(fd);
        *ret = TAKE_PTR(h);
        return 0;
}

void hp_host_free(struct hp_host *h)
{
        if (!h)
                return;
        if (h->fd >= 0)
                close(h->fd);
        free(h->path);
        free(h);
}

int hp_host_openat(const struct hp_host *h, const char *relpath, int flags)
{
        return openat_in_root(h->fd, relpath, flags);
}

bool hp_host_exists(const struct hp_host *h, const char *relpath)
{
        _cleanup_close_ int fd = openat_in_root(h->fd, relpath, O_PATH);

        return fd >= 0;
}

static int read_fd_alloc(int fd, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                ssize_t n;

                if (cap - len < 4096) {
                        char *nb;

                        if (cap > (64u << 20))
                                return -EFBIG;
                        cap = cap ? cap * 2 : 8192;
                        nb = realloc(buf, cap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (!buf) {
                buf = strdup("");
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return (int)len;
}

int hp_host_read(const struct hp_host *h, const char *relpath, char **ret)
{
        _cleanup_close_ int fd = regular_or_refuse(openat_in_root(h->fd, relpath, O_RDONLY | O_NONBLOCK), h->fd,
                                                   h->path, relpath);

        if (fd < 0)
                return fd;
        return read_fd_alloc(fd, ret);
}

static int cmp_version(const void *a, const void *b)
{
        return strverscmp(*(char *const *)a, *(char *const *)b);
}

int hp_host_list_dir(const struct hp_host *h, const char *relpath, char ***ret)
{
        _cleanup_close_ int fd = openat_in_root(h->fd, relpath, O_RDONLY | O_DIRECTORY);
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        struct dirent *de;
        DIR *dir;
        int r = 0;

        if (!v)
                return -ENOMEM;
        if (fd == -ENOENT || fd == -ENOTDIR) {
                *ret = TAKE_PTR(v);
                return 0;
        }
        if (fd < 0)
                return fd;
        dir = fdopendir(fd);
        if (!dir)
                return -errno;
        fd = -1; /* owned by dir now */
        while (r >= 0 && (de = readdir(dir)))
                if (de->d_name[0] != '.')
                        r = hp_strv_push(&v, de->d_name);
        closedir(dir);
        if (r < 0)
                return r;
        qsort(v, hp_strv_length(v), sizeof(char *), cmp_version);
        *ret = TAKE_PTR(v);
        return 0;
}

int hp_host_write(const struct hp_host *h, const char *relpath, const char *value)
{
        _cleanup_close_ int fd = regular_or_refuse(openat_in_root(h->fd, relpath, O_WRONLY | O_NONBLOCK), h->fd,
                                                   h->path, relpath);
        size_t len = strlen(value);
        ssize_t n;

        if (fd < 0)
                return fd;
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        return 0;
}

int hp_host_replace_file(const struct hp_host *h, const char *dir, const char *name, const char *content)
{
        _cleanup_close_ int dfd = openat_in_root(h->fd, dir, O_RDONLY | O_DIRECTORY);
        _cleanup_close_ int fd = -1;
        char tmp[256];
        size_t len = strlen(content);

        if (dfd < 0)
                return dfd;
        snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        fd = regular_or_refuse(fd < 0 ? -errno : fd, dfd, NULL, tmp);
        if (fd < 0)
                return fd;
        if (write(fd, content, len) != (ssize_t)len || fsync(fd) < 0) {
                int r = errno ? -errno : -EIO;

                (void)unlinkat(dfd, tmp, 0);
                return r;
        }
        if (renameat(dfd, tmp, dfd, name) < 0) {
                int r = -errno;

                (void)unlinkat(dfd, tmp, 0);
                return r;
        }
        return 0;
}

int hp_self_exe(char *buf, size_t size)
{
        ssize_t n = readlink("/proc/self/exe", buf, size - 1);

        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

bool hp_host_is_live(const struct hp_host *h)
{
        struct stat a, b;

        return fstatat(h->fd, "", &a, AT_EMPTY_PATH) == 0 && stat("/", &b) == 0 &&
               a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int hp_host_readlink(const struct hp_host *h, const char *relpath, char *buf, size_t size)
{
        _cleanup_free_ char *dir = strdup(relpath);
        _cleanup_close_ int dfd = -1;
        const char *base;
        char *slash;
        ssize_t n;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash) {
                *slash = '\0';
                base = slash + 1;
                dfd = openat_in_root(h->fd, dir, O_PATH | O_DIRECTORY);
                if (dfd < 0)
                        return dfd;
        } else {
                base = dir;
        }
        n = readlinkat(slash ? dfd : h->fd, base, buf, size - 1);
        if (n < 0)
                return -errno;
        if ((size_t)n >= size - 1)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        return (int)n;
}

static int open_attr(int dirfd, const char *name)
{
        int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

        return regular_or_refuse(fd < 0 ? -errno : fd, dirfd, NULL, name);
}

int hp_attr_read(int dirfd, const char *name, char *buf, size_t size)
{
        _cleanup_close_ int fd = open_attr(dirfd, name);
        size_t len = 0;

        if (fd < 0)
                return fd;
        /* sysfs hands out an attribute in one read; a short read is its end. */
        while (len + 1 < size) {
                size_t want = size - 1 - len;
                ssize_t n = read(fd, buf + len, want);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                len += (size_t)n;
                if ((size_t)n < want)
                        break;
        }
        buf[len] = '\0';
        hp_strstrip(buf);
        return (int)strlen(buf);
}

int hp_attr_read_alloc(int dirfd, const char *name, char **ret)
{
        _cleanup_close_ int fd = open_attr(dirfd, name);
        char *s = NULL;
        int r;

        if (fd < 0)
                return fd;
        r = read_fd_alloc(fd, &s);
        if (r < 0)
                return r;
        hp_strstrip(s);
        *ret = s;
        return 0;
}

int hp_attr_read_hex(int dirfd, const char *name, unsigned long long *ret)
{
        char buf[64];
        uint64_t v;
        int r = hp_attr_read(dirfd, name, buf, sizeof(buf));

        if (r < 0)
                return r;
        r = hp_parse_u64(buf, 16, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int hp_attr_read_int(int dirfd, const char *name, int *ret)
{
        char buf[64];
        int r = hp_attr_read(dirfd, name, buf, sizeof(buf));

        if (r < 0)
                return r;
        return hp_parse_int(buf, ret);
}

bool hp_attr_exists(int dirfd, const char *name)
{
        return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int hp_attr_link_base(int dirfd, const char *name, char *buf, size_t size)
{
        char target[4096];
        const char *base;
        ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

        if (n < 0)
                return -errno;
        target[n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strlen(base) + 1 > size)
                return -ENAMETOOLONG;
        memcpy(buf, base, strlen(base) + 1);
        return 0;
}

#define MAX_SYMLINKS 40 /* followed while resolving one path, as the kernel does */

static char *path_join(const char *dir, const char *name)
{
        char *s;

        return asprintf(&s, "%s/%s", dir, name) < 0 ? NULL : s;
}

int hp_host_resolve(const struct hp_host *h, const char *relpath, char **ret)
{
        _cleanup_free_ char *todo = strdup(relpath), *cur = strdup("");
        unsigned links = 0;
        char *rest = todo;

        if (!todo || !cur)
                return -ENOMEM;
        while (*rest) {
                _cleanup_free_ char *cand = NULL;
                char target[4096], *comp, *slash, *next;
                int r;

                while (*rest == '/')
                        rest++;
                if (!*rest)
                        break;
                comp = rest;
                slash = strchr(rest, '/');
                if (slash)
                        *slash = '\0';
                rest = slash ? slash + 1 : rest + strlen(rest);
                if (streq(comp, "."))
                        continue;
                if (streq(comp, "..")) {
                        char *up = strrchr(cur, '/');

                        *(up ? up : cur) = '\0';
                        continue;
                }
                cand = *cur ? path_join(cur, comp) : strdup(comp);
                if (!cand)
                        return -ENOMEM;
                r = hp_host_readlink(h, cand, target, sizeof(target));
                if (r == -EINVAL) { /* not a link */
                        free(cur);
                        cur = TAKE_PTR(cand);
                        continue;
                }
                if (r < 0)
                        return r;
                if (++links > MAX_SYMLINKS)
                        return -ELOOP;
                if (target[0] == '/')
                        cur[0] = '\0';
                next = path_join(target, rest);
                if (!next)
                        return -ENOMEM;
                free(todo);
                todo = next;
                rest = todo;
        }
        *ret = TAKE_PTR(cur);
        return 0;
}

char *hp_path_absolute(const char *path)
{
        char cwd[PATH_MAX], *r;

        if (path[0] == '/')
                return strdup(path);
        if (!getcwd(cwd, sizeof(cwd)))
                return NULL;
        return asprintf(&r, "%s/%s", cwd, path) < 0 ? NULL : r;
}

bool hp_same_file(const char *a, const char *b)
{
        struct stat sa, sb;

        if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
                return streq(a, b);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

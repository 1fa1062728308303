/* fakesys: a fake kernel for a copied host tree (tests/fixtures/hosts/NAME).
 *
 * A FUSE passthrough over BACKING, mounted at MOUNTPOINT, that answers the PCI
 * core's files as the kernel does, and does it before the writer's write()
 * returns (a watcher on a plain directory could only act afterwards):
 *
 *   devices/SBDF/driver_override  "NAME" sets it, "" or "\n" clears it; reads
 *                                 give "NAME\n" or "(null)\n"
 *   drivers/DRV/unbind    SBDF    releases the device if DRV has it (else ENODEV):
 *                                 devices/SBDF/driver and drivers/DRV/SBDF go
 *   drivers/DRV/bind      SBDF    binds an unbound device that DRV matches (EBUSY
 *                                 if bound, ENODEV if DRV does not match)
 *   drivers_probe         SBDF    binds an unbound device to the driver that matches
 *                                 it: its override if that driver is loaded (else it
 *                                 stays unbound), without one the driver the fixture
 *                                 had it on; a bound device stays as it is
 *   devices/SBDF/uevent           its DRIVER= line follows the binding
 *   dev/vfio/GROUP                exists while a function of GROUP is on vfio-pci
 *                                 (a plain file: only its presence is emulated)
 *
 * "DRV matches" is the kernel's rule with an ID table reduced to one entry: the
 * override when one is set, otherwise the fixture's driver (vfio-pci claims no
 * IDs). Probing always succeeds, at once. Driver directories get the bind and
 * unbind files every real driver has. One lock orders all of it, as the device
 * lock does on a machine with one device of interest. Not emulated: new_id,
 * remove/rescan, SR-IOV, asynchronous probing, failing probes. Files are read
 * and written through the mount, never created, removed or renamed: a test
 * changes BACKING before it mounts it.
 *
 * Attribute and directory caching is off, so every lookup, readlink and read
 * reaches this process and sees the state after the last write.
 *
 * Usage: fakesys BACKING MOUNTPOINT [FUSE options]; runs in the foreground,
 * SIGTERM unmounts. */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"

#define DRIVERS "sys/bus/pci/drivers"

struct dev {
        char *sbdf;
        char *path;   /* its directory, relative to the root: sys/devices/pci.../SBDF */
        char *driver; /* the fixture's, NULL if it had none */
        int group;    /* -1 without an IOMMU group */
};

static int root_fd = -1;
static struct dev *devs;
static size_t n_devs;
static bool driver_links; /* the fixture has drivers/DRV/SBDF links */
static pthread_mutex_t kernel = PTHREAD_MUTEX_INITIALIZER;

enum kind {
        PLAIN,
        OVERRIDE, /* devices/SBDF/driver_override */
        UEVENT,   /* devices/SBDF/uevent */
        BIND,     /* drivers/DRV/bind */
        UNBIND,   /* drivers/DRV/unbind */
        PROBE,    /* drivers_probe */
};

/* An open file: a backing fd, or for the kernel's files the text read at open. */
struct handle {
        enum kind kind;
        int fd;
        char *text;
        size_t len;
        struct dev *dev; /* OVERRIDE, UEVENT */
        char drv[NAME_MAX + 1]; /* BIND, UNBIND */
};

static const char *rel(const char *path)
{
        return path[1] ? path + 1 : ".";
}

static struct dev *dev_by_sbdf(const char *sbdf)
{
        for (size_t i = 0; i < n_devs; i++)
                if (streq(devs[i].sbdf, sbdf))
                        return &devs[i];
        return NULL;
}

static enum kind classify(const char *r, struct dev **ret_dev, char *drv)
{
        const char *slash;

        if (streq(r, "sys/bus/pci/drivers_probe"))
                return PROBE;
        if (strncmp(r, DRIVERS "/", strlen(DRIVERS "/")) == 0) {
                const char *name = r + strlen(DRIVERS "/");

                slash = strchr(name, '/');
                if (!slash || (size_t)(slash - name) > NAME_MAX)
                        return PLAIN;
                if (!streq(slash + 1, "bind") && !streq(slash + 1, "unbind"))
                        return PLAIN;
                memcpy(drv, name, (size_t)(slash - name));
                drv[slash - name] = '\0';
                return streq(slash + 1, "bind") ? BIND : UNBIND;
        }
        slash = strrchr(r, '/');
        if (!slash || (!streq(slash + 1, "driver_override") && !streq(slash + 1, "uevent")))
                return PLAIN;
        for (size_t i = 0; i < n_devs; i++)
                if (strlen(devs[i].path) == (size_t)(slash - r) &&
                    strncmp(devs[i].path, r, (size_t)(slash - r)) == 0) {
                        *ret_dev = &devs[i];
                        return streq(slash + 1, "uevent") ? UEVENT : OVERRIDE;
                }
        return PLAIN;
}

/* The base name of the link at DIR/NAME in buf, "" when there is none. */
static int link_base(const char *dir, const char *name, char *buf, size_t size)
{
        char p[PATH_MAX], target[PATH_MAX];
        const char *base;
        ssize_t n;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        n = readlinkat(root_fd, p, target, sizeof(target) - 1);
        if (n < 0) {
                buf[0] = '\0';
                return errno == ENOENT ? 0 : -errno;
        }
        target[n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        return snprintf(buf, size, "%s", base) < (int)size ? 0 : -ENAMETOOLONG;
}

static int read_rel(const char *p, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = openat(root_fd, p, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        ssize_t n;

        if (fd < 0)
                return -errno;
        buf = malloc(8192);
        if (!buf)
                return -ENOMEM;
        while ((n = read(fd, buf + len, 8191 - len)) > 0)
                len += (size_t)n;
        if (n < 0)
                return -errno;
        buf[len] = '\0';
        *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

static void touch_rel(const char *p, mode_t mode)
{
        int fd = openat(root_fd, p, O_WRONLY | O_CREAT | O_CLOEXEC, mode);

        if (fd >= 0)
                close(fd);
}

static int write_rel(const char *p, const char *text)
{
        _cleanup_close_ int fd = openat(root_fd, p, O_WRONLY | O_TRUNC | O_CLOEXEC);
        size_t len = strlen(text);

        if (fd < 0)
                return -errno;
        return write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
}

/* The device's override, "" when none. */
static void override_of(const struct dev *d, char *buf, size_t size)
{
        _cleanup_free_ char *text = NULL;
        char p[PATH_MAX];
        size_t len;

        snprintf(p, sizeof(p), "%s/driver_override", d->path);
        buf[0] = '\0';
        if (read_rel(p, &text, &len) < 0)
                return;
        text[strcspn(text, "\n")] = '\0';
        if (!streq(text, "(null)"))
                snprintf(buf, size, "%s", text);
}

static bool driver_loaded(const char *drv)
{
        char p[PATH_MAX];
        struct stat st;

        snprintf(p, sizeof(p), DRIVERS "/%s", drv);
        return fstatat(root_fd, p, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

static bool matches(const struct dev *d, const char *drv)
{
        char ov[NAME_MAX + 1];

        override_of(d, ov, sizeof(ov));
        return ov[0] ? streq(ov, drv) : d->driver && streq(d->driver, drv);
}

/* /dev/vfio/GROUP while any function of the group is on vfio-pci. */
static void sync_vfio_group(int group)
{
        char p[64], drv[NAME_MAX + 1];
        bool on_vfio = false;
        struct stat st;

        if (group < 0 || fstatat(root_fd, "dev/vfio", &st, 0) < 0)
                return;
        for (size_t i = 0; i < n_devs && !on_vfio; i++)
                on_vfio = devs[i].group == group && link_base(devs[i].path, "driver", drv, sizeof(drv)) == 0 &&
                          streq(drv, "vfio-pci");
        snprintf(p, sizeof(p), "dev/vfio/%d", group);
        if (on_vfio)
                touch_rel(p, 0600);
        else
                (void)unlinkat(root_fd, p, 0);
}

/* The relative link from directory FROM to TO (both from the root), as
 * sysfs writes its links: up to the common parent, then down. */
static int relative_link(const char *from, const char *to, char *buf, size_t size)
{
        size_t common = 0, n = 0;

        for (size_t i = 0; from[i] && from[i] == to[i]; i++)
                if (from[i + 1] == '/' || from[i + 1] == '\0')
                        common = to[i + 1] == '/' ? i + 1 : common;
        for (const char *c = from + common; *c; c++)
                if (*c == '/')
                        n += (size_t)snprintf(buf + n, size > n ? size - n : 0, "../");
        n += (size_t)snprintf(buf + n, size > n ? size - n : 0, "%s", to + common + 1);
        return n < size ? 0 : -ENAMETOOLONG;
}

static int do_bind(struct dev *d, const char *drv)
{
        char p[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];
        int r;

        snprintf(dir, sizeof(dir), DRIVERS "/%s", drv);
        r = relative_link(d->path, dir, target, sizeof(target));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s/driver", d->path);
        if (symlinkat(target, root_fd, p) < 0)
                return -errno;
        if (driver_links && relative_link(dir, d->path, target, sizeof(target)) == 0 &&
            snprintf(p, sizeof(p), "%s/%s", dir, d->sbdf) < (int)sizeof(p))
                (void)symlinkat(target, root_fd, p);
        sync_vfio_group(d->group);
        return 0;
}

static int do_unbind(struct dev *d, const char *drv)
{
        char p[PATH_MAX];

        snprintf(p, sizeof(p), "%s/driver", d->path);
        if (unlinkat(root_fd, p, 0) < 0)
                return -errno;
        snprintf(p, sizeof(p), DRIVERS "/%s/%s", drv, d->sbdf);
        (void)unlinkat(root_fd, p, 0);
        sync_vfio_group(d->group);
        return 0;
}

/* A write to one of the kernel's files, with the kernel lock held. */
static int kernel_write(struct handle *h, const char *value)
{
        struct dev *d = h->kind == OVERRIDE ? h->dev : dev_by_sbdf(value);
        char cur[NAME_MAX + 1], p[PATH_MAX], text[NAME_MAX + 2];
        int r;

        if (h->kind == UEVENT)
                return 0; /* "add", "change": an event, no change */
        if (!d)
                return -ENODEV;
        r = link_base(d->path, "driver", cur, sizeof(cur));
        if (r < 0)
                return r;
        switch (h->kind) {
        case OVERRIDE:
                if (strlen(value) > NAME_MAX)
                        return -EINVAL;
                snprintf(p, sizeof(p), "%s/driver_override", d->path);
                snprintf(text, sizeof(text), "%s\n", value[0] ? value : "(null)");
                return write_rel(p, text);
        case UNBIND:
                return streq(cur, h->drv) ? do_unbind(d, h->drv) : -ENODEV;
        case BIND:
                if (!matches(d, h->drv))
                        return -ENODEV;
                return cur[0] ? -EBUSY : do_bind(d, h->drv);
        case PROBE:
                if (cur[0])
                        return 0;
                override_of(d, cur, sizeof(cur));
                if (!cur[0] && d->driver)
                        snprintf(cur, sizeof(cur), "%s", d->driver);
                return cur[0] && driver_loaded(cur) ? do_bind(d, cur) : 0;
        default:
                return -EINVAL;
        }
}

/* The text a read of the kernel's file gives, taken at open. */
static int kernel_text(struct handle *h, const char *r)
{
        char drv[NAME_MAX + 1];
        _cleanup_free_ char *text = NULL;
        size_t len;
        int k;

        k = read_rel(r, &text, &len);
        if (k < 0)
                return k;
        if (h->kind == UEVENT) {
                /* DRIVER= first, as the kernel writes it, only while bound. */
                char *out = malloc(len + sizeof(drv) + 8), *line = text;
                size_t n = 0;

                if (!out)
                        return -ENOMEM;
                k = link_base(h->dev->path, "driver", drv, sizeof(drv));
                if (k == 0 && drv[0])
                        n += (size_t)snprintf(out, sizeof(drv) + 8, "DRIVER=%s\n", drv);
                while (*line) {
                        size_t l = strcspn(line, "\n");

                        l += line[l] == '\n';
                        if (strncmp(line, "DRIVER=", 7) != 0) {
                                memcpy(out + n, line, l);
                                n += l;
                        }
                        line += l;
                }
                free(text);
                text = out;
                len = n;
        }
        h->text = TAKE_PTR(text);
        h->len = len;
        return 0;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
        (void)fi;
        return fstatat(root_fd, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
        ssize_t n = readlinkat(root_fd, rel(path), buf, size - 1);

        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
        int fd = openat(root_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        DIR *dir;

        (void)off, (void)fi, (void)flags;
        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(dir)))
                if (fill(buf, de->d_name, NULL, 0, 0))
                        break;
        closedir(dir);
        return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
        _cleanup_free_ struct handle *h = calloc(1, sizeof(*h));
        const char *r = rel(path);
        int k = 0;

        if (!h)
                return -ENOMEM;
        h->fd = -1;
        h->kind = classify(r, &h->dev, h->drv);
        if (h->kind == PLAIN) {
                h->fd = openat(root_fd, r, fi->flags | O_CLOEXEC);
                if (h->fd < 0)
                        return -errno;
        } else if ((fi->flags & O_ACCMODE) != O_WRONLY) {
                pthread_mutex_lock(&kernel);
                k = kernel_text(h, r);
                pthread_mutex_unlock(&kernel);
        }
        if (k < 0)
                return k;
        fi->direct_io = 1;
        fi->fh = (uint64_t)(uintptr_t)TAKE_PTR(h);
        return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
        struct handle *h = (struct handle *)(uintptr_t)fi->fh;
        ssize_t n;

        (void)path;
        if (h->kind == PLAIN) {
                n = pread(h->fd, buf, size, off);
                return n < 0 ? -errno : (int)n;
        }
        if (!h->text)
                return -EBADF;
        if ((size_t)off >= h->len)
                return 0;
        n = (ssize_t)(h->len - (size_t)off < size ? h->len - (size_t)off : size);
        memcpy(buf, h->text + off, (size_t)n);
        return (int)n;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
        struct handle *h = (struct handle *)(uintptr_t)fi->fh;
        char value[256];
        size_t len;
        ssize_t n;
        int r;

        (void)path;
        if (h->kind == PLAIN) {
                n = pwrite(h->fd, buf, size, off);
                return n < 0 ? -errno : (int)n;
        }
        /* Like sysfs: one write is the whole value, and its trailing newline is not part of it. */
        if (size >= sizeof(value))
                return -EINVAL;
        memcpy(value, buf, size);
        len = size;
        while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == ' '))
                len--;
        value[len] = '\0';
        pthread_mutex_lock(&kernel);
        r = kernel_write(h, value);
        pthread_mutex_unlock(&kernel);
        return r < 0 ? r : (int)size;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
        struct handle *h = (struct handle *)(uintptr_t)fi->fh;

        (void)path;
        if (h->fd >= 0)
                close(h->fd);
        free(h->text);
        free(h);
        return 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
        _cleanup_close_ int fd = -1;
        struct dev *d;
        char drv[NAME_MAX + 1];

        /* The shell's "echo x > attr" truncates first: the kernel's files ignore it. */
        if (classify(rel(path), &d, drv) != PLAIN)
                return 0;
        if (fi && ((struct handle *)(uintptr_t)fi->fh)->fd >= 0)
                return ftruncate(((struct handle *)(uintptr_t)fi->fh)->fd, size) < 0 ? -errno : 0;
        fd = openat(root_fd, rel(path), O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return ftruncate(fd, size) < 0 ? -errno : 0;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
        (void)conn;
        cfg->entry_timeout = 0;
        cfg->negative_timeout = 0;
        cfg->attr_timeout = 0;
        cfg->direct_io = 1;
        cfg->kernel_cache = 0;
        return NULL;
}

static const struct fuse_operations ops = {
        .init = fs_init,
        .getattr = fs_getattr,
        .readlink = fs_readlink,
        .readdir = fs_readdir,
        .open = fs_open,
        .read = fs_read,
        .write = fs_write,
        .release = fs_release,
        .truncate = fs_truncate,
};

/* Every device of sys/bus/pci/devices with its directory, group and fixture
 * driver; bind and unbind in every driver directory. */
static int load(const char *backing)
{
        char root[PATH_MAX], p[PATH_MAX], real[PATH_MAX], buf[NAME_MAX + 1];
        struct dirent *de;
        DIR *dir;

        if (!realpath(backing, root))
                return -errno;
        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        if (snprintf(p, sizeof(p), "%s/sys/bus/pci/devices", root) >= (int)sizeof(p))
                return -ENAMETOOLONG;
        dir = opendir(p);
        if (!dir)
                return -errno;
        while ((de = readdir(dir))) {
                struct dev *nd, *d;

                if (de->d_name[0] == '.')
                        continue;
                if (snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", root, de->d_name) >= (int)sizeof(p) ||
                    !realpath(p, real) || strncmp(real, root, strlen(root)) != 0)
                        continue;
                nd = realloc(devs, (n_devs + 1) * sizeof(*nd));
                if (!nd)
                        break;
                devs = nd;
                d = &devs[n_devs++];
                *d = (struct dev){ .sbdf = strdup(de->d_name), .path = strdup(real + strlen(root) + 1),
                                   .group = -1 };
                if (!d->sbdf || !d->path)
                        break;
                if (link_base(d->path, "driver", buf, sizeof(buf)) == 0 && buf[0])
                        d->driver = strdup(buf);
                if (link_base(d->path, "iommu_group", buf, sizeof(buf)) == 0 && buf[0])
                        d->group = (int)strtol(buf, NULL, 10);
                snprintf(p, sizeof(p), DRIVERS "/%s/%s", d->driver ? d->driver : "", d->sbdf);
                driver_links |= d->driver && faccessat(root_fd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        }
        closedir(dir);
        if (de)
                return -ENOMEM;
        if (snprintf(p, sizeof(p), "%s/" DRIVERS, root) >= (int)sizeof(p))
                return -ENAMETOOLONG;
        dir = opendir(p);
        if (!dir)
                return -errno;
        while ((de = readdir(dir)))
                for (int i = 0; i < 2 && de->d_name[0] != '.'; i++) {
                        snprintf(p, sizeof(p), DRIVERS "/%s/%s", de->d_name, i ? "unbind" : "bind");
                        touch_rel(p, 0200);
                }
        closedir(dir);
        for (size_t i = 0; i < n_devs; i++)
                sync_vfio_group(devs[i].group);
        return 0;
}

int main(int argc, char **argv)
{
        char *fargv[32] = { argv[0] };
        int fargc = 1, r;

        if (argc < 3 || argc > 28) {
                fprintf(stderr, "usage: fakesys BACKING MOUNTPOINT [FUSE options]\n");
                return 2;
        }
        r = load(argv[1]);
        if (r < 0) {
                fprintf(stderr, "fakesys: cannot load the tree '%s': %s\n", argv[1], strerror(-r));
                return 1;
        }
        fargv[fargc++] = argv[2];
        fargv[fargc++] = (char *)"-f";
        fargv[fargc++] = (char *)"-o";
        fargv[fargc++] = (char *)"fsname=fakesys,subtype=fakesys";
        for (int i = 3; i < argc; i++)
                fargv[fargc++] = argv[i];
        return fuse_main(fargc, fargv, &ops, NULL);
}

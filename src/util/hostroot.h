/* The host root: every path hwpass reads is resolved inside it, so a captured
 * tree with sys/, proc/ and dev/ can stand in for a machine. Paths are always
 * relative ("sys/bus/pci/devices"); symlinks resolve as if the root were "/",
 * and nothing outside the root is ever opened. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hp_host {
        int fd;     /* O_PATH directory fd of the root */
        char *path; /* as given by the user, for messages */
};

/* Opens DIR as a host root. -ENOENT when it does not exist, -ENOTDIR when it
 * is not a directory, -EMEDIUMTYPE when it holds no sys/ and proc/. */
int hp_host_open(const char *path, struct hp_host **ret);
void hp_host_free(struct hp_host *h);
static inline void hp_host_freep(struct hp_host **h)
{
        hp_host_free(*h);
}

/* openat() below the root; flags as for openat(), O_CLOEXEC is added. */
int hp_host_openat(const struct hp_host *h, const char *relpath, int flags);
bool hp_host_exists(const struct hp_host *h, const char *relpath);

/* Every reader here (and hp_host_write()) opens without blocking and takes
 * regular files only, as sysfs and proc attributes are: anything else (a
 * FIFO in a host tree would hang a read forever) is -EBADFD, and
 * hp_host_strerror() then says "not a regular file: PATH". */
const char *hp_host_strerror(int r);

/* Reads a whole file below the root into a NUL-terminated string. */
int hp_host_read(const struct hp_host *h, const char *relpath, char **ret);

/* The names in a directory below the root (no dot files), in natural order
 * ("dmar2" before "dmar10"); an empty vector when it does not exist. */
int hp_host_list_dir(const struct hp_host *h, const char *relpath, char ***ret);

/* readlink() of relpath itself (its directory resolved inside the root). */
int hp_host_readlink(const struct hp_host *h, const char *relpath, char *buf, size_t size);

/* Writes value to a file below the root in one write(), as sysfs wants it.
 * The only way hwpass changes the host's kernel state. */
int hp_host_write(const struct hp_host *h, const char *relpath, const char *value);

/* Replaces dir/name below the root with content, atomically (a temporary
 * file, fsync, rename). dir must exist. For configuration files, not sysfs. */
int hp_host_replace_file(const struct hp_host *h, const char *dir, const char *name, const char *content);

/* True when the root is the machine itself ("/"), not a tree standing in for it. */
bool hp_host_is_live(const struct hp_host *h);

/* This program's own executable, to start a fresh copy of it. */
int hp_self_exe(char *buf, size_t size);

/* How mount tables and users name device nodes ("/dev/sda2"): text to parse
 * and to print, never a path hwpass opens (that goes through the root). */
#define HP_DEV_DIR "/dev/"

/* Attribute helpers on a directory fd already inside the root. The file must be
 * a regular file (a symlink is refused), so a read never leaves the directory. */
int hp_attr_read(int dirfd, const char *name, char *buf, size_t size);
int hp_attr_read_alloc(int dirfd, const char *name, char **ret);
int hp_attr_read_hex(int dirfd, const char *name, unsigned long long *ret);
int hp_attr_read_int(int dirfd, const char *name, int *ret);
bool hp_attr_exists(int dirfd, const char *name);
/* Last path component of the symlink name in dirfd ("driver" -> "nvme"). */
int hp_attr_link_base(int dirfd, const char *name, char *buf, size_t size);

/* Follows every symlink of relpath inside the root, as the kernel would with
 * the root as "/": "sys/class/net/eth0/device" -> "sys/devices/pci0000:00/
 * 0000:00:1f.6". The result has no "." or ".." and no leading slash ("" for
 * the root itself). -ENOENT when a component does not exist, -ENOTDIR when
 * one that must be a directory is not, -ELOOP after 40 symlinks. */
int hp_host_resolve(const struct hp_host *h, const char *relpath, char **ret);

/* Do a and b name the same file (same device and inode), or, when either
 * cannot be looked at, the same path? */
bool hp_same_file(const char *a, const char *b);
/* path as a process in another directory reads it: the working directory
 * put before a relative one. Malloc'd; NULL when out of memory or when the
 * working directory cannot be read. */
char *hp_path_absolute(const char *path);

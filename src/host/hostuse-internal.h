/* Shared by the host-use scanners (hostuse.c, hostuse-net.c, hostuse-console.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hostuse.h"
#include "pci.h"

#define HP_HOSTUSE_MAX_DEPTH 16 /* levels of a block or network stack */

struct hp_host;
struct mnt; /* a mount-table entry; storage only (hostuse.c) */

/* One scan: the host root, the uses found so far, and the mount table (read
 * first, so swap files can be placed on their mount). */
struct scan {
        const struct hp_host *h;
        struct hp_host_use *uses;
        size_t n, cap;
        struct mnt *mnts;
        size_t n_mnts;
};

/* Records one use; what is "top on bottom", or bottom when they are the same device. */
int hp_hostuse_add_use(struct scan *s, const char *address, enum hp_host_use_kind kind,
                       const char *top, const char *bottom, const char *where);

/* The scanners besides storage, in the order hp_host_uses_scan() runs them. */
int hp_hostuse_scan_net(struct scan *s);
int hp_hostuse_scan_console(struct scan *s, const char *boot_vga);

/* asprintf() that returns the string, NULL when out of memory. */
char *hp_hostuse_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last component of path ("sys/class/block/sda2" -> "sda2"). */
const char *hp_hostuse_basename_of(const char *path);

/* As hp_host_resolve(), but 0 (and *ret NULL) when the path does not exist, 1 when it does. */
int hp_hostuse_resolve_optional(const struct hp_host *h, const char *relpath, char **ret);
/* Reads a file below the root; 0 with *ret NULL when it does not exist. */
int hp_hostuse_read_optional(const struct hp_host *h, const char *relpath, char **ret);

/* The PCI function a resolved sysfs path is on: its last component that is a
 * full PCI address ("sys/devices/pci0000:00/0000:00:14.0/usb2/.../sdb1" is on
 * 0000:00:14.0). false for virtual and platform devices. */
bool hp_hostuse_pci_of_path(const char *path, char ret[HP_SBDF_LEN]);

/* Splits line in place at runs of blanks; returns the number of fields. */
size_t hp_hostuse_split_fields(char *line, char **fields, size_t max);
/* Cuts the next line off *text; NULL at the end. */
char *hp_hostuse_next_line(char **text);

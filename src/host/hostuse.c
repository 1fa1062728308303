/* Host uses: the public scan, its results and texts, and storage (mounts, swap, dm/md). */
#include "hostuse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostuse-internal.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

struct mnt {
        char *target, *source;
        unsigned major, minor; /* 0:0 when only proc/mounts was there */
};

static void use_done(struct hp_host_use *u)
{
        free(u->what);
        free(u->where);
}

static void scan_done(struct scan *s)
{
        for (size_t i = 0; i < s->n; i++)
                use_done(&s->uses[i]);
        free(s->uses);
        for (size_t i = 0; i < s->n_mnts; i++) {
                free(s->mnts[i].target);
                free(s->mnts[i].source);
        }
        free(s->mnts);
}

char *hp_hostuse_strdupf(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

const char *hp_hostuse_basename_of(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

int hp_hostuse_resolve_optional(const struct hp_host *h, const char *relpath, char **ret)
{
        int r = hp_host_resolve(h, relpath, ret);

        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = NULL;
                return 0;
        }
        return r < 0 ? r : 1;
}

int hp_hostuse_read_optional(const struct hp_host *h, const char *relpath, char **ret)
{
        int r = hp_host_read(h, relpath, ret);

        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = NULL;
                return 0;
        }
        return r < 0 ? r : 0;
}

bool hp_hostuse_pci_of_path(const char *path, char ret[HP_SBDF_LEN])
{
        const char *end = path + strlen(path);

        while (end > path) {
                const char *start = end;
                struct hp_pci_addr a;
                char buf[HP_SBDF_LEN];

                while (start > path && start[-1] != '/')
                        start--;
                if (end - start == HP_SBDF_LEN - 1) {
                        memcpy(buf, start, HP_SBDF_LEN - 1);
                        buf[HP_SBDF_LEN - 1] = '\0';
                        if (hp_pci_addr_parse(buf, &a) == 0) {
                                hp_pci_addr_format(&a, ret);
                                return true;
                        }
                }
                end = start > path ? start - 1 : path;
        }
        return false;
}

int hp_hostuse_add_use(struct scan *s, const char *address, enum hp_host_use_kind kind,
                       const char *top, const char *bottom, const char *where)
{
        _cleanup_free_ char *what = NULL, *w = NULL;
        struct hp_host_use *u;

        what = top && !streq(top, bottom) ? hp_hostuse_strdupf("%s on %s", top, bottom)
                                          : strdup(bottom);
        if (!what)
                return -ENOMEM;
        if (where) {
                w = strdup(where);
                if (!w)
                        return -ENOMEM;
        }
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                struct hp_host_use *nu = realloc(s->uses, cap * sizeof(*nu));

                if (!nu)
                        return -ENOMEM;
                s->uses = nu;
                s->cap = cap;
        }
        u = &s->uses[s->n++];
        memcpy(u->address, address, HP_SBDF_LEN);
        u->kind = kind;
        u->what = TAKE_PTR(what);
        u->where = TAKE_PTR(w);
        return 0;
}

size_t hp_hostuse_split_fields(char *line, char **fields, size_t max)
{
        size_t n = 0;
        char *p = line;

        while (n < max) {
                p += strspn(p, " \t");
                if (!*p)
                        break;
                fields[n++] = p;
                p += strcspn(p, " \t");
                if (*p)
                        *p++ = '\0';
        }
        return n;
}

char *hp_hostuse_next_line(char **text)
{
        char *line = *text, *nl;

        if (!line || !*line)
                return NULL;
        nl = strchr(line, '\n');
        if (nl)
                *nl++ = '\0';
        *text = nl;
        return line;
}

static bool is_octal(char c)
{
        return c >= '0' && c <= '7';
}

/* Decodes the kernel's octal escapes ("\040" for a space) in place. */
static char *unescape(char *s)
{
        char *w = s;

        for (const char *p = s; *p;) {
                if (p[0] == '\\' && is_octal(p[1]) && is_octal(p[2]) && is_octal(p[3])) {
                        *w++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
                        p += 4;
                } else {
                        *w++ = *p++;
                }
        }
        *w = '\0';
        return s;
}

/* "259:2" */
static int parse_majmin(char *s, unsigned *ret_major, unsigned *ret_minor)
{
        char *colon = strchr(s, ':');
        uint64_t ma, mi;

        if (!colon)
                return -EINVAL;
        *colon = '\0';
        if (hp_parse_u64(s, 10, &ma) < 0 || hp_parse_u64(colon + 1, 10, &mi) < 0 ||
            ma > UINT32_MAX || mi > UINT32_MAX)
                return -EINVAL;
        *ret_major = (unsigned)ma;
        *ret_minor = (unsigned)mi;
        return 0;
}

static int push_mnt(struct scan *s, const char *target, const char *source, unsigned major,
                    unsigned minor)
{
        struct mnt *nm = realloc(s->mnts, (s->n_mnts + 1) * sizeof(*nm));

        if (!nm)
                return -ENOMEM;
        s->mnts = nm;
        nm[s->n_mnts] = (struct mnt){
                .target = strdup(target), .source = strdup(source), .major = major, .minor = minor};
        s->n_mnts++;
        return nm[s->n_mnts - 1].target && nm[s->n_mnts - 1].source ? 0 : -ENOMEM;
}

/* proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT TARGET OPTS [OPTIONAL...] - FSTYPE SOURCE
 * SUPEROPTS"; proc/mounts: "SOURCE TARGET FSTYPE OPTS 0 0". */
static int read_mounts(struct scan *s)
{
        _cleanup_free_ char *text = NULL;
        bool info = true;
        char *p, *line;
        int r;

        r = hp_hostuse_read_optional(s->h, "proc/self/mountinfo", &text);
        if (r >= 0 && !text) {
                info = false;
                r = hp_hostuse_read_optional(s->h, "proc/mounts", &text);
        }
        if (r < 0 || !text)
                return r;
        p = text;
        while ((line = hp_hostuse_next_line(&p))) {
                char *f[64];
                size_t n = hp_hostuse_split_fields(line, f, ELEMENTSOF(f)), sep = 6;
                unsigned major = 0, minor = 0;

                if (!info) {
                        if (n >= 3)
                                r = push_mnt(s, unescape(f[1]), unescape(f[0]), 0, 0);
                        if (r < 0)
                                return r;
                        continue;
                }
                while (sep < n && !streq(f[sep], "-"))
                        sep++;
                if (sep + 2 >= n || parse_majmin(f[2], &major, &minor) < 0)
                        continue;
                r = push_mnt(s, unescape(f[4]), unescape(f[sep + 2]), major, minor);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The dm device whose dm/name is name ("vg-root"), for a /dev/mapper source. */
static int dm_node_by_name(struct scan *s, const char *name, char **ret)
{
        _cleanup_strv_free_ char **devs = NULL;
        int r = hp_host_list_dir(s->h, "sys/class/block", &devs);

        if (r < 0)
                return r;
        for (char **d = devs; *d; d++) {
                _cleanup_free_ char *rel = NULL, *dmname = NULL;

                if (!hp_startswith(*d, "dm-"))
                        continue;
                rel = hp_hostuse_strdupf("sys/class/block/%s/dm/name", *d);
                if (!rel)
                        return -ENOMEM;
                r = hp_hostuse_read_optional(s->h, rel, &dmname);
                if (r < 0)
                        return r;
                if (!dmname || !streq(hp_strstrip(dmname), name))
                        continue;
                rel[strlen(rel) - strlen("/dm/name")] = '\0';
                return hp_hostuse_resolve_optional(s->h, rel, ret);
        }
        return 0;
}

/* The sysfs node of a block device: by number (sys/dev/block/MAJ:MIN), else by
 * the name of its source, which is mount-table text (HP_DEV_DIR "sda2") looked up
 * as dev/sda2 inside the root. 1 when found, 0 when the source is no block
 * device (proc, tmpfs, overlay, nfs; btrfs has anonymous numbers). */
static int block_node(struct scan *s, unsigned major, unsigned minor, const char *source,
                      char **ret)
{
        _cleanup_free_ char *rel = NULL, *dev = NULL;
        int r;

        if (major != 0) {
                rel = hp_hostuse_strdupf("sys/dev/block/%u:%u", major, minor);
                if (!rel)
                        return -ENOMEM;
                r = hp_hostuse_resolve_optional(s->h, rel, ret);
                if (r != 0)
                        return r;
                free(TAKE_PTR(rel));
        }
        if (!hp_startswith(source, HP_DEV_DIR))
                return 0;
        /* dev/mapper/vg-root and dev/disk/by-uuid/... link to the kernel's name. */
        r = hp_hostuse_resolve_optional(s->h, source + 1, &dev);
        if (r < 0)
                return r;
        rel = hp_hostuse_strdupf("sys/class/block/%s", hp_hostuse_basename_of(dev ? dev : source));
        if (!rel)
                return -ENOMEM;
        r = hp_hostuse_resolve_optional(s->h, rel, ret);
        if (r != 0)
                return r;
        if (hp_startswith(source, HP_DEV_DIR "mapper/"))
                return dm_node_by_name(s, source + strlen(HP_DEV_DIR "mapper/"), ret);
        return 0;
}

static char *parent_dir(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? strndup(path, (size_t)(slash - path)) : strdup("");
}

/* Records the functions below the block device at node (a resolved sysfs
 * path): going down slaves/ of device-mapper and md devices to the disks they
 * sit on. top is the device the host uses ("dm-0"). */
static int add_block_uses(struct scan *s, const char *node, const char *top,
                          enum hp_host_use_kind kind, const char *where, unsigned depth)
{
        _cleanup_strv_free_ char **slaves = NULL;
        _cleanup_free_ char *rel = NULL, *disk = NULL;
        char addr[HP_SBDF_LEN];
        int r;

        if (depth > HP_HOSTUSE_MAX_DEPTH)
                return -ELOOP;
        /* A partition's slaves are its disk's (md0p1 sits on what md0 does). */
        rel = hp_hostuse_strdupf("%s/partition", node);
        if (!rel)
                return -ENOMEM;
        disk = hp_host_exists(s->h, rel) ? parent_dir(node) : strdup(node);
        free(rel);
        rel = disk ? hp_hostuse_strdupf("%s/slaves", disk) : NULL;
        if (!rel)
                return -ENOMEM;
        r = hp_host_list_dir(s->h, rel, &slaves);
        if (r < 0)
                return r;
        for (char **sl = slaves; *sl; sl++) {
                _cleanup_free_ char *link = hp_hostuse_strdupf("%s/%s", rel, *sl), *target = NULL;

                if (!link)
                        return -ENOMEM;
                r = hp_hostuse_resolve_optional(s->h, link, &target);
                if (r > 0)
                        r = add_block_uses(s, target, top, kind, where, depth + 1);
                if (r < 0)
                        return r;
        }
        if (slaves[0] || !hp_hostuse_pci_of_path(node, addr))
                return 0;
        return hp_hostuse_add_use(s, addr, kind, top, hp_hostuse_basename_of(node), where);
}

static int add_block_source_uses(struct scan *s, unsigned major, unsigned minor, const char *source,
                                 enum hp_host_use_kind kind, const char *where)
{
        _cleanup_free_ char *node = NULL;
        int r = block_node(s, major, minor, source, &node);

        if (r <= 0)
                return r;
        return add_block_uses(s, node, hp_hostuse_basename_of(node), kind, where, 0);
}

static int scan_mounts(struct scan *s)
{
        for (size_t i = 0; i < s->n_mnts; i++) {
                const struct mnt *m = &s->mnts[i];
                int r = add_block_source_uses(s, m->major, m->minor, m->source, HP_USE_MOUNT,
                                              m->target);

                if (r < 0)
                        return r;
        }
        return 0;
}

static bool path_below(const char *path, const char *dir)
{
        size_t n = strlen(dir);

        if (streq(dir, "/"))
                return path[0] == '/';
        return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The mount a file is on: the longest mount point above it, the later one
 * when two are stacked on the same place. */
static const struct mnt *mount_of(const struct scan *s, const char *path)
{
        const struct mnt *best = NULL;

        for (size_t i = 0; i < s->n_mnts; i++)
                if (path_below(path, s->mnts[i].target) &&
                    (!best || strlen(s->mnts[i].target) >= strlen(best->target)))
                        best = &s->mnts[i];
        return best;
}

/* proc/swaps: "Filename Type Size Used Priority", a header line first. */
static int scan_swaps(struct scan *s)
{
        _cleanup_free_ char *text = NULL;
        char *p, *line;
        int r = hp_hostuse_read_optional(s->h, "proc/swaps", &text);

        if (r < 0 || !text)
                return r;
        p = text;
        while ((line = hp_hostuse_next_line(&p))) {
                const struct mnt *m;
                char *f[5];
                size_t n = hp_hostuse_split_fields(line, f, ELEMENTSOF(f));

                if (n < 2 || streq(f[0], "Filename"))
                        continue;
                unescape(f[0]);
                if (streq(f[1], "partition")) {
                        r = add_block_source_uses(s, 0, 0, f[0], HP_USE_SWAP, f[0]);
                } else {
                        m = mount_of(s, f[0]);
                        r = m ? add_block_source_uses(s, m->major, m->minor, m->source, HP_USE_SWAP,
                                                      f[0])
                              : 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int strcmp_null(const char *a, const char *b)
{
        if (!a || !b)
                return (a != NULL) - (b != NULL);
        return strcmp(a, b);
}

/* Addresses are all in the kernel's fixed-width lower-case form, so text order
 * is address order. */
static int use_cmp(const void *x, const void *y)
{
        const struct hp_host_use *a = x, *b = y;
        int r = strcmp(a->address, b->address);

        if (r != 0)
                return r;
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        r = strcmp(a->what, b->what);
        return r != 0 ? r : strcmp_null(a->where, b->where);
}

static void sort_unique(struct scan *s)
{
        size_t n = 0;

        if (s->n == 0)
                return;
        qsort(s->uses, s->n, sizeof(*s->uses), use_cmp);
        for (size_t i = 0; i < s->n; i++) {
                if (n > 0 && use_cmp(&s->uses[n - 1], &s->uses[i]) == 0) {
                        use_done(&s->uses[i]);
                        continue;
                }
                s->uses[n++] = s->uses[i];
        }
        s->n = n;
}

int hp_host_uses_scan(const struct hp_host *h, const char *boot_vga, struct hp_host_uses **ret)
{
        _cleanup_(scan_done) struct scan s = {.h = h};
        struct hp_host_uses *u;
        char vga[HP_SBDF_LEN];
        int r;

        if (boot_vga) {
                struct hp_pci_addr a;

                r = hp_pci_addr_parse(boot_vga, &a);
                if (r < 0)
                        return r;
                hp_pci_addr_format(&a, vga);
        }
        r = read_mounts(&s);
        if (r >= 0)
                r = scan_mounts(&s);
        if (r >= 0)
                r = scan_swaps(&s);
        if (r >= 0)
                r = hp_hostuse_scan_net(&s);
        if (r >= 0)
                r = hp_hostuse_scan_console(&s, boot_vga ? vga : NULL);
        if (r < 0)
                return r;
        sort_unique(&s);
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->uses = TAKE_PTR(s.uses);
        u->n = s.n;
        s.n = 0;
        *ret = u;
        return 0;
}

void hp_host_uses_free(struct hp_host_uses *u)
{
        if (!u)
                return;
        for (size_t i = 0; i < u->n; i++)
                use_done(&u->uses[i]);
        free(u->uses);
        free(u);
}

size_t hp_host_uses_of(const struct hp_host_uses *u, const char *address,
                       const struct hp_host_use **ret_first)
{
        size_t first = 0, n = 0;

        for (size_t i = 0; u && i < u->n; i++) {
                if (!streq(u->uses[i].address, address))
                        continue;
                if (n++ == 0)
                        first = i;
        }
        if (ret_first)
                *ret_first = n > 0 ? &u->uses[first] : NULL;
        return n;
}

const char *hp_host_use_kind_to_string(enum hp_host_use_kind k)
{
        switch (k) {
        case HP_USE_MOUNT:
                return "mount";
        case HP_USE_SWAP:
                return "swap";
        case HP_USE_DEFAULT_ROUTE:
                return "default-route";
        case HP_USE_ADDRESS:
                return "address";
        case HP_USE_CONSOLE:
                return "console";
        }
        return "unknown";
}

/* The hint for a firmware framebuffer: it lets go of the device only at boot. */
static const char *console_fix(const char *what)
{
        if (strstr(what, "(efifb)"))
                return "; add video=efifb:off to the kernel command line and reboot";
        if (strstr(what, "(vesafb)"))
                return "; add video=vesafb:off to the kernel command line and reboot";
        return "";
}

static char *describe(const struct hp_host_use *use, const char *top, const char *via)
{
        const char *where = use->where;

        switch (use->kind) {
        case HP_USE_MOUNT:
                return hp_hostuse_strdupf(HP_DEV_DIR "%s%s is mounted on %s", top, via,
                                          where ? where : "(unknown)");
        case HP_USE_SWAP:
                if (!where)
                        return hp_hostuse_strdupf(HP_DEV_DIR "%s%s is active swap", top, via);
                if (!hp_startswith(where, HP_DEV_DIR))
                        return hp_hostuse_strdupf("swap file %s on /dev/%s%s is active", where, top,
                                                  via);
                if (streq(hp_hostuse_basename_of(where), top))
                        return hp_hostuse_strdupf("%s%s is active swap", where, via);
                return hp_hostuse_strdupf("%s (%s) is active swap", where, use->what);
        case HP_USE_DEFAULT_ROUTE:
                return hp_hostuse_strdupf("%s%s carries the %s default route", top, via,
                                          where ? where : "IP");
        case HP_USE_ADDRESS:
                if (!where)
                        return hp_hostuse_strdupf("%s%s has an address", top, via);
                /* IPv4 uses carry the connected network, IPv6 uses the address. */
                return hp_hostuse_strdupf("%s%s has %s %s", top, via,
                                          strchr(where, ':') ? "the address" : "an address on",
                                          where);
        case HP_USE_CONSOLE:
                if (where)
                        return hp_hostuse_strdupf("%s drives %s%s", use->what, where,
                                                  console_fix(use->what));
                return hp_hostuse_strdupf("%s holds the device as a framebuffer%s", use->what,
                                          console_fix(use->what));
        }
        return hp_hostuse_strdupf("%s%s", top, via);
}

int hp_host_use_describe(const struct hp_host_use *use, char **ret)
{
        _cleanup_free_ char *top = NULL, *via = NULL, *text = NULL, *s = NULL;
        const char *on = strstr(use->what, " on ");

        top = on ? strndup(use->what, (size_t)(on - use->what)) : strdup(use->what);
        via = on ? hp_hostuse_strdupf(" (on %s)", on + strlen(" on ")) : strdup("");
        if (!top || !via)
                return -ENOMEM;
        text = describe(use, top, via);
        if (!text)
                return -ENOMEM;
        s = hp_hostuse_strdupf("in use by the host: %s", text);
        if (!s)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

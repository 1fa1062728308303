/* libFuzzer target: the host layer's readers of sysfs and procfs, on a tree
 * the input generates under a host root of its own (a directory in
 * /dev/shm, emptied before each input). The input is lines:
 *
 *   F PATH<TAB>CONTENT   a file; \n, \t, \\ and \xHH escapes in CONTENT
 *   L PATH<TAB>TARGET    a symlink (relative targets: sysfs' own kind)
 *   D PATH               a directory
 *
 * PATH is relative to the root, without "..", "." or empty components
 * (parents are made as needed); TARGET may climb with "..", but the readers
 * open everything through the host root (openat2 RESOLVE_IN_ROOT), so no
 * link leads out of it. Then the whole host is read as `hwpass host check`
 * and `device list` read it: the PCI scan, the topology, the IOMMU groups,
 * each device's verdict, ACS explanation and serial, the USB scan, what the
 * host itself uses, and the readiness checks.
 *
 * Beyond crashes, leaks and undefined behaviour it checks: the scan's
 * devices are sorted by address and each address is the canonical form of
 * its parse; a group's members are devices of the scan, in address order,
 * each with that group's number; a device's parent is a device address; a
 * verdict that is not capable gives a reason. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/acs.h"
#include "host/check.h"
#include "host/hostuse.h"
#include "host/iommu.h"
#include "host/pci.h"
#include "host/usb.h"
#include "util/hostroot.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENTRIES_MAX 512
#define PATH_LEN    512

static char root[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        if (ftw->level > 0)
                (void)remove(path);
        return 0;
}

static void root_remove(void)
{
        (void)nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        (void)rmdir(root);
}

/* The root, made once (and removed at exit), emptied before each input. */
static int root_reset(void)
{
        if (!root[0]) {
                snprintf(root, sizeof(root), "/dev/shm/fuzz-sysfs-%ld-XXXXXX", (long)getpid());
                if (!mkdtemp(root))
                        return -errno;
                atexit(root_remove);
        }
        return nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

/* A relative path with only plain components. */
static bool path_ok(const char *p)
{
        if (!*p || *p == '/' || strlen(p) >= PATH_LEN - sizeof(root) - 2)
                return false;
        for (const char *c = p; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
                size_t n = strcspn(c, "/");

                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
        }
        return true;
}

/* Every parent directory of root/rel. */
static void parents(const char *rel)
{
        char p[PATH_LEN];
        int n = snprintf(p, sizeof(p), "%s/%s", root, rel);

        for (int i = (int)strlen(root) + 1; i < n; i++)
                if (p[i] == '/') {
                        p[i] = '\0';
                        (void)mkdir(p, 0755);
                        p[i] = '/';
                }
}

static int hex(char c)
{
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

/* CONTENT's escapes decoded into out; its length. */
static size_t unescape(const char *s, char *out)
{
        size_t n = 0;

        for (; *s; s++) {
                if (*s != '\\' || !s[1]) {
                        out[n++] = *s;
                        continue;
                }
                s++;
                if (*s == 'n')
                        out[n++] = '\n';
                else if (*s == 't')
                        out[n++] = '\t';
                else if (*s == 'x' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
                        out[n++] = (char)(hex(s[1]) << 4 | hex(s[2]));
                        s += 2;
                } else
                        out[n++] = *s;
        }
        return n;
}

static void entry(char *line)
{
        char full[PATH_LEN], *arg = strchr(line, '\t'), *body;
        char kind = line[0];

        if (!line[0] || line[1] != ' ')
                return;
        if (arg)
                *arg++ = '\0';
        if (!path_ok(line + 2))
                return;
        parents(line + 2);
        snprintf(full, sizeof(full), "%s/%s", root, line + 2);
        if (kind == 'D') {
                (void)mkdir(full, 0755);
        } else if (kind == 'L' && arg && *arg) {
                (void)symlink(arg, full);
        } else if (kind == 'F') {
                int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

                if (fd < 0)
                        return;
                body = malloc(arg ? strlen(arg) + 1 : 1);
                if (body && arg)
                        (void)!write(fd, body, unescape(arg, body));
                free(body);
                close(fd);
        }
}

static void check_groups(const struct hp_pci_inventory *inv)
{
        struct hp_iommu_group *g = NULL;
        size_t n = 0;

        if (hp_iommu_groups(inv, &g, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < g[i].n_members; k++) {
                        size_t m = g[i].members[k];

                        if (m >= inv->n_devs || inv->devs[m].iommu_group != g[i].id ||
                            (k > 0 && g[i].members[k - 1] >= m))
                                abort();
                }
        hp_iommu_groups_free(g, n);
}

static void check_devices(const struct hp_host *h, const struct hp_pci_inventory *inv)
{
        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *d = &inv->devs[i];
                struct hp_pci_addr a;
                char text[HP_SBDF_LEN];
                struct hp_verdict v = { 0 };
                struct hp_isolation iso = { 0 };
                char *serial = NULL;

                if (hp_pci_addr_parse(d->address, &a) < 0)
                        abort();
                hp_pci_addr_format(&a, text);
                if (strcmp(text, d->address) != 0 ||
                    (i > 0 && strcmp(inv->devs[i - 1].address, d->address) >= 0))
                        abort();
                if (d->parent && hp_pci_addr_parse(d->parent, &a) < 0)
                        abort();
                if (hp_pci_verdict(inv, d, &v) >= 0 && !v.capable && !(v.reasons && v.reasons[0]))
                        abort();
                hp_verdict_done(&v);
                if (hp_acs_explain(h, inv, d, &iso) >= 0)
                        hp_isolation_done(&iso);
                if (hp_pci_read_serial(h, d, &serial) >= 0)
                        free(serial);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = malloc(size + 1);
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        struct hp_pci_inventory *inv = NULL;
        struct hp_usb_inventory *usb = NULL;
        struct hp_check_report *report = NULL;
        struct hp_host_uses *uses = NULL;
        char *line, *next;
        int entries = 0;

        if (!text || root_reset() < 0)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        for (line = text; line && entries < ENTRIES_MAX; line = next, entries++) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                entry(line);
        }
        if (hp_host_open(root, &h) < 0)
                return 0;
        if (hp_pci_scan(h, NULL, &inv) >= 0) {
                const char *boot_vga = NULL;

                (void)hp_pci_topology_fill(h, inv);
                check_devices(h, inv);
                check_groups(inv);
                for (size_t i = 0; i < inv->n_devs; i++)
                        if (inv->devs[i].boot_vga)
                                boot_vga = inv->devs[i].address;
                if (hp_host_uses_scan(h, boot_vga, &uses) >= 0)
                        hp_host_uses_free(uses);
                if (hp_host_check(h, inv, &report) >= 0)
                        hp_check_report_free(report);
                hp_pci_inventory_free(inv);
        }
        if (hp_usb_scan(h, &usb) >= 0)
                hp_usb_inventory_free(usb);
        return 0;
}

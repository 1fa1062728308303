/* Unit tests: what the host uses each PCI function for, on small host trees
 * built here in the kernel's own layout (relative symlinks as sysfs has them,
 * proc files as the kernel prints them). */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/hostuse.h"
#include "util/hostroot.h"
#include "util/macro.h"

static char root[64];

static void mkdirs(const char *rel)
{
        char path[1024];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        for (char *p = path + strlen(root) + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                (void)mkdir(path, 0755);
                *p = '/';
        }
        (void)mkdir(path, 0755);
}

static void mkparent(const char *rel)
{
        char dir[1024];
        char *slash;

        snprintf(dir, sizeof(dir), "%s", rel);
        slash = strrchr(dir, '/');
        if (slash) {
                *slash = '\0';
                mkdirs(dir);
        }
}

static void put(const char *rel, const char *content)
{
        char path[1024];
        FILE *f;

        mkparent(rel);
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(content, f);
        assert_int_equal(fclose(f), 0);
}

static void ln(const char *target, const char *rel)
{
        char path[1024];

        mkparent(rel);
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        assert_int_equal(symlink(target, path), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int new_root(void)
{
        snprintf(root, sizeof(root), "/tmp/hwpass-hostuse-XXXXXX");
        if (!mkdtemp(root))
                return -1;
        mkdirs("sys/bus/pci/devices");
        mkdirs("proc");
        return 0;
}

static int remove_root(void **state)
{
        (void)state;
        return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct hp_host_uses *scan(const char *boot_vga)
{
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        struct hp_host_uses *u = NULL;

        assert_int_equal(hp_host_open(root, &h), 0);
        assert_int_equal(hp_host_uses_scan(h, boot_vga, &u), 0);
        assert_non_null(u);
        return u;
}

struct expect {
        const char *address;
        enum hp_host_use_kind kind;
        const char *what, *where;
};

static void assert_uses(const struct hp_host_uses *u, const struct expect *e, size_t n)
{
        for (size_t i = 0; i < n && i < u->n; i++) {
                const struct hp_host_use *use = &u->uses[i];

                assert_string_equal(use->address, e[i].address);
                assert_int_equal(use->kind, e[i].kind);
                assert_string_equal(use->what, e[i].what);
                if (e[i].where)
                        assert_string_equal(use->where, e[i].where);
                else
                        assert_null(use->where);
        }
        assert_int_equal(u->n, n);
}

static void assert_describe(const struct hp_host_use *use, const char *text)
{
        _cleanup_free_ char *s = NULL;

        assert_int_equal(hp_host_use_describe(use, &s), 0);
        assert_string_equal(s, text);
}

/* A workstation: root and /boot/efi on one NVMe, LVM /home on a second, swap
 * on SATA, a USB stick, an e1000e with the IPv4 default route, an IPv6-only
 * NIC, a NIC with link-local addresses only, a bridge over a fourth NIC, efifb
 * on the boot VGA and an amdgpu framebuffer on a second GPU. */
#define NVME0    "devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1"
#define NVME1    "devices/pci0000:00/0000:00:01.2/0000:02:00.0/nvme/nvme1/nvme1n1"
#define SDA      "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda"
#define SDB_SATA "devices/pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0/block/sdb"
#define SDB      "devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb"

static void block(const char *dir, const char *name, const char *dev, const char *partition)
{
        char rel[512], target[512];

        snprintf(rel, sizeof(rel), "sys/%s/dev", dir);
        put(rel, dev);
        if (partition) {
                snprintf(rel, sizeof(rel), "sys/%s/partition", dir);
                put(rel, partition);
        }
        snprintf(rel, sizeof(rel), "sys/class/block/%s", name);
        snprintf(target, sizeof(target), "../../%s", dir);
        ln(target, rel);
}

static void block_num(const char *dir, const char *name, const char *dev, const char *partition)
{
        char rel[512], target[512], num[32];

        block(dir, name, dev, partition);
        snprintf(num, sizeof(num), "%s", dev);
        num[strcspn(num, "\n")] = '\0';
        snprintf(rel, sizeof(rel), "sys/dev/block/%s", num);
        snprintf(target, sizeof(target), "../../%s", dir);
        ln(target, rel);
}

/* sys/class/net/IF -> the interface below its PCI function, device -> the function. */
static void netdev(const char *pci_dir, const char *ifname)
{
        char rel[512], target[512];

        snprintf(rel, sizeof(rel), "sys/%s/net/%s/device", pci_dir, ifname);
        snprintf(target, sizeof(target), "../../../%s", strrchr(pci_dir, '/') + 1);
        ln(target, rel);
        snprintf(rel, sizeof(rel), "sys/class/net/%s", ifname);
        snprintf(target, sizeof(target), "../../%s/net/%s", pci_dir, ifname);
        ln(target, rel);
}

static int workstation(void **state)
{
        (void)state;
        if (new_root() < 0)
                return -1;
        block(NVME0, "nvme0n1", "259:0\n", NULL);
        block_num(NVME0 "/nvme0n1p1", "nvme0n1p1", "259:1\n", "1\n");
        block_num(NVME0 "/nvme0n1p2", "nvme0n1p2", "259:2\n", "2\n");
        block(NVME1, "nvme1n1", "259:3\n", NULL);
        block_num(NVME1 "/nvme1n1p3", "nvme1n1p3", "259:6\n", "3\n");
        /* LVM: dm-0 (vg-home) on nvme1n1p3. */
        block_num("devices/virtual/block/dm-0", "dm-0", "253:0\n", NULL);
        put("sys/devices/virtual/block/dm-0/dm/name", "vg-home\n");
        ln("../../../../pci0000:00/0000:00:01.2/0000:02:00.0/nvme/nvme1/nvme1n1/nvme1n1p3",
           "sys/devices/virtual/block/dm-0/slaves/nvme1n1p3");
        ln("../../../../../../../virtual/block/dm-0", "sys/" NVME1 "/nvme1n1p3/holders/dm-0");
        block(SDA, "sda", "8:0\n", NULL);
        block_num(SDA "/sda2", "sda2", "8:2\n", "2\n");
        block_num(SDA "/sda3", "sda3", "8:3\n", "3\n");
        block(SDB, "sdb", "8:16\n", NULL);
        block_num(SDB "/sdb1", "sdb1", "8:17\n", "1\n");
        put("proc/self/mountinfo",
            "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
            "23 22 259:1 / /boot/efi rw,relatime shared:2 - vfat /dev/nvme0n1p1 rw,fmask=0077\n"
            "24 22 253:0 / /home rw,relatime shared:3 - ext4 /dev/mapper/vg-home rw\n"
            "25 22 0:22 / /proc rw,nosuid,nodev,noexec shared:4 - proc proc rw\n"
            "26 22 0:25 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=8G\n"
            "27 22 0:40 / /var/lib/docker/overlay2/f00/merged rw,relatime - overlay overlay "
            "rw,lowerdir=/var/lib/docker/overlay2/l/A,upperdir=/u,workdir=/w\n"
            "28 22 8:17 / /media/USB\\040STICK rw,nosuid,nodev shared:7 - vfat /dev/sdb1 rw\n"
            "29 22 259:2 /srv /srv rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
            "30 22 0:45 /@snap /snapshots rw,relatime shared:8 - btrfs /dev/sda3 "
            "rw,space_cache=v2\n"
            "31 22 0:50 / /mnt/nfs rw,relatime shared:9 - nfs4 server:/export rw,vers=4.2\n"
            "32 22 0:22 / /proc rw,nosuid,nodev,noexec shared:4 - proc proc rw\n");
        /* Also a proc/mounts, which must not be read when mountinfo is there. */
        put("proc/mounts", "/dev/sda2 /wrong ext4 rw 0 0\n");
        put("proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                          "/dev/sda2                               partition\t8388604\t\t0\t\t-2\n"
                          "/home/swap\\040file                      file\t\t2097148\t\t0\t\t-3\n");

        netdev("devices/pci0000:00/0000:00:1f.6", "eno1");
        netdev("devices/pci0000:00/0000:00:1c.0/0000:04:00.0", "enp4s0");
        netdev("devices/pci0000:00/0000:00:1c.1/0000:05:00.0", "enp5s0");
        netdev("devices/pci0000:00/0000:00:1c.2/0000:06:00.0", "enp6s0");
        put("sys/devices/virtual/net/lo/ifindex", "1\n");
        ln("../../devices/virtual/net/lo", "sys/class/net/lo");
        /* br0: a bridge over enp6s0, with the addresses. */
        put("sys/devices/virtual/net/br0/ifindex", "5\n");
        ln("../../devices/virtual/net/br0", "sys/class/net/br0");
        ln("../../../../pci0000:00/0000:00:1c.2/0000:06:00.0/net/enp6s0/brport",
           "sys/devices/virtual/net/br0/brif/enp6s0");
        ln("../../../pci0000:00/0000:00:1c.2/0000:06:00.0/net/enp6s0",
           "sys/devices/virtual/net/br0/lower_enp6s0");
        put("sys/devices/pci0000:00/0000:00:1c.2/0000:06:00.0/net/enp6s0/brport/state", "3\n");
        ln("../../../../../virtual/net/br0",
           "sys/devices/pci0000:00/0000:00:1c.2/0000:06:00.0/net/enp6s0/upper_br0");
        /* proc/net/route words are little-endian here, as an x86 kernel prints them. */
        put("proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "eno1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
            "eno1\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
            "eno1\t0010A8C0\t0101A8C0\t0003\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
            "enp5s0\t0000FEA9\t00000000\t0001\t0\t0\t1000\t0000FFFF\t0\t0\t0\n"
            "br0\t0000000A\t00000000\t0001\t0\t0\t425\t00FFFFFF\t0\t0\t0\n"
            "br0\t0000000A\t00000000\t0001\t0\t0\t425\t00FFFFFF\t0\t0\t0\n");
        put("proc/net/ipv6_route",
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
            "fe800000000000000000000000000001 00000400 00000001 00000000 00450003      br0\n"
            "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 "
            "00000000000000000000000000000000 00000100 00000001 00000000 00000001   enp4s0\n"
            "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
            "00000000000000000000000000000000 00000100 00000001 00000000 00000001   enp5s0\n"
            "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
            "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n"
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
            "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n");
        put("proc/net/if_inet6",
            "20010db8000000000000000000000010 03 40 00 80   enp4s0\n"
            "fe800000000000000000000000000004 03 40 20 80   enp4s0\n"
            "fe800000000000000000000000000005 04 40 20 80   enp5s0\n"
            "20010db8000000000000000000000055 04 40 00 08   enp5s0\n" /* DAD failed */
            "00000000000000000000000000000001 01 80 10 80       lo\n"
            "fd000000000000000000000000000001 05 40 00 80      br0\n"
            "20010db8000000000000000000000077 07 40 00 80     tun0\n"); /* no sysfs entry */

        /* efifb on the boot VGA (0000:00:02.0), fbcon bound; amdgpu's fb1 on 0000:0a:00.0. */
        put("sys/devices/platform/efi-framebuffer.0/graphics/fb0/name", "EFI VGA\n");
        ln("../../../efi-framebuffer.0",
           "sys/devices/platform/efi-framebuffer.0/graphics/fb0/device");
        ln("../../../bus/platform/drivers/efi-framebuffer",
           "sys/devices/platform/efi-framebuffer.0/driver");
        mkdirs("sys/bus/platform/drivers/efi-framebuffer");
        ln("../../devices/platform/efi-framebuffer.0/graphics/fb0", "sys/class/graphics/fb0");
        put("sys/devices/pci0000:00/0000:00:03.1/0000:0a:00.0/graphics/fb1/name", "amdgpudrmfb\n");
        ln("../../../0000:0a:00.0",
           "sys/devices/pci0000:00/0000:00:03.1/0000:0a:00.0/graphics/fb1/device");
        ln("../../devices/pci0000:00/0000:00:03.1/0000:0a:00.0/graphics/fb1",
           "sys/class/graphics/fb1");
        put("sys/devices/virtual/graphics/fbcon/cursor_blink", "1\n");
        ln("../../devices/virtual/graphics/fbcon", "sys/class/graphics/fbcon");
        put("sys/devices/virtual/vtconsole/vtcon0/name", "(S) dummy device\n");
        put("sys/devices/virtual/vtconsole/vtcon0/bind", "0\n");
        put("sys/devices/virtual/vtconsole/vtcon1/name", "(M) frame buffer device\n");
        put("sys/devices/virtual/vtconsole/vtcon1/bind", "1\n");
        ln("../../devices/virtual/vtconsole/vtcon0", "sys/class/vtconsole/vtcon0");
        ln("../../devices/virtual/vtconsole/vtcon1", "sys/class/vtconsole/vtcon1");
        return 0;
}

static const struct expect workstation_uses[] = {
        {"0000:00:02.0", HP_USE_CONSOLE, "fb0 (efifb)", "the boot console"},
        {"0000:00:14.0", HP_USE_MOUNT, "sdb1", "/media/USB STICK"},
        {"0000:00:17.0", HP_USE_MOUNT, "sda3", "/snapshots"},
        {"0000:00:17.0", HP_USE_SWAP, "sda2", "/dev/sda2"},
        {"0000:00:1f.6", HP_USE_DEFAULT_ROUTE, "eno1", "IPv4"},
        {"0000:00:1f.6", HP_USE_ADDRESS, "eno1", "192.168.1.0/24"},
        {"0000:01:00.0", HP_USE_MOUNT, "nvme0n1p1", "/boot/efi"},
        {"0000:01:00.0", HP_USE_MOUNT, "nvme0n1p2", "/"},
        {"0000:01:00.0", HP_USE_MOUNT, "nvme0n1p2", "/srv"},
        {"0000:02:00.0", HP_USE_MOUNT, "dm-0 on nvme1n1p3", "/home"},
        {"0000:02:00.0", HP_USE_SWAP, "dm-0 on nvme1n1p3", "/home/swap file"},
        {"0000:04:00.0", HP_USE_ADDRESS, "enp4s0", "2001:db8::10/64"},
        {"0000:06:00.0", HP_USE_DEFAULT_ROUTE, "br0 on enp6s0", "IPv6"},
        {"0000:06:00.0", HP_USE_ADDRESS, "br0 on enp6s0", "10.0.0.0/24"},
        {"0000:06:00.0", HP_USE_ADDRESS, "br0 on enp6s0", "fd00::1/64"},
        {"0000:0a:00.0", HP_USE_CONSOLE, "fb1 (amdgpudrmfb)", NULL},
};

static bool little_endian(void)
{
        const uint16_t one = 1;

        return *(const uint8_t *)&one == 1;
}

/* Everything at once: sorted by address then kind, each bridge port found once
 * although brif/ and lower_ both lead to it, the duplicate route line folded. */
static void test_workstation(void **state)
{
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = NULL;

        (void)state;
        if (!little_endian())
                skip(); /* the proc/net/route words above are an x86 kernel's */
        u = scan("0000:00:02.0");
        assert_uses(u, workstation_uses, ELEMENTSOF(workstation_uses));
}

static void test_not_counted(void **state)
{
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = scan("0000:00:02.0");
        const struct hp_host_use *first = (const void *)1;

        (void)state;
        /* enp5s0: link-local IPv6, a 169.254/16 route, a failed address. */
        assert_int_equal(hp_host_uses_of(u, "0000:00:1c.1", &first), 0);
        assert_int_equal(hp_host_uses_of(u, "0000:05:00.0", &first), 0);
        assert_null(first);
        /* No use sits on a bridge or root port above the device. */
        assert_int_equal(hp_host_uses_of(u, "0000:00:01.1", NULL), 0);
        assert_int_equal(hp_host_uses_of(u, "0000:00:1c.2", NULL), 0);
        for (size_t i = 0; i < u->n; i++) {
                assert_null(strstr(u->uses[i].what, "tmpfs"));
                assert_string_not_equal(u->uses[i].what, "lo");
                assert_null(strstr(u->uses[i].what, "tun0"));
                if (u->uses[i].where) {
                        assert_string_not_equal(u->uses[i].where, "/tmp");
                        assert_string_not_equal(u->uses[i].where, "/proc");
                        assert_string_not_equal(u->uses[i].where, "/mnt/nfs");
                        assert_string_not_equal(u->uses[i].where, "/wrong");
                        assert_null(strstr(u->uses[i].where, "overlay2"));
                        assert_null(strstr(u->uses[i].where, "fe80"));
                }
        }
}

static void test_uses_of(void **state)
{
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = scan("0000:00:02.0");
        const struct hp_host_use *first = NULL;

        (void)state;
        assert_int_equal(hp_host_uses_of(u, "0000:06:00.0", &first), little_endian() ? 3 : 1);
        assert_non_null(first);
        assert_int_equal(first->kind, HP_USE_DEFAULT_ROUTE);
        assert_string_equal(first->where, "IPv6");
        assert_int_equal(hp_host_uses_of(u, "0000:01:00.0", &first), 3);
        assert_string_equal(first->what, "nvme0n1p1");
        assert_string_equal(first[2].where, "/srv");
        assert_int_equal(hp_host_uses_of(u, "0000:00:02.0", &first), 1);
        assert_string_equal(first->what, "fb0 (efifb)");
        assert_int_equal(hp_host_uses_of(NULL, "0000:00:02.0", &first), 0);
        assert_null(first);
}

/* Without the boot VGA's address, efifb cannot be placed: nothing is made up. */
static void test_no_boot_vga(void **state)
{
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = scan(NULL);
        const struct hp_host_use *first = NULL;

        (void)state;
        assert_int_equal(hp_host_uses_of(u, "0000:00:02.0", &first), 0);
        assert_int_equal(hp_host_uses_of(u, "0000:0a:00.0", &first), 1);
        assert_string_equal(first->what, "fb1 (amdgpudrmfb)");
        assert_int_equal(hp_host_uses_of(u, "0000:01:00.0", NULL), 3);
}

static void test_describe_scanned(void **state)
{
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = scan("0000:00:02.0");
        const struct hp_host_use *first = NULL;

        (void)state;
        assert_int_equal(hp_host_uses_of(u, "0000:01:00.0", &first), 3);
        assert_describe(&first[1], "in use by the host: /dev/nvme0n1p2 is mounted on /");
        assert_int_equal(hp_host_uses_of(u, "0000:02:00.0", &first), 2);
        assert_describe(&first[0],
                        "in use by the host: /dev/dm-0 (on nvme1n1p3) is mounted on /home");
        assert_describe(&first[1], "in use by the host: swap file /home/swap file on /dev/dm-0 "
                                   "(on nvme1n1p3) is active");
        assert_int_equal(hp_host_uses_of(u, "0000:00:17.0", &first), 2);
        assert_describe(&first[1], "in use by the host: /dev/sda2 is active swap");
        assert_int_equal(hp_host_uses_of(u, "0000:00:14.0", &first), 1);
        assert_describe(first, "in use by the host: /dev/sdb1 is mounted on /media/USB STICK");
        assert_int_equal(hp_host_uses_of(u, "0000:04:00.0", &first), 1);
        assert_describe(first, "in use by the host: enp4s0 has the address 2001:db8::10/64");
        assert_int_equal(hp_host_uses_of(u, "0000:00:02.0", &first), 1);
        assert_describe(first, "in use by the host: fb0 (efifb) drives the boot console; add "
                               "video=efifb:off to the kernel command line and reboot");
        assert_int_equal(hp_host_uses_of(u, "0000:0a:00.0", &first), 1);
        assert_describe(first, "in use by the host: fb1 (amdgpudrmfb) holds the device as a "
                               "framebuffer");
        if (!little_endian())
                return;
        assert_int_equal(hp_host_uses_of(u, "0000:00:1f.6", &first), 2);
        assert_describe(&first[0], "in use by the host: eno1 carries the IPv4 default route");
        assert_describe(&first[1], "in use by the host: eno1 has an address on 192.168.1.0/24");
        assert_int_equal(hp_host_uses_of(u, "0000:06:00.0", &first), 3);
        assert_describe(&first[0],
                        "in use by the host: br0 (on enp6s0) carries the IPv6 default route");
        assert_describe(&first[1],
                        "in use by the host: br0 (on enp6s0) has an address on 10.0.0.0/24");
        assert_describe(&first[2],
                        "in use by the host: br0 (on enp6s0) has the address fd00::1/64");
}

/* Texts for uses no scan above makes. */
static void test_describe_texts(void **state)
{
        struct hp_host_use swap_dm = {"0000:02:00.0", HP_USE_SWAP, (char *)"dm-1 on nvme1n1p3",
                                      (char *)"/dev/mapper/vg-swap"};
        struct hp_host_use vgacon = {"0000:00:02.0", HP_USE_CONSOLE, (char *)"vgacon",
                                     (char *)"the boot console"};
        struct hp_host_use drm = {"0000:00:02.0", HP_USE_CONSOLE, (char *)"fb0 (i915drmfb)",
                                  (char *)"the console"};
        struct hp_host_use vesa = {"0000:00:02.0", HP_USE_CONSOLE, (char *)"fb0 (vesafb)", NULL};
        struct hp_host_use addr = {"0000:00:1f.6", HP_USE_ADDRESS, (char *)"eno1", NULL};

        (void)state;
        assert_describe(&swap_dm, "in use by the host: /dev/mapper/vg-swap (dm-1 on nvme1n1p3) is "
                                  "active swap");
        assert_describe(&vgacon, "in use by the host: vgacon drives the boot console");
        assert_describe(&drm, "in use by the host: fb0 (i915drmfb) drives the console");
        assert_describe(&vesa,
                        "in use by the host: fb0 (vesafb) holds the device as a framebuffer; "
                        "add video=vesafb:off to the kernel command line and reboot");
        assert_describe(&addr, "in use by the host: eno1 has an address");
        assert_string_equal(hp_host_use_kind_to_string(HP_USE_MOUNT), "mount");
        assert_string_equal(hp_host_use_kind_to_string(HP_USE_SWAP), "swap");
        assert_string_equal(hp_host_use_kind_to_string(HP_USE_DEFAULT_ROUTE), "default-route");
        assert_string_equal(hp_host_use_kind_to_string(HP_USE_ADDRESS), "address");
        assert_string_equal(hp_host_use_kind_to_string(HP_USE_CONSOLE), "console");
}

/* A laptop seen through proc/mounts only (no mountinfo, no sys/dev/block): the
 * sources are found by name, through dev/ links (one absolute) and dm names;
 * a partitioned md RAID1 over two SATA disks.
 * No proc/net and no proc/swaps at all; fbcon on i915's DRM framebuffer. */
static int laptop(void **state)
{
        (void)state;
        if (new_root() < 0)
                return -1;
        block(NVME0, "nvme0n1", "259:0\n", NULL);
        block(NVME0 "/nvme0n1p1", "nvme0n1p1", "259:1\n", "1\n");
        block(NVME0 "/nvme0n1p2", "nvme0n1p2", "259:2\n", "2\n");
        block(NVME0 "/nvme0n1p3", "nvme0n1p3", "259:3\n", "3\n");
        block("devices/virtual/block/dm-0", "dm-0", "253:0\n", NULL);
        put("sys/devices/virtual/block/dm-0/dm/name", "vg-home\n");
        ln("../../../../pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1/nvme0n1p3",
           "sys/devices/virtual/block/dm-0/slaves/nvme0n1p3");
        /* dm-1 (vg-data) on dm-0: a stack two deep, found by its dm name. */
        block("devices/virtual/block/dm-1", "dm-1", "253:1\n", NULL);
        put("sys/devices/virtual/block/dm-1/dm/name", "vg-data\n");
        ln("../../dm-0", "sys/devices/virtual/block/dm-1/slaves/dm-0");
        /* md0, RAID1 over two SATA disks, partitioned: md0p1 sits on what md0 does. */
        block(SDA, "sda", "8:0\n", NULL);
        block(SDA "/sda1", "sda1", "8:1\n", "1\n");
        block(SDB_SATA, "sdb", "8:16\n", NULL);
        block(SDB_SATA "/sdb1", "sdb1", "8:17\n", "1\n");
        block("devices/virtual/block/md0", "md0", "9:0\n", NULL);
        block("devices/virtual/block/md0/md0p1", "md0p1", "259:8\n", "1\n");
        ln("../../../../pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1",
           "sys/devices/virtual/block/md0/slaves/sda1");
        ln("../../../../pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0/block/sdb/sdb1",
           "sys/devices/virtual/block/md0/slaves/sdb1");
        put("dev/dm-0", "");
        put("dev/nvme0n1p1", "");
        ln("../dm-0", "dev/mapper/vg-home");
        ln("/dev/nvme0n1p1", "dev/disk/by-uuid/4A1B-2C3D");
        put("proc/mounts", "/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n"
                           "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
                           "/dev/disk/by-uuid/4A1B-2C3D /boot/efi vfat rw 0 0\n"
                           "/dev/mapper/vg-home /home ext4 rw,relatime 0 0\n"
                           "/dev/mapper/vg-data /data xfs rw,relatime 0 0\n"
                           "/dev/root /mnt/old ext4 rw 0 0\n"
                           "/dev/md0p1 /raid ext4 rw 0 0\n"
                           "tmpfs /run tmpfs rw,nosuid,nodev 0 0\n");
        put("sys/devices/pci0000:00/0000:00:02.0/graphics/fb0/name", "i915drmfb\n");
        ln("../../../0000:00:02.0", "sys/devices/pci0000:00/0000:00:02.0/graphics/fb0/device");
        ln("../../devices/pci0000:00/0000:00:02.0/graphics/fb0", "sys/class/graphics/fb0");
        put("sys/devices/virtual/vtconsole/vtcon1/name", "(M) frame buffer device\n");
        put("sys/devices/virtual/vtconsole/vtcon1/bind", "1\n");
        ln("../../devices/virtual/vtconsole/vtcon1", "sys/class/vtconsole/vtcon1");
        /* /proc/fb would say the same fb0; sysfs has it, so it is not read. */
        put("proc/fb", "0 EFI VGA\n");
        return 0;
}

static void test_laptop(void **state)
{
        static const struct expect e[] = {
                {"0000:00:02.0", HP_USE_CONSOLE, "fb0 (i915drmfb)", "the console"},
                {"0000:00:17.0", HP_USE_MOUNT, "md0p1 on sda1", "/raid"},
                {"0000:00:17.0", HP_USE_MOUNT, "md0p1 on sdb1", "/raid"},
                {"0000:01:00.0", HP_USE_MOUNT, "dm-0 on nvme0n1p3", "/home"},
                {"0000:01:00.0", HP_USE_MOUNT, "dm-1 on nvme0n1p3", "/data"},
                {"0000:01:00.0", HP_USE_MOUNT, "nvme0n1p1", "/boot/efi"},
                {"0000:01:00.0", HP_USE_MOUNT, "nvme0n1p2", "/"},
        };
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = scan("0000:00:02.0");

        (void)state;
        assert_uses(u, e, ELEMENTSOF(e));
        assert_describe(&u->uses[0], "in use by the host: fb0 (i915drmfb) drives the console");
}

/* An older machine: no graphics class in sysfs, /proc/fb names efifb, and the
 * VGA text console is bound. The boot VGA is given in its short form. */
static int legacy(void **state)
{
        (void)state;
        if (new_root() < 0)
                return -1;
        put("proc/fb", "0 EFI VGA\n1 nouveaudrmfb\n");
        put("sys/devices/virtual/vtconsole/vtcon0/name", "(S) VGA+\n");
        put("sys/devices/virtual/vtconsole/vtcon0/bind", "1\n");
        ln("../../devices/virtual/vtconsole/vtcon0", "sys/class/vtconsole/vtcon0");
        return 0;
}

static void test_legacy(void **state)
{
        static const struct expect e[] = {
                {"0000:00:02.0", HP_USE_CONSOLE, "fb0 (efifb)", NULL},
                {"0000:00:02.0", HP_USE_CONSOLE, "vgacon", "the boot console"},
        };
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = scan("00:02.0");

        (void)state;
        assert_uses(u, e, ELEMENTSOF(e));
        assert_describe(&u->uses[0], "in use by the host: fb0 (efifb) holds the device as a "
                                     "framebuffer; add video=efifb:off to the kernel command "
                                     "line and reboot");
}

/* Newer kernels hang the sysfb device below the PCI function it covers, so
 * simpledrm's fb0 is placed without the boot VGA's address. */
static int sysfb_child(void **state)
{
        (void)state;
        if (new_root() < 0)
                return -1;
        put("sys/devices/pci0000:00/0000:00:08.1/0000:c1:00.0/simple-framebuffer.0/graphics/fb0/"
            "name",
            "simpledrmdrmfb\n");
        ln("../../../simple-framebuffer.0", "sys/devices/pci0000:00/0000:00:08.1/0000:c1:00.0/"
                                            "simple-framebuffer.0/graphics/fb0/device");
        ln("../../../../../bus/platform/drivers/simpledrm",
           "sys/devices/pci0000:00/0000:00:08.1/0000:c1:00.0/simple-framebuffer.0/driver");
        mkdirs("sys/bus/platform/drivers/simpledrm");
        ln("../../devices/pci0000:00/0000:00:08.1/0000:c1:00.0/simple-framebuffer.0/graphics/fb0",
           "sys/class/graphics/fb0");
        put("sys/devices/virtual/vtconsole/vtcon1/name", "(M) frame buffer device\n");
        put("sys/devices/virtual/vtconsole/vtcon1/bind", "1\n");
        ln("../../devices/virtual/vtconsole/vtcon1", "sys/class/vtconsole/vtcon1");
        return 0;
}

static void test_sysfb_child(void **state)
{
        static const struct expect e[] = {
                {"0000:c1:00.0", HP_USE_CONSOLE, "fb0 (simpledrm)", "the boot console"},
        };
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = scan(NULL);

        (void)state;
        assert_uses(u, e, ELEMENTSOF(e));
}

/* Nothing but sys/bus and proc: no uses, no error. A bad boot VGA address is. */
static int empty(void **state)
{
        (void)state;
        return new_root();
}

static void test_empty(void **state)
{
        _cleanup_(hp_host_uses_freep) struct hp_host_uses *u = scan("0000:00:02.0");
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        struct hp_host_uses *bad = (void *)1;

        (void)state;
        assert_int_equal(u->n, 0);
        assert_int_equal(hp_host_uses_of(u, "0000:00:02.0", NULL), 0);
        assert_int_equal(hp_host_open(root, &h), 0);
        assert_int_equal(hp_host_uses_scan(h, "0000:00:02", &bad), -EINVAL);
        assert_ptr_equal(bad, (void *)1); /* untouched on failure */
        hp_host_uses_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_workstation, workstation, remove_root),
                cmocka_unit_test_setup_teardown(test_not_counted, workstation, remove_root),
                cmocka_unit_test_setup_teardown(test_uses_of, workstation, remove_root),
                cmocka_unit_test_setup_teardown(test_no_boot_vga, workstation, remove_root),
                cmocka_unit_test_setup_teardown(test_describe_scanned, workstation, remove_root),
                cmocka_unit_test(test_describe_texts),
                cmocka_unit_test_setup_teardown(test_laptop, laptop, remove_root),
                cmocka_unit_test_setup_teardown(test_legacy, legacy, remove_root),
                cmocka_unit_test_setup_teardown(test_sysfb_child, sysfb_child, remove_root),
                cmocka_unit_test_setup_teardown(test_empty, empty, remove_root),
        };

        return cmocka_run_group_tests_name("hostuse", tests, NULL, NULL);
}

/* Host uses by networking: default routes and addresses, down bridges, bonds and VLANs. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <net/route.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostuse-internal.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

/* Scopes in proc/net/if_inet6 (the kernel's IPV6_ADDR_LOOPBACK, _LINKLOCAL). */
#define SCOPE_HOST 0x10
#define SCOPE_LINK 0x20

static int parse_hex32(const char *s, uint32_t *ret)
{
        uint64_t v;
        int r = hp_parse_u64(s, 16, &v);

        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

static int push_unique(char ***v, const char *s)
{
        return hp_strv_contains(*v, s) ? 0 : hp_strv_push(v, s);
}

/* The ports of a bridge (brif/) and the lower devices of a bond, VLAN or
 * macvlan (lower_*), by interface name. */
static int lower_interfaces(struct scan *s, const char *ifname, char ***ret)
{
        _cleanup_strv_free_ char **lower = calloc(1, sizeof(char *)), **ports = NULL,
                                 **entries = NULL;
        _cleanup_free_ char *rel = hp_hostuse_strdupf("sys/class/net/%s/brif", ifname);
        int r;

        if (!lower || !rel)
                return -ENOMEM;
        r = hp_host_list_dir(s->h, rel, &ports);
        if (r < 0)
                return r;
        for (char **e = ports; *e; e++) {
                r = push_unique(&lower, *e);
                if (r < 0)
                        return r;
        }
        rel[strlen(rel) - strlen("/brif")] = '\0';
        r = hp_host_list_dir(s->h, rel, &entries);
        if (r < 0)
                return r;
        for (char **e = entries; *e; e++) {
                if (!hp_startswith(*e, "lower_"))
                        continue;
                r = push_unique(&lower, *e + strlen("lower_"));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(lower);
        return 0;
}

/* Records the functions below interface ifname: its device, or for a virtual
 * interface, the devices of its ports and lower interfaces. */
static int add_net_uses(struct scan *s, const char *ifname, const char *top,
                        enum hp_host_use_kind kind, const char *where, unsigned depth)
{
        _cleanup_strv_free_ char **lower = NULL;
        _cleanup_free_ char *rel = NULL, *dev = NULL;
        char addr[HP_SBDF_LEN];
        int r;

        if (depth > HP_HOSTUSE_MAX_DEPTH)
                return -ELOOP;
        if (streq(ifname, "lo") || streq(ifname, ".") || streq(ifname, "..") || strchr(ifname, '/'))
                return 0;
        rel = hp_hostuse_strdupf("sys/class/net/%s/device", ifname);
        if (!rel)
                return -ENOMEM;
        r = hp_hostuse_resolve_optional(s->h, rel, &dev);
        if (r < 0)
                return r;
        if (r > 0)
                return hp_hostuse_pci_of_path(dev, addr)
                               ? hp_hostuse_add_use(s, addr, kind, top, ifname, where)
                               : 0;
        r = lower_interfaces(s, ifname, &lower);
        if (r < 0)
                return r;
        for (char **l = lower; *l; l++) {
                r = add_net_uses(s, *l, top, kind, where, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask ...",
 * addresses as the kernel's 32-bit words in hex. The default route is
 * 0/0; a connected route (no gateway) says the interface has an address in it.
 * Link-local (169.254/16) and multicast routes say nothing. */
static int scan_routes4(struct scan *s)
{
        _cleanup_free_ char *text = NULL;
        char *p, *line;
        int r = hp_hostuse_read_optional(s->h, "proc/net/route", &text);

        if (r < 0 || !text)
                return r;
        p = text;
        while ((line = hp_hostuse_next_line(&p))) {
                _cleanup_free_ char *net = NULL;
                uint32_t dest, gw, flags, mask;
                char buf[INET_ADDRSTRLEN];
                struct in_addr a;
                const uint8_t *b = (const uint8_t *)&a.s_addr;
                char *f[11];

                if (hp_hostuse_split_fields(line, f, ELEMENTSOF(f)) < 8 ||
                    parse_hex32(f[1], &dest) < 0 || parse_hex32(f[2], &gw) < 0 ||
                    parse_hex32(f[3], &flags) < 0 || parse_hex32(f[7], &mask) < 0)
                        continue; /* the header, or a line we cannot read */
                if (!(flags & RTF_UP) || (flags & RTF_REJECT))
                        continue;
                if (dest == 0 && mask == 0) {
                        r = add_net_uses(s, f[0], f[0], HP_USE_DEFAULT_ROUTE, "IPv4", 0);
                        if (r < 0)
                                return r;
                        continue;
                }
                a.s_addr = dest;
                if (gw != 0 || (flags & RTF_GATEWAY) || (b[0] == 169 && b[1] == 254) || b[0] >= 224)
                        continue;
                if (!inet_ntop(AF_INET, &a, buf, sizeof(buf)))
                        continue;
                net = hp_hostuse_strdupf("%s/%d", buf, __builtin_popcount(mask));
                if (!net)
                        return -ENOMEM;
                r = add_net_uses(s, f[0], f[0], HP_USE_ADDRESS, net, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* 32 hex digits, as proc/net/if_inet6 and ipv6_route print an address. */
static int parse_in6(const char *s, struct in6_addr *ret)
{
        struct in6_addr a;

        if (strlen(s) != 32)
                return -EINVAL;
        for (size_t i = 0; i < 16; i++) {
                int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                a.s6_addr[i] = (uint8_t)(hi << 4 | lo);
        }
        *ret = a;
        return 0;
}

/* proc/net/ipv6_route: "DEST PLEN SRC SPLEN NEXTHOP METRIC REFCNT USE FLAGS DEV";
 * the default route is ::/0 (lo holds a rejecting one). */
static int scan_routes6(struct scan *s)
{
        _cleanup_free_ char *text = NULL;
        char *p, *line;
        int r = hp_hostuse_read_optional(s->h, "proc/net/ipv6_route", &text);

        if (r < 0 || !text)
                return r;
        p = text;
        while ((line = hp_hostuse_next_line(&p))) {
                struct in6_addr dest;
                uint32_t plen, flags;
                char *f[10];

                if (hp_hostuse_split_fields(line, f, ELEMENTSOF(f)) < 10 ||
                    parse_in6(f[0], &dest) < 0 || parse_hex32(f[1], &plen) < 0 ||
                    parse_hex32(f[8], &flags) < 0)
                        continue;
                if (plen != 0 || !IN6_IS_ADDR_UNSPECIFIED(&dest) || !(flags & RTF_UP) ||
                    (flags & RTF_REJECT))
                        continue;
                r = add_net_uses(s, f[9], f[9], HP_USE_DEFAULT_ROUTE, "IPv6", 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* proc/net/if_inet6: "ADDR IFINDEX PLEN SCOPE FLAGS DEV". Link-local and host
 * addresses do not count: every interface that is up has one. */
static int scan_addrs6(struct scan *s)
{
        _cleanup_free_ char *text = NULL;
        char *p, *line;
        int r = hp_hostuse_read_optional(s->h, "proc/net/if_inet6", &text);

        if (r < 0 || !text)
                return r;
        p = text;
        while ((line = hp_hostuse_next_line(&p))) {
                _cleanup_free_ char *where = NULL;
                char buf[INET6_ADDRSTRLEN];
                uint32_t plen, scope, flags;
                struct in6_addr a;
                char *f[6];

                if (hp_hostuse_split_fields(line, f, ELEMENTSOF(f)) < 6 ||
                    parse_in6(f[0], &a) < 0 || parse_hex32(f[2], &plen) < 0 ||
                    parse_hex32(f[3], &scope) < 0 || parse_hex32(f[4], &flags) < 0)
                        continue;
                if (scope == SCOPE_HOST || scope == SCOPE_LINK || (flags & IFA_F_DADFAILED))
                        continue;
                if (!inet_ntop(AF_INET6, &a, buf, sizeof(buf)))
                        continue;
                where = hp_hostuse_strdupf("%s/%u", buf, plen);
                if (!where)
                        return -ENOMEM;
                r = add_net_uses(s, f[5], f[5], HP_USE_ADDRESS, where, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hp_hostuse_scan_net(struct scan *s)
{
        int r = scan_routes4(s);

        if (r >= 0)
                r = scan_routes6(s);
        if (r >= 0)
                r = scan_addrs6(s);
        return r;
}

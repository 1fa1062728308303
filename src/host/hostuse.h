/* What the host itself uses each PCI function for: filesystems mounted and swap
 * active below it, the interfaces that carry the default routes or addresses,
 * the framebuffer behind the console. Read from files only (proc/self/mountinfo,
 * proc/swaps, proc/net/{route,ipv6_route,if_inet6}, sys/class/{block,net,
 * graphics,vtconsole}), so a captured host tree answers as the machine would.
 * Passthrough of a function with uses is refused without --force. */
#pragma once

#include <stddef.h>

#include "pci.h"

struct hp_host;

enum hp_host_use_kind {
        HP_USE_MOUNT,
        HP_USE_SWAP,
        HP_USE_DEFAULT_ROUTE,
        HP_USE_ADDRESS,
        HP_USE_CONSOLE,
};

struct hp_host_use {
        char address[HP_SBDF_LEN]; /* the PCI function */
        enum hp_host_use_kind kind;
        /* The host's device, and what it sits on when that is another device of
         * this function: "nvme0n1p2", "dm-0 on nvme0n1p3", "enp4s0",
         * "br0 on enp5s0", "fb0 (efifb)", "vgacon". Never NULL. */
        char *what;
        /* mount: the mount point; swap: the swap file or device ("/dev/sda2");
         * default-route: "IPv4" or "IPv6"; address: the IPv6 address with its
         * prefix ("2001:db8::10/64") or, for IPv4, the connected network
         * ("192.168.1.0/24": proc/net/route has no addresses); console: "the
         * boot console" or "the console" when the console is drawn on it, NULL
         * when it is only a framebuffer. */
        char *where;
};

struct hp_host_uses {
        struct hp_host_use *uses; /* by address, kind, what, where; no duplicates */
        size_t n;
};

/* boot_vga: address of the boot VGA function (the one whose boot_vga is 1), or
 * NULL; firmware framebuffers (efifb, vesafb, simplefb) and vgacon are counted
 * against it. Missing files mean "no such use", never an error. */
int hp_host_uses_scan(const struct hp_host *h, const char *boot_vga, struct hp_host_uses **ret);
void hp_host_uses_free(struct hp_host_uses *u);
static inline void hp_host_uses_freep(struct hp_host_uses **u)
{
        hp_host_uses_free(*u);
}

/* All uses of one function: their number, and the first in *ret_first (NULL
 * when there is none; ret_first may be NULL). They are consecutive. */
size_t hp_host_uses_of(const struct hp_host_uses *u, const char *address,
                       const struct hp_host_use **ret_first);

/* One sentence a user can act on: "in use by the host: /dev/nvme0n1p2 is
 * mounted on /". */
int hp_host_use_describe(const struct hp_host_use *use, char **ret);

/* "mount", "swap", "default-route", "address", "console". */
const char *hp_host_use_kind_to_string(enum hp_host_use_kind k);

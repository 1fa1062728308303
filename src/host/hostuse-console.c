/* Host uses by the console: framebuffers (sysfs or proc/fb), fbcon and vgacon. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hostuse-internal.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

/* Framebuffers the firmware set up on the boot VGA device, by the platform
 * device sysfb registers and by their name in /proc/fb. */
static const struct {
        const char *device, *fb_name, *label;
} firmware_fbs[] = {
        {"efi-framebuffer", "EFI VGA", "efifb"},
        {"vesa-framebuffer", "VESA VGA", "vesafb"},
        {"simple-framebuffer", "simple", "simplefb"},
};

/* Which console drivers are bound: fbcon ("frame buffer device") and vgacon ("VGA+"). */
static int read_vtcons(struct scan *s, bool *ret_fbcon, bool *ret_vgacon)
{
        _cleanup_strv_free_ char **cons = NULL;
        bool fbcon = false, vgacon = false;
        int r = hp_host_list_dir(s->h, "sys/class/vtconsole", &cons);

        if (r < 0)
                return r;
        for (char **c = cons; *c; c++) {
                _cleanup_free_ char *bind_rel =
                                            hp_hostuse_strdupf("sys/class/vtconsole/%s/bind", *c),
                                    *name_rel =
                                            hp_hostuse_strdupf("sys/class/vtconsole/%s/name", *c),
                                    *bind = NULL, *name = NULL;

                if (!bind_rel || !name_rel)
                        return -ENOMEM;
                r = hp_hostuse_read_optional(s->h, bind_rel, &bind);
                if (r < 0)
                        return r;
                if (!bind || !streq(hp_strstrip(bind), "1"))
                        continue;
                r = hp_hostuse_read_optional(s->h, name_rel, &name);
                if (r < 0)
                        return r;
                fbcon |= name && strstr(name, "frame buffer");
                vgacon |= name && strstr(name, "VGA+");
        }
        *ret_fbcon = fbcon;
        *ret_vgacon = vgacon;
        return 0;
}

/* "efifb" when dev (a resolved device path) is a firmware framebuffer, NULL if not. */
static const char *firmware_fb_label(struct scan *s, const char *dev)
{
        _cleanup_free_ char *rel = hp_hostuse_strdupf("%s/driver", dev);
        char driver[256];

        for (size_t i = 0; i < ELEMENTSOF(firmware_fbs); i++) {
                if (!hp_startswith(hp_hostuse_basename_of(dev), firmware_fbs[i].device))
                        continue;
                /* simpledrm binds to the same platform device as simplefb. */
                if (rel && hp_host_readlink(s->h, rel, driver, sizeof(driver)) >= 0 &&
                    streq(hp_hostuse_basename_of(driver), "simpledrm"))
                        return "simpledrm";
                return firmware_fbs[i].label;
        }
        return NULL;
}

/* A framebuffer the console is drawn on, or that holds the device: on the
 * PCI function of its device, or for a firmware framebuffer (a platform
 * device sysfb made from the boot screen), on the boot VGA function. */
static int add_fb_use(struct scan *s, const char *fb, const char *boot_vga, bool fbcon)
{
        _cleanup_free_ char *rel = hp_hostuse_strdupf("sys/class/graphics/%s/device", fb),
                            *dev = NULL, *name = NULL, *what = NULL;
        const char *label, *where = NULL;
        char addr[HP_SBDF_LEN];
        bool firmware;
        int r;

        if (!rel)
                return -ENOMEM;
        r = hp_hostuse_resolve_optional(s->h, rel, &dev);
        if (r <= 0)
                return r;
        label = firmware_fb_label(s, dev);
        firmware = label != NULL;
        /* Newer kernels hang the sysfb device below its PCI function. */
        if (!hp_hostuse_pci_of_path(dev, addr)) {
                if (!firmware || !boot_vga)
                        return 0;
                memcpy(addr, boot_vga, HP_SBDF_LEN);
        }
        if (!firmware) {
                free(rel);
                rel = hp_hostuse_strdupf("sys/class/graphics/%s/name", fb);
                if (!rel)
                        return -ENOMEM;
                r = hp_hostuse_read_optional(s->h, rel, &name);
                if (r < 0)
                        return r;
                label = name && *hp_strstrip(name) ? name : "fbdev";
        }
        /* fbcon draws every console on fb0 unless con2fbmap says otherwise. */
        if (fbcon && streq(fb, "fb0"))
                where = firmware ? "the boot console" : "the console";
        what = hp_hostuse_strdupf("%s (%s)", fb, label);
        if (!what)
                return -ENOMEM;
        return hp_hostuse_add_use(s, addr, HP_USE_CONSOLE, NULL, what, where);
}

/* proc/fb ("0 EFI VGA"), when sysfs has no graphics class: only the firmware
 * framebuffers can be placed, on the boot VGA function. */
static int scan_proc_fb(struct scan *s, const char *boot_vga, bool fbcon)
{
        _cleanup_free_ char *text = NULL;
        char *p, *line;
        int r = hp_hostuse_read_optional(s->h, "proc/fb", &text);

        if (r < 0 || !text || !boot_vga)
                return r;
        p = text;
        while ((line = hp_hostuse_next_line(&p))) {
                char *name = line + strspn(line, "0123456789");
                int idx;

                if (name == line || *name != ' ')
                        continue;
                *name++ = '\0';
                if (hp_parse_int(line, &idx) < 0)
                        continue;
                hp_strstrip(name);
                for (size_t i = 0; i < ELEMENTSOF(firmware_fbs); i++) {
                        _cleanup_free_ char *what = NULL;

                        if (!streq(name, firmware_fbs[i].fb_name))
                                continue;
                        what = hp_hostuse_strdupf("fb%d (%s)", idx, firmware_fbs[i].label);
                        if (!what)
                                return -ENOMEM;
                        r = hp_hostuse_add_use(s, boot_vga, HP_USE_CONSOLE, NULL, what,
                                               fbcon && idx == 0 ? "the boot console" : NULL);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static bool is_fb_name(const char *name)
{
        return hp_startswith(name, "fb") && name[2] &&
               strspn(name + 2, "0123456789") == strlen(name + 2);
}

int hp_hostuse_scan_console(struct scan *s, const char *boot_vga)
{
        _cleanup_strv_free_ char **graphics = NULL;
        bool fbcon, vgacon, any_fb = false;
        int r;

        r = read_vtcons(s, &fbcon, &vgacon);
        if (r < 0)
                return r;
        r = hp_host_list_dir(s->h, "sys/class/graphics", &graphics);
        if (r < 0)
                return r;
        for (char **g = graphics; *g; g++) {
                if (!is_fb_name(*g))
                        continue;
                any_fb = true;
                r = add_fb_use(s, *g, boot_vga, fbcon);
                if (r < 0)
                        return r;
        }
        if (!any_fb) {
                r = scan_proc_fb(s, boot_vga, fbcon);
                if (r < 0)
                        return r;
        }
        /* The VGA text console runs on the legacy VGA ranges of the boot device. */
        if (vgacon && boot_vga)
                return hp_hostuse_add_use(s, boot_vga, HP_USE_CONSOLE, NULL, "vgacon",
                                          "the boot console");
        return 0;
}

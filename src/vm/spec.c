/* VM spec helpers: destructors, the strict parsers for what an operator
 * types (VM names, PCI IDs, USB ports, memory sizes) and the UTF-8 check
 * of its free text. Pure: no I/O. */
#include "spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"

void hp_vm_pci_done(struct hp_vm_pci *p)
{
        if (!p)
                return;
        free(p->allowed);
        free(p->label);
        hp_strv_free(p->attrs);
        free(p->same_numa);
        free(p->same_switch);
        free(p->romfile);
        *p = (struct hp_vm_pci){ .rombar = -1 };
}

void hp_vm_usb_done(struct hp_vm_usb *u)
{
        if (!u)
                return;
        free(u->serial);
        free(u->port);
        *u = (struct hp_vm_usb){ 0 };
}

void hp_vm_spec_done(struct hp_vm_spec *s)
{
        if (!s)
                return;
        hp_strv_free(s->disks);
        free(s->kernel);
        free(s->append);
        for (size_t i = 0; s->pci && i < s->n_pci; i++)
                hp_vm_pci_done(&s->pci[i]);
        free(s->pci);
        for (size_t i = 0; s->usb && i < s->n_usb; i++)
                hp_vm_usb_done(&s->usb[i]);
        free(s->usb);
        *s = (struct hp_vm_spec){ .autostart_order = -1 };
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

bool hp_vm_pci_is_slot(const struct hp_vm_pci *p)
{
        return p->kind == HP_VM_PCI_STATIC && strlen(p->address) == 10;
}

bool hp_pci_slot_canonical(const char *s)
{
        if (!s || strlen(s) != 10 || s[4] != ':' || s[7] != ':')
                return false;
        for (size_t i = 0; i < 10; i++)
                if (i != 4 && i != 7 && !is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
                        return false;
        /* The device number is 5 bits: 00 to 1f. */
        return s[8] <= '1';
}

static const struct hp_vm_pci_move *move_of(const char *from, const struct hp_vm_pci_move *moves, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (streq(moves[i].from, from))
                        return &moves[i];
        return NULL;
}

/* Where the whole slot moved: every function stored in it moved to one new
 * slot with its function number. False when nothing of it moved, or only
 * part of it, or it split. */
static bool slot_moved(const char *slot, const struct hp_vm_pci_move *moves, size_t n_moves,
                       const char (*stored)[13], size_t n_stored, char *ret_slot)
{
        char to[11] = "";

        for (size_t i = 0; i < n_stored; i++) {
                const struct hp_vm_pci_move *m;

                if (strncmp(stored[i], slot, 10) != 0 || stored[i][10] != '.')
                        continue;
                m = move_of(stored[i], moves, n_moves);
                if (!m || !streq(m->from + 10, m->to + 10) || (to[0] && strncmp(to, m->to, 10) != 0))
                        return false;
                memcpy(to, m->to, 10);
        }
        if (!to[0] || streq(to, slot))
                return false;
        memcpy(ret_slot, to, sizeof(to));
        return true;
}

size_t hp_vm_pci_follow_moves(struct hp_vm_pci *pci, size_t n, const struct hp_vm_pci_move *moves, size_t n_moves,
                              const char (*stored)[13], size_t n_stored)
{
        size_t changed = 0;

        for (size_t k = 0; k < n; k++) {
                struct hp_vm_pci *p = &pci[k];
                const struct hp_vm_pci_move *m;
                char to[11];

                if (p->kind != HP_VM_PCI_STATIC)
                        continue;
                if (hp_vm_pci_is_slot(p) && slot_moved(p->address, moves, n_moves, stored, n_stored, to)) {
                        memcpy(p->address, to, sizeof(to));
                        changed++;
                } else if (!hp_vm_pci_is_slot(p) && (m = move_of(p->address, moves, n_moves))) {
                        memcpy(p->address, m->to, sizeof(p->address));
                        changed++;
                }
        }
        return changed;
}

static bool is_alnum(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_digit(char c)
{
        if (is_digit(c))
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

const char *hp_vm_firmware_to_string(enum hp_vm_firmware f)
{
        return f == HP_VM_FIRMWARE_EFI ? "efi" : f == HP_VM_FIRMWARE_AUTO ? "auto" : "bios";
}

int hp_vm_firmware_from_string(const char *s, enum hp_vm_firmware *ret)
{
        static const enum hp_vm_firmware all[] = { HP_VM_FIRMWARE_BIOS, HP_VM_FIRMWARE_EFI, HP_VM_FIRMWARE_AUTO };

        for (size_t i = 0; s && i < ELEMENTSOF(all); i++)
                if (streq(s, hp_vm_firmware_to_string(all[i]))) {
                        *ret = all[i];
                        return 0;
                }
        return -EINVAL;
}

const char *hp_vm_placement_to_string(enum hp_vm_placement p)
{
        return p == HP_VM_PLACEMENT_PERFORMANCE     ? "performance"
               : p == HP_VM_PLACEMENT_CONSOLIDATION ? "consolidation"
                                                    : NULL;
}

int hp_vm_placement_from_string(const char *s, enum hp_vm_placement *ret)
{
        static const enum hp_vm_placement all[] = { HP_VM_PLACEMENT_PERFORMANCE, HP_VM_PLACEMENT_CONSOLIDATION };

        for (size_t i = 0; s && i < ELEMENTSOF(all); i++)
                if (streq(s, hp_vm_placement_to_string(all[i]))) {
                        *ret = all[i];
                        return 0;
                }
        return -EINVAL;
}

static const struct {
        enum hp_vm_restart value;
        const char *name;
} restart_names[] = {
        { HP_VM_RESTART_HIGHEST, "highest" }, { HP_VM_RESTART_HIGH, "high" },     { HP_VM_RESTART_MEDIUM, "medium" },
        { HP_VM_RESTART_LOW, "low" },         { HP_VM_RESTART_LOWEST, "lowest" }, { HP_VM_RESTART_DISABLED, "disabled" },
};

const char *hp_vm_restart_to_string(enum hp_vm_restart r)
{
        for (size_t i = 0; i < ELEMENTSOF(restart_names); i++)
                if (restart_names[i].value == r)
                        return restart_names[i].name;
        return NULL;
}

int hp_vm_restart_from_string(const char *s, enum hp_vm_restart *ret)
{
        for (size_t i = 0; s && i < ELEMENTSOF(restart_names); i++)
                if (streq(s, restart_names[i].name)) {
                        *ret = restart_names[i].value;
                        return 0;
                }
        return -EINVAL;
}

static const char *const isolation_names[] = {
        [HP_VM_ISOLATION_POWER_OFF] = "power-off",
        [HP_VM_ISOLATION_SHUTDOWN] = "shutdown",
        [HP_VM_ISOLATION_LEAVE_RUNNING] = "leave-running",
};

const char *hp_vm_isolation_to_string(enum hp_vm_isolation i)
{
        return (unsigned)i < ELEMENTSOF(isolation_names) ? isolation_names[i] : NULL;
}

int hp_vm_isolation_from_string(const char *s, enum hp_vm_isolation *ret)
{
        for (size_t i = 0; s && i < ELEMENTSOF(isolation_names); i++)
                if (streq(s, isolation_names[i])) {
                        *ret = (enum hp_vm_isolation)i;
                        return 0;
                }
        return -EINVAL;
}

bool hp_vm_name_valid(const char *name)
{
        size_t n;

        if (!name || !is_alnum(name[0]))
                return false;
        n = strlen(name);
        if (n > HP_VM_NAME_MAX)
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
                        return false;
        return true;
}

/* Exactly four hex digits at *p, then advances past them. */
static int parse_hex16(const char **p, uint16_t *ret)
{
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                int d = hex_digit((*p)[i]);

                if (d < 0)
                        return -EINVAL;
                v = v << 4 | (unsigned)d;
        }
        *p += 4;
        *ret = (uint16_t)v;
        return 0;
}

int hp_pci_id_match_parse(const char *s, struct hp_pci_id_match *ret)
{
        uint16_t v[4] = { 0 };
        const char *p = s;
        int n = 0;

        if (!s || !ret)
                return -EINVAL;
        for (;;) {
                if (parse_hex16(&p, &v[n]) < 0)
                        return -EINVAL;
                n++;
                if (*p == '\0')
                        break;
                if (*p != ':' || n == 4)
                        return -EINVAL;
                p++;
        }
        if (n != 2 && n != 4)
                return -EINVAL;
        /* 0xffff is what a missing device reads as; no vendor has 0. */
        if (v[0] == 0 || v[0] == 0xffff)
                return -EINVAL;
        *ret = (struct hp_pci_id_match){ .vendor_id = v[0], .device_id = v[1],
                                         .subsystem_vendor_id = v[2], .subsystem_device_id = v[3] };
        return 0;
}

/* A decimal number in [min, max] without sign or leading zeros, ending at a
 * character from stop (or the end). */
static int parse_small(const char **p, unsigned min, unsigned max, const char *stop, unsigned *ret)
{
        const char *q = *p;
        unsigned v = 0;

        if (!is_digit(*q) || (q[0] == '0' && is_digit(q[1])))
                return -EINVAL;
        for (; is_digit(*q); q++) {
                v = v * 10 + (unsigned)(*q - '0');
                if (v > max)
                        return -EINVAL;
        }
        if (v < min || (*q != '\0' && !strchr(stop, *q)))
                return -EINVAL;
        *p = q;
        *ret = v;
        return 0;
}

#define USB_BUS_MAX 127
#define USB_PORT_MAX 31 /* the kernel's USB_MAXCHILDREN */
#define USB_DEPTH_MAX 7

int hp_usb_port_parse(const char *s, int *ret_bus, char **ret_port)
{
        _cleanup_free_ char *port = NULL;
        const char *p = s;
        unsigned bus, v;
        int levels = 0;

        if (!s || !ret_bus || !ret_port)
                return -EINVAL;
        if (parse_small(&p, 1, USB_BUS_MAX, "-", &bus) < 0 || *p != '-')
                return -EINVAL;
        p++;
        port = strdup(p);
        if (!port)
                return -ENOMEM;
        for (;;) {
                if (parse_small(&p, 1, USB_PORT_MAX, ".", &v) < 0 || ++levels > USB_DEPTH_MAX)
                        return -EINVAL;
                if (*p == '\0')
                        break;
                p++; /* '.', and a port must follow */
        }
        *ret_bus = (int)bus;
        *ret_port = TAKE_PTR(port);
        return 0;
}

static bool suffix_is(const char *s, const char *unit)
{
        /* "G", "g", "GiB", "gib": the binary unit, never a decimal "GB". */
        if (s[0] != unit[0] && s[0] != unit[0] - 'A' + 'a')
                return false;
        return s[1] == '\0' || strcmp(s + 1, "iB") == 0 || strcmp(s + 1, "ib") == 0;
}

int hp_size_parse_mib(const char *s, uint64_t *ret)
{
        static const struct {
                const char *unit;
                unsigned shift; /* MiB << shift */
        } units[] = { { "M", 0 }, { "G", 10 }, { "T", 20 } };
        const char *p = s;
        uint64_t v = 0;
        unsigned shift = 0;

        if (!s || !ret || !is_digit(*s))
                return -EINVAL;
        for (; is_digit(*p); p++) {
                unsigned d = (unsigned)(*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (*p != '\0') {
                size_t i;

                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (suffix_is(p, units[i].unit))
                                break;
                if (i == ELEMENTSOF(units))
                        return -EINVAL;
                shift = units[i].shift;
        }
        if (v == 0)
                return -EINVAL;
        /* The size in bytes must fit too: callers hand it on as bytes. */
        if (v > (UINT64_MAX >> 20) >> shift)
                return -ERANGE;
        *ret = v << shift;
        return 0;
}

bool hp_vm_text_valid(const char *s)
{
        return !s || hp_utf8_length(s, NULL) >= 0;
}

static int text_refused(const char *what, const char *value, const char *fix, char **ret_error)
{
        _cleanup_free_ char *shown = hp_escape(value);

        return hp_errorf(ret_error, -EINVAL,
                         "invalid %s '%s': it is not UTF-8 text (bad bytes shown as \\xNN): %s", what,
                         shown ? shown : "?", fix);
}

int hp_vm_spec_text_check(const struct hp_vm_spec *s, char **ret_error)
{
        for (size_t i = 0; s->disks && s->disks[i]; i++)
                if (!hp_vm_text_valid(s->disks[i]))
                        return text_refused("--disk", s->disks[i], "rename the file to a UTF-8 name", ret_error);
        if (s->kernel && !hp_vm_text_valid(s->kernel))
                return text_refused("--kernel", s->kernel, "rename the file to a UTF-8 name", ret_error);
        if (s->append && !hp_vm_text_valid(s->append))
                return text_refused("--append", s->append, "give the command line in UTF-8", ret_error);
        return 0;
}

bool hp_vm_spec_has_static(const struct hp_vm_spec *s)
{
        for (size_t i = 0; i < s->n_pci; i++)
                if (s->pci[i].kind == HP_VM_PCI_STATIC)
                        return true;
        return false;
}

int hp_vm_spec_paths(const struct hp_vm_spec *s, char ***ret)
{
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        int r = v ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && s->disks && s->disks[i]; i++)
                r = hp_strv_pushf_unique(&v, "%s", s->disks[i]);
        if (r >= 0 && s->kernel)
                r = hp_strv_pushf_unique(&v, "%s", s->kernel);
        for (size_t i = 0; r >= 0 && i < s->n_pci; i++)
                if (s->pci[i].romfile)
                        r = hp_strv_pushf_unique(&v, "%s", s->pci[i].romfile);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

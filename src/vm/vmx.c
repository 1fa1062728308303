/* VMware .vmx import. The text is first read into a table (keys compared
 * without case, as VMware does; |XX escapes decoded; a repeated key refused,
 * as VMware refuses it), then the table into a VM spec. What hwpass does
 * differently (disks, NICs, the MMIO window, memory reservation...) becomes a
 * warning that says what to do instead. */
#include "vmx.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host/pci.h"
#include "mmio.h"
#include "specjson.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vmxhost.h"
#include "vmxtable.h"

/* Indices past this in pciPassthruN, ethernetN... are not read. */
#define INDEX_MAX 9999
/* A PCI entry's index numbers its pcie-root-port, whose chassis number is 8 bits. */
#define PCI_INDEX_MAX 254

void hp_vmx_import_done(struct hp_vmx_import *x)
{
        if (!x)
                return;
        hp_vm_spec_done(&x->spec);
        hp_strv_free(x->warnings);
        x->warnings = NULL;
}

static int hex_digit(char c)
{
        if (!isxdigit((unsigned char)c))
                return -1;
        return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

static const struct hp_vmx_entry *find(const struct hp_vmx_table *v, const char *key)
{
        return hp_vmx_table_find(v, key);
}

static const struct hp_vmx_entry *findf(const struct hp_vmx_table *v, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static const struct hp_vmx_entry *findf(const struct hp_vmx_table *v, const char *fmt, ...)
{
        char key[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(key, sizeof(key), fmt, ap);
        va_end(ap);
        return n < 0 || (size_t)n >= sizeof(key) ? NULL : find(v, key);
}

static bool is_true(const struct hp_vmx_entry *e)
{
        return e && (strcasecmp(e->value, "true") == 0 || strcasecmp(e->value, "yes") == 0 ||
                     streq(e->value, "1"));
}

static bool is_false(const struct hp_vmx_entry *e)
{
        return e && (strcasecmp(e->value, "false") == 0 || strcasecmp(e->value, "no") == 0 ||
                     streq(e->value, "0"));
}

/* key is prefix, a decimal index without leading zeros, then suffix. */
static bool indexed_key(const char *key, const char *prefix, const char *suffix, int *ret)
{
        const char *p;
        int v = 0;

        if (strncasecmp(key, prefix, strlen(prefix)) != 0)
                return false;
        p = key + strlen(prefix);
        if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
                return false;
        for (; isdigit((unsigned char)*p); p++)
                if ((v = v * 10 + (*p - '0')) > INDEX_MAX)
                        return false;
        if (strcasecmp(p, suffix) != 0)
                return false;
        *ret = v;
        return true;
}

static int cmp_int(const void *a, const void *b)
{
        return *(const int *)a - *(const int *)b;
}

/* The indices N of the keys prefix N suffix, ascending. */
static int collect(const struct hp_vmx_table *v, const char *prefix, const char *suffix, int **ret,
                   size_t *ret_n)
{
        _cleanup_free_ int *idx = calloc(v->n + 1, sizeof(int));
        size_t n = 0;

        if (!idx)
                return -ENOMEM;
        for (size_t i = 0; i < v->n; i++)
                n += indexed_key(v->e[i].key, prefix, suffix, &idx[n]);
        qsort(idx, n, sizeof(int), cmp_int);
        *ret = TAKE_PTR(idx);
        *ret_n = n;
        return 0;
}

/* displayName as a VM name: a run of anything but letters, digits, '_' and '.'
 * becomes one '-', and what cannot start or end a name is dropped. */
static void sanitize_name(const char *s, char ret[HP_VM_NAME_MAX + 1])
{
        size_t n = 0;
        bool sep = false;

        for (const char *p = s; *p && n < HP_VM_NAME_MAX; p++) {
                bool alnum = isalnum((unsigned char)*p);

                if (!alnum && *p != '_' && *p != '.')
                        sep = n > 0;
                else if (n > 0 || alnum) {
                        if (sep && n + 2 > HP_VM_NAME_MAX) /* no room for '-' and more */
                                break;
                        if (sep)
                                ret[n++] = '-';
                        ret[n++] = *p;
                        sep = false;
                }
        }
        while (n > 0 && !isalnum((unsigned char)ret[n - 1]))
                n--;
        ret[n] = '\0';
}

static int pick_name(const struct hp_vmx_table *v, const char *name, struct hp_vm_spec *s, char ***w,
                     char **ret_error)
{
        const struct hp_vmx_entry *dn = find(v, "displayName");
        char buf[HP_VM_NAME_MAX + 1];

        if (name) {
                if (!hp_vm_name_valid(name))
                        return hp_errorf(ret_error, -EINVAL, "invalid VM name '%s': 1-%d letters, digits, '-', "
                                    "'_' or '.', starting with a letter or digit", name,
                                    HP_VM_NAME_MAX);
                snprintf(s->name, sizeof(s->name), "%s", name);
                return 0;
        }
        if (!dn || !*dn->value)
                return hp_errorf(ret_error, -EINVAL, "the .vmx has no displayName to name the VM by: "
                            "give a name with --name NAME");
        sanitize_name(dn->value, buf);
        if (!hp_vm_name_valid(buf))
                return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\" has no letters or digits to name "
                            "the VM by: give a name with --name NAME", dn->line, dn->key,
                            dn->value);
        if (!streq(buf, dn->value) &&
            hp_strv_pushf(w, "%s = \"%s\" is not a valid VM name: the VM is named '%s' "
                 "(choose another with --name NAME)", dn->key, dn->value, buf) < 0)
                return -ENOMEM;
        snprintf(s->name, sizeof(s->name), "%s", buf);
        return 0;
}

static int read_resources(const struct hp_vmx_table *v, struct hp_vm_spec *s, char **ret_error)
{
        const struct hp_vmx_entry *mem = find(v, "memsize"), *cpus = find(v, "numvcpus");
        const struct hp_vmx_entry *fw = find(v, "firmware");
        uint64_t n = 1;

        if (!mem)
                return hp_errorf(ret_error, -EINVAL, "the .vmx has no memsize: add the VM's memory in MiB "
                            "(memsize = \"16384\") or check that this is the VM's .vmx file");
        if (hp_size_parse_mib(mem->value, &s->memory_mib) < 0)
                return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\" is not a memory size in MiB "
                            "(e.g. \"16384\")", mem->line, mem->key, mem->value);
        if (cpus && (hp_parse_u64(cpus->value, 10, &n) < 0 || n == 0 || n > 1024))
                return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\" is not a vCPU count from 1 to 1024",
                            cpus->line, cpus->key, cpus->value);
        s->vcpus = (unsigned)n;
        if (fw && strcasecmp(fw->value, "efi") != 0 && strcasecmp(fw->value, "bios") != 0)
                return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\": hwpass knows \"bios\" and \"efi\"",
                            fw->line, fw->key, fw->value);
        s->firmware = fw && strcasecmp(fw->value, "efi") == 0 ? HP_VM_FIRMWARE_EFI
                                                                : HP_VM_FIRMWARE_BIOS;
        return 0;
}

/* "0x10de", "10de", "0x43": a 16-bit ID as VMware writes it. */
static int parse_id16(const char *s, size_t len, unsigned *ret)
{
        char buf[8];
        uint64_t v;

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (hp_parse_u64(buf, 16, &v) < 0 || v > 0xffff)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

/* One allowedDevices item, "0x10de:0x20b5[:0x0000:0x0000]", checked by the
 * parser `vm add-pci --allowed` uses, so both refuse the same IDs. */
static int parse_id_match(const char *s, size_t len, struct hp_pci_id_match *ret)
{
        unsigned v[4];
        char canon[24];
        size_t n = 0;

        for (;;) {
                const char *colon = memchr(s, ':', len);
                size_t flen = colon ? (size_t)(colon - s) : len;

                if (n == 4 || parse_id16(s, flen, &v[n++]) < 0)
                        return -EINVAL;
                if (!colon)
                        break;
                s += flen + 1;
                len -= flen + 1;
        }
        if (n == 2)
                snprintf(canon, sizeof(canon), "%04x:%04x", v[0], v[1]);
        else if (n == 4)
                snprintf(canon, sizeof(canon), "%04x:%04x:%04x:%04x", v[0], v[1], v[2], v[3]);
        else
                return -EINVAL;
        return hp_pci_id_match_parse(canon, ret);
}

/* Comma-separated items; the caller frees p->allowed on failure too. */
static int parse_allowed(const char *s, struct hp_vm_pci *p)
{
        size_t n = 1;

        for (const char *c = s; *c; c++)
                n += *c == ',';
        p->allowed = calloc(n, sizeof(*p->allowed));
        if (!p->allowed)
                return -ENOMEM;
        for (const char *c = s;; c++) {
                size_t len = strcspn(c, ",");

                if (parse_id_match(c, len, &p->allowed[p->n_allowed]) < 0)
                        return -EINVAL;
                p->n_allowed++;
                c += len;
                if (*c == '\0')
                        return 0;
        }
}

struct field {
        const char *s;
        size_t len;
};

/* One field of an address: all of it digits in base, at most max. */
static int read_field(struct field f, unsigned base, unsigned max, unsigned *ret)
{
        unsigned v = 0;

        for (size_t i = 0; i < f.len; i++) {
                int d = hex_digit(f.s[i]);

                if (d < 0 || (unsigned)d >= base || (v = v * base + (unsigned)d) > max)
                        return -EINVAL;
        }
        *ret = v;
        return f.len > 0 ? 0 : -EINVAL;
}

/* f: domain (empty when absent), bus, slot, function. */
static int read_address(const struct field f[4], unsigned base, char ret[HP_SBDF_LEN])
{
        static const unsigned max[4] = { 0xffff, 0xff, 0x1f, 7 };
        unsigned v[4] = { 0 };

        for (int i = 0; i < 4; i++)
                if ((i > 0 || f[i].len > 0) && read_field(f[i], base, max[i], &v[i]) < 0)
                        return -EINVAL;
        hp_pci_addr_format(&(struct hp_pci_addr){ .domain = (uint16_t)v[0], .bus = (uint8_t)v[1],
                                                  .dev = (uint8_t)v[2], .fn = (uint8_t)v[3] },
                           ret);
        return 0;
}

/* pciPassthruN.id. "0000:65:00.0" is the hex SBDF lspci and esxcli show. What
 * vSphere itself writes counts the bus (and slot) in decimal: from ESXi 6.7
 * padded, "00000:101:00.0" for 0000:65:00.0; before, unpadded: "101:00.0",
 * "0:66:0.0". So a short form with digits only, such as "65:00.0", is read as
 * decimal too; when hex would name another device, that address goes to
 * ret_other for a warning, else ret_other is "". */
static int vmx_address(const char *s, char ret[HP_SBDF_LEN], char ret_other[HP_SBDF_LEN])
{
        const char *dot = strrchr(s, '.'), *c1 = NULL, *c2 = NULL;
        char dec[HP_SBDF_LEN], hex[HP_SBDF_LEN];
        bool sbdf, vsphere, dec_ok, hex_ok;
        struct field f[4];

        for (const char *p = s; dot && p < dot; p++)
                if (*p == ':') {
                        c1 = c2;
                        c2 = p;
                }
        if (!c2)
                return -EINVAL;
        f[0] = (struct field){ s, c1 ? (size_t)(c1 - s) : 0 };
        f[1] = (struct field){ c1 ? c1 + 1 : s, (size_t)(c2 - (c1 ? c1 + 1 : s)) };
        f[2] = (struct field){ c2 + 1, (size_t)(dot - c2 - 1) };
        f[3] = (struct field){ dot + 1, strlen(dot + 1) };
        if ((c1 && f[0].len == 0) || f[0].len > 5 || f[1].len > 3 || f[2].len > 2 || f[3].len != 1)
                return -EINVAL;
        sbdf = f[0].len == 4 && f[1].len == 2 && f[2].len == 2;
        vsphere = f[0].len == 5 || f[1].len == 3;
        dec_ok = !sbdf && read_address(f, 10, dec) == 0;
        hex_ok = !vsphere && read_address(f, 16, hex) == 0;
        if (!dec_ok && !hex_ok)
                return -EINVAL;
        memcpy(ret, dec_ok ? dec : hex, HP_SBDF_LEN);
        if (dec_ok && hex_ok && !streq(dec, hex))
                memcpy(ret_other, hex, HP_SBDF_LEN);
        else
                ret_other[0] = '\0';
        return 0;
}

/* An id with the IDs VMware recorded: checked against this host's device
 * there when host is given (vmxhost.h). */
static int read_static(const struct hp_vmx_table *v, const struct hp_pci_inventory *host,
                       const struct hp_vmx_entry *id, struct hp_vm_pci *p, const char *vm, char ***w,
                       char **ret_error)
{
        const struct hp_vmx_entry *vid = findf(v, "pciPassthru%d.vendorId", p->index);
        const struct hp_vmx_entry *did = findf(v, "pciPassthru%d.deviceId", p->index);
        char other[HP_SBDF_LEN], ids[16] = "?";
        unsigned vv = 0, dv = 0;
        bool recorded;

        p->kind = HP_VM_PCI_STATIC;
        if (vmx_address(id->value, p->address, other) < 0)
                return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\" is not a PCI address (VMware writes "
                            "\"00000:101:00.0\" or \"0000:65:00.0\"): correct it, or set the "
                            "entry's present = \"FALSE\"", id->line, id->key, id->value);
        recorded = vid && did && parse_id16(vid->value, strlen(vid->value), &vv) == 0 &&
                   parse_id16(did->value, strlen(did->value), &dv) == 0 && vv != 0 &&
                   vv != 0xffff;
        if (recorded && host)
                return hp_vmx_pci_check_host(host, p, other, vv, dv, id->key, id->value, vm, w);
        if (!*other)
                return 0;
        if (recorded)
                snprintf(ids, sizeof(ids), "%04x:%04x", vv, dv);
        return hp_strv_pushf(w, "%s = \"%s\" is taken as %s, reading the bus number in decimal as vSphere "
                    "writes it (in hex it would be %s): 'lspci -nn -s %s' should show the device "
                    "VMware recorded (%s); if not, use 'hwpass vm remove-device %s pci%d' and "
                    "'hwpass vm add-pci %s --address %s'", id->key, id->value, p->address, other,
                    p->address, ids, vm, p->index, vm, other);
}

/* vendorId and deviceId alone: one kind of device, whichever is free. */
static int read_ids(const struct hp_vmx_table *v, struct hp_vm_pci *p, char **ret_error)
{
        const struct hp_vmx_entry *vid = findf(v, "pciPassthru%d.vendorId", p->index);
        const struct hp_vmx_entry *did = findf(v, "pciPassthru%d.deviceId", p->index);
        const struct hp_vmx_entry *svid = findf(v, "pciPassthru%d.subVendorId", p->index);
        const struct hp_vmx_entry *sdid = findf(v, "pciPassthru%d.subDeviceId", p->index);
        _cleanup_free_ char *item = NULL;
        int n;

        if (!vid || !did)
                return hp_errorf(ret_error, -EINVAL, "line %u: %s has no %s: give both vendorId and deviceId, "
                            "or set the entry's present = \"FALSE\"", (vid ? vid : did)->line,
                            (vid ? vid : did)->key, vid ? "deviceId" : "vendorId");
        if (svid && sdid)
                n = asprintf(&item, "%s:%s:%s:%s", vid->value, did->value, svid->value,
                             sdid->value);
        else
                n = asprintf(&item, "%s:%s", vid->value, did->value);
        p->kind = HP_VM_PCI_DYNAMIC;
        p->allowed = calloc(1, sizeof(*p->allowed));
        if (n < 0 || !p->allowed)
                return -ENOMEM;
        if (parse_id_match(item, strlen(item), p->allowed) < 0)
                return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\" with %s = \"%s\" is not a PCI "
                            "vendor:device ID (e.g. \"0x10de\", \"0x2206\")", vid->line, vid->key,
                            vid->value, did->key, did->value);
        p->n_allowed = 1;
        return 0;
}

/* An NVIDIA vGPU or an SR-IOV network adapter, which hwpass cannot pass:
 * a warning, and 1. */
static int skip_pci(const struct hp_vmx_table *v, int i, const char *vm, char ***w)
{
        const struct hp_vmx_entry *vgpu = findf(v, "pciPassthru%d.vgpu", i);
        const struct hp_vmx_entry *pf = findf(v, "pciPassthru%d.pfId", i);
        char pfa[HP_SBDF_LEN], other[HP_SBDF_LEN];
        int r;

        if (vgpu && *vgpu->value)
                r = hp_strv_pushf(w, "%s = \"%s\" is an NVIDIA vGPU (a slice of a GPU): not carried over; "
                         "hwpass passes whole devices ('hwpass vm add-pci %s' with the GPU's "
                         "address or IDs)", vgpu->key, vgpu->value, vm);
        else if (pf && *pf->value)
                r = hp_strv_pushf(w, "%s = \"%s\" is an SR-IOV network adapter (a virtual function of %s "
                         "that ESXi picks at power-on): not carried over; pass a free VF with "
                         "'hwpass vm add-pci %s --address SBDF'", pf->key, pf->value,
                         vmx_address(pf->value, pfa, other) == 0 ? pfa : "that device", vm);
        else
                return 0;
        return r < 0 ? r : 1;
}

/* Which device the entry takes: by allowed IDs, by address, or by its IDs alone. */
static int read_pci_kind(const struct hp_vmx_table *v, const struct hp_pci_inventory *host,
                         const struct hp_vmx_entry *present, struct hp_vm_pci *p,
                         const char *vm, char ***w, char **ret_error)
{
        const struct hp_vmx_entry *id = findf(v, "pciPassthru%d.id", p->index);
        const struct hp_vmx_entry *allowed = findf(v, "pciPassthru%d.allowedDevices", p->index);
        int r;

        if (id && *id->value && !(allowed && *allowed->value))
                return read_static(v, host, id, p, vm, w, ret_error);
        if (allowed && *allowed->value) {
                p->kind = HP_VM_PCI_DYNAMIC;
                r = parse_allowed(allowed->value, p);
                if (r == -EINVAL)
                        return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\" is not a list of "
                                    "0xVENDOR:0xDEVICE[:0xSUBVENDOR:0xSUBDEVICE] IDs separated by "
                                    "commas", allowed->line, allowed->key, allowed->value);
                if (r < 0 || !id || !*id->value)
                        return r;
                return hp_strv_pushf(w, "%s has allowedDevices, so it is imported as Dynamic DirectPath I/O "
                            "(any free allowed device); %s = \"%s\" is not used", present->key,
                            id->key, id->value);
        }
        if (findf(v, "pciPassthru%d.vendorId", p->index) ||
            findf(v, "pciPassthru%d.deviceId", p->index))
                return read_ids(v, p, ret_error);
        return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\" but the entry has no id, allowedDevices or "
                    "vendorId/deviceId: say which device it is, or set it to \"FALSE\"",
                    present->line, present->key, present->value);
}

static int read_pci(const struct hp_vmx_table *v, const struct hp_pci_inventory *host, int i,
                    struct hp_vm_spec *s, char ***w, char **ret_error)
{
        const struct hp_vmx_entry *present = findf(v, "pciPassthru%d.present", i);
        const struct hp_vmx_entry *label = findf(v, "pciPassthru%d.customLabel", i);
        _cleanup_(hp_vm_pci_done) struct hp_vm_pci p = { .index = i, .rombar = -1 };
        struct hp_vm_pci *np;
        int r;

        if (is_false(present))
                return 0;
        if (!is_true(present))
                return hp_errorf(ret_error, -EINVAL, "line %u: %s = \"%s\" must be \"TRUE\" or \"FALSE\"",
                            present->line, present->key, present->value);
        r = skip_pci(v, i, s->name, w);
        if (r != 0)
                return r < 0 ? r : 0;
        if (i > PCI_INDEX_MAX)
                return hp_errorf(ret_error, -EINVAL, "line %u: %s: hwpass numbers PCI devices 0 to %d; give the "
                            "entry a lower number", present->line, present->key, PCI_INDEX_MAX);
        r = read_pci_kind(v, host, present, &p, s->name, w, ret_error);
        /* A label picks among devices; one by address needs none. */
        if (r >= 0 && p.kind == HP_VM_PCI_DYNAMIC && label && *label->value &&
            !(p.label = strdup(label->value)))
                r = -ENOMEM;
        for (size_t k = 0; r >= 0 && p.kind == HP_VM_PCI_STATIC && k < s->n_pci; k++)
                if (streq(s->pci[k].address, p.address))
                        r = hp_errorf(ret_error, -EINVAL, "line %u: pciPassthru%d and pciPassthru%d are both %s: "
                                 "set one of them to present = \"FALSE\"", present->line,
                                 s->pci[k].index, i, p.address);
        if (r < 0)
                return r;
        np = realloc(s->pci, (s->n_pci + 1) * sizeof(*np));
        if (!np)
                return -ENOMEM;
        s->pci = np;
        s->pci[s->n_pci++] = p;
        p = (struct hp_vm_pci){ 0 };
        return 0;
}

static int note_mmio(const struct hp_vmx_table *v, const struct hp_vm_spec *s, char ***w)
{
        const struct hp_vmx_entry *use = find(v, "pciPassthru.use64bitMMIO");
        const struct hp_vmx_entry *size = find(v, "pciPassthru.64bitMMIOSizeGB");
        const char *why = "hwpass sizes the 64-bit MMIO window from the devices' BARs when the VM "
                          "starts";
        char bios_max[16];
        int r = 0;

        if (!is_true(use))
                use = NULL; /* "FALSE" asks for nothing, so there is nothing to report */
        if (use && size)
                r = hp_strv_pushf(w, "%s = \"%s\" and %s = \"%s\" were not carried over: %s ('hwpass vm "
                         "show %s' shows it)", use->key, use->value, size->key, size->value, why,
                         s->name);
        else if (use || size)
                r = hp_strv_pushf(w, "%s = \"%s\" was not carried over: %s ('hwpass vm show %s' shows it)",
                         (use ? use : size)->key, (use ? use : size)->value, why, s->name);
        if (r < 0 || !use || s->firmware != HP_VM_FIRMWARE_BIOS)
                return r;
        hp_format_size(HP_MMIO_BIOS_MAX, bios_max, sizeof(bios_max));
        return hp_strv_pushf(w, "%s = \"%s\" with BIOS firmware: large BARs need EFI; SeaBIOS maps at most "
                    "%s of 64-bit BARs. If 'hwpass vm show %s' says the window needs EFI, set "
                    "firmware = \"efi\" in the .vmx and import again, or after the import 'hwpass vm set "
                    "%s --firmware auto' (EFI when the devices need it; the guest must then boot by EFI)",
                    use->key, use->value, bios_max, s->name, s->name);
}

/* "vid:0x046d pid:0xc52b", "vid:0fce pid:31f4 autoclean:1" or "0x0a12:0x0001". */
static int read_usb(const struct hp_vmx_entry *e, int i, struct hp_vm_spec *s, char ***w)
{
        _cleanup_strv_free_ char **words = NULL;
        unsigned vid = 0, pid = 0;
        bool have_vid = false, have_pid = false, path = false;
        struct hp_vm_usb *nu;
        int r;

        if (!*e->value)
                return 0; /* VMware keeps emptied slots */
        r = hp_strv_split(e->value, &words);
        if (r < 0)
                return r;
        for (size_t k = 0; words[k]; k++) {
                const char *t = words[k], *colon = strchr(t, ':');

                if (strncasecmp(t, "vid:", 4) == 0)
                        have_vid = parse_id16(t + 4, strlen(t + 4), &vid) == 0;
                else if (strncasecmp(t, "pid:", 4) == 0)
                        have_pid = parse_id16(t + 4, strlen(t + 4), &pid) == 0;
                else if (strncasecmp(t, "path:", 5) == 0)
                        path = true;
                else if (colon && !have_vid && !have_pid &&
                         parse_id16(t, (size_t)(colon - t), &vid) == 0 &&
                         parse_id16(colon + 1, strlen(colon + 1), &pid) == 0)
                        have_vid = have_pid = true;
        }
        if (path && !(have_vid && have_pid))
                return hp_strv_pushf(w, "%s = \"%s\" names a port of the VMware host: not carried over; add "
                            "the device by its ID with 'hwpass vm add-usb %s --id VID:PID' (lsusb "
                            "shows it)", e->key, e->value, s->name);
        if (!have_vid || !have_pid || vid == 0 || vid == 0xffff)
                return hp_strv_pushf(w, "%s = \"%s\" has no vendor and product ID hwpass can read: not "
                            "carried over; add the device with 'hwpass vm add-usb %s --id "
                            "VID:PID'", e->key, e->value, s->name);
        nu = realloc(s->usb, (s->n_usb + 1) * sizeof(*nu));
        if (!nu)
                return -ENOMEM;
        s->usb = nu;
        s->usb[s->n_usb++] = (struct hp_vm_usb){ .index = i, .kind = HP_VM_USB_ID,
                                                 .vendor_id = (uint16_t)vid,
                                                 .product_id = (uint16_t)pid };
        return 0;
}

/* pciPassthru01.present or pciPassthru99999.present: an entry the import
 * would otherwise not see. Refused like pciPassthru255, unless switched off. */
static int check_pci_numbers(const struct hp_vmx_table *v, char **ret_error)
{
        static const char prefix[] = "pciPassthru";

        for (size_t i = 0; i < v->n; i++) {
                const struct hp_vmx_entry *e = &v->e[i];
                const char *d = e->key + strlen(prefix);
                size_t nd;
                int idx;

                if (strncasecmp(e->key, prefix, strlen(prefix)) != 0 || !isdigit((unsigned char)*d))
                        continue;
                nd = strspn(d, "0123456789");
                if (strcasecmp(d + nd, ".present") != 0 || is_false(e) ||
                    indexed_key(e->key, prefix, ".present", &idx))
                        continue;
                if (d[0] == '0') {
                        size_t zeros = strspn(d, "0") - (strspn(d, "0") == nd); /* keep one of "00" */

                        return hp_errorf(ret_error, -EINVAL, "line %u: %s: entries are numbered without "
                                    "leading zeros, and VMware does not read this one: rename its "
                                    "keys to %s%.*s.*, or set it to \"FALSE\"", e->line, e->key,
                                    prefix, (int)(nd - zeros), d + zeros);
                }
                return hp_errorf(ret_error, -EINVAL, "line %u: %s: hwpass numbers PCI devices 0 to %d; give "
                            "the entry a lower number", e->line, e->key, PCI_INDEX_MAX);
        }
        return 0;
}

static int read_devices(const struct hp_vmx_table *v, const struct hp_pci_inventory *host,
                        struct hp_vm_spec *s, char ***w, char **ret_error)
{
        _cleanup_free_ int *pci = NULL, *usb = NULL;
        size_t n_pci, n_usb;
        int r;

        if ((r = check_pci_numbers(v, ret_error)) < 0 ||
            (r = collect(v, "pciPassthru", ".present", &pci, &n_pci)) < 0 ||
            (r = collect(v, "usb.autoConnect.device", "", &usb, &n_usb)) < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < n_pci; i++)
                r = read_pci(v, host, pci[i], s, w, ret_error);
        if (r >= 0)
                r = note_mmio(v, s, w);
        for (size_t i = 0; r >= 0 && i < n_usb; i++)
                r = read_usb(findf(v, "usb.autoConnect.device%d", usb[i]), usb[i], s, w);
        return r;
}

/* "vm/win11-000002.vmdk" -> "win11.qcow2"; *ret_snapshot when the file is a
 * snapshot's delta disk (VMware numbers them -000001, -000002...). */
static char *qcow2_name(const char *file, bool *ret_snapshot)
{
        const char *base = file;
        size_t len;
        char *out;

        for (const char *p = file; *p; p++)
                if (*p == '/' || *p == '\\')
                        base = p + 1;
        len = strlen(base);
        if (len > 5 && strcasecmp(base + len - 5, ".vmdk") == 0)
                len -= 5;
        *ret_snapshot = len > 7 && base[len - 7] == '-' &&
                        strspn(base + len - 6, "0123456789") >= 6;
        if (*ret_snapshot)
                len -= 7;
        if (asprintf(&out, "%.*s.qcow2", len ? (int)len : 4, len ? base : "disk") < 0)
                return NULL;
        return out;
}

/* scsiX:Y.fileName, sataX:Y.fileName, nvmeX:Y.fileName, ideX:Y.fileName;
 * *ret_len: the length of the device part, "scsi0:0". */
static bool disk_key(const char *key, size_t *ret_len)
{
        static const char *const buses[] = { "scsi", "sata", "nvme", "ide" };
        const char *p = NULL, *dot;

        for (size_t i = 0; i < ELEMENTSOF(buses) && !p; i++)
                if (strncasecmp(key, buses[i], strlen(buses[i])) == 0)
                        p = key + strlen(buses[i]);
        if (!p || !isdigit((unsigned char)*p))
                return false;
        p += strspn(p, "0123456789");
        if (*p++ != ':' || !isdigit((unsigned char)*p))
                return false;
        dot = p + strspn(p, "0123456789");
        *ret_len = (size_t)(dot - key);
        return strcasecmp(dot, ".fileName") == 0;
}

static int note_disk(const struct hp_vmx_table *v, const struct hp_vmx_entry *e, size_t dev_len,
                     const struct hp_vm_spec *s, char ***w)
{
        const struct hp_vmx_entry *present = findf(v, "%.*s.present", (int)dev_len, e->key);
        const struct hp_vmx_entry *type = findf(v, "%.*s.deviceType", (int)dev_len, e->key);
        _cleanup_free_ char *target = NULL;
        bool snapshot;

        /* CD/DVD drives hold installer images, not the VM's data. */
        if (!*e->value || !is_true(present) || (type && strstr(type->value, "cdrom")))
                return 0;
        target = qcow2_name(e->value, &snapshot);
        if (!target)
                return -ENOMEM;
        /* The command quotes the same in a POSIX shell and in cmd.exe. */
        return hp_strv_pushf(w, "%s = \"%s\"%s: convert %s (qemu-img convert -O qcow2 \"%s\" \"%s\") and "
                    "import the VM with the image: 'hwpass vm import-vmx FILE.vmx --disk \"%s\"' "
                    "(after 'hwpass vm delete %s' if it is imported already)", e->key, e->value,
                    snapshot ? " is a snapshot's disk; snapshots and VMDK disks are not "
                               "carried over"
                             : ": VMDK disks are not carried over",
                    snapshot ? "the current state to one image" : "it", e->value, target, target,
                    s->name);
}

static int note_nic(const struct hp_vmx_table *v, int i, const struct hp_vm_spec *s, char ***w)
{
        const struct hp_vmx_entry *present = findf(v, "ethernet%d.present", i);
        const struct hp_vmx_entry *dev = findf(v, "ethernet%d.virtualDev", i);
        const struct hp_vmx_entry *net = findf(v, "ethernet%d.networkName", i);

        if (!is_true(present))
                return 0;
        return hp_strv_pushf(w, "%.*s (%s%s%s%s) was not carried over: hwpass VMs have no emulated network "
                    "adapter; pass a NIC or one of its SR-IOV VFs through with 'hwpass vm add-pci "
                    "%s'", (int)(strlen(present->key) - strlen(".present")), present->key,
                    dev ? dev->value : "virtual NIC", net ? " on \"" : "", net ? net->value : "",
                    net ? "\"" : "", s->name);
}

static int note_serial(const struct hp_vmx_table *v, int i, const struct hp_vm_spec *s, char ***w)
{
        const struct hp_vmx_entry *present = findf(v, "serial%d.present", i);
        const struct hp_vmx_entry *type = findf(v, "serial%d.fileType", i);

        if (!is_true(present))
                return 0;
        return hp_strv_pushf(w, "%.*s (%s) was not carried over: a hwpass VM has one serial port, its "
                    "console, whose output 'hwpass vm log %s' shows; pass a host serial card "
                    "or USB adapter through for more",
                    (int)(strlen(present->key) - strlen(".present")), present->key,
                    type && *type->value ? type->value : "serial port", s->name);
}

static int note_virtual_hardware(const struct hp_vmx_table *v, const struct hp_vm_spec *s, char ***w)
{
        _cleanup_free_ int *idx = NULL;
        size_t n, len;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < v->n; i++)
                if (disk_key(v->e[i].key, &len))
                        r = note_disk(v, &v->e[i], len, s, w);
        if (r >= 0)
                r = collect(v, "ethernet", ".present", &idx, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = note_nic(v, idx[i], s, w);
        free(idx);
        idx = NULL;
        if (r >= 0)
                r = collect(v, "serial", ".present", &idx, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = note_serial(v, idx[i], s, w);
        return r;
}

/* Settings a user chose on purpose, each with what hwpass does instead. */
static int note_settings(const struct hp_vmx_table *v, const struct hp_vm_spec *s, char ***w)
{
        static const char *const reservation[] = { "sched.mem.min", "sched.mem.minSize",
                                                   "sched.mem.pin" };
        const struct hp_vmx_entry *e = NULL;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(reservation) && !e; i++)
                if ((e = find(v, reservation[i])) && (!*e->value || is_false(e)))
                        e = NULL;
        if (e)
                r = hp_strv_pushf(w, "%s = \"%s\" (memory reservation) needs nothing in hwpass: it always "
                         "reserves and locks all of a VM's memory, as passthrough requires", e->key,
                         e->value);
        if (r >= 0 && (e = find(v, "hypervisor.cpuid.v0")) && is_false(e))
                r = hp_strv_pushf(w, "%s = \"%s\" (hide the hypervisor from the guest) was not carried "
                         "over: hwpass hides nothing from the guest; NVIDIA's GeForce drivers "
                         "accept a VM from release 465 on", e->key, e->value);
        if (r >= 0 && (e = find(v, "svga.present")) && is_true(e))
                r = hp_strv_pushf(w, "%s = \"%s\": the VMware display adapter is not carried over: hwpass "
                         "VMs have no emulated display; the guest shows on a passed-through GPU, "
                         "its serial console in 'hwpass vm log %s'", e->key, e->value, s->name);
        if (r >= 0 && (e = find(v, "vtpm.present")) && is_true(e))
                r = hp_strv_pushf(w, "%s = \"%s\": the virtual TPM is not carried over: hwpass VMs have no "
                         "TPM (Windows 11 asks for one)", e->key, e->value);
        if (r >= 0 && (e = find(v, "uefi.secureBoot.enabled")) && is_true(e))
                r = hp_strv_pushf(w, "%s = \"%s\": Secure Boot is not carried over: hwpass boots EFI VMs "
                         "with OVMF without Secure Boot keys, so the guest boots unverified (a guest "
                         "that insists on Secure Boot, such as Windows 11 setup, refuses to install)",
                         e->key, e->value);
        if (r >= 0 && (e = find(v, "sound.present")) && is_true(e)) {
                const struct hp_vmx_entry *dev = find(v, "sound.virtualDev");

                r = hp_strv_pushf(w, "%s = \"%s\" (%s): the virtual sound card is not carried over: "
                         "hwpass VMs have no emulated sound; pass the host's sound card through "
                         "('hwpass vm add-pci %s --address SBDF') or a USB audio device "
                         "('hwpass vm add-usb %s --id VID:PID')", e->key, e->value,
                         dev && *dev->value ? dev->value : "virtual sound card", s->name, s->name);
        }
        if (r >= 0 && (e = find(v, "checkpoint.vmState")) && *e->value)
                r = hp_strv_pushf(w, "%s = \"%s\": the VM is suspended in VMware and that state is not "
                         "carried over: resume it and shut it down in VMware first, or its disks "
                         "may be inconsistent", e->key, e->value);
        return r;
}

/* Through the checks the store applies, so what imports also loads. */
static int check_spec(const struct hp_vm_spec *s, struct hp_vm_spec *ret, char **ret_error)
{
        _cleanup_free_ char *err = NULL;
        json_t *j = hp_vm_spec_to_json(s);
        int r;

        if (!j)
                return -ENOMEM;
        r = hp_vm_spec_from_json(j, ret, &err);
        json_decref(j);
        if (r == -EINVAL)
                return hp_errorf(ret_error, -EINVAL, "the imported VM does not pass hwpass's checks: %s",
                            err ? err : "?");
        return r;
}

int hp_vmx_parse(const char *text, const char *name, const struct hp_pci_inventory *host,
                 struct hp_vmx_import *ret, char **ret_error)
{
        _cleanup_(hp_vmx_table_done) struct hp_vmx_table v = { 0 };
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = {
                .vcpus = 1, .autostart_order = -1, .device_limit = HP_VM_DEFAULT_DEVICE_LIMIT
        };
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec checked = { .autostart_order = -1 };
        _cleanup_strv_free_ char **w = calloc(1, sizeof(char *));
        const struct hp_vmx_entry *enc;
        int r;

        if (!ret_error)
                return -EINVAL;
        *ret_error = NULL;
        if (!text || !ret)
                return -EINVAL;
        s.disks = calloc(1, sizeof(char *));
        if (!w || !s.disks)
                return -ENOMEM;
        r = hp_vmx_table_load(text, &v, ret_error);
        if (r < 0)
                return r;
        enc = find(&v, "encryption.keySafe");
        if (enc || (enc = find(&v, "encryption.data")))
                return hp_errorf(ret_error, -EINVAL, "line %u: %s: the VM is encrypted and its settings cannot "
                            "be read; remove its encryption in VMware first", enc->line, enc->key);
        if ((r = pick_name(&v, name, &s, &w, ret_error)) < 0 ||
            (r = read_resources(&v, &s, ret_error)) < 0 ||
            (r = read_devices(&v, host, &s, &w, ret_error)) < 0 ||
            (r = note_virtual_hardware(&v, &s, &w)) < 0 || (r = note_settings(&v, &s, &w)) < 0)
                return r;
        if (s.n_pci + s.n_usb > HP_VM_DEFAULT_DEVICE_LIMIT)
                return hp_errorf(ret_error, -EINVAL, "the .vmx passes through %zu devices (%zu PCI, %zu USB), "
                            "more than the %d a hwpass VM takes: set present = \"FALSE\" on some, "
                            "or empty some usb.autoConnect lines", s.n_pci + s.n_usb, s.n_pci,
                            s.n_usb, HP_VM_DEFAULT_DEVICE_LIMIT);
        r = check_spec(&s, &checked, ret_error);
        if (r < 0)
                return r;
        ret->spec = checked;
        checked = (struct hp_vm_spec){ .autostart_order = -1 };
        ret->warnings = TAKE_PTR(w);
        return 0;
}

/* libFuzzer target: the text parsers for what names a device, each line of
 * the input fed to every one: PCI addresses (hp_pci_addr_parse, the
 * function a sysfs path hangs off, slot addresses), ID selectors
 * (hp_pci_id_match_parse, as --allowed and the spec take them), USB ports,
 * memory sizes, VM names, and the request language's attribute and group
 * names (hp_vm_pci_request_check). Then the input's ID selectors as one
 * dynamic entry's alternatives, placed by the request matcher.
 *
 * Beyond crashes and leaks it checks: what parses formats back to its
 * canonical text, which parses to the same value; addresses compare as their
 * canonical texts sort; the two ID matchers (hp_pci_id_match_dev for
 * candidates, hp_alloc_pool_fits for pools) agree; an attribute accepted by
 * the check matches a device that carries it and is refused twice; and the
 * matcher takes the first alternative with enough free devices. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/request.h"
#include "alloc/select.h"
#include "host/pci.h"
#include "util/macro.h"
#include "vm/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINES_MAX 256
#define ALTS_MAX  8

static void lower(const char *s, char *buf, size_t size)
{
        size_t i = 0;

        for (; s[i] && i + 1 < size; i++)
                buf[i] = (char)tolower((unsigned char)s[i]);
        buf[i] = '\0';
}

static int sign(int v)
{
        return (v > 0) - (v < 0);
}

static void check_address(const char *s)
{
        static const struct hp_pci_addr ref = { .bus = 0x65 };
        char canon[32], buf[HP_SBDF_LEN], parent[HP_SBDF_LEN], path[64], slot[32];
        struct hp_pci_addr a, b;
        size_t len = strlen(s);

        if (len == 12 &&
            snprintf(path, sizeof(path), "devices/pci0000:00/%s/usb1", s) < (int)sizeof(path) &&
            hp_pci_addr_parent_of_path(path, parent) !=
                    (hp_pci_addr_parse(s, &a) == 0 && streq(parent, s)))
                abort();
        if (hp_pci_slot_canonical(s)) {
                snprintf(slot, sizeof(slot), "%s.0", s);
                if (hp_pci_addr_parse(slot, &a) < 0)
                        abort();
                hp_pci_addr_format(&a, buf);
                if (!streq(buf, slot))
                        abort();
        }
        if (hp_pci_addr_parse(s, &a) < 0)
                return;
        if (len != 12 && len != 7)
                abort();
        lower(s, slot, sizeof(slot));
        snprintf(canon, sizeof(canon), "%s%s", len == 7 ? "0000:" : "", slot);
        hp_pci_addr_format(&a, buf);
        if (!streq(buf, canon) || hp_pci_addr_parse(buf, &b) < 0 || hp_pci_addr_cmp(&a, &b) != 0 ||
            a.domain != b.domain || a.bus != b.bus || a.dev != b.dev || a.fn != b.fn)
                abort();
        if (sign(hp_pci_addr_cmp(&a, &ref)) != sign(strcmp(buf, "0000:65:00.0")))
                abort();
        buf[10] = '\0'; /* its slot */
        if (!hp_pci_slot_canonical(buf))
                abort();
}

static struct hp_pci_dev dev_with(uint16_t v, uint16_t d, uint16_t sv, uint16_t sd)
{
        return (struct hp_pci_dev){
                .vendor_id = v, .device_id = d, .subsystem_vendor_id = sv, .subsystem_device_id = sd
        };
}

static struct hp_alloc_pool pool_with(const struct hp_pci_dev *d)
{
        return (struct hp_alloc_pool){ .vendor_id = d->vendor_id,
                                       .device_id = d->device_id,
                                       .subsystem_vendor_id = d->subsystem_vendor_id,
                                       .subsystem_device_id = d->subsystem_device_id,
                                       .numa_node = -1,
                                       .n_free = 1 };
}

/* The candidates' matcher and the pools' say the same of a device. */
static void check_matchers(const struct hp_pci_id_match *m, const struct hp_pci_dev *d)
{
        struct hp_pci_id_match alt = *m;
        struct hp_vm_pci e = { .kind = HP_VM_PCI_DYNAMIC, .allowed = &alt, .n_allowed = 1 };
        struct hp_alloc_pool p = pool_with(d);

        if (hp_pci_id_match_dev(m, d) != hp_alloc_pool_fits(&e, 0, &p))
                abort();
}

/* Returns whether s is an ID selector, with *ret. */
static bool check_id_match(const char *s, struct hp_pci_id_match *ret)
{
        char canon[32], low[32];
        struct hp_pci_id_match m, again;
        struct hp_pci_dev d;

        if (hp_pci_id_match_parse(s, &m) < 0)
                return false;
        if (strlen(s) == 9)
                snprintf(canon, sizeof(canon), "%04x:%04x", m.vendor_id, m.device_id);
        else
                snprintf(canon, sizeof(canon), "%04x:%04x:%04x:%04x", m.vendor_id, m.device_id,
                         m.subsystem_vendor_id, m.subsystem_device_id);
        lower(s, low, sizeof(low));
        if (!streq(canon, low) || hp_pci_id_match_parse(canon, &again) < 0 ||
            memcmp(&m, &again, sizeof(m)) != 0)
                abort();
        /* Its own IDs match; other sub-IDs only when it names none. */
        d = dev_with(m.vendor_id, m.device_id, m.subsystem_vendor_id, m.subsystem_device_id);
        if (!hp_pci_id_match_dev(&m, &d))
                abort();
        check_matchers(&m, &d);
        d = dev_with(m.vendor_id, m.device_id, m.subsystem_vendor_id ^ 1,
                     m.subsystem_device_id ^ 1);
        if (hp_pci_id_match_dev(&m, &d) !=
            (m.subsystem_vendor_id == 0 && m.subsystem_device_id == 0))
                abort();
        check_matchers(&m, &d);
        d = dev_with(m.vendor_id, m.device_id ^ 1, 0, 0);
        if (hp_pci_id_match_dev(&m, &d))
                abort();
        *ret = m;
        return true;
}

static void check_small_parsers(const char *s)
{
        _cleanup_free_ char *port = NULL;
        char buf[128];
        uint64_t mib, again;
        int bus;

        if (hp_usb_port_parse(s, &bus, &port) == 0) {
                snprintf(buf, sizeof(buf), "%d-%s", bus, port);
                if (!streq(buf, s))
                        abort();
        }
        if (hp_size_parse_mib(s, &mib) == 0) {
                snprintf(buf, sizeof(buf), "%" PRIu64, mib);
                if (mib == 0 || hp_size_parse_mib(buf, &again) < 0 || again != mib)
                        abort();
        }
        if (hp_vm_name_valid(s) && (strlen(s) > HP_VM_NAME_MAX || !isalnum((unsigned char)s[0])))
                abort();
}

/* s as an attribute, a group and a label of a dynamic entry. */
static void check_request(const char *s)
{
        static struct hp_pci_id_match gpu = { .vendor_id = 0x10de, .device_id = 0x2206 };
        char *attrs[] = { (char *)s, NULL }, *twice[] = { (char *)s, (char *)s, NULL };
        char *other[] = { (char *)"tier=gold", NULL };
        struct hp_vm_pci e = {
                .kind = HP_VM_PCI_DYNAMIC, .allowed = &gpu, .n_allowed = 1, .attrs = attrs
        };
        struct hp_pci_dev d = dev_with(0x10de, 0x2206, 0, 0);
        struct hp_alloc_pool p = pool_with(&d);
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

        if (hp_vm_pci_request_check(&e, &e1) == 0) {
                p.attrs = attrs;
                if (e1 || !strchr(s, '=') || !hp_vm_pci_attrs_match(&e, attrs) ||
                    hp_vm_pci_attrs_match(&e, NULL) || !hp_alloc_pool_fits(&e, 0, &p))
                        abort();
                p.attrs = other;
                if (hp_alloc_pool_fits(&e, 0, &p) != streq(s, "tier=gold"))
                        abort();
                e.attrs = twice;
                if (hp_vm_pci_request_check(&e, &e2) != -EINVAL || !e2)
                        abort();
        } else if (!e1) {
                abort();
        }
        e.attrs = NULL;
        e.same_numa = (char *)s;
        if (hp_vm_pci_request_check(&e, &e3) == 0 && (!*s || strlen(s) > HP_VM_GROUP_MAX))
                abort();
        /* A static entry takes none of it. */
        e = (struct hp_vm_pci){ .kind = HP_VM_PCI_STATIC,
                                .attrs = attrs,
                                .same_switch = (char *)s };
        if (hp_vm_pci_request_check(&e, &e4) != -EINVAL || !e4)
                abort();
        e = (struct hp_vm_pci){
                .kind = HP_VM_PCI_DYNAMIC, .allowed = &gpu, .n_allowed = 1, .label = (char *)s
        };
        p.attrs = NULL;
        p.label = s;
        if (!hp_alloc_pool_fits(&e, 0, &p))
                abort();
        p.label = NULL;
        if (hp_alloc_pool_fits(&e, 0, &p) != !*s)
                abort();
}

/* One entry whose alternatives are the selectors, count devices, on a pool
 * per selector with i % 3 free: the first alternative with enough free
 * devices in the pools it fits wins. */
static void check_place(const struct hp_pci_id_match *alts, size_t n, unsigned count)
{
        struct hp_alloc_pool pools[ALTS_MAX];
        struct hp_pci_id_match allowed[ALTS_MAX];
        struct hp_vm_pci e = {
                .kind = HP_VM_PCI_DYNAMIC, .allowed = allowed, .n_allowed = n, .count = count
        };
        size_t alt = SIZE_MAX, want = SIZE_MAX, pool[4], used[ALTS_MAX] = { 0 };
        _cleanup_free_ char *err = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                struct hp_pci_dev d =
                        dev_with(alts[i].vendor_id, alts[i].device_id, alts[i].subsystem_vendor_id,
                                 alts[i].subsystem_device_id);

                allowed[i] = alts[i];
                pools[i] = pool_with(&d);
                pools[i].n_free = i % 3;
        }
        for (size_t k = 0; k < n && want == SIZE_MAX; k++) {
                size_t free_ = 0;

                for (size_t i = 0; i < n; i++)
                        free_ += hp_alloc_pool_fits(&e, k, &pools[i]) ? pools[i].n_free : 0;
                if (free_ >= count)
                        want = k;
        }
        r = hp_alloc_request_place(&e, 1, pools, n, &alt, pool, &err);
        if (r == -ENODEV) {
                if (want != SIZE_MAX || !err)
                        abort();
                return;
        }
        if (r < 0 || alt != want || err)
                abort();
        for (unsigned i = 0; i < count; i++)
                if (pool[i] >= n || !hp_alloc_pool_fits(&e, alt, &pools[pool[i]]) ||
                    ++used[pool[i]] > pools[pool[i]].n_free)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = malloc(size + 1);
        struct hp_pci_id_match alts[ALTS_MAX];
        size_t n_alts = 0, n_lines = 0;
        char *line, *next;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        for (line = text; line && n_lines < LINES_MAX; line = next, n_lines++) {
                struct hp_pci_id_match m;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                check_address(line);
                if (check_id_match(line, &m) && n_alts < ALTS_MAX)
                        alts[n_alts++] = m;
                check_small_parsers(line);
                check_request(line);
        }
        if (n_alts > 0)
                check_place(alts, n_alts, 1 + (unsigned)(n_lines % 4));
        return 0;
}

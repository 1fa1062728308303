/* The request part of a dynamic PCI entry (DESIGN.md §6): a count, the
 * attributes its devices must carry and the constraint groups it shares with
 * other entries. The checks every way in (CLI, JSON document, API) goes
 * through, and what the device limit counts. Pure: no I/O. */
#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"

unsigned hp_vm_pci_count(const struct hp_vm_pci *p)
{
        return p->count ? p->count : 1;
}

size_t hp_vm_spec_device_count(const struct hp_vm_spec *s)
{
        size_t n = s->n_usb;

        for (size_t i = 0; s->pci && i < s->n_pci; i++)
                n += hp_vm_pci_count(&s->pci[i]);
        return n;
}

static bool group_valid(const char *g)
{
        size_t n = strlen(g);

        if (n == 0 || n > HP_VM_GROUP_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = g[i];

                if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && c != '-' &&
                    c != '_')
                        return false;
        }
        return true;
}

bool hp_vm_attr_key_valid(const char *s, size_t n)
{
        if (n == 0 || n > HP_VM_ATTR_KEY_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') && !strchr("_.-", s[i]))
                        return false;
        return true;
}

static int attr_check(const struct hp_vm_pci *p, const char *a, char **ret_error)
{
        const char *eq = strchr(a, '=');
        _cleanup_free_ char *shown = hp_escape(a);
        int n;

        if (!shown)
                return -ENOMEM;
        if (!eq || !hp_vm_attr_key_valid(a, (size_t)(eq - a)))
                return hp_errorf(ret_error, -EINVAL,
                                 "pci%d: invalid attribute '%s': expected KEY=VALUE with a key of 1 to %d "
                                 "characters a-z 0-9 _ . -",
                                 p->index, shown, HP_VM_ATTR_KEY_MAX);
        n = hp_utf8_length(eq + 1, NULL);
        if (n < 1 || n > HP_VM_ATTR_VALUE_MAX || hp_utf8_has_control(eq + 1))
                return hp_errorf(ret_error, -EINVAL,
                                 "pci%d: invalid attribute '%s': the value must be 1 to %d printable UTF-8 "
                                 "characters",
                                 p->index, shown, HP_VM_ATTR_VALUE_MAX);
        return 0;
}

static int group_check(const struct hp_vm_pci *p, const char *opt, const char *g, char **ret_error)
{
        _cleanup_free_ char *shown = NULL;

        if (!g || group_valid(g))
                return 0;
        shown = hp_escape(g);
        return hp_errorf(ret_error, -EINVAL,
                         "pci%d: invalid %s group '%s': 1 to %d letters, digits, '-' or '_' (entries that "
                         "name the same group share it)",
                         p->index, opt, shown ? shown : "?", HP_VM_GROUP_MAX);
}

int hp_vm_pci_request_check(const struct hp_vm_pci *p, char **ret_error)
{
        int r;

        if (p->kind != HP_VM_PCI_DYNAMIC) {
                const char *what = p->count > 1        ? "a count"
                                   : p->attrs && *p->attrs ? "attributes"
                                   : p->same_numa      ? "a same-numa group"
                                   : p->same_switch    ? "a same-switch group"
                                   : p->all_functions  ? "all-functions"
                                                       : NULL;

                if (what)
                        return hp_errorf(ret_error, -EINVAL,
                                         "pci%d: %s goes with allowed IDs (--allowed): an entry by address is "
                                         "that one device (a slot address DDDD:BB:DD takes all its functions)",
                                         p->index, what);
                return 0;
        }
        if (p->count > HP_VM_PCI_MAX_COUNT)
                return hp_errorf(ret_error, -EINVAL, "pci%d: count %u is out of range: 1 to %d devices", p->index,
                                 p->count, HP_VM_PCI_MAX_COUNT);
        for (size_t i = 0; p->attrs && p->attrs[i]; i++) {
                r = attr_check(p, p->attrs[i], ret_error);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < i; k++)
                        if (strcspn(p->attrs[k], "=") == strcspn(p->attrs[i], "=") &&
                            strncmp(p->attrs[k], p->attrs[i], strcspn(p->attrs[i], "=")) == 0)
                                return hp_errorf(ret_error, -EINVAL,
                                                 "pci%d: attribute '%.*s' is given twice: keep one", p->index,
                                                 (int)strcspn(p->attrs[i], "="), p->attrs[i]);
        }
        r = group_check(p, "same-numa", p->same_numa, ret_error);
        return r < 0 ? r : group_check(p, "same-switch", p->same_switch, ret_error);
}

bool hp_vm_pci_attrs_match(const struct hp_vm_pci *p, char *const *dev_attrs)
{
        for (size_t i = 0; p->attrs && p->attrs[i]; i++) {
                bool found = false;

                for (size_t k = 0; dev_attrs && dev_attrs[k] && !found; k++)
                        found = streq(dev_attrs[k], p->attrs[i]);
                if (!found)
                        return false;
        }
        return true;
}

/* The VM rules: see rules.h. */
#include "rules.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "util/macro.h"
#include "util/strutil.h"

int hp_vm_rule_off(const struct hp_vm_spec *s, const char *state, const char *what, char **ret_error)
{
        if (!streq(state, "off"))
                return hp_errorf(ret_error, -EBUSY, "VM '%s' is %s: %s only while it is off (hwpass vm stop %s)",
                                 s->name, state, what, s->name);
        return 0;
}

int hp_vm_rule_room(const struct hp_vm_spec *s, unsigned more, char **ret_error)
{
        size_t n = hp_vm_spec_device_count(s);

        if (n >= s->device_limit)
                return hp_errorf(ret_error, -ENOSPC, "VM '%s' already has %zu devices, its limit: remove one first",
                                 s->name, n);
        if (n + more > s->device_limit)
                return hp_errorf(ret_error, -ENOSPC,
                                 "VM '%s' has %zu devices and a limit of %u: %u more do not fit; lower the count "
                                 "or raise the limit (hwpass vm set %s --device-limit %zu)",
                                 s->name, n, s->device_limit, more, s->name, n + more);
        return 0;
}

int hp_vm_rule_limit(const struct hp_vm_spec *s, unsigned limit, char **ret_error)
{
        size_t n = hp_vm_spec_device_count(s);

        if (n > limit)
                return hp_errorf(ret_error, -ENOSPC,
                                 "VM '%s' has %zu devices: remove some before lowering its limit to %u", s->name, n,
                                 limit);
        return 0;
}

static int next_index(const struct hp_vm_spec *s, bool pci)
{
        int max = -1;

        for (size_t i = 0; pci && i < s->n_pci; i++)
                max = s->pci[i].index > max ? s->pci[i].index : max;
        for (size_t i = 0; !pci && i < s->n_usb; i++)
                max = s->usb[i].index > max ? s->usb[i].index : max;
        return max + 1;
}

int hp_vm_add_pci(struct hp_vm_spec *s, struct hp_vm_pci *e, char **ret_error)
{
        struct hp_vm_pci *np;
        int r;

        e->index = next_index(s, true); /* what the checks' messages call it */
        r = hp_vm_pci_request_check(e, ret_error);
        if (r >= 0)
                r = hp_vm_rule_room(s, hp_vm_pci_count(e), ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; e->kind == HP_VM_PCI_STATIC && i < s->n_pci; i++) {
                const struct hp_vm_pci *o = &s->pci[i];

                if (o->kind != HP_VM_PCI_STATIC)
                        continue;
                if (streq(o->address, e->address))
                        return hp_errorf(ret_error, -EEXIST, "VM '%s' has %s already (pci%d)", s->name, e->address,
                                         o->index);
                /* A slot entry takes every function of the slot. */
                if ((hp_vm_pci_is_slot(o) || hp_vm_pci_is_slot(e)) && strncmp(o->address, e->address, 10) == 0)
                        return hp_errorf(ret_error, -EEXIST,
                                         "VM '%s' has %s already (pci%d), and %s is %s: remove one of them first "
                                         "(hwpass vm remove-device %s pci%d)",
                                         s->name, o->address, o->index, e->address,
                                         hp_vm_pci_is_slot(e) ? "every function of its slot" : "a function of that slot",
                                         s->name, o->index);
        }
        np = realloc(s->pci, (s->n_pci + 1) * sizeof(*np));
        if (!np)
                return -ENOMEM;
        s->pci = np;
        s->pci[s->n_pci++] = *e;
        *e = (struct hp_vm_pci){ 0 };
        return s->pci[s->n_pci - 1].index;
}

int hp_vm_add_usb(struct hp_vm_spec *s, struct hp_vm_usb *e, char **ret_error)
{
        struct hp_vm_usb *nu;
        int r = hp_vm_rule_room(s, 1, ret_error);

        if (r < 0)
                return r;
        nu = realloc(s->usb, (s->n_usb + 1) * sizeof(*nu));
        if (!nu)
                return -ENOMEM;
        s->usb = nu;
        e->index = next_index(s, false);
        s->usb[s->n_usb++] = *e;
        *e = (struct hp_vm_usb){ 0 };
        return s->usb[s->n_usb - 1].index;
}

int hp_vm_remove_device(struct hp_vm_spec *s, const char *which, char **ret_error)
{
        bool pci = hp_startswith(which, "pci");
        uint64_t index;

        if ((!pci && !hp_startswith(which, "usb")) || hp_parse_u64(which + 3, 10, &index) < 0)
                return hp_errorf(ret_error, -EINVAL, "invalid device '%s': pciN or usbN as 'hwpass vm show' lists them",
                                 which);
        for (size_t i = 0; pci && i < s->n_pci; i++)
                if ((uint64_t)s->pci[i].index == index) {
                        hp_vm_pci_done(&s->pci[i]);
                        memmove(&s->pci[i], &s->pci[i + 1], (s->n_pci - i - 1) * sizeof(*s->pci));
                        s->n_pci--;
                        return 0;
                }
        for (size_t i = 0; !pci && i < s->n_usb; i++)
                if ((uint64_t)s->usb[i].index == index) {
                        hp_vm_usb_done(&s->usb[i]);
                        memmove(&s->usb[i], &s->usb[i + 1], (s->n_usb - i - 1) * sizeof(*s->usb));
                        s->n_usb--;
                        return 0;
                }
        return hp_errorf(ret_error, -ENOENT, "VM '%s' has no %s (see 'hwpass vm show %s')", s->name, which, s->name);
}

bool hp_vm_has_passthrough(const struct hp_vm_spec *s)
{
        return s->n_pci > 0;
}

/* A passed-through device's state lives in the hardware, so it cannot be
 * saved with the VM or carried to another host. */
int hp_vm_rule_state_op(const struct hp_vm_spec *s, const char *op, char **ret_error)
{
        if (hp_vm_has_passthrough(s))
                return hp_errorf(ret_error, -EPERM,
                                 "VM '%s' has %zu passthrough device%s: %s is refused, because a passed-through "
                                 "device's state cannot be saved or moved with the VM; stop the VM instead (hwpass vm "
                                 "stop %s)",
                                 s->name, s->n_pci, s->n_pci == 1 ? "" : "s", op, s->name);
        return hp_errorf(ret_error, -EPERM,
                         "VM '%s': hwpass does not %s VMs (it has none to offer for VMs without passthrough devices "
                         "either); stop the VM instead (hwpass vm stop %s)",
                         s->name, op, s->name);
}

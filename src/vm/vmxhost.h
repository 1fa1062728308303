/* A static .vmx entry held against this host: VMware records the vendor and
 * device ID next to a pciPassthruN.id, and on another machine the same
 * address usually holds another device. Pure: the inventory is given. */
#pragma once

#include "host/pci.h"
#include "spec.h"

/* p is a static entry with p->address read from the entry's id (key = value,
 * for the message); other is the address's hex reading when it differs, or
 * "". Keeps the address when the device there has vid:did, takes other when
 * that one has them, else turns p into a dynamic entry allowing vid:did and
 * pushes a warning that names the device at the address and the devices of
 * this host that match. -ENOMEM. */
int hp_vmx_pci_check_host(const struct hp_pci_inventory *host, struct hp_vm_pci *p,
                          const char *other, unsigned vid, unsigned did, const char *key,
                          const char *value, const char *vm, char ***w);

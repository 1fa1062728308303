/* A VMware .vmx file read into a VM spec, for `hwpass vm import-vmx`: what
 * carries over (memory, vCPUs, firmware, DirectPath I/O and Dynamic DirectPath
 * I/O entries, USB auto-connect IDs) and a warning for each thing that does not.
 * Pure: text (and the host's inventory) in, spec out; no I/O. */
#pragma once

#include "host/pci.h"
#include "spec.h"

struct hp_vmx_import {
        struct hp_vm_spec spec;
        char **warnings; /* NULL-terminated, never NULL; each says what to do */
};

void hp_vmx_import_done(struct hp_vmx_import *x);

/* Parses the text of a .vmx file. name is the VM name to use; NULL takes
 * displayName, made into a valid VM name. host, when given, is this host's
 * PCI inventory: a pciPassthruN.id whose device there lacks the vendorId and
 * deviceId VMware recorded becomes a dynamic entry of those IDs, with a
 * warning (vmxhost.h); NULL takes addresses as written. The spec passes the checks of
 * hp_vm_spec_from_json. *ret_error is set to NULL, or on -EINVAL to a malloc'd
 * message quoting the offending line or key and saying what to do (a missing
 * memsize, a malformed line, an address or ID that cannot be read, too many
 * devices). -ENOMEM when out of memory. */
int hp_vmx_parse(const char *text, const char *name, const struct hp_pci_inventory *host,
                 struct hp_vmx_import *ret, char **ret_error);

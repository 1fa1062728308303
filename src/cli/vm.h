/* What the vm commands share: a VM loaded for reading, the VMs listed, and
 * a PCI entry described as 'vm show' and 'graphics vm list' print it. The
 * changes themselves are operations (src/ops/vm.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "ops/vm.h"
#include "store/store.h"
#include "vm/spec.h"

/* The VM name on the command line, checked before anything is asked (it
 * goes into a route's path too); an exit code. */
int hp_cli_vm_name_check(const char *name);
/* Loads NAME to read it (no lock); exit code, the failure reported. */
int hp_cli_vm_read(struct hp_cli *c, const char *name, struct hp_ops_vm *ret);
/* Calls fn for every stored VM with its spec, in name order; a VM stored
 * damaged is reported and skipped. Stops at fn's first -errno. Exit code. */
typedef int (*hp_cli_vm_fn)(const struct hp_vm_record *rec, const struct hp_vm_spec *s, void *userdata);
int hp_cli_vm_each(struct hp_cli *c, hp_cli_vm_fn fn, void *userdata);
/* A new VM from a checked spec (vm create, define, import-vmx): through
 * hwpassd when it runs; *ret: its document. Exit code. */
int hp_cli_vm_create(struct hp_cli *c, const struct hp_vm_spec *s, const char *event, json_t **ret);
/* "static   0000:0c:00.0, primary display" / "dynamic  10de:2206 label 'x'" */
void hp_cli_vm_describe_pci(const struct hp_vm_pci *p, char *buf, size_t size);

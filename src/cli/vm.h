/* What the vm commands share: a VM loaded from the store with its record, and
 * power-on/power-off as functions, so 'host start-vms' and 'device probe' run
 * the very path 'vm start' and 'vm stop' do. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "host/pci.h"
#include "store/store.h"
#include "vm/mmio.h"
#include "vm/spec.h"
#include "vm/supervise.h"

#define HP_VM_STATE_DIR "/var/lib/hwpass/vms"

struct hp_cli_vm {
        struct hp_store *store;
        struct hp_vm_record rec;
        struct hp_vm_spec spec;
};

void hp_cli_vm_done(struct hp_cli_vm *v);
/* Loads NAME; a record left "running" by a supervisor that is gone is put
 * right first. Exit code. */
int hp_cli_vm_load(struct hp_cli *c, const char *name, struct hp_cli_vm *ret);
/* Stores the VM's changed spec; with --json prints it. Exit code. */
int hp_cli_vm_save(struct hp_cli *c, struct hp_cli_vm *v);
/* The VM as --json shows it: its spec and state. Exit code. */
int hp_cli_vm_print_json(const struct hp_vm_spec *s, const char *state);
/* Calls fn for every stored VM with its spec, in name order; a VM stored
 * damaged is reported and skipped. Stops at fn's first -errno. Exit code. */
typedef int (*hp_cli_vm_fn)(const struct hp_vm_record *rec, const struct hp_vm_spec *s, void *userdata);
int hp_cli_vm_each(struct hp_cli *c, hp_cli_vm_fn fn, void *userdata);
/* Stores a new VM, recording event ("vm-created"); with --json prints it.
 * Exit code. */
int hp_cli_vm_store_new(struct hp_cli *c, const struct hp_vm_spec *s, const char *event);
/* HP_EXIT_OK when the VM is off; a usage error naming WHAT otherwise. */
int hp_cli_vm_require_off(const struct hp_cli_vm *v, const char *what);
bool hp_cli_vm_has_passthrough(const struct hp_vm_spec *s);
/* "static   0000:0c:00.0, primary display" / "dynamic  10de:2206 label 'x'" */
void hp_cli_vm_describe_pci(const struct hp_vm_pci *p, char *buf, size_t size);
/* HP_VM_RUN_DIR/NAME and the VM's EFI vars store; size bytes each. */
void hp_cli_vm_paths(const char *name, char *run_dir, char *vars, size_t size);

/* What power-on would take now: the device per PCI entry and the window. */
struct hp_cli_vm_plan {
        struct hp_view cs;
        char (*addrs)[HP_SBDF_LEN];
        struct hp_mmio_plan mmio;
        char *error; /* why no devices could be chosen */
};
void hp_cli_vm_plan_done(struct hp_cli_vm_plan *p);
/* 0, or -errno with p->error set when the devices cannot be chosen; -EIO
 * when the host could not be read (already reported). */
int hp_cli_vm_plan(struct hp_cli *c, const struct hp_cli_vm *v, struct hp_cli_vm_plan *p);
/* The accelerator: HWPASS_QEMU_ACCEL (the lab runs nested guests under TCG),
 * else KVM when the host has it, else TCG. */
const char *hp_cli_qemu_accel(const struct hp_cli *c);
/* The QEMU command line for a plan, exactly as power-on builds it. Exit
 * code (reported). */
int hp_cli_vm_qemu_argv(struct hp_cli *c, const struct hp_cli_vm *v, const struct hp_cli_vm_plan *p, char ***ret);

/* Power-on and power-off as 'vm start' and 'vm stop' do them; exit codes.
 * Messages go to stderr; nothing is printed on success. */
int hp_cli_vm_power_on(struct hp_cli *c, struct hp_cli_vm *v);
int hp_cli_vm_power_off(struct hp_cli *c, struct hp_cli_vm *v, bool force, uint64_t timeout_s, bool *ret_lost);

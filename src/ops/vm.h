/* Operations on VMs: definitions (create, set, devices, autostart, delete),
 * power-on in its two halves (the claim: admission, device choice and
 * assignment; the launch: firmware, QEMU under its supervisor), power-off,
 * and the host's startup and shutdown order. Each holds the VM's lock from
 * its load to its last write (lock.h); results are the VM's document
 * (vm/specjson.h) unless said otherwise. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "host/pci.h"
#include "alloc/place.h"
#include "host/view.h"
#include "ops/lock.h"
#include "store/store.h"
#include "vm/mmio.h"
#include "vm/spec.h"

struct hp_ops_ctx;

/* A VM loaded for an operation, locked. */
struct hp_ops_vm {
        struct hp_store *store;
        struct hp_vm_record rec;
        struct hp_vm_spec spec;
        struct hp_ops_lock lock;
};
void hp_ops_vm_done(struct hp_ops_vm *v);
/* Locks NAME (what: the operation, told to whoever waits) and loads it; a
 * record left up by a supervisor that is gone is put right first. lock
 * false: read only, no lock (vm show). */
int hp_ops_vm_load(struct hp_ops_ctx *c, const char *name, const char *what, bool lock, struct hp_ops_vm *ret);

/* A new VM from a checked spec; event: "vm-created", "vm-imported". */
int hp_ops_vm_create(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const char *event, json_t **ret);

/* Definition checks (vmcheck.c), HP_OP_INVALID with what to do: memory in
 * [HP_VM_MIN_MEMORY_MIB, HP_VM_MAX_DEFINED_MEMORY_MIB]; disks and kernel
 * that exist and can be read (a disk a regular file or block device); paths
 * and --append in UTF-8. */
int hp_ops_vm_check_memory(struct hp_ops_ctx *c, uint64_t memory_mib);
int hp_ops_vm_check_definition(struct hp_ops_ctx *c, const struct hp_vm_spec *s);
/* A USB entry against the host's devices now: an ID without serial that
 * matches more than one plugged-in device, a port on a bus the host does not
 * have (when it shows any). HP_OP_INVALID at definition, HP_OP_CONFLICT at
 * power-on (at_power_on: the message names the entry). */
struct hp_usb_inventory;
int hp_ops_usb_entry_check(struct hp_ops_ctx *c, const char *vm, const struct hp_vm_usb *u,
                           const struct hp_usb_inventory *inv, bool at_power_on);

/* --romfile checks (romcheck.c), HP_OP_INVALID with what to do: a PCI
 * option ROM (signature, PCIR) for the device's IDs (a dynamic entry's
 * allowed IDs at definition), with an EFI image when the VM boots EFI. only:
 * that one entry at definition, where a file not there (yet) passes; else
 * every entry at power-on, addrs the devices chosen for them. */
int hp_ops_vm_check_romfiles(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const struct hp_vm_pci *only,
                             const char (*addrs)[HP_SBDF_LEN]);

/* vm set: only what is given changes. */
struct hp_ops_vm_settings {
        uint64_t memory_mib;   /* 0: unchanged */
        unsigned vcpus;        /* 0: unchanged */
        int hugepages;         /* -1: unchanged */
        unsigned device_limit; /* 0: unchanged */
        bool set_firmware;     /* firmware: BIOS, EFI or auto from now on */
        enum hp_vm_firmware firmware;
        bool set_placement;    /* placement from now on (CLUSTER: none of its own) */
        enum hp_vm_placement placement;
};
int hp_ops_vm_set(struct hp_ops_ctx *c, const char *name, const struct hp_ops_vm_settings *set, json_t **ret);
/* The entry is taken (its index chosen here); a static address must be a
 * device of this host. *ret_index: the entry's index. */
int hp_ops_vm_add_pci(struct hp_ops_ctx *c, const char *name, struct hp_vm_pci *e, int *ret_index, json_t **ret);
int hp_ops_vm_add_usb(struct hp_ops_ctx *c, const char *name, struct hp_vm_usb *e, int *ret_index, json_t **ret);
/* which: "pciN" or "usbN". */
int hp_ops_vm_remove_device(struct hp_ops_ctx *c, const char *name, const char *which, json_t **ret);
/* order -1: not started with the host. */
int hp_ops_vm_autostart(struct hp_ops_ctx *c, const char *name, int order, unsigned delay, json_t **ret);
/* *ret: {"name", "deleted": true}. */
int hp_ops_vm_delete(struct hp_ops_ctx *c, const char *name, json_t **ret);
/* suspend, snapshot, migrate: refused, saying why (vm/rules.h). */
int hp_ops_vm_state_op(struct hp_ops_ctx *c, const char *name, const char *op);

/* What power-on would take now: the device per PCI entry and the window. */
struct hp_ops_vm_plan {
        struct hp_view view;
        /* The VM's PCI entries with each slot entry as its functions
         * (hp_alloc_expand_slots), and the address of each. */
        struct hp_vm_pci *pci;
        size_t n_pci;
        char (*addrs)[HP_SBDF_LEN];
        struct hp_mmio_plan mmio;
        /* What it boots: the VM's firmware, or for auto what the devices
         * need (hp_mmio_firmware), and why (what the devices need). */
        enum hp_vm_firmware firmware;
        char *firmware_why;
        char *error; /* why no devices could be chosen, when they cannot */
};
void hp_ops_vm_plan_done(struct hp_ops_vm_plan *p);
/* The devices and window (a read: nothing is claimed). HP_OP_FAILED when
 * no devices can be chosen. */
int hp_ops_vm_plan(struct hp_ops_ctx *c, const struct hp_ops_vm *v, struct hp_ops_vm_plan *ret);
/* Power-on and devices that moved (follow.c). The spec's PCI entries with
 * the static ones naming where the view found their devices now, when the
 * store has not recorded it yet (a read, as vm show is). Shallow copies
 * sharing the spec's strings: free only the array. */
int hp_ops_vm_entries_followed(const struct hp_view *view, const struct hp_vm_spec *s, struct hp_vm_pci **ret);
/* Refuses (-ENODEV, *ret_why malloc'd: what to do) a static entry of
 * pci[0..n) (s's entries, followed and expanded) that names where a stored
 * device was and no longer is: moved (and the entry could not follow),
 * possibly elsewhere (device adopt), or gone. Another device standing
 * there now is never passed instead. */
int hp_ops_vm_check_moved(const struct hp_view *view, const struct hp_vm_spec *s, const struct hp_vm_pci *pci,
                          size_t n, char **ret_why);
/* The spec's PCI entries as power-on takes them on this host now: followed
 * (hp_ops_vm_entries_followed; ret_followed may be NULL) and expanded
 * (hp_alloc_expand_slots: a slot entry as its functions), refused as
 * hp_ops_vm_check_moved refuses (-ENODEV, *ret_why malloc'd: what to do).
 * Shallow copies: free only the arrays. */
int hp_ops_vm_entries_now(const struct hp_view *view, const struct hp_vm_spec *s, struct hp_vm_pci **ret_followed,
                          struct hp_vm_pci **ret_expanded, size_t *ret_n, char **ret_why);
/* The host's devices as power-on chooses from them (alloc/select.h): each
 * with its stored label, attributes, assignment and health, and whether
 * its passthrough is active now. Parallel to view->inv->devs; -ENOMEM. */
struct hp_alloc_candidate;
int hp_ops_vm_candidates(const struct hp_view *view, struct hp_alloc_candidate **ret);
/* The QEMU command line for a plan, exactly as the launch builds it. */
int hp_ops_vm_qemu_argv(struct hp_ops_ctx *c, const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p,
                        char ***ret);
/* The accelerator: HWPASS_QEMU_ACCEL (the lab runs nested guests under TCG),
 * else KVM when the host has it, else TCG. */
const char *hp_ops_qemu_accel(const struct hp_ops_ctx *c);
/* A VM's run directory with its files (logs, sockets, pid file): when the
 * VM is deleted, or a start found no such VM. */
void hp_ops_vm_remove_run_dir(const char *dir);
/* RUN_DIR/vms/NAME, or a file in it ("serial.log", "qemu.pid") when file is
 * not NULL: where a running VM keeps its files. */
void hp_ops_vm_run_file(const char *run_dir, const char *name, const char *file, char *buf, size_t size);
/* RUN_DIR/vms/NAME/serial.log opened for reading: written by QEMU as its
 * own user, so a link or anything but a regular file there is refused
 * (-ELOOP, -EBADFD), never followed or blocked on; -ENOENT before a run. */
int hp_ops_vm_console_open(const char *run_dir, const char *name);
/* Why it could not be opened, in words. */
const char *hp_ops_vm_console_strerror(int r);
/* The pid in RUN_DIR/vms/NAME/qemu.pid (written by QEMU, as its user), of a
 * process that is that QEMU (-ESRCH when it is not); -errno. */
int hp_ops_vm_qemu_pid(const struct hp_ops_ctx *c, const char *name, uint64_t *ret);
/* RUN_DIR/vms/NAME made, with the directories above it; -errno. */
int hp_ops_vm_run_dir_make(const struct hp_ops_ctx *c, const char *name, char *buf, size_t size);
/* RUN_DIR/vms/NAME and the VM's EFI vars store (STATE_DIR/vms/NAME/...). */
void hp_ops_vm_paths(const struct hp_ops_ctx *c, const char *name, char *run_dir, char *vars, size_t size);

/* The firmware (firmware.c). The power-on's choice in words: "EFI, chosen
 * because 0000:06:00.0's ..." for auto, "EFI, as configured" otherwise. */
int hp_ops_vm_firmware_text(const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p, char **ret);
/* {"configured", "firmware", "chosen", "reason"}: the choice as the power-on's
 * result, vm show and the run's record give it. */
json_t *hp_ops_vm_firmware_json(const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p);
/* Refused (HP_OP_CONFLICT, saying to switch to auto or efi) when the VM is
 * set to BIOS and its devices need EFI. */
int hp_ops_vm_firmware_check(struct hp_ops_ctx *c, const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p);
/* For EFI: OVMF is there (else HP_OP_CONFLICT naming the ovmf package) and
 * the VM has its vars store. */
int hp_ops_vm_firmware_prepare(struct hp_ops_ctx *c, const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p);
/* What the supervisor records once QEMU runs (the start waits for no
 * write of its own): *ret_record, the text of RUN_DIR/vms/NAME/firmware.json
 * for vm show, and *ret_event, for auto the words of the event
 * "vm-firmware" (else NULL). 0 or -ENOMEM. */
int hp_ops_vm_firmware_record(const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p,
                              char **ret_record, char **ret_event);
/* What the current or last run (since the host booted) used, as
 * hp_ops_vm_firmware_json() gave it; NULL when it has not run. */
json_t *hp_ops_vm_firmware_last(const struct hp_ops_ctx *c, const char *name);
/* OVMF's code and vars template: HWPASS_OVMF_DIR (a host whose OVMF lives
 * elsewhere) or Debian's /usr/share/OVMF. */
void hp_ops_ovmf_paths(char *code, char *vars_template, size_t size);

/* vm explain's pieces, for the cluster's controller to give the same
 * document: one device a VM would get ({"entry": "pciN", "address"}), and
 * one host's verdict ({"host", "fits", "reason", "message", "score",
 * "numa_node", "devices"}; devs taken, NULL for none). */
struct hp_place_verdict;
json_t *hp_ops_place_device_json(int index, const char *address);
json_t *hp_ops_place_verdict_json(const char *host, const struct hp_place_verdict *v, json_t *devs);
/* The policy power-on places the VM by: its own (*ret_from "vm"), else
 * the cluster's setting (HP_OPS_SETTING_PLACEMENT in the store: "cluster"),
 * else performance ("default"). -EBADMSG for a stored setting that names
 * no policy; the store's errors as they come. */
#define HP_OPS_SETTING_PLACEMENT "placement"
int hp_ops_place_policy(struct hp_store *s, const struct hp_vm_spec *spec, enum hp_place_policy *ret,
                        const char **ret_from);
/* The host's memory as a cluster's placement reads it (admit.c):
 * {"total_mib", "available_mib", "hugepages": {"size_kib", "total", "free"}}. */
int hp_ops_host_memory(struct hp_ops_ctx *c, json_t **ret);

/* Where power-on could place the VM and why, host by host (explain.c,
 * alloc/place.h): standalone, the one host "local". *ret: {"vm", "state",
 * "policy", "hosts": [{"host", "fits", "reason", "message", "score":
 * {"numa_local", "free_devices", "free_mib"} or null, "numa_node",
 * "devices": [{"entry": "pciN", "address"}]}], "candidates": [host...],
 * "winner": host or null, "why"}. 0 whether or not it fits. */
int hp_ops_vm_explain(struct hp_ops_ctx *c, const char *name, json_t **ret);

/* Admission (admit.c): refused with the numbers when the host cannot hold
 * the VM's memory now: its hugepages among the free ones, or its size in
 * MemAvailable less what VMs still starting have yet to lock. */
int hp_ops_vm_admit_memory(struct hp_ops_ctx *c, const struct hp_ops_vm *v);
/* What admission judges by: proc/meminfo's MemAvailable (known: it and the
 * VMs in store could be read) and what the VMs other than vm that are not
 * off have yet to lock; the free hugepages and their size (hugepages_known:
 * the host reports them). A VM may reserve available_mib - pending_mib. */
struct hp_ops_memory_room {
        bool known;
        uint64_t available_mib, pending_mib;
        bool hugepages_known;
        uint64_t hugepages_free, hugepage_kib;
};
void hp_ops_memory_room(const struct hp_ops_ctx *c, struct hp_store *store, const char *vm,
                        struct hp_ops_memory_room *ret);

/* Power-on's first half: the VM is off; its memory is admitted, its devices
 * chosen and assigned to it in one store transaction (their IOMMU groups
 * held meanwhile, so no passthrough change slips in). ret: the plan. */
int hp_ops_vm_claim(struct hp_ops_ctx *c, struct hp_ops_vm *v, struct hp_ops_vm_plan *ret);
/* The second half: firmware, USB devices, QEMU under its supervisor, until
 * QMP says it runs. On failure the claim is released. */
int hp_ops_vm_launch(struct hp_ops_ctx *c, struct hp_ops_vm *v, const struct hp_ops_vm_plan *p);
/* Both, for a loaded VM. */
int hp_ops_vm_power_on(struct hp_ops_ctx *c, struct hp_ops_vm *v);
int hp_ops_vm_start(struct hp_ops_ctx *c, const char *name, json_t **ret);

/* ACPI power-off, forced after timeout_s (force: at once; *ret_forced when
 * the timeout forced it); the supervisor resets and releases the devices.
 * *ret_lost: the supervisor was gone (the devices were released, not reset).
 * hp_ops_vm_stop's document says so ("forced_after": S, "lost": true) only
 * when it happened; a VM that is off already answers as it is. */
int hp_ops_vm_power_off(struct hp_ops_ctx *c, struct hp_ops_vm *v, bool force, uint64_t timeout_s,
                        bool *ret_forced, bool *ret_lost);
int hp_ops_vm_stop(struct hp_ops_ctx *c, const char *name, bool force, uint64_t timeout_s, json_t **ret);

/* The host's startup (autostart VMs, lowest order first, each followed by
 * its delay) and shutdown (every other running VM first, then the ordered
 * ones in reverse). One VM that fails does not hold the others back.
 * progress (may be NULL) is called as each VM is done with {"name",
 * "order", "result": "started"|"stopped"|"already"|"failed", "state",
 * "error"}; *ret: {"vms": [those], "done": N, "failed": N}. */
typedef void (*hp_ops_progress_fn)(json_t *entry, void *userdata);
int hp_ops_host_start_vms(struct hp_ops_ctx *c, hp_ops_progress_fn progress, void *userdata, json_t **ret);
int hp_ops_host_stop_vms(struct hp_ops_ctx *c, uint64_t timeout_s, hp_ops_progress_fn progress, void *userdata,
                         json_t **ret);

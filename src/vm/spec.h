/* A VM as the operator defines it (DESIGN.md §5): resources, firmware, disks,
 * and its passthrough entries: PCI by address (DirectPath I/O) or by allowed
 * IDs and label (Dynamic DirectPath I/O), USB by ID or by port. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HP_VM_NAME_MAX 48
#define HP_VM_DEFAULT_DEVICE_LIMIT 16
/* The ranges vm create, vm set and vm autostart take, and a stored spec
 * must keep to. */
#define HP_VM_MAX_DEVICE_LIMIT 64
#define HP_VM_MAX_VCPUS 1024
#define HP_VM_MAX_MEMORY_MIB (UINT64_MAX >> 20) /* so the size in bytes fits in 64 bits */
/* What vm create and vm set take (a stored spec may hold any size): q35's
 * firmware and a small Linux guest (the probe guest) boot in 32 MiB; x86-64
 * Linux with 4-level paging addresses at most 64 TiB (46 bits). */
#define HP_VM_MIN_MEMORY_MIB 32
#define HP_VM_MAX_DEFINED_MEMORY_MIB (UINT64_C(64) << 20)
#define HP_VM_MAX_AUTOSTART_ORDER 9999
#define HP_VM_MAX_AUTOSTART_DELAY 3600 /* seconds */

/* What the VM boots. AUTO is decided at each power-on: EFI when the devices
 * chosen need a 64-bit MMIO window larger than BIOS maps (hp_mmio_plan's
 * needs_efi), BIOS otherwise. A spec handed to hp_qemu_argv() has it decided. */
enum hp_vm_firmware {
        HP_VM_FIRMWARE_BIOS,
        HP_VM_FIRMWARE_EFI,
        HP_VM_FIRMWARE_AUTO,
};

/* Where a cluster places the VM at power-on (alloc/place.h's policies):
 * CLUSTER, a VM that names none, takes the cluster's setting. */
enum hp_vm_placement {
        HP_VM_PLACEMENT_CLUSTER,
        HP_VM_PLACEMENT_PERFORMANCE,   /* spread */
        HP_VM_PLACEMENT_CONSOLIDATION, /* pack */
};

/* HA (docs/cluster.md "HA"): when its host fails, a VM is restarted on
 * another host in this order, highest first, each level once the ones
 * above it run; DISABLED: not restarted. MEDIUM, the zero, is the default. */
enum hp_vm_restart {
        HP_VM_RESTART_DISABLED = -3,
        HP_VM_RESTART_LOWEST = -2,
        HP_VM_RESTART_LOW = -1,
        HP_VM_RESTART_MEDIUM = 0,
        HP_VM_RESTART_HIGH = 1,
        HP_VM_RESTART_HIGHEST = 2,
};

/* What the agent of a host cut off from the cluster does with the VM
 * before its lease ends, so that it never runs twice: POWER_OFF (the
 * default), SHUTDOWN (ACPI, forced off at the lease's end), or
 * LEAVE_RUNNING (then HA does not restart it elsewhere until its host
 * answers again). */
enum hp_vm_isolation {
        HP_VM_ISOLATION_POWER_OFF,
        HP_VM_ISOLATION_SHUTDOWN,
        HP_VM_ISOLATION_LEAVE_RUNNING,
};

/* vendor:device[:subvendor:subdevice]; a zero sub-ID matches any. */
struct hp_pci_id_match {
        uint16_t vendor_id, device_id;
        uint16_t subsystem_vendor_id, subsystem_device_id;
};

enum hp_vm_pci_kind {
        HP_VM_PCI_STATIC,  /* address = SBDF */
        HP_VM_PCI_DYNAMIC, /* allowed IDs (+ label), chosen at power-on */
};

struct hp_vm_pci {
        int index;                     /* stable position in the VM: pciPassthruN */
        enum hp_vm_pci_kind kind;
        char address[13];              /* static: SBDF, or DDDD:BB:DD for every function of the slot */
        struct hp_pci_id_match *allowed; /* dynamic */
        size_t n_allowed;
        char *label;                   /* dynamic: must match the device's label, or NULL */
        /* Dynamic only (the request language, DESIGN.md §6): `allowed` are
         * alternatives in order, the first that can be satisfied wins; count
         * devices of one alternative (0 means 1); attributes each device must
         * carry; constraint groups shared with other entries; and the whole
         * multi-function slot of the device chosen. */
        unsigned count;
        char **attrs;                  /* "key=value", NULL-terminated, or NULL for none */
        char *same_numa;               /* group name, or NULL */
        char *same_switch;             /* group name, or NULL */
        bool all_functions;
        bool primary_display;          /* x-vga=on */
        int rombar;                    /* -1 default, 0 off, 1 on */
        char *romfile;                 /* or NULL */
        /* Only in a power-on plan, where a slot entry becomes one entry per
         * function (same index, full address): the function it is. */
        bool in_slot;
        unsigned function;
        /* Only in a power-on plan, where an entry with a count becomes one
         * entry per device (same index): which of them it is, from 0. */
        unsigned copy;
};

enum hp_vm_usb_kind {
        HP_VM_USB_ID,   /* vendor:product[:serial] */
        HP_VM_USB_PORT, /* bus-port[.port...] */
};

struct hp_vm_usb {
        int index;
        enum hp_vm_usb_kind kind;
        uint16_t vendor_id, product_id;
        char *serial; /* or NULL */
        int bus;      /* port */
        char *port;   /* "2.3" */
};

struct hp_vm_spec {
        char name[HP_VM_NAME_MAX + 1];
        uint64_t memory_mib;
        unsigned vcpus;
        enum hp_vm_firmware firmware;
        bool hugepages; /* guest memory from the host's free hugepages */
        char **disks;  /* NULL-terminated image paths; never NULL */
        char *kernel;  /* direct kernel boot, or NULL */
        char *append;  /* its command line, or NULL */
        struct hp_vm_pci *pci;
        size_t n_pci;
        struct hp_vm_usb *usb;
        size_t n_usb;
        unsigned device_limit; /* PCI + USB entries; default HP_VM_DEFAULT_DEVICE_LIMIT */
        int autostart_order;   /* -1: not started with the host */
        unsigned autostart_delay;
        enum hp_vm_placement placement;
        enum hp_vm_restart restart_priority;
        enum hp_vm_isolation isolation;
};

void hp_vm_spec_done(struct hp_vm_spec *s);
void hp_vm_pci_done(struct hp_vm_pci *p);
void hp_vm_usb_done(struct hp_vm_usb *u);

/* A static entry for a whole multi-function slot ("0000:0c:00"): every
 * function goes to the guest on one root port, at its own function number. */
bool hp_vm_pci_is_slot(const struct hp_vm_pci *p);
/* "DDDD:BB:DD" in canonical lower-case hex, as a slot entry stores it. */
bool hp_pci_slot_canonical(const char *s);

/* "bios", "efi", "auto": as the VM document, the CLI and the API spell it. */
const char *hp_vm_firmware_to_string(enum hp_vm_firmware f);
/* The reverse; -EINVAL for anything else. */
int hp_vm_firmware_from_string(const char *s, enum hp_vm_firmware *ret);

/* "performance", "consolidation"; NULL for CLUSTER (the document has no
 * "placement" then). */
const char *hp_vm_placement_to_string(enum hp_vm_placement p);
/* The reverse, for the two a VM can name; -EINVAL for anything else. */
int hp_vm_placement_from_string(const char *s, enum hp_vm_placement *ret);

/* "highest", "high", "medium", "low", "lowest", "disabled", and back
 * (-EINVAL for anything else). */
const char *hp_vm_restart_to_string(enum hp_vm_restart r);
int hp_vm_restart_from_string(const char *s, enum hp_vm_restart *ret);
/* "power-off", "shutdown", "leave-running", and back (-EINVAL). */
const char *hp_vm_isolation_to_string(enum hp_vm_isolation i);
int hp_vm_isolation_from_string(const char *s, enum hp_vm_isolation *ret);

/* A device that moved to another PCI address (host/moves.h), as the VM
 * entries that name it follow it. */
struct hp_vm_pci_move {
        char from[13];
        char to[13];
};
/* The static entries of pci[0..n) naming a device that moved get its new
 * address. A slot entry ("DDDD:BB:DD") follows only when every function
 * stored in that slot (stored[0..n_stored): the stored device entries'
 * addresses before the moves) moved, all to one new slot, each keeping its
 * function number; otherwise it stays as it is. Dynamic entries choose by
 * IDs and label and are left alone. Returns how many entries changed. */
size_t hp_vm_pci_follow_moves(struct hp_vm_pci *pci, size_t n, const struct hp_vm_pci_move *moves, size_t n_moves,
                              const char (*stored)[13], size_t n_stored);

#define HP_VM_PCI_MAX_COUNT 64
#define HP_VM_GROUP_MAX 32      /* characters of a constraint group's name */
#define HP_VM_ATTR_KEY_MAX 32   /* as the device attributes' (ops/device.h) */
#define HP_VM_ATTR_VALUE_MAX 128
/* A device attribute's key, as 'device attr' sets it and a request names
 * it: 1 to HP_VM_ATTR_KEY_MAX of a-z, 0-9, '_', '.', '-' (no '=': a stored
 * "key=value" splits at the first). */
bool hp_vm_attr_key_valid(const char *s, size_t n);

/* How many devices an entry stands for: its count (at least 1). */
unsigned hp_vm_pci_count(const struct hp_vm_pci *p);
/* What the device limit counts: every device of every PCI entry, and the
 * USB entries. */
size_t hp_vm_spec_device_count(const struct hp_vm_spec *s);
/* The request part of an entry: count 1 to HP_VM_PCI_MAX_COUNT, attributes
 * "key=value" (key a-z 0-9 _ . -, value UTF-8 without control characters),
 * group names (letters, digits, '-', '_'), each only on a dynamic entry.
 * -EINVAL with *ret_error naming the entry (pciN) and what to do. */
int hp_vm_pci_request_check(const struct hp_vm_pci *p, char **ret_error);
/* Does a device's attribute list ("key=value", NULL-terminated) carry
 * every one the entry asks for? */
bool hp_vm_pci_attrs_match(const struct hp_vm_pci *p, char *const *dev_attrs);

/* Letters, digits, '-', '_', '.', starting with a letter or digit. */
bool hp_vm_name_valid(const char *name);
/* "10de:2206" or "10de:2206:1043:87ac", hex. */
int hp_pci_id_match_parse(const char *s, struct hp_pci_id_match *ret);
/* "1-2.3" -> bus 1, port "2.3". */
int hp_usb_port_parse(const char *s, int *ret_bus, char **ret_port);
/* Well-formed UTF-8 (what a stored spec, a JSON document, can hold): no
 * overlong forms, surrogates or code points past U+10FFFF. */
bool hp_vm_text_valid(const char *s);
/* The spec's paths and kernel command line are UTF-8: -EINVAL and a message
 * that shows the value with its bad bytes as \xNN when one is not. */
int hp_vm_spec_text_check(const struct hp_vm_spec *s, char **ret_error);
/* Whether any PCI entry names a device by its address (such a VM is
 * pinned to the host that has it). */
bool hp_vm_spec_has_static(const struct hp_vm_spec *s);
/* The files the VM's host must see: its disks, its kernel, its entries'
 * ROM files, each once, in that order; NULL-terminated, never NULL. */
int hp_vm_spec_paths(const struct hp_vm_spec *s, char ***ret);
/* "64G", "2048M", "512" (MiB) -> MiB. */
int hp_size_parse_mib(const char *s, uint64_t *ret);

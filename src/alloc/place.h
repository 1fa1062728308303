/* Placement across hosts (DESIGN.md §6): which hosts can take a VM at
 * power-on, why each cannot, and which is best, with the numbers. The layer
 * above the per-host matcher (request.h); the cluster's controller and
 * `hwpass vm explain` (one host, "local", when standalone) call it. Pure: no
 * I/O, no store.
 *
 * Cost: linear in hosts x pools. Each host goes through the filters in the
 * order of enum hp_place_reason, cheapest first, and only a host that passes
 * them all runs the matcher (twice when its NUMA locality is asked). Only
 * the hosts that fit are sorted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"
#include "vm/spec.h"

enum hp_place_policy {
        HP_PLACE_PERFORMANCE,   /* spread: the host with the most free matching devices, then memory */
        HP_PLACE_CONSOLIDATION, /* pack: the one with the fewest */
};

/* Why a host cannot take the VM: the first filter it failed, in this order. */
enum hp_place_reason {
        HP_PLACE_FITS,
        HP_PLACE_FAILED,        /* HA declared it failed */
        HP_PLACE_NOT_CONNECTED, /* no live lease */
        HP_PLACE_MAINTENANCE,
        HP_PLACE_NOT_READY,     /* connected, not reconciled yet */
        HP_PLACE_START_FAILED,  /* the VM's start failed there in this power-on: the next host is tried */
        HP_PLACE_PINNED,        /* the VM's static entries pin it to another host */
        HP_PLACE_STATIC,        /* this is the pinned host and its static devices are not free */
        HP_PLACE_MEMORY,        /* memory, or hugepages, it cannot reserve */
        HP_PLACE_PATHS,         /* a disk or the kernel it does not see */
        HP_PLACE_DEVICES,       /* an entry has fewer free devices of any one alternative than its count */
        HP_PLACE_REQUEST,       /* the matcher: together, groups, alternatives (or a search cut off) */
        HP_PLACE_REASON_MAX,
};

/* "fits", "failed", "not-connected", "maintenance", "not-ready", "start-failed", "pinned",
 * "static-devices", "memory", "paths", "devices", "request": the JSON's. */
const char *hp_place_reason_name(enum hp_place_reason r);
const char *hp_place_policy_name(enum hp_place_policy p);
/* The reverse of hp_place_policy_name; -EINVAL for anything else. */
int hp_place_policy_from_string(const char *s, enum hp_place_policy *ret);

/* memory_mib of a host that cannot tell: memory does not filter it (QEMU's
 * own allocation decides) and it scores as 0 MiB free. */
#define HP_PLACE_MEMORY_UNKNOWN UINT64_MAX

/* What the VM needs of a host. */
struct hp_place_vm {
        const char *name;
        uint64_t memory_mib;
        bool hugepages;
        uint64_t hugepage_kib;  /* the page size it asks for; 0: the host's */
        char *const *paths;     /* its disks and kernel, NULL-terminated; NULL for none */
        /* Its dynamic PCI entries, in the order of their index (as
         * hp_alloc_request_place takes them). */
        const struct hp_vm_pci *pci;
        size_t n_pci;
        /* Any static entry pins the whole VM to the host that has the device;
         * NULL when it has none. static_free: that host has them all free
         * (enabled, healthy, not another VM's); static_why, when not, says
         * why (as hp_alloc_assign words it). */
        const char *pinned_host;
        bool static_free;
        const char *static_why;
};

/* A host as the controller last heard of it. */
struct hp_place_host {
        const char *name;
        bool connected; /* its lease is live */
        bool ready;
        bool maintenance;
        bool failed;
        const char *note; /* after a state refusal: "last heartbeat 12 s ago"; or NULL */
        /* The VM's start failed here earlier in this power-on, with this
         * error: it is not tried here again. NULL: it was not tried. */
        const char *start_failed;
        uint64_t memory_mib; /* available to a new VM now, or HP_PLACE_MEMORY_UNKNOWN */
        uint64_t hugepages_free;
        uint64_t hugepage_kib; /* 0: none reserved */
        /* Those of the VM's paths this host sees (the caller looks up only
         * the VM's own, so the check is small); NULL: it sees them all. */
        char *const *paths;
        /* Those of the VM's paths it has not said yet whether it sees (a
         * VM defined since its last report): not seen, and said so. */
        char *const *paths_unchecked;
        const struct hp_alloc_pool *pools; /* its free devices */
        size_t n_pools;
};

/* How a host that fits ranks: NUMA locality first (only when the VM names
 * no same-NUMA group of its own: a host where all its devices can share a
 * node beats one where they cannot), then the free matching devices (every
 * pool that fits some entry with some alternative: most for performance,
 * fewest for consolidation), then the free memory (hugepages for a
 * hugepage VM) the same way, then the name. */
struct hp_place_score {
        bool numa_local;
        size_t free_devices;
        uint64_t free_mib;
};

struct hp_place_verdict {
        enum hp_place_reason reason; /* HP_PLACE_FITS when it fits */
        /* "gpu-03: 2 free 10de:20b5 with label 'training', needs 4
         * (pciPassthru0)", "gpu-07: in maintenance"; for a host that fits,
         * "gpu-01: fits: 4 free 10de:20b5 ..., devices on NUMA node 0". */
        char *message;
        /* The rest only when it fits. */
        struct hp_place_score score;
        int numa_node; /* the node all its devices are on, or -1 */
        size_t *alt;   /* per dynamic entry: the alternative it got */
        size_t *pool;  /* per device, entry after entry: the pool (index into the host's) */
};

struct hp_place_result {
        struct hp_place_verdict *verdicts; /* one per host, in the hosts' order */
        size_t n_verdicts;
        /* The hosts that fit (indices), best first: the controller claims on
         * the first and, when the claim loses a race, tries the next. */
        size_t *order;
        size_t n_order;
        /* One line: "gpu-01 wins: 4 free 10de:20b5 with label 'training'
         * (most free: performance policy), devices on NUMA node 0", or when
         * none fits, how many hosts failed which filter. */
        char *why;
};

void hp_place_result_done(struct hp_place_result *r);

/* Judges every host and ranks those that fit. Returns 0 whether or not
 * any fits (n_order 0 then); -EINVAL for an entry that is not dynamic or a
 * host without a name, -ENOMEM. *ret written only on success. */
int hp_place(const struct hp_place_vm *vm, const struct hp_place_host *hosts, size_t n_hosts,
             enum hp_place_policy policy, struct hp_place_result *ret);

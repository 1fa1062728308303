/* Placement at scale (DESIGN.md §6, issue 16): the cluster's hosts kept in
 * ordered sets, so a power-on reads the few hosts that can win instead of
 * judging every host. It picks the host hp_place() ranks first, with the
 * same filters and ranking (NUMA locality, then free matching devices by
 * the policy, then free memory, then the name), and the same devices; it
 * writes no verdicts and no messages: `vm explain` keeps hp_place().
 *
 * How: devices are grouped in classes (the same IDs, label, attributes and
 * whole-slot answer: what a request entry can tell apart). For each class
 * and each value of "most free devices of the class on one NUMA node", two
 * treaps order the hosts that are up by (free devices of the class, free
 * memory, name), one per policy. A request whose entries all ask for one
 * class walks the hosts that could keep its devices on one node best first,
 * then (when none can) all of them, skipping in O(log n) the runs of hosts
 * with too little memory; the first host the per-host matcher accepts wins.
 * Each step is O(log hosts); the steps are the hosts that looked as good
 * as the winner from the sets and failed the matcher (a same-switch group
 * split across switches) or the caller's filter (files, a failed start).
 *
 * What the sets cannot order exactly is judged by hp_place() over every
 * host, so the answer is the same either way: entries that ask for more
 * than one class (alternatives, an entry without a label where devices
 * carry several), hugepages, a host whose memory is unknown, more than
 * 65,535 hosts, 4,096 free devices of a class on a host, 64 TiB free. The
 * pick says when it fell back. Pure: no I/O, no store. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "place.h"

struct hp_place_index;

int hp_place_index_new(struct hp_place_index **ret);
void hp_place_index_free(struct hp_place_index *x);

/* Adds the host, or replaces the one of that name: state, memory and pools
 * are copied (paths, paths_unchecked, start_failed and note are per VM: see
 * hp_place_index_pick()'s filter). Its number, *ret_host, stays its own
 * until it is removed. */
int hp_place_index_set(struct hp_place_index *x, const struct hp_place_host *h, size_t *ret_host);
int hp_place_index_remove(struct hp_place_index *x, const char *name);

/* The caller's word on host (by name) for this VM: HP_PLACE_FITS, or the
 * reason it cannot take it (HP_PLACE_PATHS, HP_PLACE_START_FAILED). */
typedef enum hp_place_reason (*hp_place_index_filter)(void *userdata, const char *host);

struct hp_place_pick {
        size_t host;      /* the host's number */
        const char *name; /* the index's copy: valid until the host is set or removed */
        bool numa_local;
        size_t *alt;      /* per dynamic entry: the alternative it got */
        size_t *pool;     /* per device, entry after entry: the pool (index into the host's) */
        size_t n_dev;
        bool fallback;    /* decided by hp_place() over every host */
        size_t examined;  /* hosts the matcher ran on (the sets' path) */
};

void hp_place_pick_done(struct hp_place_pick *p);

/* The host hp_place() would rank first for vm among the index's hosts
 * (filter, may be NULL, saying which of them this VM cannot use). 0 with
 * *ret set; -ENODEV when no host fits (ask hp_place() why); -EINVAL for an
 * entry that is not dynamic; -ENOMEM. */
int hp_place_index_pick(struct hp_place_index *x, const struct hp_place_vm *vm, enum hp_place_policy policy,
                        hp_place_index_filter filter, void *userdata, struct hp_place_pick *ret);

/* The devices and memory pick took, taken from its host: one device from
 * each pool the pick names, memory_mib from its free memory. */
int hp_place_index_take(struct hp_place_index *x, const struct hp_place_pick *pick, uint64_t memory_mib);

/* Which stored device entries belong to devices that now stand at another
 * PCI address (a card moved to another slot, buses renumbered, two identical
 * NICs swapped), DESIGN.md §4. Pure: the stored entries and the inventory
 * (with the serials read) in, the matches out. */
#pragma once

#include <stddef.h>

#include "host/pci.h"

struct hp_dev_config;

struct hp_host_state;

enum hp_dev_match_kind {
        /* Same IDs and the same serial, recorded while it was on its host
         * driver: the entry follows it. */
        HP_DEV_MATCH_MOVED,
        /* Devices with the same IDs but no serial to tell (or several): the
         * operator says which one with 'hwpass device adopt'. */
        HP_DEV_MATCH_UNCERTAIN,
        /* Gone from its address (or another device stands there) and no
         * candidate anywhere: forgotten with 'hwpass device forget'. */
        HP_DEV_MATCH_STALE,
};

struct hp_dev_match {
        char from[HP_SBDF_LEN];     /* the stored entry's address */
        enum hp_dev_match_kind kind;
        char to[HP_SBDF_LEN];       /* MOVED: where its device is now; UNCERTAIN: the first candidate */
        size_t n_candidates;        /* UNCERTAIN: how many devices it may be */
        const char *why;            /* UNCERTAIN: "no serial", "several devices", "address taken" */
};

/* One match per stored entry whose device is not (or no longer) at its
 * address, in the order of st->configs. A device that an entry follows is
 * free: it has no entry of its own, or its own entry moves too (a swap). An
 * entry whose serial differs from the one read at its address, with no
 * device carrying its serial elsewhere, stays where it is (an identical
 * replacement). An entry assigned to a VM never moves (its run holds the
 * device at that address). *ret is NULL when nothing matched. */
int hp_dev_match_all(const struct hp_host_state *st, struct hp_dev_match **ret, size_t *ret_n);
/* The MOVED entries' addresses in configs changed to where their devices are. */
int hp_dev_matches_rekey(const struct hp_dev_match *m, size_t n, struct hp_dev_config *configs, size_t n_configs);
/* The match for the entry stored at address that does not move, or NULL. */
const struct hp_dev_match *hp_dev_match_unmoved(const struct hp_dev_match *m, size_t n, const char *address);

/* What the CLI and the API both read before they answer: the PCI inventory
 * with the stored device configurations (and, only when a configured device
 * may have moved, the serials that follow it). */
#pragma once

#include <stddef.h>

#include "host/state.h"

struct hp_dev_config;
struct hp_host;
struct hp_names;
struct hp_pci_inventory;

struct hp_view {
        struct hp_pci_inventory *inv;
        struct hp_dev_config *configs;
        size_t n_configs;
        char **serials;
        struct hp_dev_match *matches; /* entries whose device is not at their address */
        size_t n_matches;
};

/* names NULL: no device names. inv already set in *ret is kept. No database
 * file means nothing configured. An entry whose device moved (same IDs and
 * serial) is shown at its new address: configs[].address is the new one,
 * and the match in matches says where it was stored. On failure *ret_error (malloc'd) says what
 * could not be read. */
int hp_view_load(const struct hp_host *h, struct hp_names *names, const char *db_path, struct hp_view *ret,
                 char **ret_error);
void hp_view_done(struct hp_view *v);
/* The serials of the devices whose IDs some entry has (the rest NULL),
 * parallel to inv->devs; *ret NULL when there are no entries. */
int hp_view_read_serials(const struct hp_host *h, const struct hp_pci_inventory *inv,
                         const struct hp_dev_config *configs, size_t n, char ***ret);
void hp_view_serials_free(const struct hp_pci_inventory *inv, char **serials);

/* The view as the host layer's state functions take it. */
static inline struct hp_host_state hp_view_state(const struct hp_view *v)
{
        return (struct hp_host_state){ .inv = v->inv, .configs = v->configs, .n_configs = v->n_configs,
                                       .serials = v->serials, .matches = v->matches,
                                       .n_matches = v->n_matches };
}

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
};

/* names NULL: no device names. inv already set in *ret is kept. No database
 * file means nothing configured. On failure *ret_error (malloc'd) says what
 * could not be read. */
int hp_view_load(const struct hp_host *h, struct hp_names *names, const char *db_path, struct hp_view *ret,
                 char **ret_error);
void hp_view_done(struct hp_view *v);

/* The view as the host layer's state functions take it. */
static inline struct hp_host_state hp_view_state(const struct hp_view *v)
{
        return (struct hp_host_state){ .inv = v->inv, .configs = v->configs, .n_configs = v->n_configs,
                                       .serials = v->serials };
}

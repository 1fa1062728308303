/* Device names from pciutils' pci.ids through libpci; never a table of our own. */
#pragma once

struct hp_names;
struct hp_pci_dev;

/* ids_path NULL: libpci's default pci.ids. */
int hp_names_new(const char *ids_path, struct hp_names **ret);
void hp_names_free(struct hp_names *n);
static inline void hp_names_freep(struct hp_names **n)
{
        hp_names_free(*n);
}

/* Fills the *_name fields of d; unknown IDs leave them NULL. Safe to call
 * from several threads at once. */
int hp_names_fill(struct hp_names *n, struct hp_pci_dev *d);

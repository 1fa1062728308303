/* JSON views of the host layer's objects (and the store's events), shared by
 * the CLI's --json output, the operations' results and the HTTP API: one schema. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct hp_check_report;
struct hp_host;
struct hp_event;
struct hp_dev_config;
struct hp_host_state;
struct hp_pci_dev;
struct hp_pci_inventory;
struct hp_plan;
struct hp_usb_inventory;

/* All return a new reference, or NULL when out of memory. */
json_t *hp_json_pci_dev(const struct hp_host_state *st, const struct hp_pci_dev *d);
/* One device in detail ('device show', GET /v1/devices/ADDR): hp_json_pci_dev
 * plus "isolation", read from the config space of the ports above it: null
 * when no other endpoint shares its group, else {"cause", "culprit", "why",
 * "fix"}: the function that breaks the group and what would isolate it. */
json_t *hp_json_pci_dev_detail(const struct hp_host *h, const struct hp_host_state *st,
                               const struct hp_pci_dev *d);
/* filter: a predicate on devices, or NULL for all. Configured devices that are
 * gone are listed under "missing_devices". */
json_t *hp_json_pci_devices(const struct hp_host_state *st,
                            bool (*filter)(const struct hp_pci_dev *d, const void *userdata),
                            const void *userdata);
/* The passthrough state, label, attributes, owner and health of one device
 * (d NULL: configured but gone). */
json_t *hp_json_dev_state(const struct hp_host_state *st, const struct hp_pci_dev *d,
                          const struct hp_dev_config *c);
/* The groups, each with why it is not isolated (read from config space). */
json_t *hp_json_iommu_groups(const struct hp_host *h, const struct hp_pci_inventory *inv);
json_t *hp_json_usb(const struct hp_usb_inventory *usb, const struct hp_pci_inventory *inv);
json_t *hp_json_check_report(const struct hp_check_report *rep);
/* A passthrough plan: {"action", "dry_run", "applicable", "applied", "steps":
 * [{"address", "from_driver", "to_driver", "requested"}], "unchanged",
 * "warnings", "refusals", "errors"}. */
json_t *hp_json_plan(const struct hp_plan *p, bool dry_run, bool applied);
/* {"events": [{"id", "at", "kind", "subject", "message"}...]} */
json_t *hp_json_events(const struct hp_event *e, size_t n);

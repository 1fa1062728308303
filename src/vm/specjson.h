/* A VM spec as JSON: how the store keeps it and how --json shows it. */
#pragma once

#include <jansson.h>

struct hp_vm_pci;
struct hp_vm_spec;
struct hp_vm_usb;

/* A new reference, or NULL when out of memory. */
json_t *hp_vm_spec_to_json(const struct hp_vm_spec *s);
/* The VM as --json and the API show it: its spec and its state. */
json_t *hp_vm_to_json(const struct hp_vm_spec *s, const char *state);
/* Parses and validates; -EINVAL with *ret_error (malloc'd) naming the field. */
int hp_vm_spec_from_json(const json_t *j, struct hp_vm_spec *ret, char **ret_error);
/* The same through text (what the store holds). */
int hp_vm_spec_to_text(const struct hp_vm_spec *s, char **ret);
int hp_vm_spec_from_text(const char *text, struct hp_vm_spec *ret, char **ret_error);
/* A VM document from a user (vm define, POST /v1/vms): the spec, and a
 * "state" as hp_vm_to_json() gives it is accepted and ignored, so what was
 * read can be given back. */
int hp_vm_spec_from_document(const char *text, struct hp_vm_spec *ret, char **ret_error);

/* One device entry as the document has it ("index" required when parsing;
 * the API's add routes set it, as the index is chosen when it is added). */
json_t *hp_vm_pci_to_json(const struct hp_vm_pci *p);
json_t *hp_vm_usb_to_json(const struct hp_vm_usb *u);
int hp_vm_pci_from_json(const json_t *o, struct hp_vm_pci *ret, char **ret_error);
int hp_vm_usb_from_json(const json_t *o, struct hp_vm_usb *ret, char **ret_error);

/* {"key": "value"} from "key=value" strings (a device's attributes, an
 * entry's); NULL when out of memory. */
json_t *hp_attrs_to_json(char *const *attrs);

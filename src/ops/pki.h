/* The cluster's certificates (DESIGN.md §6): a certificate authority the
 * administrator keeps, and one certificate per controller signed by it.
 * Agents and the CLI trust the CA; each controller proves itself with its
 * own certificate, so one can be replaced without touching the others. The
 * CA's key never leaves the directory it was made in (not the store, not a
 * controller): a further controller's certificate is made where the key is.
 *
 * Everything here is files in one directory:
 *   ca.crt            the CA certificate: give it to every controller, agent and CLI
 *   ca.key            the CA key (0600): keep it with the administrator, offline
 *   NAME.crt NAME.key a controller's certificate and key (0600), for hwpassd's
 *                     --tls-cert and --tls-key
 * A file is written whole or not at all, and an existing one is never
 * overwritten except by a renewal, which replaces a controller's pair. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct hp_ops_ctx;

#define HP_PKI_CA_DAYS 3650
#define HP_PKI_CERT_DAYS 365
#define HP_PKI_MAX_DAYS 36500
#define HP_PKI_MAX_ADDRESSES 32

struct hp_pki_request {
        const char *dir;               /* the cluster's certificate directory */
        const char *name;              /* the controller: letters, digits, '-', '.', '_' */
        char *const *addresses;        /* DNS names and IP addresses it is reached at;
                                        * none: its name */
        size_t n_addresses;
        unsigned days;                 /* the controller certificate's lifetime; 0: default */
        bool renew;                    /* cert: replace the controller's existing pair */
};

/* Makes the CA (ca.crt, ca.key) and the first controller's pair in dir,
 * created (0700) when missing. Refused (HP_OP_CONFLICT) when dir already
 * holds a CA: a second CA would split the cluster. *ret: {"dir", "ca",
 * "cert", "key", "name", "addresses", "not_after"}. */
int hp_ops_pki_init(struct hp_ops_ctx *c, const struct hp_pki_request *req, json_t **ret);
/* Another controller's pair (or a renewed one) signed by the CA in dir.
 * Refused when dir has no CA, when the pair exists and renew is not set, or
 * when the CA expires before a day has passed. *ret as above. */
int hp_ops_pki_issue(struct hp_ops_ctx *c, const struct hp_pki_request *req, json_t **ret);

/* A DNS name (letters, digits, '-', '.') or an IPv4/IPv6 address. */
bool hp_pki_address_is_valid(const char *s);

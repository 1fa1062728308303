/* Private to src/store/: the seam between the front (store.c) and a backend. */
/* The front reads the URL, checks every argument against the rules store.h
 * gives, and calls the backend the URL names through its ops table. A
 * backend only stores and reads: its operations get arguments already
 * checked, and keep the contracts store.h states (atomicity, -EBUSY, what a
 * failed call leaves behind). SQLite is sqlite*.c; a second backend is a
 * table like hp_store_sqlite_backend, its own files, and a line in store.c's
 * list of backends. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct hp_store_backend;

/* Which flag host_set_flag writes. */
enum hp_host_flag {
        HP_HOST_READY,
        HP_HOST_MAINTENANCE,
};

/* The part of a connection the front keeps. A backend's connection struct
 * begins with it, and the backend's open allocates the whole. */
struct hp_store {
        const struct hp_store_backend *backend;
        int version; /* the schema version, set by the backend's open */
        char *actor; /* recorded with each event, or NULL */
        char *host;  /* the name of the host the connection works on */
};

struct hp_store_backend {
        const char *scheme; /* the URL scheme it serves: "sqlite" */
        const char *alias;  /* another scheme it serves ("postgres"), or NULL */
        /* url is as the caller gave it: "scheme:..." with this backend's
         * scheme, or a plain path for the backend of plain paths (SQLite).
         * The backend reads the rest, and names the store in its messages
         * the way the caller wrote it (minus any secret a URL holds). The
         * connection it returns works on the host HP_STORE_LOCAL_HOST. */
        int (*open)(const char *url, bool readonly, struct hp_store **ret, char **ret_error);
        /* s is not NULL; the front has freed its members, this frees the rest. */
        void (*close)(struct hp_store *s);
        int (*set_busy_timeout)(struct hp_store *s, int ms);
        int (*begin)(struct hp_store *s);
        int (*commit)(struct hp_store *s);
        int (*rollback)(struct hp_store *s);
        /* Inside begin's transaction, before anything is read: waits for the
         * event log's turn (see hp_store_events_turn()). */
        int (*events_turn)(struct hp_store *s);
        /* Inside begin's transaction: hp_store_whole(). */
        int (*whole)(struct hp_store *s);
        /* Devices, VMs and the events added from now on are name's; -ENOENT when
         * there is no such host. The front keeps the name. */
        int (*set_host)(struct hp_store *s, const char *name);
        int (*host_add)(struct hp_store *s, const char *name);

        int (*device_get)(struct hp_store *s, const char *address, struct hp_dev_config *ret);
        int (*device_list)(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n);
        int (*device_put)(struct hp_store *s, const struct hp_dev_config *c);
        int (*device_delete)(struct hp_store *s, const char *address);

        int (*event_add)(struct hp_store *s, const char *kind, const char *subject,
                         const char *message);
        int (*event_list)(struct hp_store *s, int64_t since, size_t limit, struct hp_event **ret,
                          size_t *ret_n);

        int (*vm_get)(struct hp_store *s, const char *name, struct hp_vm_record *ret);
        int (*vm_list)(struct hp_store *s, struct hp_vm_record **ret, size_t *ret_n);
        int (*vm_create)(struct hp_store *s, const char *name, const char *spec_json);
        int (*vm_update_spec)(struct hp_store *s, const char *name, const char *spec_json);
        int (*vm_set_runtime)(struct hp_store *s, const char *name, const char *state, int64_t pid,
                              const char *qmp_path, int64_t started_at);
        int (*vm_delete)(struct hp_store *s, const char *name);
        int (*cluster_vm_delete)(struct hp_store *s, const char *name);
        int (*assign_devices)(struct hp_store *s, const char *vm, char *const *addresses, size_t n,
                              char **ret_conflict);
        int (*release_devices)(struct hp_store *s, const char *vm);
        /* The cluster's VMs: the whole store's, whatever the connection's
         * host. An -ENOENT for a VM or a host is the backend's to find. */
        int (*cluster_vm_list)(struct hp_store *s, const char *host, struct hp_cluster_vm **ret, size_t *ret_n);
        int (*cluster_vm_get)(struct hp_store *s, const char *name, struct hp_cluster_vm *ret);
        int (*cluster_vm_create)(struct hp_store *s, const char *name, const char *host,
                                 const char *spec_json);
        /* hp_store_claim(), all or nothing: its outcome in *ret (ret->conflict
         * NULL on entry); < 0 only when the transaction is lost with it. */
        int (*claim)(struct hp_store *s, const struct hp_store_claim *c,
                     struct hp_store_claim_result *ret);
        /* hp_store_claims() in one step when every claim is claimed (each
         * valid as hp_store_claim() checks them, ret[] zeroed): 1 with each
         * ret[i].epoch, 0 when not all would be (nothing written: the front
         * judges them one by one), < 0 when the transaction is lost. NULL:
         * the front claims one by one. */
        int (*claim_all)(struct hp_store *s, const struct hp_store_claim *c, size_t n,
                         struct hp_store_claim_result *ret);
        /* ret_epoch is never NULL here. */
        int (*vm_place)(struct hp_store *s, const char *name, const char *host,
                        int64_t *ret_epoch);
        int (*vm_unplace)(struct hp_store *s, const char *name, bool keep_host);
        /* ret_host may be NULL here. */
        int (*vm_held_on)(struct hp_store *s, const char *name, char **ret_host);
        int (*vm_set_desired)(struct hp_store *s, const char *name, const char *desired);
        int (*vm_set_start_failures)(struct hp_store *s, const char *name, const char *failures);
        int (*vm_set_moving)(struct hp_store *s, const char *name, const char *host);
        int (*vm_report)(struct hp_store *s, const char *host, const char *name, int64_t epoch,
                         const char *state);

        int (*token_add)(struct hp_store *s, const char *name, const char *hash,
                         enum hp_token_role role, const struct hp_token_scope *scope);
        int (*token_list)(struct hp_store *s, struct hp_token_info **ret, size_t *ret_n);
        int (*token_revoke)(struct hp_store *s, const char *name);
        int (*token_check)(struct hp_store *s, const char *hash, struct hp_token_info *ret);

        /* The cluster's calls. An -ENOENT for a host is the backend's to find. */
        int (*host_set_credential)(struct hp_store *s, const char *name, const char *hash);
        int (*host_revoke)(struct hp_store *s, const char *name);
        int (*host_check)(struct hp_store *s, const char *hash, char **ret_name);
        /* ready: 0 or 1 sets the flag too; -1 leaves it. */
        int (*host_renew)(struct hp_store *s, const char *name, int64_t lease_ms, int ready,
                          int64_t *ret_expires_ms);
        int (*host_report)(struct hp_store *s, const char *name, const char *report_json);
        /* hp_store_inventories(); NULL: the front reads host by host. */
        int (*inventories)(struct hp_store *s, const struct hp_store_report_key *known,
                           size_t n_known, struct hp_store_inventory **ret, size_t *ret_n);
        int (*host_report_get)(struct hp_store *s, const char *name, char **ret_report_json,
                               int64_t *ret_at_ms);
        int (*host_set_flag)(struct hp_store *s, const char *name, enum hp_host_flag flag,
                             bool value);
        int (*host_list)(struct hp_store *s, const char *name, struct hp_host_info **ret, size_t *ret_n);
        int (*join_token_add)(struct hp_store *s, const char *hash, int64_t ttl_ms,
                              int64_t *ret_expires_ms);
        int (*join_token_use)(struct hp_store *s, const char *hash);
        int (*join_token_list)(struct hp_store *s, struct hp_join_token_info **ret,
                               size_t *ret_n);
        /* value NULL: remove it. */
        int (*setting_get)(struct hp_store *s, const char *key, char **ret);
        int (*setting_set)(struct hp_store *s, const char *key, const char *value);
        /* ret_token and ret_holder are never NULL here. */
        int (*leader_acquire)(struct hp_store *s, const char *holder, int64_t ttl_ms,
                              int64_t *ret_token, char **ret_holder);
};

extern const struct hp_store_backend hp_store_sqlite_backend;
#if HP_HAVE_LIBPQ
extern const struct hp_store_backend hp_store_pg_backend; /* pg*.c */
#endif

extern bool hp_store_schema_kept; /* hp_store_keep_schema() */

/* Frees one event's members (backends use it on a row read half-way). */
void hp_event_done(struct hp_event *e);
/* The refusal of the upgrade to schema 7 when name is a VM's on n_hosts
 * hosts (first_host and last_host among them, by name): -EBADMSG, with
 * *ret_error (may be NULL) saying what to do. For both backends' migrations
 * (store-vms.c). */
int hp_store_vm_names_clash(char **ret_error, const char *display, const char *name,
                            int64_t n_hosts, const char *first_host, const char *last_host);
/* hp_store_claim() made of the other operations, not atomic by itself:
 * SQLite's claim wraps it in a savepoint (store-vms.c). */
int hp_store_claim_steps(struct hp_store *s, const struct hp_store_claim *c, int64_t *ret_epoch,
                         char **ret_conflict);
/* Canonical, as sysfs names PCI functions: "dddd:bb:dd.f", lower-case hex. */
bool hp_store_address_is_valid(const char *a);

/* The file an sqlite: URL or a plain path names (within url); -EINVAL with
 * *ret_error for a malformed URL (sqlite.c). */
int hp_store_sqlite_file(const char *url, const char **ret, char **ret_error);

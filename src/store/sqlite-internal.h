/* Private to the SQLite backend (sqlite*.c): its connection, statements and shared helpers. */
/* The front (store.c) has checked every argument before a hp_sqlite_* operation
 * runs; what is here only stores and reads. Nothing outside sqlite*.c includes it. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store-internal.h"
#include "util/macro.h"
#include "util/strutil.h" /* hp_errorf */

enum hp_store_stmt_id {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_SAVEPOINT,
        STMT_RELEASE,
        STMT_ROLLBACK_TO,
        STMT_FOREIGN_KEYS,
        STMT_JOURNAL_WAL,
        STMT_PROBE,
        STMT_HOST_ID,
        STMT_HOST_ADD,
        STMT_DEVICE_GET,
        STMT_DEVICE_LIST,
        STMT_ATTRS_GET,
        STMT_ATTRS_ALL,
        STMT_DEVICE_UPSERT,
        STMT_ATTRS_CLEAR,
        STMT_ATTR_ADD,
        STMT_DEVICE_DELETE,
        STMT_EVENT_ADD,
        STMT_EVENT_LIST,
        STMT_VM_GET,
        STMT_VM_LIST,
        STMT_VM_EXISTS,
        STMT_VM_INSERT,
        STMT_VM_UPDATE_SPEC,
        STMT_VM_SET_RUNTIME,
        STMT_VM_DELETE,
        STMT_VM_DELETE_ANY,
        STMT_DEVICE_HOLDER,
        STMT_DEVICE_ASSIGN,
        STMT_DEVICES_RELEASE,
        STMT_DEVICES_RELEASE_ALL,
        STMT_CVM_GET,
        STMT_CVM_LIST,
        STMT_CVM_INSERT,
        STMT_VM_PLACE,
        STMT_VM_PLACE_WHY,
        STMT_VM_HELD_ON,
        STMT_VM_UNPLACE,
        STMT_VM_SET_DESIRED,
        STMT_VM_SET_START_FAILURES,
        STMT_VM_SET_MOVING,
        STMT_VM_REPORT,
        STMT_VM_NAMED,
        STMT_TOKEN_ADD,
        STMT_TOKEN_LIST,
        STMT_TOKEN_HASHES,
        STMT_TOKEN_GET,
        STMT_TOKEN_USED,
        STMT_TOKEN_REVOKE,
        STMT_HOST_CRED_SET,
        STMT_HOST_CRED_OF,
        STMT_HOST_REVOKE,
        STMT_HOST_CREDS,
        STMT_HOST_RENEW,
        STMT_HOST_REPORT,
        STMT_HOST_REPORT_GET,
        STMT_HOST_READY,
        STMT_HOST_MAINTENANCE,
        STMT_HOST_LIST,
        STMT_JOIN_ADD,
        STMT_JOIN_USE,
        STMT_JOIN_STATE,
        STMT_JOIN_LIST,
        STMT_LEADER_TAKE,
        STMT_LEADER_HOLDER,
        STMT_SETTING_GET,
        STMT_SETTING_SET,
        STMT_SETTING_UNSET,
        _STMT_MAX,
};

/* The SQL of each statement id (sqlite-sql.c). */
extern const char *const hp_sqlite_stmt_sql[_STMT_MAX];

/* The connection's host in every statement on a host's rows (devices,
 * device_attrs, vms, events): a parameter numbered above any statement's
 * own, which hp_sqlite_stmt_get() binds at each use. */
#define HOST_PARAM 20
#define HOST       "?20"

/* Column order of STMT_DEVICE_GET/LIST and parameter order (+1) of STMT_DEVICE_UPSERT:
 * the SQL is in store.c's statement table, the code that reads rows in devices.c. */
enum {
        COL_ADDRESS,
        COL_VENDOR_ID,
        COL_DEVICE_ID,
        COL_SUBSYSTEM_VENDOR_ID,
        COL_SUBSYSTEM_DEVICE_ID,
        COL_SERIAL,
        COL_SLOT,
        COL_DESIRED,
        COL_HOST_DRIVER,
        COL_LABEL,
        COL_HEALTH,
        COL_REASON,
        COL_ASSIGNED_VM,
        COL_UPDATED_AT,
};

#define DEVICE_COLUMNS                                                                             \
        "address, vendor_id, device_id, subsystem_vendor_id, subsystem_device_id, serial, slot, "  \
        "desired, host_driver, label, health, reason, assigned_vm, updated_at"

/* Column order of STMT_VM_GET/LIST; the code that reads them is in vms.c. */
enum {
        VCOL_NAME,
        VCOL_SPEC,
        VCOL_STATE,
        VCOL_PID,
        VCOL_QMP_PATH,
        VCOL_STARTED_AT,
        VCOL_CREATED_AT,
        VCOL_UPDATED_AT,
};

#define VM_COLUMNS "name, spec, state, pid, qmp_path, started_at, created_at, updated_at"

/* Column order of STMT_CVM_GET/LIST (vms AS v, hosts AS h); the code that
 * reads them is in sqlite-placement.c. */
enum {
        CVCOL_NAME,
        CVCOL_HOST,
        CVCOL_SPEC,
        CVCOL_STATE,
        CVCOL_DESIRED,
        CVCOL_REPORTED_STATE,
        CVCOL_EPOCH,
        CVCOL_REPORTED_MS,
        CVCOL_PID,
        CVCOL_STARTED_AT,
        CVCOL_CREATED_AT,
        CVCOL_UPDATED_AT,
        CVCOL_START_FAILURES,
        CVCOL_MOVING_FROM,
};

#define CLUSTER_VM_COLUMNS                                                                         \
        "v.name, h.name, v.spec, v.state, v.desired, v.reported_state, v.epoch, v.reported_ms, "   \
        "v.pid, v.started_at, v.created_at, v.updated_at, v.start_failures, v.moving_from"

/* A connection: the front's part first, so a struct hp_store * the front
 * hands over is one of these (hp_sqlite()). */
struct hp_sqlite {
        struct hp_store store;
        sqlite3 *db;
        bool in_tx;      /* hp_store_begin() opened a transaction the caller has not ended */
        int64_t host_id; /* hosts.id of the host the connection works on */
        sqlite3_stmt *stmts[_STMT_MAX];
};

static inline struct hp_sqlite *hp_sqlite(struct hp_store *s)
{
        _Static_assert(offsetof(struct hp_sqlite, store) == 0, "the front's part comes first");
        return (struct hp_sqlite *)s;
}

/* Only called for failures: anything unexpected, SQLITE_ROW included, is -EIO. */
int hp_sqlite_errno(struct sqlite3 *db, int rc);
static inline int hp_sqlite_errno_rc(struct hp_sqlite *s, int rc)
{
        return hp_sqlite_errno(s->db, rc);
}

/* The cached statement id, prepared on first use and kept until close. */
int hp_sqlite_stmt_get(struct hp_sqlite *s, enum hp_store_stmt_id id, sqlite3_stmt **ret);
/* hp_sqlite_tx_check(), then hp_sqlite_stmt_get(): how an operation starts. */
int hp_sqlite_stmt_use(struct hp_sqlite *s, enum hp_store_stmt_id id, sqlite3_stmt **ret);
/* Readies a cached statement for its next use when it goes out of scope. */
void hp_sqlite_stmt_resetp(sqlite3_stmt **st);
#define _cleanup_stmt_ _cleanup_(hp_sqlite_stmt_resetp)
/* The first failure among a statement's bind calls, as -errno. */
int hp_sqlite_binds_ok(struct hp_sqlite *s, const int *rcs, size_t n);
/* Steps a statement that returns no rows. */
int hp_sqlite_step_done(struct hp_sqlite *s, sqlite3_stmt *st);
/* Steps a write: -ENOENT when it changed no row. */
int hp_sqlite_step_changed(struct hp_sqlite *s, sqlite3_stmt *st);
/* Steps a write whose RETURNING gives one integer, into *ret: -ENOENT when
 * it wrote no row. */
int hp_sqlite_step_returning(struct hp_sqlite *s, sqlite3_stmt *st, int64_t *ret);
/* A text column that must be there (-EBADMSG when NULL); valid until the next step. */
int hp_sqlite_column_text(sqlite3_stmt *st, int col, const char **ret);
/* The name of the row whose hash (or credential) is hash, into *ret_name
 * (NULL when none), stmt giving (name, hash) rows: the API's tokens, the
 * hosts' credentials. Every row is read and compared in full, in constant
 * time: no early exit on a match (sqlite-tokens.c). */
int hp_sqlite_find_hash(struct hp_sqlite *s, int stmt, const char *hash, char **ret_name);
/* A copy of a text column, NULL for SQL NULL. */
int hp_sqlite_column_strdup(sqlite3_stmt *st, int col, char **ret);
/* Steps st to its end, appending what row() makes of each row to the array
 * *v of *n elements of elem_size bytes. row() writes its element only on
 * success. *v and *n grow as rows arrive; the caller frees them either way. */
int hp_sqlite_read_rows(struct hp_sqlite *s, sqlite3_stmt *st, size_t elem_size,
                        int (*row)(sqlite3_stmt *st, void *ret), void **v, size_t *n);

enum hp_store_tx_mode {
        TX_BEGIN,     /* our own write transaction */
        TX_SAVEPOINT, /* inside the caller's, or our own read transaction */
};
/* -ECANCELED when SQLite rolled back the caller's transaction on an error. */
int hp_sqlite_tx_check(struct hp_sqlite *s);
/* Makes one operation atomic: a write transaction of its own, or a
 * savepoint; end it with hp_sqlite_tx_leave(s, mode, the operation's result). */
int hp_sqlite_tx_enter(struct hp_sqlite *s, bool write, enum hp_store_tx_mode *ret_mode);
int hp_sqlite_tx_leave(struct hp_sqlite *s, enum hp_store_tx_mode mode, int r);

/* Frees vm's devices, the connection's host's or (all_hosts) every host's;
 * returns how many (sqlite-vms.c). */
int hp_sqlite_release(struct hp_sqlite *s, bool all_hosts, const char *vm);
/* Unix milliseconds by this process's clock: the cluster's times on SQLite
 * (sqlite-cluster.c). */
int64_t hp_sqlite_now_ms(void);

/* Brings the schema up to date, one transaction per migration (sqlite-migrations.c);
 * read-only, checks that it is. -EPROTONOSUPPORT for a newer database. Messages name
 * the database as display. */
int hp_sqlite_migrate(struct sqlite3 *db, const char *display, bool readonly, int *ret_version,
                      char **ret_error);

/* The backend's operations, as the front's ops table (sqlite.c) lists them;
 * each does what store.h says of the hp_store_* function of the same name. */
int hp_sqlite_device_get(struct hp_store *s, const char *address, struct hp_dev_config *ret);
int hp_sqlite_device_list(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n);
int hp_sqlite_device_put(struct hp_store *s, const struct hp_dev_config *c);
int hp_sqlite_device_delete(struct hp_store *s, const char *address);
int hp_sqlite_vm_get(struct hp_store *s, const char *name, struct hp_vm_record *ret);
int hp_sqlite_vm_list(struct hp_store *s, struct hp_vm_record **ret, size_t *ret_n);
int hp_sqlite_vm_create(struct hp_store *s, const char *name, const char *spec_json);
int hp_sqlite_vm_update_spec(struct hp_store *s, const char *name, const char *spec_json);
int hp_sqlite_vm_set_runtime(struct hp_store *s, const char *name, const char *state, int64_t pid,
                             const char *qmp_path, int64_t started_at);
int hp_sqlite_vm_delete(struct hp_store *s, const char *name);
int hp_sqlite_cluster_vm_delete(struct hp_store *s, const char *name);
int hp_sqlite_assign_devices(struct hp_store *s, const char *vm, char *const *addresses, size_t n,
                             char **ret_conflict);
int hp_sqlite_release_devices(struct hp_store *s, const char *vm);
/* The cluster's VMs (sqlite-placement.c). */
int hp_sqlite_cluster_vm_list(struct hp_store *s, const char *host, struct hp_cluster_vm **ret, size_t *ret_n);
int hp_sqlite_cluster_vm_get(struct hp_store *s, const char *name, struct hp_cluster_vm *ret);
int hp_sqlite_cluster_vm_create(struct hp_store *s, const char *name, const char *host,
                                const char *spec_json);
int hp_sqlite_vm_place(struct hp_store *s, const char *name, const char *host, int64_t *ret_epoch);
int hp_sqlite_vm_held_on(struct hp_store *s, const char *name, char **ret_host);
int hp_sqlite_claim(struct hp_store *s, const struct hp_store_claim *c,
                    struct hp_store_claim_result *ret);
int hp_sqlite_vm_unplace(struct hp_store *s, const char *name, bool keep_host);
int hp_sqlite_vm_set_desired(struct hp_store *s, const char *name, const char *desired);
int hp_sqlite_vm_set_start_failures(struct hp_store *s, const char *name, const char *failures);
int hp_sqlite_vm_set_moving(struct hp_store *s, const char *name, const char *host);
int hp_sqlite_vm_report(struct hp_store *s, const char *host, const char *name, int64_t epoch,
                        const char *state);
int hp_sqlite_token_add(struct hp_store *s, const char *name, const char *hash,
                        enum hp_token_role role, const struct hp_token_scope *scope);
int hp_sqlite_token_list(struct hp_store *s, struct hp_token_info **ret, size_t *ret_n);
int hp_sqlite_token_revoke(struct hp_store *s, const char *name);
int hp_sqlite_token_check(struct hp_store *s, const char *hash, struct hp_token_info *ret);
/* The cluster's (sqlite-cluster.c). */
int hp_sqlite_host_set_credential(struct hp_store *s, const char *name, const char *hash);
int hp_sqlite_host_revoke(struct hp_store *s, const char *name);
int hp_sqlite_host_check(struct hp_store *s, const char *hash, char **ret_name);
int hp_sqlite_host_renew(struct hp_store *s, const char *name, int64_t lease_ms, int ready,
                         int64_t *ret_expires_ms);
int hp_sqlite_host_report(struct hp_store *s, const char *name, const char *report_json);
int hp_sqlite_host_report_get(struct hp_store *s, const char *name, char **ret_report_json, int64_t *ret_at_ms);
int hp_sqlite_host_set_flag(struct hp_store *s, const char *name, enum hp_host_flag flag, bool value);
int hp_sqlite_host_list(struct hp_store *s, const char *name, struct hp_host_info **ret, size_t *ret_n);
int hp_sqlite_join_token_add(struct hp_store *s, const char *hash, int64_t ttl_ms, int64_t *ret_expires_ms);
int hp_sqlite_join_token_use(struct hp_store *s, const char *hash);
int hp_sqlite_join_token_list(struct hp_store *s, struct hp_join_token_info **ret, size_t *ret_n);
int hp_sqlite_setting_get(struct hp_store *s, const char *key, char **ret);
int hp_sqlite_setting_set(struct hp_store *s, const char *key, const char *value);
int hp_sqlite_leader_acquire(struct hp_store *s, const char *holder, int64_t ttl_ms, int64_t *ret_token, char **ret_holder);

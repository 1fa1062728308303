/* Private to src/store/: the connection, its cached statements, and the helpers its files share. */
/* Included only by store.c, devices.c, vms.c, tokens.c and migrations.c; callers use store.h. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"
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
        STMT_DEVICE_HOLDER,
        STMT_DEVICE_ASSIGN,
        STMT_DEVICES_RELEASE,
        STMT_TOKEN_ADD,
        STMT_TOKEN_LIST,
        STMT_TOKEN_HASHES,
        STMT_TOKEN_USED,
        STMT_TOKEN_REVOKE,
        _STMT_MAX,
};

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

struct hp_store {
        sqlite3 *db;
        bool in_tx; /* hp_store_begin() opened a transaction the caller has not ended */
        int version;
        char *actor; /* recorded with each event, or NULL */
        sqlite3_stmt *stmts[_STMT_MAX];
};

/* Only called for failures: anything unexpected, SQLITE_ROW included, is -EIO. */
int hp_store_errno_from_sqlite(struct sqlite3 *db, int rc);
static inline int hp_store_errno_from_rc(struct hp_store *s, int rc)
{
        return hp_store_errno_from_sqlite(s->db, rc);
}

/* The cached statement id, prepared on first use and kept until close. */
int hp_store_stmt_get(struct hp_store *s, enum hp_store_stmt_id id, sqlite3_stmt **ret);
/* hp_store_tx_check(), then hp_store_stmt_get(): how an operation starts. */
int hp_store_stmt_use(struct hp_store *s, enum hp_store_stmt_id id, sqlite3_stmt **ret);
/* Readies a cached statement for its next use when it goes out of scope. */
void hp_store_stmt_resetp(sqlite3_stmt **st);
#define _cleanup_stmt_ _cleanup_(hp_store_stmt_resetp)
/* The first failure among a statement's bind calls, as -errno. */
int hp_store_binds_ok(struct hp_store *s, const int *rcs, size_t n);
/* Steps a statement that returns no rows. */
int hp_store_step_done(struct hp_store *s, sqlite3_stmt *st);
/* A text column that must be there (-EBADMSG when NULL); valid until the next step. */
int hp_store_column_text(sqlite3_stmt *st, int col, const char **ret);
/* A copy of a text column, NULL for SQL NULL. */
int hp_store_column_strdup(sqlite3_stmt *st, int col, char **ret);
/* Steps st to its end, appending what row() makes of each row to the array
 * *v of *n elements of elem_size bytes. row() writes its element only on
 * success. *v and *n grow as rows arrive; the caller frees them either way. */
int hp_store_read_rows(struct hp_store *s, sqlite3_stmt *st, size_t elem_size,
                       int (*row)(sqlite3_stmt *st, void *ret), void **v, size_t *n);
/* Canonical, as sysfs names PCI functions: "dddd:bb:dd.f", lower-case hex. */
bool hp_store_address_is_valid(const char *a);

enum hp_store_tx_mode {
        TX_BEGIN,     /* our own write transaction */
        TX_SAVEPOINT, /* inside the caller's, or our own read transaction */
};
/* -ECANCELED when SQLite rolled back the caller's transaction on an error. */
int hp_store_tx_check(struct hp_store *s);
/* Makes one operation atomic: a write transaction of its own, or a
 * savepoint; end it with hp_store_tx_leave(s, mode, the operation's result). */
int hp_store_tx_enter(struct hp_store *s, bool write, enum hp_store_tx_mode *ret_mode);
int hp_store_tx_leave(struct hp_store *s, enum hp_store_tx_mode mode, int r);

/* Brings the schema up to date, one transaction per migration; read-only,
 * checks that it is. -EPROTONOSUPPORT for a newer database. */
int hp_store_migrate(struct sqlite3 *db, const char *path, bool readonly, int *ret_version,
                     char **ret_error);

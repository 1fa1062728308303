/* The SQLite backend's cluster VMs: the whole store's VMs, their placement,
 * desired state and reports (schema 7). */
/* Hosts are named, not numbered, in these calls: a claim is made for any
 * host, whatever the connection's. Each call that reads after it writes
 * (to say why a write missed) or writes twice runs in a transaction of its
 * own or a savepoint of the caller's (hp_sqlite_tx_enter()), so its answer
 * and its change are of one state. */
#include "sqlite-internal.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"

static int row_to_cluster_vm(sqlite3_stmt *st, void *ret)
{
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = {0};
        const struct {
                int col;
                char **dst;
        } strs[] = {
                {CVCOL_NAME, &v.name},       {CVCOL_HOST, &v.host},
                {CVCOL_SPEC, &v.spec_json},  {CVCOL_STATE, &v.state},
                {CVCOL_DESIRED, &v.desired}, {CVCOL_REPORTED_STATE, &v.reported_state},
                {CVCOL_START_FAILURES, &v.start_failures}, {CVCOL_MOVING_FROM, &v.moving_from},
        };
        const struct {
                int col;
                int64_t *dst;
        } ints[] = {
                {CVCOL_EPOCH, &v.epoch},           {CVCOL_REPORTED_MS, &v.reported_ms},
                {CVCOL_PID, &v.pid},               {CVCOL_STARTED_AT, &v.started_at},
                {CVCOL_CREATED_AT, &v.created_at}, {CVCOL_UPDATED_AT, &v.updated_at},
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                r = hp_sqlite_column_strdup(st, strs[i].col, strs[i].dst);
                if (r < 0)
                        return r;
        }
        /* NOT NULL in the schema: missing only in a damaged file. */
        if (!v.name || !v.spec_json || !v.state || !v.desired)
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(ints); i++)
                *ints[i].dst = sqlite3_column_int64(st, ints[i].col);
        *(struct hp_cluster_vm *)ret = v;
        v = (struct hp_cluster_vm){0};
        return 0;
}

/* The VMs id returns, limited to name when not NULL; one statement reads one snapshot. */
static int read_cluster_vms(struct hp_sqlite *s, enum hp_store_stmt_id id, const char *name,
                            struct hp_cluster_vm **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        void *v = NULL;
        size_t n = 0;
        int r, rc;

        r = hp_sqlite_stmt_use(s, id, &st);
        if (r < 0)
                return r;
        rc = name ? sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) : SQLITE_OK;
        if (rc != SQLITE_OK)
                return hp_sqlite_errno_rc(s, rc);
        r = hp_sqlite_read_rows(s, st, sizeof(struct hp_cluster_vm), row_to_cluster_vm, &v, &n);
        if (r < 0) {
                hp_cluster_vms_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int hp_sqlite_cluster_vm_list(struct hp_store *s, const char *host, struct hp_cluster_vm **ret, size_t *ret_n)
{
        return read_cluster_vms(hp_sqlite(s), STMT_CVM_LIST, host, ret, ret_n);
}

int hp_sqlite_cluster_vm_get(struct hp_store *s, const char *name, struct hp_cluster_vm *ret)
{
        struct hp_cluster_vm *v = NULL;
        size_t n = 0;
        int r;

        r = read_cluster_vms(hp_sqlite(s), STMT_CVM_GET, name, &v, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return -ENOENT;
        *ret = v[0];
        free(v);
        return 0;
}

/* The statement id with ?1 the VM's name, ?2 text (when not NULL), ?3 the
 * time in unix seconds (when it has a ?3), ready to step. */
static int prepare(struct hp_sqlite *s, enum hp_store_stmt_id id, const char *name,
                   const char *text, sqlite3_stmt **ret)
{
        sqlite3_stmt *st;
        int r;

        r = hp_sqlite_stmt_use(s, id, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                text ? sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC) : SQLITE_OK,
                sqlite3_bind_parameter_count(st) >= 3
                        ? sqlite3_bind_int64(st, 3, (int64_t)time(NULL))
                        : SQLITE_OK,
        };
        *ret = st;
        return hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
}

int hp_sqlite_cluster_vm_create(struct hp_store *store, const char *name, const char *host,
                                const char *spec_json)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, STMT_CVM_INSERT, name, spec_json, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 4, host, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return hp_sqlite_errno_rc(s, rc);
        /* The name taken: the primary key says -EEXIST; no row: no such host. */
        return hp_sqlite_step_changed(s, st);
}

/* Why a claim missed: -ENOENT for a missing VM or host, else -EBUSY (the
 * VM holds another host's devices). */
static int place_refusal(struct hp_sqlite *s, const char *name, const char *host)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, STMT_VM_PLACE_WHY, name, host, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        return sqlite3_column_int64(st, 0) != 0 ? -EBUSY : -ENOENT;
}

static int place(struct hp_sqlite *s, const char *name, const char *host, int64_t *ret_epoch)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = prepare(s, STMT_VM_PLACE, name, host, &st);
        if (r >= 0)
                r = hp_sqlite_step_returning(s, st, ret_epoch);
        return r == -ENOENT ? place_refusal(s, name, host) : r;
}

int hp_sqlite_vm_place(struct hp_store *store, const char *name, const char *host,
                       int64_t *ret_epoch)
{
        struct hp_sqlite *s = hp_sqlite(store);
        enum hp_store_tx_mode mode;
        int64_t epoch = 0;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        r = hp_sqlite_tx_leave(s, mode, place(s, name, host, &epoch));
        if (r < 0)
                return r;
        *ret_epoch = epoch;
        return 0;
}

int hp_sqlite_vm_held_on(struct hp_store *store, const char *name, char **ret_host)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, STMT_VM_HELD_ON, name, NULL, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return 0;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        if (ret_host) {
                *ret_host = strdup((const char *)sqlite3_column_text(st, 0));
                if (!*ret_host)
                        return -ENOMEM;
        }
        return 1;
}

/* The claim's steps under a savepoint: a refusal undoes what they wrote
 * and leaves the caller's transaction going. */
int hp_sqlite_claim(struct hp_store *store, const struct hp_store_claim *c,
                    struct hp_store_claim_result *ret)
{
        struct hp_sqlite *s = hp_sqlite(store);
        enum hp_store_tx_mode mode;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        r = hp_sqlite_tx_leave(s, mode, hp_store_claim_steps(store, c, &ret->epoch, &ret->conflict));
        if (r < 0 && hp_sqlite_tx_check(s) < 0)
                return r;
        ret->r = r;
        if (r < 0)
                ret->epoch = 0;
        return 0;
}

static int unplace(struct hp_sqlite *s, const char *name, bool keep_host)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, STMT_VM_UNPLACE, name, NULL, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_int(st, 2, keep_host);
        if (rc != SQLITE_OK)
                return hp_sqlite_errno_rc(s, rc);
        r = hp_sqlite_step_changed(s, st);
        if (r < 0)
                return r;
        r = hp_sqlite_release(s, true, name);
        return r < 0 ? r : 0;
}

int hp_sqlite_vm_unplace(struct hp_store *store, const char *name, bool keep_host)
{
        struct hp_sqlite *s = hp_sqlite(store);
        enum hp_store_tx_mode mode;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        return hp_sqlite_tx_leave(s, mode, unplace(s, name, keep_host));
}

/* Statement id sets one column of VM name to value (?2; NULL when value is NULL, unbound). */
static int vm_set(struct hp_store *store, enum hp_store_stmt_id id, const char *name, const char *value)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, id, name, value, &st);

        return r < 0 ? r : hp_sqlite_step_changed(s, st);
}

int hp_sqlite_vm_set_desired(struct hp_store *store, const char *name, const char *desired)
{
        return vm_set(store, STMT_VM_SET_DESIRED, name, desired);
}

int hp_sqlite_vm_set_start_failures(struct hp_store *store, const char *name, const char *failures)
{
        return vm_set(store, STMT_VM_SET_START_FAILURES, name, failures);
}

int hp_sqlite_vm_set_moving(struct hp_store *store, const char *name, const char *host)
{
        return vm_set(store, STMT_VM_SET_MOVING, name, host);
}

/* HP_STORE_REPORT_STALE for a VM that is there, -ENOENT for one that is not. */
static int report_missed(struct hp_sqlite *s, const char *name)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = hp_sqlite_stmt_use(s, STMT_VM_NAMED, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        return sqlite3_column_int64(st, 0) > 0 ? HP_STORE_REPORT_STALE : -ENOENT;
}

static int report(struct hp_sqlite *s, const char *host, const char *name, int64_t epoch,
                  const char *state)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_VM_REPORT, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 3, epoch),
                sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 9, hp_sqlite_now_ms()),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        r = hp_sqlite_step_changed(s, st);
        return r == -ENOENT ? report_missed(s, name) : r;
}

int hp_sqlite_vm_report(struct hp_store *store, const char *host, const char *name, int64_t epoch,
                        const char *state)
{
        struct hp_sqlite *s = hp_sqlite(store);
        enum hp_store_tx_mode mode;
        int r, stale;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        stale = report(s, host, name, epoch, state);
        r = hp_sqlite_tx_leave(s, mode, stale);
        return r < 0 ? r : stale;
}

/* The SQLite backend's VMs of the connection's host (table vms), and devices assigned to VMs (devices.assigned_vm). */
/* The store keeps the vm layer's spec as an opaque JSON text and checks
 * only what keeps the rows consistent: a device is held by at most one VM,
 * and a VM's devices go free with it. The whole store's VMs, placed or not,
 * are sqlite-placement.c's. */
#include "sqlite-internal.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"

/* Binds the text a statement is limited to (a VM name, an address) as ?1. */
static int bind_key(struct hp_sqlite *s, sqlite3_stmt *st, const char *key)
{
        int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);

        return rc == SQLITE_OK ? 0 : hp_sqlite_errno_rc(s, rc);
}

static int row_to_record(sqlite3_stmt *st, void *ret)
{
        _cleanup_(hp_vm_record_done) struct hp_vm_record v = {0};
        const struct {
                int col;
                char **dst;
        } strs[] = {
                {VCOL_NAME, &v.name},
                {VCOL_SPEC, &v.spec_json},
                {VCOL_STATE, &v.state},
                {VCOL_QMP_PATH, &v.qmp_path},
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                r = hp_sqlite_column_strdup(st, strs[i].col, strs[i].dst);
                if (r < 0)
                        return r;
        }
        /* NOT NULL in the schema: missing only in a damaged file. */
        if (!v.name || !v.spec_json || !v.state)
                return -EBADMSG;
        v.pid = sqlite3_column_int64(st, VCOL_PID);
        v.started_at = sqlite3_column_int64(st, VCOL_STARTED_AT);
        v.created_at = sqlite3_column_int64(st, VCOL_CREATED_AT);
        v.updated_at = sqlite3_column_int64(st, VCOL_UPDATED_AT);
        *(struct hp_vm_record *)ret = v;
        v = (struct hp_vm_record){0};
        return 0;
}

/* The rows id returns (limited to name when not NULL). One statement reads
 * one snapshot, so no transaction is needed. *v and *n grow as rows
 * arrive; the caller frees them either way. */
static int read_vms(struct hp_sqlite *s, enum hp_store_stmt_id id, const char *name,
                    struct hp_vm_record **v, size_t *n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        void *p;
        int r;

        r = hp_sqlite_stmt_use(s, id, &st);
        if (r < 0)
                return r;
        if (name) {
                r = bind_key(s, st, name);
                if (r < 0)
                        return r;
        }
        p = *v;
        r = hp_sqlite_read_rows(s, st, sizeof(**v), row_to_record, &p, n);
        *v = p;
        return r;
}

int hp_sqlite_vm_get(struct hp_store *s, const char *name, struct hp_vm_record *ret)
{
        struct hp_vm_record *v = NULL;
        size_t n = 0;
        int r;

        r = read_vms(hp_sqlite(s), STMT_VM_GET, name, &v, &n);
        if (r < 0 || n == 0) {
                hp_vm_records_free(v, n);
                return r < 0 ? r : -ENOENT;
        }
        *ret = v[0];
        free(v);
        return 0;
}

int hp_sqlite_vm_list(struct hp_store *s, struct hp_vm_record **ret, size_t *ret_n)
{
        struct hp_vm_record *v = NULL;
        size_t n = 0;
        int r;

        r = read_vms(hp_sqlite(s), STMT_VM_LIST, NULL, &v, &n);
        if (r < 0) {
                hp_vm_records_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* STMT_VM_INSERT and STMT_VM_UPDATE_SPEC take the same parameters:
 * name, spec, now. */
static int bind_name_spec(struct hp_sqlite *s, enum hp_store_stmt_id id, const char *name,
                          const char *spec_json, sqlite3_stmt **ret)
{
        int r;

        r = hp_sqlite_stmt_use(s, id, ret);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(*ret, 1, name, -1, SQLITE_STATIC),
                sqlite3_bind_text(*ret, 2, spec_json, -1, SQLITE_STATIC),
                sqlite3_bind_int64(*ret, 3, (int64_t)time(NULL)),
        };
        return hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
}

int hp_sqlite_vm_create(struct hp_store *store, const char *name, const char *spec_json)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = bind_name_spec(s, STMT_VM_INSERT, name, spec_json, &st);

        if (r < 0)
                return r;
        /* The only constraint the bound values can break is the primary key: -EEXIST. */
        return hp_sqlite_step_done(s, st);
}

int hp_sqlite_vm_update_spec(struct hp_store *store, const char *name, const char *spec_json)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = bind_name_spec(s, STMT_VM_UPDATE_SPEC, name, spec_json, &st);

        if (r < 0)
                return r;
        return hp_sqlite_step_changed(s, st);
}

int hp_sqlite_vm_set_runtime(struct hp_store *store, const char *name, const char *state,
                             int64_t pid, const char *qmp_path, int64_t started_at)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_VM_SET_RUNTIME, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 3, pid),
                sqlite3_bind_text(st, 4, qmp_path, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 5, started_at),
                sqlite3_bind_int64(st, 6, (int64_t)time(NULL)),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        return hp_sqlite_step_changed(s, st);
}

int hp_sqlite_release(struct hp_sqlite *s, bool all_hosts, const char *vm)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_get(s, all_hosts ? STMT_DEVICES_RELEASE_ALL : STMT_DEVICES_RELEASE,
                               &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, vm, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 2, (int64_t)time(NULL)),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        r = hp_sqlite_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db);
}

/* The VM's row (the connection's host's, or any host's) and its devices' assignments. */
static int delete_rows(struct hp_sqlite *s, const char *name, bool any_host)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_get(s, any_host ? STMT_VM_DELETE_ANY : STMT_VM_DELETE, &st);
        if (r < 0)
                return r;
        r = bind_key(s, st, name);
        if (r < 0)
                return r;
        r = hp_sqlite_step_changed(s, st);
        if (r < 0)
                return r;
        r = hp_sqlite_release(s, true, name);
        return r < 0 ? r : 0;
}

static int delete_vm(struct hp_store *store, const char *name, bool any_host)
{
        struct hp_sqlite *s = hp_sqlite(store);
        enum hp_store_tx_mode mode;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        return hp_sqlite_tx_leave(s, mode, delete_rows(s, name, any_host));
}

int hp_sqlite_vm_delete(struct hp_store *store, const char *name)
{
        return delete_vm(store, name, false);
}

int hp_sqlite_cluster_vm_delete(struct hp_store *store, const char *name)
{
        return delete_vm(store, name, true);
}

int hp_sqlite_release_devices(struct hp_store *store, const char *vm)
{
        struct hp_sqlite *s = hp_sqlite(store);
        int r;

        r = hp_sqlite_tx_check(s);
        if (r < 0)
                return r;
        return hp_sqlite_release(s, false, vm);
}

static int vm_exists(struct hp_sqlite *s, const char *name)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = hp_sqlite_stmt_get(s, STMT_VM_EXISTS, &st);
        if (r < 0)
                return r;
        r = bind_key(s, st, name);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        return sqlite3_column_int64(st, 0) > 0 ? 0 : -ENOENT;
}

/* Who holds address now: *ret_holder is NULL when it is free. */
static int holder_of(struct hp_sqlite *s, const char *address, char **ret_holder)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = hp_sqlite_stmt_get(s, STMT_DEVICE_HOLDER, &st);
        if (r < 0)
                return r;
        r = bind_key(s, st, address);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        return hp_sqlite_column_strdup(st, 0, ret_holder);
}

static int assign_one(struct hp_sqlite *s, const char *vm, const char *address, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_get(s, STMT_DEVICE_ASSIGN, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, vm, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 3, now),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        return hp_sqlite_step_done(s, st);
}

/* Runs under the write lock, so what holder_of() reads cannot change
 * before the update: no other connection can assign in between. */
static int assign_rows(struct hp_sqlite *s, const char *vm, char *const *addresses, size_t n,
                       char **ret_conflict)
{
        int64_t now = (int64_t)time(NULL);
        int r;

        r = vm_exists(s, vm);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *holder = NULL;

                r = holder_of(s, addresses[i], &holder);
                if (r == -ENOENT)
                        return hp_errorf(ret_conflict, r, "%s", addresses[i]);
                if (r < 0)
                        return r;
                if (holder && streq(holder, vm))
                        continue;
                if (holder)
                        return hp_errorf(ret_conflict, -EBUSY, "%s (held by %s)", addresses[i],
                                        holder);
                r = assign_one(s, vm, addresses[i], now);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The write transaction (or the caller's, which holds the write lock since
 * its BEGIN IMMEDIATE) is what makes this atomic across processes. */
int hp_sqlite_assign_devices(struct hp_store *store, const char *vm, char *const *addresses,
                             size_t n, char **ret_conflict)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_free_ char *blame = NULL;
        enum hp_store_tx_mode mode;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        r = hp_sqlite_tx_leave(s, mode, assign_rows(s, vm, addresses, n, &blame));
        if (r < 0 && blame && ret_conflict)
                *ret_conflict = TAKE_PTR(blame);
        return r;
}

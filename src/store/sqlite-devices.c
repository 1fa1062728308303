/* The SQLite backend's device rows: the devices and device_attrs tables. */
#include "sqlite-internal.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"

static int column_u16(sqlite3_stmt *st, int col, uint16_t *ret)
{
        sqlite3_int64 v = sqlite3_column_int64(st, col);

        if (v < 0 || v > UINT16_MAX)
                return -EBADMSG;
        *ret = (uint16_t)v;
        return 0;
}

static int row_to_config(sqlite3_stmt *st, void *ret)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config c = {0};
        const struct {
                int col;
                char **dst;
        } strs[] = {
                {COL_SERIAL, &c.serial},           {COL_SLOT, &c.slot},
                {COL_HOST_DRIVER, &c.host_driver}, {COL_LABEL, &c.label},
                {COL_HEALTH, &c.health},           {COL_REASON, &c.reason},
                {COL_ASSIGNED_VM, &c.assigned_vm},
        };
        const struct {
                int col;
                uint16_t *dst;
        } ids[] = {
                {COL_VENDOR_ID, &c.vendor_id},
                {COL_DEVICE_ID, &c.device_id},
                {COL_SUBSYSTEM_VENDOR_ID, &c.subsystem_vendor_id},
                {COL_SUBSYSTEM_DEVICE_ID, &c.subsystem_device_id},
        };
        const char *address;
        int r;

        r = hp_sqlite_column_text(st, COL_ADDRESS, &address);
        if (r < 0)
                return r;
        if (strlen(address) >= sizeof(c.address))
                return -EBADMSG;
        memcpy(c.address, address, strlen(address) + 1);
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                r = column_u16(st, ids[i].col, ids[i].dst);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                r = hp_sqlite_column_strdup(st, strs[i].col, strs[i].dst);
                if (r < 0)
                        return r;
        }
        if (!c.health)
                return -EBADMSG;
        c.desired = sqlite3_column_int64(st, COL_DESIRED) != 0;
        c.updated_at = sqlite3_column_int64(st, COL_UPDATED_AT);
        c.attrs = calloc(1, sizeof(char *));
        if (!c.attrs)
                return -ENOMEM;
        *(struct hp_dev_config *)ret = c;
        c = (struct hp_dev_config){0};
        return 0;
}

/* Appends "key=value" from columns col and col + 1. */
static int attr_push(char ***attrs, sqlite3_stmt *st, int col)
{
        _cleanup_free_ char *kv = NULL;
        const char *key, *value;
        int r;

        r = hp_sqlite_column_text(st, col, &key);
        if (r < 0)
                return r;
        r = hp_sqlite_column_text(st, col + 1, &value);
        if (r < 0)
                return r;
        if (asprintf(&kv, "%s=%s", key, value) < 0)
                return -ENOMEM;
        return hp_strv_push(attrs, kv);
}

/* Binds the address a query is limited to, if any, as ?1. */
static int bind_address(struct hp_sqlite *s, sqlite3_stmt *st, const char *address)
{
        int rc;

        if (!address)
                return 0;
        rc = sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
        return rc == SQLITE_OK ? 0 : hp_sqlite_errno_rc(s, rc);
}

/* Reads the devices dev_id returns, then the attributes attr_id returns,
 * merging the two lists sorted by address. *v and *n grow as rows arrive;
 * the caller frees them either way. */
static int read_devices(struct hp_sqlite *s, enum hp_store_stmt_id dev_id,
                        enum hp_store_stmt_id attr_id, const char *address,
                        struct hp_dev_config **v, size_t *n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *ast = NULL;
        size_t j = 0;
        void *p;
        int r, rc;

        r = hp_sqlite_stmt_get(s, dev_id, &st);
        if (r < 0)
                return r;
        r = bind_address(s, st, address);
        if (r < 0)
                return r;
        p = *v;
        r = hp_sqlite_read_rows(s, st, sizeof(**v), row_to_config, &p, n);
        *v = p;
        if (r < 0)
                return r;

        r = hp_sqlite_stmt_get(s, attr_id, &ast);
        if (r < 0)
                return r;
        r = bind_address(s, ast, address);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(ast)) == SQLITE_ROW) {
                const char *a;

                r = hp_sqlite_column_text(ast, 0, &a);
                if (r < 0)
                        return r;
                /* Both sorted by address (BINARY collation, i.e. strcmp order). */
                while (j < *n && strcmp((*v)[j].address, a) < 0)
                        j++;
                if (j == *n || !streq((*v)[j].address, a))
                        continue; /* no device: the foreign key rules it out */
                r = attr_push(&(*v)[j].attrs, ast, 1);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return hp_sqlite_errno_rc(s, rc);
        return 0;
}

/* The devices and their attributes from one snapshot. */
static int read_snapshot(struct hp_sqlite *s, enum hp_store_stmt_id dev_id,
                         enum hp_store_stmt_id attr_id, const char *address,
                         struct hp_dev_config **ret, size_t *ret_n)
{
        struct hp_dev_config *v = NULL;
        enum hp_store_tx_mode mode;
        size_t n = 0;
        int r;

        r = hp_sqlite_tx_enter(s, false, &mode);
        if (r < 0)
                return r;
        r = hp_sqlite_tx_leave(s, mode, read_devices(s, dev_id, attr_id, address, &v, &n));
        if (r < 0) {
                hp_dev_configs_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int hp_sqlite_device_get(struct hp_store *s, const char *address, struct hp_dev_config *ret)
{
        struct hp_dev_config *v = NULL;
        size_t n = 0;
        int r;

        r = read_snapshot(hp_sqlite(s), STMT_DEVICE_GET, STMT_ATTRS_GET, address, &v, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                free(v);
                return -ENOENT;
        }
        *ret = v[0];
        free(v);
        return 0;
}

int hp_sqlite_device_list(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n)
{
        return read_snapshot(hp_sqlite(s), STMT_DEVICE_LIST, STMT_ATTRS_ALL, NULL, ret, ret_n);
}

static int upsert_device(struct hp_sqlite *s, const struct hp_dev_config *c, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_get(s, STMT_DEVICE_UPSERT, &st);
        if (r < 0)
                return r;
        /* Each bind is independent, so their order of evaluation does not matter. */
        const int rcs[] = {
                sqlite3_bind_text(st, COL_ADDRESS + 1, c->address, -1, SQLITE_STATIC),
                sqlite3_bind_int(st, COL_VENDOR_ID + 1, c->vendor_id),
                sqlite3_bind_int(st, COL_DEVICE_ID + 1, c->device_id),
                sqlite3_bind_int(st, COL_SUBSYSTEM_VENDOR_ID + 1, c->subsystem_vendor_id),
                sqlite3_bind_int(st, COL_SUBSYSTEM_DEVICE_ID + 1, c->subsystem_device_id),
                sqlite3_bind_text(st, COL_SERIAL + 1, c->serial, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, COL_SLOT + 1, c->slot, -1, SQLITE_STATIC),
                sqlite3_bind_int(st, COL_DESIRED + 1, c->desired ? 1 : 0),
                sqlite3_bind_text(st, COL_HOST_DRIVER + 1, c->host_driver, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, COL_LABEL + 1, c->label, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, COL_HEALTH + 1, c->health, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, COL_REASON + 1, c->reason, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, COL_ASSIGNED_VM + 1, c->assigned_vm, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, COL_UPDATED_AT + 1, now),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        return hp_sqlite_step_done(s, st);
}

static int clear_attrs(struct hp_sqlite *s, const char *address)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_get(s, STMT_ATTRS_CLEAR, &st);
        if (r < 0)
                return r;
        r = bind_address(s, st, address);
        if (r < 0)
                return r;
        return hp_sqlite_step_done(s, st);
}

/* attr is "key=value", validated: the key is what precedes the first '='. */
static int add_attr(struct hp_sqlite *s, const char *address, const char *attr)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *eq = strchr(attr, '=');
        int r;

        r = hp_sqlite_stmt_get(s, STMT_ATTR_ADD, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, attr, (int)(eq - attr), SQLITE_STATIC),
                sqlite3_bind_text(st, 3, eq + 1, -1, SQLITE_STATIC),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        return hp_sqlite_step_done(s, st);
}

static int put_rows(struct hp_sqlite *s, const struct hp_dev_config *c)
{
        int r;

        r = upsert_device(s, c, (int64_t)time(NULL));
        if (r < 0)
                return r;
        r = clear_attrs(s, c->address);
        if (r < 0)
                return r;
        for (size_t i = 0; c->attrs && c->attrs[i]; i++) {
                r = add_attr(s, c->address, c->attrs[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hp_sqlite_device_put(struct hp_store *store, const struct hp_dev_config *c)
{
        struct hp_sqlite *s = hp_sqlite(store);
        enum hp_store_tx_mode mode;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        return hp_sqlite_tx_leave(s, mode, put_rows(s, c));
}

int hp_sqlite_device_delete(struct hp_store *store, const char *address)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_DEVICE_DELETE, &st);
        if (r < 0)
                return r;
        r = bind_address(s, st, address);
        if (r < 0)
                return r;
        /* One statement: its attributes go with it (ON DELETE CASCADE). */
        return hp_sqlite_step_changed(s, st);
}

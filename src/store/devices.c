/* The device rows: hp_dev_config, and the devices and device_attrs tables. */
#include "store-internal.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"

static int strdup_or_null(const char *s, char **ret)
{
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

void hp_dev_config_done(struct hp_dev_config *c)
{
        if (!c)
                return;
        free(c->serial);
        free(c->slot);
        free(c->host_driver);
        free(c->label);
        hp_strv_free(c->attrs);
        free(c->health);
        free(c->reason);
        free(c->assigned_vm);
        *c = (struct hp_dev_config){0};
}

void hp_dev_configs_free(struct hp_dev_config *c, size_t n)
{
        if (!c)
                return;
        for (size_t i = 0; i < n; i++)
                hp_dev_config_done(&c[i]);
        free(c);
}

int hp_dev_config_copy(const struct hp_dev_config *from, struct hp_dev_config *ret)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config c = {0};
        const struct {
                const char *src;
                char **dst;
        } strs[] = {
                {from->serial, &c.serial},           {from->slot, &c.slot},
                {from->host_driver, &c.host_driver}, {from->label, &c.label},
                {from->health, &c.health},           {from->reason, &c.reason},
                {from->assigned_vm, &c.assigned_vm},
        };
        int r;

        memcpy(c.address, from->address, sizeof(c.address));
        c.address[sizeof(c.address) - 1] = '\0';
        c.vendor_id = from->vendor_id;
        c.device_id = from->device_id;
        c.subsystem_vendor_id = from->subsystem_vendor_id;
        c.subsystem_device_id = from->subsystem_device_id;
        c.desired = from->desired;
        c.updated_at = from->updated_at;
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                r = strdup_or_null(strs[i].src, strs[i].dst);
                if (r < 0)
                        return r;
        }
        c.attrs = calloc(1, sizeof(char *));
        if (!c.attrs)
                return -ENOMEM;
        for (size_t i = 0; from->attrs && from->attrs[i]; i++) {
                r = hp_strv_push(&c.attrs, from->attrs[i]);
                if (r < 0)
                        return r;
        }
        *(struct hp_dev_config *)ret = c;
        c = (struct hp_dev_config){0};
        return 0;
}

/* One spelling per device, since the address is the key. */
bool hp_store_address_is_valid(const char *a)
{
        static const char pattern[] = "xxxx:xx:xx.x";

        for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
                if (pattern[i] != 'x') {
                        if (a[i] != pattern[i])
                                return false;
                } else if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'))) {
                        return false;
                }
        }
        return a[sizeof(pattern) - 1] == '\0';
}

static int config_validate(const struct hp_dev_config *c)
{
        if (!hp_store_address_is_valid(c->address))
                return -EINVAL;
        if (!c->health || !(streq(c->health, "ok") || streq(c->health, "quarantined")))
                return -EINVAL;
        for (size_t i = 0; c->attrs && c->attrs[i]; i++) {
                const char *eq = strchr(c->attrs[i], '=');

                if (!eq || eq == c->attrs[i] || eq - c->attrs[i] > INT_MAX)
                        return -EINVAL;
        }
        return 0;
}

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

        r = hp_store_column_text(st, COL_ADDRESS, &address);
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
                r = hp_store_column_strdup(st, strs[i].col, strs[i].dst);
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

        r = hp_store_column_text(st, col, &key);
        if (r < 0)
                return r;
        r = hp_store_column_text(st, col + 1, &value);
        if (r < 0)
                return r;
        if (asprintf(&kv, "%s=%s", key, value) < 0)
                return -ENOMEM;
        return hp_strv_push(attrs, kv);
}

/* Binds the address a query is limited to, if any, as ?1. */
static int bind_address(struct hp_store *s, sqlite3_stmt *st, const char *address)
{
        int rc;

        if (!address)
                return 0;
        rc = sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
        return rc == SQLITE_OK ? 0 : hp_store_errno_from_rc(s, rc);
}

/* Reads the devices dev_id returns, then the attributes attr_id returns,
 * merging the two lists sorted by address. *v and *n grow as rows arrive;
 * the caller frees them either way. */
static int read_devices(struct hp_store *s, enum hp_store_stmt_id dev_id,
                        enum hp_store_stmt_id attr_id, const char *address,
                        struct hp_dev_config **v, size_t *n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *ast = NULL;
        size_t j = 0;
        void *p;
        int r, rc;

        r = hp_store_stmt_get(s, dev_id, &st);
        if (r < 0)
                return r;
        r = bind_address(s, st, address);
        if (r < 0)
                return r;
        p = *v;
        r = hp_store_read_rows(s, st, sizeof(**v), row_to_config, &p, n);
        *v = p;
        if (r < 0)
                return r;

        r = hp_store_stmt_get(s, attr_id, &ast);
        if (r < 0)
                return r;
        r = bind_address(s, ast, address);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(ast)) == SQLITE_ROW) {
                const char *a;

                r = hp_store_column_text(ast, 0, &a);
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
                return hp_store_errno_from_rc(s, rc);
        return 0;
}

/* The devices and their attributes from one snapshot. */
static int read_snapshot(struct hp_store *s, enum hp_store_stmt_id dev_id,
                         enum hp_store_stmt_id attr_id, const char *address,
                         struct hp_dev_config **ret, size_t *ret_n)
{
        struct hp_dev_config *v = NULL;
        enum hp_store_tx_mode mode;
        size_t n = 0;
        int r;

        r = hp_store_tx_enter(s, false, &mode);
        if (r < 0)
                return r;
        r = hp_store_tx_leave(s, mode, read_devices(s, dev_id, attr_id, address, &v, &n));
        if (r < 0) {
                hp_dev_configs_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int hp_store_device_get(struct hp_store *s, const char *address, struct hp_dev_config *ret)
{
        struct hp_dev_config *v = NULL;
        size_t n = 0;
        int r;

        if (!address || !hp_store_address_is_valid(address))
                return -EINVAL;
        r = read_snapshot(s, STMT_DEVICE_GET, STMT_ATTRS_GET, address, &v, &n);
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

int hp_store_device_list(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n)
{
        return read_snapshot(s, STMT_DEVICE_LIST, STMT_ATTRS_ALL, NULL, ret, ret_n);
}

static int upsert_device(struct hp_store *s, const struct hp_dev_config *c, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_store_stmt_get(s, STMT_DEVICE_UPSERT, &st);
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
        r = hp_store_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        return hp_store_step_done(s, st);
}

static int clear_attrs(struct hp_store *s, const char *address)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_store_stmt_get(s, STMT_ATTRS_CLEAR, &st);
        if (r < 0)
                return r;
        r = bind_address(s, st, address);
        if (r < 0)
                return r;
        return hp_store_step_done(s, st);
}

/* attr is "key=value", validated: the key is what precedes the first '='. */
static int add_attr(struct hp_store *s, const char *address, const char *attr)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *eq = strchr(attr, '=');
        int r;

        r = hp_store_stmt_get(s, STMT_ATTR_ADD, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, attr, (int)(eq - attr), SQLITE_STATIC),
                sqlite3_bind_text(st, 3, eq + 1, -1, SQLITE_STATIC),
        };
        r = hp_store_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        return hp_store_step_done(s, st);
}

static int put_rows(struct hp_store *s, const struct hp_dev_config *c)
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

int hp_store_device_put(struct hp_store *s, const struct hp_dev_config *c)
{
        enum hp_store_tx_mode mode;
        int r;

        r = config_validate(c);
        if (r < 0)
                return r;
        r = hp_store_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        return hp_store_tx_leave(s, mode, put_rows(s, c));
}

int hp_store_device_delete(struct hp_store *s, const char *address)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!address || !hp_store_address_is_valid(address))
                return -EINVAL;
        r = hp_store_stmt_use(s, STMT_DEVICE_DELETE, &st);
        if (r < 0)
                return r;
        r = bind_address(s, st, address);
        if (r < 0)
                return r;
        /* One statement: its attributes go with it (ON DELETE CASCADE). */
        r = hp_store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

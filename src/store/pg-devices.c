/* The PostgreSQL backend's device rows: the devices and device_attrs tables. */
/* A device and its attributes are read by one statement (a join, one row
 * per attribute), so a read sees one snapshot without a transaction. */
#include "pg-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"

/* Column order of the two reads below; the attribute's key and value follow. */
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
        COL_KEY,
        COL_VALUE,
        COL_HOST, /* hp_pg_inventories()'s */
};

#define DEVICE_SELECT                                                                              \
        "SELECT d.address, d.vendor_id, d.device_id, d.subsystem_vendor_id, "                     \
        "d.subsystem_device_id, d.serial, d.slot, d.desired, d.host_driver, d.label, d.health, "  \
        "d.reason, d.assigned_vm, d.updated_at, a.key, a.value FROM devices AS d "                \
        "LEFT JOIN device_attrs AS a ON a.host = d.host AND a.address = d.address "               \
        "WHERE d.host = $1 "

/* A NULL id reads 0, as an SQLite store gives it. */
static int field_u16(PGresult *res, int row, int col, uint16_t *ret)
{
        int64_t v = 0;

        if (!sym_PQgetisnull(res, row, col) && hp_pg_int64(res, row, col, &v) < 0)
                return -EBADMSG;
        if (v < 0 || v > UINT16_MAX)
                return -EBADMSG;
        *ret = (uint16_t)v;
        return 0;
}

static int row_to_config(PGresult *res, int row, struct hp_dev_config *ret)
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
        const char *address = sym_PQgetvalue(res, row, COL_ADDRESS);
        int r;

        if (strlen(address) >= sizeof(c.address))
                return -EBADMSG;
        memcpy(c.address, address, strlen(address) + 1);
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                r = field_u16(res, row, ids[i].col, ids[i].dst);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                r = hp_pg_strdup(res, row, strs[i].col, strs[i].dst);
                if (r < 0)
                        return r;
        }
        if (!c.health)
                return -EBADMSG;
        c.desired = streq(sym_PQgetvalue(res, row, COL_DESIRED), "t");
        if (!sym_PQgetisnull(res, row, COL_UPDATED_AT)) {
                r = hp_pg_int64(res, row, COL_UPDATED_AT, &c.updated_at);
                if (r < 0)
                        return r;
        }
        c.attrs = calloc(1, sizeof(char *));
        if (!c.attrs)
                return -ENOMEM;
        *ret = c;
        c = (struct hp_dev_config){0};
        return 0;
}

/* Rows [first, end) of DEVICE_SELECT, sorted by address and key: one
 * config per address, its attributes in order. */
static int rows_to_configs(PGresult *res, int first, int end, struct hp_dev_config **ret,
                           size_t *ret_n)
{
        int rows = end - first;
        struct hp_dev_config *v = rows > 0 ? calloc((size_t)rows, sizeof(*v)) : NULL;
        size_t n = 0;
        int r = 0;

        if (rows > 0 && !v)
                return -ENOMEM;
        for (int i = first; i < end && r >= 0; i++) {
                if (n == 0 || !streq(v[n - 1].address, sym_PQgetvalue(res, i, COL_ADDRESS))) {
                        r = row_to_config(res, i, &v[n]);
                        if (r < 0)
                                break;
                        n++;
                }
                if (!sym_PQgetisnull(res, i, COL_KEY))
                        r = hp_strv_pushf(&v[n - 1].attrs, "%s=%s", sym_PQgetvalue(res, i, COL_KEY),
                                          sym_PQgetvalue(res, i, COL_VALUE));
        }
        if (r < 0) {
                hp_dev_configs_free(v, n);
                return r;
        }
        if (n == 0) {
                free(v);
                v = NULL;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

struct device_read {
        const char *address; /* NULL: every device of the host */
        struct hp_dev_config *v;
        size_t n;
};

static int device_read_op(struct hp_pg *s, void *data)
{
        struct device_read *d = data;
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = {s->host_id, d->address};
        int r;

        r = d->address ? hp_pg_exec(s, DEVICE_SELECT "AND d.address = $2 ORDER BY a.key", 2,
                                    params, &res)
                       : hp_pg_exec(s, DEVICE_SELECT "ORDER BY d.address, a.key", 1, params, &res);
        if (r < 0)
                return r;
        return rows_to_configs(res, 0, sym_PQntuples(res), &d->v, &d->n);
}

int hp_pg_device_get(struct hp_store *s, const char *address, struct hp_dev_config *ret)
{
        struct device_read d = {.address = address};
        int r = hp_pg_run(hp_pg(s), false, device_read_op, &d);

        if (r < 0)
                return r;
        if (d.n == 0)
                return -ENOENT;
        *ret = d.v[0];
        free(d.v);
        return 0;
}

int hp_pg_device_list(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n)
{
        struct device_read d = {0};
        int r = hp_pg_run(hp_pg(s), false, device_read_op, &d);

        if (r < 0)
                return r;
        *ret = d.v;
        *ret_n = d.n;
        return 0;
}

struct inventories {
        const char *params[3]; /* the known reports: hosts, times, lengths, as arrays */
        struct hp_store_inventory *v;
        size_t n;
};

static int inventory_cmp(const void *a, const void *b)
{
        return strcmp(((const struct hp_store_inventory *)a)->host,
                      ((const struct hp_store_inventory *)b)->host);
}

/* Two reads for every host: their reports, then their devices (a picture
 * of the cluster is a hint; each read is consistent on its own). */
static int inventories_op(struct hp_pg *s, void *data)
{
        struct inventories *iv = data;
        _cleanup_result_ PGresult *hosts = NULL, *devs = NULL;
        int r, n;

        hp_store_inventories_free(iv->v, iv->n); /* of a try that conflicted */
        iv->v = NULL;
        iv->n = 0;
        /* A report the caller has is not read from its TOAST table, nor sent. */
        r = hp_pg_exec(
                s,
                "SELECT name, report_ms, len, kept, CASE WHEN kept THEN NULL ELSE report END "
                "FROM (SELECT h.name, coalesce(h.report_ms, 0) AS report_ms, "
                "coalesce(octet_length(h.report), 0) AS len, h.report, "
                "coalesce(h.report IS NOT NULL AND k.ms = h.report_ms "
                "AND k.len = octet_length(h.report), false) AS kept "
                "FROM hosts AS h LEFT JOIN unnest($1::text[], $2::bigint[], $3::bigint[]) "
                "AS k (name, ms, len) ON k.name = h.name) AS x",
                3, iv->params, &hosts);
        if (r < 0)
                return r;
        n = sym_PQntuples(hosts);
        if (n > 0 && !(iv->v = calloc((size_t)n, sizeof(*iv->v))))
                return -ENOMEM;
        for (; iv->n < (size_t)n; iv->n++) {
                struct hp_store_inventory *h = &iv->v[iv->n];

                r = hp_pg_strdup(hosts, (int)iv->n, 0, &h->host);
                if (r >= 0)
                        r = hp_pg_int64(hosts, (int)iv->n, 1, &h->key.at_ms);
                if (r >= 0)
                        r = hp_pg_int64(hosts, (int)iv->n, 2, &h->key.len);
                if (r >= 0)
                        r = hp_pg_strdup(hosts, (int)iv->n, 4, &h->report_json);
                if (r >= 0 && !h->host)
                        r = -EBADMSG;
                if (r < 0)
                        return r;
                h->key.host = h->host;
                h->report_kept = streq(sym_PQgetvalue(hosts, (int)iv->n, 3), "t");
        }
        qsort(iv->v, iv->n, sizeof(*iv->v), inventory_cmp);
        r = hp_pg_exec(
                s,
                "SELECT d.address, d.vendor_id, d.device_id, d.subsystem_vendor_id, "
                "d.subsystem_device_id, d.serial, d.slot, d.desired, d.host_driver, d.label, "
                "d.health, d.reason, d.assigned_vm, d.updated_at, a.key, a.value, h.name "
                "FROM devices AS d JOIN hosts AS h ON h.id = d.host "
                "LEFT JOIN device_attrs AS a ON a.host = d.host AND a.address = d.address "
                "ORDER BY h.name, d.address, a.key",
                0, NULL, &devs);
        if (r < 0)
                return r;
        /* Each host's rows, in one run. */
        for (int first = 0, end; first < sym_PQntuples(devs); first = end) {
                struct hp_store_inventory key = { .host = sym_PQgetvalue(devs, first, COL_HOST) },
                                          *h;

                for (end = first + 1; end < sym_PQntuples(devs) &&
                                      streq(sym_PQgetvalue(devs, end, COL_HOST), key.host);
                     end++)
                        ;
                h = iv->n ? bsearch(&key, iv->v, iv->n, sizeof(*iv->v), inventory_cmp) : NULL;
                if (!h || h->rows)
                        continue; /* a host added since the first read */
                r = rows_to_configs(devs, first, end, &h->rows, &h->n_rows);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hp_pg_inventories(struct hp_store *s, const struct hp_store_report_key *known, size_t n_known,
                      struct hp_store_inventory **ret, size_t *ret_n)
{
        struct hp_pg_arrays k;
        struct inventories iv = { 0 };
        int r = hp_pg_arrays_open(&k, 3);

        /* The known reports: hosts, times, lengths. */
        for (size_t i = 0; r >= 0 && i < n_known; i++) {
                hp_pg_array_text(&k, 0, known[i].host);
                hp_pg_array_int(&k, 1, known[i].at_ms);
                hp_pg_array_int(&k, 2, known[i].len);
        }
        if (r >= 0)
                r = hp_pg_arrays_close(&k);
        for (size_t a = 0; a < 3; a++)
                iv.params[a] = k.text[a];
        if (r >= 0)
                r = hp_pg_run(hp_pg(s), false, inventories_op, &iv);
        hp_pg_arrays_done(&k);
        if (r < 0) {
                hp_store_inventories_free(iv.v, iv.n);
                return r;
        }
        *ret = iv.v;
        *ret_n = iv.n;
        return 0;
}

static int upsert_device(struct hp_pg *s, const struct hp_dev_config *c)
{
        char ids[4][HP_PG_INT_LEN], now[HP_PG_INT_LEN];
        const char *params[] = {
                s->host_id, c->address,     ids[0],           ids[1],   ids[2],
                ids[3],     c->serial,      c->slot,          c->desired ? "t" : "f",
                c->host_driver, c->label,   c->health,        c->reason, c->assigned_vm,
                now,
        };

        hp_pg_fmt_int(ids[0], c->vendor_id);
        hp_pg_fmt_int(ids[1], c->device_id);
        hp_pg_fmt_int(ids[2], c->subsystem_vendor_id);
        hp_pg_fmt_int(ids[3], c->subsystem_device_id);
        hp_pg_fmt_int(now, (int64_t)time(NULL));
        return hp_pg_exec(
                s,
                "INSERT INTO devices (host, address, vendor_id, device_id, subsystem_vendor_id, "
                "subsystem_device_id, serial, slot, desired, host_driver, label, health, reason, "
                "assigned_vm, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
                "ON CONFLICT (host, address) DO UPDATE SET vendor_id = excluded.vendor_id, "
                "device_id = excluded.device_id, "
                "subsystem_vendor_id = excluded.subsystem_vendor_id, "
                "subsystem_device_id = excluded.subsystem_device_id, serial = excluded.serial, "
                "slot = excluded.slot, desired = excluded.desired, "
                "host_driver = excluded.host_driver, label = excluded.label, "
                "health = excluded.health, reason = excluded.reason, "
                "assigned_vm = excluded.assigned_vm, updated_at = excluded.updated_at",
                ELEMENTSOF(params), params, NULL);
}

/* attr is "key=value", validated: the key is what precedes the first '='. */
static int add_attr(struct hp_pg *s, const char *address, const char *attr)
{
        const char *eq = strchr(attr, '=');
        _cleanup_free_ char *key = strndup(attr, (size_t)(eq - attr));
        const char *params[] = {s->host_id, address, key, eq + 1};

        if (!key)
                return -ENOMEM;
        return hp_pg_exec(s,
                          "INSERT INTO device_attrs (host, address, key, value) "
                          "VALUES ($1, $2, $3, $4)",
                          4, params, NULL);
}

static int put_op(struct hp_pg *s, void *data)
{
        const struct hp_dev_config *c = data;
        const char *params[] = {s->host_id, c->address};
        int r;

        r = upsert_device(s, c);
        if (r >= 0)
                r = hp_pg_exec(s, "DELETE FROM device_attrs WHERE host = $1 AND address = $2", 2,
                               params, NULL);
        for (size_t i = 0; r >= 0 && c->attrs && c->attrs[i]; i++)
                r = add_attr(s, c->address, c->attrs[i]);
        return r;
}

int hp_pg_device_put(struct hp_store *s, const struct hp_dev_config *c)
{
        return hp_pg_run(hp_pg(s), true, put_op, (void *)c);
}

static int delete_op(struct hp_pg *s, void *data)
{
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = {s->host_id, data};
        int r;

        /* One statement: its attributes go with it (ON DELETE CASCADE). */
        r = hp_pg_exec(s, "DELETE FROM devices WHERE host = $1 AND address = $2", 2, params, &res);
        if (r < 0)
                return r;
        return hp_pg_changes(res) > 0 ? 0 : -ENOENT;
}

int hp_pg_device_delete(struct hp_store *s, const char *address)
{
        return hp_pg_run(hp_pg(s), false, delete_op, (void *)address);
}

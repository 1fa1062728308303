/* The SQLite backend's schema as numbered migrations, and the code that applies them. */
/* Migration N runs when schema_version < N, in its own transaction together
 * with the bump of schema_version. Shipped entries are never edited: a change
 * is a new entry. */
#include "sqlite-internal.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <string.h>

#include "util/macro.h"

static const char *const migrations[] = {
        /* 1: devices, their free attributes, the event log. NOT NULL on the
         * keys because SQLite lets a rowid table's PRIMARY KEY hold NULL. */
        "CREATE TABLE schema_version (\n"
        "        id INTEGER PRIMARY KEY CHECK (id = 1),\n"
        "        version INTEGER NOT NULL\n"
        ");\n"
        "CREATE TABLE devices (\n"
        "        address TEXT NOT NULL PRIMARY KEY,\n"
        "        vendor_id INTEGER,\n"
        "        device_id INTEGER,\n"
        "        subsystem_vendor_id INTEGER,\n"
        "        subsystem_device_id INTEGER,\n"
        "        serial TEXT,\n"
        "        slot TEXT,\n"
        "        desired INTEGER NOT NULL,\n"
        "        host_driver TEXT,\n"
        "        label TEXT,\n"
        "        health TEXT NOT NULL DEFAULT 'ok',\n"
        "        assigned_vm TEXT,\n"
        "        updated_at INTEGER\n"
        ");\n"
        "CREATE TABLE device_attrs (\n"
        "        address TEXT NOT NULL REFERENCES devices (address) ON DELETE CASCADE,\n"
        "        key TEXT NOT NULL,\n"
        "        value TEXT NOT NULL,\n"
        "        PRIMARY KEY (address, key)\n"
        ");\n"
        "CREATE TABLE events (\n"
        "        id INTEGER PRIMARY KEY,\n"
        "        at INTEGER NOT NULL,\n"
        "        kind TEXT NOT NULL,\n"
        "        subject TEXT,\n"
        "        message TEXT\n"
        ");\n",
        /* 2: why the desired state could not be applied; existing rows read NULL. */
        "ALTER TABLE devices ADD COLUMN reason TEXT;\n",
        /* 3: the VMs of this host. The spec is the vm layer's JSON; devices
         * point at their VM by name through the existing plain column
         * devices.assigned_vm, which sqlite-vms.c keeps consistent. */
        "CREATE TABLE vms (\n"
        "        name TEXT NOT NULL PRIMARY KEY,\n"
        "        spec TEXT NOT NULL,\n"
        "        state TEXT NOT NULL DEFAULT 'off'\n"
        "                CHECK (state IN ('off', 'starting', 'running', 'stopping')),\n"
        "        pid INTEGER NOT NULL DEFAULT 0,\n"
        "        qmp_path TEXT,\n"
        "        started_at INTEGER NOT NULL DEFAULT 0,\n"
        "        created_at INTEGER NOT NULL,\n"
        "        updated_at INTEGER NOT NULL\n"
        ");\n",
        /* 4: who did what (the CLI's user, or the API's peer or token), and
         * the API's bearer tokens, kept as SHA-256 hashes only. */
        "ALTER TABLE events ADD COLUMN actor TEXT;\n"
        "CREATE TABLE tokens (\n"
        "        name TEXT NOT NULL PRIMARY KEY,\n"
        "        hash TEXT NOT NULL UNIQUE,\n"
        "        created_at INTEGER NOT NULL,\n"
        "        last_used_at INTEGER NOT NULL DEFAULT 0\n"
        ");\n",
        /* 5: hosts (DESIGN.md §1: a standalone host is a cluster of one).
         * Row 1 is the local host, named as HP_STORE_LOCAL_HOST says; a
         * device is keyed by (host, address), a VM by (host, name), and
         * every existing row, events included, becomes the local host's.
         * SQLite cannot change a primary key in place, so devices,
         * device_attrs and vms are renamed aside, created anew, copied and
         * dropped. Renaming devices carries device_attrs_v4's foreign key
         * along, so dropping the old tables cascades into nothing new. */
        "CREATE TABLE hosts (\n"
        "        id INTEGER PRIMARY KEY,\n"
        "        name TEXT NOT NULL UNIQUE,\n"
        "        created_at INTEGER NOT NULL\n"
        ");\n"
        "INSERT INTO hosts (id, name, created_at)\n"
        "        VALUES (1, 'local', CAST(strftime('%s', 'now') AS INTEGER));\n"
        "ALTER TABLE device_attrs RENAME TO device_attrs_v4;\n"
        "ALTER TABLE devices RENAME TO devices_v4;\n"
        "ALTER TABLE vms RENAME TO vms_v4;\n"
        "CREATE TABLE devices (\n"
        "        host INTEGER NOT NULL REFERENCES hosts (id),\n"
        "        address TEXT NOT NULL,\n"
        "        vendor_id INTEGER,\n"
        "        device_id INTEGER,\n"
        "        subsystem_vendor_id INTEGER,\n"
        "        subsystem_device_id INTEGER,\n"
        "        serial TEXT,\n"
        "        slot TEXT,\n"
        "        desired INTEGER NOT NULL,\n"
        "        host_driver TEXT,\n"
        "        label TEXT,\n"
        "        health TEXT NOT NULL DEFAULT 'ok',\n"
        "        reason TEXT,\n"
        "        assigned_vm TEXT,\n"
        "        updated_at INTEGER,\n"
        "        PRIMARY KEY (host, address)\n"
        ");\n"
        "CREATE TABLE device_attrs (\n"
        "        host INTEGER NOT NULL,\n"
        "        address TEXT NOT NULL,\n"
        "        key TEXT NOT NULL,\n"
        "        value TEXT NOT NULL,\n"
        "        PRIMARY KEY (host, address, key),\n"
        "        FOREIGN KEY (host, address) REFERENCES devices (host, address) ON DELETE CASCADE\n"
        ");\n"
        "CREATE TABLE vms (\n"
        "        host INTEGER NOT NULL REFERENCES hosts (id),\n"
        "        name TEXT NOT NULL,\n"
        "        spec TEXT NOT NULL,\n"
        "        state TEXT NOT NULL DEFAULT 'off'\n"
        "                CHECK (state IN ('off', 'starting', 'running', 'stopping')),\n"
        "        pid INTEGER NOT NULL DEFAULT 0,\n"
        "        qmp_path TEXT,\n"
        "        started_at INTEGER NOT NULL DEFAULT 0,\n"
        "        created_at INTEGER NOT NULL,\n"
        "        updated_at INTEGER NOT NULL,\n"
        "        PRIMARY KEY (host, name)\n"
        ");\n"
        "INSERT INTO devices (host, address, vendor_id, device_id, subsystem_vendor_id,\n"
        "                subsystem_device_id, serial, slot, desired, host_driver, label, health,\n"
        "                reason, assigned_vm, updated_at)\n"
        "        SELECT 1, address, vendor_id, device_id, subsystem_vendor_id,\n"
        "                subsystem_device_id, serial, slot, desired, host_driver, label, health,\n"
        "                reason, assigned_vm, updated_at FROM devices_v4;\n"
        "INSERT INTO device_attrs (host, address, key, value)\n"
        "        SELECT 1, address, key, value FROM device_attrs_v4;\n"
        "INSERT INTO vms (host, name, spec, state, pid, qmp_path, started_at, created_at,\n"
        "                updated_at)\n"
        "        SELECT 1, name, spec, state, pid, qmp_path, started_at, created_at, updated_at\n"
        "        FROM vms_v4;\n"
        "DROP TABLE device_attrs_v4;\n"
        "DROP TABLE devices_v4;\n"
        "DROP TABLE vms_v4;\n"
        "ALTER TABLE events ADD COLUMN host INTEGER REFERENCES hosts (id);\n"
        "UPDATE events SET host = 1;\n",
        /* 6: the cluster (docs/cluster.md). A host's credential (hex
         * SHA-256, NULL: none or revoked), its lease and heartbeat (unix
         * milliseconds, 0: never), its last report (the controller's JSON,
         * stored as given), ready and maintenance; join tokens, one use
         * each; the leader lease, one row, holder '' while nobody took it. */
        "ALTER TABLE hosts ADD COLUMN credential TEXT;\n"
        "CREATE UNIQUE INDEX hosts_credential ON hosts (credential);\n"
        "ALTER TABLE hosts ADD COLUMN lease_expires_ms INTEGER NOT NULL DEFAULT 0;\n"
        "ALTER TABLE hosts ADD COLUMN heartbeat_ms INTEGER NOT NULL DEFAULT 0;\n"
        "ALTER TABLE hosts ADD COLUMN report TEXT;\n"
        "ALTER TABLE hosts ADD COLUMN report_ms INTEGER NOT NULL DEFAULT 0;\n"
        "ALTER TABLE hosts ADD COLUMN ready INTEGER NOT NULL DEFAULT 0;\n"
        "ALTER TABLE hosts ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;\n"
        "CREATE TABLE join_tokens (\n"
        "        id INTEGER PRIMARY KEY,\n"
        "        hash TEXT NOT NULL UNIQUE,\n"
        "        created_at INTEGER NOT NULL,\n"
        "        expires_ms INTEGER NOT NULL,\n"
        "        used_ms INTEGER\n"
        ");\n"
        "CREATE TABLE leader (\n"
        "        id INTEGER PRIMARY KEY CHECK (id = 1),\n"
        "        holder TEXT NOT NULL,\n"
        "        token INTEGER NOT NULL,\n"
        "        expires_ms INTEGER NOT NULL\n"
        ");\n"
        "INSERT INTO leader (id, holder, token, expires_ms) VALUES (1, '', 0, 0);\n",
        /* 7: VMs as the cluster's objects (docs/cluster.md). A VM's name is
         * unique in the store; its host is the one it is placed on or pinned
         * to, NULL while it is unplaced; desired is 'on' for the VMs running
         * or starting now; epoch counts its claims; reported_state and
         * reported_ms (unix ms) are what its host last said of the current
         * claim. A store with one name on two hosts is refused before this
         * runs (clash_check()): which VM keeps the name is the operator's to
         * say, and a rename (NAME@HOST) would make a name the vm layer
         * refuses and that the VM's devices and files do not know. The table
         * is made anew as in 5; devices.assigned_vm still names the VM, and
         * an index finds its devices on every host. */
        "ALTER TABLE vms RENAME TO vms_v6;\n"
        "CREATE TABLE vms (\n"
        "        host INTEGER REFERENCES hosts (id),\n"
        "        name TEXT NOT NULL PRIMARY KEY,\n"
        "        spec TEXT NOT NULL,\n"
        "        state TEXT NOT NULL DEFAULT 'off'\n"
        "                CHECK (state IN ('off', 'starting', 'running', 'stopping')),\n"
        "        pid INTEGER NOT NULL DEFAULT 0,\n"
        "        qmp_path TEXT,\n"
        "        started_at INTEGER NOT NULL DEFAULT 0,\n"
        "        created_at INTEGER NOT NULL,\n"
        "        updated_at INTEGER NOT NULL,\n"
        "        desired TEXT NOT NULL DEFAULT 'off' CHECK (desired IN ('on', 'off')),\n"
        "        epoch INTEGER NOT NULL DEFAULT 0,\n"
        "        reported_state TEXT,\n"
        "        reported_ms INTEGER NOT NULL DEFAULT 0\n"
        ");\n"
        "INSERT INTO vms (host, name, spec, state, pid, qmp_path, started_at, created_at,\n"
        "                updated_at, desired)\n"
        "        SELECT host, name, spec, state, pid, qmp_path, started_at, created_at,\n"
        "                updated_at,\n"
        "                CASE WHEN state IN ('running', 'starting') THEN 'on' ELSE 'off' END\n"
        "        FROM vms_v6;\n"
        "DROP TABLE vms_v6;\n"
        "CREATE INDEX vms_host ON vms (host, name);\n"
        "CREATE INDEX devices_assigned_vm ON devices (assigned_vm);\n",
        /* 8: the hosts a VM's power-on failed on, as the controller
         * records them (JSON), so it tries the next host and not those. */
        "ALTER TABLE vms ADD COLUMN start_failures TEXT;\n",
        /* 9: the cluster's settings, which every controller reads alike
         * (the placement policy of VMs that name none). */
        "CREATE TABLE settings (\n"
        "        key TEXT NOT NULL PRIMARY KEY,\n"
        "        value TEXT NOT NULL,\n"
        "        updated_ms INTEGER NOT NULL\n"
        ");\n",
        /* 10: the host a VM is being stopped on to be restarted elsewhere
         * (the host's maintenance), NULL otherwise. */
        "ALTER TABLE vms ADD COLUMN moving_from TEXT;\n",
        /* 11: what each API token may do (util/token.h). A token made
         * before roles could do everything: it becomes admin, and an event
         * per token says so. */
        "ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'\n"
        "        CHECK (role IN ('viewer', 'operator', 'admin'));\n"
        "INSERT INTO events (at, kind, subject, message, actor, host)\n"
        "SELECT CAST(strftime('%s', 'now') AS INTEGER), 'token-role', name,\n"
        "       'made before tokens had roles: it is now admin, as it could do everything; for "
        "less, create one with --role operator or viewer and revoke this one',\n"
        "       'upgrade', 1 FROM tokens ORDER BY name;\n",
        /* 12: the hosts and the VMs a token is limited to (util/token.h):
         * names joined by ',', NULL for no limit. */
        "ALTER TABLE tokens ADD COLUMN hosts TEXT;\nALTER TABLE tokens ADD COLUMN vms TEXT;\n",
};

_Static_assert(ELEMENTSOF(migrations) == HP_STORE_SCHEMA_VERSION,
               "HP_STORE_SCHEMA_VERSION must count the migrations");

static void finalizep(sqlite3_stmt **st)
{
        /* Repeats the last step's error, which the caller has handled. */
        (void)sqlite3_finalize(*st);
}

/* The integer in the first column of the single row sql returns. */
static int query_int(sqlite3 *db, const char *sql, int64_t *ret)
{
        _cleanup_(finalizep) sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return hp_sqlite_errno(db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno(db, rc);
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

static int exec(sqlite3 *db, const char *sql)
{
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

        return rc == SQLITE_OK ? 0 : hp_sqlite_errno(db, rc);
}

/* 0 for a database no migration has touched yet. */
static int read_version(sqlite3 *db, int *ret)
{
        int64_t has_table, v;
        int r;

        r = query_int(db,
                      "SELECT count(*) FROM sqlite_master "
                      "WHERE type = 'table' AND name = 'schema_version'",
                      &has_table);
        if (r < 0)
                return r;
        if (has_table == 0) {
                *ret = 0;
                return 0;
        }
        r = query_int(db, "SELECT version FROM schema_version WHERE id = 1", &v);
        if (r == -ENOENT || (r >= 0 && (v < 1 || v > INT_MAX)))
                return -EBADMSG;
        if (r < 0)
                return r;
        *ret = (int)v;
        return 0;
}

static int set_version(sqlite3 *db, int version)
{
        _cleanup_(finalizep) sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db,
                                "INSERT INTO schema_version (id, version) VALUES (1, ?1) "
                                "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                                -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(st, 1, version);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : hp_sqlite_errno(db, rc);
}

/* SQLite's words for the last failure, or the errno's when it was ours. */
static const char *errmsg(sqlite3 *db, int r)
{
        return sqlite3_errcode(db) != SQLITE_OK ? sqlite3_errmsg(db) : strerror(-r);
}

static int too_new(const char *display, int version, char **ret_error)
{
        return hp_errorf(ret_error, -EPROTONOSUPPORT,
                              "State database \"%s\" has schema version %d, newer than this "
                              "hwpass knows (%d); run a newer hwpass, or restore a backup made "
                              "by this version",
                              display, version, HP_STORE_SCHEMA_VERSION);
}

/* Before migration 7: a VM name on two hosts cannot become one row. The
 * first such name is refused with the message that says what to do;
 * *refused tells the caller the message is written. */
static int clash_check(sqlite3 *db, const char *display, bool *refused, char **ret_error)
{
        _cleanup_(finalizep) sqlite3_stmt *st = NULL;
        const char *name, *first, *last;
        int rc;

        rc = sqlite3_prepare_v2(db,
                                "SELECT v.name, count(*), min(h.name), max(h.name) "
                                "FROM vms AS v JOIN hosts AS h ON h.id = v.host "
                                "GROUP BY v.name HAVING count(*) > 1 ORDER BY v.name LIMIT 1",
                                -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return 0;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno(db, rc);
        name = (const char *)sqlite3_column_text(st, 0);
        first = (const char *)sqlite3_column_text(st, 2);
        last = (const char *)sqlite3_column_text(st, 3);
        if (!name || !first || !last)
                return -ENOMEM; /* NOT NULL columns: no text means no memory */
        *refused = true;
        return hp_store_vm_names_clash(ret_error, display, name, sqlite3_column_int64(st, 1),
                                       first, last);
}

/* Takes the schema one version up, unless another process did it meanwhile
 * (hence the re-read under the write lock). */
static int migrate_step(sqlite3 *db, const char *display, int *version, char **ret_error)
{
        int r, v = *version, target = *version + 1;
        bool refused = false;

        r = exec(db, "BEGIN IMMEDIATE");
        if (r >= 0)
                r = read_version(db, &v);
        if (r >= 0 && v < HP_STORE_SCHEMA_VERSION) {
                target = v + 1;
                if (target == 7)
                        r = clash_check(db, display, &refused, ret_error);
                if (r >= 0)
                        r = exec(db, migrations[v]);
                if (r >= 0)
                        r = set_version(db, target);
                if (r >= 0)
                        v = target;
        }
        if (r >= 0)
                r = exec(db, "COMMIT");
        if (r < 0) {
                /* The message first: the rollback replaces SQLite's error. */
                if (!refused)
                        r = hp_errorf(ret_error, r,
                                      "Failed to upgrade state database \"%s\" to schema "
                                      "version %d: %s",
                                      display, target, errmsg(db, r));
                if (!sqlite3_get_autocommit(db))
                        (void)exec(db, "ROLLBACK"); /* already failing; closing rolls back too */
                return r;
        }
        *version = v;
        return 0;
}

int hp_sqlite_migrate(struct sqlite3 *db, const char *display, bool readonly, int *ret_version,
                     char **ret_error)
{
        int r, v;

        /* Read without a write lock first: an up-to-date database, the usual
         * case, then opens even while another process writes. */
        r = read_version(db, &v);
        if (r < 0)
                return hp_errorf(ret_error, r,
                                      "Failed to read the schema version of state database "
                                      "\"%s\": %s",
                                      display, errmsg(db, r));
        if (v > HP_STORE_SCHEMA_VERSION)
                return too_new(display, v, ret_error);
        if (readonly && v == 0)
                return hp_errorf(ret_error, -ENOENT,
                                      "State database \"%s\" holds no hwpass state yet", display);
        if (readonly && v < HP_STORE_SCHEMA_VERSION)
                return hp_errorf(ret_error, -EPROTONOSUPPORT,
                                      "State database \"%s\" has schema version %d, older than "
                                      "this hwpass uses (%d); start hwpassd once to upgrade it",
                                      display, v, HP_STORE_SCHEMA_VERSION);
        while (v < HP_STORE_SCHEMA_VERSION) {
                r = migrate_step(db, display, &v, ret_error);
                if (r < 0)
                        return r;
        }
        /* Another process may have gone further while we waited for the lock. */
        if (v > HP_STORE_SCHEMA_VERSION)
                return too_new(display, v, ret_error);
        *ret_version = v;
        return 0;
}

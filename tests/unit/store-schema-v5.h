/* Schema version 5 as shipped, frozen here for the tests of the upgrade to 6:
 * an SQLite file and a PostgreSQL database as hwpass wrote them at 5, whatever
 * happens to the migrations later. Include after store-tmp.h. */
#pragma once

/* SQLite's migration 5: with SCHEMA_V1_SQL and SCHEMA_V2_TO_V4_SQL, a file at 5. */
#define SCHEMA_V5_SQL \
        "CREATE TABLE hosts (\n" \
        "        id INTEGER PRIMARY KEY,\n" \
        "        name TEXT NOT NULL UNIQUE,\n" \
        "        created_at INTEGER NOT NULL\n" \
        ");\n" \
        "INSERT INTO hosts (id, name, created_at)\n" \
        "        VALUES (1, 'local', CAST(strftime('%s', 'now') AS INTEGER));\n" \
        "ALTER TABLE device_attrs RENAME TO device_attrs_v4;\n" \
        "ALTER TABLE devices RENAME TO devices_v4;\n" \
        "ALTER TABLE vms RENAME TO vms_v4;\n" \
        "CREATE TABLE devices (\n" \
        "        host INTEGER NOT NULL REFERENCES hosts (id),\n" \
        "        address TEXT NOT NULL,\n" \
        "        vendor_id INTEGER,\n" \
        "        device_id INTEGER,\n" \
        "        subsystem_vendor_id INTEGER,\n" \
        "        subsystem_device_id INTEGER,\n" \
        "        serial TEXT,\n" \
        "        slot TEXT,\n" \
        "        desired INTEGER NOT NULL,\n" \
        "        host_driver TEXT,\n" \
        "        label TEXT,\n" \
        "        health TEXT NOT NULL DEFAULT 'ok',\n" \
        "        reason TEXT,\n" \
        "        assigned_vm TEXT,\n" \
        "        updated_at INTEGER,\n" \
        "        PRIMARY KEY (host, address)\n" \
        ");\n" \
        "CREATE TABLE device_attrs (\n" \
        "        host INTEGER NOT NULL,\n" \
        "        address TEXT NOT NULL,\n" \
        "        key TEXT NOT NULL,\n" \
        "        value TEXT NOT NULL,\n" \
        "        PRIMARY KEY (host, address, key),\n" \
        "        FOREIGN KEY (host, address) REFERENCES devices (host, address) ON DELETE CASCADE\n" \
        ");\n" \
        "CREATE TABLE vms (\n" \
        "        host INTEGER NOT NULL REFERENCES hosts (id),\n" \
        "        name TEXT NOT NULL,\n" \
        "        spec TEXT NOT NULL,\n" \
        "        state TEXT NOT NULL DEFAULT 'off'\n" \
        "                CHECK (state IN ('off', 'starting', 'running', 'stopping')),\n" \
        "        pid INTEGER NOT NULL DEFAULT 0,\n" \
        "        qmp_path TEXT,\n" \
        "        started_at INTEGER NOT NULL DEFAULT 0,\n" \
        "        created_at INTEGER NOT NULL,\n" \
        "        updated_at INTEGER NOT NULL,\n" \
        "        PRIMARY KEY (host, name)\n" \
        ");\n" \
        "INSERT INTO devices (host, address, vendor_id, device_id, subsystem_vendor_id,\n" \
        "                subsystem_device_id, serial, slot, desired, host_driver, label, health,\n" \
        "                reason, assigned_vm, updated_at)\n" \
        "        SELECT 1, address, vendor_id, device_id, subsystem_vendor_id,\n" \
        "                subsystem_device_id, serial, slot, desired, host_driver, label, health,\n" \
        "                reason, assigned_vm, updated_at FROM devices_v4;\n" \
        "INSERT INTO device_attrs (host, address, key, value)\n" \
        "        SELECT 1, address, key, value FROM device_attrs_v4;\n" \
        "INSERT INTO vms (host, name, spec, state, pid, qmp_path, started_at, created_at,\n" \
        "                updated_at)\n" \
        "        SELECT 1, name, spec, state, pid, qmp_path, started_at, created_at, updated_at\n" \
        "        FROM vms_v4;\n" \
        "DROP TABLE device_attrs_v4;\n" \
        "DROP TABLE devices_v4;\n" \
        "DROP TABLE vms_v4;\n" \
        "ALTER TABLE events ADD COLUMN host INTEGER REFERENCES hosts (id);\n" \
        "UPDATE events SET host = 1;\n"

/* PostgreSQL's migrations 1 to 5: a database at 5. */
#define PG_SCHEMA_V1_TO_V5_SQL \
        "CREATE TABLE schema_version (\n" \
        "        id integer PRIMARY KEY CHECK (id = 1),\n" \
        "        version integer NOT NULL\n" \
        ");\n" \
        "CREATE TABLE devices (\n" \
        "        address text COLLATE \"C\" NOT NULL PRIMARY KEY,\n" \
        "        vendor_id integer,\n" \
        "        device_id integer,\n" \
        "        subsystem_vendor_id integer,\n" \
        "        subsystem_device_id integer,\n" \
        "        serial text,\n" \
        "        slot text,\n" \
        "        desired boolean NOT NULL,\n" \
        "        host_driver text,\n" \
        "        label text,\n" \
        "        health text NOT NULL DEFAULT 'ok',\n" \
        "        assigned_vm text COLLATE \"C\",\n" \
        "        updated_at bigint\n" \
        ");\n" \
        "CREATE TABLE device_attrs (\n" \
        "        address text COLLATE \"C\" NOT NULL\n" \
        "                REFERENCES devices (address) ON DELETE CASCADE,\n" \
        "        key text COLLATE \"C\" NOT NULL,\n" \
        "        value text NOT NULL,\n" \
        "        PRIMARY KEY (address, key)\n" \
        ");\n" \
        "CREATE TABLE events (\n" \
        "        id bigint PRIMARY KEY,\n" \
        "        at bigint NOT NULL,\n" \
        "        kind text NOT NULL,\n" \
        "        subject text,\n" \
        "        message text\n" \
        ");\n" \
        "CREATE TABLE event_counter (\n" \
        "        id integer PRIMARY KEY CHECK (id = 1),\n" \
        "        last bigint NOT NULL\n" \
        ");\n" \
        "INSERT INTO event_counter (id, last) VALUES (1, 0);\n" \
        "ALTER TABLE devices ADD COLUMN reason text;\n" \
        "CREATE TABLE vms (\n" \
        "        name text COLLATE \"C\" NOT NULL PRIMARY KEY,\n" \
        "        spec text NOT NULL,\n" \
        "        state text NOT NULL DEFAULT 'off'\n" \
        "                CHECK (state IN ('off', 'starting', 'running', 'stopping')),\n" \
        "        pid bigint NOT NULL DEFAULT 0,\n" \
        "        qmp_path text,\n" \
        "        started_at bigint NOT NULL DEFAULT 0,\n" \
        "        created_at bigint NOT NULL,\n" \
        "        updated_at bigint NOT NULL\n" \
        ");\n" \
        "ALTER TABLE events ADD COLUMN actor text;\n" \
        "CREATE TABLE tokens (\n" \
        "        name text COLLATE \"C\" NOT NULL PRIMARY KEY,\n" \
        "        hash text NOT NULL UNIQUE,\n" \
        "        created_at bigint NOT NULL,\n" \
        "        last_used_at bigint NOT NULL DEFAULT 0\n" \
        ");\n" \
        "CREATE TABLE hosts (\n" \
        "        id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 2) PRIMARY KEY,\n" \
        "        name text COLLATE \"C\" NOT NULL UNIQUE,\n" \
        "        created_at bigint NOT NULL\n" \
        ");\n" \
        "INSERT INTO hosts (id, name, created_at)\n" \
        "        VALUES (1, 'local', CAST(extract(epoch FROM now()) AS bigint));\n" \
        "ALTER TABLE device_attrs DROP CONSTRAINT device_attrs_address_fkey;\n" \
        "ALTER TABLE device_attrs DROP CONSTRAINT device_attrs_pkey;\n" \
        "ALTER TABLE devices DROP CONSTRAINT devices_pkey;\n" \
        "ALTER TABLE vms DROP CONSTRAINT vms_pkey;\n" \
        "ALTER TABLE devices ADD COLUMN host bigint NOT NULL DEFAULT 1 REFERENCES hosts (id);\n" \
        "ALTER TABLE device_attrs ADD COLUMN host bigint NOT NULL DEFAULT 1;\n" \
        "ALTER TABLE vms ADD COLUMN host bigint NOT NULL DEFAULT 1 REFERENCES hosts (id);\n" \
        "ALTER TABLE devices ALTER COLUMN host DROP DEFAULT;\n" \
        "ALTER TABLE device_attrs ALTER COLUMN host DROP DEFAULT;\n" \
        "ALTER TABLE vms ALTER COLUMN host DROP DEFAULT;\n" \
        "ALTER TABLE devices ADD PRIMARY KEY (host, address);\n" \
        "ALTER TABLE device_attrs ADD PRIMARY KEY (host, address, key);\n" \
        "ALTER TABLE device_attrs ADD FOREIGN KEY (host, address)\n" \
        "        REFERENCES devices (host, address) ON DELETE CASCADE;\n" \
        "ALTER TABLE vms ADD PRIMARY KEY (host, name);\n" \
        "ALTER TABLE events ADD COLUMN host bigint REFERENCES hosts (id);\n" \
        "UPDATE events SET host = 1;\n" \
        "CREATE INDEX devices_assigned_vm ON devices (host, assigned_vm);\n"

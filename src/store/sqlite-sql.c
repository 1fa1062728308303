/* The SQLite backend's catalogue of constant SQL: every statement it runs
 * but the migrations, by id (sqlite-internal.h), prepared once per connection. */
#include "sqlite-internal.h"

const char *const hp_sqlite_stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_SAVEPOINT] = "SAVEPOINT hp_op",
        [STMT_RELEASE] = "RELEASE hp_op",
        [STMT_ROLLBACK_TO] = "ROLLBACK TO hp_op",
        [STMT_FOREIGN_KEYS] = "PRAGMA foreign_keys",
        [STMT_JOURNAL_WAL] = "PRAGMA journal_mode = WAL",
        [STMT_PROBE] = "SELECT count(*) FROM sqlite_master",
        [STMT_HOST_ID] = "SELECT id FROM hosts WHERE name = ?1",
        [STMT_HOST_ADD] = "INSERT INTO hosts (name, created_at) VALUES (?1, ?2)",
        [STMT_DEVICE_GET] =
                "SELECT " DEVICE_COLUMNS " FROM devices WHERE host = " HOST " AND address = ?1",
        [STMT_DEVICE_LIST] =
                "SELECT " DEVICE_COLUMNS " FROM devices WHERE host = " HOST " ORDER BY address",
        [STMT_ATTRS_GET] = "SELECT address, key, value FROM device_attrs "
                           "WHERE host = " HOST " AND address = ?1 ORDER BY key",
        [STMT_ATTRS_ALL] = "SELECT address, key, value FROM device_attrs "
                           "WHERE host = " HOST " ORDER BY address, key",
        [STMT_DEVICE_UPSERT] =
                "INSERT INTO devices (host, " DEVICE_COLUMNS ") "
                "VALUES (" HOST ", ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
                "ON CONFLICT (host, address) DO UPDATE SET vendor_id = excluded.vendor_id, "
                "device_id = excluded.device_id, "
                "subsystem_vendor_id = excluded.subsystem_vendor_id, "
                "subsystem_device_id = excluded.subsystem_device_id, serial = excluded.serial, "
                "slot = excluded.slot, desired = excluded.desired, "
                "host_driver = excluded.host_driver, label = excluded.label, "
                "health = excluded.health, reason = excluded.reason, "
                "assigned_vm = excluded.assigned_vm, "
                "updated_at = excluded.updated_at",
        [STMT_ATTRS_CLEAR] = "DELETE FROM device_attrs WHERE host = " HOST " AND address = ?1",
        [STMT_ATTR_ADD] = "INSERT INTO device_attrs (host, address, key, value) "
                          "VALUES (" HOST ", ?1, ?2, ?3)",
        [STMT_DEVICE_DELETE] = "DELETE FROM devices WHERE host = " HOST " AND address = ?1",
        [STMT_EVENT_ADD] = "INSERT INTO events (at, kind, subject, message, actor, host) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, " HOST ")",
        /* The newest `limit` after `since`, oldest first, from every host. */
        [STMT_EVENT_LIST] =
                "SELECT e.id, e.at, e.kind, e.subject, e.message, e.actor, h.name FROM ("
                "SELECT * FROM events WHERE id > ?1 ORDER BY id DESC LIMIT ?2) AS e "
                "LEFT JOIN hosts AS h ON h.id = e.host ORDER BY e.id",
        [STMT_VM_GET] = "SELECT " VM_COLUMNS " FROM vms WHERE host = " HOST " AND name = ?1",
        [STMT_VM_LIST] = "SELECT " VM_COLUMNS " FROM vms WHERE host = " HOST " ORDER BY name",
        [STMT_VM_EXISTS] = "SELECT count(*) FROM vms WHERE host = " HOST " AND name = ?1",
        [STMT_VM_INSERT] = "INSERT INTO vms (host, name, spec, created_at, updated_at) "
                           "VALUES (" HOST ", ?1, ?2, ?3, ?3)",
        [STMT_VM_UPDATE_SPEC] = "UPDATE vms SET spec = ?2, updated_at = ?3 "
                                "WHERE host = " HOST " AND name = ?1",
        [STMT_VM_SET_RUNTIME] = "UPDATE vms SET state = ?2, pid = ?3, qmp_path = ?4, "
                                "started_at = ?5, updated_at = ?6 "
                                "WHERE host = " HOST " AND name = ?1",
        [STMT_VM_DELETE] = "DELETE FROM vms WHERE host = " HOST " AND name = ?1",
        [STMT_VM_DELETE_ANY] = "DELETE FROM vms WHERE name = ?1",
        [STMT_DEVICE_HOLDER] =
                "SELECT assigned_vm FROM devices WHERE host = " HOST " AND address = ?1",
        [STMT_DEVICE_ASSIGN] = "UPDATE devices SET assigned_vm = ?2, updated_at = ?3 "
                               "WHERE host = " HOST " AND address = ?1",
        [STMT_DEVICES_RELEASE] = "UPDATE devices SET assigned_vm = NULL, updated_at = ?2 "
                                 "WHERE host = " HOST " AND assigned_vm = ?1",
        /* A VM's devices on every host: its name is the store's (schema 7). */
        [STMT_DEVICES_RELEASE_ALL] = "UPDATE devices SET assigned_vm = NULL, updated_at = ?2 "
                                     "WHERE assigned_vm = ?1",
        /* The cluster's VMs (sqlite-placement.c), whatever the connection's
         * host; hosts by name. */
        [STMT_CVM_GET] = "SELECT " CLUSTER_VM_COLUMNS " FROM vms AS v "
                         "LEFT JOIN hosts AS h ON h.id = v.host WHERE v.name = ?1",
        [STMT_CVM_LIST] = "SELECT " CLUSTER_VM_COLUMNS " FROM vms AS v "
                          "LEFT JOIN hosts AS h ON h.id = v.host WHERE ?1 IS NULL OR h.name = ?1 "
                          "ORDER BY v.name",
        /* No row inserted: there is no host named ?4 (NULL: unplaced). */
        [STMT_CVM_INSERT] = "INSERT INTO vms (host, name, spec, created_at, updated_at) "
                            "SELECT (SELECT id FROM hosts WHERE name = ?4), ?1, ?2, ?3, ?3 "
                            "WHERE ?4 IS NULL OR EXISTS (SELECT 1 FROM hosts WHERE name = ?4)",
        /* A claim: no row when the VM or the host is missing, or the VM
         * holds another host's devices (STMT_VM_PLACE_WHY tells which). */
        [STMT_VM_PLACE] = "UPDATE vms SET host = (SELECT id FROM hosts WHERE name = ?2), "
                          "desired = 'on', epoch = epoch + 1, reported_state = NULL, "
                          "reported_ms = 0, updated_at = ?3 "
                          "WHERE name = ?1 AND EXISTS (SELECT 1 FROM hosts WHERE name = ?2) "
                          "AND NOT EXISTS (SELECT 1 FROM devices AS d WHERE d.assigned_vm = ?1 "
                          "AND d.host IS NOT (SELECT id FROM hosts WHERE name = ?2)) "
                          "RETURNING epoch",
        [STMT_VM_PLACE_WHY] = "SELECT EXISTS (SELECT 1 FROM vms WHERE name = ?1) "
                              "AND EXISTS (SELECT 1 FROM hosts WHERE name = ?2)",
        [STMT_VM_HELD_ON] = "SELECT h.name FROM devices AS d JOIN hosts AS h ON h.id = d.host "
                            "WHERE d.assigned_vm = ?1 ORDER BY h.name LIMIT 1",
        [STMT_VM_UNPLACE] = "UPDATE vms SET desired = 'off', host = CASE WHEN ?2 THEN host END, "
                            "reported_state = CASE WHEN ?2 THEN reported_state END, "
                            "reported_ms = CASE WHEN ?2 THEN reported_ms ELSE 0 END, "
                            "updated_at = ?3 WHERE name = ?1",
        [STMT_VM_SET_DESIRED] = "UPDATE vms SET desired = ?2, updated_at = ?3 WHERE name = ?1",
        [STMT_VM_SET_START_FAILURES] =
                "UPDATE vms SET start_failures = ?2, updated_at = ?3 WHERE name = ?1",
        [STMT_VM_SET_MOVING] = "UPDATE vms SET moving_from = ?2, updated_at = ?3 WHERE name = ?1",
        /* Only the current claim's report, from the host it is placed on;
         * ?9 is now in unix ms, as the cluster's statements below. */
        [STMT_VM_REPORT] = "UPDATE vms SET reported_state = ?4, reported_ms = ?9 "
                           "WHERE name = ?1 AND host = (SELECT id FROM hosts WHERE name = ?2) "
                           "AND epoch = ?3",
        [STMT_VM_NAMED] = "SELECT count(*) FROM vms WHERE name = ?1",
        [STMT_TOKEN_ADD] = "INSERT INTO tokens (name, hash, created_at, role, hosts, vms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [STMT_TOKEN_LIST] =
                "SELECT name, created_at, last_used_at, role, hosts, vms FROM tokens ORDER BY name",
        [STMT_TOKEN_HASHES] = "SELECT name, hash FROM tokens",
        [STMT_TOKEN_GET] = "SELECT name, created_at, last_used_at, role, hosts, vms FROM tokens "
                           "WHERE name = ?1 AND hash = ?2",
        /* A use is written at most once a minute (?4 seconds): a browser's
         * page load is a handful of requests, and each would be a write. */
        [STMT_TOKEN_USED] = "UPDATE tokens SET last_used_at = ?3 "
                            "WHERE name = ?1 AND hash = ?2 AND last_used_at <= ?3 - ?4",
        [STMT_TOKEN_REVOKE] = "DELETE FROM tokens WHERE name = ?1",
        /* The cluster's hosts, join tokens and leader (sqlite-cluster.c).
         * Lease times are unix milliseconds of this process's clock, bound
         * as ?9: SQLite's file has no clock of its own, and one host uses it. */
        [STMT_HOST_CRED_SET] = "UPDATE hosts SET credential = ?2 "
                               "WHERE name = ?1 AND credential IS NULL",
        [STMT_HOST_CRED_OF] = "SELECT credential IS NOT NULL FROM hosts WHERE name = ?1",
        [STMT_HOST_REVOKE] = "UPDATE hosts SET credential = NULL WHERE name = ?1",
        [STMT_HOST_CREDS] = "SELECT name, credential FROM hosts WHERE credential IS NOT NULL",
        [STMT_HOST_RENEW] =
                "UPDATE hosts SET lease_expires_ms = ?9 + ?2, heartbeat_ms = ?9, "
                "ready = coalesce(?3, ready) WHERE name = ?1 RETURNING lease_expires_ms",
        [STMT_HOST_REPORT] = "UPDATE hosts SET report = ?2, report_ms = ?9 WHERE name = ?1",
        [STMT_HOST_REPORT_GET] = "SELECT report, report_ms FROM hosts WHERE name = ?1",
        [STMT_HOST_READY] = "UPDATE hosts SET ready = ?2 WHERE name = ?1",
        [STMT_HOST_MAINTENANCE] = "UPDATE hosts SET maintenance = ?2 WHERE name = ?1",
        [STMT_HOST_LIST] = "SELECT name, credential IS NOT NULL, lease_expires_ms, "
                           "lease_expires_ms > ?9, heartbeat_ms, ready, maintenance, ?9 "
                           "FROM hosts WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
        [STMT_JOIN_ADD] = "INSERT INTO join_tokens (hash, created_at, expires_ms) "
                          "VALUES (?1, ?9 / 1000, ?9 + ?2) RETURNING expires_ms",
        /* One use: the row changes only while unused and unexpired. */
        [STMT_JOIN_USE] = "UPDATE join_tokens SET used_ms = ?9 "
                          "WHERE hash = ?1 AND used_ms IS NULL AND expires_ms > ?9",
        [STMT_JOIN_STATE] = "SELECT used_ms IS NOT NULL, expires_ms > ?9 FROM join_tokens "
                            "WHERE hash = ?1",
        [STMT_JOIN_LIST] = "SELECT id, created_at, expires_ms, coalesce(used_ms, 0) "
                           "FROM join_tokens ORDER BY id",
        /* Taken when free or expired, renewed by its holder; the fencing
         * token grows when the holder changes. */
        [STMT_LEADER_TAKE] = "UPDATE leader SET token = token + (holder <> ?1), holder = ?1, "
                             "expires_ms = ?9 + ?2 "
                             "WHERE id = 1 AND (expires_ms <= ?9 OR holder = ?1) RETURNING token",
        [STMT_LEADER_HOLDER] = "SELECT holder FROM leader WHERE id = 1",
        /* The cluster's settings (schema 9). */
        [STMT_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
        [STMT_SETTING_SET] = "INSERT INTO settings (key, value, updated_ms) VALUES (?1, ?3, ?9) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                             "updated_ms = excluded.updated_ms",
        [STMT_SETTING_UNSET] = "DELETE FROM settings WHERE key = ?1",
};

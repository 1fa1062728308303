/* The PostgreSQL backend's cluster VMs: the whole store's VMs, their
 * placement, desired state and reports (schema 7). */
/* A claim and a report are each one statement that writes and, in the same
 * snapshot, reads why it wrote nothing: one round trip, and what it says is
 * of the state it saw. Two controllers claiming one VM at once update one
 * row; the serialisable transaction of the one that waited fails and is
 * retried (hp_pg_run()), then raises the epoch the winner left. Reports are
 * timed by the database's clock (NOW_MS), as the leases are. */
#include "pg-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"

#define CLUSTER_VM_SELECT                                                                          \
        "SELECT v.name, h.name, v.spec, v.state, v.desired, v.reported_state, v.epoch, "          \
        "v.reported_ms, v.pid, v.started_at, v.created_at, v.updated_at, v.start_failures, v.moving_from "       \
        "FROM vms AS v LEFT JOIN hosts AS h ON h.id = v.host "

static int row_to_cluster_vm(PGresult *res, int row, void *ret)
{
        _cleanup_(hp_cluster_vm_done) struct hp_cluster_vm v = {0};
        char **strs[] = {&v.name,  &v.host,    &v.spec_json,
                         &v.state, &v.desired, &v.reported_state};
        int64_t *ints[] = {&v.epoch,      &v.reported_ms, &v.pid,
                           &v.started_at, &v.created_at,  &v.updated_at};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                r = hp_pg_strdup(res, row, (int)i, strs[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(ints); i++) {
                r = hp_pg_int64(res, row, (int)(ELEMENTSOF(strs) + i), ints[i]);
                if (r < 0)
                        return r;
        }
        r = hp_pg_strdup(res, row, (int)(ELEMENTSOF(strs) + ELEMENTSOF(ints)), &v.start_failures);
        if (r >= 0)
                r = hp_pg_strdup(res, row, (int)(ELEMENTSOF(strs) + ELEMENTSOF(ints)) + 1, &v.moving_from);
        if (r < 0)
                return r;
        if (!v.name || !v.spec_json || !v.state || !v.desired)
                return -EBADMSG;
        *(struct hp_cluster_vm *)ret = v;
        v = (struct hp_cluster_vm){0};
        return 0;
}

struct cluster_vm_read {
        const char *name; /* NULL: every VM */
        const char *host; /* NULL: on any host */
        struct hp_cluster_vm *v;
        size_t n;
};

static int cluster_vm_read_op(struct hp_pg *s, void *data)
{
        struct cluster_vm_read *d = data;
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = {d->name ? d->name : d->host};
        void *v = NULL;
        size_t n = 0;
        int r;

        r = d->name   ? hp_pg_exec(s, CLUSTER_VM_SELECT "WHERE v.name = $1", 1, params, &res)
            : d->host ? hp_pg_exec(s, CLUSTER_VM_SELECT "WHERE h.name = $1 ORDER BY v.name", 1, params, &res)
                      : hp_pg_exec(s, CLUSTER_VM_SELECT "ORDER BY v.name", 0, NULL, &res);
        if (r >= 0)
                r = hp_pg_read_rows(res, sizeof(struct hp_cluster_vm), row_to_cluster_vm, &v,
                                    &n);
        if (r < 0) {
                hp_cluster_vms_free(v, n);
                return r;
        }
        d->v = v;
        d->n = n;
        return 0;
}

int hp_pg_cluster_vm_list(struct hp_store *s, const char *host, struct hp_cluster_vm **ret, size_t *ret_n)
{
        struct cluster_vm_read d = {.host = host};
        int r = hp_pg_run(hp_pg(s), false, cluster_vm_read_op, &d);

        if (r < 0)
                return r;
        *ret = d.v;
        *ret_n = d.n;
        return 0;
}

int hp_pg_cluster_vm_get(struct hp_store *s, const char *name, struct hp_cluster_vm *ret)
{
        struct cluster_vm_read d = {.name = name};
        int r = hp_pg_run(hp_pg(s), false, cluster_vm_read_op, &d);

        if (r < 0)
                return r;
        if (d.n == 0)
                return -ENOENT;
        *ret = d.v[0];
        free(d.v);
        return 0;
}

int hp_pg_cluster_vm_create(struct hp_store *s, const char *name, const char *host,
                            const char *spec_json)
{
        char now[HP_PG_INT_LEN];
        struct hp_pg_one_row w = {
                /* No row inserted: there is no host named $4 (NULL: unplaced). */
                .sql = "INSERT INTO vms (host, name, spec, created_at, updated_at) "
                       "SELECT (SELECT id FROM hosts WHERE name = $4), $1, $2, $3::bigint, "
                       "$3::bigint "
                       "WHERE $4::text IS NULL OR EXISTS (SELECT 1 FROM hosts WHERE name = $4)",
                .params = {name, spec_json, now, host},
                .n = 4,
        };

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        /* The name taken: the primary key says -EEXIST. */
        return hp_pg_run_one_row(s, false, hp_pg_one_row_op, &w);
}

struct place {
        const char *params[3]; /* name, host, now */
        int64_t epoch;
};

/* The claim, and in the same snapshot why it missed: no VM or no host
 * (-ENOENT), or the VM holds another host's devices (-EBUSY). */
static int place_op(struct hp_pg *s, void *data)
{
        struct place *p = data;
        _cleanup_result_ PGresult *res = NULL;
        int r;

        r = hp_pg_exec(s,
                       "WITH upd AS (UPDATE vms SET host = (SELECT id FROM hosts WHERE name = $2), "
                       "desired = 'on', epoch = epoch + 1, reported_state = NULL, "
                       "reported_ms = 0, updated_at = $3::bigint "
                       "WHERE name = $1 AND EXISTS (SELECT 1 FROM hosts WHERE name = $2) "
                       "AND NOT EXISTS (SELECT 1 FROM devices AS d WHERE d.assigned_vm = $1 "
                       "AND d.host IS DISTINCT FROM (SELECT id FROM hosts WHERE name = $2)) "
                       "RETURNING epoch) "
                       "SELECT (SELECT epoch FROM upd), "
                       "EXISTS (SELECT 1 FROM vms WHERE name = $1) "
                       "AND EXISTS (SELECT 1 FROM hosts WHERE name = $2)",
                       3, p->params, &res);
        if (r < 0)
                return r;
        if (sym_PQgetisnull(res, 0, 0))
                return streq(sym_PQgetvalue(res, 0, 1), "t") ? -EBUSY : -ENOENT;
        return hp_pg_int64(res, 0, 0, &p->epoch);
}

int hp_pg_vm_place(struct hp_store *s, const char *name, const char *host, int64_t *ret_epoch)
{
        char now[HP_PG_INT_LEN];
        struct place p = {.params = {name, host, now}};
        int r;

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        r = hp_pg_run(hp_pg(s), false, place_op, &p);
        if (r < 0)
                return r;
        *ret_epoch = p.epoch;
        return 0;
}

/* desired 'off', the host kept or cleared, then every device it holds freed. */
static int unplace_op(struct hp_pg *s, void *data)
{
        struct hp_pg_one_row *w = data;
        int r;

        r = hp_pg_one_row_op(s, w);
        if (r < 0 || w->changes == 0)
                return r;
        r = hp_pg_release(s, true, w->params[0]);
        return r < 0 ? r : 0;
}

int hp_pg_vm_unplace(struct hp_store *s, const char *name, bool keep_host)
{
        char now[HP_PG_INT_LEN];
        struct hp_pg_one_row w = {
                .sql = "UPDATE vms SET desired = 'off', "
                       "host = CASE WHEN $2::boolean THEN host END, "
                       "reported_state = CASE WHEN $2::boolean THEN reported_state END, "
                       "reported_ms = CASE WHEN $2::boolean THEN reported_ms ELSE 0 END, updated_at = $3 "
                       "WHERE name = $1",
                .params = {name, keep_host ? "true" : "false", now},
                .n = 3,
        };

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        return hp_pg_run_one_row(s, true, unplace_op, &w);
}

/* sql sets one column of VM name to value ($2), and updated_at ($3). */
static int vm_set(struct hp_store *s, const char *sql, const char *name, const char *value)
{
        char now[HP_PG_INT_LEN];
        struct hp_pg_one_row w = {
                .sql = sql,
                .params = {name, value, now},
                .n = 3,
        };

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        return hp_pg_run_one_row(s, false, hp_pg_one_row_op, &w);
}

int hp_pg_vm_set_desired(struct hp_store *s, const char *name, const char *desired)
{
        return vm_set(s, "UPDATE vms SET desired = $2, updated_at = $3 WHERE name = $1", name, desired);
}

int hp_pg_vm_set_start_failures(struct hp_store *s, const char *name, const char *failures)
{
        return vm_set(s, "UPDATE vms SET start_failures = $2, updated_at = $3 WHERE name = $1", name, failures);
}

int hp_pg_vm_set_moving(struct hp_store *s, const char *name, const char *host)
{
        return vm_set(s, "UPDATE vms SET moving_from = $2, updated_at = $3 WHERE name = $1", name, host);
}

struct report {
        const char *params[4]; /* name, host, epoch, state */
        int result;            /* 0 or HP_STORE_REPORT_STALE */
};

/* Only the current claim's report, from the host it is placed on; in the
 * same snapshot, whether the VM is there at all. */
static int report_op(struct hp_pg *s, void *data)
{
        struct report *p = data;
        _cleanup_result_ PGresult *res = NULL;
        int r;

        r = hp_pg_exec(s,
                       "WITH upd AS (UPDATE vms SET reported_state = $4, reported_ms = " NOW_MS
                       " WHERE name = $1 AND host = (SELECT id FROM hosts WHERE name = $2) "
                       "AND epoch = $3::bigint RETURNING 1) "
                       "SELECT (SELECT count(*) FROM upd) > 0, "
                       "EXISTS (SELECT 1 FROM vms WHERE name = $1)",
                       4, p->params, &res);
        if (r < 0)
                return r;
        if (streq(sym_PQgetvalue(res, 0, 0), "t"))
                p->result = 0;
        else if (streq(sym_PQgetvalue(res, 0, 1), "t"))
                p->result = HP_STORE_REPORT_STALE;
        else
                return -ENOENT;
        return 0;
}

int hp_pg_vm_report(struct hp_store *s, const char *host, const char *name, int64_t epoch,
                    const char *state)
{
        char e[HP_PG_INT_LEN];
        struct report p = {.params = {name, host, e, state}};
        int r;

        hp_pg_fmt_int(e, epoch);
        r = hp_pg_run(hp_pg(s), false, report_op, &p);
        return r < 0 ? r : p.result;
}

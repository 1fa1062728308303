/* The PostgreSQL backend's VMs of the connection's host (table vms), and devices assigned to VMs. */
/* Assignment is one conditional update of the devices (all free, or
 * already the VM's), one statement and one round trip: of two controllers
 * assigning one device at once, the second's update conflicts, is retried
 * (pg.c), and then finds the device held, which it reports by name. The
 * whole store's VMs, placed or not, are pg-placement.c's. */
#include "pg-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"

#define VM_SELECT                                                                                  \
        "SELECT name, spec, state, pid, qmp_path, started_at, created_at, updated_at FROM vms "   \
        "WHERE host = $1 "

static int row_to_record(PGresult *res, int row, void *ret)
{
        _cleanup_(hp_vm_record_done) struct hp_vm_record v = {0};
        int r;

        if ((r = hp_pg_strdup(res, row, 0, &v.name)) < 0 ||
            (r = hp_pg_strdup(res, row, 1, &v.spec_json)) < 0 ||
            (r = hp_pg_strdup(res, row, 2, &v.state)) < 0 ||
            (r = hp_pg_strdup(res, row, 4, &v.qmp_path)) < 0 ||
            (r = hp_pg_int64(res, row, 3, &v.pid)) < 0 ||
            (r = hp_pg_int64(res, row, 5, &v.started_at)) < 0 ||
            (r = hp_pg_int64(res, row, 6, &v.created_at)) < 0 ||
            (r = hp_pg_int64(res, row, 7, &v.updated_at)) < 0)
                return r;
        if (!v.name || !v.spec_json || !v.state)
                return -EBADMSG;
        *(struct hp_vm_record *)ret = v;
        v = (struct hp_vm_record){0};
        return 0;
}

struct vm_read {
        const char *name; /* NULL: every VM of the host */
        struct hp_vm_record *v;
        size_t n;
};

static int vm_read_op(struct hp_pg *s, void *data)
{
        struct vm_read *d = data;
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = {s->host_id, d->name};
        void *v = NULL;
        size_t n = 0;
        int r;

        r = d->name ? hp_pg_exec(s, VM_SELECT "AND name = $2", 2, params, &res)
                    : hp_pg_exec(s, VM_SELECT "ORDER BY name", 1, params, &res);
        if (r >= 0)
                r = hp_pg_read_rows(res, sizeof(struct hp_vm_record), row_to_record, &v, &n);
        if (r < 0) {
                hp_vm_records_free(v, n);
                return r;
        }
        d->v = v;
        d->n = n;
        return 0;
}

int hp_pg_vm_get(struct hp_store *s, const char *name, struct hp_vm_record *ret)
{
        struct vm_read d = {.name = name};
        int r = hp_pg_run(hp_pg(s), false, vm_read_op, &d);

        if (r < 0)
                return r;
        if (d.n == 0)
                return -ENOENT;
        *ret = d.v[0];
        free(d.v);
        return 0;
}

int hp_pg_vm_list(struct hp_store *s, struct hp_vm_record **ret, size_t *ret_n)
{
        struct vm_read d = {0};
        int r = hp_pg_run(hp_pg(s), false, vm_read_op, &d);

        if (r < 0)
                return r;
        *ret = d.v;
        *ret_n = d.n;
        return 0;
}

/* A write of one statement on one VM's row of the connection's host ($1). */
static int vm_write_op(struct hp_pg *s, void *data)
{
        struct hp_pg_one_row *w = data;

        w->params[0] = s->host_id;
        return hp_pg_one_row_op(s, w);
}

int hp_pg_vm_create(struct hp_store *s, const char *name, const char *spec_json)
{
        char now[HP_PG_INT_LEN];
        struct hp_pg_one_row w = {
                .sql = "INSERT INTO vms (host, name, spec, created_at, updated_at) "
                       "VALUES ($1, $2, $3, $4, $4)",
                .params = {NULL, name, spec_json, now},
                .n = 4,
        };

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        /* The only constraint the values can break is the primary key: -EEXIST. */
        return hp_pg_run(hp_pg(s), false, vm_write_op, &w);
}

int hp_pg_vm_update_spec(struct hp_store *s, const char *name, const char *spec_json)
{
        char now[HP_PG_INT_LEN];
        struct hp_pg_one_row w = {
                .sql = "UPDATE vms SET spec = $3, updated_at = $4 WHERE host = $1 AND name = $2",
                .params = {NULL, name, spec_json, now},
                .n = 4,
        };

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        return hp_pg_run_one_row(s, false, vm_write_op, &w);
}

int hp_pg_vm_set_runtime(struct hp_store *s, const char *name, const char *state, int64_t pid,
                         const char *qmp_path, int64_t started_at)
{
        char now[HP_PG_INT_LEN], p[HP_PG_INT_LEN], started[HP_PG_INT_LEN];
        struct hp_pg_one_row w = {
                .sql = "UPDATE vms SET state = $3, pid = $4, qmp_path = $5, started_at = $6, "
                       "updated_at = $7 WHERE host = $1 AND name = $2",
                .params = {NULL, name, state, p, qmp_path, started, now},
                .n = 7,
        };

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        hp_pg_fmt_int(p, pid);
        hp_pg_fmt_int(started, started_at);
        return hp_pg_run_one_row(s, false, vm_write_op, &w);
}

int hp_pg_release(struct hp_pg *s, bool all_hosts, const char *vm)
{
        _cleanup_result_ PGresult *res = NULL;
        char now[HP_PG_INT_LEN];
        const char *params[] = {vm, now, s->host_id};
        int r;

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        r = all_hosts ? hp_pg_exec(s,
                                   "UPDATE devices SET assigned_vm = NULL, updated_at = $2 "
                                   "WHERE assigned_vm = $1",
                                   2, params, &res)
                      : hp_pg_exec(s,
                                   "UPDATE devices SET assigned_vm = NULL, updated_at = $2 "
                                   "WHERE host = $3 AND assigned_vm = $1",
                                   3, params, &res);
        return r < 0 ? r : hp_pg_changes(res);
}

struct vm_release {
        const char *vm;
        int n;
};

static int release_op(struct hp_pg *s, void *data)
{
        struct vm_release *d = data;
        int r = hp_pg_release(s, false, d->vm);

        if (r < 0)
                return r;
        d->n = r;
        return 0;
}

int hp_pg_release_devices(struct hp_store *s, const char *vm)
{
        struct vm_release d = {.vm = vm};
        int r = hp_pg_run(hp_pg(s), false, release_op, &d);

        return r < 0 ? r : d.n;
}

struct vm_delete {
        const char *name;
        bool any_host; /* wherever it is placed, or unplaced */
};

static int delete_op(struct hp_pg *s, void *data)
{
        struct vm_delete *d = data;
        struct hp_pg_one_row w = {
                .sql = d->any_host ? "DELETE FROM vms WHERE name = $1" : "DELETE FROM vms WHERE host = $1 AND name = $2",
                .params = {d->any_host ? d->name : s->host_id, d->name},
                .n = d->any_host ? 1 : 2,
        };
        int r = hp_pg_one_row_op(s, &w);

        if (r >= 0 && w.changes == 0)
                return -ENOENT;
        if (r >= 0)
                r = hp_pg_release(s, true, d->name);
        return r < 0 ? r : 0;
}

int hp_pg_vm_delete(struct hp_store *s, const char *name)
{
        return hp_pg_run(hp_pg(s), true, delete_op, &(struct vm_delete){ .name = name });
}

int hp_pg_cluster_vm_delete(struct hp_store *s, const char *name)
{
        return hp_pg_run(hp_pg(s), true, delete_op, &(struct vm_delete){ .name = name, .any_host = true });
}

struct assign {
        const char *vm;
        char *const *addresses;
        size_t n;
        char *blame; /* the address to blame, and its holder */
};

/* The addresses as a text[] literal. */
static char *array_literal(char *const *addresses, size_t n)
{
        struct hp_pg_arrays a;
        int r = hp_pg_arrays_open(&a, 1);
        char *text;

        for (size_t i = 0; r >= 0 && i < n; i++)
                hp_pg_array_text(&a, 0, addresses[i]);
        if (r >= 0)
                r = hp_pg_arrays_close(&a);
        text = r >= 0 ? TAKE_PTR(a.text[0]) : NULL;
        hp_pg_arrays_done(&a);
        return text;
}

/* After the update missed some: the first address, in the caller's order,
 * that has no row or another holder. */
static int blame_first(struct hp_pg *s, const char *host_id, struct assign *a, const char *array)
{
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = {host_id, array};
        int r, rows;

        r = hp_pg_exec(s,
                       "SELECT address, assigned_vm FROM devices "
                       "WHERE host = $1 AND address = ANY ($2::text[])",
                       2, params, &res);
        if (r < 0)
                return r;
        rows = sym_PQntuples(res);
        for (size_t i = 0; i < a->n; i++) {
                int row = 0;

                while (row < rows && !streq(sym_PQgetvalue(res, row, 0), a->addresses[i]))
                        row++;
                if (row == rows)
                        return hp_errorf(&a->blame, -ENOENT, "%s", a->addresses[i]);
                if (!sym_PQgetisnull(res, row, 1) && !streq(sym_PQgetvalue(res, row, 1), a->vm))
                        return hp_errorf(&a->blame, -EBUSY, "%s (held by %s)", a->addresses[i],
                                         sym_PQgetvalue(res, row, 1));
        }
        return 0; /* every one is free again: no culprit */
}

/* All or nothing in one statement: the devices are updated only when the
 * VM exists and every one of them has a row and is free or the VM's
 * already. What the statement reads, it reads in the snapshot it writes in
 * (serialisable), so a device another connection changed meanwhile makes
 * it conflict and retry (pg.c), never write over the other's. */
static int assign_op(struct hp_pg *s, void *data)
{
        struct assign *a = data;
        _cleanup_free_ char *array = array_literal(a->addresses, a->n);
        char now[HP_PG_INT_LEN];
        const char *params[] = {s->host_id, a->vm, now, array};
        int r;

        free(TAKE_PTR(a->blame)); /* from a try that conflicted */
        if (!array)
                return -ENOMEM;
        hp_pg_fmt_int(now, (int64_t)time(NULL));
        for (int tries = 0; tries < 3; tries++) {
                _cleanup_result_ PGresult *res = NULL, *vm = NULL;

                r = hp_pg_exec(
                        s,
                        "WITH want AS (SELECT DISTINCT w FROM unnest($4::text[]) AS w), "
                        "ok AS (SELECT EXISTS (SELECT 1 FROM vms WHERE host = $1 AND name = $2) "
                        "AND (SELECT count(*) FROM devices WHERE host = $1 "
                        "AND address IN (SELECT w FROM want) "
                        "AND (assigned_vm IS NULL OR assigned_vm = $2)) = "
                        "(SELECT count(*) FROM want) AS ok), "
                        "upd AS (UPDATE devices SET assigned_vm = $2, updated_at = $3 "
                        "WHERE host = $1 AND address IN (SELECT w FROM want) "
                        "AND (SELECT ok FROM ok) RETURNING 1) "
                        "SELECT (SELECT ok FROM ok), (SELECT count(*) FROM upd)",
                        4, params, &res);
                if (r < 0)
                        return r;
                if (streq(sym_PQgetvalue(res, 0, 0), "t"))
                        return 0;
                /* Refused: why, in store.h's order (the VM, then the first device to blame). */
                r = hp_pg_exec(s, "SELECT 1 FROM vms WHERE host = $1 AND name = $2", 2, params,
                               &vm);
                if (r < 0)
                        return r;
                if (sym_PQntuples(vm) == 0)
                        return -ENOENT;
                r = blame_first(s, s->host_id, a, array);
                if (r < 0)
                        return r;
                /* Freed between the two reads (outside a transaction): try again. */
        }
        return -EBUSY;
}

int hp_pg_assign_devices(struct hp_store *s, const char *vm, char *const *addresses, size_t n,
                         char **ret_conflict)
{
        struct assign a = {.vm = vm, .addresses = addresses, .n = n};
        int r = hp_pg_run(hp_pg(s), false, assign_op, &a);

        if (r < 0 && a.blame && ret_conflict)
                *ret_conflict = TAKE_PTR(a.blame);
        free(a.blame);
        return r;
}

struct held_on {
        const char *vm;
        char *host;
        bool held;
};

static int held_on_op(struct hp_pg *s, void *data)
{
        struct held_on *h = data;
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = { h->vm };
        int r = hp_pg_exec(s,
                           "SELECT h.name FROM devices AS d JOIN hosts AS h ON h.id = d.host "
                           "WHERE d.assigned_vm = $1 ORDER BY h.name LIMIT 1",
                           1, params, &res);

        free(TAKE_PTR(h->host)); /* from a try that conflicted */
        if (r < 0)
                return r;
        h->held = sym_PQntuples(res) == 1;
        return h->held ? hp_pg_strdup(res, 0, 0, &h->host) : 0;
}

int hp_pg_vm_held_on(struct hp_store *s, const char *name, char **ret_host)
{
        struct held_on h = { .vm = name };
        int r = hp_pg_run(hp_pg(s), false, held_on_op, &h);

        if (r >= 0 && h.held && ret_host)
                *ret_host = TAKE_PTR(h.host);
        free(h.host);
        return r < 0 ? r : h.held;
}

struct claim {
        const struct hp_store_claim *c;
        struct hp_store_claim_result *res;
};

/* Every check and write of the claim in one statement, one snapshot:
 * nothing is written unless every check holds; then why not, from what
 * the same statement read. A refusal is the claim's outcome, not the
 * operation's failure: the caller's transaction goes on after it. */
static int claim_op(struct hp_pg *s, void *data)
{
        struct claim *cl = data;
        const struct hp_store_claim *c = cl->c;
        _cleanup_free_ char *array = array_literal(c->addrs, c->n);
        _cleanup_result_ PGresult *res = NULL;
        char now[HP_PG_INT_LEN];
        const char *params[] = {c->vm, c->host, array, now, c->check_host ? "true" : "false",
                                c->event_kind, c->event_message, s->store.actor};
        struct assign a = {.vm = c->vm, .addresses = c->addrs, .n = c->n};
        int r;

        hp_store_claim_result_done(cl->res); /* from a try that conflicted */
        if (!array)
                return -ENOMEM;
        hp_pg_fmt_int(now, (int64_t)time(NULL));
        r = hp_pg_exec(
                s,
                "WITH v AS (SELECT desired FROM vms WHERE name = $1), "
                "h AS (SELECT id, credential IS NOT NULL AND lease_expires_ms > " NOW_MS
                " AND ready AND NOT maintenance AS takes FROM hosts WHERE name = $2), "
                "want AS (SELECT DISTINCT w FROM unnest($3::text[]) AS w), "
                "free AS (SELECT count(*) AS n FROM devices WHERE host = (SELECT id FROM h) "
                "AND address IN (SELECT w FROM want) "
                "AND (assigned_vm IS NULL OR assigned_vm = $1)), "
                /* Its last run not ended: devices held on any host, or a live report. */
                "away AS (SELECT EXISTS (SELECT 1 FROM devices WHERE assigned_vm = $1) "
                "OR coalesce((SELECT reported_state <> 'off' FROM vms WHERE name = $1), false) "
                "AS held), "
                "ok AS (SELECT coalesce((SELECT desired FROM v) = 'off' "
                "AND EXISTS (SELECT 1 FROM h) AND (NOT $5::boolean OR (SELECT takes FROM h)) "
                "AND NOT (SELECT held FROM away) "
                "AND (SELECT n FROM free) = (SELECT count(*) FROM want), false) AS ok), "
                "pv AS (UPDATE vms SET host = (SELECT id FROM h), desired = 'on', "
                "epoch = epoch + 1, reported_state = NULL, reported_ms = 0, start_failures = NULL, "
                "updated_at = $4::bigint WHERE name = $1 AND (SELECT ok FROM ok) RETURNING epoch), "
                "pd AS (UPDATE devices SET assigned_vm = $1, updated_at = $4::bigint "
                "WHERE host = (SELECT id FROM h) AND address IN (SELECT w FROM want) "
                "AND (SELECT ok FROM ok) RETURNING 1), "
                "n AS (UPDATE event_counter SET last = last + 1 WHERE id = 1 "
                "AND (SELECT ok FROM ok) RETURNING last), "
                "e AS (INSERT INTO events (id, at, kind, subject, message, actor, host) "
                "SELECT last, $4::bigint, $6, $1, $7, $8, (SELECT id FROM h) FROM n RETURNING 1) "
                "SELECT (SELECT epoch FROM pv), (SELECT desired FROM v), (SELECT id FROM h), "
                "(SELECT takes FROM h), (SELECT held FROM away), (SELECT count(*) FROM pd), "
                "(SELECT count(*) FROM e)",
                ELEMENTSOF(params), params, &res);
        if (r < 0)
                return r;
        if (!sym_PQgetisnull(res, 0, 0))
                return hp_pg_int64(res, 0, 0, &cl->res->epoch);
        /* Refused: why, in the order hp_ctl's claim has always checked. */
        if (sym_PQgetisnull(res, 0, 1))
                cl->res->r = -ENOENT;
        else if (streq(sym_PQgetvalue(res, 0, 1), "on"))
                cl->res->r = -EALREADY;
        else if (c->check_host && (sym_PQgetisnull(res, 0, 2) || !streq(sym_PQgetvalue(res, 0, 3), "t")))
                cl->res->r = -EHOSTUNREACH;
        else if (sym_PQgetisnull(res, 0, 2))
                cl->res->r = -ENOENT;
        else if (streq(sym_PQgetvalue(res, 0, 4), "t"))
                cl->res->r = -EBUSY;
        else {
                r = blame_first(s, sym_PQgetvalue(res, 0, 2), &a, array);
                if (r < 0 && !a.blame)
                        return r; /* the store's */
                /* Every one free again (in no snapshot of ours): a conflict, the transaction's. */
                if (r >= 0)
                        return -EBUSY;
                cl->res->r = r;
                cl->res->conflict = a.blame;
        }
        return 0;
}

int hp_pg_claim(struct hp_store *s, const struct hp_store_claim *c, struct hp_store_claim_result *ret)
{
        return hp_pg_run(hp_pg(s), false, claim_op, &(struct claim){ .c = c, .res = ret });
}

enum {
        ALL_VMS,
        ALL_HOSTS,
        ALL_CHECK,
        ALL_KINDS,
        ALL_MESSAGES,
        ALL_DEV_CLAIM,
        ALL_DEV_ADDR,
        ALL_ARRAYS
};

_Static_assert(ALL_ARRAYS <= HP_PG_ARRAYS_MAX, "the claims' arrays are written at once");

struct claim_all {
        const char *params[ALL_ARRAYS + 2]; /* the arrays, now, the actor */
        size_t n;
        struct hp_store_claim_result *res;
        bool claimed;
};

/* Every claim in one statement, every check of each in one snapshot, as
 * claim_op() makes them; nothing is written unless each claim holds and
 * none reaches for a VM or a device another one of them does (those are
 * judged one by one, each after the ones before it). */
static int claim_all_op(struct hp_pg *s, void *data)
{
        struct claim_all *a = data;
        _cleanup_result_ PGresult *res = NULL;
        int r;

        a->claimed = false;
        r = hp_pg_exec(
                s,
                "WITH c AS (SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], "
                "$4::text[], "
                "$5::text[]) WITH ORDINALITY AS c (vm, host, check_host, kind, message, i)), "
                /* Each claim's VM, host and whether its last run may go on, by index. */
                "j AS (SELECT c.*, h.id AS host_id, h.takes, "
                "(SELECT desired FROM vms WHERE name = c.vm) AS desired, "
                "(SELECT count(*) FROM devices AS d WHERE d.assigned_vm = c.vm) + "
                "(SELECT count(*) FROM vms WHERE name = c.vm AND reported_state <> 'off') AS away "
                "FROM c LEFT JOIN LATERAL (SELECT id, credential IS NOT NULL AND lease_expires_ms "
                "> " NOW_MS " AND ready AND NOT maintenance AS takes FROM hosts WHERE name = "
                "c.host) AS h ON true), "
                /* Each device asked for: free, or its VM's already. */
                "w AS (SELECT w.address, j.vm, j.host_id, (SELECT assigned_vm IS NULL OR "
                "assigned_vm = j.vm "
                "FROM devices AS d WHERE d.host = j.host_id AND d.address = w.address) AS free "
                "FROM unnest($6::bigint[], $7::text[]) AS w (i, address) JOIN j ON j.i = w.i), "
                "ok AS (SELECT (SELECT count(DISTINCT vm) FROM c) = (SELECT count(*) FROM c) "
                "AND (SELECT count(*) FROM (SELECT DISTINCT host_id, address FROM w) AS x) = "
                "(SELECT count(*) FROM w) "
                "AND coalesce((SELECT bool_and(desired = 'off' AND host_id IS NOT NULL "
                "AND (NOT check_host OR takes) AND away = 0) FROM j), false) "
                "AND coalesce((SELECT bool_and(free) FROM w), true) AS ok), "
                "pv AS (UPDATE vms SET host = (SELECT host_id FROM j WHERE j.vm = vms.name), "
                "desired = 'on', "
                "epoch = vms.epoch + 1, reported_state = NULL, reported_ms = 0, start_failures = "
                "NULL, "
                "updated_at = $8::bigint WHERE vms.name = ANY ($1::text[]) AND (SELECT ok FROM ok) "
                "RETURNING vms.name, vms.epoch), "
                "pd AS (UPDATE devices SET assigned_vm = (SELECT vm FROM w WHERE w.host_id = "
                "devices.host "
                "AND w.address = devices.address), updated_at = $8::bigint "
                "WHERE devices.host = ANY (ARRAY(SELECT host_id FROM j)) AND devices.address = ANY "
                "($7::text[]) "
                "AND EXISTS (SELECT 1 FROM w WHERE w.host_id = devices.host AND w.address = "
                "devices.address) "
                "AND (SELECT ok FROM ok) RETURNING 1), "
                "n AS (UPDATE event_counter SET last = last + (SELECT count(*) FROM c) WHERE id = "
                "1 "
                "AND (SELECT ok FROM ok) RETURNING last), "
                "e AS (INSERT INTO events (id, at, kind, subject, message, actor, host) "
                "SELECT n.last - (SELECT count(*) FROM c) + j.i, $8::bigint, j.kind, j.vm, "
                "j.message, $9, "
                "j.host_id FROM n, j RETURNING 1) "
                "SELECT j.i, pv.epoch, (SELECT count(*) FROM pd), (SELECT count(*) FROM e) "
                "FROM pv JOIN j ON j.vm = pv.name ORDER BY j.i",
                ELEMENTSOF(a->params), a->params, &res);
        if (r < 0)
                return r;
        if (sym_PQntuples(res) == 0)
                return 0; /* not every one: none written */
        if ((size_t)sym_PQntuples(res) != a->n)
                return -EBADMSG;
        for (size_t i = 0; i < a->n; i++) {
                r = hp_pg_int64(res, (int)i, 1, &a->res[i].epoch);
                if (r < 0)
                        return r;
                a->res[i].r = 0;
        }
        a->claimed = true;
        return 0;
}

int hp_pg_claim_all(struct hp_store *s, const struct hp_store_claim *c, size_t n,
                    struct hp_store_claim_result *ret)
{
        struct claim_all a = { .n = n, .res = ret };
        struct hp_pg_arrays v;
        char now[HP_PG_INT_LEN];
        int r = hp_pg_arrays_open(&v, ALL_ARRAYS);

        for (size_t i = 0; r >= 0 && i < n; i++) {
                hp_pg_array_text(&v, ALL_VMS, c[i].vm);
                hp_pg_array_text(&v, ALL_HOSTS, c[i].host);
                hp_pg_array_bool(&v, ALL_CHECK, c[i].check_host);
                hp_pg_array_text(&v, ALL_KINDS, c[i].event_kind);
                hp_pg_array_text(&v, ALL_MESSAGES, c[i].event_message);
                for (size_t d = 0; d < c[i].n; d++) {
                        hp_pg_array_int(&v, ALL_DEV_CLAIM, (int64_t)i + 1);
                        hp_pg_array_text(&v, ALL_DEV_ADDR, c[i].addrs[d]);
                }
        }
        if (r >= 0)
                r = hp_pg_arrays_close(&v);
        for (size_t i = 0; i < ALL_ARRAYS; i++)
                a.params[i] = v.text[i];
        hp_pg_fmt_int(now, (int64_t)time(NULL));
        a.params[ALL_ARRAYS] = now;
        a.params[ALL_ARRAYS + 1] = s->actor;
        if (r >= 0)
                r = hp_pg_run(hp_pg(s), false, claim_all_op, &a);
        hp_pg_arrays_done(&v);
        if (r < 0)
                return r;
        return a.claimed ? 1 : 0;
}

/* The PostgreSQL backend's cluster state: hosts' credentials, leases and
 * reports, join tokens, the leader lease (schema 6). */
/* Every lease is timed by the database's clock (NOW_MS: now(), in unix
 * milliseconds), never a controller's, so controllers whose clocks disagree
 * still agree on who holds what. The one-use join token and the leader
 * lease are single conditional UPDATEs: two connections that race update
 * one row, and the serialisable transaction of the one that waited fails
 * and is retried (hp_pg_run()), then sees the winner's row. */
#include "pg-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"

int hp_pg_one_row_op(struct hp_pg *s, void *data)
{
        struct hp_pg_one_row *w = data;
        _cleanup_result_ PGresult *res = NULL;
        int r;

        r = hp_pg_exec(s, w->sql, w->n, w->params, &res);
        if (r < 0)
                return r;
        w->changes = hp_pg_changes(res);
        if (sym_PQresultStatus(res) == PGRES_TUPLES_OK && sym_PQntuples(res) == 1)
                return hp_pg_int64(res, 0, 0, &w->value);
        return 0;
}

int hp_pg_run_one_row(struct hp_store *s, bool multi, hp_pg_op op, struct hp_pg_one_row *w)
{
        int r = hp_pg_run(hp_pg(s), multi, op, w);

        if (r < 0)
                return r;
        return w->changes > 0 ? 0 : -ENOENT;
}

/* The host's credential, unless it holds one already: -EEXIST then (and
 * from the unique constraint when another host's is the same). */
static int set_credential_op(struct hp_pg *s, void *data)
{
        struct hp_pg_one_row *w = data;
        _cleanup_result_ PGresult *res = NULL;
        int r;

        w->changes = 0;
        r = hp_pg_exec(s, "SELECT credential IS NOT NULL FROM hosts WHERE name = $1", 1, w->params,
                       &res);
        if (r < 0)
                return r;
        if (sym_PQntuples(res) != 1)
                return 0; /* no such host: -ENOENT */
        if (streq(sym_PQgetvalue(res, 0, 0), "t"))
                return -EEXIST;
        return hp_pg_one_row_op(s, w);
}

int hp_pg_host_set_credential(struct hp_store *s, const char *name, const char *hash)
{
        struct hp_pg_one_row w = {
                .sql = "UPDATE hosts SET credential = $2 WHERE name = $1 AND credential IS NULL",
                .params = { name, hash },
                .n = 2,
        };
        int r = hp_pg_run_one_row(s, true, set_credential_op, &w);

        if (r >= 0)
                hp_pg_kept_changed(hp_pg(s), HP_PG_KEPT_CREDENTIALS);
        return r;
}

int hp_pg_host_revoke(struct hp_store *s, const char *name)
{
        struct hp_pg_one_row w = {
                .sql = "UPDATE hosts SET credential = NULL WHERE name = $1",
                .params = { name },
                .n = 1,
        };
        int r = hp_pg_run_one_row(s, false, hp_pg_one_row_op, &w);

        if (r >= 0)
                hp_pg_kept_changed(hp_pg(s), HP_PG_KEPT_CREDENTIALS);
        return r;
}

struct host_check {
        const char *hash;
        char *name;
};

/* Every credential is read and compared in full: no early exit on a match. */
static int check_op(struct hp_pg *s, void *data)
{
        struct host_check *c = data;
        PGresult *res = NULL;
        _cleanup_free_ char *found = NULL;
        int r;

        r = hp_pg_kept(s, HP_PG_KEPT_CREDENTIALS,
                       "SELECT name, credential FROM hosts WHERE credential IS NOT NULL", &res);
        if (r < 0)
                return r;
        r = hp_pg_find_hash(res, c->hash, &found);
        if (r < 0)
                return r;
        if (!found)
                return -ENOENT;
        free(c->name);
        c->name = TAKE_PTR(found);
        return 0;
}

int hp_pg_host_check(struct hp_store *s, const char *hash, char **ret_name)
{
        struct host_check c = { .hash = hash };
        int r = hp_pg_run(hp_pg(s), false, check_op, &c);

        if (r < 0) {
                free(c.name);
                return r;
        }
        *ret_name = c.name;
        return 0;
}

int hp_pg_host_renew(struct hp_store *s, const char *name, int64_t lease_ms, int ready,
                     int64_t *ret_expires_ms)
{
        char lease[HP_PG_INT_LEN];
        struct hp_pg_one_row w = {
                .sql = "UPDATE hosts SET lease_expires_ms = " NOW_MS " + $2::bigint, "
                       "heartbeat_ms = " NOW_MS ", ready = coalesce($3::boolean, ready) "
                       "WHERE name = $1 RETURNING lease_expires_ms",
                .params = { name, lease,
                            ready < 0 ? NULL
                            : ready   ? "true"
                                      : "false" },
                .n = 3,
        };
        int r;

        hp_pg_fmt_int(lease, lease_ms);
        r = hp_pg_run_one_row(s, false, hp_pg_one_row_op, &w);
        if (r < 0)
                return r;
        *ret_expires_ms = w.value;
        return 0;
}

int hp_pg_host_report(struct hp_store *s, const char *name, const char *report_json)
{
        struct hp_pg_one_row w = {
                .sql = "UPDATE hosts SET report = $2, report_ms = " NOW_MS " WHERE name = $1",
                .params = { name, report_json },
                .n = 2,
        };

        return hp_pg_run_one_row(s, false, hp_pg_one_row_op, &w);
}

struct report_get {
        const char *name;
        char *report;
        int64_t at_ms;
};

static int report_get_op(struct hp_pg *s, void *data)
{
        struct report_get *g = data;
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = { g->name };
        char *report = NULL;
        int r;

        r = hp_pg_exec(s, "SELECT report, report_ms FROM hosts WHERE name = $1", 1, params, &res);
        if (r < 0)
                return r;
        if (sym_PQntuples(res) != 1)
                return -ENOENT;
        r = hp_pg_int64(res, 0, 1, &g->at_ms);
        if (r >= 0)
                r = hp_pg_strdup(res, 0, 0, &report);
        if (r < 0)
                return r;
        free(g->report);
        g->report = report;
        return 0;
}

int hp_pg_host_report_get(struct hp_store *s, const char *name, char **ret_report_json,
                          int64_t *ret_at_ms)
{
        struct report_get g = { .name = name };
        int r = hp_pg_run(hp_pg(s), false, report_get_op, &g);

        if (r < 0) {
                free(g.report);
                return r;
        }
        *ret_report_json = g.report;
        *ret_at_ms = g.at_ms;
        return 0;
}

int hp_pg_host_set_flag(struct hp_store *s, const char *name, enum hp_host_flag flag, bool value)
{
        struct hp_pg_one_row w = {
                .sql = flag == HP_HOST_READY ? "UPDATE hosts SET ready = $2 WHERE name = $1"
                                             : "UPDATE hosts SET maintenance = $2 WHERE name = $1",
                .params = { name, value ? "true" : "false" },
                .n = 2,
        };

        return hp_pg_run_one_row(s, false, hp_pg_one_row_op, &w);
}

struct host_list {
        const char *name; /* NULL: every host */
        struct hp_host_info *h;
        size_t n;
};

static int host_list_op(struct hp_pg *s, void *data)
{
        struct host_list *l = data;
        _cleanup_result_ PGresult *res = NULL;
        struct hp_host_info *h;
        int r, n;

        r = hp_pg_exec(s,
                       "SELECT name, credential IS NOT NULL, lease_expires_ms, "
                       "lease_expires_ms > " NOW_MS ", heartbeat_ms, ready, maintenance, " NOW_MS " "
                       "FROM hosts WHERE $1::text IS NULL OR name = $1 ORDER BY name",
                       1, (const char *[]){ l->name }, &res);
        if (r < 0)
                return r;
        n = sym_PQntuples(res);
        h = n > 0 ? calloc((size_t)n, sizeof(*h)) : NULL;
        if (n > 0 && !h)
                return -ENOMEM;
        for (int i = 0; i < n && r >= 0; i++) {
                r = hp_pg_strdup(res, i, 0, &h[i].name);
                if (r >= 0 && !h[i].name)
                        r = -EBADMSG;
                if (r >= 0)
                        r = hp_pg_int64(res, i, 2, &h[i].lease_expires_ms);
                if (r >= 0)
                        r = hp_pg_int64(res, i, 4, &h[i].heartbeat_ms);
                if (r >= 0)
                        r = hp_pg_int64(res, i, 7, &h[i].now_ms);
                h[i].has_credential = streq(sym_PQgetvalue(res, i, 1), "t");
                h[i].lease_live = streq(sym_PQgetvalue(res, i, 3), "t");
                h[i].ready = streq(sym_PQgetvalue(res, i, 5), "t");
                h[i].maintenance = streq(sym_PQgetvalue(res, i, 6), "t");
        }
        if (r < 0) {
                hp_host_infos_free(h, (size_t)n);
                return r;
        }
        hp_host_infos_free(l->h, l->n);
        l->h = h;
        l->n = (size_t)n;
        return 0;
}

int hp_pg_host_list(struct hp_store *s, const char *name, struct hp_host_info **ret, size_t *ret_n)
{
        struct host_list l = { .name = name };
        int r = hp_pg_run(hp_pg(s), false, host_list_op, &l);

        if (r < 0) {
                hp_host_infos_free(l.h, l.n);
                return r;
        }
        *ret = l.h;
        *ret_n = l.n;
        return 0;
}

int hp_pg_join_token_add(struct hp_store *s, const char *hash, int64_t ttl_ms,
                         int64_t *ret_expires_ms)
{
        char ttl[HP_PG_INT_LEN];
        struct hp_pg_one_row w = {
                .sql = "INSERT INTO join_tokens (hash, created_at, expires_ms) "
                       "VALUES ($1, " NOW_MS " / 1000, " NOW_MS " + $2::bigint) "
                       "RETURNING expires_ms",
                .params = { hash, ttl },
                .n = 2,
        };
        int r;

        hp_pg_fmt_int(ttl, ttl_ms);
        /* The hash taken: the unique constraint says -EEXIST. */
        r = hp_pg_run_one_row(s, false, hp_pg_one_row_op, &w);
        if (r < 0)
                return r;
        *ret_expires_ms = w.value;
        return 0;
}

/* The one use, then why it was refused when it was. */
static int join_use_op(struct hp_pg *s, void *data)
{
        const char *params[] = { data };
        _cleanup_result_ PGresult *res = NULL;
        int r;

        r = hp_pg_exec(s,
                       "UPDATE join_tokens SET used_ms = " NOW_MS " WHERE hash = $1 "
                       "AND used_ms IS NULL AND expires_ms > " NOW_MS,
                       1, params, &res);
        if (r < 0)
                return r;
        if (hp_pg_changes(res) > 0)
                return 0;
        sym_PQclear(TAKE_PTR(res));
        r = hp_pg_exec(s,
                       "SELECT used_ms IS NOT NULL, expires_ms > " NOW_MS
                       " FROM join_tokens WHERE hash = $1",
                       1, params, &res);
        if (r < 0)
                return r;
        if (sym_PQntuples(res) != 1 || streq(sym_PQgetvalue(res, 0, 0), "t"))
                return -ENOENT;
        return streq(sym_PQgetvalue(res, 0, 1), "t") ? -EIO : -EKEYEXPIRED;
}

int hp_pg_join_token_use(struct hp_store *s, const char *hash)
{
        return hp_pg_run(hp_pg(s), true, join_use_op, (void *)hash);
}

struct join_list {
        struct hp_join_token_info *j;
        size_t n;
};

static int join_list_op(struct hp_pg *s, void *data)
{
        struct join_list *l = data;
        _cleanup_result_ PGresult *res = NULL;
        struct hp_join_token_info *j;
        int r, n;

        r = hp_pg_exec(s,
                       "SELECT id, created_at, expires_ms, coalesce(used_ms, 0) "
                       "FROM join_tokens ORDER BY id",
                       0, NULL, &res);
        if (r < 0)
                return r;
        n = sym_PQntuples(res);
        j = n > 0 ? calloc((size_t)n, sizeof(*j)) : NULL;
        if (n > 0 && !j)
                return -ENOMEM;
        for (int i = 0; i < n && r >= 0; i++) {
                r = hp_pg_int64(res, i, 0, &j[i].id);
                if (r >= 0)
                        r = hp_pg_int64(res, i, 1, &j[i].created_at);
                if (r >= 0)
                        r = hp_pg_int64(res, i, 2, &j[i].expires_ms);
                if (r >= 0)
                        r = hp_pg_int64(res, i, 3, &j[i].used_ms);
        }
        if (r < 0) {
                free(j);
                return r;
        }
        free(l->j);
        l->j = j;
        l->n = (size_t)n;
        return 0;
}

int hp_pg_join_token_list(struct hp_store *s, struct hp_join_token_info **ret, size_t *ret_n)
{
        struct join_list l = { 0 };
        int r = hp_pg_run(hp_pg(s), false, join_list_op, &l);

        if (r < 0) {
                free(l.j);
                return r;
        }
        *ret = l.j;
        *ret_n = l.n;
        return 0;
}

struct setting_get {
        const char *key;
        char *value;
};

static int setting_get_op(struct hp_pg *s, void *data)
{
        struct setting_get *g = data;
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = { g->key };
        char *value = NULL;
        int r;

        r = hp_pg_exec(s, "SELECT value FROM settings WHERE key = $1", 1, params, &res);
        if (r < 0)
                return r;
        if (sym_PQntuples(res) != 1)
                return -ENOENT;
        r = hp_pg_strdup(res, 0, 0, &value);
        if (r < 0)
                return r;
        if (!value)
                return -EBADMSG;
        free(g->value);
        g->value = value;
        return 0;
}

/* Settings change seldom, and are read together (a power-on reads three):
 * outside a transaction from the connection's copy of them all. */
static int setting_from_all(struct hp_pg *s, const char *key, char **ret)
{
        PGresult *res = NULL;
        int r = hp_pg_kept(s, HP_PG_KEPT_SETTINGS,
                           "SELECT key, value FROM settings WHERE value IS NOT NULL", &res);

        if (r < 0)
                return r;
        for (int i = 0; i < sym_PQntuples(res); i++)
                if (streq(sym_PQgetvalue(res, i, 0), key)) {
                        *ret = strdup(sym_PQgetvalue(res, i, 1));
                        return *ret ? 0 : -ENOMEM;
                }
        return -ENOENT;
}

int hp_pg_setting_get(struct hp_store *s, const char *key, char **ret)
{
        struct setting_get g = { .key = key };
        int r;

        if (!hp_pg(s)->in_tx)
                return setting_from_all(hp_pg(s), key, ret);
        r = hp_pg_run(hp_pg(s), false, setting_get_op, &g);

        if (r < 0) {
                free(g.value);
                return r;
        }
        *ret = g.value;
        return 0;
}

int hp_pg_setting_set(struct hp_store *s, const char *key, const char *value)
{
        struct hp_pg_one_row w = {
                .sql = value ? "INSERT INTO settings (key, value, updated_ms) VALUES ($1, $2, " NOW_MS ") "
                               "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
                               "updated_ms = EXCLUDED.updated_ms"
                             : "DELETE FROM settings WHERE key = $1",
                .params = { key, value },
                .n = value ? 2 : 1,
        };
        int r = hp_pg_run_one_row(s, false, hp_pg_one_row_op, &w);

        hp_pg_kept_changed(hp_pg(s), HP_PG_KEPT_SETTINGS);
        /* Removing a key that is not set is no error. */
        return r == -ENOENT && !value ? 0 : r;
}

struct leader {
        const char *params[2];
        int64_t token;
        char *holder; /* the other holder, on -EBUSY */
};

/* docs/cluster.md's UPDATE: taken when expired (or never taken), renewed
 * by its holder; the token grows when the holder changes. */
static int leader_op(struct hp_pg *s, void *data)
{
        struct leader *l = data;
        _cleanup_result_ PGresult *res = NULL;
        char *holder = NULL;
        int r;

        r = hp_pg_exec(s,
                       "UPDATE leader SET token = token + CAST(holder <> $1 AS integer), "
                       "holder = $1, expires_ms = " NOW_MS " + $2::bigint "
                       "WHERE id = 1 AND (expires_ms <= " NOW_MS " OR holder = $1) "
                       "RETURNING token",
                       2, l->params, &res);
        if (r < 0)
                return r;
        if (sym_PQntuples(res) == 1)
                return hp_pg_int64(res, 0, 0, &l->token);
        sym_PQclear(TAKE_PTR(res));
        r = hp_pg_exec(s, "SELECT holder FROM leader WHERE id = 1", 0, NULL, &res);
        if (r < 0)
                return r;
        if (sym_PQntuples(res) != 1)
                return -EBADMSG;
        r = hp_pg_strdup(res, 0, 0, &holder);
        if (r < 0)
                return r;
        free(l->holder);
        l->holder = holder;
        return -EBUSY;
}

int hp_pg_leader_acquire(struct hp_store *s, const char *holder, int64_t ttl_ms, int64_t *ret_token,
                         char **ret_holder)
{
        char ttl[HP_PG_INT_LEN];
        struct leader l = { .params = { holder, ttl } };
        int r;

        hp_pg_fmt_int(ttl, ttl_ms);
        r = hp_pg_run(hp_pg(s), true, leader_op, &l);
        if (r == -EBUSY && l.holder) {
                *ret_holder = l.holder;
                return r;
        }
        free(l.holder);
        if (r < 0)
                return r;
        *ret_token = l.token;
        return 0;
}

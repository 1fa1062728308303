/* The PostgreSQL backend's API bearer tokens (table tokens): a name and the
 * hex SHA-256 of the token. The hash goes in (add) and is compared (check),
 * but no function reads it back out: listing shows names and times only. */
#include "pg-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"

/* One statement of parameters only (no host: tokens are the whole store's). */
struct token_write {
        const char *sql;
        const char *params[6];
        int n;
        int changes;
};

static int write_op(struct hp_pg *s, void *data)
{
        struct token_write *w = data;
        _cleanup_result_ PGresult *res = NULL;
        int r;

        r = hp_pg_exec(s, w->sql, w->n, w->params, &res);
        if (r < 0)
                return r;
        w->changes = hp_pg_changes(res);
        return 0;
}

int hp_pg_token_add(struct hp_store *s, const char *name, const char *hash, enum hp_token_role role,
                    const struct hp_token_scope *scope)
{
        char now[HP_PG_INT_LEN];
        struct token_write w = {
                .sql = "INSERT INTO tokens (name, hash, created_at, role, hosts, vms) VALUES ($1, "
                       "$2, $3, $4, $5, $6)",
                .params = { name, hash, now, hp_token_role_name(role), scope->hosts, scope->vms },
                .n = 6,
        };
        int r;

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        /* The constraints the values can break are the name's and the hash's: -EEXIST. */
        r = hp_pg_run(hp_pg(s), false, write_op, &w);
        if (r >= 0)
                hp_pg_kept_changed(hp_pg(s), HP_PG_KEPT_TOKENS);
        return r;
}

int hp_pg_token_revoke(struct hp_store *s, const char *name)
{
        struct token_write w = {
                .sql = "DELETE FROM tokens WHERE name = $1",
                .params = {name},
                .n = 1,
        };
        int r = hp_pg_run(hp_pg(s), false, write_op, &w);

        if (r < 0)
                return r;
        hp_pg_kept_changed(hp_pg(s), HP_PG_KEPT_TOKENS);
        return w.changes > 0 ? 0 : -ENOENT;
}

/* A token's hosts and VMs, columns col and col + 1 (NULL: no limit). */
static int scope_read(PGresult *res, int row, int col, struct hp_token_scope *ret)
{
        int r = hp_pg_strdup(res, row, col, &ret->hosts);

        if (r >= 0)
                r = hp_pg_strdup(res, row, col + 1, &ret->vms);
        return r;
}

struct token_list {
        struct hp_token_info *t;
        size_t n;
};

static int list_op(struct hp_pg *s, void *data)
{
        struct token_list *l = data;
        _cleanup_result_ PGresult *res = NULL;
        struct hp_token_info *t;
        int r, n;

        r = hp_pg_exec(
                s,
                "SELECT name, created_at, last_used_at, role, hosts, vms FROM tokens ORDER BY name",
                0, NULL, &res);
        if (r < 0)
                return r;
        n = sym_PQntuples(res);
        t = n > 0 ? calloc((size_t)n, sizeof(*t)) : NULL;
        if (n > 0 && !t)
                return -ENOMEM;
        for (int i = 0; i < n && r >= 0; i++) {
                r = hp_pg_strdup(res, i, 0, &t[i].name);
                if (r >= 0 && !t[i].name)
                        r = -EBADMSG;
                if (r >= 0)
                        r = hp_pg_int64(res, i, 1, &t[i].created_at);
                if (r >= 0)
                        r = hp_pg_int64(res, i, 2, &t[i].last_used_at);
                if (r >= 0 && hp_token_role_from_name(sym_PQgetvalue(res, i, 3), &t[i].role) < 0)
                        r = -EBADMSG;
                if (r >= 0)
                        r = scope_read(res, i, 4, &t[i].scope);
        }
        if (r < 0) {
                hp_token_infos_free(t, (size_t)n);
                return r;
        }
        l->t = t;
        l->n = (size_t)n;
        return 0;
}

int hp_pg_token_list(struct hp_store *s, struct hp_token_info **ret, size_t *ret_n)
{
        struct token_list l = {0};
        int r = hp_pg_run(hp_pg(s), false, list_op, &l);

        if (r < 0)
                return r;
        *ret = l.t;
        *ret_n = l.n;
        return 0;
}

int hp_pg_hash_row(const PGresult *res, const char *hash)
{
        int row = -1;

        for (int i = 0; i < sym_PQntuples(res); i++)
                if (hp_token_hash_equal(sym_PQgetvalue(res, i, 1), hash) && row < 0)
                        row = i;
        return row;
}

int hp_pg_find_hash(const PGresult *res, const char *hash, char **ret_name)
{
        int row = hp_pg_hash_row(res, hash);

        *ret_name = NULL;
        if (row >= 0 && !(*ret_name = strdup(sym_PQgetvalue(res, row, 0))))
                return -ENOMEM;
        return 0;
}

struct token_check {
        const char *hash;
        struct hp_token_info t;
};

/* Every row is read and compared in full: no early exit on a match. The
 * rows are the connection's copy (hp_pg_kept()): a token revoked by this
 * process is refused at once, by another controller within HP_PG_KEPT_MS.
 * The use is recorded at most once every HP_TOKEN_USE_RESOLUTION seconds,
 * so most checks read nothing: a token revoked since is found gone by the
 * write, and refused. */
static int check_op(struct hp_pg *s, void *data)
{
        struct token_check *c = data;
        PGresult *res = NULL;
        _cleanup_result_ PGresult *upd = NULL;
        char now[HP_PG_INT_LEN];
        const char *params[3];
        int64_t used = 0, t = (int64_t)time(NULL);
        int r, row;

        hp_token_info_done(&c->t); /* from a try that conflicted */
        r = hp_pg_kept(s, HP_PG_KEPT_TOKENS,
                       "SELECT name, hash, last_used_at, role, hosts, vms FROM tokens", &res);
        if (r < 0)
                return r;
        row = hp_pg_hash_row(res, c->hash);
        if (row < 0)
                return -ENOENT;
        if (hp_token_role_from_name(sym_PQgetvalue(res, row, 3), &c->t.role) < 0)
                return -EBADMSG;
        /* A read-only connection refuses here, as an SQLite one does. */
        if (s->readonly)
                return -EROFS;
        if (!(c->t.name = strdup(sym_PQgetvalue(res, row, 0))))
                return -ENOMEM;
        r = scope_read(res, row, 4, &c->t.scope);
        if (r < 0)
                return r;
        r = hp_pg_int64(res, row, 2, &used);
        if (r < 0 || used > t - HP_TOKEN_USE_RESOLUTION)
                return r;
        hp_pg_fmt_int(now, t);
        params[0] = c->t.name;
        params[1] = c->hash;
        params[2] = now;
        r = hp_pg_exec(s,
                       "UPDATE tokens SET last_used_at = GREATEST(last_used_at, $3::bigint) "
                       "WHERE name = $1 AND hash = $2 RETURNING 1",
                       3, params, &upd);
        if (r >= 0 && sym_PQntuples(upd) == 0)
                r = -ENOENT; /* revoked meanwhile */
        if (r >= 0)          /* the copy's time of use is old now */
                hp_pg_kept_changed(s, HP_PG_KEPT_TOKENS);
        return r;
}

int hp_pg_token_check(struct hp_store *s, const char *hash, struct hp_token_info *ret)
{
        struct token_check c = {.hash = hash};
        int r = hp_pg_run(hp_pg(s), false, check_op, &c);

        if (r < 0) {
                hp_token_info_done(&c.t);
                return r;
        }
        *ret = c.t;
        return 0;
}

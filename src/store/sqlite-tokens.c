/* The SQLite backend's API bearer tokens (table tokens): a name and the hex
 * SHA-256 of the token. The hash goes in (add) and is compared (check), but
 * no function reads it back out: listing shows names and times only. */
#include "sqlite-internal.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"

int hp_sqlite_token_add(struct hp_store *store, const char *name, const char *hash,
                        enum hp_token_role role, const struct hp_token_scope *scope)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_TOKEN_ADD, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 3, (int64_t)time(NULL)),
                sqlite3_bind_text(st, 4, hp_token_role_name(role), -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 5, scope->hosts, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 6, scope->vms, -1, SQLITE_STATIC),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        /* The constraints bound values can break are the name's and the hash's: -EEXIST. */
        return hp_sqlite_step_done(s, st);
}

static int row_to_info(sqlite3_stmt *st, void *ret)
{
        struct hp_token_info t = {
                .created_at = sqlite3_column_int64(st, 1),
                .last_used_at = sqlite3_column_int64(st, 2),
        };
        const char *role;
        int r = hp_sqlite_column_text(st, 3, &role);

        /* NOT NULL and CHECKed in the schema: otherwise only in a damaged file */
        if (r >= 0 && hp_token_role_from_name(role, &t.role) < 0)
                r = -EBADMSG;
        if (r >= 0)
                r = hp_sqlite_column_strdup(st, 0, &t.name);
        if (r >= 0)
                r = hp_sqlite_column_strdup(st, 4, &t.scope.hosts);
        if (r >= 0)
                r = hp_sqlite_column_strdup(st, 5, &t.scope.vms);
        if (r >= 0 && !t.name)
                r = -EBADMSG;
        if (r < 0) {
                hp_token_info_done(&t);
                return r;
        }
        *(struct hp_token_info *)ret = t;
        return 0;
}

int hp_sqlite_token_list(struct hp_store *store, struct hp_token_info **ret, size_t *ret_n)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        void *t = NULL;
        size_t n = 0;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_TOKEN_LIST, &st);
        if (r >= 0)
                r = hp_sqlite_read_rows(s, st, sizeof(struct hp_token_info), row_to_info, &t, &n);
        if (r < 0) {
                hp_token_infos_free(t, n);
                return r;
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

int hp_sqlite_token_revoke(struct hp_store *store, const char *name)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = hp_sqlite_stmt_use(s, STMT_TOKEN_REVOKE, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return hp_sqlite_errno_rc(s, rc);
        return hp_sqlite_step_changed(s, st);
}

int hp_sqlite_find_hash(struct hp_sqlite *s, int stmt, const char *hash, char **ret_name)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *found = NULL;
        int r, rc;

        r = hp_sqlite_stmt_use(s, stmt, &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *name, *row_hash;
                bool same;

                r = hp_sqlite_column_text(st, 0, &name);
                if (r >= 0)
                        r = hp_sqlite_column_text(st, 1, &row_hash);
                if (r < 0)
                        return r;
                same = hp_token_hash_equal(row_hash, hash);
                if (same && !found && !(found = strdup(name)))
                        return -ENOMEM;
        }
        if (rc != SQLITE_DONE)
                return hp_sqlite_errno_rc(s, rc);
        *ret_name = TAKE_PTR(found);
        return 0;
}

/* The token named name whose hash is hash, whole; -ENOENT when none (revoked since). */
static int token_get(struct hp_sqlite *s, const char *name, const char *hash,
                     struct hp_token_info *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct hp_token_info *t = NULL;
        size_t n = 0;
        int r = hp_sqlite_stmt_use(s, STMT_TOKEN_GET, &st);

        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r >= 0)
                r = hp_sqlite_read_rows(s, st, sizeof(*t), row_to_info, (void **)&t, &n);
        if (r >= 0 && n == 0)
                r = -ENOENT;
        if (r >= 0) {
                *ret = t[0];
                t[0] = (struct hp_token_info){ 0 };
        }
        hp_token_infos_free(t, n);
        return r;
}

int hp_sqlite_token_check(struct hp_store *store, const char *hash, struct hp_token_info *ret)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *name = NULL;
        struct hp_token_info t = { 0 };
        int r;

        r = hp_sqlite_find_hash(s, STMT_TOKEN_HASHES, hash, &name);
        if (r < 0)
                return r;
        if (!name)
                return -ENOENT;
        r = hp_sqlite_stmt_use(s, STMT_TOKEN_USED, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 3, (int64_t)time(NULL)),
                sqlite3_bind_int64(st, 4, HP_TOKEN_USE_RESOLUTION),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r >= 0)
                r = hp_sqlite_step_done(s, st);
        /* Read after the use is written: a token revoked meanwhile is found gone. */
        if (r >= 0)
                r = token_get(s, name, hash, &t);
        if (r < 0)
                return r;
        t.created_at = t.last_used_at = 0;
        *ret = t;
        return 0;
}

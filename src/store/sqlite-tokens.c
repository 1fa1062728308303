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
                        enum hp_token_role role)
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
        if (r < 0)
                return r;
        if (!t.name)
                return -EBADMSG;
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

int hp_sqlite_find_hash(struct hp_sqlite *s, int stmt, const char *hash, char **ret_name,
                        char **ret_more)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *found = NULL, *more = NULL;
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
                if (same && ret_more && !more && (r = hp_sqlite_column_strdup(st, 2, &more)) < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return hp_sqlite_errno_rc(s, rc);
        if (ret_more && found && !more)
                return -EBADMSG; /* NOT NULL in the schema */
        *ret_name = TAKE_PTR(found);
        if (ret_more)
                *ret_more = TAKE_PTR(more);
        return 0;
}

int hp_sqlite_token_check(struct hp_store *store, const char *hash, char **ret_name,
                          enum hp_token_role *ret_role)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *name = NULL, *role_name = NULL;
        enum hp_token_role role;
        int r;

        r = hp_sqlite_find_hash(s, STMT_TOKEN_HASHES, hash, &name, &role_name);
        if (r < 0)
                return r;
        if (!name)
                return -ENOENT;
        if (hp_token_role_from_name(role_name, &role) < 0)
                return -EBADMSG;
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
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0) {
                /* Used within the minute, or revoked since the read: which? */
                _cleanup_free_ char *again = NULL;

                r = hp_sqlite_find_hash(s, STMT_TOKEN_HASHES, hash, &again, NULL);
                if (r < 0)
                        return r;
                if (!again || !streq(again, name))
                        return -ENOENT;
        }
        *ret_name = TAKE_PTR(name);
        *ret_role = role;
        return 0;
}

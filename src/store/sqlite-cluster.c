/* The SQLite backend's cluster state: hosts' credentials, leases and
 * reports, join tokens, the leader lease (schema 6), the settings (9). */
/* An agent's or a standalone host's file is a cluster of one, so the clock
 * is this process's (bound as ?9 of the statements in sqlite-sql.c), not a
 * server's. Each call that reads and then writes runs in a transaction of
 * its own or a savepoint of the caller's (hp_sqlite_tx_enter()), and SQLite
 * lets one writer in at a time, so a join token's one use and the leader
 * lease hold against other connections. */
#include "sqlite-internal.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"

#define NOW_PARAM 9

int64_t hp_sqlite_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The statement id with ?1 text (may be NULL: not bound), ?2 an integer,
 * ?9 now, ready to step. */
static int prepare(struct hp_sqlite *s, enum hp_store_stmt_id id, const char *text, int64_t v,
                   sqlite3_stmt **ret)
{
        sqlite3_stmt *st;
        int r;

        r = hp_sqlite_stmt_use(s, id, &st);
        if (r < 0)
                return r;
        int n = sqlite3_bind_parameter_count(st);
        const int rcs[] = {
                text ? sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC) : SQLITE_OK,
                n >= 2 ? sqlite3_bind_int64(st, 2, v) : SQLITE_OK,
                n >= NOW_PARAM ? sqlite3_bind_int64(st, NOW_PARAM, hp_sqlite_now_ms()) : SQLITE_OK,
        };
        *ret = st;
        return hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
}

/* Runs an UPDATE of the row ?1 names: -ENOENT when it changed none. */
static int update_one(struct hp_sqlite *s, enum hp_store_stmt_id id, const char *name, int64_t v)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = prepare(s, id, name, v, &st);
        return r < 0 ? r : hp_sqlite_step_changed(s, st);
}

/* Whether host name holds a credential: -ENOENT when there is no such host. */
static int has_credential(struct hp_sqlite *s, const char *name, bool *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, STMT_HOST_CRED_OF, name, 0, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        *ret = sqlite3_column_int64(st, 0) != 0;
        return 0;
}

static int set_credential(struct hp_sqlite *s, const char *name, const char *hash)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        bool has = false;
        int r;

        r = has_credential(s, name, &has);
        if (r < 0)
                return r;
        if (has)
                return -EEXIST;
        r = hp_sqlite_stmt_use(s, STMT_HOST_CRED_SET, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        /* Another host's credential the same: the unique index says -EEXIST. */
        return r < 0 ? r : hp_sqlite_step_done(s, st);
}

int hp_sqlite_host_set_credential(struct hp_store *store, const char *name, const char *hash)
{
        struct hp_sqlite *s = hp_sqlite(store);
        enum hp_store_tx_mode mode;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        return hp_sqlite_tx_leave(s, mode, set_credential(s, name, hash));
}

int hp_sqlite_host_revoke(struct hp_store *store, const char *name)
{
        return update_one(hp_sqlite(store), STMT_HOST_REVOKE, name, 0);
}

int hp_sqlite_host_check(struct hp_store *store, const char *hash, char **ret_name)
{
        char *name = NULL;
        int r = hp_sqlite_find_hash(hp_sqlite(store), STMT_HOST_CREDS, hash, &name);

        if (r < 0)
                return r;
        if (!name)
                return -ENOENT;
        *ret_name = name;
        return 0;
}

int hp_sqlite_host_renew(struct hp_store *store, const char *name, int64_t lease_ms, int ready,
                         int64_t *ret_expires_ms)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, STMT_HOST_RENEW, name, lease_ms, &st);
        if (r < 0)
                return r;
        rc = ready < 0 ? sqlite3_bind_null(st, 3) : sqlite3_bind_int(st, 3, ready);
        if (rc != SQLITE_OK)
                return hp_sqlite_errno_rc(s, rc);
        return hp_sqlite_step_returning(s, st, ret_expires_ms);
}

int hp_sqlite_host_report(struct hp_store *store, const char *name, const char *report_json)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, STMT_HOST_REPORT, name, 0, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 2, report_json, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return hp_sqlite_errno_rc(s, rc);
        return hp_sqlite_step_changed(s, st);
}

int hp_sqlite_host_report_get(struct hp_store *store, const char *name, char **ret_report_json,
                              int64_t *ret_at_ms)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char *report = NULL;
        int r, rc;

        r = prepare(s, STMT_HOST_REPORT_GET, name, 0, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        r = hp_sqlite_column_strdup(st, 0, &report);
        if (r < 0)
                return r;
        *ret_report_json = report;
        *ret_at_ms = sqlite3_column_int64(st, 1);
        return 0;
}

int hp_sqlite_host_set_flag(struct hp_store *store, const char *name, enum hp_host_flag flag,
                            bool value)
{
        return update_one(hp_sqlite(store),
                          flag == HP_HOST_READY ? STMT_HOST_READY : STMT_HOST_MAINTENANCE, name,
                          value);
}

static int row_to_host(sqlite3_stmt *st, void *ret)
{
        struct hp_host_info h = {
                .has_credential = sqlite3_column_int64(st, 1) != 0,
                .lease_expires_ms = sqlite3_column_int64(st, 2),
                .lease_live = sqlite3_column_int64(st, 3) != 0,
                .heartbeat_ms = sqlite3_column_int64(st, 4),
                .ready = sqlite3_column_int64(st, 5) != 0,
                .maintenance = sqlite3_column_int64(st, 6) != 0,
                .now_ms = sqlite3_column_int64(st, 7),
        };
        int r = hp_sqlite_column_strdup(st, 0, &h.name);

        if (r < 0)
                return r;
        if (!h.name)
                return -EBADMSG;
        *(struct hp_host_info *)ret = h;
        return 0;
}

int hp_sqlite_host_list(struct hp_store *store, const char *name, struct hp_host_info **ret, size_t *ret_n)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        void *h = NULL;
        size_t n = 0;
        int r;

        r = prepare(s, STMT_HOST_LIST, name, 0, &st);
        if (r >= 0)
                r = hp_sqlite_read_rows(s, st, sizeof(struct hp_host_info), row_to_host, &h, &n);
        if (r < 0) {
                hp_host_infos_free(h, n);
                return r;
        }
        *ret = h;
        *ret_n = n;
        return 0;
}

int hp_sqlite_join_token_add(struct hp_store *store, const char *hash, int64_t ttl_ms,
                             int64_t *ret_expires_ms)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = prepare(s, STMT_JOIN_ADD, hash, ttl_ms, &st);
        /* The hash taken: -EEXIST. */
        return r < 0 ? r : hp_sqlite_step_returning(s, st, ret_expires_ms);
}

/* Why a token could not be used: -ENOENT unknown or used, -EKEYEXPIRED. */
static int join_refusal(struct hp_sqlite *s, const char *hash)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, STMT_JOIN_STATE, hash, 0, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        if (sqlite3_column_int64(st, 0) != 0)
                return -ENOENT;
        return sqlite3_column_int64(st, 1) != 0 ? -EIO : -EKEYEXPIRED;
}

static int join_use(struct hp_sqlite *s, const char *hash)
{
        int r = update_one(s, STMT_JOIN_USE, hash, 0);

        return r == -ENOENT ? join_refusal(s, hash) : r;
}

int hp_sqlite_join_token_use(struct hp_store *store, const char *hash)
{
        struct hp_sqlite *s = hp_sqlite(store);
        enum hp_store_tx_mode mode;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        return hp_sqlite_tx_leave(s, mode, join_use(s, hash));
}

static int row_to_join(sqlite3_stmt *st, void *ret)
{
        *(struct hp_join_token_info *)ret = (struct hp_join_token_info){
                .id = sqlite3_column_int64(st, 0),
                .created_at = sqlite3_column_int64(st, 1),
                .expires_ms = sqlite3_column_int64(st, 2),
                .used_ms = sqlite3_column_int64(st, 3),
        };
        return 0;
}

int hp_sqlite_join_token_list(struct hp_store *store, struct hp_join_token_info **ret,
                              size_t *ret_n)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        void *j = NULL;
        size_t n = 0;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_JOIN_LIST, &st);
        if (r >= 0)
                r = hp_sqlite_read_rows(s, st, sizeof(struct hp_join_token_info), row_to_join, &j,
                                        &n);
        if (r < 0) {
                free(j);
                return r;
        }
        *ret = j;
        *ret_n = n;
        return 0;
}

int hp_sqlite_setting_get(struct hp_store *store, const char *key, char **ret)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char *value = NULL;
        int r, rc;

        r = prepare(s, STMT_SETTING_GET, key, 0, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        r = hp_sqlite_column_strdup(st, 0, &value);
        if (r < 0)
                return r;
        if (!value) /* NOT NULL in the schema: missing only in a damaged file */
                return -EBADMSG;
        *ret = value;
        return 0;
}

int hp_sqlite_setting_set(struct hp_store *store, const char *key, const char *value)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = prepare(s, value ? STMT_SETTING_SET : STMT_SETTING_UNSET, key, 0, &st);
        if (r >= 0 && value)
                r = hp_sqlite_binds_ok(s, (const int[]){ sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC) }, 1);
        return r < 0 ? r : hp_sqlite_step_done(s, st);
}

struct leader {
        int64_t token;
        char *holder;
};

static int leader_take(struct hp_sqlite *s, const char *holder, int64_t ttl_ms, struct leader *l)
{
        _cleanup_stmt_ sqlite3_stmt *take = NULL, *who = NULL;
        int r, rc;

        r = prepare(s, STMT_LEADER_TAKE, holder, ttl_ms, &take);
        if (r < 0)
                return r;
        r = hp_sqlite_step_returning(s, take, &l->token);
        if (r != -ENOENT)
                return r;
        /* Another holds a live lease: who. */
        r = hp_sqlite_stmt_use(s, STMT_LEADER_HOLDER, &who);
        if (r < 0)
                return r;
        rc = sqlite3_step(who);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? -EBADMSG : hp_sqlite_errno_rc(s, rc);
        r = hp_sqlite_column_strdup(who, 0, &l->holder);
        return r < 0 ? r : -EBUSY;
}

int hp_sqlite_leader_acquire(struct hp_store *store, const char *holder, int64_t ttl_ms,
                             int64_t *ret_token, char **ret_holder)
{
        struct hp_sqlite *s = hp_sqlite(store);
        struct leader l = { 0 };
        enum hp_store_tx_mode mode;
        int r;

        r = hp_sqlite_tx_enter(s, true, &mode);
        if (r < 0)
                return r;
        r = hp_sqlite_tx_leave(s, mode, leader_take(s, holder, ttl_ms, &l));
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

/* Private to the PostgreSQL backend (pg*.c): its connection and the helpers its files share. */
/* The front (store.c) has checked every argument before a hp_pg_* operation
 * runs; what is here only stores and reads. Nothing outside pg*.c includes it. */
#pragma once

#include "pg-lib.h" /* libpq-fe.h, and sym_PQ...() to call */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store-internal.h"
#include "util/macro.h"
#include "util/strutil.h" /* hp_errorf */

/* Room for an int64 in decimal, sign and NUL included. */
#define HP_PG_INT_LEN 21

/* The small tables every request reads whole, kept by a connection
 * (hp_pg_kept()): settings, the API's tokens, the hosts' credentials. */
enum hp_pg_kept { HP_PG_KEPT_SETTINGS, HP_PG_KEPT_TOKENS, HP_PG_KEPT_CREDENTIALS, HP_PG_KEPT_N };

/* What a connection learnt of its database, kept with it in the pool:
 * hosts' ids by name (a host's row is never deleted nor renamed, so an id
 * once committed stays right; one read inside a transaction counts only
 * once that commits: the row may be its own), its prepared statements,
 * and the small tables' rows. */
struct hp_pg_memo {
        struct hp_pg_host_id {
                char *name;
                char id[HP_PG_INT_LEN];
                bool pending; /* read in the open transaction */
        } *hosts;
        size_t n_hosts;
        /* The statements prepared in the session, by their text: the
         * statement named "hp_<i>" is sql[i] (sessions' prepared statements
         * outlive transactions, rolled back or not). */
        char **sql;
        size_t n_sql;
        /* Small tables read whole outside transactions (hp_pg_kept()). */
        struct hp_pg_kept_read {
                PGresult *res;
                int64_t ms;
                uint64_t generation;
        } kept[HP_PG_KEPT_N];
        int64_t schema_ms; /* when the schema's version was last read (hp_pg_now_ms()), 0: never */
};

/* A connection: the front's part first, so a struct hp_store * the front
 * hands over is one of these (hp_pg()). */
struct hp_pg {
        struct hp_store store;
        PGconn *conn;
        char *url;       /* as opened: the key of the connection kept at close */
        char *display;   /* the URL without its password, for messages */
        char *last_error; /* the server's words for the last failure, one line, or NULL */
        bool readonly;
        bool reserved;   /* counted in the process's connections in use (pg.c) */
        bool in_tx;      /* hp_store_begin() opened a transaction the caller has not ended */
        bool tx_lost;    /* ...and the backend gave it up (a conflict, a lost connection) */
        bool in_op;      /* an operation runs inside that transaction (run_in_tx()) */
        bool op_saved;   /* ...and set its savepoint before its first write */
        bool save_held;  /* a savepoint of an earlier operation is not released yet */
        bool whole;      /* ...or none at all: hp_store_whole() */
        int busy_ms;     /* how long a call waits for others' conflicting work */
        bool busy_set_in_tx; /* ...set inside the open transaction */
        char host_id[HP_PG_INT_LEN]; /* hosts.id of the host the connection works on */
        struct hp_pg_memo memo;
        unsigned kept_written; /* the hp_pg_kept tables the open transaction changed, as bits */
        PGresult *read_in_tx[HP_PG_KEPT_N]; /* hp_pg_kept()'s reads inside a transaction */
        char sqlstate[6]; /* of the last failed statement, "" when it failed before the server */
};

static inline struct hp_pg *hp_pg(struct hp_store *s)
{
        _Static_assert(offsetof(struct hp_pg, store) == 0, "the front's part comes first");
        return (struct hp_pg *)s;
}

static inline void hp_pg_clearp(PGresult **res)
{
        sym_PQclear(*res);
}
#define _cleanup_result_ _cleanup_(hp_pg_clearp)

/* kind's rows, as sql (constant, without parameters) reads them: outside
 * a transaction as the connection read them last, unless this process
 * committed a change of them since (hp_pg_kept_changed()) or they are
 * older than HP_PG_KEPT_MS (another process's change); inside one, read
 * in its snapshot. *ret is borrowed until the next call for kind on s. */
#define HP_PG_KEPT_MS 1000
int hp_pg_kept(struct hp_pg *s, enum hp_pg_kept kind, const char *sql, PGresult **ret);
/* s wrote kind's table: every connection of this process reads it again
 * once that is committed (now, or with the open transaction). */
void hp_pg_kept_changed(struct hp_pg *s, enum hp_pg_kept kind);
/* How long a call waits for others' conflicting work, unless set otherwise. */
#define HP_PG_BUSY_TIMEOUT_MS 5000
int hp_pg_set_busy_timeout(struct hp_store *store, int ms);
/* Frees what a connection learnt of its database (its session ended). */
void hp_pg_memo_forget(struct hp_pg_memo *m);

/* The pool (pg-pool.c): idle connections kept for the next open of the
 * same URL and mode, and at most a bound of connections in use. */
/* Counts one more connection in use, once there is room (waits for it). */
void hp_pg_pool_reserve(struct hp_pg *s);
void hp_pg_pool_release(struct hp_pg *s);
/* Takes an idle connection to url in s's mode: true with s->conn, the
 * schema version and the memo set. */
bool hp_pg_pool_take(struct hp_pg *s, const char *url);
/* Keeps s's connection for the next open; false when it cannot be (the
 * caller closes it). */
bool hp_pg_pool_give(struct hp_pg *s);

/* CLOCK_MONOTONIC, in milliseconds. */
int64_t hp_pg_now_ms(void);
/* Runs constant SQL with n text parameters (NULL for SQL NULL). *ret (may
 * be NULL) gets the result of a statement that worked; -errno (and
 * s->sqlstate set) for one that did not, mapped as hp_pg_errno() says. */
int hp_pg_exec(struct hp_pg *s, const char *sql, int n, const char *const *params, PGresult **ret);
/* Runs constant SQL of several statements without parameters (a migration). */
int hp_pg_exec_script(struct hp_pg *s, const char *sql);
/* How many rows a command changed. */
int hp_pg_changes(PGresult *res);
/* A copy of a text field, NULL for SQL NULL. */
int hp_pg_strdup(PGresult *res, int row, int col, char **ret);
/* An integer field; -EBADMSG when it is NULL or no integer. */
int hp_pg_int64(PGresult *res, int row, int col, int64_t *ret);
/* What row() makes of each row of res, into a new array of elem_size
 * elements (NULL when res has no rows). row() writes its element only on
 * success; *ret and *ret_n hold the elements made so far even on failure,
 * and the caller frees them either way. */
int hp_pg_read_rows(PGresult *res, size_t elem_size, int (*row)(PGresult *res, int i, void *ret),
                    void **ret, size_t *ret_n);
/* v as a parameter. */
void hp_pg_fmt_int(char buf[HP_PG_INT_LEN], int64_t v);
/* The row of res (name, hash columns, maybe more) whose hash is hash, or
 * -1: the API's tokens, the hosts' credentials. Every row is compared in
 * full, in constant time: no early exit on a match (pg-tokens.c). */
int hp_pg_hash_row(const PGresult *res, const char *hash);
/* Its name, into *ret_name (NULL when none). */
int hp_pg_find_hash(const PGresult *res, const char *hash, char **ret_name);

/* One operation of the backend, run by hp_pg_run(): statements only, no
 * transaction control. It writes its results into data only on success,
 * and may run again when a conflict made its transaction retry. */
typedef int (*hp_pg_op)(struct hp_pg *s, void *data);
/* Runs op atomically: inside the caller's transaction under a savepoint (a
 * failure undoes only op, a conflict gives up the whole transaction), or
 * in a serialisable transaction of its own (several statements: multi),
 * retried on conflicts until the busy timeout. */
int hp_pg_run(struct hp_pg *s, bool multi, hp_pg_op op, void *data);

/* Now in unix milliseconds by the database's clock (the start of the
 * transaction), for the cluster's times. */
#define NOW_MS "CAST(floor(extract(epoch FROM now()) * 1000) AS bigint)"

/* One statement on one row: changes counts the rows it touched, value the
 * first column of a RETURNING row (pg-cluster.c). */
struct hp_pg_one_row {
        const char *sql;
        const char *params[7];
        int n;
        int changes;
        int64_t value;
};
/* Runs w (an hp_pg_one_row), as an hp_pg_op. */
int hp_pg_one_row_op(struct hp_pg *s, void *data);
/* Runs w with op on its own (multi: with reads before its write) or in the
 * caller's transaction; -ENOENT when it touched no row. */
int hp_pg_run_one_row(struct hp_store *s, bool multi, hp_pg_op op, struct hp_pg_one_row *w);

/* Frees vm's devices, the connection's host's or (all_hosts) every host's;
 * returns how many (pg-vms.c). */
int hp_pg_release(struct hp_pg *s, bool all_hosts, const char *vm);

/* True when the schema version is still the one s->store.version says (one statement). */
bool hp_pg_schema_unchanged(struct hp_pg *s);
/* Brings the schema up to date, one transaction per migration under a
 * transaction-level advisory lock (pg-migrations.c); read-only, checks that
 * it is. Messages name the database as s->display. */
int hp_pg_migrate(struct hp_pg *s, int *ret_version, char **ret_error);
/* The server's words for the last failure (or the errno's), one line. */
const char *hp_pg_message(struct hp_pg *s, int r);

/* The backend's operations, as its ops table (pg.c) lists them; each does
 * what store.h says of the hp_store_* function of the same name. */
int hp_pg_device_get(struct hp_store *s, const char *address, struct hp_dev_config *ret);
int hp_pg_device_list(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n);
int hp_pg_device_put(struct hp_store *s, const struct hp_dev_config *c);
int hp_pg_device_delete(struct hp_store *s, const char *address);
int hp_pg_vm_get(struct hp_store *s, const char *name, struct hp_vm_record *ret);
int hp_pg_vm_list(struct hp_store *s, struct hp_vm_record **ret, size_t *ret_n);
int hp_pg_vm_create(struct hp_store *s, const char *name, const char *spec_json);
int hp_pg_vm_update_spec(struct hp_store *s, const char *name, const char *spec_json);
int hp_pg_vm_set_runtime(struct hp_store *s, const char *name, const char *state, int64_t pid,
                         const char *qmp_path, int64_t started_at);
int hp_pg_vm_delete(struct hp_store *s, const char *name);
int hp_pg_cluster_vm_delete(struct hp_store *s, const char *name);
int hp_pg_assign_devices(struct hp_store *s, const char *vm, char *const *addresses, size_t n,
                         char **ret_conflict);
int hp_pg_release_devices(struct hp_store *s, const char *vm);
/* The cluster's VMs (pg-placement.c). */
int hp_pg_cluster_vm_list(struct hp_store *s, const char *host, struct hp_cluster_vm **ret, size_t *ret_n);
int hp_pg_cluster_vm_get(struct hp_store *s, const char *name, struct hp_cluster_vm *ret);
int hp_pg_cluster_vm_create(struct hp_store *s, const char *name, const char *host,
                            const char *spec_json);
int hp_pg_vm_place(struct hp_store *s, const char *name, const char *host, int64_t *ret_epoch);
int hp_pg_vm_held_on(struct hp_store *s, const char *name, char **ret_host);
int hp_pg_inventories(struct hp_store *s, const struct hp_store_report_key *known, size_t n_known,
                      struct hp_store_inventory **ret, size_t *ret_n);
/* Array literals for a statement's parameters (pg-array.c): up to
 * HP_PG_ARRAYS_MAX written at once, each element added to array i; after
 * hp_pg_arrays_close() (0 or -ENOMEM), text[i] is the literal. Text
 * elements are quoted (NULL as NULL). hp_pg_arrays_done() frees them. */
#define HP_PG_ARRAYS_MAX 8
struct hp_pg_arrays {
        FILE *f[HP_PG_ARRAYS_MAX];
        char *text[HP_PG_ARRAYS_MAX];
        size_t size[HP_PG_ARRAYS_MAX], count[HP_PG_ARRAYS_MAX];
        size_t n;
};
int hp_pg_arrays_open(struct hp_pg_arrays *a, size_t n);
void hp_pg_array_text(struct hp_pg_arrays *a, size_t i, const char *v);
void hp_pg_array_int(struct hp_pg_arrays *a, size_t i, int64_t v);
void hp_pg_array_bool(struct hp_pg_arrays *a, size_t i, bool v);
int hp_pg_arrays_close(struct hp_pg_arrays *a);
void hp_pg_arrays_done(struct hp_pg_arrays *a);

int hp_pg_claim(struct hp_store *s, const struct hp_store_claim *c, struct hp_store_claim_result *ret);
int hp_pg_claim_all(struct hp_store *s, const struct hp_store_claim *c, size_t n,
                    struct hp_store_claim_result *ret);
int hp_pg_vm_unplace(struct hp_store *s, const char *name, bool keep_host);
int hp_pg_vm_set_desired(struct hp_store *s, const char *name, const char *desired);
int hp_pg_vm_set_start_failures(struct hp_store *s, const char *name, const char *failures);
int hp_pg_vm_set_moving(struct hp_store *s, const char *name, const char *host);
int hp_pg_vm_report(struct hp_store *s, const char *host, const char *name, int64_t epoch,
                    const char *state);
int hp_pg_token_add(struct hp_store *s, const char *name, const char *hash, enum hp_token_role role,
                    const struct hp_token_scope *scope);
int hp_pg_token_list(struct hp_store *s, struct hp_token_info **ret, size_t *ret_n);
int hp_pg_token_revoke(struct hp_store *s, const char *name);
int hp_pg_token_check(struct hp_store *s, const char *hash, struct hp_token_info *ret);
/* The cluster's (pg-cluster.c). */
int hp_pg_host_set_credential(struct hp_store *s, const char *name, const char *hash);
int hp_pg_host_revoke(struct hp_store *s, const char *name);
int hp_pg_host_check(struct hp_store *s, const char *hash, char **ret_name);
int hp_pg_host_renew(struct hp_store *s, const char *name, int64_t lease_ms, int ready,
                     int64_t *ret_expires_ms);
int hp_pg_host_report(struct hp_store *s, const char *name, const char *report_json);
int hp_pg_host_report_get(struct hp_store *s, const char *name, char **ret_report_json, int64_t *ret_at_ms);
int hp_pg_host_set_flag(struct hp_store *s, const char *name, enum hp_host_flag flag, bool value);
int hp_pg_host_list(struct hp_store *s, const char *name, struct hp_host_info **ret, size_t *ret_n);
int hp_pg_join_token_add(struct hp_store *s, const char *hash, int64_t ttl_ms, int64_t *ret_expires_ms);
int hp_pg_join_token_use(struct hp_store *s, const char *hash);
int hp_pg_join_token_list(struct hp_store *s, struct hp_join_token_info **ret, size_t *ret_n);
int hp_pg_setting_get(struct hp_store *s, const char *key, char **ret);
int hp_pg_setting_set(struct hp_store *s, const char *key, const char *value);
int hp_pg_leader_acquire(struct hp_store *s, const char *holder, int64_t ttl_ms, int64_t *ret_token, char **ret_holder);

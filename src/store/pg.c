/* The PostgreSQL backend's connection: opening, statements, transactions, hosts, events. */
/* The cluster's store (DESIGN.md §1, §6): one database that several
 * controllers share. Every statement is constant SQL with $n parameters
 * sent as text. Every transaction is SERIALIZABLE (the session's default),
 * so what store.h promises of hp_store_begin() holds against every other
 * writer; a call outside one runs in a transaction of its own that is
 * retried when PostgreSQL reports a conflict (SQLSTATE 40001, 40P01), until
 * the busy timeout, which also bounds each wait for a lock (lock_timeout).
 * Event ids come from a counter row updated by the transaction that adds
 * the event: event-writing transactions queue on that row, so ids grow in
 * commit order, which a sequence does not give. The device rows are in
 * pg-devices.c, VMs and assignment in pg-vms.c (the cluster's VMs in
 * pg-placement.c), tokens in pg-tokens.c, the schema in pg-migrations.c. */
#include "pg-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"


void hp_pg_fmt_int(char buf[HP_PG_INT_LEN], int64_t v)
{
        snprintf(buf, HP_PG_INT_LEN, "%" PRId64, v);
}

int64_t hp_pg_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps the server's message as one line, for hp_pg_message(). */
static void keep_message(struct hp_pg *s, const char *msg)
{
        char *copy = strdup(msg ? msg : "");

        if (!copy)
                return; /* the older message stays; the errno still tells */
        for (char *p = copy; *p; p++)
                if (*p == '\n' || *p == '\t')
                        *p = p[1] ? ' ' : '\0';
        free(s->last_error);
        s->last_error = copy;
}

const char *hp_pg_message(struct hp_pg *s, int r)
{
        return s->last_error && *s->last_error ? s->last_error : strerror(-r);
}

/* What the failure of res means, as store.h's errors. */
static int failure_errno(struct hp_pg *s, PGresult *res)
{
        const char *state = res ? sym_PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

        snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state ? state : "");
        keep_message(s, res ? sym_PQresultErrorMessage(res) : sym_PQerrorMessage(s->conn));
        if (sym_PQstatus(s->conn) == CONNECTION_BAD)
                return -ECONNRESET;
        if (!res)
                return -ENOMEM;
        if (!state)
                return -EIO;
        if (streq(state, "40001") || streq(state, "40P01") || streq(state, "55P03") ||
            streq(state, "57014"))
                return -EBUSY; /* conflict, deadlock, lock_timeout, canceled */
        if (streq(state, "25006"))
                return -EROFS;
        if (streq(state, "23514") || strncmp(state, "22", 2) == 0)
                return -EINVAL; /* a check constraint, bad data (UTF-8) */
        if (strncmp(state, "23", 2) == 0)
                return -EEXIST;
        if (streq(state, "53100"))
                return -ENOSPC;
        if (streq(state, "53200"))
                return -ENOMEM;
        if (streq(state, "42501") || strncmp(state, "28", 2) == 0)
                return -EACCES;
        if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
                return -ECONNRESET; /* the connection, the server shutting down */
        if (streq(state, "42P01") || streq(state, "42703"))
                return -EBADMSG; /* a table or column is missing: not our schema */
        return -EIO;
}

static bool is_retryable(const struct hp_pg *s)
{
        return streq(s->sqlstate, "40001") || streq(s->sqlstate, "40P01");
}

static int savepoint(struct hp_pg *s);

/* A statement that only reads: it leaves nothing to undo. */
static bool only_reads(const char *sql)
{
        return strncmp(sql, "SELECT ", 7) == 0;
}

/* Transaction control and locks have no plan to keep. */
static bool plannable(const char *sql)
{
        return strncmp(sql, "SELECT ", 7) == 0 || strncmp(sql, "WITH ", 5) == 0 ||
               strncmp(sql, "UPDATE ", 7) == 0 || strncmp(sql, "INSERT ", 7) == 0 ||
               strncmp(sql, "DELETE ", 7) == 0;
}

/* More than the backend's texts (all constant): a guard, not a limit met. */
#define PREPARED_MAX 512

/* sql's prepared statement in the session, prepared now when it is new
 * there: PostgreSQL parses and plans each text once per session instead of
 * at every call (planning cost more than running most of ours). Its name
 * into name. */
static int prepared(struct hp_pg *s, const char *sql, int n, char name[static 16])
{
        struct hp_pg_memo *m = &s->memo;
        _cleanup_result_ PGresult *res = NULL;
        size_t i = 0;
        char **grown;

        while (i < m->n_sql && !streq(m->sql[i], sql))
                i++;
        snprintf(name, 16, "hp_%zu", i);
        if (i < m->n_sql)
                return 0;
        grown = reallocarray(m->sql, m->n_sql + 2, sizeof(*m->sql));
        if (!grown)
                return -ENOMEM;
        m->sql = grown;
        m->sql[m->n_sql] = strdup(sql);
        if (!m->sql[m->n_sql])
                return -ENOMEM;
        res = sym_PQprepare(s->conn, name, sql, n, NULL);
        if (!res || sym_PQresultStatus(res) != PGRES_COMMAND_OK) {
                free(m->sql[m->n_sql]);
                m->sql[m->n_sql] = NULL;
                return failure_errno(s, res);
        }
        m->sql[++m->n_sql] = NULL;
        return 0;
}

int hp_pg_exec(struct hp_pg *s, const char *sql, int n, const char *const *params, PGresult **ret)
{
        PGresult *res;
        ExecStatusType st;
        char name[16];
        int r;

        if (s->in_op && !s->op_saved && !only_reads(sql)) {
                r = savepoint(s);
                if (r < 0)
                        return r;
        }
        if (!plannable(sql) || s->memo.n_sql >= PREPARED_MAX)
                res = sym_PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
        else if ((r = prepared(s, sql, n, name)) >= 0)
                res = sym_PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
        else
                return r;
        st = res ? sym_PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                r = failure_errno(s, res);
                sym_PQclear(res);
                return r;
        }
        if (ret)
                *ret = res;
        else
                sym_PQclear(res);
        return 0;
}

int hp_pg_exec_script(struct hp_pg *s, const char *sql)
{
        _cleanup_result_ PGresult *res = sym_PQexec(s->conn, sql);

        if (res && sym_PQresultStatus(res) == PGRES_COMMAND_OK)
                return 0;
        return failure_errno(s, res);
}

int hp_pg_changes(PGresult *res)
{
        int n = 0;

        /* Empty for a command that counts nothing; a count never exceeds INT_MAX here. */
        return hp_parse_int(sym_PQcmdTuples(res), &n) < 0 ? 0 : n;
}

int hp_pg_strdup(PGresult *res, int row, int col, char **ret)
{
        char *copy = NULL;

        if (!sym_PQgetisnull(res, row, col)) {
                copy = strdup(sym_PQgetvalue(res, row, col));
                if (!copy)
                        return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

int hp_pg_read_rows(PGresult *res, size_t elem_size, int (*row)(PGresult *res, int i, void *ret),
                    void **ret, size_t *ret_n)
{
        int n = sym_PQntuples(res), r;

        *ret = NULL;
        *ret_n = 0;
        if (n == 0)
                return 0;
        *ret = calloc((size_t)n, elem_size);
        if (!*ret)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                r = row(res, i, (char *)*ret + (size_t)i * elem_size);
                if (r < 0)
                        return r;
                (*ret_n)++;
        }
        return 0;
}

int hp_pg_int64(PGresult *res, int row, int col, int64_t *ret)
{
        const char *t = sym_PQgetvalue(res, row, col);
        char *end = NULL;
        long long v;

        if (sym_PQgetisnull(res, row, col) || !*t)
                return -EBADMSG;
        errno = 0;
        v = strtoll(t, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EBADMSG;
        *ret = (int64_t)v;
        return 0;
}

void hp_pg_memo_forget(struct hp_pg_memo *m)
{
        for (size_t i = 0; i < m->n_hosts; i++)
                free(m->hosts[i].name);
        free(m->hosts);
        hp_strv_free(m->sql);
        for (size_t i = 0; i < HP_PG_KEPT_N; i++)
                sym_PQclear(m->kept[i].res);
        *m = (struct hp_pg_memo){ 0 };
}

/* Bumped, kind by kind, after this process committed a change of the
 * table (hp_pg_kept_changed()). */
static uint64_t kept_generation[HP_PG_KEPT_N];

static void kept_bump(enum hp_pg_kept kind)
{
        __atomic_add_fetch(&kept_generation[kind], 1, __ATOMIC_SEQ_CST);
}

static void kept_committed(struct hp_pg *s)
{
        for (int k = 0; k < HP_PG_KEPT_N; k++)
                if (s->kept_written & (1u << k))
                        kept_bump(k);
        s->kept_written = 0;
}

void hp_pg_kept_changed(struct hp_pg *s, enum hp_pg_kept kind)
{
        if (s->in_tx)
                s->kept_written |= 1u << kind;
        else
                kept_bump(kind);
}

struct kept_io {
        const char *sql;
        PGresult *res;
};

static int kept_read_op(struct hp_pg *s, void *data)
{
        struct kept_io *io = data;

        return hp_pg_exec(s, io->sql, 0, NULL, &io->res);
}

int hp_pg_kept(struct hp_pg *s, enum hp_pg_kept kind, const char *sql, PGresult **ret)
{
        struct hp_pg_kept_read *k = &s->memo.kept[kind];
        /* Read before the rows: a change committed meanwhile makes them old. */
        uint64_t gen = __atomic_load_n(&kept_generation[kind], __ATOMIC_SEQ_CST);
        int64_t now = hp_pg_now_ms();
        struct kept_io io = { .sql = sql };
        int r;

        if (s->in_tx) {
                r = hp_pg_run(s, false, kept_read_op, &io);
                if (r < 0)
                        return r;
                sym_PQclear(s->read_in_tx[kind]);
                *ret = s->read_in_tx[kind] = io.res;
                return 0;
        }
        if (k->res && (now - k->ms > HP_PG_KEPT_MS || k->generation != gen)) {
                sym_PQclear(k->res);
                k->res = NULL;
        }
        if (!k->res) {
                r = hp_pg_run(s, false, kept_read_op, &io);
                if (r < 0)
                        return r;
                *k = (struct hp_pg_kept_read){ .res = io.res, .ms = now, .generation = gen };
        }
        *ret = k->res;
        return 0;
}

/* The ids read in a transaction that ended: kept when it committed. */
static void memo_settle(struct hp_pg_memo *m, bool committed)
{
        size_t k = 0;

        for (size_t i = 0; i < m->n_hosts; i++) {
                if (m->hosts[i].pending && !committed) {
                        free(m->hosts[i].name);
                        continue;
                }
                m->hosts[i].pending = false;
                m->hosts[k++] = m->hosts[i];
        }
        m->n_hosts = k;
}

/* The settings every connection works with, again after a reconnect. A
 * prepared statement's generic plan serves every call: left to choose,
 * PostgreSQL planned the claim (a dozen lookups by key) at each call. */
static int session_setup(struct hp_pg *s)
{
        char busy[HP_PG_INT_LEN];
        const char *params[] = {s->readonly ? "on" : "off", busy};

        hp_pg_fmt_int(busy, s->busy_ms);
        return hp_pg_exec(s,
                          "SELECT set_config('default_transaction_isolation', 'serializable', "
                          "false), set_config('default_transaction_read_only', $1, false), "
                          "set_config('lock_timeout', $2, false), "
                          "set_config('client_min_messages', 'warning', false), "
                          "set_config('plan_cache_mode', 'force_generic_plan', false)",
                          2, params, NULL);
}

/* A connection the server dropped (restarted, failed over) is made again
 * once, outside a transaction; -ECONNRESET when that fails too. */
static int reconnect_if_lost(struct hp_pg *s)
{
        if (sym_PQstatus(s->conn) == CONNECTION_OK)
                return 0;
        sym_PQreset(s->conn);
        hp_pg_memo_forget(&s->memo); /* perhaps another server now (a failover) */
        if (sym_PQstatus(s->conn) != CONNECTION_OK) {
                keep_message(s, sym_PQerrorMessage(s->conn));
                return -ECONNRESET;
        }
        return session_setup(s);
}

/* Runs a transaction-control statement on a path that already fails,
 * keeping the first failure's state and message. */
static void run_quietly(struct hp_pg *s, const char *sql)
{
        char state[sizeof(s->sqlstate)];
        char *msg = TAKE_PTR(s->last_error);

        memcpy(state, s->sqlstate, sizeof(state));
        if (sym_PQstatus(s->conn) == CONNECTION_OK)
                (void)hp_pg_exec_script(s, sql);
        memcpy(s->sqlstate, state, sizeof(state));
        free(s->last_error);
        s->last_error = msg;
}

/* The savepoint an operation's writes are undone to, set before its first
 * write: an operation that only reads has nothing to undo, and costs no
 * savepoint. The earlier operation's savepoint is released in the same round
 * trip (COMMIT releases the last one). */
static int savepoint(struct hp_pg *s)
{
        int r = hp_pg_exec_script(s, s->save_held ? "RELEASE SAVEPOINT hp_op; SAVEPOINT hp_op"
                                                  : "SAVEPOINT hp_op");

        if (r < 0)
                return r;
        s->op_saved = s->save_held = true;
        return 0;
}

/* Inside the caller's transaction: a failure undoes only op (its writes,
 * to its savepoint); a conflict, a lost connection, or a failed read that
 * left the transaction unusable ends the whole transaction, and the calls
 * after it say -ECANCELED until the caller rolls back or commits. */
static int run_in_tx(struct hp_pg *s, hp_pg_op op, void *data)
{
        int r;

        if (s->tx_lost)
                return -ECANCELED;
        s->sqlstate[0] = '\0'; /* an -EBUSY of op's own (a device held) is no conflict */
        if (s->whole) {
                r = op(s, data);
                if (r < 0) {
                        run_quietly(s, "ROLLBACK");
                        s->tx_lost = true;
                }
                return r;
        }
        s->in_op = true;
        s->op_saved = false;
        r = op(s, data);
        s->in_op = false;
        if (r >= 0)
                return 0;
        if (r == -ECONNRESET || (r == -EBUSY && is_retryable(s)) ||
            sym_PQtransactionStatus(s->conn) == PQTRANS_IDLE ||
            (!s->op_saved && sym_PQtransactionStatus(s->conn) != PQTRANS_INTRANS)) {
                run_quietly(s, "ROLLBACK");
                s->tx_lost = true;
        } else if (s->op_saved) {
                run_quietly(s, "ROLLBACK TO SAVEPOINT hp_op; RELEASE SAVEPOINT hp_op");
                s->save_held = false;
        }
        return r;
}

/* Sleeps between two tries of a conflicting transaction: a little longer
 * each time, never past the deadline. */
static void back_off(int64_t *wait_ms, int64_t deadline)
{
        int64_t left = deadline - hp_pg_now_ms(), ms = *wait_ms + (rand() % (*wait_ms + 1));
        struct timespec ts;

        if (ms > left)
                ms = left > 0 ? left : 0;
        ts = (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        if (*wait_ms < 32)
                *wait_ms *= 2;
}

int hp_pg_run(struct hp_pg *s, bool multi, hp_pg_op op, void *data)
{
        int64_t deadline = hp_pg_now_ms() + s->busy_ms, wait_ms = 1;
        int r;

        if (s->in_tx)
                return run_in_tx(s, op, data);
        for (;;) {
                r = reconnect_if_lost(s);
                if (r < 0)
                        return r;
                s->sqlstate[0] = '\0'; /* as in run_in_tx() */
                r = multi ? hp_pg_exec(s, "BEGIN", 0, NULL, NULL) : 0;
                if (r >= 0)
                        r = op(s, data);
                if (multi && r >= 0)
                        r = hp_pg_exec(s, "COMMIT", 0, NULL, NULL);
                else if (multi && sym_PQtransactionStatus(s->conn) != PQTRANS_IDLE)
                        run_quietly(s, "ROLLBACK");
                if (r != -EBUSY || !is_retryable(s) || hp_pg_now_ms() >= deadline)
                        return r;
                back_off(&wait_ms, deadline);
        }
}

static void quiet_notices(void *arg, const char *message)
{
        /* Library code never prints: PostgreSQL's notices are dropped. */
        (void)arg;
        (void)message;
}

static void pg_close(struct hp_store *store)
{
        struct hp_pg *s = hp_pg(store);

        /* No connection when the open failed before it (libpq missing). */
        if (s->conn && !hp_pg_pool_give(s))
                sym_PQfinish(s->conn); /* rolls back an open transaction */
        hp_pg_pool_release(s);
        hp_pg_memo_forget(&s->memo);
        for (size_t i = 0; i < HP_PG_KEPT_N; i++)
                sym_PQclear(s->read_in_tx[i]);
        free(s->url);
        free(s->display);
        free(s->last_error);
        free(s);
}

static void pg_closep(struct hp_pg **s)
{
        if (*s)
                pg_close(&(*s)->store);
}

static int pg_set_host_id(struct hp_pg *s, const char *name)
{
        _cleanup_result_ PGresult *res = NULL;
        const char *params[] = {name};
        struct hp_pg_memo *m = &s->memo;
        struct hp_pg_host_id *grown;
        int r;

        for (size_t i = 0; i < m->n_hosts; i++)
                if (streq(m->hosts[i].name, name)) {
                        memcpy(s->host_id, m->hosts[i].id, sizeof(s->host_id));
                        return 0;
                }
        r = hp_pg_exec(s, "SELECT id FROM hosts WHERE name = $1", 1, params, &res);
        if (r < 0)
                return r;
        if (sym_PQntuples(res) == 0)
                return -ENOENT;
        snprintf(s->host_id, sizeof(s->host_id), "%s", sym_PQgetvalue(res, 0, 0));
        grown = reallocarray(m->hosts, m->n_hosts + 1, sizeof(*m->hosts));
        if (!grown)
                return 0; /* not remembered: read again next time */
        m->hosts = grown;
        grown[m->n_hosts] = (struct hp_pg_host_id){ .name = strdup(name), .pending = s->in_tx };
        memcpy(grown[m->n_hosts].id, s->host_id, sizeof(s->host_id));
        if (grown[m->n_hosts].name)
                m->n_hosts++;
        return 0;
}

static int set_host_op(struct hp_pg *s, void *data)
{
        return pg_set_host_id(s, data);
}

static int pg_set_host(struct hp_store *store, const char *name)
{
        return hp_pg_run(hp_pg(store), false, set_host_op, (void *)name);
}

static int host_add_op(struct hp_pg *s, void *data)
{
        char now[HP_PG_INT_LEN];
        const char *params[] = {data, now};

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        /* The one constraint the values can break is the name's: -EEXIST. */
        return hp_pg_exec(s, "INSERT INTO hosts (name, created_at) VALUES ($1, $2)", 2, params,
                          NULL);
}

static int pg_host_add(struct hp_store *store, const char *name)
{
        return hp_pg_run(hp_pg(store), false, host_add_op, (void *)name);
}

/* Connects with libpq, which reads the URL (it takes the scheme in lower
 * case only); a connection that fails says so in libpq's words. */
static int pg_connect(struct hp_pg *s, const char *url, char **ret_error)
{
        _cleanup_free_ char *conninfo = strdup(url);
        const char *const keywords[] = {"connect_timeout", "fallback_application_name", "dbname",
                                        NULL};
        const char *values[] = {"10", "hwpass", NULL, NULL};
        int r;

        if (!conninfo)
                return hp_errorf(ret_error, -ENOMEM, "Out of memory");
        r = hp_pq_load(ret_error);
        if (r < 0)
                return r;
        for (char *p = conninfo; *p && *p != ':'; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        values[2] = conninfo;
        /* The URL's own settings (a connect_timeout) win over the defaults before it. */
        s->conn = sym_PQconnectdbParams(keywords, values, 1);
        if (!s->conn)
                return hp_errorf(ret_error, -ENOMEM, "Out of memory");
        sym_PQsetNoticeProcessor(s->conn, quiet_notices, NULL);
        if (sym_PQstatus(s->conn) != CONNECTION_OK) {
                keep_message(s, sym_PQerrorMessage(s->conn));
                return hp_errorf(ret_error, -ECONNREFUSED,
                                 "Failed to connect to state database \"%s\": %s; check that the "
                                 "server runs, the database exists and the user may log in",
                                 s->display, hp_pg_message(s, -ECONNREFUSED));
        }
        r = session_setup(s);
        if (r < 0)
                return hp_errorf(ret_error, r, "Failed to set up the connection to \"%s\": %s",
                                 s->display, hp_pg_message(s, r));
        return 0;
}

/* Whether the server ended an idle kept connection (restarted, or
 * terminated the session): it said so (its last message) and closed the
 * socket, while a session nobody asks anything says nothing. One poll(),
 * no round trip. */
static bool kept_ended(struct hp_pg *s)
{
        struct pollfd p = { .fd = sym_PQsocket(s->conn), .events = POLLIN };

        return p.fd < 0 || poll(&p, 1, 0) != 0;
}

/* A kept connection to url, which the server has not ended meanwhile
 * (when it has: closed, and the caller connects anew), its schema checked
 * as a new one's is (another controller may have upgraded it; one
 * statement when it is as it was), unless the process keeps a reading of
 * a current schema for HP_PG_KEPT_MS (hp_store_keep_schema()): 1 with
 * s->conn set, 0 when there is none, or the check's refusal. */
static int pg_check_kept(struct hp_pg *s, const char *url, char **ret_error)
{
        _cleanup_free_ char *err = NULL;
        int64_t now = hp_pg_now_ms();
        int r;

        if (!hp_pg_pool_take(s, url))
                return 0;
        if (!kept_ended(s)) {
                if (hp_store_schema_kept && s->store.version == HP_STORE_SCHEMA_VERSION &&
                    now - s->memo.schema_ms <= HP_PG_KEPT_MS)
                        return 1;
                r = hp_pg_schema_unchanged(s) ? 0 : hp_pg_migrate(s, &s->store.version, &err);
                if (r >= 0) {
                        s->memo.schema_ms = now;
                        return 1;
                }
                if (sym_PQstatus(s->conn) == CONNECTION_OK) {
                        if (ret_error)
                                *ret_error = TAKE_PTR(err);
                        return r;
                }
        }
        sym_PQfinish(s->conn);
        s->conn = NULL;
        hp_pg_memo_forget(&s->memo); /* the session's: perhaps another server next */
        return 0;
}

/* Read-write: migrates the schema (the database itself is the operator's to
 * create). Read-only: migrates nothing, and every transaction is read-only. */
static int pg_open(const char *url, bool readonly, struct hp_store **ret, char **ret_error)
{
        _cleanup_(pg_closep) struct hp_pg *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return hp_errorf(ret_error, -ENOMEM, "Out of memory");
        s->store.backend = &hp_store_pg_backend;
        s->readonly = readonly;
        s->busy_ms = HP_PG_BUSY_TIMEOUT_MS;
        s->display = hp_store_display_name(url);
        s->url = strdup(url);
        if (!s->display || !s->url)
                return hp_errorf(ret_error, -ENOMEM, "Out of memory");
        hp_pg_pool_reserve(s);
        r = pg_check_kept(s, url, ret_error);
        if (r == 0) {
                r = pg_connect(s, url, ret_error);
                if (r >= 0)
                        r = hp_pg_migrate(s, &s->store.version, ret_error);
                s->memo.schema_ms = hp_pg_now_ms();
        }
        if (r < 0)
                return r;
        r = pg_set_host_id(s, HP_STORE_LOCAL_HOST);
        if (r == -ENOENT)
                return hp_errorf(ret_error, -EBADMSG,
                                 "State database \"%s\" has lost its row for the host \"%s\" "
                                 "(table hosts); restore a backup",
                                 s->display, HP_STORE_LOCAL_HOST);
        if (r < 0)
                return hp_errorf(ret_error, r, "Failed to read state database \"%s\": %s",
                                 s->display, hp_pg_message(s, r));
        *ret = &TAKE_PTR(s)->store;
        return 0;
}

int hp_pg_set_busy_timeout(struct hp_store *store, int ms)
{
        struct hp_pg *s = hp_pg(store);
        char busy[HP_PG_INT_LEN];
        const char *params[] = {busy};
        int r;

        hp_pg_fmt_int(busy, ms);
        r = hp_pg_exec(s, "SELECT set_config('lock_timeout', $1, false)", 1, params, NULL);
        if (r < 0)
                return r;
        s->busy_ms = ms;
        /* A setting made in a transaction goes when it rolls back: set it again then. */
        s->busy_set_in_tx = s->in_tx;
        return 0;
}

/* After a transaction ended, a busy timeout set inside it holds still. */
static int tx_ended(struct hp_pg *s, int r)
{
        bool again = s->busy_set_in_tx;

        s->busy_set_in_tx = false;
        if (again && sym_PQstatus(s->conn) == CONNECTION_OK) {
                int q = session_setup(s);

                return r < 0 ? r : q;
        }
        return r;
}

static int pg_begin(struct hp_store *store)
{
        struct hp_pg *s = hp_pg(store);
        int r;

        if (s->in_tx)
                return -EALREADY;
        r = reconnect_if_lost(s);
        if (r >= 0)
                r = hp_pg_exec(s, "BEGIN ISOLATION LEVEL SERIALIZABLE", 0, NULL, NULL);
        if (r < 0)
                return r;
        s->in_tx = true;
        s->tx_lost = false;
        s->save_held = false;
        s->whole = false;
        s->kept_written = 0;
        return 0;
}

static int pg_commit(struct hp_store *store)
{
        struct hp_pg *s = hp_pg(store);
        int r;

        if (!s->in_tx)
                return -EINVAL;
        s->in_tx = false;
        if (s->tx_lost || sym_PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
                run_quietly(s, "ROLLBACK");
                memo_settle(&s->memo, false);
                return tx_ended(s, -ECANCELED);
        }
        /* A COMMIT that fails (a conflict found at the end) ends the transaction too. */
        r = hp_pg_exec(s, "COMMIT", 0, NULL, NULL);
        memo_settle(&s->memo, r >= 0);
        if (r >= 0)
                kept_committed(s);
        return tx_ended(s, r);
}

static int pg_rollback(struct hp_store *store)
{
        struct hp_pg *s = hp_pg(store);

        if (!s->in_tx)
                return 0;
        s->in_tx = false;
        memo_settle(&s->memo, false);
        if (s->tx_lost || sym_PQstatus(s->conn) != CONNECTION_OK)
                return tx_ended(s, 0);
        return tx_ended(s, hp_pg_exec(s, "ROLLBACK", 0, NULL, NULL));
}

/* The event counter's table locked before the transaction reads anything:
 * the snapshot comes after the lock, so the counter's row is never found
 * changed by a transaction that committed meanwhile (which, serializable,
 * would abort this one: writers of events would lose to each other instead
 * of waiting their turn). */
static int pg_events_turn(struct hp_store *store)
{
        struct hp_pg *s = hp_pg(store);

        if (!s->in_tx)
                return -EINVAL;
        return hp_pg_exec(s, "LOCK TABLE event_counter IN EXCLUSIVE MODE", 0, NULL, NULL);
}

static int pg_whole(struct hp_store *store)
{
        struct hp_pg *s = hp_pg(store);

        if (!s->in_tx)
                return -EINVAL;
        s->whole = true;
        return 0;
}

struct event_add {
        const char *kind, *subject, *message;
};

/* One statement: the id from the counter row (locked until commit), the row with it. */
static int event_add_op(struct hp_pg *s, void *data)
{
        const struct event_add *e = data;
        char now[HP_PG_INT_LEN];
        const char *params[] = {s->host_id, now, e->kind, e->subject, e->message, s->store.actor};

        hp_pg_fmt_int(now, (int64_t)time(NULL));
        return hp_pg_exec(s,
                          "WITH n AS (UPDATE event_counter SET last = last + 1 WHERE id = 1 "
                          "RETURNING last) "
                          "INSERT INTO events (id, at, kind, subject, message, actor, host) "
                          "SELECT last, $2, $3, $4, $5, $6, $1 FROM n",
                          ELEMENTSOF(params), params, NULL);
}

static int pg_event_add(struct hp_store *store, const char *kind, const char *subject,
                        const char *message)
{
        struct event_add e = {kind, subject, message};

        return hp_pg_run(hp_pg(store), false, event_add_op, &e);
}

struct event_list {
        int64_t since;
        size_t limit;
        struct hp_event *e;
        size_t n;
};

static int row_to_event(PGresult *res, int row, struct hp_event *ret)
{
        struct hp_event e = {0};
        int r;

        if ((r = hp_pg_int64(res, row, 0, &e.id)) < 0 || (r = hp_pg_int64(res, row, 1, &e.at)) < 0 ||
            (r = hp_pg_strdup(res, row, 2, &e.kind)) < 0 ||
            (r = hp_pg_strdup(res, row, 3, &e.subject)) < 0 ||
            (r = hp_pg_strdup(res, row, 4, &e.message)) < 0 ||
            (r = hp_pg_strdup(res, row, 5, &e.actor)) < 0 ||
            (r = hp_pg_strdup(res, row, 6, &e.host)) < 0) {
                hp_event_done(&e);
                return r;
        }
        *ret = e;
        return 0;
}

static int event_list_op(struct hp_pg *s, void *data)
{
        struct event_list *l = data;
        _cleanup_result_ PGresult *res = NULL;
        char since[HP_PG_INT_LEN], limit[HP_PG_INT_LEN];
        const char *params[] = {since, limit};
        struct hp_event *e;
        int r, n;

        hp_pg_fmt_int(since, l->since);
        hp_pg_fmt_int(limit, l->limit > INT64_MAX ? INT64_MAX : (int64_t)l->limit);
        /* The newest `limit` after `since`, oldest first, from every host. */
        r = hp_pg_exec(s,
                       "SELECT e.id, e.at, e.kind, e.subject, e.message, e.actor, h.name FROM ("
                       "SELECT * FROM events WHERE id > $1 ORDER BY id DESC LIMIT $2) AS e "
                       "LEFT JOIN hosts AS h ON h.id = e.host ORDER BY e.id",
                       2, params, &res);
        if (r < 0)
                return r;
        n = sym_PQntuples(res);
        e = n > 0 ? calloc((size_t)n, sizeof(*e)) : NULL;
        if (n > 0 && !e)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                r = row_to_event(res, i, &e[i]);
                if (r < 0) {
                        hp_events_free(e, (size_t)i);
                        return r;
                }
        }
        l->e = e;
        l->n = (size_t)n;
        return 0;
}

static int pg_event_list(struct hp_store *store, int64_t since, size_t limit, struct hp_event **ret,
                         size_t *ret_n)
{
        struct event_list l = {.since = since, .limit = limit};
        int r = hp_pg_run(hp_pg(store), false, event_list_op, &l);

        if (r < 0)
                return r;
        *ret = l.e;
        *ret_n = l.n;
        return 0;
}

const struct hp_store_backend hp_store_pg_backend = {
        .scheme = "postgresql",
        .alias = "postgres",
        .open = pg_open,
        .close = pg_close,
        .set_busy_timeout = hp_pg_set_busy_timeout,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .events_turn = pg_events_turn,
        .whole = pg_whole,
        .set_host = pg_set_host,
        .host_add = pg_host_add,
        .device_get = hp_pg_device_get,
        .device_list = hp_pg_device_list,
        .device_put = hp_pg_device_put,
        .device_delete = hp_pg_device_delete,
        .event_add = pg_event_add,
        .event_list = pg_event_list,
        .vm_get = hp_pg_vm_get,
        .vm_list = hp_pg_vm_list,
        .vm_create = hp_pg_vm_create,
        .vm_update_spec = hp_pg_vm_update_spec,
        .vm_set_runtime = hp_pg_vm_set_runtime,
        .vm_delete = hp_pg_vm_delete,
        .cluster_vm_delete = hp_pg_cluster_vm_delete,
        .assign_devices = hp_pg_assign_devices,
        .release_devices = hp_pg_release_devices,
        .cluster_vm_list = hp_pg_cluster_vm_list,
        .cluster_vm_get = hp_pg_cluster_vm_get,
        .cluster_vm_create = hp_pg_cluster_vm_create,
        .vm_place = hp_pg_vm_place,
        .vm_held_on = hp_pg_vm_held_on,
        .claim = hp_pg_claim,
        .claim_all = hp_pg_claim_all,
        .vm_unplace = hp_pg_vm_unplace,
        .vm_set_desired = hp_pg_vm_set_desired,
        .vm_set_start_failures = hp_pg_vm_set_start_failures,
        .vm_set_moving = hp_pg_vm_set_moving,
        .vm_report = hp_pg_vm_report,
        .token_add = hp_pg_token_add,
        .token_list = hp_pg_token_list,
        .token_revoke = hp_pg_token_revoke,
        .token_check = hp_pg_token_check,
        .host_set_credential = hp_pg_host_set_credential,
        .host_revoke = hp_pg_host_revoke,
        .host_check = hp_pg_host_check,
        .host_renew = hp_pg_host_renew,
        .host_report = hp_pg_host_report,
        .inventories = hp_pg_inventories,
        .host_report_get = hp_pg_host_report_get,
        .host_set_flag = hp_pg_host_set_flag,
        .host_list = hp_pg_host_list,
        .join_token_add = hp_pg_join_token_add,
        .join_token_use = hp_pg_join_token_use,
        .join_token_list = hp_pg_join_token_list,
        .setting_get = hp_pg_setting_get,
        .setting_set = hp_pg_setting_set,
        .leader_acquire = hp_pg_leader_acquire,
};

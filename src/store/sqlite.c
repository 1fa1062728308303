/* The SQLite backend's connection: opening the file, cached statements, transactions, events. */
/* The standalone shape's store (DESIGN.md §1): one file, WAL so readers run
 * while a writer writes, foreign keys on. The device rows are in
 * sqlite-devices.c, the VMs and device assignment in sqlite-vms.c (the
 * cluster's VMs in sqlite-placement.c), the tokens in sqlite-tokens.c, the
 * schema and its upgrades in sqlite-migrations.c. Every statement is
 * constant SQL with bound parameters (sqlite-sql.c), prepared once and kept
 * until close. */
#include "sqlite-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "util/macro.h"

#define BUSY_TIMEOUT_MS 5000

/* Only called for failures: anything unexpected, SQLITE_ROW included, is -EIO. */
int hp_sqlite_errno(struct sqlite3 *db, int rc)
{
        switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN: {
                /* The open(2) error behind it: ENOENT, EACCES, EISDIR... */
                int e = db ? sqlite3_system_errno(db) : 0;

                return e > 0 ? -e : -EACCES;
        }
        default:
                return -EIO;
        }
}

/* The message for an open that failed, in SQLite's words (or the errno's
 * when the failure was ours), with what to do. */
static int open_fail(struct hp_sqlite *s, const char *display, int r, char **ret_error)
{
        bool sqlite_said = s->db && sqlite3_errcode(s->db) != SQLITE_OK;
        const char *detail = sqlite_said ? sqlite3_errmsg(s->db) : strerror(-r);
        const char *hint = "";
        int code = s->db ? sqlite3_extended_errcode(s->db) & 0xff : SQLITE_OK;

        /* SQLite's words are vague here ("unable to open database file",
         * "disk I/O error"); the kernel's error says which. */
        if ((code == SQLITE_CANTOPEN || code == SQLITE_IOERR) && sqlite3_system_errno(s->db) > 0)
                return hp_errorf(ret_error, r, "Failed to open state database \"%s\": %s (%s)",
                                      display, detail, strerror(sqlite3_system_errno(s->db)));
        if (r == -EBADMSG)
                hint = "; move it aside to start with an empty store, or restore a backup";
        else if (r == -EBUSY)
                hint = "; another process holds it locked, try again when it is done";
        return hp_errorf(ret_error, r, "Failed to open state database \"%s\": %s%s", display,
                              detail, hint);
}

int hp_sqlite_stmt_get(struct hp_sqlite *s, enum hp_store_stmt_id id, sqlite3_stmt **ret)
{
        int rc;

        if (!s->stmts[id]) {
                rc = sqlite3_prepare_v3(s->db, hp_sqlite_stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                        &s->stmts[id], NULL);
                if (rc != SQLITE_OK)
                        return hp_sqlite_errno_rc(s, rc);
        }
        /* Bindings are cleared after each use (hp_sqlite_stmt_resetp()). */
        if (sqlite3_bind_parameter_count(s->stmts[id]) == HOST_PARAM) {
                rc = sqlite3_bind_int64(s->stmts[id], HOST_PARAM, s->host_id);
                if (rc != SQLITE_OK)
                        return hp_sqlite_errno_rc(s, rc);
        }
        *ret = s->stmts[id];
        return 0;
}

/* Readies a cached statement for its next use when it goes out of scope. */
void hp_sqlite_stmt_resetp(sqlite3_stmt **st)
{
        if (!*st)
                return;
        /* reset repeats the error of the last step, which the caller has
         * handled; clear_bindings cannot fail. */
        (void)sqlite3_reset(*st);
        (void)sqlite3_clear_bindings(*st);
}

/* The first failure among a statement's bind calls, as -errno. */
int hp_sqlite_binds_ok(struct hp_sqlite *s, const int *rcs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (rcs[i] != SQLITE_OK)
                        return hp_sqlite_errno_rc(s, rcs[i]);
        return 0;
}

int hp_sqlite_step_done(struct hp_sqlite *s, sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);

        return rc == SQLITE_DONE ? 0 : hp_sqlite_errno_rc(s, rc);
}

int hp_sqlite_step_changed(struct hp_sqlite *s, sqlite3_stmt *st)
{
        int r = hp_sqlite_step_done(s, st);

        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int hp_sqlite_step_returning(struct hp_sqlite *s, sqlite3_stmt *st, int64_t *ret)
{
        int64_t v;
        int rc = sqlite3_step(st);

        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        v = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st); /* RETURNING writes when stepped to the end */
        if (rc != SQLITE_DONE)
                return hp_sqlite_errno_rc(s, rc);
        *ret = v;
        return 0;
}

int hp_sqlite_column_text(sqlite3_stmt *st, int col, const char **ret)
{
        const unsigned char *t;

        if (sqlite3_column_type(st, col) == SQLITE_NULL)
                return -EBADMSG;
        /* NULL from SQLite for a non-NULL value means no memory. */
        t = sqlite3_column_text(st, col);
        if (!t)
                return -ENOMEM;
        *ret = (const char *)t;
        return 0;
}

int hp_sqlite_read_rows(struct hp_sqlite *s, sqlite3_stmt *st, size_t elem_size,
                       int (*row)(sqlite3_stmt *st, void *ret), void **v, size_t *n)
{
        size_t allocated = *n;
        int r, rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (*n == allocated) {
                        size_t na = allocated ? allocated * 2 : 8;
                        void *nv = reallocarray(*v, na, elem_size);

                        if (!nv)
                                return -ENOMEM;
                        *v = nv;
                        allocated = na;
                }
                r = row(st, (char *)*v + *n * elem_size);
                if (r < 0)
                        return r;
                (*n)++;
        }
        return rc == SQLITE_DONE ? 0 : hp_sqlite_errno_rc(s, rc);
}

int hp_sqlite_column_strdup(sqlite3_stmt *st, int col, char **ret)
{
        const char *t;
        char *copy;
        int r;

        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
                *ret = NULL;
                return 0;
        }
        r = hp_sqlite_column_text(st, col, &t);
        if (r < 0)
                return r;
        copy = strdup(t);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

/* Runs a statement that has no parameters and returns no rows. */
static int run(struct hp_sqlite *s, enum hp_store_stmt_id id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_get(s, id, &st);
        if (r < 0)
                return r;
        return hp_sqlite_step_done(s, st);
}

/* The integer in the first column of the first row; -ENOENT without rows. */
static int query_int(struct hp_sqlite *s, enum hp_store_stmt_id id, int64_t *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = hp_sqlite_stmt_get(s, id, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

/* Creates the missing directories above path, mode 0700. */
static int mkdir_parents(const char *path, char **ret_error)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return hp_errorf(ret_error, -ENOMEM, "Out of memory");
        for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                        int r = -errno;

                        return hp_errorf(
                                ret_error, r,
                                "Failed to create directory \"%s\" for the state database: %s", p,
                                strerror(-r));
                }
                *slash = '/';
        }
        return 0;
}

/* Creates the file with mode 0600 before SQLite does (which would use 0644
 * and umask); SQLite gives its -wal and -shm files the same mode. */
static int precreate(const char *path, const char *display, char **ret_error)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

        if (fd < 0) {
                int r = -errno;

                return hp_errorf(ret_error, r, "Failed to open state database \"%s\": %s",
                                      display, strerror(-r));
        }
        return 0;
}

static void sqlite_close(struct hp_store *store)
{
        struct hp_sqlite *s = hp_sqlite(store);

        /* finalize repeats the last step's error, handled when it happened. */
        for (size_t i = 0; i < _STMT_MAX; i++)
                (void)sqlite3_finalize(s->stmts[i]);
        /* Cannot be SQLITE_BUSY with every statement finalized; an open
         * transaction is rolled back. */
        (void)sqlite3_close(s->db);
        free(s);
}

static void sqlite_closep(struct hp_sqlite **s)
{
        if (*s)
                sqlite_close(&(*s)->store);
}

/* Opens the connection with the settings both kinds of open share. */
static int sqlite_connect(const char *path, const char *display, int flags, struct hp_sqlite **ret,
                          char **ret_error)
{
        _cleanup_(sqlite_closep) struct hp_sqlite *s = calloc(1, sizeof(*s));
        int64_t fk = 0;
        int r, rc;

        if (!s)
                return hp_errorf(ret_error, -ENOMEM, "Out of memory");
        s->store.backend = &hp_store_sqlite_backend;
        rc = sqlite3_open_v2(path, &s->db, flags, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_extended_result_codes(s->db, 1);
        if (rc == SQLITE_OK)
                rc = sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return open_fail(s, display, hp_sqlite_errno_rc(s, rc), ret_error);
        /* The pragma is silently ignored by an SQLite built without them. */
        r = query_int(s, STMT_FOREIGN_KEYS, &fk);
        if (r < 0)
                return open_fail(s, display, r, ret_error);
        if (fk != 1)
                return hp_errorf(ret_error, -EOPNOTSUPP,
                                      "Cannot enforce foreign keys in \"%s\": this SQLite lacks "
                                      "them",
                                      display);
        /* The first read of the file: one that is not a database fails here. */
        r = query_int(s, STMT_PROBE, &fk);
        if (r < 0)
                return open_fail(s, display, r, ret_error);
        *ret = TAKE_PTR(s);
        return 0;
}

/* WAL lets readers (the CLI) run while hwpassd writes. The pragma answers
 * with the mode in force, which stays the old one where WAL cannot work. */
static int enable_wal(struct hp_sqlite *s, const char *display, char **ret_error)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const unsigned char *mode;
        int r, rc;

        r = hp_sqlite_stmt_get(s, STMT_JOURNAL_WAL, &st);
        if (r < 0)
                return open_fail(s, display, r, ret_error);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return open_fail(s, display, hp_sqlite_errno_rc(s, rc), ret_error);
        mode = sqlite3_column_text(st, 0);
        if (!mode)
                return hp_errorf(ret_error, -ENOMEM, "Out of memory");
        if (strcasecmp((const char *)mode, "wal") != 0)
                return hp_errorf(
                        ret_error, -EOPNOTSUPP,
                        "Cannot use write-ahead logging for state database \"%s\" (journal "
                        "mode stays \"%s\"); keep it on a local filesystem",
                        display, (const char *)mode);
        rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(s->db, "PRAGMA journal_size_limit = 4194304", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return open_fail(s, display, hp_sqlite_errno_rc(s, rc), ret_error);
        (void)sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &(int){ 1 });
        return 0;
}

static int sqlite_set_host(struct hp_store *store, const char *name)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = hp_sqlite_stmt_use(s, STMT_HOST_ID, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return hp_sqlite_errno_rc(s, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return hp_sqlite_errno_rc(s, rc);
        s->host_id = sqlite3_column_int64(st, 0);
        return 0;
}

static int sqlite_host_add(struct hp_store *store, const char *name)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_HOST_ADD, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                sqlite3_bind_int64(st, 2, (int64_t)time(NULL)),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        /* The one constraint the bound values can break is the name's: -EEXIST. */
        return hp_sqlite_step_done(s, st);
}

/* The file url names: "sqlite:PATH" (relative or absolute), "sqlite:///PATH"
 * (absolute, as other tools write SQLite URLs), or a plain path. The rest is
 * the path byte for byte: no %-decoding, and no "?options" (refused, rather
 * than made part of the file's name). */
int hp_store_sqlite_file(const char *url, const char **ret, char **ret_error)
{
        const char *p = url;

        if (strncasecmp(url, "sqlite:", strlen("sqlite:")) != 0) {
                *ret = url;
                return 0;
        }
        p += strlen("sqlite:");
        if (strncmp(p, "//", 2) == 0) {
                p += 2;
                if (*p && *p != '/')
                        return hp_errorf(ret_error, -EINVAL,
                                         "State database URL \"%s\" names a host; an SQLite "
                                         "database is a local file: use sqlite:PATH or "
                                         "sqlite:///ABSOLUTE/PATH",
                                         url);
        }
        if (!*p)
                return hp_errorf(ret_error, -EINVAL,
                                 "State database URL \"%s\" names no file; use sqlite:PATH or "
                                 "sqlite:///ABSOLUTE/PATH",
                                 url);
        if (strpbrk(p, "?#"))
                return hp_errorf(ret_error, -EINVAL,
                                 "State database URL \"%s\" has a query or fragment; sqlite: URLs "
                                 "take none, only the file's path",
                                 url);
        *ret = p;
        return 0;
}

/* Before SQLite's first use in the process: no buffers set up ahead of need.
 * A connection here runs a handful of small statements, and every page a
 * fresh process touches costs it a fault: the page cache's first 20 pages,
 * allocated at once, were a third of an open's faults (60 -> 40-44); the
 * 120 KiB of lookaside slots go too. A process that used SQLite already
 * keeps its settings (SQLITE_MISUSE). */
static pthread_once_t configured = PTHREAD_ONCE_INIT;

static void configure_once(void)
{
        (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
        (void)sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
}

/* Read-write: creates the file (0600) and its directories (0700) when
 * missing, and migrates. Read-only: creates nothing and migrates nothing.
 * Messages name the database as the caller did (display). */
static int sqlite_open(const char *url, bool readonly, struct hp_store **ret, char **ret_error)
{
        _cleanup_(sqlite_closep) struct hp_sqlite *s = NULL;
        const char *display = url, *path = url;
        int r;

        (void)pthread_once(&configured, configure_once);
        r = hp_store_sqlite_file(url, &path, ret_error);
        if (r < 0)
                return r;
        if (!readonly) {
                r = mkdir_parents(path, ret_error);
                if (r < 0)
                        return r;
                r = precreate(path, display, ret_error);
                if (r < 0)
                        return r;
        }
        r = sqlite_connect(path, display,
                           readonly ? SQLITE_OPEN_READONLY
                                    : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                           &s, ret_error);
        if (r < 0)
                return r;
        if (!readonly) {
                /* SQLite falls back to read-only when it cannot write the file. */
                if (sqlite3_db_readonly(s->db, "main") != 0)
                        return hp_errorf(ret_error, -EROFS,
                                         "State database \"%s\" is read-only; check its "
                                         "permissions",
                                         display);
                r = enable_wal(s, display, ret_error);
                if (r < 0)
                        return r;
        }
        r = hp_sqlite_migrate(s->db, display, readonly, &s->store.version, ret_error);
        if (r < 0)
                return r;
        r = sqlite_set_host(&s->store, HP_STORE_LOCAL_HOST);
        if (r == -ENOENT)
                return hp_errorf(ret_error, -EBADMSG,
                                 "State database \"%s\" has lost its row for the host \"%s\" "
                                 "(table hosts); restore a backup",
                                 display, HP_STORE_LOCAL_HOST);
        if (r < 0)
                return open_fail(s, display, r, ret_error);
        *ret = &TAKE_PTR(s)->store;
        return 0;
}

static int sqlite_set_busy_timeout(struct hp_store *store, int ms)
{
        struct hp_sqlite *s = hp_sqlite(store);
        int rc = sqlite3_busy_timeout(s->db, ms);

        return rc == SQLITE_OK ? 0 : hp_sqlite_errno_rc(s, rc);
}

/* BEGIN IMMEDIATE takes the write lock now, so what the transaction reads
 * stays true until it ends: SQLite's way to the serialisable transactions
 * store.h promises. */
static int sqlite_begin(struct hp_store *store)
{
        struct hp_sqlite *s = hp_sqlite(store);
        int r;

        if (s->in_tx)
                return -EALREADY;
        r = run(s, STMT_BEGIN);
        if (r < 0)
                return r;
        s->in_tx = true;
        return 0;
}

static int sqlite_commit(struct hp_store *store)
{
        struct hp_sqlite *s = hp_sqlite(store);
        int r;

        if (!s->in_tx)
                return -EINVAL;
        if (sqlite3_get_autocommit(s->db)) {
                s->in_tx = false;
                return -ECANCELED;
        }
        r = run(s, STMT_COMMIT);
        /* A failed COMMIT leaves the transaction open, unless SQLite gave up on it. */
        s->in_tx = !sqlite3_get_autocommit(s->db);
        return r;
}

static int sqlite_rollback(struct hp_store *store)
{
        struct hp_sqlite *s = hp_sqlite(store);
        int r;

        if (!s->in_tx || sqlite3_get_autocommit(s->db)) {
                s->in_tx = false;
                return 0;
        }
        r = run(s, STMT_ROLLBACK);
        s->in_tx = !sqlite3_get_autocommit(s->db);
        return r;
}

/* One writer at a time already: nothing to wait for. */
static int sqlite_events_turn(struct hp_store *store)
{
        return hp_sqlite(store)->in_tx ? 0 : -EINVAL;
}

/* A savepoint costs no round trip here: kept. */
static int sqlite_whole(struct hp_store *store)
{
        return hp_sqlite(store)->in_tx ? 0 : -EINVAL;
}

/* After SQLite rolled back the caller's transaction on an error (SQLITE_FULL,
 * IOERR, NOMEM), refuse to work outside it until the caller notices. */
int hp_sqlite_tx_check(struct hp_sqlite *s)
{
        return s->in_tx && sqlite3_get_autocommit(s->db) ? -ECANCELED : 0;
}

int hp_sqlite_stmt_use(struct hp_sqlite *s, enum hp_store_stmt_id id, sqlite3_stmt **ret)
{
        int r = hp_sqlite_tx_check(s);

        return r < 0 ? r : hp_sqlite_stmt_get(s, id, ret);
}

/* Makes one operation atomic. Writes alone take BEGIN IMMEDIATE, so waiting
 * for the write lock happens (under the busy timeout) before anything is
 * read; inside the caller's transaction a savepoint nests. */
int hp_sqlite_tx_enter(struct hp_sqlite *s, bool write, enum hp_store_tx_mode *ret_mode)
{
        enum hp_store_tx_mode mode =
                write && sqlite3_get_autocommit(s->db) ? TX_BEGIN : TX_SAVEPOINT;
        int r;

        r = hp_sqlite_tx_check(s);
        if (r < 0)
                return r;
        r = run(s, mode == TX_BEGIN ? STMT_BEGIN : STMT_SAVEPOINT);
        if (r < 0)
                return r;
        *ret_mode = mode;
        return 0;
}

/* Commits when r says the operation worked, undoes it otherwise; returns the
 * operation's result, or the commit's error. */
int hp_sqlite_tx_leave(struct hp_sqlite *s, enum hp_store_tx_mode mode, int r)
{
        if (r >= 0) {
                r = run(s, mode == TX_BEGIN ? STMT_COMMIT : STMT_RELEASE);
                if (r >= 0)
                        return 0;
        }
        /* Best effort on a path that already fails: SQLite may have rolled
         * everything back itself, and closing the store rolls back too. */
        if (!sqlite3_get_autocommit(s->db)) {
                if (mode == TX_BEGIN)
                        (void)run(s, STMT_ROLLBACK);
                else if (run(s, STMT_ROLLBACK_TO) >= 0)
                        (void)run(s, STMT_RELEASE);
        }
        return r;
}

static int sqlite_event_add(struct hp_store *store, const char *kind, const char *subject,
                            const char *message)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_EVENT_ADD, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_int64(st, 1, (int64_t)time(NULL)),
                sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 3, subject, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 4, message, -1, SQLITE_STATIC),
                sqlite3_bind_text(st, 5, s->store.actor, -1, SQLITE_STATIC),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r < 0)
                return r;
        return hp_sqlite_step_done(s, st);
}

static int row_to_event(sqlite3_stmt *st, void *ret)
{
        struct hp_event e = { .id = sqlite3_column_int64(st, 0), .at = sqlite3_column_int64(st, 1) };
        int r;

        if ((r = hp_sqlite_column_strdup(st, 2, &e.kind)) < 0 ||
            (r = hp_sqlite_column_strdup(st, 3, &e.subject)) < 0 ||
            (r = hp_sqlite_column_strdup(st, 4, &e.message)) < 0 ||
            (r = hp_sqlite_column_strdup(st, 5, &e.actor)) < 0 ||
            (r = hp_sqlite_column_strdup(st, 6, &e.host)) < 0) {
                hp_event_done(&e);
                return r;
        }
        *(struct hp_event *)ret = e;
        return 0;
}

static int sqlite_event_list(struct hp_store *store, int64_t since, size_t limit,
                             struct hp_event **ret, size_t *ret_n)
{
        struct hp_sqlite *s = hp_sqlite(store);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        void *e = NULL;
        size_t n = 0;
        int r;

        r = hp_sqlite_stmt_use(s, STMT_EVENT_LIST, &st);
        if (r < 0)
                return r;
        const int rcs[] = {
                sqlite3_bind_int64(st, 1, since),
                sqlite3_bind_int64(st, 2, (int64_t)limit),
        };
        r = hp_sqlite_binds_ok(s, rcs, ELEMENTSOF(rcs));
        if (r >= 0)
                r = hp_sqlite_read_rows(s, st, sizeof(struct hp_event), row_to_event, &e, &n);
        if (r < 0) {
                hp_events_free(e, n);
                return r;
        }
        *ret = e;
        *ret_n = n;
        return 0;
}

const struct hp_store_backend hp_store_sqlite_backend = {
        .scheme = "sqlite",
        .open = sqlite_open,
        .close = sqlite_close,
        .set_busy_timeout = sqlite_set_busy_timeout,
        .begin = sqlite_begin,
        .commit = sqlite_commit,
        .rollback = sqlite_rollback,
        .events_turn = sqlite_events_turn,
        .whole = sqlite_whole,
        .set_host = sqlite_set_host,
        .host_add = sqlite_host_add,
        .device_get = hp_sqlite_device_get,
        .device_list = hp_sqlite_device_list,
        .device_put = hp_sqlite_device_put,
        .device_delete = hp_sqlite_device_delete,
        .event_add = sqlite_event_add,
        .event_list = sqlite_event_list,
        .vm_get = hp_sqlite_vm_get,
        .vm_list = hp_sqlite_vm_list,
        .vm_create = hp_sqlite_vm_create,
        .vm_update_spec = hp_sqlite_vm_update_spec,
        .vm_set_runtime = hp_sqlite_vm_set_runtime,
        .vm_delete = hp_sqlite_vm_delete,
        .cluster_vm_delete = hp_sqlite_cluster_vm_delete,
        .assign_devices = hp_sqlite_assign_devices,
        .release_devices = hp_sqlite_release_devices,
        .cluster_vm_list = hp_sqlite_cluster_vm_list,
        .cluster_vm_get = hp_sqlite_cluster_vm_get,
        .cluster_vm_create = hp_sqlite_cluster_vm_create,
        .claim = hp_sqlite_claim,
        .vm_place = hp_sqlite_vm_place,
        .vm_held_on = hp_sqlite_vm_held_on,
        .vm_unplace = hp_sqlite_vm_unplace,
        .vm_set_desired = hp_sqlite_vm_set_desired,
        .vm_set_start_failures = hp_sqlite_vm_set_start_failures,
        .vm_set_moving = hp_sqlite_vm_set_moving,
        .vm_report = hp_sqlite_vm_report,
        .token_add = hp_sqlite_token_add,
        .token_list = hp_sqlite_token_list,
        .token_revoke = hp_sqlite_token_revoke,
        .token_check = hp_sqlite_token_check,
        .host_set_credential = hp_sqlite_host_set_credential,
        .host_revoke = hp_sqlite_host_revoke,
        .host_check = hp_sqlite_host_check,
        .host_renew = hp_sqlite_host_renew,
        .host_report = hp_sqlite_host_report,
        .host_report_get = hp_sqlite_host_report_get,
        .host_set_flag = hp_sqlite_host_set_flag,
        .host_list = hp_sqlite_host_list,
        .join_token_add = hp_sqlite_join_token_add,
        .join_token_use = hp_sqlite_join_token_use,
        .join_token_list = hp_sqlite_join_token_list,
        .setting_get = hp_sqlite_setting_get,
        .setting_set = hp_sqlite_setting_set,
        .leader_acquire = hp_sqlite_leader_acquire,
};

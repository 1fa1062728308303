/* The PostgreSQL backend's connection pool: the idle connections a
 * process keeps for its next opens, and the bound on those in use. */
#include "pg-internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/macro.h"

/* Idle connections, kept by pg_close() for the next pg_open() of the same
 * URL and mode in this process: a controller opens the store for every
 * request (and its token check), and a new connection costs PostgreSQL a
 * backend process (~20 ms on a small machine) and the schema check more.
 * A connection goes back only as it came: idle, outside a transaction,
 * with the session settings pg_connect() made. One left by another process
 * (a fork) is never used: two processes cannot share a session.
 *
 * At most OPEN_MAX connections of a process are in use at once: a thread
 * that opens one more waits for one to come back, rather than costing the
 * server a backend for each of a controller's hundreds of request threads
 * (a server on two cores runs a few backends at a time anyway, and refuses
 * connections past its max_connections). A thread that holds one already
 * never waits (an operation that opens the store again inside another's
 * open must not wait for itself), so the bound is OPEN_MAX plus the few
 * nested opens. */
#define POOL_MAX 16
#define OPEN_MAX 16

struct pooled {
        char *url;
        bool readonly;
        pid_t pid;
        int version; /* the schema's, as the first open checked it */
        PGconn *conn;
        struct hp_pg_memo memo;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_back = PTHREAD_COND_INITIALIZER;
static struct pooled pool[POOL_MAX];
static size_t pool_n;
static size_t pool_busy; /* connections in use, of process pool_pid */
static pid_t pool_pid;
static _Thread_local unsigned pool_held; /* this thread's, in use */

/* Counts one more connection in use, once fewer than OPEN_MAX are. */
void hp_pg_pool_reserve(struct hp_pg *s)
{
        pthread_mutex_lock(&pool_lock);
        if (pool_pid != getpid()) { /* a fork's parent's threads are not here */
                pool_pid = getpid();
                pool_busy = 0;
                pool_held = 0;
        }
        while (pool_held == 0 && pool_busy >= OPEN_MAX)
                pthread_cond_wait(&pool_back, &pool_lock);
        pool_busy++;
        pool_held++;
        s->reserved = true;
        pthread_mutex_unlock(&pool_lock);
}

void hp_pg_pool_release(struct hp_pg *s)
{
        if (!s->reserved)
                return;
        pthread_mutex_lock(&pool_lock);
        if (pool_pid == getpid() && pool_busy > 0) {
                pool_busy--;
                if (pool_held > 0)
                        pool_held--;
                pthread_cond_signal(&pool_back);
        }
        pthread_mutex_unlock(&pool_lock);
        s->reserved = false;
}

static void pool_drain(void)
{
        pthread_mutex_lock(&pool_lock);
        for (size_t i = 0; i < pool_n; i++) {
                if (pool[i].pid == getpid())
                        sym_PQfinish(pool[i].conn);
                free(pool[i].url);
                hp_pg_memo_forget(&pool[i].memo);
        }
        pool_n = 0;
        pthread_mutex_unlock(&pool_lock);
}

/* At exit, the server hears the sessions end rather than lose them. */
static void pool_at_exit(void)
{
        (void)atexit(pool_drain);
}

/* Takes an idle connection to url in this mode: true with s->conn and the
 * schema version set. */
bool hp_pg_pool_take(struct hp_pg *s, const char *url)
{
        bool found = false;

        pthread_mutex_lock(&pool_lock);
        for (size_t i = pool_n; i-- > 0;) {
                if (pool[i].pid != getpid()) { /* a fork's parent's: forgotten here */
                        free(pool[i].url);
                        hp_pg_memo_forget(&pool[i].memo);
                        pool[i] = pool[--pool_n];
                        continue;
                }
                if (found || pool[i].readonly != s->readonly || !streq(pool[i].url, url))
                        continue;
                s->conn = pool[i].conn;
                s->store.version = pool[i].version;
                s->memo = pool[i].memo;
                free(pool[i].url);
                pool[i] = pool[--pool_n];
                found = true;
        }
        pthread_mutex_unlock(&pool_lock);
        return found;
}

/* Keeps s's connection for the next open; false when it cannot be (the
 * caller closes it). */
bool hp_pg_pool_give(struct hp_pg *s)
{
        static pthread_once_t at_exit = PTHREAD_ONCE_INIT;
        char *url;

        if (!s->url || s->in_tx || sym_PQstatus(s->conn) != CONNECTION_OK ||
            sym_PQtransactionStatus(s->conn) != PQTRANS_IDLE)
                return false;
        /* Back to the lock timeout pg_connect() set, for whoever opens next. */
        if (s->busy_ms != HP_PG_BUSY_TIMEOUT_MS &&
            hp_pg_set_busy_timeout(&s->store, HP_PG_BUSY_TIMEOUT_MS) < 0)
                return false;
        url = strdup(s->url);
        if (!url)
                return false;
        pthread_once(&at_exit, pool_at_exit);
        pthread_mutex_lock(&pool_lock);
        if (pool_n == POOL_MAX) {
                pthread_mutex_unlock(&pool_lock);
                free(url);
                return false;
        }
        pool[pool_n++] = (struct pooled){ .url = url,
                                          .readonly = s->readonly,
                                          .pid = getpid(),
                                          .version = s->store.version,
                                          .conn = s->conn,
                                          .memo = s->memo };
        pthread_mutex_unlock(&pool_lock);
        s->memo = (struct hp_pg_memo){ 0 };
        return true;
}

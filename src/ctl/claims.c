/* Claims committed together (issue 16): a power-on's claim is a short
 * transaction whose cost is its commit, a WAL flush when commits are
 * durable, and, above all, the conflicts of many at once: each one's event
 * takes the next number from one row, so under serializable isolation two
 * claims that overlap conflict, and one of them starts again after a
 * pause. So the claims that come while one commits wait, and the next
 * thread to find none committing commits them all in one transaction, each
 * in a savepoint of its own (hp_store_sub()): a claim that fails (a device
 * taken) undoes only its own writes, the others commit. When that
 * transaction loses to a conflict (another controller's claims, a
 * heartbeat), each claim is run again on its own, as hp_store_transact()
 * runs one: a batch that lost once would likely lose again, and all of it.
 *
 * Each claim's events carry its own caller's actor; the connection is the
 * committing thread's. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ctl-internal.h"
#include "ops/ops.h"
#include "store/store.h"

/* Claims one transaction commits at most. */
#define BATCH_MAX 32

struct item {
        int (*fn)(struct hp_store *s, void *userdata);
        void *userdata;
        const char *actor;
        int result;
        bool done;
        struct item *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static struct item *head, **tail = &head;
static bool committing;

/* Every item's result set: its fn's, or its transaction's failure. */
static void run_batch(struct hp_store *s, const char *own_actor, struct item **v, size_t n)
{
        int r = n > 1 ? hp_store_begin(s) : -ECANCELED;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = hp_store_set_actor(s, v[i]->actor);
                if (r < 0)
                        break;
                v[i]->result = hp_store_sub(s, v[i]->fn, v[i]->userdata);
                if (v[i]->result == -ECANCELED)
                        r = -ECANCELED;
        }
        if (r >= 0)
                r = hp_store_commit(s);
        if (r < 0) {
                (void)hp_store_rollback(s);
                for (size_t i = 0; i < n; i++) {
                        r = hp_store_set_actor(s, v[i]->actor);
                        v[i]->result = r < 0 ? r : hp_store_transact(s, v[i]->fn, v[i]->userdata);
                }
        }
        (void)hp_store_set_actor(s, own_actor);
}

int hp_ctl_claim(struct hp_ops_ctx *c, struct hp_store *s, int (*fn)(struct hp_store *s, void *userdata),
                 void *userdata)
{
        struct item me = { .fn = fn, .userdata = userdata, .actor = c->actor };
        struct item *batch[BATCH_MAX];

        pthread_mutex_lock(&lock);
        *tail = &me;
        tail = &me.next;
        while (!me.done) {
                size_t n = 0;

                if (committing) {
                        pthread_cond_wait(&done, &lock);
                        continue;
                }
                /* None commits: this thread commits the claims waiting, its own among them. */
                committing = true;
                for (; head && n < BATCH_MAX; n++) {
                        batch[n] = head;
                        head = head->next;
                }
                if (!head)
                        tail = &head;
                pthread_mutex_unlock(&lock);
                run_batch(s, c->actor, batch, n);
                pthread_mutex_lock(&lock);
                for (size_t i = 0; i < n; i++)
                        batch[i]->done = true;
                committing = false;
                pthread_cond_broadcast(&done);
        }
        pthread_mutex_unlock(&lock);
        return me.result;
}

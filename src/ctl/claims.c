/* Power-ons' claims committed together (group commit).
 *
 * Every claim writes the event log, so claims take its turn one
 * transaction at a time (hp_store_events_turn()), and each transaction
 * ends in a durable commit: one claim per transaction caps a controller at
 * one claim per commit's flush. Here the claims this process's threads
 * make at the same moment share one: the first thread to find no batch
 * running takes the claims waiting (up to BATCH_MAX), claims them in one
 * transaction with its own store connection (each claim judged after the
 * ones before it, a refused one leaving nothing behind), commits, and
 * hands each thread its outcome. Claims that arrive meanwhile wait for the
 * next batch, which one of their threads runs. Two controllers' batches
 * queue on the event log's lock, in turn.
 */
#include "ctl-internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "store/store.h"
#include "util/macro.h"

/* Two controllers' batches alternate on the event log's lock: a bounded
 * batch lets the other's claims in before one controller's burst has
 * taken every free device. */
#define BATCH_MAX 16

struct waiting {
        const char *db;
        const struct hp_store_claim *claim;
        struct hp_store_claim_result res;
        int r; /* the batch's transaction */
        bool done;
        struct waiting *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;
static struct waiting *head, **tail = &head;
static bool running;

struct batch {
        struct waiting *w[BATCH_MAX];
        struct hp_store_claim claims[BATCH_MAX];
        struct hp_store_claim_result res[BATCH_MAX];
        size_t n;
};

/* Unlinks the waiting claims on db, oldest first, up to BATCH_MAX. Under lock. */
static void batch_take(const char *db, struct batch *b)
{
        struct waiting **p = &head;

        b->n = 0;
        while (*p && b->n < BATCH_MAX) {
                struct waiting *w = *p;

                if (!streq(w->db, db)) {
                        p = &w->next;
                        continue;
                }
                *p = w->next;
                w->next = NULL;
                b->claims[b->n] = *w->claim;
                b->res[b->n] = (struct hp_store_claim_result){ 0 };
                b->w[b->n++] = w;
        }
        tail = p;
        while (*tail)
                tail = &(*tail)->next;
}

static int batch_tx(struct hp_store *s, void *userdata)
{
        struct batch *b = userdata;
        int r = hp_store_events_turn(s);

        if (r >= 0)
                r = hp_store_whole(s);
        return r < 0 ? r : hp_store_claims(s, b->claims, b->n, b->res);
}

/* Runs one batch with s, then hands each claim its outcome. Called and
 * returns with the lock held. */
static void batch_run(struct hp_store *s, const char *db)
{
        struct batch batch, *b = &batch;
        int r;

        batch_take(db, b);
        running = true;
        pthread_mutex_unlock(&lock);
        r = hp_store_transact(s, batch_tx, b);
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < b->n; i++) {
                b->w[i]->r = r;
                if (r >= 0)
                        b->w[i]->res = b->res[i];
                else
                        hp_store_claim_result_done(&b->res[i]);
                b->w[i]->done = true;
        }
        running = false;
        pthread_cond_broadcast(&finished);
}

int hp_ctl_claim(struct hp_store *s, const char *db, const struct hp_store_claim *c,
                 int64_t *ret_epoch, char **ret_conflict)
{
        struct waiting w = { .db = db, .claim = c };

        pthread_mutex_lock(&lock);
        *tail = &w;
        tail = &w.next;
        while (!w.done) {
                if (!running)
                        batch_run(s, db);
                else
                        pthread_cond_wait(&finished, &lock);
        }
        pthread_mutex_unlock(&lock);
        return hp_store_claim_result_give(&w.res, w.r, ret_epoch, ret_conflict);
}

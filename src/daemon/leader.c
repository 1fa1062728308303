/* The HA thread of a controller (leader.h). */
#include "leader.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ops/ops.h"
#include "util/clock.h"
#include "util/macro.h"

struct hp_leader {
        struct hp_ops_ctx ops;
        struct hp_ctl_config cfg;
        struct hp_ctl_ha *ha;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stop;
};

static void tick(struct hp_leader *l, bool *was_leading, int *last_error)
{
        int r = hp_ctl_ha_tick(&l->ops, &l->cfg, l->ha);
        bool leading = hp_ctl_ha_leading(l->ha);

        if (r < 0 && r != *last_error)
                fprintf(stderr, "hwpassd: HA: %s\n", l->ops.error.message ?: strerror(-r));
        *last_error = r < 0 ? r : 0;
        hp_op_error_done(&l->ops.error);
        if (leading != *was_leading)
                fprintf(stderr, "hwpassd: HA: %s\n",
                        leading ? "this controller leads: it restarts the VMs of failed hosts"
                                : "this controller no longer leads");
        *was_leading = leading;
}

static void *loop(void *userdata)
{
        struct hp_leader *l = userdata;
        int64_t interval = hp_ctl_heartbeat_ms(&l->cfg);
        bool leading = false;
        int last_error = 0;
        struct timespec until;

        pthread_mutex_lock(&l->lock);
        while (!l->stop) {
                pthread_mutex_unlock(&l->lock);
                tick(l, &leading, &last_error);
                pthread_mutex_lock(&l->lock);
                until = hp_mono_after_ms(interval);
                while (!l->stop && pthread_cond_timedwait(&l->wake, &l->lock, &until) == 0)
                        ;
        }
        pthread_mutex_unlock(&l->lock);
        return NULL;
}

int hp_leader_start(const struct hp_ops_ctx *ops, const struct hp_ctl_config *cfg, const char *holder,
                    struct hp_leader **ret)
{
        struct hp_leader *l = calloc(1, sizeof(*l));
        pthread_condattr_t attr;
        int r;

        if (!l)
                return -ENOMEM;
        l->ops = *ops;
        l->ops.error = (struct hp_op_error){ 0 };
        l->cfg = *cfg;
        r = hp_ctl_ha_new(holder, &l->ha);
        if (r < 0) {
                free(l);
                return r;
        }
        pthread_mutex_init(&l->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&l->wake, &attr);
        pthread_condattr_destroy(&attr);
        r = -pthread_create(&l->thread, NULL, loop, l);
        if (r < 0) {
                hp_ctl_ha_free(l->ha);
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

void hp_leader_stop(struct hp_leader *l)
{
        if (!l)
                return;
        pthread_mutex_lock(&l->lock);
        l->stop = true;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->wake);
        hp_ctl_ha_free(l->ha);
        free(l);
}

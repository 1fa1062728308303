/* A controller's HA duty (ctl/ha.c) in a thread of its own: a tick every
 * heartbeat interval, whether this controller leads or not (the tick
 * takes the leader lease when it is free). What it does goes to the
 * cluster's events; hwpassd's log says when it starts or stops leading
 * and why a tick failed. */
#pragma once

#include <stdint.h>

struct hp_leader;
struct hp_ctl_config;
struct hp_ops_ctx;

/* ops: the controller's store (copied; its error is the thread's own).
 * holder: this controller's name for the lease, unique among them. */
int hp_leader_start(const struct hp_ops_ctx *ops, const struct hp_ctl_config *cfg, const char *holder,
                    struct hp_leader **ret);
/* Stops the thread (waiting for a tick under way) and frees l; NULL is fine. */
void hp_leader_stop(struct hp_leader *l);
static inline void hp_leader_stopp(struct hp_leader **l)
{
        hp_leader_stop(*l);
}

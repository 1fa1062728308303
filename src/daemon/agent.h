/* hwpassd --role agent: the host's half of a cluster (docs/cluster.md). It
 * joins once (its credential kept in the state directory), then heartbeats
 * to a controller every interval from a thread of its own, reporting the
 * host and carrying out what each answer says, through the same operations
 * the standalone daemon uses. It never touches the cluster's PostgreSQL. */
#pragma once

struct hp_agent;
struct hp_ops_ctx;

struct hp_agent_config {
        const char *name;             /* this host's name in the cluster */
        char *const *controllers;     /* the controllers' base URLs, NULL-terminated */
        const char *ca_file;          /* the cluster CA's certificate */
        const char *join_token;       /* for the first start, while no credential is kept */
        const struct hp_ops_ctx *ops; /* the host: its root, store, run and state directories */
        /* Addresses ("HOST:PORT") that tell this host it is not cut off when
         * no controller answers (docs/cluster.md "Isolation"), NULL-terminated, or NULL. */
        char *const *isolation_addresses;
        /* A watchdog device to feed (docs/cluster.md "Watchdog"), or NULL. */
        const char *watchdog;
};

/* Joins when no credential is kept (a refused join is an error; controllers
 * that do not answer are tried again for a while), then starts the
 * heartbeat. On failure *ret_error (malloc'd) says why and what to do. */
int hp_agent_start(const struct hp_agent_config *cfg, struct hp_agent **ret, char **ret_error);
/* Stops the heartbeat (waiting for one under way) and frees a. */
void hp_agent_stop(struct hp_agent *a);
static inline void hp_agent_stopp(struct hp_agent **a)
{
        hp_agent_stop(*a);
}

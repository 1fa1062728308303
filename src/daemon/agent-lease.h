/* An agent's lease as it last knew it, kept in the run directory (a tmpfs,
 * gone at reboot) across the agent's restarts: a restarted agent counts
 * from its last renewal, not from its own start, so the isolation response
 * and the fence (docs/cluster.md "Isolation") act in time for the cluster's
 * clock, which did not stop while the agent was away. */
#pragma once

#include <stdint.h>

struct hp_agent_lease {
        char boot_id[64];   /* the renewal's boot: a monotonic time means nothing in another */
        int64_t renewed_ms; /* monotonic: when the heartbeat that renewed it was sent */
        int64_t heartbeat_ms, lease_ms, margin_ms;
};

/* Written whole (renamed over the last), not synced: it is of no use after
 * a reboot. */
int hp_agent_lease_save(const char *run_dir, const struct hp_agent_lease *l);
/* The kept lease of this boot, renewed before now_ms; -ENOENT when there is
 * none (never renewed since boot, or another boot's), -EBADMSG when it
 * cannot be read. */
int hp_agent_lease_load(const char *run_dir, const char *boot_id, int64_t now_ms,
                        struct hp_agent_lease *ret);

/* How long after its last renewal a host may go before the cluster might
 * fail it and restart its VMs elsewhere, less two heartbeats (the renewal
 * may be one old, and the controller's pass comes a heartbeat late at
 * most), and at least a second: the watchdog's timeout, and when the fence
 * stops the VMs of a host that was not renewed and cannot tell that the
 * controllers are down. */
int64_t hp_agent_fence_after_ms(int64_t heartbeat_ms, int64_t lease_ms, int64_t margin_ms);

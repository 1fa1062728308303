/* The agent's lease kept across its restarts (agent-lease.h). */
#include "agent-lease.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/io.h"
#include "util/macro.h"

#define LEASE_FILE "agent-lease.json"

int hp_agent_lease_save(const char *run_dir, const struct hp_agent_lease *l)
{
        _cleanup_(json_decrefp) json_t *j = json_pack(
                "{s:s, s:I, s:I, s:I, s:I}", "boot_id", l->boot_id, "renewed_ms",
                (json_int_t)l->renewed_ms, "heartbeat_ms", (json_int_t)l->heartbeat_ms, "lease_ms",
                (json_int_t)l->lease_ms, "margin_ms", (json_int_t)l->margin_ms);
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        char path[1024];

        if (!text)
                return -ENOMEM;
        snprintf(path, sizeof(path), "%s/%s", run_dir, LEASE_FILE);
        return hp_write_file_replace(path, text, strlen(text), false);
}

int hp_agent_lease_load(const char *run_dir, const char *boot_id, int64_t now_ms,
                        struct hp_agent_lease *ret)
{
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        struct hp_agent_lease l = { 0 };
        char path[1024];

        snprintf(path, sizeof(path), "%s/%s", run_dir, LEASE_FILE);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : -errno;
        if (hp_read_all(fd, 4096, &text, NULL) < 0 || !(j = json_loads(text, 0, NULL)) ||
            !json_is_string(json_object_get(j, "boot_id")))
                return -EBADMSG;
        snprintf(l.boot_id, sizeof(l.boot_id), "%s",
                 json_string_value(json_object_get(j, "boot_id")));
        l.renewed_ms = json_integer_value(json_object_get(j, "renewed_ms"));
        l.heartbeat_ms = json_integer_value(json_object_get(j, "heartbeat_ms"));
        l.lease_ms = json_integer_value(json_object_get(j, "lease_ms"));
        l.margin_ms = json_integer_value(json_object_get(j, "margin_ms"));
        if (!streq(l.boot_id, boot_id) || l.renewed_ms <= 0 || l.renewed_ms > now_ms)
                return -ENOENT;
        if (l.heartbeat_ms <= 0 || l.lease_ms <= 0 || l.margin_ms < 0)
                return -EBADMSG;
        *ret = l;
        return 0;
}

int64_t hp_agent_fence_after_ms(int64_t heartbeat_ms, int64_t lease_ms, int64_t margin_ms)
{
        int64_t t = lease_ms + margin_ms - 2 * heartbeat_ms;

        return t < 1000 ? 1000 : t;
}

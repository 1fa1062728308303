/* hwpassd's HTTP/JSON API on a Unix socket (TCP and TLS come next). */
#pragma once

struct hp_api;

struct hp_api_config {
        const char *host_root; /* NULL: "/" */
        const char *db_path;
};

/* Listens on socket_path (mode 0600, a stale socket replaced) and serves
 * until hp_api_stop(). On failure *ret_error (malloc'd) may say why. */
int hp_api_start_unix(const struct hp_api_config *cfg, const char *socket_path, struct hp_api **ret,
                      char **ret_error);
void hp_api_stop(struct hp_api *a);
static inline void hp_api_stopp(struct hp_api **a)
{
        hp_api_stop(*a);
}

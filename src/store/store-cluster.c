/* The store's front for the cluster's calls: hosts' credentials, leases and
 * reports, join tokens, the leader lease, the cluster's settings (store.h),
 * checked here as store.c checks the rest, then handed to the backend. */
#include "store-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/token.h"

static bool ttl_is_valid(int64_t ttl_ms)
{
        return ttl_ms > 0 && ttl_ms <= HP_STORE_TTL_MS_MAX;
}

int hp_store_host_set_credential(struct hp_store *s, const char *name, const char *hash)
{
        if (!hp_store_host_name_is_valid(name) || !hp_token_hash_is_valid(hash))
                return -EINVAL;
        return s->backend->host_set_credential(s, name, hash);
}

int hp_store_host_revoke(struct hp_store *s, const char *name)
{
        if (!hp_store_host_name_is_valid(name))
                return -EINVAL;
        return s->backend->host_revoke(s, name);
}

int hp_store_host_check(struct hp_store *s, const char *hash, char **ret_name)
{
        if (!hp_token_hash_is_valid(hash))
                return -EINVAL;
        return s->backend->host_check(s, hash, ret_name);
}

static int renew(struct hp_store *s, const char *name, int64_t lease_ms, int ready,
                 int64_t *ret_expires_ms)
{
        int64_t expires;
        int r;

        if (!hp_store_host_name_is_valid(name) || !ttl_is_valid(lease_ms))
                return -EINVAL;
        r = s->backend->host_renew(s, name, lease_ms, ready, &expires);
        if (r < 0)
                return r;
        if (ret_expires_ms)
                *ret_expires_ms = expires;
        return 0;
}

int hp_store_host_renew(struct hp_store *s, const char *name, int64_t lease_ms,
                        int64_t *ret_expires_ms)
{
        return renew(s, name, lease_ms, -1, ret_expires_ms);
}

int hp_store_host_beat(struct hp_store *s, const char *name, int64_t lease_ms, bool ready,
                       int64_t *ret_expires_ms)
{
        return renew(s, name, lease_ms, ready, ret_expires_ms);
}

int hp_store_host_report(struct hp_store *s, const char *name, const char *report_json)
{
        if (!hp_store_host_name_is_valid(name) || !report_json)
                return -EINVAL;
        return s->backend->host_report(s, name, report_json);
}

int hp_store_host_report_get(struct hp_store *s, const char *name, char **ret_report_json,
                             int64_t *ret_at_ms)
{
        if (!hp_store_host_name_is_valid(name))
                return -EINVAL;
        return s->backend->host_report_get(s, name, ret_report_json, ret_at_ms);
}

int hp_store_host_set_ready(struct hp_store *s, const char *name, bool ready)
{
        if (!hp_store_host_name_is_valid(name))
                return -EINVAL;
        return s->backend->host_set_flag(s, name, HP_HOST_READY, ready);
}

int hp_store_host_set_maintenance(struct hp_store *s, const char *name, bool maintenance)
{
        if (!hp_store_host_name_is_valid(name))
                return -EINVAL;
        return s->backend->host_set_flag(s, name, HP_HOST_MAINTENANCE, maintenance);
}

void hp_host_infos_free(struct hp_host_info *h, size_t n)
{
        for (size_t i = 0; h && i < n; i++)
                free(h[i].name);
        free(h);
}

int hp_store_host_list(struct hp_store *s, struct hp_host_info **ret, size_t *ret_n)
{
        return s->backend->host_list(s, NULL, ret, ret_n);
}

void hp_store_inventories_free(struct hp_store_inventory *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].host);
                hp_dev_configs_free(v[i].rows, v[i].n_rows);
                free(v[i].report_json);
        }
        free(v);
}

static bool report_known(const struct hp_store_report_key *known, size_t n_known,
                         const struct hp_store_report_key *k)
{
        for (size_t i = 0; i < n_known; i++)
                if (streq(known[i].host, k->host))
                        return known[i].at_ms == k->at_ms && known[i].len == k->len && k->at_ms > 0;
        return false;
}

/* Host by host (SQLite's reads cost no round trips); the connection's host
 * is left as it was. */
static int inventories_each(struct hp_store *s, const struct hp_store_report_key *known,
                            size_t n_known, struct hp_store_inventory **ret, size_t *ret_n)
{
        _cleanup_free_ char *was = strdup(s->host ? s->host : HP_STORE_LOCAL_HOST);
        struct hp_host_info *h = NULL;
        struct hp_store_inventory *v = NULL;
        size_t n = 0, k = 0;
        int r = was ? hp_store_host_list(s, &h, &n) : -ENOMEM;

        if (r >= 0 && n > 0 && !(v = calloc(n, sizeof(*v))))
                r = -ENOMEM;
        for (; r >= 0 && k < n; k++) {
                struct hp_store_inventory *i = &v[k];

                i->host = strdup(h[k].name);
                r = i->host ? hp_store_set_host(s, h[k].name) : -ENOMEM;
                if (r >= 0)
                        r = hp_store_device_list(s, &i->rows, &i->n_rows);
                if (r >= 0)
                        r = hp_store_host_report_get(s, h[k].name, &i->report_json, &i->key.at_ms);
                if (r < 0)
                        break;
                i->key.host = i->host;
                i->key.len = i->report_json ? (int64_t)strlen(i->report_json) : 0;
                i->report_kept = report_known(known, n_known, &i->key);
                if (i->report_kept) {
                        free(i->report_json);
                        i->report_json = NULL;
                }
        }
        hp_host_infos_free(h, n);
        if (was)
                (void)hp_store_set_host(s, was);
        if (r < 0) {
                hp_store_inventories_free(v, k);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int hp_store_inventories(struct hp_store *s, const struct hp_store_report_key *known,
                         size_t n_known, struct hp_store_inventory **ret, size_t *ret_n)
{
        if (!ret || !ret_n || (n_known > 0 && !known))
                return -EINVAL;
        for (size_t i = 0; i < n_known; i++)
                if (!known[i].host || !hp_store_host_name_is_valid(known[i].host))
                        return -EINVAL;
        return s->backend->inventories ? s->backend->inventories(s, known, n_known, ret, ret_n)
                                       : inventories_each(s, known, n_known, ret, ret_n);
}

int hp_store_host_get(struct hp_store *s, const char *name, struct hp_host_info *ret)
{
        struct hp_host_info *h = NULL;
        size_t n = 0;
        int r = name ? s->backend->host_list(s, name, &h, &n) : -EINVAL;

        if (r >= 0 && n != 1)
                r = -ENOENT;
        if (r < 0) {
                hp_host_infos_free(h, n);
                return r;
        }
        *ret = h[0];
        free(h);
        return 0;
}

int hp_store_join_token_add(struct hp_store *s, const char *hash, int64_t ttl_ms,
                            int64_t *ret_expires_ms)
{
        int64_t expires;
        int r;

        if (!hp_token_hash_is_valid(hash) || !ttl_is_valid(ttl_ms))
                return -EINVAL;
        r = s->backend->join_token_add(s, hash, ttl_ms, &expires);
        if (r < 0)
                return r;
        if (ret_expires_ms)
                *ret_expires_ms = expires;
        return 0;
}

int hp_store_join_token_use(struct hp_store *s, const char *hash)
{
        if (!hp_token_hash_is_valid(hash))
                return -EINVAL;
        return s->backend->join_token_use(s, hash);
}

int hp_store_join_token_list(struct hp_store *s, struct hp_join_token_info **ret, size_t *ret_n)
{
        return s->backend->join_token_list(s, ret, ret_n);
}

static bool setting_key_is_valid(const char *key)
{
        size_t n = key ? strlen(key) : 0;

        if (n == 0 || n > HP_STORE_SETTING_KEY_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') || strchr("_.-", key[i])))
                        return false;
        return true;
}

int hp_store_setting_get(struct hp_store *s, const char *key, char **ret)
{
        if (!setting_key_is_valid(key) || !ret)
                return -EINVAL;
        return s->backend->setting_get(s, key, ret);
}

int hp_store_setting_set(struct hp_store *s, const char *key, const char *value)
{
        if (!setting_key_is_valid(key))
                return -EINVAL;
        return s->backend->setting_set(s, key, value);
}

int hp_store_leader_acquire(struct hp_store *s, const char *holder, int64_t ttl_ms,
                            int64_t *ret_token, char **ret_holder)
{
        char *other = NULL;
        int64_t token;
        int r;

        if (!hp_store_host_name_is_valid(holder) || !ttl_is_valid(ttl_ms) || !ret_token)
                return -EINVAL;
        r = s->backend->leader_acquire(s, holder, ttl_ms, &token, &other);
        if (r == -EBUSY && other && ret_holder)
                *ret_holder = TAKE_PTR(other);
        free(other);
        if (r < 0)
                return r;
        *ret_token = token;
        return 0;
}

/* The store's front: which backend a URL names, the checks every backend
 * shares, and the calls through the backend's ops table (store-internal.h). */
/* The rules store.h states about arguments (canonical addresses, known
 * health, host and token names) are checked here once, so a backend only
 * stores and reads. The value types callers get back (device configs,
 * events, tokens) are copied and freed here too; the VMs' are in
 * store-vms.c. */
#include "store-internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"

static const struct hp_store_backend *const backends[] = {
        &hp_store_sqlite_backend,
#if HP_HAVE_LIBPQ
        &hp_store_pg_backend,
#endif
};

/* Schemes a build with libpq serves: named here so the refusal says what to use now. */
#if !HP_HAVE_LIBPQ
static const char *const cluster_schemes[] = {"postgresql", "postgres"};
#endif

/* The length of url's scheme (RFC 3986: a letter, then letters, digits,
 * '+', '-', '.'), 0 when it has none. */
static size_t scheme_length(const char *url)
{
        size_t n = 0;

        if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
                return 0;
        while ((url[n] >= 'a' && url[n] <= 'z') || (url[n] >= 'A' && url[n] <= 'Z') ||
               (url[n] >= '0' && url[n] <= '9') || url[n] == '+' || url[n] == '-' || url[n] == '.')
                n++;
        return url[n] == ':' ? n : 0;
}

static bool scheme_is(const char *url, size_t n, const char *scheme)
{
        return strlen(scheme) == n && strncasecmp(url, scheme, n) == 0;
}

/* The backend url names. A path stays a path (as before there were URLs):
 * only a scheme some backend serves, or one followed by "//", makes a URL,
 * so "./a:b.db" and "a:b.db" are still files. The URL itself is never
 * quoted in a refusal: a database URL may carry a password. */
static int backend_of(const char *url, const struct hp_store_backend **ret, char **ret_error)
{
        size_t n = scheme_length(url);

        for (size_t i = 0; n > 0 && i < ELEMENTSOF(backends); i++)
                if (scheme_is(url, n, backends[i]->scheme) ||
                    (backends[i]->alias && scheme_is(url, n, backends[i]->alias))) {
                        *ret = backends[i];
                        return 0;
                }
#if !HP_HAVE_LIBPQ
        for (size_t i = 0; n > 0 && i < ELEMENTSOF(cluster_schemes); i++)
                if (scheme_is(url, n, cluster_schemes[i]))
                        return hp_errorf(ret_error, -EPROTONOSUPPORT,
                                         "%.*s: URLs are for the cluster's controllers (hwpassd "
                                         "--role controller), not supported by this build (it "
                                         "was built without libpq); use sqlite:PATH or a file "
                                         "path",
                                         (int)n, url);
#endif
        if (n > 0 && strncmp(url + n, "://", 3) == 0)
                return hp_errorf(ret_error, -EPROTONOSUPPORT,
                                 "%.*s: URLs name no store this hwpass knows; use sqlite:PATH or "
                                 "a file path",
                                 (int)n, url);
        *ret = &hp_store_sqlite_backend;
        return 0;
}

char *hp_store_display_name(const char *url)
{
        const char *auth = strstr(url, "://"), *end, *at = NULL, *colon = NULL, *q;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!auth)
                return strdup(url);
        auth += 3;
        end = auth + strcspn(auth, "/?#");
        for (const char *p = auth; p < end; p++)
                if (*p == '@')
                        at = p;
        for (const char *p = auth; at && p < at && !colon; p++)
                if (*p == ':')
                        colon = p;
        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        if (colon)
                fprintf(f, "%.*s***%.*s", (int)(colon + 1 - url), url, (int)(end - at), at);
        else
                fprintf(f, "%.*s", (int)(end - url), url);
        q = end + strcspn(end, "?#");
        fprintf(f, "%.*s", (int)(q - end), end); /* the path */
        while (*q) {
                size_t n = strcspn(q + 1, "&#") + 1;

                if (strncmp(q + 1, "password=", strlen("password=")) == 0)
                        fprintf(f, "%c" "password=***", *q);
                else
                        fprintf(f, "%.*s", (int)n, q);
                q += n;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static unsigned n_open; /* stores open in this process, whichever thread */

unsigned hp_store_open_count(void)
{
        return __atomic_load_n(&n_open, __ATOMIC_RELAXED);
}

static int open_any(const char *url, bool readonly, struct hp_store **ret, char **ret_error)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        const struct hp_store_backend *b;
        int r;

        if (!url || !*url || !ret)
                return hp_errorf(ret_error, -EINVAL, "No path given for the state database");
        r = backend_of(url, &b, ret_error);
        if (r < 0)
                return r;
        r = b->open(url, readonly, &s, ret_error);
        if (r < 0)
                return r;
        __atomic_add_fetch(&n_open, 1, __ATOMIC_RELAXED);
        s->host = strdup(HP_STORE_LOCAL_HOST);
        if (!s->host)
                return hp_errorf(ret_error, -ENOMEM, "Out of memory");
        *ret = TAKE_PTR(s);
        return 0;
}

/* The SQLite file name names, or NULL when it names another backend's store. */
static const char *sqlite_file(const char *name)
{
        const struct hp_store_backend *b;
        const char *file;

        if (backend_of(name, &b, NULL) < 0 || b != &hp_store_sqlite_backend ||
            hp_store_sqlite_file(name, &file, NULL) < 0)
                return NULL;
        return file;
}

bool hp_store_same(const char *a, const char *b)
{
        const char *fa = sqlite_file(a), *fb = sqlite_file(b);

        if (fa && fb)
                return hp_same_file(fa, fb);
        return streq(a, b);
}

char *hp_store_absolute(const char *name)
{
        const char *file = sqlite_file(name);
        _cleanup_free_ char *abs = NULL;
        char *r;

        if (!file || file[0] == '/')
                return strdup(name);
        abs = hp_path_absolute(file);
        /* The scheme (if any) stays; the file becomes absolute. */
        return abs && asprintf(&r, "%.*s%s", (int)(file - name), name, abs) >= 0 ? r : NULL;
}

int hp_store_open(const char *path, struct hp_store **ret, char **ret_error)
{
        return open_any(path, false, ret, ret_error);
}

int hp_store_open_readonly(const char *path, struct hp_store **ret, char **ret_error)
{
        return open_any(path, true, ret, ret_error);
}

bool hp_store_schema_kept;

void hp_store_keep_schema(bool keep)
{
        hp_store_schema_kept = keep;
}

void hp_store_close(struct hp_store *s)
{
        if (!s)
                return;
        free(s->actor);
        free(s->host);
        s->backend->close(s);
        __atomic_sub_fetch(&n_open, 1, __ATOMIC_RELAXED);
}

int hp_store_schema_version(struct hp_store *s)
{
        return s->version;
}

int hp_store_set_busy_timeout(struct hp_store *s, int ms)
{
        if (!s || ms < 0)
                return -EINVAL;
        return s->backend->set_busy_timeout(s, ms);
}

int hp_store_begin(struct hp_store *s)
{
        return s->backend->begin(s);
}

int hp_store_commit(struct hp_store *s)
{
        return s->backend->commit(s);
}

int hp_store_rollback(struct hp_store *s)
{
        return s->backend->rollback(s);
}

/* Pauses up to 2^(try+1) ms: some 8 s in all before a writer gives up
 * (1,000 power-ons at once on two controllers, with heartbeats, need more
 * than 8 tries now and then). */
#define TRANSACT_TRIES 12

int hp_store_events_turn(struct hp_store *s)
{
        return s->backend->events_turn(s);
}

int hp_store_whole(struct hp_store *s)
{
        return s->backend->whole(s);
}

int hp_store_transact(struct hp_store *s, int (*fn)(struct hp_store *s, void *userdata), void *userdata)
{
        int r = -EBUSY;

        for (unsigned i = 0; i < TRANSACT_TRIES; i++) {
                if (i > 0) {
                        /* Conflicting writers that retry at once meet again:
                         * a random pause, growing, lets one of them through. */
                        struct timespec ts = { 0, (long)(1 + random() % (2L << i)) * 1000000L };

                        nanosleep(&ts, NULL);
                }
                r = hp_store_begin(s);
                if (r >= 0)
                        r = fn(s, userdata);
                if (r >= 0)
                        r = hp_store_commit(s);
                if (r >= 0)
                        return r;
                (void)hp_store_rollback(s);
                if (r != -ECANCELED && r != -EBUSY)
                        return r;
        }
        return -EBUSY;
}

/* What a host's name may hold: a DNS name's letters, digits, '-' and '.',
 * and '_', which some sites use; no spaces, no quoting needed anywhere. */
bool hp_store_host_name_is_valid(const char *name)
{
        size_t n;

        if (!name)
                return false;
        n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._");
        return n > 0 && n <= HP_STORE_HOST_NAME_MAX && name[n] == '\0';
}

int hp_store_set_host(struct hp_store *s, const char *name)
{
        _cleanup_free_ char *copy = NULL;
        int r;

        if (!hp_store_host_name_is_valid(name))
                return -EINVAL;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        r = s->backend->set_host(s, name);
        if (r < 0)
                return r;
        free(s->host);
        s->host = TAKE_PTR(copy);
        return 0;
}

const char *hp_store_host(struct hp_store *s)
{
        return s->host;
}

int hp_store_host_add(struct hp_store *s, const char *name)
{
        if (!hp_store_host_name_is_valid(name))
                return -EINVAL;
        return s->backend->host_add(s, name);
}

int hp_store_set_actor(struct hp_store *s, const char *actor)
{
        char *copy = NULL;

        if (actor && !(copy = strdup(actor)))
                return -ENOMEM;
        free(s->actor);
        s->actor = copy;
        return 0;
}

static int strdup_or_null(const char *s, char **ret)
{
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

void hp_dev_config_done(struct hp_dev_config *c)
{
        if (!c)
                return;
        free(c->serial);
        free(c->slot);
        free(c->host_driver);
        free(c->label);
        hp_strv_free(c->attrs);
        free(c->health);
        free(c->reason);
        free(c->assigned_vm);
        *c = (struct hp_dev_config){0};
}

void hp_dev_configs_free(struct hp_dev_config *c, size_t n)
{
        if (!c)
                return;
        for (size_t i = 0; i < n; i++)
                hp_dev_config_done(&c[i]);
        free(c);
}

int hp_dev_config_copy(const struct hp_dev_config *from, struct hp_dev_config *ret)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config c = {0};
        const struct {
                const char *src;
                char **dst;
        } strs[] = {
                {from->serial, &c.serial},           {from->slot, &c.slot},
                {from->host_driver, &c.host_driver}, {from->label, &c.label},
                {from->health, &c.health},           {from->reason, &c.reason},
                {from->assigned_vm, &c.assigned_vm},
        };
        int r;

        memcpy(c.address, from->address, sizeof(c.address));
        c.address[sizeof(c.address) - 1] = '\0';
        c.vendor_id = from->vendor_id;
        c.device_id = from->device_id;
        c.subsystem_vendor_id = from->subsystem_vendor_id;
        c.subsystem_device_id = from->subsystem_device_id;
        c.desired = from->desired;
        c.updated_at = from->updated_at;
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                r = strdup_or_null(strs[i].src, strs[i].dst);
                if (r < 0)
                        return r;
        }
        c.attrs = calloc(1, sizeof(char *));
        if (!c.attrs)
                return -ENOMEM;
        for (size_t i = 0; from->attrs && from->attrs[i]; i++) {
                r = hp_strv_push(&c.attrs, from->attrs[i]);
                if (r < 0)
                        return r;
        }
        *(struct hp_dev_config *)ret = c;
        c = (struct hp_dev_config){0};
        return 0;
}

/* One spelling per device, since the address is the key. */
bool hp_store_address_is_valid(const char *a)
{
        static const char pattern[] = "xxxx:xx:xx.x";

        for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
                if (pattern[i] != 'x') {
                        if (a[i] != pattern[i])
                                return false;
                } else if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'))) {
                        return false;
                }
        }
        return a[sizeof(pattern) - 1] == '\0';
}

static int config_validate(const struct hp_dev_config *c)
{
        if (!hp_store_address_is_valid(c->address))
                return -EINVAL;
        if (!c->health || !(streq(c->health, "ok") || streq(c->health, "quarantined")))
                return -EINVAL;
        for (size_t i = 0; c->attrs && c->attrs[i]; i++) {
                const char *eq = strchr(c->attrs[i], '=');

                if (!eq || eq == c->attrs[i] || eq - c->attrs[i] > INT_MAX)
                        return -EINVAL;
        }
        return 0;
}

int hp_store_device_get(struct hp_store *s, const char *address, struct hp_dev_config *ret)
{
        if (!address || !hp_store_address_is_valid(address))
                return -EINVAL;
        return s->backend->device_get(s, address, ret);
}

int hp_store_device_list(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n)
{
        return s->backend->device_list(s, ret, ret_n);
}

int hp_store_device_put(struct hp_store *s, const struct hp_dev_config *c)
{
        int r = config_validate(c);

        return r < 0 ? r : s->backend->device_put(s, c);
}

int hp_store_device_delete(struct hp_store *s, const char *address)
{
        if (!address || !hp_store_address_is_valid(address))
                return -EINVAL;
        return s->backend->device_delete(s, address);
}

void hp_event_done(struct hp_event *e)
{
        free(e->kind);
        free(e->subject);
        free(e->message);
        free(e->actor);
        free(e->host);
        *e = (struct hp_event){0};
}

void hp_events_free(struct hp_event *e, size_t n)
{
        for (size_t i = 0; e && i < n; i++)
                hp_event_done(&e[i]);
        free(e);
}

int hp_store_event_add(struct hp_store *s, const char *kind, const char *subject,
                       const char *message)
{
        if (!kind || !*kind)
                return -EINVAL;
        return s->backend->event_add(s, kind, subject, message);
}

int hp_store_event_list(struct hp_store *s, int64_t since, size_t limit, struct hp_event **ret,
                        size_t *ret_n)
{
        return s->backend->event_list(s, since, limit, ret, ret_n);
}

void hp_token_info_done(struct hp_token_info *t)
{
        free(t->name);
        hp_token_scope_done(&t->scope);
        *t = (struct hp_token_info){ 0 };
}

void hp_token_infos_free(struct hp_token_info *t, size_t n)
{
        for (size_t i = 0; t && i < n; i++)
                hp_token_info_done(&t[i]);
        free(t);
}

/* NULL, or names as hp_token_list_join() writes them: sorted, each once. */
static bool scope_list_valid(const char *list)
{
        char prev[HP_STORE_HOST_NAME_MAX + 1] = "", name[HP_STORE_HOST_NAME_MAX + 1];

        for (const char *p = list, *end; p; p = *end ? end + 1 : NULL) {
                end = p + strcspn(p, ",");
                if ((size_t)(end - p) >= sizeof(name))
                        return false;
                memcpy(name, p, (size_t)(end - p));
                name[end - p] = '\0';
                if (!hp_store_host_name_is_valid(name) || (p != list && strcmp(prev, name) >= 0))
                        return false;
                memcpy(prev, name, sizeof(name));
        }
        return true;
}

int hp_store_token_add(struct hp_store *s, const char *name, const char *hash,
                       enum hp_token_role role, const struct hp_token_scope *scope)
{
        static const struct hp_token_scope none = { 0 };

        if (!scope)
                scope = &none;
        if (!hp_token_name_is_valid(name) || !hp_token_hash_is_valid(hash) ||
            role < HP_TOKEN_VIEWER || role > HP_TOKEN_ADMIN || !scope_list_valid(scope->hosts) ||
            !scope_list_valid(scope->vms))
                return -EINVAL;
        return s->backend->token_add(s, name, hash, role, scope);
}

int hp_store_token_list(struct hp_store *s, struct hp_token_info **ret, size_t *ret_n)
{
        return s->backend->token_list(s, ret, ret_n);
}

int hp_store_token_revoke(struct hp_store *s, const char *name)
{
        if (!name || !*name)
                return -EINVAL;
        return s->backend->token_revoke(s, name);
}

int hp_store_token_check(struct hp_store *s, const char *hash, struct hp_token_info *ret)
{
        if (!hp_token_hash_is_valid(hash))
                return -EINVAL;
        return s->backend->token_check(s, hash, ret);
}

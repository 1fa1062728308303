/* The HTTP/JSON API's server (libmicrohttpd): one daemon per endpoint,
 * reading request bodies within their limit, checking who asks (auth.c: peer
 * credentials on the Unix socket, a bearer token on TCP), and writing the
 * replies the route table (routes.c) gives. */
#include "server.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "host/names.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/io.h"
#include "util/lockfile.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/unixsock.h"

struct hp_api_reply hp_api_error(unsigned status, const char *code, const char *fmt, ...)
{
        _cleanup_free_ char *shown = NULL;
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* Escaped as the CLI shows it; and JSON takes only UTF-8: a message
         * quoting bad input would otherwise become no answer at all. */
        shown = hp_escape(msg);
        return (struct hp_api_reply){
                .status = status,
                .body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", shown ? shown : "out of memory"),
        };
}

struct hp_api_reply hp_api_ok(json_t *body)
{
        if (!body)
                return hp_api_error(500, "internal", "out of memory");
        return (struct hp_api_reply){ .status = 200, .body = body };
}

/* One endpoint: what its requests are checked by, and its TLS files. */
struct hp_api_listener {
        struct hp_api *api;
        struct MHD_Daemon *mhd;
        bool tcp;       /* a bearer token decides, not the peer's credentials */
        struct hp_api_gate gate; /* TCP: the connections without a token yet */
        bool tls;       /* serves the server's pair (tls.c); not: plain HTTP */
        char name[96]; /* "unix:PATH", "tcp:ADDR:PORT", for its log lines */
};

/* One request while it is read: who asks, its body so far, or why it is refused. */
struct pending {
        struct hp_buf body;
        bool too_big;
        bool local;
        enum hp_token_role access;
        char actor[HP_STORE_HOST_NAME_MAX + 8];
        char agent_host[HP_STORE_HOST_NAME_MAX + 1]; /* a host's credential came: its name */
        struct hp_token_scope scope;                 /* the token's limits */
        struct hp_api_reply refusal;                 /* status 0: allowed */
};

static void pending_free(struct pending *p)
{
        if (!p)
                return;
        free(p->body.data);
        hp_token_scope_done(&p->scope);
        json_decref(p->refusal.body);
        free(p);
}

/* Scripts, styles and requests from the server itself only; inline style
 * attributes are allowed (the device list sizes its groups with them). */
#define CSP                                                                                             \
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; " \
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* Sends rep and counts its status in a's metrics. */
static enum MHD_Result respond(struct MHD_Connection *conn, struct hp_api_reply rep, struct hp_api *a)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;
        const char *type = rep.content_type;
        char *text = rep.text;
        size_t len = rep.text_len;

        if (rep.body) {
                free(text);
                text = json_dumps(rep.body, JSON_INDENT(2) | JSON_SORT_KEYS);
                json_decref(rep.body);
                if (!text)
                        return MHD_NO;
                len = strlen(text);
                text[len++] = '\n'; /* json_dumps leaves room for the NUL only: replace it */
                type = "application/json";
        }
        if (!text)
                return MHD_NO;
        resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(text);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type ? type : "text/plain; charset=utf-8");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        /* The page holds a token: it runs only its own script, is framed by
         * nobody, and no answer is read as anything but its type. */
        MHD_add_response_header(resp, "Content-Security-Policy", CSP);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        if (rep.challenge)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, rep.challenge);
        if (rep.close)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        ret = MHD_queue_response(conn, rep.status, resp);
        MHD_destroy_response(resp);
        if (ret == MHD_YES)
                hp_api_request_count(a, rep.status);
        return ret;
}

/* A TCP connection whose request carried a valid token: it no longer counts
 * against the unauthenticated ones, and may idle longer between requests. */
static void admitted(struct MHD_Connection *conn, unsigned idle_timeout)
{
        hp_api_gate_pass(conn);
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, idle_timeout);
}

/* libmicrohttpd counts a connection's timeout from the last byte received
 * and checks it before sending the answer: a request that waited longer
 * (a VM stop with a long timeout) would lose its answer. Its timeout
 * starts again now (setting it from 0 restarts its clock). */
static void restart_timeout(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_TIMEOUT);
        unsigned timeout = ci ? ci->connection_timeout : 0;

        if (timeout == 0)
                return;
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, timeout);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
        struct hp_api_listener *l = cls;
        struct hp_api *a = l->api;
        struct pending *p = *req_cls;
        struct hp_api_reply rep;

        (void)version;
        if (!p) {
                if (!(p = calloc(1, sizeof(*p))))
                        return MHD_NO;
                *req_cls = p;
                /* Who asks is known from the headers: checked before any body is kept. */
                if (l->tcp) {
                        /* The UI's own files hold no host data: the page loads
                         * without a token and then asks for one. A joining
                         * host's token is in its body (the route checks it). */
                        if (hp_api_join_path(a, method, url))
                                snprintf(p->actor, sizeof(p->actor), "a joining host");
                        else if ((!hp_api_web_path(url) ||
                                  (!streq(method, "GET") && !streq(method, "HEAD"))) &&
                                 hp_api_bearer_allowed(a, conn, p->actor, sizeof(p->actor),
                                                       p->agent_host, sizeof(p->agent_host),
                                                       &p->access, &p->scope, &p->refusal))
                                admitted(conn, a->limits.idle_timeout);
                } else if (hp_api_peer_allowed(a, conn, p->actor, sizeof(p->actor))) {
                        p->local = true;
                        p->access = HP_TOKEN_ADMIN;
                } else {
                        p->refusal = hp_api_error(403, "forbidden",
                                                  "only root or the daemon's user may use this socket");
                }
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                /* Kept up to the limit; the rest, and all of a refused
                 * request's, is read and dropped, so the client gets its 413
                 * (or 401) instead of a reset connection. */
                if (!p->too_big && p->body.len + *upload_data_size > (p->agent_host[0] ? HP_API_REPORT_MAX : HP_API_BODY_MAX)) {
                        p->too_big = true;
                        free(p->body.data);
                        p->body = (struct hp_buf){ 0 };
                }
                if (!p->too_big && !p->refusal.status &&
                    hp_buf_append(&p->body, upload_data, *upload_data_size) < 0)
                        return MHD_NO;
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (p->refusal.status) {
                struct hp_api_reply refusal = p->refusal;

                p->refusal.body = NULL; /* respond() releases it */
                /* A refused client holds no connection (and no slot) for its next try. */
                refusal.close = true;
                return respond(conn, refusal, a);
        }
        if (p->too_big)
                return respond(conn,
                               hp_api_error(413, "body", "the request body is larger than %d bytes",
                                            HP_API_BODY_MAX),
                               a);
        rep = hp_api_route(
                a, &(struct hp_api_request){ .conn = conn,
                                             .method = method,
                                             .url = url,
                                             .body = p->body.data,
                                             .body_len = p->body.len,
                                             .local = p->local,
                                             .actor = p->actor,
                                             .access = p->access,
                                             .agent_host = p->agent_host[0] ? p->agent_host : NULL,
                                             .scope = &p->scope });
        restart_timeout(conn);
        return respond(conn, rep, a);
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
        (void)cls;
        (void)conn;
        (void)toe;
        pending_free(*req_cls);
        *req_cls = NULL;
}

int hp_api_new(const struct hp_api_config *cfg, struct hp_api **ret, char **ret_error)
{
        _cleanup_(hp_api_stopp) struct hp_api *a = calloc(1, sizeof(*a));
        int r;

        *ret_error = NULL;
        if (!a)
                return -ENOMEM;
        a->socket_lock = -1;
        a->role = cfg->role;
        a->ctl = cfg->timing;
        for (size_t i = 0; cfg->controllers && cfg->controllers[i]; i++)
                if (hp_strv_push(&a->controllers, cfg->controllers[i]) < 0)
                        return -ENOMEM;
        a->ctl.controllers = a->controllers;
        pthread_mutex_init(&a->metrics_lock, NULL);
        if (!(a->db_path = strdup(cfg->db_path)) ||
            !(a->host_root = strdup(cfg->host_root ? cfg->host_root : "/")) ||
            !(a->web_root = strdup(cfg->web_root ? cfg->web_root : "")))
                return -ENOMEM;
        if (!(a->run_dir = strdup(cfg->run_dir)) || !(a->state_dir = strdup(cfg->state_dir)))
                return -ENOMEM;
        if ((cfg->storage_dirs && hp_strv_copy(cfg->storage_dirs, &a->storage_dirs) < 0) ||
            (cfg->block_devices && hp_strv_copy(cfg->block_devices, &a->block_devices) < 0))
                return -ENOMEM;
        a->uid = getuid();
        a->limits = hp_api_limits_or_default(&cfg->limits);
        r = hp_host_open(a->host_root, &a->host);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot open host root '%s': %s", a->host_root, strerror(-r));
        r = hp_names_new(NULL, &a->names);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

static void listener_free(struct hp_api_listener *l)
{
        if (!l)
                return;
        if (l->mhd)
                MHD_stop_daemon(l->mhd); /* closes the listening socket */
        if (l->tcp)
                hp_api_gate_done(&l->gate); /* after the daemon: its close notices take the lock */
        free(l);
}

static void listener_freep(struct hp_api_listener **l)
{
        listener_free(*l);
}

/* libmicrohttpd's own messages (a failed TLS handshake, a client that went
 * away) name neither the daemon nor the endpoint: they get both. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        const struct hp_api_listener *l = cls;

        fprintf(stderr, "hwpassd: %s: ", l->name);
        vfprintf(stderr, fmt, ap);
}

/* The Unix socket as it always was: root and the daemon's user only. */
#define UNIX_MAX_CONNECTIONS 64u
#define UNIX_TIMEOUT 120u

/* Serves the listening socket fd (taken, closed on failure) with l's settings;
 * l joins a's endpoints. */
static int serve(struct hp_api *a, struct hp_api_listener *l, int fd)
{
        struct hp_api_listener **grown = reallocarray(a->listeners, a->n_listeners + 1, sizeof(*grown));
        /* poll, not select: with many connections open a descriptor may be
         * above FD_SETSIZE, which select cannot wait for. */
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                         MHD_USE_ERROR_LOG;
        /* On TCP the connection timeout is the header timeout: a connection
         * gets the idle timeout only once it shows a token (admitted()). */
        struct MHD_OptionItem opts[] = {
                { MHD_OPTION_CONNECTION_LIMIT, l->tcp ? a->limits.max_connections : UNIX_MAX_CONNECTIONS, NULL },
                { MHD_OPTION_CONNECTION_TIMEOUT, l->tcp ? a->limits.header_timeout : UNIX_TIMEOUT, NULL },
                { l->tcp ? MHD_OPTION_NOTIFY_CONNECTION : MHD_OPTION_END, (intptr_t)hp_api_gate_notify,
                  &l->gate },
                { MHD_OPTION_END, 0, NULL },
        };
        /* The pair is asked for at each handshake, so a reload reaches new
         * connections without restarting the daemon (tls.c). */
        struct MHD_OptionItem tls[] = {
                { MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)hp_api_tls_callback() },
                { MHD_OPTION_END, 0, NULL },
        };

        if (!grown) {
                close(fd);
                return -ENOMEM;
        }
        a->listeners = grown;
        l->api = a;
        /* A thread per connection: an operation blocks only its own request
         * (a VM that takes a minute to stop waits in its thread, under its
         * VM's lock), never the requests that came in beside it, as a
         * shared pool's thread would. The connection limit bounds them; on
         * TCP the gate (admit.c) keeps clients without a token from taking
         * them all. */
        /* The logger first: libmicrohttpd logs with its own until it is set. */
        l->mhd = MHD_start_daemon(flags | (l->tls ? MHD_USE_TLS : 0), 0, NULL, NULL, handle, l,
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l, MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_ARRAY, opts, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                  MHD_OPTION_ARRAY, l->tls ? tls : tls + 1, MHD_OPTION_END);
        if (!l->mhd) {
                close(fd);
                return -EIO;
        }
        a->listeners[a->n_listeners++] = l;
        return 0;
}

int hp_api_claim_unix(struct hp_api *a, const char *socket_path, char **ret_error)
{
        _cleanup_close_ int probe = -1;
        char lock[4096 + 8], holder[160];
        int fd;

        *ret_error = NULL;
        if (a->socket_lock >= 0)
                return 0;
        snprintf(lock, sizeof(lock), "%s.lock", socket_path);
        fd = hp_lockfile_take(lock, 0, NULL, holder, sizeof(holder));
        if (fd == -EWOULDBLOCK)
                return hp_errorf(ret_error, -EADDRINUSE,
                                 "another hwpassd (%s) serves '%s': stop it first, or give this one its own "
                                 "--listen unix:PATH",
                                 holder, socket_path);
        if (fd < 0)
                return hp_errorf(ret_error, fd, "cannot lock '%s': %s", lock, strerror(-fd));
        /* No lock held, and yet something answers: an older daemon, or another program. */
        if (hp_unix_connect(socket_path, &probe) == 0) {
                close(fd);
                return hp_errorf(ret_error, -EADDRINUSE,
                                 "something answers on '%s' already: stop it first, or give this hwpassd its own "
                                 "--listen unix:PATH",
                                 socket_path);
        }
        a->socket_lock = fd;
        return 0;
}

int hp_api_listen_unix(struct hp_api *a, const char *socket_path, char **ret_error)
{
        _cleanup_(listener_freep) struct hp_api_listener *l = calloc(1, sizeof(*l));
        _cleanup_free_ char *path = strdup(socket_path);
        int fd = -1, r;

        *ret_error = NULL;
        if (!l || !path)
                return -ENOMEM;
        if (a->socket_path)
                return hp_errorf(ret_error, -EEXIST, "already listening on '%s': one Unix socket only",
                                 a->socket_path);
        r = hp_api_claim_unix(a, socket_path, ret_error);
        if (r < 0)
                return r;
        r = hp_unix_listen(socket_path, 0600, &fd);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot listen on '%s': %s", socket_path, strerror(-r));
        snprintf(l->name, sizeof(l->name), "unix:%s", socket_path);
        r = serve(a, l, fd);
        if (r < 0) {
                (void)unlink(socket_path);
                return hp_errorf(ret_error, r, "cannot start the HTTP server on '%s'", socket_path);
        }
        TAKE_PTR(l);
        a->socket_path = TAKE_PTR(path);
        return 0;
}

int hp_api_listen_tcp(struct hp_api *a, const struct hp_api_tcp_addr *addr, const struct hp_api_tls *tls,
                      char **ret_error)
{
        _cleanup_(listener_freep) struct hp_api_listener *l = calloc(1, sizeof(*l));
        int fd = -1, r;

        *ret_error = NULL;
        if (!l)
                return -ENOMEM;
        l->tcp = true;
        hp_api_gate_init(&l->gate, a->limits.max_unauthenticated);
        if (!tls && !addr->loopback)
                return hp_errorf(ret_error, -EPERM,
                                 "plain HTTP on %s is refused: it is not loopback; give a TLS certificate and key",
                                 addr->text);
        if (tls && (!MHD_is_feature_supported(MHD_FEATURE_TLS) ||
                    !MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK)))
                return hp_errorf(ret_error, -EOPNOTSUPP,
                                 "this libmicrohttpd was built without TLS (or without its certificate callback)");
        if (tls && (r = hp_api_tls_start(a, tls, ret_error)) < 0)
                return r;
        l->tls = tls != NULL;
        r = hp_api_socket_tcp(addr, &fd);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot listen on %s: %s", addr->text, strerror(-r));
        snprintf(l->name, sizeof(l->name), "tcp:%s", addr->text);
        r = serve(a, l, fd);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot start the HTTP%s server on %s", tls ? "S" : "",
                                 addr->text);
        TAKE_PTR(l);
        return 0;
}

void hp_api_stop(struct hp_api *a)
{
        if (!a)
                return;
        /* Every endpoint stops before what their requests use is freed. */
        for (size_t i = 0; i < a->n_listeners; i++)
                listener_free(a->listeners[i]);
        free(a->listeners);
        hp_api_tls_stop(a); /* no endpoint asks for the pair any more */
        /* The socket goes before its lock: the next daemon finds neither. */
        if (a->socket_path)
                (void)unlink(a->socket_path);
        if (a->socket_lock >= 0)
                close(a->socket_lock);
        hp_names_free(a->names);
        hp_host_free(a->host);
        pthread_mutex_destroy(&a->metrics_lock);
        free(a->db_path);
        free(a->host_root);
        free(a->socket_path);
        free(a->run_dir);
        free(a->state_dir);
        hp_strv_free(a->storage_dirs);
        hp_strv_free(a->block_devices);
        free(a->web_root);
        hp_strv_free(a->controllers);
        free(a);
}

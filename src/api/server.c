/* The HTTP/JSON API's server (libmicrohttpd): listening, reading request
 * bodies within their limit, checking who asks, and writing the replies the
 * route table (routes.c) gives. On the Unix socket the peer's credentials
 * decide: root, or the daemon's own user. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "host/names.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

struct hp_api_reply hp_api_error(unsigned status, const char *code, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return (struct hp_api_reply){
                .status = status,
                .body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg),
        };
}

struct hp_api_reply hp_api_ok(json_t *body)
{
        if (!body)
                return hp_api_error(500, "internal", "out of memory");
        return (struct hp_api_reply){ .status = 200, .body = body };
}

/* One request while it is read: its body so far, or why it is refused. */
struct pending {
        char *body;
        size_t len;
        bool too_big;
};

static void pending_free(struct pending *p)
{
        if (!p)
                return;
        free(p->body);
        free(p);
}

/* Root, or the user the daemon runs as; *ret_actor names the peer. */
static bool peer_allowed(struct hp_api *a, struct MHD_Connection *conn, char *actor, size_t size)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        struct passwd pw, *found = NULL;
        char buf[1024];

        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found) == 0 && found)
                snprintf(actor, size, "%s", found->pw_name);
        else
                snprintf(actor, size, "uid %u", (unsigned)cred.uid);
        return cred.uid == 0 || cred.uid == a->uid;
}

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
        ret = MHD_queue_response(conn, rep.status, resp);
        MHD_destroy_response(resp);
        if (ret == MHD_YES)
                hp_api_request_count(a, rep.status);
        return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
        struct hp_api *a = cls;
        struct pending *p = *req_cls;
        char actor[128];

        (void)version;
        if (!p) {
                if (!(p = calloc(1, sizeof(*p))))
                        return MHD_NO;
                *req_cls = p;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                /* Kept up to the limit; the rest is read and dropped, so the
                 * client gets its 413 instead of a reset connection. */
                if (!p->too_big && p->len + *upload_data_size > HP_API_BODY_MAX) {
                        p->too_big = true;
                        free(p->body);
                        p->body = NULL;
                }
                if (!p->too_big) {
                        char *grown = realloc(p->body, p->len + *upload_data_size + 1);

                        if (!grown)
                                return MHD_NO;
                        memcpy(grown + p->len, upload_data, *upload_data_size);
                        p->body = grown;
                        p->len += *upload_data_size;
                        p->body[p->len] = '\0';
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (!peer_allowed(a, conn, actor, sizeof(actor)))
                return respond(conn, hp_api_error(403, "forbidden", "only root or the daemon's user may use this socket"), a);
        if (p->too_big)
                return respond(conn, hp_api_error(413, "body", "the request body is larger than %d bytes",
                                                  HP_API_BODY_MAX), a);
        return respond(conn, hp_api_route(a, &(struct hp_api_request){ .conn = conn,
                                                                       .method = method,
                                                                       .url = url,
                                                                       .body = p->body,
                                                                       .body_len = p->len,
                                                                       .local = true,
                                                                       .actor = actor }), a);
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
        (void)cls;
        (void)conn;
        (void)toe;
        pending_free(*req_cls);
        *req_cls = NULL;
}

static int listen_unix(const char *path, int *ret)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path); /* a socket left by a daemon that died */
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

/* The hwpass binary beside this one: writes run as it. */
static int cli_path(char **ret)
{
        char self[4096];
        char *slash;
        int r = hp_self_exe(self, sizeof(self));

        if (r < 0)
                return r;
        slash = strrchr(self, '/');
        if (!slash)
                return -ENOENT;
        *slash = '\0';
        if (asprintf(ret, "%s/hwpass", self) < 0)
                return -ENOMEM;
        return access(*ret, X_OK) < 0 ? -errno : 0;
}

int hp_api_start_unix(const struct hp_api_config *cfg, const char *socket_path, struct hp_api **ret,
                      char **ret_error)
{
        _cleanup_(hp_api_stopp) struct hp_api *a = calloc(1, sizeof(*a));
        int fd = -1, r;

        *ret_error = NULL;
        if (!a)
                return -ENOMEM;
        pthread_mutex_init(&a->read_lock, NULL);
        pthread_mutex_init(&a->write_lock, NULL);
        pthread_mutex_init(&a->metrics_lock, NULL);
        if (!(a->db_path = strdup(cfg->db_path)) || !(a->socket_path = strdup(socket_path)) ||
            !(a->host_root = strdup(cfg->host_root ? cfg->host_root : "/")))
                return -ENOMEM;
        a->uid = getuid();
        r = cli_path(&a->cli_path);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot find the hwpass command beside hwpassd: %s", strerror(-r));
        r = hp_host_open(a->host_root, &a->host);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot open host root '%s': %s", a->host_root, strerror(-r));
        r = hp_names_new(NULL, &a->names);
        if (r < 0)
                return r;
        r = listen_unix(socket_path, &fd);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot listen on '%s': %s", socket_path, strerror(-r));
        /* A few threads: a VM that takes a minute to stop holds one of them,
         * and the pages keep loading meanwhile. */
        a->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
                                  NULL, handle, a, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, 4u,
                                  MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
        if (!a->mhd) {
                close(fd);
                return hp_errorf(ret_error, -EIO, "cannot start the HTTP server on '%s'", socket_path);
        }
        *ret = TAKE_PTR(a);
        return 0;
}

void hp_api_stop(struct hp_api *a)
{
        if (!a)
                return;
        if (a->mhd)
                MHD_stop_daemon(a->mhd); /* closes the listening socket */
        if (a->socket_path && a->mhd)
                (void)unlink(a->socket_path);
        hp_names_free(a->names);
        hp_host_free(a->host);
        pthread_mutex_destroy(&a->read_lock);
        pthread_mutex_destroy(&a->write_lock);
        pthread_mutex_destroy(&a->metrics_lock);
        free(a->db_path);
        free(a->host_root);
        free(a->socket_path);
        free(a->cli_path);
        free(a);
}

/* The HTTP/JSON API (libmicrohttpd): one route table under /v1, JSON views
 * shared with the CLI's --json, errors as {"error":{"code","message"}}. On the
 * Unix socket the peer's credentials decide: root, or the daemon's own user.
 * Requests are served one at a time by libmicrohttpd's polling thread, so the
 * host, the name database and the store are never used by two at once. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/hostjson.h"
#include "api/view.h"
#include "host/check.h"
#include "host/names.h"
#include "host/pci.h"
#include "host/state.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/specjson.h"
#include "vm/spec.h"

struct hp_api {
        struct MHD_Daemon *mhd;
        struct hp_host *host;
        struct hp_names *names;
        char *db_path;
        char *socket_path;
        uid_t uid;
};

/* What a handler answers: a status and a JSON body (a new reference). */
struct reply {
        unsigned status;
        json_t *body;
};

static struct reply error_reply(unsigned status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static struct reply error_reply(unsigned status, const char *code, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return (struct reply){ status, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg) };
}

static struct reply ok_reply(json_t *body)
{
        if (!body)
                return error_reply(500, "internal", "out of memory");
        return (struct reply){ 200, body };
}

static struct reply host_check(struct hp_api *a)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_check_report_freep) struct hp_check_report *rep = NULL;
        int r = hp_pci_scan(a->host, a->names, &inv);

        if (r >= 0)
                r = hp_host_check(a->host, inv, &rep);
        if (r < 0)
                return error_reply(500, "host-unreadable", "cannot check the host: %s", strerror(-r));
        return ok_reply(hp_json_check_report(rep));
}

/* The view, or an error reply in *err. */
static int load_view(struct hp_api *a, struct hp_view *v, struct reply *err)
{
        _cleanup_free_ char *msg = NULL;
        int r = hp_view_load(a->host, a->names, a->db_path, v, &msg);

        if (r < 0)
                *err = error_reply(500, "host-unreadable", "%s", msg ? msg : strerror(-r));
        return r;
}

static struct reply devices(struct hp_api *a, const char *address)
{
        _cleanup_(hp_view_done) struct hp_view v = { 0 };
        struct hp_host_state st;
        struct hp_pci_addr pa;
        char canon[HP_SBDF_LEN];
        const struct hp_pci_dev *d;
        struct reply err;

        if (address && hp_pci_addr_parse(address, &pa) < 0)
                return error_reply(400, "bad-address", "invalid PCI address '%s': expected DDDD:BB:DD.F in hex",
                                   address);
        if (load_view(a, &v, &err) < 0)
                return err;
        st = hp_view_state(&v);
        if (!address)
                return ok_reply(hp_json_pci_devices(&st, NULL, NULL));
        hp_pci_addr_format(&pa, canon);
        d = hp_pci_find(v.inv, canon);
        if (!d)
                return error_reply(404, "no-device", "no PCI device %s on this host", canon);
        return ok_reply(hp_json_pci_dev(&st, d));
}

static json_t *vm_json(const struct hp_vm_record *rec)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_free_ char *err = NULL;

        if (hp_vm_spec_from_text(rec->spec_json, &s, &err) < 0)
                return json_pack("{s:s, s:s, s:s?}", "name", rec->name, "state", rec->state, "damaged", err);
        return hp_vm_to_json(&s, rec->state);
}

static struct reply vms(struct hp_api *a, const char *name)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        json_t *list;
        int r;

        if (name && !hp_vm_name_valid(name))
                return error_reply(400, "bad-name", "invalid VM name '%s': 1-%d letters, digits, '-', '_' or '.'",
                                   name, HP_VM_NAME_MAX);
        r = hp_store_open_readonly(a->db_path, &s, &err);
        if (r == -ENOENT)
                return name ? error_reply(404, "no-vm", "no VM '%s'", name)
                            : ok_reply(json_pack("{s:[]}", "vms"));
        if (r < 0)
                return error_reply(500, "store-unreadable", "%s", err ? err : strerror(-r));
        if (name) {
                _cleanup_(hp_vm_record_done) struct hp_vm_record rec = { 0 };

                r = hp_store_vm_get(s, name, &rec);
                if (r == -ENOENT)
                        return error_reply(404, "no-vm", "no VM '%s'", name);
                if (r < 0)
                        return error_reply(500, "store-unreadable", "cannot read VM '%s': %s", name, strerror(-r));
                return ok_reply(vm_json(&rec));
        }
        r = hp_store_vm_list(s, &recs, &n);
        if (r < 0)
                return error_reply(500, "store-unreadable", "cannot list the VMs: %s", strerror(-r));
        list = json_array();
        for (size_t i = 0; list && i < n; i++)
                if (json_array_append_new(list, vm_json(&recs[i])) < 0) {
                        json_decref(list);
                        list = NULL;
                }
        hp_vm_records_free(recs, n);
        return ok_reply(list ? json_pack("{s:o}", "vms", list) : NULL);
}

/* ?since=ID&limit=N: the newest N (default 50) after event ID, oldest first. */
static struct reply events(struct hp_api *a, const char *since_arg, const char *limit_arg)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        uint64_t since = 0, limit = 50;
        struct hp_event *e = NULL;
        struct reply rep;
        size_t n = 0;
        int r;

        if (since_arg && (hp_parse_u64(since_arg, 10, &since) < 0 || since > INT64_MAX))
                return error_reply(400, "bad-query", "invalid since '%s': an event id", since_arg);
        if (limit_arg && (hp_parse_u64(limit_arg, 10, &limit) < 0 || limit == 0 || limit > 100000))
                return error_reply(400, "bad-query", "invalid limit '%s': 1 to 100000", limit_arg);
        r = hp_store_open_readonly(a->db_path, &s, &err);
        if (r == -ENOENT)
                return ok_reply(hp_json_events(NULL, 0));
        if (r < 0)
                return error_reply(500, "store-unreadable", "%s", err ? err : strerror(-r));
        r = hp_store_event_list(s, (int64_t)since, (size_t)limit, &e, &n);
        if (r < 0)
                return error_reply(500, "store-unreadable", "cannot read the events: %s", strerror(-r));
        rep = ok_reply(hp_json_events(e, n));
        hp_events_free(e, n);
        return rep;
}

/* "/v1/devices/0000:01:00.0" with prefix "/v1/devices/": the rest, if it is
 * one non-empty path segment. */
static const char *segment(const char *url, const char *prefix)
{
        const char *rest;

        if (!hp_startswith(url, prefix))
                return NULL;
        rest = url + strlen(prefix);
        return *rest && !strchr(rest, '/') ? rest : NULL;
}

static struct reply route(struct hp_api *a, struct MHD_Connection *conn, const char *method, const char *url)
{
        const char *arg;
        bool get = streq(method, "GET");

        if (streq(url, "/v1/host/check"))
                return get ? host_check(a) : error_reply(405, "method", "%s %s: only GET", method, url);
        if (streq(url, "/v1/devices"))
                return get ? devices(a, NULL) : error_reply(405, "method", "%s %s: only GET", method, url);
        if ((arg = segment(url, "/v1/devices/")))
                return get ? devices(a, arg) : error_reply(405, "method", "%s %s: only GET", method, url);
        if (streq(url, "/v1/vms"))
                return get ? vms(a, NULL) : error_reply(405, "method", "%s %s: only GET", method, url);
        if ((arg = segment(url, "/v1/vms/")))
                return get ? vms(a, arg) : error_reply(405, "method", "%s %s: only GET", method, url);
        if (streq(url, "/v1/events"))
                return get ? events(a, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since"),
                                    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit"))
                           : error_reply(405, "method", "%s %s: only GET", method, url);
        return error_reply(404, "no-route",
                           "no such resource: %s %s (see /v1/devices, /v1/vms, /v1/events, /v1/host/check)",
                           method, url);
}

/* Root, or the user the daemon runs as. */
static bool peer_allowed(struct hp_api *a, struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        return cred.uid == 0 || cred.uid == a->uid;
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct reply rep)
{
        char *text = rep.body ? json_dumps(rep.body, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        size_t len;

        json_decref(rep.body);
        if (!text)
                return MHD_NO;
        len = strlen(text);
        text[len] = '\n'; /* json_dumps leaves room for the NUL only: replace it */
        resp = MHD_create_response_from_buffer(len + 1, text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(text);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        ret = MHD_queue_response(conn, rep.status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
        /* Per-request state in the pointer itself: announced, or a body came. */
        static char announced, with_body;
        struct hp_api *a = cls;

        (void)version;
        (void)upload_data;
        if (!*req_cls) {
                *req_cls = &announced;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                /* Read and dropped: no route takes a body yet. */
                *upload_data_size = 0;
                *req_cls = &with_body;
                return MHD_YES;
        }
        if (*req_cls == &with_body)
                return respond(conn, error_reply(413, "body", "%s %s takes no request body", method, url));
        if (!peer_allowed(a, conn))
                return respond(conn, error_reply(403, "forbidden", "only root or the daemon's user may use this socket"));
        return respond(conn, route(a, conn, method, url));
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

int hp_api_start_unix(const struct hp_api_config *cfg, const char *socket_path, struct hp_api **ret,
                      char **ret_error)
{
        _cleanup_(hp_api_stopp) struct hp_api *a = calloc(1, sizeof(*a));
        int fd = -1, r;

        *ret_error = NULL;
        if (!a || !(a->db_path = strdup(cfg->db_path)) || !(a->socket_path = strdup(socket_path)))
                return -ENOMEM;
        a->uid = getuid();
        r = hp_host_open(cfg->host_root, &a->host);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot open host root '%s': %s", cfg->host_root ? cfg->host_root : "/",
                                 strerror(-r));
        r = hp_names_new(NULL, &a->names);
        if (r < 0)
                return r;
        r = listen_unix(socket_path, &fd);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot listen on '%s': %s", socket_path, strerror(-r));
        a->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, a,
                                  MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, 64,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
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
        free(a->db_path);
        free(a->socket_path);
        free(a);
}

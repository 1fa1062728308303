/* What the API's files share: the server's state, one request as the routes
 * see it, and the reply they give. Not for use outside src/api/. */
#pragma once

#include <gnutls/abstract.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "api/metrics.h"
#include "api/server.h"
#include "ctl/ctl.h"
#include "util/token.h"

struct MHD_Connection;
struct hp_api_listener;
struct hp_api_tcp_addr;
struct hp_api_tls;
struct hp_host;
struct hp_names;

struct hp_api {
        enum hp_api_role role;
        struct hp_ctl_config ctl; /* a controller's */
        char **controllers;       /* ctl.controllers' strings */
        struct hp_api_listener **listeners; /* one libmicrohttpd daemon each */
        size_t n_listeners;
        struct hp_host *host;
        struct hp_names *names;
        char *db_path;
        char *host_root; /* as given, "/" when none */
        char *socket_path; /* the Unix socket, once it listens */
        int socket_lock;   /* SOCKET.lock, held while it does; -1 before */
        char *web_root; /* the web UI's files */
        char *run_dir, *state_dir;
        char **storage_dirs, **block_devices; /* NULL: the environment's, or the default */
        uid_t uid;
        struct hp_api_limits limits; /* of the TCP endpoints, defaults filled in */
        /* Requests are served by threads side by side (host is a directory
         * fd, names takes its own lock). Writes are operations (src/ops/),
         * which lock what they change, across processes: an IOMMU group,
         * a VM. */
        /* What /metrics reports of the daemon's own work (metrics.c). */
        pthread_mutex_t metrics_lock;
        struct hp_api_counters counters;
};

struct hp_api_request {
        struct MHD_Connection *conn;
        const char *method, *url;
        const char *body; /* NULL when the request has none */
        size_t body_len;
        bool local;        /* on the Unix socket, peer checked */
        const char *actor; /* who asks: "root", "uid 1000", "token NAME", "host NAME" */
        enum hp_token_role access; /* what they may do: admin on the Unix socket, a token's role */
        const char *agent_host; /* on a controller, the host whose credential came; NULL otherwise */
        /* The hosts and VMs a token is limited to (none: no limit). */
        const struct hp_token_scope *scope;
};

/* What a route answers: a JSON document, or text of a content type. */
struct hp_api_reply {
        unsigned status;
        json_t *body;     /* a reference the reply owns, or NULL */
        char *text;       /* malloc'd, or NULL */
        size_t text_len;
        const char *content_type; /* for text */
        const char *challenge;    /* WWW-Authenticate, for a 401 */
        bool close;               /* end the connection after it (a refused client) */
};

struct hp_api_reply hp_api_error(unsigned status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* 200 with body, or 500 when body is NULL (out of memory). */
struct hp_api_reply hp_api_ok(json_t *body);

/* Who asks (auth.c). On the Unix socket: root or the daemon's user, the
 * peer's name in actor; they may do everything. On TCP: the bearer token's
 * owner, actor "token NAME", *ret_access its role; when not, *ret_refusal
 * is the reply (401, or 500). */
bool hp_api_peer_allowed(struct hp_api *a, struct MHD_Connection *conn, char *actor, size_t size);
/* On a controller a bearer may also be a host's credential (docs/cluster.md
 * "Trust"): then actor is "host NAME" and agent_host (size bytes) NAME;
 * agent_host is "" for an API token. */
bool hp_api_bearer_allowed(struct hp_api *a, struct MHD_Connection *conn, char *actor, size_t size,
                           char *agent_host, size_t host_size, enum hp_token_role *ret_access,
                           struct hp_token_scope *ret_scope, struct hp_api_reply *ret_refusal);

/* The role a request needs (access.c): viewer to read, operator to power
 * and edit VMs and label devices, admin for the rest. */
enum hp_token_role hp_api_role_needed(const char *method, const char *url);
/* Whether req's caller may make it; when not, *ret_refusal is the 403
 * that names the role it needs. */
bool hp_api_access_allowed(const struct hp_api_request *req, struct hp_api_reply *ret_refusal);
/* Whether req's token, if it is limited to hosts or VMs, may make it (the
 * VM or host it names, read from the store where needed); when not,
 * *ret_refusal is the 403 that names the limits. */
bool hp_api_scope_allowed(struct hp_api *a, const struct hp_api_request *req,
                          struct hp_api_reply *ret_refusal);
/* Whether req's token may act on host, on VM vm (on host, or NULL: on
 * none): true for a token without limits. */
bool hp_api_scope_has_host(const struct hp_api_request *req, const char *host);
bool hp_api_scope_has_vm(const struct hp_api_request *req, const char *vm, const char *host);
/* Removes from list (a JSON array of objects) what req's token may not see:
 * entries whose name_key is not one of its VMs (on the host in host_key),
 * or with name_key NULL, whose host_key is not one of its hosts. local: the
 * host of entries without host_key (a host's own daemon's: this machine). */
void hp_api_scope_filter(const struct hp_api_request *req, json_t *list, const char *name_key,
                         const char *host_key, const char *local);
/* This machine's name (uname -n): the host a standalone daemon's routes act on. */
void hp_api_local_host(char *buf, size_t size);

/* The connections of a TCP endpoint that have shown no token yet (admit.c),
 * oldest first: at most max; one more drops the oldest. */
struct hp_api_conn;
struct hp_api_gate {
        pthread_mutex_t lock;
        struct hp_api_conn *head, *tail;
        unsigned n, max;
};
void hp_api_gate_init(struct hp_api_gate *g, unsigned max_pending);
void hp_api_gate_done(struct hp_api_gate *g);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback, cls the gate. */
void hp_api_gate_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe);
/* conn's request carried a valid token: it no longer counts as pending. */
void hp_api_gate_pass(struct MHD_Connection *conn);

/* TCP listening sockets (listen.c; the Unix socket is hp_unix_listen()); -errno. */
int hp_api_socket_tcp(const struct hp_api_tcp_addr *addr, int *ret);
/* The pair the TCP endpoints serve (tls.c). hp_api_tls_start() reads both
 * PEM files and checks them to work together, for a's first TLS endpoint
 * (its others give the same files); hp_api_tls_stop() frees every pair a
 * served, once its endpoints stopped. The endpoints hand libmicrohttpd
 * hp_api_tls_callback() (MHD_OPTION_HTTPS_CERT_CALLBACK). */
int hp_api_tls_start(struct hp_api *a, const struct hp_api_tls *tls, char **ret_error);
void hp_api_tls_stop(struct hp_api *a);
gnutls_certificate_retrieve_function2 *hp_api_tls_callback(void);

/* The route table: every request that passed authentication. */
struct hp_api_reply hp_api_route(struct hp_api *a, const struct hp_api_request *req);
/* A controller's own routes (routes-cluster.c): the agents', hosts, the
 * cluster's devices, join tokens. *ret_handled false: not one of them. */
struct hp_api_reply hp_api_route_cluster(struct hp_api *a, const struct hp_api_request *req, bool *ret_handled);
/* Whether a request may come without a bearer: a host's join carries its
 * join token in its body. */
bool hp_api_join_path(struct hp_api *a, const char *method, const char *url);

/* The operations' context for a request: the daemon's host and state, the
 * requester as actor ("root via hwpassd"), written to actor (size bytes). */
struct hp_ops_ctx;
void hp_api_ops_ctx(struct hp_api *a, const struct hp_api_request *req, char *actor, size_t size,
                    struct hp_ops_ctx *ret);
/* An operation's outcome as the answer: its document with ok_status, or its
 * error (lines joined with "; ", the detail kept). Takes doc. */
struct hp_api_reply hp_api_op_reply(struct hp_ops_ctx *ctx, int r, json_t *doc, unsigned ok_status);

/* The body as an object with only the allowed fields; a 400 in *err. A
 * missing body is an empty object when empty_ok. */
int hp_api_body_object(const struct hp_api_request *req, const char *const *allowed, bool empty_ok, json_t **ret,
                       struct hp_api_reply *err);
/* A canonical address from a URL segment, or a 400 in *err. */
int hp_api_parse_address(const char *arg, char canon[13], struct hp_api_reply *err);
/* After a controller's route ran: a write other than a heartbeat or a
 * power-on (which keep the controller's picture of the cluster up to date
 * themselves) may have changed what placement reads (a device's settings,
 * a VM deleted, maintenance, a host removed): the picture is loaded again. */
void hp_api_cluster_written(const struct hp_api_request *req);
/* url is PREFIX NAME SUFFIX (suffix NULL: none), NAME one non-empty path
 * segment shorter than size: it goes to buf. */
bool hp_api_segment(const char *url, const char *prefix, const char *suffix, char *buf, size_t size);
/* 405 naming the methods the path takes ("GET or POST"). */
struct hp_api_reply hp_api_method_error(const struct hp_api_request *req, const char *allowed);
/* 400 for a VM name that cannot be one. */
struct hp_api_reply hp_api_bad_name(const char *name);

/* The VM routes (routes-vm.c): POST /v1/vms; POST /v1/vms/{name}/start,
 * /stop; DELETE /v1/vms/{name}; PUT /v1/vms/{name}/settings, /autostart;
 * POST /v1/vms/{name}/pci, /usb; DELETE /v1/vms/{name}/devices/{pciN|usbN};
 * POST /v1/host/start-vms, /v1/host/stop-vms; GET /v1/vms/{name}/explain. */
struct hp_api_reply hp_api_post_vm(struct hp_api *a, const struct hp_api_request *req);
struct hp_api_reply hp_api_vm_start(struct hp_api *a, const struct hp_api_request *req, const char *name);
struct hp_api_reply hp_api_vm_stop(struct hp_api *a, const struct hp_api_request *req, const char *name);
struct hp_api_reply hp_api_vm_delete(struct hp_api *a, const struct hp_api_request *req, const char *name);
struct hp_api_reply hp_api_vm_settings(struct hp_api *a, const struct hp_api_request *req, const char *name);
struct hp_api_reply hp_api_vm_add(struct hp_api *a, const struct hp_api_request *req, const char *name, bool pci);
struct hp_api_reply hp_api_vm_autostart(struct hp_api *a, const struct hp_api_request *req, const char *name);
struct hp_api_reply hp_api_vm_remove_device(struct hp_api *a, const struct hp_api_request *req, const char *name,
                                            const char *which);
struct hp_api_reply hp_api_host_vms(struct hp_api *a, const struct hp_api_request *req, bool start);
struct hp_api_reply hp_api_vm_explain(struct hp_api *a, const struct hp_api_request *req, const char *name);

/* 0 when name is a stored VM; otherwise *err is the reply: 400 for a bad
 * name, 404 for an unknown one, 500 when the store cannot be read. */
int hp_api_vm_exists(struct hp_api *a, const char *name, struct hp_api_reply *err);

/* The web UI's routes (routes-ui.c): GET /v1/usb, GET /v1/vms/{name}/log
 * (text/plain), and the UI's files for any path outside /v1/. */
struct hp_api_reply hp_api_usb(struct hp_api *a);
struct hp_api_reply hp_api_vm_log(struct hp_api *a, const char *name);
struct hp_api_reply hp_api_web(struct hp_api *a, const struct hp_api_request *req);
/* Whether url is one of the UI's files: they hold no host data and are
 * served without credentials, so the page can ask for a token. */
bool hp_api_web_path(const char *url);

/* Largest request body read; a longer one is refused with 413. A host's
 * heartbeat carries its whole inventory: it may be longer. */
#define HP_API_BODY_MAX (64 * 1024)
#define HP_API_REPORT_MAX (8 * 1024 * 1024)
/* Deepest nesting of arrays and objects a request body may have. */
#define HP_API_DEPTH_MAX 8

/* GET /metrics (metrics.c). */
struct hp_api_reply hp_api_metrics(struct hp_api *a, const struct hp_api_request *req);
/* A VM start that ran from start (CLOCK_MONOTONIC) until now: observed in
 * the power-on histogram when ok, counted as a failure otherwise. */
void hp_api_power_on_observe(struct hp_api *a, const struct timespec *start, bool ok);
/* One answer given, by its HTTP status. */
void hp_api_request_count(struct hp_api *a, unsigned status);

/* hwpassd's HTTP/JSON API: one Unix socket, where the peer's credentials
 * decide, and any number of TCP endpoints, where a bearer token does (TLS,
 * or plain HTTP on loopback only). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "ctl/ctl.h"

struct hp_api;

/* Where hwpassd listens, and keeps the state, unless told otherwise; the CLI
 * finds it and the state there too. */
#define HP_DEFAULT_SOCKET "/run/hwpass/hwpass.sock"
#define HP_DEFAULT_DB "/var/lib/hwpass/hwpass.db"

/* What a TCP endpoint allows before and after a client shows its token
 * (0: the default). Seconds count from the last byte received. */
#define HP_API_HEADER_TIMEOUT 5     /* a connection without a token: its request headers */
#define HP_API_IDLE_TIMEOUT 60      /* one with a token, between its requests */
#define HP_API_MAX_CONNECTIONS 256  /* at once, each served by a thread */
#define HP_API_MAX_UNAUTHENTICATED 64 /* of those, without a token yet: one more drops the oldest */
struct hp_api_limits {
        unsigned header_timeout, idle_timeout, max_connections, max_unauthenticated;
};

/* l with every 0 replaced by its default. */
struct hp_api_limits hp_api_limits_or_default(const struct hp_api_limits *l);

/* What a daemon is (DESIGN.md §1): a standalone host (both halves over
 * SQLite), a cluster's controller (over PostgreSQL: hosts join, report and
 * are told what to hold; its device routes name a host), or an agent. */
enum hp_api_role { HP_ROLE_STANDALONE, HP_ROLE_CONTROLLER, HP_ROLE_AGENT };

struct hp_api_config {
        enum hp_api_role role;
        struct hp_ctl_config timing; /* a controller's heartbeat, lease and margin (ctl/ctl.h) */
        char *const *controllers;    /* a controller's: the URLs agents are told of, or NULL */
        const char *host_root; /* NULL: "/" */
        const char *db_path;
        const char *web_root; /* the web UI's files */
        const char *run_dir;   /* the run and state directories (ops/ops.h's defaults are the caller's) */
        const char *state_dir;
        char *const *storage_dirs; /* where VMs' files may lie (ops/storage.h); NULL: the default */
        char *const *block_devices;
        struct hp_api_limits limits;
};

/* A TCP endpoint, as "--listen tcp:ADDR:PORT" names it. */
struct hp_api_tcp_addr {
        struct sockaddr_storage sa;
        socklen_t sa_len;
        bool loopback; /* 127.0.0.0/8 or ::1: plain HTTP is allowed */
        char text[64]; /* "127.0.0.1:8443", "[::1]:8443" */
};

/* Parses "ADDR:PORT": an IPv4 address ("127.0.0.1:8443") or an IPv6 one in
 * brackets ("[::1]:8443"), and a port from 1 to 65535. -EINVAL with
 * *ret_error saying what is wrong. */
int hp_api_parse_tcp(const char *s, struct hp_api_tcp_addr *ret, char **ret_error);

/* TLS for a TCP endpoint: a PEM certificate (chain) and its private key.
 * A server serves one pair on all its TCP endpoints (and one server in a
 * process serves TLS). */
struct hp_api_tls {
        const char *cert_path, *key_path;
};

/* The certificate served: its file, the leaf's subject ("CN=ctl1,O=hwpass"),
 * validity (unix seconds) and SHA-256 fingerprint ("AB:CD:...", as
 * 'openssl x509 -fingerprint -sha256' shows it). */
struct hp_api_tls_info {
        const char *cert_path; /* the server's, valid while it lives */
        char subject[256];
        char fingerprint[100];
        time_t not_before, not_after;
};

/* The server's state (host root, names, store path); it serves nothing until
 * an endpoint is added. On failure *ret_error (malloc'd) may say why, here
 * and below. */
int hp_api_new(const struct hp_api_config *cfg, struct hp_api **ret, char **ret_error);
/* One daemon per socket: takes PATH.lock, held while this server lives.
 * Another daemon holding it (or, without a lock, anything answering on the
 * socket) is refused with -EADDRINUSE, never unplugged by replacing its
 * socket. hp_api_listen_unix() claims it too, when not done before. */
int hp_api_claim_unix(struct hp_api *a, const char *socket_path, char **ret_error);
/* Listens on socket_path (mode 0600, a stale socket replaced); one per server. */
int hp_api_listen_unix(struct hp_api *a, const char *socket_path, char **ret_error);
/* Listens on addr; tls NULL serves plain HTTP, refused (-EPERM) unless
 * addr is loopback. Unreadable or mismatched PEM files: -EINVAL, -errno. */
int hp_api_listen_tcp(struct hp_api *a, const struct hp_api_tcp_addr *addr, const struct hp_api_tls *tls,
                      char **ret_error);
/* The pair served now; -ENOENT when no endpoint serves TLS. */
int hp_api_tls_current(const struct hp_api *a, struct hp_api_tls_info *ret);
/* Reads the certificate and key files again and serves them on the TCP
 * endpoints' new connections; those open keep the pair they began with, and
 * no socket is closed. A pair that cannot be used (unreadable, the key not
 * the certificate's: -EINVAL) or has expired (-EKEYEXPIRED) is refused with
 * *ret_error saying why, and the pair served stays. -ENOENT: no endpoint
 * serves TLS. */
int hp_api_tls_reload(struct hp_api *a, struct hp_api_tls_info *ret, char **ret_error);
/* Stops every endpoint (the socket file removed) and frees a. */
void hp_api_stop(struct hp_api *a);
static inline void hp_api_stopp(struct hp_api **a)
{
        hp_api_stop(*a);
}

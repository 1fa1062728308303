/* hwpassd: the host daemon. At start it brings the store up to date, applies
 * the stored passthrough state again, re-attaches to the VMs that kept
 * running while it was away (their supervisors outlive it), serves the API,
 * tells systemd it is ready, and on the first start since boot starts the
 * autostart VMs. Besides its Unix socket it may serve TCP endpoints, which
 * ask for a bearer token. It stops on SIGTERM or SIGINT, leaving the VMs
 * running unless --stop-vms-at-exit. On SIGHUP (systemctl reload) it reads
 * its TLS certificate and key again: new connections get the new pair, and
 * a pair that cannot be used is refused, the old one kept. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "leader.h"
#include "api/server.h"
#include "ctl/ctl.h"
#include "ops/device.h"
#include "ops/ops.h"
#include "ops/storage.h"
#include "ops/vm.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/unixsock.h"
#include "vm/qmp.h"
#include "vm/supervise.h"
#include "vm/user.h"

/* In the run directory, on tmpfs: gone at boot, so autostart runs once per
 * boot, not at every restart of the daemon. */
#define AUTOSTART_MARK "autostart-done"

#define DEFAULT_WEB_ROOT HP_DATADIR "/web"

#define TCP_MAX 8

/* The TCP endpoints of --listen tcp:ADDR:PORT, and the TLS they are served with. */
struct tcp_listen {
        struct hp_api_tcp_addr addr[TCP_MAX];
        size_t n;
        struct hp_api_tls tls;
};

struct options {
        enum hp_api_role role;
        const char *listen_on, *db, *root, *web_root, *run_dir, *state_dir;
        /* An agent's: its controllers, the cluster CA, its join token, its name. */
        char **controllers, **isolation;
        /* Where VMs' files may lie (ops/storage.h): NULL, the environment's or the default. */
        char **storage_dirs, **block_devices;
        const char *ca, *join_token, *name, *watchdog;
        /* A controller's: the URLs agents are told of; the heartbeat, lease and
         * failover margin it grants (a profile's, each given one over it). */
        char **advertise;
        const char *ha_profile;
        unsigned heartbeat_ms, lease_ms, margin_ms;
        struct hp_ctl_config timing; /* what they make together */
        struct tcp_listen tcp;
        struct hp_api_limits limits;
        bool stop_vms_at_exit;
        enum { AUTOSTART_BOOT, AUTOSTART_ALWAYS, AUTOSTART_NEVER } autostart;
};

/* As it prints. */
/* clang-format off */
static const char usage_text[] =
        "usage: hwpassd [--listen unix:PATH] [--listen tcp:ADDR:PORT]... [--tls-cert FILE --tls-key FILE]\n"
        "               [--role standalone|controller|agent]\n"
        "               [--db PATH|URL] [--host-root DIR] [--web-root DIR] [--run-dir DIR] [--state-dir DIR]\n"
        "               [--autostart boot|always|never] [--stop-vms-at-exit] [--version]\n"
        "               [--storage-dir DIR]... [--block-device PATH]... [--qemu-users BASE:COUNT|off]\n"
        "               [--header-timeout SECONDS] [--idle-timeout SECONDS]\n"
        "               [--max-connections N] [--max-unauthenticated N]\n"
        "  controller:  --db postgresql://... [--advertise URL]... [--ha-profile default|fast]\n"
        "               [--heartbeat-ms N] [--lease-ms N] [--failover-margin-ms N]\n"
        "  agent:       --controller URL[,URL...] --ca FILE [--join-token TOKEN] [--name NAME]\n"
        "               [--isolation-address HOST:PORT]... [--watchdog DEVICE]\n"
        "  --role: standalone (default: one host, SQLite), controller (a cluster's, over a PostgreSQL\n"
        "        that every controller shares; hosts join and heartbeat to it) or agent (this host in a\n"
        "        cluster: joins with --join-token, or HWPASS_JOIN_TOKEN, the first time, keeps its\n"
        "        credential in the state directory, heartbeats to the first controller that answers)\n"
        "  --advertise: a controller's URL that agents are told of (one per controller)\n"
        "  --ha-profile: how fast a silent host is failed and its VMs restarted elsewhere: default\n"
        "        (heartbeat 1 s, lease 5 s, margin 5 s: failed 10 s after its last heartbeat, so a host\n"
        "        that is only slow is not) or fast (0.5 s, 2 s, 1 s: failed after 3 s); give every\n"
        "        controller the same; --heartbeat-ms, --lease-ms and --failover-margin-ms change one\n"
        "  --name: this host's name in the cluster (default: its hostname)\n"
        "  --isolation-address: an address (e.g. the gateway's SSH port) whose answer tells this host it\n"
        "        is not cut off when no controller answers; a host cut off stops its cluster VMs before\n"
        "        its lease ends, so they can be restarted elsewhere (each VM's \"isolation\" setting)\n"
        "  --watchdog: a watchdog device to feed (/dev/watchdog; 'modprobe softdog' gives one): the host\n"
        "        is reset when the agent hangs, or cannot stop its VMs when cut off, before the cluster\n"
        "        restarts them elsewhere; a restart of hwpassd that is back in time keeps them running\n"
        "  unix: the API for root and the daemon's user (default " HP_DEFAULT_SOCKET ")\n"
        "  tcp:  asks for 'Authorization: Bearer TOKEN' ('hwpass token create NAME');\n"
        "        plain HTTP on loopback only (127.0.0.1, [::1]), TLS anywhere\n"
        "  --tls-cert, --tls-key: read again on SIGHUP (systemctl reload): new connections get\n"
        "        the new pair; one that cannot be used is refused and the old one kept\n"
        "  limits of each tcp endpoint:\n"
        "  --header-timeout: a connection that has not sent a request with a valid token\n"
        "        is closed after this many seconds without a byte (default " HP_STR(HP_API_HEADER_TIMEOUT) ")\n"
        "  --idle-timeout: one that has, after this many idle seconds (default " HP_STR(HP_API_IDLE_TIMEOUT) ")\n"
        "  --max-connections: connections at once, a thread each (default " HP_STR(HP_API_MAX_CONNECTIONS) ")\n"
        "  --max-unauthenticated: of those, without a valid token yet; one more closes\n"
        "        the oldest of them (default " HP_STR(HP_API_MAX_UNAUTHENTICATED) ")\n"
        "  --web-root: the web UI's files (default " DEFAULT_WEB_ROOT ")\n"
        "  --run-dir: sockets, VM run directories, locks (default " HP_DEFAULT_RUN_DIR ";\n"
        "        environment: HWPASS_RUN_DIR); the socket defaults to RUN_DIR/hwpass.sock\n"
        "  --state-dir: the database and EFI variable stores (default " HP_DEFAULT_STATE_DIR ";\n"
        "        environment: HWPASS_STATE_DIR); the database defaults to STATE_DIR/hwpass.db\n"
        "  --storage-dir: where VMs' disks, kernels and ROM files may lie, symlinks resolved (default\n"
        "        STATE_DIR/images; environment: HWPASS_STORAGE_DIRS, DIR:DIR); hwpass's own data\n"
        "        directory (the probe guest's) always; a VM with a file elsewhere is not defined,\n"
        "        and one stored before is listed at start (event vm-paths-outside) and not started\n"
        "  --block-device: a block device a VM may use as a disk (environment: HWPASS_BLOCK_DEVICES)\n"
        "  --qemu-users: the uids each VM's QEMU runs as, one of its own while it runs, owning only\n"
        "        its run directory, VFIO groups, USB devices and disks (default " HP_STR(HP_VM_USERS_DEFAULT_BASE) ":"
        HP_STR(HP_VM_USERS_DEFAULT_COUNT) ";\n"
        "        environment: HWPASS_QEMU_USERS); off runs QEMU as root\n"
        "  --autostart: start the autostart VMs on the first start since boot (boot),\n"
        "        at every start (always) or never\n";
/* clang-format on */

/* parse_args' answer to --help and --version: the text was printed, exit 0. */
#define HELP_SHOWN (-1)

static int usage(const char *fmt, const char *arg)
{
        fprintf(stderr, "hwpassd: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\n%s", usage_text);
        return 2;
}

/* A limit's value into *ret: a whole number from 1 to max. An exit status. */
static int parse_limit(const char *opt, const char *arg, unsigned max, unsigned *ret)
{
        uint64_t v;
        char msg[160];

        if (hp_parse_u64(arg, 10, &v) < 0 || v == 0 || v > max || arg[0] < '0' || arg[0] > '9') {
                snprintf(msg, sizeof(msg), "invalid %s '%%s': a whole number from 1 to %u", opt, max);
                return usage(msg, arg);
        }
        *ret = (unsigned)v;
        return 0;
}

/* The limit an option sets, and its largest value; NULL when opt sets none. */
static unsigned *limit_of(struct options *o, const char *opt, unsigned *ret_max)
{
        static const struct {
                const char *name;
                size_t offset;
                unsigned max;
        } limits[] = {
                { "--header-timeout", offsetof(struct hp_api_limits, header_timeout), 3600 },
                { "--idle-timeout", offsetof(struct hp_api_limits, idle_timeout), 86400 },
                { "--max-connections", offsetof(struct hp_api_limits, max_connections), 65536 },
                { "--max-unauthenticated", offsetof(struct hp_api_limits, max_unauthenticated), 65536 },
        };

        for (size_t i = 0; i < ELEMENTSOF(limits); i++)
                if (streq(opt, limits[i].name)) {
                        *ret_max = limits[i].max;
                        return (unsigned *)((char *)&o->limits + limits[i].offset);
                }
        return NULL;
}

/* A --listen tcp: value into t; an exit status, 0 when it is good. */
static int add_tcp(struct tcp_listen *t, const char *spec)
{
        _cleanup_free_ char *err = NULL;

        if (t->n == TCP_MAX)
                return usage("%s", "at most 8 --listen tcp:ADDR:PORT");
        if (hp_api_parse_tcp(spec + strlen("tcp:"), &t->addr[t->n], &err) < 0)
                return usage("--listen: %s", err ? err : "out of memory");
        t->n++;
        return 0;
}

/* Plain HTTP on loopback only; TLS needs both files. An exit status. */
static int check_tcp(const struct tcp_listen *t)
{
        if (!t->tls.cert_path != !t->tls.key_path)
                return usage("%s: give --tls-cert FILE and --tls-key FILE together",
                             t->tls.cert_path ? "--tls-cert" : "--tls-key");
        if (t->tls.cert_path && t->n == 0)
                return usage("%s", "--tls-cert and --tls-key are for --listen tcp:ADDR:PORT: give one");
        for (size_t i = 0; i < t->n && !t->tls.cert_path; i++)
                if (!t->addr[i].loopback)
                        return usage("--listen tcp:%s is not loopback: give --tls-cert and --tls-key, "
                                     "or listen on 127.0.0.1",
                                     t->addr[i].text);
        return 0;
}

/* Every operation of this daemon (the API's, the agent's, autostart) reads
 * the range from the environment (ops/qemuuser.h). */
static int set_qemu_users(const char *value)
{
        _cleanup_free_ char *err = NULL;
        struct hp_vm_users u;

        if (hp_vm_users_parse(value, &u, &err) < 0)
                return usage("invalid --qemu-users: %s", err ? err : value);
        if (setenv(HP_VM_USERS_ENV, value, 1) < 0)
                return usage("%s", "out of memory");
        return 0;
}

static int parse_role(const char *role, enum hp_api_role *ret)
{
        if (streq(role, "standalone"))
                *ret = HP_ROLE_STANDALONE;
        else if (streq(role, "controller"))
                *ret = HP_ROLE_CONTROLLER;
        else if (streq(role, "agent"))
                *ret = HP_ROLE_AGENT;
        else
                return usage("invalid --role '%s': standalone, controller or agent", role);
        return 0;
}

/* --controller URL[,URL...], each an https:// URL (http:// on loopback: the client checks). */
static int add_controllers(struct options *o, const char *list)
{
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, ",");
                _cleanup_free_ char *u = strndup(p, n);

                if (!u || (n > 0 && hp_strv_push(&o->controllers, u) < 0))
                        return usage("%s", "out of memory");
                p += n + (p[n] == ',');
        }
        if (!o->controllers)
                return usage("invalid --controller '%s': one or more URLs, separated by commas", list);
        return 0;
}

/* The options each role needs, and those it does not take. */
static int check_role(struct options *o)
{
        bool agent = o->role == HP_ROLE_AGENT, controller = o->role == HP_ROLE_CONTROLLER;

        if (agent && (!o->controllers || !o->ca))
                return usage("%s", "--role agent needs --controller URL[,URL...] and --ca FILE (the cluster CA's "
                                   "certificate, from 'hwpass cluster init')");
        if (!agent && (o->controllers || o->ca || o->join_token || o->name || o->isolation || o->watchdog))
                return usage("%s", "--controller, --ca, --join-token, --name, --isolation-address and --watchdog are "
                                   "an agent's (--role agent)");
        if (!controller && (o->advertise || o->heartbeat_ms || o->lease_ms || o->margin_ms || o->ha_profile))
                return usage("%s", "--advertise, --ha-profile, --heartbeat-ms, --lease-ms and --failover-margin-ms are "
                                   "a controller's (--role controller)");
        if (o->ha_profile && hp_ctl_profile(o->ha_profile, &o->timing) < 0)
                return usage("invalid --ha-profile '%s': default or fast", o->ha_profile);
        o->timing.heartbeat_ms = o->heartbeat_ms ?: o->timing.heartbeat_ms;
        o->timing.lease_ms = o->lease_ms ?: o->timing.lease_ms;
        o->timing.margin_ms = o->margin_ms ?: o->timing.margin_ms;
        if (controller && hp_ctl_lease_ms(&o->timing) < 2 * hp_ctl_heartbeat_ms(&o->timing))
                return usage("%s", "the lease must be at least twice the heartbeat (--lease-ms, --heartbeat-ms): one "
                                   "lost heartbeat must not end a host's lease");
        if (controller && !o->db)
                return usage("%s", "--role controller needs --db postgresql://... (the cluster's database)");
        if (agent && !o->join_token)
                o->join_token = getenv("HWPASS_JOIN_TOKEN");
        return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
        struct hp_api_limits full;
        int r;

        for (int i = 1; i < argc; i++) {
                const char *autostart = NULL, *listen_on = NULL, *limit = NULL;
                unsigned limit_max = 0, *limit_dst = limit_of(o, argv[i], &limit_max);
                const char **dst = streq(argv[i], "--listen")      ? &listen_on
                                   : streq(argv[i], "--db")        ? &o->db
                                   : streq(argv[i], "--host-root") ? &o->root
                                   : streq(argv[i], "--web-root")  ? &o->web_root
                                   : streq(argv[i], "--run-dir")   ? &o->run_dir
                                   : streq(argv[i], "--state-dir") ? &o->state_dir
                                   : streq(argv[i], "--tls-cert")  ? &o->tcp.tls.cert_path
                                   : streq(argv[i], "--tls-key")   ? &o->tcp.tls.key_path
                                   : streq(argv[i], "--ca")        ? &o->ca
                                   : streq(argv[i], "--join-token") ? &o->join_token
                                   : streq(argv[i], "--name")      ? &o->name
                                   : streq(argv[i], "--watchdog")  ? &o->watchdog
                                                                   : NULL;
                const char *role = NULL, *urls = NULL, *advertise = NULL, *ms = NULL, *iso = NULL,
                           *storage = NULL, *block = NULL, *qemu_users = NULL;

                if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
                        fputs(usage_text, stdout);
                        return HELP_SHOWN;
                }
                if (streq(argv[i], "--version")) {
                        puts("hwpassd " HP_VERSION);
                        return HELP_SHOWN;
                }
                if (streq(argv[i], "--stop-vms-at-exit")) {
                        o->stop_vms_at_exit = true;
                        continue;
                }
                if (streq(argv[i], "--autostart"))
                        dst = &autostart;
                if (streq(argv[i], "--role"))
                        dst = &role;
                if (streq(argv[i], "--controller"))
                        dst = &urls;
                if (streq(argv[i], "--advertise"))
                        dst = &advertise;
                if (streq(argv[i], "--isolation-address"))
                        dst = &iso;
                if (streq(argv[i], "--storage-dir"))
                        dst = &storage;
                if (streq(argv[i], "--block-device"))
                        dst = &block;
                if (streq(argv[i], "--qemu-users"))
                        dst = &qemu_users;
                if (streq(argv[i], "--heartbeat-ms") || streq(argv[i], "--lease-ms") ||
                    streq(argv[i], "--failover-margin-ms"))
                        dst = &ms;
                if (streq(argv[i], "--ha-profile"))
                        dst = &o->ha_profile;
                if (limit_dst)
                        dst = &limit;
                if (!dst)
                        return usage("unknown option '%s'", argv[i]);
                if (i + 1 >= argc)
                        return usage("%s needs a value", argv[i]);
                *dst = argv[++i];
                if (dst == &listen_on && hp_startswith(listen_on, "tcp:") && (r = add_tcp(&o->tcp, listen_on)) != 0)
                        return r;
                if (dst == &listen_on && !hp_startswith(listen_on, "tcp:"))
                        o->listen_on = listen_on;
                if (dst == &limit && (r = parse_limit(argv[i - 1], limit, limit_max, limit_dst)) != 0)
                        return r;
                if (dst == &ms && (r = parse_limit(argv[i - 1], ms, 3600 * 1000,
                                                   streq(argv[i - 1], "--lease-ms")       ? &o->lease_ms
                                                   : streq(argv[i - 1], "--heartbeat-ms") ? &o->heartbeat_ms
                                                                                          : &o->margin_ms)) != 0)
                        return r;
                if (dst == &role && (r = parse_role(role, &o->role)) != 0)
                        return r;
                if (dst == &urls && (r = add_controllers(o, urls)) != 0)
                        return r;
                if (dst == &advertise && hp_strv_push(&o->advertise, advertise) < 0)
                        return usage("%s", "out of memory");
                if (dst == &iso && (!strchr(iso, ':') || hp_strv_push(&o->isolation, iso) < 0))
                        return usage("invalid --isolation-address '%s': HOST:PORT", iso);
                if (dst == &storage &&
                    (storage[0] != '/' || hp_strv_push(&o->storage_dirs, storage) < 0))
                        return usage("invalid --storage-dir '%s': an absolute directory", storage);
                if (dst == &block &&
                    (block[0] != '/' || hp_strv_push(&o->block_devices, block) < 0))
                        return usage("invalid --block-device '%s': an absolute path", block);
                if (dst == &qemu_users && (r = set_qemu_users(qemu_users)) != 0)
                        return r;
                if (dst != &autostart)
                        continue;
                if (streq(autostart, "boot"))
                        o->autostart = AUTOSTART_BOOT;
                else if (streq(autostart, "always"))
                        o->autostart = AUTOSTART_ALWAYS;
                else if (streq(autostart, "never"))
                        o->autostart = AUTOSTART_NEVER;
                else
                        return usage("invalid --autostart '%s': boot, always or never", autostart);
        }
        if (o->listen_on && (!hp_startswith(o->listen_on, "unix:") || !o->listen_on[5]))
                return usage("cannot listen on '%s': expected unix:PATH or tcp:ADDR:PORT", o->listen_on);
        full = hp_api_limits_or_default(&o->limits);
        if (full.max_unauthenticated > full.max_connections) {
                char msg[160];

                snprintf(msg, sizeof(msg), "--max-unauthenticated %u is larger than --max-connections %u: %%s",
                         full.max_unauthenticated, full.max_connections);
                return usage(msg, "lower it or raise --max-connections");
        }
        r = check_role(o);
        return r ? r : check_tcp(&o->tcp);
}

/* Every TCP endpoint may hold its --max-connections sockets, besides the
 * Unix socket's, the store's and the VMs' files: the soft open-file limit
 * (often 1024) is raised toward the hard one as far as they need. */
static void raise_file_limit(const struct options *o)
{
        struct hp_api_limits full = hp_api_limits_or_default(&o->limits);
        rlim_t need = (rlim_t)o->tcp.n * full.max_connections + 512;
        struct rlimit rl;

        if (o->tcp.n == 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
                return;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < need)
                fprintf(stderr,
                        "hwpassd: the open-file limit is %llu, below the %llu that %zu TCP endpoint%s of "
                        "--max-connections %u may need: raise it (LimitNOFILE= in the unit) or lower "
                        "--max-connections\n",
                        (unsigned long long)rl.rlim_cur, (unsigned long long)need, o->tcp.n, o->tcp.n == 1 ? "" : "s",
                        full.max_connections);
}

/* systemd's readiness protocol: one datagram to $NOTIFY_SOCKET, when set. */
static void notify(const char *state)
{
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa;
        socklen_t len;
        _cleanup_close_ int fd = -1;

        if (!path || (path[0] != '/' && path[0] != '@') || hp_unix_address(path, &sa, &len) < 0)
                return;
        if (sa.sun_path[0] == '@') {
                sa.sun_path[0] = '\0'; /* the abstract namespace: its name has no NUL */
                len--;
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0)
                (void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
}

/* The daemon's own work: an operation in this thread, logged as the
 * command that does the same would end ("hwpass host apply: exit 0"). */
static void logged(struct hp_ops_ctx *c, const char *what, int r, json_t *doc, long not_done)
{
        if (r < 0)
                fprintf(stderr, "hwpassd: hwpass %s: exit %d: %s\n", what, hp_op_exit_code(c->error.kind),
                        c->error.message ? c->error.message : strerror(-r));
        else
                fprintf(stderr, "hwpassd: hwpass %s: exit %d (%lld done, %ld not)\n", what, not_done ? 1 : 0,
                        json_integer_value(json_object_get(doc, json_object_get(doc, "changed") ? "changed" : "done")),
                        not_done);
        hp_op_error_done(&c->error);
        json_decref(doc);
}

static void apply_state(struct hp_ops_ctx *c)
{
        json_t *doc = NULL;
        int r = hp_ops_host_apply(c, false, &doc);

        logged(c, "host apply", r, doc, r < 0 ? 0 : (long)json_integer_value(json_object_get(doc, "not_applied")));
}

/* VMs with files outside the storage directories: said once at start (and
 * recorded), so that an upgrade that brought the check lists them. */
static void audit_paths(struct hp_ops_ctx *c)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        json_t *vm;
        size_t i;
        int r = hp_ops_storage_audit(c, &doc);

        if (r < 0) {
                fprintf(stderr, "hwpassd: cannot check the VMs' files: %s\n",
                        c->error.message ?: strerror(-r));
                hp_op_error_done(&c->error);
                return;
        }
        json_array_foreach (json_object_get(doc, "vms"), i, vm) {
                _cleanup_free_ char *paths = json_dumps(json_object_get(vm, "paths"), JSON_COMPACT);

                fprintf(stderr,
                        "hwpassd: VM '%s' has files outside the storage directories: %s: it will "
                        "not start until "
                        "they are moved into one or their directory is allowed (--storage-dir)\n",
                        json_string_value(json_object_get(vm, "name")), paths ?: "?");
        }
}

static void start_vms(struct hp_ops_ctx *c, bool start)
{
        json_t *doc = NULL;
        int r = start ? hp_ops_host_start_vms(c, NULL, NULL, &doc) : hp_ops_host_stop_vms(c, 60, NULL, NULL, &doc);

        logged(c, start ? "host start-vms" : "host stop-vms", r, doc,
               r < 0 ? 0 : (long)json_integer_value(json_object_get(doc, "failed")));
}

/* The VMs recorded as up: still supervised and answering QMP (attached),
 * or lost while the daemon was away (put right). */
static void reattach(struct hp_store *s, const char *run_dir)
{
        struct hp_vm_record *recs = NULL;
        size_t n = 0, attached = 0;
        int r = hp_store_vm_list(s, &recs, &n);

        if (r < 0) {
                fprintf(stderr, "hwpassd: cannot read the VMs: %s\n", strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(hp_qmp_closep) struct hp_qmp *q = NULL;
                json_t *status = NULL;
                char msg[512];

                if (streq(recs[i].state, "off") || hp_vm_record_settle(s, run_dir, &recs[i]) != 0)
                        continue;
                if (!recs[i].qmp_path || hp_qmp_connect(recs[i].qmp_path, 2000, &q) < 0 ||
                    hp_qmp_execute(q, "query-status", NULL, 2000, &status, NULL) < 0) {
                        snprintf(msg, sizeof(msg), "supervisor %" PRId64 " runs; QMP at %s does not answer (yet)",
                                 recs[i].pid, recs[i].qmp_path ? recs[i].qmp_path : "(none)");
                } else {
                        snprintf(msg, sizeof(msg), "supervisor %" PRId64 ", QMP %s: %s", recs[i].pid,
                                 recs[i].qmp_path, json_string_value(json_object_get(status, "status")) ?: "?");
                        attached++;
                }
                json_decref(status);
                (void)hp_store_event_add(s, "vm-attached", recs[i].name, msg);
                fprintf(stderr, "hwpassd: VM '%s': %s\n", recs[i].name, msg);
        }
        hp_vm_records_free(recs, n);
        fprintf(stderr, "hwpassd: %zu running VM%s re-attached\n", attached, attached == 1 ? "" : "s");
}

static bool autostart_due(const struct options *o, const char *run_dir)
{
        char mark[512];
        int fd;

        if (o->autostart != AUTOSTART_BOOT)
                return o->autostart == AUTOSTART_ALWAYS;
        snprintf(mark, sizeof(mark), "%s/%s", run_dir, AUTOSTART_MARK);
        fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return false; /* done since this boot (or /run is not ours) */
        close(fd);
        return true;
}

/* The store brought to this version (the API's readers need it), the start
 * recorded, and the VMs that kept running re-attached: all before the API
 * answers, so its first answer already shows them. One connection for all. */
static int open_store(const char *db, const char *run_dir, bool runs_vms)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        int r = hp_store_open(db, &s, &err);

        if (r >= 0)
                r = hp_store_set_actor(s, "hwpassd");
        if (r < 0) {
                fprintf(stderr, "hwpassd: %s\n", err ? err : strerror(-r));
                return r;
        }
        (void)hp_store_event_add(s, "daemon-started", NULL, NULL);
        if (runs_vms)
                reattach(s, run_dir);
        return 0;
}

/* "TLS certificate FILE: SUBJECT, valid until DATE, SHA-256 FINGERPRINT". */
static void log_tls(const char *what, const struct hp_api_tls_info *t)
{
        char until[32] = "?";
        struct tm tm;

        if (gmtime_r(&t->not_after, &tm))
                strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
        fprintf(stderr, "hwpassd: %s TLS certificate %s: %s, valid until %s, SHA-256 %s\n", what, t->cert_path,
                t->subject, until, t->fingerprint);
        if (t->not_after <= time(NULL))
                fprintf(stderr,
                        "hwpassd: the TLS certificate %s has expired: clients refuse it; renew it ('hwpass cluster "
                        "cert DIR NAME --renew' where the cluster CA is kept), copy the pair here and reload "
                        "(systemctl reload hwpassd, or SIGHUP)\n",
                        t->cert_path);
}

/* SIGHUP: the TLS pair read again. systemd is told of the reload (RELOADING=1
 * with the monotonic time it began, then READY=1), so 'systemctl reload'
 * returns once it is done. */
static void reload(struct hp_api *api)
{
        _cleanup_free_ char *err = NULL, *state = NULL;
        struct hp_api_tls_info t, old;
        struct timespec ts;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (asprintf(&state, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)ts.tv_sec * 1000000ULL +
                                                                            (unsigned long long)ts.tv_nsec / 1000) >= 0)
                notify(state);
        r = hp_api_tls_reload(api, &t, &err);
        if (r == -ENOENT)
                fprintf(stderr, "hwpassd: reload: %s\n", err ? err : strerror(-r));
        else if (r < 0 && hp_api_tls_current(api, &old) >= 0)
                fprintf(stderr, "hwpassd: reload refused: %s; still serving %s (SHA-256 %s)\n",
                        err ? err : strerror(-r), old.subject, old.fingerprint);
        else if (r < 0)
                fprintf(stderr, "hwpassd: reload refused: %s\n", err ? err : strerror(-r));
        else
                log_tls("reloaded: new connections get the", &t);
        notify("READY=1\nSTATUS=serving the API");
}

/* The daemon, once its options are read; an exit status. */
static int run(struct options *opts)
{
        /* Freed in reverse: the agent's thread stops before the API and the host it reads. */
        _cleanup_(hp_host_freep) struct hp_host *host = NULL;
        _cleanup_(hp_api_stopp) struct hp_api *api = NULL;
        _cleanup_(hp_agent_stopp) struct hp_agent *agent = NULL;
        _cleanup_(hp_leader_stopp) struct hp_leader *leader = NULL;
        _cleanup_free_ char *err = NULL, *socket = NULL, *db = NULL;
        struct options o = *opts;
        struct hp_ops_ctx ctx = { .actor = "hwpassd" };
        struct hp_api_tls_info tls;
        bool controller = o.role == HP_ROLE_CONTROLLER;
        char hostname[HP_STORE_HOST_NAME_MAX + 1];
        sigset_t set;
        int sig, r;

        ctx.run_dir = o.run_dir;
        ctx.state_dir = o.state_dir;
        ctx.storage_dirs = o.storage_dirs;
        ctx.block_devices = o.block_devices;
        hp_ops_ctx_default_paths(&ctx);
        if (!o.listen_on && asprintf(&socket, "unix:%s/hwpass.sock", ctx.run_dir) < 0)
                return 1;
        if (!o.listen_on)
                o.listen_on = socket;
        if (!o.db && asprintf(&db, "%s/hwpass.db", ctx.state_dir) < 0)
                return 1;
        if (!o.db)
                o.db = db;
        ctx.db = o.db;
        ctx.host_root = o.root ? o.root : "/";
        r = hp_host_open(ctx.host_root, &host);
        if (r < 0) {
                fprintf(stderr, "hwpassd: cannot open host root '%s': %s\n", ctx.host_root, strerror(-r));
                return 1;
        }
        ctx.host = host;
        /* A client that goes away mid-answer, or a command that ends before
         * reading its input, must not end the daemon. */
        signal(SIGPIPE, SIG_IGN);
        (void)mkdir(ctx.run_dir, 0700);
        /* Signals are taken synchronously below; the server threads must not get them. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        raise_file_limit(&o);
        hp_store_keep_schema(true);
        r = hp_api_new(&(struct hp_api_config){ .role = o.role,
                                                .timing = o.timing,
                                                .controllers = o.advertise,
                                                .host_root = o.root,
                                                .db_path = o.db,
                                                .web_root = o.web_root,
                                                .run_dir = ctx.run_dir,
                                                .state_dir = ctx.state_dir,
                                                .storage_dirs = o.storage_dirs,
                                                .block_devices = o.block_devices,
                                                .limits = o.limits },
                       &api, &err);
        /* The socket is ours before anything else is done, or nothing is. */
        if (r >= 0)
                r = hp_api_claim_unix(api, o.listen_on + 5, &err);
        if (r < 0) {
                fprintf(stderr, "hwpassd: %s\n", err ? err : strerror(-r));
                return 1;
        }
        if (open_store(o.db, ctx.run_dir, !controller) < 0)
                return 1;
        r = hp_api_listen_unix(api, o.listen_on + 5, &err);
        if (r < 0) {
                fprintf(stderr, "hwpassd: %s\n", err ? err : strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < o.tcp.n; i++) {
                r = hp_api_listen_tcp(api, &o.tcp.addr[i], o.tcp.tls.cert_path ? &o.tcp.tls : NULL, &err);
                if (r < 0) {
                        fprintf(stderr, "hwpassd: %s\n", err ? err : strerror(-r));
                        return 1;
                }
        }
        /* A controller holds no devices and runs no VMs of its own. */
        if (!controller) {
                apply_state(&ctx);
                audit_paths(&ctx);
        }
        if (o.role == HP_ROLE_AGENT) {
                if (!o.name && gethostname(hostname, sizeof(hostname)) == 0) {
                        hostname[sizeof(hostname) - 1] = '\0';
                        o.name = hostname;
                }
                r = hp_agent_start(&(struct hp_agent_config){ .name = o.name, .controllers = o.controllers,
                                                              .ca_file = o.ca, .join_token = o.join_token,
                                                              .ops = &ctx, .isolation_addresses = o.isolation,
                                                              .watchdog = o.watchdog },
                                   &agent, &err);
                if (r < 0) {
                        fprintf(stderr, "hwpassd: agent: %s\n", err ? err : strerror(-r));
                        return 1;
                }
        }
        if (controller) {
                char holder[HP_STORE_HOST_NAME_MAX + 1];

                /* The HA lease's holder: this controller process, by host and pid. */
                if (gethostname(hostname, sizeof(hostname)) != 0)
                        snprintf(hostname, sizeof(hostname), "controller");
                hostname[sizeof(hostname) - 1] = '\0';
                snprintf(holder, sizeof(holder), "%.200s-%ld", hostname, (long)getpid());
                r = hp_leader_start(&ctx, &o.timing, holder, &leader);
                if (r < 0) {
                        fprintf(stderr, "hwpassd: cannot start the HA thread: %s\n", strerror(-r));
                        return 1;
                }
        }
        fprintf(stderr, "hwpassd: serving the API on %s\n", o.listen_on);
        for (size_t i = 0; i < o.tcp.n; i++)
                fprintf(stderr, "hwpassd: serving the API on tcp:%s (%s, bearer tokens)\n", o.tcp.addr[i].text,
                        o.tcp.tls.cert_path ? "TLS" : "plain HTTP on loopback");
        if (hp_api_tls_current(api, &tls) >= 0)
                log_tls("serving the", &tls);
        notify("READY=1\nSTATUS=serving the API");
        if (!controller && autostart_due(&o, ctx.run_dir))
                start_vms(&ctx, true);
        for (;;) {
                if (sigwait(&set, &sig) != 0)
                        continue;
                if (sig != SIGHUP)
                        break;
                reload(api);
        }
        notify("STOPPING=1");
        fprintf(stderr, "hwpassd: stopping (signal %d)\n", sig);
        if (o.stop_vms_at_exit && !controller)
                start_vms(&ctx, false);
        return 0;
}

int main(int argc, char **argv)
{
        struct options o = { .db = getenv("HWPASS_DB"), .root = getenv("HWPASS_HOST_ROOT"),
                             .web_root = DEFAULT_WEB_ROOT };
        int r;

        /* The supervisor of a VM this daemon starts is the hwpass command
         * beside it, or, when there is none, this binary again (exec'd, see
         * vm/supervise.h), with its status pipe on fd 3. */
        if (argc == 4 && streq(argv[1], "vm") && streq(argv[2], "supervise"))
                return hp_vm_supervise(argv[3], 3) < 0 ? 1 : 0;
        r = parse_args(argc, argv, &o);
        if (r == 0)
                r = run(&o);
        else if (r == HELP_SHOWN)
                r = 0;
        /* What the options took, on a refusal too. */
        hp_strv_free(o.controllers);
        hp_strv_free(o.advertise);
        hp_strv_free(o.isolation);
        return r;
}

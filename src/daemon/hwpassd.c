/* hwpassd: the host daemon. At start it brings the store up to date, applies
 * the stored passthrough state again, re-attaches to the VMs that kept
 * running while it was away (their supervisors outlive it), serves the API,
 * tells systemd it is ready, and on the first start since boot starts the
 * autostart VMs. Besides its Unix socket it may serve TCP endpoints, which
 * ask for a bearer token. It stops on SIGTERM or SIGINT, leaving the VMs
 * running unless --stop-vms-at-exit. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/exec.h"
#include "api/server.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/unixsock.h"
#include "vm/qmp.h"
#include "vm/supervise.h"

/* On tmpfs: gone at boot, so autostart runs once per boot, not at every
 * restart of the daemon. */
#define AUTOSTART_MARK "/run/hwpass/autostart-done"

#define DEFAULT_WEB_ROOT HP_DATADIR "/web"

#define TCP_MAX 8

/* The TCP endpoints of --listen tcp:ADDR:PORT, and the TLS they are served with. */
struct tcp_listen {
        struct hp_api_tcp_addr addr[TCP_MAX];
        size_t n;
        struct hp_api_tls tls;
};

struct options {
        const char *listen_on, *db, *root, *web_root;
        struct tcp_listen tcp;
        bool stop_vms_at_exit;
        enum { AUTOSTART_BOOT, AUTOSTART_ALWAYS, AUTOSTART_NEVER } autostart;
};

static const char usage_text[] =
        "usage: hwpassd [--listen unix:PATH] [--listen tcp:ADDR:PORT]... [--tls-cert FILE --tls-key FILE]\n"
        "               [--db PATH] [--host-root DIR] [--web-root DIR]\n"
        "               [--autostart boot|always|never] [--stop-vms-at-exit]\n"
        "  unix: the API for root and the daemon's user (default " HP_DEFAULT_SOCKET ")\n"
        "  tcp:  asks for 'Authorization: Bearer TOKEN' ('hwpass token create NAME');\n"
        "        plain HTTP on loopback only (127.0.0.1, [::1]), TLS anywhere\n"
        "  --web-root: the web UI's files (default " DEFAULT_WEB_ROOT ")\n"
        "  --autostart: start the autostart VMs on the first start since boot (boot),\n"
        "        at every start (always) or never\n";

/* parse_args' answer to --help: the text was printed, exit 0. */
#define HELP_SHOWN (-1)

static int usage(const char *fmt, const char *arg)
{
        fprintf(stderr, "hwpassd: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\n%s", usage_text);
        return 2;
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

static int parse_args(int argc, char **argv, struct options *o)
{
        int r;

        for (int i = 1; i < argc; i++) {
                const char *autostart = NULL, *listen_on = NULL;
                const char **dst = streq(argv[i], "--listen")      ? &listen_on
                                   : streq(argv[i], "--db")        ? &o->db
                                   : streq(argv[i], "--host-root") ? &o->root
                                   : streq(argv[i], "--web-root")  ? &o->web_root
                                   : streq(argv[i], "--tls-cert")  ? &o->tcp.tls.cert_path
                                   : streq(argv[i], "--tls-key")   ? &o->tcp.tls.key_path
                                                                   : NULL;

                if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
                        fputs(usage_text, stdout);
                        return HELP_SHOWN;
                }
                if (streq(argv[i], "--stop-vms-at-exit")) {
                        o->stop_vms_at_exit = true;
                        continue;
                }
                if (streq(argv[i], "--autostart"))
                        dst = &autostart;
                if (!dst)
                        return usage("unknown option '%s'", argv[i]);
                if (i + 1 >= argc)
                        return usage("%s needs a value", argv[i]);
                *dst = argv[++i];
                if (dst == &listen_on && hp_startswith(listen_on, "tcp:") && (r = add_tcp(&o->tcp, listen_on)) != 0)
                        return r;
                if (dst == &listen_on && !hp_startswith(listen_on, "tcp:"))
                        o->listen_on = listen_on;
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
        if (!hp_startswith(o->listen_on, "unix:") || !o->listen_on[5])
                return usage("cannot listen on '%s': expected unix:PATH or tcp:ADDR:PORT", o->listen_on);
        return check_tcp(&o->tcp);
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

/* Runs hwpass ARGV as the daemon's own write; its output goes to our log. */
static int run(struct hp_api *api, char **argv)
{
        _cleanup_(hp_api_exec_result_done) struct hp_api_exec_result res = { 0 };
        int r = hp_api_exec(api, argv, &(struct hp_api_exec_opts){ .actor = "hwpassd" }, &res);

        if (r < 0) {
                fprintf(stderr, "hwpassd: cannot run hwpass %s %s: %s\n", argv[0], argv[1], strerror(-r));
                return r;
        }
        fprintf(stderr, "hwpassd: hwpass %s %s: exit %d\n%s%s", argv[0], argv[1], res.exit_code, res.out, res.err);
        return res.exit_code;
}

/* The VMs recorded as up: still supervised and answering QMP (attached),
 * or lost while the daemon was away (put right). */
static void reattach(struct hp_store *s)
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

                if (streq(recs[i].state, "off") || hp_vm_record_settle(s, &recs[i]) != 0)
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

static bool autostart_due(const struct options *o)
{
        int fd;

        if (o->autostart != AUTOSTART_BOOT)
                return o->autostart == AUTOSTART_ALWAYS;
        fd = open(AUTOSTART_MARK, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return false; /* done since this boot (or /run is not ours) */
        close(fd);
        return true;
}

/* The store brought to this version (the API's readers need it), the start
 * recorded, and the VMs that kept running re-attached: all before the API
 * answers, so its first answer already shows them. One connection for all. */
static int open_store(const char *db)
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
        reattach(s);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_(hp_api_stopp) struct hp_api *api = NULL;
        _cleanup_free_ char *err = NULL;
        struct options o = { .listen_on = "unix:" HP_DEFAULT_SOCKET, .db = getenv("HWPASS_DB"),
                             .root = getenv("HWPASS_HOST_ROOT"), .web_root = DEFAULT_WEB_ROOT };
        sigset_t set;
        int sig, r;

        r = parse_args(argc, argv, &o);
        if (r == HELP_SHOWN)
                return 0;
        if (r != 0)
                return r;
        if (!o.db)
                o.db = HP_DEFAULT_DB;
        /* A client that goes away mid-answer, or a command that ends before
         * reading its input, must not end the daemon. */
        signal(SIGPIPE, SIG_IGN);
        (void)mkdir("/run/hwpass", 0700);
        /* Signals are taken synchronously below; the server threads must not get them. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        if (open_store(o.db) < 0)
                return 1;
        r = hp_api_start_unix(&(struct hp_api_config){ .host_root = o.root, .db_path = o.db,
                                                       .web_root = o.web_root }, o.listen_on + 5,
                              &api, &err);
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
        (void)run(api, (char *[]){ "host", "apply", NULL });
        fprintf(stderr, "hwpassd: serving the API on %s\n", o.listen_on);
        for (size_t i = 0; i < o.tcp.n; i++)
                fprintf(stderr, "hwpassd: serving the API on tcp:%s (%s, bearer tokens)\n", o.tcp.addr[i].text,
                        o.tcp.tls.cert_path ? "TLS" : "plain HTTP on loopback");
        notify("READY=1\nSTATUS=serving the API");
        if (autostart_due(&o))
                (void)run(api, (char *[]){ "host", "start-vms", NULL });
        while (sigwait(&set, &sig) != 0)
                ;
        notify("STOPPING=1");
        fprintf(stderr, "hwpassd: stopping (signal %d)\n", sig);
        if (o.stop_vms_at_exit)
                (void)run(api, (char *[]){ "host", "stop-vms", NULL });
        return 0;
}

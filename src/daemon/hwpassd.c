/* hwpassd: the host daemon. This first part serves the API on a Unix socket,
 * and on TCP endpoints that ask for a bearer token, until SIGTERM or SIGINT. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/server.h"
#include "util/macro.h"
#include "util/strutil.h"

#define DEFAULT_SOCKET "/run/hwpass/hwpass.sock"
#define DEFAULT_DB "/var/lib/hwpass/hwpass.db"

static int usage(const char *fmt, const char *arg)
{
        fprintf(stderr, "hwpassd: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nusage: hwpassd [--listen unix:PATH] [--listen tcp:ADDR:PORT]...\n"
                        "               [--tls-cert FILE --tls-key FILE] [--db PATH] [--host-root DIR]\n"
                        "  tcp: asks for 'Authorization: Bearer TOKEN' ('hwpass token create NAME');\n"
                        "  plain HTTP on loopback only (127.0.0.1, [::1]), TLS anywhere\n");
        return 2;
}

#define TCP_MAX 8

/* The TCP endpoints of --listen tcp:ADDR:PORT, and the TLS they are served with. */
struct tcp_listen {
        struct hp_api_tcp_addr addr[TCP_MAX];
        size_t n;
        struct hp_api_tls tls;
};

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

int main(int argc, char **argv)
{
        _cleanup_(hp_api_stopp) struct hp_api *api = NULL;
        _cleanup_free_ char *err = NULL;
        const char *listen_on = "unix:" DEFAULT_SOCKET, *db = getenv("HWPASS_DB"),
                   *root = getenv("HWPASS_HOST_ROOT"), *arg = NULL;
        struct tcp_listen tcp = { 0 };
        sigset_t set;
        int sig, r;

        for (int i = 1; i < argc; i++) {
                const char **dst = streq(argv[i], "--listen")      ? &arg
                                   : streq(argv[i], "--db")        ? &db
                                   : streq(argv[i], "--host-root") ? &root
                                   : streq(argv[i], "--tls-cert")  ? &tcp.tls.cert_path
                                   : streq(argv[i], "--tls-key")   ? &tcp.tls.key_path
                                                                   : NULL;

                if (!dst)
                        return usage("unknown option '%s'", argv[i]);
                if (i + 1 >= argc)
                        return usage("%s needs a value", argv[i]);
                *dst = argv[++i];
                if (dst == &arg && hp_startswith(arg, "tcp:") && (r = add_tcp(&tcp, arg)) != 0)
                        return r;
                if (dst == &arg && !hp_startswith(arg, "tcp:"))
                        listen_on = arg;
        }
        if (!hp_startswith(listen_on, "unix:") || !listen_on[5])
                return usage("cannot listen on '%s': expected unix:PATH or tcp:ADDR:PORT", listen_on);
        if ((r = check_tcp(&tcp)) != 0)
                return r;
        if (streq(listen_on, "unix:" DEFAULT_SOCKET))
                (void)mkdir("/run/hwpass", 0700);
        /* Signals are taken synchronously below; the server thread must not get them. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        r = hp_api_start_unix(&(struct hp_api_config){ .host_root = root, .db_path = db ? db : DEFAULT_DB },
                              listen_on + 5, &api, &err);
        if (r < 0) {
                fprintf(stderr, "hwpassd: %s\n", err ? err : strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < tcp.n; i++) {
                r = hp_api_listen_tcp(api, &tcp.addr[i], tcp.tls.cert_path ? &tcp.tls : NULL, &err);
                if (r < 0) {
                        fprintf(stderr, "hwpassd: %s\n", err ? err : strerror(-r));
                        return 1;
                }
        }
        fprintf(stderr, "hwpassd: serving the API on %s\n", listen_on);
        for (size_t i = 0; i < tcp.n; i++)
                fprintf(stderr, "hwpassd: serving the API on tcp:%s (%s, bearer tokens)\n", tcp.addr[i].text,
                        tcp.tls.cert_path ? "TLS" : "plain HTTP on loopback");
        while (sigwait(&set, &sig) != 0)
                ;
        fprintf(stderr, "hwpassd: stopping (signal %d)\n", sig);
        return 0;
}

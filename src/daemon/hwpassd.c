/* hwpassd: the host daemon. This first part serves the read side of the API
 * on a Unix socket until SIGTERM or SIGINT. */
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
        fprintf(stderr, "\nusage: hwpassd [--listen unix:PATH] [--db PATH] [--host-root DIR]\n");
        return 2;
}

int main(int argc, char **argv)
{
        _cleanup_(hp_api_stopp) struct hp_api *api = NULL;
        _cleanup_free_ char *err = NULL;
        const char *listen_on = "unix:" DEFAULT_SOCKET, *db = getenv("HWPASS_DB"),
                   *root = getenv("HWPASS_HOST_ROOT");
        sigset_t set;
        int sig, r;

        for (int i = 1; i < argc; i++) {
                const char **dst = streq(argv[i], "--listen")      ? &listen_on
                                   : streq(argv[i], "--db")        ? &db
                                   : streq(argv[i], "--host-root") ? &root
                                                                   : NULL;

                if (!dst)
                        return usage("unknown option '%s'", argv[i]);
                if (i + 1 >= argc)
                        return usage("%s needs a value", argv[i]);
                *dst = argv[++i];
        }
        if (!hp_startswith(listen_on, "unix:") || !listen_on[5])
                return usage("cannot listen on '%s': only unix:PATH for now", listen_on);
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
        fprintf(stderr, "hwpassd: serving the API on %s\n", listen_on);
        while (sigwait(&set, &sig) != 0)
                ;
        fprintf(stderr, "hwpassd: stopping (signal %d)\n", sig);
        return 0;
}

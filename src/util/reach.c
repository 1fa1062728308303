/* hp_net_answers() (reach.h). */
#include "reach.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "macro.h"

/* An address whose network was unreachable is tried again this much later. */
#define RETRY_MS 100
/* Addresses tried at once, the names' resolved addresses counted. */
#define MAX_ADDRESSES 16

/* host and port of where, into buffers; false when it is neither form. */
static bool split(const char *where, char *host, size_t host_size, char *port, size_t port_size)
{
        const char *p = strstr(where, "://"), *end, *colon;
        const char *dflt = NULL;

        if (p) {
                dflt = strncmp(where, "https", 5) == 0 ? "443" : "80";
                where = p + 3;
        }
        end = where + strcspn(where, "/");
        if (*where == '[') {
                const char *close = memchr(where, ']', (size_t)(end - where));

                if (!close || (size_t)(close - where - 1) >= host_size)
                        return false;
                snprintf(host, host_size, "%.*s", (int)(close - where - 1), where + 1);
                colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        } else {
                colon = memchr(where, ':', (size_t)(end - where));
                if ((size_t)((colon ? colon : end) - where) >= host_size)
                        return false;
                snprintf(host, host_size, "%.*s", (int)((colon ? colon : end) - where), where);
        }
        if (colon && colon + 1 < end && (size_t)(end - colon - 1) < port_size)
                snprintf(port, port_size, "%.*s", (int)(end - colon - 1), colon + 1);
        else if (!colon && dflt)
                snprintf(port, port_size, "%s", dflt);
        else
                return false;
        return host[0] != '\0';
}

/* -1, fd closed if it was open. */
static int closed(int fd)
{
        if (fd >= 0)
                close(fd);
        return -1;
}

/* One address being tried: its socket while a connection is on its way,
 * -1 while it waits to be tried again. */
struct attempt {
        const struct addrinfo *ai;
        int fd;
        int64_t again_at;
};

/* A connection started to t->ai; true when that is already an answer. */
static bool attempt_start(struct attempt *t, int64_t now)
{
        t->fd = socket(t->ai->ai_family, t->ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       t->ai->ai_protocol);
        if (t->fd >= 0 && connect(t->fd, t->ai->ai_addr, t->ai->ai_addrlen) == 0)
                return true;
        if (t->fd >= 0 && errno == ECONNREFUSED)
                return true;
        if (t->fd >= 0 && errno == EINPROGRESS)
                return false;
        /* An unreachable network now may be reachable in a moment. */
        t->fd = closed(t->fd);
        t->again_at = now + RETRY_MS;
        return false;
}

/* Whether t's connection, ready, was answered; if not, it is tried again later. */
static bool attempt_finish(struct attempt *t, int64_t now)
{
        int err = 0;
        socklen_t len = sizeof(err);

        if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
            (err == 0 || err == ECONNREFUSED))
                return true;
        t->fd = closed(t->fd);
        t->again_at = now + RETRY_MS;
        return false;
}

static bool any_answers(struct attempt *t, size_t n, int64_t deadline)
{
        struct pollfd pfd[MAX_ADDRESSES];
        size_t at[MAX_ADDRESSES];

        for (int64_t now = hp_mono_ms(); n > 0 && now < deadline; now = hp_mono_ms()) {
                int64_t wait = deadline - now;
                size_t m = 0;
                int r;

                for (size_t i = 0; i < n; i++) {
                        if (t[i].fd < 0 && now >= t[i].again_at && attempt_start(&t[i], now))
                                return true;
                        if (t[i].fd >= 0) {
                                pfd[m] = (struct pollfd){ .fd = t[i].fd, .events = POLLOUT };
                                at[m++] = i;
                        } else if (t[i].again_at - now < wait)
                                wait = t[i].again_at - now;
                }
                r = poll(pfd, m, (int)(wait > 0 ? wait : 0));
                if (r < 0 && errno != EINTR)
                        return false;
                for (size_t k = 0; r > 0 && k < m; k++)
                        if (pfd[k].revents && attempt_finish(&t[at[k]], hp_mono_ms()))
                                return true;
        }
        return false;
}

bool hp_net_answers(char *const *where, int timeout_ms)
{
        struct addrinfo *res[MAX_ADDRESSES] = { NULL };
        struct attempt t[MAX_ADDRESSES];
        int64_t deadline = hp_mono_ms() + timeout_ms;
        size_t n = 0, n_res = 0;
        bool ok;

        for (size_t i = 0; where && where[i] && n_res < MAX_ADDRESSES; i++) {
                struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
                char host[256], port[16];

                if (!split(where[i], host, sizeof(host), port, sizeof(port)) ||
                    getaddrinfo(host, port, &hints, &res[n_res]) != 0)
                        continue;
                for (struct addrinfo *ai = res[n_res]; ai && n < MAX_ADDRESSES; ai = ai->ai_next)
                        t[n++] = (struct attempt){ .ai = ai, .fd = -1 };
                n_res++;
        }
        ok = any_answers(t, n, deadline);
        for (size_t i = 0; i < n; i++)
                closed(t[i].fd);
        for (size_t i = 0; i < n_res; i++)
                freeaddrinfo(res[i]);
        return ok;
}

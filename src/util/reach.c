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

#include "macro.h"

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

static bool answers(const struct addrinfo *ai, int timeout_ms)
{
        _cleanup_close_ int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        struct pollfd pfd;
        int err = 0;
        socklen_t len = sizeof(err);

        if (fd < 0)
                return false;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                return true;
        if (errno == ECONNREFUSED)
                return true;
        if (errno != EINPROGRESS)
                return false;
        pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
        if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                return false;
        return err == 0 || err == ECONNREFUSED;
}

bool hp_net_answers(const char *where, int timeout_ms)
{
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res = NULL;
        char host[256], port[16];
        bool ok = false;

        if (!where || !split(where, host, sizeof(host), port, sizeof(port)) ||
            getaddrinfo(host, port, &hints, &res) != 0)
                return false;
        for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next)
                ok = answers(ai, timeout_ms);
        freeaddrinfo(res);
        return ok;
}

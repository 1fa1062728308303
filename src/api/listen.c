/* The API's TCP endpoints before libmicrohttpd takes them: "tcp:ADDR:PORT"
 * parsed (pure) and the listening sockets opened. Their TLS pair is tls.c's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "api/server.h"
#include "util/macro.h"
#include "util/strutil.h"

static bool v4_loopback(const struct in_addr *a)
{
        return (ntohl(a->s_addr) >> 24) == 127;
}

int hp_api_parse_tcp(const char *s, struct hp_api_tcp_addr *ret, char **ret_error)
{
        struct hp_api_tcp_addr t = { 0 };
        char host[INET6_ADDRSTRLEN + 1], shown[INET6_ADDRSTRLEN];
        const char *port_at, *end;
        uint64_t port;
        bool v6 = s[0] == '[';

        if (v6) {
                end = strchr(s, ']');
                if (!end || end[1] != ':')
                        return hp_errorf(ret_error, -EINVAL,
                                         "'%s' is not ADDR:PORT: e.g. [::1]:8443", s);
                port_at = end + 2;
                s++;
        } else {
                end = strrchr(s, ':');
                if (!end)
                        return hp_errorf(ret_error, -EINVAL,
                                         "'%s' is not ADDR:PORT: e.g. 127.0.0.1:8443", s);
                if (memchr(s, ':', (size_t)(end - s)))
                        return hp_errorf(ret_error, -EINVAL,
                                         "'%s' is not ADDR:PORT: write an IPv6 address in "
                                         "brackets, e.g. [::1]:8443",
                                         s);
                port_at = end + 1;
        }
        if ((size_t)(end - s) >= sizeof(host) || end == s)
                return hp_errorf(ret_error, -EINVAL, "'%.*s' is not an IP address", (int)(end - s),
                                 s);
        memcpy(host, s, (size_t)(end - s));
        host[end - s] = '\0';
        if (hp_parse_u64(port_at, 10, &port) < 0 || port == 0 || port > 65535 || port_at[0] < '0' ||
            port_at[0] > '9')
                return hp_errorf(ret_error, -EINVAL, "invalid port '%s': 1 to 65535", port_at);
        if (v6) {
                struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&t.sa;

                sa->sin6_family = AF_INET6;
                sa->sin6_port = htons((uint16_t)port);
                if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
                        return hp_errorf(ret_error, -EINVAL, "'%s' is not an IPv6 address", host);
                t.sa_len = sizeof(*sa);
                t.loopback = IN6_IS_ADDR_LOOPBACK(&sa->sin6_addr);
                inet_ntop(AF_INET6, &sa->sin6_addr, shown, sizeof(shown));
                snprintf(t.text, sizeof(t.text), "[%s]:%u", shown, (unsigned)port);
        } else {
                struct sockaddr_in *sa = (struct sockaddr_in *)&t.sa;

                sa->sin_family = AF_INET;
                sa->sin_port = htons((uint16_t)port);
                if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
                        return hp_errorf(ret_error, -EINVAL,
                                         "'%s' is not an IPv4 address (names are not looked up): "
                                         "e.g. 127.0.0.1",
                                         host);
                t.sa_len = sizeof(*sa);
                t.loopback = v4_loopback(&sa->sin_addr);
                inet_ntop(AF_INET, &sa->sin_addr, shown, sizeof(shown));
                snprintf(t.text, sizeof(t.text), "%s:%u", shown, (unsigned)port);
        }
        *ret = t;
        return 0;
}

int hp_api_socket_tcp(const struct hp_api_tcp_addr *addr, int *ret)
{
        _cleanup_close_ int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int on = 1;

        if (fd < 0)
                return -errno;
        /* A restarted daemon binds again while old connections linger in TIME_WAIT. */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
                return -errno;
        /* [::] means IPv6 only: IPv4 is listened on by its own --listen. */
        if (addr->sa.ss_family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
                return -errno;
        /* A long queue: the server takes connections as fast as they come
         * (idle ones are dropped later, admit.c), so a burst of them
         * leaves no client waiting for a retransmitted SYN. */
        if (bind(fd, (const struct sockaddr *)&addr->sa, addr->sa_len) < 0 || listen(fd, SOMAXCONN) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

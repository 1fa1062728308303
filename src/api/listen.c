/* The API's endpoints before libmicrohttpd takes them: "tcp:ADDR:PORT" parsed
 * (pure), the listening sockets opened, and the TLS certificate and key read
 * and checked to belong together, so a bad file is named at start-up. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "api/server.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"

/* Larger than any certificate chain or key hwpassd is given. */
#define PEM_MAX (1024 * 1024)

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

/* The whole of a PEM file, NUL-terminated. */
static int read_pem(const char *path, const char *what, char **ret, char **ret_error)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                return hp_errorf(ret_error, r, "cannot read the TLS %s '%s': %s", what, path,
                                 strerror(-r));
        }
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX)
                return hp_errorf(
                        ret_error, -EINVAL,
                        "the TLS %s '%s' is not a PEM file (empty, too large, or not a file)", what,
                        path);
        r = hp_read_all(fd, PEM_MAX, ret, NULL);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot read the TLS %s '%s': %s", what, path,
                                 strerror(-r));
        return 0;
}

/* Would GnuTLS serve this pair? Its own words when not. */
static int check_pair(const struct hp_api_tls *tls, const char *cert, const char *key,
                      char **ret_error)
{
        gnutls_certificate_credentials_t cred;
        gnutls_datum_t c = { (unsigned char *)cert, (unsigned)strlen(cert) },
                       k = { (unsigned char *)key, (unsigned)strlen(key) };
        int rc;

        if (gnutls_certificate_allocate_credentials(&cred) < 0)
                return -ENOMEM;
        rc = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
        gnutls_certificate_free_credentials(cred);
        if (rc < 0)
                return hp_errorf(ret_error, -EINVAL,
                                 "the TLS certificate '%s' and key '%s' cannot be used "
                                 "(GnuTLS: %s): give a PEM certificate and its own "
                                 "unencrypted PEM key",
                                 tls->cert_path, tls->key_path, gnutls_strerror(rc));
        return 0;
}

int hp_api_tls_load(const struct hp_api_tls *tls, char **ret_cert, char **ret_key, char **ret_error)
{
        _cleanup_free_ char *cert = NULL, *key = NULL;
        int r;

        r = read_pem(tls->cert_path, "certificate", &cert, ret_error);
        if (r >= 0)
                r = read_pem(tls->key_path, "key", &key, ret_error);
        if (r >= 0)
                r = check_pair(tls, cert, key, ret_error);
        if (r < 0) {
                if (key)
                        explicit_bzero(key, strlen(key));
                return r;
        }
        *ret_cert = TAKE_PTR(cert);
        *ret_key = TAKE_PTR(key);
        return 0;
}
